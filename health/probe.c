/* The verdict state machine of one probed prefix (probe.h). */
#include "autoconf.h"
#include "health/probe.h"

#include <string.h>

#include "common/util.h"

/* Weight of a new sample in the smoothed round trip, in 1/8ths (as TCP's SRTT). */
#define RTT_NEW_EIGHTHS 2

static const char *const reason_names[] = {
#define X(name, text) #name,
	HEALTH_REASONS(X)
#undef X
};
static const char *const reason_texts[] = {
#define X(name, text) text,
	HEALTH_REASONS(X)
#undef X
};

const char *health_reason_name(enum health_reason r)
{
	static char lower[HEALTH_REASON__COUNT][24];
	if ((unsigned)r >= HEALTH_REASON__COUNT)
		return "unknown";
	if (!lower[r][0]) {
		size_t i = 0;
		for (const char *s = reason_names[r]; *s && i + 1 < sizeof(lower[r]); s++, i++)
			lower[r][i] = *s == '_' ? '-' : (char)(*s | 0x20);
		lower[r][i] = '\0';
	}
	return lower[r];
}

const char *health_reason_text(enum health_reason r)
{
	return (unsigned)r < HEALTH_REASON__COUNT ? reason_texts[r] : "unknown";
}

void probe_init(struct probe_state *p, bool up, bool settled, uint64_t now_us)
{
	memset(p, 0, sizeof(*p));
	p->up = up;
	p->settled = settled;
	p->fast = !settled;	/* no verdict yet: find one quickly */
	p->next_send_us = now_us;
	p->changed_us = now_us;
	p->reason = HEALTH_REASON_CONFIGURED;
}

static size_t in_flight(const struct probe_state *p)
{
	size_t n = 0;
	for (size_t i = 0; i < PROBE_WINDOW; i++)
		n += p->slot[i].used;
	return n;
}

bool probe_send_due(const struct probe_state *p, uint64_t now_us)
{
	return now_us >= p->next_send_us && in_flight(p) < PROBE_WINDOW;
}

static void set_fast(struct probe_state *p, const struct probe_timing *t, bool fast,
		     uint64_t now_us)
{
	if (fast && !p->fast)
		p->next_send_us = now_us;		/* the first fast probe goes now */
	else if (!fast && p->fast)
		p->next_send_us = now_us + t->interval_us;
	p->fast = fast;
}

static void change(struct probe_state *p, bool up, enum health_reason why, unsigned count,
		   uint64_t now_us)
{
	if (p->up != up)
		p->c[PROBE_C_changes]++;
	p->up = up;
	p->settled = true;
	p->changed_us = now_us;
	p->reason = why;
	p->reason_count = count;
}

/* One probe's outcome, in the order outcomes become known. Returns true
 * when the verdict (or its being settled) changed. */
static bool record(struct probe_state *p, const struct probe_timing *t, bool ok, uint64_t now_us)
{
	if (ok) {
		p->fail_run = 0;
		p->ok_run++;
		if (p->up) {
			set_fast(p, t, false, now_us);	/* alive: confirmed */
			return false;
		}
		if (p->ok_run >= t->rise) {
			change(p, true, HEALTH_REASON_ANSWERED, p->ok_run, now_us);
			set_fast(p, t, false, now_us);
			return true;
		}
		set_fast(p, t, true, now_us);		/* coming back? confirm it */
		return false;
	}
	p->ok_run = 0;
	p->fail_run++;
	if (p->up) {
		if (p->fail_run >= t->fall) {
			change(p, false, HEALTH_REASON_UNANSWERED, p->fail_run, now_us);
			set_fast(p, t, false, now_us);
			return true;
		}
		set_fast(p, t, true, now_us);		/* going away? confirm it */
		return false;
	}
	if (!p->settled) {
		if (p->fail_run < t->fall)
			return false;			/* still finding out */
		change(p, false, HEALTH_REASON_UNANSWERED, p->fail_run, now_us);
		set_fast(p, t, false, now_us);
		return true;
	}
	set_fast(p, t, false, now_us);			/* still down */
	return false;
}

bool probe_sent(struct probe_state *p, const struct probe_timing *t, uint16_t seq, bool failed,
		uint64_t now_us)
{
	p->c[PROBE_C_sent]++;
	p->next_send_us = now_us + (p->fast ? t->fast_us : t->interval_us);
	if (failed) {
		p->c[PROBE_C_unanswered]++;
		return record(p, t, false, now_us);
	}
	for (size_t i = 0; i < PROBE_WINDOW; i++)
		if (!p->slot[i].used) {
			p->slot[i] = (struct probe_slot){ .used = true, .seq = seq, .sent_us = now_us };
			break;
		}
	return false;
}

bool probe_answer(struct probe_state *p, const struct probe_timing *t, uint16_t seq,
		  uint64_t now_us)
{
	for (size_t i = 0; i < PROBE_WINDOW; i++) {
		struct probe_slot *s = &p->slot[i];
		if (!s->used || s->seq != seq)
			continue;
		s->used = false;
		/* Older probes still in flight are superseded: the site
		 * answers, so they were lost, not a sign of its death. */
		for (size_t k = 0; k < PROBE_WINDOW; k++)
			if (p->slot[k].used && p->slot[k].sent_us < s->sent_us) {
				p->slot[k].used = false;
				p->c[PROBE_C_unanswered]++;
			}
		uint64_t rtt = now_us > s->sent_us ? now_us - s->sent_us : 1;
		if (rtt > UINT32_MAX)
			rtt = UINT32_MAX;
		p->rtt_us = p->rtt_us == 0 ? (uint32_t)rtt :
			(uint32_t)((p->rtt_us * (8 - RTT_NEW_EIGHTHS) + rtt * RTT_NEW_EIGHTHS) / 8);
		if (p->rtt_us == 0)
			p->rtt_us = 1;
		p->c[PROBE_C_answered]++;
		return record(p, t, true, now_us);
	}
	p->c[PROBE_C_late]++;
	return false;
}

/* A probe unanswered this long makes us probe fast: the fast interval, or
 * twice the usual round trip for far sites, never more than the timeout. */
static uint64_t late_after(const struct probe_state *p, const struct probe_timing *t)
{
	return MIN(MAX(t->fast_us, 2 * (uint64_t)p->rtt_us), t->timeout_us);
}

bool probe_tick(struct probe_state *p, const struct probe_timing *t, uint64_t now_us)
{
	bool changed = false;
	/* Expire in the order the probes were sent: outcomes stay in order. */
	for (;;) {
		struct probe_slot *oldest = NULL;
		for (size_t i = 0; i < PROBE_WINDOW; i++) {
			struct probe_slot *s = &p->slot[i];
			if (s->used && now_us >= s->sent_us + t->timeout_us &&
			    (!oldest || s->sent_us < oldest->sent_us))
				oldest = s;
		}
		if (!oldest)
			break;
		oldest->used = false;
		p->c[PROBE_C_unanswered]++;
		changed |= record(p, t, false, now_us);
	}
	/* Only an up prefix is suspected: a down one's probes are late
	 * anyway, and its first answer starts the fast probes. */
	if (!p->fast && p->up) {
		uint64_t late = late_after(p, t);
		for (size_t i = 0; i < PROBE_WINDOW; i++)
			if (p->slot[i].used && now_us >= p->slot[i].sent_us + late) {
				set_fast(p, t, true, now_us);
				break;
			}
	}
	return changed;
}

uint64_t probe_next_due(const struct probe_state *p, const struct probe_timing *t)
{
	uint64_t due = in_flight(p) < PROBE_WINDOW ? p->next_send_us : UINT64_MAX;
	uint64_t late = late_after(p, t);
	for (size_t i = 0; i < PROBE_WINDOW; i++) {
		const struct probe_slot *s = &p->slot[i];
		if (!s->used)
			continue;
		due = MIN(due, s->sent_us + t->timeout_us);
		if (!p->fast && p->up)
			due = MIN(due, s->sent_us + late);
	}
	return due;
}
