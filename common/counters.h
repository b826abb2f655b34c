/* Counters, described once. A subsystem lists its counters in an X-macro
 * (NAME, "help text"), keeps their values in a uint64_t array indexed by
 * the generated enum, and hands groups of them to one emitter that writes
 * the `sixfourctl` text, its --json form and the Prometheus exposition
 * format alike. Adding a counter is one row of its list.
 *
 *   #define FOO_COUNTERS(X) X(SENT, "datagrams sent") X(LOST, "datagrams lost")
 *   enum foo_counter {
 *   #define X(name, help) FOO_##name,
 *           FOO_COUNTERS(X)
 *   #undef X
 *           FOO__COUNT };
 *   static const struct counter_desc foo_desc[] = { FOO_COUNTERS(COUNTER_DESC) };
 *
 * Values: one writer per array (a worker, the main loop) bumps with
 * counter_inc (no locked instruction); arrays written by several threads
 * use counter_add. Readers load with counter_get and may lag by a packet,
 * never tear. */
#ifndef SIXFOUR_COUNTERS_H
#define SIXFOUR_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_out;

struct counter_desc {
	const char *name;	/* as listed: "POOL_EXHAUSTED" or "rx6" */
	const char *help;
};

/* Row generator for a descriptor array from an X-macro list. */
#define COUNTER_DESC(name, help) { #name, help },

enum counter_kind {
	COUNTER_TOTAL,		/* monotonic: Prometheus counter, `_total` */
	COUNTER_GAUGE,		/* a level */
};

/* A group: `n` values that share a kind and, in Prometheus, one metric
 * family distinguished by one label:
 *   sixfour_<metric>{<label>="<name>"[,<extra>]} <value>
 * With `label` NULL each value is its own family, sixfour_<metric>_<name>
 * (names lower-cased), or sixfour_<name> when `metric` is NULL too. In text and JSON the group is `key`:
 *   text:  "key:\n  name value\n..." (zero values skipped when `skip_zero`)
 *   JSON:  "key":{"name":value,...}
 * Names keep their spelling in text and JSON, so scripts that read one
 * format read the other. */
struct counter_group {
	const char *key;		/* text/JSON name, e.g. "drops" */
	const char *metric;		/* Prometheus family without "sixfour_" (see above) */
	const char *help;		/* # HELP text of the family */
	const char *label;		/* label name, or NULL (see above) */
	const char *extra;		/* more labels, e.g. "server=\"192.0.2.1\"", or NULL */
	enum counter_kind kind;
	const struct counter_desc *desc;
	size_t n;
	const uint64_t *values;		/* n values in descriptor order */
	bool skip_zero;			/* text only: leave out zero values */
};

enum counters_format {
	COUNTERS_TEXT,
	COUNTERS_JSON,		/* members of an object: "key":{...} (no braces around) */
	COUNTERS_PROMETHEUS,
};

/* Writes `n` groups. JSON members are separated by commas; `*first` (may be
 * NULL) says whether a comma is needed before the first one and is cleared. */
void counters_emit(struct ctl_out *out, enum counters_format fmt,
		   const struct counter_group *groups, size_t n, bool *first);
/* Prometheus # HELP and # TYPE lines of a family that is written once and
 * filled by several emits with different `extra` labels. */
void counters_prometheus_header(struct ctl_out *out, const struct counter_group *g);
/* Like counters_emit for Prometheus, without the # HELP/# TYPE lines. */
void counters_prometheus_values(struct ctl_out *out, const struct counter_group *g);

/* The format a control command was asked for. */
enum counters_format counters_format_of(const struct ctl_out *out);

static inline void counter_inc(uint64_t *p, uint64_t by)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + by, __ATOMIC_RELAXED);
}

static inline void counter_add(uint64_t *p, uint64_t by)
{
	__atomic_fetch_add(p, by, __ATOMIC_RELAXED);
}

static inline uint64_t counter_get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Adds `n` counters of `src` into `dst` (summing per-thread arrays). */
void counters_sum(uint64_t *dst, const uint64_t *src, size_t n);

#endif
