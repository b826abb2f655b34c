#ifndef SIXFOUR_APPLIANCE_H
#define SIXFOUR_APPLIANCE_H

#include "common/subsys.h"

/* NULL-terminated, in start order; stopped in reverse. */
extern const struct subsys_ops *const appliance_subsystems[];

#endif
