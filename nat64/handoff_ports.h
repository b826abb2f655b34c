/* Which pool ports handoff servers hold, and which they offered us
 * (spec 7.5, doc/handoff-profile.md P-7): the translator side's port
 * knowledge for new mappings.
 *
 * - Held ports: (pool address T, proto, port) -> the server S that holds
 *   its entry for a connection (acked, or installed by a lookup), whether
 *   or not our own cache still has it. No other mapping may take such a
 *   port while S holds it, toward S or anyone else, or S's connection
 *   would be cut (or its packets delivered to another client). Released
 *   when S gives the port up (hints it, answers a lookup for it "not
 *   found", sees it closed) or its session goes down; bounded, the oldest
 *   dropped first (counted).
 * - Hints: per (T, S, proto) the server's unused next-port hints, newest
 *   first, taken by new flows toward S.
 *
 * Written by the main loop, read by packet workers under the session
 * table's lock (lock order: table -> this). Private to nat64/handoff_*. */
#ifndef SIXFOUR_NAT64_HANDOFF_PORTS_H
#define SIXFOUR_NAT64_HANDOFF_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/counters.h"

/* Unused hints kept per (T, S, proto), and below how many more are asked
 * for: after a restart every new flow toward S waits for a hint when none
 * is left (P-7), so the store covers a round trip of a burst of new
 * connections (HANDOFF_HINTS_ROUND more come per round trip). */
#define HANDOFF_PORTS_HINTS 256
#define HANDOFF_PORTS_LOW 128
/* A request for hints that got no answer is repeated after this. */
#define HANDOFF_PORTS_ASK_MS 1000

#define HANDOFF_PORTS_COUNTERS(X) \
	X(HELD, "ports recorded as held by a server") \
	X(HELD_DROPPED, "held ports forgotten: the record was full (oldest first)") \
	X(HINTS_TAKEN, "hints used for a new mapping") \
	X(HINTS_SKIPPED, "hints not used: port busy here or held by another server") \
	X(VETOED, "ports kept from a new mapping: a server holds them")

enum handoff_ports_counter {
#define X(name, text) HANDOFF_PORTS_##name,
	HANDOFF_PORTS_COUNTERS(X)
#undef X
	HANDOFF_PORTS__COUNT
};

struct handoff_ports;

/* Room for `capacity` held ports. */
struct handoff_ports *handoff_ports_new(size_t capacity);
void handoff_ports_free(struct handoff_ports *hp);

/* S holds (T, proto, port) now (it acked or gave us the entry). */
void handoff_ports_hold(struct handoff_ports *hp, struct in_addr t, uint8_t proto, uint16_t port,
			struct in_addr s);
/* S gave (T, proto, port) up: released when S was its holder. */
void handoff_ports_release(struct handoff_ports *hp, struct in_addr t, uint8_t proto,
			   uint16_t port, struct in_addr s);
/* Everything forgotten: a cluster node going standby (doc/cluster.md); the
 * servers' ports are the next active node's business. */
void handoff_ports_clear(struct handoff_ports *hp);
/* S's session on T went down: its held ports and hints are forgotten. */
void handoff_ports_forget(struct handoff_ports *hp, struct in_addr t, struct in_addr s);
/* True when a server other than `s` (s.s_addr 0: any server) holds the
 * port; counts a veto. */
bool handoff_ports_veto(struct handoff_ports *hp, struct in_addr t, uint8_t proto,
			uint16_t port, struct in_addr s);

/* S's hints for proto (they release those ports: S gave them up). */
void handoff_ports_add_hints(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
			     uint8_t proto, const uint16_t *ports, size_t n);
/* The newest unused hint of S that `busy` (the table's own check; may be
 * NULL) does not reject and no other server holds: 0 = none. `*ask` gets
 * how many hints to ask S for now: 0 while at least HANDOFF_PORTS_LOW are
 * left or S was asked less than HANDOFF_PORTS_ASK_MS ago and has not
 * answered (so a burst of new flows asks once per round trip). */
uint16_t handoff_ports_take_hint(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
				 uint8_t proto, bool (*busy)(void *arg, uint16_t port), void *arg,
				 uint64_t now_ms, unsigned *ask);

/* Unused hints of S for proto on T. */
size_t handoff_ports_hints_left(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
				uint8_t proto);

/* Every entry of S on T left our table with a restart: until `until_ms` a
 * client's new-looking flow toward S may be one of them. */
void handoff_ports_mark_lost(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
			     uint64_t until_ms);
bool handoff_ports_recovering(struct handoff_ports *hp, struct in_addr t, struct in_addr s,
			      uint64_t now_ms);

/* One acked entry of S left our cache (evicted, flushed): a filter of
 * (S, proto, client, client port) remembers it for one to two periods of
 * handoff_ports_lost_age(), so only that client's flow is asked for by its
 * IPv6 side, not every new one. Lock-free for readers (false positives
 * only cost a lookup). */
void handoff_ports_lost_add(struct handoff_ports *hp, struct in_addr s, uint8_t proto,
			    const struct in6_addr *client, uint16_t client_port);
bool handoff_ports_lost_maybe(struct handoff_ports *hp, struct in_addr s, uint8_t proto,
			      const struct in6_addr *client, uint16_t client_port);
/* Main thread, now and then: forgets what was lost more than `period_ms`
 * (two generations) ago. */
void handoff_ports_lost_age(struct handoff_ports *hp, uint64_t now_ms, uint64_t period_ms);

size_t handoff_ports_held_count(struct handoff_ports *hp);
/* HANDOFF_PORTS__COUNT values. */
const uint64_t *handoff_ports_counters(const struct handoff_ports *hp);
extern const struct counter_desc handoff_ports_counter_desc[HANDOFF_PORTS__COUNT];

#endif
