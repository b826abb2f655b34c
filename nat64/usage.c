/* Usage accounting (usage.h): the workers' tables, how the main loop
 * collects them, the periods (interval, day, month) and the quota.
 *
 * A worker counts into its slot's current table: an open-addressing hash
 * of prefixes with exact counts, written by that worker alone. Every second
 * (and at once when a table fills) the main loop publishes a clean table in
 * the slot and retires the old one (common/publish.h); once every worker
 * has passed a quiescent point the old table can no longer be written, and
 * its "free" function folds it into the Space-Saving summaries of the three
 * periods and hands it back as the slot's spare. A table that fills before
 * its spare is back counts new prefixes as unattributed: the totals stay
 * exact, and the error bound grows by what lost its prefix. */
#include "autoconf.h"
#include "nat64/usage.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/publish.h"
#include "common/subsys.h"
#include "common/util.h"
#include "nat64/usage_priv.h"

#define TICK_MS 1000
#define TABLE_MIN 4096
#define TABLE_MAX 32768
#define MAIN_TABLE 1024
#define TICK_WAIT_MS 10
#define FLUSH_WAIT_MS 100	/* at an interval's end; a worker leaves a table in microseconds */
#define STOP_WAIT_MS 2000
#define TAG(family, len) ((uint32_t)(family) << 8 | (len))

struct usage_cell {
	uint64_t addr[2];
	uint32_t tag;		/* TAG(family, len); 0 = free */
	struct hh_counts c;
};

struct usage_table {
	struct nat64_usage *u;
	struct nat64_usage_slot *slot;
	uint32_t mask, fill_limit;
	_Atomic uint32_t used;		/* the worker stores, the main loop peeks */
	atomic_bool overflowed;
	uint32_t last;			/* the worker's last hit: packets come in trains */
	struct hh_counts overflow6, overflow4;
	uint32_t *used_idx;
	struct usage_cell *cell;
};

struct nat64_usage_slot {
	struct usage_table *_Atomic cur;
	struct usage_table *spare;	/* main loop; NULL while the old one is retired */
	struct nat64_usage *u;
};

/* --- tables --- */

static struct usage_table *table_new(struct nat64_usage *u, struct nat64_usage_slot *s,
				     uint32_t slots)
{
	struct usage_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* At most 3/4 full: probing always finds a free cell. */
	*t = (struct usage_table){ .u = u, .slot = s, .mask = slots - 1, .fill_limit = slots / 4 * 3 };
	t->cell = calloc(slots, sizeof(*t->cell));
	t->used_idx = calloc(t->fill_limit, sizeof(*t->used_idx));
	if (!t->cell || !t->used_idx) {
		free(t->cell);
		free(t->used_idx);
		free(t);
		return NULL;
	}
	return t;
}

static void table_free(struct usage_table *t)
{
	if (!t)
		return;
	free(t->cell);
	free(t->used_idx);
	free(t);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

static void kick(struct nat64_usage *u)
{
	uint64_t one = 1;
	/* Non-blocking eventfd: never waits, at worst already readable. */
	(void)!write(u->kick_fd, &one, sizeof(one));
}

static void count(struct nat64_usage_slot *slot, uint64_t a0, uint32_t tag,
		  enum nat64_usage_dir dir, uint32_t packets, uint64_t octets)
{
	struct usage_table *t = atomic_load_explicit(&slot->cur, memory_order_acquire);
	struct usage_cell *c = &t->cell[t->last];
	if (c->tag != tag || c->addr[0] != a0) {
		uint32_t i = (uint32_t)mix(a0 ^ slot->u->seed ^ tag) & t->mask;
		for (;; i = (i + 1) & t->mask) {
			c = &t->cell[i];
			if (c->tag == tag && c->addr[0] == a0)
				break;
			if (c->tag != 0)
				continue;
			uint32_t used = atomic_load_explicit(&t->used, memory_order_relaxed);
			if (used >= t->fill_limit) {
				/* Full until the main loop swaps it: counted
				 * without a prefix. */
				struct hh_counts *o = (tag >> 8) == AF_INET ? &t->overflow4
									    : &t->overflow6;
				if (dir == NAT64_USAGE_FROM) {
					o->packets_from += packets;
					o->octets_from += octets;
				} else {
					o->packets_to += packets;
					o->octets_to += octets;
				}
				atomic_store_explicit(&t->overflowed, true, memory_order_relaxed);
				return;
			}
			c->addr[0] = a0;
			c->addr[1] = 0;
			c->tag = tag;
			t->used_idx[used] = i;
			atomic_store_explicit(&t->used, used + 1, memory_order_relaxed);
			if (used + 1 == t->fill_limit)
				kick(slot->u);
			break;
		}
		t->last = i;
	}
	if (dir == NAT64_USAGE_FROM) {
		c->c.packets_from += packets;
		c->c.octets_from += octets;
	} else {
		c->c.packets_to += packets;
		c->c.octets_to += octets;
	}
}

void nat64_usage_count6(struct nat64_usage_slot *slot, const struct in6_addr *client,
			enum nat64_usage_dir dir, uint32_t packets, uint64_t octets)
{
	if (!slot || !client)
		return;
	/* [stats] client-prefix-len is 16..64: the prefix is the first
	 * eight bytes, masked (memory order). */
	unsigned len = atomic_load_explicit(&slot->u->v6_len, memory_order_relaxed);
	uint64_t a0;
	memcpy(&a0, client, sizeof(a0));
	a0 &= htobe64(~0ull << (64 - len));
	count(slot, a0, TAG(AF_INET6, len), dir, packets, octets);
}

void nat64_usage_count4(struct nat64_usage_slot *slot, struct in_addr src, uint32_t packets,
			uint64_t octets)
{
	if (!slot)
		return;
	unsigned len = atomic_load_explicit(&slot->u->v4_len, memory_order_relaxed);	/* 8..32 */
	uint32_t m = src.s_addr & htonl(~0u << (32 - len));
	uint64_t a0 = 0;
	memcpy(&a0, &m, sizeof(m));
	count(slot, a0, TAG(AF_INET, len), NAT64_USAGE_FROM, packets, octets);
}

/* --- collecting --- */

/* The retired table's "free" function (publish.h): no worker can write it
 * any more. Runs on the main thread. */
static void fold_retired(void *arg)
{
	struct usage_table *t = arg;
	struct nat64_usage *u = t->u;
	uint32_t used = atomic_load_explicit(&t->used, memory_order_relaxed);
	for (uint32_t k = 0; k < used; k++) {
		struct usage_cell *c = &t->cell[t->used_idx[k]];
		struct hh_key key = { .addr = { c->addr[0], c->addr[1] },
				      .family = (uint8_t)(c->tag >> 8), .len = (uint8_t)c->tag };
		for (int p = 0; p < USAGE_NPERIODS; p++)
			hh_add(key.family == AF_INET ? u->p[p].hh4 : u->p[p].hh6, &key, &c->c);
		memset(c, 0, sizeof(*c));
	}
	if (atomic_load_explicit(&t->overflowed, memory_order_relaxed)) {
		for (int p = 0; p < USAGE_NPERIODS; p++) {
			hh_add_unattributed(u->p[p].hh6, &t->overflow6);
			hh_add_unattributed(u->p[p].hh4, &t->overflow4);
		}
		t->overflow6 = t->overflow4 = (struct hh_counts){ 0 };
		atomic_store_explicit(&t->overflowed, false, memory_order_relaxed);
	}
	atomic_store_explicit(&t->used, 0, memory_order_relaxed);
	t->last = 0;
	t->slot->spare = t;
	u->pending--;
	counter_add(&u->c[USAGE_FOLDS], 1);
}

/* Publishes clean tables where the current one holds something. */
static void swap_all(struct nat64_usage *u)
{
	for (unsigned i = 0; i < u->nslots; i++) {
		struct nat64_usage_slot *s = &u->slots[i];
		struct usage_table *t = atomic_load_explicit(&s->cur, memory_order_relaxed);
		if (!s->spare || (atomic_load_explicit(&t->used, memory_order_relaxed) == 0 &&
				  !atomic_load_explicit(&t->overflowed, memory_order_relaxed)))
			continue;
		struct usage_table *old = atomic_exchange_explicit(&s->cur, s->spare,
								    memory_order_acq_rel);
		s->spare = NULL;
		u->pending++;
		publish_retire(u->ctx->publish, old, fold_retired);
	}
}

void usage_flush(struct nat64_usage *u, unsigned max_wait_ms)
{
	if (!u->on)
		return;
	swap_all(u);
	uint64_t end = monotonic_us() + (uint64_t)max_wait_ms * 1000;
	while (u->pending) {
		publish_reclaim(u->ctx->publish);
		if (!u->pending || monotonic_us() >= end)
			break;
		usleep(100);
	}
}

/* A worker's table is full: collect now rather than at the next tick. */
static void on_kick(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct nat64_usage *u = arg;
	uint64_t v;
	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
		counter_add(&u->c[USAGE_EARLY_SWAPS], v);
		swap_all(u);
	}
}

/* --- periods --- */

void usage_human(uint64_t v, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double x = (double)v;
	size_t i = 0;
	while (x >= 1024 && i + 1 < ARRAY_SIZE(unit)) {
		x /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, size, "%.*f %s", x < 10 ? 2 : x < 100 ? 1 : 0, x, unit[i]);
}

void usage_utc_label(time_t t, char *buf, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Intervals are aligned to multiples of their length since the epoch;
 * days and months follow the local calendar (TZ). */
void usage_period_bounds(enum usage_period_id id, time_t now, uint64_t interval_s,
			 time_t *start, time_t *end, char *label, size_t size)
{
	if (id == USAGE_INTERVAL) {
		*start = now - (time_t)((uint64_t)now % interval_s);
		*end = *start + (time_t)interval_s;
		usage_utc_label(*start, label, size);
		return;
	}
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	if (id == USAGE_MONTH)
		tm.tm_mday = 1;
	struct tm t0 = tm;
	*start = mktime(&t0);
	strftime(label, size, id == USAGE_MONTH ? "%Y-%m" : "%Y-%m-%d", &t0);
	if (id == USAGE_MONTH)
		tm.tm_mon++;
	else
		tm.tm_mday++;
	tm.tm_isdst = -1;
	*end = mktime(&tm);
}

static void period_begin(struct nat64_usage *u, enum usage_period_id id, time_t now)
{
	struct usage_period *p = &u->p[id];
	hh_reset(p->hh6);
	hh_reset(p->hh4);
	usage_period_bounds(id, now, u->interval_s, &p->start, &p->end, p->label,
			    sizeof(p->label));
}

void usage_period_stats(const struct usage_period *p, struct hh_stats *s6, struct hh_stats *s4)
{
	hh_stats(p->hh6, s6);
	hh_stats(p->hh4, s4);
}

static uint64_t period_octets(const struct usage_period *p)
{
	struct hh_stats s6, s4;
	usage_period_stats(p, &s6, &s4);
	return hh_octets(&s6.total) + hh_octets(&s4.total);
}

uint64_t usage_month_projection(const struct nat64_usage *u, time_t now)
{
	const struct usage_period *m = &u->p[USAGE_MONTH];
	uint64_t used = period_octets(m);
	if (now <= m->start)
		return used;
	double elapsed = (double)(now - m->start), rest = (double)(m->end - now);
	if (rest < 0)
		rest = 0;
	return used + (uint64_t)((double)used / elapsed * rest);
}

static int open_log(struct nat64_usage *u);

/* The interval so far goes to the log; `end` is its nominal end, or now
 * when it ends early (stop, a clock step). */
static void close_interval(struct nat64_usage *u, time_t end)
{
	struct usage_period *p = &u->p[USAGE_INTERVAL];
	p->end = end;
	if (u->log_path && !u->log_ok)
		open_log(u);	/* it failed before: try again every interval */
	if (u->writer && u->log_path) {
		size_t len, records;
		char *buf = usage_log_format(p, &len, &records);
		if (buf)
			usage_writer_append(u->writer, buf, len, records);
	}
}

static void write_state(struct nat64_usage *u, time_t now)
{
	size_t len;
	if (!u->state_path)
		return;
	char *buf = usage_state_format(u, now, &len);
	if (buf && u->writer)
		usage_writer_state(u->writer, buf, len, u->state_path);
	else
		free(buf);
}

/* The top prefixes of the month, for a warning: "2001:db8::/32 41 %, ...". */
static void top_list(const struct nat64_usage *u, char *buf, size_t size)
{
	struct hh_item top[5];
	uint64_t total = period_octets(&u->p[USAGE_MONTH]);
	size_t n = hh_top(u->p[USAGE_MONTH].hh6, top, ARRAY_SIZE(top)), off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		char k[64];
		hh_key_format(&top[i].key, k, sizeof(k));
		off += (size_t)snprintf(buf + off, size - off, "%s%s %.1f %%", i ? ", " : "", k,
					total ? 100.0 * (double)hh_octets(&top[i].c) / (double)total : 0);
	}
	if (!n)
		snprintf(buf, size, "none");
}

/* Warnings at 80, 90 and 100 % of [ratelimit] monthly-quota, once each
 * per month (the level is kept in the state file). */
static void check_quota(struct nat64_usage *u, time_t now)
{
	static const unsigned levels[] = { 80, 90, 100 };
	if (!u->quota)
		return;
	uint64_t used = period_octets(&u->p[USAGE_MONTH]);
	unsigned level = 0;
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if ((double)used >= (double)u->quota * levels[i] / 100.0)
			level = levels[i];
	if (level < u->quota_level) {
		u->quota_level = level;	/* the quota was raised */
		return;
	}
	if (level == u->quota_level)
		return;
	char q[32], us[32], pr[32], top[320], end[32];
	usage_human(u->quota, q, sizeof(q));
	usage_human(used, us, sizeof(us));
	usage_human(usage_month_projection(u, now), pr, sizeof(pr));
	usage_utc_label(u->p[USAGE_MONTH].end, end, sizeof(end));
	top_list(u, top, sizeof(top));
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (levels[i] > u->quota_level && levels[i] <= level)
			log_warn("usage: %u %% of the monthly quota used (%s of %s, %llu octets); "
				 "projected %s by %s; most used by %s", levels[i], us, q,
				 (unsigned long long)used, pr, end, top);
	u->quota_level = level;
	write_state(u, now);	/* a restart must not warn again */
}

static void arm_tick(struct nat64_usage *u)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t to_end = ((int64_t)u->p[USAGE_INTERVAL].end - ts.tv_sec) * 1000 -
			 ts.tv_nsec / 1000000;
	ev_timer_arm(u->tick, (uint64_t)MAX(1, MIN((int64_t)TICK_MS, to_end)));
}

static void on_tick(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct nat64_usage *u = arg;
	(void)loop;
	(void)t;
	time_t now = time(NULL);
	struct usage_period *iv = &u->p[USAGE_INTERVAL];
	/* A clock stepped backwards ends the interval too. */
	bool ends = now >= iv->end || now < iv->start || now >= u->p[USAGE_DAY].end ||
		    now >= u->p[USAGE_MONTH].end || now < u->p[USAGE_DAY].start;
	if (!ends) {
		/* Workers leave a table within microseconds: fold now, so what
		 * they counted lands in the interval it was counted in. */
		usage_flush(u, TICK_WAIT_MS);
		check_quota(u, now);
		arm_tick(u);
		return;
	}
	usage_flush(u, FLUSH_WAIT_MS);
	close_interval(u, now >= iv->end && now < iv->end + (time_t)u->interval_s ? iv->end : now);
	period_begin(u, USAGE_INTERVAL, now);
	if (now >= u->p[USAGE_DAY].end || now < u->p[USAGE_DAY].start) {
		char v[32];
		usage_human(period_octets(&u->p[USAGE_DAY]), v, sizeof(v));
		log_notice("usage: day %s ended with %s", u->p[USAGE_DAY].label, v);
		period_begin(u, USAGE_DAY, now);
	}
	if (now >= u->p[USAGE_MONTH].end || now < u->p[USAGE_MONTH].start) {
		char v[32];
		usage_human(period_octets(&u->p[USAGE_MONTH]), v, sizeof(v));
		log_notice("usage: month %s ended with %s", u->p[USAGE_MONTH].label, v);
		period_begin(u, USAGE_MONTH, now);
		u->quota_level = 0;
	}
	write_state(u, now);
	check_quota(u, now);
	arm_tick(u);
}

/* --- the log file --- */

/* Creates the log's directory when missing (owned by the run user, so a
 * reopen after rotation works unprivileged). */
static void prepare_log(struct nat64_usage *u)
{
	char dir[4096];
	if (!strlcpy_ok(dir, u->log_path, sizeof(dir)))
		return;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0 && u->owner_set && chown(dir, u->uid, u->gid) != 0)
		log_warn("usage: chown %s: %s", dir, strerror(errno));
}

static int open_log(struct nat64_usage *u)
{
	if (!u->log_path)
		return 0;
	bool existed = access(u->log_path, F_OK) == 0;
	int fd;
	int rc = usage_log_open(u->log_path, &fd);
	if (rc) {
		log_ratelimited(&u->open_limit, LOG_LVL_ERR, "usage: cannot open the usage log %s: "
				"%s (its records are dropped and counted until it opens)", u->log_path, strerror(-rc));
		return rc;
	}
	u->log_ok = true;
	if (!existed && u->owner_set && fchown(fd, u->uid, u->gid) != 0)
		log_warn("usage: chown %s: %s", u->log_path, strerror(errno));
	usage_writer_set_log(u->writer, fd);
	counter_add(&u->c[USAGE_REOPENS], 1);
	return 0;
}

/* SIGHUP reopens the log whatever the reload decides (logrotate). */
static void on_hup(struct evloop *loop, int signo, void *arg)
{
	(void)loop;
	(void)signo;
	struct nat64_usage *u = arg;
	if (u->log_path)
		open_log(u);
}

int usage_reopen(struct nat64_usage *u)
{
	return u->log_path ? open_log(u) : -ENOENT;
}

/* --- subsystem glue --- */

static void set_paths(struct nat64_usage *u, const struct sixfour_config *cfg)
{
	free(u->log_path);
	u->log_path = cfg->stats.usage_log && cfg->stats.usage_log[0] ? strdup(cfg->stats.usage_log)
								       : NULL;
}

static void take_live(struct nat64_usage *u, const struct sixfour_config *cfg)
{
	atomic_store(&u->v6_len, cfg->stats.v6_prefix_len);
	atomic_store(&u->v4_len, cfg->stats.v4_prefix_len);
	u->metrics_top = cfg->stats.metrics_prefixes;
	u->quota = cfg->ratelimit.monthly_quota;
}

struct nat64_usage *nat64_usage_new(struct sixfour_ctx *ctx, unsigned nworkers)
{
	const struct sixfour_config *cfg = ctx->cfg;
	struct nat64_usage *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	*u = (struct nat64_usage){ .ctx = ctx, .kick_fd = -1 };
	take_live(u, cfg);
	if (cfg->stats.top_prefixes == 0) {
		log_info("usage: accounting is off ([stats] top-prefixes = 0)");
		return u;
	}
	u->on = true;
	u->interval_s = MAX(cfg->stats.interval_ms / 1000, (uint64_t)1);
	if (getrandom(&u->seed, sizeof(u->seed), 0) != (ssize_t)sizeof(u->seed))
		u->seed = monotonic_us() * 0x9e3779b97f4a7c15ull;
	u->capacity6 = cfg->stats.top_prefixes;
	u->capacity4 = MAX(cfg->stats.top_prefixes / 4, 16u);
	for (int p = 0; p < USAGE_NPERIODS; p++) {
		u->p[p].hh6 = hh_new(u->capacity6, u->seed + (uint64_t)p);
		u->p[p].hh4 = hh_new(u->capacity4, u->seed ^ (uint64_t)p);
		if (!u->p[p].hh6 || !u->p[p].hh4)
			goto nomem;
	}
	/* Each worker's table holds its share of the prefixes of a second. */
	uint32_t wslots = TABLE_MIN;
	while (wslots < TABLE_MAX && wslots < cfg->stats.top_prefixes / MAX(nworkers, 1u))
		wslots <<= 1;
	u->nslots = nworkers + 1;
	u->slots = calloc(u->nslots, sizeof(*u->slots));
	if (!u->slots)
		goto nomem;
	for (unsigned i = 0; i < u->nslots; i++) {
		struct nat64_usage_slot *s = &u->slots[i];
		uint32_t n = i == nworkers ? MAIN_TABLE : wslots;
		s->u = u;
		struct usage_table *a = table_new(u, s, n), *b = table_new(u, s, n);
		if (!a || !b) {
			table_free(a);
			table_free(b);
			goto nomem;
		}
		atomic_init(&s->cur, a);
		s->spare = b;
	}
	struct passwd *pw = geteuid() == 0 ? getpwnam(cfg->general.user) : NULL;
	if (pw) {
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
		u->owner_set = true;
	}
	time_t now = time(NULL);
	for (int p = 0; p < USAGE_NPERIODS; p++)
		period_begin(u, (enum usage_period_id)p, now);
	/* Empty state-directory: the totals start from zero at each start. */
	const char *sd = cfg->general.state_dir;
	if (sd && sd[0]) {
		if (asprintf(&u->state_path, "%s/usage.state", sd) < 0) {
			u->state_path = NULL;
			goto nomem;
		}
		usage_state_load(u, u->state_path);
	}
	u->writer = usage_writer_new(u->c);
	if (!u->writer)
		goto nomem;
	set_paths(u, cfg);
	u->open_limit.interval_ms = 3600 * 1000;
	u->open_limit.burst = 3;
	if (u->log_path) {
		prepare_log(u);
		open_log(u);	/* logged; retried every interval */
	}
	u->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	u->tick = ev_timer_new(ctx->loop, on_tick, u);
	if (u->kick_fd < 0 || !u->tick ||
	    evloop_add_fd(ctx->loop, u->kick_fd, EPOLLIN, on_kick, u) != 0 ||
	    evloop_add_signal(ctx->loop, SIGHUP, on_hup, u) != 0)
		goto nomem;
	arm_tick(u);
	char mem[32];
	usage_human(((size_t)hh_memory(u->p[0].hh6) + hh_memory(u->p[0].hh4)) * USAGE_NPERIODS +
		    (size_t)nworkers * 2 * wslots * (sizeof(struct usage_cell) + sizeof(uint32_t)),
		    mem, sizeof(mem));
	log_info("usage: %u client prefixes tracked per period, every %llus to %s (%s)",
		 u->capacity6, (unsigned long long)u->interval_s,
		 u->log_path ? u->log_path : "no log", mem);
	return u;
nomem:
	log_err("usage: out of memory for %u prefixes ([stats] top-prefixes)",
		cfg->stats.top_prefixes);
	nat64_usage_free(u);
	return NULL;
}

int nat64_usage_run(struct nat64_usage *u)
{
	return u && u->on ? usage_writer_start(u->writer) : 0;
}

struct nat64_usage_slot *nat64_usage_slot(struct nat64_usage *u, unsigned i)
{
	return u && u->on && i < u->nslots ? &u->slots[i] : NULL;
}

void nat64_usage_reload(struct nat64_usage *u, const struct sixfour_config *cfg)
{
	if (!u || !u->on)
		return;
	take_live(u, cfg);
	uint64_t interval_s = MAX(cfg->stats.interval_ms / 1000, (uint64_t)1);
	if (interval_s != u->interval_s) {
		/* The running interval ends at the new length's next boundary. */
		struct usage_period *iv = &u->p[USAGE_INTERVAL];
		time_t start, end;
		char label[24];
		u->interval_s = interval_s;
		usage_period_bounds(USAGE_INTERVAL, time(NULL), interval_s, &start, &end, label,
				    sizeof(label));
		iv->end = end;
		arm_tick(u);
	}
	const char *want = cfg->stats.usage_log && cfg->stats.usage_log[0] ? cfg->stats.usage_log
									   : NULL;
	if ((want == NULL) != (u->log_path == NULL) || (want && strcmp(want, u->log_path))) {
		set_paths(u, cfg);
		u->log_ok = false;
		if (u->log_path)
			open_log(u);	/* logs why when it cannot */
		else
			usage_writer_set_log(u->writer, -1);
	}
	check_quota(u, time(NULL));
}

void nat64_usage_free(struct nat64_usage *u)
{
	if (!u)
		return;
	if (u->on && u->tick) {
		/* Workers have stopped: what they counted is folded, the
		 * interval so far logged, the state written. */
		usage_flush(u, STOP_WAIT_MS);
		time_t now = time(NULL);
		close_interval(u, now);
		write_state(u, now);
	}
	evloop_close_fd(u->ctx->loop, &u->kick_fd);
	ev_timer_free(u->tick);
	usage_writer_free(u->writer);
	if (u->pending) {
		/* A reader still holds the publish domain: the retired tables
		 * would fold into freed memory. Keep everything. */
		log_warn("usage: %u tables still retired at exit; not freed", u->pending);
		return;
	}
	for (unsigned i = 0; u->slots && i < u->nslots; i++) {
		table_free(atomic_load(&u->slots[i].cur));
		table_free(u->slots[i].spare);
	}
	free(u->slots);
	for (int p = 0; p < USAGE_NPERIODS; p++) {
		hh_free(u->p[p].hh6);
		hh_free(u->p[p].hh4);
	}
	free(u->log_path);
	free(u->state_path);
	free(u);
}
