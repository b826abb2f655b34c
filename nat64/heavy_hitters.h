/* Traffic per prefix in memory fixed at creation: a weighted Space-Saving
 * summary (Metwally, Agrawal and El Abbadi, "Efficient computation of
 * frequent and top-k elements in data streams", 2005), ranked by octets.
 *
 * At most `capacity` prefixes are tracked. A prefix that arrives when the
 * summary is full takes the place of the one with the smallest rank; the
 * newcomer inherits that rank as its error, and what the evicted prefix had
 * been credited moves to the remainder. So, with N the octets added:
 *
 *   - every octet is counted once: the tracked prefixes' counts plus the
 *     remainder are the total, exactly;
 *   - a tracked prefix's counts are exact since it was admitted: its true
 *     octets lie in [c, c + err];
 *   - err <= bound and an untracked prefix had at most `bound` octets, where
 *     bound = smallest rank when full (else 0) <= N / capacity, plus the
 *     octets that reached the summary with no prefix (`unattributed`).
 *
 * Not thread-safe: one thread (the main loop) owns a summary. */
#ifndef SIXFOUR_NAT64_HEAVY_HITTERS_H
#define SIXFOUR_NAT64_HEAVY_HITTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A prefix: its bytes with host bits zero, in memory order. */
struct hh_key {
	uint64_t addr[2];
	uint8_t family;		/* AF_INET6 (a client) or AF_INET (no client) */
	uint8_t len;
};

/* Directions are seen from the prefix: "from" it, "to" it. */
struct hh_counts {
	uint64_t packets_from, octets_from;
	uint64_t packets_to, octets_to;
};

struct hh_item {
	struct hh_key key;
	struct hh_counts c;	/* exact since admission */
	uint64_t err;		/* octets it may have had before (upper bound) */
};

struct hh_stats {
	struct hh_counts total;		/* everything added */
	struct hh_counts remainder;	/* total minus what tracked prefixes hold */
	struct hh_counts unattributed;	/* added without a prefix (part of remainder) */
	uint64_t bound;			/* error bound in octets (see above) */
	uint64_t ss_bound;		/* its Space-Saving part (without unattributed) */
	uint64_t evictions;
	uint32_t tracked, capacity;
};

struct hh;

/* NULL when out of memory; `seed` keys the hash (random per process). */
struct hh *hh_new(uint32_t capacity, uint64_t seed);
void hh_free(struct hh *h);
/* Empties the summary (a new period). */
void hh_reset(struct hh *h);
/* Bytes the summary holds. */
size_t hh_memory(const struct hh *h);

/* Adds traffic of one prefix. */
void hh_add(struct hh *h, const struct hh_key *key, const struct hh_counts *c);
/* Adds traffic whose prefix is unknown (a table that overflowed). */
void hh_add_unattributed(struct hh *h, const struct hh_counts *c);

/* Restoring a saved summary: items first, then the saved totals. An item
 * beyond the capacity keeps the summary's guarantees (the smaller rank goes
 * to the remainder). hh_restore_totals sets the total, the unattributed
 * part and the saved ss_bound (the bound never drops below it for the rest
 * of the period); a total smaller than what the items hold is raised. */
void hh_restore_item(struct hh *h, const struct hh_item *it);
void hh_restore_totals(struct hh *h, const struct hh_counts *total,
		       const struct hh_counts *unattributed, uint64_t ss_bound);

void hh_stats(const struct hh *h, struct hh_stats *st);
/* Octets of both directions. */
static inline uint64_t hh_octets(const struct hh_counts *c)
{
	return c->octets_from + c->octets_to;
}
static inline uint64_t hh_packets(const struct hh_counts *c)
{
	return c->packets_from + c->packets_to;
}
static inline void hh_counts_add(struct hh_counts *a, const struct hh_counts *b)
{
	a->packets_from += b->packets_from;
	a->octets_from += b->octets_from;
	a->packets_to += b->packets_to;
	a->octets_to += b->octets_to;
}

/* The `n` prefixes with the most octets (exact part), largest first;
 * returns how many were written. */
size_t hh_top(const struct hh *h, struct hh_item *out, size_t n);
/* Every tracked prefix, in no particular order: calls fn for each. */
void hh_foreach(const struct hh *h, void (*fn)(void *arg, const struct hh_item *it), void *arg);
/* The tracked item of `key`, or false. */
bool hh_find(const struct hh *h, const struct hh_key *key, struct hh_item *out);

/* "2001:db8::/32" or "192.0.2.0/24". */
void hh_key_format(const struct hh_key *key, char *buf, size_t size);
/* Parses what hh_key_format writes; 0 or -EINVAL. */
int hh_key_parse(const char *text, struct hh_key *key);
/* The prefix of `len` bits of an address (4 or 16 bytes at `addr`). */
void hh_key_make(struct hh_key *key, int family, const void *addr, unsigned len);

#endif
