/* Commands sixfourd runs (the [export] reload commands) start in a launcher
 * process of their own, forked at start-up before the seccomp filter: the
 * filtered sixfourd may start no process, and a child would inherit the
 * filter. The launcher runs as the [general] user with no capability and
 * starts only a command its own copy of the configuration names
 * (appliance/launcher.c); sixfourd sends argv and gets the exit status and
 * the first line of output back, asynchronously, on its event loop. */
#ifndef SIXFOUR_LAUNCHER_H
#define SIXFOUR_LAUNCHER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LAUNCHER_OUTPUT_MAX 256
#define LAUNCHER_MAX_MSG 4096

enum launcher_type {
	LAUNCHER_RUN = 1,	/* id, timeout, argv: start it */
	LAUNCHER_CANCEL,	/* id: kill it, no reply */
	LAUNCHER_RELOAD,	/* re-read the configuration (ordered before later runs) */
};

struct launcher_req_hdr {
	uint32_t type;
	uint32_t id;
	uint64_t timeout_ms;
	/* LAUNCHER_RUN: then argv as NUL-terminated strings */
};

struct launcher_reply {
	uint32_t id;
	int32_t status;		/* as spawn_done_fn's (health/spawn.h) */
	char output[LAUNCHER_OUTPUT_MAX];
};

struct evloop;
struct launcher;
struct launcher_job;

typedef void (*launcher_done_fn)(void *arg, int status, const char *output);

/* sixfourd's side: wraps the connected descriptor (watched on `loop`) and
 * the launcher's pid. */
struct launcher *launcher_new(struct evloop *loop, int fd, pid_t pid);
/* Closes the channel (the launcher kills what still runs and exits) and
 * waits for the launcher. */
void launcher_close(struct launcher *l);
/* Starts argv through the launcher: `done` runs on the loop with the
 * status (-EPERM when the launcher's configuration does not name argv,
 * -EPIPE when the launcher is gone). NULL when out of memory or argv does
 * not fit in one request. */
struct launcher_job *launcher_run(struct launcher *l, char *const argv[], uint64_t timeout_ms,
				  launcher_done_fn done, void *arg);
/* Kills a job that still runs; `done` is not called. */
void launcher_cancel(struct launcher_job *j);
/* The launcher re-reads the configuration before any later request. */
int launcher_reload(struct launcher *l);

#endif
