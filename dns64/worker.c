/* DNS64 worker threads (ARCHITECTURE.md, "Threads and state"): each has
 * its own event loop and one SO_REUSEPORT UDP socket per listen address,
 * and answers what needs no upstream lookup itself, without allocating:
 * checks, ACL, rate limit, cache hits, ipv4only.arpa, RFC 8482 ANY,
 * errors. Misses (DNS64_RESOLVER_PER_WORKER, the default) are resolved by
 * the worker's own libunbound contexts on its own loop; in shared mode
 * they go through a single-producer single-consumer ring to the main
 * thread, which resolves them and sends the answer on the worker's socket
 * (sendmsg on a UDP socket is safe from any thread).
 *
 * Reload: the main thread publishes a new dns64_conf, wakes every worker
 * and waits for each to acknowledge from its loop, i.e. between two
 * events: no callback still holds the old conf, which is then freed. */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "common/config.h"
#include "common/evloop.h"
#include "common/publish.h"
#include "dns64/dns64_int.h"

#define WORKER_MAX_LISTEN 32
/* Misses in flight from one worker to the resolver thread; past this the
 * worker answers SERVFAIL (counted as drop_queue_full). */
#define RING_SIZE 4096		/* power of two */

struct deferred {
	struct dns_query q;
	struct dns64_client cl;
};

struct dns64_worker {
	struct dns64 *d;
	unsigned index;
	struct dns64_io *io;
	struct evloop *loop;
	int udp_fd[WORKER_MAX_LISTEN];
	size_t nudp;
	pthread_t thread;
	bool started;
	/* Quiescence: the main thread bumps `wake_req` and wakes the loop,
	 * the worker copies it to `wake_ack` between events. */
	_Atomic uint64_t wake_req, wake_ack;
	_Atomic bool stopping;

	/* Worker -> main thread: misses. The eventfd wakes the main loop
	 * once per batch that queued something. */
	int efd;
	bool queued;			/* worker-only: this batch deferred */
	_Atomic size_t head;		/* consumer (main thread) */
	_Atomic size_t tail;		/* producer (worker) */
	struct deferred ring[RING_SIZE];
};

struct dns64_io *dns64_worker_io(struct dns64_worker *w)
{
	return w->io;
}

bool dns64_worker_defer(struct dns64_io *io, const struct dns_query *q,
			const struct dns64_client *cl)
{
	struct dns64_worker *w = io->w;
	size_t t = atomic_load_explicit(&w->tail, memory_order_relaxed);
	size_t h = atomic_load_explicit(&w->head, memory_order_acquire);
	if (t - h >= RING_SIZE)
		return false;
	struct deferred *e = &w->ring[t & (RING_SIZE - 1)];
	e->q = *q;
	e->cl = *cl;
	atomic_store_explicit(&w->tail, t + 1, memory_order_release);
	w->queued = true;
	return true;
}

/* Main thread: take every queued miss and start its resolution. */
static void on_deferred(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct dns64_worker *w = arg;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("dns64: worker %u eventfd: %s", w->index, strerror(errno));
	size_t h = atomic_load_explicit(&w->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&w->tail, memory_order_acquire);
	while (h != t) {
		struct deferred e = w->ring[h & (RING_SIZE - 1)];
		h++;
		atomic_store_explicit(&w->head, h, memory_order_release);
		dns64_engine_resolve(w->d->main_io, &e.q, &e.cl);
		if (h == t)
			t = atomic_load_explicit(&w->tail, memory_order_acquire);
	}
}

static void on_udp(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct dns64_worker *w = arg;
	w->queued = false;
	dns64_udp_read(w->io, fd);
	if (w->queued) {
		uint64_t one = 1;
		if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_debug("dns64: worker %u eventfd: %s", w->index, strerror(errno));
	}
}

static void on_wake(struct evloop *loop, void *arg)
{
	struct dns64_worker *w = arg;
	if (atomic_load(&w->stopping)) {
		evloop_stop(loop);
		return;
	}
	atomic_store(&w->wake_ack, atomic_load(&w->wake_req));
}

static void *worker_main(void *arg)
{
	struct dns64_worker *w = arg;
	/* Signals belong to the main loop's signalfd, whatever the mask of
	 * the thread that started us. */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	char name[16];
	snprintf(name, sizeof(name), "dns64-w%u", w->index);
	pthread_setname_np(pthread_self(), name);
	/* Reads the prefix set (and other published state) between waits. */
	struct publish_reader *reader = publish_reader_register(w->d->publish);
	evloop_set_publish_reader(w->loop, w->d->publish, reader);
	if (evloop_run(w->loop) != 0)
		log_err("dns64: worker %u: event loop failed", w->index);
	evloop_set_publish_reader(w->loop, NULL, NULL);
	publish_reader_unregister(reader);
	return NULL;
}

struct dns64_worker *dns64_worker_new(struct dns64 *d, unsigned index,
				      const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct dns64_worker *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->d = d;
	w->index = index;
	w->efd = -1;
	w->io = calloc(1, sizeof(*w->io));
	w->loop = evloop_new();
	if (!w->io || !w->loop || !(w->io->udp = dns64_udp_new())) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	w->io->d = d;
	w->io->loop = w->loop;
	w->io->w = w;
	if (evloop_set_wake(w->loop, on_wake, w) != 0) {
		snprintf(err, errlen, "worker %u: cannot set up its wake-up", index);
		goto fail;
	}
	if (DNS64_RESOLVER_PER_WORKER) {
		if (dns64_io_resolvers(w->io, cfg, err, errlen) != 0)
			goto fail;
	} else {
		w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->efd < 0 || evloop_add_fd(d->loop, w->efd, EPOLLIN, on_deferred, w) != 0) {
			snprintf(err, errlen, "worker %u: eventfd: %s", index, strerror(errno));
			if (w->efd >= 0)
				close(w->efd);
			w->efd = -1;
			goto fail;
		}
	}
	const struct endpoint_list *l = &cfg->dns64.listen;
	if (l->n > WORKER_MAX_LISTEN) {
		snprintf(err, errlen, "at most %d listen addresses", WORKER_MAX_LISTEN);
		goto fail;
	}
	for (size_t i = 0; i < l->n; i++) {
		int fd = dns64_udp_open(&l->v[i], err, errlen);
		if (fd < 0)
			goto fail;
		w->udp_fd[w->nudp++] = fd;
		if (evloop_add_fd(w->loop, fd, EPOLLIN, on_udp, w) != 0) {
			snprintf(err, errlen, "worker %u: cannot watch its DNS socket", index);
			goto fail;
		}
	}
	return w;
fail:
	dns64_worker_free(w);
	return NULL;
}

int dns64_worker_start(struct dns64_worker *w)
{
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0)
		return -rc;
	w->started = true;
	return 0;
}

void dns64_worker_free(struct dns64_worker *w)
{
	if (!w)
		return;
	if (w->started) {
		atomic_store(&w->stopping, true);
		evloop_wake(w->loop);
		pthread_join(w->thread, NULL);
	}
	/* The thread is gone: its resolutions end here, on this thread. */
	if (w->io) {
		dns64_engine_cancel_all(w->io);
		dns64_io_resolvers_free(w->io);
	}
	for (size_t i = 0; i < w->nudp; i++) {
		evloop_del_fd(w->loop, w->udp_fd[i]);
		close(w->udp_fd[i]);
	}
	if (w->efd >= 0) {
		evloop_del_fd(w->d->loop, w->efd);
		close(w->efd);
	}
	if (w->io)
		dns64_udp_free(w->io->udp);
	free(w->io);
	if (w->loop)
		evloop_free(w->loop);
	free(w);
}

/* A worker acknowledges between two events, within microseconds unless
 * it is stuck; after one second the caller keeps the old conf rather than
 * free it under a worker that may still read it. */
bool dns64_workers_quiesce(struct dns64 *d)
{
	bool ok = true;
	for (size_t i = 0; i < d->nworkers; i++) {
		struct dns64_worker *w = d->workers[i];
		if (!w->started)
			continue;
		uint64_t want = atomic_fetch_add(&w->wake_req, 1) + 1;
		evloop_wake(w->loop);
		struct timespec ts = { 0, 50000 };
		for (int n = 0; atomic_load(&w->wake_ack) < want; n++) {
			if (n == 20000) {
				log_warn("dns64: worker %u did not answer a wake-up in 1 s", w->index);
				ok = false;
				break;
			}
			nanosleep(&ts, NULL);
		}
	}
	return ok;
}
