/* Held ports and hints of the handoff servers (handoff_ports.h). Held
 * ports: an array of records with a hash of indices and an age list (the
 * oldest goes when full). Hints: a small table of (T, S, proto) stacks. One
 * mutex for both: every critical section is a few probes. */
#include "autoconf.h"
#include "nat64/handoff_ports.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/util.h"

#define NIL UINT32_MAX
#define HINT_SETS_MAX 4096	/* (T, S, proto) stacks kept */
#define LOST_BITS (1u << 20)	/* per generation: 128 KiB, ~1 % false positives at 70k */
#define LOST_WORDS (LOST_BITS / 64)

const struct counter_desc handoff_ports_counter_desc[HANDOFF_PORTS__COUNT] = {
	HANDOFF_PORTS_COUNTERS(COUNTER_DESC)
};

struct held {
	uint32_t t, s;		/* network order; s 0 = free record */
	uint16_t port;
	uint8_t proto;
	uint32_t hnext, prev, next;
};

struct hint_set {
	uint32_t t, s;
	uint8_t proto;		/* 0: the set only says until when S's entries are lost */
	uint16_t n;
	uint16_t port[HANDOFF_PORTS_HINTS];	/* port[n - 1] is the newest */
	uint64_t lost_until_ms;
	uint64_t asked_ms;	/* when take_hint last told its caller to ask; 0 = answered */
};

struct handoff_ports {
	pthread_mutex_t lock;
	struct held *rec;
	size_t cap, count;
	uint32_t *bucket, nbuckets;
	uint32_t free_head;
	uint32_t oldest, newest;	/* age list */
	struct hint_set *sets;
	size_t nsets;
	/* lost entries: two generations, written by the main loop, read by
	 * workers with relaxed atomics */
	uint64_t *lost[2];
	_Atomic unsigned lost_cur;
	uint64_t lost_since_ms, seed;
	uint64_t c[HANDOFF_PORTS__COUNT];
};

static uint32_t hash3(uint32_t t, uint8_t proto, uint16_t port, uint32_t nb)
{
	uint64_t h = ((uint64_t)t << 24 | (uint64_t)proto << 16 | port) * 0x9E3779B97F4A7C15ull;
	h ^= h >> 29;
	return (uint32_t)(h & (nb - 1));
}

/* Every held port and hint forgotten (new, or the lock held). */
static void reset(struct handoff_ports *hp)
{
	for (uint32_t i = 0; i < hp->nbuckets; i++)
		hp->bucket[i] = NIL;
	for (size_t i = 0; i < hp->cap; i++) {
		hp->rec[i].s = 0;
		hp->rec[i].next = i + 1 < hp->cap ? (uint32_t)(i + 1) : NIL;
	}
	hp->free_head = 0;
	hp->oldest = hp->newest = NIL;
	hp->count = 0;
	memset(hp->sets, 0, HINT_SETS_MAX * sizeof(*hp->sets));
	hp->nsets = 0;
}

struct handoff_ports *handoff_ports_new(size_t capacity)
{
	struct handoff_ports *hp = calloc(1, sizeof(*hp));
	if (!hp)
		return NULL;
	hp->cap = MAX(capacity, (size_t)64);
	hp->nbuckets = 64;
	while (hp->nbuckets < hp->cap && hp->nbuckets < (1u << 26))
		hp->nbuckets <<= 1;
	hp->rec = calloc(hp->cap, sizeof(*hp->rec));
	hp->bucket = malloc(hp->nbuckets * sizeof(*hp->bucket));
	hp->sets = calloc(HINT_SETS_MAX, sizeof(*hp->sets));
	hp->lost[0] = calloc(LOST_WORDS, sizeof(uint64_t));
	hp->lost[1] = calloc(LOST_WORDS, sizeof(uint64_t));
	hp->seed = (uint64_t)(uintptr_t)hp * 0x9E3779B97F4A7C15ull ^ 0x2545F4914F6CDD1Dull;
	if (!hp->rec || !hp->bucket || !hp->sets || !hp->lost[0] || !hp->lost[1]) {
		handoff_ports_free(hp);
		return NULL;
	}
	reset(hp);
	pthread_mutex_init(&hp->lock, NULL);
	return hp;
}

void handoff_ports_clear(struct handoff_ports *hp)
{
	pthread_mutex_lock(&hp->lock);
	reset(hp);
	for (size_t i = 0; i < LOST_WORDS; i++) {
		__atomic_store_n(&hp->lost[0][i], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&hp->lost[1][i], 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&hp->lock);
}

void handoff_ports_free(struct handoff_ports *hp)
{
	if (!hp)
		return;
	free(hp->rec);
	free(hp->bucket);
	free(hp->sets);
	free(hp->lost[0]);
	free(hp->lost[1]);
	pthread_mutex_destroy(&hp->lock);
	free(hp);
}

static struct hint_set *set_find(struct handoff_ports *hp, uint32_t t, uint32_t s, uint8_t proto,
				 bool create);

/* ---- held ports (lock held) ---- */

static uint32_t find(struct handoff_ports *hp, uint32_t t, uint8_t proto, uint16_t port)
{
	for (uint32_t i = hp->bucket[hash3(t, proto, port, hp->nbuckets)]; i != NIL;
	     i = hp->rec[i].hnext)
		if (hp->rec[i].t == t && hp->rec[i].proto == proto && hp->rec[i].port == port)
			return i;
	return NIL;
}

static void age_unlink(struct handoff_ports *hp, uint32_t i)
{
	struct held *r = &hp->rec[i];
	if (r->prev != NIL) hp->rec[r->prev].next = r->next; else hp->oldest = r->next;
	if (r->next != NIL) hp->rec[r->next].prev = r->prev; else hp->newest = r->prev;
}

static void age_push(struct handoff_ports *hp, uint32_t i)
{
	struct held *r = &hp->rec[i];
	r->next = NIL;
	r->prev = hp->newest;
	if (hp->newest != NIL) hp->rec[hp->newest].next = i; else hp->oldest = i;
	hp->newest = i;
}

static void remove_rec(struct handoff_ports *hp, uint32_t i)
{
	struct held *r = &hp->rec[i];
	uint32_t *pp = &hp->bucket[hash3(r->t, r->proto, r->port, hp->nbuckets)];
	while (*pp != i)
		pp = &hp->rec[*pp].hnext;
	*pp = r->hnext;
	age_unlink(hp, i);
	r->s = 0;
	r->next = hp->free_head;
	hp->free_head = i;
	hp->count--;
}

static void release_locked(struct handoff_ports *hp, uint32_t t, uint8_t proto, uint16_t port,
			   uint32_t s)
{
	uint32_t i = find(hp, t, proto, port);
	if (i != NIL && hp->rec[i].s == s)
		remove_rec(hp, i);
}

void handoff_ports_hold(struct handoff_ports *hp, struct in_addr t, uint8_t proto, uint16_t port,
			struct in_addr s)
{
	pthread_mutex_lock(&hp->lock);
	uint32_t i = find(hp, t.s_addr, proto, port);
	if (i != NIL) {
		/* A mapping made since moved the port to this server. */
		hp->rec[i].s = s.s_addr;
		age_unlink(hp, i);
		age_push(hp, i);
		goto out;
	}
	if (hp->free_head == NIL) {
		/* Full: the port held longest, most likely by a connection long
		 * gone, is forgotten first. */
		remove_rec(hp, hp->oldest);
		hp->c[HANDOFF_PORTS_HELD_DROPPED]++;
	}
	i = hp->free_head;
	struct held *r = &hp->rec[i];
	hp->free_head = r->next;
	*r = (struct held){ .t = t.s_addr, .s = s.s_addr, .port = port, .proto = proto };
	uint32_t b = hash3(r->t, proto, port, hp->nbuckets);
	r->hnext = hp->bucket[b];
	hp->bucket[b] = i;
	age_push(hp, i);
	hp->count++;
	hp->c[HANDOFF_PORTS_HELD]++;
out:
	pthread_mutex_unlock(&hp->lock);
}

void handoff_ports_release(struct handoff_ports *hp, struct in_addr t, uint8_t proto,
			   uint16_t port, struct in_addr s)
{
	pthread_mutex_lock(&hp->lock);
	release_locked(hp, t.s_addr, proto, port, s.s_addr);
	pthread_mutex_unlock(&hp->lock);
}

bool handoff_ports_veto(struct handoff_ports *hp, struct in_addr t, uint8_t proto,
			uint16_t port, struct in_addr s)
{
	pthread_mutex_lock(&hp->lock);
	uint32_t i = find(hp, t.s_addr, proto, port);
	bool veto = i != NIL && (s.s_addr == 0 || hp->rec[i].s != s.s_addr);
	if (veto)
		hp->c[HANDOFF_PORTS_VETOED]++;
	pthread_mutex_unlock(&hp->lock);
	return veto;
}

size_t handoff_ports_hints_left(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
				uint8_t proto)
{
	pthread_mutex_lock(&hp->lock);
	struct hint_set *h = set_find(hp, t.s_addr, s.s_addr, proto, false);
	size_t n = h ? h->n : 0;
	pthread_mutex_unlock(&hp->lock);
	return n;
}

void handoff_ports_mark_lost(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
			     uint64_t until_ms)
{
	pthread_mutex_lock(&hp->lock);
	struct hint_set *h = set_find(hp, t.s_addr, s.s_addr, 0, true);
	if (h && h->lost_until_ms < until_ms)
		h->lost_until_ms = until_ms;
	pthread_mutex_unlock(&hp->lock);
}

bool handoff_ports_recovering(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
			      uint64_t now_ms)
{
	pthread_mutex_lock(&hp->lock);
	struct hint_set *h = set_find(hp, t.s_addr, s.s_addr, 0, false);
	bool r = h && h->lost_until_ms > now_ms;
	pthread_mutex_unlock(&hp->lock);
	return r;
}

/* ---- lost entries (a two-hash Bloom filter per generation) ---- */

static void lost_hash(const struct handoff_ports *hp, struct in_addr s, uint8_t proto,
		      const struct in6_addr *client, uint16_t port, uint32_t bit[2])
{
	uint64_t w[2];
	memcpy(w, client, sizeof(w));
	uint64_t h = hp->seed ^ ((uint64_t)s.s_addr << 24 | (uint64_t)proto << 16 | port);
	h = (h ^ w[0]) * 0xBF58476D1CE4E5B9ull;
	h = (h ^ (h >> 31) ^ w[1]) * 0x94D049BB133111EBull;
	h ^= h >> 29;
	bit[0] = (uint32_t)h % LOST_BITS;
	bit[1] = (uint32_t)(h >> 32) % LOST_BITS;
}

void handoff_ports_lost_add(struct handoff_ports *hp, struct in_addr s, uint8_t proto,
			    const struct in6_addr *client, uint16_t client_port)
{
	uint32_t bit[2];
	lost_hash(hp, s, proto, client, client_port, bit);
	uint64_t *g = hp->lost[atomic_load(&hp->lost_cur)];
	for (int i = 0; i < 2; i++)
		__atomic_fetch_or(&g[bit[i] / 64], UINT64_C(1) << (bit[i] % 64), __ATOMIC_RELAXED);
}

bool handoff_ports_lost_maybe(struct handoff_ports *hp, struct in_addr s, uint8_t proto,
			      const struct in6_addr *client, uint16_t client_port)
{
	uint32_t bit[2];
	lost_hash(hp, s, proto, client, client_port, bit);
	for (int k = 0; k < 2; k++) {
		const uint64_t *g = hp->lost[k];
		bool all = true;
		for (int i = 0; i < 2 && all; i++)
			all = __atomic_load_n(&g[bit[i] / 64], __ATOMIC_RELAXED) >> (bit[i] % 64) & 1;
		if (all)
			return true;
	}
	return false;
}

void handoff_ports_lost_age(struct handoff_ports *hp, uint64_t now_ms, uint64_t period_ms)
{
	if (hp->lost_since_ms == 0)
		hp->lost_since_ms = now_ms;
	if (now_ms - hp->lost_since_ms < period_ms)
		return;
	/* The older generation is emptied and becomes the current one. */
	unsigned old = atomic_load(&hp->lost_cur) ^ 1;
	for (size_t i = 0; i < LOST_WORDS; i++)
		__atomic_store_n(&hp->lost[old][i], 0, __ATOMIC_RELAXED);
	atomic_store(&hp->lost_cur, old);
	hp->lost_since_ms = now_ms;
}

size_t handoff_ports_held_count(struct handoff_ports *hp)
{
	pthread_mutex_lock(&hp->lock);
	size_t n = hp->count;
	pthread_mutex_unlock(&hp->lock);
	return n;
}

/* ---- hints (lock held) ---- */

static struct hint_set *set_find(struct handoff_ports *hp, uint32_t t, uint32_t s, uint8_t proto,
				 bool create)
{
	for (size_t i = 0; i < hp->nsets; i++)
		if (hp->sets[i].t == t && hp->sets[i].s == s && hp->sets[i].proto == proto)
			return &hp->sets[i];
	if (!create || hp->nsets == HINT_SETS_MAX)
		return NULL;
	struct hint_set *h = &hp->sets[hp->nsets++];
	*h = (struct hint_set){ .t = t, .s = s, .proto = proto };
	return h;
}

void handoff_ports_forget(struct handoff_ports *hp, struct in_addr t, struct in_addr s)
{
	pthread_mutex_lock(&hp->lock);
	for (uint32_t i = hp->oldest, next; i != NIL; i = next) {
		next = hp->rec[i].next;
		if (hp->rec[i].t == t.s_addr && hp->rec[i].s == s.s_addr)
			remove_rec(hp, i);
	}
	for (size_t i = 0; i < hp->nsets;) {
		if (hp->sets[i].t == t.s_addr && hp->sets[i].s == s.s_addr)
			hp->sets[i] = hp->sets[--hp->nsets];
		else
			i++;
	}
	pthread_mutex_unlock(&hp->lock);
}

void handoff_ports_add_hints(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
			     uint8_t proto, const uint16_t *ports, size_t n)
{
	pthread_mutex_lock(&hp->lock);
	struct hint_set *h = set_find(hp, t.s_addr, s.s_addr, proto, true);
	/* Given in the server's order of preference: the first ends on top. */
	for (size_t k = n; h && k-- > 0;) {
		uint16_t port = ports[k];
		/* S offers the port for reuse: it no longer holds it for us. */
		release_locked(hp, t.s_addr, proto, port, s.s_addr);
		size_t w = 0;
		for (size_t i = 0; i < h->n; i++)
			if (h->port[i] != port)
				h->port[w++] = h->port[i];
		h->n = (uint16_t)w;
		if (h->n == HANDOFF_PORTS_HINTS) {
			memmove(h->port, h->port + 1, (HANDOFF_PORTS_HINTS - 1) * sizeof(*h->port));
			h->n--;
		}
		h->port[h->n++] = port;
	}
	if (h)
		h->asked_ms = 0;	/* S answered: the next shortage may ask again */
	pthread_mutex_unlock(&hp->lock);
}

uint16_t handoff_ports_take_hint(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
				 uint8_t proto, bool (*busy)(void *arg, uint16_t port), void *arg,
				 uint64_t now_ms, unsigned *ask)
{
	uint16_t got = 0;
	pthread_mutex_lock(&hp->lock);
	struct hint_set *h = set_find(hp, t.s_addr, s.s_addr, proto, false);
	while (h && h->n && !got) {
		uint16_t port = h->port[--h->n];
		uint32_t i = find(hp, t.s_addr, proto, port);
		bool other = i != NIL && hp->rec[i].s != s.s_addr;
		if (other || (busy && busy(arg, port))) {
			hp->c[HANDOFF_PORTS_HINTS_SKIPPED]++;
			continue;
		}
		hp->c[HANDOFF_PORTS_HINTS_TAKEN]++;
		got = port;
	}
	unsigned want = 0;
	if (h && h->n < HANDOFF_PORTS_LOW &&
	    (!h->asked_ms || now_ms >= h->asked_ms + HANDOFF_PORTS_ASK_MS)) {
		want = HANDOFF_PORTS_HINTS - h->n;
		h->asked_ms = now_ms ? now_ms : 1;
	}
	if (ask)
		*ask = want;
	pthread_mutex_unlock(&hp->lock);
	return got;
}

const uint64_t *handoff_ports_counters(const struct handoff_ports *hp)
{
	return hp->c;
}
