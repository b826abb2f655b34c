/* The translator subsystem: start-up (TUN, routes, rules, nftables while
 * privileged), workers, reload, tear-down, and its control commands
 * `nat64 stats|sessions|flush`. The packet path is in path.c. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/config.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/publish.h"
#include "common/rfc6052.h"
#include "nat64/bwlimit.h"
#include "nat64/frag.h"
#include "nat64/handoff_glue.h"
#include "nat64/nat64.h"
#include "nat64/nat64_priv.h"
#include "nat64/netlink.h"
#include "nat64/nft.h"
#include "nat64/pool4.h"
#include "nat64/netadmin.h"
#include "nat64/session.h"
#include "nat64/session_handoff.h"
#include "nat64/tun.h"
#include "nat64/usage.h"

/* Default pool4 when [nat64] pool4 is empty: the host's own addresses,
 * above the kernel's default ephemeral range (32768-60999). */
#define DEFAULT_PORT_MIN NAT64_DEFAULT_PORT_MIN
#define DEFAULT_PORT_MAX NAT64_DEFAULT_PORT_MAX
#define SWEEP_MS 1000
#define MAX_ROUTES (CONFIG_MAX_PREFIXES + 64)

/* --- what needs CAP_NET_ADMIN goes through the helper (netadmin.h) --- */

/* Keeps the kernel from handing our shared ports to local sockets: the
 * helper adds them to ip_local_reserved_ports (and restores it at exit). */
static void reserve_ports(struct nat64 *n)
{
	if (n->nsteer == 0)
		return;
	int rc = nat64_netadmin_reserve(n->ctx->priv, n->steer, n->nsteer);
	if (rc)
		log_warn("nat64: reserving the shared ports: %s", strerror(-rc));
}

/* --- pool4 and what follows from it --- */

static bool addr_is_local(const struct in_addr *local, int nlocal, struct in_addr a)
{
	for (int i = 0; i < nlocal; i++)
		if (local[i].s_addr == a.s_addr)
			return true;
	return false;
}

/* Builds the pool from the config (or the host's addresses) and decides,
 * item by item, whether it is dedicated (routed to the TUN) or shared
 * (steered by nftables). */
static struct pool4 *build_pool(struct nat64 *n, const struct sixfour_config *cfg)
{
	struct in_addr local[32];
	int nlocal = nat64_nl_host_ipv4(n->nl, n->ifindex, local, ARRAY_SIZE(local));
	if (nlocal < 0) {
		log_err("nat64: reading the host's addresses: %s", strerror(-nlocal));
		return NULL;
	}
	struct pool4 *pool = pool4_new(0);
	if (!pool)
		return NULL;
	pool4_set_key(pool, n->pool_key);
	if (cfg->cluster.enable)
		pool4_set_share(pool, cfg->cluster.node - 1, cfg->cluster.nodes);
	n->nsteer = 0;
	const struct pool4_list *l = &cfg->nat64.pool4;
	if (l->n == 0) {
		for (int i = 0; i < nlocal && n->nsteer < NAT64_MAX_STEER; i++) {
			if (pool4_add(pool, local[i], 32, DEFAULT_PORT_MIN, DEFAULT_PORT_MAX) != 0)
				continue;
			n->steer[n->nsteer++] = (struct nat64_nft_steer){ local[i], DEFAULT_PORT_MIN,
									  DEFAULT_PORT_MAX };
		}
		if (n->nsteer == 0) {
			log_err("nat64: pool4 is empty and the host has no global IPv4 address");
			pool4_free(pool);
			return NULL;
		}
		return pool;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct pool4_range *r = &l->v[i];
		int rc = pool4_add(pool, r->addr, r->len, r->port_min, r->port_max);
		if (rc) {
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &r->addr, a, sizeof(a));
			log_err("nat64: pool4 %s/%u: %s", a, r->len, strerror(-rc));
			pool4_free(pool);
			return NULL;
		}
		if (r->len == 32 && addr_is_local(local, nlocal, r->addr) &&
		    n->nsteer < NAT64_MAX_STEER)
			n->steer[n->nsteer++] = (struct nat64_nft_steer){ r->addr, r->port_min,
									  r->port_max };
	}
	/* Handoff replies come to [handoff] port of a pool address: steer it
	 * in (and keep it from local sockets) where a shared range leaves it
	 * out (handoff_glue.h). */
	uint16_t hp = nat64_handoff_port(cfg);
	for (size_t s = 0, shared = n->nsteer; hp && s < shared && n->nsteer < NAT64_MAX_STEER; s++)
		if (hp < n->steer[s].port_min || hp > n->steer[s].port_max)
			n->steer[n->nsteer++] = (struct nat64_nft_steer){ n->steer[s].addr, hp, hp };
	return pool;
}

/* Routes: every translate-role prefix, and dedicated pool4 items (to the
 * TUN in the main table); in shared mode the steering table's default. */
static size_t wanted_routes(const struct nat64 *n, const struct sixfour_config *cfg,
			    struct nat64_route *r, struct cidr *notrack, size_t *nnotrack)
{
	size_t k = 0;
	*nnotrack = 0;
	for (size_t i = 0; i < cfg->nprefixes && k < MAX_ROUTES; i++)
		if (cfg->prefixes[i].translate) {
			r[k++] = (struct nat64_route){ cfg->prefixes[i].prefix, RT_TABLE_MAIN };
			notrack[(*nnotrack)++] = cfg->prefixes[i].prefix;
		}
	for (size_t i = 0; i < cfg->nat64.pool4.n && k < MAX_ROUTES; i++) {
		const struct pool4_range *p = &cfg->nat64.pool4.v[i];
		bool shared = false;
		for (size_t s = 0; s < n->nsteer; s++)
			shared |= n->steer[s].addr.s_addr == p->addr.s_addr;
		if (shared)
			continue;
		struct cidr c = { .family = AF_INET, .len = p->len, .addr.v4 = p->addr };
		r[k++] = (struct nat64_route){ c, RT_TABLE_MAIN };
		notrack[(*nnotrack)++] = c;
	}
	if (n->nsteer && k < MAX_ROUTES)
		r[k++] = (struct nat64_route){ { .family = AF_INET, .len = 0 }, NAT64_TABLE };
	return k;
}

static int apply_routing(struct nat64 *n, const struct sixfour_config *cfg)
{
	struct nat64_route routes[MAX_ROUTES];
	struct cidr notrack[MAX_ROUTES];
	size_t nnotrack;
	size_t nr = wanted_routes(n, cfg, routes, notrack, &nnotrack);
	int rc = nat64_netadmin_routes(n->ctx->priv, routes, nr);
	if (rc) {
		log_err("nat64: routes through %s: %s", n->dev, strerror(-rc));
		return rc;
	}
	if (n->nsteer) {
		rc = nat64_netadmin_rule(n->ctx->priv);
		if (rc) {
			log_err("nat64: steering policy rule: %s", strerror(-rc));
			return rc;
		}
	}
	rc = nat64_netadmin_nft(n->ctx->priv, n->steer, n->nsteer, notrack, nnotrack);
	if (rc)
		log_err("nat64: nftables table %s: %s", NAT64_NFT_TABLE, strerror(-rc));
	if (rc == 0)
		n->nft_installed = true;
	return rc;
}

/* The translator's own addresses for the errors it originates: the first
 * pool4 address, and that address under the first translate prefix. */
static void own_addresses(struct nat64 *n, const struct sixfour_config *cfg)
{
	uint16_t lo, hi;
	struct pool4 *pool = atomic_load(&n->pool);
	pool4_get(pool, 0, &n->xcfg.own_v4, &lo, &hi);
	for (size_t i = 0; i < cfg->nprefixes; i++) {
		const struct prefix_conf *p = &cfg->prefixes[i];
		if (p->translate && rfc6052_may_embed(&p->prefix.addr.v6, p->prefix.len,
						      n->xcfg.own_v4)) {
			rfc6052_embed(&p->prefix.addr.v6, p->prefix.len, n->xcfg.own_v4,
				      &n->xcfg.own_v6);
			return;
		}
	}
	/* Else the first translate prefix with host part ::1. */
	for (size_t i = 0; i < cfg->nprefixes; i++)
		if (cfg->prefixes[i].translate) {
			n->xcfg.own_v6 = cfg->prefixes[i].prefix.addr.v6;
			n->xcfg.own_v6.s6_addr[15] = 1;
			return;
		}
}

static void session_cfg_from(const struct sixfour_config *cfg, struct session_cfg *sc)
{
	*sc = (struct session_cfg){
		.max_sessions = cfg->nat64.max_sessions,
		.max_per_client = cfg->nat64.max_sessions_per_client,
		.max_ports_per_client = cfg->nat64.max_ports_per_client,
		.client_prefix_len = cfg->nat64.client_prefix_len,
		.filtering = cfg->nat64.filtering,
		.tcp_est_ms = cfg->nat64.tcp_est_timeout_ms,
		.tcp_trans_ms = cfg->nat64.tcp_trans_timeout_ms,
		.tcp_syn_wait_ms = cfg->nat64.tcp_syn_wait_ms,
		.udp_ms = cfg->nat64.udp_timeout_ms,
		.icmp_ms = cfg->nat64.icmp_timeout_ms,
	};
}

/* Settings the workers read per packet (a packet that sees the old value
 * is harmless): at start and on every reload. */
static void live_settings(struct nat64 *n, const struct sixfour_config *cfg)
{
	atomic_store(&n->reassemble_udp, cfg->nat64.reassemble_unchecksummed_udp);
	atomic_store(&n->icmp_rate, cfg->nat64.icmp_errors_per_second);
	atomic_store(&n->icmp_dst_rate, cfg->nat64.icmp_errors_per_destination);
}

/* --- events on the main loop --- */

static void on_sweep(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct nat64 *n = arg;
	session_expire(n->sessions, monotonic_ms(), nat64_syn_timeout, n);
	ev_timer_arm(t, SWEEP_MS);
}

static void pool_free_retired(void *p)
{
	pool4_free(p);
}

/* Host addresses changed: in shared mode the pool follows them. */
static void on_addr_event(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct nat64 *n = arg;
	if (!nat64_nl_events_read(n->nl) || n->nsteer == 0 ||
	    n->ctx->cfg->nat64.pool4.n != 0)
		return;
	struct nat64_nft_steer before[NAT64_MAX_STEER];
	size_t nbefore = n->nsteer;
	memcpy(before, n->steer, sizeof(before));
	struct pool4 *pool = build_pool(n, n->ctx->cfg);
	if (!pool) {
		/* No address now: keep the old pool until one comes back, and
		 * let health withdraw our prefixes meanwhile. */
		n->nsteer = nbefore;
		memcpy(n->steer, before, sizeof(before));
		sixfour_datapath_report(n->ctx, true, "no IPv4 address for pool4");
		return;
	}
	sixfour_datapath_report(n->ctx, false, NULL);
	if (n->nsteer == nbefore && memcmp(before, n->steer, nbefore * sizeof(before[0])) == 0) {
		pool4_free(pool);
		return;
	}
	/* Workers may still read the old pool: retire it (common/publish.h);
	 * the table marks its live mappings in the new one first. */
	session_table_set_pool(n->sessions, pool);
	publish_retire(n->ctx->publish, atomic_exchange(&n->pool, pool), pool_free_retired);
	own_addresses(n, n->ctx->cfg);
	reserve_ports(n);
	apply_routing(n, n->ctx->cfg);
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &n->steer[0].addr, a, sizeof(a));
	log_notice("nat64: host addresses changed; pool4 is now %s:%u-%u%s", a,
		   n->steer[0].port_min, n->steer[0].port_max, n->nsteer > 1 ? " and more" : "");
}

/* --- a cluster node's role (doc/cluster.md) --- */

/* The standby routes its translate prefixes via the active node (the
 * helper knows which and through what), so its own probes go there too. */
static void standby_routes(struct nat64 *n, bool on)
{
	if (n->ctx->cfg->cluster.virtual_address.family != AF_INET6)
		return;
	int rc = nat64_netadmin_standby(n->ctx->priv, on);
	if (rc)
		log_warn("nat64: %s the standby routes: %s", on ? "adding" : "removing",
			 strerror(-rc));
}

static void on_role(void *arg)
{
	struct nat64 *n = arg;
	if (n->ctx->role.role == SIXFOUR_ROLE_STANDBY) {
		/* First stop the workers translating, then empty the table. */
		atomic_store_explicit(&n->standby, true, memory_order_release);
		if (n->handoff)
			nat64_handoff_set_active(n->handoff, false);
		else
			session_flush(n->sessions);
		standby_routes(n, true);
		return;
	}
	standby_routes(n, false);
	nat64_handoff_set_active(n->handoff, true);
	atomic_store_explicit(&n->standby, false, memory_order_release);
}

/* --- subsystem --- */

static void nat64_stop(void *state);

static void *nat64_start(struct sixfour_ctx *ctx)
{
	const struct sixfour_config *cfg = ctx->cfg;
	struct nat64 *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	*n = (struct nat64){ .ctx = ctx, .ev_fd = -1 };
	for (unsigned i = 0; i < NAT64_MAX_WORKERS; i++)
		n->fds[i] = -1;
	bool any = false;
	for (size_t i = 0; i < cfg->nprefixes; i++)
		any |= cfg->prefixes[i].translate;
	if (!cfg->nat64.enable || !any) {
		log_info("nat64: %s", cfg->nat64.enable ? "no prefix has translate = yes; idle"
						       : "disabled");
		return n;
	}
	n->enabled = true;
	if (getrandom(&n->pool_key, sizeof(n->pool_key), 0) != (ssize_t)sizeof(n->pool_key))
		n->pool_key = monotonic_us();
	/* The key of before a restart, kept with the handoff sessions. */
	nat64_handoff_saved_key(cfg, &n->pool_key);
	strlcpy_ok(n->dev, cfg->nat64.device, sizeof(n->dev));
	n->mtu = cfg->nat64.mtu;
	live_settings(n, cfg);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	n->nworkers = cfg->general.workers ? cfg->general.workers : (unsigned)(ncpu > 0 ? ncpu : 1);
	if (n->nworkers > NAT64_MAX_WORKERS)
		n->nworkers = NAT64_MAX_WORKERS;

	struct tun_offload offl;
	bool offload = cfg->nat64.offload == NAT64_OFFLOAD_AUTO;
	int rc = tun_open(n->dev, n->nworkers, offload, n->fds, &offl);
	if (rc) {
		log_err("nat64: opening TUN %s: %s", n->dev, strerror(-rc));
		goto fail;
	}
	n->vnet_len = offl.vnet_len;
	n->offload_features = offl.features;
	n->batch_io = offload;
	n->nl = nat64_nl_open();
	if (!n->nl)
		goto fail;
	n->ifindex = nat64_netadmin_link(n->ctx->priv);
	if (n->ifindex < 0) {
		log_err("nat64: bringing %s up: %s", n->dev, strerror(-n->ifindex));
		goto fail;
	}
	struct pool4 *pool = build_pool(n, cfg);
	if (!pool)
		goto fail;
	atomic_store(&n->pool, pool);
	struct session_cfg sc;
	session_cfg_from(cfg, &sc);
	n->sessions = session_table_new(&sc, pool, 0, &rc);
	if (!n->sessions) {
		log_err("nat64: session table of %u entries: %s", sc.max_sessions, strerror(-rc));
		goto fail;
	}
	own_addresses(n, cfg);
	n->xcfg.ipv4_mtu = (uint16_t)MIN(n->mtu, 65535u);
	/* The TUN MTU: IPv6 routers behind it answer with Packet Too Big,
	 * which comes back translated (xlate.h); 1280 would clamp every
	 * IPv4 server to 1260. */
	n->xcfg.ipv6_mtu = (uint16_t)MIN(n->mtu, 65535u);
	reserve_ports(n);
	if (apply_routing(n, cfg) != 0)
		goto fail;
	/* Usage accounting and bandwidth limits: a slot per worker, and one
	 * for the main thread (the handoff glue's deliveries). */
	n->usage = nat64_usage_new(ctx, n->nworkers);
	n->bw = nat64_bw_new(ctx, cfg, n->nworkers, n->mtu);
	if (!n->usage || !n->bw)
		goto fail;
	n->workers = calloc(n->nworkers, sizeof(*n->workers));
	if (!n->workers)
		goto fail;
	for (unsigned i = 0; i < n->nworkers; i++) {
		struct nat64_worker *w = &n->workers[i];
		w->n = n;
		w->id = i;
		w->fd = n->fds[i];
		w->ipv4_id = (uint32_t)(monotonic_us() * 2654435761u) + i * 0x10000u;
		w->usage = nat64_usage_slot(n->usage, i);
		w->bw = nat64_bw_slot(n->bw, i);
		w->seg = malloc(NAT64_BUF_SIZE);
		w->out = malloc(NAT64_BUF_SIZE);
		w->out2 = malloc(NAT64_BUF_SIZE);
		/* Reassembly bounds per worker: [nat64] fragment-datagrams in
		 * progress, holding at most 8 MB between them. */
		w->frags = nat64_frag_new(cfg->nat64.frag_max_datagrams,
					  MIN((size_t)cfg->nat64.frag_max_datagrams * 65536,
					      (size_t)8 << 20),
					  (uint32_t)cfg->nat64.frag_timeout_ms);
		if (!w->seg || !w->out || !w->out2 || !w->frags)
			goto fail;
	}
	/* The handoff protocol (spec/handoff.md) rides on the table and TUN. */
	session_table_reserve_port(n->sessions, nat64_handoff_port(cfg));
	n->handoff = nat64_handoff_new(n, cfg);
	n->handoff_port = n->handoff ? nat64_handoff_port(cfg) : 0;
	if (cfg->cluster.enable) {
		/* A cluster node starts standby (the cluster subsystem ran first). */
		atomic_store(&n->standby, ctx->role.role == SIXFOUR_ROLE_STANDBY);
		if (ctx->role.role == SIXFOUR_ROLE_STANDBY)
			standby_routes(n, true);
		sixfour_watch_role(ctx, on_role, n);
	}
	n->sweep = ev_timer_new(ctx->loop, on_sweep, n);
	if (!n->sweep)
		goto fail;
	ev_timer_arm(n->sweep, SWEEP_MS);
	n->ev_fd = nat64_nl_events_fd(n->nl);
	if (n->ev_fd >= 0)
		evloop_add_fd(ctx->loop, n->ev_fd, EPOLLIN, on_addr_event, n);
	char a[INET_ADDRSTRLEN], o[64];
	inet_ntop(AF_INET, &n->xcfg.own_v4, a, sizeof(a));
	tun_offload_name(n->offload_features, o, sizeof(o));
	log_notice("nat64: %s up (MTU %u, %u queue%s, offloads %s), pool4 %s%s, %u sessions",
		   n->dev, n->mtu, n->nworkers, n->nworkers == 1 ? "" : "s",
		   offload ? o : "off", a, n->nsteer ? " (shared, steered by nftables)" : "",
		   sc.max_sessions);
	return n;
fail:
	nat64_stop(n);
	return NULL;
}

static int nat64_run(void *state)
{
	struct nat64 *n = state;
	if (!n->enabled)
		return 0;
	int rc = nat64_usage_run(n->usage);
	return rc ? rc : nat64_workers_start(n);
}

/* Sizes and names of things that exist (device, pool4, table sizes) need
 * a restart: their `reload` class in the option table says so, and
 * sixfourd refuses them before any subsystem is asked. What is left here is
 * the rule the table cannot express: the translator is on or off. */
static int nat64_check(void *state, const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct nat64 *n = state;
	int rc = nat64_bw_check(cfg, err, errlen);
	if (rc || !n)
		return rc;	/* sixfourd -n: config.c checked the other values */
	bool any = false;
	for (size_t i = 0; i < cfg->nprefixes; i++)
		any |= cfg->prefixes[i].translate;
	if ((cfg->nat64.enable && any) != n->enabled) {
		snprintf(err, errlen, "turning the translator on or off (enable, or the first or "
			 "last prefix with translate = yes) needs a restart");
		return -EINVAL;
	}
	return 0;
}

static int nat64_reload(void *state, const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct nat64 *n = state;
	if (!n->enabled)
		return 0;
	struct session_cfg sc;
	session_cfg_from(cfg, &sc);
	session_table_reconfigure(n->sessions, &sc);
	live_settings(n, cfg);
	/* [handoff]: everything but enable and port applies to live sessions. */
	nat64_handoff_reload(n->handoff, cfg);
	nat64_usage_reload(n->usage, cfg);
	nat64_bw_reload(n->bw, cfg);
	/* Routes and nftables follow the new translate prefixes. */
	if (apply_routing(n, cfg) != 0) {
		snprintf(err, errlen, "routes or nftables could not be updated (see the log)");
		return -EIO;
	}
	if (atomic_load(&n->standby))
		standby_routes(n, true);	/* the helper takes the new prefixes */
	return 0;
}

static void nat64_stop(void *state)
{
	struct nat64 *n = state;
	if (!n)
		return;
	sixfour_unwatch_role(n->ctx, n);
	nat64_workers_stop(n);
	nat64_handoff_free(n->handoff);
	/* After the workers: the last counts are folded and saved. */
	nat64_usage_free(n->usage);
	nat64_bw_free(n->bw);
	if (n->ev_fd >= 0)
		evloop_del_fd(n->ctx->loop, n->ev_fd);
	if (n->sweep)
		ev_timer_free(n->sweep);
	if (n->ifindex > 0)
		nat64_netadmin_cleanup(n->ctx->priv);	/* nftables, routes, rules, ports */
	nat64_nl_cleanup(n->nl);
	tun_close(n->fds, NAT64_MAX_WORKERS);
	if (n->workers)
		for (unsigned i = 0; i < n->nworkers; i++) {
			free(n->workers[i].seg);
			free(n->workers[i].out);
			free(n->workers[i].out2);
			if (n->workers[i].frags)
				nat64_frag_free(n->workers[i].frags);
		}
	free(n->workers);
	session_table_free(n->sessions);
	pool4_free(atomic_load(&n->pool));
	free(n);
}

/* --- control commands --- */

static int cmd_nat64(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	struct nat64 *n = ctx;	/* our start()'s state (ctl.h) */
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			out->json = true;
	const char *sub = argc > 1 ? argv[1] : "stats";
	if (!n || !n->enabled) {
		ctl_printf(out, out->json ? "{\"enabled\":false}\n" : "nat64: not running\n");
		return strcmp(sub, "stats") == 0 ? 0 : 1;
	}
	if (strcmp(sub, "stats") == 0) {
		nat64_print_stats(n, out);
		return 0;
	}
	if (strcmp(sub, "sessions") == 0) {
		nat64_print_sessions(n, out);
		return 0;
	}
	if (strcmp(sub, "flush") == 0) {
		size_t k = session_flush(n->sessions);
		if (out->json)
			ctl_printf(out, "{\"flushed\":%zu}\n", k);
		else
			ctl_printf(out, "flushed %zu sessions\n", k);
		return 0;
	}
	ctl_printf(out, "usage: nat64 stats|sessions|flush [--json]\n");
	return 2;
}

/* `handoff [--json]`: the handoff sessions and counters. */
static int cmd_handoff(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	struct nat64 *n = ctx;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			out->json = true;
		} else {
			ctl_printf(out, "usage: handoff [--json]\n");
			return 2;
		}
	}
	nat64_handoff_print(n && n->enabled ? n->handoff : NULL, out);
	return 0;
}

/* `flush sessions`: the top-level form of `nat64 flush` (dns64 owns `flush
 * [cache]`). With a handoff server, flushed entries come back by LOOKUP. */
static int cmd_flush(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	struct nat64 *n = ctx;
	if (argc != 2 || strcmp(argv[1], "sessions") != 0)
		return CTL_PASS;
	if (!n || !n->enabled) {
		ctl_printf(out, "nat64: not running\n");
		return 1;
	}
	size_t k = session_flush(n->sessions);
	ctl_printf(out, out->json ? "{\"flushed\":%zu}\n" : "flushed %zu sessions\n", k);
	return 0;
}

/* `usage [--top N] [--period interval|day|month] [--json]`, `usage reopen`. */
static int cmd_usage(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	struct nat64 *n = ctx;
	return nat64_usage_cmd(n && n->enabled ? n->usage : NULL, argc, argv, out);
}

static const struct ctl_command nat64_commands[] = {
	{ "nat64", "stats|sessions|flush [--json]",
	  "translator counters, the session list (never logged), or flush every session",
	  cmd_nat64 },
	{ "handoff", "[--json]", "NAT64 handoff sessions with IPv4 servers and their counters",
	  cmd_handoff },
	{ "flush", "sessions", "remove every translator session (handoff servers give them back)",
	  cmd_flush },
	{ "usage", "[--top N] [--period interval|day|month] | reopen",
	  "traffic by client prefix with shares, the remainder and the monthly quota; reopen "
	  "the usage log", cmd_usage },
	{ NULL, NULL, NULL, NULL },
};

const struct subsys_ops nat64_subsys = {
	SUBSYS_OPS(nat64),
	.run = nat64_run,
	.caps = PRIVDROP_CAP(CAP_NET_ADMIN),
	.priv = &nat64_netadmin_ops,
};
