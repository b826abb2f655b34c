/* The answer cache: keys, TTL aging, expiry, prefix generations, the byte
 * bound and flushing. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "dns64/cache.h"
#include "tests/unit/tap.h"

static struct dns_query mkquery(const char *name, uint16_t qtype, bool dnssec_ok, bool cd)
{
	struct dns_query q;
	memset(&q, 0, sizeof(q));
	int n = dns_name_from_text(name, q.qname);
	q.qname_len = (uint8_t)n;
	memcpy(q.qname_lc, q.qname, (size_t)n);
	dns_name_lower(q.qname_lc, (size_t)n);
	q.qtype = qtype;
	q.qclass = DNS_C_IN;
	q.edns_do = dnssec_ok;
	q.flags = cd ? DNS_F_CD : 0;
	q.has_edns = true;
	return q;
}

/* A response with two records of the given TTLs, built like the engine. */
static size_t build(uint8_t *buf, size_t cap, struct dns_builder *b, const struct dns_query *q,
		    uint32_t ttl1, uint32_t ttl2)
{
	dnsb_init(b, buf, cap, q->id, DNS_F_QR | DNS_F_RA);
	dnsb_question(b, q->qname, q->qname_len, q->qtype, q->qclass);
	dnsb_rr(b, DNS_S_AN, q->qname, q->qname_len, DNS_T_AAAA, DNS_C_IN, ttl1,
		(const uint8_t *)"0123456789abcdef", 16);
	dnsb_rr(b, DNS_S_AN, q->qname, q->qname_len, DNS_T_AAAA, DNS_C_IN, ttl2,
		(const uint8_t *)"fedcba9876543210", 16);
	dnsb_opt(b, 1232, 0, q->edns_do);
	return dnsb_finish(b);
}

int main(void)
{
	plan(25);
	struct dns64_cache *c = dns64_cache_new(1 << 20);
	uint8_t buf[1024], out[1024];
	struct dns_builder b;
	struct dns64_cached info;
	struct dns_query q = mkquery("www.Example.", DNS_T_AAAA, false, false);
	size_t len = build(buf, sizeof(buf), &b, &q, 300, 60);

	ok(!dns64_cache_lookup(c, &q, 1000, 1, out, sizeof(out), &info), "empty: miss");
	dns64_cache_store(c, &q, &b, len, true, 1, 1000);
	ok(dns64_cache_lookup(c, &q, 1000, 1, out, sizeof(out), &info), "stored: hit");
	is_int(info.len, len, "same length");
	ok(memcmp(out, buf, len) == 0, "same octets right away");
	ok(info.secure, "the secure flag is kept");
	is_int(info.opt_off, b.opt_off, "OPT offset kept");
	is_int(info.question_end, b.question_end, "question end kept");

	struct dns_query upper = mkquery("WWW.EXAMPLE.", DNS_T_AAAA, false, false);
	ok(dns64_cache_lookup(c, &upper, 1000, 1, out, sizeof(out), &info),
	   "the key ignores case");
	struct dns_query q_do = mkquery("www.example.", DNS_T_AAAA, true, false);
	ok(!dns64_cache_lookup(c, &q_do, 1000, 1, out, sizeof(out), &info), "DO is in the key");
	struct dns_query q_cd = mkquery("www.example.", DNS_T_AAAA, false, true);
	ok(!dns64_cache_lookup(c, &q_cd, 1000, 1, out, sizeof(out), &info), "CD is in the key");
	struct dns_query q_a = mkquery("www.example.", DNS_T_A, false, false);
	ok(!dns64_cache_lookup(c, &q_a, 1000, 1, out, sizeof(out), &info), "qtype is in the key");

	/* 10.5 s later: TTLs 300 and 60 read 290 and 50. */
	ok(dns64_cache_lookup(c, &q, 11500, 1, out, sizeof(out), &info), "still there at +10.5 s");
	is_int(get_be32(out + b.ttl_off[0]), 290, "first TTL aged by 10 s");
	is_int(get_be32(out + b.ttl_off[1]), 50, "second TTL aged by 10 s");
	ok(!dns64_cache_lookup(c, &q, 61000, 1, out, sizeof(out), &info),
	   "gone when the smallest TTL runs out");

	dns64_cache_store(c, &q, &b, len, false, 1, 1000);
	ok(!dns64_cache_lookup(c, &q, 2000, 2, out, sizeof(out), &info),
	   "a new prefix generation drops prefix-dependent entries");
	dns64_cache_store(c, &q, &b, len, false, 0, 1000);
	ok(dns64_cache_lookup(c, &q, 2000, 7, out, sizeof(out), &info),
	   "entries independent of the prefix set survive");

	size_t zlen = build(buf, sizeof(buf), &b, &q_a, 0, 60);
	dns64_cache_store(c, &q_a, &b, zlen, false, 0, 1000);
	ok(!dns64_cache_lookup(c, &q_a, 1000, 1, out, sizeof(out), &info), "TTL 0 is not cached");

	struct dns64_cache_stats st;
	dns64_cache_stats(c, &st);
	ok(st.entries == 1 && st.bytes > len, "stats count entries and bytes");
	dns64_cache_flush(c);
	dns64_cache_stats(c, &st);
	ok(st.entries == 0 && st.bytes == 0, "flush empties it");
	dns64_cache_free(c);

	/* A budget for about three entries: the least recently used goes. */
	c = dns64_cache_new(3 * (len + 128));
	char name[32];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "n%d.example.", i);
		struct dns_query qi = mkquery(name, DNS_T_AAAA, false, false);
		size_t l = build(buf, sizeof(buf), &b, &qi, 300, 300);
		dns64_cache_store(c, &qi, &b, l, false, 0, 1000);
		if (i == 1) {
			struct dns_query q0 = mkquery("n0.example.", DNS_T_AAAA, false, false);
			dns64_cache_lookup(c, &q0, 1000, 0, out, sizeof(out), &info);
		}
	}
	dns64_cache_stats(c, &st);
	ok(st.bytes <= st.max_bytes, "never above the byte budget");
	ok(st.evictions >= 5 && st.entries <= 4, "older entries were evicted");
	struct dns_query q9 = mkquery("n9.example.", DNS_T_AAAA, false, false);
	ok(dns64_cache_lookup(c, &q9, 1000, 0, out, sizeof(out), &info), "the newest is there");
	struct dns_query q2 = mkquery("n2.example.", DNS_T_AAAA, false, false);
	ok(!dns64_cache_lookup(c, &q2, 1000, 0, out, sizeof(out), &info), "an old one is gone");
	dns64_cache_free(c);

	c = dns64_cache_new(0);
	len = build(buf, sizeof(buf), &b, &q, 300, 300);
	dns64_cache_store(c, &q, &b, len, false, 0, 1000);
	ok(!dns64_cache_lookup(c, &q, 1000, 0, out, sizeof(out), &info), "cache-size 0 disables it");
	dns64_cache_free(c);
	return tap_done();
}
