/* The usage log and the writer thread. Every interval the main loop
 * formats its records in memory and hands them over; this thread appends
 * them and writes the state file (tmp, fsync, rename), so a slow or stuck
 * disk delays only this thread, never the packet path or the main loop.
 * What waits is bounded: past USAGE_QUEUE_MAX octets of log, records are
 * dropped and counted; of state files only the newest waits. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/ctl.h"
#include "common/log.h"
#include "common/util.h"
#include "nat64/usage_priv.h"

#define USAGE_QUEUE_MAX (64u << 20)

enum job_kind { JOB_LOG, JOB_FD };

struct job {
	struct job *next;
	enum job_kind kind;
	char *buf;
	size_t len, records;
	int fd;
};

struct usage_writer {
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *head, **tail;
	size_t queued;			/* log octets waiting */
	char *state, *state_path;	/* the newest state file waiting */
	size_t state_len;
	int log_fd;			/* this thread's */
	uint64_t *c;			/* struct nat64_usage's counters */
	struct log_limit err_limit;
};

int usage_log_open(const char *path, int *fd)
{
	*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	return *fd < 0 ? -errno : 0;
}

/* tmp, fsync, keep the previous file as .prev (a hard link, so the path
 * always names a complete file), rename over the path, sync the folder. */
static int write_state_file(const char *path, const char *buf, size_t len)
{
	char tmp[4200], prev[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(prev, sizeof(prev), "%s.prev", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, buf, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	/* The file being replaced becomes .prev (through a second link, so
	 * that an old .prev is replaced only by a complete file). */
	char prev_new[4210];
	snprintf(prev_new, sizeof(prev_new), "%s.new", prev);
	unlink(prev_new);
	if (link(path, prev_new) == 0) {
		if (rename(prev_new, prev) != 0)
			log_warn("usage: keeping %s: %s", prev, strerror(errno));
	} else if (errno != ENOENT) {
		log_warn("usage: keeping %s: %s", prev, strerror(errno));
	}
	if (rename(tmp, path) != 0)
		return -errno;
	(void)fsync_parent_dir(path);
	return 0;
}

static void run_job(struct usage_writer *w, struct job *j)
{
	if (j->kind == JOB_FD) {
		if (w->log_fd >= 0)
			close(w->log_fd);
		w->log_fd = j->fd;
		return;
	}
	if (w->log_fd < 0) {
		counter_add(&w->c[USAGE_LOG_DROPPED], j->records);
		return;
	}
	int rc = write_all(w->log_fd, j->buf, j->len);
	if (rc) {
		counter_add(&w->c[USAGE_LOG_ERRORS], 1);
		counter_add(&w->c[USAGE_LOG_DROPPED], j->records);
		log_ratelimited(&w->err_limit, LOG_LVL_ERR, "usage: writing the usage log: %s",
				strerror(-rc));
	}
}

/* Takes everything queued; runs it without the lock. */
static bool drain(struct usage_writer *w)
{
	pthread_mutex_lock(&w->lock);
	struct job *list = w->head;
	w->head = NULL;
	w->tail = &w->head;
	w->queued = 0;
	char *state = w->state, *path = w->state_path;
	size_t state_len = w->state_len;
	w->state = w->state_path = NULL;
	pthread_mutex_unlock(&w->lock);
	bool any = list || state;
	while (list) {
		struct job *j = list;
		list = j->next;
		run_job(w, j);
		free(j->buf);
		free(j);
	}
	if (state) {
		int rc = write_state_file(path, state, state_len);
		if (rc) {
			counter_add(&w->c[USAGE_STATE_ERRORS], 1);
			log_ratelimited(&w->err_limit, LOG_LVL_ERR,
					"usage: writing the state file %s: %s", path, strerror(-rc));
		} else {
			counter_add(&w->c[USAGE_STATE_WRITES], 1);
		}
		free(state);
		free(path);
	}
	return any;
}

static void *writer_main(void *arg)
{
	struct usage_writer *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->state && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		bool stop = w->stop && !w->head && !w->state;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			return NULL;
		drain(w);
	}
}

struct usage_writer *usage_writer_new(uint64_t *counters)
{
	struct usage_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->tail = &w->head;
	w->log_fd = -1;
	w->c = counters;
	w->err_limit.interval_ms = 60000;
	w->err_limit.burst = 3;
	return w;
}

int usage_writer_start(struct usage_writer *w)
{
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc) {
		log_err("usage: starting the writer thread: %s", strerror(rc));
		return -rc;
	}
	w->started = true;
	return 0;
}

static void push(struct usage_writer *w, struct job *j)
{
	pthread_mutex_lock(&w->lock);
	if (j->kind == JOB_LOG && w->queued + j->len > USAGE_QUEUE_MAX) {
		pthread_mutex_unlock(&w->lock);
		counter_add(&w->c[USAGE_LOG_DROPPED], j->records);
		log_ratelimited(&w->err_limit, LOG_LVL_ERR,
				"usage: the usage log writer is behind; %zu records dropped",
				j->records);
		free(j->buf);
		free(j);
		return;
	}
	if (j->kind == JOB_LOG)
		w->queued += j->len;
	*w->tail = j;
	w->tail = &j->next;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void usage_writer_append(struct usage_writer *w, char *buf, size_t len, size_t records)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		free(buf);
		counter_add(&w->c[USAGE_LOG_DROPPED], records);
		return;
	}
	*j = (struct job){ .kind = JOB_LOG, .buf = buf, .len = len, .records = records };
	counter_add(&w->c[USAGE_RECORDS], records);
	push(w, j);
}

void usage_writer_state(struct usage_writer *w, char *buf, size_t len, const char *path)
{
	char *p = strdup(path);
	if (!p) {
		free(buf);
		return;
	}
	pthread_mutex_lock(&w->lock);
	free(w->state);
	free(w->state_path);
	w->state = buf;
	w->state_len = len;
	w->state_path = p;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void usage_writer_set_log(struct usage_writer *w, int fd)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		if (fd >= 0)
			close(fd);
		return;
	}
	*j = (struct job){ .kind = JOB_FD, .fd = fd };
	push(w, j);
}

void usage_writer_free(struct usage_writer *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	} else {
		drain(w);	/* never started (start-up failed, or stopping early) */
	}
	if (w->log_fd >= 0)
		close(w->log_fd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}

/* --- records --- */

static size_t all_items(const struct hh *h, const struct hh_stats *st, struct hh_item **out)
{
	*out = NULL;
	if (!st->tracked)
		return 0;
	*out = malloc(st->tracked * sizeof(**out));
	return *out ? hh_top(h, *out, st->tracked) : 0;
}

char *usage_log_format(const struct usage_period *p, size_t *len, size_t *records)
{
	char start[32], end[32];
	usage_utc_label(p->start, start, sizeof(start));
	usage_utc_label(p->end, end, sizeof(end));
	struct hh_stats st[2];
	usage_period_stats(p, &st[0], &st[1]);
	const struct hh *hh[2] = { p->hh6, p->hh4 };
	struct ctl_out b = { 0 };
	size_t n = 0;
	for (int f = 0; f < 2; f++) {
		struct hh_item *v;
		size_t k = all_items(hh[f], &st[f], &v);
		for (size_t i = 0; i < k; i++) {
			char pfx[64];
			hh_key_format(&v[i].key, pfx, sizeof(pfx));
			ctl_printf(&b, "{\"start\":\"%s\",\"end\":\"%s\",\"prefix\":\"%s\","
				"\"packets_from\":%llu,\"octets_from\":%llu,\"packets_to\":%llu,"
				"\"octets_to\":%llu", start, end, pfx,
				(unsigned long long)v[i].c.packets_from,
				(unsigned long long)v[i].c.octets_from,
				(unsigned long long)v[i].c.packets_to,
				(unsigned long long)v[i].c.octets_to);
			if (v[i].err)
				ctl_printf(&b, ",\"error_octets\":%llu", (unsigned long long)v[i].err);
			ctl_printf(&b, "}\n");
		}
		n += k;
		free(v);
	}
	/* The summary: totals, what no listed prefix holds, the bound. */
	struct hh_counts tot = st[0].total, rem = st[0].remainder;
	hh_counts_add(&tot, &st[1].total);
	hh_counts_add(&rem, &st[1].remainder);
	ctl_printf(&b, "{\"start\":\"%s\",\"end\":\"%s\",\"summary\":true,\"prefixes\":%zu,"
		"\"packets\":%llu,\"octets\":%llu,\"remainder_packets\":%llu,"
		"\"remainder_octets\":%llu,\"error_bound\":%llu}\n", start, end, n,
		(unsigned long long)hh_packets(&tot), (unsigned long long)hh_octets(&tot),
		(unsigned long long)hh_packets(&rem), (unsigned long long)hh_octets(&rem),
		(unsigned long long)MAX(st[0].bound, st[1].bound));
	if (b.failed) {
		free(b.buf);
		return NULL;
	}
	*len = b.len;
	*records = n + 1;
	return b.buf;
}
