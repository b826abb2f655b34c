/* The DNS64 state that worker threads share: the sharded answer cache
 * (never a wrong or torn answer, counters and the byte budget stay
 * consistent under concurrent hits, stores, evictions and flushes) and the
 * rate limiter (its striped locks: concurrent callers cannot together get
 * more than the budget). */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "common/util.h"
#include "dns64/cache.h"
#include "dns64/dns64_int.h"
#include "dns64/ratelimit.h"
#include "tests/unit/tap.h"

#define THREADS 4
#define ROUNDS 40000

static struct dns_query mkquery(unsigned k)
{
	char name[64];
	struct dns_query q;
	memset(&q, 0, sizeof(q));
	snprintf(name, sizeof(name), "n%u.Test.", k);
	int n = dns_name_from_text(name, q.qname);
	q.qname_len = (uint8_t)(n > 0 ? n : 0);
	memcpy(q.qname_lc, q.qname, q.qname_len);
	dns_name_lower(q.qname_lc, q.qname_len);
	q.qtype = DNS_T_AAAA;
	q.qclass = DNS_C_IN;
	q.has_edns = true;
	return q;
}

/* A response whose AAAA RDATA carries k, so a reader can tell whose it is. */
static size_t build(uint8_t *buf, size_t cap, struct dns_builder *b, const struct dns_query *q,
		    unsigned k)
{
	uint8_t rdata[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	put_be32(rdata + 12, k);
	dnsb_init(b, buf, cap, q->id, DNS_F_QR | DNS_F_RA);
	dnsb_question(b, q->qname, q->qname_len, q->qtype, q->qclass);
	dnsb_rr(b, DNS_S_AN, q->qname, q->qname_len, DNS_T_AAAA, DNS_C_IN, 300, rdata, 16);
	dnsb_opt(b, 1232, 0, false);
	return dnsb_finish(b);
}

struct cache_run {
	struct dns64_cache *c;
	unsigned names;
	_Atomic uint64_t lookups, wrong;
	_Atomic bool stop_flush;
};

static void *cache_worker(void *arg)
{
	struct cache_run *run = arg;
	static _Atomic unsigned next_id;
	unsigned id = atomic_fetch_add(&next_id, 1);
	uint8_t buf[512], out[512];
	struct dns_builder b;
	struct dns64_cached info;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (id + 1);
	for (unsigned i = 0; i < ROUNDS; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		unsigned k = (unsigned)(seed % run->names);
		struct dns_query q = mkquery(k);
		atomic_fetch_add(&run->lookups, 1);
		if (dns64_cache_lookup(run->c, &q, 1000, 1, out, sizeof(out), &info)) {
			/* The answer must be this name's, whole. */
			size_t want = build(buf, sizeof(buf), &b, &q, k);
			if (info.len != want || memcmp(out, buf, want) != 0)
				atomic_fetch_add(&run->wrong, 1);
			continue;
		}
		size_t len = build(buf, sizeof(buf), &b, &q, k);
		dns64_cache_store(run->c, &q, &b, len, false, 1, 1000);
	}
	return NULL;
}

static void *cache_flusher(void *arg)
{
	struct cache_run *run = arg;
	while (!atomic_load(&run->stop_flush)) {
		dns64_cache_flush(run->c);
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void cache_case(const char *what, uint64_t budget, unsigned names, bool flush)
{
	struct cache_run run = { .c = dns64_cache_new(budget), .names = names };
	pthread_t t[THREADS], f;
	char d[160];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, cache_worker, &run);
	if (flush)
		pthread_create(&f, NULL, cache_flusher, &run);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	if (flush) {
		atomic_store(&run.stop_flush, true);
		pthread_join(f, NULL);
	}
	struct dns64_cache_stats st;
	dns64_cache_stats(run.c, &st);
	snprintf(d, sizeof(d), "%s: every hit was the right, whole answer", what);
	is_int(atomic_load(&run.wrong), 0, d);
	snprintf(d, sizeof(d), "%s: hits + misses = lookups", what);
	is_int(st.hits + st.misses, atomic_load(&run.lookups), d);
	snprintf(d, sizeof(d), "%s: some hits (%llu)", what, (unsigned long long)st.hits);
	ok(st.hits > 0, d);
	snprintf(d, sizeof(d), "%s: within the byte budget", what);
	ok(st.bytes <= st.max_bytes, d);
	snprintf(d, sizeof(d), "%s: entries x smallest entry <= bytes", what);
	ok(st.entries * 60 <= st.bytes || st.entries == 0, d);
	dns64_cache_flush(run.c);
	dns64_cache_stats(run.c, &st);
	snprintf(d, sizeof(d), "%s: flush leaves nothing", what);
	ok(st.entries == 0 && st.bytes == 0, d);
	if (!flush && names > 10000) {
		snprintf(d, sizeof(d), "%s: a small budget evicts", what);
		ok(st.evictions > 0, d);
	}
	dns64_cache_free(run.c);
}

/* --- rate limiter --- */

struct rl_run {
	struct dns64_ratelimit *rl;
	struct dns64_rl_policy pol;
	struct sockaddr_in6 sa;
	_Atomic uint64_t allowed;
};

static void *rl_worker(void *arg)
{
	struct rl_run *run = arg;
	for (int i = 0; i < 20000; i++)
		if (dns64_ratelimit_check(run->rl, &run->pol, (const struct sockaddr *)&run->sa,
					  false, monotonic_us()).verdict == DNS64_RL_PASS)
			atomic_fetch_add(&run->allowed, 1);
	return NULL;
}

int main(void)
{
	plan(20);
	cache_case("8 MiB, 3000 names, 4 threads", 8u << 20, 3000, false);
	cache_case("2 MiB, 40000 names, 4 threads", 2u << 20, 40000, false);
	cache_case("8 MiB with a flusher", 8u << 20, 3000, true);

	/* 1000 q/s with a burst of 50, one /56 (and its /48 at 4000 q/s, a
	 * burst of 200: both budgets under the same locks), four threads at
	 * full speed. */
	struct rl_run run = { .rl = dns64_ratelimit_new(1 << 16),
		.pol = { .v6_len = 56, .v4_len = 24, .v6_enc_len = 48, .client = { 1000, 50 },
			 .enclosing = { 4000, 200 } } };
	run.sa.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1::100", &run.sa.sin6_addr);
	uint64_t t0 = monotonic_us();
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, rl_worker, &run);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	uint64_t us = monotonic_us() - t0;
	uint64_t allowed = atomic_load(&run.allowed);
	/* GCRA: at most the burst plus one per interval elapsed. */
	uint64_t limit = 51 + us / 1000 + 1;
	char d[160];
	snprintf(d, sizeof(d), "rate limit under 4 threads: %llu allowed in %llu us (limit %llu)",
		 (unsigned long long)allowed, (unsigned long long)us, (unsigned long long)limit);
	ok(allowed >= 50 && allowed <= limit, d);
	dns64_ratelimit_free(run.rl);
	return tap_done();
}
