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
static void f_blocked(void *ctx, struct in_addr t, struct in_addr s, uint32_t d) { blocks++; }

static const struct handoff_client_ops ops = {
	.send = f_send, .foreach_entry = f_foreach, .entry_acked = f_acked, .install = f_install,
	.deliver = f_deliver, .session_down = f_down, .blocked = f_blocked,
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

static void tick_to(struct handoff_client *c, uint64_t t)
{
	while (now < t) {
		uint64_t next = handoff_client_tick(c, now);
		now = next > t ? t : MAX(next, now + 1);
	}
	handoff_client_tick(c, now);
}

int main(void)
{
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
	ok(nsent == 1 && n == 3 && ty[0] == HANDOFF_SESSION && ty[1] == HANDOFF_ENTRY_CREATED &&
	   ty[2] == HANDOFF_ENTRY_CREATED, "resync: SESSION + both live entries");
	first_msg(0, &m, 0);
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
	is_int(handoff_client_take_hint(c, T, S, 6), 41000, "hint taken");
	is_int(handoff_client_take_hint(c, T, S, 6), 0, "hint used once");

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
	ok(!handoff_client_blocked(c, T, S) && blocks == 0, "BLOCK without SESSION ignored");
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
	ok(handoff_client_blocked(c, T, S) && blocks == 1, "BLOCK in session applied");
	ok(nsent == 1 && first_msg(0, &m, 1) && m.type == HANDOFF_BLOCK && m.u.block.duration == 30,
	   "BLOCK echoed");
	tick_to(c, now + 30001);
	ok(!handoff_client_blocked(c, T, S), "BLOCK expires");
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
		int from = nsent = 0;
		if (round == 0)
			handoff_client_entry_created(c, T, S, &e1);
		if (round == 3)
			handoff_client_miss(c, T, S, 6, 40000, pkt, 40);
		tick_to(c, now + 10);
		for (int i = from; i < nsent; i++)
			hsrv_input(srv, T, 64646, S, sent[i].buf, sent[i].len, now, 1700000000);
		hsrv_commit(srv);
		const struct hsrv_out *o;
		size_t no = hsrv_outbox(srv, &o);
		for (size_t i = 0; i < no; i++)
			handoff_client_input(c, o[i].dst, o[i].src, o[i].dport, o[i].buf, o[i].len);
		hsrv_outbox_clear(srv);
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
		for (int i = 0; i < nsent; i++)
			hsrv_input(srv, T, 64646, S, sent[i].buf, sent[i].len, now, 1700000000);
		hsrv_commit(srv);
		const struct hsrv_out *o;
		size_t no = hsrv_outbox(srv, &o);
		for (size_t i = 0; i < no; i++)
			handoff_client_input(c, o[i].dst, o[i].src, o[i].dport, o[i].buf, o[i].len);
		hsrv_outbox_clear(srv);
	}
	ok(handoff_client_total(c, HANDOFF_CLIENT_HANDSHAKES) == 2 && hsrv_entries(srv) == 1,
	   "server lost its secret: new cookie adopted at the next keep-alive, table resynced");
	handoff_client_free(c);
	hsrv_free(srv);
	fclose(lf);

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
