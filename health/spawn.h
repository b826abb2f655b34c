/* Running an operator's reload command (rndc reconfig, unbound-control
 * reload) from the main loop without blocking it: no shell, its own process
 * group, a timeout that kills the group, exit noticed through a pidfd, the
 * first line of its output kept for the log. */
#ifndef SIXFOUR_HEALTH_SPAWN_H
#define SIXFOUR_HEALTH_SPAWN_H

#include <stddef.h>
#include <stdint.h>

struct evloop;
struct spawn;

#define SPAWN_MAX_ARGS 32
#define SPAWN_OUTPUT_MAX 256

/* Splits a command line into words at spaces and tabs; "double quotes"
 * group words (a quote inside them is written \"). Fills argv (NULL
 * terminated, pointing into `buf`). Returns the word count, or -EINVAL
 * (unterminated quote, no words) / -E2BIG. */
int spawn_split(const char *line, char *buf, size_t buflen, char **argv, size_t max);

/* `status`: the exit code (0 = success), 128 + the signal that ended it,
 * -ETIMEDOUT when it was killed after the timeout, or -errno when it could
 * not be started (then `done` runs from the loop, never from spawn_run). */
typedef void (*spawn_done_fn)(void *arg, int status, const char *output);

/* Starts argv[0] (looked up in PATH) with stdin from /dev/null and its
 * output collected. NULL only when out of memory. */
struct spawn *spawn_run(struct evloop *loop, char *const argv[], uint64_t timeout_ms,
			spawn_done_fn done, void *arg);
/* As spawn_run, but through sixfourd's command launcher when `l` is not
 * NULL (common/launcher.h: the seccomp-filtered sixfourd starts no process
 * itself); the launcher applies the timeout. */
struct launcher;
struct spawn *spawn_run_with(struct launcher *l, struct evloop *loop, char *const argv[],
			     uint64_t timeout_ms, spawn_done_fn done, void *arg);
/* Kills a command that still runs and forgets it (`done` is not called). */
void spawn_cancel(struct spawn *s);

#endif
