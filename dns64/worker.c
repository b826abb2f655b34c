/* DNS64 worker threads (ARCHITECTURE.md, "Threads and state"): each has
 * its own event loop and one SO_REUSEPORT UDP socket per listen address,
 * and answers what needs no upstream lookup itself, without allocating:
 * checks, ACL, rate limit, cache hits, ipv4only.arpa, RFC 8482 ANY,
 * errors. Misses are resolved by the worker's own libunbound contexts on
 * its own loop.
 *
 * Reload: the main thread swaps in a new dns64_conf and retires the old
 * one (common/publish.h); the worker is a registered reader whose loop
 * goes offline while it waits, so the old version is freed as soon as
 * every worker is between two events. */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/evloop.h"
#include "common/publish.h"
#include "dns64/dns64_int.h"

#define WORKER_MAX_LISTEN 32

struct dns64_worker {
	struct dns64 *d;
	unsigned index;
	struct dns64_io *io;
	struct evloop *loop;
	int udp_fd[WORKER_MAX_LISTEN];
	size_t nudp;
	pthread_t thread;
	bool started;
	_Atomic bool stopping;
};

struct dns64_io *dns64_worker_io(struct dns64_worker *w)
{
	return w->io;
}

static void on_udp(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct dns64_worker *w = arg;
	dns64_udp_read(w->io, fd);
}

static void on_wake(struct evloop *loop, void *arg)
{
	struct dns64_worker *w = arg;
	if (atomic_load(&w->stopping))
		evloop_stop(loop);
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
	*w = (struct dns64_worker){ .d = d, .index = index };
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
	if (dns64_io_resolvers(w->io, cfg, err, errlen) != 0)
		goto fail;
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
	for (size_t i = 0; i < w->nudp; i++)
		evloop_close_fd(w->loop, &w->udp_fd[i]);
	if (w->io)
		dns64_udp_free(w->io->udp);
	free(w->io);
	if (w->loop)
		evloop_free(w->loop);
	free(w);
}
