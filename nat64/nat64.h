/* The stateful translator as a subsystem of sixfourd. */
#ifndef SIXFOUR_NAT64_NAT64_H
#define SIXFOUR_NAT64_NAT64_H

#include "common/subsys.h"

extern const struct subsys_ops nat64_subsys;

#endif
