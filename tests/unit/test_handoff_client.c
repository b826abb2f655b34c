/* The translator-side state machine with a fake clock and fake sends:
 * probing datagrams, pacing, handshake (and forged HELLO-ACKs), resync,
 * acks and hints, retransmits, lookups (echo, queue, forged replies,
 * timeouts), keep-alive and fallback, BLOCK. The last part runs it against
 * the real server engine. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "common/evloop.h"
#include "common/util.h"
#include "handoff/client.h"
#include "handoff/server_proto.h"
#include "tap.h"

#define MAXSENT 4096
static struct { uint8_t buf[HANDOFF_MAX_DGRAM]; size_t len; } sent[MAXSENT];
static int nsent, acked, installed, delivered, downs, blocks, oversize;
static int delivered6, delivered6_found, nhints;
static uint16_t hints_got[64];
static uint32_t last_block;
static struct handoff_er table[3];
static int ntable;
static uint16_t last_acked_port;
static uint8_t last_delivered[64];

static void f_send(void *ctx, struct in_addr t, struct in_addr s, const uint8_t *p, size_t len)
{
	if (len > HANDOFF_MAX_DGRAM)
		oversize++;
	if (nsent < MAXSENT) {
		memcpy(sent[nsent].buf, p, len);
		sent[nsent].len = len;
	}
	nsent++;
}
static void f_foreach(void *ctx, struct in_addr t, struct in_addr s,
		      void (*fn)(void *, const struct handoff_er *), void *arg)
{
	for (int i = 0; i < ntable; i++)
		fn(arg, &table[i]);
}
static void f_acked(void *ctx, struct in_addr t, struct in_addr s, uint8_t proto, uint16_t port)
{
	acked++;
	last_acked_port = port;
}
static void f_install(void *ctx, struct in_addr t, struct in_addr s, const struct handoff_er *er)
{
	installed++;
}
static void f_deliver(void *ctx, struct in_addr t, struct in_addr s, const uint8_t *p, size_t len)
{
	delivered++;
	memcpy(last_delivered, p, MIN(len, sizeof(last_delivered)));
}
static void f_down(void *ctx, struct in_addr t, struct in_addr s) { downs++; }
static void f_blocked(void *ctx, struct in_addr t, struct in_addr s, uint32_t d)
{
	blocks++;
	last_block = d;
}
static void f_deliver6(void *ctx, struct in_addr t, struct in_addr s, const uint8_t *p, size_t len,
		       bool found)
{
	delivered6++;
	delivered6_found += found;
}
static void f_hints(void *ctx, struct in_addr t, struct in_addr s, uint8_t proto,
		    const uint16_t *ports, size_t n)
{
	for (size_t i = 0; i < n && nhints < 64; i++)
		hints_got[nhints++] = ports[i];
}
static void f_range(void *ctx, struct in_addr t, uint16_t *lo, uint16_t *hi)
{
	*lo = 40000;
	*hi = 49999;
}

static const struct handoff_client_ops ops = {
	.send = f_send, .foreach_entry = f_foreach, .entry_acked = f_acked, .install = f_install,
	.deliver = f_deliver, .deliver6 = f_deliver6, .hints = f_hints, .session_down = f_down,
	.blocked = f_blocked, .port_range = f_range,
};

static struct in_addr T, S;
static uint64_t now = 5000;

static struct handoff_er er_of(uint16_t port)
{
	struct handoff_er e = { .proto = 6, .nat_port = port, .server_port = 80, .client_port = 50000 };
	inet_pton(AF_INET6, "2001:db8:1::100", &e.client);
	return e;
}

/* Messages of a sent datagram, by type, in order. */
static int types(int i, uint8_t *out, int max)
{
	struct handoff_iter it;
	struct handoff_msg m;
	int n = 0;
	handoff_iter_init(&it, sent[i].buf, sent[i].len);
	while (handoff_iter_next(&it, &m) > 0 && n < max)
		out[n++] = m.type;
	return n;
}

static bool first_msg(int i, struct handoff_msg *m, int skip)
{
	struct handoff_iter it;
	handoff_iter_init(&it, sent[i].buf, sent[i].len);
	for (int k = 0; k <= skip; k++)
		if (handoff_iter_next(&it, m) <= 0)
			return false;
	return true;
}

/* Hints asked for in sent datagram i, in HINT-REQUESTs for proto; -1 when
 * it holds a HINT-REQUEST for another protocol. */
static int hint_requests(int i, uint8_t proto)
{
	struct handoff_iter it;
	struct handoff_msg m;
	int n = 0;
	handoff_iter_init(&it, sent[i].buf, sent[i].len);
	while (handoff_iter_next(&it, &m) > 0)
		if (m.type == HANDOFF_HINT_REQUEST) {
			if (m.u.hint_request.proto != proto)
				return -1;
			n += m.u.hint_request.count;
		}
	return n;
}

static void tick_to(struct handoff_client *c, uint64_t t)
{
	while (now < t) {
		uint64_t next = handoff_client_tick(c, now);
		now = next > t ? t : MAX(next, now + 1);
	}
	handoff_client_tick(c, now);
}

/* A fresh client with an ESTABLISHED session to S (cookie 0x11..), the
 * datagrams it sent so far forgotten. */
static const uint8_t ck[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
static uint8_t cur_nonce[8];

static struct handoff_client *established_client(const struct handoff_client_config *cfg)
{
	struct handoff_client *c = handoff_client_new(NULL, cfg, &ops, NULL);
	handoff_client_set_time(c, now);
	nsent = 0;
	handoff_client_probe(c, T, S);
	struct handoff_msg m;
	first_msg(0, &m, 1);
	memcpy(cur_nonce, m.u.hello.nonce, 8);
	uint8_t buf[64];
	struct handoff_builder b;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello_ack(&b, 1, HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, cur_nonce, ck);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	tick_to(c, now + 10);
	nsent = 0;
	return c;
}

/* Feeds `add` after our SESSION to the client, as if from S. */
static void from_server(struct handoff_client *c, void (*add)(struct handoff_builder *, void *),
			void *arg)
{
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, cur_nonce, ck);
	add(&b, arg);
	handoff_client_input(c, T, S, 64646, buf, b.len);
}

struct reply_arg {
	uint32_t id;
	const struct handoff_er *er;
};

static void add_reply(struct handoff_builder *b, void *arg)
{
	struct reply_arg *r = arg;
	handoff_put_lookup_reply(b, r->id, r->er);
}

static void add_one_hint(struct handoff_builder *b, void *arg)
{
	uint16_t port = 45100;
	handoff_put_hints(b, *(uint8_t *)arg, &port, 1);
}

static void add_hints(struct handoff_builder *b, void *arg)
{
	static const uint16_t ports[3] = { 45000, 45001, 7 };
	(void)arg;
	handoff_put_hints(b, 6, ports, 3);
}

/* One round trip: what the client sent so far to the server engine, its
 * answers back to the client. */
static void server_round(struct handoff_client *c, struct hsrv *srv)
{
	int upto = nsent;
	nsent = 0;
	for (int i = 0; i < upto; i++)
		hsrv_input(srv, T, 64646, S, sent[i].buf, sent[i].len, now, 1700000000);
	hsrv_commit(srv);
	const struct hsrv_out *o;
	size_t no = hsrv_outbox(srv, &o);
	for (size_t i = 0; i < no; i++)
		handoff_client_input(c, o[i].dst, o[i].src, o[i].dport, o[i].buf, o[i].len);
	hsrv_outbox_clear(srv);
}

/* Runs `rounds` exchanges between a client and a server engine; returns
 * in which round `done` first held (0 = never). */
static int exchange(struct handoff_client *c, struct hsrv *srv, int rounds, bool (*done)(void))
{
	for (int round = 1; round <= rounds; round++) {
		server_round(c, srv);
		if (done())
			return round;
		tick_to(c, now + 10);
	}
	return 0;
}

static int hits_before;
static struct handoff_client *cur;
static bool answered(void)
{
	return (int)(handoff_client_total(cur, HANDOFF_CLIENT_HITS) +
		     handoff_client_total(cur, HANDOFF_CLIENT_MISSES)) > hits_before;
}

/* Lines of the server's log that contain `what`. */
static int log_count(FILE *f, const char *what)
{
	char line[256];
	int n = 0;
	fflush(f);
	rewind(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fseek(f, 0, SEEK_END);
	return n;
}

static void save_one(void *arg, const struct handoff_session_state *st)
{
	*(struct handoff_session_state *)arg = *st;
}

int main(void)
{
	plan(90);
	inet_pton(AF_INET, "192.88.99.1", &T);
	inet_pton(AF_INET, "192.88.99.80", &S);
	struct handoff_client_config cfg;
	handoff_client_config_default(&cfg);
	cfg.text = "NAT64 handoff: IPv6 clients reach you via NAT64 192.88.99.1";
	struct handoff_client *c = handoff_client_new(NULL, &cfg, &ops, NULL);
	handoff_client_set_time(c, now);

	/* PROBING: batched TEXT + HELLO + entries. */
	struct handoff_er e1 = er_of(40000), e2 = er_of(40001);
	handoff_client_entry_created(c, T, S, &e1);
	handoff_client_entry_created(c, T, S, &e2);
	is_int(nsent, 0, "notices wait for the batch delay");
	tick_to(c, now + 5);
	is_int(nsent, 1, "one datagram for two notices");
	uint8_t ty[64];
	int n = types(0, ty, 64);
	ok(n == 4 && ty[0] == HANDOFF_TEXT && ty[1] == HANDOFF_HELLO &&
	   ty[2] == HANDOFF_ENTRY_CREATED && ty[3] == HANDOFF_ENTRY_CREATED,
	   "TEXT, HELLO, ENTRY-CREATED x2");
	struct handoff_msg m;
	first_msg(0, &m, 1);
	uint8_t nonce[8];
	memcpy(nonce, m.u.hello.nonce, 8);
	ok(m.u.hello.caps == (HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK) && m.u.hello.version == 1,
	   "HELLO v1 offers LOOKUP and BLOCK");
	ok(m.raw_len == 22, "HELLO padded to 22 octets");
	is_int(handoff_client_miss(c, T, S, 6, 40000, (const uint8_t *)"x", 1), HANDOFF_MISS_DROP,
	       "no LOOKUP without a session");

	/* Pacing: 50 datagrams/s per server while probing. */
	nsent = 0;
	uint64_t t0 = now;
	for (int i = 0; i < 1000; i++) {
		struct handoff_er e = er_of((uint16_t)(1024 + i));
		handoff_client_entry_created(c, T, S, &e);
		handoff_client_flush(c, now);
		now++;
		handoff_client_set_time(c, now);
	}
	ok(nsent >= 45 && nsent <= 56, "about 50 datagrams in one second while probing");
	printf("# %d datagrams in %llu ms\n", nsent, (unsigned long long)(now - t0));
	ok(oversize == 0, "no datagram over 1472 octets");
	tick_to(c, now + 2000);

	/* Forged HELLO-ACKs change nothing. */
	uint8_t buf[HANDOFF_MAX_DGRAM], cookie[8] = { 7, 7, 7, 7, 7, 7, 7, 7 };
	struct handoff_builder b;
	uint8_t wrong[8];
	memcpy(wrong, nonce, 8);
	wrong[0] ^= 1;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello_ack(&b, 1, 1, wrong, cookie);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello_ack(&b, 1, 1, nonce, cookie);
	handoff_client_input(c, T, S, 12345, buf, b.len);	/* wrong source port */
	struct in_addr S3;
	inet_pton(AF_INET, "192.88.99.81", &S3);
	handoff_client_input(c, T, S3, 64646, buf, b.len);	/* wrong server */
	ok(handoff_client_total(c, HANDOFF_CLIENT_SPOOFED) == 3 &&
	   handoff_client_total(c, HANDOFF_CLIENT_HANDSHAKES) == 0, "three forged HELLO-ACKs rejected");

	/* The real one: ESTABLISHED, then resync of the live table. */
	table[0] = e1;
	table[1] = e2;
	ntable = 2;
	nsent = 0;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello_ack(&b, 1, HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, nonce, cookie);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	is_int(handoff_client_total(c, HANDOFF_CLIENT_HANDSHAKES), 1, "handshake done");
	tick_to(c, now + 10);
	n = nsent ? types(0, ty, 64) : 0;
	ok(nsent == 2 && n == 4 && ty[0] == HANDOFF_SESSION && ty[1] == HANDOFF_HELLO &&
	   ty[2] == HANDOFF_HINT_REQUEST && ty[3] == HANDOFF_HINT_REQUEST,
	   "a keep-alive at once after the handshake, asking for TCP and UDP hints (P-2, P-3)");
	ok(first_msg(0, &m, 1) && m.u.hello.range_lo == 40000 && m.u.hello.range_hi == 49999,
	   "... its HELLO tells the port range");
	n = types(1, ty, 64);
	ok(n == 3 && ty[0] == HANDOFF_SESSION && ty[1] == HANDOFF_ENTRY_CREATED &&
	   ty[2] == HANDOFF_ENTRY_CREATED, "resync: SESSION + both live entries");
	first_msg(1, &m, 0);
	ok(!memcmp(m.u.session.nonce, nonce, 8) && !memcmp(m.u.session.cookie, cookie, 8),
	   "SESSION carries nonce and cookie");

	/* Acks: a forged one (bad cookie) is ignored, the real one counts. */
	uint8_t bad[8];
	memcpy(bad, cookie, 8);
	bad[7] ^= 1;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, bad);
	handoff_put_entry_ack(&b, 6, 40000, 41000);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(acked == 0, "ack with a wrong cookie ignored");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_entry_ack(&b, 6, 40000, 41000);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(acked == 1 && last_acked_port == 40000, "ack makes the entry evictable");
	ok(nhints == 1 && hints_got[0] == 41000, "the ack's hint goes to the translator");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_entry_ack(&b, 6, 40000, 1000);	/* outside 40000-49999 */
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(nhints == 1 && handoff_client_total(c, HANDOFF_CLIENT_HINTS_OUT_OF_RANGE) == 1,
	   "a hint outside our port range is ignored and counted");

	/* Retransmit of the unacked entry (40001): 1 s, at most 3 times. */
	nsent = 0;
	tick_to(c, now + 5000);
	is_int((int)handoff_client_total(c, HANDOFF_CLIENT_RETRANSMITS), 3,
	       "unacked notice resent 3 times");

	/* In session: eviction silent, close told. */
	nsent = 0;
	handoff_client_entry_removed(c, T, S, &e1, HANDOFF_REMOVED_EVICTED);
	tick_to(c, now + 10);
	is_int(nsent, 0, "cache eviction sends nothing");
	handoff_client_entry_removed(c, T, S, &e1, HANDOFF_REMOVED_CLOSED);
	tick_to(c, now + 10);
	ok(nsent == 1 && first_msg(0, &m, 1) && m.type == HANDOFF_ENTRY_DELETED &&
	   m.u.entry.flags == HANDOFF_ER_CLOSED, "TCP close sends ENTRY-DELETED CLOSED");

	/* Lookups. */
	nsent = 0;
	uint8_t pkt[40] = { 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6 };
	pkt[39] = 0x99;
	is_int(handoff_client_miss(c, T, S, 6, 40000, pkt, 40), HANDOFF_MISS_PENDING, "miss taken");
	n = types(0, ty, 64);
	ok(nsent == 1 && n == 3 && ty[1] == HANDOFF_LOOKUP && ty[2] == HANDOFF_IPV4,
	   "SESSION + LOOKUP + the packet");
	first_msg(0, &m, 1);
	uint32_t id = m.u.lookup.id;
	handoff_client_miss(c, T, S, 6, 40000, pkt, 40);
	is_int(nsent, 1, "second miss on the key waits, no second LOOKUP");
	/* Forged reply: wrong id. */
	struct handoff_er found = e1;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_lookup_reply(&b, id + 1, &found);
	handoff_put_packet(&b, pkt, 40);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(installed == 0 && delivered == 0, "reply with a wrong id changes nothing");
	/* Forged reply: right id, wrong port in the record. */
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	found.nat_port = 1;
	handoff_put_lookup_reply(&b, id, &found);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(installed == 0, "reply for another port changes nothing");
	found.nat_port = 40000;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_lookup_reply(&b, id, &found);
	handoff_put_packet(&b, pkt, 40);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(installed == 1 && delivered == 2 && last_delivered[39] == 0x99,
	   "found: installed, echo and queued packet delivered");
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(installed == 1, "a replayed reply is not accepted twice");

	/* Miss queue bound: 64 packets per server. */
	nsent = 0;
	handoff_client_miss(c, T, S, 6, 42000, pkt, 40);
	for (int i = 0; i < 70; i++)
		handoff_client_miss(c, T, S, 6, 42000, pkt, 40);
	ok(handoff_client_total(c, HANDOFF_CLIENT_QUEUE_DROPS) == 70 - 64,
	   "miss queue holds 64 packets");
	/* Timeout: retry after 1 s, give up after 2 s, the queue is dropped. */
	tick_to(c, now + 1000);
	ok(nsent == 2, "LOOKUP retried once after 1 s");
	tick_to(c, now + 1000);
	ok(handoff_client_total(c, HANDOFF_CLIENT_TIMEOUTS) == 1 && delivered == 2,
	   "lookup timed out, nothing delivered");
	/* Three failures in a row: fallback. */
	handoff_client_miss(c, T, S, 6, 42001, pkt, 40);
	handoff_client_miss(c, T, S, 6, 42002, pkt, 40);
	tick_to(c, now + 2100);
	ok(downs == 1 && handoff_client_total(c, HANDOFF_CLIENT_SESSION_DOWNS) == 1,
	   "three failed lookups: session down, entries back to local timers");
	is_int(handoff_client_miss(c, T, S, 6, 40000, pkt, 40), HANDOFF_MISS_DROP,
	       "no lookups after fallback");
	nsent = 0;
	handoff_client_entry_created(c, T, S, &e1);
	tick_to(c, now + 10);
	ok(nsent == 1 && first_msg(0, &m, 1) && m.type == HANDOFF_HELLO &&
	   memcmp(m.u.hello.nonce, nonce, 8) != 0, "probing again with a new nonce");
	memcpy(nonce, m.u.hello.nonce, 8);
	handoff_client_entry_removed(c, T, S, &e1, HANDOFF_REMOVED_EXPIRED);
	tick_to(c, now + 10);
	ok(nsent == 2 && first_msg(1, &m, 2) && m.type == HANDOFF_ENTRY_DELETED,
	   "probing: a local expiry is told");

	/* Keep-alive: 120 s +- 10 %, three unanswered -> down. */
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello_ack(&b, 1, HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, nonce, cookie);
	ntable = 0;
	handoff_client_input(c, T, S, 64646, buf, b.len);
	tick_to(c, now + 10);
	nsent = 0;
	tick_to(c, now + 107000);
	is_int(nsent, 0, "no keep-alive before 108 s");
	tick_to(c, now + 25000);
	ok(nsent == 1 && first_msg(0, &m, 1) && m.type == HANDOFF_HELLO && m.raw_len == 22 &&
	   sent[0].buf[0] == HANDOFF_SESSION, "SESSION + HELLO keep-alive by 132 s");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_hello_ack(&b, 1, 1, nonce, cookie);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	tick_to(c, now + 3 * 132000);
	ok(downs == 1, "answered keep-alive keeps the session");
	tick_to(c, now + 132000);
	ok(downs == 2, "three unanswered keep-alives: session down");

	/* BLOCK: only in a session; echoed; expires. */
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_block(&b, 0, 30);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(blocks == 0, "BLOCK without SESSION ignored");
	nsent = 0;
	handoff_client_entry_created(c, T, S, &e1);
	tick_to(c, now + 10);
	first_msg(0, &m, 1);
	memcpy(nonce, m.u.hello.nonce, 8);
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello_ack(&b, 1, HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, nonce, cookie);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	nsent = 0;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_block(&b, 0, 30);
	handoff_client_input(c, T, S, 64646, buf, b.len);
	ok(blocks == 1 && last_block == 30, "BLOCK in session handed to the translator");
	ok(nsent == 1 && first_msg(0, &m, 1) && m.type == HANDOFF_BLOCK && m.u.block.duration == 30,
	   "BLOCK echoed");
	handoff_client_free(c);

	/* Against the real server engine. */
	uint8_t secret[HANDOFF_SECRET_LEN] = { 1 };
	FILE *lf = tmpfile();
	struct hsrv_config scfg = { .capacity = 100, .per_group = 65536,
				    .accept_caps = HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, .log = lf };
	struct hsrv *srv = hsrv_new(&scfg, secret);
	c = handoff_client_new(NULL, &cfg, &ops, NULL);
	handoff_client_set_time(c, now);
	acked = installed = delivered = 0;
	ntable = 1;
	table[0] = e1;
	for (int round = 0; round < 6; round++) {
		nsent = 0;
		if (round == 0)
			handoff_client_entry_created(c, T, S, &e1);
		if (round == 3)
			handoff_client_miss(c, T, S, 6, 40000, pkt, 40);
		tick_to(c, now + 10);
		server_round(c, srv);
	}
	ok(handoff_client_total(c, HANDOFF_CLIENT_HANDSHAKES) == 1, "interop: handshake");
	ok(hsrv_entries(srv) == 1 && acked == 1, "interop: resynced entry stored and acked");
	ok(installed == 1 && delivered == 1 && last_delivered[39] == 0x99,
	   "interop: lookup found, echoed packet delivered");
	ok(handoff_client_total(c, HANDOFF_CLIENT_SPOOFED) == 0, "interop: nothing rejected");
	/* The server loses its secret: the keep-alive is answered outside the
	 * session with a new cookie, and the session is set up again. */
	hsrv_free(srv);
	secret[0] = 2;
	srv = hsrv_new(&scfg, secret);
	now += 140000;
	for (int round = 0; round < 4; round++) {
		nsent = 0;
		tick_to(c, now + 10);
		server_round(c, srv);
	}
	ok(handoff_client_total(c, HANDOFF_CLIENT_HANDSHAKES) == 2 && hsrv_entries(srv) == 1,
	   "server lost its secret: new cookie adopted at the next keep-alive, table resynced");
	handoff_client_free(c);
	hsrv_free(srv);

	/* A probe without an entry (a translator that lost its table): TEXT +
	 * HELLO within the probe rate, nothing once the session is up. */
	c = handoff_client_new(NULL, &cfg, &ops, NULL);
	handoff_client_set_time(c, now);
	nsent = 0;
	ok(!handoff_client_can_lookup(c, T, S), "probe: no LOOKUP before a handshake");
	handoff_client_probe(c, T, S);
	n = types(0, ty, 64);
	ok(nsent == 1 && n == 2 && ty[0] == HANDOFF_TEXT && ty[1] == HANDOFF_HELLO,
	   "probe: one TEXT + HELLO datagram");
	for (int i = 0; i < 100; i++)
		handoff_client_probe(c, T, S);
	ok(nsent <= 5, "probe: a burst of probes stays within the probe rate");
	first_msg(0, &m, 1);
	uint8_t ackbuf[64];
	struct handoff_builder ab;
	handoff_builder_init(&ab, ackbuf, sizeof(ackbuf));
	uint8_t pcookie[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	handoff_put_hello_ack(&ab, 1, HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, m.u.hello.nonce, pcookie);
	handoff_client_input(c, T, S, cfg.port, ackbuf, ab.len);
	ok(handoff_client_can_lookup(c, T, S), "probe: the HELLO-ACK establishes the session");
	int before = nsent;
	handoff_client_probe(c, T, S);
	is_int(nsent, before, "probe: nothing sent in a session");
	handoff_client_free(c);


	/* --- LOOKUP-CLIENT: a miss by the IPv6 side (profile P-1) --- */
	struct handoff_client_key6 k6 = { .proto = 6, .client_port = 50000, .server_port = 80 };
	inet_pton(AF_INET6, "2001:db8:1::100", &k6.client);
	uint8_t p6[60] = { 0x60 };
	c = handoff_client_new(NULL, &cfg, &ops, NULL);
	handoff_client_set_time(c, now);
	is_int(handoff_client_miss6(c, T, S, &k6, p6, sizeof(p6)), HANDOFF_MISS_DROP,
	       "LOOKUP-CLIENT: none without a session");
	handoff_client_free(c);
	c = established_client(&cfg);
	installed = delivered6 = delivered6_found = 0;
	is_int(handoff_client_miss6(c, T, S, &k6, p6, sizeof(p6)), HANDOFF_MISS_PENDING,
	       "LOOKUP-CLIENT: the client's packet is held");
	n = types(0, ty, 64);
	ok(nsent == 1 && n == 2 && ty[1] == HANDOFF_LOOKUP_CLIENT, "SESSION + LOOKUP-CLIENT, no echo");
	first_msg(0, &m, 1);
	ok(m.u.lookup_client.client_port == 50000 && m.u.lookup_client.server_port == 80 &&
	   !memcmp(&m.u.lookup_client.client, &k6.client, 16), "it names the client and its port");
	uint32_t id6 = m.u.lookup_client.id;
	handoff_client_miss6(c, T, S, &k6, p6, sizeof(p6));
	is_int(nsent, 1, "a second miss of the same flow waits for the first lookup");
	struct handoff_er er6 = { .proto = 6, .nat_port = 40123, .server_port = 80,
				  .client_port = 50001, .client = k6.client };
	struct reply_arg ra = { id6, &er6 };
	from_server(c, add_reply, &ra);
	ok(installed == 0 && delivered6 == 0, "a found reply for another client port is refused");
	er6.client_port = 50000;
	from_server(c, add_reply, &ra);
	ok(installed == 1 && delivered6 == 2 && delivered6_found == 2,
	   "found: installed, both held packets go on");
	k6.client_port = 50002;
	handoff_client_miss6(c, T, S, &k6, p6, sizeof(p6));
	first_msg(nsent - 1, &m, 1);
	ra = (struct reply_arg){ m.u.lookup_client.id, NULL };
	from_server(c, add_reply, &ra);
	ok(delivered6 == 3 && delivered6_found == 2,
	   "not found: the packet goes on as a new flow, never dropped");
	k6.client_port = 50003;
	handoff_client_miss6(c, T, S, &k6, p6, sizeof(p6));
	tick_to(c, now + 1000);
	ok(delivered6 == 4 && delivered6_found == 2, "unanswered: the packet goes on after 1 s");

	/* --- hints for new flows (P-3, P-7) --- */
	/* S answers the requests of the handshake's keep-alive. */
	uint8_t pr6 = 6, pr17 = 17;
	from_server(c, add_one_hint, &pr6);
	from_server(c, add_one_hint, &pr17);
	nsent = nhints = 0;
	delivered6 = 0;
	is_int(handoff_client_hold_for_hints(c, T, S, 6, p6, sizeof(p6)), HANDOFF_MISS_PENDING,
	       "a new flow without a hint is held");
	ok(nsent == 1 && hint_requests(0, 6) == 128 && types(0, ty, 64) == 5,
	   "... and S is asked for 128 (4 HINT-REQUESTs of 32, one datagram)");
	handoff_client_hold_for_hints(c, T, S, 6, p6, sizeof(p6));
	is_int(nsent, 1, "one HINT-REQUEST per protocol and round trip");
	from_server(c, add_hints, NULL);
	ok(nhints == 2 && hints_got[0] == 45000 && hints_got[1] == 45001,
	   "HINTS: the ports inside our range reach the translator, in order");
	ok(delivered6 == 2 && delivered6_found == 2, "... and the flows that waited go on");
	nsent = 0;
	uint64_t hr0 = handoff_client_total(c, HANDOFF_CLIENT_HINT_REQUESTS);
	handoff_client_request_hints(c, T, S, 6, 40);
	ok(nsent == 1 && hint_requests(0, 6) == 40 && types(0, ty, 64) == 3 &&
	   handoff_client_total(c, HANDOFF_CLIENT_HINT_REQUESTS) == hr0 + 2,
	   "40 hints asked for: HINT-REQUESTs of 32 and 8 in one datagram, each counted");
	from_server(c, add_hints, NULL);
	nsent = 0;
	handoff_client_request_hints(c, T, S, 6, 1000);
	ok(nsent == 1 && hint_requests(0, 6) == 128,
	   "1000 asked for: 128 (HANDOFF_HINTS_ROUND) in one round trip at most");
	nsent = 0;
	handoff_client_hold_for_hints(c, T, S, 17, p6, sizeof(p6));
	tick_to(c, now + 1000);
	ok(delivered6 == 3, "no answer: the flow goes on after 1 s with any port");
	nsent = 0;
	is_int(handoff_client_hold_for_hints(c, T, S, 17, p6, sizeof(p6)), HANDOFF_MISS_DROP,
	       "a server that left a hint request unanswered for 1 s: new flows are not held");
	ok(nsent == 1 && handoff_client_total(c, HANDOFF_CLIENT_HINTS_NOT_AWAITED) == 1,
	   "... but asked again, and counted");

	/* --- ICMP errors about our own datagrams (P-5) --- */
	uint64_t l0 = handoff_client_total(c, HANDOFF_CLIENT_LOOKUPS), s0 = nsent;
	handoff_client_icmp_error(c, T, S);
	ok(handoff_client_total(c, HANDOFF_CLIENT_ICMP_ERRORS) == 1 &&
	   handoff_client_total(c, HANDOFF_CLIENT_LOOKUPS) == l0 && nsent == (int)s0,
	   "an ICMP error quoting our datagram is counted, never looked up");

	/* --- saving and resuming the session (P-6) --- */
	struct handoff_session_state st = { 0 };
	ok(handoff_client_generation(c) > 0, "a handshake changes the generation (state is saved)");
	handoff_client_foreach_session(c, save_one, &st);
	ok(st.nat64.s_addr == T.s_addr && !memcmp(st.nonce, cur_nonce, 8) && !memcmp(st.cookie, ck, 8) &&
	   (st.caps & HANDOFF_CAP_LOOKUP), "the established session is exported");
	handoff_client_free(c);
	c = handoff_client_new(NULL, &cfg, &ops, NULL);
	handoff_client_set_time(c, now);
	nsent = 0;
	ok(handoff_client_resume(c, &st) == 0 && handoff_client_can_lookup(c, T, S),
	   "resumed: LOOKUP possible at once");
	is_int(handoff_client_resume(c, &st), -EEXIST, "a session is resumed once");
	pkt[39] = 0x42;
	handoff_client_miss(c, T, S, 6, 40000, pkt, 40);
	n = types(0, ty, 64);
	ok(nsent == 1 && n == 4 && ty[0] == HANDOFF_SESSION && ty[1] == HANDOFF_HELLO &&
	   ty[2] == HANDOFF_LOOKUP && ty[3] == HANDOFF_IPV4,
	   "the first LOOKUP after a restart carries a HELLO (SESSION, HELLO, LOOKUP, packet)");
	now += 1000;
	handoff_client_set_time(c, now);
	is_int(handoff_client_hold_for_hints(c, T, S, 6, p6, sizeof(p6)), HANDOFF_MISS_DROP,
	       "a resumed session its server has not confirmed for 1 s holds no new flow");
	struct handoff_builder hb;
	handoff_builder_init(&hb, buf, sizeof(buf));
	handoff_put_session(&hb, cur_nonce, ck);
	handoff_put_hello_ack(&hb, 1, HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, cur_nonce, ck);
	handoff_client_input(c, T, S, 64646, buf, hb.len);
	nsent = 0;
	handoff_client_miss(c, T, S, 6, 40001, pkt, 40);
	n = types(0, ty, 64);
	ok(n == 3 && ty[1] == HANDOFF_LOOKUP, "once S answered in the session, no more HELLO");
	handoff_client_free(c);

	/* Against the real server: one round trip after a restart, two when
	 * the server lost its secret. The server's log (scfg.log) stays open
	 * until the last server engine is freed. */
	secret[0] = 3;
	srv = hsrv_new(&scfg, secret);
	c = handoff_client_new(NULL, &cfg, &ops, NULL);
	handoff_client_set_time(c, now);
	ntable = 1;
	table[0] = e1;
	nsent = 0;
	handoff_client_entry_created(c, T, S, &e1);
	tick_to(c, now + 10);
	cur = c;
	hits_before = 0;
	acked = 0;
	for (int i = 0; i < 4; i++)
		exchange(c, srv, 1, answered);
	ok(acked == 1, "restart: the entry is acked before");
	int inits = log_count(lf, "Initialized ");
	handoff_client_foreach_session(c, save_one, &st);
	handoff_client_free(c);
	c = handoff_client_new(NULL, &cfg, &ops, NULL);
	handoff_client_set_time(c, now);
	handoff_client_resume(c, &st);
	tick_to(c, now + 10);	/* the keep-alive that proves the session */
	nsent = 0;
	installed = delivered = 0;
	cur = c;
	hits_before = 0;
	handoff_client_miss(c, T, S, 6, 40000, pkt, 40);
	is_int(exchange(c, srv, 4, answered), 1,
	       "after a restart the server's packet is looked up and found in one round trip");
	ok(installed == 1 && delivered == 1, "... installed and delivered");
	ok(inits >= 1 && log_count(lf, "Initialized ") == inits,
	       "the resumed session logs no new Initialized line (P-8 g)");
	hsrv_free(srv);
	secret[0] = 4;
	srv = hsrv_new(&scfg, secret);	/* the server lost its secret and table */
	handoff_client_free(c);
	c = handoff_client_new(NULL, &cfg, &ops, NULL);
	handoff_client_set_time(c, now);
	handoff_client_resume(c, &st);
	nsent = 0;
	cur = c;
	hits_before = 0;
	handoff_client_miss(c, T, S, 6, 40000, pkt, 40);
	is_int(exchange(c, srv, 4, answered), 2,
	       "a server that lost its secret: answered in the second round trip (new cookie)");
	handoff_client_free(c);
	hsrv_free(srv);
	fclose(lf);

	/* --- lookup rate limits (issue 9 item 4, P-9) --- */
	struct handoff_client_config rl = cfg;
	rl.lookup_rate = 5;
	rl.lookup_rate_total = 0;
	c = established_client(&rl);
	for (int i = 0; i < 100; i++)
		handoff_client_miss(c, T, S, 17, (uint16_t)(41000 + i), pkt, 40);
	ok(handoff_client_total(c, HANDOFF_CLIENT_LOOKUPS) == 5 &&
	   handoff_client_total(c, HANDOFF_CLIENT_LOOKUPS_LIMITED) == 95,
	   "a flood of 100 misses at once: 5 LOOKUPs (lookup-rate 5), 95 counted as limited");
	now += 1000;
	handoff_client_set_time(c, now);
	for (int i = 0; i < 100; i++)
		handoff_client_miss(c, T, S, 17, (uint16_t)(42000 + i), pkt, 40);
	ok(handoff_client_total(c, HANDOFF_CLIENT_LOOKUPS) <= 10 + 1,
	   "... a second later at most 5 more (retries need tokens too)");
	handoff_client_free(c);
	rl.lookup_rate = 0;
	rl.lookup_rate_total = 3;
	c = established_client(&rl);
	for (int i = 0; i < 50; i++)
		handoff_client_miss6(c, T, S, &k6, p6, sizeof(p6)), k6.client_port++;
	is_int(handoff_client_total(c, HANDOFF_CLIENT_CLIENT_LOOKUPS), 3,
	       "lookup-rate-total caps IPv6-side lookups too");
	handoff_client_free(c);

	/* --- reload (issue 18 item 5) --- */
	c = established_client(&cfg);
	struct handoff_client_config nc = cfg;
	nc.text = "NAT64 handoff: new words. Contact: noc@example.net";
	nc.caps = HANDOFF_CAP_BLOCK;	/* lookup = no */
	downs = 0;
	handoff_client_reconfigure(c, &nc);
	ok(downs == 1 && !handoff_client_can_lookup(c, T, S) &&
	   handoff_client_total(c, HANDOFF_CLIENT_SESSION_DOWNS) == 0,
	   "lookup turned off: acked entries handed back, the session itself stays");
	struct in_addr S4;
	inet_pton(AF_INET, "192.88.99.82", &S4);
	nsent = 0;
	handoff_client_probe(c, T, S4);
	struct handoff_msg tm;
	ok(nsent == 1 && first_msg(0, &tm, 0) && tm.type == HANDOFF_TEXT && tm.u.text.len == 50 &&
	   !memcmp(tm.u.text.p, "NAT64 handoff: new words. Contact: noc@example.net", 50),
	   "the next TEXT carries the new message");
	handoff_client_free(c);

	/* With a real event loop the module arms its own timer. */
	struct evloop *loop = evloop_new();
	c = handoff_client_new(loop, &cfg, &ops, NULL);
	nsent = 0;
	handoff_client_entry_created(c, T, S, &e1);
	uint64_t t_start = monotonic_ms();
	for (int i = 0; i < 50 && nsent == 0; i++)
		evloop_run_once(loop, 100);
	ok(nsent == 1 && monotonic_ms() - t_start < 1000,
	   "evloop: the batch timer sends the notice by itself");
	handoff_client_free(c);
	evloop_free(loop);
	return tap_done();
}
