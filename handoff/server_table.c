/* sixfour-handoffd entry table: one hash over all entries, one global LRU
 * list for the whole-table capacity, and per (server, NAT64, protocol) a
 * "group" with its own LRU list and a port occupancy bitmap for hints. */
#include "autoconf.h"
#include "handoff/server_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "common/util.h"

#define PORT_WORDS (65536 / 64)
/* Bounds the work of one hint so a crowded group cannot stall the loop. */
#define HINT_MAX_PROBES 256

struct link {
	struct entry *prev, *next;
};

struct group;

struct entry {
	struct hsrv_key key;
	struct handoff_er er;
	struct group *grp;
	uint64_t seq;		/* when last stored or looked up (table clock) */
	struct entry *hnext;	/* hash chain */
	struct entry *cnext;	/* client-side hash chain (LOOKUP-CLIENT) */
	struct link all;	/* global LRU: head = most recently used */
	struct link in_grp;	/* group LRU */
};

struct list {
	struct entry *head, *tail;
};

struct group {
	uint32_t server4, nat64;
	uint8_t proto;
	size_t count;
	uint16_t cursor, last_hint;
	struct list lru;
	struct group *next;
	uint64_t used[PORT_WORDS];
};

struct hsrv_table {
	size_t capacity, per_group, count, ngroups;
	size_t nbuckets;	/* power of two */
	uint64_t seed, clock;
	struct entry **buckets;
	struct entry **cbuckets;	/* by (server, NAT64, proto, client, client port) */
	struct list lru;
	struct group *groups;
};

/* Intrusive list helpers parametrised by which link to use. */
#define LINK(e, all_list) ((all_list) ? &(e)->all : &(e)->in_grp)

static void list_unlink(struct list *l, struct entry *e, bool all)
{
	struct link *k = LINK(e, all);
	if (k->prev)
		LINK(k->prev, all)->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		LINK(k->next, all)->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
}

static void list_push_head(struct list *l, struct entry *e, bool all)
{
	struct link *k = LINK(e, all);
	k->prev = NULL;
	k->next = l->head;
	if (l->head)
		LINK(l->head, all)->prev = e;
	else
		l->tail = e;
	l->head = e;
}

static void list_push_tail(struct list *l, struct entry *e, bool all)
{
	struct link *k = LINK(e, all);
	k->next = NULL;
	k->prev = l->tail;
	if (l->tail)
		LINK(l->tail, all)->next = e;
	else
		l->head = e;
	l->tail = e;
}

static size_t hash_key(const struct hsrv_table *t, const struct hsrv_key *k)
{
	uint64_t h = t->seed;
	h ^= ((uint64_t)k->server4 << 32 | k->nat64) * 0x9E3779B97F4A7C15ull;
	h ^= ((uint64_t)k->proto << 16 | k->port) * 0xC2B2AE3D27D4EB4Full;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (size_t)h & (t->nbuckets - 1);
}

static size_t hash_client(const struct hsrv_table *t, uint32_t server4, uint32_t nat64,
			  uint8_t proto, const struct in6_addr *client, uint16_t client_port)
{
	uint64_t h = t->seed ^ 0x5851F42D4C957F2Dull;
	uint64_t w[2];
	memcpy(w, client, sizeof(w));
	h ^= ((uint64_t)server4 << 32 | nat64) * 0x9E3779B97F4A7C15ull;
	h ^= ((uint64_t)proto << 16 | client_port) * 0xC2B2AE3D27D4EB4Full;
	h ^= w[0] * 0x94D049BB133111EBull;
	h ^= h >> 31;
	h ^= w[1] * 0xBF58476D1CE4E5B9ull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (size_t)h & (t->nbuckets - 1);
}

static size_t hash_entry_client(const struct hsrv_table *t, const struct entry *e)
{
	return hash_client(t, e->key.server4, e->key.nat64, e->key.proto, &e->er.client,
			   e->er.client_port);
}

static void client_link(struct hsrv_table *t, struct entry *e)
{
	size_t b = hash_entry_client(t, e);
	e->cnext = t->cbuckets[b];
	t->cbuckets[b] = e;
}

static void client_unlink(struct hsrv_table *t, struct entry *e)
{
	struct entry **pp = &t->cbuckets[hash_entry_client(t, e)];
	while (*pp != e)
		pp = &(*pp)->cnext;
	*pp = e->cnext;
}

static bool key_eq(const struct hsrv_key *a, const struct hsrv_key *b)
{
	return a->server4 == b->server4 && a->nat64 == b->nat64 && a->proto == b->proto &&
	       a->port == b->port;
}

struct hsrv_table *hsrv_table_new(size_t capacity, size_t per_group)
{
	struct hsrv_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->capacity = capacity ? capacity : 1;
	t->per_group = per_group ? MIN(per_group, (size_t)65536) : 65536;
	t->nbuckets = 1024;
	while (t->nbuckets < t->capacity / 2 && t->nbuckets < ((size_t)1 << 24))
		t->nbuckets <<= 1;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->cbuckets = calloc(t->nbuckets, sizeof(*t->cbuckets));
	if (!t->buckets || !t->cbuckets ||
	    handoff_random((uint8_t *)&t->seed, sizeof(t->seed)) < 0) {
		free(t->buckets);
		free(t->cbuckets);
		free(t);
		return NULL;
	}
	return t;
}

void hsrv_table_free(struct hsrv_table *t)
{
	if (!t)
		return;
	struct entry *e = t->lru.head;
	while (e) {
		struct entry *n = e->all.next;
		free(e);
		e = n;
	}
	struct group *g = t->groups;
	while (g) {
		struct group *n = g->next;
		free(g);
		g = n;
	}
	free(t->buckets);
	free(t->cbuckets);
	free(t);
}

size_t hsrv_table_count(const struct hsrv_table *t)
{
	return t->count;
}

static struct entry *find(const struct hsrv_table *t, const struct hsrv_key *k)
{
	for (struct entry *e = t->buckets[hash_key(t, k)]; e; e = e->hnext)
		if (key_eq(&e->key, k))
			return e;
	return NULL;
}

static struct group *group_get(struct hsrv_table *t, uint32_t server4, uint32_t nat64,
			       uint8_t proto, bool create)
{
	for (struct group *g = t->groups; g; g = g->next)
		if (g->server4 == server4 && g->nat64 == nat64 && g->proto == proto)
			return g;
	if (!create || t->ngroups >= HSRV_TABLE_MAX_GROUPS)
		return NULL;
	struct group *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	*g = (struct group){ .server4 = server4, .nat64 = nat64, .proto = proto,
			     .cursor = proto == IPPROTO_ICMP ? 1 : 1024, .next = t->groups };
	t->groups = g;
	t->ngroups++;
	return g;
}

static void port_set(struct group *g, uint16_t port, bool used)
{
	if (used)
		g->used[port / 64] |= UINT64_C(1) << (port % 64);
	else
		g->used[port / 64] &= ~(UINT64_C(1) << (port % 64));
}

static bool port_used(const struct group *g, uint16_t port)
{
	return g->used[port / 64] >> (port % 64) & 1;
}

static void view(const struct entry *e, struct hsrv_entry_view *v)
{
	v->key = e->key;
	v->er = e->er;
}

static void touch(struct hsrv_table *t, struct entry *e)
{
	e->seq = ++t->clock;
	list_unlink(&t->lru, e, true);
	list_push_head(&t->lru, e, true);
	list_unlink(&e->grp->lru, e, false);
	list_push_head(&e->grp->lru, e, false);
}

static void destroy(struct hsrv_table *t, struct entry *e)
{
	struct entry **pp = &t->buckets[hash_key(t, &e->key)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	client_unlink(t, e);
	list_unlink(&t->lru, e, true);
	list_unlink(&e->grp->lru, e, false);
	port_set(e->grp, e->key.port, false);
	e->grp->count--;
	t->count--;
	free(e);
}

static bool same_mapping(const struct handoff_er *a, const struct handoff_er *b)
{
	return a->proto == b->proto && a->nat_port == b->nat_port &&
	       a->client_port == b->client_port &&
	       memcmp(&a->client, &b->client, sizeof(a->client)) == 0;
}

int hsrv_table_put(struct hsrv_table *t, const struct hsrv_key *key, const struct handoff_er *er,
		   struct hsrv_put_result *res)
{
	memset(res, 0, sizeof(*res));
	struct entry *e = find(t, key);
	if (e) {
		if (same_mapping(&e->er, er)) {
			/* A retransmit or resync: refresh, keep quiet (section 7.5). */
			res->kind = HSRV_PUT_REFRESH;
			e->er.server_port = er->server_port;
			e->er.flags = 0;
		} else {
			res->kind = HSRV_PUT_REPLACED;
			view(e, &res->old);
			client_unlink(t, e);
			e->er = *er;
			e->er.flags = 0;
			client_link(t, e);
		}
		touch(t, e);
		return 0;
	}
	struct group *g = group_get(t, key->server4, key->nat64, key->proto, true);
	if (!g)
		return -ENOSPC;
	/* Make room: the group's own LRU first (per NAT64 address and protocol
	 * limit), then the table's (whole capacity). Section 10.5. */
	struct entry *victim = NULL;
	if (g->count >= t->per_group)
		victim = g->lru.tail;
	else if (t->count >= t->capacity)
		victim = t->lru.tail;
	if (victim) {
		res->evicted = true;
		view(victim, &res->victim);
		destroy(t, victim);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = *key;
	e->er = *er;
	e->er.flags = 0;
	e->grp = g;
	size_t b = hash_key(t, key);
	e->hnext = t->buckets[b];
	t->buckets[b] = e;
	e->seq = ++t->clock;
	client_link(t, e);
	list_push_head(&t->lru, e, true);
	list_push_head(&g->lru, e, false);
	port_set(g, key->port, true);
	g->count++;
	t->count++;
	res->kind = HSRV_PUT_NEW;
	return 0;
}

bool hsrv_table_lookup(struct hsrv_table *t, const struct hsrv_key *key, struct handoff_er *out)
{
	struct entry *e = find(t, key);
	if (!e)
		return false;
	touch(t, e);
	*out = e->er;
	return true;
}

bool hsrv_table_lookup_client(struct hsrv_table *t, uint32_t server4, uint32_t nat64,
			      uint8_t proto, const struct in6_addr *client, uint16_t client_port,
			      struct handoff_er *out)
{
	/* A client port reused after its mapping went away leaves an older
	 * entry with the same IPv6 side: the most recent one is the answer. */
	struct entry *best = NULL;
	size_t b = hash_client(t, server4, nat64, proto, client, client_port);
	for (struct entry *e = t->cbuckets[b]; e; e = e->cnext)
		if (e->key.server4 == server4 && e->key.nat64 == nat64 && e->key.proto == proto &&
		    e->er.client_port == client_port &&
		    memcmp(&e->er.client, client, sizeof(*client)) == 0 &&
		    (!best || e->seq > best->seq))
			best = e;
	if (!best)
		return false;
	touch(t, best);
	*out = best->er;
	return true;
}

bool hsrv_table_mark_closed(struct hsrv_table *t, const struct hsrv_key *key,
			    const struct handoff_er *er)
{
	struct entry *e = find(t, key);
	if (!e || !same_mapping(&e->er, er))
		return false;
	e->er.flags |= HANDOFF_ER_CLOSED;
	/* The oldest end is where hints and evictions look first. */
	list_unlink(&t->lru, e, true);
	list_push_tail(&t->lru, e, true);
	list_unlink(&e->grp->lru, e, false);
	list_push_tail(&e->grp->lru, e, false);
	return true;
}

bool hsrv_table_remove(struct hsrv_table *t, const struct hsrv_key *key)
{
	struct entry *e = find(t, key);
	if (!e)
		return false;
	destroy(t, e);
	return true;
}

static bool hint_ok(struct group *g, uint16_t port, hsrv_live_fn live, void *arg)
{
	if (port == 0 || port == g->last_hint)
		return false;
	return !live || !live(arg, g->nat64, g->proto, port);
}

static bool listed(const uint16_t *out, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] == port)
			return true;
	return false;
}

/* Up to `max` distinct hints into `out`, in the order of profile P-8:
 * free ports (round robin from the group's cursor), then the least
 * recently used ports (CLOSED entries sit at that end); never one with a
 * live local socket, never the previous hint again first. */
static size_t group_hints(struct hsrv_table *t, struct group *g, uint32_t lo, uint32_t hi,
			  hsrv_live_fn live, void *arg, uint16_t *out, size_t max)
{
	size_t n = 0;
	unsigned probes = 0;
	uint32_t span = hi - lo + 1;
	if (g->count < t->per_group) {
		uint32_t p = g->cursor < lo || g->cursor > hi ? lo : g->cursor;
		for (uint32_t k = 0; k < span && n < max && probes < HINT_MAX_PROBES; k++) {
			uint16_t port = (uint16_t)p;
			p = p >= hi ? lo : p + 1;
			if ((port % 64) == 0 && port + 63u <= hi &&
			    g->used[port / 64] == ~UINT64_C(0)) {
				k += 63;	/* whole word taken */
				p = port + 64u > hi ? lo : port + 64u;
				continue;
			}
			if (port_used(g, port))
				continue;
			probes++;
			if (hint_ok(g, port, live, arg) && !listed(out, n, port)) {
				out[n++] = port;
				g->cursor = (uint16_t)p;
			}
		}
	}
	probes = 0;
	for (struct entry *e = g->lru.tail; e && n < max && probes < HINT_MAX_PROBES;
	     e = e->in_grp.prev, probes++) {
		uint16_t port = e->key.port;
		if (port >= lo && port <= hi && hint_ok(g, port, live, arg) && !listed(out, n, port))
			out[n++] = port;
	}
	if (n)
		g->last_hint = out[n - 1];
	return n;
}

static void hint_range(uint8_t proto, uint16_t lo, uint16_t hi, uint32_t *plo, uint32_t *phi)
{
	if (lo == 0 && hi == 0) {
		*plo = proto == IPPROTO_ICMP ? 1 : 1024;
		*phi = 65535;
	} else {
		*plo = lo ? lo : 1;
		*phi = hi >= *plo ? hi : *plo;
	}
}

uint16_t hsrv_table_hint(struct hsrv_table *t, uint32_t server4, uint32_t nat64, uint8_t proto,
			 uint16_t lo, uint16_t hi, hsrv_live_fn live, void *arg)
{
	uint16_t port = 0;
	hsrv_table_hints(t, server4, nat64, proto, lo, hi, live, arg, &port, 1);
	return port;
}

size_t hsrv_table_hints(struct hsrv_table *t, uint32_t server4, uint32_t nat64, uint8_t proto,
			uint16_t lo, uint16_t hi, hsrv_live_fn live, void *arg, uint16_t *out,
			size_t max)
{
	uint32_t plo, phi;
	hint_range(proto, lo, hi, &plo, &phi);
	struct group *g = group_get(t, server4, nat64, proto, false);
	if (!g) {
		/* Nothing stored for this NAT64 yet: every port of the range is
		 * free, so a new group starts at its low end. */
		g = group_get(t, server4, nat64, proto, true);
		if (!g)
			return 0;
	}
	return group_hints(t, g, plo, phi, live, arg, out, max);
}

int hsrv_table_foreach(const struct hsrv_table *t,
		       int (*fn)(void *arg, const struct hsrv_entry_view *e), void *arg)
{
	for (const struct entry *e = t->lru.tail; e; e = e->all.prev) {
		struct hsrv_entry_view v;
		view(e, &v);
		int rc = fn(arg, &v);
		if (rc)
			return rc;
	}
	return 0;
}
