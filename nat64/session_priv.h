/* Private to session.c, session_admin.c and session_handoff.c: the table's layout and the
 * helpers both use. Callers hold the table lock. */
#ifndef SIXFOUR_NAT64_SESSION_PRIV_H
#define SIXFOUR_NAT64_SESSION_PRIV_H

#include <pthread.h>

#include "nat64/session.h"

#define NIL UINT32_MAX
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define DEFAULT_STORED_SYNS 64
/* A used entry moves to the front of its list at most this often; in
 * between only its timestamps change. This keeps two workers that share a
 * flow from bouncing the list heads between CPUs on every packet. */
#define RELINK_MS 1000
/* Entries looked at per list when choosing an eviction victim that is not
 * pinned; pinned entries are rare (awaiting a handoff ack for ~1 s). */
#define VICTIM_SCAN 16

/* Timeout classes: one LRU list each. */
enum sess_class { CL_UDP, CL_ICMP, CL_TCP_EST, CL_TCP_TRANS, CL_ACKED, CL_COUNT };

enum sess_flags {
	SF_PINNED = 1u << 0,
	SF_ANNOUNCED = 1u << 1,	/* CREATED went out (session.h: events) */
};

struct bib {
	struct in6_addr c6;
	struct in_addr p4;
	uint16_t cport, pport;
	uint8_t proto;
	uint32_t next6, next4;	/* hash chains; next6 is the free-list link */
	uint32_t sess_head;	/* its sessions, linked by sess.bnext/bprev */
	uint32_t nsess;
};

struct sess {
	struct in6_addr c6, r6;
	struct in_addr r4, p4;
	uint16_t cport, rport, pport;
	uint8_t proto, tcp, cls, flags, plen, state;
	uint32_t bib, client;
	uint32_t next6, next4;	/* hash chains; next6 is the free-list link */
	uint32_t prev, next;	/* LRU list of its class */
	uint32_t bprev, bnext;	/* sessions of the same BIB entry */
	uint64_t expires, last_used;	/* expires 0 = no timer */
	uint64_t linked_at;	/* when it last moved to the front of its list */
};

struct client {
	struct in6_addr prefix;
	uint32_t count;
	uint32_t next;		/* hash chain or free list */
};

struct stored_syn {
	uint64_t expires;	/* 0 = slot free */
	struct in_addr r4, p4;
	uint16_t rport, pport;
	uint8_t *pkt;
	size_t len;
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
	unsigned nsyns;

	session_event_fn hook;
	void *hook_arg;
	/* A UDP port pool4 never hands out (the handoff protocol's, set by
	 * session_table_reserve_port in session_handoff.c); 0 = none. */
	uint16_t reserved_port;
	struct session_counters c;
};

uint32_t sess_find6(const struct session_table *t, uint8_t proto, const struct in6_addr *c6,
		    uint16_t cport, const struct in6_addr *r6, uint16_t rport);
uint32_t sess_find4(const struct session_table *t, uint8_t proto, struct in_addr r4,
		    uint16_t rport, struct in_addr p4, uint16_t pport);
uint32_t sess_find_bib6(const struct session_table *t, uint8_t proto, const struct in6_addr *c6,
			uint16_t cport);
uint32_t sess_find_bib4(const struct session_table *t, uint8_t proto, struct in_addr p4,
			uint16_t pport);
/* Makes room for one more session (LRU eviction); 0 or -ENOSPC. */
int sess_make_room(struct session_table *t, struct session_events *evs);
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
