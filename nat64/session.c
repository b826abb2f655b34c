/* RFC 6146 BIB and session tables. Everything lives in arrays allocated at
 * start-up and linked by 32-bit indices: five chained hash tables (sessions
 * by their IPv6 and IPv4 identity, BIB entries by their IPv6 and IPv4
 * transport address, clients by prefix), one list per timeout class
 * (within a class every entry has the same lifetime, so the list order is
 * also the expiry order and expiry is O(1) per entry), per-client lists
 * per eviction class (session_evict.c), and free lists. */
#include "autoconf.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "common/rfc6052.h"
#include "nat64/pool4.h"
#include "nat64/session.h"

#include "nat64/session_priv.h"

const char *session_tcp_state_name(enum session_tcp_state s)
{
	static const char *const names[] = {
#define X(name, text) text,
		SESSION_TCP_STATES(X)
#undef X
	};
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* --- hashing: keyed, so remote hosts cannot aim at one chain --- */

static inline uint64_t hmix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= UINT64_C(0x9fb21c651e98df25);
	return h ^ (h >> 29);
}

static inline uint64_t h6(uint64_t h, const struct in6_addr *a)
{
	uint64_t w[2];
	memcpy(w, a, 16);
	return hmix(hmix(h, w[0]), w[1]);
}

static inline uint32_t hfinal(const struct session_table *t, uint64_t h)
{
	h ^= h >> 32;
	h *= UINT64_C(0xd6e8feb86659fd93);
	h ^= h >> 32;
	return (uint32_t)h & t->mask;
}

static uint32_t hash_sess6(const struct session_table *t, uint8_t proto,
			   const struct in6_addr *c6, uint16_t cport, const struct in6_addr *r6,
			   uint16_t rport)
{
	uint64_t h = hmix(t->seed, (uint64_t)proto << 32 | (uint64_t)cport << 16 | rport);
	return hfinal(t, h6(h6(h, c6), r6));
}

static uint32_t hash_sess4(const struct session_table *t, uint8_t proto, struct in_addr r4,
			   uint16_t rport, struct in_addr p4, uint16_t pport)
{
	uint64_t h = hmix(t->seed ^ 0x4444, (uint64_t)proto << 32 | (uint64_t)rport << 16 | pport);
	return hfinal(t, hmix(h, (uint64_t)r4.s_addr << 32 | p4.s_addr));
}

static uint32_t hash_bib6(const struct session_table *t, uint8_t proto,
			  const struct in6_addr *c6, uint16_t cport)
{
	return hfinal(t, h6(hmix(t->seed ^ 0xb6, (uint64_t)proto << 16 | cport), c6));
}

static uint32_t hash_bib4(const struct session_table *t, uint8_t proto, struct in_addr p4,
			  uint16_t pport)
{
	return hfinal(t, hmix(t->seed ^ 0xb4, (uint64_t)proto << 48 | (uint64_t)pport << 32 |
			      p4.s_addr));
}

static uint32_t hash_cli(const struct session_table *t, const struct in6_addr *p)
{
	return hfinal(t, h6(t->seed ^ 0xc1, p));
}

/* --- lookups --- */

uint32_t sess_find6(const struct session_table *t, uint8_t proto,
			   const struct in6_addr *c6, uint16_t cport, const struct in6_addr *r6,
			   uint16_t rport)
{
	for (uint32_t i = t->sess6[hash_sess6(t, proto, c6, cport, r6, rport)]; i != NIL;
	     i = t->sess[i].next6) {
		const struct sess *s = &t->sess[i];
		if (s->proto == proto && s->cport == cport && s->rport == rport &&
		    memcmp(&s->c6, c6, 16) == 0 && memcmp(&s->r6, r6, 16) == 0)
			return i;
	}
	return NIL;
}

uint32_t sess_find4(const struct session_table *t, uint8_t proto, struct in_addr r4,
			   uint16_t rport, struct in_addr p4, uint16_t pport)
{
	for (uint32_t i = t->sess4[hash_sess4(t, proto, r4, rport, p4, pport)]; i != NIL;
	     i = t->sess[i].next4) {
		const struct sess *s = &t->sess[i];
		if (s->proto == proto && s->rport == rport && s->pport == pport &&
		    s->r4.s_addr == r4.s_addr && s->p4.s_addr == p4.s_addr)
			return i;
	}
	return NIL;
}

uint32_t sess_find_bib6(const struct session_table *t, uint8_t proto,
			  const struct in6_addr *c6, uint16_t cport)
{
	for (uint32_t i = t->bib6[hash_bib6(t, proto, c6, cport)]; i != NIL; i = t->bib[i].next6) {
		const struct bib *b = &t->bib[i];
		if (b->proto == proto && b->cport == cport && memcmp(&b->c6, c6, 16) == 0)
			return i;
	}
	return NIL;
}

uint32_t sess_find_bib4(const struct session_table *t, uint8_t proto, struct in_addr p4,
			  uint16_t pport)
{
	for (uint32_t i = t->bib4[hash_bib4(t, proto, p4, pport)]; i != NIL; i = t->bib[i].next4) {
		const struct bib *b = &t->bib[i];
		if (b->proto == proto && b->pport == pport && b->p4.s_addr == p4.s_addr)
			return i;
	}
	return NIL;
}

static void client_prefix(const struct session_table *t, const struct in6_addr *a,
			  struct in6_addr *out)
{
	*out = *a;
	in6_mask(out, t->cfg.client_prefix_len);
}

static uint32_t find_client(const struct session_table *t, const struct in6_addr *prefix)
{
	for (uint32_t i = t->cli_b[hash_cli(t, prefix)]; i != NIL; i = t->cli[i].next)
		if (memcmp(&t->cli[i].prefix, prefix, 16) == 0)
			return i;
	return NIL;
}

uint32_t sess_find_client(const struct session_table *t, const struct in6_addr *c6)
{
	struct in6_addr p;
	client_prefix(t, c6, &p);
	return find_client(t, &p);
}

/* Removes index `i` from a singly linked chain. */
#define CHAIN_UNLINK(bucket, arr, field, i) do { \
	uint32_t *pp_ = (bucket); \
	while (*pp_ != NIL && *pp_ != (i)) \
		pp_ = &(arr)[*pp_].field; \
	if (*pp_ == (i)) \
		*pp_ = (arr)[i].field; \
} while (0)


/* --- timeout lists --- */

static void lru_unlink(struct session_table *t, uint32_t i)
{
	struct sess *s = &t->sess[i];
	if (s->prev != NIL)
		t->sess[s->prev].next = s->next;
	else
		t->head[s->cls] = s->next;
	if (s->next != NIL)
		t->sess[s->next].prev = s->prev;
	else
		t->tail[s->cls] = s->prev;
	s->prev = s->next = NIL;
}

static void lru_push(struct session_table *t, uint32_t i)
{
	struct sess *s = &t->sess[i];
	s->prev = NIL;
	s->next = t->head[s->cls];
	if (s->next != NIL)
		t->sess[s->next].prev = i;
	else
		t->tail[s->cls] = i;
	t->head[s->cls] = i;
}

static enum sess_class class_of(const struct sess *s)
{
	if (s->state == SESSION_ACKED)
		return CL_ACKED;
	switch (s->proto) {
	case IPPROTO_UDP:
		return CL_UDP;
	case IPPROTO_ICMP:
		return CL_ICMP;
	default:
		return s->tcp == SESSION_TCP_ESTABLISHED || s->tcp == SESSION_TCP_V4_FIN_RCV ||
		       s->tcp == SESSION_TCP_V6_FIN_RCV ? CL_TCP_EST : CL_TCP_TRANS;
	}
}

/* Marks a use: a fresh lifetime, and the front of its lists (at most once
 * per RELINK_MS, see session_expire for why that stays exact). Also puts
 * the entry in the eviction class its state now calls for. */
void sess_touch(struct session_table *t, uint32_t i, uint64_t now)
{
	struct sess *s = &t->sess[i];
	enum sess_class cls = class_of(s);
	s->last_used = now;
	s->expires = t->timeout[cls] ? now + t->timeout[cls] : 0;
	bool relink = cls != s->cls || now - s->linked_at >= RELINK_MS;
	if (relink) {
		lru_unlink(t, i);
		s->cls = (uint8_t)cls;
		s->linked_at = now;
		lru_push(t, i);
	}
	sess_evict_link(t, i, relink);
}

/* Marks a use without a new lifetime (states whose timer must run out):
 * the entry keeps its place, so the class list stays in expiry order. */
static void touch_keep_timer(struct session_table *t, uint32_t i, uint64_t now)
{
	t->sess[i].last_used = now;
	sess_evict_link(t, i, false);
}

/* --- records and events --- */

void sess_fill_record(const struct sess *s, struct session_record *r)
{
	memset(r, 0, sizeof(*r));
	r->proto = s->proto;
	r->client6 = s->c6;
	r->client_port = s->cport;
	r->remote6 = s->r6;
	r->prefix_len = s->plen;
	r->remote4 = s->r4;
	r->remote_port = s->rport;
	r->pool4 = s->p4;
	r->pool_port = s->pport;
	r->tcp_state = s->tcp;
	r->state = s->state;
	r->pinned = s->flags & SF_PINNED;
	r->evict_class = s->ec;
	r->expires_ms = s->expires;
	r->last_used_ms = s->last_used;
}

void sess_note(struct session_table *t, struct session_events *evs, enum session_event ev,
	       uint32_t i)
{
	struct sess *s = &t->sess[i];
	if (ev == SESSION_EV_CREATED)
		s->flags |= SF_ANNOUNCED;
	else if (!(s->flags & SF_ANNOUNCED))
		return;		/* never announced: nothing to take back */
	if (!t->hook)
		return;
	if (evs->n == SESSION_EVENTS_MAX) {
		evs->lost++;
		t->c[SESSION_C_events_lost]++;
		return;
	}
	evs->fn = t->hook;
	evs->arg = t->hook_arg;
	evs->v[evs->n].ev = ev;
	sess_fill_record(s, &evs->v[evs->n].rec);
	evs->n++;
}

void session_events_deliver(struct session_events *ev)
{
	for (unsigned k = 0; k < ev->n; k++)
		if (ev->fn)
			ev->fn(ev->arg, ev->v[k].ev, &ev->v[k].rec);
	ev->n = 0;
	ev->lost = 0;
}

static unsigned proto_index(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : 2;
}

/* --- removal --- */

void sess_bib_remove(struct session_table *t, uint32_t bi)
{
	struct bib *b = &t->bib[bi];
	CHAIN_UNLINK(&t->bib6[hash_bib6(t, b->proto, &b->c6, b->cport)], t->bib, next6, bi);
	CHAIN_UNLINK(&t->bib4[hash_bib4(t, b->proto, b->p4, b->pport)], t->bib, next4, bi);
	pool4_release(t->pool, b->proto, b->p4, b->pport);
	if (b->client != NIL)
		t->cli[b->client].ports[proto_index(b->proto)]--;
	b->next6 = t->free_bib;
	t->free_bib = bi;
	t->g[SESSION_G_bib]--;
}

void sess_remove(struct session_table *t, uint32_t i, enum session_event ev,
		 struct session_events *evs)
{
	struct sess *s = &t->sess[i];
	sess_note(t, evs, ev, i);
	CHAIN_UNLINK(&t->sess6[hash_sess6(t, s->proto, &s->c6, s->cport, &s->r6, s->rport)],
		     t->sess, next6, i);
	CHAIN_UNLINK(&t->sess4[hash_sess4(t, s->proto, s->r4, s->rport, s->p4, s->pport)],
		     t->sess, next4, i);
	lru_unlink(t, i);
	sess_evict_unlink(t, i);

	struct bib *b = &t->bib[s->bib];
	if (s->bprev != NIL)
		t->sess[s->bprev].bnext = s->bnext;
	else
		b->sess_head = s->bnext;
	if (s->bnext != NIL)
		t->sess[s->bnext].bprev = s->bprev;
	/* RFC 6146 3.5.1: a dynamic BIB entry lives as long as a session. */
	if (--b->nsess == 0)
		sess_bib_remove(t, s->bib);

	struct client *c = &t->cli[s->client];
	if (--c->count == 0) {
		CHAIN_UNLINK(&t->cli_b[hash_cli(t, &c->prefix)], t->cli, next, s->client);
		c->next = t->free_cli;
		t->free_cli = s->client;
		t->g[SESSION_G_clients]--;
	}
	t->g[SESSION_G_count]--;
	t->g[SESSION_G_tcp + proto_index(s->proto)]--;
	if (s->state == SESSION_ACKED)
		t->g[SESSION_G_acked]--;
	s->next6 = t->free_sess;
	t->free_sess = i;
}

/* --- creation --- */

/* A BIB entry for a port the caller has taken from the pool. */
uint32_t sess_bib_new(struct session_table *t, uint8_t proto, const struct in6_addr *c6,
		      uint16_t cport, struct in_addr p4, uint16_t pport)
{
	uint32_t bi = t->free_bib;
	if (bi == NIL)
		return NIL;	/* cannot happen: BIB entries <= sessions */
	struct bib *b = &t->bib[bi];
	t->free_bib = b->next6;
	*b = (struct bib){ .c6 = *c6, .p4 = p4, .cport = cport, .pport = pport, .proto = proto,
			   .client = NIL, .sess_head = NIL };
	uint32_t *h6b = &t->bib6[hash_bib6(t, proto, c6, cport)];
	uint32_t *h4b = &t->bib4[hash_bib4(t, proto, p4, pport)];
	b->next6 = *h6b;
	*h6b = bi;
	b->next4 = *h4b;
	*h4b = bi;
	t->g[SESSION_G_bib]++;
	return bi;
}

/* Finds or creates the client entry for `c6`; NIL when at its cap. */
static uint32_t client_get(struct session_table *t, const struct in6_addr *c6, bool enforce_cap)
{
	struct in6_addr p;
	client_prefix(t, c6, &p);
	uint32_t ci = find_client(t, &p);
	if (ci != NIL)
		return (enforce_cap && t->cli[ci].count >= t->cfg.max_per_client) ? NIL : ci;
	ci = t->free_cli;
	if (ci == NIL)
		return NIL;
	t->free_cli = t->cli[ci].next;
	uint32_t *hb = &t->cli_b[hash_cli(t, &p)];
	struct client *c = &t->cli[ci];
	memset(c, 0, sizeof(*c));
	c->prefix = p;
	c->next = *hb;
	for (unsigned k = 0; k < EC_COUNT; k++)
		c->ec[k].head = c->ec[k].tail = NIL;
	*hb = ci;
	t->g[SESSION_G_clients]++;
	return ci;
}

/* Links a new session to BIB `bi`; the caller made room. */
uint32_t sess_new(struct session_table *t, uint32_t bi, const struct in6_addr *r6,
		  unsigned plen, struct in_addr r4, uint16_t rport, uint8_t tcp_state,
		  uint8_t state, bool enforce_cap, uint64_t now)
{
	struct bib *b = &t->bib[bi];
	uint32_t ci = client_get(t, &b->c6, enforce_cap);
	uint32_t i = t->free_sess;
	if (ci == NIL || i == NIL)
		return NIL;
	struct sess *s = &t->sess[i];
	t->free_sess = s->next6;
	*s = (struct sess){
		.c6 = b->c6, .r6 = *r6, .r4 = r4, .p4 = b->p4,
		.cport = b->cport, .rport = rport, .pport = b->pport,
		.proto = b->proto, .tcp = tcp_state, .plen = (uint8_t)plen, .state = state,
		.ec = EC_NONE, .bib = bi, .client = ci, .prev = NIL, .next = NIL,
		.eprev = NIL, .enext = NIL, .bprev = NIL, .bnext = b->sess_head,
	};
	if (b->sess_head != NIL)
		t->sess[b->sess_head].bprev = i;
	b->sess_head = i;
	if (b->nsess++ == 0) {
		b->client = ci;
		t->cli[ci].ports[proto_index(b->proto)]++;
	}
	t->cli[ci].count++;
	uint32_t *h6b = &t->sess6[hash_sess6(t, s->proto, &s->c6, s->cport, &s->r6, s->rport)];
	uint32_t *h4b = &t->sess4[hash_sess4(t, s->proto, s->r4, s->rport, s->p4, s->pport)];
	s->next6 = *h6b;
	*h6b = i;
	s->next4 = *h4b;
	*h4b = i;
	s->cls = (uint8_t)class_of(s);
	s->last_used = s->linked_at = now;
	s->expires = t->timeout[s->cls] ? now + t->timeout[s->cls] : 0;
	lru_push(t, i);
	t->g[SESSION_G_count]++;
	t->g[SESSION_G_tcp + proto_index(s->proto)]++;
	if (state == SESSION_ACKED)
		t->g[SESSION_G_acked]++;
	return i;
}

/* --- the TCP state machine (RFC 6146 3.5.2.2) --- */

/* Applies one packet's flags; touches the entry as the RFC's lifetime
 * rules say (a fresh lifetime, or the running one kept). An established
 * connection counts as confirmed once its initiator sends without SYN (the
 * handshake's last ACK): a spoofed SYN's answer goes to a host that never
 * asked for it, so a flood of them never reaches the protected class. */
static void tcp_update(struct session_table *t, uint32_t i, bool from_v6, uint8_t flags,
		       uint64_t now)
{
	struct sess *s = &t->sess[i];
	bool syn = flags & TCP_FLAG_SYN, fin = flags & TCP_FLAG_FIN, rst = flags & TCP_FLAG_RST;
	bool refresh = false;
	switch (s->tcp) {
	case SESSION_TCP_V4_INIT:
		if (from_v6 && syn) {
			s->tcp = SESSION_TCP_ESTABLISHED;
			refresh = true;
		}
		break;
	case SESSION_TCP_V6_INIT:
		if (!from_v6 && syn)
			s->tcp = SESSION_TCP_ESTABLISHED;
		refresh = syn;
		break;
	case SESSION_TCP_ESTABLISHED:
		if (rst)
			s->tcp = SESSION_TCP_TRANS;
		else if (fin)
			s->tcp = from_v6 ? SESSION_TCP_V6_FIN_RCV : SESSION_TCP_V4_FIN_RCV;
		refresh = true;
		break;
	/* A RST after one FIN moves to TRANS as in ESTABLISHED (the RFC only
	 * waits for the other FIN here): the host that sent it has no
	 * connection left, and keeping its mapping for TCP_EST in the
	 * established class let a client that closes with a RST after the
	 * server's FIN fill its pool4 port share with dead connections (one
	 * client: 1.3k new connections/s instead of 25k, then PORT_LIMIT). */
	case SESSION_TCP_V4_FIN_RCV:
		if (rst)
			s->tcp = SESSION_TCP_TRANS;
		else if (from_v6 && fin)
			s->tcp = SESSION_TCP_V4_FIN_V6_FIN_RCV;
		refresh = true;
		break;
	case SESSION_TCP_V6_FIN_RCV:
		if (rst)
			s->tcp = SESSION_TCP_TRANS;
		else if (!from_v6 && fin)
			s->tcp = SESSION_TCP_V4_FIN_V6_FIN_RCV;
		refresh = true;
		break;
	case SESSION_TCP_V4_FIN_V6_FIN_RCV:
		break;
	case SESSION_TCP_TRANS:
		if (!rst) {
			s->tcp = SESSION_TCP_ESTABLISHED;
			refresh = true;
		}
		break;
	default:
		break;
	}
	bool initiator = from_v6 == !(s->flags & SF_INBOUND);
	if (s->tcp == SESSION_TCP_ESTABLISHED && initiator && !syn && !rst)
		s->flags |= SF_CONFIRMED;
	if (refresh || s->state == SESSION_ACKED)
		sess_touch(t, i, now);
	else
		touch_keep_timer(t, i, now);
}

/* --- stored inbound SYNs (simultaneous open) --- */

static struct stored_syn *syn_find(struct session_table *t, struct in_addr r4, uint16_t rport,
				   struct in_addr p4, uint16_t pport)
{
	for (unsigned k = 0; k < t->nsyns; k++) {
		struct stored_syn *y = &t->syns[k];
		if (y->expires && y->rport == rport && y->pport == pport &&
		    y->r4.s_addr == r4.s_addr && y->p4.s_addr == p4.s_addr)
			return y;
	}
	return NULL;
}

static void syn_store(struct session_table *t, const struct nat64_tuple *in, uint64_t now,
		      const uint8_t *data, size_t len, bool *stored)
{
	if (syn_find(t, in->src.v4, in->sport, in->dst.v4, in->dport))
		return;		/* a retransmission: the first copy waits already */
	struct stored_syn *slot = NULL;
	for (unsigned k = 0; k < t->nsyns && !slot; k++)
		if (!t->syns[k].expires)
			slot = &t->syns[k];
	if (!slot || !data || len > sizeof(slot->pkt)) {
		t->c[SESSION_C_syn_overflow]++;
		return;
	}
	memcpy(slot->pkt, data, len);
	slot->expires = now + t->cfg.tcp_syn_wait_ms;
	slot->r4 = in->src.v4;
	slot->p4 = in->dst.v4;
	slot->rport = in->sport;
	slot->pport = in->dport;
	slot->len = len;
	t->c[SESSION_C_syn_stored]++;
	*stored = true;
}

/* --- the packet entry points --- */

static void out_tuple4(const struct sess *s, struct nat64_tuple *out)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	out->proto = s->proto;
	out->src.v4 = s->p4;
	out->dst.v4 = s->r4;
	out->sport = s->pport;
	out->dport = s->proto == IPPROTO_ICMP ? s->pport : s->rport;
}

static void out_tuple6(const struct sess *s, struct nat64_tuple *out)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->proto = s->proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : s->proto;
	out->src.v6 = s->r6;
	out->dst.v6 = s->c6;
	out->sport = s->proto == IPPROTO_ICMP ? s->cport : s->rport;
	out->dport = s->cport;
}

/* Our tables name ICMP by its IPv4 number on both sides. */
uint8_t sess_norm_proto(uint8_t p)
{
	return p == IPPROTO_ICMPV6 ? IPPROTO_ICMP : p;
}

/* The packet entry points take the lock through here: a worker that finds
 * it taken counts the wait (the figure behind design-notes' one mutex). */
static void table_lock(struct session_table *t)
{
	if (pthread_mutex_trylock(&t->lock) != 0) {
		pthread_mutex_lock(&t->lock);
		t->c[SESSION_C_lock_waits]++;
	}
}

/* A packet on an existing session from either side: RFC 6146 3.5 updates. */
static void session_use(struct session_table *t, uint32_t i, bool from_v6, uint8_t tcp_flags,
			uint64_t now)
{
	struct sess *s = &t->sess[i];
	s->flags |= from_v6 ? SF_SEEN6 : SF_SEEN4;
	if (s->proto == IPPROTO_TCP)
		tcp_update(t, i, from_v6, tcp_flags, now);
	else
		sess_touch(t, i, now);
}

struct port_ctx {
	const struct session_table *t;
	struct in_addr remote4;
};

static uint16_t port_preferred(void *arg, uint8_t proto, struct in_addr addr)
{
	const struct port_ctx *pc = arg;
	const struct session_port_policy *pp = &pc->t->port_policy;
	return pp->preferred(pp->arg, proto, addr, pc->remote4);
}

static bool port_veto(void *arg, uint8_t proto, struct in_addr addr, uint16_t port)
{
	const struct port_ctx *pc = arg;
	const struct session_port_policy *pp = &pc->t->port_policy;
	return pp->veto(pp->arg, proto, addr, port);
}

/* RFC 6146 3.5.1.1: a pool4 port for a new mapping of (c6, cport) made by
 * a packet toward remote4, making room in a full pool address when the
 * client may (session_evict.c). 0 or a drop reason. */
static enum nat64_verdict new_mapping(struct session_table *t, uint8_t proto,
				      const struct in6_addr *c6, uint16_t cport,
				      struct in_addr remote4, struct session_events *evs,
				      uint32_t *bib_out)
{
	uint32_t ci = sess_find_client(t, c6);
	if (ci != NIL && t->cli[ci].ports[proto_index(proto)] >= t->cfg.max_ports_per_client &&
	    sess_recycle_own_port(t, ci, proto, evs) != 0)
		return NAT64_DROP_PORT_LIMIT;
	struct port_ctx pc = { t, remote4 };
	struct pool4_prefs prefs = {
		.preferred = t->port_policy.preferred ? port_preferred : NULL,
		.veto = t->port_policy.veto ? port_veto : NULL, .arg = &pc,
	};
	struct in_addr p4;
	uint16_t pport;
	int rc = pool4_allocate(t->pool, proto, c6, cport, &prefs, &p4, &pport);
	if (rc != 0 && sess_reclaim_port(t, sess_find_client(t, c6), proto, c6, evs) == 0)
		rc = pool4_allocate(t->pool, proto, c6, cport, &prefs, &p4, &pport);
	if (rc != 0)
		return NAT64_DROP_POOL_EXHAUSTED;
	*bib_out = sess_bib_new(t, proto, c6, cport, p4, pport);
	return NAT64_CONTINUE;
}

/* A session opened from outside becomes a host the client contacted when
 * the client itself speaks on it: a UDP datagram, a TCP segment other than
 * a RST. Not what its stack answers by itself (a RST to an unwanted SYN,
 * an echo reply, ICMP errors): else a spoofed packet would make us name the
 * client to whatever source it claims. */
static bool client_speaks(const struct sess *s, uint8_t tcp_flags)
{
	switch (s->proto) {
	case IPPROTO_UDP:
		return true;
	case IPPROTO_TCP:
		return !(tcp_flags & TCP_FLAG_RST);
	default:
		return false;	/* ICMP: an inbound echo request's reply */
	}
}

enum nat64_verdict session_handle6(struct session_table *t, const struct nat64_tuple *in,
				   struct in_addr remote4, unsigned prefix_len, uint8_t tcp_flags,
				   bool icmp_error, uint64_t now, struct nat64_tuple *out,
				   struct session_events *ev)
{
	struct session_events own;
	struct session_events *evs = ev ? ev : &own;
	evs->n = evs->lost = 0;
	evs->fn = NULL;
	uint8_t proto = sess_norm_proto(in->proto);
	uint16_t rport = proto == IPPROTO_ICMP ? 0 : in->dport;
	enum nat64_verdict v = NAT64_CONTINUE;
	table_lock(t);
	uint32_t i = sess_find6(t, proto, &in->src.v6, in->sport, &in->dst.v6, rport);
	if (i != NIL) {
		/* Errors refer to a session; they do not keep it alive. */
		if (!icmp_error) {
			session_use(t, i, true, tcp_flags, now);
			if (!(t->sess[i].flags & SF_ANNOUNCED) && client_speaks(&t->sess[i], tcp_flags))
				sess_note(t, evs, SESSION_EV_CREATED, i);
		}
		out_tuple4(&t->sess[i], out);
		goto unlock;
	}
	if (icmp_error || (proto == IPPROTO_TCP && !(tcp_flags & TCP_FLAG_SYN))) {
		/* 3.5.2.2: in CLOSED only a SYN opens a session. */
		v = NAT64_DROP_NO_SESSION;
		goto unlock;
	}
	uint32_t ci = sess_find_client(t, &in->src.v6);
	if (ci != NIL && t->cli[ci].count >= t->cfg.max_per_client) {
		v = NAT64_DROP_CLIENT_LIMIT;
		goto unlock;
	}
	if (sess_make_room(t, ci, evs) != 0) {
		v = NAT64_DROP_TABLE_FULL;
		goto unlock;
	}
	/* Endpoint-independent mapping (3.5.1): one BIB entry per client
	 * transport address, whatever the destination. */
	uint32_t bi = sess_find_bib6(t, proto, &in->src.v6, in->sport);
	if (bi == NIL) {
		v = new_mapping(t, proto, &in->src.v6, in->sport, remote4, evs, &bi);
		if (v != NAT64_CONTINUE)
			goto unlock;
	}
	struct bib *b = &t->bib[bi];
	/* The same IPv4 flow through a second prefix: share its session. */
	i = sess_find4(t, proto, remote4, rport, b->p4, b->pport);
	if (i == NIL) {
		i = sess_new(t, bi, &in->dst.v6, prefix_len, remote4, rport,
			     proto == IPPROTO_TCP ? SESSION_TCP_V6_INIT : SESSION_TCP_CLOSED,
			     SESSION_LOCAL, true, now);
		if (i == NIL) {
			if (b->nsess == 0)
				sess_bib_remove(t, bi);
			v = NAT64_DROP_INTERNAL;
			goto unlock;
		}
		t->sess[i].flags |= SF_SEEN6;
		sess_evict_link(t, i, true);
		t->c[SESSION_C_created]++;
		sess_note(t, evs, SESSION_EV_CREATED, i);
	}
	if (proto == IPPROTO_TCP) {
		/* Simultaneous open: our SYN answers the stored one, which is
		 * dropped silently (3.5.2.2). */
		struct stored_syn *y = syn_find(t, remote4, rport, b->p4, b->pport);
		if (y) {
			y->expires = 0;
			t->c[SESSION_C_syn_matched]++;
		}
	}
	out_tuple4(&t->sess[i], out);
unlock:
	pthread_mutex_unlock(&t->lock);
	if (!ev)
		session_events_deliver(&own);
	return v;
}

bool session_exists6(struct session_table *t, const struct nat64_tuple *in,
		     struct in_addr remote4)
{
	uint8_t proto = sess_norm_proto(in->proto);
	uint16_t rport = proto == IPPROTO_ICMP ? 0 : in->dport;
	pthread_mutex_lock(&t->lock);
	bool found = sess_find6(t, proto, &in->src.v6, in->sport, &in->dst.v6, rport) != NIL;
	if (!found) {
		/* The same IPv4 flow through another prefix shares its session. */
		uint32_t bi = sess_find_bib6(t, proto, &in->src.v6, in->sport);
		found = bi != NIL &&
			sess_find4(t, proto, remote4, rport, t->bib[bi].p4, t->bib[bi].pport) != NIL;
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

/* Address-dependent filtering (RFC 4787 / RFC 6146 3.5.1): an inbound
 * packet passes when the client has sent to that IPv4 address before. */
static bool adf_permits(const struct session_table *t, uint32_t bi, struct in_addr r4)
{
	for (uint32_t i = t->bib[bi].sess_head; i != NIL; i = t->sess[i].bnext)
		if (t->sess[i].r4.s_addr == r4.s_addr)
			return true;
	return false;
}

enum nat64_verdict session_handle4(struct session_table *t, const struct nat64_tuple *in,
				   uint8_t tcp_flags, bool icmp_error, uint64_t now,
				   const uint8_t *data, size_t len, bool *stored,
				   struct nat64_tuple *out, struct session_events *ev)
{
	struct session_events own;
	struct session_events *evs = ev ? ev : &own;
	evs->n = evs->lost = 0;
	evs->fn = NULL;
	uint8_t proto = sess_norm_proto(in->proto);
	uint16_t rport = proto == IPPROTO_ICMP ? 0 : in->sport;
	bool syn = proto == IPPROTO_TCP && (tcp_flags & TCP_FLAG_SYN) && !(tcp_flags & 0x10);
	enum nat64_verdict v = NAT64_CONTINUE;
	*stored = false;
	table_lock(t);
	uint32_t i = sess_find4(t, proto, in->src.v4, rport, in->dst.v4, in->dport);
	if (i != NIL) {
		if (!icmp_error)
			session_use(t, i, false, tcp_flags, now);
		out_tuple6(&t->sess[i], out);
		goto unlock;
	}
	if (icmp_error || (proto == IPPROTO_TCP && !syn)) {
		v = NAT64_DROP_NO_SESSION;
		goto unlock;
	}
	uint32_t bi = sess_find_bib4(t, proto, in->dst.v4, in->dport);
	if (bi == NIL || (t->cfg.filtering == FILTER_ADDRESS_DEPENDENT &&
			  !adf_permits(t, bi, in->src.v4))) {
		/* 3.5.2.2: a SYN may be half of a simultaneous open; it waits
		 * before it is answered with port unreachable. */
		if (syn)
			syn_store(t, in, now, data, len, stored);
		v = bi == NIL || *stored ? NAT64_DROP_NO_SESSION : NAT64_DROP_FILTERED;
		goto unlock;
	}
	uint32_t ci = t->bib[bi].client;
	if (t->cli[ci].count >= t->cfg.max_per_client) {
		v = NAT64_DROP_CLIENT_LIMIT;
		goto unlock;
	}
	/* sess_make_room may evict this very BIB's last session: keep the BIB's
	 * identity and look it up again. */
	struct bib keep = t->bib[bi];
	struct in6_addr r6 = t->sess[keep.sess_head].r6;
	unsigned plen = t->sess[keep.sess_head].plen;
	if (sess_make_room(t, ci, evs) != 0) {
		v = NAT64_DROP_TABLE_FULL;
		goto unlock;
	}
	bi = sess_find_bib4(t, proto, keep.p4, keep.pport);
	if (bi == NIL) {
		if (pool4_take(t->pool, proto, keep.p4, keep.pport) == -EEXIST) {
			v = NAT64_DROP_POOL_EXHAUSTED;	/* cannot happen: it was ours */
			goto unlock;
		}
		bi = sess_bib_new(t, proto, &keep.c6, keep.cport, keep.p4, keep.pport);
	}
	/* The remote's IPv6 form: the prefix the client used toward this BIB. */
	rfc6052_embed(&r6, plen, in->src.v4, &r6);
	i = sess_new(t, bi, &r6, plen, in->src.v4, rport,
		     proto == IPPROTO_TCP ? SESSION_TCP_V4_INIT : SESSION_TCP_CLOSED,
		     SESSION_LOCAL, true, now);
	if (i == NIL) {
		if (t->bib[bi].nsess == 0)
			sess_bib_remove(t, bi);
		v = NAT64_DROP_INTERNAL;
		goto unlock;
	}
	t->sess[i].flags |= SF_SEEN4 | SF_INBOUND;
	sess_evict_link(t, i, true);
	/* No CREATED yet: the client has not contacted this host (it is
	 * announced once the client sends on the session). */
	t->c[SESSION_C_created]++;
	t->c[SESSION_C_unannounced]++;
	out_tuple6(&t->sess[i], out);
unlock:
	pthread_mutex_unlock(&t->lock);
	if (!ev)
		session_events_deliver(&own);
	return v;
}

size_t session_expire(struct session_table *t, uint64_t now, session_syn_timeout_fn fn,
		      void *arg)
{
	size_t removed = 0;
	struct session_events evs = { 0 };
	pthread_mutex_lock(&t->lock);
	/* A list is ordered by linked_at, and an entry's true expiry is at
	 * least linked_at + timeout. So the walk from the tail stops at the
	 * first entry whose linked_at + timeout lies ahead; entries used since
	 * they were linked go to the front instead of away. */
	for (unsigned cl = 0; cl < CL_COUNT; cl++) {
		if (!t->timeout[cl])
			continue;
		while (t->tail[cl] != NIL) {
			uint32_t i = t->tail[cl];
			struct sess *s = &t->sess[i];
			if (s->linked_at + t->timeout[cl] > now || (s->flags & SF_PINNED))
				break;
			if (s->expires > now) {
				lru_unlink(t, i);
				s->linked_at = s->expires - t->timeout[cl];
				lru_push(t, i);
				continue;
			}
			if (evs.n == SESSION_EVENTS_MAX) {
				/* Hand this batch to the hook outside the lock. */
				pthread_mutex_unlock(&t->lock);
				session_events_deliver(&evs);
				pthread_mutex_lock(&t->lock);
				continue;	/* the list may have changed */
			}
			sess_remove(t, i, SESSION_EV_DELETED, &evs);
			t->c[SESSION_C_expired]++;
			removed++;
		}
	}
	/* Take the timed-out SYNs out (copies), answer them after unlocking. */
	struct stored_syn *due = t->syn_due;
	unsigned ndue = 0;
	for (unsigned k = 0; k < t->nsyns; k++) {
		struct stored_syn *y = &t->syns[k];
		if (!y->expires || y->expires > now)
			continue;
		due[ndue++] = *y;
		y->expires = 0;
		t->c[SESSION_C_syn_timed_out]++;
	}
	pthread_mutex_unlock(&t->lock);
	session_events_deliver(&evs);
	for (unsigned k = 0; k < ndue && fn; k++)
		fn(arg, due[k].pkt, due[k].len);
	return removed;
}
