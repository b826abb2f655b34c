/* Private to session.c, session_evict.c, session_admin.c and
 * session_handoff.c: the table's layout and the helpers they share.
 * Callers hold the table lock. */
#ifndef SIXFOUR_NAT64_SESSION_PRIV_H
#define SIXFOUR_NAT64_SESSION_PRIV_H

#include <pthread.h>

#include "nat64/session.h"

#define NIL UINT32_MAX
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define DEFAULT_STORED_SYNS 64
/* A used entry moves to the front of its lists at most this often; in
 * between only its timestamps change. This keeps two workers that share a
 * flow from bouncing the list heads between CPUs on every packet. */
#define RELINK_MS 1000
/* Client buckets by entry count (session_evict.c): counts past this share
 * the top bucket. */
#define EVICT_BUCKETS 4096

/* Timeout classes: one list each, in expiry order (session_expire). */
enum sess_class { CL_UDP, CL_ICMP, CL_TCP_EST, CL_TCP_TRANS, CL_ACKED, CL_COUNT };

/* Eviction classes, cheapest first (session_evict.c). An entry is in one
 * list of its client for its class; pinned entries are in none. */
enum evict_class {
	EC_ACKED,	/* handoff cache entry: the server gives it back */
	EC_CHEAP,	/* no reply yet, or transitory TCP */
	EC_LIVE,	/* answered UDP/ICMP, TCP established but unconfirmed */
	EC_EST,		/* TCP established and confirmed by its initiator */
	EC_COUNT,
	EC_NONE = 0xff,	/* pinned: never evicted */
};

enum sess_flags {
	SF_PINNED = 1u << 0,
	SF_ANNOUNCED = 1u << 1,	/* CREATED went out (session.h: events) */
	SF_SEEN6 = 1u << 2,	/* a packet came from the IPv6 side */
	SF_SEEN4 = 1u << 3,	/* ... and from the IPv4 side */
	SF_INBOUND = 1u << 4,	/* opened by the IPv4 side */
	SF_CONFIRMED = 1u << 5,	/* TCP: the initiator spoke after the handshake */
};

struct bib {
	struct in6_addr c6;
	struct in_addr p4;
	uint16_t cport, pport;
	uint8_t proto;
	uint32_t client;	/* set with its first session */
	uint32_t next6, next4;	/* hash chains; next6 is the free-list link */
	uint32_t sess_head;	/* its sessions, linked by sess.bnext/bprev */
	uint32_t nsess;
};

struct sess {
	struct in6_addr c6, r6;
	struct in_addr r4, p4;
	uint16_t cport, rport, pport;
	uint8_t proto, tcp, cls, flags, plen, state, ec;
	uint32_t bib, client;
	uint32_t next6, next4;	/* hash chains; next6 is the free-list link */
	uint32_t prev, next;	/* timeout list of its class */
	uint32_t eprev, enext;	/* its client's list of its eviction class */
	uint32_t bprev, bnext;	/* sessions of the same BIB entry */
	uint64_t expires, last_used;	/* expires 0 = no timer */
	uint64_t linked_at;	/* when it last moved to the front of its lists */
};

/* A client's entries of one eviction class (newest at head) and its place
 * in the bucket of clients holding as many (a circular list). */
struct client_class {
	uint32_t n, head, tail;
	uint32_t bprev, bnext;
};

struct client {
	struct in6_addr prefix;
	uint32_t count;
	uint32_t next;		/* hash chain or free list */
	uint32_t ports[3];	/* BIB entries (pool4 ports) per protocol */
	struct client_class ec[EC_COUNT];
};

/* Clients by how many entries of one class they hold: bucket b lists
 * those with min(n, EVICT_BUCKETS - 1) == b, oldest arrival first. */
struct evict_buckets {
	uint32_t head[EVICT_BUCKETS];
	uint32_t top;		/* highest non-empty bucket, 0 = none */
};

/* An inbound SYN waiting for a simultaneous open (RFC 6146 3.5.2.2). The
 * copy lives in the slot, so storing one allocates nothing under the lock;
 * larger SYNs (with data) are not stored. 576 octets: all an ICMPv4 error
 * quotes anyway. */
#define STORED_SYN_MAX 576
struct stored_syn {
	uint64_t expires;	/* 0 = slot free */
	struct in_addr r4, p4;
	uint16_t rport, pport;
	size_t len;
	uint8_t pkt[STORED_SYN_MAX];
};

struct session_table {
	pthread_mutex_t lock;
	struct session_cfg cfg;
	struct pool4 *pool;
	uint64_t seed;
	uint64_t timeout[CL_COUNT];

	uint32_t max;
	uint32_t mask;		/* buckets - 1 */
	struct sess *sess;
	struct bib *bib;
	struct client *cli;
	uint32_t *sess6, *sess4, *bib6, *bib4, *cli_b;
	uint32_t free_sess, free_bib, free_cli;
	uint32_t head[CL_COUNT], tail[CL_COUNT];

	struct stored_syn *syns;
	struct stored_syn *syn_due;	/* session_expire's copies (main thread) */
	unsigned nsyns;

	struct evict_buckets buckets[EC_COUNT];
	uint64_t ec_total[EC_COUNT];	/* entries per eviction class */
	uint64_t est_clients;		/* clients holding an EC_EST entry */

	session_event_fn hook;
	void *hook_arg;
	struct session_port_policy port_policy;
	/* A UDP port pool4 never hands out (the handoff protocol's, set by
	 * session_table_reserve_port in session_handoff.c); 0 = none. */
	uint16_t reserved_port;
	uint64_t c[SESSION_C__COUNT];
	uint64_t g[SESSION_G__COUNT];
};

uint32_t sess_find6(const struct session_table *t, uint8_t proto, const struct in6_addr *c6,
		    uint16_t cport, const struct in6_addr *r6, uint16_t rport);
uint32_t sess_find4(const struct session_table *t, uint8_t proto, struct in_addr r4,
		    uint16_t rport, struct in_addr p4, uint16_t pport);
uint32_t sess_find_bib6(const struct session_table *t, uint8_t proto, const struct in6_addr *c6,
			uint16_t cport);
uint32_t sess_find_bib4(const struct session_table *t, uint8_t proto, struct in_addr p4,
			uint16_t pport);
/* session_evict.c: eviction classes and victims. */
uint8_t sess_evict_class(const struct sess *s);
/* Puts session `i` in the list of its (new) class, or moves it to the
 * front of its list when `touch`. */
void sess_evict_link(struct session_table *t, uint32_t i, bool touch);
void sess_evict_unlink(struct session_table *t, uint32_t i);
/* Makes room for one more session of client `ci` (NIL: a new client):
 * cheapest class first, from the clients holding the most (see
 * session_evict.c). 0 or -ENOSPC. */
int sess_make_room(struct session_table *t, uint32_t ci, struct session_events *evs);
/* A full pool address: takes a mapping of `proto` back from its heaviest
 * holders for client `ci` (session_evict.c). 0 or -ENOSPC. */
int sess_reclaim_port(struct session_table *t, uint32_t ci, uint8_t proto,
		      const struct in6_addr *c6, struct session_events *evs);
/* Client `ci` holds its share of pool4 ports: takes back its own cheapest
 * mapping. 0 or -ENOSPC. */
int sess_recycle_own_port(struct session_table *t, uint32_t ci, uint8_t proto,
			  struct session_events *evs);

uint32_t sess_find_client(const struct session_table *t, const struct in6_addr *c6);
uint32_t sess_bib_new(struct session_table *t, uint8_t proto, const struct in6_addr *c6,
		      uint16_t cport, struct in_addr p4, uint16_t pport);
void sess_bib_remove(struct session_table *t, uint32_t bi);
uint32_t sess_new(struct session_table *t, uint32_t bi, const struct in6_addr *r6,
		  unsigned plen, struct in_addr r4, uint16_t rport, uint8_t tcp_state,
		  uint8_t state, bool enforce_cap, uint64_t now);
void sess_remove(struct session_table *t, uint32_t i, enum session_event ev,
		 struct session_events *evs);
/* Records `ev` about session `i` for delivery after the lock (session.h). */
void sess_note(struct session_table *t, struct session_events *evs, enum session_event ev,
	       uint32_t i);
void sess_touch(struct session_table *t, uint32_t i, uint64_t now);
void sess_fill_record(const struct sess *s, struct session_record *r);
uint8_t sess_norm_proto(uint8_t p);

#endif
