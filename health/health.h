/* Prefix health: probes each prefix with the probe role through the data
 * plane (ICMPv6 echo to <prefix>::<probe target>), confirms a change of
 * verdict with fast probes (probe.h), and publishes which prefixes DNS64
 * synthesizes with: the healthy, fastest `max-active`, with hysteresis
 * (rise/fall counts, and a margin before a faster prefix displaces an active
 * one). A withdrawn prefix keeps its other roles (PTR, translate). The same
 * subsystem writes the [export] files for resolvers we do not run. */
#ifndef SIXFOUR_HEALTH_H
#define SIXFOUR_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/subsys.h"

extern const struct subsys_ops health_subsys;

/* One candidate for synthesis, as the selection sees it. */
struct health_candidate {
	bool probed;		/* has a verdict of its own (probes, local data path) */
	bool up;		/* healthy (ignored when !probed) */
	bool active;		/* synthesized with now */
	uint32_t rtt_us;	/* smoothed probe round trip; 0 = unknown */
};

/* The selection rule, kept pure for unit tests: marks `active` on at most
 * `max_active` candidates. Unprobed candidates come first (the operator
 * vouches for them), then healthy probed ones by round trip; a candidate that
 * is active now keeps its place unless another is faster by more than 20 %.
 * Returns true when any `active` flag changed. */
bool health_select(struct health_candidate *c, size_t n, unsigned max_active);

#endif
