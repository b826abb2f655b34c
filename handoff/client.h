/* The translator's side of the NAT64 handoff protocol (spec sections 7.1-7.6,
 * 7.9, 7.10): one session per (NAT64 IPv4 T, server IPv4 S), PROBING or
 * ESTABLISHED. The module owns the protocol (TEXT/HELLO while probing, the
 * nonce and cookie, batching and pacing of notices, retransmits, resync,
 * keep-alives, lookups and their miss queue, BLOCK); the translator owns the
 * session table and the sockets and plugs in through `handoff_client_ops`.
 *
 * Time comes from the caller: handoff_client_tick(now) runs every timer and
 * returns when it wants to run next. With an evloop the module arms its own
 * timer; tests pass no loop and drive the clock by hand. Not thread-safe:
 * call it from one thread (or under one lock).
 *
 * Plugging it into the translator (T = pool address, S = server):
 *   first packet of a new flow toward S     handoff_client_entry_created()
 *   choosing the port of a new flow to S    handoff_client_take_hint() first
 *   an entry goes away                      handoff_client_entry_removed(why)
 *   IPv4 packet from S matches no entry     handoff_client_miss(); on
 *                                           HANDOFF_MISS_DROP do the RFC 6146
 *                                           thing, else it is taken
 *   UDP from S to T:port (port 64646)       handoff_client_input(), before
 *                                           any translation of that packet
 *   any packet between T's prefixes and S   drop if handoff_client_blocked()
 *   end of a burst of packets               handoff_client_flush()
 * ops->send must emit UDP from T:port to S:port (e.g. an IPv4/UDP packet
 * written to the TUN, or a socket bound to T with IP_FREEBIND). */
#ifndef SIXFOUR_HANDOFF_CLIENT_H
#define SIXFOUR_HANDOFF_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "handoff/wire.h"

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
	 * cache (ACKED). Only called when the session accepted LOOKUP. */
	void (*entry_acked)(void *ctx, struct in_addr nat64, struct in_addr server,
			    uint8_t proto, uint16_t nat_port);
	/* A lookup found the entry: install it as ACKED. */
	void (*install)(void *ctx, struct in_addr nat64, struct in_addr server,
			const struct handoff_er *er);
	/* Translate an IPv4 packet that had missed (after install). */
	void (*deliver)(void *ctx, struct in_addr nat64, struct in_addr server,
			const uint8_t *pkt, size_t len);
	/* The session went down: every ACKED entry toward S on T goes back to
	 * LOCAL with fresh RFC 6146 timers (section 7.6). */
	void (*session_down)(void *ctx, struct in_addr nat64, struct in_addr server);
	/* Optional: a BLOCK was applied (duration in s, HANDOFF_BLOCK_FOREVER). */
	void (*blocked)(void *ctx, struct in_addr nat64, struct in_addr server, uint32_t duration);
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
};

/* Defaults of the profile (section 7.11). */
void handoff_client_config_default(struct handoff_client_config *cfg);

/* `loop` may be NULL: then nothing runs unless the caller ticks. */
struct handoff_client *handoff_client_new(struct evloop *loop,
					  const struct handoff_client_config *cfg,
					  const struct handoff_client_ops *ops, void *ctx);
void handoff_client_free(struct handoff_client *c);

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
	HANDOFF_MISS_PENDING,	/* taken: a LOOKUP is out, deliver() may follow */
};
/* An IPv4 packet from S to T:nat_port found no entry (section 7.4). The
 * packet is copied if it must wait. */
enum handoff_miss handoff_client_miss(struct handoff_client *c, struct in_addr nat64,
				      struct in_addr server, uint8_t proto, uint16_t nat_port,
				      const uint8_t *pkt, size_t len);

/* A UDP datagram from S:sport to T:port. Anything not provably from the
 * session's server is discarded and counted (section 10.1). */
void handoff_client_input(struct handoff_client *c, struct in_addr nat64, struct in_addr server,
			  uint16_t sport, const uint8_t *p, size_t len);

/* The latest unused next-port hint for a new flow to S (0 = none). */
uint16_t handoff_client_take_hint(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, uint8_t proto);

/* True when the session with S is ESTABLISHED and the server took LOOKUP:
 * only then may a miss from S become a LOOKUP (section 10.2). */
bool handoff_client_can_lookup(struct handoff_client *c, struct in_addr nat64,
			       struct in_addr server);

/* Starts (or keeps) probing S without an entry notice: one TEXT+HELLO
 * datagram within the probe rate, nothing when a session exists. For a
 * translator that lost its table (restart) and sees its own IPv6 client's
 * packets toward S miss: the handshake lets S's next packet be looked up.
 * Never call it for packets that came from the IPv4 side (reflection). */
void handoff_client_probe(struct handoff_client *c, struct in_addr nat64, struct in_addr server);

/* True while a BLOCK from S applies to T (section 7.9). */
bool handoff_client_blocked(struct handoff_client *c, struct in_addr nat64, struct in_addr server);

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
	X(LOOKUPS, "lookups sent") \
	X(HITS, "lookups found") \
	X(MISSES, "lookups not found") \
	X(TIMEOUTS, "lookups timed out") \
	X(QUEUE_DROPS, "missed packets dropped: queue bounds") \
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
const char *handoff_client_counter_name(enum handoff_client_counter i);

/* One session as shown by `sixfourctl handoff`. */
struct handoff_peer_info {
	struct in_addr nat64, server;
	bool established;
	uint8_t caps;			/* accepted by the server */
	bool blocked;
	uint32_t outstanding_lookups, queued_packets, unacked;
	uint64_t counters[HANDOFF_CLIENT__COUNT];
};
void handoff_client_foreach_peer(struct handoff_client *c,
				 void (*fn)(void *arg, const struct handoff_peer_info *pi),
				 void *arg);
/* Totals over every session (including ones since forgotten). */
uint64_t handoff_client_total(const struct handoff_client *c, enum handoff_client_counter i);

#endif
