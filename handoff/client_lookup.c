/* The translator side's lookups (spec 7.4; profile P-1, P-3, P-9): LOOKUP by
 * the IPv4 side, LOOKUP-CLIENT by the IPv6 side, hint requests for new
 * flows, the miss queue that holds their packets, and the lookup rate
 * limits per server and in total (issue: a spoofed flood must not drive
 * lookups one for one). */
#include "autoconf.h"
#include "handoff/client_priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define REPLY_GROWTH		22	/* LOOKUP-REPLY found minus LOOKUP */

static bool key_eq(const struct lookup_key *a, const struct lookup_key *b)
{
	if (a->kind != b->kind || a->proto != b->proto || a->port != b->port)
		return false;
	return a->kind != LK_CLIENT || memcmp(&a->client, &b->client, sizeof(a->client)) == 0;
}

static struct lookup *lookup_by_key(struct peer *p, const struct lookup_key *k)
{
	if (!p->lookups)
		return NULL;
	for (unsigned i = 0; i < MAX_LOOKUPS; i++)
		if (p->lookups[i].used && key_eq(&p->lookups[i].key, k))
			return &p->lookups[i];
	return NULL;
}

static struct lookup *lookup_by_id(struct peer *p, uint32_t id)
{
	if (!p->lookups)
		return NULL;
	for (unsigned i = 0; i < MAX_LOOKUPS; i++)
		if (p->lookups[i].used && p->lookups[i].key.kind != LK_HINTS &&
		    p->lookups[i].id == id)
			return &p->lookups[i];
	return NULL;
}

static struct lookup *lookup_new(struct peer *p, const struct lookup_key *k, uint64_t now)
{
	if (!p->lookups)
		p->lookups = calloc(MAX_LOOKUPS, sizeof(*p->lookups));
	if (!p->lookups || p->nlookups >= MAX_LOOKUPS)
		return NULL;
	for (unsigned i = 0; i < MAX_LOOKUPS; i++) {
		struct lookup *l = &p->lookups[i];
		if (l->used)
			continue;
		/* Ids are single-use: an answer is accepted once (P-8). */
		*l = (struct lookup){ .used = true, .key = *k, .id = p->next_id++, .sent_ms = now,
				      .tries = 1 };
		p->nlookups++;
		return l;
	}
	return NULL;
}

static void lookup_done(struct peer *p, struct lookup *l)
{
	l->used = false;
	p->nlookups--;
}

/* ---- the queue of held packets ---- */

static bool enqueue(struct handoff_client *c, struct peer *p, const struct lookup_key *k,
		    const uint8_t *pkt, size_t len, uint64_t now)
{
	if (p->nq >= QUEUE_PKTS || p->qbytes + len > QUEUE_BYTES)
		return false;
	uint8_t *copy = malloc(len);
	if (!copy)
		return false;
	memcpy(copy, pkt, len);
	p->q[p->nq++] = (struct queued){ .key = *k, .at_ms = now, .len = len, .pkt = copy };
	p->qbytes += len;
	hc_want_tick(c, now + QUEUE_AGE_MS);
	return true;
}

enum release_what { REL_KEY, REL_AGED, REL_ALL };

/* Takes the packets waiting for `k` (REL_KEY), those held for 1 s by `now`
 * (REL_AGED) or all out of the queue first, then hands them on: what a
 * callback does (translate, even ask again) cannot disturb the walk. */
static void release(struct handoff_client *c, struct peer *p, enum release_what what,
		    const struct lookup_key *k, uint64_t now, bool found)
{
	struct queued out[QUEUE_PKTS];
	size_t n = 0, w = 0;
	for (size_t i = 0; i < p->nq; i++) {
		struct queued *q = &p->q[i];
		bool take = what == REL_ALL || (what == REL_KEY ? key_eq(&q->key, k)
							       : q->at_ms + QUEUE_AGE_MS <= now);
		if (take) {
			out[n++] = *q;
			p->qbytes -= q->len;
		} else {
			p->q[w++] = *q;
		}
	}
	p->nq = w;
	struct in_addr t = p->nat64, s = p->server;
	for (size_t i = 0; i < n; i++) {
		struct queued *q = &out[i];
		if (q->key.kind == LK_PORT) {
			if (found)
				c->ops->deliver(c->ctx, t, s, q->pkt, q->len);
			else
				hc_count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
		} else {
			/* Our client's packets are never dropped for want of an
			 * answer: the translator handles them as new. */
			c->ops->deliver6(c->ctx, t, s, q->pkt, q->len, found);
		}
		free(q->pkt);
	}
}

/* ---- rate limits (issue 9 item 4, profile P-9) ---- */

static bool lookup_allowed(struct handoff_client *c, struct peer *p, uint64_t now)
{
	/* The server's own bucket first: a flood aimed at one server leaves
	 * the total for the others. */
	struct bucket save = p->lookup_tokens;
	if (!hc_bucket_take(&p->lookup_tokens, c->cfg.lookup_rate, now))
		return false;
	if (!hc_bucket_take(&c->lookup_tokens, c->cfg.lookup_rate_total, now)) {
		p->lookup_tokens = save;
		return false;
	}
	return true;
}

/* ---- sending ---- */

static void send_lookup(struct handoff_client *c, struct peer *p, const struct lookup *l,
			const uint8_t *pkt, size_t len)
{
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	hc_begin(c, p, &b, buf);
	if (l->key.kind == LK_PORT) {
		handoff_put_lookup(&b, l->key.proto, l->key.port, l->id);
		if (pkt)
			handoff_put_packet(&b, pkt, len);
		hc_count(c, p, HANDOFF_CLIENT_LOOKUPS, 1);
	} else {
		handoff_put_lookup_client(&b, l->key.proto, l->key.server_port, &l->key.client,
					  l->key.port, l->id);
		hc_count(c, p, HANDOFF_CLIENT_CLIENT_LOOKUPS, 1);
	}
	hc_send(c, p, buf, b.len);
}

/* `count` hints (1 to HANDOFF_HINTS_ROUND) in HINT-REQUESTs of at most
 * HANDOFF_HINTS_MAX, one datagram. */
static void send_hint_request(struct handoff_client *c, struct peer *p, uint8_t proto,
			      unsigned count, uint64_t now)
{
	int i = hc_proto_index(proto);
	if (i < 0)
		return;
	/* One round of requests per protocol and round trip (at most one a
	 * second). */
	if (p->hints_asked_ms[i] && p->hints_asked_ms[i] + LOOKUP_TIMEOUT_MS > now)
		return;
	p->hints_asked_ms[i] = now;
	count = MIN(MAX(count, 1u), (unsigned)HANDOFF_HINTS_ROUND);
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	hc_begin(c, p, &b, buf);
	for (unsigned n; count; count -= n) {
		n = MIN(count, (unsigned)HANDOFF_HINTS_MAX);
		handoff_put_hint_request(&b, proto, (uint8_t)n);
		hc_count(c, p, HANDOFF_CLIENT_HINT_REQUESTS, 1);
	}
	hc_send(c, p, buf, b.len);
}

static struct peer *lookup_peer(struct handoff_client *c, struct in_addr t, struct in_addr s)
{
	struct peer *p = hc_peer_find(c, t, s);
	/* Never a lookup without an ESTABLISHED session that took LOOKUP: an
	 * IPv4 host must not make us talk to third parties (section 10.2). */
	return p && p->established && (p->caps & HANDOFF_CAP_LOOKUP) ? p : NULL;
}

/* Common to both kinds: join an outstanding lookup, or start one. */
static enum handoff_miss miss(struct handoff_client *c, struct peer *p, const struct lookup_key *k,
			      const uint8_t *pkt, size_t len, bool may_echo)
{
	uint64_t now = hc_now(c);
	if (lookup_by_key(p, k)) {
		/* One outstanding lookup per key: later misses wait for it. */
		if (!enqueue(c, p, k, pkt, len, now))
			hc_count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
		return HANDOFF_MISS_PENDING;
	}
	if (!lookup_allowed(c, p, now)) {
		hc_count(c, p, HANDOFF_CLIENT_LOOKUPS_LIMITED, 1);
		return HANDOFF_MISS_LIMITED;
	}
	struct lookup *l = lookup_new(p, k, now);
	if (!l) {
		hc_count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
		return HANDOFF_MISS_LIMITED;
	}
	/* Echo the packet when the reply (22 octets longer) still fits. */
	bool echo = may_echo && handoff_ip_len(pkt, len) == len &&
		    SESSION_HDR + (p->unconfirmed ? HELLO_LEN : 0) + 10 + len + REPLY_GROWTH <=
			    HANDOFF_MAX_DGRAM;
	if (!echo && !enqueue(c, p, k, pkt, len, now))
		hc_count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
	send_lookup(c, p, l, echo ? pkt : NULL, len);
	hc_want_tick(c, now + LOOKUP_TIMEOUT_MS);
	return HANDOFF_MISS_PENDING;
}

enum handoff_miss handoff_client_miss(struct handoff_client *c, struct in_addr nat64,
				      struct in_addr server, uint8_t proto, uint16_t nat_port,
				      const uint8_t *pkt, size_t len)
{
	struct peer *p = lookup_peer(c, nat64, server);
	if (!p)
		return HANDOFF_MISS_DROP;
	struct lookup_key k = { .kind = LK_PORT, .proto = proto, .port = nat_port };
	return miss(c, p, &k, pkt, len, true);
}

enum handoff_miss handoff_client_miss6(struct handoff_client *c, struct in_addr nat64,
				       struct in_addr server, const struct handoff_client_key6 *k6,
				       const uint8_t *pkt, size_t len)
{
	struct peer *p = lookup_peer(c, nat64, server);
	if (!p)
		return HANDOFF_MISS_DROP;
	/* The IPv6 packet is held, not echoed: the server has no use for it
	 * and the reply stays small (P-1). */
	struct lookup_key k = { .kind = LK_CLIENT, .proto = k6->proto, .port = k6->client_port,
				.server_port = k6->server_port, .client = k6->client };
	return miss(c, p, &k, pkt, len, false);
}

enum handoff_miss handoff_client_hold_for_hints(struct handoff_client *c, struct in_addr nat64,
						struct in_addr server, uint8_t proto,
						const uint8_t *pkt, size_t len)
{
	struct peer *p = lookup_peer(c, nat64, server);
	if (!p || hc_proto_index(proto) < 0)
		return HANDOFF_MISS_DROP;
	uint64_t now = hc_now(c);
	int pi = hc_proto_index(proto);
	/* Never make new flows wait for a server that does not answer: a
	 * resumed session S has not confirmed within a second, or a hint
	 * request of a second ago still unanswered. Ask again, hold nothing. */
	bool silent = (p->unconfirmed && now >= p->resumed_ms + LOOKUP_TIMEOUT_MS) ||
		      (p->hints_asked_ms[pi] && now >= p->hints_asked_ms[pi] + LOOKUP_TIMEOUT_MS);
	if (silent) {
		hc_count(c, p, HANDOFF_CLIENT_HINTS_NOT_AWAITED, 1);
		send_hint_request(c, p, proto, HANDOFF_HINTS_ROUND, now);
		return HANDOFF_MISS_DROP;
	}
	struct lookup_key k = { .kind = LK_HINTS, .proto = proto };
	if (!enqueue(c, p, &k, pkt, len, now))
		return HANDOFF_MISS_DROP;	/* too many waiting: take any port */
	hc_count(c, p, HANDOFF_CLIENT_HELD_FOR_HINTS, 1);
	send_hint_request(c, p, proto, HANDOFF_HINTS_ROUND, now);
	return HANDOFF_MISS_PENDING;
}

void handoff_client_request_hints(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, uint8_t proto, unsigned count)
{
	struct peer *p = lookup_peer(c, nat64, server);
	if (p)
		send_hint_request(c, p, proto, count, hc_now(c));
}

/* ---- answers ---- */

void hc_hints_received(struct handoff_client *c, struct peer *p, uint8_t proto,
		       const uint16_t *ports, size_t n)
{
	int pi = hc_proto_index(proto);
	if (pi < 0 || !(p->caps & HANDOFF_CAP_LOOKUP))
		return;	/* the server does not keep our table: its hints mean nothing */
	uint16_t lo = 0, hi = 0, ok[HANDOFF_HINTS_MAX];
	size_t k = 0;
	if (c->ops->port_range)
		c->ops->port_range(c->ctx, p->nat64, &lo, &hi);
	for (size_t i = 0; i < n && k < HANDOFF_HINTS_MAX; i++) {
		/* Outside our range a hint names a port we never hand out (P-8). */
		if (ports[i] == 0 || (hi && (ports[i] < lo || ports[i] > hi))) {
			hc_count(c, p, HANDOFF_CLIENT_HINTS_OUT_OF_RANGE, 1);
			continue;
		}
		ok[k++] = ports[i];
	}
	hc_count(c, p, HANDOFF_CLIENT_HINTS, k);
	p->hints_asked_ms[pi] = 0;	/* answered: another request may follow */
	if (k)
		c->ops->hints(c->ctx, p->nat64, p->server, proto, ok, k);
	/* New flows that waited for a port go on now, with whatever came. */
	struct lookup_key key = { .kind = LK_HINTS, .proto = proto };
	release(c, p, REL_KEY, &key, 0, false);
}

void hc_lookup_reply(struct handoff_client *c, struct peer *p, struct handoff_iter *it,
		     const struct handoff_msg *m)
{
	struct handoff_iter peek = *it;
	struct handoff_msg echo;
	bool has_echo = handoff_iter_next(&peek, &echo) > 0 && echo.type == HANDOFF_IPV4;
	if (has_echo)
		*it = peek;	/* the echo belongs to this reply */
	struct lookup *l = lookup_by_id(p, m->u.lookup_reply.id);
	const struct handoff_er *er = &m->u.lookup_reply.er;
	bool found = m->u.lookup_reply.status == HANDOFF_LOOKUP_FOUND;
	/* "Found" must name what was asked for (amendment 6, P-1). */
	bool matches = l && er->proto == l->key.proto &&
		       (l->key.kind == LK_PORT
			? er->nat_port == l->key.port
			: er->client_port == l->key.port &&
			  memcmp(&er->client, &l->key.client, sizeof(er->client)) == 0);
	if (!l || (found && !matches) || (has_echo && l->key.kind != LK_PORT)) {
		hc_count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	struct lookup_key key = l->key;
	lookup_done(p, l);
	p->lookup_fails = 0;	/* the server answered */
	if (!found) {
		hc_count(c, p, HANDOFF_CLIENT_MISSES, 1);
		release(c, p, REL_KEY, &key, 0, false);
		return;
	}
	hc_count(c, p, HANDOFF_CLIENT_HITS, 1);
	c->ops->install(c->ctx, p->nat64, p->server, er);
	if (has_echo)
		c->ops->deliver(c->ctx, p->nat64, p->server, echo.raw, echo.raw_len);
	release(c, p, REL_KEY, &key, 0, true);
}

/* ---- timers and session changes ---- */

uint64_t hc_lookup_tick(struct handoff_client *c, struct peer *p, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	/* Lookups: 1 s, one retry, then the packets go (7.4). */
	for (unsigned i = 0; p->lookups && i < MAX_LOOKUPS && p->established; i++) {
		struct lookup *l = &p->lookups[i];
		if (!l->used)
			continue;
		if (l->sent_ms + LOOKUP_TIMEOUT_MS > now) {
			next = MIN(next, l->sent_ms + LOOKUP_TIMEOUT_MS);
			continue;
		}
		/* A retry is a lookup too: it needs a token (P-9). */
		if (l->tries <= LOOKUP_RETRIES && lookup_allowed(c, p, now)) {
			l->tries++;
			l->sent_ms = now;
			send_lookup(c, p, l, NULL, 0);
			next = MIN(next, now + LOOKUP_TIMEOUT_MS);
			continue;
		}
		struct lookup_key key = l->key;
		hc_count(c, p, HANDOFF_CLIENT_TIMEOUTS, 1);
		lookup_done(p, l);
		release(c, p, REL_KEY, &key, 0, false);
		if (++p->lookup_fails >= DOWN_THRESHOLD) {
			hc_session_down(c, p, "down after 3 failed lookups; cached entries back on "
					"RFC 6146 timers");
			return UINT64_MAX;
		}
	}
	/* Held packets wait at most 1 s. */
	release(c, p, REL_AGED, NULL, now, false);
	for (size_t i = 0; i < p->nq; i++)
		next = MIN(next, p->q[i].at_ms + QUEUE_AGE_MS);
	return next;
}

void hc_lookup_resend(struct handoff_client *c, struct peer *p)
{
	uint64_t now = hc_now(c);
	for (unsigned i = 0; p->lookups && i < MAX_LOOKUPS; i++) {
		struct lookup *l = &p->lookups[i];
		if (!l->used)
			continue;
		l->sent_ms = now;
		send_lookup(c, p, l, NULL, 0);
	}
	for (int i = 0; i < 3; i++)
		p->hints_asked_ms[i] = 0;
	/* Flows waiting for hints ask again under the new cookie. */
	for (size_t i = 0; i < p->nq; i++)
		if (p->q[i].key.kind == LK_HINTS)
			send_hint_request(c, p, p->q[i].key.proto, HANDOFF_HINTS_ROUND, now);
}

void hc_lookup_clear(struct handoff_client *c, struct peer *p)
{
	if (p->lookups)
		memset(p->lookups, 0, MAX_LOOKUPS * sizeof(*p->lookups));
	p->nlookups = 0;
	memset(p->hints_asked_ms, 0, sizeof(p->hints_asked_ms));
	release(c, p, REL_ALL, NULL, 0, false);
}

void hc_lookup_free(struct peer *p)
{
	for (size_t i = 0; i < p->nq; i++)
		free(p->q[i].pkt);
	p->nq = 0;
	free(p->lookups);
	p->lookups = NULL;
}
