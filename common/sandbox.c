/* seccomp filters from the allow-lists of sandbox_lists.h: see sandbox.h.
 *
 * The default action is SECCOMP_RET_TRAP: the kernel does not run the
 * call and raises SIGSYS in the calling thread, whose handler writes one
 * line naming the call (from a table resolved before the filter went in:
 * nothing in the handler allocates) and then dies of SIGSYS, so the exit
 * status says "Bad system call" too. The handler cannot be replaced or
 * ignored afterwards: rt_sigaction(SIGSYS) is itself forbidden, and a trap
 * while SIGSYS is blocked kills at once. */
#include "autoconf.h"
#include "common/sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const char *const role_names[] = {
	[SANDBOX_SIXFOURD] = "sixfourd",
	[SANDBOX_PRIV] = "sixfourd-priv",
	[SANDBOX_HANDOFFD] = "sixfour-handoffd",
};

const char *sandbox_role_name(enum sandbox_role role)
{
	return (size_t)role < sizeof(role_names) / sizeof(role_names[0]) ? role_names[role] : "?";
}

#ifndef HAVE_SECCOMP

int sandbox_enter(enum sandbox_role role)
{
	log_info("%s: built without seccomp (--disable-seccomp)", sandbox_role_name(role));
	return 0;
}

#else

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "common/sandbox_lists.h"

#define NAME(call) #call,
static const char *const base_calls[] = { SANDBOX_BASE_CALLS(NAME) NULL };
static const char *const sixfourd_calls[] = { SANDBOX_SIXFOURD_CALLS(NAME) NULL };
static const char *const priv_calls[] = { SANDBOX_PRIV_CALLS(NAME) NULL };
static const char *const handoffd_calls[] = { SANDBOX_HANDOFFD_CALLS(NAME) NULL };
#undef NAME

static const char *const *const role_calls[] = {
	[SANDBOX_SIXFOURD] = sixfourd_calls,
	[SANDBOX_PRIV] = priv_calls,
	[SANDBOX_HANDOFFD] = handoffd_calls,
};

/* Socket families each process may still open: sixfourd's resolver and
 * address dumps, the helper's netlink, syslog for both. */
static const int sixfourd_families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, -1 };
static const int priv_families[] = { AF_UNIX, AF_NETLINK, -1 };
static const int handoffd_families[] = { AF_UNIX, -1 };
static const int *const role_families[] = {
	[SANDBOX_SIXFOURD] = sixfourd_families,
	[SANDBOX_PRIV] = priv_families,
	[SANDBOX_HANDOFFD] = handoffd_families,
};

/* What the SIGSYS handler needs, ready before the filter is loaded. */
#define MAX_NR 1024
static struct {
	const char *names[MAX_NR];
	const char *role;
	int syslog_fd;		/* -1: the log goes to stderr */
} trap = { .syslog_fd = -1 };

static size_t put_str(char *buf, size_t off, size_t size, const char *s)
{
	while (*s && off + 1 < size)
		buf[off++] = *s++;
	buf[off] = '\0';
	return off;
}

static size_t put_int(char *buf, size_t off, size_t size, long v)
{
	char tmp[24];
	size_t n = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < sizeof(tmp));
	if (v < 0 && off + 1 < size)
		buf[off++] = '-';
	while (n && off + 1 < size)
		buf[off++] = tmp[--n];
	buf[off] = '\0';
	return off;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < MAX_NR && trap.names[nr] ? trap.names[nr] : "?";
	char msg[256];
	size_t off = 0;
	if (trap.syslog_fd >= 0)
		off = put_str(msg, off, sizeof(msg), "<27>");	/* daemon.err */
	off = put_str(msg, off, sizeof(msg), trap.role);
	off = put_str(msg, off, sizeof(msg), "[");
	off = put_int(msg, off, sizeof(msg), (long)syscall(SYS_getpid));
	off = put_str(msg, off, sizeof(msg), "]: seccomp: forbidden system call ");
	off = put_str(msg, off, sizeof(msg), name);
	off = put_str(msg, off, sizeof(msg), " (nr ");
	off = put_int(msg, off, sizeof(msg), nr);
	off = put_str(msg, off, sizeof(msg), ") in ");
	off = put_str(msg, off, sizeof(msg), trap.role);
	off = put_str(msg, off, sizeof(msg), "; killed (allow-lists: common/sandbox_lists.h)");
	if (trap.syslog_fd >= 0) {
		send(trap.syslog_fd, msg, off, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else {
		off = put_str(msg, off, sizeof(msg), "\n");
		ssize_t w = write(STDERR_FILENO, msg, off);
		(void)w;
	}
	/* SA_RESETHAND made the action SIG_DFL: unblocked, this kills the
	 * whole process with SIGSYS. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	syscall(SYS_tgkill, (pid_t)syscall(SYS_getpid), (pid_t)syscall(SYS_gettid), sig);
	_exit(128 + sig);
}

static int add_list(scmp_filter_ctx ctx, const char *const *calls)
{
	for (size_t i = 0; calls[i]; i++) {
		int nr = seccomp_syscall_resolve_name(calls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc) {
			log_err("seccomp: %s: %s", calls[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* A rule on the first argument (libseccomp's SCMP_A0 leaves datum_b to
 * the compiler, which some warn about). */
static struct scmp_arg_cmp arg0(enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	return (struct scmp_arg_cmp){ .arg = 0, .op = op, .datum_a = a, .datum_b = b };
}

static int add_arg_rules(scmp_filter_ctx ctx, enum sandbox_role role)
{
	int rc = 0;
	/* The trap handler stays: no rt_sigaction for SIGSYS. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
			       arg0(SCMP_CMP_NE, SIGSYS, 0));
	/* Signals only to ourselves (raise, pthread_kill, abort). */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			       arg0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
	for (const int *f = role_families[role]; *f >= 0; f++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       arg0(SCMP_CMP_EQ, (scmp_datum_t)*f, 0));
	/* glibc tries clone3 first and falls back to clone, whose flags a
	 * filter can read (clone3 passes them in memory). */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (role == SANDBOX_SIXFOURD)	/* threads, never a new process */
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       arg0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	return rc;
}

static void prepare_trap(enum sandbox_role role)
{
	trap.role = sandbox_role_name(role);
	for (int nr = 0; nr < MAX_NR; nr++)
		if (!trap.names[nr])
			trap.names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (!log_to_stderr() && trap.syslog_fd < 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			trap.syslog_fd = fd;
		else if (fd >= 0)
			close(fd);
	}
}

int sandbox_enter(enum sandbox_role role)
{
	if ((size_t)role >= sizeof(role_calls) / sizeof(role_calls[0]))
		return -EINVAL;
	prepare_trap(role);
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO | SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!rc)
		rc = add_list(ctx, base_calls);
	if (!rc)
		rc = add_list(ctx, role_calls[role]);
	if (!rc)
		rc = add_arg_rules(ctx, role);
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc) {
		log_err("%s: installing the seccomp filter: %s", trap.role, strerror(-rc));
		return rc < 0 ? rc : -EINVAL;
	}
	log_info("%s: seccomp allow-list installed", trap.role);
	return 0;
}

#endif
