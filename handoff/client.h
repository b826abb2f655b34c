/* The translator's side of the NAT64 handoff protocol (spec sections 7.1-7.6,
 * 7.9, 7.10, doc/handoff-profile.md): one session per (NAT64 IPv4 T, server
 * IPv4 S), PROBING or ESTABLISHED. The module owns the protocol (TEXT/HELLO
 * while probing, the nonce and cookie, batching and pacing of notices,
 * retransmits, resync, keep-alives, lookups by either side and their miss
 * queue and rate limits, hint requests); the translator owns the session
 * table, the sockets, the ports a server holds and the BLOCK state, and
 * plugs in through `handoff_client_ops`.
 *
 * Time comes from the caller: handoff_client_tick(now) runs every timer and
 * returns when it wants to run next. With an evloop the module arms its own
 * timer; tests pass no loop and drive the clock by hand. Not thread-safe:
 * call it from one thread (or under one lock).
 *
 * Plugging it into the translator (T = pool address, S = server):
 *   first packet of a new flow toward S     handoff_client_entry_created()
 *   a new flow to S needs a port, no hint   handoff_client_hold_for_hints()
 *   an entry goes away                      handoff_client_entry_removed(why)
 *   IPv4 packet from S matches no entry     handoff_client_miss(); on
 *                                           HANDOFF_MISS_DROP do the RFC 6146
 *                                           thing, else it is taken
 *   IPv6 packet toward S matches no entry   handoff_client_miss6(), the same
 *   UDP from S to T:port (port 64646)       handoff_client_input(), before
 *                                           any translation of that packet
 *   ICMP error quoting one of ours          handoff_client_icmp_error()
 *   end of a burst of packets               handoff_client_flush()
 *   restart                                 handoff_client_foreach_session()
 *                                           before, handoff_client_resume()
 *                                           after
 * ops->send must emit UDP from T:port to S:port (e.g. an IPv4/UDP packet
 * written to the TUN, or a socket bound to T with IP_FREEBIND). */
#ifndef SIXFOUR_HANDOFF_CLIENT_H
#define SIXFOUR_HANDOFF_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/counters.h"
#include "handoff/wire.h"

#define HANDOFF_CLIENT_TEXT_MAX 128	/* section 10.2: keep TEXT small */

struct evloop;
struct handoff_client;

/* What the translator provides. `ctx` is the pointer given to _new(). */
struct handoff_client_ops {
	/* Send one UDP datagram from T:port to S:port (port = config port). */
	void (*send)(void *ctx, struct in_addr nat64, struct in_addr server,
		     const uint8_t *p, size_t len);
	/* Call `fn` for every live entry toward S on T (resync after a
	 * handshake, section 7.1 step 4). */
	void (*foreach_entry)(void *ctx, struct in_addr nat64, struct in_addr server,
			      void (*fn)(void *arg, const struct handoff_er *er), void *arg);
	/* The server took responsibility: the entry may become evictable
	 * cache (ACKED), and the server now holds its port. Only called when
	 * the session accepted LOOKUP. */
	void (*entry_acked)(void *ctx, struct in_addr nat64, struct in_addr server,
			    uint8_t proto, uint16_t nat_port);
	/* A lookup found the entry: install it as ACKED. */
	void (*install)(void *ctx, struct in_addr nat64, struct in_addr server,
			const struct handoff_er *er);
	/* Translate an IPv4 packet that had missed (after install). */
	void (*deliver)(void *ctx, struct in_addr nat64, struct in_addr server,
			const uint8_t *pkt, size_t len);
	/* An IPv6 packet held by handoff_client_miss6() or _hold_for_hints()
	 * goes on: `found` when a lookup installed its entry; otherwise the
	 * translator handles it as new (a mapping may be made now, with any
	 * hint that came; TCP without SYN is dropped). Never held twice. */
	void (*deliver6)(void *ctx, struct in_addr nat64, struct in_addr server,
			 const uint8_t *pkt, size_t len, bool found);
	/* Next-port hints from S for `proto`, in the order S gave them (ENTRY-ACK
	 * or HINTS), already checked against the session; the translator keeps
	 * the unused ones (spec 7.5, profile P-3). */
	void (*hints)(void *ctx, struct in_addr nat64, struct in_addr server, uint8_t proto,
		      const uint16_t *ports, size_t n);
	/* The session went down (or LOOKUP was turned off): every ACKED entry
	 * toward S on T goes back to LOCAL with fresh RFC 6146 timers (section
	 * 7.6) and S's ports are no longer held for us. */
	void (*session_down)(void *ctx, struct in_addr nat64, struct in_addr server);
	/* A valid BLOCK from S (duration in s, HANDOFF_BLOCK_FOREVER): the
	 * translator applies it and keeps its state (section 7.9). */
	void (*blocked)(void *ctx, struct in_addr nat64, struct in_addr server, uint32_t duration);
	/* Optional: T's port range, sent in HELLO (profile P-2); hints outside
	 * it are ignored. Without it the range is not told. */
	void (*port_range)(void *ctx, struct in_addr nat64, uint16_t *lo, uint16_t *hi);
};

struct handoff_client_config {
	uint16_t port;			/* server port and our source port; 64646 */
	const char *text;		/* TEXT while probing; NULL or "" = none */
	uint8_t caps;			/* offered: HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK */
	uint32_t probe_rate;		/* datagrams/s per server without session; 50 */
	uint32_t session_rate;		/* datagrams/s per server in session; 1000 */
	uint32_t batch_delay_ms;	/* how long a notice may wait for company; 5 */
	uint32_t keepalive_ms;		/* 120000, sent with +-10 % jitter */
	uint32_t max_peers;		/* sessions kept; 65536 */
	uint32_t lookup_rate;		/* lookups/s to one server (burst the same); 0 = no cap */
	uint32_t lookup_rate_total;	/* lookups/s to all servers together; 0 = no cap */
};

/* Defaults of the profile (section 7.11). */
void handoff_client_config_default(struct handoff_client_config *cfg);

/* `loop` may be NULL: then nothing runs unless the caller ticks. */
struct handoff_client *handoff_client_new(struct evloop *loop,
					  const struct handoff_client_config *cfg,
					  const struct handoff_client_ops *ops, void *ctx);
void handoff_client_free(struct handoff_client *c);
/* A reload: text, rates, keep-alive, batch delay and caps change for every
 * session without touching it (the port cannot change; max_peers stays).
 * Turning LOOKUP off hands acked entries back (ops->session_down). */
void handoff_client_reconfigure(struct handoff_client *c, const struct handoff_client_config *cfg);

/* The translator created an entry toward S (section 7.2). */
void handoff_client_entry_created(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, const struct handoff_er *er);

enum handoff_removal {
	HANDOFF_REMOVED_EXPIRED,	/* a LOCAL entry's own timer ran out */
	HANDOFF_REMOVED_EVICTED,	/* an ACKED cache entry was dropped */
	HANDOFF_REMOVED_CLOSED,		/* TCP FIN both ways or RST */
};
/* The translator removed an entry; the module decides what, if anything,
 * the server is told (section 7.2). */
void handoff_client_entry_removed(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, const struct handoff_er *er,
				  enum handoff_removal why);

enum handoff_miss {
	HANDOFF_MISS_DROP,	/* no usable session: plain RFC 6146 handling */
	HANDOFF_MISS_PENDING,	/* taken: a lookup is out, deliver() may follow */
	HANDOFF_MISS_LIMITED,	/* dropped: over the lookup rate (counted) */
};
/* An IPv4 packet from S to T:nat_port found no entry (section 7.4). The
 * packet is copied if it must wait. */
enum handoff_miss handoff_client_miss(struct handoff_client *c, struct in_addr nat64,
				      struct in_addr server, uint8_t proto, uint16_t nat_port,
				      const uint8_t *pkt, size_t len);

/* The IPv6 side of a flow, as LOOKUP-CLIENT names it (profile P-1). */
struct handoff_client_key6 {
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP */
	uint16_t client_port;		/* or the ICMP echo identifier */
	uint16_t server_port;		/* informative; 0 for ICMP */
	struct in6_addr client;
};
/* An IPv6 packet of our client toward S found no entry (profile P-1): on
 * PENDING it is held (copied) until the LOOKUP-CLIENT is answered and comes
 * back through ops->deliver6. */
enum handoff_miss handoff_client_miss6(struct handoff_client *c, struct in_addr nat64,
				       struct in_addr server, const struct handoff_client_key6 *k,
				       const uint8_t *pkt, size_t len);
/* A new flow toward S needs a port and the translator has no unused hint
 * of S (profile P-7): the packet is held and S asked for hints
 * (HANDOFF_HINTS_ROUND, once per protocol and round trip); it comes back through
 * ops->deliver6 (found = false) when they arrive or after 1 s. DROP when
 * there is no LOOKUP session with S (allocate as usual). */
enum handoff_miss handoff_client_hold_for_hints(struct handoff_client *c, struct in_addr nat64,
						struct in_addr server, uint8_t proto,
						const uint8_t *pkt, size_t len);
/* Hints asked for in one round trip at most: HANDOFF_HINTS_MAX per
 * HINT-REQUEST, several requests in one datagram (profile P-3). */
#define HANDOFF_HINTS_ROUND 128
/* Asks S for `count` hints now (the translator's store ran low), at most
 * HANDOFF_HINTS_ROUND; nothing while a request of S for proto is out. */
void handoff_client_request_hints(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, uint8_t proto, unsigned count);

/* A UDP datagram from S:sport to T:port. Anything not provably from the
 * session's server is discarded and counted (section 10.1). */
void handoff_client_input(struct handoff_client *c, struct in_addr nat64, struct in_addr server,
			  uint16_t sport, const uint8_t *p, size_t len);
/* An ICMP error from S quoting one of our datagrams to it (profile P-5):
 * counted, never a miss; an unanswered keep-alive still counts once. */
void handoff_client_icmp_error(struct handoff_client *c, struct in_addr nat64,
			       struct in_addr server);

/* True when the session with S is ESTABLISHED and the server took LOOKUP:
 * only then may a miss from S become a LOOKUP (section 10.2). */
bool handoff_client_can_lookup(struct handoff_client *c, struct in_addr nat64,
			       struct in_addr server);

/* Starts (or keeps) probing S without an entry notice: one TEXT+HELLO
 * datagram within the probe rate, nothing when a session exists. For a
 * translator whose client's packet toward S finds no entry and no session.
 * Never call it for packets that came from the IPv4 side (reflection). */
void handoff_client_probe(struct handoff_client *c, struct in_addr nat64, struct in_addr server);

/* A session as kept across a restart of the translator (profile P-6). */
struct handoff_session_state {
	struct in_addr nat64, server;
	uint8_t nonce[HANDOFF_NONCE_LEN], cookie[HANDOFF_COOKIE_LEN];
	uint8_t caps;			/* accepted by the server */
};
/* Every ESTABLISHED session. */
void handoff_client_foreach_session(struct handoff_client *c,
				    void (*fn)(void *arg, const struct handoff_session_state *st),
				    void *arg);
/* Bumped whenever a session is set up, changes its cookie or caps, or goes
 * down: the saved state is stale when this differs from when it was saved. */
uint64_t handoff_client_generation(const struct handoff_client *c);
/* Takes a saved session as ESTABLISHED without a handshake; its first
 * datagrams carry a HELLO until S answers, so a server that lost its
 * secret hands out a new cookie at once (two round trips at most). 0,
 * -EEXIST (a session exists), -ENOMEM. */
int handoff_client_resume(struct handoff_client *c, const struct handoff_session_state *st);

/* Sends every pending batch now (e.g. at the end of a burst of packets). */
void handoff_client_flush(struct handoff_client *c, uint64_t now_ms);
/* Runs due timers; returns the next time (ms) it needs to run, or
 * UINT64_MAX. */
uint64_t handoff_client_tick(struct handoff_client *c, uint64_t now_ms);
/* Tells the module the current time when there is no loop (tests). */
void handoff_client_set_time(struct handoff_client *c, uint64_t now_ms);

#define HANDOFF_CLIENT_COUNTERS(X) \
	X(NOTICES, "entry notices sent") \
	X(NOTICES_DROPPED, "notices dropped: rate limit or queue full") \
	X(DATAGRAMS, "datagrams sent") \
	X(HANDSHAKES, "handshakes completed") \
	X(ACKS, "entry acks received") \
	X(RETRANSMITS, "notices retransmitted") \
	X(LOOKUPS, "lookups by the IPv4 side sent") \
	X(CLIENT_LOOKUPS, "lookups by the IPv6 side sent (LOOKUP-CLIENT)") \
	X(HITS, "lookups found") \
	X(MISSES, "lookups not found") \
	X(TIMEOUTS, "lookups timed out") \
	X(LOOKUPS_LIMITED, "misses not looked up: lookup rate of the server or in total") \
	X(QUEUE_DROPS, "missed packets dropped: queue bounds") \
	X(HINTS, "next-port hints received") \
	X(HINTS_OUT_OF_RANGE, "hints ignored: outside the port range") \
	X(HINT_REQUESTS, "hint requests sent") \
	X(HELD_FOR_HINTS, "new flows held until a hint came") \
	X(HINTS_NOT_AWAITED, "new flows not held: the server left a hint request unanswered") \
	X(ICMP_ERRORS, "ICMP errors about our own datagrams") \
	X(RESUMED, "sessions resumed from saved state") \
	X(KEEPALIVE_MISSES, "keep-alives unanswered") \
	X(SESSION_DOWNS, "sessions lost") \
	X(BLOCKS, "blocks applied") \
	X(SPOOFED, "datagrams rejected: wrong source, nonce, cookie or id") \
	X(MALFORMED, "datagrams rejected: framing rules broken")

enum handoff_client_counter {
#define X(name, text) HANDOFF_CLIENT_##name,
	HANDOFF_CLIENT_COUNTERS(X)
#undef X
	HANDOFF_CLIENT__COUNT
};
/* Descriptors for counters_emit, in enum order. */
extern const struct counter_desc handoff_client_counter_desc[HANDOFF_CLIENT__COUNT];

/* One session as shown by `sixfourctl handoff`. */
struct handoff_peer_info {
	struct in_addr nat64, server;
	bool established;
	uint8_t caps;			/* accepted by the server */
	uint32_t outstanding_lookups, queued_packets, unacked;
	const uint64_t *counters;	/* HANDOFF_CLIENT__COUNT, valid during the call */
};
void handoff_client_foreach_peer(struct handoff_client *c,
				 void (*fn)(void *arg, const struct handoff_peer_info *pi),
				 void *arg);
/* Totals over every session (including ones since forgotten):
 * HANDOFF_CLIENT__COUNT values. */
const uint64_t *handoff_client_totals(const struct handoff_client *c);
uint64_t handoff_client_total(const struct handoff_client *c, enum handoff_client_counter i);

#endif
