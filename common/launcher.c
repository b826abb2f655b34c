/* sixfourd's side of the command launcher: see launcher.h. */
#include "autoconf.h"
#include "common/launcher.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/log.h"

struct launcher_job {
	struct launcher *l;
	uint32_t id;
	launcher_done_fn done;
	void *arg;
	struct launcher_job *next;
};

struct launcher {
	struct evloop *loop;
	int fd;
	pid_t pid;
	uint32_t next_id;
	struct launcher_job *jobs;
};

static void unlink_job(struct launcher_job *j)
{
	for (struct launcher_job **p = &j->l->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			return;
		}
}

/* Every job gets its end, also when the launcher went away. */
static void fail_all(struct launcher *l, int status)
{
	while (l->jobs) {
		struct launcher_job *j = l->jobs;
		l->jobs = j->next;
		launcher_done_fn done = j->done;
		void *arg = j->arg;
		free(j);
		if (done)
			done(arg, status, "");
	}
}

static void on_reply(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct launcher *l = arg;
	for (;;) {
		struct launcher_reply r;
		ssize_t n = recv(fd, &r, sizeof(r), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			log_err("the command launcher exited");
			evloop_del_fd(loop, fd);
			fail_all(l, -EPIPE);
			return;
		}
		if ((size_t)n != sizeof(r))
			continue;
		r.output[sizeof(r.output) - 1] = '\0';
		for (struct launcher_job *j = l->jobs; j; j = j->next)
			if (j->id == r.id) {
				unlink_job(j);
				launcher_done_fn done = j->done;
				void *jarg = j->arg;
				free(j);
				done(jarg, r.status, r.output);
				break;
			}
	}
}

struct launcher *launcher_new(struct evloop *loop, int fd, pid_t pid)
{
	struct launcher *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	*l = (struct launcher){ .loop = loop, .fd = fd, .pid = pid };
	if (evloop_add_fd(loop, fd, EPOLLIN, on_reply, l) != 0) {
		free(l);
		return NULL;
	}
	return l;
}

void launcher_close(struct launcher *l)
{
	if (!l)
		return;
	while (l->jobs) {
		struct launcher_job *j = l->jobs;
		l->jobs = j->next;
		free(j);
	}
	evloop_close_fd(l->loop, &l->fd);
	if (l->pid > 0)
		while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
			;
	free(l);
}

static int send_req(struct launcher *l, uint32_t type, uint32_t id, uint64_t timeout_ms,
		    char *const argv[])
{
	char buf[LAUNCHER_MAX_MSG];
	struct launcher_req_hdr h = { .type = type, .id = id, .timeout_ms = timeout_ms };
	memcpy(buf, &h, sizeof(h));
	size_t off = sizeof(h);
	for (size_t i = 0; argv && argv[i]; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (off + n > sizeof(buf))
			return -E2BIG;
		memcpy(buf + off, argv[i], n);
		off += n;
	}
	return send(l->fd, buf, off, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

struct launcher_job *launcher_run(struct launcher *l, char *const argv[], uint64_t timeout_ms,
				  launcher_done_fn done, void *arg)
{
	struct launcher_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	*j = (struct launcher_job){ .l = l, .id = ++l->next_id, .done = done, .arg = arg };
	int rc = send_req(l, LAUNCHER_RUN, j->id, timeout_ms, argv);
	if (rc == -E2BIG) {
		free(j);
		return NULL;
	}
	j->next = l->jobs;
	l->jobs = j;
	/* A send that failed otherwise: the launcher is gone, and on_reply
	 * sees the end of the channel and fails every job from the loop. */
	return j;
}

void launcher_cancel(struct launcher_job *j)
{
	if (!j)
		return;
	send_req(j->l, LAUNCHER_CANCEL, j->id, 0, NULL);
	unlink_job(j);
	free(j);
}

int launcher_reload(struct launcher *l)
{
	return l ? send_req(l, LAUNCHER_RELOAD, 0, 0, NULL) : 0;
}
