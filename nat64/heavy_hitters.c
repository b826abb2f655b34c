/* Weighted Space-Saving (heavy_hitters.h): entries in one array, a binary
 * min-heap of entry indices ordered by rank (octets since admission plus the
 * inherited error), and a chained hash index. Every operation is
 * O(log capacity); nothing is allocated after hh_new. */
#include "autoconf.h"
#include "nat64/heavy_hitters.h"

#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

struct hh_entry {
	struct hh_item it;
	uint32_t heap_pos;
	uint32_t next;		/* hash chain */
};

struct hh {
	uint32_t cap, n;
	uint32_t nbuckets;	/* power of two */
	uint64_t seed;
	struct hh_entry *e;
	uint32_t *heap;		/* entry indices, heap[0] has the smallest rank */
	uint32_t *bucket;
	struct hh_counts total, held, unattributed;	/* held: sum over entries */
	uint64_t evictions;
	uint64_t floor;		/* the bound of a restored summary */
};

static uint64_t rank(const struct hh_entry *e)
{
	return hh_octets(&e->it.c) + e->it.err;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint32_t bucket_of(const struct hh *h, const struct hh_key *k)
{
	uint64_t x = mix(k->addr[0] ^ h->seed) ^ mix(k->addr[1] + ((uint64_t)k->family << 8 | k->len));
	return (uint32_t)x & (h->nbuckets - 1);
}

static bool key_eq(const struct hh_key *a, const struct hh_key *b)
{
	return a->addr[0] == b->addr[0] && a->addr[1] == b->addr[1] && a->family == b->family &&
	       a->len == b->len;
}

struct hh *hh_new(uint32_t capacity, uint64_t seed)
{
	if (capacity == 0 || capacity > (1u << 30))
		return NULL;
	struct hh *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	*h = (struct hh){ .cap = capacity, .seed = seed, .nbuckets = 1 };
	while (h->nbuckets < capacity)
		h->nbuckets <<= 1;
	h->e = calloc(capacity, sizeof(*h->e));
	h->heap = calloc(capacity, sizeof(*h->heap));
	h->bucket = malloc((size_t)h->nbuckets * sizeof(*h->bucket));
	if (!h->e || !h->heap || !h->bucket) {
		hh_free(h);
		return NULL;
	}
	hh_reset(h);
	return h;
}

void hh_free(struct hh *h)
{
	if (!h)
		return;
	free(h->e);
	free(h->heap);
	free(h->bucket);
	free(h);
}

void hh_reset(struct hh *h)
{
	memset(h->bucket, 0xff, (size_t)h->nbuckets * sizeof(*h->bucket));
	h->n = 0;
	h->total = h->held = h->unattributed = (struct hh_counts){ 0 };
	h->evictions = 0;
	h->floor = 0;
}

size_t hh_memory(const struct hh *h)
{
	return sizeof(*h) + (size_t)h->cap * (sizeof(*h->e) + sizeof(*h->heap)) +
	       (size_t)h->nbuckets * sizeof(*h->bucket);
}

/* --- the heap --- */

static void heap_set(struct hh *h, uint32_t pos, uint32_t idx)
{
	h->heap[pos] = idx;
	h->e[idx].heap_pos = pos;
}

static void sift_up(struct hh *h, uint32_t pos)
{
	uint32_t idx = h->heap[pos];
	uint64_t r = rank(&h->e[idx]);
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (rank(&h->e[h->heap[parent]]) <= r)
			break;
		heap_set(h, pos, h->heap[parent]);
		pos = parent;
	}
	heap_set(h, pos, idx);
}

/* A rank only grows: an entry moves towards the leaves. */
static void sift_down(struct hh *h, uint32_t pos)
{
	uint32_t idx = h->heap[pos];
	uint64_t r = rank(&h->e[idx]);
	for (;;) {
		uint32_t child = 2 * pos + 1;
		if (child >= h->n)
			break;
		uint64_t rc = rank(&h->e[h->heap[child]]);
		if (child + 1 < h->n) {
			uint64_t r2 = rank(&h->e[h->heap[child + 1]]);
			if (r2 < rc) {
				child++;
				rc = r2;
			}
		}
		if (r <= rc)
			break;
		heap_set(h, pos, h->heap[child]);
		pos = child;
	}
	heap_set(h, pos, idx);
}

/* --- the index --- */

static uint32_t find(const struct hh *h, const struct hh_key *k)
{
	for (uint32_t i = h->bucket[bucket_of(h, k)]; i != NONE; i = h->e[i].next)
		if (key_eq(&h->e[i].it.key, k))
			return i;
	return NONE;
}

static void link_entry(struct hh *h, uint32_t idx)
{
	uint32_t b = bucket_of(h, &h->e[idx].it.key);
	h->e[idx].next = h->bucket[b];
	h->bucket[b] = idx;
}

static void unlink_entry(struct hh *h, uint32_t idx)
{
	uint32_t *pp = &h->bucket[bucket_of(h, &h->e[idx].it.key)];
	while (*pp != idx)
		pp = &h->e[*pp].next;
	*pp = h->e[idx].next;
}

static void counts_sub(struct hh_counts *a, const struct hh_counts *b)
{
	a->packets_from -= b->packets_from;
	a->octets_from -= b->octets_from;
	a->packets_to -= b->packets_to;
	a->octets_to -= b->octets_to;
}

/* Puts an item in a free slot (n < cap). */
static void insert(struct hh *h, const struct hh_item *it)
{
	uint32_t idx = h->n++;
	h->e[idx].it = *it;
	link_entry(h, idx);
	heap_set(h, idx, idx);
	sift_up(h, idx);
	hh_counts_add(&h->held, &it->c);
}

/* The smallest-rank entry makes room for `it` (its err already set). */
static void replace_min(struct hh *h, const struct hh_item *it)
{
	uint32_t idx = h->heap[0];
	struct hh_entry *e = &h->e[idx];
	counts_sub(&h->held, &e->it.c);	/* what it held joins the remainder */
	unlink_entry(h, idx);
	e->it = *it;
	link_entry(h, idx);
	hh_counts_add(&h->held, &it->c);
	sift_down(h, 0);
	h->evictions++;
}

void hh_add(struct hh *h, const struct hh_key *key, const struct hh_counts *c)
{
	hh_counts_add(&h->total, c);
	uint32_t idx = find(h, key);
	if (idx != NONE) {
		hh_counts_add(&h->e[idx].it.c, c);
		hh_counts_add(&h->held, c);
		sift_down(h, h->e[idx].heap_pos);
		return;
	}
	struct hh_item it = { .key = *key, .c = *c, .err = 0 };
	if (h->n < h->cap) {
		insert(h, &it);
		return;
	}
	it.err = rank(&h->e[h->heap[0]]);
	replace_min(h, &it);
}

void hh_add_unattributed(struct hh *h, const struct hh_counts *c)
{
	hh_counts_add(&h->total, c);
	hh_counts_add(&h->unattributed, c);
}

void hh_restore_item(struct hh *h, const struct hh_item *it)
{
	uint32_t idx = find(h, &it->key);
	if (idx != NONE) {
		/* A key twice: merged; its err is the larger bound. */
		struct hh_entry *e = &h->e[idx];
		hh_counts_add(&e->it.c, &it->c);
		hh_counts_add(&h->held, &it->c);
		if (it->err > e->it.err)
			e->it.err = it->err;
		sift_down(h, e->heap_pos);
		return;
	}
	if (h->n < h->cap) {
		insert(h, it);
		return;
	}
	/* Full (a smaller capacity than when saved): the smaller rank leaves,
	 * as if it had been evicted; the other keeps its own error. */
	uint64_t r = hh_octets(&it->c) + it->err;
	if (r <= rank(&h->e[h->heap[0]])) {
		h->evictions++;
		return;	/* its counts stay in the total, i.e. the remainder */
	}
	replace_min(h, it);
}

void hh_restore_totals(struct hh *h, const struct hh_counts *total,
		       const struct hh_counts *unattributed, uint64_t ss_bound)
{
	h->floor = ss_bound;
	h->total = *total;
	h->unattributed = *unattributed;
	/* Never less than what is attributed plus the unattributed part. */
	struct hh_counts floor = h->held;
	hh_counts_add(&floor, &h->unattributed);
	if (h->total.packets_from < floor.packets_from)
		h->total.packets_from = floor.packets_from;
	if (h->total.octets_from < floor.octets_from)
		h->total.octets_from = floor.octets_from;
	if (h->total.packets_to < floor.packets_to)
		h->total.packets_to = floor.packets_to;
	if (h->total.octets_to < floor.octets_to)
		h->total.octets_to = floor.octets_to;
}

void hh_stats(const struct hh *h, struct hh_stats *st)
{
	st->total = h->total;
	st->remainder = h->total;
	counts_sub(&st->remainder, &h->held);
	st->unattributed = h->unattributed;
	/* Full: the smallest rank bounds every error and every prefix that
	 * is not tracked (those that were evicted). */
	uint64_t ss = h->n == h->cap ? rank(&h->e[h->heap[0]]) : 0;
	st->ss_bound = MAX(ss, h->floor);
	st->bound = st->ss_bound + hh_octets(&h->unattributed);
	st->evictions = h->evictions;
	st->tracked = h->n;
	st->capacity = h->cap;
}

/* --- reading --- */

/* A min-heap of the best `n` so far, by exact octets. */
static bool better(const struct hh_item *a, const struct hh_item *b)
{
	uint64_t x = hh_octets(&a->c), y = hh_octets(&b->c);
	if (x != y)
		return x > y;
	/* Ties in a stable order. */
	if (a->key.family != b->key.family)
		return a->key.family > b->key.family;	/* IPv6 first */
	int c = memcmp(a->key.addr, b->key.addr, sizeof(a->key.addr));
	return c ? c < 0 : a->key.len < b->key.len;
}

static void top_sift(struct hh_item *v, size_t n, size_t pos)
{
	for (;;) {
		size_t c = 2 * pos + 1, m = pos;
		if (c < n && better(&v[m], &v[c]))
			m = c;
		if (c + 1 < n && better(&v[m], &v[c + 1]))
			m = c + 1;
		if (m == pos)
			return;
		struct hh_item t = v[pos];
		v[pos] = v[m];
		v[m] = t;
		pos = m;
	}
}

static int cmp_items(const void *a, const void *b)
{
	return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

size_t hh_top(const struct hh *h, struct hh_item *out, size_t n)
{
	size_t k = 0;
	for (uint32_t i = 0; i < h->n && n; i++) {
		const struct hh_item *it = &h->e[i].it;
		if (k < n) {
			out[k++] = *it;
			if (k == n)	/* heapify: out[0] is the worst kept */
				for (size_t p = n / 2; p-- > 0;)
					top_sift(out, n, p);
		} else if (better(it, &out[0])) {
			out[0] = *it;
			top_sift(out, n, 0);
		}
	}
	qsort(out, k, sizeof(*out), cmp_items);
	return k;
}

void hh_foreach(const struct hh *h, void (*fn)(void *arg, const struct hh_item *it), void *arg)
{
	for (uint32_t i = 0; i < h->n; i++)
		fn(arg, &h->e[i].it);
}

bool hh_find(const struct hh *h, const struct hh_key *key, struct hh_item *out)
{
	uint32_t idx = find(h, key);
	if (idx == NONE)
		return false;
	*out = h->e[idx].it;
	return true;
}

/* --- keys --- */

void hh_key_make(struct hh_key *key, int family, const void *addr, unsigned len)
{
	unsigned alen = family == AF_INET ? 4 : 16;
	uint8_t b[16] = { 0 };
	if (len > alen * 8)
		len = alen * 8;
	memcpy(b, addr, alen);
	mask_octets(b, alen, len);
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, b, 16);
	key->family = (uint8_t)family;
	key->len = (uint8_t)len;
}

void hh_key_format(const struct hh_key *key, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";
	inet_ntop(key->family == AF_INET ? AF_INET : AF_INET6, key->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, key->len);
}

int hh_key_parse(const char *text, struct hh_key *key)
{
	char a[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	if (!slash || (size_t)(slash - text) >= sizeof(a))
		return -EINVAL;
	memcpy(a, text, (size_t)(slash - text));
	a[slash - text] = '\0';
	char *end;
	unsigned long len = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1)
		return -EINVAL;
	uint8_t b[16];
	int family = strchr(a, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, a, b) != 1 || len > (family == AF_INET ? 32u : 128u))
		return -EINVAL;
	hh_key_make(key, family, b, (unsigned)len);
	/* Host bits must have been zero: the canonical text only. */
	struct hh_key again;
	hh_key_make(&again, family, b, 128);
	if (memcmp(again.addr, key->addr, 16) != 0)
		return -EINVAL;
	return 0;
}
