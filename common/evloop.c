#include "autoconf.h"
#include "common/evloop.h"
#include "common/publish.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/util.h"

/* Handlers are found by fd in a growable array indexed by fd. */
struct fd_handler {
	ev_fd_cb cb;
	void *arg;
	bool used;
};

struct ev_timer {
	struct evloop *loop;
	ev_timer_cb cb;
	void *arg;
	uint64_t deadline;
	size_t heap_idx;	/* SIZE_MAX when not armed */
};

#define MAX_SIGNALS 8

struct evloop {
	int epfd;
	bool running;
	uint64_t now;
	struct fd_handler *fds;
	size_t nfds;
	struct ev_timer **heap;	/* min-heap on deadline */
	size_t heap_len, heap_cap;
	int sigfd;
	sigset_t sigmask;
	struct {
		int signo;
		ev_signal_cb cb;
		void *arg;
	} sigs[MAX_SIGNALS];
	size_t nsigs;
	int wakefd;
	void (*wake_cb)(struct evloop *, void *);
	void *wake_arg;
	struct publish_domain *pub_domain;	/* this thread reads published state */
	struct publish_reader *pub_reader;
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->sigfd = -1;
	loop->wakefd = -1;
	sigemptyset(&loop->sigmask);
	loop->now = monotonic_ms();
	return loop;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	for (size_t i = 0; i < loop->heap_len; i++)
		loop->heap[i]->heap_idx = SIZE_MAX;
	free(loop->heap);
	free(loop->fds);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	close(loop->epfd);
	free(loop);
}

static int ensure_fd_slot(struct evloop *loop, int fd)
{
	if ((size_t)fd < loop->nfds)
		return 0;
	size_t n = loop->nfds ? loop->nfds : 64;
	while (n <= (size_t)fd)
		n *= 2;
	struct fd_handler *p = realloc(loop->fds, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + loop->nfds, 0, (n - loop->nfds) * sizeof(*p));
	loop->fds = p;
	loop->nfds = n;
	return 0;
}

int evloop_add_fd(struct evloop *loop, int fd, uint32_t events, ev_fd_cb cb, void *arg)
{
	if (fd < 0)
		return -EBADF;
	int rc = ensure_fd_slot(loop, fd);
	if (rc)
		return rc;
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->fds[fd] = (struct fd_handler){ cb, arg, true };
	return 0;
}

int evloop_mod_fd(struct evloop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int evloop_del_fd(struct evloop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].used)
		return -ENOENT;
	loop->fds[fd].used = false;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
		return -errno;
	return 0;
}

/* --- timers: a binary min-heap on the deadline --- */

static void heap_swap(struct evloop *loop, size_t a, size_t b)
{
	struct ev_timer *t = loop->heap[a];
	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_idx = a;
	loop->heap[b]->heap_idx = b;
}

static void heap_up(struct evloop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (loop->heap[parent]->deadline <= loop->heap[i]->deadline)
			break;
		heap_swap(loop, i, parent);
		i = parent;
	}
}

static void heap_down(struct evloop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < loop->heap_len && loop->heap[l]->deadline < loop->heap[m]->deadline)
			m = l;
		if (r < loop->heap_len && loop->heap[r]->deadline < loop->heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(loop, i, m);
		i = m;
	}
}

static void heap_remove(struct evloop *loop, struct ev_timer *t)
{
	size_t i = t->heap_idx;
	loop->heap_len--;
	if (i != loop->heap_len) {
		loop->heap[i] = loop->heap[loop->heap_len];
		loop->heap[i]->heap_idx = i;
		heap_down(loop, i);
		heap_up(loop, i);
	}
	t->heap_idx = SIZE_MAX;
}

struct ev_timer *ev_timer_new(struct evloop *loop, ev_timer_cb cb, void *arg)
{
	struct ev_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct ev_timer){ .loop = loop, .cb = cb, .arg = arg, .heap_idx = SIZE_MAX };
	return t;
}

void ev_timer_arm(struct ev_timer *t, uint64_t delay_ms)
{
	struct evloop *loop = t->loop;
	if (t->heap_idx != SIZE_MAX)
		heap_remove(loop, t);
	if (loop->heap_len == loop->heap_cap) {
		size_t n = loop->heap_cap ? loop->heap_cap * 2 : 16;
		struct ev_timer **h = realloc(loop->heap, n * sizeof(*h));
		if (!h)
			abort();	/* timers are few and sized at start-up */
		loop->heap = h;
		loop->heap_cap = n;
	}
	t->deadline = monotonic_ms() + delay_ms;
	t->heap_idx = loop->heap_len;
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, t->heap_idx);
}

void ev_timer_cancel(struct ev_timer *t)
{
	if (t && t->heap_idx != SIZE_MAX)
		heap_remove(t->loop, t);
}

int ev_timer_armed(const struct ev_timer *t)
{
	return t->heap_idx != SIZE_MAX;
}

void ev_timer_free(struct ev_timer *t)
{
	if (!t)
		return;
	ev_timer_cancel(t);
	free(t);
}

/* --- signals --- */

static void signal_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (size_t i = 0; i < loop->nsigs; i++)
			if (loop->sigs[i].signo == (int)si.ssi_signo)
				loop->sigs[i].cb(loop, (int)si.ssi_signo, loop->sigs[i].arg);
	}
}

int evloop_add_signal(struct evloop *loop, int signo, ev_signal_cb cb, void *arg)
{
	if (loop->nsigs == MAX_SIGNALS)
		return -ENOSPC;
	sigaddset(&loop->sigmask, signo);
	if (pthread_sigmask(SIG_BLOCK, &loop->sigmask, NULL) != 0)
		return -EINVAL;
	int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		int rc = evloop_add_fd(loop, fd, EPOLLIN, signal_ready, NULL);
		if (rc)
			return rc;
	}
	loop->sigs[loop->nsigs].signo = signo;
	loop->sigs[loop->nsigs].cb = cb;
	loop->sigs[loop->nsigs].arg = arg;
	loop->nsigs++;
	return 0;
}

/* --- cross-thread wake-up --- */

static void wake_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t v;
	if (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) && loop->wake_cb)
		loop->wake_cb(loop, loop->wake_arg);
}

int evloop_set_wake(struct evloop *loop, void (*cb)(struct evloop *, void *), void *arg)
{
	if (loop->wakefd < 0) {
		loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (loop->wakefd < 0)
			return -errno;
		int rc = evloop_add_fd(loop, loop->wakefd, EPOLLIN, wake_ready, NULL);
		if (rc)
			return rc;
	}
	loop->wake_cb = cb;
	loop->wake_arg = arg;
	return 0;
}

void evloop_wake(struct evloop *loop)
{
	uint64_t one = 1;
	if (loop->wakefd >= 0 && write(loop->wakefd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the loop will wake */
	}
}

/* --- running --- */

static void run_timers(struct evloop *loop)
{
	loop->now = monotonic_ms();
	while (loop->heap_len > 0 && loop->heap[0]->deadline <= loop->now) {
		struct ev_timer *t = loop->heap[0];
		heap_remove(loop, t);
		t->cb(loop, t, t->arg);
	}
}

int evloop_run_once(struct evloop *loop, int max_wait_ms)
{
	struct epoll_event evs[64];
	int timeout = max_wait_ms;
	loop->now = monotonic_ms();
	if (loop->heap_len > 0) {
		uint64_t d = loop->heap[0]->deadline;
		int until = d <= loop->now ? 0 : (int)MIN(d - loop->now, (uint64_t)INT32_MAX);
		if (timeout < 0 || until < timeout)
			timeout = until;
	}
	/* Blocked in epoll_wait the thread holds no published version. */
	publish_offline(loop->pub_reader);
	int n = epoll_wait(loop->epfd, evs, (int)ARRAY_SIZE(evs), timeout);
	publish_online(loop->pub_domain, loop->pub_reader);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	loop->now = monotonic_ms();
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		/* A handler may have removed this fd earlier in the round. */
		if ((size_t)fd < loop->nfds && loop->fds[fd].used)
			loop->fds[fd].cb(loop, fd, evs[i].events, loop->fds[fd].arg);
	}
	run_timers(loop);
	return 0;
}

int evloop_run(struct evloop *loop)
{
	loop->running = true;
	while (loop->running) {
		int rc = evloop_run_once(loop, -1);
		if (rc)
			return rc;
	}
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	loop->running = false;
}

uint64_t evloop_now_ms(const struct evloop *loop)
{
	return loop->now;
}

void evloop_set_publish_reader(struct evloop *loop, struct publish_domain *domain,
			       struct publish_reader *reader)
{
	loop->pub_domain = domain;
	loop->pub_reader = reader;
}
