/* The workers -> main loop queue of the handoff glue (handoff_queue.h): a
 * ring under one mutex, packet copies malloc'd by the pushing thread (never
 * under the session table's lock: the table hands events over after
 * unlocking). */
#include "autoconf.h"
#include "nat64/handoff_queue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/evloop.h"
#include "common/util.h"

#define DRAIN_BATCH 64

struct slot {
	struct handoff_event ev;
	uint8_t *copy;
};

struct handoff_queue {
	struct evloop *loop;
	int efd;
	void (*handle)(void *arg, const struct handoff_event *ev);
	void *arg;
	pthread_mutex_t lock;
	struct slot *ring;
	size_t cap, max_bytes, head, len, bytes;
	uint64_t lost;
};

bool handoff_queue_push(struct handoff_queue *q, const struct handoff_event *ev,
			const uint8_t *data, size_t len)
{
	uint8_t *copy = NULL;
	if (data && len) {
		copy = malloc(len);
		if (!copy) {
			counter_add(&q->lost, 1);
			return false;
		}
		memcpy(copy, data, len);
	} else {
		len = 0;
	}
	pthread_mutex_lock(&q->lock);
	if (q->len == q->cap || q->bytes + len > q->max_bytes) {
		pthread_mutex_unlock(&q->lock);
		free(copy);
		counter_add(&q->lost, 1);
		return false;
	}
	struct slot *s = &q->ring[(q->head + q->len) % q->cap];
	s->ev = *ev;
	s->ev.data = NULL;
	s->ev.len = len;
	s->copy = copy;
	q->bytes += len;
	bool wake = q->len++ == 0;
	pthread_mutex_unlock(&q->lock);
	/* Only the first event of a burst wakes the loop; it drains them all. */
	if (wake) {
		uint64_t one = 1;
		if (write(q->efd, &one, sizeof(one)) < 0) {
			/* the counter is non-zero already: the loop wakes anyway */
		}
	}
	return true;
}

static void on_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct handoff_queue *q = arg;
	(void)loop;
	(void)events;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a previous round drained it */
	}
	struct slot batch[DRAIN_BATCH];
	for (;;) {
		size_t k = 0;
		pthread_mutex_lock(&q->lock);
		while (q->len && k < DRAIN_BATCH) {
			batch[k] = q->ring[q->head];
			q->bytes -= batch[k].ev.len;
			q->head = (q->head + 1) % q->cap;
			q->len--;
			k++;
		}
		pthread_mutex_unlock(&q->lock);
		if (k == 0)
			break;
		for (size_t i = 0; i < k; i++) {
			batch[i].ev.data = batch[i].copy;
			q->handle(q->arg, &batch[i].ev);
			free(batch[i].copy);
		}
	}
}

struct handoff_queue *handoff_queue_new(struct evloop *loop, size_t max_events, size_t max_bytes,
					void (*handle)(void *arg, const struct handoff_event *ev),
					void *arg)
{
	struct handoff_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	*q = (struct handoff_queue){ .loop = loop, .handle = handle, .arg = arg, .cap = max_events,
				     .max_bytes = max_bytes };
	pthread_mutex_init(&q->lock, NULL);
	q->ring = calloc(max_events, sizeof(*q->ring));
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!q->ring || q->efd < 0 || evloop_add_fd(loop, q->efd, EPOLLIN, on_ready, q) != 0) {
		if (q->efd >= 0)
			close(q->efd);
		q->efd = -1;
		handoff_queue_free(q);
		return NULL;
	}
	return q;
}

void handoff_queue_free(struct handoff_queue *q)
{
	if (!q)
		return;
	evloop_close_fd(q->loop, &q->efd);
	for (size_t i = 0; q->ring && i < q->len; i++)
		free(q->ring[(q->head + i) % q->cap].copy);
	free(q->ring);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

uint64_t handoff_queue_lost(const struct handoff_queue *q)
{
	return counter_get(&q->lost);
}
