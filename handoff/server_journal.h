/* sixfour-handoffd durability (spec S-14, section 7.3): an append-only
 * journal of fixed-size, CRC-protected records in STATEDIR/journal, written
 * in batches and fsync'd before the ENTRY-ACKs of the batch go out;
 * compacted on start (the live table rewritten to a new file, renamed over
 * the old one). The server secret lives next to it in STATEDIR/secret.
 * Private to handoff/. */
#ifndef SIXFOUR_HANDOFF_SERVER_JOURNAL_H
#define SIXFOUR_HANDOFF_SERVER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "handoff/wire.h"

#define HSRV_JREC_LEN 56

enum hsrv_jrec_type {
	HSRV_JREC_PUT = 1,	/* an entry stored, replaced, refreshed or flagged CLOSED */
	HSRV_JREC_DEL = 2,	/* an entry evicted */
	HSRV_JREC_SESSION = 3,	/* a session established (Initialized logged) */
};

struct hsrv_jrec {
	uint8_t type;
	uint32_t server4, nat64;	/* network byte order */
	struct handoff_er er;		/* PUT: all; DEL: proto and nat_port */
	uint8_t nonce[HANDOFF_NONCE_LEN];	/* SESSION */
	uint16_t nat_src_port;		/* SESSION: the translator's UDP port */
	uint64_t wall_s;		/* SESSION: when, in seconds since the epoch */
};

void hsrv_jrec_encode(const struct hsrv_jrec *r, uint8_t out[HSRV_JREC_LEN]);
/* 0, or -EBADMSG for a bad checksum or an unknown type. */
int hsrv_jrec_decode(const uint8_t in[HSRV_JREC_LEN], struct hsrv_jrec *r);

struct hsrv_journal;

/* Reads STATEDIR/journal (if any) and calls `fn` per valid record in
 * order. A torn or corrupt tail (a crash mid-write) ends the replay quietly;
 * its length is reported in `*dropped_octets`. 0 or -errno. */
int hsrv_journal_replay(const char *dir, int (*fn)(void *arg, const struct hsrv_jrec *r),
			void *arg, size_t *n_records, size_t *dropped_octets);

/* Compaction: opens STATEDIR/journal.new, lets `fill` append the live state
 * with hsrv_journal_append, fsyncs it, renames it over STATEDIR/journal and
 * fsyncs the directory; the returned journal stays open for appending. */
int hsrv_journal_rewrite(const char *dir, int (*fill)(void *arg, struct hsrv_journal *j),
			 void *arg, struct hsrv_journal **out);
void hsrv_journal_close(struct hsrv_journal *j);

/* Buffers one record; writes out when the buffer fills. 0 or -errno. */
int hsrv_journal_append(struct hsrv_journal *j, const struct hsrv_jrec *r);
/* Writes what is buffered and fdatasyncs once (the batch boundary). */
int hsrv_journal_sync(struct hsrv_journal *j);
size_t hsrv_journal_pending(const struct hsrv_journal *j);
/* Octets in the file, buffered ones included: the daemon compacts again
 * when this outgrows the live state (HSRV_JOURNAL_COMPACT_*). */
uint64_t hsrv_journal_size(const struct hsrv_journal *j);
#define HSRV_JOURNAL_COMPACT_MIN	(64ull << 20)	/* never for less than 64 MiB */
#define HSRV_JOURNAL_COMPACT_FACTOR	4		/* ... or 4 x the live records */

/* Loads STATEDIR/secret, creating it (0600, random) the first time. */
int hsrv_secret_load(const char *dir, uint8_t secret[HANDOFF_SECRET_LEN]);

#endif
