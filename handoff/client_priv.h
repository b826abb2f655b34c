/* Inside the translator-side engine (client.c: sessions, notices, input;
 * client_lookup.c: lookups, the miss queue, their rate limits). Private to
 * handoff/. */
#ifndef SIXFOUR_HANDOFF_CLIENT_PRIV_H
#define SIXFOUR_HANDOFF_CLIENT_PRIV_H

#include "common/log.h"
#include "handoff/client.h"

#define MAX_UNACKED		4096	/* notices tracked for retransmit, per session */
#define MAX_LOOKUPS		256	/* outstanding per session */
#define LOOKUP_TIMEOUT_MS	1000
#define LOOKUP_RETRIES		1
#define DOWN_THRESHOLD		3	/* keep-alives or lookups failed in a row */
#define QUEUE_PKTS		64
#define QUEUE_BYTES		(256 * 1024)
#define QUEUE_AGE_MS		1000
#define SESSION_HDR		18	/* SESSION message */
#define HELLO_LEN		22	/* padded HELLO message */
#define HINT_BATCH		HANDOFF_HINTS_MAX	/* hints asked for at once */

/* What a lookup or a held packet waits for. */
enum lookup_kind {
	LK_PORT,	/* LOOKUP: (proto, NAT64-side port), spec 7.4 */
	LK_CLIENT,	/* LOOKUP-CLIENT: (proto, client, client port), P-1 */
	LK_HINTS,	/* a HINT-REQUEST for a new flow's port (P-3); no id */
};

struct lookup_key {
	uint8_t kind;		/* enum lookup_kind */
	uint8_t proto;
	uint16_t port;		/* LK_PORT: NAT64 port; LK_CLIENT: client port */
	uint16_t server_port;	/* LK_CLIENT, informative */
	struct in6_addr client;	/* LK_CLIENT */
};

struct lookup {
	bool used;
	uint8_t tries;
	struct lookup_key key;
	uint32_t id;
	uint64_t sent_ms;
};

struct queued {
	struct lookup_key key;
	uint64_t at_ms;
	size_t len;
	uint8_t *pkt;
};

struct unacked {
	struct handoff_er er;
	uint64_t sent_ms;
	uint8_t tries;
};

/* Token bucket in thousandths of a token. */
struct bucket {
	uint64_t milli, at_ms;
};

struct peer {
	struct in_addr nat64, server;
	struct peer *hnext, *prev, *next;	/* hash chain; all-peers list, head = newest use */
	bool established;
	bool unconfirmed;	/* resumed from saved state: not yet answered (P-6) */
	bool want_hints;	/* ask for hints with the next keep-alive (P-3) */
	uint64_t resumed_ms;	/* when it was resumed (unconfirmed since) */
	uint8_t nonce[HANDOFF_NONCE_LEN], cookie[HANDOFF_COOKIE_LEN], caps;
	/* the notice batch being filled */
	uint8_t batch[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	size_t hdr_len;
	uint64_t batch_since;
	struct bucket tokens;		/* datagrams (probe or session rate) */
	struct bucket lookup_tokens;	/* lookups (issue 9.4) */
	struct unacked *unacked;
	size_t nunacked;
	struct handoff_er *resync;
	size_t nresync, resync_off;
	uint64_t next_ka;
	bool ka_out;
	unsigned ka_misses, lookup_fails;
	struct lookup *lookups;		/* MAX_LOOKUPS, allocated on first use */
	unsigned nlookups;
	uint32_t next_id;
	uint64_t hints_asked_ms[3];	/* last HINT-REQUEST per proto (TCP, UDP, ICMP) */
	struct queued q[QUEUE_PKTS];
	size_t nq, qbytes;
	uint64_t last_use;
	uint64_t counters[HANDOFF_CLIENT__COUNT];
};

struct handoff_client {
	struct handoff_client_config cfg;
	char text[HANDOFF_CLIENT_TEXT_MAX + 1];
	size_t text_len;
	const struct handoff_client_ops *ops;
	void *ctx;
	struct evloop *loop;
	struct ev_timer *timer;
	uint64_t timer_due, now;
	struct peer **buckets;
	size_t nbuckets, npeers;
	struct peer *head, *tail;
	struct bucket lookup_tokens;	/* all servers together */
	uint64_t generation;		/* bumped when a session's state changes */
	uint64_t totals[HANDOFF_CLIENT__COUNT];
	struct log_limit block_log;
};

/* client.c */
uint64_t hc_now(const struct handoff_client *c);
void hc_count(struct handoff_client *c, struct peer *p, enum handoff_client_counter i, uint64_t n);
void hc_want_tick(struct handoff_client *c, uint64_t due);
struct peer *hc_peer_find(struct handoff_client *c, struct in_addr t, struct in_addr s);
/* Starts a datagram to the peer (SESSION, or TEXT + HELLO while probing). */
void hc_begin(struct handoff_client *c, struct peer *p, struct handoff_builder *b, uint8_t *buf);
void hc_send(struct handoff_client *c, struct peer *p, const uint8_t *buf, size_t len);
void hc_session_down(struct handoff_client *c, struct peer *p, const char *why);
/* Takes a token from `b` refilled at `rate`/s (burst `rate`); rate 0 =
 * unlimited. */
bool hc_bucket_take(struct bucket *b, uint32_t rate, uint64_t now);
/* 0, 1, 2 for TCP, UDP, ICMP; -1 otherwise. */
int hc_proto_index(uint8_t proto);

/* client_lookup.c */
void hc_lookup_reply(struct handoff_client *c, struct peer *p, struct handoff_iter *it,
		     const struct handoff_msg *m);
void hc_hints_received(struct handoff_client *c, struct peer *p, uint8_t proto,
		       const uint16_t *ports, size_t n);
/* Timeouts, retries and queue ages; returns the next due time. */
uint64_t hc_lookup_tick(struct handoff_client *c, struct peer *p, uint64_t now);
/* Sends every outstanding lookup again now (a new cookie, P-6). */
void hc_lookup_resend(struct handoff_client *c, struct peer *p);
/* Forgets the lookups and drops the queue (session down). */
void hc_lookup_clear(struct handoff_client *c, struct peer *p);
void hc_lookup_free(struct peer *p);

#endif
