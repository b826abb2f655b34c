/* The verdict of one probed prefix, as a pure state machine over explicit
 * times (no sockets, no clock), so that failover timing and hysteresis have
 * deterministic unit tests.
 *
 * A prefix is probed every `interval`. When a probe is late (unanswered
 * after the fast interval, or twice the smoothed round trip if that is
 * longer) or fails, the prefix is probed every `fast` until its verdict is
 * confirmed: `fall` failures in a row take an up prefix down, `rise`
 * successes in a row bring a down one back. Several probes may be in
 * flight at once, each failing on its own `timeout`, so confirming a
 * death takes about timeout + (fall - 1) x fast after the first late
 * probe, not fall x interval. An answer supersedes older probes still in
 * flight (they were lost: the site lives). A down prefix is probed every
 * interval; its first answer starts the fast probes. A prefix that has no
 * verdict yet (start-up, a new prefix) is probed fast from the start. */
#ifndef SIXFOUR_HEALTH_PROBE_H
#define SIXFOUR_HEALTH_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_WINDOW 16		/* probes in flight per prefix */

struct probe_timing {
	uint64_t interval_us, fast_us, timeout_us;
	unsigned rise, fall;
};

/* Why a verdict changed: `sixfourctl health`, logs and metrics. */
#define HEALTH_REASONS(X) \
	X(CONFIGURED, "as configured (our own or unprobed prefixes start up)") \
	X(ANSWERED, "probes answered in a row") \
	X(UNANSWERED, "probes unanswered in a row") \
	X(LOCAL_DOWN, "the local translator's data path is down") \
	X(LOCAL_UP, "the local translator's data path is back") \
	X(TAKEOVER, "this cluster node took the translation over (doc/cluster.md)")

enum health_reason {
#define X(name, text) HEALTH_REASON_##name,
	HEALTH_REASONS(X)
#undef X
	HEALTH_REASON__COUNT
};

const char *health_reason_name(enum health_reason r);	/* "unanswered" */
const char *health_reason_text(enum health_reason r);

/* Per-prefix probe counters (common/counters.h). */
#define PROBE_COUNTERS(X) \
	X(sent, "probes sent") \
	X(answered, "probes answered in time") \
	X(unanswered, "probes that timed out or could not be sent") \
	X(late, "replies after their probe timed out, or to no probe of ours") \
	X(changes, "verdict changes (up to down and back)")

enum probe_counter {
#define X(name, help) PROBE_C_##name,
	PROBE_COUNTERS(X)
#undef X
	PROBE_C__COUNT
};

struct probe_slot {
	bool used;
	uint16_t seq;
	uint64_t sent_us;
};

struct probe_state {
	bool up;		/* the verdict */
	bool settled;		/* a verdict was confirmed at least once */
	bool fast;		/* confirming: probing every `fast` */
	unsigned ok_run, fail_run;
	uint32_t rtt_us;	/* smoothed round trip; 0 = no sample yet */
	uint64_t next_send_us;
	struct probe_slot slot[PROBE_WINDOW];
	/* The last change of `up`. */
	uint64_t changed_us;
	enum health_reason reason;
	unsigned reason_count;	/* probes behind the reason */
	uint64_t c[PROBE_C__COUNT];
};

/* A prefix that starts with a verdict (`up` for our own translator's
 * prefixes), or without one (`settled` false: probed fast until rise
 * successes or fall failures decide). */
void probe_init(struct probe_state *p, bool up, bool settled, uint64_t now_us);

/* True when a probe is due at `now`. */
bool probe_send_due(const struct probe_state *p, uint64_t now_us);
/* A probe with `seq` was handed to the kernel at `now` (or could not be:
 * `failed`, which counts as a failure at once). Returns true when the
 * verdict changed. */
bool probe_sent(struct probe_state *p, const struct probe_timing *t, uint16_t seq,
		bool failed, uint64_t now_us);
/* A reply to `seq` arrived at `now`. Returns true when the verdict
 * changed; a reply that matches no probe in flight counts as late. */
bool probe_answer(struct probe_state *p, const struct probe_timing *t, uint16_t seq,
		  uint64_t now_us);
/* Expires probes past their timeout and notices late ones. Returns true
 * when the verdict changed. */
bool probe_tick(struct probe_state *p, const struct probe_timing *t, uint64_t now_us);
/* When probe_tick or a send is next needed. */
uint64_t probe_next_due(const struct probe_state *p, const struct probe_timing *t);

#endif
