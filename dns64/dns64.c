/* Subsystem glue: start (sockets on port 53, libunbound contexts), reload
 * (policy swapped in place; resolver and socket changes need a restart),
 * stop, and the control commands `dns`, `flush` and `export`. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "dns64/cache.h"
#include "dns64/dns64.h"
#include "dns64/dns64_int.h"
#include "dns64/resolver.h"

static int copy_cidrs(const struct cidr_list *l, struct cidr **out, size_t *n)
{
	*out = NULL;
	*n = l->n;
	if (!l->n)
		return 0;
	*out = calloc(l->n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, l->v, l->n * sizeof(**out));
	return 0;
}

static void conf_free(struct dns64_conf *c)
{
	if (!c)
		return;
	free(c->exclude);
	free(c->mapped);
	free(c->allow);
	dns64_ratelimit_free(c->rl);
	free(c);
}

/* A new immutable policy version from `cfg` (rate-limit state starts
 * fresh, as it did before workers). */
static struct dns64_conf *conf_new(const struct sixfour_config *cfg)
{
	struct dns64_conf *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (copy_cidrs(&cfg->dns64.exclude, &c->exclude, &c->nexclude) ||
	    copy_cidrs(&cfg->dns64.mapped, &c->mapped, &c->nmapped) ||
	    copy_cidrs(&cfg->dns64.allow, &c->allow, &c->nallow))
		goto fail;
	c->max_synthesized = cfg->dns64.max_synthesized;
	c->edns_size = cfg->dns64.edns_size;
	c->query_timeout_ms = cfg->dns64.query_timeout_ms;
	c->rl = dns64_ratelimit_new(cfg->ratelimit.dns_qps, cfg->ratelimit.dns_burst,
				    cfg->ratelimit.v6_prefix_len, cfg->ratelimit.v4_prefix_len);
	if (cfg->ratelimit.dns_qps && !c->rl)
		goto fail;
	return c;
fail:
	conf_free(c);
	return NULL;
}

/* Swaps in a new conf and frees the old one once no worker can hold it. */
static int apply_policy(struct dns64 *d, const struct sixfour_config *cfg)
{
	struct dns64_conf *c = conf_new(cfg);
	if (!c)
		return -ENOMEM;
	struct dns64_conf *old = atomic_exchange_explicit(&d->conf, c, memory_order_seq_cst);
	if (old && !dns64_workers_quiesce(d)) {
		log_warn("dns64: keeping the previous policy's memory (a worker is busy)");
		old = NULL;
	}
	conf_free(old);
	d->tcp_idle_ms = cfg->dns64.tcp_idle_ms;
	d->tcp_max_connections = cfg->dns64.tcp_max_connections;
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

uint64_t dns64_counter_total(struct dns64 *d, enum dns64_counter c)
{
	uint64_t sum = 0;
	if (d->main_io)
		sum = atomic_load_explicit(&d->main_io->counters[c], memory_order_relaxed);
	for (size_t i = 0; i < d->nworkers; i++)
		sum += atomic_load_explicit(&dns64_worker_io(d->workers[i])->counters[c],
					    memory_order_relaxed);
	return sum;
}

/* Resolutions in flight on every thread. */
static size_t pending(struct dns64 *d)
{
	size_t n = d->main_io ? atomic_load(&d->main_io->nreqs) : 0;
	for (size_t i = 0; i < d->nworkers; i++)
		n += atomic_load(&dns64_worker_io(d->workers[i])->nreqs);
	return n;
}

uint64_t dns64_wire_error_total(struct dns64 *d, enum dns_wire_err e)
{
	uint64_t sum = 0;
	if (d->main_io)
		sum = atomic_load_explicit(&d->main_io->wire_errors[e], memory_order_relaxed);
	for (size_t i = 0; i < d->nworkers; i++)
		sum += atomic_load_explicit(&dns64_worker_io(d->workers[i])->wire_errors[e],
					    memory_order_relaxed);
	return sum;
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
	conf_free(atomic_load(&d->conf));
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
	if (apply_policy(d, cfg) != 0) {
		log_err("dns64: out of memory");
		goto fail;
	}
	d->cache = dns64_cache_new(cfg->dns64.cache_size);
	if (!d->cache) {
		log_err("dns64: cannot allocate the answer cache");
		goto fail;
	}
	d->nthreads = worker_count(cfg) + 1;
	/* The main thread resolves for TCP (and, in shared mode, for the
	 * workers' misses). */
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
		int rc = dns64_resolver_check(cfg, err, errlen);
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

static void print_stats(struct dns64 *d, struct ctl_out *out)
{
	struct dns64_cache_stats cs;
	dns64_cache_stats(d->cache, &cs);
	const char *sep = "";
	if (out->json)
		ctl_printf(out, "{");
#define KV(name, val) do { \
	if (out->json) \
		ctl_printf(out, "%s\"%s\":%llu", sep, (name), (unsigned long long)(val)); \
	else \
		ctl_printf(out, "%-28s %llu\n", (name), (unsigned long long)(val)); \
	sep = ","; \
} while (0)
	for (unsigned i = 0; i < DNS64_C_COUNT; i++)
		KV(dns64_counter_name(i), dns64_counter_total(d, i));
	for (unsigned i = 1; i < DNS_E_COUNT; i++) {
		char n[64];
		snprintf(n, sizeof(n), "malformed_%s", dns_wire_err_name(i));
		KV(n, dns64_wire_error_total(d, i));
	}
	KV("workers", d->nworkers);
	for (size_t w = 0; w < d->nworkers; w++) {
		/* Per worker, to see how SO_REUSEPORT spreads the load. */
		char n[64];
		snprintf(n, sizeof(n), "worker%zu_queries_udp", w);
		KV(n, atomic_load_explicit(&dns64_worker_io(d->workers[w])->
					   counters[DNS64_C_queries_udp], memory_order_relaxed));
	}
	KV("pending", pending(d));
	KV("tcp_connections", dns64_server_tcp_count(d->server));
	KV("cache_entries", cs.entries);
	KV("cache_bytes", cs.bytes);
	KV("cache_max_bytes", cs.max_bytes);
	KV("cache_evictions", cs.evictions);
	KV("cache_expired", cs.expired);
	KV("cache_stale_prefix", cs.stale_prefix);
#undef KV
	if (out->json)
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
		print_stats(d, out);
		return 0;
	}
	if (strcmp(sub, "flush") == 0)
		return flush(d, out);
	if (strcmp(sub, "cache") == 0) {
		struct dns64_cache_stats cs;
		dns64_cache_stats(d->cache, &cs);
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

static int cmd_export(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	if (argc != 2 || (strcmp(argv[1], "bind") != 0 && strcmp(argv[1], "unbound") != 0))
		return CTL_PASS;	/* e.g. `export radvd` is the hints subsystem's */
	struct dns64 *d = ctx;
	struct dns64_policy pol = { 0 };
	if (d && d->enabled)
		dns64_policy_get(dns64_conf_get(d), &pol);
	const struct prefix_set *set = d ? prefix_pub_current(d->prefixes) : NULL;
	if (dns64_export(set, &pol, argv[1], out) != 0) {
		ctl_printf(out, "unknown format %s; use bind or unbound\n", argv[1]);
		return 2;
	}
	return 0;
}

/* Prometheus text: every counter with a reason label where it has one. */
static void dns64_metrics(void *state, struct ctl_out *out)
{
	struct dns64 *d = state;
	if (!d || !d->enabled)
		return;
	ctl_printf(out, "# HELP sixfour_dns64_events_total DNS64 queries, answers and drops by kind.\n"
		   "# TYPE sixfour_dns64_events_total counter\n");
	for (unsigned i = 0; i < DNS64_C_COUNT; i++)
		ctl_printf(out, "sixfour_dns64_events_total{kind=\"%s\"} %llu\n",
			   dns64_counter_name(i), (unsigned long long)dns64_counter_total(d, i));
	ctl_printf(out, "# HELP sixfour_dns64_malformed_total Malformed queries by reason.\n"
		   "# TYPE sixfour_dns64_malformed_total counter\n");
	for (unsigned i = 1; i < DNS_E_COUNT; i++)
		ctl_printf(out, "sixfour_dns64_malformed_total{reason=\"%s\"} %llu\n",
			   dns_wire_err_name(i), (unsigned long long)dns64_wire_error_total(d, i));
	ctl_printf(out, "# HELP sixfour_dns64_worker_queries_total UDP queries by worker thread.\n"
		   "# TYPE sixfour_dns64_worker_queries_total counter\n");
	for (size_t w = 0; w < d->nworkers; w++)
		ctl_printf(out, "sixfour_dns64_worker_queries_total{worker=\"%zu\"} %llu\n", w,
			   (unsigned long long)atomic_load_explicit(
				   &dns64_worker_io(d->workers[w])->counters[DNS64_C_queries_udp],
				   memory_order_relaxed));
	struct dns64_cache_stats cs;
	dns64_cache_stats(d->cache, &cs);
	ctl_printf(out, "# HELP sixfour_dns64_cache_entries Answers in the cache.\n"
		   "# TYPE sixfour_dns64_cache_entries gauge\n"
		   "sixfour_dns64_cache_entries %llu\n"
		   "# HELP sixfour_dns64_cache_bytes Memory used by the cache.\n"
		   "# TYPE sixfour_dns64_cache_bytes gauge\n"
		   "sixfour_dns64_cache_bytes %llu\n"
		   "# HELP sixfour_dns64_pending Resolutions in flight.\n"
		   "# TYPE sixfour_dns64_pending gauge\n"
		   "sixfour_dns64_pending %zu\n"
		   "# HELP sixfour_dns64_tcp_connections Open TCP connections.\n"
		   "# TYPE sixfour_dns64_tcp_connections gauge\n"
		   "sixfour_dns64_tcp_connections %zu\n",
		   (unsigned long long)cs.entries, (unsigned long long)cs.bytes, pending(d),
		   dns64_server_tcp_count(d->server));
}

static const struct ctl_command dns64_commands[] = {
	{ "dns", "[stats|flush|cache]", "DNS64 counters, cache flush, cache size", cmd_dns },
	{ "flush", "[cache]", "empty the DNS64 answer cache (flush alone: the cache)", cmd_flush },
	{ "export", "bind|unbound", "DNS64 configuration for another resolver", cmd_export },
	{ NULL, NULL, NULL, NULL },
};

const struct subsys_ops dns64_subsys = {
	.name = "dns64",
	.start = dns64_start,
	.run = dns64_run,
	.check = dns64_check,
	.reload = dns64_reload,
	.stop = dns64_stop,
	.commands = dns64_commands,
	.caps = 0,
	.metrics = dns64_metrics,
};
