/* The DNS64 resolver subsystem (RFC 6147 over libunbound). */
#ifndef SIXFOUR_DNS64_H
#define SIXFOUR_DNS64_H

#include "common/subsys.h"

extern const struct subsys_ops dns64_subsys;

#endif
