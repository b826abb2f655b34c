/* Private to health/: the subsystem's state, shared by the prober
 * (health.c) and its control commands and metrics (health_ctl.c). */
#ifndef SIXFOUR_HEALTH_INT_H
#define SIXFOUR_HEALTH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/config.h"
#include "common/rfc6052.h"
#include "health/probe.h"

struct ev_timer;
struct exports;

#define HEALTH_COUNTERS(X) \
	X(malformed, "ICMPv6 messages too short to be an echo reply of ours") \
	X(stray, "echo replies with our identifier from an address we do not probe")

enum health_counter {
#define X(name, help) HEALTH_C_##name,
	HEALTH_COUNTERS(X)
#undef X
	HEALTH_C__COUNT
};

struct hprobe {
	char name[PREFIX_NAME_MAX];
	struct in6_addr prefix;
	uint8_t len;
	struct in6_addr dst;		/* <prefix>::<target> */
	bool probed;
	bool translate;			/* our own translator serves it */
	bool local_down;		/* ... and says its data path is down */
	struct probe_state st;		/* the probes' verdict (or "as configured") */
	uint64_t grace_until_us;	/* a cluster standby keeps it up until then */
};

struct health {
	struct sixfour_ctx *ctx;
	bool enable;
	int sock;
	uint16_t ident;
	uint16_t next_seq;
	struct probe_timing timing;
	unsigned max_active;
	struct ev_timer *timer;
	struct hprobe probes[CONFIG_MAX_PREFIXES];
	size_t nprobes;
	uint64_t c[HEALTH_C__COUNT];
	struct exports *exports;
	uint64_t settle_deadline_us;	/* exports wait at most this long at start */
	bool released;			/* ... and have been let go */
	bool republish;			/* apply the verdicts to a new set (reload) */
	uint64_t takeover_us;		/* [cluster] takeover-time */
};

/* A prefix's verdict with the local data path taken into account. */
static inline bool hprobe_up(const struct hprobe *p)
{
	return !p->local_down && p->st.up;
}

extern const struct ctl_command health_commands[];
void health_metrics(void *state, struct ctl_out *out);

#endif
