/* The cluster subsystem (cluster.h): the node's role from keepalived's
 * reports, a lease that makes the node standby when keepalived falls
 * silent, and `sixfourctl cluster [report|check]`. */
#include "autoconf.h"
#include "appliance/cluster.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/util.h"

#define CLUSTER_COUNTERS(X) \
	X(REPORTS, "state reports from keepalived's follower") \
	X(BAD_REPORTS, "reports refused: not a state we know") \
	X(TO_ACTIVE, "changes to active") \
	X(TO_STANDBY, "changes to standby") \
	X(SILENT, "times keepalived's follower was silent for heartbeat-timeout") \
	X(CHECKS, "cluster check calls (keepalived's track_script)") \
	X(CHECKS_FAILED, "cluster check calls answered with a failure")

enum cluster_counter {
#define X(name, help) CLUSTER_##name,
	CLUSTER_COUNTERS(X)
#undef X
	CLUSTER__COUNT
};
static const struct counter_desc cluster_desc[] = { CLUSTER_COUNTERS(COUNTER_DESC) };

/* The words the follower sends: keepalived's states, lower case, and
 * "gone" when keepalived's FIFO closed. */
static const char *const known_words[] = {
	"master", "backup", "fault", "stop", "deleted", "unknown", "gone",
};

struct cluster {
	struct sixfour_ctx *ctx;
	bool enable;
	unsigned node, nodes;
	uint64_t heartbeat_ms;
	struct ev_timer *lease;
	char said[16];			/* keepalived's last word, "" before any */
	uint64_t said_ms;		/* when it came (monotonic) */
	uint64_t since_ms;		/* the role's last change (monotonic) */
	int64_t since_wall_us;		/* the same on the wall clock */
	uint64_t c[CLUSTER__COUNT];	/* main loop only */
};

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set_role(struct cluster *cl, enum sixfour_role role, const char *why)
{
	if (cl->ctx->role.role == role)
		return;
	cl->since_ms = monotonic_ms();
	cl->since_wall_us = wall_us();
	counter_inc(&cl->c[role == SIXFOUR_ROLE_ACTIVE ? CLUSTER_TO_ACTIVE : CLUSTER_TO_STANDBY], 1);
	log_notice("cluster: node %u of %u is now %s (%s)", cl->node, cl->nodes,
		   sixfour_role_name(role), why);
	sixfour_role_report(cl->ctx, role, why);
}

static void on_lease(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct cluster *cl = arg;
	(void)loop;
	(void)t;
	counter_inc(&cl->c[CLUSTER_SILENT], 1);
	strlcpy_ok(cl->said, "silent", sizeof(cl->said));
	char why[96];
	snprintf(why, sizeof(why), "keepalived silent for %llu ms",
		 (unsigned long long)cl->heartbeat_ms);
	set_role(cl, SIXFOUR_ROLE_STANDBY, why);
}

/* One report: the lease starts again; only "master" makes the node active. */
static int report(struct cluster *cl, const char *word)
{
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(known_words) && !known; i++)
		known = strcasecmp(word, known_words[i]) == 0;
	if (!known) {
		counter_inc(&cl->c[CLUSTER_BAD_REPORTS], 1);
		return -EINVAL;
	}
	counter_inc(&cl->c[CLUSTER_REPORTS], 1);
	size_t i = 0;
	for (; word[i] && i + 1 < sizeof(cl->said); i++)
		cl->said[i] = (char)(word[i] | 0x20);	/* lower case: letters only */
	cl->said[i] = '\0';
	cl->said_ms = monotonic_ms();
	ev_timer_arm(cl->lease, cl->heartbeat_ms);
	char why[64];
	snprintf(why, sizeof(why), "keepalived: %s", cl->said);
	set_role(cl, strcmp(cl->said, "master") == 0 ? SIXFOUR_ROLE_ACTIVE : SIXFOUR_ROLE_STANDBY,
		 why);
	return 0;
}

/* --- commands --- */

static void print_status(struct cluster *cl, struct ctl_out *out)
{
	uint64_t now = monotonic_ms();
	const struct sixfour_role_state *r = &cl->ctx->role;
	const struct counter_group g = {
		.key = "counters", .kind = COUNTER_TOTAL, .desc = cluster_desc, .n = CLUSTER__COUNT,
		.values = cl->c,
	};
	long long age = cl->said[0] ? (long long)(now - cl->said_ms) : -1;
	if (out->json) {
		ctl_printf(out, "{\"enabled\":%s,\"role\":\"%s\",\"why\":", cl->enable ? "true" : "false",
			   sixfour_role_name(r->role));
		ctl_json_str(out, r->why);
		ctl_printf(out, ",\"node\":%u,\"nodes\":%u,\"keepalived\":", cl->node, cl->nodes);
		ctl_json_str(out, cl->said);
		ctl_printf(out, ",\"keepalived_age_ms\":%lld,\"since_ms\":%llu,\"changed_at_us\":%lld,",
			   age, (unsigned long long)(now - cl->since_ms), (long long)cl->since_wall_us);
		bool first = true;
		counters_emit(out, COUNTERS_JSON, &g, 1, &first);
		ctl_printf(out, "}\n");
		return;
	}
	if (!cl->enable) {
		ctl_printf(out, "cluster: not enabled (single node)\n");
		return;
	}
	ctl_printf(out, "node %u of %u: %s for %llu s (%s)\n", cl->node, cl->nodes,
		   sixfour_role_name(r->role), (unsigned long long)(now - cl->since_ms) / 1000,
		   r->why);
	if (age >= 0)
		ctl_printf(out, "keepalived: %s, %lld ms ago\n", cl->said, age);
	else
		ctl_printf(out, "keepalived: no report yet\n");
	counters_emit(out, COUNTERS_TEXT, &g, 1, NULL);
}

static int cmd_cluster(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	struct cluster *cl = ctx;
	int k = 1;
	if (k < argc && strcmp(argv[k], "--json") == 0) {
		out->json = true;
		k++;
	}
	const char *sub = k < argc ? argv[k] : "status";
	if (strcmp(sub, "status") == 0 && k + 1 >= argc) {
		print_status(cl, out);
		return 0;
	}
	if (strcmp(sub, "report") == 0 && k + 2 == argc) {
		if (!cl->enable) {
			ctl_printf(out, "cluster: not enabled ([cluster] enable = no)\n");
			return 1;
		}
		if (report(cl, argv[k + 1]) != 0) {
			ctl_printf(out, "cluster: unknown state '%s'\n", argv[k + 1]);
			return 2;
		}
		ctl_printf(out, "%s\n", sixfour_role_name(cl->ctx->role.role));
		return 0;
	}
	if (strcmp(sub, "check") == 0 && k + 1 == argc) {
		/* keepalived's track_script: a node that cannot translate must not
		 * hold the virtual addresses. */
		counter_inc(&cl->c[CLUSTER_CHECKS], 1);
		const struct sixfour_datapath *dp = &cl->ctx->datapath;
		if (!cl->enable || dp->down) {
			counter_inc(&cl->c[CLUSTER_CHECKS_FAILED], 1);
			ctl_printf(out, "fail: %s\n", !cl->enable ? "[cluster] enable = no" : dp->why);
			return 1;
		}
		ctl_printf(out, "ok %s\n", sixfour_role_name(cl->ctx->role.role));
		return 0;
	}
	ctl_printf(out, "usage: cluster [status|report STATE|check] [--json]\n");
	return 2;
}

static const struct ctl_command cluster_commands[] = {
	{ "cluster", "[status|report STATE|check]",
	  "this node's role (active/standby, as keepalived reports it); report and check are "
	  "for keepalived's follow and track scripts", cmd_cluster },
	{ NULL, NULL, NULL, NULL },
};

static void cluster_metrics(void *state, struct ctl_out *out)
{
	struct cluster *cl = state;
	uint64_t active = cl->ctx->role.role != SIXFOUR_ROLE_STANDBY;
	static const struct counter_desc active_desc[] = {
		{ "active", "Whether this node translates (1) or is a standby (0)." },
	};
	const struct counter_group g[] = {
		{ .key = "cluster", .metric = "cluster", .kind = COUNTER_GAUGE, .desc = active_desc,
		  .n = 1, .values = &active },
		{ .key = "cluster", .metric = "cluster", .kind = COUNTER_TOTAL, .desc = cluster_desc,
		  .n = CLUSTER__COUNT, .values = cl->c },
	};
	counters_emit(out, COUNTERS_PROMETHEUS, g, ARRAY_SIZE(g), NULL);
}

/* --- life cycle --- */

static void *cluster_start(struct sixfour_ctx *ctx)
{
	struct cluster *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	const struct sixfour_config *cfg = ctx->cfg;
	*cl = (struct cluster){ .ctx = ctx, .enable = cfg->cluster.enable, .node = cfg->cluster.node,
				.nodes = cfg->cluster.nodes, .heartbeat_ms = cfg->cluster.heartbeat_ms,
				.since_ms = monotonic_ms(), .since_wall_us = wall_us() };
	cl->lease = ev_timer_new(ctx->loop, on_lease, cl);
	if (!cl->lease) {
		free(cl);
		return NULL;
	}
	if (cl->enable) {
		/* Before any other subsystem starts: a node is standby until
		 * keepalived says otherwise (no watcher is registered yet). */
		ctx->role.role = SIXFOUR_ROLE_STANDBY;
		strlcpy_ok(ctx->role.why, "waiting for keepalived", sizeof(ctx->role.why));
		log_notice("cluster: node %u of %u, standby until keepalived reports", cl->node,
			   cl->nodes);
	}
	return cl;
}

static int cluster_reload(void *state, const struct sixfour_config *cfg, char *err,
			  size_t errlen)
{
	struct cluster *cl = state;
	(void)err;
	(void)errlen;
	cl->heartbeat_ms = cfg->cluster.heartbeat_ms;
	return 0;
}

static void cluster_stop(void *state)
{
	struct cluster *cl = state;
	ev_timer_free(cl->lease);
	free(cl);
}

const struct subsys_ops cluster_subsys = {
	.name = "cluster",
	.start = cluster_start,
	.reload = cluster_reload,
	.stop = cluster_stop,
	.commands = cluster_commands,
	.metrics = cluster_metrics,
};
