/* Fragment reassembly for the translator (RFC 7915 4.1/5.1.1, RFC 6146 3.4).
 *
 * Design, the simplest that is correct: when the per-worker table is given
 * (nat64_xlate_cfg.frags), every fragment that reaches a determine step is
 * stored here, the step returns NAT64_HELD, and when the last missing piece
 * arrives the step goes on with the whole datagram as if it had arrived in
 * one piece. That covers everything that needs the whole datagram:
 *   - non-first fragments carry no ports, so the state layer could not find
 *     their session (RFC 6146 3.4 leaves this to the implementation);
 *   - UDP over IPv4 without a checksum: IPv6 needs one computed over the
 *     whole datagram (RFC 7915 4.5), else it is dropped by configuration;
 *   - ICMP echo: the ICMPv6 pseudo-header holds the whole message length.
 * On the way out the translation step cuts again what must be cut: an
 * IPv6 result larger than 1280 octets from a DF=0 IPv4 datagram becomes
 * fragments of at most 1280 (RFC 7915 4), keeping the IPv4 identification;
 * an IPv4 result is sent whole with DF=0 and the kernel fragments it to the
 * egress MTU as routers do. Linux conntrack (nf_defrag) does the same.
 *
 * Without a table (frags NULL) fragments are translated one by one with
 * the RFC 7915 field mapping; the tuple of a non-first fragment then has
 * ports 0, which the state layer will not find.
 *
 * Bounds: a fixed number of datagrams in progress, a cap on the octets held,
 * at most NAT64_FRAG_MAX_PIECES pieces per datagram, and a timeout; when the
 * table is full the oldest datagram is dropped (counted). Overlapping
 * fragments drop the whole datagram (RFC 5722); exact duplicates are
 * ignored. A table belongs to one worker: no locking. */
#ifndef SIXFOUR_NAT64_FRAG_H
#define SIXFOUR_NAT64_FRAG_H

#include <stddef.h>
#include <stdint.h>

#define NAT64_FRAG_MAX_PIECES 64

struct nat64_frag_table;

/* Reassembly events (common/counters.h). */
#define NAT64_FRAG_COUNTERS(X) \
	X(held, "fragments stored for reassembly") \
	X(reassembled, "datagrams completed") \
	X(timeouts, "datagrams dropped unfinished by age") \
	X(evicted, "datagrams dropped to make room") \
	X(overlaps, "datagrams dropped for overlapping pieces") \
	X(too_big, "fragments beyond 64 KB or the piece limit")

enum nat64_frag_counter {
#define X(name, help) NAT64_FRAG_##name,
	NAT64_FRAG_COUNTERS(X)
#undef X
	NAT64_FRAG__COUNT
};

struct nat64_frag_stats {
	uint64_t c[NAT64_FRAG__COUNT];
};

/* `max_datagrams` in progress at once, `max_bytes` held in total, each
 * datagram given `timeout_ms` ([nat64] fragment-timeout). NULL on ENOMEM. */
struct nat64_frag_table *nat64_frag_new(size_t max_datagrams, size_t max_bytes,
					uint32_t timeout_ms);
void nat64_frag_free(struct nat64_frag_table *t);
/* The table's counters (its owner thread writes them; any may read). */
void nat64_frag_get_stats(const struct nat64_frag_table *t, struct nat64_frag_stats *out);
/* Drops datagrams older than the timeout; the determine steps call it on
 * each fragment, a worker may also call it when idle. */
void nat64_frag_expire(struct nat64_frag_table *t, uint64_t now_ms);

#endif
