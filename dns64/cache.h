/* The answer cache in front of libunbound: finished responses keyed by
 * (lower-cased qname, qtype, qclass, DO, CD), aged on the way out, LRU
 * bounded by bytes. A hit copies into the caller's buffer: no allocation. */
#ifndef SIXFOUR_DNS64_CACHE_H
#define SIXFOUR_DNS64_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns64/wire.h"

struct dns64_cache;

/* Where the parts of a cached response are, for the send path. */
struct dns64_cached {
	size_t len;
	size_t question_end;
	size_t opt_off;		/* 0 = no OPT */
	bool secure;		/* may carry AD */
};

struct dns64_cache_stats {
	uint64_t entries, bytes, max_bytes;
	uint64_t hits, misses, inserts, evictions, expired, stale_prefix;
};

/* `max_bytes` 0 disables the cache. NULL on allocation failure. */
struct dns64_cache *dns64_cache_new(uint64_t max_bytes);
void dns64_cache_free(struct dns64_cache *c);
void dns64_cache_flush(struct dns64_cache *c);
void dns64_cache_stats(const struct dns64_cache *c, struct dns64_cache_stats *out);

/* Looks up the query's key. On a hit, copies the response into `out`
 * (TTLs reduced by the time it has been cached) and returns true. Entries
 * that depend on the prefix set are dropped when `prefix_gen` differs. */
bool dns64_cache_lookup(struct dns64_cache *c, const struct dns_query *q, uint64_t now_ms,
			uint64_t prefix_gen, uint8_t *out, size_t cap, struct dns64_cached *info);
/* Stores a response built by `b` (its TTL offsets are used for aging).
 * Responses whose smallest TTL is 0, or with more TTLs than the builder
 * tracked, are not stored. `prefix_gen` 0 = independent of the prefix set. */
void dns64_cache_store(struct dns64_cache *c, const struct dns_query *q,
		       const struct dns_builder *b, size_t len, bool secure,
		       uint64_t prefix_gen, uint64_t now_ms);

#endif
