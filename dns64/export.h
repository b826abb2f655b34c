/* The prefix set as DNS64 configuration for resolvers we do not run: BIND 9
 * dns64 blocks and Unbound's dns64 module. The text depends only on the
 * prefix set, its health verdicts and the [dns64] policy (exclude, mapped,
 * allow), never on whether our own resolver runs, so a health-only
 * sixfourd exports the same as a full one. */
#ifndef SIXFOUR_DNS64_EXPORT_H
#define SIXFOUR_DNS64_EXPORT_H

#include <stdbool.h>

struct ctl_out;
struct prefix_set;
struct sixfour_config;

/* Writes `format` ("bind" or "unbound") for the active prefixes of `set`
 * (those with the synthesize role that health keeps active). `fallback`
 * says that no prefix is healthy and `set` marks the configured fallback
 * active instead (the text says so). -EINVAL for an unknown format. */
int dns64_export(const struct prefix_set *set, const struct sixfour_config *cfg,
		 const char *format, bool fallback, struct ctl_out *out);

#endif
