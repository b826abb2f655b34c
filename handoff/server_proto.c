/* sixfour-handoffd protocol engine. The rules, by spec section:
 * - 4.2: a malformed datagram is never answered;
 * - 7.1, 10.2: HELLO is answered statelessly (cookie = HMAC), only if the
 *   reply is not larger than the request and within 10/s per /24; entries
 *   in a datagram without a valid SESSION are neither stored nor logged;
 * - 7.1 step 5: the first valid SESSION of a (NAT64, server) pair with a
 *   new nonce is the moment of establishment: "Initialized";
 * - 7.3, 7.5: store/replace entries, ack with a next-port hint;
 * - 7.4: exactly one LOOKUP-REPLY per LOOKUP, the 0x4 packet echoed. */
#include "autoconf.h"
#include "handoff/server_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/counters.h"
#include "common/ctl.h"
#include "common/log.h"
#include "common/util.h"

#define OUTBOX_MAX 512
#define RATE_SLOTS 4096
#define SESSION_BUCKETS 4096

static const struct counter_desc counter_desc[] = { HSRV_COUNTERS(COUNTER_DESC) };

struct session {
	uint32_t nat64, server4;
	uint8_t nonce[HANDOFF_NONCE_LEN];
	uint16_t nat_port;	/* the translator's UDP source port */
	uint16_t range_lo, range_hi;	/* its ports on nat64, from HELLO (P-2) */
	uint64_t last_wall_s;
	struct session *next;
};

/* Token bucket per /24, direct-mapped: a collision only makes the limit
 * stricter for the two prefixes sharing a slot. */
struct rate_slot {
	uint32_t prefix;	/* host order /24, +1 so 0 means empty */
	uint32_t tokens;
	uint64_t last_ms;
};

struct hsrv {
	struct hsrv_config cfg;
	uint8_t secret[HANDOFF_SECRET_LEN];
	struct hsrv_table *table;
	struct hsrv_journal *journal;
	hsrv_live_fn live;
	void *live_arg;
	struct session *sessions[SESSION_BUCKETS];
	size_t nsessions;
	struct rate_slot rate[RATE_SLOTS];
	uint64_t counters[HSRV__COUNT];
	size_t nout;
	struct hsrv_out *out;	/* OUTBOX_MAX */
	bool journal_failed;	/* a record of this round was not written */
	uint64_t next_sweep_s;	/* when idle sessions are next forgotten */
	struct log_limit io_limit;
};

static void sessions_free(struct hsrv *s)
{
	for (size_t i = 0; i < SESSION_BUCKETS; i++) {
		struct session *x = s->sessions[i];
		while (x) {
			struct session *n = x->next;
			free(x);
			x = n;
		}
		s->sessions[i] = NULL;
	}
	s->nsessions = 0;
}

struct hsrv *hsrv_new(const struct hsrv_config *cfg, const uint8_t secret[HANDOFF_SECRET_LEN])
{
	struct hsrv *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	memcpy(s->secret, secret, HANDOFF_SECRET_LEN);
	s->table = hsrv_table_new(cfg->capacity, cfg->per_group);
	s->out = calloc(OUTBOX_MAX, sizeof(*s->out));
	if (!s->table || !s->out) {
		hsrv_free(s);
		return NULL;
	}
	s->io_limit.interval_ms = 10000;
	s->io_limit.burst = 3;
	return s;
}

void hsrv_free(struct hsrv *s)
{
	if (!s)
		return;
	sessions_free(s);
	hsrv_table_free(s->table);
	free(s->out);
	memset(s->secret, 0, sizeof(s->secret));
	free(s);
}

int hsrv_reset(struct hsrv *s)
{
	struct hsrv_table *t = hsrv_table_new(s->cfg.capacity, s->cfg.per_group);
	if (!t)
		return -ENOMEM;
	hsrv_table_free(s->table);
	s->table = t;
	sessions_free(s);
	return 0;
}

void hsrv_set_journal(struct hsrv *s, struct hsrv_journal *j) { s->journal = j; }
void hsrv_set_log(struct hsrv *s, FILE *log) { s->cfg.log = log; }
uint64_t hsrv_counter(const struct hsrv *s, enum hsrv_counter c) { return s->counters[c]; }
size_t hsrv_entries(const struct hsrv *s) { return hsrv_table_count(s->table); }

void hsrv_set_live_fn(struct hsrv *s, hsrv_live_fn fn, void *arg)
{
	s->live = fn;
	s->live_arg = arg;
}

/* ---- the section 8 log ---- */

void hsrv_log_line(FILE *f, bool local_time, const char *text)
{
	if (!f)
		return;
	struct timespec ts;
	struct tm tm;
	char date[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	if (local_time)
		localtime_r(&ts.tv_sec, &tm);
	else
		gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s.%06ld %s\n", date, ts.tv_nsec / 1000, text);
	fflush(f);
}

static void log_entry(struct hsrv *s, const char *event, uint32_t nat64, const struct handoff_er *er)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], line[160];
	struct in_addr a = { .s_addr = nat64 };
	inet_ntop(AF_INET, &a, v4, sizeof(v4));
	inet_ntop(AF_INET6, &er->client, v6, sizeof(v6));
	snprintf(line, sizeof(line), "%s %s:%u [%s]:%u", event, v4, er->nat_port, v6,
		 er->client_port);
	hsrv_log_line(s->cfg.log, s->cfg.local_time, line);
}

static void log_initialized(struct hsrv *s, uint32_t nat64)
{
	char v4[INET_ADDRSTRLEN], line[64];
	struct in_addr a = { .s_addr = nat64 };
	inet_ntop(AF_INET, &a, v4, sizeof(v4));
	snprintf(line, sizeof(line), "Initialized %s", v4);
	hsrv_log_line(s->cfg.log, s->cfg.local_time, line);
}

/* ---- journal ---- */

static void journal(struct hsrv *s, const struct hsrv_jrec *r)
{
	if (!s->journal)
		return;
	int rc = hsrv_journal_append(s->journal, r);
	if (rc) {
		s->journal_failed = true;
		log_ratelimited(&s->io_limit, LOG_LVL_ERR, "handoffd: journal write: %s",
				strerror(-rc));
	}
}

static void journal_entry(struct hsrv *s, uint8_t type, const struct hsrv_key *k,
			  const struct handoff_er *er)
{
	struct hsrv_jrec r = { .type = type, .server4 = k->server4, .nat64 = k->nat64 };
	r.er = *er;
	r.er.proto = k->proto;
	r.er.nat_port = k->port;
	journal(s, &r);
}

static void session_jrec(const struct session *x, struct hsrv_jrec *r)
{
	*r = (struct hsrv_jrec){ .type = HSRV_JREC_SESSION, .server4 = x->server4,
				 .nat64 = x->nat64, .nat_src_port = x->nat_port,
				 .range_lo = x->range_lo, .range_hi = x->range_hi,
				 .wall_s = x->last_wall_s };
	memcpy(r->nonce, x->nonce, HANDOFF_NONCE_LEN);
}

static void journal_session(struct hsrv *s, const struct session *x)
{
	struct hsrv_jrec r;
	session_jrec(x, &r);
	journal(s, &r);
}

/* ---- sessions ---- */

static size_t session_bucket(uint32_t nat64, uint32_t server4)
{
	uint64_t h = ((uint64_t)nat64 << 32 | server4) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 52) & (SESSION_BUCKETS - 1);
}

static struct session *session_find(struct hsrv *s, uint32_t nat64, uint32_t server4)
{
	for (struct session *x = s->sessions[session_bucket(nat64, server4)]; x; x = x->next)
		if (x->nat64 == nat64 && x->server4 == server4)
			return x;
	return NULL;
}

/* Forgets sessions idle for over a day (section 7.10); the table stays. */
static void session_sweep(struct hsrv *s, uint64_t wall_s)
{
	for (size_t i = 0; i < SESSION_BUCKETS; i++) {
		struct session **pp = &s->sessions[i];
		while (*pp) {
			struct session *x = *pp;
			if (x->last_wall_s + HSRV_SESSION_IDLE_S < wall_s) {
				*pp = x->next;
				free(x);
				s->nsessions--;
			} else {
				pp = &x->next;
			}
		}
	}
}

static struct session *session_set(struct hsrv *s, uint32_t nat64, uint32_t server4,
				   const uint8_t nonce[HANDOFF_NONCE_LEN], uint16_t port,
				   uint64_t wall_s)
{
	struct session *x = session_find(s, nat64, server4);
	if (!x) {
		if (s->nsessions >= HSRV_MAX_SESSIONS)
			session_sweep(s, wall_s);
		if (s->nsessions >= HSRV_MAX_SESSIONS)
			return NULL;
		x = calloc(1, sizeof(*x));
		if (!x)
			return NULL;
		x->nat64 = nat64;
		x->server4 = server4;
		size_t b = session_bucket(nat64, server4);
		x->next = s->sessions[b];
		s->sessions[b] = x;
		s->nsessions++;
	}
	memcpy(x->nonce, nonce, HANDOFF_NONCE_LEN);
	x->nat_port = port;
	x->last_wall_s = wall_s;
	return x;
}

/* ---- replay and compaction ---- */

static void record_eviction(struct hsrv *s, const struct hsrv_put_result *res, bool to_journal)
{
	if (!res->evicted)
		return;
	s->counters[HSRV_ENTRIES_EVICTED]++;
	log_entry(s, "Deleted", res->victim.key.nat64, &res->victim.er);
	if (to_journal)
		journal_entry(s, HSRV_JREC_DEL, &res->victim.key, &res->victim.er);
}

int hsrv_replay_record(void *srv, const struct hsrv_jrec *r)
{
	struct hsrv *s = srv;
	struct hsrv_key k = { .server4 = r->server4, .nat64 = r->nat64, .proto = r->er.proto,
			      .port = r->er.nat_port };
	struct hsrv_put_result res;
	switch (r->type) {
	case HSRV_JREC_PUT:
		if (hsrv_table_put(s->table, &k, &r->er, &res) == 0) {
			/* Only a smaller -c than last run can evict here. */
			record_eviction(s, &res, false);
			if (r->er.flags & HANDOFF_ER_CLOSED)
				hsrv_table_mark_closed(s->table, &k, &r->er);
		}
		break;
	case HSRV_JREC_DEL:
		hsrv_table_remove(s->table, &k);
		break;
	case HSRV_JREC_SESSION: {
		struct session *x = session_set(s, r->nat64, r->server4, r->nonce, r->nat_src_port,
						r->wall_s);
		if (x) {
			x->range_lo = r->range_lo;
			x->range_hi = r->range_hi;
		}
		break;
	}
	}
	return 0;
}

static int fill_entry(void *arg, const struct hsrv_entry_view *e)
{
	struct hsrv_journal *j = ((void **)arg)[0];
	struct hsrv_jrec r = { .type = HSRV_JREC_PUT, .server4 = e->key.server4,
			       .nat64 = e->key.nat64, .er = e->er };
	return hsrv_journal_append(j, &r);
}

int hsrv_compact_fill(void *srv, struct hsrv_journal *j)
{
	struct hsrv *s = srv;
	session_sweep(s, (uint64_t)time(NULL));	/* idle ones are not kept */
	for (size_t i = 0; i < SESSION_BUCKETS; i++)
		for (struct session *x = s->sessions[i]; x; x = x->next) {
			struct hsrv_jrec r;
			session_jrec(x, &r);
			int rc = hsrv_journal_append(j, &r);
			if (rc)
				return rc;
		}
	void *arg[1] = { j };
	return hsrv_table_foreach(s->table, fill_entry, arg);
}

/* ---- replies ---- */

struct reply {
	struct hsrv *s;
	struct in_addr src, dst;
	uint16_t dport;
	const uint8_t *nonce, *cookie;	/* SESSION to lead every datagram */
	struct hsrv_out *cur;
	struct handoff_builder b;
};

static bool reply_open(struct reply *r)
{
	if (r->cur)
		return true;
	if (r->s->nout >= OUTBOX_MAX) {
		r->s->counters[HSRV_DROP_OUTBOX_FULL]++;
		return false;
	}
	r->cur = &r->s->out[r->s->nout++];
	r->cur->src = r->src;
	r->cur->dst = r->dst;
	r->cur->dport = r->dport;
	r->cur->len = 0;
	handoff_builder_init(&r->b, r->cur->buf, sizeof(r->cur->buf));
	if (r->nonce)
		handoff_put_session(&r->b, r->nonce, r->cookie);
	r->cur->len = (uint16_t)r->b.len;
	return true;
}

static void reply_close(struct reply *r)
{
	if (r->cur)
		r->cur->len = (uint16_t)r->b.len;
	r->cur = NULL;
}

/* Makes sure `need` octets fit in the current datagram, starting a new one
 * (with SESSION again) when they do not. */
static bool reply_room(struct reply *r, size_t need)
{
	if (r->cur && handoff_builder_room(&r->b) >= need)
		return true;
	reply_close(r);
	if (!reply_open(r))
		return false;
	return handoff_builder_room(&r->b) >= need;
}

/* ---- datagram handling ---- */

static bool rate_allow(struct hsrv *s, struct in_addr src, uint64_t now_ms)
{
	uint32_t prefix = (ntohl(src.s_addr) >> 8) + 1;
	struct rate_slot *r = &s->rate[(prefix * 2654435761u) >> 20 & (RATE_SLOTS - 1)];
	if (r->prefix != prefix) {
		r->prefix = prefix;
		r->tokens = HSRV_HELLO_RATE;
		r->last_ms = now_ms;
	}
	uint64_t refill = (now_ms - r->last_ms) * HSRV_HELLO_RATE / 1000;
	if (refill) {
		r->tokens = (uint32_t)MIN((uint64_t)HSRV_HELLO_RATE, r->tokens + refill);
		r->last_ms = now_ms;
	}
	if (r->tokens == 0)
		return false;
	r->tokens--;
	return true;
}

/* Unauthenticated datagram: only a HELLO is looked at (section 7.1 step 2);
 * the entries it may carry are not trusted and not stored. False when the
 * datagram holds no HELLO at all. */
static bool handle_probe(struct hsrv *s, struct in_addr src, uint16_t sport, struct in_addr dst,
			 const uint8_t *p, size_t len, uint64_t now_ms)
{
	struct handoff_iter it;
	struct handoff_msg m;
	handoff_iter_init(&it, p, len);
	while (handoff_iter_next(&it, &m) > 0) {
		if (m.type != HANDOFF_HELLO)
			continue;
		if (m.u.hello.version != HANDOFF_VERSION) {
			s->counters[HSRV_DROP_HELLO_VERSION]++;
			return true;
		}
		/* The reply is one 22-octet HELLO-ACK: never larger than the request. */
		if (len < 2 + 20) {
			s->counters[HSRV_DROP_HELLO_AMPLIFY]++;
			return true;
		}
		if (!rate_allow(s, src, now_ms)) {
			s->counters[HSRV_DROP_HELLO_RATE]++;
			return true;
		}
		uint8_t cookie[HANDOFF_COOKIE_LEN];
		if (handoff_cookie(s->secret, sizeof(s->secret), src, dst, m.u.hello.nonce, cookie))
			return true;
		struct reply r = { .s = s, .src = dst, .dst = src, .dport = sport };
		if (!reply_open(&r))
			return true;
		handoff_put_hello_ack(&r.b, HANDOFF_VERSION, m.u.hello.caps & s->cfg.accept_caps,
				      m.u.hello.nonce, cookie);
		reply_close(&r);
		s->counters[HSRV_HELLO_ACKS]++;
		return true;
	}
	return false;
}

static bool proto_ok(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMP;
}

static void on_entry_created(struct hsrv *s, struct reply *r, const struct session *x,
			     const struct hsrv_key *k, const struct handoff_er *er)
{
	struct hsrv_put_result res;
	int rc = hsrv_table_put(s->table, k, er, &res);
	if (rc) {
		s->counters[HSRV_DROP_GROUP_FULL]++;
		return;	/* not stored, so not acked: the translator keeps its timers */
	}
	record_eviction(s, &res, true);
	switch (res.kind) {
	case HSRV_PUT_NEW:
		s->counters[HSRV_ENTRIES_NEW]++;
		log_entry(s, "Created", k->nat64, er);
		journal_entry(s, HSRV_JREC_PUT, k, er);
		break;
	case HSRV_PUT_REPLACED:
		s->counters[HSRV_ENTRIES_REPLACED]++;
		log_entry(s, "Deleted", k->nat64, &res.old.er);
		log_entry(s, "Created", k->nat64, er);
		journal_entry(s, HSRV_JREC_PUT, k, er);
		break;
	case HSRV_PUT_REFRESH:
		s->counters[HSRV_ENTRIES_REFRESHED]++;
		break;
	}
	uint16_t hint = hsrv_table_hint(s->table, k->server4, k->nat64, k->proto, x->range_lo,
					x->range_hi, s->live, s->live_arg);
	if (reply_room(r, 10))
		handoff_put_entry_ack(&r->b, k->proto, k->port, hint);
}

static void on_lookup(struct hsrv *s, struct reply *r, const struct hsrv_key *k, uint32_t id,
		      const struct handoff_msg *echo)
{
	struct handoff_er er;
	bool found = hsrv_table_lookup(s->table, k, &er);
	s->counters[found ? HSRV_LOOKUPS_FOUND : HSRV_LOOKUPS_MISSED]++;
	size_t need = 2 + (found ? 30 : 6);
	if (echo && !reply_room(r, need + echo->raw_len)) {
		/* Cannot fit even in a fresh datagram: reply without the echo. */
		s->counters[HSRV_ECHO_TOO_BIG]++;
		echo = NULL;
	}
	if (!reply_room(r, need))
		return;
	handoff_put_lookup_reply(&r->b, id, found ? &er : NULL);
	if (echo)
		handoff_put_packet(&r->b, echo->raw, echo->raw_len);
}

/* Profile P-1: the entry of a client, asked for by its IPv6 side. */
static void on_lookup_client(struct hsrv *s, struct reply *r, const struct handoff_msg *m,
			     uint32_t server4, uint32_t nat64)
{
	struct handoff_er er;
	bool found = hsrv_table_lookup_client(s->table, server4, nat64, m->u.lookup_client.proto,
					      &m->u.lookup_client.client,
					      m->u.lookup_client.client_port, &er);
	s->counters[found ? HSRV_CLIENT_LOOKUPS_FOUND : HSRV_CLIENT_LOOKUPS_MISSED]++;
	if (reply_room(r, 2 + (found ? 30 : 6)))
		handoff_put_lookup_reply(&r->b, m->u.lookup_client.id, found ? &er : NULL);
}

/* Profile P-3: a batch of distinct hints inside the session's range. What
 * one datagram may ask for in all is `*budget` (HSRV_HINTS_PER_DGRAM), so
 * a datagram full of requests costs a bounded search and reply. */
static void on_hint_request(struct hsrv *s, struct reply *r, const struct session *x,
			    uint8_t proto, uint8_t count, size_t *budget)
{
	if (*budget == 0) {
		s->counters[HSRV_HINT_REQUESTS_OVER]++;
		return;
	}
	uint16_t ports[HANDOFF_HINTS_MAX];
	size_t want = MIN(MIN((size_t)count, (size_t)HANDOFF_HINTS_MAX), *budget);
	*budget -= want;
	size_t n = hsrv_table_hints(s->table, x->server4, x->nat64, proto, x->range_lo,
				    x->range_hi, s->live, s->live_arg, ports, want);
	s->counters[HSRV_HINT_REQUESTS]++;
	if (n && reply_room(r, 2 + 2 + 2 * n)) {
		handoff_put_hints(&r->b, proto, ports, n);
		s->counters[HSRV_HINTS_SENT] += n;
	}
}

static void handle_session(struct hsrv *s, struct in_addr src, uint16_t sport, struct in_addr dst,
			   const uint8_t *p, size_t len, uint64_t wall_s)
{
	struct handoff_iter it;
	struct handoff_msg m;
	handoff_iter_init(&it, p, len);
	handoff_iter_next(&it, &m);	/* the SESSION, checked by the caller */
	uint8_t nonce[HANDOFF_NONCE_LEN], cookie[HANDOFF_COOKIE_LEN];
	memcpy(nonce, m.u.session.nonce, sizeof(nonce));
	memcpy(cookie, m.u.session.cookie, sizeof(cookie));

	/* A new nonce, or a session forgotten after a day without traffic
	 * (section 7.10), is a new establishment. */
	struct session *x = session_find(s, src.s_addr, dst.s_addr);
	bool fresh = !x || memcmp(x->nonce, nonce, sizeof(nonce)) != 0 ||
		     x->last_wall_s + HSRV_SESSION_IDLE_S < wall_s;
	x = session_set(s, src.s_addr, dst.s_addr, nonce, sport, wall_s);
	if (!x) {
		s->counters[HSRV_DROP_SESSION_FULL]++;
		return;
	}
	if (fresh) {
		s->counters[HSRV_SESSIONS]++;
		log_initialized(s, src.s_addr);
		journal_session(s, x);
	}

	struct reply r = { .s = s, .src = dst, .dst = src, .dport = sport,
			   .nonce = nonce, .cookie = cookie };
	int rc;
	size_t hint_budget = HSRV_HINTS_PER_DGRAM;
	while ((rc = handoff_iter_next(&it, &m)) > 0) {
		struct hsrv_key k = { .server4 = dst.s_addr, .nat64 = src.s_addr };
		switch (m.type) {
		case HANDOFF_HELLO: {
			/* Keep-alive (section 7.6). */
			if (m.u.hello.version != HANDOFF_VERSION) {
				s->counters[HSRV_DROP_HELLO_VERSION]++;
				break;
			}
			/* It tells the NAT64's port range (P-2): hints stay in it. */
			if (m.u.hello.range_lo <= m.u.hello.range_hi &&
			    (m.u.hello.range_lo != x->range_lo || m.u.hello.range_hi != x->range_hi)) {
				x->range_lo = m.u.hello.range_lo;
				x->range_hi = m.u.hello.range_hi;
				journal_session(s, x);
			}
			uint8_t c[HANDOFF_COOKIE_LEN];
			if (handoff_cookie(s->secret, sizeof(s->secret), src, dst, m.u.hello.nonce, c))
				break;
			if (reply_room(&r, 22)) {
				handoff_put_hello_ack(&r.b, HANDOFF_VERSION,
						      m.u.hello.caps & s->cfg.accept_caps,
						      m.u.hello.nonce, c);
				s->counters[HSRV_HELLO_ACKS]++;
			}
			break;
		}
		case HANDOFF_ENTRY_CREATED:
			if (!proto_ok(m.u.entry.proto)) {
				s->counters[HSRV_DROP_BAD_PROTO]++;
				break;
			}
			k.proto = m.u.entry.proto;
			k.port = m.u.entry.nat_port;
			on_entry_created(s, &r, x, &k, &m.u.entry);
			break;
		case HANDOFF_ENTRY_DELETED:
			/* Only a TCP close matters: the port is ranked first for
			 * reuse; nothing is logged until it is reused (7.2). A
			 * plain expiry says nothing the table must act on. */
			k.proto = m.u.entry.proto;
			k.port = m.u.entry.nat_port;
			if ((m.u.entry.flags & HANDOFF_ER_CLOSED) &&
			    hsrv_table_mark_closed(s->table, &k, &m.u.entry)) {
				struct handoff_er er = m.u.entry;
				er.flags = HANDOFF_ER_CLOSED;
				s->counters[HSRV_ENTRIES_CLOSED]++;
				journal_entry(s, HSRV_JREC_PUT, &k, &er);
			}
			break;
		case HANDOFF_LOOKUP: {
			if (!proto_ok(m.u.lookup.proto)) {
				s->counters[HSRV_DROP_BAD_PROTO]++;
				break;
			}
			k.proto = m.u.lookup.proto;
			k.port = m.u.lookup.nat_port;
			uint32_t id = m.u.lookup.id;
			/* A 0x4 message right after the LOOKUP is its missed packet. */
			struct handoff_iter peek = it;
			struct handoff_msg echo;
			bool has_echo = handoff_iter_next(&peek, &echo) > 0 && echo.type == HANDOFF_IPV4;
			if (has_echo)
				it = peek;
			on_lookup(s, &r, &k, id, has_echo ? &echo : NULL);
			break;
		}
		case HANDOFF_LOOKUP_CLIENT:
			if (!proto_ok(m.u.lookup_client.proto)) {
				s->counters[HSRV_DROP_BAD_PROTO]++;
				break;
			}
			on_lookup_client(s, &r, &m, dst.s_addr, src.s_addr);
			break;
		case HANDOFF_HINT_REQUEST:
			if (!proto_ok(m.u.hint_request.proto) || m.u.hint_request.count == 0) {
				s->counters[HSRV_DROP_BAD_PROTO]++;
				break;
			}
			on_hint_request(s, &r, x, m.u.hint_request.proto, m.u.hint_request.count,
					&hint_budget);
			break;
		case HANDOFF_BLOCK:
			s->counters[HSRV_BLOCKS_CONFIRMED]++;
			log_debug("handoffd: translator confirmed a block (%u s)", m.u.block.duration);
			break;
		default:
			/* TEXT is opaque (S-13); 0x4 without LOOKUP, 0x6 (no tunnel
			 * mode offered), MODE and server-to-NAT64 types: ignored. */
			break;
		}
	}
	/* Datagrams are opened only for a message to send, so a datagram that
	 * needs no answer (only notices already known, TEXT...) gets none. */
	reply_close(&r);
}

void hsrv_input(struct hsrv *s, struct in_addr src, uint16_t sport, struct in_addr dst,
		const uint8_t *p, size_t len, uint64_t now_ms, uint64_t wall_s)
{
	s->counters[HSRV_RX_DATAGRAMS]++;
	if (wall_s >= s->next_sweep_s) {
		session_sweep(s, wall_s);
		s->next_sweep_s = wall_s + 3600;
	}
	/* Section 4.2 rule 2: check the whole framing before acting on any part. */
	if (handoff_validate(p, len) < 0) {
		s->counters[HSRV_DROP_MALFORMED]++;
		return;
	}
	struct handoff_iter it;
	struct handoff_msg m;
	handoff_iter_init(&it, p, len);
	if (handoff_iter_next(&it, &m) <= 0) {
		s->counters[HSRV_DROP_NO_SESSION]++;
		return;
	}
	if (m.type != HANDOFF_SESSION) {
		if (!handle_probe(s, src, sport, dst, p, len, now_ms))
			s->counters[HSRV_DROP_NO_SESSION]++;
		return;
	}
	uint8_t want[HANDOFF_COOKIE_LEN];
	if (handoff_cookie(s->secret, sizeof(s->secret), src, dst, m.u.session.nonce, want) ||
	    !handoff_cookie_equal(want, m.u.session.cookie)) {
		/* A stale SESSION (say our secret was lost) with a keep-alive
		 * HELLO is answered like a probe, statelessly, so the translator
		 * learns the new cookie at once instead of after three missed
		 * keep-alives. Nothing else in it is used. */
		s->counters[HSRV_DROP_BAD_COOKIE]++;
		handle_probe(s, src, sport, dst, p, len, now_ms);
		return;
	}
	handle_session(s, src, sport, dst, p, len, wall_s);
}

int hsrv_commit(struct hsrv *s)
{
	int rc = 0;
	if (s->journal_failed)
		rc = -EIO;
	else if (s->journal && hsrv_journal_pending(s->journal) > 0) {
		rc = hsrv_journal_sync(s->journal);
		s->counters[HSRV_JOURNAL_SYNCS]++;
	}
	s->journal_failed = false;
	if (rc) {
		/* Nothing may be acked that is not on disk (section 7.3). */
		s->counters[HSRV_DROP_JOURNAL] += s->nout;
		s->nout = 0;
		log_ratelimited(&s->io_limit, LOG_LVL_ERR, "handoffd: journal sync: %s",
				strerror(-rc));
	}
	return rc;
}

size_t hsrv_outbox(const struct hsrv *s, const struct hsrv_out **out)
{
	*out = s->out;
	return s->nout;
}

void hsrv_outbox_clear(struct hsrv *s)
{
	s->nout = 0;
}

int hsrv_block(struct hsrv *s, struct in_addr nat64, uint32_t duration, uint64_t wall_s)
{
	int told = 0;
	for (size_t i = 0; i < SESSION_BUCKETS; i++)
		for (struct session *x = s->sessions[i]; x; x = x->next) {
			if (x->nat64 != nat64.s_addr ||
			    x->last_wall_s + HSRV_SESSION_IDLE_S < wall_s)
				continue;
			uint8_t cookie[HANDOFF_COOKIE_LEN];
			struct in_addr srv = { .s_addr = x->server4 };
			if (handoff_cookie(s->secret, sizeof(s->secret), nat64, srv, x->nonce, cookie))
				continue;
			struct reply r = { .s = s, .src = srv, .dst = nat64, .dport = x->nat_port,
					   .nonce = x->nonce, .cookie = cookie };
			if (!reply_room(&r, 8))
				continue;
			handoff_put_block(&r.b, 0, duration);
			reply_close(&r);
			s->counters[HSRV_BLOCKS_SENT]++;
			told++;
		}
	return told ? told : -ENOENT;
}

void hsrv_status(const struct hsrv *s, struct ctl_out *out, uint64_t wall_s)
{
	const struct counter_group g = {
		.key = "counters", .metric = "handoffd_events", .help = "sixfour-handoffd events.",
		.label = "kind", .kind = COUNTER_TOTAL, .desc = counter_desc, .n = HSRV__COUNT,
		.values = s->counters,
	};
	bool json = out->json;
	if (json)
		ctl_printf(out, "{\"entries\":%zu,\"sessions\":[", hsrv_table_count(s->table));
	else
		ctl_printf(out, "entries %zu\nsessions %zu\n", hsrv_table_count(s->table),
			   s->nsessions);
	bool first = true;
	for (size_t i = 0; i < SESSION_BUCKETS; i++)
		for (const struct session *x = s->sessions[i]; x; x = x->next) {
			char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &x->nat64, a, sizeof(a));
			inet_ntop(AF_INET, &x->server4, b, sizeof(b));
			unsigned long long idle = wall_s > x->last_wall_s ? wall_s - x->last_wall_s : 0;
			if (json)
				ctl_printf(out, "%s{\"nat64\":\"%s\",\"port\":%u,\"server\":\"%s\","
					   "\"idle_s\":%llu,\"range\":[%u,%u]}", first ? "" : ",",
					   a, x->nat_port, b, idle, x->range_lo, x->range_hi);
			else
				ctl_printf(out, "session %s:%u -> %s idle %llus ports %u-%u\n", a,
					   x->nat_port, b, idle, x->range_lo, x->range_hi);
			first = false;
		}
	if (json) {
		ctl_printf(out, "],");
		counters_emit(out, COUNTERS_JSON, &g, 1, NULL);
		ctl_printf(out, "}\n");
	} else {
		counters_emit(out, COUNTERS_TEXT, &g, 1, NULL);
	}
}
