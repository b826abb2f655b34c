/* `sixfourctl usage`, the usage metrics and the traffic list of `nat64
 * stats`. Every answer first folds what the workers counted so far, so it
 * is current to the packet. Only the top prefixes become metric labels. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/ctl.h"
#include "common/util.h"
#include "nat64/usage_priv.h"

#define QUERY_WAIT_MS 50
#define TOP_MAX 10000
#define TOP_DEFAULT 20

static const struct counter_desc usage_desc[] = { USAGE_COUNTERS(COUNTER_DESC) };
static const char *const period_names[] = { "interval", "day", "month" };

/* A period's top prefixes over both families. */
struct view {
	const struct usage_period *p;
	struct hh_stats s6, s4;
	struct hh_counts total;
	struct hh_item *top;
	size_t ntop;
	uint64_t shown;		/* octets of the listed prefixes */
	uint64_t bound;
};

static int view_build(const struct nat64_usage *u, enum usage_period_id id, size_t n,
		      struct view *v)
{
	memset(v, 0, sizeof(*v));
	v->p = &u->p[id];
	usage_period_stats(v->p, &v->s6, &v->s4);
	v->total = v->s6.total;
	hh_counts_add(&v->total, &v->s4.total);
	v->bound = MAX(v->s6.bound, v->s4.bound);
	if (n == 0)
		return 0;
	struct hh_item *a = calloc(n, sizeof(*a)), *b = calloc(n, sizeof(*b));
	v->top = calloc(n, sizeof(*v->top));
	if (!a || !b || !v->top) {
		free(a);
		free(b);
		free(v->top);
		v->top = NULL;
		return -ENOMEM;
	}
	size_t na = hh_top(v->p->hh6, a, n), nb = hh_top(v->p->hh4, b, n), i = 0, j = 0;
	while (v->ntop < n && (i < na || j < nb)) {
		bool take_a = j >= nb || (i < na && hh_octets(&a[i].c) >= hh_octets(&b[j].c));
		v->top[v->ntop] = take_a ? a[i++] : b[j++];
		v->shown += hh_octets(&v->top[v->ntop].c);
		v->ntop++;
	}
	free(a);
	free(b);
	return 0;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0;
}

static void print_quota(const struct nat64_usage *u, struct ctl_out *out, time_t now)
{
	struct hh_stats s6, s4;
	usage_period_stats(&u->p[USAGE_MONTH], &s6, &s4);
	uint64_t used = hh_octets(&s6.total) + hh_octets(&s4.total);
	uint64_t proj = usage_month_projection(u, now);
	char end[32];
	usage_utc_label(u->p[USAGE_MONTH].end, end, sizeof(end));
	if (out->json) {
		if (!u->quota) {
			ctl_printf(out, ",\"quota\":null");
			return;
		}
		ctl_printf(out, ",\"quota\":{\"bytes\":%llu,\"used\":%llu,\"share\":%.6f,"
			   "\"projected\":%llu,\"projected_share\":%.6f,\"month_end\":\"%s\","
			   "\"warned_percent\":%u}", (unsigned long long)u->quota,
			   (unsigned long long)used, share(used, u->quota), (unsigned long long)proj,
			   share(proj, u->quota), end, u->quota_level);
		return;
	}
	char q[32], us[32], pr[32];
	usage_human(used, us, sizeof(us));
	usage_human(proj, pr, sizeof(pr));
	if (!u->quota) {
		ctl_printf(out, "month %s so far: %s, projected %s by %s (no monthly-quota set)\n",
			   u->p[USAGE_MONTH].label, us, pr, end);
		return;
	}
	usage_human(u->quota, q, sizeof(q));
	ctl_printf(out, "monthly quota %s: %s used (%.1f %%), projected %s (%.1f %%) by %s%s\n", q,
		   us, 100 * share(used, u->quota), pr, 100 * share(proj, u->quota), end,
		   u->quota_level ? "; warned" : "");
}

static void print_view(const struct nat64_usage *u, const struct view *v, enum usage_period_id id,
		       struct ctl_out *out)
{
	char start[32], end[32], now_s[32];
	time_t now = time(NULL);
	usage_utc_label(v->p->start, start, sizeof(start));
	usage_utc_label(v->p->end, end, sizeof(end));
	usage_utc_label(now, now_s, sizeof(now_s));
	uint64_t total = hh_octets(&v->total);
	uint64_t other_pk = hh_packets(&v->total);
	for (size_t i = 0; i < v->ntop; i++)
		other_pk -= hh_packets(&v->top[i].c);
	size_t other_n = v->s6.tracked + v->s4.tracked - v->ntop;
	if (out->json) {
		ctl_printf(out, "{\"period\":\"%s\",\"label\":\"%s\",\"start\":\"%s\",\"end\":\"%s\","
			   "\"now\":\"%s\",\"packets\":%llu,\"octets\":%llu,\"packets_from\":%llu,"
			   "\"octets_from\":%llu,\"packets_to\":%llu,\"octets_to\":%llu,"
			   "\"tracked\":{\"clients\":%u,\"clients_capacity\":%u,\"ipv4\":%u,"
			   "\"ipv4_capacity\":%u},\"error_bound\":%llu,\"unattributed_octets\":%llu,"
			   "\"top\":[", period_names[id], v->p->label, start, end, now_s,
			   (unsigned long long)hh_packets(&v->total), (unsigned long long)total,
			   (unsigned long long)v->total.packets_from,
			   (unsigned long long)v->total.octets_from,
			   (unsigned long long)v->total.packets_to,
			   (unsigned long long)v->total.octets_to, v->s6.tracked, v->s6.capacity,
			   v->s4.tracked, v->s4.capacity, (unsigned long long)v->bound,
			   (unsigned long long)(hh_octets(&v->s6.unattributed) +
						hh_octets(&v->s4.unattributed)));
		for (size_t i = 0; i < v->ntop; i++) {
			const struct hh_item *it = &v->top[i];
			char pfx[64];
			hh_key_format(&it->key, pfx, sizeof(pfx));
			ctl_printf(out, "%s{\"prefix\":\"%s\",\"octets\":%llu,\"share\":%.6f,"
				   "\"packets_from\":%llu,\"octets_from\":%llu,\"packets_to\":%llu,"
				   "\"octets_to\":%llu,\"error_octets\":%llu}", i ? "," : "", pfx,
				   (unsigned long long)hh_octets(&it->c),
				   share(hh_octets(&it->c), total),
				   (unsigned long long)it->c.packets_from,
				   (unsigned long long)it->c.octets_from,
				   (unsigned long long)it->c.packets_to,
				   (unsigned long long)it->c.octets_to, (unsigned long long)it->err);
		}
		ctl_printf(out, "],\"others\":{\"prefixes\":%zu,\"packets\":%llu,\"octets\":%llu,"
			   "\"share\":%.6f}", other_n, (unsigned long long)other_pk,
			   (unsigned long long)(total - v->shown), share(total - v->shown, total));
		print_quota(u, out, now);
		ctl_printf(out, "}\n");
		return;
	}
	char tot[32];
	usage_human(total, tot, sizeof(tot));
	ctl_printf(out, "%s %s (%s to %s): %s (%llu octets), %llu packets\n", period_names[id],
		   v->p->label, start, id == USAGE_INTERVAL ? now_s : end, tot,
		   (unsigned long long)total, (unsigned long long)hh_packets(&v->total));
	ctl_printf(out, "  %u of %u client prefixes and %u of %u IPv4 prefixes tracked; ",
		   v->s6.tracked, v->s6.capacity, v->s4.tracked, v->s4.capacity);
	if (v->bound)
		ctl_printf(out, "each count may miss up to %llu octets (error bound)\n",
			   (unsigned long long)v->bound);
	else
		ctl_printf(out, "counts are exact\n");
	ctl_printf(out, "  %-28s %16s %7s %16s %16s %12s\n", "prefix", "octets", "share",
		   "octets from", "octets to", "packets");
	for (size_t i = 0; i < v->ntop; i++) {
		const struct hh_item *it = &v->top[i];
		char pfx[64];
		hh_key_format(&it->key, pfx, sizeof(pfx));
		ctl_printf(out, "  %-28s %16llu %6.1f%% %16llu %16llu %12llu%s\n", pfx,
			   (unsigned long long)hh_octets(&it->c),
			   100 * share(hh_octets(&it->c), total),
			   (unsigned long long)it->c.octets_from, (unsigned long long)it->c.octets_to,
			   (unsigned long long)hh_packets(&it->c), it->err ? " (+error)" : "");
	}
	char others_label[48];
	snprintf(others_label, sizeof(others_label), "others (%zu prefixes)", other_n);
	ctl_printf(out, "  %-28s %16llu %6.1f%% %16s %16s %12llu\n", others_label,
		   (unsigned long long)(total - v->shown), 100 * share(total - v->shown, total),
		   "", "", (unsigned long long)other_pk);
	print_quota(u, out, now);
}

static int usage_help(struct ctl_out *out)
{
	ctl_printf(out, "usage: usage [--top N] [--period interval|day|month] [--json] | "
		   "usage reopen\n");
	return 2;
}

int nat64_usage_cmd(struct nat64_usage *u, int argc, char **argv, struct ctl_out *out)
{
	size_t top = TOP_DEFAULT;
	enum usage_period_id id = USAGE_MONTH;
	bool reopen = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			out->json = true;
		} else if (strcmp(argv[i], "reopen") == 0 && i == 1) {
			reopen = true;
		} else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
			char *end;
			unsigned long n = strtoul(argv[++i], &end, 10);
			if (*end || n > TOP_MAX)
				return usage_help(out);
			top = n;
		} else if (strcmp(argv[i], "--period") == 0 && i + 1 < argc) {
			const char *p = argv[++i];
			size_t k = 0;
			while (k < ARRAY_SIZE(period_names) && strcmp(p, period_names[k]))
				k++;
			if (k == ARRAY_SIZE(period_names))
				return usage_help(out);
			id = (enum usage_period_id)k;
		} else {
			return usage_help(out);
		}
	}
	if (!u || !u->on) {
		ctl_printf(out, out->json ? "{\"enabled\":false}\n"
					  : "usage accounting is off (translator off or [stats] "
					    "top-prefixes = 0)\n");
		return reopen ? 1 : 0;
	}
	if (reopen) {
		int rc = usage_reopen(u);
		if (rc) {
			ctl_printf(out, "cannot reopen the usage log%s%s: %s\n",
				   u->log_path ? " " : "", u->log_path ? u->log_path : "",
				   rc == -ENOENT && !u->log_path ? "[stats] usage-log is off"
								  : strerror(-rc));
			return 1;
		}
		ctl_printf(out, out->json ? "{\"reopened\":\"%s\"}\n" : "reopened %s\n", u->log_path);
		return 0;
	}
	usage_flush(u, QUERY_WAIT_MS);
	struct view v;
	if (view_build(u, id, top, &v) != 0) {
		ctl_printf(out, "out of memory\n");
		return 1;
	}
	print_view(u, &v, id, out);
	free(v.top);
	return 0;
}

void nat64_usage_print_traffic(struct nat64_usage *u, struct ctl_out *out)
{
	if (!u || !u->on)
		return;
	usage_flush(u, QUERY_WAIT_MS);
	struct view v;
	if (view_build(u, USAGE_MONTH, TOP_DEFAULT, &v) != 0)
		return;
	uint64_t total = hh_octets(&v.total), packets = hh_packets(&v.total);
	ctl_printf(out, out->json ? ",\"traffic\":[" : "traffic by prefix (month %s):\n",
		   v.p->label);
	for (size_t i = 0; i < v.ntop; i++) {
		char pfx[64];
		hh_key_format(&v.top[i].key, pfx, sizeof(pfx));
		packets -= hh_packets(&v.top[i].c);
		if (out->json)
			ctl_printf(out, "%s{\"prefix\":\"%s\",\"packets\":%llu,\"bytes\":%llu}",
				   i ? "," : "", pfx, (unsigned long long)hh_packets(&v.top[i].c),
				   (unsigned long long)hh_octets(&v.top[i].c));
		else
			ctl_printf(out, "  %-24s %12llu packets %14llu bytes\n", pfx,
				   (unsigned long long)hh_packets(&v.top[i].c),
				   (unsigned long long)hh_octets(&v.top[i].c));
	}
	if (out->json)
		ctl_printf(out, "],\"traffic_other\":{\"packets\":%llu,\"bytes\":%llu}",
			   (unsigned long long)packets, (unsigned long long)(total - v.shown));
	else if (total > v.shown)
		ctl_printf(out, "  %-24s %12llu packets %14llu bytes\n", "(others)",
			   (unsigned long long)packets, (unsigned long long)(total - v.shown));
	free(v.top);
}

/* --- metrics --- */

enum period_value { PV_OCTETS, PV_PACKETS, PV_REMAINDER, PV_BOUND, PV_PREFIXES, PV__COUNT };

static const struct counter_desc period_desc[] = {
	{ "interval", "the interval in progress" },
	{ "day", "today" },
	{ "month", "this month" },
};

void nat64_usage_metrics(struct nat64_usage *u, struct ctl_out *out)
{
	if (!u || !u->on)
		return;
	usage_flush(u, QUERY_WAIT_MS);
	time_t now = time(NULL);
	uint64_t pv[PV__COUNT][USAGE_NPERIODS];
	struct view v[USAGE_NPERIODS];
	for (int p = 0; p < USAGE_NPERIODS; p++) {
		if (view_build(u, (enum usage_period_id)p, u->metrics_top, &v[p]) != 0)
			v[p].ntop = 0;
		pv[PV_OCTETS][p] = hh_octets(&v[p].total);
		pv[PV_PACKETS][p] = hh_packets(&v[p].total);
		pv[PV_REMAINDER][p] = hh_octets(&v[p].s6.remainder) + hh_octets(&v[p].s4.remainder);
		pv[PV_BOUND][p] = v[p].bound;
		pv[PV_PREFIXES][p] = v[p].s6.tracked + v[p].s4.tracked;
	}
	const struct counter_group groups[] = {
		{ "usage", "usage_events", "Usage accounting, log and state file events.", "event",
		  NULL, COUNTER_TOTAL, usage_desc, USAGE__COUNT, u->c, false },
		{ "octets", "usage_octets", "Octets translated in the period (both directions).",
		  "period", NULL, COUNTER_GAUGE, period_desc, USAGE_NPERIODS, pv[PV_OCTETS], false },
		{ "packets", "usage_packets", "Packets translated in the period.", "period", NULL,
		  COUNTER_GAUGE, period_desc, USAGE_NPERIODS, pv[PV_PACKETS], false },
		{ "remainder", "usage_remainder_octets",
		  "Octets of the period that no tracked prefix holds.", "period", NULL,
		  COUNTER_GAUGE, period_desc, USAGE_NPERIODS, pv[PV_REMAINDER], false },
		{ "bound", "usage_error_bound_octets",
		  "Most octets a prefix's count may miss (Space-Saving bound).", "period", NULL,
		  COUNTER_GAUGE, period_desc, USAGE_NPERIODS, pv[PV_BOUND], false },
		{ "prefixes", "usage_prefixes", "Prefixes tracked in the period.", "period", NULL,
		  COUNTER_GAUGE, period_desc, USAGE_NPERIODS, pv[PV_PREFIXES], false },
	};
	counters_emit(out, COUNTERS_PROMETHEUS, groups, ARRAY_SIZE(groups), NULL);

	/* The top prefixes of each period, by direction: bounded labels. */
	const struct counter_group fam = { "top", "usage_prefix_octets",
		"Octets of the period's top prefixes ([stats] metrics-prefixes), by direction.",
		"prefix", NULL, COUNTER_GAUGE, NULL, 0, NULL, false };
	counters_prometheus_header(out, &fam);
	for (int p = 0; p < USAGE_NPERIODS; p++) {
		size_t n = v[p].ntop;
		struct counter_desc *d = calloc(n ? n : 1, sizeof(*d));
		char (*names)[64] = calloc(n ? n : 1, sizeof(*names));
		uint64_t *from = calloc(n ? n : 1, sizeof(*from)), *to = calloc(n ? n : 1, sizeof(*to));
		if (d && names && from && to) {
			for (size_t i = 0; i < n; i++) {
				hh_key_format(&v[p].top[i].key, names[i], sizeof(names[i]));
				d[i] = (struct counter_desc){ names[i], "" };
				from[i] = v[p].top[i].c.octets_from;
				to[i] = v[p].top[i].c.octets_to;
			}
			char extra[64];
			struct counter_group g = fam;
			g.desc = d;
			g.n = n;
			g.extra = extra;
			snprintf(extra, sizeof(extra), "period=\"%s\",direction=\"from\"",
				 period_names[p]);
			g.values = from;
			counters_prometheus_values(out, &g);
			snprintf(extra, sizeof(extra), "period=\"%s\",direction=\"to\"", period_names[p]);
			g.values = to;
			counters_prometheus_values(out, &g);
		}
		free(d);
		free(names);
		free(from);
		free(to);
		free(v[p].top);
	}

	/* The hosting plan. */
	static const struct counter_desc quota_desc[] = {
		{ "bytes", "[ratelimit] monthly-quota in octets (0: none)." },
		{ "used_bytes", "Octets used this month." },
		{ "projected_bytes", "Octets at the end of the month at this month's rate." },
		{ "warned_percent", "Highest quota warning given this month (80, 90, 100; 0 none)." },
	};
	uint64_t qv[] = { u->quota, pv[PV_OCTETS][USAGE_MONTH], usage_month_projection(u, now),
			  u->quota_level };
	const struct counter_group quota = { "quota", "quota", NULL, NULL, NULL, COUNTER_GAUGE,
					     quota_desc, ARRAY_SIZE(quota_desc), qv, false };
	counters_emit(out, COUNTERS_PROMETHEUS, &quota, 1, NULL);
}
