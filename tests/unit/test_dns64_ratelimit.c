/* The DNS64 rate limiter on a clock of the test's own: bursts and refill,
 * slip, the enclosing /48 over many /56s, partners, the verified budget,
 * IPv4, and a flood of distinct sources that must not reset the state of
 * a prefix being limited. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dns64/ratelimit.h"
#include "tests/unit/tap.h"
#include "tests/unit/sockaddr_text.h"

struct tally {
	unsigned pass, slip, drop;
	unsigned scope[DNS64_RL_SCOPE_COUNT];	/* of the limited ones */
};

static void run(struct dns64_ratelimit *rl, const struct dns64_rl_policy *pol, const char *src,
		bool verified, unsigned n, uint64_t now, struct tally *t)
{
	struct sockaddr_storage ss = test_addr(src);
	for (unsigned i = 0; i < n; i++) {
		struct dns64_rl_result r =
			dns64_ratelimit_check(rl, pol, (struct sockaddr *)&ss, verified, now);
		if (r.verdict == DNS64_RL_PASS) {
			t->pass++;
			continue;
		}
		r.verdict == DNS64_RL_SLIP ? t->slip++ : t->drop++;
		t->scope[r.scope]++;
	}
}

static const struct dns64_rl_policy base = {
	.v6_len = 56, .v4_len = 24, .v6_enc_len = 48,
	.client = { 10, 5 }, .enclosing = { 40, 50 }, .verified = { 100, 20 }, .slip = 2,
};

int main(void)
{
	plan(23);
	struct dns64_ratelimit *rl = dns64_ratelimit_new(1 << 16);
	if (!rl)
		bail("out of memory");
	uint64_t now = 1000000000;
	struct tally t = { 0 };

	/* The burst, then the rate. */
	run(rl, &base, "2001:db8:1::1", false, 15, now, &t);
	is_int(t.pass, 5, "a /56 gets its burst of 5 at once");
	is_int(t.slip + t.drop, 10, "... and the 10 after it are limited");
	is_int(t.scope[DNS64_RL_client], 10, "... at the client level");
	is_int(t.slip, 5, "slip 2: every second limited query gets TC");
	memset(&t, 0, sizeof(t));
	run(rl, &base, "2001:db8:1:ff::2", false, 3, now + 100000, &t);
	is_int(t.pass, 1, "100 ms later at 10 q/s: one more, from anywhere in the /56");
	memset(&t, 0, sizeof(t));
	run(rl, &base, "2001:db8:1:100::1", false, 5, now, &t);
	is_int(t.pass, 5, "the next /56 has its own budget");

	/* Slip 1 and 0. */
	struct dns64_rl_policy p = base;
	p.slip = 1;
	memset(&t, 0, sizeof(t));
	run(rl, &p, "2001:db8:2::1", false, 10, now, &t);
	is_int(t.slip, 5, "slip 1: every limited query gets TC");
	p.slip = 0;
	memset(&t, 0, sizeof(t));
	run(rl, &p, "2001:db8:3::1", false, 10, now, &t);
	is_int(t.drop, 5, "slip 0: every limited query is dropped");

	/* 100 /56s of one /48, 2 queries each: under every /56's burst, over
	 * the /48's 50. */
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 100; i++) {
		char a[64];
		snprintf(a, sizeof(a), "2001:db8:4800:%x00::1", i);
		run(rl, &base, a, false, 2, now, &t);
	}
	is_int(t.pass, 50, "100 /56s inside one /48: the /48 passes its burst of 50");
	is_int(t.scope[DNS64_RL_enclosing], 150, "... and limits the other 150");
	is_int(t.scope[DNS64_RL_client], 0, "... none of them at the /56 level");

	/* The verified budget (a valid cookie, TCP): its own, larger. */
	memset(&t, 0, sizeof(t));
	run(rl, &base, "2001:db8:1::1", true, 20, now, &t);
	is_int(t.pass, 20, "a limited /56 with a valid cookie has the verified budget");
	run(rl, &base, "2001:db8:1::1", true, 5, now, &t);
	is_int(t.scope[DNS64_RL_verified], 5, "... which is limited in turn");

	/* Partners: the longest match wins, qps 0 means no limit. */
	struct dns64_rl_partner partners[2];
	cidr_parse("2001:db8:100::/40", &partners[0].prefix, false);
	partners[0].limit = (struct dns64_rl_limit){ 0, 0 };
	cidr_parse("2001:db8:100:8000::/49", &partners[1].prefix, false);
	partners[1].limit = (struct dns64_rl_limit){ 1000, 30 };
	p = base;
	p.partners = partners;
	p.npartners = 2;
	memset(&t, 0, sizeof(t));
	run(rl, &p, "2001:db8:100:1::1", false, 10000, now, &t);
	is_int(t.pass, 10000, "an exempt partner: 10000 queries at once, all passed");
	memset(&t, 0, sizeof(t));
	run(rl, &p, "2001:db8:100:8001::1", false, 40, now, &t);
	is_int(t.pass, 30, "a partner with a limit of its own: its burst of 30");
	is_int(t.scope[DNS64_RL_partner], 10, "... then limited as the partner");
	memset(&t, 0, sizeof(t));
	run(rl, &p, "2001:db8:100:8002::1", false, 5, now, &t);
	is_int(t.pass, 0, "... one budget for the whole partner prefix");

	/* IPv4: per /24, no enclosing level by default. */
	memset(&t, 0, sizeof(t));
	run(rl, &base, "192.88.99.1", false, 4, now, &t);
	run(rl, &base, "192.88.99.200", false, 4, now, &t);
	is_int(t.pass, 5, "IPv4: one budget per /24");
	memset(&t, 0, sizeof(t));
	run(rl, &base, "192.88.98.1", false, 5, now, &t);
	is_int(t.pass, 5, "... the next /24 has its own");

	/* A flood of distinct sources (each a /56 of its own /48, one query
	 * each, so each entry is one query in debt) at the moment a victim
	 * prefix is being limited: the victim's state must survive it. */
	struct sockaddr_storage victim = test_addr("2001:db8:dead:beef::1");
	for (int i = 0; i < 6; i++)
		dns64_ratelimit_check(rl, &base, (struct sockaddr *)&victim, false, now);
	uint64_t before = dns64_ratelimit_evictions(rl);
	for (uint32_t i = 0; i < 1000000; i++) {
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
		s6.sin6_addr.s6_addr[0] = 0x3f;
		s6.sin6_addr.s6_addr[1] = 0xff;
		memcpy(s6.sin6_addr.s6_addr + 2, &i, 4);
		dns64_ratelimit_check(rl, &base, (struct sockaddr *)&s6, false, now);
	}
	ok(dns64_ratelimit_evictions(rl) > before, "the flood filled the table (entries evicted)");
	memset(&t, 0, sizeof(t));
	run(rl, &base, "2001:db8:dead:beef::1", false, 1, now, &t);
	is_int(t.pass, 0, "... and the victim /56 is still limited after 1,000,000 other sources");
	memset(&t, 0, sizeof(t));
	run(rl, &base, "2001:db8:dead:beef::1", false, 1, now + 100000, &t);
	is_int(t.pass, 1, "... and recovers at its own rate, not by a reset");
	ok(dns64_rl_same_client(&base, (struct sockaddr *)&victim,
				(struct sockaddr *)&(struct sockaddr_storage){ 0 }) == false &&
	   dns64_rl_same_client(&base, (struct sockaddr *)&victim, (struct sockaddr *)&victim),
	   "same_client compares client prefixes");
	dns64_ratelimit_free(rl);
	return tap_done();
}
