/* The one emitter of counters: text, JSON and Prometheus from the same
 * descriptors (counters.h). */
#include "autoconf.h"
#include "common/counters.h"

#include <ctype.h>
#include <string.h>

#include "common/ctl.h"

enum counters_format counters_format_of(const struct ctl_out *out)
{
	return out->json ? COUNTERS_JSON : COUNTERS_TEXT;
}

void counters_sum(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += counter_get(&src[i]);
}

/* Prometheus names are [a-zA-Z_:][a-zA-Z0-9_:]*; ours are lower case. */
static void put_lower(struct ctl_out *out, const char *s)
{
	char buf[128];
	size_t i = 0;
	for (; s[i] && i + 1 < sizeof(buf); i++)
		buf[i] = isalnum((unsigned char)s[i]) ? (char)tolower((unsigned char)s[i]) : '_';
	buf[i] = '\0';
	ctl_printf(out, "%s", buf);
}

static const char *type_name(enum counter_kind k)
{
	return k == COUNTER_GAUGE ? "gauge" : "counter";
}

/* "sixfour_<metric>[_<name>]": the family name without its "_total". */
static void family_name(struct ctl_out *out, const struct counter_group *g, const char *name)
{
	ctl_printf(out, "sixfour_");
	if (g->metric)
		ctl_printf(out, "%s%s", g->metric, name ? "_" : "");
	if (name)
		put_lower(out, name);
}

static void family_header(struct ctl_out *out, const struct counter_group *g, const char *name,
			  const char *help)
{
	const char *total = g->kind == COUNTER_TOTAL ? "_total" : "";
	ctl_printf(out, "# HELP ");
	family_name(out, g, name);
	ctl_printf(out, "%s %s\n# TYPE ", total, help);
	family_name(out, g, name);
	ctl_printf(out, "%s %s\n", total, type_name(g->kind));
}

void counters_prometheus_header(struct ctl_out *out, const struct counter_group *g)
{
	if (g->label)
		family_header(out, g, NULL, g->help);
	/* Families named per value have their header next to their value. */
}

static void prom_values(struct ctl_out *out, const struct counter_group *g, bool headers)
{
	const char *total = g->kind == COUNTER_TOTAL ? "_total" : "";
	for (size_t i = 0; i < g->n; i++) {
		unsigned long long v = (unsigned long long)counter_get(&g->values[i]);
		if (g->label) {
			ctl_printf(out, "sixfour_%s%s{%s=\"%s\"%s%s} %llu\n", g->metric, total,
				   g->label, g->desc[i].name, g->extra ? "," : "",
				   g->extra ? g->extra : "", v);
			continue;
		}
		if (headers)
			family_header(out, g, g->desc[i].name, g->desc[i].help);
		family_name(out, g, g->desc[i].name);
		if (g->extra)
			ctl_printf(out, "%s{%s} %llu\n", total, g->extra, v);
		else
			ctl_printf(out, "%s %llu\n", total, v);
	}
}

void counters_prometheus_values(struct ctl_out *out, const struct counter_group *g)
{
	prom_values(out, g, false);
}

void counters_emit(struct ctl_out *out, enum counters_format fmt,
		   const struct counter_group *groups, size_t n, bool *first)
{
	bool local_first = true;
	if (!first)
		first = &local_first;
	for (size_t k = 0; k < n; k++) {
		const struct counter_group *g = &groups[k];
		switch (fmt) {
		case COUNTERS_TEXT:
			ctl_printf(out, "%s:\n", g->key);
			for (size_t i = 0; i < g->n; i++) {
				uint64_t v = counter_get(&g->values[i]);
				if (v || !g->skip_zero)
					ctl_printf(out, "  %-24s %llu\n", g->desc[i].name,
						   (unsigned long long)v);
			}
			break;
		case COUNTERS_JSON:
			ctl_printf(out, "%s\"%s\":{", *first ? "" : ",", g->key);
			for (size_t i = 0; i < g->n; i++)
				ctl_printf(out, "%s\"%s\":%llu", i ? "," : "", g->desc[i].name,
					   (unsigned long long)counter_get(&g->values[i]));
			ctl_printf(out, "}");
			*first = false;
			break;
		case COUNTERS_PROMETHEUS:
			counters_prometheus_header(out, g);
			prom_values(out, g, true);
			break;
		}
	}
}
