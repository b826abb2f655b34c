/* The Space-Saving summary's promises (nat64/heavy_hitters.h), checked
 * against exact counts kept beside it: a small hand-worked case, then
 * millions of updates over two million random prefixes mixed with a few
 * hundred heavy ones, then the same summary saved and restored into the
 * same and into a smaller capacity. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat64/heavy_hitters.h"
#include "tests/unit/tap.h"

#define K 4096
#define NOISE_IDS (1u << 21)	/* distinct random prefixes */
#define HEAVY 200
#define UPDATES 6000000u

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Prefix number `id`: heavy ones under 2001:db8::/32's neighbours, noise
 * spread over 2000::/3 by a bijection of the id. */
static void key_of(uint32_t id, struct hh_key *k)
{
	uint8_t a[16] = { 0 };
	uint32_t v = id < HEAVY ? 0x20010000u + id : 0x20000000u | ((id * 2654435761u) & 0x1fffffffu);
	if (id >= HEAVY && (v >> 16) == 0x2001 && (v & 0xffff) < HEAVY)
		v ^= 0x00800000u;	/* never the same prefix as a heavy one */
	a[0] = (uint8_t)(v >> 24);
	a[1] = (uint8_t)(v >> 16);
	a[2] = (uint8_t)(v >> 8);
	a[3] = (uint8_t)v;
	hh_key_make(k, AF_INET6, a, 32);
}

static uint32_t id_of(const struct hh_key *k)
{
	const uint8_t *a = (const uint8_t *)k->addr;
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	if ((v >> 16) == 0x2001 && (v & 0xffff) < HEAVY)
		return v & 0xffff;
	return UINT32_MAX;	/* noise: looked up through the reverse table */
}

struct exact {
	uint64_t *octets;	/* by id */
	uint64_t *packets;
	uint32_t *rev_hash;	/* noise prefix -> id (open addressing) */
	uint32_t *rev_val;
};

#define REV_SLOTS (1u << 23)

static uint32_t rev_slot(uint32_t v)
{
	return (v * 2246822519u) >> 9 & (REV_SLOTS - 1);
}

static void rev_put(struct exact *x, uint32_t v, uint32_t id)
{
	uint32_t s = rev_slot(v);
	while (x->rev_hash[s] != 0 && x->rev_hash[s] != v)
		s = (s + 1) & (REV_SLOTS - 1);
	x->rev_hash[s] = v;
	x->rev_val[s] = id;
}

static uint32_t lookup_id(const struct exact *x, const struct hh_key *k)
{
	uint32_t id = id_of(k);
	if (id != UINT32_MAX)
		return id;
	const uint8_t *a = (const uint8_t *)k->addr;
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	for (uint32_t s = rev_slot(v); x->rev_hash[s]; s = (s + 1) & (REV_SLOTS - 1))
		if (x->rev_hash[s] == v)
			return x->rev_val[s];
	return UINT32_MAX;
}

/* Checks every promise of the header against the exact counts. */
struct verdict {
	uint64_t below, above, err_over_bound, missing_heavy, sum_mismatch;
	uint64_t bound, total;
};

struct check_arg {
	const struct exact *x;
	const struct hh_stats *st;
	struct verdict *v;
	uint8_t *tracked;
};

static void check_item(void *arg, const struct hh_item *it)
{
	struct check_arg *a = arg;
	uint32_t id = lookup_id(a->x, &it->key);
	if (id == UINT32_MAX) {
		a->v->above++;
		return;
	}
	a->tracked[id] = 1;
	uint64_t t = a->x->octets[id], c = hh_octets(&it->c);
	if (c > t)
		a->v->below++;		/* counted more than it sent */
	if (t > c + it->err)
		a->v->above++;		/* sent more than the bound allows */
	if (it->err > a->st->bound)
		a->v->err_over_bound++;
}

static void check(const struct hh *h, const struct exact *x, uint32_t nids, struct verdict *v)
{
	struct hh_stats st;
	hh_stats(h, &st);
	memset(v, 0, sizeof(*v));
	uint8_t *tracked = calloc(nids, 1);
	struct check_arg a = { x, &st, v, tracked };
	hh_foreach(h, check_item, &a);
	/* Untracked prefixes had at most `bound` octets. */
	for (uint32_t id = 0; id < nids; id++)
		if (!tracked[id] && x->octets[id] > st.bound)
			v->missing_heavy++;
	free(tracked);
	v->bound = st.bound;
	v->total = hh_octets(&st.total);
}

struct sum_arg { struct hh_counts sum; };
static void sum_item(void *arg, const struct hh_item *it)
{
	hh_counts_add(&((struct sum_arg *)arg)->sum, &it->c);
}

struct copy_arg { struct hh *to; };
static void copy_item(void *arg, const struct hh_item *it)
{
	hh_restore_item(((struct copy_arg *)arg)->to, it);
}

int main(void)
{
	plan(36);

	/* --- keys --- */
	struct hh_key k1, k2;
	uint8_t a6[16];
	inet_pton(AF_INET6, "2001:db8:1234:5678::1", a6);
	hh_key_make(&k1, AF_INET6, a6, 32);
	char buf[64];
	hh_key_format(&k1, buf, sizeof(buf));
	is_str(buf, "2001:db8::/32", "an address becomes its /32");
	ok(hh_key_parse(buf, &k2) == 0 && memcmp(&k1, &k2, sizeof(k1)) == 0, "and parses back");
	uint8_t a4[4] = { 192, 88, 99, 77 };
	hh_key_make(&k1, AF_INET, a4, 24);
	hh_key_format(&k1, buf, sizeof(buf));
	is_str(buf, "192.88.99.0/24", "an IPv4 address becomes its /24");
	ok(hh_key_parse("192.88.99.1/24", &k2) != 0 && hh_key_parse("2001:db8::/200", &k2) != 0 &&
	   hh_key_parse("junk", &k2) != 0, "host bits, long lengths and junk are refused");

	/* --- a hand-worked case: capacity 2 --- */
	struct hh *h = hh_new(2, 1);
	struct hh_key a, b, c;
	uint8_t x[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	hh_key_make(&a, AF_INET6, x, 32);
	x[1] = 2;
	hh_key_make(&b, AF_INET6, x, 32);
	x[1] = 3;
	hh_key_make(&c, AF_INET6, x, 32);
	hh_add(h, &a, &(struct hh_counts){ 1, 100, 2, 300 });	/* a: 400 */
	struct hh_stats st;
	hh_stats(h, &st);
	is_int(st.bound, 0, "not full: no error");
	hh_add(h, &b, &(struct hh_counts){ 1, 50, 0, 0 });	/* b: 50 */
	hh_add(h, &c, &(struct hh_counts){ 1, 70, 0, 0 });	/* evicts b, err 50 */
	struct hh_item it;
	ok(!hh_find(h, &b, &it), "the smallest (b) made room");
	ok(hh_find(h, &c, &it) && it.err == 50 && hh_octets(&it.c) == 70,
	   "the newcomer holds its own octets and b's rank as error");
	hh_stats(h, &st);
	is_int(hh_octets(&st.remainder), 50, "b's octets are in the remainder");
	is_int(st.remainder.packets_from, 1, "and its packets");
	is_int(st.bound, 120, "the bound is the smallest rank (c: 70 + 50)");
	struct hh_item top[2];
	ok(hh_top(h, top, 2) == 2 && top[0].key.addr[0] == a.addr[0], "a is first by octets");
	hh_add_unattributed(h, &(struct hh_counts){ 3, 1000, 0, 0 });
	hh_stats(h, &st);
	is_int(st.bound, 1120, "unattributed octets widen the bound");
	is_int(hh_octets(&st.total), 1520, "and count in the total");
	hh_free(h);

	/* --- millions of random prefixes --- */
	struct exact ex = {
		.octets = calloc(HEAVY + NOISE_IDS, sizeof(uint64_t)),
		.packets = calloc(HEAVY + NOISE_IDS, sizeof(uint64_t)),
		.rev_hash = calloc(REV_SLOTS, sizeof(uint32_t)),
		.rev_val = calloc(REV_SLOTS, sizeof(uint32_t)),
	};
	h = hh_new(K, 42);
	if (!h || !ex.octets || !ex.packets || !ex.rev_hash || !ex.rev_val)
		bail("out of memory");
	uint32_t nids = HEAVY + NOISE_IDS;
	for (uint32_t id = HEAVY; id < nids; id++) {
		struct hh_key k;
		key_of(id, &k);
		const uint8_t *p = (const uint8_t *)k.addr;
		rev_put(&ex, (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3], id);
	}
	uint64_t sum_octets = 0, sum_packets = 0;
	for (uint32_t u = 0; u < UPDATES; u++) {
		uint64_t r = next_rand();
		uint32_t id;
		/* 30 % of the updates go to heavy prefixes, skewed: heavy i
		 * gets a share of about ln(HEAVY / (i + 1)) / HEAVY of them. */
		if (r % 100 < 30) {
			uint32_t j = (uint32_t)(next_rand() % HEAVY);
			id = (uint32_t)(next_rand() % (j + 1));
		} else {
			id = HEAVY + (uint32_t)(next_rand() % NOISE_IDS);
		}
		struct hh_key k;
		key_of(id, &k);
		uint64_t len = 40 + next_rand() % 1461;	/* 40..1500 octets */
		struct hh_counts cc = { 0 };
		if (next_rand() & 1) {
			cc.packets_from = 1;
			cc.octets_from = len;
		} else {
			cc.packets_to = 1;
			cc.octets_to = len;
		}
		hh_add(h, &k, &cc);
		ex.octets[id] += len;
		ex.packets[id]++;
		sum_octets += len;
		sum_packets++;
	}
	hh_stats(h, &st);
	is_int(hh_octets(&st.total), sum_octets, "6 M updates: the total is exact");
	is_int(hh_packets(&st.total), sum_packets, "and so are the packets");
	struct sum_arg sa = { { 0 } };
	hh_foreach(h, sum_item, &sa);
	hh_counts_add(&sa.sum, &st.remainder);
	ok(memcmp(&sa.sum, &st.total, sizeof(sa.sum)) == 0,
	   "tracked prefixes plus the remainder are the total, every field");
	is_int(st.tracked, K, "the summary is full");
	ok(st.evictions > 1000000, "and it churned (millions of distinct prefixes)");
	struct verdict v;
	check(h, &ex, nids, &v);
	printf("# bound %llu octets = %.3f of N/K (N %llu, K %u)\n", (unsigned long long)v.bound,
	       (double)v.bound * K / (double)v.total, (unsigned long long)v.total, K);
	ok(v.bound <= v.total / K, "the error bound is at most N/K");
	is_int(v.below, 0, "no tracked prefix is counted above its true octets");
	is_int(v.above, 0, "no tracked prefix sent more than count + error");
	is_int(v.err_over_bound, 0, "no error exceeds the reported bound");
	is_int(v.missing_heavy, 0, "every prefix with more than the bound is tracked");
	/* The heaviest prefixes, with gaps wider than the bound, in order. */
	struct hh_item best[20];
	size_t nb = hh_top(h, best, 20);
	uint32_t order[HEAVY];
	for (uint32_t i = 0; i < HEAVY; i++)
		order[i] = i;
	for (uint32_t i = 0; i < HEAVY; i++)	/* selection sort of the heavy ids */
		for (uint32_t j = i + 1; j < HEAVY; j++)
			if (ex.octets[order[j]] > ex.octets[order[i]]) {
				uint32_t t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
	size_t in_order = 0, separated = 0;
	for (size_t i = 0; i < nb; i++) {
		if (lookup_id(&ex, &best[i].key) == order[i])
			in_order++;
		if (i + 1 < nb && ex.octets[order[i]] - ex.octets[order[i + 1]] > v.bound)
			separated++;
	}
	printf("# top 20: %zu in their true order, %zu gaps wider than the bound\n", in_order,
	       separated);
	is_int(nb, 20, "top 20 asked, 20 given");
	ok(separated >= 5, "the test's heavy prefixes are further apart than the bound");
	ok(in_order == 20 || in_order >= separated, "the heaviest come first, in their true order");
	is_int(best[0].err, 0, "the heaviest prefix was never evicted (exact)");

	/* --- saved and restored --- */
	struct hh *h2 = hh_new(K, 7);
	struct copy_arg ca = { h2 };
	hh_foreach(h, copy_item, &ca);
	hh_restore_totals(h2, &st.total, &st.unattributed, st.ss_bound);
	struct hh_stats st2;
	hh_stats(h2, &st2);
	ok(memcmp(&st2.total, &st.total, sizeof(st.total)) == 0 &&
	   memcmp(&st2.remainder, &st.remainder, sizeof(st.remainder)) == 0,
	   "restored at the same capacity: the same totals and remainder");
	is_int(st2.bound, st.bound, "and the same bound");
	struct hh *h3 = hh_new(K / 2, 9);
	ca.to = h3;
	hh_foreach(h, copy_item, &ca);
	hh_restore_totals(h3, &st.total, &st.unattributed, st.ss_bound);
	struct hh_stats st3;
	hh_stats(h3, &st3);
	ok(memcmp(&st3.total, &st.total, sizeof(st.total)) == 0,
	   "restored into half the capacity: the total is kept");
	check(h3, &ex, nids, &v);
	is_int(v.above + v.below, 0, "its tracked prefixes keep their bounds");
	is_int(v.missing_heavy, 0, "every prefix above its (larger) bound is tracked");
	ok(v.bound >= st.bound && v.bound <= 2 * (v.total / K), "its bound is at most N/(K/2)");
	hh_free(h3);
	/* Into a larger capacity: not full, yet the saved bound still holds. */
	h3 = hh_new(2 * K, 11);
	ca.to = h3;
	hh_foreach(h, copy_item, &ca);
	hh_restore_totals(h3, &st.total, &st.unattributed, st.ss_bound);
	check(h3, &ex, nids, &v);
	ok(v.bound == st.bound && v.err_over_bound == 0 && v.missing_heavy == 0,
	   "restored into twice the capacity: the saved bound is kept");
	hh_free(h3);
	hh_free(h2);

	hh_reset(h);
	hh_stats(h, &st);
	ok(st.tracked == 0 && hh_octets(&st.total) == 0 && st.bound == 0, "reset empties it");
	ok(hh_memory(h) < (size_t)K * 96, "memory is fixed: under 96 octets per tracked prefix");
	hh_free(h);
	free(ex.octets);
	free(ex.packets);
	free(ex.rev_hash);
	free(ex.rev_val);
	return tap_done();
}
