/* Usage accounting of the translator: packets and octets per client
 * prefix (IPv6, [stats] client-prefix-len) and, for packets that belong to
 * no client, per IPv4 prefix ([stats] ipv4-prefix-len); the usage log every
 * [stats] interval, day and month totals kept across restarts, the monthly
 * quota of the hosting plan.
 *
 * Workers count into a table of their own (no lock, no shared cache line);
 * the main loop swaps it for a clean one now and then (common/publish.h)
 * and folds the old one, once no worker can still write it, into
 * Space-Saving summaries of fixed size (heavy_hitters.h). */
#ifndef SIXFOUR_NAT64_USAGE_H
#define SIXFOUR_NAT64_USAGE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_out;
struct sixfour_config;
struct sixfour_ctx;
struct nat64_usage;
struct nat64_usage_slot;

enum nat64_usage_dir {
	NAT64_USAGE_FROM,	/* sent by the client */
	NAT64_USAGE_TO,		/* sent to the client */
};

/* The packet path. `packets` segments of `octets` in total (a GSO
 * super-packet is one call); `slot` or `client` NULL counts nothing.
 * Called by the slot's own thread only. */
void nat64_usage_count6(struct nat64_usage_slot *slot, const struct in6_addr *client,
			enum nat64_usage_dir dir, uint32_t packets, uint64_t octets);
/* A packet of no client, by its IPv4 source. */
void nat64_usage_count4(struct nat64_usage_slot *slot, struct in_addr src, uint32_t packets,
			uint64_t octets);

/* Start-up (privileged): the state file is read back, the log opened.
 * `nworkers` worker slots plus one for the main thread. NULL on error
 * (logged). With [stats] top-prefixes = 0 accounting is off: a state
 * that counts nothing. */
struct nat64_usage *nat64_usage_new(struct sixfour_ctx *ctx, unsigned nworkers);
/* After privileges are dropped: the writer thread. */
int nat64_usage_run(struct nat64_usage *u);
/* Slot `i` (0..nworkers-1 for workers, nworkers for the main thread). */
struct nat64_usage_slot *nat64_usage_slot(struct nat64_usage *u, unsigned i);
/* Takes [stats] and [ratelimit] monthly-quota of `cfg` (live keys). */
void nat64_usage_reload(struct nat64_usage *u, const struct sixfour_config *cfg);
/* Workers must have stopped: the last counts are folded, the interval so
 * far logged and the state written before this returns. */
void nat64_usage_free(struct nat64_usage *u);

/* `usage` (sixfourctl) and the metrics endpoint (usage_ctl.c). */
int nat64_usage_cmd(struct nat64_usage *u, int argc, char **argv, struct ctl_out *out);
void nat64_usage_metrics(struct nat64_usage *u, struct ctl_out *out);
/* `nat64 stats`: the month's top prefixes as a "traffic" list. */
void nat64_usage_print_traffic(struct nat64_usage *u, struct ctl_out *out);

#endif
