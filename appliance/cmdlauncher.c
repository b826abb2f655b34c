/* The command launcher: see common/launcher.h. One event loop; each
 * command goes through health/spawn.c (its own process group, a timeout
 * that kills the group, the first line of output); a command is started
 * only when the launcher's copy of the configuration names it
 * (exports_command_allowed), word for word. */
#include "autoconf.h"
#include "appliance/cmdlauncher.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "common/config.h"
#include "common/evloop.h"
#include "common/launcher.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/privsep.h"
#include "health/exports.h"
#include "health/spawn.h"

struct job {
	struct server *srv;
	uint32_t id;
	struct spawn *run;
	struct job *next;
};

struct server {
	int fd;
	struct evloop *loop;
	const struct sixfour_config *cfg;
	struct sixfour_config *owned;
	privhelper_load_fn load;
	const char *arg;
	struct job *jobs;
	struct log_limit refusals;
};

static void reply(struct server *srv, uint32_t id, int status, const char *output)
{
	struct launcher_reply r = { .id = id, .status = status };
	snprintf(r.output, sizeof(r.output), "%s", output ? output : "");
	if (send(srv->fd, &r, sizeof(r), MSG_NOSIGNAL) < 0)
		log_warn("launcher: reply: %s", strerror(errno));
}

static void forget(struct job *j)
{
	for (struct job **p = &j->srv->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	free(j);
}

static void job_done(void *arg, int status, const char *output)
{
	struct job *j = arg;
	reply(j->srv, j->id, status, output);
	forget(j);
}

static void run(struct server *srv, const struct launcher_req_hdr *h, char *words, size_t len)
{
	char *argv[SPAWN_MAX_ARGS + 1];
	size_t n = 0;
	/* NUL-terminated words filling the payload exactly. */
	for (size_t off = 0; off < len && n < SPAWN_MAX_ARGS;) {
		char *end = memchr(words + off, '\0', len - off);
		if (!end)
			break;
		argv[n++] = words + off;
		off = (size_t)(end - words) + 1;
		if (off == len) {
			argv[n] = NULL;
			goto parsed;
		}
	}
	reply(srv, h->id, -EPROTO, "malformed request");
	return;
parsed:
	if (!exports_command_allowed(srv->cfg, argv)) {
		log_ratelimited(&srv->refusals, LOG_LVL_WARN,
				"launcher: refused `%s`: not a reload command of the configuration",
				argv[0]);
		reply(srv, h->id, -EPERM, "not in the configuration");
		return;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (j) {
		*j = (struct job){ .srv = srv, .id = h->id, .next = srv->jobs };
		j->run = spawn_run(srv->loop, argv, h->timeout_ms, job_done, j);
	}
	if (!j || !j->run) {
		free(j);
		reply(srv, h->id, -ENOMEM, "");
		return;
	}
	srv->jobs = j;
}

static void reload(struct server *srv)
{
	struct sixfour_config *cfg = privhelper_load(srv->load, srv->arg, "launcher");
	if (!cfg)
		return;	/* the commands of the old configuration stay allowed */
	config_free(srv->owned);
	srv->owned = cfg;
	srv->cfg = cfg;
}

static void on_request(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct server *srv = arg;
	char buf[LAUNCHER_MAX_MSG + 1];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		evloop_stop(loop);	/* sixfourd is gone */
		return;
	}
	struct launcher_req_hdr h;
	if ((size_t)n < sizeof(h) || (size_t)n > LAUNCHER_MAX_MSG)
		return;
	memcpy(&h, buf, sizeof(h));
	switch (h.type) {
	case LAUNCHER_RUN:
		run(srv, &h, buf + sizeof(h), (size_t)n - sizeof(h));
		break;
	case LAUNCHER_CANCEL:
		for (struct job *j = srv->jobs; j; j = j->next)
			if (j->id == h.id) {
				spawn_cancel(j->run);
				forget(j);
				break;
			}
		break;
	case LAUNCHER_RELOAD:
		reload(srv);
		break;
	}
}

static _Noreturn void launcher_main(struct server *srv)
{
	srv->fd = privhelper_child(srv->fd, "sixfourd-launch", srv->cfg);
	int rc = privdrop(srv->cfg->general.user, 0);
	if (!rc && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		rc = -errno;
	if (rc) {
		log_err("launcher: dropping privileges to %s: %s", srv->cfg->general.user,
			strerror(-rc));
		_exit(EXIT_FAILURE);
	}
	srv->refusals = (struct log_limit){ .interval_ms = 1000, .burst = 10 };
	srv->loop = evloop_new();
	if (!srv->loop || evloop_add_fd(srv->loop, srv->fd, EPOLLIN, on_request, srv) != 0)
		_exit(EXIT_FAILURE);
	evloop_run(srv->loop);
	while (srv->jobs) {
		struct job *j = srv->jobs;
		spawn_cancel(j->run);
		forget(j);
	}
	_exit(EXIT_SUCCESS);
}

int cmdlauncher_start(const struct sixfour_config *cfg, privhelper_load_fn load, const char *arg,
		      pid_t *pid)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		int e = -errno;
		close(sv[0]);
		close(sv[1]);
		return e;
	}
	if (*pid == 0) {
		close(sv[0]);
		struct server srv = { .fd = sv[1], .cfg = cfg, .load = load, .arg = arg };
		launcher_main(&srv);
	}
	close(sv[1]);
	return sv[0];
}
