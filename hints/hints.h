/* Host hints: Router Advertisements with RDNSS, DNSSL and PREF64, and a
 * stateless DHCPv6 server, on the interfaces named in [hints] interface. */
#ifndef SIXFOUR_HINTS_H
#define SIXFOUR_HINTS_H

#include "common/subsys.h"

extern const struct subsys_ops hints_subsys;

#endif
