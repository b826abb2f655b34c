/* Micro-benchmark of what every DNS64 query pays for the public-address
 * defaults (not a test): ns per call of the rate limiter (off, one level,
 * two levels, a partner's budget, the verified budget) and of DNS Cookies
 * (checking a valid cookie, making a fresh one), the way engine.c calls
 * them, from many client prefixes so the table's buckets and locks are
 * exercised as under real load. Medians of 7 runs of 1,000,000 calls on
 * one thread, in thread CPU time (other jobs on the machine do not count).
 * The end-to-end figures are in dns64_bench.sh.
 *
 *   make tests/bench/dns64_cost_bench && ./tests/bench/dns64_cost_bench */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns64/cookie.h"
#include "dns64/ratelimit.h"
#include "tests/bench/bench.h"

#define CALLS 1000000
#define RUNS 7
#define CLIENTS 4096	/* distinct /56s the calls cycle through */

static struct sockaddr_in6 clients[CLIENTS];
static volatile unsigned sink;

enum what { RL_OFF, RL_ONE, RL_TWO, RL_PARTNER, RL_VERIFIED, COOKIE_CHECK, COOKIE_MAKE, NWHAT };
static const char *const names[NWHAT] = {
	"rate limit off (no level on)",
	"rate limit, client /56 only",
	"rate limit, /56 and /48 (default)",
	"rate limit, a partner's budget",
	"rate limit, verified (cookie, TCP)",
	"cookie: check a valid one",
	"cookie: make a fresh one",
};

static double run(enum what w, struct dns64_ratelimit *rl, const uint8_t *cookies)
{
	struct dns64_rl_policy pol = { .v6_len = 56, .v4_len = 24, .slip = 2,
				       .client = { 1000000, 1000000 },
				       .enclosing = { 1000000, 1000000 },
				       .verified = { 1000000, 1000000 } };
	struct dns64_rl_partner partner = { .limit = { 1000000, 1000000 } };
	cidr_parse("2001:db8::/32", &partner.prefix, false);
	if (w == RL_OFF)
		pol.client.qps = pol.enclosing.qps = 0;
	if (w == RL_ONE)
		pol.v6_enc_len = 0;
	else
		pol.v6_enc_len = 48;
	if (w == RL_PARTNER) {
		pol.partners = &partner;
		pol.npartners = 1;
	}
	struct dns64_cookie_secrets sec = { .n = 1 };
	memset(sec.key[0], 0x42, sizeof(sec.key[0]));
	uint8_t out[24];
	bool renew;
	uint64_t t_us = 1000000;
	double t0 = bench_ns(CLOCK_THREAD_CPUTIME_ID);
	for (unsigned i = 0; i < CALLS; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&clients[i % CLIENTS];
		switch (w) {
		case COOKIE_CHECK:
			sink += dns64_cookie_check(&sec, cookies + 24 * (i % CLIENTS), 24, sa, 1000,
						   &renew);
			break;
		case COOKIE_MAKE:
			dns64_cookie_make(sec.key[0], cookies + 24 * (i % CLIENTS), sa, 1000, out);
			sink += out[23];
			break;
		default:
			sink += dns64_ratelimit_check(rl, &pol, sa, w == RL_VERIFIED, t_us).verdict;
			break;
		}
		if ((i & 1023) == 0)
			t_us += 1000;	/* the loop's clock moves on */
	}
	return (bench_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / CALLS;
}

int main(void)
{
	struct dns64_ratelimit *rl = dns64_ratelimit_new(65536);
	uint8_t *cookies = malloc(24 * CLIENTS);
	if (!rl || !cookies)
		return 1;
	struct dns64_cookie_secrets sec = { .n = 1 };
	memset(sec.key[0], 0x42, sizeof(sec.key[0]));
	for (unsigned i = 0; i < CLIENTS; i++) {
		clients[i].sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::1", &clients[i].sin6_addr);
		clients[i].sin6_addr.s6_addr[5] = (uint8_t)(i >> 8);	/* its own /48 ... */
		clients[i].sin6_addr.s6_addr[6] = (uint8_t)i;		/* ... and /56 */
		uint8_t cc[8];
		memcpy(cc, &i, sizeof(i));
		memset(cc + 4, 0x5a, 4);
		dns64_cookie_make(sec.key[0], cc, (struct sockaddr *)&clients[i], 1000,
				  cookies + 24 * i);
	}
	printf("DNS64 per-query costs: medians of %d runs of %d calls, %d client /56s\n", RUNS,
	       CALLS, CLIENTS);
	for (int w = 0; w < NWHAT; w++) {
		double t[RUNS];
		for (int r = 0; r < RUNS; r++)
			t[r] = run((enum what)w, rl, cookies);
		printf("  %-36s %6.1f ns\n", names[w], bench_median(t, RUNS));
	}
	dns64_ratelimit_free(rl);
	free(cookies);
	return sink == 0xdeadbeef;
}
