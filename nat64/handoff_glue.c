/* The handoff protocol engine (handoff/client.c) inside the translator: its
 * callbacks onto the session table and the TUN, the entry points of the
 * packet path, the view workers read, saving and resuming sessions, and
 * the control output. The design is in handoff_glue.h. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/publish.h"
#include "common/rfc6052.h"
#include "common/util.h"
#include "handoff/client.h"
#include "nat64/bwlimit.h"
#include "nat64/checksum.h"
#include "nat64/handoff_glue.h"
#include "nat64/handoff_ports.h"
#include "nat64/handoff_priv.h"
#include "nat64/handoff_queue.h"
#include "nat64/handoff_state.h"
#include "nat64/nat64_priv.h"
#include "nat64/pool4.h"
#include "nat64/session_handoff.h"
#include "nat64/usage.h"
#include "nat64/tunio.h"
#include "nat64/xlate_priv.h"

const struct counter_desc handoff_glue_counter_desc[GLUE__COUNT] = {
	GLUE_COUNTERS(COUNTER_DESC)
};

#define QUEUE_EVENTS 8192		/* events waiting for the main loop */
#define QUEUE_BYTES (4u << 20)		/* packet copies waiting with them */
#define MAX_RESUMED 4096		/* sessions resumed at start */
#define PROBE_ADDRS 16			/* pool addresses a probe goes out from */
#define SAVE_MS 1000			/* the state file is rewritten at most this often */
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

static uint64_t pair_key(struct in_addr t, struct in_addr s)
{
	return (uint64_t)ntohl(t.s_addr) << 32 | ntohl(s.s_addr);
}

static struct pool4 *pool_of(struct nat64_handoff *h)
{
	return atomic_load_explicit(&h->n->pool, memory_order_acquire);
}

uint16_t nat64_handoff_port(const struct sixfour_config *cfg)
{
	return cfg->handoff.enable ? (uint16_t)cfg->handoff.port : 0;
}

/* ---- the published view ---- */

static size_t sorted_pos(const uint64_t *v, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool sorted_has(const uint64_t *v, size_t n, uint64_t key)
{
	size_t i = sorted_pos(v, n, key);
	return i < n && v[i] == key;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct collect {
	uint64_t *pairs;
	size_t n, cap;
};

static void collect_pair(void *arg, const struct handoff_peer_info *pi)
{
	struct collect *c = arg;
	if (!pi->established || !(pi->caps & HANDOFF_CAP_LOOKUP) || c->n == c->cap)
		return;
	c->pairs[c->n++] = pair_key(pi->nat64, pi->server);
}

static void view_free(void *p)
{
	free(p);
}

static void count_peer(void *arg, const struct handoff_peer_info *pi)
{
	(void)pi;
	(*(size_t *)arg)++;
}

/* Rebuilds the view from the engine and the BLOCKs when either changed,
 * publishes it and retires the old one. */
static void view_update(struct nat64_handoff *h, bool force)
{
	uint64_t gen = handoff_client_generation(h->client);
	if (!force && gen == h->view_gen)
		return;
	h->view_gen = gen;
	uint64_t now = monotonic_ms();
	size_t w = 0;
	for (size_t i = 0; i < h->nblocks; i++)
		if (h->blocks[i].until_ms > now)
			h->blocks[w++] = h->blocks[i];
	h->nblocks = w;
	size_t npeers = 0;
	handoff_client_foreach_peer(h->client, count_peer, &npeers);
	/* One allocation: header, pairs, resumed flags, blocks. */
	size_t size = sizeof(struct view) + npeers * sizeof(uint64_t) + npeers +
		      sizeof(uint64_t) + h->nblocks * sizeof(struct block);
	struct view *v = calloc(1, size);
	if (!v)
		return;	/* the old view stays: a stale answer, not a crash */
	v->pairs = (uint64_t *)(v + 1);
	struct collect c = { v->pairs, 0, npeers };
	handoff_client_foreach_peer(h->client, collect_pair, &c);
	qsort(v->pairs, c.n, sizeof(*v->pairs), cmp_u64);
	v->npairs = c.n;
	v->resumed = (uint8_t *)(v->pairs + npeers);
	for (size_t i = 0; i < c.n; i++)
		v->resumed[i] = sorted_has(h->resumed, h->nresumed, v->pairs[i]);
	uintptr_t b = ((uintptr_t)(v->resumed + npeers) + 7) & ~(uintptr_t)7;
	v->blocks = (struct block *)b;
	memcpy(v->blocks, h->blocks, h->nblocks * sizeof(*v->blocks));
	v->nblocks = h->nblocks;
	struct view *old = atomic_exchange_explicit(&h->view, v, memory_order_acq_rel);
	publish_retire(h->n->ctx->publish, old, view_free);
}

/* The pair's place in the view: -1 when it has no LOOKUP session, else 1
 * when it was resumed (our port knowledge is partial), 0 otherwise. */
static int view_pair(struct nat64_handoff *h, struct in_addr t, struct in_addr s)
{
	const struct view *v = atomic_load_explicit(&h->view, memory_order_acquire);
	if (!v)
		return -1;
	uint64_t key = pair_key(t, s);
	size_t i = sorted_pos(v->pairs, v->npairs, key);
	if (i == v->npairs || v->pairs[i] != key)
		return -1;
	return v->resumed[i];
}

bool nat64_handoff_blocked(struct nat64_handoff *h, struct in_addr server)
{
	if (!h)
		return false;
	const struct view *v = atomic_load_explicit(&h->view, memory_order_acquire);
	if (!v || v->nblocks == 0)
		return false;
	uint64_t now = monotonic_ms();
	for (size_t i = 0; i < v->nblocks; i++)
		if (v->blocks[i].server == server.s_addr && v->blocks[i].until_ms > now)
			return true;
	return false;
}

/* ---- the engine's callbacks (main thread) ---- */

/* One datagram from T:port to S:port, as an IPv4 packet into the TUN: the
 * kernel forwards it like translated traffic. */
static void cb_send(void *ctx, struct in_addr nat64, struct in_addr server, const uint8_t *p,
		    size_t len)
{
	struct nat64_handoff *h = ctx;
	if (len > HANDOFF_MAX_DGRAM)
		return;
	uint8_t *ip = h->tx, *udp = ip + IPV4_HDR_LEN;
	uint16_t ulen = (uint16_t)(UDP_HDR + len);
	/* DF: at most 1500 octets, and never fragmented on the way. */
	nat64_write_ipv4(ip, 0, (uint16_t)(IPV4_HDR_LEN + ulen), h->ip_id++, 0x4000, 64,
			 IPPROTO_UDP, nat64, server);
	put_be16(udp, h->port);
	put_be16(udp + 2, h->port);
	put_be16(udp + 4, ulen);
	put_be16(udp + 6, 0);
	memcpy(udp + UDP_HDR, p, len);
	uint32_t sum = nat64_csum_pseudo4(nat64, server, ulen, IPPROTO_UDP);
	uint16_t c = nat64_csum_finish(nat64_csum_add(sum, udp, ulen));
	put_be16(udp + 6, c ? c : 0xffff);	/* RFC 768: 0 means none */
	size_t total = IPV4_HDR_LEN + ulen;
	if (tunio_write_one(h->n->fds[0], h->n->vnet_len, NULL, h->tx, total) != 0)
		counter_add(&h->c[GLUE_SEND_ERRORS], 1);
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
	handoff_ports_hold(h->ports, nat64, proto, nat_port, server);
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
	int rc = -EINVAL;
	/* Only our own transport addresses: a server cannot make us map
	 * anything outside the pool. */
	if (pool4_contains(pool_of(h), nat64, er->nat_port) &&
	    remote6_for(h, server, &rec.remote6, &rec.prefix_len))
		rc = session_install(h->n->sessions, &rec, monotonic_ms());
	if (rc != 0) {
		counter_add(&h->c[GLUE_INSTALL_FAILED], 1);
		return;
	}
	handoff_ports_hold(h->ports, nat64, er->proto, er->nat_port, server);
}

static void cb_deliver(void *ctx, struct in_addr nat64, struct in_addr server,
		       const uint8_t *pkt, size_t len)
{
	struct nat64_handoff *h = ctx;
	(void)nat64;
	(void)server;
	counter_add(&h->c[GLUE_DELIVERED], 1);
	nat64_path4_deliver(&h->w, pkt, len);
}

static void cb_deliver6(void *ctx, struct in_addr nat64, struct in_addr server,
			const uint8_t *pkt, size_t len, bool found)
{
	struct nat64_handoff *h = ctx;
	(void)nat64;
	(void)server;
	(void)found;	/* either way the path decides again, without asking us */
	counter_add(&h->c[GLUE_DELIVERED6], 1);
	nat64_path6_deliver(&h->w, pkt, len);
}

static void cb_hints(void *ctx, struct in_addr nat64, struct in_addr server, uint8_t proto,
		     const uint16_t *ports, size_t n)
{
	struct nat64_handoff *h = ctx;
	handoff_ports_add_hints(h->ports, nat64, server, proto, ports, n);
}

static void cb_session_down(void *ctx, struct in_addr nat64, struct in_addr server)
{
	struct nat64_handoff *h = ctx;
	size_t k = session_release_acked(h->n->sessions, nat64, server, monotonic_ms());
	handoff_ports_forget(h->ports, nat64, server);
	view_update(h, true);
	char t[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &nat64, t, sizeof(t));
	inet_ntop(AF_INET, &server, s, sizeof(s));
	log_info("handoff: %s -> %s: %zu cached entries back on RFC 6146 timers", t, s, k);
}

/* The glue alone keeps BLOCK state (the engine only reads the message). */
static void cb_blocked(void *ctx, struct in_addr nat64, struct in_addr server, uint32_t duration)
{
	struct nat64_handoff *h = ctx;
	(void)nat64;
	uint64_t now = monotonic_ms();
	uint64_t until = duration == HANDOFF_BLOCK_FOREVER ? UINT64_MAX
							   : now + (uint64_t)duration * 1000;
	struct block *slot = NULL;
	for (size_t i = 0; i < h->nblocks && !slot; i++)
		if (h->blocks[i].server == server.s_addr)
			slot = &h->blocks[i];
	if (!slot && h->nblocks < MAX_BLOCKS)
		slot = &h->blocks[h->nblocks++];
	if (slot)
		*slot = (struct block){ server.s_addr, until };
	view_update(h, true);
}

/* The ports new mappings on T take (its range, or this cluster node's share
 * of it): the server hints only those (P-2). */
static void cb_port_range(void *ctx, struct in_addr nat64, uint16_t *lo, uint16_t *hi)
{
	struct nat64_handoff *h = ctx;
	if (!pool4_share_of(pool_of(h), nat64, lo, hi))
		*lo = *hi = 0;
}

static const struct handoff_client_ops client_ops = {
	.send = cb_send,
	.foreach_entry = cb_foreach_entry,
	.entry_acked = cb_entry_acked,
	.install = cb_install,
	.deliver = cb_deliver,
	.deliver6 = cb_deliver6,
	.hints = cb_hints,
	.session_down = cb_session_down,
	.blocked = cb_blocked,
	.port_range = cb_port_range,
};

/* ---- events from the workers and the table (main thread) ---- */

static void handle_event(void *arg, const struct handoff_event *ev)
{
	struct nat64_handoff *h = arg;
	struct handoff_client *c = h->client;
	if (h->standby)
		return;	/* queued before the node went standby: nothing goes out now */
	switch (ev->type) {
	case HEV_CREATED:
		handoff_client_entry_created(c, ev->nat64, ev->server, &ev->er);
		break;
	case HEV_REMOVED:
		/* A closed connection frees its port at the server too (it
		 * ranks it first for reuse), so S no longer holds it for us. */
		if (ev->why == HANDOFF_REMOVED_CLOSED)
			handoff_ports_release(h->ports, ev->nat64, ev->er.proto, ev->er.nat_port,
					      ev->server);
		/* An acked entry left the cache: the server keeps it, and for a
		 * while the client's next packet of it is asked for (P-1). */
		if (ev->why == HANDOFF_REMOVED_EVICTED)
			handoff_ports_lost_add(h->ports, ev->server, ev->er.proto, &ev->er.client,
					       ev->er.client_port);
		handoff_client_entry_removed(c, ev->nat64, ev->server, &ev->er,
					     (enum handoff_removal)ev->why);
		break;
	case HEV_MISS4:
		/* The session may have gone down since the worker looked. */
		handoff_client_miss(c, ev->nat64, ev->server, ev->proto, ev->port, ev->data,
				    ev->len);
		break;
	case HEV_MISS6:
		/* Not looked up after all (the session went, or over the rate):
		 * the packet goes on as any other. */
		if (handoff_client_miss6(c, ev->nat64, ev->server, &ev->key6, ev->data, ev->len) !=
		    HANDOFF_MISS_PENDING)
			nat64_path6_deliver(&h->w, ev->data, ev->len);
		break;
	case HEV_INPUT:
		handoff_client_input(c, ev->nat64, ev->server, ev->port, ev->data, ev->len);
		break;
	case HEV_ICMP:
		handoff_client_icmp_error(c, ev->nat64, ev->server);
		break;
	case HEV_PROBE:
		handoff_client_probe(c, ev->nat64, ev->server);
		break;
	case HEV_HOLD6:
		if (handoff_client_hold_for_hints(c, ev->nat64, ev->server, ev->proto, ev->data,
						  ev->len) != HANDOFF_MISS_PENDING)
			nat64_path6_deliver(&h->w, ev->data, ev->len);
		break;
	case HEV_HINTS_LOW:
		handoff_client_request_hints(c, ev->nat64, ev->server, ev->proto, ev->count);
		break;
	}
	view_update(h, false);
}

static void on_session_event(void *arg, enum session_event ev, const struct session_record *rec)
{
	struct nat64_handoff *h = arg;
	struct handoff_event e = { .type = ev == SESSION_EV_CREATED ? HEV_CREATED : HEV_REMOVED,
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
	handoff_queue_push(h->queue, &e, NULL, 0);
}

/* ---- the packet path (workers) ---- */

bool nat64_handoff_input(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			 const struct nat64_tuple *in)
{
	if (!h || in->family != AF_INET || in->proto != IPPROTO_UDP || in->dport != h->port)
		return false;
	/* Whole datagrams only: ours fit 1500 octets and carry DF. */
	if (pkt->is_fragment && !pkt->reassembled)
		return false;
	if (!pool4_has_addr(pool_of(h), in->dst.v4))
		return false;
	struct handoff_event e = { .nat64 = in->dst.v4, .server = in->src.v4, .port = in->sport };
	if (pkt->is_icmp_error) {
		/* It quotes our datagram T:port -> S:port: evidence about the
		 * session, never something to look up (profile P-5). */
		if (in->sport != h->port)
			return false;
		e.type = HEV_ICMP;
		handoff_queue_push(h->queue, &e, NULL, 0);
		return true;
	}
	size_t off = pkt->l3_len + UDP_HDR;
	if (pkt->len < off)
		return false;
	size_t ulen = get_be16(pkt->data + pkt->l3_len + 4);
	size_t plen = ulen >= UDP_HDR && pkt->l3_len + ulen <= pkt->len ? ulen - UDP_HDR
									 : pkt->len - off;
	counter_add(&h->c[GLUE_DATAGRAMS_IN], 1);
	e.type = HEV_INPUT;
	handoff_queue_push(h->queue, &e, pkt->data + off, plen);
	return true;
}

/* Profile P-9: could an entry of S hold T:port for proto? Only a port of
 * our pool that S holds (or, for a session resumed after a restart, any
 * port of the pool: what S holds from before is not known here). */
static bool in_scope(struct nat64_handoff *h, struct in_addr t, struct in_addr s, uint8_t proto,
		     uint16_t port)
{
	int pair = view_pair(h, t, s);
	if (pair < 0)
		return false;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP)
		return false;
	if ((proto == IPPROTO_UDP && port == h->port) || !pool4_contains(pool_of(h), t, port))
		return false;
	if (pair == 1)
		return true;
	/* Held by S means not held by anyone else: the veto says "no". */
	struct in_addr none = { 0 };
	return handoff_ports_veto(h->ports, t, proto, port, none) &&
	       !handoff_ports_veto(h->ports, t, proto, port, s);
}

bool nat64_handoff_miss(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			const struct nat64_tuple *in, const uint8_t *p, size_t len)
{
	if (!h || in->family != AF_INET || pkt->reassembled)
		return false;
	/* A bare SYN opens something new: nothing to fetch. */
	if (in->proto == IPPROTO_TCP &&
	    (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
		return false;
	uint8_t proto = in->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : in->proto;
	if (view_pair(h, in->dst.v4, in->src.v4) < 0)
		return false;
	if (!in_scope(h, in->dst.v4, in->src.v4, proto, in->dport)) {
		counter_add(&h->c[GLUE_OUT_OF_SCOPE], 1);
		return false;
	}
	struct handoff_event e = { .type = HEV_MISS4, .nat64 = in->dst.v4, .server = in->src.v4,
				   .proto = proto, .port = in->dport };
	if (!handoff_queue_push(h->queue, &e, p, len))
		return false;
	counter_add(&h->c[GLUE_MISSES_QUEUED], 1);
	return true;
}

/* The pool address whose session with S a client's lookup goes to: the
 * client's paired address when it has a LOOKUP session with S (where its
 * mappings go first), else the lowest address that has one. */
static bool lookup_addr(struct nat64_handoff *h, const struct in6_addr *client, struct in_addr s,
			struct in_addr *t)
{
	struct pool4 *pool = pool_of(h);
	if (pool4_paired(pool, client, t) && view_pair(h, *t, s) >= 0)
		return true;
	size_t n = MIN(pool4_count(pool), (size_t)PROBE_ADDRS);
	for (size_t i = 0; i < n; i++) {
		uint16_t lo, hi;
		pool4_get(pool, i, t, &lo, &hi);
		if (view_pair(h, *t, s) >= 0)
			return true;
	}
	return false;
}

bool nat64_handoff_miss6(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			 const struct nat64_tuple *in, const uint8_t *p, size_t len)
{
	if (!h || pkt->is_icmp_error || in->family != AF_INET6)
		return false;
	struct in_addr s = pkt->dst4, t;
	uint8_t proto = in->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : in->proto;
	if (!lookup_addr(h, &in->src.v6, s, &t)) {
		/* No session with S yet: shake hands, so that S's next packet
		 * (or our client's) can be looked up. Our client's packet only. */
		struct pool4 *pool = pool_of(h);
		size_t n = MIN(pool4_count(pool), (size_t)PROBE_ADDRS);
		for (size_t i = 0; i < n; i++) {
			struct handoff_event e = { .type = HEV_PROBE, .server = s };
			uint16_t lo, hi;
			pool4_get(pool, i, &e.nat64, &lo, &hi);
			if (handoff_queue_push(h->queue, &e, NULL, 0))
				counter_add(&h->c[GLUE_PROBES], 1);
		}
		return false;
	}
	struct handoff_event e = {
		.type = HEV_MISS6, .nat64 = t, .server = s,
		.key6 = { .proto = proto, .client = in->src.v6, .client_port = in->sport,
			  .server_port = proto == IPPROTO_ICMP ? 0 : in->dport },
	};
	if (!handoff_queue_push(h->queue, &e, p, len))
		return false;
	counter_add(&h->c[GLUE_MISSES6_QUEUED], 1);
	return true;
}

/* The part of nat64_handoff_before6 that needs no lookup: a UDP, ICMP or
 * SYN packet of a client paired with a pool address that has a session
 * with the server (the pair in *t, *pair). */
static bool hold6_candidate(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			    const struct nat64_tuple *in, struct in_addr *t, int *pair)
{
	if (!h || pkt->is_icmp_error || in->family != AF_INET6)
		return false;
	uint8_t proto = in->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : in->proto;
	bool syn = proto == IPPROTO_TCP &&
		   (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	if (!syn && proto != IPPROTO_UDP && proto != IPPROTO_ICMP)
		return false;	/* other TCP segments: a miss is NO_SESSION (miss6) */
	/* Not toward a handoff server we hold a session with: never held. */
	return pool4_paired(pool_of(h), &in->src.v6, t) && (*pair = view_pair(h, *t, pkt->dst4)) >= 0;
}

bool nat64_handoff_may_hold6(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			     const struct nat64_tuple *in)
{
	struct in_addr t;
	int pair;
	return hold6_candidate(h, pkt, in, &t, &pair);
}

bool nat64_handoff_before6(struct nat64_handoff *h, const struct nat64_pkt *pkt,
			   const struct nat64_tuple *in, const uint8_t *p, size_t len)
{
	struct in_addr s = pkt->dst4, t;
	int pair;
	if (!hold6_candidate(h, pkt, in, &t, &pair))
		return false;
	uint8_t proto = in->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : in->proto;
	bool syn = proto == IPPROTO_TCP &&
		   (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	/* A client's UDP or ICMP flow toward S whose entry lately left our
	 * cache, or any such flow in the while after a restart, may be one S
	 * holds: ask S by its IPv6 side (P-1). */
	bool ask = !syn && (handoff_ports_lost_maybe(h->ports, s, proto, &in->src.v6, in->sport) ||
			    handoff_ports_recovering(h->ports, t, s, monotonic_ms()));
	/* A new flow toward S takes one of S's hints. With none, the veto
	 * keeps it off the ports S holds that we know of; when we cannot know
	 * them all (a session resumed after a restart, or the record of held
	 * ports overflowed), it waits for hints instead (one round trip), so it
	 * never takes a port S still holds (P-7). */
	bool unknown = pair == 1 ||
		       counter_get(&handoff_ports_counters(h->ports)[HANDOFF_PORTS_HELD_DROPPED]) > 0;
	bool wait = !ask && unknown && handoff_ports_hints_left(h->ports, t, s, proto) == 0;
	if ((!ask && !wait) || session_exists6(h->n->sessions, in, s))
		return false;
	struct handoff_event e = { .type = ask ? HEV_MISS6 : HEV_HOLD6, .nat64 = t, .server = s,
				   .proto = proto };
	if (ask)
		e.key6 = (struct handoff_client_key6){
			.proto = proto, .client = in->src.v6, .client_port = in->sport,
			.server_port = proto == IPPROTO_ICMP ? 0 : in->dport };
	if (!handoff_queue_push(h->queue, &e, p, len))
		return false;
	counter_add(&h->c[ask ? GLUE_MISSES6_QUEUED : GLUE_HELD_NEW], 1);
	return true;
}

/* ---- the port policy of new mappings (session_port_policy) ---- */

static uint16_t policy_preferred(void *arg, uint8_t proto, struct in_addr t, struct in_addr s)
{
	struct nat64_handoff *h = arg;
	unsigned ask = 0;
	uint16_t port = handoff_ports_take_hint(h->ports, t, s, proto, NULL, NULL, monotonic_ms(),
						&ask);
	if (ask) {
		/* Running low (or out, the last ones busy here): ask for more
		 * before the next burst needs them. */
		struct handoff_event e = { .type = HEV_HINTS_LOW, .nat64 = t, .server = s,
					   .proto = proto, .count = ask };
		handoff_queue_push(h->queue, &e, NULL, 0);
	}
	return port;
}

static bool policy_veto(void *arg, uint8_t proto, struct in_addr t, uint16_t port)
{
	struct nat64_handoff *h = arg;
	struct in_addr any = { 0 };
	return handoff_ports_veto(h->ports, t, proto, port, any);
}

/* ---- sessions across restarts ---- */

static void save_state(struct nat64_handoff *h)
{
	uint64_t gen = handoff_client_generation(h->client);
	if (!h->state_dir || gen == h->saved_gen || h->standby)
		return;
	int rc = handoff_state_save(h->state_dir, h->client, h->n->pool_key);
	if (rc) {
		counter_add(&h->c[GLUE_STATE_ERRORS], 1);
		log_ratelimited(&h->save_log, LOG_LVL_WARN, "handoff: saving sessions in %s: %s", h->state_dir,
				strerror(-rc));
		return;
	}
	h->saved_gen = gen;
	counter_add(&h->c[GLUE_STATE_SAVED], 1);
}

static void on_save_timer(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct nat64_handoff *h = arg;
	(void)loop;
	save_state(h);
	view_update(h, false);
	handoff_ports_lost_age(h->ports, monotonic_ms(), h->recover_ms);
	ev_timer_arm(t, SAVE_MS);
}

static void resume_one(void *arg, const struct handoff_session_state *st)
{
	struct nat64_handoff *h = arg;
	/* Only sessions of addresses that are still ours. */
	if (!pool4_has_addr(pool_of(h), st->nat64) || h->nresumed == MAX_RESUMED)
		return;
	if (handoff_client_resume(h->client, st) == 0) {
		h->resumed[h->nresumed++] = pair_key(st->nat64, st->server);
		/* Everything S holds for us left our table with the restart. */
		handoff_ports_mark_lost(h->ports, st->nat64, st->server,
					monotonic_ms() + h->recover_ms);
	}
}

/* The directory belongs to the user sixfourd runs as (it writes there
 * after dropping privileges); nobody else reads the cookies. */
static int make_state_dir(const char *dir, const char *user)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
		return -errno;
	char file[4096];
	snprintf(file, sizeof(file), "%s/%s", dir, HANDOFF_STATE_FILE);
	if (pw && chown(file, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void resume_sessions(struct nat64_handoff *h)
{
	size_t bad = 0;
	if (!h->resumed && !(h->resumed = calloc(MAX_RESUMED, sizeof(*h->resumed))))
		return;
	h->nresumed = 0;
	uint64_t key = h->n->pool_key;
	int rc = handoff_state_load(h->state_dir, resume_one, h, &bad, h->cluster ? &key : NULL);
	if (key != h->n->pool_key) {
		/* The previous active node's pairing (doc/cluster.md): a client's
		 * lookup must ask the address its mappings went to. The workers
		 * read it only once the node is active, after this. */
		h->n->pool_key = key;
		pool4_set_key(pool_of(h), key);
	}
	if (rc)
		log_warn("handoff: reading %s/%s: %s", h->state_dir, HANDOFF_STATE_FILE,
			 strerror(-rc));
	if (bad)
		log_err("handoff: %s/%s: %zu damaged lines skipped", h->state_dir,
			HANDOFF_STATE_FILE, bad);
	qsort(h->resumed, h->nresumed, sizeof(*h->resumed), cmp_u64);
	if (h->nresumed)
		log_notice("handoff: %zu sessions with servers resumed from %s", h->nresumed,
			   h->state_dir);
	h->saved_gen = handoff_client_generation(h->client);
}

/* ---- life cycle ---- */

static void config_of(struct nat64_handoff *h, const struct sixfour_config *cfg,
		      struct handoff_client_config *cc)
{
	if (cfg->handoff.contact && cfg->handoff.contact[0])
		snprintf(h->text, sizeof(h->text), "%s Contact: %s", cfg->handoff.message,
			 cfg->handoff.contact);
	else
		snprintf(h->text, sizeof(h->text), "%s", cfg->handoff.message);
	handoff_client_config_default(cc);
	cc->port = h->port;
	cc->text = h->text;	/* the engine cuts it at 128 octets, UTF-8 safe */
	cc->caps = (cfg->handoff.lookup ? HANDOFF_CAP_LOOKUP : 0) | HANDOFF_CAP_BLOCK;
	cc->probe_rate = cfg->handoff.probe_rate;
	cc->session_rate = cfg->handoff.session_rate;
	cc->batch_delay_ms = (uint32_t)cfg->handoff.batch_delay_ms;
	cc->keepalive_ms = (uint32_t)cfg->handoff.keepalive_ms;
	cc->lookup_rate = cfg->handoff.lookup_rate;
	cc->lookup_rate_total = cfg->handoff.lookup_rate_total;
}

/* Where the sessions are kept: a cluster's shared directory (the next
 * active node resumes them), else this node's state directory. */
static const char *state_dir_of(const struct sixfour_config *cfg)
{
	const char *d = cfg->cluster.enable ? cfg->cluster.shared_dir : cfg->general.state_dir;
	return d && d[0] ? d : NULL;
}

void nat64_handoff_saved_key(const struct sixfour_config *cfg, uint64_t *pool_key)
{
	size_t bad;
	if (cfg->handoff.enable && state_dir_of(cfg))
		handoff_state_load(state_dir_of(cfg), NULL, NULL, &bad, pool_key);
}

struct nat64_handoff *nat64_handoff_new(struct nat64 *n, const struct sixfour_config *cfg)
{
	if (!cfg->handoff.enable)
		return NULL;
	struct nat64_handoff *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	*h = (struct nat64_handoff){ .n = n, .port = (uint16_t)cfg->handoff.port,
				     .recover_ms = cfg->nat64.udp_timeout_ms,
				     .save_log = { .interval_ms = 60000, .burst = 1 } };
	h->w.n = n;
	h->w.id = n->nworkers;
	h->w.fd = n->fds[0];
	h->w.ipv4_id = (uint32_t)monotonic_us();
	/* The main thread's slots: counted, and never waiting for a limit. */
	h->w.usage = nat64_usage_slot(n->usage, n->nworkers);
	h->w.bw = nat64_bw_slot(n->bw, n->nworkers);
	h->w.out = malloc(NAT64_BUF_SIZE);
	h->w.out2 = malloc(NAT64_BUF_SIZE);
	h->ports = handoff_ports_new(MAX((size_t)cfg->nat64.max_sessions, (size_t)65536));
	h->queue = handoff_queue_new(n->ctx->loop, QUEUE_EVENTS, QUEUE_BYTES, handle_event, h);
	h->save_timer = ev_timer_new(n->ctx->loop, on_save_timer, h);
	if (!h->w.out || !h->w.out2 || !h->ports || !h->queue || !h->save_timer)
		goto fail;
	config_of(h, cfg, &h->cc);
	h->client = handoff_client_new(n->ctx->loop, &h->cc, &client_ops, h);
	if (!h->client)
		goto fail;
	h->cluster = cfg->cluster.enable;
	h->standby = n->ctx->role.role == SIXFOUR_ROLE_STANDBY;
	if (h->cluster) {
		/* Shared storage is the operator's (writable by [general] user). */
		h->state_dir = state_dir_of(cfg);
	} else if (state_dir_of(cfg)) {
		int rc = make_state_dir(cfg->general.state_dir, cfg->general.user);
		if (rc)
			log_warn("handoff: state directory %s: %s; sessions are not kept across "
				 "restarts", cfg->general.state_dir, strerror(-rc));
		else
			h->state_dir = cfg->general.state_dir;
	}
	if (h->state_dir && !h->standby)
		resume_sessions(h);
	view_update(h, true);
	ev_timer_arm(h->save_timer, SAVE_MS);
	session_table_set_hook(n->sessions, on_session_event, h);
	const struct session_port_policy policy = { policy_preferred, policy_veto, h };
	session_table_set_port_policy(n->sessions, &policy);
	log_info("handoff: notices to UDP port %u of every server, from the pool addresses",
		 h->port);
	return h;
fail:
	log_err("handoff: cannot start: %s", strerror(errno ? errno : ENOMEM));
	nat64_handoff_free(h);
	return NULL;
}

void nat64_handoff_reload(struct nat64_handoff *h, const struct sixfour_config *cfg)
{
	if (!h)
		return;
	config_of(h, cfg, &h->cc);
	handoff_client_reconfigure(h->client, &h->cc);
	view_update(h, false);
}

void nat64_handoff_set_active(struct nat64_handoff *h, bool active)
{
	if (!h || h->standby == !active)
		return;
	if (!active) {
		h->standby = true;
		/* The table goes empty without a word to anyone: the servers keep
		 * the entries for the active node. */
		session_table_set_hook(h->n->sessions, NULL, NULL);
		size_t k = session_flush(h->n->sessions);
		session_table_set_hook(h->n->sessions, on_session_event, h);
		struct handoff_client *fresh = handoff_client_new(h->n->ctx->loop, &h->cc,
								  &client_ops, h);
		if (fresh) {
			handoff_client_free(h->client);
			h->client = fresh;
		}
		handoff_ports_clear(h->ports);
		h->nresumed = 0;
		h->saved_gen = handoff_client_generation(h->client);
		view_update(h, true);
		log_info("handoff: standby: %zu entries and every session dropped, nothing sent", k);
		return;
	}
	h->standby = false;
	if (h->state_dir)
		resume_sessions(h);
	view_update(h, true);
}

void nat64_handoff_free(struct nat64_handoff *h)
{
	if (!h)
		return;
	if (h->client) {
		session_table_set_hook(h->n->sessions, NULL, NULL);
		session_table_set_port_policy(h->n->sessions, NULL);
		save_state(h);
	}
	if (h->save_timer)
		ev_timer_free(h->save_timer);
	handoff_queue_free(h->queue);
	handoff_client_free(h->client);
	handoff_ports_free(h->ports);
	free(atomic_load(&h->view));	/* the workers have stopped */
	free(h->resumed);
	free(h->w.out);
	free(h->w.out2);
	free(h);
}

