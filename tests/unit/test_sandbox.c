/* The seccomp allow-lists (common/sandbox.h): in a child process per case,
 * what a role may do works, and what it may not kills the process with
 * SIGSYS after one log line that names the call. */
#include "autoconf.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sandbox.h"
#include "tests/unit/tap.h"

#ifdef HAVE_SECCOMP

struct outcome {
	int status;
	char err[4096];
};

/* Runs `fn` in a child after sandbox_enter(role); stderr is captured.
 * _exit keeps sanitizer exit hooks (which clone a tracer) out of it. */
static struct outcome run(enum sandbox_role role, int (*fn)(void))
{
	struct outcome o = { .status = -1 };
	int p[2];
	if (pipe(p) < 0)
		bail("pipe");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		bail("fork");
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		log_init("test_sandbox", true, LOG_LVL_INFO);
		if (sandbox_enter(role) != 0)
			_exit(100);
		_exit(fn());
	}
	close(p[1]);
	size_t off = 0;
	ssize_t n;
	while (off + 1 < sizeof(o.err) && (n = read(p[0], o.err + off, sizeof(o.err) - 1 - off)) > 0)
		off += (size_t)n;
	o.err[off] = '\0';
	close(p[0]);
	waitpid(pid, &o.status, 0);
	return o;
}

static bool killed_by_sigsys(const struct outcome *o)
{
	return WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGSYS;
}

static bool exited_ok(const struct outcome *o)
{
	return WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0;
}

/* One check: `role` may call `fn`, which then returns 0. */
static struct outcome allowed(enum sandbox_role role, int (*fn)(void), const char *name)
{
	struct outcome o = run(role, fn);
	ok(exited_ok(&o), name);
	return o;
}

/* One check: `role` may not, and SIGSYS kills the process. */
static struct outcome forbidden(enum sandbox_role role, int (*fn)(void), const char *name)
{
	struct outcome o = run(role, fn);
	ok(killed_by_sigsys(&o), name);
	return o;
}

static int seccomp_mode(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int mode = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	if (f)
		fclose(f);
	return mode == 2 ? 0 : 1;
}

static int call_personality(void)
{
	syscall(SYS_personality, 0xffffffffUL);
	return 0;
}

static int catch_sigsys(void)
{
	signal(SIGSYS, SIG_IGN);
	return 0;
}

static void *thread_main(void *arg)
{
	return arg;
}

static int start_thread(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, thread_main, NULL) != 0)
		return 1;
	return pthread_join(t, NULL) == 0 ? 0 : 1;
}

static int do_fork(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	return 0;
}

static int packet_socket(void)
{
	socket(AF_PACKET, SOCK_RAW, 0);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* glibc's qsort of 1 kB or more asks for the machine's memory (sysinfo)
 * the first time; both daemons sort more than that at run time (the usage
 * summaries, the handoff server's live sockets). */
static int big_qsort(void)
{
	int v[512];
	for (int i = 0; i < 512; i++)
		v[i] = 512 - i;
	qsort(v, 512, sizeof(v[0]), cmp_int);
	return v[0] == 1 && v[511] == 512 ? 0 : 1;
}

static int inet_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	return fd >= 0 ? 0 : 1;
}

int main(void)
{
	plan(16);
	struct outcome o;
	o = allowed(SANDBOX_HANDOFFD, seccomp_mode,
		    "after sandbox_enter the process runs in seccomp filter mode (2)");
	ok(strstr(o.err, "seccomp allow-list installed") != NULL, "... and says so in its log");

	o = forbidden(SANDBOX_HANDOFFD, call_personality,
		      "a call outside the list kills the process with SIGSYS");
	ok(strstr(o.err, "forbidden system call personality (nr ") != NULL,
	   "... after a log line that names the call");
	ok(strstr(o.err, "in sixfour-handoffd") != NULL, "... and the process role");

	o = forbidden(SANDBOX_SIXFOURD, catch_sigsys,
		      "replacing the SIGSYS handler is itself forbidden");
	ok(strstr(o.err, "forbidden system call rt_sigaction") != NULL, "... and named");

	allowed(SANDBOX_SIXFOURD, start_thread, "sixfourd may start threads");
	o = forbidden(SANDBOX_SIXFOURD, do_fork, "... but not a new process");
	ok(strstr(o.err, "forbidden system call clone ") != NULL, "... the clone is named");

	allowed(SANDBOX_SIXFOURD, inet_socket,
		"sixfourd may open an Internet socket (the resolver's)");
	forbidden(SANDBOX_SIXFOURD, packet_socket, "... but not a packet socket");
	forbidden(SANDBOX_PRIV, inet_socket, "the privileged helper may open no Internet socket");
	forbidden(SANDBOX_HANDOFFD, start_thread, "sixfour-handoffd starts no thread");
	allowed(SANDBOX_SIXFOURD, big_qsort,
		"sixfourd may sort 2 kB (glibc's qsort calls sysinfo)");
	allowed(SANDBOX_HANDOFFD, big_qsort, "... and so may sixfour-handoffd");
	return tap_done();
}

#else

int main(void)
{
	printf("1..0 # SKIP built without seccomp (--disable-seccomp)\n");
	return 0;
}

#endif
