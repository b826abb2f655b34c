/* RA option encoders (RFC 4861, RFC 8106, RFC 8781) and the RS validator. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "hints/ra_opts.h"
#include "tests/unit/tap.h"

static struct in6_addr a6(const char *s)
{
	struct in6_addr a;
	inet_pton(AF_INET6, s, &a);
	return a;
}

static void test_scaled_lifetime(void)
{
	/* RFC 8781 4.1: units of 8 s, rounded up, at most 8191 (65528 s). */
	static const struct {
		uint64_t seconds;
		int units;
		const char *what;
	} cases[] = {
		{ 0, 0, "lifetime 0 stays 0" },
		{ 1, 1, "1 s rounds up to one unit" },
		{ 7, 1, "7 s rounds up to one unit" },
		{ 8, 1, "8 s is one unit" },
		{ 9, 2, "9 s rounds up to two units" },
		{ 1800, 225, "1800 s = 225 units" },
		{ 1801, 226, "1801 s rounds up" },
		{ 65520, 8190, "65520 s = 8190" },
		{ 65521, 8191, "65521 s rounds up to 8191" },
		{ 65527, 8191, "65527 s rounds up to 8191" },
		{ 65528, 8191, "65528 s is the maximum" },
		{ 65529, 8191, "65529 s saturates" },
		{ 100000, 8191, "100000 s saturates" },
		{ UINT64_MAX, 8191, "UINT64_MAX saturates" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(ra_pref64_scaled_lifetime(cases[i].seconds), cases[i].units, cases[i].what);
}

static void test_pref64(void)
{
	static const struct { unsigned len; int plc; } plcs[] = {
		{ 96, 0 }, { 64, 1 }, { 56, 2 }, { 48, 3 }, { 40, 4 }, { 32, 5 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(plcs); i++) {
		char name[64];
		snprintf(name, sizeof(name), "PLC for /%u is %d", plcs[i].len, plcs[i].plc);
		is_int(ra_pref64_plc(plcs[i].len), plcs[i].plc, name);

		/* Encoded: the PLC in the low 3 bits, prefix bits past len zero. */
		struct in6_addr p = a6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
		uint8_t buf[16];
		int r = ra_encode_pref64(buf, sizeof(buf), &p, plcs[i].len, 1800);
		snprintf(name, sizeof(name), "/%u encodes in 16 octets", plcs[i].len);
		is_int(r, 16, name);
		snprintf(name, sizeof(name), "/%u type 38 length 2", plcs[i].len);
		ok(buf[0] == 38 && buf[1] == 2, name);
		snprintf(name, sizeof(name), "/%u PLC field", plcs[i].len);
		is_int(get_be16(buf + 2) & 7, plcs[i].plc, name);
		snprintf(name, sizeof(name), "/%u scaled lifetime field", plcs[i].len);
		is_int(get_be16(buf + 2) >> 3, 225, name);
		struct in6_addr want = p;
		in6_mask(&want, plcs[i].len);
		snprintf(name, sizeof(name), "/%u prefix bits masked", plcs[i].len);
		is_mem(buf + 4, want.s6_addr, 12, name);
	}
	is_int(ra_pref64_plc(0), -EINVAL, "PLC for /0 refused");
	is_int(ra_pref64_plc(33), -EINVAL, "PLC for /33 refused");
	is_int(ra_pref64_plc(128), -EINVAL, "PLC for /128 refused");
	struct in6_addr wkp = a6("64:ff9b::");
	uint8_t buf[16];
	is_int(ra_encode_pref64(buf, sizeof(buf), &wkp, 80, 60), -EINVAL, "/80 not encodable");
	is_int(ra_encode_pref64(buf, 15, &wkp, 96, 60), -ENOSPC, "15-octet buffer too small");
	ok(ra_encode_pref64(buf, sizeof(buf), &wkp, 96, 0) == 16 && get_be16(buf + 2) == 0,
	   "withdrawal: lifetime 0, PLC 0");
	ra_encode_pref64(buf, sizeof(buf), &wkp, 96, 70000);
	is_int(get_be16(buf + 2) >> 3, 8191, "70000 s encodes as 8191");
	static const uint8_t wkp_wire[12] = { 0, 0x64, 0xff, 0x9b };
	is_mem(buf + 4, wkp_wire, 12, "64:ff9b:: on the wire");
}

static void test_rdnss(void)
{
	struct in6_addr s[2] = { a6("2001:db8:1::1"), a6("2001:db8:1::2") };
	uint8_t buf[64];
	is_int(ra_encode_rdnss(buf, sizeof(buf), s, 1, 1800), 24, "one server: 24 octets");
	ok(buf[0] == 25 && buf[1] == 3, "type 25, length 3 units");
	ok(buf[2] == 0 && buf[3] == 0, "reserved zero");
	is_int(get_be32(buf + 4), 1800, "lifetime");
	is_mem(buf + 8, s[0].s6_addr, 16, "address");
	is_int(ra_encode_rdnss(buf, sizeof(buf), s, 2, 0), 40, "two servers: 40 octets");
	is_int(buf[1], 5, "length 5 units");
	is_mem(buf + 24, s[1].s6_addr, 16, "second address");
	is_int(ra_encode_rdnss(buf, sizeof(buf), s, 0, 1), -EINVAL, "no servers refused");
	is_int(ra_encode_rdnss(buf, 39, s, 2, 1), -ENOSPC, "short buffer refused");
}

static void test_names(void)
{
	uint8_t buf[300];
	static const uint8_t ex[] = { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0 };
	is_int(hints_dns_name_encode(buf, sizeof(buf), "example.com"), 13, "example.com: 13");
	is_mem(buf, ex, sizeof(ex), "example.com labels");
	is_int(hints_dns_name_encode(buf, sizeof(buf), "example.com."), 13, "trailing dot");
	is_mem(buf, ex, sizeof(ex), "trailing dot same labels");
	is_int(hints_dns_name_encode(buf, sizeof(buf), ""), -EINVAL, "empty refused");
	is_int(hints_dns_name_encode(buf, sizeof(buf), "."), -EINVAL, "root refused");
	is_int(hints_dns_name_encode(buf, sizeof(buf), "a..b"), -EINVAL, "empty label refused");
	is_int(hints_dns_name_encode(buf, sizeof(buf), ".a"), -EINVAL, "leading dot refused");
	is_int(hints_dns_name_encode(buf, sizeof(buf), "a.."), -EINVAL, "two trailing dots");
	char l63[80], l64[80];
	memset(l63, 'x', 63);
	l63[63] = '\0';
	memset(l64, 'x', 64);
	l64[64] = '\0';
	is_int(hints_dns_name_encode(buf, sizeof(buf), l63), 65, "63-octet label accepted");
	is_int(hints_dns_name_encode(buf, sizeof(buf), l64), -EINVAL, "64-octet label refused");
	/* 4 x 63-octet labels: 4 x 64 + 1 = 257 > 255 octets. */
	char longname[400];
	snprintf(longname, sizeof(longname), "%s.%s.%s.%s", l63, l63, l63, l63);
	is_int(hints_dns_name_encode(buf, sizeof(buf), longname), -EINVAL, "name > 255 refused");
	/* 3 x 63 + 61: 64 * 3 + 62 + 1 = 255 octets exactly. */
	char l61[70];
	memset(l61, 'y', 61);
	l61[61] = '\0';
	snprintf(longname, sizeof(longname), "%s.%s.%s.%s", l63, l63, l63, l61);
	is_int(hints_dns_name_encode(buf, sizeof(buf), longname), 255, "255-octet name accepted");
	is_int(hints_dns_name_encode(buf, 5, "example.com"), -ENOSPC, "short buffer");
}

static void test_dnssl(void)
{
	uint8_t buf[128];
	char *one[] = { "example" };	/* 9 octets + 8 header = 17 -> 24 */
	int r = ra_encode_dnssl(buf, sizeof(buf), one, 1, 600);
	is_int(r, 24, "example: padded to 24");
	ok(buf[0] == 31 && buf[1] == 3, "type 31 length 3");
	is_int(get_be32(buf + 4), 600, "lifetime");
	static const uint8_t want[16] = { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 0, 0, 0, 0,
					  0, 0 };
	is_mem(buf + 8, want, 16, "name then zero padding");
	char *exact[] = { "abcdef" };	/* 8 octets: no padding needed */
	is_int(ra_encode_dnssl(buf, sizeof(buf), exact, 1, 1), 16, "8-octet name: no padding");
	char *two[] = { "lab.example", "example.org" };	/* 13 + 13 + 8 = 34 -> 40 */
	memset(buf, 0xaa, sizeof(buf));
	is_int(ra_encode_dnssl(buf, sizeof(buf), two, 2, 1), 40, "two names padded to 40");
	ok(buf[34] == 0 && buf[39] == 0, "padding is zero");
	is_int(buf[8], 3, "first label length");
	is_int(buf[8 + 13], 7, "second name starts after the first");
	char *bad[] = { "a..b" };
	is_int(ra_encode_dnssl(buf, sizeof(buf), bad, 1, 1), -EINVAL, "bad name refused");
	is_int(ra_encode_dnssl(buf, 20, two, 2, 1), -ENOSPC, "short buffer refused");
	is_int(ra_encode_dnssl(buf, sizeof(buf), two, 0, 1), -EINVAL, "no names refused");
}

static void test_misc(void)
{
	uint8_t buf[64];
	is_int(ra_encode_mtu(buf, sizeof(buf), 1480), 8, "MTU 8 octets");
	ok(buf[0] == 5 && buf[1] == 1 && get_be32(buf + 4) == 1480, "MTU fields");
	struct in6_addr p = a6("2001:db8:1::55");
	is_int(ra_encode_pio(buf, sizeof(buf), &p, 64, 5400, 2700), 32, "PIO 32 octets");
	ok(buf[0] == 3 && buf[1] == 4 && buf[2] == 64, "PIO type, length, prefix length");
	is_int(buf[3], 0xc0, "L and A for /64");
	ok(get_be32(buf + 4) == 5400 && get_be32(buf + 8) == 2700, "PIO lifetimes");
	struct in6_addr want = a6("2001:db8:1::");
	is_mem(buf + 16, want.s6_addr, 16, "PIO prefix masked");
	ra_encode_pio(buf, sizeof(buf), &p, 48, 10, 5);
	is_int(buf[3], 0x80, "only L for /48");
	is_int(ra_encode_pio(buf, sizeof(buf), &p, 64, 5, 10), -EINVAL,
	       "preferred > valid refused");
	struct ra_header h = { 0, RA_FLAG_OTHER, 1800, 0, 0 };
	is_int(ra_encode_header(buf, sizeof(buf), &h), 16, "RA header 16 octets");
	ok(buf[0] == 134 && buf[1] == 0 && buf[5] == 0x40 && get_be16(buf + 6) == 1800,
	   "RA header fields");
}

static void test_rs(void)
{
	struct ra_rs_info info;
	uint8_t rs[16] = { 133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1 };
	is_int(ra_rs_parse(rs, 8, 255, false, &info), RA_RS_OK, "bare RS ok");
	is_int(ra_rs_parse(rs, 16, 255, false, &info), RA_RS_OK, "RS with SLLA ok");
	ok(info.has_slla, "SLLA seen");
	is_int(ra_rs_parse(rs, 16, 64, false, &info), RA_RS_DROP_HOP_LIMIT, "hop limit 64");
	is_int(ra_rs_parse(rs, 7, 255, false, &info), RA_RS_DROP_SHORT, "7 octets short");
	is_int(ra_rs_parse(rs, 0, 255, false, &info), RA_RS_DROP_SHORT, "empty");
	is_int(ra_rs_parse(rs, 16, 255, true, &info), RA_RS_DROP_UNSPEC_WITH_SLLA,
	       "SLLA from :: refused");
	is_int(ra_rs_parse(rs, 8, 255, true, &info), RA_RS_OK, "bare RS from :: ok");
	uint8_t bad[16];
	memcpy(bad, rs, 16);
	bad[1] = 1;
	is_int(ra_rs_parse(bad, 16, 255, false, &info), RA_RS_DROP_BAD_CODE, "code 1");
	memcpy(bad, rs, 16);
	bad[0] = 134;
	is_int(ra_rs_parse(bad, 16, 255, false, &info), RA_RS_DROP_NOT_RS, "an RA is not an RS");
	memcpy(bad, rs, 16);
	bad[9] = 0;
	is_int(ra_rs_parse(bad, 16, 255, false, &info), RA_RS_DROP_OPT_ZERO_LEN,
	       "zero-length option");
	memcpy(bad, rs, 16);
	bad[9] = 2;
	is_int(ra_rs_parse(bad, 16, 255, false, &info), RA_RS_DROP_OPT_OVERRUN,
	       "option past the end");
	is_int(ra_rs_parse(rs, 9, 255, false, &info), RA_RS_DROP_OPT_OVERRUN,
	       "one stray octet after the header");
	is_int(ra_rs_parse(rs, 12, 255, false, &info), RA_RS_DROP_OPT_OVERRUN,
	       "option truncated");
	is_str(ra_rs_verdict_name(RA_RS_DROP_HOP_LIMIT), "hop-limit", "verdict names");
}

int main(void)
{
	plan(120);
	test_scaled_lifetime();
	test_pref64();
	test_rdnss();
	test_names();
	test_dnssl();
	test_misc();
	test_rs();
	return tap_done();
}
