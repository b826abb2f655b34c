/* The fake event loop of fake_loop.h: timers in an unsorted array (tests
 * have a handful), a clock that moves only when the test says so. */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/evloop.h"
#include "tests/unit/fake_loop.h"

#define FAKE_MAX_TIMERS 1024

struct ev_timer {
	struct evloop *loop;
	ev_timer_cb cb;
	void *arg;
	uint64_t deadline;
	uint64_t seq;			/* arming order breaks deadline ties */
	bool armed;
};

struct evloop {
	uint64_t now;
	uint64_t seq;
	struct ev_timer *timers[FAKE_MAX_TIMERS];
	size_t ntimers;			/* allocated timers */
	size_t nfds;
};

struct evloop *evloop_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));
	if (l)
		l->now = 1000000;	/* not 0: code may treat 0 as "never" */
	return l;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	for (size_t i = 0; i < loop->ntimers; i++)
		loop->timers[i]->loop = NULL;
	free(loop);
}

int evloop_add_fd(struct evloop *loop, int fd, uint32_t events, ev_fd_cb cb, void *arg)
{
	(void)fd, (void)events, (void)cb, (void)arg;
	loop->nfds++;
	return 0;
}

int evloop_mod_fd(struct evloop *loop, int fd, uint32_t events)
{
	(void)loop, (void)fd, (void)events;
	return 0;
}

int evloop_del_fd(struct evloop *loop, int fd)
{
	(void)fd;
	if (loop->nfds)
		loop->nfds--;
	return 0;
}

struct ev_timer *ev_timer_new(struct evloop *loop, ev_timer_cb cb, void *arg)
{
	if (loop->ntimers == FAKE_MAX_TIMERS)
		return NULL;
	struct ev_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct ev_timer){ .loop = loop, .cb = cb, .arg = arg };
	loop->timers[loop->ntimers++] = t;
	return t;
}

void ev_timer_arm(struct ev_timer *t, uint64_t delay_ms)
{
	if (!t || !t->loop)
		return;
	t->deadline = t->loop->now + delay_ms;
	t->seq = ++t->loop->seq;
	t->armed = true;
}

void ev_timer_cancel(struct ev_timer *t)
{
	if (t)
		t->armed = false;
}

int ev_timer_armed(const struct ev_timer *t)
{
	return t && t->armed;
}

void ev_timer_free(struct ev_timer *t)
{
	if (!t)
		return;
	struct evloop *l = t->loop;
	for (size_t i = 0; l && i < l->ntimers; i++)
		if (l->timers[i] == t) {
			l->timers[i] = l->timers[--l->ntimers];
			break;
		}
	free(t);
}

uint64_t evloop_now_ms(const struct evloop *loop)
{
	return loop->now;
}

static struct ev_timer *next_due(struct evloop *l, uint64_t until)
{
	struct ev_timer *best = NULL;
	for (size_t i = 0; i < l->ntimers; i++) {
		struct ev_timer *t = l->timers[i];
		if (!t->armed || t->deadline > until)
			continue;
		if (!best || t->deadline < best->deadline ||
		    (t->deadline == best->deadline && t->seq < best->seq))
			best = t;
	}
	return best;
}

void fake_loop_advance(struct evloop *loop, uint64_t ms)
{
	uint64_t until = loop->now + ms;
	struct ev_timer *t;
	while ((t = next_due(loop, until))) {
		if (t->deadline > loop->now)
			loop->now = t->deadline;
		t->armed = false;
		t->cb(loop, t, t->arg);	/* may free t */
	}
	loop->now = until;
}

size_t fake_loop_timers(const struct evloop *loop)
{
	size_t n = 0;
	for (size_t i = 0; i < loop->ntimers; i++)
		n += loop->timers[i]->armed;
	return n;
}

size_t fake_loop_fds(const struct evloop *loop)
{
	return loop->nfds;
}
