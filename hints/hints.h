/* Host hints: Router Advertisements with RDNSS, DNSSL and PREF64, and a
 * stateless DHCPv6 server, on the interfaces named in [hints] interface. */
#ifndef SIXFOUR_HINTS_H
#define SIXFOUR_HINTS_H

#include <stdbool.h>

#include "common/subsys.h"

extern const struct subsys_ops hints_subsys;

struct prefix_set;

/* A whole radvd.conf with the [hints] settings and, as nat64prefix, the
 * prefixes our own RAs would carry in PREF64 now (`fallback`: no prefix is
 * healthy and `set` marks the [export] fallback active instead). Depends
 * only on `set` and `cfg`. -EINVAL (with a comment line) when [hints] is
 * inconsistent. */
int hints_export_radvd(const struct prefix_set *set, const struct sixfour_config *cfg,
		       bool fallback, struct ctl_out *out);

#endif
