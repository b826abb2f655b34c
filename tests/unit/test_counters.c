/* common/counters.c: one descriptor list, three formats. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/ctl.h"
#include "tap.h"

#define DEMO_COUNTERS(X) \
	X(SENT, "datagrams sent") \
	X(LOST, "datagrams lost")

static const struct counter_desc demo_desc[] = { DEMO_COUNTERS(COUNTER_DESC) };

static char *emit(enum counters_format fmt, const struct counter_group *g, size_t n)
{
	struct ctl_out out = { 0 };
	out.json = fmt == COUNTERS_JSON;
	counters_emit(&out, fmt, g, n, NULL);
	ctl_printf(&out, "%s", "");
	return out.buf;
}

int main(void)
{
	plan(8);
	uint64_t v[2] = { 7, 0 };
	struct counter_group g = { .key = "demo", .metric = "demo_events", .help = "Demo events.",
				   .label = "kind", .kind = COUNTER_TOTAL, .desc = demo_desc,
				   .n = 2, .values = v };
	char *t = emit(COUNTERS_TEXT, &g, 1);
	is_str(t, "demo:\n  SENT                     7\n  LOST                     0\n",
	       "text: a titled list, every value");
	free(t);
	g.skip_zero = true;
	t = emit(COUNTERS_TEXT, &g, 1);
	is_str(t, "demo:\n  SENT                     7\n", "text: zero values left out on request");
	free(t);
	t = emit(COUNTERS_JSON, &g, 1);
	is_str(t, "\"demo\":{\"SENT\":7,\"LOST\":0}", "JSON: an object member, zeros kept");
	free(t);
	t = emit(COUNTERS_PROMETHEUS, &g, 1);
	is_str(t, "# HELP sixfour_demo_events_total Demo events.\n"
	       "# TYPE sixfour_demo_events_total counter\n"
	       "sixfour_demo_events_total{kind=\"SENT\"} 7\n"
	       "sixfour_demo_events_total{kind=\"LOST\"} 0\n", "Prometheus: one family, one label");
	free(t);
	struct counter_group gauge = { .key = "level", .metric = "demo", .kind = COUNTER_GAUGE,
				       .desc = demo_desc, .n = 1, .values = v,
				       .extra = "server=\"192.0.2.1\"" };
	t = emit(COUNTERS_PROMETHEUS, &gauge, 1);
	is_str(t, "# HELP sixfour_demo_sent datagrams sent\n# TYPE sixfour_demo_sent gauge\n"
	       "sixfour_demo_sent{server=\"192.0.2.1\"} 7\n",
	       "Prometheus without a label: one family per value, extra labels kept");
	free(t);
	struct counter_group bare = { .key = "own", .kind = COUNTER_TOTAL, .desc = demo_desc,
				      .n = 1, .values = v };
	t = emit(COUNTERS_PROMETHEUS, &bare, 1);
	is_str(t, "# HELP sixfour_sent_total datagrams sent\n# TYPE sixfour_sent_total counter\n"
	       "sixfour_sent_total 7\n", "Prometheus without a metric: the value's name alone");
	free(t);
	struct counter_group two[2] = { g, gauge };
	two[0].skip_zero = false;
	t = emit(COUNTERS_JSON, two, 2);
	is_str(t, "\"demo\":{\"SENT\":7,\"LOST\":0},\"level\":{\"SENT\":7}",
	       "JSON: groups separated by commas");
	free(t);
	uint64_t sum[2] = { 1, 1 };
	counters_sum(sum, v, 2);
	ok(sum[0] == 8 && sum[1] == 1, "counters_sum adds per-thread arrays");
	return tap_done();
}
