/* Micro-benchmark of the translator's packet core (not a test): ns per
 * packet for determine + translate, both directions, small and large
 * packets, against the alternative of recomputing the L4 checksum over the
 * whole packet instead of the RFC 1624 update. Medians of 5 runs.
 *
 *   make tests/bench/xlate_bench && ./tests/bench/xlate_bench */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/rfc6052.h"
#include "nat64/checksum.h"
#include "nat64/xlate.h"
#include "tests/bench/bench.h"

#define ROUNDS 200000
#define RUNS 5

/* An IPv6 TCP packet to 64:ff9b::192.88.99.80 with `payload` octets. */
static size_t build6(uint8_t *p, size_t payload)
{
	size_t plen = 20 + payload;
	memset(p, 0, 40 + plen);
	p[0] = 0x60;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = IPPROTO_TCP;
	p[7] = 64;
	inet_pton(AF_INET6, "2001:db8:1::100", p + 8);
	inet_pton(AF_INET6, "64:ff9b::c058:6350", p + 24);
	uint8_t *t = p + 40;
	t[0] = 0x9c; t[1] = 0x40; t[3] = 80; t[12] = 0x50; t[13] = 0x10;
	for (size_t i = 0; i < payload; i++)
		t[20 + i] = (uint8_t)i;
	struct in6_addr s, d;
	memcpy(&s, p + 8, 16);
	memcpy(&d, p + 24, 16);
	uint32_t sum = nat64_csum_pseudo6(&s, &d, (uint32_t)plen, IPPROTO_TCP);
	uint16_t c = nat64_csum_finish(nat64_csum_add(sum, t, plen));
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
	return 40 + plen;
}

static double run(const struct nat64_xlate_cfg *cfg, const uint8_t *p, size_t len, bool full,
		  uint8_t *buf, size_t cap)
{
	struct nat64_tuple ot = { .family = AF_INET, .proto = IPPROTO_TCP, .sport = 61001,
				  .dport = 80 };
	inet_pton(AF_INET, "198.51.100.1", &ot.src.v4);
	inet_pton(AF_INET, "192.88.99.80", &ot.dst.v4);
	double t0 = bench_ns(CLOCK_MONOTONIC);
	volatile uint32_t sink = 0;
	for (int i = 0; i < ROUNDS; i++) {
		struct nat64_pkt pkt;
		struct nat64_tuple in;
		struct nat64_out out = { .buf = buf, .cap = cap };
		if (nat64_determine_tuple6(cfg, p, len, &pkt, &in) != NAT64_CONTINUE ||
		    nat64_translate_6to4(cfg, &pkt, &ot, &out) != NAT64_CONTINUE)
			abort();
		if (full) {
			/* The alternative: checksum the whole segment again. */
			uint8_t *t = buf + 20;
			size_t l = out.len - 20;
			t[16] = t[17] = 0;
			uint32_t s = nat64_csum_pseudo4(ot.src.v4, ot.dst.v4, (uint16_t)l, IPPROTO_TCP);
			uint16_t c = nat64_csum_finish(nat64_csum_add(s, t, l));
			t[16] = (uint8_t)(c >> 8);
			t[17] = (uint8_t)c;
		}
		sink += buf[37];
	}
	(void)sink;
	return (bench_ns(CLOCK_MONOTONIC) - t0) / ROUNDS;
}

int main(void)
{
	struct prefix_set *set = prefix_set_alloc(1);
	set->prefixes[0].addr = rfc6052_wkp;
	set->prefixes[0].len = 96;
	set->prefixes[0].roles = PREFIX_ROLE_TRANSLATE;
	uint32_t id = 1;
	struct nat64_xlate_cfg cfg = { .prefixes = set, .ipv4_id_next = &id };
	static uint8_t p[70000], buf[NAT64_OUT_BUF_MIN];
	static const size_t sizes[] = { 6, 1400, 65000 };
	printf("# determine + translate 6to4 TCP, ns/packet (median of %d x %d)\n", RUNS, ROUNDS);
	printf("%-10s %12s %12s %8s\n", "payload", "incremental", "full-sum", "ratio");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = build6(p, sizes[k]);
		double inc[RUNS], full[RUNS];
		for (int r = 0; r < RUNS; r++) {
			inc[r] = run(&cfg, p, len, false, buf, sizeof(buf));
			full[r] = run(&cfg, p, len, true, buf, sizeof(buf));
		}
		double mi = bench_median(inc, RUNS), mf = bench_median(full, RUNS);
		printf("%-10zu %12.1f %12.1f %8.2f\n", sizes[k], mi, mf, mf / mi);
	}
	prefix_set_free(set);
	return 0;
}
