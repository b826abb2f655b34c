/* `sixfourctl health`, `sixfourctl export bind|unbound|radvd|status` and
 * the health metrics (counters through common/counters.h). */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/counters.h"
#include "common/ctl.h"
#include "common/util.h"
#include "health/exports.h"
#include "health/health.h"
#include "health/health_int.h"

static const struct counter_desc health_desc[] = { HEALTH_COUNTERS(COUNTER_DESC) };
static const struct counter_desc probe_desc[] = { PROBE_COUNTERS(COUNTER_DESC) };

static const char *state_name(const struct hprobe *p)
{
	if (p->local_down)
		return "down";
	if (!p->probed)
		return "unprobed";
	if (!p->st.settled)
		return "unknown";
	return p->st.up ? "up" : "down";
}

/* The wall-clock time of a monotonic instant (for people and metrics). */
static time_t wall_of(uint64_t mono_us, uint64_t now_us)
{
	return time(NULL) - (time_t)((now_us - MIN(mono_us, now_us)) / 1000000);
}

/* "6 probes unanswered in a row", "the local translator's data path is
 * down: no pool4 address". */
static void reason_text(const struct health *h, const struct hprobe *p, char *buf, size_t size)
{
	const char *text = health_reason_text(p->st.reason);
	if (p->st.reason == HEALTH_REASON_LOCAL_DOWN)
		snprintf(buf, size, "%s: %s", text, h->ctx->datapath.why);
	else if (p->st.reason_count)
		snprintf(buf, size, "%u %s", p->st.reason_count, text);
	else
		snprintf(buf, size, "%s", text);
}

static int cmd_health(void *arg, int argc, char **argv, struct ctl_out *out)
{
	struct health *h = arg;
	const struct prefix_set *set = prefix_pub_current(h->ctx->prefixes);
	uint64_t now = monotonic_us();
	if (out->json) {
		ctl_printf(out, "{");
		struct counter_group g = { "counters", NULL, NULL, NULL, NULL, COUNTER_TOTAL,
					   health_desc, HEALTH_C__COUNT, h->c, false };
		counters_emit(out, COUNTERS_JSON, &g, 1, NULL);
		ctl_printf(out, ",\"prefixes\":[");
	}
	for (size_t i = 0; i < h->nprobes; i++) {
		const struct hprobe *p = &h->probes[i];
		const struct prefix_info *pi = prefix_set_by_name(set, p->name);
		char dst[INET6_ADDRSTRLEN] = "-", why[160], when[32];
		if (p->probed)
			inet_ntop(AF_INET6, &p->dst, dst, sizeof(dst));
		reason_text(h, p, why, sizeof(why));
		time_t at = wall_of(p->st.changed_us, now);
		struct tm tm;
		if (!gmtime_r(&at, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
			strcpy(when, "-");
		double ago = (double)(now - MIN(p->st.changed_us, now)) / 1e6;
		bool active = pi && pi->active;
		if (out->json) {
			ctl_printf(out, "%s{\"name\":", i ? "," : "");
			ctl_json_str(out, p->name);
			ctl_printf(out, ",\"state\":\"%s\",\"active\":%s,\"target\":\"%s\","
				   "\"rtt_us\":%u,\"probing\":\"%s\",\"changed\":\"%s\","
				   "\"changed_ago_s\":%.3f,\"reason\":\"%s\",\"why\":",
				   state_name(p), active ? "true" : "false", dst, p->st.rtt_us,
				   !p->probed ? "off" : p->st.fast ? "fast" : "normal", when, ago,
				   health_reason_name(p->st.reason));
			ctl_json_str(out, why);
			ctl_printf(out, ",");
			struct counter_group g = { "counters", NULL, NULL, NULL, NULL, COUNTER_TOTAL,
						   probe_desc, PROBE_C__COUNT, p->st.c, false };
			counters_emit(out, COUNTERS_JSON, &g, 1, NULL);
			ctl_printf(out, "}");
		} else {
			ctl_printf(out, "%-16s %-8s %-8s rtt %6u us  sent %llu  answered %llu  "
				   "target %s\n", p->name, state_name(p), active ? "active" : "inactive",
				   p->st.rtt_us, (unsigned long long)p->st.c[PROBE_C_sent],
				   (unsigned long long)p->st.c[PROBE_C_answered], dst);
			ctl_printf(out, "  since %s (%.1f s ago): %s%s\n", when, ago, why,
				   p->probed && p->st.fast ? "; probing fast" : "");
		}
	}
	if (out->json)
		ctl_printf(out, "]}\n");
	return 0;
}

static int cmd_export(void *arg, int argc, char **argv, struct ctl_out *out)
{
	struct health *h = arg;
	if (argc == 2 && strcmp(argv[1], "status") == 0) {
		exports_status(h->exports, out);
		return 0;
	}
	if (argc != 2 || exports_render(h->exports, argv[1], out) == -EINVAL) {
		out->len = 0;
		ctl_printf(out, "usage: export bind|unbound|radvd|status\n");
		return 2;
	}
	return 0;
}

/* Per-prefix gauges, one family each (Prometheus wants a family's lines
 * together): the descriptors are the probed prefixes' names. */
void health_metrics(void *state, struct ctl_out *out)
{
	struct health *h = state;
	struct counter_desc names[CONFIG_MAX_PREFIXES];
	uint64_t up[CONFIG_MAX_PREFIXES], rtt[CONFIG_MAX_PREFIXES], changes[CONFIG_MAX_PREFIXES];
	uint64_t at[CONFIG_MAX_PREFIXES];
	const struct hprobe *pv[CONFIG_MAX_PREFIXES];
	size_t n = 0;
	uint64_t now = monotonic_us();
	for (size_t i = 0; i < h->nprobes; i++) {
		const struct hprobe *p = &h->probes[i];
		if (!p->probed && !p->local_down)
			continue;
		names[n] = (struct counter_desc){ p->name, "" };
		up[n] = hprobe_up(p);
		rtt[n] = p->st.rtt_us;
		changes[n] = p->st.c[PROBE_C_changes];
		at[n] = (uint64_t)wall_of(p->st.changed_us, now);
		pv[n++] = p;
	}
	struct counter_group g[] = {
		{ "health", "health", NULL, NULL, NULL, COUNTER_TOTAL, health_desc, HEALTH_C__COUNT,
		  h->c, false },
		{ "up", "health_up", "Whether the prefix's verdict is up.", "name", NULL,
		  COUNTER_GAUGE, names, n, up, false },
		{ "rtt", "health_rtt_microseconds", "Smoothed probe round trip.", "name", NULL,
		  COUNTER_GAUGE, names, n, rtt, false },
		{ "changes", "health_changes", "Verdict changes.", "name", NULL, COUNTER_TOTAL,
		  names, n, changes, false },
	};
	counters_emit(out, COUNTERS_PROMETHEUS, g, n ? ARRAY_SIZE(g) : 1, NULL);

	/* When and why each verdict last changed: the reason is a label. */
	static struct counter_desc reasons[HEALTH_REASON__COUNT];
	for (unsigned r = 0; r < HEALTH_REASON__COUNT; r++)
		reasons[r] = (struct counter_desc){ health_reason_name(r), health_reason_text(r) };
	struct counter_group last = { "last_change", "health_last_change_timestamp_seconds",
				      "When the verdict last changed (Unix time), and why.",
				      "reason", NULL, COUNTER_GAUGE, NULL, 1, NULL, false };
	struct counter_group probes = { "probes", "health_probes", "Probes by outcome.", "result",
					NULL, COUNTER_TOTAL, probe_desc, PROBE_C_changes, NULL,
					false };
	if (n) {
		counters_prometheus_header(out, &last);
		for (size_t i = 0; i < n; i++) {
			char extra[PREFIX_NAME_MAX + 16];
			snprintf(extra, sizeof(extra), "name=\"%s\"", pv[i]->name);
			last.extra = extra;
			last.desc = &reasons[pv[i]->st.reason];
			last.values = &at[i];
			counters_prometheus_values(out, &last);
		}
		counters_prometheus_header(out, &probes);
		for (size_t i = 0; i < n; i++) {
			char extra[PREFIX_NAME_MAX + 16];
			snprintf(extra, sizeof(extra), "name=\"%s\"", pv[i]->name);
			probes.extra = extra;
			probes.values = pv[i]->st.c;
			counters_prometheus_values(out, &probes);
		}
	}
	exports_metrics(h->exports, out);
}

const struct ctl_command health_commands[] = {
	{ "health", "", "every prefix's verdict: up/down, active, rtt, when and why it changed",
	  cmd_health },
	{ "export", "bind|unbound|radvd|status",
	  "configuration for a resolver or router we do not run (as [export] writes it), "
	  "or the state of the export files", cmd_export },
	{ NULL, NULL, NULL, NULL },
};
