/* The translator side of the NAT64 handoff protocol (spec/handoff.md 7,
 * 10, 16.1): the protocol engine handoff/client.c plugged into the session
 * table and the packet path.
 *
 * Transport. Handoff datagrams travel as IPv4/UDP packets that we build
 * ourselves and write into the TUN device, from T:port to S:port (T = the
 * pool address of the entry, S = the server, port = [handoff] port). They
 * leave like translated traffic, whether T is a dedicated pool address
 * (not a local address of the host) or the host's own address (shared
 * mode). Replies to T:port come back into the TUN the same way translated
 * traffic does (dedicated: routed; shared: the nftables steering of the
 * pool's port range, plus a steering entry for the port itself when the
 * range leaves it out) and are recognised in the IPv4->IPv6 path before
 * the session lookup. pool4 never hands the port out for UDP. So no socket
 * is bound, and nothing depends on T being local.
 *
 * Threads. The protocol engine is single-threaded; it runs on the main
 * loop. Workers (and the session hook, which runs after the table lock
 * is released) only push events into a bounded queue and wake the loop
 * through an eventfd; the engine's callbacks (install, deliver, ack) then
 * run on the main thread and take the table lock themselves; no lock is
 * taken inside another. Workers read two small tables directly: the
 * servers with an ESTABLISHED session that took LOOKUP (to decide whether a
 * miss is worth queueing) and the active BLOCKs. */
#ifndef SIXFOUR_NAT64_HANDOFF_GLUE_H
#define SIXFOUR_NAT64_HANDOFF_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "nat64/session.h"
#include "nat64/xlate.h"

struct nat64;
struct nat64_handoff;
struct ctl_out;
struct sixfour_config;

/* Started by the subsystem after its session table and TUN exist (main
 * thread); installs the session hook. NULL when [handoff] enable = no or on
 * failure (logged). */
struct nat64_handoff *nat64_handoff_new(struct nat64 *n, const struct sixfour_config *cfg);
/* Removes the hook and frees everything; the workers must have stopped. */
void nat64_handoff_free(struct nat64_handoff *h);
/* The port no mapping may use (it carries the handoff datagrams). */
uint16_t nat64_handoff_port(const struct sixfour_config *cfg);

/* --- the packet path (any worker thread) --- */

/* An IPv4 packet from the TUN: true when it is a handoff datagram to one of
 * our pool addresses (taken; never translated). Runs before everything
 * else, so BLOCK never stops the protocol itself. */
bool nat64_handoff_input(struct nat64_handoff *h, const uint8_t *p, size_t len);
/* True while a BLOCK from `server` applies (section 7.9). */
bool nat64_handoff_blocked(struct nat64_handoff *h, struct in_addr server);
/* An IPv4 packet matched no session (tuple from nat64_determine_tuple4):
 * true when it was handed to a LOOKUP (taken), false for plain RFC 6146
 * handling. Only servers with an established LOOKUP session qualify. */
bool nat64_handoff_miss(struct nat64_handoff *h, const struct nat64_tuple *in,
			const uint8_t *p, size_t len);
/* An IPv6 packet of one of our clients toward `server` found no session
 * (after a restart or a flush, for TCP without SYN): probe the server, so
 * that its next packet can be looked up. Triggered by our own clients'
 * traffic only, never by the IPv4 side. */
void nat64_handoff_probe(struct nat64_handoff *h, struct in_addr server);

/* --- control (main thread) --- */

/* `sixfourctl handoff [--json]`: per-server sessions and counters. */
void nat64_handoff_print(struct nat64_handoff *h, struct ctl_out *out);
/* Prometheus lines for the metrics endpoint. */
void nat64_handoff_metrics(struct nat64_handoff *h, struct ctl_out *out);

#endif
