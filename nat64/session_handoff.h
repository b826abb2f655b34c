/* What the handoff glue needs from the session table beyond session.h
 * (spec/handoff.md 7.1-7.6): acking a flow by its IPv4-side identity,
 * handing acked entries back to RFC 6146 timers, and walking the entries
 * toward one server. Every function takes the table lock itself. */
#ifndef SIXFOUR_NAT64_SESSION_HANDOFF_H
#define SIXFOUR_NAT64_SESSION_HANDOFF_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "nat64/session.h"

/* ENTRY-ACK names (proto, NAT64 port) on (T, S): every LOCAL session of
 * that BIB entry toward `remote4` becomes an ACKED cache entry (no idle
 * timer, evicted first). Returns how many changed. */
size_t session_ack_flow(struct session_table *t, uint8_t proto, struct in_addr pool4,
			uint16_t pool_port, struct in_addr remote4, uint64_t now);

/* The handoff session with `remote4` went down (7.6): its ACKED entries
 * on `pool4` become LOCAL again with fresh RFC 6146 timers. Returns how
 * many changed. */
size_t session_release_acked(struct session_table *t, struct in_addr pool4,
			     struct in_addr remote4, uint64_t now);

/* Calls `fn` for every session on `pool4` toward `remote4` (lock held: `fn`
 * must not call into the table). */
void session_foreach_toward(struct session_table *t, struct in_addr pool4,
			    struct in_addr remote4,
			    void (*fn)(void *arg, const struct session_record *rec), void *arg);

/* Keeps UDP `port` of every pool address out of new mappings: it carries
 * the handoff datagrams (0 = none). */
void session_table_reserve_port(struct session_table *t, uint16_t port);

#endif
