/* The handoff wire codec: every message type both ways, the spec section 15
 * worked example byte for byte, framing errors, reserved nibbles, unknown
 * subtypes, short payloads, TEXT padding, the 1472-octet cap, the cookie. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "handoff/wire.h"
#include "tap.h"

static const uint8_t nonce[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
static const uint8_t cookie[8] = { 0xc0, 0x0c, 0x1e, 0x00, 0x11, 0x22, 0x33, 0x44 };

static struct handoff_er example_er(void)
{
	struct handoff_er er = { .proto = 6, .nat_port = 3719, .server_port = 80,
				 .client_port = 53186 };
	inet_pton(AF_INET6, "2001:db8::17", &er.client);
	return er;
}

/* Parses `p` and returns how many messages came out; the last in *m. */
static int parse_all(const uint8_t *p, size_t len, struct handoff_msg *m, int *rc_out,
		     struct handoff_iter *it_out)
{
	struct handoff_iter it;
	struct handoff_msg tmp;
	int n = 0, rc;
	handoff_iter_init(&it, p, len);
	while ((rc = handoff_iter_next(&it, &tmp)) > 0) {
		n++;
		if (m)
			*m = tmp;
	}
	if (rc_out)
		*rc_out = rc;
	if (it_out)
		*it_out = it;
	return n;
}

static void test_worked_example(void)
{
	static const uint8_t want[56] = {
		0x31, 0x07, 0x4e, 0x41, 0x54, 0x36, 0x34, 0x20, 0x68, 0x61, 0x6e, 0x64, 0x6f, 0x66,
		0x66, 0xff,
		0x32, 0x06, 0x01, 0x0f, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x35, 0x0c, 0x06, 0x00, 0x0e, 0x87, 0x00, 0x50, 0xcf, 0xc2,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x17,
	};
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	handoff_builder_init(&b, buf, sizeof(buf));
	struct handoff_er er = example_er();
	ok(handoff_put_text(&b, "NAT64 handoff", 13) == 0, "example: TEXT");
	ok(handoff_put_hello(&b, 0x0f, nonce, 0, 0, false) == 0, "example: HELLO");
	ok(handoff_put_entry(&b, HANDOFF_ENTRY_CREATED, &er) == 0, "example: ENTRY-CREATED");
	is_int(b.len, 56, "example: 56 octets of UDP payload");
	is_mem(buf, want, sizeof(want), "example: byte for byte as in section 15");

	struct handoff_iter it;
	struct handoff_msg m;
	handoff_iter_init(&it, want, sizeof(want));
	ok(handoff_iter_next(&it, &m) == 1 && m.type == HANDOFF_TEXT && m.u.text.len == 13 &&
	   memcmp(m.u.text.p, "NAT64 handoff", 13) == 0, "example: TEXT parsed, 0xFF stripped");
	ok(handoff_iter_next(&it, &m) == 1 && m.type == HANDOFF_HELLO && m.u.hello.version == 1 &&
	   m.u.hello.caps == 0x0f && memcmp(m.u.hello.nonce, nonce, 8) == 0, "example: HELLO parsed");
	ok(handoff_iter_next(&it, &m) == 1 && m.type == HANDOFF_ENTRY_CREATED, "example: ENTRY parsed");
	ok(m.u.entry.proto == 6 && m.u.entry.nat_port == 3719 && m.u.entry.server_port == 80 &&
	   m.u.entry.client_port == 53186 && memcmp(&m.u.entry.client, &er.client, 16) == 0,
	   "example: entry record fields");
	is_int(handoff_iter_next(&it, &m), 0, "example: end");

	/* The server's 22-octet answer. */
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_hello_ack(&b, 1, 0x0f, nonce, cookie) == 0 && b.len == 22,
	   "HELLO-ACK is 22 octets");
	static const uint8_t ack_head[14] = { 0x33, 0x0a, 0x01, 0x0f, 0x00, 0x00, 0x01, 0x23,
					      0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	ok(memcmp(buf, ack_head, 14) == 0 && memcmp(buf + 14, cookie, 8) == 0,
	   "HELLO-ACK layout as in section 15");
}

static void test_every_type(void)
{
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	struct handoff_msg m;
	struct handoff_er er = example_er();

	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_session(&b, nonce, cookie);
	is_int(b.len, 18, "SESSION is 18 octets");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_SESSION &&
	   !memcmp(m.u.session.nonce, nonce, 8) && !memcmp(m.u.session.cookie, cookie, 8),
	   "SESSION round trip");

	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello_ack(&b, 1, 0x09, nonce, cookie);
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_HELLO_ACK &&
	   m.u.hello_ack.caps == 0x09 && !memcmp(m.u.hello_ack.cookie, cookie, 8),
	   "HELLO-ACK round trip");

	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_hello(&b, 0x01, nonce, 0, 0, true) == 0 && b.len == 22,
	   "padded HELLO is as long as a HELLO-ACK");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_HELLO &&
	   m.u.hello.caps == 1 && !memcmp(m.u.hello.nonce, nonce, 8),
	   "padded HELLO parses (extra octets ignored)");

	handoff_builder_init(&b, buf, sizeof(buf));
	struct handoff_er del = er;
	del.flags = HANDOFF_ER_CLOSED;
	handoff_put_entry(&b, HANDOFF_ENTRY_DELETED, &del);
	is_int(b.len, 26, "ENTRY-DELETED is 26 octets");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_ENTRY_DELETED &&
	   m.u.entry.flags == HANDOFF_ER_CLOSED && m.u.entry.nat_port == 3719,
	   "ENTRY-DELETED keeps the CLOSED flag");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_entry(&b, HANDOFF_ENTRY_CREATED, &del);
	ok(buf[3] == 0, "ENTRY-CREATED sends flags as zero");
	ok(handoff_put_entry(&b, HANDOFF_LOOKUP, &er) == -EINVAL, "put_entry refuses other types");

	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_entry_ack(&b, 17, 40000, 40001);
	is_int(b.len, 10, "ENTRY-ACK is 10 octets");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_ENTRY_ACK &&
	   m.u.entry_ack.proto == 17 && m.u.entry_ack.nat_port == 40000 &&
	   m.u.entry_ack.hint == 40001, "ENTRY-ACK round trip");

	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_lookup(&b, 6, 3719, 0xdeadbeef);
	is_int(b.len, 10, "LOOKUP is 10 octets");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_LOOKUP &&
	   m.u.lookup.id == 0xdeadbeef && m.u.lookup.nat_port == 3719, "LOOKUP round trip");

	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_lookup_reply(&b, 7, &er);
	is_int(b.len, 32, "LOOKUP-REPLY found is 32 octets (L=15)");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_LOOKUP_REPLY &&
	   m.u.lookup_reply.status == 0 && m.u.lookup_reply.id == 7 &&
	   m.u.lookup_reply.er.client_port == 53186, "LOOKUP-REPLY found round trip");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_lookup_reply(&b, 8, NULL);
	is_int(b.len, 8, "LOOKUP-REPLY not found is 8 octets (L=3)");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.u.lookup_reply.status == 1 &&
	   m.u.lookup_reply.id == 8, "LOOKUP-REPLY not found round trip");

	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_mode(&b, 1);
	ok(b.len == 4 && parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_MODE &&
	   m.u.mode.mode == 1, "MODE round trip");
	ok(handoff_put_mode(&b, 3) == -EINVAL, "MODE 3 refused");

	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_block(&b, 0, HANDOFF_BLOCK_FOREVER);
	ok(b.len == 8 && parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_BLOCK &&
	   m.u.block.duration == HANDOFF_BLOCK_FOREVER, "BLOCK round trip");
}

static size_t make_ipv4(uint8_t *p, size_t total)
{
	memset(p, 0, total);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[9] = 6;
	return total;
}

static void test_packets(void)
{
	uint8_t pkt[60], buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	struct handoff_msg m;
	make_ipv4(pkt, 60);
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_lookup(&b, 6, 1, 1);
	ok(handoff_put_packet(&b, pkt, 60) == 0, "IPv4 packet appended");
	handoff_put_block(&b, 0, 5);
	int rc;
	is_int(parse_all(buf, b.len, &m, &rc, NULL), 3, "LOOKUP + 0x4 + BLOCK: three messages");
	struct handoff_iter it;
	handoff_iter_init(&it, buf, b.len);
	handoff_iter_next(&it, &m);
	ok(handoff_iter_next(&it, &m) == 1 && m.type == HANDOFF_IPV4 && m.raw_len == 60 &&
	   m.raw == buf + 10, "0x4 message spans Total Length");
	ok(handoff_put_packet(&b, pkt, 59) == -EINVAL, "packet whose header disagrees refused");

	uint8_t v6[48] = { 0x60 };
	v6[5] = 8;	/* payload length 8 */
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_packet(&b, v6, 48) == 0, "IPv6 packet appended");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.type == HANDOFF_IPV6 && m.raw_len == 48,
	   "0x6 message is 40 + Payload Length");

	/* Bad IP headers are framing errors. */
	uint8_t bad[40];
	make_ipv4(bad, 40);
	bad[0] = 0x44;	/* IHL 4 < 5 */
	is_int(handoff_validate(bad, 40), -EBADMSG, "IPv4 with IHL < 5 is malformed");
	make_ipv4(bad, 40);
	bad[3] = 41;	/* total length past the datagram */
	is_int(handoff_validate(bad, 40), -EBADMSG, "IPv4 longer than the datagram is malformed");
	make_ipv4(bad, 40);
	bad[3] = 19;
	is_int(handoff_validate(bad, 40), -EBADMSG, "IPv4 total length < header is malformed");
	is_int(handoff_validate(bad, 19), -EBADMSG, "IPv4 shorter than 20 octets is malformed");
	uint8_t v6bad[40] = { 0x60 };
	v6bad[5] = 1;
	is_int(handoff_validate(v6bad, 40), -EBADMSG, "IPv6 payload past the datagram is malformed");
	is_int(handoff_validate(v6bad, 39), -EBADMSG, "IPv6 shorter than 40 octets is malformed");
}

static void test_framing(void)
{
	struct handoff_msg m;
	struct handoff_iter it;
	int rc;
	/* Every reserved nibble stops parsing quietly, keeping what came before. */
	static const uint8_t nibbles[] = { 0x0, 0x1, 0x2, 0x5, 0x7, 0x8, 0x9, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf };
	int stopped = 0;
	for (size_t i = 0; i < sizeof(nibbles); i++) {
		uint8_t d[12] = { 0x3b, 0x03, 0, 0, 0, 0, 0, 9, (uint8_t)(nibbles[i] << 4), 0x35, 0x0c, 0 };
		int n = parse_all(d, sizeof(d), &m, &rc, &it);
		if (n == 1 && rc == 0 && m.type == HANDOFF_BLOCK && !it.malformed &&
		    it.events[HANDOFF_WIRE_UNKNOWN_NIBBLE] == 1)
			stopped++;
	}
	is_int(stopped, (int)sizeof(nibbles), "reserved nibbles 0,1,2,5,7-F stop parsing, no error");
	uint8_t teredo[8] = { 0x00, 0x01, 0, 0, 0, 0, 0, 0 };
	ok(parse_all(teredo, 8, NULL, &rc, NULL) == 0 && rc == 0,
	   "a datagram starting 0x00 yields nothing and is not malformed");

	/* Unknown and reserved subtypes are skipped by length. */
	uint8_t unk[] = { 0x3f, 0x01, 0xaa, 0xbb, 0x30, 0x00, 0x3f, 0x02, 1, 2, 3, 4,
			  0x3a, 0x01, 0x02, 0x00 };
	ok(parse_all(unk, sizeof(unk), &m, &rc, &it) == 1 && m.type == HANDOFF_MODE &&
	   m.u.mode.mode == 2 && it.events[HANDOFF_WIRE_UNKNOWN_SUBTYPE] == 3,
	   "0x30 and 0x3F skipped, MODE after them parsed");

	/* Short payloads: that message is dropped, parsing goes on. */
	uint8_t shortp[] = { 0x34, 0x04, 1, 2, 3, 4, 5, 6, 7, 8, 0x3b, 0x03, 0, 0, 0, 0, 0, 1 };
	ok(parse_all(shortp, sizeof(shortp), &m, &rc, &it) == 1 && m.type == HANDOFF_BLOCK &&
	   it.events[HANDOFF_WIRE_SHORT_PAYLOAD] == 1, "short SESSION dropped, next message kept");
	uint8_t short_reply[] = { 0x39, 0x03, 0, 0, 0, 0, 0, 1 };	/* found, but no ER */
	ok(parse_all(short_reply, sizeof(short_reply), NULL, &rc, &it) == 0 && rc == 0 &&
	   it.events[HANDOFF_WIRE_SHORT_PAYLOAD] == 1, "LOOKUP-REPLY found without ER dropped");

	/* Extra octets in a known message are ignored. */
	uint8_t extra[] = { 0x37, 0x05, 6, 0, 0x0e, 0x87, 0x12, 0x34, 0, 0, 0xee, 0xee };
	ok(parse_all(extra, sizeof(extra), &m, NULL, NULL) == 1 && m.u.entry_ack.hint == 0x1234,
	   "ENTRY-ACK with a longer payload parsed");

	/* Truncation: a header or payload cut off makes the datagram malformed. */
	uint8_t one[] = { 0x31 };
	is_int(handoff_validate(one, 1), -EBADMSG, "0x3X without length octet is malformed");
	uint8_t cut[] = { 0x3b, 0x03, 0, 0, 0, 0, 0 };
	is_int(handoff_validate(cut, sizeof(cut)), -EBADMSG, "payload past the end is malformed");
	uint8_t good_then_cut[] = { 0x3a, 0x01, 0, 0, 0x34, 0x08, 1 };
	ok(parse_all(good_then_cut, sizeof(good_then_cut), &m, &rc, &it) == 1 && rc == -EBADMSG &&
	   it.malformed, "message before a truncated one is returned, then -EBADMSG");
	ok(handoff_iter_next(&it, &m) == 0, "iterator stays finished after an error");
	is_int(handoff_validate(NULL, 0), 0, "empty datagram is not malformed");
	ok(strcmp(handoff_wire_event_name(HANDOFF_WIRE_BAD_IPV4),
		  "0x4 message with a bad IPv4 header or length") == 0, "event names");
}

static void test_text(void)
{
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	struct handoff_msg m;
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_text(&b, "even", 4) == 0 && b.len == 6 && buf[1] == 2, "even TEXT: no pad");
	ok(parse_all(buf, b.len, &m, NULL, NULL) == 1 && m.u.text.len == 4, "even TEXT parsed");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_text(&b, "odd", 3);
	ok(b.len == 6 && buf[5] == 0xFF, "odd TEXT padded with one 0xFF");
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_text(&b, "", 0) == 0 && b.len == 2, "empty TEXT is two octets");
	ok(handoff_put_text(&b, "a\0b", 3) == -EINVAL, "TEXT with NUL refused");
	ok(handoff_put_text(&b, "a\xff", 2) == -EINVAL, "TEXT with 0xFF refused");
	char big[512];
	memset(big, 'x', sizeof(big));
	ok(handoff_put_text(&b, big, 511) == -EINVAL, "TEXT over 510 octets refused");
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_text(&b, big, 510) == 0 && b.len == 512 && buf[1] == 255,
	   "510-octet TEXT uses L=255");
	uint8_t many[] = { 0x31, 0x02, 'h', 'i', 0xff, 0xff };
	ok(parse_all(many, sizeof(many), &m, NULL, NULL) == 1 && m.u.text.len == 2,
	   "receiver strips every trailing 0xFF");
}

static void test_cap(void)
{
	uint8_t buf[2000];
	struct handoff_builder b;
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(b.cap == HANDOFF_MAX_DGRAM, "builder capped at 1472 whatever the buffer");
	struct handoff_er er = example_er();
	int n = 0;
	while (handoff_put_entry(&b, HANDOFF_ENTRY_CREATED, &er) == 0)
		n++;
	is_int(n, HANDOFF_MAX_DGRAM / 26, "56 entries fill a datagram");
	size_t before = b.len;
	ok(handoff_put_entry(&b, HANDOFF_ENTRY_CREATED, &er) == -ENOSPC && b.len == before,
	   "a message that does not fit leaves the datagram unchanged");
	ok(b.len <= HANDOFF_MAX_DGRAM, "never over 1472 octets");
	uint8_t pkt[1472];
	make_ipv4(pkt, sizeof(pkt));
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_lookup(&b, 6, 1, 1);
	ok(handoff_put_packet(&b, pkt, sizeof(pkt)) == -ENOSPC, "oversized echo refused");
}

static void test_cookie(void)
{
	uint8_t secret[HANDOFF_SECRET_LEN] = { 1, 2, 3 };
	struct in_addr t, s, s2;
	inet_pton(AF_INET, "192.0.2.7", &t);
	inet_pton(AF_INET, "198.51.100.10", &s);
	inet_pton(AF_INET, "198.51.100.11", &s2);
	uint8_t c1[8], c2[8], c3[8], n2[8];
	ok(handoff_cookie(secret, sizeof(secret), t, s, nonce, c1) == 0, "cookie computed");
	handoff_cookie(secret, sizeof(secret), t, s, nonce, c2);
	ok(handoff_cookie_equal(c1, c2), "cookie is deterministic (stateless check)");
	handoff_cookie(secret, sizeof(secret), t, s2, nonce, c3);
	ok(!handoff_cookie_equal(c1, c3), "cookie depends on the server address");
	memcpy(n2, nonce, 8);
	n2[7] ^= 1;
	handoff_cookie(secret, sizeof(secret), t, s, n2, c3);
	ok(!handoff_cookie_equal(c1, c3), "cookie depends on the nonce");
	secret[0] ^= 1;
	handoff_cookie(secret, sizeof(secret), t, s, nonce, c3);
	ok(!handoff_cookie_equal(c1, c3), "cookie depends on the secret");
	uint8_t r1[8] = { 0 }, r2[8] = { 0 };
	ok(handoff_random(r1, 8) == 0 && handoff_random(r2, 8) == 0 && memcmp(r1, r2, 8) != 0,
	   "two nonces differ");
}

/* doc/handoff-profile.md P-1 to P-3: HELLO's range, LOOKUP-CLIENT, hints. */
static void test_profile_messages(void)
{
	uint8_t buf[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	struct handoff_msg m;
	struct handoff_iter it;
	int rc;
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_hello(&b, 1, nonce, 61001, 65535, false) == 0 && b.len == 22,
	   "HELLO with a port range takes the padded form");
	ok(parse_all(buf, b.len, &m, &rc, &it) == 1 && m.u.hello.range_lo == 61001 &&
	   m.u.hello.range_hi == 65535 && !memcmp(m.u.hello.nonce, nonce, 8),
	   "... and the range reads back from the padding");
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello(&b, 1, nonce, 0, 0, false);
	ok(parse_all(buf, b.len, &m, &rc, &it) == 1 && b.len == 14 && m.u.hello.range_lo == 0 &&
	   m.u.hello.range_hi == 0, "a short HELLO says no range");
	handoff_builder_init(&b, buf, sizeof(buf));
	is_int(handoff_put_hello(&b, 1, nonce, 2000, 1000, true), -EINVAL, "an inverted range is refused");

	struct in6_addr c;
	inet_pton(AF_INET6, "2001:db8::17", &c);
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_lookup_client(&b, 6, 80, &c, 53186, 0xdeadbeef) == 0 && b.len == 30,
	   "LOOKUP-CLIENT is 30 octets");
	ok(buf[0] == 0x3c && buf[1] == 14, "... type 0x3C, L = 14");
	ok(parse_all(buf, b.len, &m, &rc, &it) == 1 && m.type == HANDOFF_LOOKUP_CLIENT &&
	   m.u.lookup_client.proto == 6 && m.u.lookup_client.server_port == 80 &&
	   m.u.lookup_client.client_port == 53186 && m.u.lookup_client.id == 0xdeadbeef &&
	   !memcmp(&m.u.lookup_client.client, &c, 16), "LOOKUP-CLIENT round trip");
	uint8_t shortlc[] = { 0x3c, 0x02, 6, 0, 0, 80 };
	ok(parse_all(shortlc, sizeof(shortlc), &m, &rc, &it) == 0 && rc == 0 &&
	   it.events[HANDOFF_WIRE_SHORT_PAYLOAD] == 1, "a short LOOKUP-CLIENT is dropped, counted");

	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_hint_request(&b, 17, 16) == 0 && b.len == 4 && buf[0] == 0x3d,
	   "HINT-REQUEST is 4 octets, type 0x3D");
	is_int(handoff_put_hint_request(&b, 17, 0), -EINVAL, "a request for no hint is refused");
	ok(parse_all(buf, 4, &m, &rc, &it) == 1 && m.u.hint_request.proto == 17 &&
	   m.u.hint_request.count == 16, "HINT-REQUEST round trip");
	uint16_t ports[HANDOFF_HINTS_MAX + 1];
	for (int i = 0; i <= HANDOFF_HINTS_MAX; i++)
		ports[i] = (uint16_t)(40000 + i);
	handoff_builder_init(&b, buf, sizeof(buf));
	ok(handoff_put_hints(&b, 17, ports, 3) == 0 && b.len == 10 && buf[0] == 0x3e,
	   "HINTS with 3 ports is 10 octets, type 0x3E");
	ok(parse_all(buf, b.len, &m, &rc, &it) == 1 && m.u.hints.proto == 17 && m.u.hints.n == 3 &&
	   m.u.hints.port[0] == 40000 && m.u.hints.port[2] == 40002, "HINTS round trip, in order");
	is_int(handoff_put_hints(&b, 17, ports, HANDOFF_HINTS_MAX + 1), -EINVAL,
	       "more than 32 hints in one message are refused");
	uint8_t many[2 + 2 + 2 * 40] = { 0x3e, 41, 6, 0 };
	ok(parse_all(many, sizeof(many), &m, &rc, &it) == 1 && m.u.hints.n == HANDOFF_HINTS_MAX,
	   "a longer HINTS message is read up to 32 ports");
}

int main(void)
{
	plan(91);
	test_profile_messages();
	test_worked_example();
	test_every_type();
	test_packets();
	test_framing();
	test_text();
	test_cap();
	test_cookie();
	return tap_done();
}
