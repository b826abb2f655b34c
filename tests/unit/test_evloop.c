/* The event loop: timers fire in deadline order, cancel and re-arm work,
 * fds and cross-thread wake-ups are delivered. */
#include "autoconf.h"

#include <pthread.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/util.h"
#include "tap.h"

static int order[8], norder;

static void fire(struct evloop *loop, struct ev_timer *t, void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
	if (norder == 3)
		evloop_stop(loop);
}

static void pipe_ready(struct evloop *loop, int fd, uint32_t ev, void *arg)
{
	char c;
	*(int *)arg += (int)read(fd, &c, 1);
	evloop_stop(loop);
}

static void woke(struct evloop *loop, void *arg)
{
	*(int *)arg = 1;
	evloop_stop(loop);
}

static void *waker(void *arg)
{
	usleep(20000);
	evloop_wake(arg);
	return NULL;
}

int main(void)
{
	plan(12);
	struct evloop *loop = evloop_new();
	/* Before any timer is armed: no deadline can be earlier than t0 + delay. */
	uint64_t t0 = monotonic_ms();
	struct ev_timer *a = ev_timer_new(loop, fire, (void *)1);
	struct ev_timer *b = ev_timer_new(loop, fire, (void *)2);
	struct ev_timer *c = ev_timer_new(loop, fire, (void *)3);
	struct ev_timer *d = ev_timer_new(loop, fire, (void *)4);
	ev_timer_arm(c, 30);
	ev_timer_arm(a, 10);
	ev_timer_arm(b, 20);
	ev_timer_arm(d, 15);
	ev_timer_cancel(d);
	ok(!ev_timer_armed(d) && ev_timer_armed(a), "armed state");
	ev_timer_arm(a, 5);	/* re-arming moves it, never duplicates */
	evloop_run(loop);
	ok(norder == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3,
	   "timers fire in deadline order; a cancelled one never fires");
	ok(monotonic_ms() - t0 >= 30, "the last timer did not fire early");

	int fds[2], got = 0;
	ok(pipe(fds) == 0, "pipe");
	ok(evloop_add_fd(loop, fds[0], EPOLLIN, pipe_ready, &got) == 0, "add fd");
	ok(evloop_add_fd(loop, fds[0], EPOLLIN, pipe_ready, &got) != 0, "adding twice fails");
	ok(write(fds[1], "x", 1) == 1, "write");
	evloop_run(loop);
	is_int(got, 1, "fd callback ran");
	ok(evloop_del_fd(loop, fds[0]) == 0, "del fd");
	ok(evloop_del_fd(loop, fds[0]) == -ENOENT, "del twice");

	int w = 0;
	pthread_t th;
	ok(evloop_set_wake(loop, woke, &w) == 0, "wake set");
	pthread_create(&th, NULL, waker, loop);
	evloop_run(loop);
	pthread_join(th, NULL);
	is_int(w, 1, "cross-thread wake");

	ev_timer_free(a); ev_timer_free(b); ev_timer_free(c); ev_timer_free(d);
	evloop_free(loop);
	close(fds[0]);
	close(fds[1]);
	return tap_done();
}
