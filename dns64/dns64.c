/* Subsystem glue: start (sockets on port 53, libunbound contexts), reload
 * (policy swapped in place; resolver and socket changes need a restart),
 * stop, and the control commands `dns`, `flush` and `export`. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "dns64/cache.h"
#include "dns64/dns64.h"
#include "dns64/dns64_int.h"
#include "dns64/resolver.h"

static int copy_cidrs(const struct cidr_list *l, struct cidr **out, size_t *n)
{
	struct cidr *v = NULL;
	if (l->n) {
		v = calloc(l->n, sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, l->v, l->n * sizeof(*v));
	}
	free(*out);
	*out = v;
	*n = l->n;
	return 0;
}

static int apply_policy(struct dns64 *d, const struct sixfour_config *cfg)
{
	if (copy_cidrs(&cfg->dns64.exclude, &d->exclude, &d->nexclude) ||
	    copy_cidrs(&cfg->dns64.mapped, &d->mapped, &d->nmapped) ||
	    copy_cidrs(&cfg->dns64.allow, &d->allow, &d->nallow))
		return -ENOMEM;
	d->max_synthesized = cfg->dns64.max_synthesized;
	d->edns_size = cfg->dns64.edns_size;
	d->query_timeout_ms = cfg->dns64.query_timeout_ms;
	d->tcp_idle_ms = cfg->dns64.tcp_idle_ms;
	d->tcp_max_connections = cfg->dns64.tcp_max_connections;
	dns64_ratelimit_free(d->rl);
	d->rl = dns64_ratelimit_new(cfg->ratelimit.dns_qps, cfg->ratelimit.dns_burst,
				    cfg->ratelimit.v6_prefix_len, cfg->ratelimit.v4_prefix_len);
	if (cfg->ratelimit.dns_qps && !d->rl)
		return -ENOMEM;
	return 0;
}

/* What the sockets and libunbound are built from, as one string: these
 * options need a restart, so a reload that changes them is refused. */
static void restart_key(const struct sixfour_config *cfg, char *buf, size_t size)
{
	size_t o = 0;
#define ADD(...) do { \
	int n_ = snprintf(buf + o, o < size ? size - o : 0, __VA_ARGS__); \
	if (n_ > 0) \
		o += (size_t)n_; \
} while (0)
	char ep[INET6_ADDRSTRLEN + 16];
	for (size_t i = 0; i < cfg->dns64.listen.n; i++) {
		endpoint_format(&cfg->dns64.listen.v[i], ep, sizeof(ep));
		ADD("listen=%s;", ep);
	}
	for (size_t i = 0; i < cfg->dns64.forward.n; i++) {
		endpoint_format(&cfg->dns64.forward.v[i], ep, sizeof(ep));
		ADD("forward=%s;", ep);
	}
	ADD("root-hints=%s;trust-anchor=%s;", cfg->dns64.root_hints ? cfg->dns64.root_hints : "",
	    cfg->dns64.trust_anchor ? cfg->dns64.trust_anchor : "");
	for (size_t i = 0; i < cfg->dns64.unbound_options.n; i++)
		ADD("unbound-option=%s;", cfg->dns64.unbound_options.v[i]);
	ADD("cache-size=%llu;", (unsigned long long)cfg->dns64.cache_size);
#undef ADD
	if (o >= size && size)
		buf[size - 1] = '\0';
}

static void dns64_stop(void *state)
{
	struct dns64 *d = state;
	if (!d)
		return;
	dns64_engine_cancel_all(d);
	dns64_server_free(d->server);
	dns64_resolver_free(d->res);
	dns64_resolver_free(d->res_cd);
	dns64_cache_free(d->cache);
	dns64_ratelimit_free(d->rl);
	free(d->exclude);
	free(d->mapped);
	free(d->allow);
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
	d->log_lim.interval_ms = 1000;
	d->log_lim.burst = 10;
	if (!cfg->dns64.enable) {
		log_info("dns64: disabled");
		return d;
	}
	d->enabled = true;
	restart_key(cfg, d->restart_key, sizeof(d->restart_key));
	if (apply_policy(d, cfg) != 0) {
		log_err("dns64: out of memory");
		goto fail;
	}
	d->cache = dns64_cache_new(cfg->dns64.cache_size);
	if (!d->cache) {
		log_err("dns64: cannot allocate the answer cache");
		goto fail;
	}
	d->res = dns64_resolver_new(d->loop, cfg, true, err, sizeof(err));
	if (!d->res) {
		log_err("dns64: resolver: %s", err);
		goto fail;
	}
	/* CD=1 queries need data the validator would withhold: a second
	 * context without it, only when validation is on at all. */
	if (dns64_resolver_validates(d->res)) {
		d->res_cd = dns64_resolver_new(d->loop, cfg, false, err, sizeof(err));
		if (!d->res_cd) {
			log_err("dns64: resolver (CD): %s", err);
			goto fail;
		}
	}
	if (!dns64_server_new(d, cfg, err, sizeof(err))) {
		log_err("dns64: %s", err);
		goto fail;
	}
	log_info("dns64: serving on %zu address(es), DNSSEC validation %s", cfg->dns64.listen.n,
		 dns64_resolver_validates(d->res) ? "on" : "off (no trust anchor)");
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
	if (!d->enabled)
		return 0;
	char key[sizeof(d->restart_key)];
	restart_key(cfg, key, sizeof(key));
	if (strcmp(key, d->restart_key) != 0) {
		snprintf(err, errlen, "[dns64] listen, forward, root-hints, trust-anchor, "
			 "unbound-option and cache-size changes need a restart");
		return -EINVAL;
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
		KV(dns64_counter_name(i), d->counters[i]);
	for (unsigned i = 1; i < DNS_E_COUNT; i++) {
		char n[64];
		snprintf(n, sizeof(n), "malformed_%s", dns_wire_err_name(i));
		KV(n, d->wire_errors[i]);
	}
	KV("pending", d->nreqs);
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
		dns64_policy_get(d, &pol);
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
			   dns64_counter_name(i), (unsigned long long)d->counters[i]);
	ctl_printf(out, "# HELP sixfour_dns64_malformed_total Malformed queries by reason.\n"
		   "# TYPE sixfour_dns64_malformed_total counter\n");
	for (unsigned i = 1; i < DNS_E_COUNT; i++)
		ctl_printf(out, "sixfour_dns64_malformed_total{reason=\"%s\"} %llu\n",
			   dns_wire_err_name(i), (unsigned long long)d->wire_errors[i]);
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
		   (unsigned long long)cs.entries, (unsigned long long)cs.bytes, d->nreqs,
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
	.run = NULL,
	.check = dns64_check,
	.reload = dns64_reload,
	.stop = dns64_stop,
	.commands = dns64_commands,
	.caps = 0,
	.metrics = dns64_metrics,
};
