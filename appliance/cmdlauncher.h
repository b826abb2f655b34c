/* The command launcher's process (common/launcher.h is sixfourd's side). */
#ifndef SIXFOUR_CMDLAUNCHER_H
#define SIXFOUR_CMDLAUNCHER_H

#include <sys/types.h>

#include "appliance/privhelper.h"

/* Forks the launcher: it switches to cfg's [general] user with no
 * capability (and no seccomp filter: the commands it starts are the
 * operator's) and serves requests until the channel closes. Returns the
 * channel's descriptor and sets *pid, or -errno. Call before any thread
 * exists and before the seccomp filter. */
int cmdlauncher_start(const struct sixfour_config *cfg, privhelper_load_fn load, const char *arg,
		      pid_t *pid);

#endif
