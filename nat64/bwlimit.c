/* Bandwidth limits (bwlimit.h): the shared cap with a short queue per
 * worker, and the per-client policer. */
#include "autoconf.h"
#include "nat64/bwlimit.h"
#include "nat64/tunio.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/ctl.h"
#include "common/publish.h"
#include "common/subsys.h"
#include "common/util.h"

#define NS 1000000000ull
#define QUEUE_PACKETS 1024u		/* per worker */
#define CHUNK_MAX 65536u
#define CAP_BURST_NS (20 * 1000000ull)	/* 20 ms of the cap pass at once after a pause */
#define BURST_MIN_OCTETS 3000u		/* and never less than two full packets */
#define CLIENT_SLOTS (1u << 16)
#define CLIENT_PROBE 8
#define DUE_SLACK_NS 20000ull		/* write what is due within 20 us now */
#define MAX_PARTNERS 256

#define BW_COUNTERS(X) \
	X(QUEUED, "packets that waited for a bandwidth limit before they went out") \
	X(WAIT_US, "microseconds those packets waited, in total") \
	X(CLIENT_TABLE_FULL, "packets let through unlimited: no free client bucket in their row")

enum bw_counter {
#define X(name, help) BW_##name,
	BW_COUNTERS(X)
#undef X
	BW__COUNT
};

static const struct counter_desc bw_desc[] = { BW_COUNTERS(COUNTER_DESC) };

/* [ratelimit] bandwidth-partner: a prefix with one budget for all of it. */
struct bw_partner {
	uint64_t a[2];		/* prefix, memory order, masked */
	uint64_t m[2];		/* its mask */
	unsigned len;
	uint64_t rate;		/* octets/s; 0 = no limit */
};

/* What a reload changes, published whole (common/publish.h). */
struct bw_conf {
	uint64_t rate;		/* the cap, octets/s; 0 = none */
	uint64_t burst_ns, queue_ns, chunk;
	uint64_t client_rate;	/* octets/s; 0 = none */
	uint64_t cm[2];		/* mask of [ratelimit] prefix-len */
	bool clients;		/* client_rate or a partner */
	bool any;
	size_t npartners;
	struct bw_partner partner[];	/* longest prefix first */
};

struct client_bucket {
	_Atomic uint64_t key;	/* hash of the client prefix; 0 = never used */
	_Atomic uint64_t tat;	/* the bucket's virtual clock (ns) */
};

/* A packet waiting in a worker's queue. */
struct qent {
	uint64_t due;		/* CLOCK_MONOTONIC ns */
	uint64_t seq;		/* equal due times leave in arrival order */
	uint32_t buf, len;
};

struct nat64_bw_slot {
	struct nat64_bw *b;
	bool may_wait;		/* a worker thread; the main thread never waits */
	uint64_t credit;	/* octets reserved ahead (an uncongested chunk) */
	uint64_t credit_until;
	uint64_t cap_due;	/* latest departure the cap gave a queued packet */
	/* The queue: packet buffers, and a min-heap on departure time, so a
	 * client held back by its own limit never delays the others. */
	uint8_t *bufs;
	uint32_t bufsize;
	uint32_t *free_bufs, nfree;
	struct qent *heap;
	uint32_t nq;
	uint64_t seq;
	uint64_t c[BW__COUNT];	/* this slot's thread writes */
} __attribute__((aligned(64)));

struct nat64_bw {
	struct sixfour_ctx *ctx;
	uint64_t (*now)(void);		/* CLOCK_MONOTONIC ns; tests set their own */
	struct bw_conf *_Atomic conf;
	_Alignas(64) _Atomic uint64_t tat;	/* the cap's virtual clock (ns) */
	_Alignas(64) uint64_t seed;
	struct client_bucket *clients;
	unsigned nslots;
	struct nat64_bw_slot *slots;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Masks of `len` bits over the two halves of an IPv6 address. */
static void masks(unsigned len, uint64_t m[2])
{
	m[0] = len >= 64 ? ~0ull : len ? htobe64(~0ull << (64 - len)) : 0;
	m[1] = len >= 128 ? ~0ull : len > 64 ? htobe64(~0ull << (128 - len)) : 0;
}

static void halves(const struct in6_addr *a, uint64_t h[2])
{
	memcpy(h, a, 16);
}

/* --- configuration --- */

/* What may pass at once after a pause: 20 ms of the rate, at least two
 * full-size packets. It also lets a worker that was not scheduled for a
 * while catch up instead of losing the budget (2 busy cores: stalls of
 * 10 ms and more). */
static uint64_t burst_of(uint64_t rate)
{
	return MAX(CAP_BURST_NS, (uint64_t)BURST_MIN_OCTETS * NS / rate);
}

/* "PREFIX RATE" (RATE a size: 1250000, 10M; 0 = not limited). */
static int parse_partner(const char *text, struct bw_partner *p)
{
	char prefix[64], rate[32], extra;
	struct cidr c;
	if (sscanf(text, "%63s %31s %c", prefix, rate, &extra) != 2 ||
	    cidr_parse(prefix, &c, false) != 0 || c.family != AF_INET6 ||
	    size_parse(rate, &p->rate) != 0 || p->rate > (UINT64_C(1) << 40))
		return -EINVAL;
	masks(c.len, p->m);
	halves(&c.addr.v6, p->a);
	p->len = c.len;
	return 0;
}

int nat64_bw_check(const struct sixfour_config *cfg, char *err, size_t errlen)
{
	const struct str_list *l = &cfg->ratelimit.bandwidth_partners;
	if (l->n > MAX_PARTNERS) {
		snprintf(err, errlen, "[ratelimit] bandwidth-partner: at most %d", MAX_PARTNERS);
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct bw_partner p;
		if (parse_partner(l->v[i], &p) != 0) {
			snprintf(err, errlen, "[ratelimit] bandwidth-partner \"%s\": expected an IPv6 "
				 "PREFIX and a RATE in octets per second, e.g. 2001:db8:100::/40 10M",
				 l->v[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int cmp_partner(const void *a, const void *b)
{
	const struct bw_partner *x = a, *y = b;
	return (int)y->len - (int)x->len;
}

static struct bw_conf *conf_new(const struct sixfour_config *cfg)
{
	const struct str_list *l = &cfg->ratelimit.bandwidth_partners;
	size_t n = MIN(l->n, (size_t)MAX_PARTNERS);
	struct bw_conf *c = calloc(1, sizeof(*c) + n * sizeof(c->partner[0]));
	if (!c)
		return NULL;
	c->rate = cfg->ratelimit.bandwidth;
	c->queue_ns = cfg->ratelimit.bandwidth_queue_ms * 1000000ull;
	if (c->rate) {
		c->burst_ns = burst_of(c->rate);
		c->chunk = MIN((uint64_t)CHUNK_MAX, c->rate / 1000);
	}
	c->client_rate = cfg->ratelimit.client_bandwidth;
	masks(cfg->ratelimit.v6_prefix_len, c->cm);
	for (size_t i = 0; i < n; i++)	/* check() refused what does not parse */
		if (parse_partner(l->v[i], &c->partner[c->npartners]) == 0)
			c->npartners++;
	qsort(c->partner, c->npartners, sizeof(c->partner[0]), cmp_partner);
	c->clients = c->client_rate || c->npartners;
	c->any = c->rate || c->clients;
	return c;
}

struct nat64_bw *nat64_bw_new(struct sixfour_ctx *ctx, const struct sixfour_config *cfg,
			      unsigned nworkers, unsigned mtu)
{
	struct nat64_bw *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	*b = (struct nat64_bw){ .ctx = ctx, .now = now_ns };
	if (getrandom(&b->seed, sizeof(b->seed), 0) != (ssize_t)sizeof(b->seed))
		b->seed = now_ns() * 0x9e3779b97f4a7c15ull;
	b->nslots = nworkers + 1;
	b->slots = aligned_alloc(64, b->nslots * sizeof(*b->slots));
	b->clients = calloc(CLIENT_SLOTS, sizeof(*b->clients));
	struct bw_conf *c = conf_new(cfg);
	if (!b->slots || !b->clients || !c) {
		free(c);
		nat64_bw_free(b);
		return NULL;
	}
	memset(b->slots, 0, b->nslots * sizeof(*b->slots));
	for (unsigned i = 0; i < b->nslots; i++) {
		struct nat64_bw_slot *s = &b->slots[i];
		s->b = b;
		s->may_wait = i < nworkers;
		if (!s->may_wait)
			continue;
		/* The queue is allocated once, at start: a reload that turns
		 * a limit on must not allocate under running workers. */
		s->bufsize = (uint32_t)MAX(2048u, (mtu + 63) / 64 * 64);
		s->bufs = malloc((size_t)QUEUE_PACKETS * s->bufsize);
		s->free_bufs = malloc(QUEUE_PACKETS * sizeof(*s->free_bufs));
		s->heap = malloc(QUEUE_PACKETS * sizeof(*s->heap));
		if (!s->bufs || !s->free_bufs || !s->heap) {
			free(c);
			nat64_bw_free(b);
			return NULL;
		}
		for (uint32_t k = 0; k < QUEUE_PACKETS; k++)
			s->free_bufs[k] = k;
		s->nfree = QUEUE_PACKETS;
	}
	atomic_init(&b->conf, c);
	atomic_init(&b->tat, 0);
	return b;
}

void nat64_bw_set_clock(struct nat64_bw *b, uint64_t (*now)(void))
{
	b->now = now;
}

struct nat64_bw_slot *nat64_bw_slot(struct nat64_bw *b, unsigned i)
{
	return b && i < b->nslots ? &b->slots[i] : NULL;
}

void nat64_bw_reload(struct nat64_bw *b, const struct sixfour_config *cfg)
{
	struct bw_conf *c = conf_new(cfg);
	if (!c)
		return;	/* out of memory: the running limits stay */
	struct bw_conf *old = atomic_exchange_explicit(&b->conf, c, memory_order_acq_rel);
	publish_retire(b->ctx->publish, old, free);
}

void nat64_bw_free(struct nat64_bw *b)
{
	if (!b)
		return;
	for (unsigned i = 0; b->slots && i < b->nslots; i++) {
		free(b->slots[i].bufs);
		free(b->slots[i].free_bufs);
		free(b->slots[i].heap);
	}
	free(b->slots);
	free(b->clients);
	free(atomic_load(&b->conf));
	free(b);
}

/* --- the virtual clocks --- */

/* GCRA on `tat` (the theoretical departure of the last octet admitted):
 * takes `t` ns of it if the packet can leave within `max_wait` ns; its
 * departure time in *due. One compare-and-swap; no lock. */
static bool gcra(_Atomic uint64_t *tat, uint64_t t, uint64_t burst, uint64_t now,
		 uint64_t max_wait, uint64_t *due)
{
	uint64_t old = atomic_load_explicit(tat, memory_order_relaxed);
	for (;;) {
		uint64_t nt = MAX(old, now) + t;
		uint64_t dep = nt > burst ? nt - burst : 0;
		uint64_t wait = dep > now ? dep - now : 0;
		if (wait > max_wait)
			return false;
		if (atomic_compare_exchange_weak_explicit(tat, &old, nt, memory_order_relaxed,
							  memory_order_relaxed)) {
			*due = now + wait;
			return true;
		}
	}
}

/* The bucket of the client at `a` (memory order) in the shared table, and
 * its rate: a partner prefix's, or the client's own at [ratelimit]
 * prefix-len. NULL when every bucket of its row is busy, or when it is not
 * limited (*rate 0). */
static struct client_bucket *client_bucket(struct nat64_bw *b, const struct bw_conf *c,
					   const uint64_t a[2], uint64_t now, uint64_t *rate)
{
	const uint64_t *m = c->cm;
	uint64_t scope = 0;	/* keys of partners and of clients never meet */
	*rate = c->client_rate;
	for (size_t i = 0; i < c->npartners; i++) {
		const struct bw_partner *p = &c->partner[i];
		if ((a[0] & p->m[0]) == p->a[0] && (a[1] & p->m[1]) == p->a[1]) {
			*rate = p->rate;
			m = p->m;
			scope = 0x100 | p->len;
			break;
		}
	}
	if (!*rate)
		return NULL;
	uint64_t key = (mix((a[0] & m[0]) ^ b->seed ^ scope) ^ mix((a[1] & m[1]) + b->seed)) | 1;
	for (unsigned p = 0; p < CLIENT_PROBE; p++) {
		struct client_bucket *x = &b->clients[(key + p) & (CLIENT_SLOTS - 1)];
		uint64_t k = atomic_load_explicit(&x->key, memory_order_relaxed);
		if (k == key)
			return x;
		if (k != 0 && atomic_load_explicit(&x->tat, memory_order_relaxed) > now)
			continue;
		/* Free, or idle (a full bucket is a fresh one): take it. */
		if (atomic_compare_exchange_strong_explicit(&x->key, &k, key, memory_order_relaxed,
							    memory_order_relaxed) || k == key)
			return x;
	}
	return NULL;
}

/* 0 with the client's departure time, -1: over its limit for longer than
 * the queue allows, or 1: passed because every bucket of the client's row
 * is busy (the caller counts it once). What it took from the client's
 * bucket (to give back) in *taken and *cost when those are not NULL. */
static int client_reserve(struct nat64_bw_slot *s, const struct bw_conf *c,
			  const struct in6_addr *client, size_t len, uint64_t now,
			  uint64_t max_wait, uint64_t *due, _Atomic uint64_t **taken,
			  uint64_t *cost)
{
	uint64_t a[2], rate;
	halves(client, a);
	*due = now;
	struct client_bucket *e = client_bucket(s->b, c, a, now, &rate);
	if (!e)	/* rather let a packet through than drop a client we cannot
		 * tell apart from the others of its row */
		return rate ? 1 : 0;
	uint64_t t = (uint64_t)len * NS / rate;
	if (!gcra(&e->tat, t, burst_of(rate), now, max_wait, due))
		return -1;
	if (taken) {
		*taken = &e->tat;
		*cost = t;
	}
	return 0;
}

/* --- the queue --- */

static bool before(const struct qent *a, const struct qent *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_push(struct nat64_bw_slot *s, struct qent e)
{
	uint32_t i = s->nq++;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!before(&e, &s->heap[parent]))
			break;
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = e;
}

static void heap_pop(struct nat64_bw_slot *s)
{
	struct qent last = s->heap[--s->nq];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= s->nq)
			break;
		if (c + 1 < s->nq && before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nq)
		s->heap[i] = last;
}

static bool can_queue(const struct nat64_bw_slot *s, size_t len)
{
	return s->may_wait && s->nfree && len <= s->bufsize;
}

static void enqueue(struct nat64_bw_slot *s, uint64_t due, uint64_t now, const uint8_t *pkt,
		    size_t len)
{
	uint32_t buf = s->free_bufs[--s->nfree];
	memcpy(s->bufs + (size_t)buf * s->bufsize, pkt, len);
	heap_push(s, (struct qent){ .due = due, .seq = s->seq++, .buf = buf, .len = (uint32_t)len });
	counter_inc(&s->c[BW_QUEUED], 1);
	counter_inc(&s->c[BW_WAIT_US], (due - now) / 1000);
}

/* --- admission --- */

/* The cap's part: the departure time the shared budget gives (or false). */
static bool cap_reserve(struct nat64_bw_slot *s, const struct bw_conf *c, size_t len,
			uint64_t now, uint64_t max_wait, bool uncongested, uint64_t *due)
{
	*due = now;
	if (uncongested && s->credit >= len && now < s->credit_until) {
		s->credit -= len;
		return true;
	}
	s->credit = 0;
	/* Far from the cap: a chunk at once, so that workers rarely touch
	 * the shared clock. */
	if (uncongested && c->chunk > len &&
	    gcra(&s->b->tat, c->chunk * NS / c->rate, c->burst_ns, now, 0, due)) {
		s->credit = c->chunk - len;
		s->credit_until = now + c->burst_ns;
		return true;
	}
	if (!gcra(&s->b->tat, (uint64_t)len * NS / c->rate, c->burst_ns, now, max_wait, due))
		return false;
	if (*due > now)
		s->cap_due = *due;
	return true;
}

bool nat64_bw_limits(const struct nat64_bw_slot *s)
{
	return s && atomic_load_explicit(&s->b->conf, memory_order_acquire)->any;
}

enum nat64_verdict nat64_bw_admit(struct nat64_bw_slot *s, const struct in6_addr *client,
				  const uint8_t *pkt, size_t len, size_t wire)
{
	if (!s)
		return NAT64_CONTINUE;
	const struct bw_conf *c = atomic_load_explicit(&s->b->conf, memory_order_acquire);
	if (!c->any)
		return NAT64_CONTINUE;
	uint64_t now = s->b->now();
	uint64_t max_wait = can_queue(s, len) ? c->queue_ns : 0;
	uint64_t due = now, cap_due;
	/* The client's own limit first: what it drops costs the shared
	 * budget nothing. */
	int full = client && c->clients ?
		client_reserve(s, c, client, wire, now, max_wait, &due, NULL, NULL) : 0;
	if (full < 0)
		return NAT64_DROP_CLIENT_RATE_LIMITED;
	counter_inc(&s->c[BW_CLIENT_TABLE_FULL], (uint64_t)full);
	/* The budget is taken now even when the client's limit makes the
	 * packet leave later: other clients never queue behind it. */
	if (c->rate && !cap_reserve(s, c, wire, now, max_wait, due == now && s->cap_due <= now,
				    &cap_due))
		return NAT64_DROP_RATE_LIMITED;
	if (c->rate)
		due = MAX(due, cap_due);
	if (due <= now)
		return NAT64_CONTINUE;
	enqueue(s, due, now, pkt, len);	/* max_wait > 0 only when it fits */
	return NAT64_HELD;
}

bool nat64_bw_admit_now(struct nat64_bw_slot *s, const struct in6_addr *client, size_t wire)
{
	if (!s)
		return true;
	const struct bw_conf *c = atomic_load_explicit(&s->b->conf, memory_order_acquire);
	if (!c->any)
		return true;
	uint64_t now = s->b->now(), due, cap_due;
	_Atomic uint64_t *taken = NULL;
	uint64_t cost = 0;
	int full = client && c->clients ?
		client_reserve(s, c, client, wire, now, 0, &due, &taken, &cost) : 0;
	if (full < 0)
		return false;
	if (!c->rate || cap_reserve(s, c, wire, now, 0, s->cap_due <= now, &cap_due)) {
		counter_inc(&s->c[BW_CLIENT_TABLE_FULL], (uint64_t)full);
		return true;
	}
	/* The cap says later: the client's share goes back (its bucket then
	 * says at most what it said before, never more). */
	if (taken)
		atomic_fetch_sub_explicit(taken, cost, memory_order_relaxed);
	return false;
}

void nat64_bw_wait(struct nat64_bw_slot *s, int fd, unsigned vnet_len, uint64_t *write_errors)
{
	if (!s || s->nq == 0)
		return;
	for (;;) {
		uint64_t now = s->b->now();
		while (s->nq && s->heap[0].due <= now + DUE_SLACK_NS) {
			const struct qent *e = &s->heap[0];
			if (tunio_write_one(fd, vnet_len, NULL, s->bufs + (size_t)e->buf * s->bufsize,
					    e->len) != 0)
				counter_inc(write_errors, 1);
			s->free_bufs[s->nfree++] = e->buf;
			heap_pop(s);
		}
		if (s->nq == 0)
			return;
		uint64_t d = s->heap[0].due - now;
		struct timespec ts = { .tv_sec = (time_t)(d / NS), .tv_nsec = (long)(d % NS) };
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (ppoll(&pfd, 1, &ts, NULL) != 0)
			return;	/* readable, or a signal (the worker may be stopping) */
	}
}

/* --- counters --- */

static void sum(const struct nat64_bw *b, uint64_t v[BW__COUNT])
{
	memset(v, 0, BW__COUNT * sizeof(v[0]));
	for (unsigned i = 0; i < b->nslots; i++)
		counters_sum(v, b->slots[i].c, BW__COUNT);
}

void nat64_bw_print(struct nat64_bw *b, struct ctl_out *out)
{
	if (!b)
		return;
	uint64_t v[BW__COUNT];
	sum(b, v);
	const struct counter_group g = { "limits", "nat64_bandwidth", NULL, "event", NULL,
					 COUNTER_TOTAL, bw_desc, BW__COUNT, v, false };
	bool first = false;	/* a member of the stats object */
	counters_emit(out, counters_format_of(out), &g, 1, &first);
}

void nat64_bw_metrics(struct nat64_bw *b, struct ctl_out *out)
{
	if (!b)
		return;
	uint64_t v[BW__COUNT];
	sum(b, v);
	const struct counter_group g = { "limits", "nat64_bandwidth",
					 "Bandwidth cap and per-client limit events.", "event", NULL,
					 COUNTER_TOTAL, bw_desc, BW__COUNT, v, false };
	counters_emit(out, COUNTERS_PROMETHEUS, &g, 1, NULL);
}
