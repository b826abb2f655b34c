/* The subsystems sixfourd runs, in start order. Adding one is one row. */
#include "autoconf.h"

#include "appliance/appliance.h"
#include "health/health.h"

const struct subsys_ops *const appliance_subsystems[] = {
	&health_subsys,
	NULL,
};
