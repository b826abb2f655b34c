/* sixfour-handoffd durability (spec S-14, section 7.3): an append-only
 * journal of fixed-size, CRC-protected records in STATEDIR/journal, written
 * in batches and fsync'd before the ENTRY-ACKs of the batch go out.
 *
 * Records are fixed-size, so a damaged one is skipped and counted and the
 * records after it are kept; a partial record at the end is a write that a
 * crash cut short (never acked). Compaction writes journal.new, fsyncs it,
 * keeps the journal it replaces as journal.prev (until the next start that
 * finds no damage) and renames. A damaged journal is kept aside as
 * journal.damaged, and journal.prev is replayed before it so that what a
 * damaged record held comes back from the previous generation. The server
 * secret lives next to it in STATEDIR/secret. All files are 0600. Private
 * to handoff/. */
#ifndef SIXFOUR_HANDOFF_SERVER_JOURNAL_H
#define SIXFOUR_HANDOFF_SERVER_JOURNAL_H

#include <stdbool.h>
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
	uint16_t range_lo, range_hi;	/* SESSION: its port range (profile P-2) */
	uint64_t wall_s;		/* SESSION: when, in seconds since the epoch */
};

void hsrv_jrec_encode(const struct hsrv_jrec *r, uint8_t out[HSRV_JREC_LEN]);
/* 0, or -EBADMSG for a bad checksum or an unknown type. */
int hsrv_jrec_decode(const uint8_t in[HSRV_JREC_LEN], struct hsrv_jrec *r);

/* What reading one journal file found. */
struct hsrv_journal_scan {
	size_t records;		/* intact records */
	size_t bad_records;	/* damaged ones skipped (rounded up to whole records) */
	uint64_t bad_octets;	/* octets skipped to reach the next intact record */
	uint64_t torn_octets;	/* a partial record at the end */
	bool bad_magic;		/* the 8-octet header is damaged */
};

static inline bool hsrv_journal_damaged(const struct hsrv_journal_scan *s)
{
	return s->bad_records > 0 || s->bad_magic;
}

/* Reads one journal file and calls `fn` (may be NULL: count only) for each
 * intact record in order; a non-zero return of `fn` stops the read and is
 * returned. 0, -ENOENT, or -errno of the read. */
int hsrv_journal_read(const char *path, int (*fn)(void *arg, const struct hsrv_jrec *r),
		      void *arg, struct hsrv_journal_scan *scan);

/* What start-up rebuilt from STATEDIR. */
struct hsrv_journal_report {
	struct hsrv_journal_scan cur;	/* journal */
	struct hsrv_journal_scan prev;	/* journal.prev, replayed first (damage only) */
	bool used_prev;
};

/* Start-up: replays STATEDIR/journal into `fn`. When it is damaged and
 * STATEDIR/journal.prev exists, `reset(arg)` empties the table and
 * journal.prev is replayed before the journal. Returns 0 (the report says
 * what was lost), or -EBADMSG when the journal holds data but not one
 * intact record and there is no journal.prev to rebuild from (no
 * consistent table: the caller must not start), or -errno. */
int hsrv_journal_load(const char *dir, int (*fn)(void *arg, const struct hsrv_jrec *r),
		      void (*reset)(void *arg), void *arg, struct hsrv_journal_report *rep);

struct hsrv_journal;

/* What happens to the journal a compaction replaces. */
enum hsrv_journal_keep {
	HSRV_KEEP_AS_PREV,	/* it becomes journal.prev (the normal case) */
	HSRV_KEEP_AS_DAMAGED,	/* it becomes journal.damaged; journal.prev stays */
};

/* Compaction: opens STATEDIR/journal.new, lets `fill` append the live state
 * with hsrv_journal_append, fsyncs it, keeps the old journal as `keep`
 * says, renames journal.new over STATEDIR/journal and fsyncs the
 * directory; the returned journal stays open for appending. A journal
 * always exists under its name (the old one is linked aside first). */
int hsrv_journal_rewrite(const char *dir, int (*fill)(void *arg, struct hsrv_journal *j),
			 void *arg, enum hsrv_journal_keep keep, struct hsrv_journal **out);
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

/* Loads STATEDIR/secret, creating it (0600, random) the first time; a
 * secret readable by others is made 0600 again. */
int hsrv_secret_load(const char *dir, uint8_t secret[HANDOFF_SECRET_LEN]);

#endif
