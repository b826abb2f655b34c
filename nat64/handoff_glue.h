/* The translator side of the NAT64 handoff protocol (spec/handoff.md 7,
 * 10, 16.1; doc/handoff-profile.md): the protocol engine handoff/client.c
 * plugged into the session table and the packet path.
 *
 * Transport. Handoff datagrams travel as IPv4/UDP packets written with the
 * translator's own header writer and checksums into the TUN device, from
 * T:port to S:port (T = the pool address of the entry, S = the server,
 * port = [handoff] port). They leave like translated traffic, whether T is
 * a dedicated pool address or the host's own (shared mode). Replies to
 * T:port come back into the TUN the way translated traffic does and are
 * recognised once, right after the normal IPv4 parse
 * (nat64_determine_tuple4), before BLOCK and the session lookup; so are ICMP
 * errors quoting one of our datagrams. pool4 never hands the port out for
 * UDP.
 *
 * Threads. The engine is single-threaded and runs on the main loop.
 * Workers and the session table's hook only push events into one bounded
 * queue (handoff_queue.c). Workers read a published view (common/publish.h)
 * of the sessions that took LOOKUP and of the BLOCKs, which the glue alone
 * owns, and the held ports and hints (handoff_ports.c).
 *
 * Restart. The established sessions are saved in [general] state-directory
 * (handoff_state.c) and resumed at start, so the first miss after a restart
 * is looked up at once, whichever side speaks first. */
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
 * thread, still privileged: it makes the state directory); installs the
 * session hook and resumes the saved sessions. NULL when [handoff] enable
 * = no or on failure (logged). */
struct nat64_handoff *nat64_handoff_new(struct nat64 *n, const struct sixfour_config *cfg);
/* Saves the sessions, removes the hook and frees everything; the workers
 * must have stopped. */
void nat64_handoff_free(struct nat64_handoff *h);
/* [handoff] rows with reload = live: message, contact, rates, keep-alive,
 * batch delay, lookup. Sessions and entries stay. */
void nat64_handoff_reload(struct nat64_handoff *h, const struct sixfour_config *cfg);
/* A cluster node's role (doc/cluster.md). Standby: the session table is
 * emptied without notices, the engine drops every session silently and
 * sends nothing. Active: the sessions the previous active node kept in
 * [cluster] shared-directory are resumed (as after a restart, P-6), so a
 * miss from either side is looked up at once. Main thread. */
void nat64_handoff_set_active(struct nat64_handoff *h, bool active);
/* pool4's pairing key as saved with the sessions, if there is one: the
 * translator uses it again, so a client's mappings go to the same pool
 * address as before the restart (a client-side lookup asks that one). */
void nat64_handoff_saved_key(const struct sixfour_config *cfg, uint64_t *pool_key);
/* The port no mapping may use (it carries the handoff datagrams). */
uint16_t nat64_handoff_port(const struct sixfour_config *cfg);

/* --- the packet path (any worker thread) --- */

/* Right after nat64_determine_tuple4 of a packet from the TUN: true when it
 * is the protocol's (a datagram from S:port to T:port, or an ICMP error
 * quoting one of ours), and taken. */
bool nat64_handoff_input(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			 const struct nat64_tuple *in);
/* True while a BLOCK from `server` applies (section 7.9). */
bool nat64_handoff_blocked(struct nat64_handoff *h, struct in_addr server);
/* An IPv4 packet matched no session: true when it was handed to a LOOKUP
 * (taken), false for plain RFC 6146 handling. Only packets that could
 * belong to an entry of an established LOOKUP session with their source
 * qualify (profile P-9). */
bool nat64_handoff_miss(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			const struct nat64_tuple *in, const uint8_t *p, size_t len);
/* An IPv6 packet of our client toward pkt->dst4 found no session (TCP
 * without SYN): true when it is held for a LOOKUP-CLIENT (profile P-1);
 * else the server is probed (our client's packet only, never the IPv4
 * side's) and false is returned. */
bool nat64_handoff_miss6(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			 const struct nat64_tuple *in, const uint8_t *p, size_t len);

/* An IPv6 packet of our client, before the session lookup (TCP SYN, UDP,
 * ICMP echo): true when it is held for the handoff server it goes to,
 * because the server may hold its entry (a client-side lookup while S's
 * entries were lately purged from our cache, P-1), or because a new flow
 * toward S must take S's hint and there is none yet (P-7). It comes back
 * through nat64_path6_deliver() within a round trip (1 s at most). */
bool nat64_handoff_before6(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			   const struct nat64_tuple *in, const uint8_t *p, size_t len);
/* Could nat64_handoff_before6 hold this packet (no lookup, no side
 * effect)? path.c cuts a super-packet or completes a partial checksum
 * first when it could: the held copy comes back as a plain packet. */
bool nat64_handoff_may_hold6(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			     const struct nat64_tuple *in);

/* --- control (main thread) --- */

/* `sixfourctl handoff [--json]`: per-server sessions and counters. */
void nat64_handoff_print(struct nat64_handoff *h, struct ctl_out *out);
/* Prometheus lines for the metrics endpoint. */
void nat64_handoff_metrics(struct nat64_handoff *h, struct ctl_out *out);

#endif
