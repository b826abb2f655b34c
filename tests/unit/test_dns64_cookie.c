/* DNS Cookies: SipHash-2-4 against its reference vector, RFC 9018's server
 * cookie against the test vectors of its Appendix A (so cookies we hand out
 * verify on BIND, Knot, PowerDNS or Unbound servers of the same anycast set,
 * and theirs on us), and the verdicts of RFC 7873 5.2 and RFC 9018 4.3. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dns64/cookie.h"
#include "tests/unit/tap.h"
#include "tests/unit/sockaddr_text.h"

static void unhex(const char *h, uint8_t *out)
{
	for (size_t i = 0; h[2 * i]; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static const char *hexstr(const uint8_t *p, size_t n, char *buf)
{
	for (size_t i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", p[i]);
	return buf;
}

/* Appendix A: the reply's COOKIE option data made at `at`. */
static void vector(const char *name, const char *secret, const char *client_cookie,
		   const char *ip, uint32_t at, const char *want)
{
	uint8_t key[16], cc[8], out[24];
	char got[64];
	unhex(secret, key);
	unhex(client_cookie, cc);
	struct sockaddr_storage ss = test_addr(ip);
	dns64_cookie_make(key, cc, (struct sockaddr *)&ss, at, out);
	is_str(hexstr(out, sizeof(out), got), want, name);
}

static enum dns64_cookie_verdict judge(const char *secret, const char *old, const char *cookie,
				       const char *ip, uint32_t now, bool *renew)
{
	struct dns64_cookie_secrets s = { .n = old ? 2 : 1 };
	unhex(secret, s.key[0]);
	if (old)
		unhex(old, s.key[1]);
	uint8_t c[40];
	unhex(cookie, c);
	struct sockaddr_storage ss = test_addr(ip);
	return dns64_cookie_check(&s, c, strlen(cookie) / 2, (struct sockaddr *)&ss, now, renew);
}

int main(void)
{
	plan(19);
	/* The SipHash paper's vector: key 00..0f, message 00..0e. */
	uint8_t key[16], msg[15];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	ok(dns64_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull, "SipHash-2-4 reference vector");
	ok(dns64_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull, "SipHash-2-4 of nothing");

	const char *s1 = "e5e973e5a6b2a43f48e7dc849e37bfcf";
	vector("A.1 a new server cookie (IPv4)", s1, "2464c4abcf10c957", "198.51.100.100",
	       1559731985, "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
	vector("A.2 the same client, renewed", s1, "2464c4abcf10c957", "198.51.100.100",
	       1559734385, "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
	vector("A.3 another client, renewed", s1, "fc93fc62807ddb86", "203.0.113.203",
	       1559734700, "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
	vector("A.4 IPv6, after a secret rollover", "445536bcd2513298075a5d379663c962",
	       "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961,
	       "22681ab97d52c298010000005cf7c609a6bb79d16625507a");

	bool renew;
	const char *a1 = "2464c4abcf10c957010000005cf79f111f8130c3eee29480";
	is_int(judge(s1, NULL, "2464c4abcf10c957", "198.51.100.100", 1559731985, &renew),
	       DNS64_COOKIE_CLIENT_ONLY, "a client cookie alone");
	is_int(judge(s1, NULL, a1, "198.51.100.100", 1559731985 + 60, &renew), DNS64_COOKIE_VALID,
	       "A.1's cookie a minute later: valid");
	ok(!renew, "... and young enough to echo");
	is_int(judge(s1, NULL, a1, "198.51.100.100", 1559731985 + 2400, &renew), DNS64_COOKIE_VALID,
	       "40 minutes later (A.2): still valid");
	ok(renew, "... but renewed (older than half an hour)");
	is_int(judge(s1, NULL, a1, "198.51.100.100", 1559731985 + 3601, &renew),
	       DNS64_COOKIE_INVALID, "an hour and a second later: too old");
	is_int(judge(s1, NULL, a1, "198.51.100.100", 1559731985 - 301, &renew),
	       DNS64_COOKIE_INVALID, "more than five minutes in the future");
	is_int(judge(s1, NULL, a1, "198.51.100.101", 1559731985, &renew), DNS64_COOKIE_INVALID,
	       "the same cookie from another address");
	is_int(judge("00112233445566778899aabbccddeeff", NULL, a1, "198.51.100.100", 1559731985,
		     &renew), DNS64_COOKIE_INVALID, "another server's secret");
	/* A.3's query cookie was stamped 1559728001 (its reply comes later
	 * than the hour we accept; checked here within the hour). */
	is_int(judge(s1, NULL, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", "203.0.113.203",
		     1559728001 + 60, &renew), DNS64_COOKIE_VALID,
	       "A.3: the reserved octets the client set are part of the hash");
	is_int(judge("445536bcd2513298075a5d379663c962", "dd3bdf9344b678b185a6f5cb60fca715",
		     "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
		     "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961, &renew), DNS64_COOKIE_VALID,
	       "A.4: a cookie of the previous secret verifies");
	ok(renew, "... and is replaced by one of the current secret");
	is_int(judge(s1, NULL, "2464c4abcf10c95701000000", "198.51.100.100", 1559731985, &renew),
	       DNS64_COOKIE_INVALID, "an 8-octet server cookie is not one of ours");
	return tap_done();
}
