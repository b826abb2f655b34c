/* Translator side of the NAT64 handoff protocol: per (T, S) session state
 * machine (spec section 7.10), driven by the translator's events and by
 * handoff_client_tick(). Constants are the profile's (section 7.11). */
#include "autoconf.h"
#include "handoff/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/evloop.h"
#include "common/log.h"
#include "common/util.h"

#define TEXT_MAX		128	/* section 10.2: keep TEXT small */
#define MAX_UNACKED		4096	/* notices tracked for retransmit, per session */
#define RETRANSMIT_MS		1000
#define RETRANSMIT_MAX		3
#define MAX_LOOKUPS		256	/* outstanding per session */
#define LOOKUP_TIMEOUT_MS	1000
#define LOOKUP_RETRIES		1
#define DOWN_THRESHOLD		3	/* keep-alives or lookups failed in a row */
#define QUEUE_PKTS		64
#define QUEUE_BYTES		(256 * 1024)
#define QUEUE_AGE_MS		1000
#define RESYNC_MAX		(3 * 65536)
#define PEER_IDLE_MS		(10 * 60 * 1000)
#define SESSION_HDR		18	/* SESSION message */
#define REPLY_GROWTH		22	/* LOOKUP-REPLY found minus LOOKUP */

static const char *const counter_names[] = {
#define X(name, text) [HANDOFF_CLIENT_##name] = #name,
	HANDOFF_CLIENT_COUNTERS(X)
#undef X
};

struct unacked {
	struct handoff_er er;
	uint64_t sent_ms;
	uint8_t tries;
};

struct lookup {
	bool used;
	uint8_t proto, tries;
	uint16_t port;
	uint32_t id;
	uint64_t sent_ms;
};

struct queued {
	uint8_t proto;
	uint16_t port;
	uint64_t at_ms;
	size_t len;
	uint8_t *pkt;
};

struct peer {
	struct in_addr nat64, server;
	struct peer *hnext, *prev, *next;	/* hash chain; all-peers list, head = newest use */
	bool established;
	uint8_t nonce[HANDOFF_NONCE_LEN], cookie[HANDOFF_COOKIE_LEN], caps;
	/* the notice batch being filled */
	uint8_t batch[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	size_t hdr_len;
	uint64_t batch_since;
	/* token bucket, in thousandths of a datagram */
	uint64_t tokens_milli, tokens_ms;
	struct unacked *unacked;
	size_t nunacked;
	struct handoff_er *resync;
	size_t nresync, resync_off;
	uint64_t next_ka;
	bool ka_out;
	unsigned ka_misses, lookup_fails;
	struct lookup *lookups;		/* MAX_LOOKUPS, allocated on first use */
	unsigned nlookups;
	uint32_t next_id;
	struct queued q[QUEUE_PKTS];
	size_t nq, qbytes;
	uint16_t hint[3];		/* TCP, UDP, ICMP */
	uint64_t block_until;		/* 0 = none */
	uint64_t last_use;
	uint64_t counters[HANDOFF_CLIENT__COUNT];
};

struct handoff_client {
	struct handoff_client_config cfg;
	char text[TEXT_MAX + 1];
	size_t text_len;
	const struct handoff_client_ops *ops;
	void *ctx;
	struct evloop *loop;
	struct ev_timer *timer;
	uint64_t timer_due, now;
	struct peer **buckets;
	size_t nbuckets, npeers;
	struct peer *head, *tail;
	uint64_t totals[HANDOFF_CLIENT__COUNT];
	struct log_limit block_log;
};

const char *handoff_client_counter_name(enum handoff_client_counter i)
{
	return (unsigned)i < HANDOFF_CLIENT__COUNT ? counter_names[i] : "?";
}

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
}

static uint64_t now_ms(const struct handoff_client *c)
{
	return c->loop ? evloop_now_ms(c->loop) : c->now;
}

static void count(struct handoff_client *c, struct peer *p, enum handoff_client_counter i,
		  uint64_t n)
{
	if (p)
		p->counters[i] += n;
	c->totals[i] += n;
}

/* ---- timer ---- */

static void on_timer(struct evloop *loop, struct ev_timer *t, void *arg);

/* Makes sure the module runs again no later than `due`. */
static void want_tick(struct handoff_client *c, uint64_t due)
{
	if (!c->loop || due >= c->timer_due)
		return;
	uint64_t now = now_ms(c);
	c->timer_due = due;
	ev_timer_arm(c->timer, due > now ? due - now : 0);
}

static void on_timer(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct handoff_client *c = arg;
	c->timer_due = UINT64_MAX;
	uint64_t next = handoff_client_tick(c, evloop_now_ms(loop));
	if (next != UINT64_MAX)
		want_tick(c, next);
}

/* ---- peers ---- */

static size_t peer_hash(const struct handoff_client *c, struct in_addr t, struct in_addr s)
{
	uint64_t h = ((uint64_t)t.s_addr << 32 | s.s_addr) * 0x9E3779B97F4A7C15ull;
	h ^= h >> 31;
	return (size_t)h & (c->nbuckets - 1);
}

static struct peer *peer_find(struct handoff_client *c, struct in_addr t, struct in_addr s)
{
	for (struct peer *p = c->buckets[peer_hash(c, t, s)]; p; p = p->hnext)
		if (p->nat64.s_addr == t.s_addr && p->server.s_addr == s.s_addr)
			return p;
	return NULL;
}

static void list_unlink(struct handoff_client *c, struct peer *p)
{
	if (p->prev) p->prev->next = p->next; else c->head = p->next;
	if (p->next) p->next->prev = p->prev; else c->tail = p->prev;
	p->prev = p->next = NULL;
}

static void list_push(struct handoff_client *c, struct peer *p)
{
	p->next = c->head;
	if (c->head) c->head->prev = p; else c->tail = p;
	c->head = p;
}

static void drop_queue(struct handoff_client *c, struct peer *p, bool all, uint8_t proto,
		       uint16_t port)
{
	size_t w = 0;
	for (size_t i = 0; i < p->nq; i++) {
		struct queued *q = &p->q[i];
		if (all || (q->proto == proto && q->port == port)) {
			p->qbytes -= q->len;
			free(q->pkt);
			count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
		} else {
			p->q[w++] = *q;
		}
	}
	p->nq = w;
}

static void peer_free(struct handoff_client *c, struct peer *p)
{
	struct peer **pp = &c->buckets[peer_hash(c, p->nat64, p->server)];
	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	list_unlink(c, p);
	for (size_t i = 0; i < p->nq; i++)
		free(p->q[i].pkt);
	free(p->unacked);
	free(p->resync);
	free(p->lookups);
	free(p);
	c->npeers--;
}

static bool peer_idle(const struct peer *p, uint64_t now)
{
	return !p->established && p->b.len <= p->hdr_len && p->block_until == 0 &&
	       p->last_use + PEER_IDLE_MS <= now;
}

static struct peer *peer_get(struct handoff_client *c, struct in_addr t, struct in_addr s)
{
	uint64_t now = now_ms(c);
	struct peer *p = peer_find(c, t, s);
	if (p) {
		p->last_use = now;
		list_unlink(c, p);
		list_push(c, p);
		return p;
	}
	if (c->npeers >= c->cfg.max_peers) {
		/* Forget the least recently used session if it holds nothing. */
		if (!c->tail || c->tail->established || c->tail->block_until || c->tail->b.len > c->tail->hdr_len)
			return NULL;
		peer_free(c, c->tail);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->nat64 = t;
	p->server = s;
	p->last_use = now;
	p->tokens_ms = now;
	p->tokens_milli = 1000;
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

static bool take_token(struct handoff_client *c, struct peer *p, uint64_t now)
{
	uint32_t rate = p->established ? c->cfg.session_rate : c->cfg.probe_rate;
	uint64_t cap = 1000ull * MAX(rate / 10, 1u);	/* a burst of 100 ms */
	p->tokens_milli = MIN(cap, p->tokens_milli + (now - p->tokens_ms) * rate);
	p->tokens_ms = now;
	if (p->tokens_milli < 1000)
		return false;
	p->tokens_milli -= 1000;
	return true;
}

/* Milliseconds until take_token() can succeed. */
static uint64_t token_wait_ms(const struct handoff_client *c, const struct peer *p)
{
	uint32_t rate = p->established ? c->cfg.session_rate : c->cfg.probe_rate;
	if (p->tokens_milli >= 1000 || rate == 0)
		return 1;
	return MAX((1000 - p->tokens_milli + rate - 1) / rate, (uint64_t)1);
}

static void raw_send(struct handoff_client *c, struct peer *p, const uint8_t *buf, size_t len)
{
	c->ops->send(c->ctx, p->nat64, p->server, buf, len);
	count(c, p, HANDOFF_CLIENT_DATAGRAMS, 1);
}

/* Starts a datagram: SESSION in a session; TEXT then HELLO while probing
 * (section 7.1 step 1). HELLO is padded to the HELLO-ACK's size so a
 * server may answer a lone HELLO without amplifying. */
static void begin(struct handoff_client *c, struct peer *p, struct handoff_builder *b,
		  uint8_t *buf)
{
	handoff_builder_init(b, buf, HANDOFF_MAX_DGRAM);
	if (p->established) {
		handoff_put_session(b, p->nonce, p->cookie);
	} else {
		if (c->text_len)
			handoff_put_text(b, c->text, c->text_len);
		handoff_put_hello(b, c->cfg.caps, p->nonce, true);
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
	raw_send(c, p, p->batch, p->b.len);
	batch_reset(p);
	return true;
}

/* Appends one notice, sending a full batch first. false = dropped. */
static bool batch_add(struct handoff_client *c, struct peer *p, uint8_t type,
		      const struct handoff_er *er, uint64_t now)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (p->b.len == 0) {
			begin(c, p, &p->b, p->batch);
			p->hdr_len = p->b.len;
			p->batch_since = now;
		}
		if (handoff_put_entry(&p->b, type, er) == 0) {
			count(c, p, HANDOFF_CLIENT_NOTICES, 1);
			want_tick(c, p->batch_since + c->cfg.batch_delay_ms);
			return true;
		}
		if (!batch_send(c, p, now))
			break;
	}
	count(c, p, HANDOFF_CLIENT_NOTICES_DROPPED, 1);
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

static void session_down(struct handoff_client *c, struct peer *p)
{
	bool was = p->established;
	p->established = false;
	p->ka_out = false;
	p->ka_misses = p->lookup_fails = 0;
	handoff_random(p->nonce, sizeof(p->nonce));	/* a new nonce per attempt (5.1) */
	memset(p->cookie, 0, sizeof(p->cookie));
	if (p->lookups)
		memset(p->lookups, 0, MAX_LOOKUPS * sizeof(*p->lookups));
	p->nlookups = 0;
	drop_queue(c, p, true, 0, 0);
	p->nunacked = 0;
	free(p->resync);
	p->resync = NULL;
	p->nresync = p->resync_off = 0;
	batch_reset(p);
	memset(p->hint, 0, sizeof(p->hint));
	if (was) {
		count(c, p, HANDOFF_CLIENT_SESSION_DOWNS, 1);
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

static void establish(struct handoff_client *c, struct peer *p, uint8_t caps,
		      const uint8_t cookie[HANDOFF_COOKIE_LEN], uint64_t now)
{
	p->established = true;
	p->caps = caps & c->cfg.caps;
	memcpy(p->cookie, cookie, HANDOFF_COOKIE_LEN);
	p->ka_out = false;
	p->ka_misses = p->lookup_fails = 0;
	p->next_ka = now + keepalive_delay(c);
	batch_reset(p);	/* its notices are part of the resync below */
	count(c, p, HANDOFF_CLIENT_HANDSHAKES, 1);
	/* Hand over the whole current table (section 7.1 step 4). */
	c->ops->foreach_entry(c->ctx, p->nat64, p->server, collect_resync, p);
	want_tick(c, now);
	want_tick(c, p->next_ka);
}

/* ---- translator events ---- */

void handoff_client_entry_created(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, const struct handoff_er *er)
{
	struct peer *p = peer_get(c, nat64, server);
	if (!p) {
		count(c, NULL, HANDOFF_CLIENT_NOTICES_DROPPED, 1);
		return;
	}
	uint64_t now = now_ms(c);
	if (batch_add(c, p, HANDOFF_ENTRY_CREATED, er, now) && p->established)
		track_unacked(p, er, now);
}

void handoff_client_entry_removed(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, const struct handoff_er *er,
				  enum handoff_removal why)
{
	struct peer *p = peer_find(c, nat64, server);
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
	batch_add(c, p, HANDOFF_ENTRY_DELETED, &d, now_ms(c));
}

static struct lookup *lookup_by_key(struct peer *p, uint8_t proto, uint16_t port)
{
	if (!p->lookups)
		return NULL;
	for (unsigned i = 0; i < MAX_LOOKUPS; i++)
		if (p->lookups[i].used && p->lookups[i].proto == proto && p->lookups[i].port == port)
			return &p->lookups[i];
	return NULL;
}

static struct lookup *lookup_by_id(struct peer *p, uint32_t id)
{
	if (!p->lookups)
		return NULL;
	for (unsigned i = 0; i < MAX_LOOKUPS; i++)
		if (p->lookups[i].used && p->lookups[i].id == id)
			return &p->lookups[i];
	return NULL;
}

static bool enqueue(struct handoff_client *c, struct peer *p, uint8_t proto, uint16_t port,
		    const uint8_t *pkt, size_t len, uint64_t now)
{
	if (p->nq >= QUEUE_PKTS || p->qbytes + len > QUEUE_BYTES)
		return false;
	uint8_t *copy = malloc(len);
	if (!copy)
		return false;
	memcpy(copy, pkt, len);
	p->q[p->nq++] = (struct queued){ .proto = proto, .port = port, .at_ms = now, .len = len,
					 .pkt = copy };
	p->qbytes += len;
	want_tick(c, now + QUEUE_AGE_MS);
	return true;
}

static void send_lookup(struct handoff_client *c, struct peer *p, struct lookup *l,
			const uint8_t *pkt, size_t len)
{
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	begin(c, p, &b, buf);
	handoff_put_lookup(&b, l->proto, l->port, l->id);
	if (pkt)
		handoff_put_packet(&b, pkt, len);
	raw_send(c, p, buf, b.len);
	count(c, p, HANDOFF_CLIENT_LOOKUPS, 1);
}

enum handoff_miss handoff_client_miss(struct handoff_client *c, struct in_addr nat64,
				      struct in_addr server, uint8_t proto, uint16_t nat_port,
				      const uint8_t *pkt, size_t len)
{
	struct peer *p = peer_find(c, nat64, server);
	/* Never a LOOKUP without an ESTABLISHED session that took LOOKUP: an
	 * IPv4 host must not make us talk to third parties (section 10.2). */
	if (!p || !p->established || !(p->caps & HANDOFF_CAP_LOOKUP))
		return HANDOFF_MISS_DROP;
	uint64_t now = now_ms(c);
	if (lookup_by_key(p, proto, nat_port)) {
		/* One outstanding LOOKUP per key: later misses wait for it. */
		if (!enqueue(c, p, proto, nat_port, pkt, len, now))
			count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
		return HANDOFF_MISS_PENDING;
	}
	if (!p->lookups)
		p->lookups = calloc(MAX_LOOKUPS, sizeof(*p->lookups));
	if (!p->lookups || p->nlookups >= MAX_LOOKUPS) {
		count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
		return HANDOFF_MISS_PENDING;
	}
	struct lookup *l = NULL;
	for (unsigned i = 0; i < MAX_LOOKUPS && !l; i++)
		if (!p->lookups[i].used)
			l = &p->lookups[i];
	*l = (struct lookup){ .used = true, .proto = proto, .port = nat_port, .id = p->next_id++,
			      .sent_ms = now, .tries = 1 };
	p->nlookups++;
	/* Echo the packet when the reply (22 octets longer) still fits. */
	bool echo = handoff_ip_len(pkt, len) == len &&
		    SESSION_HDR + 10 + len + REPLY_GROWTH <= HANDOFF_MAX_DGRAM;
	if (!echo && !enqueue(c, p, proto, nat_port, pkt, len, now))
		count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
	send_lookup(c, p, l, echo ? pkt : NULL, len);
	want_tick(c, now + LOOKUP_TIMEOUT_MS);
	return HANDOFF_MISS_PENDING;
}

/* ---- received datagrams ---- */

static void deliver_queue(struct handoff_client *c, struct peer *p, uint8_t proto, uint16_t port)
{
	size_t w = 0;
	for (size_t i = 0; i < p->nq; i++) {
		struct queued *q = &p->q[i];
		if (q->proto == proto && q->port == port) {
			c->ops->deliver(c->ctx, p->nat64, p->server, q->pkt, q->len);
			p->qbytes -= q->len;
			free(q->pkt);
		} else {
			p->q[w++] = *q;
		}
	}
	p->nq = w;
}

static void on_lookup_reply(struct handoff_client *c, struct peer *p, struct handoff_iter *it,
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
	if (!l || (found && (er->proto != l->proto || er->nat_port != l->port))) {
		count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	uint8_t proto = l->proto;
	uint16_t port = l->port;
	l->used = false;
	p->nlookups--;
	p->lookup_fails = 0;	/* the server answered */
	if (!found) {
		count(c, p, HANDOFF_CLIENT_MISSES, 1);
		drop_queue(c, p, false, proto, port);
		return;
	}
	count(c, p, HANDOFF_CLIENT_HITS, 1);
	c->ops->install(c->ctx, p->nat64, p->server, er);
	if (has_echo)
		c->ops->deliver(c->ctx, p->nat64, p->server, echo.raw, echo.raw_len);
	deliver_queue(c, p, proto, port);
}

static void on_block(struct handoff_client *c, struct peer *p, uint32_t duration, uint64_t now)
{
	p->block_until = duration == HANDOFF_BLOCK_FOREVER ? UINT64_MAX
							   : now + (uint64_t)duration * 1000;
	if (p->block_until != UINT64_MAX)
		want_tick(c, p->block_until);
	count(c, p, HANDOFF_CLIENT_BLOCKS, 1);
	char t[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &p->nat64, t, sizeof(t));
	inet_ntop(AF_INET, &p->server, s, sizeof(s));
	/* Every applied block is logged (section 10.6), but a server repeating
	 * its BLOCK cannot flood the log. */
	log_ratelimited(&c->block_log, LOG_LVL_NOTICE,
			"handoff: server %s blocked traffic with %s for %u s", s, t, duration);
	if (c->ops->blocked)
		c->ops->blocked(c->ctx, p->nat64, p->server, duration);
	/* Acknowledge by echoing the BLOCK (section 7.9). */
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	begin(c, p, &b, buf);
	handoff_put_block(&b, 0, duration);
	raw_send(c, p, buf, b.len);
}

void handoff_client_input(struct handoff_client *c, struct in_addr nat64, struct in_addr server,
			  uint16_t sport, const uint8_t *buf, size_t len)
{
	struct peer *p = peer_find(c, nat64, server);
	/* Only the exact server address and port of the session (10.1). */
	if (!p || sport != c->cfg.port) {
		count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	if (handoff_validate(buf, len) < 0) {
		count(c, p, HANDOFF_CLIENT_MALFORMED, 1);
		return;
	}
	uint64_t now = now_ms(c);
	struct handoff_iter it;
	struct handoff_msg m;
	handoff_iter_init(&it, buf, len);
	if (handoff_iter_next(&it, &m) <= 0) {
		count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	if (m.type != HANDOFF_SESSION) {
		/* Outside a session only a HELLO-ACK echoing our nonce counts. */
		do {
			if (m.type != HANDOFF_HELLO_ACK || m.u.hello_ack.version != HANDOFF_VERSION ||
			    memcmp(m.u.hello_ack.nonce, p->nonce, HANDOFF_NONCE_LEN) != 0)
				continue;
			if (!p->established) {
				establish(c, p, m.u.hello_ack.caps, m.u.hello_ack.cookie, now);
			} else if (!handoff_cookie_equal(m.u.hello_ack.cookie, p->cookie)) {
				/* The server answered our keep-alive outside the session
				 * with a new cookie for our nonce: it lost its secret
				 * (and maybe its table). Adopt it and hand over again. */
				establish(c, p, m.u.hello_ack.caps, m.u.hello_ack.cookie, now);
			} else {
				p->ka_out = false;
				p->ka_misses = 0;
			}
			return;
		} while (handoff_iter_next(&it, &m) > 0);
		count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	if (!p->established || memcmp(m.u.session.nonce, p->nonce, HANDOFF_NONCE_LEN) != 0 ||
	    !handoff_cookie_equal(m.u.session.cookie, p->cookie)) {
		count(c, p, HANDOFF_CLIENT_SPOOFED, 1);
		return;
	}
	while (handoff_iter_next(&it, &m) > 0) {
		switch (m.type) {
		case HANDOFF_HELLO_ACK:
			if (memcmp(m.u.hello_ack.nonce, p->nonce, HANDOFF_NONCE_LEN) == 0 &&
			    handoff_cookie_equal(m.u.hello_ack.cookie, p->cookie)) {
				p->ka_out = false;
				p->ka_misses = 0;
			}
			break;
		case HANDOFF_ENTRY_ACK: {
			uint8_t proto = m.u.entry_ack.proto;
			forget_unacked(p, proto, m.u.entry_ack.nat_port);
			count(c, p, HANDOFF_CLIENT_ACKS, 1);
			if (p->caps & HANDOFF_CAP_LOOKUP)
				c->ops->entry_acked(c->ctx, p->nat64, p->server, proto,
						    m.u.entry_ack.nat_port);
			int idx = proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1
			       : proto == IPPROTO_ICMP ? 2 : -1;
			if (idx >= 0 && m.u.entry_ack.hint)
				p->hint[idx] = m.u.entry_ack.hint;
			break;
		}
		case HANDOFF_LOOKUP_REPLY:
			on_lookup_reply(c, p, &it, &m);
			break;
		case HANDOFF_BLOCK:
			if (c->cfg.caps & HANDOFF_CAP_BLOCK)
				on_block(c, p, m.u.block.duration, now);
			break;
		default:
			/* MODE: tunnel mode is not offered; TEXT is opaque. */
			break;
		}
	}
}

uint16_t handoff_client_take_hint(struct handoff_client *c, struct in_addr nat64,
				  struct in_addr server, uint8_t proto)
{
	struct peer *p = peer_find(c, nat64, server);
	int idx = proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : proto == IPPROTO_ICMP ? 2 : -1;
	if (!p || idx < 0 || !p->established)
		return 0;
	uint16_t h = p->hint[idx];
	p->hint[idx] = 0;
	return h;
}

bool handoff_client_can_lookup(struct handoff_client *c, struct in_addr nat64,
			       struct in_addr server)
{
	struct peer *p = peer_find(c, nat64, server);
	return p && p->established && (p->caps & HANDOFF_CAP_LOOKUP);
}

void handoff_client_probe(struct handoff_client *c, struct in_addr nat64, struct in_addr server)
{
	struct peer *p = peer_get(c, nat64, server);
	if (!p || p->established)
		return;
	uint64_t now = now_ms(c);
	/* A pending notice batch already carries TEXT+HELLO. */
	if (p->b.len > p->hdr_len || !take_token(c, p, now))
		return;
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	begin(c, p, &b, buf);
	raw_send(c, p, buf, b.len);
}

bool handoff_client_blocked(struct handoff_client *c, struct in_addr nat64, struct in_addr server)
{
	struct peer *p = peer_find(c, nat64, server);
	return p && p->block_until && now_ms(c) < p->block_until;
}

/* ---- timers ---- */

static uint64_t tick_peer(struct handoff_client *c, struct peer *p, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	if (p->block_until && p->block_until <= now)
		p->block_until = 0;
	if (p->block_until)
		next = MIN(next, p->block_until);

	if (p->established) {
		/* Resync: feed the handed-over entries into batches, paced. */
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
		if (p->resync_off >= p->nresync && p->resync) {
			free(p->resync);
			p->resync = NULL;
			p->nresync = p->resync_off = 0;
		} else if (p->resync) {
			next = MIN(next, now + token_wait_ms(c, p));
		}
		/* Retransmit notices not acked within 1 s, at most 3 times (7.2). */
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
			count(c, p, HANDOFF_CLIENT_RETRANSMITS, 1);
			next = MIN(next, now + RETRANSMIT_MS);
			batch_add(c, p, HANDOFF_ENTRY_CREATED, &er, now);
			i++;
		}
		/* Lookups: 1 s, one retry, then the packets are dropped (7.4). */
		for (unsigned i = 0; p->lookups && i < MAX_LOOKUPS && p->established; i++) {
			struct lookup *l = &p->lookups[i];
			if (!l->used)
				continue;
			if (l->sent_ms + LOOKUP_TIMEOUT_MS > now) {
				next = MIN(next, l->sent_ms + LOOKUP_TIMEOUT_MS);
				continue;
			}
			if (l->tries <= LOOKUP_RETRIES) {
				l->tries++;
				l->sent_ms = now;
				send_lookup(c, p, l, NULL, 0);
				next = MIN(next, now + LOOKUP_TIMEOUT_MS);
				continue;
			}
			count(c, p, HANDOFF_CLIENT_TIMEOUTS, 1);
			drop_queue(c, p, false, l->proto, l->port);
			l->used = false;
			p->nlookups--;
			if (++p->lookup_fails >= DOWN_THRESHOLD)
				session_down(c, p);
		}
	}
	if (p->established && p->next_ka <= now) {
		if (p->ka_out) {
			count(c, p, HANDOFF_CLIENT_KEEPALIVE_MISSES, 1);
			if (++p->ka_misses >= DOWN_THRESHOLD)
				session_down(c, p);
		}
		if (p->established) {
			uint8_t buf[HANDOFF_MAX_DGRAM];
			struct handoff_builder b;
			begin(c, p, &b, buf);
			handoff_put_hello(&b, c->cfg.caps, p->nonce, true);
			raw_send(c, p, buf, b.len);
			p->ka_out = true;
			p->next_ka = now + keepalive_delay(c);
		}
	}
	if (p->established)
		next = MIN(next, p->next_ka);

	/* Missed packets wait at most 1 s. */
	size_t w = 0;
	for (size_t i = 0; i < p->nq; i++) {
		struct queued *q = &p->q[i];
		if (q->at_ms + QUEUE_AGE_MS <= now) {
			p->qbytes -= q->len;
			free(q->pkt);
			count(c, p, HANDOFF_CLIENT_QUEUE_DROPS, 1);
		} else {
			next = MIN(next, q->at_ms + QUEUE_AGE_MS);
			p->q[w++] = *q;
		}
	}
	p->nq = w;

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
		if (peer_idle(p, now) && p->nq == 0) {
			peer_free(c, p);
			continue;
		}
		next = MIN(next, tick_peer(c, p, now));
		if (!p->established && p->b.len <= p->hdr_len && !p->block_until)
			next = MIN(next, p->last_use + PEER_IDLE_MS);
	}
	return next;
}

void handoff_client_flush(struct handoff_client *c, uint64_t now)
{
	c->now = now;
	for (struct peer *p = c->head; p; p = p->next)
		if (p->b.len > p->hdr_len && !batch_send(c, p, now))
			want_tick(c, now + token_wait_ms(c, p));
}

void handoff_client_set_time(struct handoff_client *c, uint64_t now)
{
	c->now = now;
}

/* ---- life cycle and introspection ---- */

struct handoff_client *handoff_client_new(struct evloop *loop,
					  const struct handoff_client_config *cfg,
					  const struct handoff_client_ops *ops, void *ctx)
{
	struct handoff_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *cfg;
	if (!c->cfg.max_peers)
		c->cfg.max_peers = 65536;
	if (!c->cfg.probe_rate)
		c->cfg.probe_rate = 50;
	if (!c->cfg.session_rate)
		c->cfg.session_rate = 1000;
	if (!c->cfg.keepalive_ms)
		c->cfg.keepalive_ms = 120000;
	c->ops = ops;
	c->ctx = ctx;
	c->loop = loop;
	c->timer_due = UINT64_MAX;
	c->block_log.interval_ms = 1000;
	c->block_log.burst = 10;
	/* TEXT: at most 128 octets, cut on a UTF-8 boundary, no NUL or 0xFF. */
	if (cfg->text) {
		size_t n = strnlen(cfg->text, TEXT_MAX + 1);
		if (n > TEXT_MAX) {
			n = TEXT_MAX;
			while (n > 0 && ((uint8_t)cfg->text[n] & 0xC0) == 0x80)
				n--;
		}
		for (size_t i = 0; i < n; i++)
			if ((uint8_t)cfg->text[i] != 0xFF)
				c->text[c->text_len++] = cfg->text[i];
	}
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
	uint64_t now = now_ms(c);
	for (struct peer *p = c->head; p; p = p->next) {
		struct handoff_peer_info pi = {
			.nat64 = p->nat64, .server = p->server, .established = p->established,
			.caps = p->caps, .blocked = p->block_until && now < p->block_until,
			.outstanding_lookups = p->nlookups, .queued_packets = (uint32_t)p->nq,
			.unacked = (uint32_t)p->nunacked,
		};
		memcpy(pi.counters, p->counters, sizeof(pi.counters));
		fn(arg, &pi);
	}
}

uint64_t handoff_client_total(const struct handoff_client *c, enum handoff_client_counter i)
{
	return (unsigned)i < HANDOFF_CLIENT__COUNT ? c->totals[i] : 0;
}
