/* Quiescent-state based reclamation (publish.h). */
#include "autoconf.h"
#include "common/publish.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common/log.h"

struct publish_retired {
	struct publish_retired *next;
	void *ptr;
	void (*free_fn)(void *);
	uint64_t epoch;		/* readers must have seen at least this */
};

void publish_domain_init(struct publish_domain *d)
{
	atomic_init(&d->epoch, 1);
	for (size_t i = 0; i < PUBLISH_MAX_READERS; i++) {
		atomic_init(&d->readers[i].seen, 0);
		atomic_init(&d->readers[i].used, false);
	}
	d->retired = NULL;
	d->nretired = 0;
}

void publish_domain_destroy(struct publish_domain *d)
{
	while (d->retired) {
		struct publish_retired *r = d->retired;
		d->retired = r->next;
		r->free_fn(r->ptr);
		free(r);
	}
	d->nretired = 0;
}

struct publish_reader *publish_reader_register(struct publish_domain *d)
{
	for (size_t i = 0; i < PUBLISH_MAX_READERS; i++) {
		bool expected = false;
		if (atomic_compare_exchange_strong(&d->readers[i].used, &expected, true)) {
			publish_online(d, &d->readers[i]);
			return &d->readers[i];
		}
	}
	return NULL;
}

void publish_reader_unregister(struct publish_reader *r)
{
	if (!r)
		return;
	publish_offline(r);
	atomic_store(&r->used, false);
}

void publish_quiescent(struct publish_domain *d, struct publish_reader *r)
{
	if (r)
		atomic_store(&r->seen, atomic_load(&d->epoch));
}

void publish_offline(struct publish_reader *r)
{
	if (r)
		atomic_store(&r->seen, 0);
}

void publish_online(struct publish_domain *d, struct publish_reader *r)
{
	if (!r)
		return;
	atomic_store(&r->seen, atomic_load(&d->epoch));
	/* The announcement must be visible before this thread loads any
	 * published pointer (store -> load ordering needs a full fence). */
	atomic_thread_fence(memory_order_seq_cst);
}

/* True when every reader has been offline or quiescent since `epoch`. */
static bool safe_since(struct publish_domain *d, uint64_t epoch)
{
	for (size_t i = 0; i < PUBLISH_MAX_READERS; i++) {
		if (!atomic_load(&d->readers[i].used))
			continue;
		uint64_t seen = atomic_load(&d->readers[i].seen);
		if (seen != 0 && seen < epoch)
			return false;
	}
	return true;
}

size_t publish_reclaim(struct publish_domain *d)
{
	struct publish_retired **pp = &d->retired;
	while (*pp) {
		struct publish_retired *r = *pp;
		if (safe_since(d, r->epoch)) {
			*pp = r->next;
			r->free_fn(r->ptr);
			free(r);
			d->nretired--;
		} else {
			pp = &r->next;
		}
	}
	return d->nretired;
}

void publish_retire(struct publish_domain *d, void *old, void (*free_fn)(void *))
{
	if (!old)
		return;
	/* The exchange that unpublished `old` came before this increment:
	 * a reader that announces the new epoch cannot still hold `old`. */
	uint64_t epoch = atomic_fetch_add(&d->epoch, 1) + 1;
	struct publish_retired *r = malloc(sizeof(*r));
	if (!r) {
		/* Leaking one version beats a use-after-free. */
		log_warn("publish: out of memory; a retired version is kept");
		return;
	}
	*r = (struct publish_retired){ .next = d->retired, .ptr = old, .free_fn = free_fn,
				       .epoch = epoch };
	d->retired = r;
	d->nretired++;
	publish_reclaim(d);
}
