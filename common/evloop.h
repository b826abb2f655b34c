/* A small epoll event loop: file descriptors, one-shot timers and signals
 * (through signalfd) all arrive as events. One loop per thread; a loop is
 * not thread-safe, except evloop_wake(). */
#ifndef SIXFOUR_EVLOOP_H
#define SIXFOUR_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

struct evloop;
struct ev_timer;

typedef void (*ev_fd_cb)(struct evloop *loop, int fd, uint32_t events, void *arg);
typedef void (*ev_timer_cb)(struct evloop *loop, struct ev_timer *t, void *arg);
typedef void (*ev_signal_cb)(struct evloop *loop, int signo, void *arg);

struct evloop *evloop_new(void);
/* Frees the loop and every timer still attached; does not close fds. */
void evloop_free(struct evloop *loop);

/* `events` are EPOLLIN/EPOLLOUT/...; 0 or -errno. */
int evloop_add_fd(struct evloop *loop, int fd, uint32_t events, ev_fd_cb cb, void *arg);
int evloop_mod_fd(struct evloop *loop, int fd, uint32_t events);
int evloop_del_fd(struct evloop *loop, int fd);
/* Stops watching *fd, closes it and sets it to -1; nothing when *fd < 0.
 * Inline, on top of evloop_del_fd, so that a test's fake loop has it too. */
static inline void evloop_close_fd(struct evloop *loop, int *fd)
{
	if (*fd < 0)
		return;
	evloop_del_fd(loop, *fd);
	close(*fd);
	*fd = -1;
}

/* Timers are one-shot; re-arm from the callback for periodic work. */
struct ev_timer *ev_timer_new(struct evloop *loop, ev_timer_cb cb, void *arg);
void ev_timer_arm(struct ev_timer *t, uint64_t delay_ms);
void ev_timer_cancel(struct ev_timer *t);
int ev_timer_armed(const struct ev_timer *t);
void ev_timer_free(struct ev_timer *t);

/* Blocks `signo` for the calling thread and delivers it as an event. */
int evloop_add_signal(struct evloop *loop, int signo, ev_signal_cb cb, void *arg);

/* Runs until evloop_stop(); returns 0 or -errno on a fatal epoll error. */
int evloop_run(struct evloop *loop);
/* Runs one round: waits at most `max_wait_ms` (-1 = until an event). */
int evloop_run_once(struct evloop *loop, int max_wait_ms);
void evloop_stop(struct evloop *loop);
/* Wakes a loop blocked in epoll_wait from another thread; runs `cb` there. */
int evloop_set_wake(struct evloop *loop, void (*cb)(struct evloop *, void *), void *arg);
void evloop_wake(struct evloop *loop);

struct publish_domain;
struct publish_reader;
/* The loop's thread reads published state (common/publish.h) through
 * `reader`: the loop marks it offline while it waits for events, so a
 * retired version is never held up by an idle thread. */
void evloop_set_publish_reader(struct evloop *loop, struct publish_domain *domain,
			       struct publish_reader *reader);

/* The loop's cached monotonic time in ms, refreshed every round. */
uint64_t evloop_now_ms(const struct evloop *loop);

#endif
