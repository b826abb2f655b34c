/* sixfourd's privileged helper process (common/privsep.h). */
#ifndef SIXFOUR_PRIVHELPER_H
#define SIXFOUR_PRIVHELPER_H

#include "common/privsep.h"

struct sixfour_config;
struct config_errors;

/* Loads the configuration the way sixfourd does (-c FILE or the default). */
typedef struct sixfour_config *(*privhelper_load_fn)(const char *arg, struct config_errors *errs);

/* Forks the helper: it switches to cfg's [general] user keeping only the
 * capabilities the subsystems' privileged sides name, enters its seccomp
 * sandbox and serves requests until the channel closes, then undoes what
 * it set up. `cfg` (loaded before anything untrusted was read) is its
 * first configuration; PRIVSEP_RELOAD makes it call `load` with `arg`.
 * Call while still privileged and before any thread exists. */
struct privsep *privhelper_start(const struct sixfour_config *cfg, privhelper_load_fn load,
				 const char *arg);

/* A helper's reload: `load` with `arg`, errors logged under `who`. */
struct sixfour_config *privhelper_load(privhelper_load_fn load, const char *arg, const char *who);

/* The start of a forked helper: ignores the signals meant for sixfourd
 * (the helper ends with its channel), names the process `comm` and keeps
 * only `fd` of the parent's descriptors (privsep_child_fds). Returns the
 * channel's new descriptor. */
int privhelper_child(int fd, const char *comm, const struct sixfour_config *cfg);

/* Tells the helper to re-read the configuration: 0, or -errno when it
 * could not (then the reload must not go on). */
int privhelper_reload(struct privsep *ps);

#endif
