/* The handoff protocol engine (handoff/client.c) inside the translator: the
 * event queue from the workers to the main loop, the engine's callbacks
 * onto the session table and the TUN, and the two tables workers read.
 * The design (transport through the TUN, threads) is in handoff_glue.h. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/config.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/rfc6052.h"
#include "common/util.h"
#include "handoff/client.h"
#include "nat64/handoff_glue.h"
#include "nat64/nat64_priv.h"
#include "nat64/pool4.h"
#include "nat64/session_handoff.h"

#define QUEUE_EVENTS 8192		/* events waiting for the main loop */
#define QUEUE_BYTES (4u << 20)		/* packet copies waiting with them */
#define MAX_BLOCKS 1024
#define PROBE_ADDRS 16			/* pool addresses a probe goes out from */
#define TEXT_MAX 128			/* section 10.2 */
#define IPV4_HDR 20
#define UDP_HDR 8

#define GLUE_COUNTERS(X) \
	X(DATAGRAMS_IN, "handoff datagrams recognised in the IPv4 path") \
	X(MISSES_TAKEN, "IPv4 misses handed to a LOOKUP") \
	X(DELIVERED, "packets translated after a found LOOKUP") \
	X(INSTALL_FAILED, "found entries that could not be installed") \
	X(PROBES, "probes after an IPv6-side miss") \
	X(QUEUE_FULL, "events lost: the queue to the main loop was full") \
	X(SEND_ERRORS, "handoff datagrams the TUN refused")

enum glue_counter {
#define X(name, text) GLUE_##name,
	GLUE_COUNTERS(X)
#undef X
	GLUE__COUNT
};

static const char *const glue_counter_names[] = {
#define X(name, text) [GLUE_##name] = #name,
	GLUE_COUNTERS(X)
#undef X
};

enum ev_type { EV_CREATED, EV_REMOVED, EV_MISS, EV_INPUT, EV_PROBE };

struct event {
	uint8_t type;		/* enum ev_type */
	uint8_t why;		/* enum handoff_removal */
	uint8_t proto;
	uint16_t port;		/* MISS: NAT64 port; INPUT: source port */
	struct in_addr nat64, server;
	struct handoff_er er;
	uint8_t *data;		/* MISS, INPUT: a copy */
	size_t len;
};

struct block {
	struct in_addr server;
	uint64_t until_ms;	/* UINT64_MAX: until restart */
};

struct nat64_handoff {
	struct nat64 *n;
	struct handoff_client *client;
	uint16_t port;
	char text[TEXT_MAX + 1];

	/* workers -> main loop */
	int efd;
	pthread_mutex_t qlock;
	struct event *q;
	size_t qhead, qlen, qbytes;

	/* (T, S) pairs with an established LOOKUP session: sorted keys,
	 * written by the main thread, read by workers on a miss. */
	pthread_rwlock_t est_lock;
	uint64_t *est;
	size_t nest, cap_est;

	/* active BLOCKs; `nblocks` lets every packet skip the lock */
	pthread_rwlock_t block_lock;
	atomic_uint nblocks;
	struct block blocks[MAX_BLOCKS];

	/* the main thread's translation context for delivered packets */
	struct nat64_worker w;
	uint8_t tx[IPV4_HDR + UDP_HDR + HANDOFF_MAX_DGRAM];
	uint16_t ip_id;

	uint64_t c[GLUE__COUNT];
};

static void bump(struct nat64_handoff *h, enum glue_counter i)
{
	__atomic_fetch_add(&h->c[i], 1, __ATOMIC_RELAXED);
}

static uint64_t pair_key(struct in_addr t, struct in_addr s)
{
	return (uint64_t)ntohl(t.s_addr) << 32 | ntohl(s.s_addr);
}

uint16_t nat64_handoff_port(const struct sixfour_config *cfg)
{
	return cfg->handoff.enable ? (uint16_t)cfg->handoff.port : 0;
}

/* ---- the queue ---- */

/* Called from workers and through the session hook (never under the table
 * lock): it takes only the queue lock. `data` is copied. */
static bool push(struct nat64_handoff *h, const struct event *ev, const uint8_t *data,
		 size_t len)
{
	uint8_t *copy = NULL;
	if (data) {
		copy = malloc(len);
		if (!copy) {
			bump(h, GLUE_QUEUE_FULL);
			return false;
		}
		memcpy(copy, data, len);
	}
	pthread_mutex_lock(&h->qlock);
	if (h->qlen == QUEUE_EVENTS || h->qbytes + len > QUEUE_BYTES) {
		pthread_mutex_unlock(&h->qlock);
		free(copy);
		bump(h, GLUE_QUEUE_FULL);
		return false;
	}
	struct event *slot = &h->q[(h->qhead + h->qlen) % QUEUE_EVENTS];
	*slot = *ev;
	slot->data = copy;
	slot->len = data ? len : 0;
	h->qbytes += slot->len;
	bool wake = h->qlen++ == 0;
	pthread_mutex_unlock(&h->qlock);
	/* Only the first event of a burst wakes the loop; it drains them all. */
	if (wake) {
		uint64_t one = 1;
		if (write(h->efd, &one, sizeof(one)) < 0) {
			/* the counter is non-zero already: the loop wakes anyway */
		}
	}
	return true;
}

static void est_set(struct nat64_handoff *h, struct in_addr t, struct in_addr s, bool on);

static void handle(struct nat64_handoff *h, struct event *ev)
{
	switch (ev->type) {
	case EV_CREATED:
		handoff_client_entry_created(h->client, ev->nat64, ev->server, &ev->er);
		break;
	case EV_REMOVED:
		handoff_client_entry_removed(h->client, ev->nat64, ev->server, &ev->er,
					     (enum handoff_removal)ev->why);
		break;
	case EV_MISS:
		/* The session may have gone down since the worker looked. */
		handoff_client_miss(h->client, ev->nat64, ev->server, ev->proto, ev->port,
				    ev->data, ev->len);
		break;
	case EV_INPUT:
		handoff_client_input(h->client, ev->nat64, ev->server, ev->port, ev->data,
				     ev->len);
		est_set(h, ev->nat64, ev->server,
			handoff_client_can_lookup(h->client, ev->nat64, ev->server));
		break;
	case EV_PROBE:
		handoff_client_probe(h->client, ev->nat64, ev->server);
		break;
	}
}

static void on_events(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct nat64_handoff *h = arg;
	(void)loop;
	(void)events;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a previous round drained it */
	}
	struct event batch[64];
	for (;;) {
		size_t k = 0;
		pthread_mutex_lock(&h->qlock);
		while (h->qlen && k < ARRAY_SIZE(batch)) {
			batch[k] = h->q[h->qhead];
			h->qbytes -= batch[k].len;
			h->qhead = (h->qhead + 1) % QUEUE_EVENTS;
			h->qlen--;
			k++;
		}
		pthread_mutex_unlock(&h->qlock);
		if (k == 0)
			break;
		for (size_t i = 0; i < k; i++) {
			handle(h, &batch[i]);
			free(batch[i].data);
		}
	}
}

/* ---- tables the workers read ---- */

static size_t est_pos(const struct nat64_handoff *h, uint64_t key)
{
	size_t lo = 0, hi = h->nest;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->est[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void est_set(struct nat64_handoff *h, struct in_addr t, struct in_addr s, bool on)
{
	uint64_t key = pair_key(t, s);
	pthread_rwlock_wrlock(&h->est_lock);
	size_t i = est_pos(h, key);
	bool have = i < h->nest && h->est[i] == key;
	if (on && !have) {
		if (h->nest == h->cap_est) {
			size_t cap = h->cap_est ? 2 * h->cap_est : 64;
			uint64_t *n = realloc(h->est, cap * sizeof(*n));
			if (!n)
				goto out;	/* misses from S are then plain drops */
			h->est = n;
			h->cap_est = cap;
		}
		memmove(&h->est[i + 1], &h->est[i], (h->nest - i) * sizeof(*h->est));
		h->est[i] = key;
		h->nest++;
	} else if (!on && have) {
		memmove(&h->est[i], &h->est[i + 1], (h->nest - i - 1) * sizeof(*h->est));
		h->nest--;
	}
out:
	pthread_rwlock_unlock(&h->est_lock);
}

static bool est_has(struct nat64_handoff *h, struct in_addr t, struct in_addr s)
{
	uint64_t key = pair_key(t, s);
	pthread_rwlock_rdlock(&h->est_lock);
	size_t i = est_pos(h, key);
	bool have = i < h->nest && h->est[i] == key;
	pthread_rwlock_unlock(&h->est_lock);
	return have;
}

bool nat64_handoff_blocked(struct nat64_handoff *h, struct in_addr server)
{
	if (!h || atomic_load_explicit(&h->nblocks, memory_order_relaxed) == 0)
		return false;
	uint64_t now = monotonic_ms();
	bool hit = false;
	pthread_rwlock_rdlock(&h->block_lock);
	for (unsigned i = 0; i < MAX_BLOCKS && !hit; i++)
		hit = h->blocks[i].until_ms > now && h->blocks[i].server.s_addr == server.s_addr;
	pthread_rwlock_unlock(&h->block_lock);
	return hit;
}

/* ---- the engine's callbacks (main thread) ---- */

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One datagram from T:port to S:port, as an IPv4 packet into the TUN: the
 * kernel forwards it like translated traffic. */
static void cb_send(void *ctx, struct in_addr nat64, struct in_addr server, const uint8_t *p,
		    size_t len)
{
	struct nat64_handoff *h = ctx;
	if (len > HANDOFF_MAX_DGRAM)
		return;
	uint8_t *ip = h->tx, *udp = ip + IPV4_HDR;
	size_t total = IPV4_HDR + UDP_HDR + len;
	memset(ip, 0, IPV4_HDR + UDP_HDR);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)total);
	put16(ip + 4, h->ip_id++);
	put16(ip + 6, 0x4000);		/* DF: at most 1500 octets */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &nat64, 4);
	memcpy(ip + 16, &server, 4);
	put16(ip + 10, csum_fold(csum_add(0, ip, IPV4_HDR)));
	put16(udp, h->port);
	put16(udp + 2, h->port);
	put16(udp + 4, (uint16_t)(UDP_HDR + len));
	memcpy(udp + UDP_HDR, p, len);
	uint32_t sum = csum_add(0, ip + 12, 8) + IPPROTO_UDP + (uint32_t)(UDP_HDR + len);
	uint16_t c = csum_fold(csum_add(sum, udp, UDP_HDR + len));
	put16(udp + 6, c ? c : 0xffff);
	if (write(h->n->fds[0], h->tx, total) != (ssize_t)total)
		bump(h, GLUE_SEND_ERRORS);
}

static void er_from_record(const struct session_record *r, struct handoff_er *er)
{
	memset(er, 0, sizeof(*er));
	er->proto = r->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : r->proto;
	er->nat_port = r->pool_port;
	er->server_port = er->proto == IPPROTO_ICMP ? 0 : r->remote_port;
	er->client_port = r->client_port;
	er->client = r->client6;
}

struct foreach_arg {
	void (*fn)(void *arg, const struct handoff_er *er);
	void *arg;
};

static void foreach_one(void *arg, const struct session_record *rec)
{
	struct foreach_arg *fa = arg;
	struct handoff_er er;
	er_from_record(rec, &er);
	fa->fn(fa->arg, &er);
}

static void cb_foreach_entry(void *ctx, struct in_addr nat64, struct in_addr server,
			     void (*fn)(void *arg, const struct handoff_er *er), void *arg)
{
	struct nat64_handoff *h = ctx;
	struct foreach_arg fa = { fn, arg };
	session_foreach_toward(h->n->sessions, nat64, server, foreach_one, &fa);
}

static void cb_entry_acked(void *ctx, struct in_addr nat64, struct in_addr server, uint8_t proto,
			   uint16_t nat_port)
{
	struct nat64_handoff *h = ctx;
	session_ack_flow(h->n->sessions, proto, nat64, nat_port, server, monotonic_ms());
}

/* The IPv6 form of S for a re-installed entry: the record does not say
 * which prefix the client used, so the one DNS64 hands out (an active
 * synthesize prefix of the translator) is the best guess, else the first
 * translate prefix that may embed S. */
static bool remote6_for(struct nat64_handoff *h, struct in_addr server, struct in6_addr *out,
			uint8_t *len)
{
	const struct prefix_set *set = prefix_pub_current(h->n->ctx->prefixes);
	const struct prefix_info *best = NULL;
	for (size_t i = 0; set && i < set->count; i++) {
		const struct prefix_info *p = &set->prefixes[i];
		if (!(p->roles & PREFIX_ROLE_TRANSLATE) || !rfc6052_may_embed(&p->addr, p->len, server))
			continue;
		if (!best || (p->active && !best->active))
			best = p;
	}
	if (!best || rfc6052_embed(&best->addr, best->len, server, out) != 0)
		return false;
	*len = best->len;
	return true;
}

static void cb_install(void *ctx, struct in_addr nat64, struct in_addr server,
		       const struct handoff_er *er)
{
	struct nat64_handoff *h = ctx;
	struct session_record rec = {
		.proto = er->proto, .client6 = er->client, .client_port = er->client_port,
		.remote4 = server, .remote_port = er->proto == IPPROTO_ICMP ? 0 : er->server_port,
		.pool4 = nat64, .pool_port = er->nat_port, .state = SESSION_ACKED,
	};
	struct pool4 *pool = atomic_load_explicit(&h->n->pool, memory_order_acquire);
	int rc = -EINVAL;
	/* Only our own transport addresses: a server cannot make us map
	 * anything outside the pool. */
	if (pool4_contains(pool, nat64, er->nat_port)) {
		if (remote6_for(h, server, &rec.remote6, &rec.prefix_len))
			rc = session_install(h->n->sessions, &rec, monotonic_ms());
	}
	if (rc != 0)
		bump(h, GLUE_INSTALL_FAILED);
}

static void cb_deliver(void *ctx, struct in_addr nat64, struct in_addr server,
		       const uint8_t *pkt, size_t len)
{
	struct nat64_handoff *h = ctx;
	(void)nat64;
	(void)server;
	bump(h, GLUE_DELIVERED);
	nat64_path4_deliver(&h->w, pkt, len);
}

static void cb_session_down(void *ctx, struct in_addr nat64, struct in_addr server)
{
	struct nat64_handoff *h = ctx;
	est_set(h, nat64, server, false);
	size_t k = session_release_acked(h->n->sessions, nat64, server, monotonic_ms());
	char t[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &nat64, t, sizeof(t));
	inet_ntop(AF_INET, &server, s, sizeof(s));
	log_info("handoff: session %s -> %s down; %zu cached entries back on RFC 6146 timers", t,
		 s, k);
}

static void cb_blocked(void *ctx, struct in_addr nat64, struct in_addr server, uint32_t duration)
{
	struct nat64_handoff *h = ctx;
	(void)nat64;
	uint64_t now = monotonic_ms();
	uint64_t until = duration == HANDOFF_BLOCK_FOREVER ? UINT64_MAX
							   : now + (uint64_t)duration * 1000;
	pthread_rwlock_wrlock(&h->block_lock);
	/* The same server's slot, else a free or expired one. */
	struct block *slot = NULL;
	unsigned live = 0;
	for (unsigned i = 0; i < MAX_BLOCKS; i++) {
		struct block *b = &h->blocks[i];
		if (b->until_ms > now && b->server.s_addr == server.s_addr)
			slot = b;
	}
	for (unsigned i = 0; i < MAX_BLOCKS && !slot; i++)
		if (h->blocks[i].until_ms <= now)
			slot = &h->blocks[i];
	if (slot)
		*slot = (struct block){ server, until };
	for (unsigned i = 0; i < MAX_BLOCKS; i++)
		live += h->blocks[i].until_ms > now;
	atomic_store(&h->nblocks, live);
	pthread_rwlock_unlock(&h->block_lock);
}

static const struct handoff_client_ops client_ops = {
	.send = cb_send,
	.foreach_entry = cb_foreach_entry,
	.entry_acked = cb_entry_acked,
	.install = cb_install,
	.deliver = cb_deliver,
	.session_down = cb_session_down,
	.blocked = cb_blocked,
};

/* ---- the session hook (after the table lock, session.h) ---- */

static void on_session_event(void *arg, enum session_event ev, const struct session_record *rec)
{
	struct nat64_handoff *h = arg;
	struct event e = { .type = ev == SESSION_EV_CREATED ? EV_CREATED : EV_REMOVED,
			   .nat64 = rec->pool4, .server = rec->remote4 };
	er_from_record(rec, &e.er);
	if (ev != SESSION_EV_CREATED) {
		bool closed = rec->proto == IPPROTO_TCP &&
			      (rec->tcp_state == SESSION_TCP_TRANS ||
			       rec->tcp_state == SESSION_TCP_V4_FIN_V6_FIN_RCV);
		e.why = closed ? HANDOFF_REMOVED_CLOSED
			: ev == SESSION_EV_EVICTED || rec->state == SESSION_ACKED
			? HANDOFF_REMOVED_EVICTED : HANDOFF_REMOVED_EXPIRED;
	}
	push(h, &e, NULL, 0);
}

/* ---- the packet path ---- */

bool nat64_handoff_input(struct nat64_handoff *h, const uint8_t *p, size_t len)
{
	if (!h || len < IPV4_HDR + UDP_HDR || p[9] != IPPROTO_UDP)
		return false;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	size_t tot = (size_t)p[2] << 8 | p[3];
	if (ihl < IPV4_HDR || tot > len || tot < ihl + UDP_HDR)
		return false;
	/* Fragments are never ours: handoff datagrams fit 1500 octets. */
	if (((p[6] & 0x3f) | p[7]) != 0)
		return false;
	const uint8_t *udp = p + ihl;
	if (((uint16_t)udp[2] << 8 | udp[3]) != h->port)
		return false;
	struct in_addr dst, src;
	memcpy(&src, p + 12, 4);
	memcpy(&dst, p + 16, 4);
	struct pool4 *pool = atomic_load_explicit(&h->n->pool, memory_order_acquire);
	if (!pool4_has_addr(pool, dst))
		return false;
	size_t ulen = (size_t)udp[4] << 8 | udp[5];
	if (ulen < UDP_HDR || ulen > tot - ihl)
		ulen = tot - ihl;	/* the engine validates what it gets */
	bump(h, GLUE_DATAGRAMS_IN);
	struct event e = { .type = EV_INPUT, .nat64 = dst, .server = src,
			   .port = (uint16_t)((uint16_t)udp[0] << 8 | udp[1]) };
	push(h, &e, udp + UDP_HDR, ulen - UDP_HDR);
	return true;
}

bool nat64_handoff_miss(struct nat64_handoff *h, const struct nat64_tuple *in, const uint8_t *p,
			size_t len)
{
	if (!h || in->family != AF_INET || !est_has(h, in->dst.v4, in->src.v4))
		return false;
	struct event e = { .type = EV_MISS, .nat64 = in->dst.v4, .server = in->src.v4,
			   .proto = in->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : in->proto,
			   .port = in->dport };
	if (!push(h, &e, p, len))
		return false;
	bump(h, GLUE_MISSES_TAKEN);
	return true;
}

void nat64_handoff_probe(struct nat64_handoff *h, struct in_addr server)
{
	if (!h)
		return;
	struct pool4 *pool = atomic_load_explicit(&h->n->pool, memory_order_acquire);
	size_t n = MIN(pool4_count(pool), (size_t)PROBE_ADDRS);
	for (size_t i = 0; i < n; i++) {
		struct event e = { .type = EV_PROBE, .server = server };
		uint16_t lo, hi;
		pool4_get(pool, i, &e.nat64, &lo, &hi);
		if (!est_has(h, e.nat64, server) && push(h, &e, NULL, 0))
			bump(h, GLUE_PROBES);
	}
}

/* ---- life cycle ---- */

struct nat64_handoff *nat64_handoff_new(struct nat64 *n, const struct sixfour_config *cfg)
{
	if (!cfg->handoff.enable)
		return NULL;
	struct nat64_handoff *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->n = n;
	h->efd = -1;
	h->port = (uint16_t)cfg->handoff.port;
	pthread_mutex_init(&h->qlock, NULL);
	pthread_rwlock_init(&h->est_lock, NULL);
	pthread_rwlock_init(&h->block_lock, NULL);
	if (cfg->handoff.contact && cfg->handoff.contact[0])
		snprintf(h->text, sizeof(h->text), "%s Contact: %s", cfg->handoff.message,
			 cfg->handoff.contact);
	else
		snprintf(h->text, sizeof(h->text), "%s", cfg->handoff.message);
	h->q = calloc(QUEUE_EVENTS, sizeof(*h->q));
	h->w.n = n;
	h->w.id = n->nworkers;
	h->w.fd = n->fds[0];
	h->w.ipv4_id = (uint32_t)monotonic_us();
	h->w.in = malloc(NAT64_BUF_SIZE);
	h->w.out = malloc(NAT64_BUF_SIZE);
	h->w.out2 = malloc(NAT64_BUF_SIZE);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!h->q || !h->w.in || !h->w.out || !h->w.out2 || h->efd < 0)
		goto fail;
	struct handoff_client_config cc;
	handoff_client_config_default(&cc);
	cc.port = h->port;
	cc.text = h->text;	/* the engine cuts it at 128 octets, UTF-8 safe */
	cc.caps = (cfg->handoff.lookup ? HANDOFF_CAP_LOOKUP : 0) | HANDOFF_CAP_BLOCK;
	cc.probe_rate = cfg->handoff.probe_rate;
	cc.session_rate = cfg->handoff.session_rate;
	cc.batch_delay_ms = (uint32_t)cfg->handoff.batch_delay_ms;
	cc.keepalive_ms = (uint32_t)cfg->handoff.keepalive_ms;
	h->client = handoff_client_new(n->ctx->loop, &cc, &client_ops, h);
	if (!h->client || evloop_add_fd(n->ctx->loop, h->efd, EPOLLIN, on_events, h) != 0)
		goto fail;
	session_table_set_hook(n->sessions, on_session_event, h);
	log_info("handoff: notices to UDP port %u of every server, from the pool addresses",
		 h->port);
	return h;
fail:
	log_err("handoff: cannot start: %s", strerror(errno ? errno : ENOMEM));
	nat64_handoff_free(h);
	return NULL;
}

void nat64_handoff_free(struct nat64_handoff *h)
{
	if (!h)
		return;
	if (h->client)
		session_table_set_hook(h->n->sessions, NULL, NULL);
	if (h->efd >= 0) {
		evloop_del_fd(h->n->ctx->loop, h->efd);
		close(h->efd);
	}
	handoff_client_free(h->client);
	if (h->q)
		for (size_t i = 0; i < h->qlen; i++)
			free(h->q[(h->qhead + i) % QUEUE_EVENTS].data);
	free(h->q);
	free(h->est);
	free(h->w.in);
	free(h->w.out);
	free(h->w.out2);
	pthread_mutex_destroy(&h->qlock);
	pthread_rwlock_destroy(&h->est_lock);
	pthread_rwlock_destroy(&h->block_lock);
	free(h);
}

/* ---- control ---- */

struct print_arg {
	struct ctl_out *out;
	bool first;
};

static void print_peer(void *arg, const struct handoff_peer_info *pi)
{
	struct print_arg *pa = arg;
	struct ctl_out *out = pa->out;
	char t[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &pi->nat64, t, sizeof(t));
	inet_ntop(AF_INET, &pi->server, s, sizeof(s));
	const char *state = pi->established ? "established" : "probing";
	if (out->json) {
		ctl_printf(out, "%s{\"nat64\":\"%s\",\"server\":\"%s\",\"state\":\"%s\","
			   "\"lookup\":%s,\"blocked\":%s,\"outstanding_lookups\":%u,"
			   "\"queued_packets\":%u,\"unacked\":%u,\"counters\":{",
			   pa->first ? "" : ",", t, s, state,
			   pi->caps & HANDOFF_CAP_LOOKUP ? "true" : "false",
			   pi->blocked ? "true" : "false", pi->outstanding_lookups,
			   pi->queued_packets, pi->unacked);
		for (unsigned i = 0; i < HANDOFF_CLIENT__COUNT; i++)
			ctl_printf(out, "%s\"%s\":%llu", i ? "," : "",
				   handoff_client_counter_name(i),
				   (unsigned long long)pi->counters[i]);
		ctl_printf(out, "}}");
	} else {
		ctl_printf(out, "%s -> %s %s%s%s lookups-out %u queued %u unacked %u\n", t, s, state,
			   pi->established && (pi->caps & HANDOFF_CAP_LOOKUP) ? " (lookup)" : "",
			   pi->blocked ? " BLOCKED" : "", pi->outstanding_lookups,
			   pi->queued_packets, pi->unacked);
		ctl_printf(out, " ");
		for (unsigned i = 0; i < HANDOFF_CLIENT__COUNT; i++)
			if (pi->counters[i])
				ctl_printf(out, " %s %llu", handoff_client_counter_name(i),
					   (unsigned long long)pi->counters[i]);
		ctl_printf(out, "\n");
	}
	pa->first = false;
}

void nat64_handoff_print(struct nat64_handoff *h, struct ctl_out *out)
{
	if (!h) {
		ctl_printf(out, out->json ? "{\"enabled\":false}\n" : "handoff: disabled\n");
		return;
	}
	struct print_arg pa = { out, true };
	if (out->json) {
		ctl_printf(out, "{\"enabled\":true,\"port\":%u,\"totals\":{", h->port);
		for (unsigned i = 0; i < HANDOFF_CLIENT__COUNT; i++)
			ctl_printf(out, "%s\"%s\":%llu", i ? "," : "", handoff_client_counter_name(i),
				   (unsigned long long)handoff_client_total(h->client, i));
		for (unsigned i = 0; i < GLUE__COUNT; i++)
			ctl_printf(out, ",\"%s\":%llu", glue_counter_names[i],
				   (unsigned long long)__atomic_load_n(&h->c[i], __ATOMIC_RELAXED));
		ctl_printf(out, "},\"sessions\":[");
		handoff_client_foreach_peer(h->client, print_peer, &pa);
		ctl_printf(out, "]}\n");
		return;
	}
	ctl_printf(out, "handoff: port %u\ntotals:", h->port);
	for (unsigned i = 0; i < HANDOFF_CLIENT__COUNT; i++)
		ctl_printf(out, " %s %llu", handoff_client_counter_name(i),
			   (unsigned long long)handoff_client_total(h->client, i));
	for (unsigned i = 0; i < GLUE__COUNT; i++)
		ctl_printf(out, " %s %llu", glue_counter_names[i],
			   (unsigned long long)__atomic_load_n(&h->c[i], __ATOMIC_RELAXED));
	ctl_printf(out, "\nsessions:\n");
	handoff_client_foreach_peer(h->client, print_peer, &pa);
}

struct count_arg {
	unsigned established, probing, blocked;
};

static void count_peer(void *arg, const struct handoff_peer_info *pi)
{
	struct count_arg *ca = arg;
	if (pi->established)
		ca->established++;
	else
		ca->probing++;
	ca->blocked += pi->blocked;
}

void nat64_handoff_metrics(struct nat64_handoff *h, struct ctl_out *out)
{
	if (!h)
		return;
	ctl_printf(out, "# HELP sixfour_nat64_handoff_events_total NAT64 handoff protocol events "
		   "by kind.\n# TYPE sixfour_nat64_handoff_events_total counter\n");
	for (unsigned i = 0; i < HANDOFF_CLIENT__COUNT; i++)
		ctl_printf(out, "sixfour_nat64_handoff_events_total{kind=\"%s\"} %llu\n",
			   handoff_client_counter_name(i),
			   (unsigned long long)handoff_client_total(h->client, i));
	for (unsigned i = 0; i < GLUE__COUNT; i++)
		ctl_printf(out, "sixfour_nat64_handoff_events_total{kind=\"%s\"} %llu\n",
			   glue_counter_names[i],
			   (unsigned long long)__atomic_load_n(&h->c[i], __ATOMIC_RELAXED));
	struct count_arg ca = { 0 };
	handoff_client_foreach_peer(h->client, count_peer, &ca);
	ctl_printf(out, "# HELP sixfour_nat64_handoff_sessions Handoff sessions by state.\n"
		   "# TYPE sixfour_nat64_handoff_sessions gauge\n"
		   "sixfour_nat64_handoff_sessions{state=\"established\"} %u\n"
		   "sixfour_nat64_handoff_sessions{state=\"probing\"} %u\n"
		   "sixfour_nat64_handoff_sessions{state=\"blocked\"} %u\n",
		   ca.established, ca.probing, ca.blocked);
}
