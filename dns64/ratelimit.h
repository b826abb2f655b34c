/* Per-client-prefix query rate limits for DNS64 (GCRA, a token bucket kept
 * as one "theoretical arrival time" per key), counted at two levels: the
 * client's prefix (/56, /24) and its enclosing prefix (/48), so that a
 * flood spread over many /56s of one /48 is limited as a whole. Queries
 * known not to be spoofed (a valid DNS Cookie, TCP) have a budget of their
 * own; partners' prefixes have their own limit (or none). Limited queries
 * slip BIND-RRL style: one in `slip` gets a minimal TC=1 reply, the rest
 * are dropped.
 *
 * The state is a fixed set-associative table keyed by a keyed hash (the
 * key is random, so no one can aim at a bucket). When a bucket is full,
 * the entry that goes is one with no debt (its bucket is full again: it
 * knows nothing a fresh one would not) or else the one with the least, so
 * a flood of distinct sources, each one query in debt, cannot push out the
 * state of a prefix that is being limited. The table lives as long as the
 * daemon; reloads change only the policy. */
#ifndef SIXFOUR_DNS64_RATELIMIT_H
#define SIXFOUR_DNS64_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/util.h"

struct dns64_rl_limit {
	unsigned qps;			/* 0 = no limit at this level */
	unsigned burst;			/* queries at once before qps applies */
};

struct dns64_rl_partner {
	struct cidr prefix;
	struct dns64_rl_limit limit;	/* qps 0 = not limited */
};

struct dns64_rl_policy {
	unsigned v6_len, v4_len;	/* the client prefix */
	unsigned v6_enc_len, v4_enc_len;	/* the enclosing prefix; 0 = none */
	struct dns64_rl_limit client, enclosing;
	struct dns64_rl_limit verified;	/* valid DNS Cookie or TCP, per client prefix */
	unsigned slip;			/* 1 in slip limited queries gets TC=1; 0 = none */
	const struct dns64_rl_partner *partners;	/* the longest match wins */
	size_t npartners;
};

/* Which budget a query was counted against. */
#define DNS64_RL_SCOPES(X) X(client) X(enclosing) X(verified) X(partner)
enum dns64_rl_scope {
#define X(name) DNS64_RL_##name,
	DNS64_RL_SCOPES(X)
#undef X
	DNS64_RL_SCOPE_COUNT
};

enum dns64_rl_verdict { DNS64_RL_PASS, DNS64_RL_SLIP, DNS64_RL_DROP };

struct dns64_rl_result {
	enum dns64_rl_verdict verdict;
	enum dns64_rl_scope scope;	/* where it was limited (or counted) */
};

struct dns64_ratelimit;

/* A table of `entries` (rounded up to whole buckets); NULL when out of
 * memory. Shared by threads: buckets are guarded by striped locks. */
struct dns64_ratelimit *dns64_ratelimit_new(size_t entries);
void dns64_ratelimit_free(struct dns64_ratelimit *rl);
/* Counts one query from `sa` (`verified`: it cannot be spoofed) at
 * `now_us` under `pol`. */
struct dns64_rl_result dns64_ratelimit_check(struct dns64_ratelimit *rl,
					     const struct dns64_rl_policy *pol,
					     const struct sockaddr *sa, bool verified,
					     uint64_t now_us);
/* Entries that were pushed out while still in debt (an attack, or a table
 * too small for the load). */
uint64_t dns64_ratelimit_evictions(const struct dns64_ratelimit *rl);
/* The client prefix of `sa` under `pol`, as a key: true when `a` and `b`
 * are the same client (for per-client TCP connection limits). */
bool dns64_rl_same_client(const struct dns64_rl_policy *pol, const struct sockaddr *a,
			  const struct sockaddr *b);

#endif
