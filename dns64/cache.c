/* Hash table with chaining plus an LRU list; entries are one allocation
 * each (made on a miss), holding the response and the TTL offsets.
 * Shared by the worker threads: the table is split into shards by hash,
 * each with its own lock, LRU list and share of the byte budget, so two
 * workers rarely wait for each other (a hit holds its shard's lock only
 * for the copy). */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/util.h"
#include "dns64/cache.h"

/* Answers are never kept longer than this, whatever their TTL (as
 * resolvers cap with cache-max-ttl). */
#define CACHE_MAX_TTL 86400u

struct entry {
	struct entry *hnext;
	struct entry *prev, *next;	/* LRU: head is the most recent */
	uint64_t hash;
	uint64_t stored_ms, expire_ms;
	uint64_t prefix_gen;
	uint16_t qtype, qclass;
	uint8_t keyflags;
	uint8_t qname_len;
	uint16_t len, question_end, opt_off, nttl;
	bool secure;
	uint8_t data[];		/* qname_lc, nttl x uint16 offsets, response */
};

/* Budget per shard at least this, so small caches stay one LRU. */
#define SHARD_MIN_BYTES (1u << 20)
#define MAX_SHARDS 16

struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets;		/* power of two */
	struct entry *head, *tail;
	struct dns64_cache_stats st;
};

struct dns64_cache {
	uint64_t seed;
	uint64_t max_bytes;
	unsigned nshards;		/* power of two */
	struct shard shard[MAX_SHARDS];
};

enum { KEY_DO = 1, KEY_CD = 2 };

static uint8_t key_flags(const struct dns_query *q)
{
	return (uint8_t)((q->edns_do ? KEY_DO : 0) | (q->flags & DNS_F_CD ? KEY_CD : 0));
}

/* A keyed FNV-1a variant: the seed keeps clients from aiming at one chain. */
static uint64_t key_hash(const struct dns64_cache *c, const struct dns_query *q)
{
	uint64_t h = 0xcbf29ce484222325ull ^ c->seed;
	for (size_t i = 0; i < q->qname_len; i++)
		h = (h ^ q->qname_lc[i]) * 0x100000001b3ull;
	h = (h ^ q->qtype) * 0x100000001b3ull;
	h = (h ^ q->qclass) * 0x100000001b3ull;
	h = (h ^ key_flags(q)) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

struct dns64_cache *dns64_cache_new(uint64_t max_bytes)
{
	struct dns64_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = (struct dns64_cache){ .max_bytes = max_bytes, .nshards = 1 };
	while (c->nshards < MAX_SHARDS && max_bytes / (c->nshards * 2) >= SHARD_MIN_BYTES)
		c->nshards *= 2;
	uint64_t per = max_bytes / c->nshards;
	/* About one bucket per 512 octets of budget, within sane bounds. */
	size_t n = 256;
	while (n < per / 512 && n < (1u << 22))
		n *= 2;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *sh = &c->shard[i];
		sh->buckets = calloc(n, sizeof(*sh->buckets));
		if (!sh->buckets || pthread_mutex_init(&sh->lock, NULL) != 0) {
			free(sh->buckets);
			sh->buckets = NULL;
			c->nshards = i;
			dns64_cache_free(c);
			return NULL;
		}
		sh->nbuckets = n;
		sh->st.max_bytes = per;
	}
	if (getrandom(&c->seed, sizeof(c->seed), 0) != sizeof(c->seed))
		c->seed = monotonic_us();
	return c;
}

/* The low bits pick the bucket, the high bits the shard. */
static struct shard *shard_of(struct dns64_cache *c, uint64_t h)
{
	return &c->shard[(h >> 56) & (c->nshards - 1)];
}

static size_t entry_size(const struct entry *e)
{
	return sizeof(*e) + e->qname_len + 2u * e->nttl + e->len;
}

static void unlink_entry(struct shard *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	DLIST_UNLINK_HT(c->head, c->tail, e);
	c->st.entries--;
	c->st.bytes -= entry_size(e);
	free(e);
}

void dns64_cache_flush(struct dns64_cache *c)
{
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *sh = &c->shard[i];
		pthread_mutex_lock(&sh->lock);
		while (sh->head)
			unlink_entry(sh, sh->head);
		pthread_mutex_unlock(&sh->lock);
	}
}

void dns64_cache_free(struct dns64_cache *c)
{
	if (!c)
		return;
	dns64_cache_flush(c);
	for (unsigned i = 0; i < c->nshards; i++) {
		free(c->shard[i].buckets);
		pthread_mutex_destroy(&c->shard[i].lock);
	}
	free(c);
}

void dns64_cache_stats(const struct dns64_cache *c, struct dns64_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->max_bytes = c->max_bytes;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *sh = (struct shard *)&c->shard[i];
		pthread_mutex_lock(&sh->lock);
		out->entries += sh->st.entries;
		out->bytes += sh->st.bytes;
		out->hits += sh->st.hits;
		out->misses += sh->st.misses;
		out->inserts += sh->st.inserts;
		out->evictions += sh->st.evictions;
		out->expired += sh->st.expired;
		out->stale_prefix += sh->st.stale_prefix;
		pthread_mutex_unlock(&sh->lock);
	}
}

static void lru_front(struct shard *c, struct entry *e)
{
	if (c->head == e)
		return;
	DLIST_UNLINK_HT(c->head, c->tail, e);
	DLIST_PUSH_FRONT_HT(c->head, c->tail, e);
}

static struct entry *find(struct shard *c, const struct dns_query *q, uint64_t h)
{
	uint8_t kf = key_flags(q);
	for (struct entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->qtype == q->qtype && e->qclass == q->qclass &&
		    e->keyflags == kf && e->qname_len == q->qname_len &&
		    memcmp(e->data, q->qname_lc, q->qname_len) == 0)
			return e;
	return NULL;
}

bool dns64_cache_lookup(struct dns64_cache *c, const struct dns_query *q, uint64_t now_ms,
			uint64_t prefix_gen, uint8_t *out, size_t cap, struct dns64_cached *info)
{
	if (!c || c->max_bytes == 0)
		return false;
	uint64_t h = key_hash(c, q);
	struct shard *sh = shard_of(c, h);
	bool hit = false;
	pthread_mutex_lock(&sh->lock);
	struct entry *e = find(sh, q, h);
	if (!e)
		goto out;
	if (now_ms >= e->expire_ms || (e->prefix_gen && e->prefix_gen != prefix_gen)) {
		if (now_ms >= e->expire_ms)
			sh->st.expired++;
		else
			sh->st.stale_prefix++;
		unlink_entry(sh, e);
		goto out;
	}
	if (e->len > cap)
		goto out;
	const uint8_t *offs = e->data + e->qname_len;
	const uint8_t *resp = offs + 2u * e->nttl;
	memcpy(out, resp, e->len);
	/* Threads keep their own loop time: a reader's clock may be a few
	 * ms behind the writer's, which is no age at all. */
	uint32_t age = now_ms > e->stored_ms ? (uint32_t)((now_ms - e->stored_ms) / 1000) : 0;
	for (unsigned i = 0; i < e->nttl; i++) {
		uint16_t o;
		memcpy(&o, offs + 2u * i, sizeof(o));
		uint32_t ttl = get_be32(out + o);
		put_be32(out + o, ttl > age ? ttl - age : 0);
	}
	info->len = e->len;
	info->question_end = e->question_end;
	info->opt_off = e->opt_off;
	info->secure = e->secure;
	lru_front(sh, e);
	hit = true;
out:
	if (hit)
		sh->st.hits++;
	else
		sh->st.misses++;
	pthread_mutex_unlock(&sh->lock);
	return hit;
}

void dns64_cache_store(struct dns64_cache *c, const struct dns_query *q,
		       const struct dns_builder *b, size_t len, bool secure,
		       uint64_t prefix_gen, uint64_t now_ms)
{
	if (!c || c->max_bytes == 0 || b->ttl_overflow || len > UINT16_MAX)
		return;
	uint32_t min_ttl = CACHE_MAX_TTL;
	for (size_t i = 0; i < b->nttl; i++)
		min_ttl = MIN(min_ttl, get_be32(b->buf + b->ttl_off[i]));
	if (min_ttl == 0)
		return;
	uint64_t h = key_hash(c, q);
	struct shard *sh = shard_of(c, h);
	size_t size = sizeof(struct entry) + q->qname_len + 2 * b->nttl + len;
	if (size > sh->st.max_bytes)
		return;
	/* Built before taking the lock: malloc and the copy stay outside. */
	struct entry *e = malloc(size);
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->stored_ms = now_ms;
	e->expire_ms = now_ms + (uint64_t)min_ttl * 1000;
	e->prefix_gen = prefix_gen;
	e->qtype = q->qtype;
	e->qclass = q->qclass;
	e->keyflags = key_flags(q);
	e->qname_len = q->qname_len;
	e->len = (uint16_t)len;
	e->question_end = (uint16_t)b->question_end;
	e->opt_off = (uint16_t)b->opt_off;
	e->nttl = (uint16_t)b->nttl;
	e->secure = secure;
	memcpy(e->data, q->qname_lc, q->qname_len);
	memcpy(e->data + q->qname_len, b->ttl_off, 2 * b->nttl);
	memcpy(e->data + q->qname_len + 2 * b->nttl, b->buf, len);
	pthread_mutex_lock(&sh->lock);
	struct entry *old = find(sh, q, h);
	if (old)
		unlink_entry(sh, old);
	while (sh->tail && sh->st.bytes + size > sh->st.max_bytes) {
		unlink_entry(sh, sh->tail);
		sh->st.evictions++;
	}
	size_t bi = h & (sh->nbuckets - 1);
	e->hnext = sh->buckets[bi];
	sh->buckets[bi] = e;
	DLIST_PUSH_FRONT_HT(sh->head, sh->tail, e);
	sh->st.entries++;
	sh->st.bytes += size;
	sh->st.inserts++;
	pthread_mutex_unlock(&sh->lock);
}
