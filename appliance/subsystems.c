/* The subsystems sixfourd runs, in start order. Adding one is one row. */
#include "autoconf.h"

#include "appliance/appliance.h"

const struct subsys_ops *const appliance_subsystems[] = {
	NULL,
};
