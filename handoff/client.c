/* Translator side of the NAT64 handoff protocol: per (T, S) session state
 * machine (spec section 7.10), driven by the translator's events and by
 * handoff_client_tick(). Constants are the profile's (section 7.11); the
 * lookups live in client_lookup.c. */
#include "autoconf.h"
#include "handoff/client_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/evloop.h"
#include "common/log.h"
#include "common/util.h"

#define RETRANSMIT_MS		1000
#define RETRANSMIT_MAX		3
#define RESYNC_MAX		(3 * 65536)
#define PEER_IDLE_MS		(10 * 60 * 1000)

const struct counter_desc handoff_client_counter_desc[HANDOFF_CLIENT__COUNT] = {
	HANDOFF_CLIENT_COUNTERS(COUNTER_DESC)
};

void handoff_client_config_default(struct handoff_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = HANDOFF_PORT_DEFAULT;
	cfg->caps = HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK;
	cfg->probe_rate = 50;
	cfg->session_rate = 1000;
	cfg->batch_delay_ms = 5;
	cfg->keepalive_ms = 120000;
	cfg->max_peers = 65536;
	cfg->lookup_rate = 1000;
	cfg->lookup_rate_total = 10000;
}

uint64_t hc_now(const struct handoff_client *c)
{
	return c->loop ? evloop_now_ms(c->loop) : c->now;
}

void hc_count(struct handoff_client *c, struct peer *p, enum handoff_client_counter i, uint64_t n)
{
	if (p)
		p->counters[i] += n;
	c->totals[i] += n;
}

bool hc_bucket_take(struct bucket *b, uint32_t rate, uint64_t now)
{
	if (rate == 0)
		return true;
	uint64_t cap = 1000ull * rate;	/* a burst of one second */
	if (b->at_ms == 0) {
		b->milli = cap;
		b->at_ms = now ? now : 1;
	}
	b->milli = MIN(cap, b->milli + (now - b->at_ms) * rate);
	b->at_ms = now;
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}

/* ---- timer ---- */

static void on_timer(struct evloop *loop, struct ev_timer *t, void *arg);

void hc_want_tick(struct handoff_client *c, uint64_t due)
{
	if (!c->loop || due >= c->timer_due)
		return;
	uint64_t now = hc_now(c);
	c->timer_due = due;
	ev_timer_arm(c->timer, due > now ? due - now : 0);
}

static void on_timer(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct handoff_client *c = arg;
	(void)t;
	c->timer_due = UINT64_MAX;
	uint64_t next = handoff_client_tick(c, evloop_now_ms(loop));
	if (next != UINT64_MAX)
		hc_want_tick(c, next);
}

/* ---- peers ---- */

static size_t peer_hash(const struct handoff_client *c, struct in_addr t, struct in_addr s)
{
	uint64_t h = ((uint64_t)t.s_addr << 32 | s.s_addr) * 0x9E3779B97F4A7C15ull;
	h ^= h >> 31;
	return (size_t)h & (c->nbuckets - 1);
}

struct peer *hc_peer_find(struct handoff_client *c, struct in_addr t, struct in_addr s)
{
	for (struct peer *p = c->buckets[peer_hash(c, t, s)]; p; p = p->hnext)
		if (p->nat64.s_addr == t.s_addr && p->server.s_addr == s.s_addr)
			return p;
	return NULL;
}

static void list_unlink(struct handoff_client *c, struct peer *p)
{
	DLIST_UNLINK_HT(c->head, c->tail, p);
	p->prev = p->next = NULL;
}

static void list_push(struct handoff_client *c, struct peer *p)
{
	DLIST_PUSH_FRONT_HT(c->head, c->tail, p);
}

static void peer_free(struct handoff_client *c, struct peer *p)
{
	struct peer **pp = &c->buckets[peer_hash(c, p->nat64, p->server)];
	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	list_unlink(c, p);
	hc_lookup_free(p);
	free(p->unacked);
	free(p->resync);
	free(p);
	c->npeers--;
}

static bool peer_idle(const struct peer *p, uint64_t now)
{
	return !p->established && p->b.len <= p->hdr_len && p->nq == 0 &&
	       p->last_use + PEER_IDLE_MS <= now;
}

static struct peer *peer_get(struct handoff_client *c, struct in_addr t, struct in_addr s)
{
	uint64_t now = hc_now(c);
	struct peer *p = hc_peer_find(c, t, s);
	if (p) {
		p->last_use = now;
		list_unlink(c, p);
		list_push(c, p);
		return p;
	}
	if (c->npeers >= c->cfg.max_peers) {
		/* Forget the least recently used session if it holds nothing. */
		if (!c->tail || c->tail->established || c->tail->b.len > c->tail->hdr_len ||
		    c->tail->nq)
			return NULL;
		peer_free(c, c->tail);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	*p = (struct peer){ .nat64 = t, .server = s, .last_use = now };
	if (handoff_random(p->nonce, sizeof(p->nonce)) < 0 ||
	    handoff_random((uint8_t *)&p->next_id, sizeof(p->next_id)) < 0) {
		free(p);
		return NULL;
	}
	size_t h = peer_hash(c, t, s);
	p->hnext = c->buckets[h];
	c->buckets[h] = p;
	list_push(c, p);
	c->npeers++;
	return p;
}

/* ---- sending ---- */

static uint32_t datagram_rate(const struct handoff_client *c, const struct peer *p)
{
	return p->established ? c->cfg.session_rate : c->cfg.probe_rate;
}

static bool take_token(struct handoff_client *c, struct peer *p, uint64_t now)
{
	/* A burst of 100 ms: the datagram buckets are stricter than the
	 * lookup ones (section 10.2). */
	uint32_t rate = datagram_rate(c, p);
	uint64_t cap = 1000ull * MAX(rate / 10, 1u);
	if (p->tokens.at_ms == 0) {
		p->tokens.milli = 1000;
		p->tokens.at_ms = now;
	}
	p->tokens.milli = MIN(cap, p->tokens.milli + (now - p->tokens.at_ms) * rate);
	p->tokens.at_ms = now;
	if (p->tokens.milli < 1000)
		return false;
	p->tokens.milli -= 1000;
	return true;
}

/* Milliseconds until take_token() can succeed. */
static uint64_t token_wait_ms(const struct handoff_client *c, const struct peer *p)
{
	uint32_t rate = datagram_rate(c, p);
	if (p->tokens.milli >= 1000 || rate == 0)
		return 1;
	return MAX((1000 - p->tokens.milli + rate - 1) / rate, (uint64_t)1);
}

void hc_send(struct handoff_client *c, struct peer *p, const uint8_t *buf, size_t len)
{
	c->ops->send(c->ctx, p->nat64, p->server, buf, len);
	hc_count(c, p, HANDOFF_CLIENT_DATAGRAMS, 1);
}

static void put_hello(struct handoff_client *c, struct peer *p, struct handoff_builder *b)
{
	uint16_t lo = 0, hi = 0;
	if (c->ops->port_range)
		c->ops->port_range(c->ctx, p->nat64, &lo, &hi);
	if (lo > hi)
		lo = hi = 0;
	handoff_put_hello(b, c->cfg.caps, p->nonce, lo, hi, true);
}

/* Starts a datagram: SESSION in a session (with a HELLO while a resumed
 * session is unconfirmed, profile P-6); TEXT then HELLO while probing
 * (section 7.1 step 1). HELLO is padded to the HELLO-ACK's size so a server
 * may answer a lone HELLO without amplifying. */
void hc_begin(struct handoff_client *c, struct peer *p, struct handoff_builder *b, uint8_t *buf)
{
	handoff_builder_init(b, buf, HANDOFF_MAX_DGRAM);
	if (p->established) {
		handoff_put_session(b, p->nonce, p->cookie);
		if (p->unconfirmed)
			put_hello(c, p, b);
	} else {
		if (c->text_len)
			handoff_put_text(b, c->text, c->text_len);
		put_hello(c, p, b);
	}
}

static void batch_reset(struct peer *p)
{
	p->b.len = 0;
	p->hdr_len = 0;
}

/* Sends the batch if it holds a notice and the rate allows. */
static bool batch_send(struct handoff_client *c, struct peer *p, uint64_t now)
{
	if (p->b.len <= p->hdr_len)
		return true;
	if (!take_token(c, p, now))
		return false;
	hc_send(c, p, p->batch, p->b.len);
	batch_reset(p);
	return true;
}

/* Appends one notice, sending a full batch first. false = dropped. */
static bool batch_add(struct handoff_client *c, struct peer *p, uint8_t type,
		      const struct handoff_er *er, uint64_t now)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (p->b.len == 0) {
			hc_begin(c, p, &p->b, p->batch);
			p->hdr_len = p->b.len;
			p->batch_since = now;
		}
		if (handoff_put_entry(&p->b, type, er) == 0) {
			hc_count(c, p, HANDOFF_CLIENT_NOTICES, 1);
			hc_want_tick(c, p->batch_since + c->cfg.batch_delay_ms);
			return true;
		}
		if (!batch_send(c, p, now))
			break;
	}
	hc_count(c, p, HANDOFF_CLIENT_NOTICES_DROPPED, 1);
	return false;
}

static void track_unacked(struct peer *p, const struct handoff_er *er, uint64_t now)
{
	for (size_t i = 0; i < p->nunacked; i++)
		if (p->unacked[i].er.proto == er->proto && p->unacked[i].er.nat_port == er->nat_port) {
			p->unacked[i].er = *er;
			p->unacked[i].sent_ms = now;
			return;
		}
	if (!p->unacked)
		p->unacked = calloc(MAX_UNACKED, sizeof(*p->unacked));
	if (!p->unacked || p->nunacked >= MAX_UNACKED)
		return;	/* untracked: the entry simply keeps its RFC 6146 timers */
	p->unacked[p->nunacked++] = (struct unacked){ .er = *er, .sent_ms = now, .tries = 1 };
}

static void forget_unacked(struct peer *p, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < p->nunacked; i++)
		if (p->unacked[i].er.proto == proto && p->unacked[i].er.nat_port == port) {
			p->unacked[i] = p->unacked[--p->nunacked];
			return;
		}
}

/* ---- session changes ---- */

static void log_session(const struct peer *p, const char *what)
{
	char t[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &p->nat64, t, sizeof(t));
	inet_ntop(AF_INET, &p->server, s, sizeof(s));
	log_info("handoff: session %s -> %s %s", t, s, what);
}

void hc_session_down(struct handoff_client *c, struct peer *p, const char *why)
{
	bool was = p->established;
	p->established = false;
	p->unconfirmed = false;
	p->ka_out = false;
	p->ka_misses = p->lookup_fails = 0;
	handoff_random(p->nonce, sizeof(p->nonce));	/* a new nonce per attempt (5.1) */
	memset(p->cookie, 0, sizeof(p->cookie));
	hc_lookup_clear(c, p);
	p->nunacked = 0;
	free(p->resync);
	p->resync = NULL;
	p->nresync = p->resync_off = 0;
	batch_reset(p);
	if (was) {
		hc_count(c, p, HANDOFF_CLIENT_SESSION_DOWNS, 1);
		c->generation++;
		log_session(p, why);
		c->ops->session_down(c->ctx, p->nat64, p->server);
	}
}

static void collect_resync(void *arg, const struct handoff_er *er)
{
	struct peer *p = arg;
	if (p->nresync >= RESYNC_MAX)
		return;
	if (p->nresync % 1024 == 0) {
		struct handoff_er *n = realloc(p->resync, (p->nresync + 1024) * sizeof(*n));
		if (!n)
			return;
		p->resync = n;
	}
	p->resync[p->nresync++] = *er;
}

static uint64_t keepalive_delay(const struct handoff_client *c)
{
	uint16_t r = 0;
	handoff_random((uint8_t *)&r, sizeof(r));
	/* 120 s +- 10 % (section 7.6). */
	uint64_t base = c->cfg.keepalive_ms;
	return base - base / 10 + (base / 5) * r / 65535;
}

/* The server's accepted capabilities changed (a handshake, or the answer
 * to a keep-alive after a reload): without LOOKUP the cache goes back to
 * being the translator's own. */
static void set_caps(struct handoff_client *c, struct peer *p, uint8_t caps)
{
	caps &= c->cfg.caps;
	bool lost_lookup = (p->caps & HANDOFF_CAP_LOOKUP) && !(caps & HANDOFF_CAP_LOOKUP);
	if (caps != p->caps)
		c->generation++;
	p->caps = caps;
	if (lost_lookup && p->established) {
		hc_lookup_clear(c, p);
		c->ops->session_down(c->ctx, p->nat64, p->server);
	}
}

static void establish(struct handoff_client *c, struct peer *p, uint8_t caps,
		      const uint8_t cookie[HANDOFF_COOKIE_LEN], uint64_t now)
{
	bool again = p->established;
	p->established = true;
	p->unconfirmed = false;
	set_caps(c, p, caps);
	memcpy(p->cookie, cookie, HANDOFF_COOKIE_LEN);
	p->ka_out = false;
	p->ka_misses = p->lookup_fails = 0;
	/* A keep-alive at once: it tells the server our port range (P-2),
	 * asks for a first batch of hints (P-3) and has it log Initialized
	 * even when we hold no entry yet. */
	p->next_ka = now;
	p->want_hints = true;
	batch_reset(p);	/* its notices are part of the resync below */
	c->generation++;
	hc_count(c, p, HANDOFF_CLIENT_HANDSHAKES, 1);
	/* Hand over the whole current table (section 7.1 step 4). */
	free(p->resync);
	p->resync = NULL;
	p->nresync = p->resync_off = 0;
	c->ops->foreach_entry(c->ctx, p->nat64, p->server, collect_resync, p);
	if (again)
		hc_lookup_resend(c, p);	/* the server lost its secret: ask again now */
	hc_want_tick(c, now);
}

/* ---- translator events ---- */

void handoff_client_entry_created(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, const struct handoff_er *er)
{
	struct peer *p = peer_get(c, nat64, server);
	if (!p) {
		hc_count(c, NULL, HANDOFF_CLIENT_NOTICES_DROPPED, 1);
		return;
	}
	uint64_t now = hc_now(c);
	if (batch_add(c, p, HANDOFF_ENTRY_CREATED, er, now) && p->established)
		track_unacked(p, er, now);
}

void handoff_client_entry_removed(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, const struct handoff_er *er,
				  enum handoff_removal why)
{
	struct peer *p = hc_peer_find(c, nat64, server);
	if (!p)
		return;
	struct handoff_er d = *er;
	d.flags = why == HANDOFF_REMOVED_CLOSED ? HANDOFF_ER_CLOSED : 0;
	if (p->established) {
		forget_unacked(p, er->proto, er->nat_port);
		/* The core of the protocol: a cache eviction is silent, the
		 * entry lives on at the server. Only a close is worth a word. */
		if (why != HANDOFF_REMOVED_CLOSED)
			return;
	}
	batch_add(c, p, HANDOFF_ENTRY_DELETED, &d, hc_now(c));
}

/* ---- received datagrams ---- */

static void on_block(struct handoff_client *c, struct peer *p, uint32_t duration)
{
	hc_count(c, p, HANDOFF_CLIENT_BLOCKS, 1);
	char t[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &p->nat64, t, sizeof(t));
	inet_ntop(AF_INET, &p->server, s, sizeof(s));
	/* Every applied block is logged (section 10.6, profile P-8), but a
	 * server repeating its BLOCK cannot flood the log. */
	log_ratelimited(&c->block_log, LOG_LVL_NOTICE,
			"handoff: server %s blocked traffic with %s for %u s", s, t, duration);
	c->ops->blocked(c->ctx, p->nat64, p->server, duration);
	/* Acknowledge by echoing the BLOCK (section 7.9). */
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	hc_begin(c, p, &b, buf);
	handoff_put_block(&b, 0, duration);
	hc_send(c, p, buf, b.len);
}

int hc_proto_index(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : proto == IPPROTO_ICMP ? 2 : -1;
}

/* Outside a session only a HELLO-ACK echoing our nonce counts. */
static void input_unauthenticated(struct handoff_client *c, struct peer *p,
				  struct handoff_iter *it, struct handoff_msg *m, uint64_t now)
{
	do {
		if (m->type != HANDOFF_HELLO_ACK || m->u.hello_ack.version != HANDOFF_VERSION ||
		    memcmp(m->u.hello_ack.nonce, p->nonce, HANDOFF_NONCE_LEN) != 0)
			continue;
		if (!p->established || !handoff_cookie_equal(m->u.hello_ack.cookie, p->cookie)) {
			/* A handshake; or, in a session, the server answered our
			 * keep-alive outside it with a new cookie for our nonce: it
			 * lost its secret (and maybe its table). Adopt it and hand
			 * over again. */
			establish(c, p, m->u.hello_ack.caps, m->u.hello_ack.cookie, now);
		} else {
			p->ka_out = false;
			p->ka_misses = 0;
			p->unconfirmed = false;
		}
		return;
	} while (handoff_iter_next(it, m) > 0);
	hc_count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
}

static void on_entry_ack(struct handoff_client *c, struct peer *p, const struct handoff_msg *m)
{
	uint8_t proto = m->u.entry_ack.proto;
	forget_unacked(p, proto, m->u.entry_ack.nat_port);
	hc_count(c, p, HANDOFF_CLIENT_ACKS, 1);
	if (p->caps & HANDOFF_CAP_LOOKUP)
		c->ops->entry_acked(c->ctx, p->nat64, p->server, proto, m->u.entry_ack.nat_port);
	if (m->u.entry_ack.hint)
		hc_hints_received(c, p, proto, &m->u.entry_ack.hint, 1);
}

void handoff_client_input(struct handoff_client *c, struct in_addr nat64, struct in_addr server,
			  uint16_t sport, const uint8_t *buf, size_t len)
{
	struct peer *p = hc_peer_find(c, nat64, server);
	/* Only the exact server address and port of the session (10.1). */
	if (!p || sport != c->cfg.port) {
		hc_count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	/* Section 4.2 rule 2, profile P-8: a datagram that breaks the framing
	 * anywhere counts for nothing, not even the messages before the break. */
	if (handoff_validate(buf, len) < 0) {
		hc_count(c, p, HANDOFF_CLIENT_MALFORMED, 1);
		return;
	}
	uint64_t now = hc_now(c);
	struct handoff_iter it;
	struct handoff_msg m;
	handoff_iter_init(&it, buf, len);
	if (handoff_iter_next(&it, &m) <= 0) {
		hc_count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	if (m.type != HANDOFF_SESSION) {
		input_unauthenticated(c, p, &it, &m, now);
		return;
	}
	if (!p->established || memcmp(m.u.session.nonce, p->nonce, HANDOFF_NONCE_LEN) != 0 ||
	    !handoff_cookie_equal(m.u.session.cookie, p->cookie)) {
		hc_count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	p->unconfirmed = false;	/* the server knows the session */
	while (handoff_iter_next(&it, &m) > 0) {
		switch (m.type) {
		case HANDOFF_HELLO_ACK:
			if (memcmp(m.u.hello_ack.nonce, p->nonce, HANDOFF_NONCE_LEN) == 0 &&
			    handoff_cookie_equal(m.u.hello_ack.cookie, p->cookie)) {
				p->ka_out = false;
				p->ka_misses = 0;
				set_caps(c, p, m.u.hello_ack.caps);
			}
			break;
		case HANDOFF_ENTRY_ACK:
			on_entry_ack(c, p, &m);
			break;
		case HANDOFF_LOOKUP_REPLY:
			hc_lookup_reply(c, p, &it, &m);
			break;
		case HANDOFF_HINTS:
			hc_hints_received(c, p, m.u.hints.proto, m.u.hints.port, m.u.hints.n);
			break;
		case HANDOFF_BLOCK:
			if (c->cfg.caps & HANDOFF_CAP_BLOCK)
				on_block(c, p, m.u.block.duration);
			break;
		default:
			/* MODE: tunnel mode is not offered; TEXT is opaque. */
			break;
		}
	}
}

void handoff_client_icmp_error(struct handoff_client *c, struct in_addr nat64,
			       struct in_addr server)
{
	/* Evidence about the session, never a cache miss: the quoted datagram
	 * is ours, so there is nothing to look up. A keep-alive it answers is
	 * counted as missed when the next one is due, as if nothing came. */
	hc_count(c, hc_peer_find(c, nat64, server), HANDOFF_CLIENT_ICMP_ERRORS, 1);
}

bool handoff_client_can_lookup(struct handoff_client *c, struct in_addr nat64,
			       struct in_addr server)
{
	struct peer *p = hc_peer_find(c, nat64, server);
	return p && p->established && (p->caps & HANDOFF_CAP_LOOKUP);
}

void handoff_client_probe(struct handoff_client *c, struct in_addr nat64, struct in_addr server)
{
	struct peer *p = peer_get(c, nat64, server);
	if (!p || p->established)
		return;
	uint64_t now = hc_now(c);
	/* A pending notice batch already carries TEXT+HELLO. */
	if (p->b.len > p->hdr_len || !take_token(c, p, now))
		return;
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	hc_begin(c, p, &b, buf);
	hc_send(c, p, buf, b.len);
}

/* ---- sessions across a restart (profile P-6) ---- */

void handoff_client_foreach_session(struct handoff_client *c,
				    void (*fn)(void *arg, const struct handoff_session_state *st),
				    void *arg)
{
	for (struct peer *p = c->head; p; p = p->next) {
		if (!p->established)
			continue;
		struct handoff_session_state st = { .nat64 = p->nat64, .server = p->server,
						    .caps = p->caps };
		memcpy(st.nonce, p->nonce, sizeof(st.nonce));
		memcpy(st.cookie, p->cookie, sizeof(st.cookie));
		fn(arg, &st);
	}
}

uint64_t handoff_client_generation(const struct handoff_client *c)
{
	return c->generation;
}

int handoff_client_resume(struct handoff_client *c, const struct handoff_session_state *st)
{
	struct peer *p = hc_peer_find(c, st->nat64, st->server);
	if (p && p->established)
		return -EEXIST;
	p = peer_get(c, st->nat64, st->server);
	if (!p)
		return -ENOMEM;
	uint64_t now = hc_now(c);
	memcpy(p->nonce, st->nonce, sizeof(p->nonce));
	memcpy(p->cookie, st->cookie, sizeof(p->cookie));
	p->established = true;
	p->unconfirmed = true;
	p->resumed_ms = now;
	p->caps = st->caps & c->cfg.caps;
	p->ka_out = false;
	p->ka_misses = p->lookup_fails = 0;
	p->next_ka = now;	/* prove the session now, before anyone needs it */
	p->want_hints = true;
	batch_reset(p);
	hc_count(c, p, HANDOFF_CLIENT_RESUMED, 1);
	hc_want_tick(c, now);
	return 0;
}

/* ---- timers ---- */

/* Resync: feed the handed-over entries into batches, paced. */
static uint64_t tick_resync(struct handoff_client *c, struct peer *p, uint64_t now)
{
	while (p->resync_off < p->nresync) {
		const struct handoff_er *er = &p->resync[p->resync_off];
		if (p->b.len > p->hdr_len && handoff_builder_room(&p->b) < 2 + HANDOFF_ER_LEN &&
		    !batch_send(c, p, now))
			break;
		if (!batch_add(c, p, HANDOFF_ENTRY_CREATED, er, now))
			break;
		track_unacked(p, er, now);
		p->resync_off++;
	}
	if (p->resync_off < p->nresync)
		return now + token_wait_ms(c, p);
	free(p->resync);
	p->resync = NULL;
	p->nresync = p->resync_off = 0;
	return UINT64_MAX;
}

/* Retransmit notices not acked within 1 s, at most 3 times (7.2). */
static uint64_t tick_retransmit(struct handoff_client *c, struct peer *p, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < p->nunacked;) {
		struct unacked *u = &p->unacked[i];
		if (u->sent_ms + RETRANSMIT_MS > now) {
			next = MIN(next, u->sent_ms + RETRANSMIT_MS);
			i++;
			continue;
		}
		if (u->tries > RETRANSMIT_MAX) {
			*u = p->unacked[--p->nunacked];
			continue;
		}
		struct handoff_er er = u->er;
		u->tries++;
		u->sent_ms = now;
		hc_count(c, p, HANDOFF_CLIENT_RETRANSMITS, 1);
		next = MIN(next, now + RETRANSMIT_MS);
		batch_add(c, p, HANDOFF_ENTRY_CREATED, &er, now);
		i++;
	}
	return next;
}

static void tick_keepalive(struct handoff_client *c, struct peer *p, uint64_t now)
{
	if (!p->established || p->next_ka > now)
		return;
	if (p->ka_out) {
		hc_count(c, p, HANDOFF_CLIENT_KEEPALIVE_MISSES, 1);
		if (++p->ka_misses >= DOWN_THRESHOLD) {
			hc_session_down(c, p, "down after 3 unanswered keep-alives; cached entries "
					"back on RFC 6146 timers");
			return;
		}
	}
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	hc_begin(c, p, &b, buf);
	if (!p->unconfirmed)	/* else hc_begin put the HELLO in already */
		put_hello(c, p, &b);
	if (p->want_hints && (p->caps & HANDOFF_CAP_LOOKUP)) {
		/* New flows toward S take S's hints: have some before they come. */
		static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
		for (size_t i = 0; i < sizeof(protos); i++) {
			handoff_put_hint_request(&b, protos[i], HINT_BATCH);
			p->hints_asked_ms[hc_proto_index(protos[i])] = now;
			hc_count(c, p, HANDOFF_CLIENT_HINT_REQUESTS, 1);
		}
	}
	p->want_hints = false;
	hc_send(c, p, buf, b.len);
	p->ka_out = true;
	p->next_ka = now + keepalive_delay(c);
}

static uint64_t tick_peer(struct handoff_client *c, struct peer *p, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	if (p->established) {
		next = MIN(next, tick_resync(c, p, now));
		next = MIN(next, tick_retransmit(c, p, now));
	}
	next = MIN(next, hc_lookup_tick(c, p, now));
	tick_keepalive(c, p, now);
	if (p->established)
		next = MIN(next, p->next_ka);
	if (p->b.len > p->hdr_len) {
		uint64_t due = p->batch_since + c->cfg.batch_delay_ms;
		if (due > now)
			next = MIN(next, due);
		else if (!batch_send(c, p, now))
			next = MIN(next, now + token_wait_ms(c, p));	/* paced */
	}
	return next;
}

uint64_t handoff_client_tick(struct handoff_client *c, uint64_t now)
{
	c->now = now;
	uint64_t next = UINT64_MAX;
	for (struct peer *p = c->head, *n; p; p = n) {
		n = p->next;
		if (peer_idle(p, now)) {
			peer_free(c, p);
			continue;
		}
		next = MIN(next, tick_peer(c, p, now));
		if (!p->established && p->b.len <= p->hdr_len)
			next = MIN(next, p->last_use + PEER_IDLE_MS);
	}
	return next;
}

void handoff_client_flush(struct handoff_client *c, uint64_t now)
{
	c->now = now;
	for (struct peer *p = c->head; p; p = p->next)
		if (p->b.len > p->hdr_len && !batch_send(c, p, now))
			hc_want_tick(c, now + token_wait_ms(c, p));
}

void handoff_client_set_time(struct handoff_client *c, uint64_t now)
{
	c->now = now;
}

/* ---- life cycle and introspection ---- */

/* TEXT: at most 128 octets, cut on a UTF-8 boundary, no NUL or 0xFF. */
static void set_text(struct handoff_client *c, const char *text)
{
	c->text_len = 0;
	if (!text)
		return;
	size_t n = strnlen(text, HANDOFF_CLIENT_TEXT_MAX + 1);
	if (n > HANDOFF_CLIENT_TEXT_MAX) {
		n = HANDOFF_CLIENT_TEXT_MAX;
		while (n > 0 && ((uint8_t)text[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)text[i] != 0xFF)
			c->text[c->text_len++] = text[i];
}

static void take_config(struct handoff_client *c, const struct handoff_client_config *cfg)
{
	uint16_t port = c->cfg.port;
	uint32_t max_peers = c->cfg.max_peers;
	c->cfg = *cfg;
	c->cfg.text = NULL;	/* copied into c->text */
	if (port)
		c->cfg.port = port;	/* fixed for the life of the module */
	c->cfg.max_peers = max_peers ? max_peers : cfg->max_peers ? cfg->max_peers : 65536;
	if (!c->cfg.probe_rate)
		c->cfg.probe_rate = 50;
	if (!c->cfg.session_rate)
		c->cfg.session_rate = 1000;
	if (!c->cfg.keepalive_ms)
		c->cfg.keepalive_ms = 120000;
	set_text(c, cfg->text);
}

struct handoff_client *handoff_client_new(struct evloop *loop,
					  const struct handoff_client_config *cfg,
					  const struct handoff_client_ops *ops, void *ctx)
{
	struct handoff_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = (struct handoff_client){ .ops = ops, .ctx = ctx, .loop = loop, .timer_due = UINT64_MAX,
				      .block_log = { .interval_ms = 1000, .burst = 10 } };
	take_config(c, cfg);
	c->nbuckets = 1024;
	while (c->nbuckets < c->cfg.max_peers && c->nbuckets < (1u << 20))
		c->nbuckets <<= 1;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (loop)
		c->timer = ev_timer_new(loop, on_timer, c);
	if (!c->buckets || (loop && !c->timer)) {
		handoff_client_free(c);
		return NULL;
	}
	return c;
}

void handoff_client_reconfigure(struct handoff_client *c, const struct handoff_client_config *cfg)
{
	uint32_t old_ka = c->cfg.keepalive_ms;
	take_config(c, cfg);
	uint64_t now = hc_now(c);
	for (struct peer *p = c->head; p; p = p->next) {
		if (!p->established)
			continue;
		/* LOOKUP no longer offered: the cache becomes our own again. */
		set_caps(c, p, p->caps);
		/* A shorter keep-alive takes effect now, a longer one next time. */
		if (c->cfg.keepalive_ms < old_ka && p->next_ka > now + c->cfg.keepalive_ms)
			p->next_ka = now + keepalive_delay(c);
	}
	hc_want_tick(c, now);
}

void handoff_client_free(struct handoff_client *c)
{
	if (!c)
		return;
	while (c->head)
		peer_free(c, c->head);
	if (c->timer)
		ev_timer_free(c->timer);
	free(c->buckets);
	free(c);
}

void handoff_client_foreach_peer(struct handoff_client *c,
				 void (*fn)(void *arg, const struct handoff_peer_info *pi),
				 void *arg)
{
	for (struct peer *p = c->head; p; p = p->next) {
		struct handoff_peer_info pi = {
			.nat64 = p->nat64, .server = p->server, .established = p->established,
			.caps = p->caps, .outstanding_lookups = p->nlookups,
			.queued_packets = (uint32_t)p->nq, .unacked = (uint32_t)p->nunacked,
			.counters = p->counters,
		};
		fn(arg, &pi);
	}
}

const uint64_t *handoff_client_totals(const struct handoff_client *c)
{
	return c->totals;
}

uint64_t handoff_client_total(const struct handoff_client *c, enum handoff_client_counter i)
{
	return (unsigned)i < HANDOFF_CLIENT__COUNT ? c->totals[i] : 0;
}
