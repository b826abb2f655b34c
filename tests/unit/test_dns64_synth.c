/* RFC 6147 rules (sections 5.1.4-5.1.8, 5.3.1) and RFC 8880 as pure
 * functions. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "dns64/synth.h"
#include "tests/unit/tap.h"

#define SYNTH_ASSERTIONS 61

static const uint8_t www[] = "\003www\007example";	/* 13 octets with the root */
static const uint8_t alias[] = "\005alias\005other";	/* 13 */
static const uint8_t zone[] = "\007example";		/* 9 */

static struct prefix_info mkprefix(const char *name, const char *addr, unsigned len)
{
	struct prefix_info p;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	inet_pton(AF_INET6, addr, &p.addr);
	p.len = (uint8_t)len;
	p.roles = PREFIX_ROLE_SYNTHESIZE;
	p.active = true;
	return p;
}

static void add_a(struct dns_msg *m, const uint8_t *owner, size_t olen, const char *v4, uint32_t ttl)
{
	struct in_addr a;
	inet_pton(AF_INET, v4, &a);
	dns_msg_add(m, DNS_S_AN, owner, olen, DNS_T_A, DNS_C_IN, ttl, (const uint8_t *)&a, 4);
}

static void add_aaaa(struct dns_msg *m, const char *v6)
{
	struct in6_addr a;
	inet_pton(AF_INET6, v6, &a);
	dns_msg_add(m, DNS_S_AN, www, sizeof(www), DNS_T_AAAA, DNS_C_IN, 300, a.s6_addr, 16);
}

static void add_soa(struct dns_msg *m, uint32_t ttl, uint32_t minimum)
{
	uint8_t rd[64];
	size_t o = 0;
	memcpy(rd, "\002ns\007example", 12);
	o += 12;
	memcpy(rd + o, "\004host\007example", 14);
	o += 14;
	const uint32_t f[5] = { 1, 2, 3, 4, minimum };
	for (int i = 0; i < 5; i++, o += 4)
		put_be32(rd + o, f[i]);
	dns_msg_add(m, DNS_S_NS, zone, sizeof(zone), DNS_T_SOA, DNS_C_IN, ttl, rd, (uint16_t)o);
}

static char *aaaa_text(const struct dns_msg *m, size_t i, char *buf)
{
	inet_ntop(AF_INET6, dns_rr_rdata(m, &m->rr[i]), buf, INET6_ADDRSTRLEN);
	return buf;
}

static void test_exclude(void)
{
	struct cidr ex[2];
	cidr_parse("::ffff:0:0/96", &ex[0], false);
	cidr_parse("2001:db8::/32", &ex[1], false);
	struct dns64_policy pol = { .exclude = ex, .nexclude = 2 };
	struct dns_msg m;
	dns_msg_init(&m);
	ok(!dns64_has_usable_aaaa(&m, &pol), "no AAAA: nothing usable");
	add_aaaa(&m, "::ffff:192.0.2.1");
	add_aaaa(&m, "2001:db8::1");
	ok(!dns64_has_usable_aaaa(&m, &pol), "only excluded AAAA: nothing usable (5.1.4)");
	add_aaaa(&m, "3fff::1");
	ok(dns64_has_usable_aaaa(&m, &pol), "one AAAA outside exclude: usable");
	/* The public-service profile: 0::/3, 4000::/2, 8000::/1 too. */
	struct cidr pub[4];
	cidr_parse("0::/3", &pub[0], false);
	cidr_parse("4000::/2", &pub[1], false);
	cidr_parse("8000::/1", &pub[2], false);
	cidr_parse("2001:db8::/32", &pub[3], false);
	struct dns64_policy ppol = { .exclude = pub, .nexclude = 4 };
	struct in6_addr a;
	inet_pton(AF_INET6, "2a00:1450::1", &a);
	ok(!dns64_aaaa_excluded(&ppol, &a), "public profile: 2000::/3 global unicast counts");
	inet_pton(AF_INET6, "fd00::1", &a);
	ok(dns64_aaaa_excluded(&ppol, &a), "public profile: ULA is excluded");
	inet_pton(AF_INET6, "2001:db8::5", &a);
	ok(dns64_aaaa_excluded(&ppol, &a), "public profile: documentation is excluded");
	dns_msg_free(&m);
}

static void test_negative_ttl(void)
{
	struct dns_msg m;
	dns_msg_init(&m);
	is_int(dns64_negative_ttl(&m), 600, "no SOA: 600 s (5.1.7)");
	add_soa(&m, 3600, 300);
	is_int(dns64_negative_ttl(&m), 300, "SOA MINIMUM smaller than its TTL");
	dns_msg_free(&m);
	dns_msg_init(&m);
	add_soa(&m, 120, 900);
	is_int(dns64_negative_ttl(&m), 120, "SOA TTL smaller than MINIMUM (RFC 2308 5)");
	dns_msg_free(&m);
}

static void test_synthesize(void)
{
	struct prefix_info p1 = mkprefix("wkp", "64:ff9b::", 96);
	struct prefix_info p2 = mkprefix("site2", "2001:db8:64::", 96);
	struct prefix_info p3 = mkprefix("short", "2001:db8:100::", 40);
	const struct prefix_info *both[] = { &p1, &p2 };
	struct cidr all;
	cidr_parse("0.0.0.0/0", &all, false);
	struct dns64_policy pol = { .mapped = &all, .nmapped = 1 };
	struct dns_msg aaaa, a, out;
	char t[INET6_ADDRSTRLEN];

	dns_msg_init(&aaaa);
	add_soa(&aaaa, 300, 300);
	dns_msg_init(&a);
	memcpy(a.qname, www, sizeof(www));
	a.qname_len = sizeof(www);
	a.qtype = DNS_T_A;
	a.qclass = DNS_C_IN;
	add_a(&a, www, sizeof(www), "192.88.99.80", 3600);
	add_a(&a, www, sizeof(www), "192.88.99.81", 60);
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &a, both, 2, &pol, &out), 4,
	       "two A x two prefixes: four AAAA");
	is_str(aaaa_text(&out, 0, t), "64:ff9b::c058:6350", "first A, first prefix");
	is_str(aaaa_text(&out, 1, t), "2001:db8:64::c058:6350", "first A, second prefix");
	is_str(aaaa_text(&out, 3, t), "2001:db8:64::c058:6351", "second A, second prefix");
	is_int(out.rr[0].ttl, 300, "TTL = min(A 3600, SOA 300) (5.1.7)");
	is_int(out.rr[2].ttl, 60, "TTL = min(A 60, SOA 300)");
	is_int(out.qtype, DNS_T_AAAA, "the answer is for AAAA");
	ok(dns_name_equal(dns_rr_name(&out, &out.rr[0]), out.rr[0].name_len, www, sizeof(www)),
	   "owner is the A record's owner");
	dns_msg_free(&out);

	/* RFC 6052 2.2: a /40 puts the u octet (bits 64-71) at zero. */
	const struct prefix_info *shortp[] = { &p3 };
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &a, shortp, 1, &pol, &out), 2, "a /40 prefix");
	is_str(aaaa_text(&out, 0, t), "2001:db8:1c0:5863:50::", "/40 embedding skips the u octet");
	dns_msg_free(&out);

	/* max-synthesized caps the records, A-major so every prefix stays. */
	pol.max_synthesized = 3;
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &a, both, 2, &pol, &out), 3, "cap of 3 honoured");
	pol.max_synthesized = 0;
	dns_msg_free(&out);

	/* mapped: only these IPv4 addresses are synthesized. */
	struct cidr only81;
	cidr_parse("192.88.99.81/32", &only81, false);
	struct dns64_policy mpol = { .mapped = &only81, .nmapped = 1 };
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &a, both, 2, &mpol, &out), 2, "mapped limits the A records");
	is_str(aaaa_text(&out, 0, t), "64:ff9b::c058:6351", "... to the one allowed");
	dns_msg_free(&out);

	/* RFC 6052 3.1: never a non-global IPv4 under the WKP. */
	struct dns_msg apriv;
	dns_msg_init(&apriv);
	memcpy(apriv.qname, www, sizeof(www));
	apriv.qname_len = sizeof(www);
	add_a(&apriv, www, sizeof(www), "10.1.2.3", 300);
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &apriv, both, 2, &pol, &out), 1,
	       "RFC 1918 address: only the network-specific prefix");
	is_str(aaaa_text(&out, 0, t), "2001:db8:64::a01:203", "... which may carry it");
	dns_msg_free(&out);
	const struct prefix_info *wkp_only[] = { &p1 };
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &apriv, wkp_only, 1, &pol, &out), 0,
	       "RFC 1918 address and only the WKP: nothing (send the AAAA answer)");
	dns_msg_free(&out);
	dns_msg_free(&apriv);

	/* CNAME chain: kept in order, AAAA at the end of it. */
	struct dns_msg ac;
	dns_msg_init(&ac);
	memcpy(ac.qname, alias, sizeof(alias));
	ac.qname_len = sizeof(alias);
	dns_msg_add(&ac, DNS_S_AN, alias, sizeof(alias), DNS_T_CNAME, DNS_C_IN, 100, www, sizeof(www));
	add_a(&ac, www, sizeof(www), "192.88.99.80", 300);
	/* RRSIGs of the A response are not carried into synthesized data. */
	dns_msg_add(&ac, DNS_S_AN, www, sizeof(www), DNS_T_RRSIG, DNS_C_IN, 300,
		    (const uint8_t *)"sig", 3);
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &ac, wkp_only, 1, &pol, &out), 1, "CNAME chain synthesized");
	is_int(out.nrr, 2, "CNAME + AAAA, no RRSIG");
	is_int(out.rr[0].type, DNS_T_CNAME, "the CNAME comes first (5.1.8)");
	is_int(out.rr[0].ttl, 100, "... with its own TTL");
	is_int(out.rr[1].type, DNS_T_AAAA, "then the AAAA");
	ok(dns_name_equal(dns_rr_name(&out, &out.rr[1]), out.rr[1].name_len, www, sizeof(www)),
	   "owned by the chain's target");
	dns_msg_free(&out);
	dns_msg_free(&ac);

	/* 5.1.6: an error or an empty A answer means no synthesis. */
	a.flags = DNS_R_SERVFAIL;
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &a, both, 2, &pol, &out), 0, "A SERVFAIL: nothing");
	dns_msg_free(&out);
	a.flags = 0;
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa, &a, both, 0, &pol, &out), 0, "no active prefix: nothing");
	dns_msg_free(&out);
	dns_msg_free(&a);
	dns_msg_free(&aaaa);

	/* No cap unless one is set: the whole RRset (RFC 2181 5.1). */
	struct dns_msg a40, aaaa0;
	dns_msg_init(&a40);
	dns_msg_init(&aaaa0);
	memcpy(a40.qname, www, sizeof(www));
	a40.qname_len = sizeof(www);
	for (int i = 0; i < 40; i++) {
		char v4[32];
		snprintf(v4, sizeof(v4), "192.88.99.%d", 100 + i);
		add_a(&a40, www, sizeof(www), v4, 300);
	}
	dns_msg_init(&out);
	is_int(dns64_synthesize(&aaaa0, &a40, both, 2, &pol, &out), 80,
	       "no cap: 40 A x 2 prefixes = 80 AAAA");
	is_int(out.nrr, 80, "... all of them in the answer");
	dns_msg_free(&out);
	dns_msg_free(&a40);
}

/* 5.1.4: excluded AAAA records leave a mixed RRset, and so does its RRSIG. */
static void test_filter(void)
{
	struct cidr ex[2];
	cidr_parse("::ffff:0:0/96", &ex[0], false);
	cidr_parse("2001:db8::/32", &ex[1], false);
	struct dns64_policy pol = { .exclude = ex, .nexclude = 2 };
	struct dns_msg m, out;
	char t[INET6_ADDRSTRLEN];
	dns_msg_init(&m);
	add_aaaa(&m, "::ffff:192.88.99.80");
	add_aaaa(&m, "3fff:0:99::80");
	add_aaaa(&m, "2001:db8:dead::1");
	uint8_t sig[2] = { 0, DNS_T_AAAA };
	dns_msg_add(&m, DNS_S_AN, www, sizeof(www), DNS_T_RRSIG, DNS_C_IN, 300, sig, 2);
	uint8_t sig_a[2] = { 0, DNS_T_A };
	dns_msg_add(&m, DNS_S_AN, zone, sizeof(zone), DNS_T_RRSIG, DNS_C_IN, 300, sig_a, 2);
	add_soa(&m, 300, 300);
	ok(dns64_has_usable_aaaa(&m, &pol), "a mixed RRset has a usable record");
	dns_msg_init(&out);
	is_int(dns64_filter_excluded(&m, &pol, &out), 3,
	       "two excluded AAAA and the RRSIG over the RRset removed");
	is_int(out.nrr, 3, "the usable AAAA, the unrelated RRSIG and the SOA stay");
	is_str(aaaa_text(&out, 0, t), "3fff:0:99::80", "... the usable AAAA first");
	is_int(out.rr[1].type, DNS_T_RRSIG, "... an RRSIG over another owner's A stays");
	is_int(out.rr[2].section, DNS_S_NS, "... the authority section is kept");
	dns_msg_free(&out);
	dns_msg_free(&m);
	dns_msg_init(&m);
	add_aaaa(&m, "3fff:0:99::80");
	dns_msg_add(&m, DNS_S_AN, www, sizeof(www), DNS_T_RRSIG, DNS_C_IN, 300, sig, 2);
	dns_msg_init(&out);
	is_int(dns64_filter_excluded(&m, &pol, &out), 0, "nothing excluded: nothing removed");
	is_int(out.nrr, 2, "... the RRSIG stays with its RRset");
	dns_msg_free(&out);
	dns_msg_free(&m);
}

/* dns64_ptr_target on the ip6.arpa NAME: its result, and the in-addr.arpa
 * name it made in TEXT ("none" when it made none). */
static int ptr_of(const struct prefix_set *set, const char *name, char *text, size_t size)
{
	uint8_t qn[DNS_NAME_MAX], target[DNS_NAME_MAX];
	int n = dns_name_from_text(name, qn);
	int t = dns64_ptr_target(qn, (size_t)n, set, target);
	snprintf(text, size, "none");
	if (t > 0)
		dns_name_to_text(target, (size_t)t, text, size);
	return t;
}

static void test_ptr(void)
{
	struct prefix_set *set = prefix_set_alloc(3);
	set->prefixes[0] = mkprefix("wkp", "64:ff9b::", 96);
	set->prefixes[1] = mkprefix("drained", "2001:db8:65::", 96);
	set->prefixes[1].active = false;
	set->prefixes[2] = mkprefix("site64", "2001:db8:aa00::", 64);
	char text[300];
	ok(ptr_of(set, "0.5.3.6.8.5.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa.",
		  text, sizeof(text)) > 0, "ip6.arpa name inside the WKP");
	is_str(text, "80.99.88.192.in-addr.arpa.", "... maps to the in-addr.arpa name");
	ptr_of(set, "1.5.3.6.8.5.0.C.0.0.0.0.0.0.0.0.0.0.0.0.5.6.0.0.8.B.D.0.1.0.0.2.IP6.ARPA.",
	       text, sizeof(text));
	is_str(text, "81.99.88.192.in-addr.arpa.", "a drained prefix still answers PTR (upper case)");
	/* /64: 192.88.99.80 sits in octets 9-12 after the u octet. */
	ok(ptr_of(set, "0.0.0.0.0.0.0.5.3.6.8.5.0.c.0.0.0.0.0.0.0.0.a.a.8.b.d.0.1.0.0.2.ip6.arpa.",
		  text, sizeof(text)) > 0, "a /64 prefix");
	is_str(text, "80.99.88.192.in-addr.arpa.", "... extracts around the u octet");
	is_int(ptr_of(set, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
		      text, sizeof(text)), 0, "an address outside every prefix");
	is_int(ptr_of(set, "b.9.f.f.4.6.0.0.ip6.arpa.", text, sizeof(text)), 0,
	       "a partial name is not synthesized");
	is_int(ptr_of(set, "0.5.3.6.8.5.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.xx.ip6.arpa.",
		      text, sizeof(text)), 0, "a label that is not a nibble");
	prefix_set_free(set);
}

static void test_ipv4only(void)
{
	struct prefix_info p1 = mkprefix("wkp", "64:ff9b::", 96);
	struct prefix_info p2 = mkprefix("site2", "2001:db8:64::", 96);
	const struct prefix_info *both[] = { &p1, &p2 };
	uint8_t qn[DNS_NAME_MAX];
	char t[INET6_ADDRSTRLEN];
	int n = dns_name_from_text("IPv4only.Arpa.", qn);
	uint8_t lc[DNS_NAME_MAX];
	memcpy(lc, qn, (size_t)n);
	dns_name_lower(lc, (size_t)n);
	ok(dns64_is_ipv4only(lc, (size_t)n), "ipv4only.arpa is ours");
	struct dns_msg m;
	dns_msg_init(&m);
	is_int(dns64_ipv4only_answer(qn, (size_t)n, DNS_T_AAAA, both, 2, &m), DNS_R_NOERROR,
	       "AAAA: NOERROR");
	is_int(m.nrr, 4, "two addresses x two prefixes");
	is_str(aaaa_text(&m, 0, t), "64:ff9b::c000:aa", "192.0.0.170 under the WKP (RFC 7050)");
	is_str(aaaa_text(&m, 3, t), "2001:db8:64::c000:ab", "192.0.0.171 under site2");
	dns_msg_free(&m);
	dns_msg_init(&m);
	dns64_ipv4only_answer(qn, (size_t)n, DNS_T_A, both, 2, &m);
	ok(m.nrr == 2 && m.rr[0].type == DNS_T_A && memcmp(dns_rr_rdata(&m, &m.rr[1]),
							   "\300\000\000\253", 4) == 0,
	   "A: 192.0.0.170 and .171");
	dns_msg_free(&m);
	dns_msg_init(&m);
	is_int(dns64_ipv4only_answer(qn, (size_t)n, DNS_T_MX, both, 2, &m), DNS_R_NOERROR,
	       "MX: NODATA");
	ok(m.nrr == 1 && m.rr[0].type == DNS_T_SOA && m.rr[0].section == DNS_S_NS,
	   "... with a SOA in authority");
	dns_msg_free(&m);
	n = dns_name_from_text("x.ipv4only.arpa.", qn);
	dns_msg_init(&m);
	is_int(dns64_ipv4only_answer(qn, (size_t)n, DNS_T_AAAA, both, 2, &m), DNS_R_NXDOMAIN,
	       "below ipv4only.arpa: NXDOMAIN");
	dns_msg_free(&m);
	n = dns_name_from_text("notipv4only.arpa.", qn);
	ok(!dns64_is_ipv4only(qn, (size_t)n), "notipv4only.arpa is not");
}

int main(void)
{
	plan(SYNTH_ASSERTIONS);
	test_exclude();
	test_negative_ttl();
	test_synthesize();
	test_filter();
	test_ptr();
	test_ipv4only();
	return tap_done();
}
