/* The stateless DHCPv6 parser, validator and answer builder (RFC 8415). */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "hints/dhcpv6.h"
#include "tests/unit/tap.h"

static const uint8_t our_duid[] = { 0, 3, 0, 1, 2, 0, 0, 0, 0, 1 };

/* Builds a message: type, xid 0x123456, then options (code, len, bytes). */
struct msg {
	uint8_t b[512];
	size_t len;
};

static void msg_init(struct msg *m, uint8_t type)
{
	m->b[0] = type;
	m->b[1] = 0x12;
	m->b[2] = 0x34;
	m->b[3] = 0x56;
	m->len = 4;
}

static void msg_opt(struct msg *m, uint16_t code, const void *body, uint16_t len)
{
	put_be16(m->b + m->len, code);
	put_be16(m->b + m->len + 2, len);
	if (len)
		memcpy(m->b + m->len + 4, body, len);
	m->len += 4u + len;
}

static const uint8_t client_duid[] = { 0, 1, 0, 1, 0x2a, 0x2b, 0x2c, 0x2d, 2, 0, 0, 0, 0, 0x42 };

/* Finds an option in a built answer; NULL if absent. */
static const uint8_t *find_opt(const uint8_t *p, size_t len, uint16_t code, size_t *olen)
{
	for (size_t off = 4; off + 4 <= len;) {
		size_t l = get_be16(p + off + 2);
		if (off + 4 + l > len)
			return NULL;
		if (get_be16(p + off) == code) {
			*olen = l;
			return p + off + 4;
		}
		off += 4 + l;
	}
	return NULL;
}

static void test_parse_malformed(void)
{
	struct dhcp6_request r;
	struct msg m = { { 0 }, 0 };
	is_int(dhcp6_parse(m.b, 0, &r), DHCP6_DROP_SHORT, "empty");
	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	is_int(dhcp6_parse(m.b, 3, &r), DHCP6_DROP_SHORT, "3 octets");
	is_int(dhcp6_parse(m.b, 4, &r), DHCP6_OK, "header only parses");
	is_int(r.type, DHCP6_INFORMATION_REQUEST, "type read");
	ok(r.xid[0] == 0x12 && r.xid[2] == 0x56, "xid read");

	msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, sizeof(client_duid));
	for (size_t cut = 5; cut < m.len; cut++) {
		enum dhcp6_verdict v = dhcp6_parse(m.b, cut, &r);
		if (v != DHCP6_DROP_OPT_TRUNCATED && v != DHCP6_DROP_OPT_OVERRUN) {
			ok(0, "every truncation of an option is refused");
			printf("#   cut at %zu gave %s\n", cut, dhcp6_verdict_name(v));
			goto next;
		}
	}
	ok(1, "every truncation of an option is refused");
next:
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_OK, "whole message parses");
	ok(r.client_id && r.client_id_len == sizeof(client_duid), "client id found");

	/* Option length larger than what is left. */
	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, sizeof(client_duid));
	put_be16(m.b + 6, 200);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_OPT_OVERRUN, "length past the end");
	put_be16(m.b + 6, 0xffff);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_OPT_OVERRUN, "length 65535");

	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, 2);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_OPT_BAD_LEN, "2-octet DUID");
	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	uint8_t big[140] = { 0, 4 };
	msg_opt(&m, DHCP6_OPT_CLIENTID, big, 131);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_OPT_BAD_LEN, "131-octet DUID");

	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, sizeof(client_duid));
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_DUP_OPTION, "two client ids");

	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	uint8_t oro[3] = { 0, 23, 0 };
	msg_opt(&m, DHCP6_OPT_ORO, oro, 3);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_OPT_BAD_LEN, "odd ORO length");

	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	uint8_t et[3] = { 0 };
	msg_opt(&m, DHCP6_OPT_ELAPSED_TIME, et, 3);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_OPT_BAD_LEN, "elapsed time of 3 octets");

	msg_init(&m, DHCP6_SOLICIT);
	msg_opt(&m, DHCP6_OPT_IA_NA, et, 3);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_OPT_BAD_LEN, "IA_NA of 3 octets");

	msg_init(&m, DHCP6_SOLICIT);
	msg_opt(&m, DHCP6_OPT_RAPID_COMMIT, et, 1);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_OPT_BAD_LEN, "rapid commit with a body");

	msg_init(&m, DHCP6_RELAY_FORW);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_DROP_RELAYED, "relay-forw refused");

	/* Unknown options are skipped, known ones after them still found. */
	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	msg_opt(&m, 9999, "abc", 3);
	uint8_t oro2[6] = { 0, 23, 0, 24, 0, 32 };
	msg_opt(&m, DHCP6_OPT_ORO, oro2, 6);
	is_int(dhcp6_parse(m.b, m.len, &r), DHCP6_OK, "unknown option skipped");
	ok(r.wants_dns && r.wants_domains && r.wants_refresh, "ORO read");
}

static void test_validate(void)
{
	struct dhcp6_request r;
	struct msg m;
	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	dhcp6_parse(m.b, m.len, &r);
	is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), true), DHCP6_OK,
	       "information-request without client id is fine");
	is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), false), DHCP6_DROP_UNICAST,
	       "unicast information-request dropped");

	msg_opt(&m, DHCP6_OPT_SERVERID, our_duid, sizeof(our_duid));
	dhcp6_parse(m.b, m.len, &r);
	is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), true), DHCP6_OK,
	       "our server id accepted");
	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	msg_opt(&m, DHCP6_OPT_SERVERID, client_duid, sizeof(client_duid));
	dhcp6_parse(m.b, m.len, &r);
	is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), true), DHCP6_DROP_WRONG_SERVERID,
	       "another server's id dropped");
	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	uint8_t ia[12] = { 0 };
	msg_opt(&m, DHCP6_OPT_IA_NA, ia, 12);
	dhcp6_parse(m.b, m.len, &r);
	is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), true), DHCP6_DROP_HAS_IA,
	       "IA in information-request dropped (RFC 8415 16.12)");

	msg_init(&m, DHCP6_SOLICIT);
	dhcp6_parse(m.b, m.len, &r);
	is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), true), DHCP6_DROP_NO_CLIENTID,
	       "solicit without client id dropped");
	msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, sizeof(client_duid));
	dhcp6_parse(m.b, m.len, &r);
	is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), true), DHCP6_OK, "solicit ok");
	msg_opt(&m, DHCP6_OPT_SERVERID, our_duid, sizeof(our_duid));
	dhcp6_parse(m.b, m.len, &r);
	is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), true), DHCP6_DROP_HAS_SERVERID,
	       "solicit with server id dropped");

	static const struct { uint8_t type; enum dhcp6_verdict v; } types[] = {
		{ DHCP6_ADVERTISE, DHCP6_DROP_NOT_FOR_SERVER },
		{ DHCP6_REPLY, DHCP6_DROP_NOT_FOR_SERVER },
		{ DHCP6_RECONFIGURE, DHCP6_DROP_NOT_FOR_SERVER },
		{ DHCP6_REQUEST, DHCP6_DROP_UNSUPPORTED },
		{ DHCP6_RENEW, DHCP6_DROP_UNSUPPORTED },
		{ DHCP6_REBIND, DHCP6_DROP_UNSUPPORTED },
		{ DHCP6_CONFIRM, DHCP6_DROP_UNSUPPORTED },
		{ DHCP6_RELEASE, DHCP6_DROP_UNSUPPORTED },
		{ DHCP6_DECLINE, DHCP6_DROP_UNSUPPORTED },
		{ 0, DHCP6_DROP_UNSUPPORTED },
		{ 200, DHCP6_DROP_UNSUPPORTED },
	};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		char name[64];
		msg_init(&m, types[i].type);
		msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, sizeof(client_duid));
		dhcp6_parse(m.b, m.len, &r);
		snprintf(name, sizeof(name), "message type %u: %s", types[i].type,
			 dhcp6_verdict_name(types[i].v));
		is_int(dhcp6_validate(&r, our_duid, sizeof(our_duid), true), types[i].v, name);
	}
}

static void test_answer(void)
{
	struct in6_addr dns[2];
	inet_pton(AF_INET6, "2001:db8:1::1", &dns[0]);
	inet_pton(AF_INET6, "2001:db8:1::53", &dns[1]);
	static const uint8_t domains[] = { 3, 'l', 'a', 'b', 0, 7, 'e', 'x', 'a', 'm', 'p', 'l',
					   'e', 0 };
	struct dhcp6_server_info info = { our_duid, sizeof(our_duid), dns, 2, domains,
					  sizeof(domains), 3600 };
	struct msg m;
	struct dhcp6_request r;
	msg_init(&m, DHCP6_INFORMATION_REQUEST);
	msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, sizeof(client_duid));
	dhcp6_parse(m.b, m.len, &r);
	uint8_t out[512];
	int n = dhcp6_build_answer(&r, &info, out, sizeof(out));
	ok(n > 0, "reply built");
	is_int(out[0], DHCP6_REPLY, "a Reply");
	is_mem(out + 1, m.b + 1, 3, "transaction id echoed");
	size_t l;
	const uint8_t *o = find_opt(out, (size_t)n, DHCP6_OPT_CLIENTID, &l);
	ok(o && l == sizeof(client_duid) && !memcmp(o, client_duid, l), "client id echoed");
	o = find_opt(out, (size_t)n, DHCP6_OPT_SERVERID, &l);
	ok(o && l == sizeof(our_duid) && !memcmp(o, our_duid, l), "our server id");
	o = find_opt(out, (size_t)n, DHCP6_OPT_DNS_SERVERS, &l);
	ok(o && l == 32 && !memcmp(o, &dns[0], 16) && !memcmp(o + 16, &dns[1], 16),
	   "option 23 with both servers");
	o = find_opt(out, (size_t)n, DHCP6_OPT_DOMAIN_LIST, &l);
	ok(o && l == sizeof(domains) && !memcmp(o, domains, l), "option 24 search list");
	o = find_opt(out, (size_t)n, DHCP6_OPT_INFO_REFRESH_TIME, &l);
	ok(o && l == 4 && get_be32(o) == 3600, "option 32 refresh time");
	ok(!find_opt(out, (size_t)n, DHCP6_OPT_STATUS_CODE, &l), "no status code in the reply");
	/* The answer parses as a well-formed message itself. */
	struct dhcp6_request back;
	is_int(dhcp6_parse(out, (size_t)n, &back), DHCP6_OK, "reply is well formed");

	info.refresh_s = 10;
	n = dhcp6_build_answer(&r, &info, out, sizeof(out));
	o = find_opt(out, (size_t)n, DHCP6_OPT_INFO_REFRESH_TIME, &l);
	ok(o && get_be32(o) == DHCP6_IRT_MINIMUM, "refresh time raised to IRT_MINIMUM");
	info.refresh_s = 3600;

	info.ndns = 0;
	info.domains_len = 0;
	n = dhcp6_build_answer(&r, &info, out, sizeof(out));
	ok(n > 0 && !find_opt(out, (size_t)n, DHCP6_OPT_DNS_SERVERS, &l) &&
	   !find_opt(out, (size_t)n, DHCP6_OPT_DOMAIN_LIST, &l), "empty lists are left out");
	info.ndns = 2;
	info.domains_len = sizeof(domains);
	is_int(dhcp6_build_answer(&r, &info, out, 40), -ENOSPC, "short buffer refused");

	msg_init(&m, DHCP6_SOLICIT);
	msg_opt(&m, DHCP6_OPT_CLIENTID, client_duid, sizeof(client_duid));
	uint8_t ia[12] = { 0, 0, 0, 1 };
	msg_opt(&m, DHCP6_OPT_IA_NA, ia, 12);
	dhcp6_parse(m.b, m.len, &r);
	n = dhcp6_build_answer(&r, &info, out, sizeof(out));
	is_int(out[0], DHCP6_ADVERTISE, "solicit gets an Advertise");
	o = find_opt(out, (size_t)n, DHCP6_OPT_STATUS_CODE, &l);
	ok(o && l > 2 && get_be16(o) == DHCP6_STATUS_NOADDRSAVAIL, "status NoAddrsAvail");
	ok(!find_opt(out, (size_t)n, DHCP6_OPT_IA_NA, &l), "no IA in the Advertise");

	msg_init(&m, DHCP6_REQUEST);
	dhcp6_parse(m.b, m.len, &r);
	is_int(dhcp6_build_answer(&r, &info, out, sizeof(out)), -EINVAL, "no answer to Request");
}

static void test_duid(void)
{
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 }, b[32];
	is_int(dhcp6_duid_ll(b, sizeof(b), 1, mac, 6), 10, "DUID-LL is 10 octets");
	static const uint8_t want[10] = { 0, 3, 0, 1, 2, 0, 0, 0, 0, 1 };
	is_mem(b, want, 10, "DUID-LL layout");
	is_int(dhcp6_duid_ll(b, 9, 1, mac, 6), -ENOSPC, "short buffer");
	uint8_t uuid[16] = { 1, 2, 3 };
	is_int(dhcp6_duid_uuid(b, sizeof(b), uuid), 18, "DUID-UUID is 18 octets");
	ok(b[0] == 0 && b[1] == 4 && b[2] == 1, "DUID-UUID layout");
}

int main(void)
{
	plan(61);
	test_parse_malformed();
	test_validate();
	test_answer();
	test_duid();
	return tap_done();
}
