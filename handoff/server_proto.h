/* sixfour-handoffd protocol engine: turns received datagrams into table
 * changes, log lines, journal records and reply datagrams (spec sections
 * 7.1-7.5, 7.9, 8, 10). No sockets here, so it is unit-testable; the caller
 * feeds a round of datagrams, calls hsrv_commit() (one fsync for the whole
 * round) and only then sends the outbox. Private to handoff/. */
#ifndef SIXFOUR_HANDOFF_SERVER_PROTO_H
#define SIXFOUR_HANDOFF_SERVER_PROTO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#include "handoff/server_journal.h"
#include "handoff/server_table.h"
#include "handoff/wire.h"

/* Every datagram the server does not answer or act on is counted here. */
#define HSRV_COUNTERS(X) \
	X(RX_DATAGRAMS, "datagrams received") \
	X(DROP_MALFORMED, "dropped: framing rules broken (section 4.2)") \
	X(DROP_NO_SESSION, "dropped: neither SESSION first nor HELLO") \
	X(DROP_BAD_COOKIE, "dropped: SESSION cookie does not verify") \
	X(DROP_HELLO_VERSION, "HELLO ignored: version is not 1") \
	X(DROP_HELLO_RATE, "HELLO ignored: 10/s per /24 rate limit") \
	X(DROP_HELLO_AMPLIFY, "HELLO ignored: the reply would be larger than the request") \
	X(DROP_SESSION_FULL, "dropped: session table full") \
	X(DROP_BAD_PROTO, "entry or lookup with a protocol other than TCP, UDP, ICMP") \
	X(DROP_GROUP_FULL, "entry refused: too many (NAT64, protocol) groups") \
	X(DROP_OUTBOX_FULL, "reply lost: outbox full") \
	X(DROP_JOURNAL, "replies withheld: the journal could not be synced") \
	X(ECHO_TOO_BIG, "LOOKUP-REPLY sent without its echo: over 1472 octets") \
	X(JOURNAL_SYNCS, "journal fsyncs, one per round that changed the table") \
	X(HELLO_ACKS, "HELLO-ACKs sent") \
	X(SESSIONS, "sessions initialized") \
	X(ENTRIES_NEW, "entries created") \
	X(ENTRIES_REFRESHED, "identical entries refreshed") \
	X(ENTRIES_REPLACED, "entries displaced by a new client") \
	X(ENTRIES_EVICTED, "entries evicted for capacity") \
	X(ENTRIES_CLOSED, "entries flagged CLOSED") \
	X(LOOKUPS_FOUND, "lookups answered found") \
	X(LOOKUPS_MISSED, "lookups answered not found") \
	X(CLIENT_LOOKUPS_FOUND, "IPv6-side lookups answered found") \
	X(CLIENT_LOOKUPS_MISSED, "IPv6-side lookups answered not found") \
	X(HINT_REQUESTS, "hint requests answered") \
	X(HINT_REQUESTS_OVER, "hint requests unanswered: over 128 hints asked in one datagram") \
	X(HINTS_SENT, "next-port hints sent in HINTS batches") \
	X(BLOCKS_SENT, "BLOCK messages sent") \
	X(BLOCKS_CONFIRMED, "BLOCK echoes received")

enum hsrv_counter {
#define X(name, text) HSRV_##name,
	HSRV_COUNTERS(X)
#undef X
	HSRV__COUNT
};

#define HSRV_SESSION_IDLE_S	(24 * 3600)	/* section 7.11 */
#define HSRV_MAX_SESSIONS	65536
#define HSRV_HELLO_RATE		10		/* HELLO-ACKs per second per /24 */
#define HSRV_HINTS_PER_DGRAM	128		/* hints given for one datagram (P-3) */

struct hsrv_config {
	size_t capacity;	/* whole table */
	size_t per_group;	/* per (server, NAT64, protocol) */
	uint8_t accept_caps;	/* HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, or 0: log only */
	bool local_time;	/* log in local time instead of UTC */
	FILE *log;		/* the section 8 event log */
};

/* One reply datagram: from `src` (the address the request was sent to) to
 * `dst`:`dport`. */
struct hsrv_out {
	struct in_addr src, dst;
	uint16_t dport;
	uint16_t len;
	uint8_t buf[HANDOFF_MAX_DGRAM];
};

struct hsrv;

struct hsrv *hsrv_new(const struct hsrv_config *cfg, const uint8_t secret[HANDOFF_SECRET_LEN]);
void hsrv_free(struct hsrv *s);
/* The journal (NULL = not durable, for tests) and the live-socket check. */
void hsrv_set_journal(struct hsrv *s, struct hsrv_journal *j);
void hsrv_set_live_fn(struct hsrv *s, hsrv_live_fn fn, void *arg);
void hsrv_set_log(struct hsrv *s, FILE *log);

/* Journal replay callback and compaction filler (for the journal API). */
int hsrv_replay_record(void *srv, const struct hsrv_jrec *r);
int hsrv_compact_fill(void *srv, struct hsrv_journal *j);

/* Handles one datagram from `src`:`sport` received on local address `dst`.
 * `now_ms` is monotonic, `wall_s` real time. */
void hsrv_input(struct hsrv *s, struct in_addr src, uint16_t sport, struct in_addr dst,
		const uint8_t *p, size_t len, uint64_t now_ms, uint64_t wall_s);
/* Ends a round: syncs the journal once. On failure the outbox is emptied
 * (nothing may be acked that is not durable) and -errno returned. */
int hsrv_commit(struct hsrv *s);
/* The replies of the round, to send after hsrv_commit(). */
size_t hsrv_outbox(const struct hsrv *s, const struct hsrv_out **out);
void hsrv_outbox_clear(struct hsrv *s);

/* Queues SESSION + BLOCK(duration) to every active session with `nat64`
 * (section 7.9). The number of sessions told, or -ENOENT. */
int hsrv_block(struct hsrv *s, struct in_addr nat64, uint32_t duration, uint64_t wall_s);
/* State and counters, as text or JSON (out->json). */
struct ctl_out;
void hsrv_status(const struct hsrv *s, struct ctl_out *out, uint64_t wall_s);
/* Empties the table and the sessions (journal replay starting over). */
int hsrv_reset(struct hsrv *s);
uint64_t hsrv_counter(const struct hsrv *s, enum hsrv_counter c);
size_t hsrv_entries(const struct hsrv *s);

/* Writes one section 8 line: "YYYY-MM-DD HH:MM:SS.uuuuuu <text>". */
void hsrv_log_line(FILE *f, bool local_time, const char *text);

#endif
