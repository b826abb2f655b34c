/* The subsystems sixfourd runs, in start order. Adding one is one row. */
#include "autoconf.h"

#include "appliance/appliance.h"
#include "appliance/cluster.h"
#include "dns64/dns64.h"
#include "health/health.h"
#include "hints/hints.h"
#include "nat64/nat64.h"

const struct subsys_ops *const appliance_subsystems[] = {
	&cluster_subsys,	/* first: the others start knowing the node's role */
	&health_subsys,
	&hints_subsys,
	&dns64_subsys,
	&nat64_subsys,
	NULL,
};
