/* Bandwidth limits of the translator ([ratelimit] bandwidth,
 * bandwidth-queue, client-bandwidth, client-bandwidth-override).
 *
 * The global cap is one budget for every worker, whatever their number: a
 * shared virtual clock (GCRA: the theoretical departure time of the last
 * octet admitted), advanced with one atomic compare-and-swap per packet or,
 * while the cap is far from reached, per chunk of about a millisecond of
 * it. A packet over the cap is not dropped at once: it waits in its
 * worker's queue until its departure time, as long as that is at most
 * bandwidth-queue away; only then is it dropped (RATE_LIMITED). TCP thus
 * sees a short queue instead of a burst of losses and fills the cap; see
 * doc/design-notes.md.
 *
 * The per-client limit works the same way with a clock per client (an IPv6
 * prefix of [ratelimit] prefix-len; a bandwidth-partner prefix has one
 * clock for all of it) in a fixed shared table: its packets
 * over the limit wait too, in the same per-worker queue, which is ordered
 * by departure time, so a client held back never delays another; beyond
 * bandwidth-queue they are dropped (CLIENT_RATE_LIMITED). An idle clock
 * is a full bucket, which is what a fresh one is: reusing idle entries
 * loses nothing, and the table needs to hold only the clients that are
 * over their rate at the same moment. */
#ifndef SIXFOUR_NAT64_BWLIMIT_H
#define SIXFOUR_NAT64_BWLIMIT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "nat64/xlate.h"

struct ctl_out;
struct sixfour_config;
struct sixfour_ctx;
struct nat64_bw;
struct nat64_bw_slot;

/* Start-up: `nworkers` worker slots plus one for the main thread (which
 * never waits: over a limit it drops); queue buffers fit `mtu`. NULL when
 * out of memory. */
struct nat64_bw *nat64_bw_new(struct sixfour_ctx *ctx, const struct sixfour_config *cfg,
			      unsigned nworkers, unsigned mtu);
struct nat64_bw_slot *nat64_bw_slot(struct nat64_bw *b, unsigned i);
/* Refuses a bandwidth-partner line that does not parse: 0 or -EINVAL with
 * why in err. */
int nat64_bw_check(const struct sixfour_config *cfg, char *err, size_t errlen);
/* Takes the live [ratelimit] keys of `cfg`; the budget carries on. */
void nat64_bw_reload(struct nat64_bw *b, const struct sixfour_config *cfg);
void nat64_bw_free(struct nat64_bw *b);
/* Tests: a clock of their own (nanoseconds, CLOCK_MONOTONIC by default). */
void nat64_bw_set_clock(struct nat64_bw *b, uint64_t (*now_ns)(void));

/* True when a limit is configured (a packet may then be held). */
bool nat64_bw_limits(const struct nat64_bw_slot *slot);
/* May the translated packet (`len` octets at `pkt`, `wire` octets once the
 * kernel has cut it into its segments: offloads, nat64/vnet.h) of `client`
 * (NULL: the translator's own ICMP error) go out? NAT64_CONTINUE: write it now;
 * NAT64_HELD: it was copied into the slot's queue and goes out when due
 * (nat64_bw_wait); NAT64_DROP_RATE_LIMITED or NAT64_DROP_CLIENT_RATE_LIMITED.
 * `slot` NULL admits everything. Called by the slot's thread only. */
enum nat64_verdict nat64_bw_admit(struct nat64_bw_slot *slot, const struct in6_addr *client,
				  const uint8_t *pkt, size_t len, size_t wire);
/* A super-packet whole or not at all: true when both limits let its `wire`
 * octets leave now (they are then charged, as by nat64_bw_admit), false
 * when either would make it wait or drop it (nothing is charged: the
 * caller cuts it and admits each segment). `slot` NULL: true. */
bool nat64_bw_admit_now(struct nat64_bw_slot *slot, const struct in6_addr *client, size_t wire);
/* A worker, before it blocks in read(): writes queued packets to `fd` as
 * they fall due (each behind a zero `vnet_len`-octet virtio-net header:
 * nat64/tunio.h), and returns once `fd` is readable, the queue is empty,
 * or a signal came. Failed writes are added to *write_errors. */
void nat64_bw_wait(struct nat64_bw_slot *slot, int fd, unsigned vnet_len,
		   uint64_t *write_errors);

/* Counters: `nat64 stats` (text or a JSON member ",\"limits\":{...}") and
 * the metrics endpoint. */
void nat64_bw_print(struct nat64_bw *b, struct ctl_out *out);
void nat64_bw_metrics(struct nat64_bw *b, struct ctl_out *out);

#endif
