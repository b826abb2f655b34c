/* common/publish.c: retired versions wait for readers in their event, are
 * freed once every reader was quiescent or offline, and a writer that
 * publishes as fast as it can while readers check every version they read
 * never lets a reader see freed memory (run under ASan by scripts/check). */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/publish.h"
#include "tap.h"

struct version {
	uint64_t magic;		/* VERSION_MAGIC while alive */
	uint64_t n, n_squared;
};
#define VERSION_MAGIC UINT64_C(0x7075626c69736821)

static atomic_int frees;

static void free_version(void *p)
{
	struct version *v = p;
	v->magic = 0;
	atomic_fetch_add(&frees, 1);
	free(v);
}

static struct version *make(uint64_t n)
{
	struct version *v = malloc(sizeof(*v));
	if (!v)
		bail("malloc");
	*v = (struct version){ VERSION_MAGIC, n, n * n };
	return v;
}

static struct publish_domain dom;
static _Atomic(struct version *) current;
static atomic_bool stop;
static atomic_long bad_reads, reads;

static void *reader_main(void *arg)
{
	(void)arg;
	struct publish_reader *r = publish_reader_register(&dom);
	if (!r)
		return NULL;
	long i = 0;
	while (!atomic_load(&stop)) {
		struct version *v = atomic_load_explicit(&current, memory_order_acquire);
		/* Use it for a while, as a packet would. */
		for (int k = 0; k < 8; k++)
			if (v->magic != VERSION_MAGIC || v->n * v->n != v->n_squared)
				atomic_fetch_add(&bad_reads, 1);
		atomic_fetch_add(&reads, 1);
		if (++i % 64 == 0) {
			publish_offline(r);	/* as before a blocking read() */
			publish_online(&dom, r);
		} else {
			publish_quiescent(&dom, r);
		}
	}
	publish_reader_unregister(r);
	return NULL;
}

int main(void)
{
	plan(8);
	publish_domain_init(&dom);

	/* Single-threaded rules first. */
	struct publish_reader *r = publish_reader_register(&dom);
	ok(r != NULL, "a reader registers");
	publish_retire(&dom, make(1), free_version);
	is_int(atomic_load(&frees), 0, "a version retired while a reader is in its event waits");
	publish_offline(r);
	is_int(publish_reclaim(&dom), 0, "an offline reader holds nothing: freed");
	publish_online(&dom, r);
	publish_retire(&dom, make(2), free_version);
	publish_quiescent(&dom, r);
	publish_reclaim(&dom);
	is_int(atomic_load(&frees), 2, "a quiescent reader releases what was retired before");
	publish_reader_unregister(r);

	/* Two readers against a writer that republishes continuously. */
	atomic_store(&frees, 0);
	atomic_store(&current, make(0));
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader_main, NULL);
	const int versions = 200000;
	for (int n = 1; n <= versions; n++) {
		struct version *old = atomic_exchange(&current, make((uint64_t)n));
		publish_retire(&dom, old, free_version);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	size_t left = publish_reclaim(&dom);
	ok(atomic_load(&reads) > 0, "readers read while versions changed");
	is_int(atomic_load(&bad_reads), 0, "no reader ever saw a freed or torn version");
	is_int(left, 0, "with the readers gone every retired version is freed");
	is_int(atomic_load(&frees), versions, "each retired version freed exactly once");
	free_version(atomic_load(&current));
	publish_domain_destroy(&dom);
	return tap_done();
}
