/* The RFC 6146 state: BIB (binding information base) and session tables for
 * TCP, UDP and ICMP query messages, with O(1) lookup from both sides, a
 * fixed size chosen at start-up, per-client caps, eviction that protects
 * what users care about (cheapest state first, from the clients holding
 * the most: session_evict.c) and the timers of RFC 6146 3.5.
 *
 * Entries are LOCAL (ordinary RFC 6146 timers) or ACKED: an "acked cache
 * entry" of the handoff protocol (spec/handoff.md 7.2-7.4) that has no idle
 * timer, is evicted first when the table is full, and can be installed
 * again from a record later (session_install). A LOCAL entry can be pinned
 * (not evictable) while its ENTRY-CREATED awaits its ack.
 *
 * Thread safety: every function locks the table. The foreach callbacks
 * run with the lock held and must not call back into the table; the event
 * hook never does (see session_events). */
#ifndef SIXFOUR_NAT64_SESSION_H
#define SIXFOUR_NAT64_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/config.h"
#include "nat64/xlate.h"

struct pool4;
struct session_table;
struct session_events;

/* RFC 6146 3.5.2.1 TCP states (CLOSED is "no session"). */
#define SESSION_TCP_STATES(X) \
	X(CLOSED, "closed") \
	X(V4_INIT, "v4-init") \
	X(V6_INIT, "v6-init") \
	X(ESTABLISHED, "established") \
	X(V4_FIN_RCV, "v4-fin-rcv") \
	X(V6_FIN_RCV, "v6-fin-rcv") \
	X(V4_FIN_V6_FIN_RCV, "v4-fin-v6-fin-rcv") \
	X(TRANS, "trans")

enum session_tcp_state {
#define X(name, text) SESSION_TCP_##name,
	SESSION_TCP_STATES(X)
#undef X
	SESSION_TCP_STATE_COUNT
};
const char *session_tcp_state_name(enum session_tcp_state s);
/* "acked", "cheap", "live", "established" or "pinned": how soon a full
 * table would take the entry (cheapest first). */
const char *session_evict_class_name(uint8_t evict_class);

enum session_entry_state {
	SESSION_LOCAL = 0,	/* RFC 6146 timers; owned by this translator */
	SESSION_ACKED = 1,	/* handoff cache entry: evictable, no timer */
};

struct session_cfg {
	unsigned max_sessions;
	unsigned max_per_client;
	unsigned max_ports_per_client;	/* pool4 ports per protocol (RFC 6888 REQ-4) */
	unsigned client_prefix_len;	/* IPv6 prefix length of one client */
	enum nat64_filtering filtering;
	uint64_t tcp_est_ms, tcp_trans_ms, tcp_syn_wait_ms, udp_ms, icmp_ms;
	unsigned max_stored_syns;	/* inbound SYNs waiting (3.5.2.2); 0 = 64 */
};

/* One session, as the operator (sessions list) and the handoff client see
 * it. Names follow RFC 6146: client (X',x), remote (Y',y) and (Y,y), pool
 * (T,t). For ICMP the ports hold the identifiers and remote_port is 0. */
struct session_record {
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP */
	struct in6_addr client6;
	uint16_t client_port;
	struct in6_addr remote6;	/* the remote as the client addressed it */
	uint8_t prefix_len;	/* RFC 6052 length of remote6's prefix */
	struct in_addr remote4;
	uint16_t remote_port;
	struct in_addr pool4;
	uint16_t pool_port;
	uint8_t tcp_state;	/* enum session_tcp_state */
	uint8_t state;		/* enum session_entry_state */
	bool pinned;
	uint8_t evict_class;	/* for the operator: session_evict_class_name() */
	uint64_t expires_ms;	/* monotonic; 0 = no timer (ACKED) */
	uint64_t last_used_ms;
};

/* Session table events (counters, common/counters.h). Packets the table
 * refuses are counted once, by their drop reason (NAT64_DROP_*). Each
 * eviction is counted once: by the class it came from, or as `displaced`
 * when it was taken from a client over its fair share. */
#define SESSION_COUNTERS(X) \
	X(created, "sessions created") \
	X(expired, "sessions expired by their timer") \
	X(evicted_acked, "acked handoff cache entries evicted to make room") \
	X(evicted_cheap, "sessions without a reply or in transitory TCP evicted to make room") \
	X(evicted_live, "answered UDP/ICMP or unconfirmed TCP sessions evicted to make room") \
	X(evicted_est, "established TCP connections evicted to make room") \
	X(displaced, "sessions taken from a client over its fair share of the table") \
	X(pool_reclaimed, "pool4 mappings taken back from the heaviest holders of a full address") \
	X(port_recycled, "a client's own cheapest mapping reused at its pool4 port share") \
	X(flushed, "sessions removed by flush") \
	X(installed, "entries installed from a record") \
	X(unannounced, "sessions opened from outside, announced only once the client sends") \
	X(events_lost, "session events that did not fit one call's record") \
	X(syn_stored, "inbound SYNs stored for simultaneous open") \
	X(syn_matched, "stored SYNs discarded by an outbound SYN") \
	X(syn_timed_out, "stored SYNs answered with port unreachable") \
	X(syn_overflow, "inbound SYNs dropped: store full") \
	X(lock_waits, "packets that found the table lock taken (contention, doc/design-notes.md)")

/* Levels of the table. */
#define SESSION_GAUGES(X) \
	X(count, "sessions in the table") \
	X(bib, "BIB entries (pool4 mappings)") \
	X(clients, "clients (client-prefix-len prefixes) with sessions") \
	X(tcp, "TCP sessions") \
	X(udp, "UDP sessions") \
	X(icmp, "ICMP query sessions") \
	X(acked, "acked handoff cache entries") \
	X(cheap, "sessions without a reply or in transitory TCP") \
	X(live, "answered UDP/ICMP or unconfirmed TCP sessions") \
	X(established, "established, confirmed TCP connections")

enum session_counter {
#define X(name, help) SESSION_C_##name,
	SESSION_COUNTERS(X)
#undef X
	SESSION_C__COUNT
};
enum session_gauge {
#define X(name, help) SESSION_G_##name,
	SESSION_GAUGES(X)
#undef X
	SESSION_G__COUNT
};

struct session_counters {
	uint64_t c[SESSION_C__COUNT];	/* SESSION_COUNTERS order */
	uint64_t g[SESSION_G__COUNT];	/* SESSION_GAUGES order */
};

/* Where a new mapping's port comes from, besides pool4's own choice: the
 * handoff engine's next-port hint and its veto for ports a handoff server
 * still holds for another connection (spec/handoff.md 7). Both are called
 * under the table lock, from any worker: they must be quick, must not
 * block and must not call into the table. */
struct session_port_policy {
	/* A port to try first for a new mapping on pool address `pool4` made
	 * by a packet toward `remote4` (0 = no preference). Used when it lies
	 * in the address's range and is free. */
	uint16_t (*preferred)(void *arg, uint8_t proto, struct in_addr pool4,
			      struct in_addr remote4);
	/* True when `port` of `pool4` must not be handed out now. */
	bool (*veto)(void *arg, uint8_t proto, struct in_addr pool4, uint16_t port);
	void *arg;
};

/* Allocates everything for cfg->max_sessions entries up front. `pool` is
 * borrowed and must outlive the table. NULL on failure (-errno in *err). */
struct session_table *session_table_new(const struct session_cfg *cfg, struct pool4 *pool,
					uint64_t seed, int *err);
void session_table_free(struct session_table *t);
/* Allocates new mappings from `pool` from now on (host addresses changed);
 * existing entries keep theirs, and their ports are marked used in `pool`
 * where it has their address. The old pool is no longer touched after
 * this returns. */
void session_table_set_pool(struct session_table *t, struct pool4 *pool);
/* Takes new timeouts, caps and filtering from a reload (sizes stay). */
void session_table_reconfigure(struct session_table *t, const struct session_cfg *cfg);
/* Installs (or with NULL removes) the port policy; copied. */
void session_table_set_port_policy(struct session_table *t,
				   const struct session_port_policy *policy);

/* RFC 6146 3.5 for a packet from the IPv6 side: `in` is the tuple of
 * nat64_determine_tuple6 (for an ICMP error, the reversed inner tuple),
 * `remote4` the IPv4 address embedded in in->dst.v6 under a prefix of
 * `prefix_len`. Finds or creates the
 * session, runs the TCP state machine, and fills `out` with the IPv4 tuple
 * (pool address and port as source). ICMP errors only look up. */
enum nat64_verdict session_handle6(struct session_table *t, const struct nat64_tuple *in,
				   struct in_addr remote4, unsigned prefix_len, uint8_t tcp_flags,
				   bool icmp_error, uint64_t now, struct nat64_tuple *out,
				   struct session_events *ev);

/* RFC 6146 3.5 for a packet from the IPv4 side, `in` from
 * nat64_determine_tuple4. Fills `out` with the IPv6 tuple. An inbound SYN
 * that may be half of a simultaneous open (3.5.2.2) is copied from
 * (data, len) and kept for tcp-syn-wait: the verdict is then
 * NAT64_DROP_NO_SESSION with *stored set.
 * Both record their events in `ev` for session_events_deliver() after the
 * call (`ev` NULL: they deliver them themselves before returning). */
enum nat64_verdict session_handle4(struct session_table *t, const struct nat64_tuple *in,
				   uint8_t tcp_flags, bool icmp_error, uint64_t now,
				   const uint8_t *data, size_t len, bool *stored,
				   struct nat64_tuple *out, struct session_events *ev);

/* True when a packet from the IPv6 side with tuple `in` toward `remote4`
 * would find a session (no side effect: nothing is created or touched).
 * The handoff glue asks before a new mapping is made for a flow a handoff
 * server may still hold. */
bool session_exists6(struct session_table *t, const struct nat64_tuple *in,
		     struct in_addr remote4);

/* Called for each stored SYN whose wait ran out: the caller answers it with
 * ICMP port unreachable (3.5.2.2). Runs without the table lock. */
typedef void (*session_syn_timeout_fn)(void *arg, const uint8_t *pkt, size_t len);
/* Removes expired sessions and stored SYNs; returns sessions removed. */
size_t session_expire(struct session_table *t, uint64_t now, session_syn_timeout_fn fn,
		      void *arg);

/* Events for the handoff client. CREATED comes once the client has sent
 * on a session (at once for sessions the IPv6 side opens; for one an
 * inbound packet created, at the client's first packet on it), and only
 * announced sessions are retracted (DELETED, EVICTED): a host that merely
 * sent us a packet never causes an event naming a client. The hook is
 * never called with the table lock held: the packet entry points record
 * events in a `struct session_events` that the caller delivers after the
 * call, the main-thread functions deliver theirs after unlocking. Several
 * threads may call it at once. */
enum session_event { SESSION_EV_CREATED, SESSION_EV_DELETED, SESSION_EV_EVICTED };
typedef void (*session_event_fn)(void *arg, enum session_event ev,
				 const struct session_record *rec);
void session_table_set_hook(struct session_table *t, session_event_fn fn, void *arg);

struct session_event_rec {
	enum session_event ev;
	struct session_record rec;
};
/* One call creates at most one session and evicts a few (a reclaimed
 * pool4 port takes its mapping's sessions along). */
#define SESSION_EVENTS_MAX 16
struct session_events {
	unsigned n;
	unsigned lost;			/* records that did not fit (counted too) */
	session_event_fn fn;		/* the hook when they were recorded */
	void *arg;
	struct session_event_rec v[SESSION_EVENTS_MAX];
};
/* Calls the hook for each record (no lock held) and empties `ev`. */
void session_events_deliver(struct session_events *ev);

/* Installs a session from a record (handoff LOOKUP-REPLY, 7.4): its BIB
 * entry too when missing. The entry becomes rec->state. 0, -EEXIST when a
 * different mapping holds either side, -ENOSPC, -EINVAL. */
int session_install(struct session_table *t, const struct session_record *rec, uint64_t now);
/* Changes the state of the session with the IPv4-side identity of `key`
 * (proto, remote4, remote_port, pool4, pool_port): ENTRY-ACK makes it
 * ACKED; a session down makes it LOCAL again with fresh timers. 0 or
 * -ENOENT. */
int session_set_state(struct session_table *t, const struct session_record *key,
		      enum session_entry_state state, bool pinned, uint64_t now);

/* Calls `fn` for every session (lock held: do not block). */
void session_foreach(struct session_table *t, void (*fn)(void *arg,
		     const struct session_record *rec), void *arg);
/* Removes every session; returns how many. */
size_t session_flush(struct session_table *t);
void session_get_counters(struct session_table *t, struct session_counters *out);
/* pool4 ports in use on `addr` (TCP, UDP, ICMP) and its port count, read
 * under the table lock. */
void session_pool_usage(struct session_table *t, struct in_addr addr, size_t used[3],
			size_t *size);
/* Walks the whole table and checks that its lists, counts and buckets
 * agree (for tests: O(size)). 0, or the number of the first broken rule. */
int session_table_check(struct session_table *t);
/* Bytes allocated for the table (memory per session = this / max). */
size_t session_table_memory(const struct session_table *t);

#endif
