/* Micro-benchmark (not a test) of what usage accounting and the limiters
 * add per packet, beside nat64_bench.sh's end-to-end figures (which the
 * noise of a shared machine hides at the percent level):
 *
 *   - nat64_usage_count6 for one client (a flow's packets), and for packets
 *     each from another of 100,000 client /56s (the worst case: every one a
 *     cache miss in the worker's table);
 *   - the main loop's fold of those tables into the summaries, per prefix;
 *   - nat64_bw_admit with a cap and a per-client limit far above the
 *     traffic (every packet through both), one client and 100,000.
 *
 * Times are the thread's CPU time per call.
 *
 *   make tests/bench/usage_bench && tests/bench/usage_bench [MILLIONS]
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/publish.h"
#include "common/subsys.h"
#include "nat64/bwlimit.h"
#include "nat64/usage.h"
#include "nat64/usage_priv.h"

#define PREFIXES 100000u

/* The thread's CPU time, not the wall clock: on a shared machine another
 * process taking the core would count as our cost. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void client(struct in6_addr *a, uint32_t i)
{
	inet_pton(AF_INET6, "2001:db8::1", a);
	a->s6_addr[4] = (uint8_t)(i >> 16);
	a->s6_addr[5] = (uint8_t)(i >> 8);
	a->s6_addr[6] = (uint8_t)i;
}

int main(int argc, char **argv)
{
	long n = (argc > 1 ? atol(argv[1]) : 20) * 1000000L;
	log_init("usage_bench", true, LOG_LVL_WARN);
	struct config_errors errs;
	struct sixfour_config *cfg = config_load_string("bench",
		"[general]\nstate-directory =\n[stats]\nusage-log =\nclient-prefix-len = 56\n"
		"top-prefixes = 131072\n[ratelimit]\nbandwidth = 1T\nclient-bandwidth = 1T\n", &errs);
	if (!cfg) {
		fprintf(stderr, "%s\n", errs.msg[0]);
		return 1;
	}
	struct publish_domain dom;
	publish_domain_init(&dom);
	struct sixfour_ctx ctx = { .loop = evloop_new(), .cfg = cfg, .publish = &dom };
	struct nat64_usage *u = nat64_usage_new(&ctx, 1);
	struct nat64_bw *b = nat64_bw_new(&ctx, cfg, 1, 1500);
	if (!u || !b)
		return 1;
	struct nat64_usage_slot *us = nat64_usage_slot(u, 0);
	struct nat64_bw_slot *bs = nat64_bw_slot(b, 0);
	struct in6_addr *addrs = malloc(PREFIXES * sizeof(*addrs));
	/* In an order unrelated to their addresses (7919 is prime to 100,000). */
	for (uint32_t i = 0; i < PREFIXES; i++)
		client(&addrs[i], (uint32_t)((uint64_t)i * 7919 % PREFIXES));

	/* One client: the worker's last-hit cell. */
	double t0 = now_s();
	for (long i = 0; i < n; i++)
		nat64_usage_count6(us, &addrs[0], NAT64_USAGE_FROM, 1, 64);
	double one = (now_s() - t0) / (double)n * 1e9;

	/* Every packet from another of 100,000 prefixes; the main loop folds
	 * whenever the worker's table would fill (as its kick makes it do). */
	double fold = 0;
	long folds = 0;
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		nat64_usage_count6(us, &addrs[(uint32_t)i % PREFIXES], NAT64_USAGE_FROM, 1, 64);
		if (i % 24000 == 23999) {
			double f0 = now_s();
			usage_flush(u, 0);
			fold += now_s() - f0;
			folds++;
		}
	}
	double many = ((now_s() - t0) - fold) / (double)n * 1e9;
	struct hh_stats s6, s4;
	usage_period_stats(&u->p[USAGE_MONTH], &s6, &s4);

	/* The limiters, far from their limits. */
	uint8_t pkt[64] = { 0 };
	t0 = now_s();
	for (long i = 0; i < n; i++)
		nat64_bw_admit(bs, &addrs[0], pkt, sizeof(pkt), sizeof(pkt));
	double bw_one = (now_s() - t0) / (double)n * 1e9;
	t0 = now_s();
	for (long i = 0; i < n; i++)
		nat64_bw_admit(bs, &addrs[(uint32_t)i % PREFIXES], pkt, sizeof(pkt), sizeof(pkt));
	double bw_many = (now_s() - t0) / (double)n * 1e9;

	printf("usage count, one client:            %6.1f ns per packet\n", one);
	printf("usage count, 100,000 client /56s:   %6.1f ns per packet\n", many);
	printf("main loop fold:                     %6.1f ns per prefix-table entry (%ld folds)\n",
	       fold / (double)(folds * 24000) * 1e9, folds);
	printf("summaries: %u client prefixes tracked of %u, bound %llu octets\n", s6.tracked,
	       s6.capacity, (unsigned long long)s6.bound);
	printf("limits (cap + per client), one client: %6.1f ns per packet\n", bw_one);
	printf("limits, 100,000 clients:               %6.1f ns per packet\n", bw_many);
	nat64_bw_free(b);
	nat64_usage_free(u);
	free(addrs);
	config_free(cfg);
	return 0;
}
