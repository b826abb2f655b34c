/* Every system call a sixfour process may make once its start-up is done,
 * per process. THE place to extend: when a change makes a daemon call
 * something new at run time (io_uring_setup for batched TUN I/O, a new
 * socket family), add the row here
 * in the same commit. A call that is not listed kills the process with
 *   seccomp: forbidden system call NAME (nr N) in ROLE
 * in its log (stderr under systemd, so `journalctl -u UNIT`), which names
 * the row to add. `./configure --disable-seccomp` builds without filters,
 * for debugging.
 *
 * Rows are names as libseccomp knows them; a name this architecture lacks
 * is skipped. Calls with argument rules (socket families, clone flags,
 * rt_sigaction of SIGSYS, tgkill of another process) are in sandbox.c.
 *
 * sixfourd starts no process (clone only with CLONE_THREAD, no execve):
 * commands go through its launcher (common/launcher.h), which has no
 * filter.
 *
 * io_uring (the translator's batched TUN I/O, nat64/tunio.c): each worker
 * sets up its ring after the filter is in. Operations submitted through a
 * ring are not seen by seccomp, so the ring is restricted before it is
 * enabled (IORING_REGISTER_RESTRICTIONS: multishot read and write, on the
 * one registered TUN queue only, no registration afterwards). */
#ifndef SIXFOUR_SANDBOX_LISTS_H
#define SIXFOUR_SANDBOX_LISTS_H

/* Every process: memory, time, signals, descriptors, exit, logging. */
#define SANDBOX_BASE_CALLS(X) \
	X(read) X(write) X(readv) X(writev) X(pread64) X(pwrite64) X(close) X(lseek) \
	X(fstat) X(newfstatat) X(statx) X(fcntl) X(dup) X(dup3) \
	X(openat) X(getdents64) X(readlinkat) X(access) X(faccessat) X(faccessat2) \
	X(brk) X(mmap) X(munmap) X(mremap) X(mprotect) X(madvise) \
	X(futex) X(clock_gettime) X(clock_getres) X(gettimeofday) X(time) \
	X(nanosleep) X(clock_nanosleep) \
	X(rt_sigprocmask) X(rt_sigreturn) X(sigaltstack) X(restart_syscall) \
	X(getpid) X(gettid) X(getppid) X(getuid) X(geteuid) X(getgid) X(getegid) \
	X(getrandom) X(uname) X(exit) X(exit_group) \
	X(poll) X(ppoll) X(epoll_wait) X(epoll_pwait) X(epoll_ctl) \
	X(connect) X(sendto) X(sendmsg) X(recvfrom) X(recvmsg) \
	X(getsockopt) X(setsockopt) X(getsockname)

/* sixfourd itself: worker threads, DNS (libunbound's sockets), the
 * control and metrics servers, the TUN queues, host address events,
 * state and log files. */
#define SANDBOX_SIXFOURD_CALLS(X) \
	X(set_robust_list) X(rseq) X(sched_yield) X(sched_getaffinity) X(membarrier) \
	X(epoll_create1) X(eventfd2) X(timerfd_create) X(timerfd_settime) X(socketpair) \
	X(timerfd_gettime) X(signalfd4) X(pipe2) \
	X(bind) X(listen) X(accept4) X(shutdown) X(getpeername) X(sendmmsg) X(recvmmsg) \
	X(ioctl) X(fsync) X(fdatasync) X(ftruncate) X(renameat) X(renameat2) X(rename) \
	X(unlink) X(unlinkat) X(mkdirat) X(fchmod) X(fchown) X(umask) X(getrlimit) X(prlimit64) \
	X(prctl) X(fstatfs) X(statfs) X(wait4) \
	X(link) X(linkat)	/* usage.state.prev: a second link to the file replaced */ \
	X(sysinfo)	/* glibc's qsort of 1 kB or more asks for the physical memory */ \
	X(io_uring_setup) X(io_uring_enter) X(io_uring_register)

/* The privileged helper: netlink, nftables, /proc/sys, re-reading the
 * configuration at reload. */
#define SANDBOX_PRIV_CALLS(X) \
	X(bind)

/* sixfour-handoffd: the UDP socket and the control socket, the journal
 * (append, fsync, compaction by rename), /proc/net for live sockets. */
#define SANDBOX_HANDOFFD_CALLS(X) \
	X(epoll_create1) X(signalfd4) X(timerfd_create) X(timerfd_settime) \
	X(accept4) X(shutdown) X(fsync) X(fdatasync) X(ftruncate) X(renameat) X(renameat2) \
	X(rename) X(unlink) X(unlinkat) X(link) X(linkat) X(fchmod) \
	X(sysinfo)	/* glibc's qsort of 1 kB or more: the live sockets (server_live.c) */

#endif
