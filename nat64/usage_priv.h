/* Private to usage.c, usage_log.c, usage_state.c and usage_ctl.c. */
#ifndef SIXFOUR_NAT64_USAGE_PRIV_H
#define SIXFOUR_NAT64_USAGE_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/log.h"
#include "nat64/heavy_hitters.h"
#include "nat64/usage.h"

enum usage_period_id { USAGE_INTERVAL, USAGE_DAY, USAGE_MONTH, USAGE_NPERIODS };

/* One period's summaries: clients (IPv6) and packets of no client (IPv4)
 * apart, so a flood of unsolicited IPv4 cannot push clients out. */
struct usage_period {
	struct hh *hh6, *hh4;
	time_t start, end;	/* wall clock, [start, end) */
	char label[24];		/* "2026-01-05T10:05:00Z", "2026-01-05", "2026-01" */
};

#define USAGE_COUNTERS(X) \
	X(FOLDS, "worker tables folded into the summaries") \
	X(EARLY_SWAPS, "worker tables swapped early because they were full") \
	X(RECORDS, "usage log records handed to the writer") \
	X(LOG_ERRORS, "usage log writes that failed") \
	X(LOG_DROPPED, "usage log records dropped because the writer fell behind") \
	X(STATE_WRITES, "state files written") \
	X(STATE_ERRORS, "state file writes that failed") \
	X(REOPENS, "times the usage log was reopened")

enum usage_counter {
#define X(name, help) USAGE_##name,
	USAGE_COUNTERS(X)
#undef X
	USAGE__COUNT
};

struct usage_writer;

struct nat64_usage {
	struct sixfour_ctx *ctx;
	bool on;			/* [stats] top-prefixes > 0 */
	unsigned nslots;
	struct nat64_usage_slot *slots;
	_Atomic unsigned v6_len, v4_len;	/* read per packet */
	struct usage_period p[USAGE_NPERIODS];
	uint32_t capacity6, capacity4;
	uint64_t interval_s;
	unsigned metrics_top;
	uint64_t quota;			/* octets per month, 0 = none */
	unsigned quota_level;		/* highest threshold warned this month */
	unsigned pending;		/* tables retired, not folded yet */
	struct ev_timer *tick;
	int kick_fd;			/* eventfd: a worker's table is full */
	char *log_path;			/* NULL: no log */
	bool log_ok;			/* the writer has it open */
	struct log_limit open_limit;
	char *state_path;
	uint32_t uid, gid;		/* owner of what we create as root */
	bool owner_set;
	struct usage_writer *writer;
	uint64_t seed;
	uint64_t c[USAGE__COUNT];	/* main thread and writer: counter_add */
};

/* usage.c: folds what the workers counted so far (waits at most
 * `max_wait_ms` for them to leave the old tables). */
void usage_flush(struct nat64_usage *u, unsigned max_wait_ms);
/* Reopens the usage log (after rotation): 0 or -errno (logged). */
int usage_reopen(struct nat64_usage *u);
/* The period's totals over both families. */
void usage_period_stats(const struct usage_period *p, struct hh_stats *s6, struct hh_stats *s4);
/* Month's projection: octets at the end of the month at the current rate. */
uint64_t usage_month_projection(const struct nat64_usage *u, time_t now);

/* usage_log.c: the writer thread (usage log appends, state file writes). */
struct usage_writer *usage_writer_new(uint64_t *counters);
int usage_writer_start(struct usage_writer *w);
/* Takes `buf` (malloc'd); appended to the log in order. */
void usage_writer_append(struct usage_writer *w, char *buf, size_t len, size_t records);
/* Takes `buf`: written to `path` atomically (tmp, fsync, rename; the
 * previous file becomes path.prev). A newer one replaces one still waiting. */
void usage_writer_state(struct usage_writer *w, char *buf, size_t len, const char *path);
/* The log goes to `fd` from now on (-1: nowhere); the old one is closed. */
void usage_writer_set_log(struct usage_writer *w, int fd);
/* Drains what is queued, then joins the thread. */
void usage_writer_free(struct usage_writer *w);
/* Opens the usage log for appending: 0 and *fd, or -errno. */
int usage_log_open(const char *path, int *fd);
/* One JSON line per prefix of the finished interval, then its summary. */
char *usage_log_format(const struct usage_period *p, size_t *len, size_t *records);

/* usage_state.c: the state file (day and month totals). */
char *usage_state_format(const struct nat64_usage *u, time_t now, size_t *len);
/* Reads the best of path, path.tmp and path.prev into the day and month
 * summaries of `u` whose labels are set already; logs what was lost. */
void usage_state_load(struct nat64_usage *u, const char *path);

/* "274 B", "1.23 GiB": sizes for people. */
void usage_human(uint64_t v, char *buf, size_t size);

/* Labels and times. */
void usage_utc_label(time_t t, char *buf, size_t size);	/* 2026-01-05T10:05:00Z */
void usage_period_bounds(enum usage_period_id id, time_t now, uint64_t interval_s,
			 time_t *start, time_t *end, char *label, size_t size);

#endif
