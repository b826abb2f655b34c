/* One way to publish new versions of shared state to threads that read it
 * without locks: quiescent-state based reclamation (QSBR).
 *
 * The writer (the main loop) swaps a pointer with an atomic exchange, then
 * hands the old version to publish_retire(). Reader threads (packet and DNS
 * workers) hold a version only while they handle one event, and say so:
 * between events they call publish_quiescent(), and before they block (in
 * read(), epoll_wait()) publish_offline(), after it publish_online(). A
 * retired version is freed once every registered reader has been quiescent
 * or offline since its retirement, so a reader never sees freed memory,
 * however long it takes, and nothing is kept longer than one event of the
 * slowest reader. The main thread needs no registration: it is the writer,
 * and it never keeps a pointer across events.
 *
 * Reader side cost: one sequentially consistent store per call. */
#ifndef SIXFOUR_PUBLISH_H
#define SIXFOUR_PUBLISH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PUBLISH_MAX_READERS 256

struct publish_reader {
	_Atomic uint64_t seen;	/* 0 = offline or free, else the epoch last seen */
	atomic_bool used;
};

struct publish_retired;

struct publish_domain {
	_Atomic uint64_t epoch;
	struct publish_reader readers[PUBLISH_MAX_READERS];
	/* writer-only */
	struct publish_retired *retired;
	size_t nretired;
};

void publish_domain_init(struct publish_domain *d);
/* Frees everything still retired; no reader may be running. */
void publish_domain_destroy(struct publish_domain *d);

/* A reader thread's slot (online from now on); NULL when all are taken.
 * Call from the reader thread before its first read of shared state. */
struct publish_reader *publish_reader_register(struct publish_domain *d);
/* The thread leaves for good (it holds nothing after this). */
void publish_reader_unregister(struct publish_reader *r);

/* Between two events: nothing read before this call is used after it. */
void publish_quiescent(struct publish_domain *d, struct publish_reader *r);
/* Before blocking: the thread holds nothing while offline. */
void publish_offline(struct publish_reader *r);
/* After blocking, before reading shared state again. */
void publish_online(struct publish_domain *d, struct publish_reader *r);

/* Writer: `old` (already unreachable through the published pointer) is
 * freed with `free_fn` once no reader can hold it. `old` NULL is a no-op.
 * Also frees whatever earlier retirements have become safe. */
void publish_retire(struct publish_domain *d, void *old, void (*free_fn)(void *));
/* Writer: frees what has become safe; returns how many are still waiting.
 * Call it now and then (the daemon does every second). */
size_t publish_reclaim(struct publish_domain *d);

#endif
