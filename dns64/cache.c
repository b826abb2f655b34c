/* Hash table with chaining plus an LRU list; entries are one allocation
 * each (made on a miss), holding the response and the TTL offsets. */
#include "autoconf.h"

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

struct dns64_cache {
	struct entry **buckets;
	size_t nbuckets;		/* power of two */
	struct entry *head, *tail;
	uint64_t seed;
	struct dns64_cache_stats st;
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
	/* About one bucket per 512 octets of budget, within sane bounds. */
	size_t n = 1024;
	while (n < max_bytes / 512 && n < (1u << 22))
		n *= 2;
	c->buckets = calloc(n, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->nbuckets = n;
	c->st.max_bytes = max_bytes;
	if (getrandom(&c->seed, sizeof(c->seed), 0) != sizeof(c->seed))
		c->seed = monotonic_us();
	return c;
}

static size_t entry_size(const struct entry *e)
{
	return sizeof(*e) + e->qname_len + 2u * e->nttl + e->len;
}

static void unlink_entry(struct dns64_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	c->st.entries--;
	c->st.bytes -= entry_size(e);
	free(e);
}

void dns64_cache_flush(struct dns64_cache *c)
{
	while (c->head)
		unlink_entry(c, c->head);
}

void dns64_cache_free(struct dns64_cache *c)
{
	if (!c)
		return;
	dns64_cache_flush(c);
	free(c->buckets);
	free(c);
}

void dns64_cache_stats(const struct dns64_cache *c, struct dns64_cache_stats *out)
{
	*out = c->st;
}

static void lru_front(struct dns64_cache *c, struct entry *e)
{
	if (c->head == e)
		return;
	if (e->prev)
		e->prev->next = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static struct entry *find(struct dns64_cache *c, const struct dns_query *q, uint64_t h)
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
	if (!c || c->st.max_bytes == 0)
		return false;
	uint64_t h = key_hash(c, q);
	struct entry *e = find(c, q, h);
	if (!e) {
		c->st.misses++;
		return false;
	}
	if (now_ms >= e->expire_ms || (e->prefix_gen && e->prefix_gen != prefix_gen)) {
		if (now_ms >= e->expire_ms)
			c->st.expired++;
		else
			c->st.stale_prefix++;
		unlink_entry(c, e);
		c->st.misses++;
		return false;
	}
	if (e->len > cap) {
		c->st.misses++;
		return false;
	}
	const uint8_t *offs = e->data + e->qname_len;
	const uint8_t *resp = offs + 2u * e->nttl;
	memcpy(out, resp, e->len);
	uint32_t age = (uint32_t)((now_ms - e->stored_ms) / 1000);
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
	lru_front(c, e);
	c->st.hits++;
	return true;
}

void dns64_cache_store(struct dns64_cache *c, const struct dns_query *q,
		       const struct dns_builder *b, size_t len, bool secure,
		       uint64_t prefix_gen, uint64_t now_ms)
{
	if (!c || c->st.max_bytes == 0 || b->ttl_overflow || len > UINT16_MAX)
		return;
	uint32_t min_ttl = CACHE_MAX_TTL;
	for (size_t i = 0; i < b->nttl; i++)
		min_ttl = MIN(min_ttl, get_be32(b->buf + b->ttl_off[i]));
	if (min_ttl == 0)
		return;
	size_t size = sizeof(struct entry) + q->qname_len + 2 * b->nttl + len;
	if (size > c->st.max_bytes)
		return;
	uint64_t h = key_hash(c, q);
	struct entry *old = find(c, q, h);
	if (old)
		unlink_entry(c, old);
	while (c->tail && c->st.bytes + size > c->st.max_bytes) {
		unlink_entry(c, c->tail);
		c->st.evictions++;
	}
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
	size_t bi = h & (c->nbuckets - 1);
	e->hnext = c->buckets[bi];
	c->buckets[bi] = e;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
	c->st.entries++;
	c->st.bytes += size;
	c->st.inserts++;
}
