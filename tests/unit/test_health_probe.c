/* The verdict state machine (health/probe.h) against a simulated site on a
 * fake clock, with the default [health] timing: how long a dead site takes
 * to be withdrawn and a returning one to come back, for every phase of the
 * probe interval; that 10 % random probe loss never takes a live site down;
 * late replies, failed sends and the start-up verdict. */
#include "autoconf.h"

#include <stdint.h>

#include "common/config.h"
#include "health/probe.h"
#include "tap.h"

#define RTT_US 20000u	/* a site 20 ms away */
#define MAX_REPLIES 64

struct sim {
	struct probe_state st;
	struct probe_timing t;
	uint64_t now;
	bool alive;
	unsigned loss_per_mille;
	uint64_t rng;
	struct { uint16_t seq; uint64_t at; } replies[MAX_REPLIES];
	size_t nreplies;
	uint16_t seq;
	unsigned downs, ups;	/* verdict changes seen */
};

static uint64_t rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

/* The defaults of the option table, read from the embedded config. */
static struct probe_timing defaults(void)
{
	struct config_errors errs;
	struct sixfour_config *cfg = config_load(NULL, &errs);
	struct probe_timing t = { 0 };
	if (!cfg)
		bail("the embedded default config does not load");
	t.interval_us = cfg->health.interval_ms * 1000;
	t.fast_us = cfg->health.fast_interval_ms * 1000;
	t.timeout_us = cfg->health.timeout_ms * 1000;
	t.rise = cfg->health.rise;
	t.fall = cfg->health.fall;
	config_free(cfg);
	return t;
}

static void sim_init(struct sim *s, bool up, bool settled, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->t = defaults();
	s->now = 1000000;
	s->alive = true;
	s->rng = seed | 1;
	probe_init(&s->st, up, settled, s->now);
}

static void observe(struct sim *s, bool was_up)
{
	if (was_up && !s->st.up)
		s->downs++;
	if (!was_up && s->st.up)
		s->ups++;
}

/* Runs the simulation until `until`, event by event. */
static void run(struct sim *s, uint64_t until)
{
	while (s->now < until) {
		uint64_t next = probe_next_due(&s->st, &s->t);
		size_t r = s->nreplies;
		for (size_t i = 0; i < s->nreplies; i++)
			if (s->replies[i].at <= next && (r == s->nreplies ||
							 s->replies[i].at < s->replies[r].at)) {
				next = s->replies[i].at;
				r = i;
			}
		if (next > until) {
			s->now = until;
			break;
		}
		if (next > s->now)
			s->now = next;
		bool was_up = s->st.up;
		if (r < s->nreplies) {
			probe_answer(&s->st, &s->t, s->replies[r].seq, s->now);
			s->replies[r] = s->replies[--s->nreplies];
		} else {
			probe_tick(&s->st, &s->t, s->now);
			if (probe_send_due(&s->st, s->now)) {
				uint16_t seq = s->seq++;
				probe_sent(&s->st, &s->t, seq, false, s->now);
				bool lost = rnd(s) % 1000 < s->loss_per_mille;
				if (s->alive && !lost && s->nreplies < MAX_REPLIES)
					s->replies[s->nreplies++] = (typeof(s->replies[0])){
						seq, s->now + RTT_US };
			}
		}
		observe(s, was_up);
	}
}

/* From `from`, how long until the verdict is `up` (UINT64_MAX: never
 * within `limit`). */
static uint64_t time_until(struct sim *s, bool up, uint64_t limit)
{
	uint64_t from = s->now;
	while (s->st.up != up && s->now < from + limit)
		run(s, s->now + 1000);	/* 1 ms steps of the fake clock */
	return s->st.up == up ? s->now - from : UINT64_MAX;
}

int main(void)
{
	plan(14);
	struct sim s;

	/* Start-up: a prefix without a verdict is probed fast. */
	sim_init(&s, false, false, 1);
	uint64_t t_up = time_until(&s, true, 10000000);
	ok(t_up <= (s.t.rise - 1) * s.t.fast_us + RTT_US + 1000,
	   "a new live prefix is up after rise fast probes");
	printf("# start-up: up after %.3f s\n", t_up / 1e6);
	ok(s.st.settled && s.st.reason == HEALTH_REASON_ANSWERED, "settled, because probes answered");

	sim_init(&s, false, false, 2);
	s.alive = false;
	run(&s, s.now + 5000000);
	ok(s.st.settled && !s.st.up && s.st.reason_count == s.t.fall,
	   "a new dead prefix is settled down after fall failures, within 5 s");

	/* Death and return at every phase of the interval (10 ms steps). */
	uint64_t worst_down = 0, worst_up = 0, sum_down = 0, sum_up = 0;
	unsigned trials = 0, flaps = 0;
	for (uint64_t phase = 0; phase < s.t.interval_us; phase += 10000, trials++) {
		sim_init(&s, true, true, 3 + phase);
		run(&s, s.now + 10 * s.t.interval_us + phase);
		s.alive = false;
		uint64_t d = time_until(&s, false, 30000000);
		run(&s, s.now + phase % 3000000);	/* down a while */
		s.alive = true;
		uint64_t u = time_until(&s, true, 30000000);
		worst_down = d > worst_down ? d : worst_down;
		worst_up = u > worst_up ? u : worst_up;
		sum_down += d;
		sum_up += u;
		flaps += s.downs != 1 || s.ups != 1;
	}
	uint64_t bound_down = s.t.interval_us + (s.t.fall - 1) * s.t.fast_us + s.t.timeout_us;
	uint64_t bound_up = s.t.interval_us + (s.t.rise - 1) * s.t.fast_us + RTT_US;
	printf("# %u phases: withdrawn after %.3f s on average, %.3f s at worst "
	       "(documented bound %.3f s)\n", trials, sum_down / 1e6 / trials, worst_down / 1e6,
	       bound_down / 1e6);
	printf("# back after %.3f s on average, %.3f s at worst (bound %.3f s)\n",
	       sum_up / 1e6 / trials, worst_up / 1e6, bound_up / 1e6);
	ok(worst_down <= bound_down + 1000, "a dead site is withdrawn within the documented bound");
	ok(worst_down < 5000000, "... which is under 5 s with the defaults");
	ok(worst_up <= bound_up + 1000, "a returning site is back within its bound");
	ok(worst_up < 10000000, "... which is under 10 s with the defaults");
	is_int(flaps, 0, "one change each way, no flapping in between");

	/* 10 % of probes lost at random, six simulated hours: never down. */
	sim_init(&s, true, true, 12345);
	s.loss_per_mille = 100;
	run(&s, s.now + 6ull * 3600 * 1000000);
	is_int(s.downs, 0, "10 % probe loss for 6 h: the site is never withdrawn");
	printf("# 10 %% loss, 6 h: %llu probes sent (%.2f/s), %llu unanswered\n",
	       (unsigned long long)s.st.c[PROBE_C_sent], s.st.c[PROBE_C_sent] / 21600.0,
	       (unsigned long long)s.st.c[PROBE_C_unanswered]);
	ok(s.st.c[PROBE_C_sent] < 21600 * 2, "and costs less than twice the normal probe rate");

	/* A dead site under the same loss still goes down in time. */
	s.alive = false;
	uint64_t d = time_until(&s, false, 30000000);
	ok(d <= bound_down + 1000, "with 10 % loss a death is still seen within the bound");

	/* Failed sends count at once; stray replies are late. */
	sim_init(&s, true, true, 7);
	for (unsigned i = 0; i < s.t.fall; i++)
		probe_sent(&s.st, &s.t, (uint16_t)(100 + i), true, s.now);
	ok(!s.st.up && s.st.reason == HEALTH_REASON_UNANSWERED,
	   "probes that cannot be sent fail at once");
	uint64_t late = s.st.c[PROBE_C_late];
	probe_answer(&s.st, &s.t, 9999, s.now);
	is_int(s.st.c[PROBE_C_late], late + 1, "a reply to no probe in flight counts as late");

	/* A late reply after its timeout is late, not a success. */
	sim_init(&s, true, true, 8);
	probe_sent(&s.st, &s.t, 42, false, s.now);
	s.now += s.t.timeout_us;
	probe_tick(&s.st, &s.t, s.now);
	probe_answer(&s.st, &s.t, 42, s.now + 1);
	ok(s.st.c[PROBE_C_unanswered] == 1 && s.st.c[PROBE_C_answered] == 0 &&
	   s.st.c[PROBE_C_late] == 1, "a reply after the timeout: unanswered, then late");
	return tap_done();
}
