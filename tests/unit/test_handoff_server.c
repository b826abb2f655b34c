/* sixfour-handoffd's protocol engine without sockets: stateless HELLO,
 * amplification and rate limits, sessions, Created/Deleted/Initialized lines
 * in the section 8 format, acks with hints, lookups with the echo, spoofed
 * and malformed input, BLOCK. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <regex.h>
#include <stdlib.h>

#include "common/ctl.h"
#include "handoff/server_proto.h"
#include "tap.h"

static const uint8_t secret[HANDOFF_SECRET_LEN] = { 42 };
static uint8_t nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static struct in_addr T, S, S2;
static FILE *log_file;
static struct hsrv *srv;
static uint64_t now = 1000000;

static void feed(struct in_addr src, struct in_addr dst, const uint8_t *p, size_t len)
{
	hsrv_outbox_clear(srv);
	hsrv_input(srv, src, 64646, dst, p, len, now, 1700000000);
	hsrv_commit(srv);
}

static size_t replies(const struct hsrv_out **o)
{
	return hsrv_outbox(srv, o);
}

/* The log written since the last call. */
static char *log_since(void)
{
	static long pos;
	static char buf[8192];
	fflush(log_file);
	fseek(log_file, pos, SEEK_SET);
	size_t n = fread(buf, 1, sizeof(buf) - 1, log_file);
	buf[n] = '\0';
	pos += (long)n;
	return buf;
}

static size_t build(uint8_t *buf, bool session, const uint8_t *cookie,
		    void (*add)(struct handoff_builder *b, void *arg), void *arg)
{
	struct handoff_builder b;
	handoff_builder_init(&b, buf, HANDOFF_MAX_DGRAM);
	if (session)
		handoff_put_session(&b, nonce, cookie);
	if (add)
		add(&b, arg);
	return b.len;
}

static void add_text_hello(struct handoff_builder *b, void *arg)
{
	handoff_put_text(b, "NAT64 handoff", 13);
	handoff_put_hello(b, 0x0f, nonce, 0, 0, false);
	handoff_put_entry(b, HANDOFF_ENTRY_CREATED, arg);
}

static void add_entry(struct handoff_builder *b, void *arg)
{
	handoff_put_entry(b, HANDOFF_ENTRY_CREATED, arg);
}

static struct handoff_er er_of(uint16_t port, const char *v6, uint16_t cport)
{
	struct handoff_er e = { .proto = 6, .nat_port = port, .server_port = 80, .client_port = cport };
	inet_pton(AF_INET6, v6, &e.client);
	return e;
}

static bool lines_match(const char *text, int want)
{
	regex_t re;
	regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} "
		     "(Initialized [0-9.]+|(Created|Deleted) [0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+:[0-9]+ "
		     "\\[[0-9a-f:.]+\\]:[0-9]+)$", REG_EXTENDED | REG_NOSUB);
	int n = 0;
	bool all = true;
	char copy[8192];
	snprintf(copy, sizeof(copy), "%s", text);
	for (char *save, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		n++;
		if (regexec(&re, l, 0, NULL, 0) != 0) {
			printf("# bad line: %s\n", l);
			all = false;
		}
	}
	regfree(&re);
	return all && n == want;
}

int main(void)
{
	plan(55);
	inet_pton(AF_INET, "192.0.2.7", &T);
	inet_pton(AF_INET, "198.51.100.10", &S);
	inet_pton(AF_INET, "198.51.100.11", &S2);
	log_file = tmpfile();
	struct hsrv_config cfg = { .capacity = 1000, .per_group = 65536,
				   .accept_caps = HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, .log = log_file };
	srv = hsrv_new(&cfg, secret);
	const struct hsrv_out *o;
	uint8_t buf[HANDOFF_MAX_DGRAM], cookie[8], bad_cookie[8];
	handoff_cookie(secret, sizeof(secret), T, S, nonce, cookie);
	memcpy(bad_cookie, cookie, 8);
	bad_cookie[0] ^= 1;
	struct handoff_er e1 = er_of(3719, "2001:db8::17", 53186);

	/* Probing datagram: TEXT + HELLO + ENTRY (the section 15 example). */
	size_t len = build(buf, false, NULL, add_text_hello, &e1);
	feed(T, S, buf, len);
	ok(replies(&o) == 1 && o[0].len == 22 && o[0].len <= len, "HELLO answered, 22 <= 56 octets");
	ok(o[0].buf[0] == HANDOFF_HELLO_ACK && memcmp(o[0].buf + 6, nonce, 8) == 0 &&
	   memcmp(o[0].buf + 14, cookie, 8) == 0, "HELLO-ACK echoes the nonce, carries the cookie");
	ok(o[0].buf[3] == (HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK), "accepted caps = offered & ours");
	ok(o[0].src.s_addr == S.s_addr && o[0].dst.s_addr == T.s_addr && o[0].dport == 64646,
	   "reply from the address asked on, to the source port");
	is_str(log_since(), "", "nothing logged for a probing datagram");
	is_int(hsrv_entries(srv), 0, "probing entries are not stored");

	/* Amplification: a bare 14-octet HELLO is not answered; a padded one is. */
	struct handoff_builder b;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello(&b, 1, nonce, 0, 0, false);
	feed(T, S, buf, b.len);
	ok(replies(&o) == 0 && hsrv_counter(srv, HSRV_DROP_HELLO_AMPLIFY) == 1,
	   "14-octet HELLO gets no 22-octet answer");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello(&b, 1, nonce, 0, 0, true);
	feed(T, S, buf, b.len);
	ok(replies(&o) == 1 && o[0].len <= b.len, "padded HELLO answered, reply not larger");
	buf[2] = 2;	/* version 2 */
	feed(T, S, buf, b.len);
	ok(replies(&o) == 0 && hsrv_counter(srv, HSRV_DROP_HELLO_VERSION) == 1, "version 2 ignored");

	/* Rate limit: 10/s per /24. Two used so far from 192.0.2.0/24. */
	int answered = 0;
	struct in_addr other;
	inet_pton(AF_INET, "192.0.2.99", &other);
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello(&b, 1, nonce, 0, 0, true);
	for (int i = 0; i < 20; i++) {
		feed(i % 2 ? T : other, S, buf, b.len);
		answered += replies(&o) > 0;
	}
	is_int(answered, 8, "10 HELLO-ACKs per second per /24");
	struct in_addr far;
	inet_pton(AF_INET, "203.0.113.5", &far);
	feed(far, S, buf, b.len);
	ok(replies(&o) == 1, "another /24 is not limited");
	now += 1000;
	feed(T, S, buf, b.len);
	ok(replies(&o) == 1, "the bucket refills after a second");

	/* No session: entries ignored; bad cookie: dropped without answer. */
	len = build(buf, false, NULL, add_entry, &e1);
	feed(T, S, buf, len);
	ok(replies(&o) == 0 && hsrv_entries(srv) == 0, "spoofed ENTRY without SESSION: nothing");
	len = build(buf, true, bad_cookie, add_entry, &e1);
	feed(T, S, buf, len);
	ok(replies(&o) == 0 && hsrv_entries(srv) == 0 && hsrv_counter(srv, HSRV_DROP_BAD_COOKIE) == 1,
	   "wrong cookie: dropped, not stored");
	len = build(buf, true, cookie, add_entry, &e1);
	feed(T, S2, buf, len);
	ok(replies(&o) == 0 && hsrv_entries(srv) == 0, "cookie for another server address refused");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, bad_cookie);
	handoff_put_hello(&b, 1, nonce, 0, 0, true);
	handoff_put_entry(&b, HANDOFF_ENTRY_CREATED, &e1);
	feed(T, S, buf, b.len);
	ok(replies(&o) == 1 && o[0].len == 22 && o[0].buf[0] == HANDOFF_HELLO_ACK &&
	   memcmp(o[0].buf + 14, cookie, 8) == 0 && hsrv_entries(srv) == 0,
	   "stale SESSION + HELLO: answered like a probe with the right cookie, entry ignored");
	is_str(log_since(), "", "nothing logged for any of them");

	/* The session. */
	len = build(buf, true, cookie, add_entry, &e1);
	feed(T, S, buf, len);
	char *lg = log_since();
	ok(lines_match(lg, 2) && strstr(lg, " Initialized 192.0.2.7\n") &&
	   strstr(lg, " Created 192.0.2.7:3719 [2001:db8::17]:53186\n"), "Initialized then Created");
	ok(strstr(lg, "Initialized") < strstr(lg, "Created"), "in that order");
	ok(replies(&o) == 1 && o[0].len == 28 && o[0].buf[0] == HANDOFF_SESSION &&
	   memcmp(o[0].buf + 2, nonce, 8) == 0 && o[0].buf[18] == HANDOFF_ENTRY_ACK,
	   "SESSION + ENTRY-ACK back");
	uint16_t hint = (uint16_t)(o[0].buf[24] << 8 | o[0].buf[25]);
	ok(o[0].buf[20] == 6 && o[0].buf[22] == 0x0e && o[0].buf[23] == 0x87 && hint >= 1024 &&
	   hint != 3719, "ack names TCP 3719 and hints a free port");
	feed(T, S, buf, len);
	ok(replies(&o) == 1 && hsrv_counter(srv, HSRV_ENTRIES_REFRESHED) == 1, "duplicate acked");
	is_str(log_since(), "", "duplicate logs nothing, no second Initialized");

	/* Another client on the same port. */
	struct handoff_er e2 = er_of(3719, "2001:db8::55", 34643);
	len = build(buf, true, cookie, add_entry, &e2);
	feed(T, S, buf, len);
	lg = log_since();
	ok(lines_match(lg, 2), "two well-formed lines");
	char *del = strstr(lg, " Deleted 192.0.2.7:3719 [2001:db8::17]:53186\n");
	char *cre = strstr(lg, " Created 192.0.2.7:3719 [2001:db8::55]:34643\n");
	ok(del && cre && del < cre, "Deleted old then Created new, same v4:port");

	/* LOOKUP with the missed packet echoed. */
	uint8_t pkt[44] = { 0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6 };
	for (size_t i = 20; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)i;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_lookup(&b, 6, 3719, 0xabcdef01);
	handoff_put_packet(&b, pkt, sizeof(pkt));
	feed(T, S, buf, b.len);
	ok(replies(&o) == 1 && o[0].len == 18 + 32 + 44, "one datagram: SESSION + REPLY + echo");
	ok(o[0].buf[18] == HANDOFF_LOOKUP_REPLY && o[0].buf[20] == 0 &&
	   o[0].buf[22] == 0xab && o[0].buf[25] == 0x01, "found, with the lookup id");
	ok(memcmp(o[0].buf + 18 + 2 + 6 + 8, "\x20\x01\x0d\xb8", 4) == 0 &&
	   o[0].buf[18 + 2 + 6 + 7] == 0x53, "the ER names the current client [2001:db8::55]:34643");
	ok(memcmp(o[0].buf + 50, pkt, sizeof(pkt)) == 0, "packet echoed unchanged");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_lookup(&b, 17, 3719, 5);
	handoff_put_lookup(&b, 6, 9999, 6);
	feed(T, S, buf, b.len);
	ok(replies(&o) == 1 && o[0].len == 18 + 8 + 8 && o[0].buf[20] == 1 && o[0].buf[28] == 1,
	   "two not-found replies, one per LOOKUP");
	is_str(log_since(), "", "lookups log nothing");

	/* Malformed in session: no answer, nothing stored. */
	struct handoff_er e3 = er_of(4000, "2001:db8::3", 3);
	len = build(buf, true, cookie, add_entry, &e3);
	feed(T, S, buf, len - 1);
	ok(replies(&o) == 0 && hsrv_counter(srv, HSRV_DROP_MALFORMED) == 1, "truncated: no answer");
	struct handoff_er probe;
	ok(hsrv_entries(srv) == 1, "and the entry before the cut is not stored either");
	(void)probe;

	/* CLOSED: no log. */
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	e2.flags = HANDOFF_ER_CLOSED;
	handoff_put_entry(&b, HANDOFF_ENTRY_DELETED, &e2);
	feed(T, S, buf, b.len);
	ok(replies(&o) == 0 && hsrv_counter(srv, HSRV_ENTRIES_CLOSED) == 1, "CLOSED noted, no reply");
	is_str(log_since(), "", "CLOSED logs nothing");

	/* Keep-alive in session. */
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_hello(&b, 1, nonce, 0, 0, true);
	feed(T, S, buf, b.len);
	ok(replies(&o) == 1 && o[0].len == 40 && o[0].len <= b.len && o[0].buf[18] == HANDOFF_HELLO_ACK,
	   "keep-alive answered with SESSION + HELLO-ACK, not larger");

	/* The keep-alive tells the port range (profile P-2): hints stay in it. */
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_hello(&b, 1, nonce, 61001, 61010, true);
	feed(T, S, buf, b.len);
	struct handoff_er e4 = er_of(61001, "2001:db8::4", 4);
	len = build(buf, true, cookie, add_entry, &e4);
	feed(T, S, buf, len);
	hint = replies(&o) == 1 ? (uint16_t)(o[0].buf[24] << 8 | o[0].buf[25]) : 0;
	ok(hint > 61001 && hint <= 61010, "after a HELLO with a range, ENTRY-ACK hints inside it");
	log_since();

	/* HINT-REQUEST: a batch of distinct hints in the range (P-3). */
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_hint_request(&b, 6, 16);
	feed(T, S, buf, b.len);
	struct handoff_iter it;
	struct handoff_msg m;
	bool got_hints = false, in_range = true;
	size_t nh = 0;
	if (replies(&o) == 1) {
		handoff_iter_init(&it, o[0].buf, o[0].len);
		while (handoff_iter_next(&it, &m) > 0)
			if (m.type == HANDOFF_HINTS) {
				got_hints = true;
				nh = m.u.hints.n;
				for (size_t i = 0; i < nh; i++)
					in_range &= m.u.hints.port[i] >= 61001 &&
						    m.u.hints.port[i] <= 61010 &&
						    (m.u.hints.port[i] != 61001) == (i + 1 < nh);
			}
	}
	ok(got_hints && nh == 9 && in_range,
	   "HINT-REQUEST for 16: the free ports of the range (not the hint just given), then "
	   "its used one");
	ok(hsrv_counter(srv, HSRV_HINT_REQUESTS) == 1 && hsrv_counter(srv, HSRV_HINTS_SENT) == nh,
	   "hint requests and hints counted");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hint_request(&b, 6, 16);
	feed(T, S, buf, b.len);
	ok(replies(&o) == 0, "a HINT-REQUEST outside a session gets nothing");

	/* LOOKUP-CLIENT (P-1): by the client's address and port. */
	struct in6_addr c4;
	inet_pton(AF_INET6, "2001:db8::4", &c4);
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_lookup_client(&b, 6, 80, &c4, 4, 77);
	handoff_put_lookup_client(&b, 6, 80, &c4, 5, 78);
	feed(T, S, buf, b.len);
	bool found = false, missed = false;
	if (replies(&o) == 1) {
		handoff_iter_init(&it, o[0].buf, o[0].len);
		while (handoff_iter_next(&it, &m) > 0) {
			if (m.type != HANDOFF_LOOKUP_REPLY)
				continue;
			if (m.u.lookup_reply.id == 77)
				found = m.u.lookup_reply.status == HANDOFF_LOOKUP_FOUND &&
					m.u.lookup_reply.er.nat_port == 61001 &&
					m.u.lookup_reply.er.client_port == 4;
			if (m.u.lookup_reply.id == 78)
				missed = m.u.lookup_reply.status == HANDOFF_LOOKUP_NOT_FOUND;
		}
	}
	ok(found, "LOOKUP-CLIENT finds the entry of [2001:db8::4]:4 with its NAT64 port");
	ok(missed, "... and answers not found for a client port it does not hold");
	ok(hsrv_counter(srv, HSRV_CLIENT_LOOKUPS_FOUND) == 1 &&
	   hsrv_counter(srv, HSRV_CLIENT_LOOKUPS_MISSED) == 1, "IPv6-side lookups counted");
	ok(o[0].len <= b.len + 4, "the replies are not much larger than the lookups (30 -> 32 each)");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, bad_cookie);
	handoff_put_lookup_client(&b, 6, 80, &c4, 4, 79);
	feed(T, S, buf, b.len);
	ok(replies(&o) == 0, "a LOOKUP-CLIENT with a forged cookie is not answered");
	is_str(log_since(), "", "IPv6-side lookups and hints log nothing");

	/* BLOCK. */
	hsrv_outbox_clear(srv);
	struct in_addr nobody;
	inet_pton(AF_INET, "192.0.2.200", &nobody);
	is_int(hsrv_block(srv, nobody, 60, 1700000000), -ENOENT, "no session, no BLOCK");
	is_int(hsrv_block(srv, T, 60, 1700000000), 1, "BLOCK queued for one session");
	ok(replies(&o) == 1 && o[0].buf[18] == HANDOFF_BLOCK && o[0].buf[25] == 60 &&
	   o[0].dport == 64646 && o[0].src.s_addr == S.s_addr, "SESSION + BLOCK(60) from S");

	/* A new nonce is a new session: Initialized again. */
	nonce[0] ^= 0xff;
	handoff_cookie(secret, sizeof(secret), T, S, nonce, cookie);
	len = build(buf, true, cookie, add_entry, &e1);
	feed(T, S, buf, len);
	lg = log_since();
	ok(lines_match(lg, 3) && strstr(lg, "Initialized 192.0.2.7"), "re-handshake logs Initialized");
	struct ctl_out out = { 0 };
	hsrv_status(srv, &out, 1700000000);
	ok(out.buf && strstr(out.buf, "entries 2\n") && strstr(out.buf, "counters:\n") &&
	   strstr(out.buf, "CLIENT_LOOKUPS_FOUND"), "status: entries and the counters (counters.h)");
	free(out.buf);
	out = (struct ctl_out){ .json = true };
	hsrv_status(srv, &out, 1700000000);
	ok(out.buf && strstr(out.buf, "\"entries\":2") && strstr(out.buf, "\"HINTS_SENT\":9"),
	   "status --json");
	free(out.buf);

	/* The same nonce after more than a day of silence: a new session. */
	hsrv_outbox_clear(srv);
	hsrv_input(srv, T, 64646, S, buf, len, now, 1700000000 + 2 * 86400);
	hsrv_commit(srv);
	lg = log_since();
	ok(lines_match(lg, 1) && strstr(lg, "Initialized 192.0.2.7"),
	   "session forgotten after 24 h idle: Initialized again, entry not re-logged");

	/* Several HINT-REQUESTs in one datagram (P-3): distinct hints, at
	 * most HSRV_HINTS_PER_DGRAM (128) in all; the rest counted. */
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	handoff_put_hello(&b, 1, nonce, 40000, 49999, true);
	for (int i = 0; i < 6; i++)
		handoff_put_hint_request(&b, 17, 32);
	hsrv_outbox_clear(srv);
	hsrv_input(srv, T, 64646, S, buf, b.len, now, 1700000000 + 2 * 86400);
	hsrv_commit(srv);
	uint16_t seen[256];
	size_t nseen = 0, nmsg = 0;
	bool distinct = true;
	for (size_t k = 0, no = replies(&o); k < no; k++) {
		handoff_iter_init(&it, o[k].buf, o[k].len);
		while (handoff_iter_next(&it, &m) > 0) {
			if (m.type != HANDOFF_HINTS)
				continue;
			nmsg++;
			for (size_t i = 0; i < m.u.hints.n && nseen < 256; i++) {
				for (size_t j = 0; j < nseen; j++)
					distinct &= seen[j] != m.u.hints.port[i];
				distinct &= m.u.hints.port[i] >= 40000 && m.u.hints.port[i] <= 49999;
				seen[nseen++] = m.u.hints.port[i];
			}
		}
	}
	ok(nmsg == 4 && nseen == HSRV_HINTS_PER_DGRAM && distinct,
	   "6 HINT-REQUESTs of 32 in one datagram: 4 HINTS, 128 distinct ports in the range");
	is_int((int)hsrv_counter(srv, HSRV_HINT_REQUESTS_OVER), 2,
	       "... the two requests over 128 hints are counted, not answered");

	hsrv_free(srv);
	fclose(log_file);
	return tap_done();
}
