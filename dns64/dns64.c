/* Subsystem glue: start (sockets on port 53, libunbound contexts), reload
 * (policy swapped in place; resolver and socket changes need a restart),
 * stop, and the control commands `dns` and `flush` (`export bind|unbound`
 * is the health subsystem's: it runs in every role). */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/publish.h"
#include "dns64/cache.h"
#include "dns64/dns64.h"
#include "dns64/dns64_int.h"
#include "dns64/resolver.h"

/* Swaps in a new policy version; the old one is freed once no worker can
 * still hold it (common/publish.h). */
static int apply_policy(struct dns64 *d, const struct sixfour_config *cfg)
{
	struct dns64_conf *c = dns64_conf_new(cfg, d->random_secret);
	if (!c)
		return -ENOMEM;
	struct dns64_conf *old = atomic_exchange_explicit(&d->conf, c, memory_order_seq_cst);
	publish_retire(d->publish, old, dns64_conf_free);
	return 0;
}

/* `[general] workers`, 0 = one per CPU. */
static unsigned worker_count(const struct sixfour_config *cfg)
{
	if (cfg->general.workers)
		return cfg->general.workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* Resolutions in flight on every thread. */
static size_t pending(struct dns64 *d)
{
	size_t n = d->main_io ? atomic_load(&d->main_io->nreqs) : 0;
	for (size_t i = 0; i < d->nworkers; i++)
		n += atomic_load(&dns64_worker_io(d->workers[i])->nreqs);
	return n;
}

static void dns64_stop(void *state)
{
	struct dns64 *d = state;
	if (!d)
		return;
	/* Workers first: after the join nothing but this thread runs. */
	for (size_t i = 0; i < d->nworkers; i++)
		dns64_worker_free(d->workers[i]);
	d->nworkers = 0;
	free(d->workers);
	if (d->main_io) {
		dns64_engine_cancel_all(d->main_io);
		dns64_io_resolvers_free(d->main_io);
	}
	dns64_server_free(d->server);
	dns64_cache_free(d->cache);
	dns64_ratelimit_free(d->rl);
	/* Nothing reads it any more: the workers are joined. */
	dns64_conf_free(atomic_load(&d->conf));
	free(d->main_io);
	free(d);
}

static void *dns64_start(struct sixfour_ctx *ctx)
{
	const struct sixfour_config *cfg = ctx->cfg;
	struct dns64 *d = calloc(1, sizeof(*d));
	char err[256] = "";
	if (!d) {
		log_err("dns64: out of memory");
		return NULL;
	}
	d->loop = ctx->loop;
	d->prefixes = ctx->prefixes;
	d->publish = ctx->publish;
	d->main_io = calloc(1, sizeof(*d->main_io));
	if (!d->main_io) {
		log_err("dns64: out of memory");
		free(d);
		return NULL;
	}
	d->main_io->d = d;
	d->main_io->loop = ctx->loop;
	d->log_lim.interval_ms = 1000;
	d->log_lim.burst = 10;
	if (!cfg->dns64.enable) {
		log_info("dns64: disabled");
		return d;
	}
	d->enabled = true;
	/* One cookie secret for the daemon's life unless cookie-secret names
	 * one; a reload keeps it, so clients' cookies stay valid. */
	if (getrandom(d->random_secret, sizeof(d->random_secret), 0) != sizeof(d->random_secret)) {
		log_err("dns64: no randomness for the cookie secret");
		goto fail;
	}
	d->rl = dns64_ratelimit_new(DNS64_RL_ENTRIES);
	if (!d->rl || apply_policy(d, cfg) != 0) {
		log_err("dns64: out of memory");
		goto fail;
	}
	d->cache = dns64_cache_new(cfg->dns64.cache_size);
	if (!d->cache) {
		log_err("dns64: cannot allocate the answer cache");
		goto fail;
	}
	d->nthreads = worker_count(cfg) + 1;
	/* The main thread resolves for TCP. */
	if (dns64_io_resolvers(d->main_io, cfg, err, sizeof(err)) != 0) {
		log_err("dns64: resolver: %s", err);
		goto fail;
	}
	if (!dns64_server_new(d, cfg, err, sizeof(err))) {
		log_err("dns64: %s", err);
		goto fail;
	}
	/* Sockets now (port 53 needs privileges), threads in run. */
	unsigned nw = worker_count(cfg);
	d->workers = calloc(nw, sizeof(*d->workers));
	if (!d->workers) {
		log_err("dns64: out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < nw; i++) {
		d->workers[i] = dns64_worker_new(d, i, cfg, err, sizeof(err));
		if (!d->workers[i]) {
			log_err("dns64: %s", err);
			goto fail;
		}
		d->nworkers++;
	}
	log_info("dns64: serving on %zu address(es) with %u worker(s), DNSSEC validation %s",
		 cfg->dns64.listen.n, nw,
		 dns64_resolver_validates(d->main_io->res) ? "on" : "off (no trust anchor)");
	return d;
fail:
	dns64_stop(d);
	return NULL;
}

/* `sixfourd -n` (state NULL) and the first phase of a reload: the
 * libunbound options must be accepted, and a running instance refuses
 * changes that need new sockets or a new libunbound context. */
static int dns64_check(void *state, const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct dns64 *d = state;
	if (cfg->dns64.enable) {
		int rc = dns64_conf_check(cfg, err, errlen);
		if (rc == 0)
			rc = dns64_resolver_check(cfg, err, errlen);
		if (rc)
			return rc;
	}
	if (!d)
		return 0;
	if (cfg->dns64.enable != d->enabled) {
		snprintf(err, errlen, "[dns64] enable changes need a restart");
		return -EINVAL;
	}
	/* Keys that need new sockets or a new libunbound context are refused
	 * by their `reload` class (config_restart_changes in sixfourd). */
	return 0;
}

static int dns64_run(void *state)
{
	struct dns64 *d = state;
	for (size_t i = 0; i < d->nworkers; i++) {
		int rc = dns64_worker_start(d->workers[i]);
		if (rc != 0) {
			log_err("dns64: cannot start worker %zu: %s", i, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int dns64_reload(void *state, const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct dns64 *d = state;
	if (!d->enabled)
		return 0;
	if (apply_policy(d, cfg) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* exclude, mapped and max-synthesized change answers: start clean. */
	dns64_cache_flush(d->cache);
	return 0;
}

/* --- control commands --- */

/* Control commands get the state dns64_start() returned. */
static struct dns64 *running(void *ctx, struct ctl_out *out)
{
	struct dns64 *d = ctx;
	if (!d || !d->enabled) {
		ctl_printf(out, "dns64 is not running\n");
		return NULL;
	}
	return d;
}

static const struct counter_desc event_desc[] = { DNS64_COUNTERS(COUNTER_DESC) };
#define WIRE_DESC(id, name) { name, "malformed queries: " name },
static const struct counter_desc wire_desc[] = { DNS_WIRE_ERRORS(WIRE_DESC) };
#undef WIRE_DESC

enum dns64_gauge { G_workers, G_pending, G_tcp_connections, G_cache_entries, G_cache_bytes,
		   G_cache_max_bytes, G__COUNT };
static const struct counter_desc gauge_desc[] = {
	{ "workers", "DNS64 worker threads" },
	{ "pending", "resolutions in flight" },
	{ "tcp_connections", "open TCP connections" },
	{ "cache_entries", "answers in the cache" },
	{ "cache_bytes", "memory used by the cache" },
	{ "cache_max_bytes", "the cache's budget (cache-size)" },
};
enum dns64_cache_total { T_inserts, T_evictions, T_expired, T_stale_prefix,
			 T_rl_evictions, T__COUNT };
static const struct counter_desc cache_desc[] = {
	{ "inserts", "answers stored in the cache" },
	{ "evictions", "answers evicted for room" },
	{ "expired", "answers dropped when their TTL ran out" },
	{ "stale_prefix", "answers dropped after a prefix set change" },
	{ "ratelimit_evictions", "rate-limit entries pushed out while still in debt" },
};

/* Per-worker UDP query counts, named by index (label worker="N"). */
#define MAX_WORKER_ROWS 64
static const struct counter_desc *worker_desc(void)
{
	static struct counter_desc rows[MAX_WORKER_ROWS];
	static char names[MAX_WORKER_ROWS][4];
	if (!rows[0].name)
		for (unsigned i = 0; i < MAX_WORKER_ROWS; i++) {
			snprintf(names[i], sizeof(names[i]), "%u", i);
			rows[i].name = names[i];
			rows[i].help = "UDP queries received by this worker";
		}
	return rows;
}

/* Everything `dns stats` and the metrics show, summed over the threads. */
struct dns64_snapshot {
	uint64_t events[DNS64_C_COUNT];
	uint64_t wire[DNS_E_COUNT];
	uint64_t gauges[G__COUNT];
	uint64_t cache[T__COUNT];
	uint64_t workers[MAX_WORKER_ROWS];
};

static void snapshot(struct dns64 *d, struct dns64_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	counters_sum(s->events, d->main_io->counters, DNS64_C_COUNT);
	counters_sum(s->wire, d->main_io->wire_errors, DNS_E_COUNT);
	for (size_t i = 0; i < d->nworkers; i++) {
		struct dns64_io *io = dns64_worker_io(d->workers[i]);
		counters_sum(s->events, io->counters, DNS64_C_COUNT);
		counters_sum(s->wire, io->wire_errors, DNS_E_COUNT);
		if (i < MAX_WORKER_ROWS)
			s->workers[i] = counter_get(&io->counters[DNS64_C_queries_udp]);
	}
	struct dns64_cache_stats cs;
	dns64_cache_stats(d->cache, &cs);
	s->gauges[G_workers] = d->nworkers;
	s->gauges[G_pending] = pending(d);
	s->gauges[G_tcp_connections] = dns64_server_tcp_count(d->server);
	s->gauges[G_cache_entries] = cs.entries;
	s->gauges[G_cache_bytes] = cs.bytes;
	s->gauges[G_cache_max_bytes] = cs.max_bytes;
	s->cache[T_inserts] = cs.inserts;
	s->cache[T_evictions] = cs.evictions;
	s->cache[T_expired] = cs.expired;
	s->cache[T_stale_prefix] = cs.stale_prefix;
	s->cache[T_rl_evictions] = dns64_ratelimit_evictions(d->rl);
}

static void emit_stats(struct dns64 *d, struct ctl_out *out, enum counters_format fmt)
{
	struct dns64_snapshot s;
	snapshot(d, &s);
	const struct counter_group groups[] = {
		{ .key = "events", .metric = "dns64_events", .label = "kind",
		  .help = "DNS64 queries, answers and drops by kind.", .desc = event_desc,
		  .n = DNS64_C_COUNT, .values = s.events },
		/* Index 0 is "ok", not an error. */
		{ .key = "malformed", .metric = "dns64_malformed", .label = "reason",
		  .help = "Malformed queries by reason.", .desc = wire_desc + 1,
		  .n = DNS_E_COUNT - 1, .values = s.wire + 1 },
		{ .key = "tables", .metric = "dns64_table", .help = "DNS64 cache and rate-limit table events.",
		  .desc = cache_desc, .n = T__COUNT, .values = s.cache },
		{ .key = "state", .metric = "dns64", .kind = COUNTER_GAUGE,
		  .help = "DNS64 state.", .desc = gauge_desc, .n = G__COUNT, .values = s.gauges },
		{ .key = "worker_queries_udp", .metric = "dns64_worker_queries", .label = "worker",
		  .help = "UDP queries by worker thread.", .desc = worker_desc(),
		  .n = MIN(d->nworkers, (size_t)MAX_WORKER_ROWS), .values = s.workers },
	};
	bool first = true;
	if (fmt == COUNTERS_JSON)
		ctl_printf(out, "{");
	counters_emit(out, fmt, groups, ARRAY_SIZE(groups), &first);
	if (fmt == COUNTERS_JSON)
		ctl_printf(out, "}\n");
}

static int flush(struct dns64 *d, struct ctl_out *out)
{
	struct dns64_cache_stats cs;
	dns64_cache_stats(d->cache, &cs);
	dns64_cache_flush(d->cache);
	if (out->json)
		ctl_printf(out, "{\"flushed\":%llu}\n", (unsigned long long)cs.entries);
	else
		ctl_printf(out, "flushed %llu cached answers\n", (unsigned long long)cs.entries);
	return 0;
}

static int cmd_dns(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	struct dns64 *d = running(ctx, out);
	if (!d)
		return 1;
	const char *sub = argc > 1 ? argv[1] : "stats";
	if (strcmp(sub, "stats") == 0) {
		emit_stats(d, out, counters_format_of(out));
		return 0;
	}
	if (strcmp(sub, "flush") == 0)
		return flush(d, out);
	if (strcmp(sub, "cache") == 0) {
		struct dns64_snapshot sn;
		snapshot(d, &sn);
		struct dns64_cache_stats cs = { .entries = sn.gauges[G_cache_entries],
			.bytes = sn.gauges[G_cache_bytes], .max_bytes = sn.gauges[G_cache_max_bytes],
			.hits = sn.events[DNS64_C_cache_hits], .misses = sn.events[DNS64_C_cache_misses] };
		if (out->json)
			ctl_printf(out, "{\"entries\":%llu,\"bytes\":%llu,\"max_bytes\":%llu,"
				   "\"hits\":%llu,\"misses\":%llu}\n",
				   (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
				   (unsigned long long)cs.max_bytes, (unsigned long long)cs.hits,
				   (unsigned long long)cs.misses);
		else
			ctl_printf(out, "entries %llu, %llu of %llu bytes, hits %llu, misses %llu\n",
				   (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
				   (unsigned long long)cs.max_bytes, (unsigned long long)cs.hits,
				   (unsigned long long)cs.misses);
		return 0;
	}
	ctl_printf(out, "usage: dns [stats|flush|cache]\n");
	return 2;
}

static int cmd_flush(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	/* `flush sessions` and the like belong to other subsystems. */
	if (argc > 2 || (argc > 1 && strcmp(argv[1], "cache") != 0 && strcmp(argv[1], "dns") != 0))
		return CTL_PASS;
	struct dns64 *d = running(ctx, out);
	return d ? flush(d, out) : 1;
}

/* The metrics endpoint: the same groups in the Prometheus format. */
static void dns64_metrics(void *state, struct ctl_out *out)
{
	struct dns64 *d = state;
	if (!d || !d->enabled)
		return;
	emit_stats(d, out, COUNTERS_PROMETHEUS);
}

static const struct ctl_command dns64_commands[] = {
	{ "dns", "[stats|flush|cache]", "DNS64 counters, cache flush, cache size", cmd_dns },
	{ "flush", "[cache]", "empty the DNS64 answer cache (flush alone: the cache)", cmd_flush },
	{ NULL, NULL, NULL, NULL },
};

const struct subsys_ops dns64_subsys = { SUBSYS_OPS(dns64), .run = dns64_run, .caps = 0 };
