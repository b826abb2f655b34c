/* A cluster node's pieces (doc/cluster.md) without a network: pool4 port
 * shares, the keepalived FIFO follower's parser and verdict, the cluster
 * subsystem's reports, heartbeat lease and role watchers, the helper's
 * check of the standby routes, and the [cluster] config checks. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <unistd.h>

#include "appliance/cluster.h"
#include "common/config.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/util.h"
#include "nat64/netadmin.h"
#include "nat64/pool4.h"
#include "tests/unit/tap.h"

static struct in_addr a4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static struct sixfour_config *load(const char *text, struct config_errors *errs)
{
	return config_load_string("test.ini", text, errs);
}

/* --- pool4 shares (6) --- */

static void test_shares(void)
{
	struct pool4 *p[2];
	struct in6_addr c6;
	inet_pton(AF_INET6, "2001:db8:1::100", &c6);
	for (unsigned k = 0; k < 2; k++) {
		p[k] = pool4_new(42 + k);
		pool4_add(p[k], a4("192.0.2.64"), 32, 1024, 65535);
		pool4_set_share(p[k], k, 2);
	}
	unsigned outside = 0, alloc = 0;
	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; i < 3000; i++) {
			struct in_addr a;
			uint16_t port;
			uint8_t proto = i % 3 == 0 ? IPPROTO_TCP : i % 3 == 1 ? IPPROTO_UDP : IPPROTO_ICMP;
			if (pool4_allocate(p[k], proto, &c6, (uint16_t)(2000 + i), NULL, &a, &port) != 0)
				continue;
			alloc++;
			bool in = k == 0 ? port >= 1024 && port <= 33279 : port >= 33280;
			outside += !in;
		}
	is_int(alloc, 6000, "every allocation of both nodes succeeds");
	is_int(outside, 0, "node 1 allocates in 1024-33279, node 2 in 33280-65535 only");
	uint16_t lo, hi;
	ok(pool4_share_of(p[1], a4("192.0.2.64"), &lo, &hi) && lo == 33280 && hi == 65535,
	   "pool4_share_of gives node 2's share (the HELLO range, P-2)");
	is_int(pool4_take(p[1], IPPROTO_TCP, a4("192.0.2.64"), 2000), 0,
	       "a recovered entry in node 1's share is taken by node 2");
	ok(pool4_contains(p[1], a4("192.0.2.64"), 1500), "... which still contains every port");
	uint16_t s[16];
	unsigned n = pool4_sample(p[1], IPPROTO_TCP, a4("192.0.2.64"), s, 16), bad = 0;
	for (unsigned i = 0; i < n; i++)
		bad += s[i] < 33280;
	ok(n > 0 && bad == 0, "reclaim samples only its own share (freeing another's makes no room)");
	pool4_free(p[0]);
	pool4_free(p[1]);
}

/* --- the follower (8) --- */

static void test_follower(void)
{
	char kind[16], name[64], state[24], w[24];
	ok(cluster_fifo_parse("INSTANCE \"VI_1\" MASTER 100", kind, sizeof(kind), name, sizeof(name),
			      state, sizeof(state)) &&
	   !strcmp(kind, "INSTANCE") && !strcmp(name, "VI_1") && !strcmp(state, "MASTER"),
	   "an INSTANCE line parses");
	ok(cluster_fifo_parse("GROUP \"SIXFOUR\" BACKUP", kind, sizeof(kind), name, sizeof(name),
			      state, sizeof(state)) && !strcmp(kind, "GROUP") && !strcmp(state, "BACKUP"),
	   "a GROUP line parses");
	ok(!cluster_fifo_parse("VS [192.0.2.1]:tcp:80 UP", kind, sizeof(kind), name, sizeof(name),
			       state, sizeof(state)) &&
	   !cluster_fifo_parse("INSTANCE \"unterminated MASTER", kind, sizeof(kind), name,
			       sizeof(name), state, sizeof(state)),
	   "other and broken lines do not");
	struct cluster_follow_table t = { 0 };
	is_str(cluster_follow_word(&t, w, sizeof(w)), "unknown", "before any line: unknown");
	cluster_follow_note(&t, "INSTANCE", "CLIENTS", "MASTER");
	cluster_follow_note(&t, "INSTANCE", "SERVERS", "BACKUP");
	is_str(cluster_follow_word(&t, w, sizeof(w)), "backup",
	       "without a group, every instance must be MASTER");
	cluster_follow_note(&t, "INSTANCE", "SERVERS", "MASTER_RX_LOWER_PRI");
	is_str(cluster_follow_word(&t, w, sizeof(w)), "master", "MASTER_RX_LOWER_PRI is master");
	cluster_follow_note(&t, "GROUP", "SIXFOUR", "FAULT");
	is_str(cluster_follow_word(&t, w, sizeof(w)), "fault", "a sync group's state decides");
	for (int i = 0; i < 40; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "X%d", i);
		cluster_follow_note(&t, "INSTANCE", nm, "MASTER");
	}
	ok(t.n == CLUSTER_FOLLOW_MAX, "the table stays bounded");
}

/* --- the subsystem (11) --- */

static int calls;
static enum sixfour_role seen[8];
static void watcher(void *arg)
{
	struct sixfour_ctx *ctx = arg;
	if (calls < 8)
		seen[calls] = ctx->role.role;
	calls++;
}

static int command(void *state, const char *a, const char *b, char *buf, size_t len)
{
	char *argv[] = { "cluster", (char *)a, (char *)b };
	struct ctl_out out = { 0 };
	int rc = cluster_subsys.commands[0].fn(state, b ? 3 : a ? 2 : 1, argv, &out);
	snprintf(buf, len, "%.*s", (int)out.len, out.buf ? out.buf : "");
	free(out.buf);
	return rc;
}

static void test_subsystem(void)
{
	struct config_errors errs;
	struct sixfour_config *cfg = load("[nat64]\npool4 = 192.0.2.64\n"
					  "[cluster]\nenable = yes\nnode = 2\nnodes = 2\n"
					  "heartbeat-timeout = 500ms\n", &errs);
	if (!cfg)
		bail(errs.msg[0]);
	struct sixfour_ctx ctx = { .loop = evloop_new(), .cfg = cfg };
	void *st = cluster_subsys.start(&ctx);
	is_int(ctx.role.role, SIXFOUR_ROLE_STANDBY, "a cluster node starts standby");
	sixfour_watch_role(&ctx, watcher, &ctx);
	char buf[512];
	ok(command(st, "report", "BACKUP", buf, sizeof(buf)) == 0 && calls == 0,
	   "a report of BACKUP keeps it standby (no watcher call)");
	ok(command(st, "report", "MASTER", buf, sizeof(buf)) == 0 && calls == 1 &&
	   seen[0] == SIXFOUR_ROLE_ACTIVE && !strcmp(buf, "active\n"),
	   "MASTER makes it active: the watcher runs once");
	command(st, "report", "master", buf, sizeof(buf));
	is_int(calls, 1, "a repeat changes nothing");
	is_int(command(st, "report", "LEADER", buf, sizeof(buf)), 2, "an unknown state is refused");
	is_int(ctx.role.role, SIXFOUR_ROLE_ACTIVE, "... and leaves the role alone");
	is_int(command(st, "check", NULL, buf, sizeof(buf)), 0, "check: ok while it can serve");
	ctx.datapath.down = true;
	strlcpy_ok(ctx.datapath.why, "no IPv4 address for pool4", sizeof(ctx.datapath.why));
	is_int(command(st, "check", NULL, buf, sizeof(buf)), 1,
	       "check fails when the data path is down (keepalived then lets the peer take over)");
	ctx.datapath.down = false;
	/* keepalived falls silent: the lease (500 ms) runs out. */
	uint64_t t0 = monotonic_ms();
	while (ctx.role.role == SIXFOUR_ROLE_ACTIVE && monotonic_ms() - t0 < 3000)
		evloop_run_once(ctx.loop, 100);
	uint64_t took = monotonic_ms() - t0;
	ok(ctx.role.role == SIXFOUR_ROLE_STANDBY && took >= 400 && took < 2000,
	   "silent for heartbeat-timeout: standby");
	ok(command(st, "--json", NULL, buf, sizeof(buf)) == 0 && strstr(buf, "\"role\":\"standby\"") &&
	   strstr(buf, "\"keepalived\":\"silent\"") && strstr(buf, "\"node\":2"),
	   "cluster --json shows role, keepalived's word and the node");
	command(st, "report", "gone", buf, sizeof(buf));
	sixfour_unwatch_role(&ctx, &ctx);
	command(st, "report", "master", buf, sizeof(buf));
	ok(calls == 2 && ctx.role.role == SIXFOUR_ROLE_ACTIVE, "an unwatched watcher is not called");
	cluster_subsys.stop(st);
	evloop_free(ctx.loop);
	config_free(cfg);
}

/* --- the helper's standby routes and the config checks (6) --- */

static void test_checks(void)
{
	struct config_errors errs;
	struct cidr dst[4];
	size_t n;
	struct sixfour_config *c = load("[prefix a]\nprefix = 64:ff9b::/96\ntranslate = yes\n"
					"[prefix b]\nprefix = 2001:db8:64::/96\n"
					"[nat64]\npool4 = 192.0.2.64\n[cluster]\nenable = yes\n"
					"virtual-address = 2001:db8:1::1\n", &errs);
	ok(c && nat64_netadmin_standby_routes(c, dst, 4, &n) && n == 1 && dst[0].len == 96,
	   "the helper routes the translate prefixes (only) via the virtual address");
	config_free(c);
	c = load("[prefix a]\nprefix = 64:ff9b::/96\ntranslate = yes\n[nat64]\npool4 = 192.0.2.64\n"
		 "[cluster]\nenable = yes\n", &errs);
	ok(c && !nat64_netadmin_standby_routes(c, dst, 4, &n),
	   "... and refuses without a virtual-address in its own configuration");
	config_free(c);
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "[cluster]\nnode = 3\nnodes = 2\n", "node must be between" },
		{ "[cluster]\nvirtual-address = fe80::1\n", "virtual-address must be" },
		{ "[cluster]\nvirtual-router = 2001:db8::1\n", "virtual-router must be" },
		{ "[cluster]\nenable = yes\n", "needs [nat64] pool4" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		c = load(bad[i].text, &errs);
		bool found = false;
		for (size_t k = 0; !c && k < errs.n; k++)
			found |= strstr(errs.msg[k], bad[i].err) != NULL;
		if (!ok(!c && found, bad[i].err))
			printf("#   %s\n", errs.n ? errs.msg[0] : "(accepted)");
		config_free(c);
	}
}

int main(void)
{
	plan(31);
	test_shares();
	test_follower();
	test_subsystem();
	test_checks();
	return tap_done();
}
