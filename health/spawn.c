/* Reload commands as child processes watched from the event loop (spawn.h). */
#include "autoconf.h"
#include "health/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/launcher.h"
#include "common/util.h"

extern char **environ;

struct spawn {
	struct evloop *loop;
	pid_t pid;
	int pidfd;		/* readable when the child has exited */
	int outfd;		/* the child's stdout and stderr */
	struct ev_timer *timer;	/* the timeout, or the deferred start error */
	bool timed_out;
	int start_error;	/* -errno: reported from the timer */
	spawn_done_fn done;
	void *arg;
	char output[SPAWN_OUTPUT_MAX];
	size_t outlen;
	struct launcher_job *job;	/* run by the launcher (spawn_run_with) */
};

int spawn_split(const char *line, char *buf, size_t buflen, char **argv, size_t max)
{
	size_t n = 0, o = 0;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n + 1 >= max)
			return -E2BIG;
		argv[n++] = buf + o;
		bool quoted = false;
		for (; *p && (quoted || (*p != ' ' && *p != '\t')); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (quoted && *p == '\\' && p[1] == '"')
				p++;
			if (o + 1 >= buflen)
				return -E2BIG;
			buf[o++] = *p;
		}
		if (quoted)
			return -EINVAL;
		if (o + 1 >= buflen)
			return -E2BIG;
		buf[o++] = '\0';
	}
	argv[n] = NULL;
	return n ? (int)n : -EINVAL;
}

static void finish(struct spawn *s, int status)
{
	spawn_done_fn done = s->done;
	void *arg = s->arg;
	char output[SPAWN_OUTPUT_MAX];
	memcpy(output, s->output, sizeof(output));
	s->done = NULL;
	spawn_cancel(s);	/* frees s; the child is already reaped */
	if (done)
		done(arg, status, output);
}

/* Keeps the first SPAWN_OUTPUT_MAX - 1 octets, drains the rest. */
static void drain_output(struct spawn *s)
{
	for (;;) {
		char buf[512];
		ssize_t n = read(s->outfd, buf, sizeof(buf));
		if (n <= 0)
			return;
		size_t take = MIN((size_t)n, sizeof(s->output) - 1 - s->outlen);
		memcpy(s->output + s->outlen, buf, take);
		s->outlen += take;
		s->output[s->outlen] = '\0';
	}
}

static void on_output(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct spawn *s = arg;
	drain_output(s);
	if (events & (EPOLLHUP | EPOLLERR)) {
		evloop_close_fd(loop, &s->outfd);	/* EOF: wait for the exit alone */
	}
}

static void on_exit_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct spawn *s = arg;
	int ws;
	pid_t r = waitpid(s->pid, &ws, WNOHANG);
	if (r == 0)
		return;
	s->pid = -1;
	if (s->outfd >= 0)
		drain_output(s);
	int status;
	if (r < 0)
		status = -errno;
	else if (s->timed_out)
		status = -ETIMEDOUT;
	else if (WIFEXITED(ws))
		status = WEXITSTATUS(ws);
	else
		status = 128 + WTERMSIG(ws);
	finish(s, status);
}

static void on_timer(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct spawn *s = arg;
	if (s->start_error) {
		finish(s, s->start_error);
		return;
	}
	/* The whole group: a script's children go too. The exit arrives
	 * through the pidfd. */
	s->timed_out = true;
	kill(-s->pid, SIGKILL);
}

static int start(struct spawn *s, char *const argv[])
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	/* Our event loop blocks signals and ignores SIGPIPE; the command
	 * starts with the defaults, in a process group of its own. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	int rc = posix_spawnp(&s->pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		s->pid = -1;
		return -rc;
	}
	s->outfd = pipefd[0];
	fcntl(s->outfd, F_SETFL, O_NONBLOCK);
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (s->pidfd < 0)
		return -errno;	/* pre-5.3 kernel: spawn_cancel kills and reaps it */
	if (evloop_add_fd(s->loop, s->pidfd, EPOLLIN, on_exit_ready, s) != 0 ||
	    evloop_add_fd(s->loop, s->outfd, EPOLLIN, on_output, s) != 0)
		return -ENOMEM;
	return 0;
}

struct spawn *spawn_run(struct evloop *loop, char *const argv[], uint64_t timeout_ms,
			spawn_done_fn done, void *arg)
{
	struct spawn *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	*s = (struct spawn){ .loop = loop, .pid = -1, .pidfd = -1, .outfd = -1, .done = done,
			     .arg = arg };
	s->timer = ev_timer_new(loop, on_timer, s);
	if (!s->timer) {
		free(s);
		return NULL;
	}
	int rc = start(s, argv);
	if (rc) {
		/* Reported from the loop, so callers see one path for every
		 * outcome. */
		if (s->pid > 0) {
			kill(-s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			s->pid = -1;
		}
		s->start_error = rc;
		ev_timer_arm(s->timer, 0);
		return s;
	}
	ev_timer_arm(s->timer, timeout_ms);
	return s;
}

static void remote_done(void *arg, int status, const char *output)
{
	struct spawn *s = arg;
	s->job = NULL;
	snprintf(s->output, sizeof(s->output), "%s", output);
	finish(s, status);
}

struct spawn *spawn_run_with(struct launcher *l, struct evloop *loop, char *const argv[],
			     uint64_t timeout_ms, spawn_done_fn done, void *arg)
{
	if (!l)
		return spawn_run(loop, argv, timeout_ms, done, arg);
	struct spawn *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	*s = (struct spawn){ .loop = loop, .pid = -1, .pidfd = -1, .outfd = -1, .done = done,
			     .arg = arg };
	s->job = launcher_run(l, argv, timeout_ms, remote_done, s);
	if (!s->job) {
		free(s);
		return NULL;
	}
	return s;
}

void spawn_cancel(struct spawn *s)
{
	if (!s)
		return;
	launcher_cancel(s->job);
	if (s->pid > 0) {
		kill(-s->pid, SIGKILL);
		/* Killed: the wait is short and keeps no zombie behind. */
		waitpid(s->pid, NULL, 0);
	}
	evloop_close_fd(s->loop, &s->pidfd);
	evloop_close_fd(s->loop, &s->outfd);
	ev_timer_free(s->timer);
	free(s);
}
