/* RFC 6147 section 5 (DNS64 synthesis), RFC 8880 (ipv4only.arpa). */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "common/util.h"
#include "dns64/synth.h"

bool dns64_aaaa_excluded(const struct dns64_policy *pol, const struct in6_addr *a)
{
	for (size_t i = 0; i < pol->nexclude; i++)
		if (pol->exclude[i].family == AF_INET6 && cidr_contains_v6(&pol->exclude[i], a))
			return true;
	return false;
}

static bool v4_mapped_allowed(const struct dns64_policy *pol, struct in_addr v4)
{
	for (size_t i = 0; i < pol->nmapped; i++)
		if (pol->mapped[i].family == AF_INET && cidr_contains_v4(&pol->mapped[i], v4))
			return true;
	return false;
}

/* An IN AAAA record of the answer section, and its address. */
static bool answer_aaaa(const struct dns_msg *m, const struct dns_rr *rr, struct in6_addr *a)
{
	if (rr->section != DNS_S_AN || rr->type != DNS_T_AAAA || rr->rclass != DNS_C_IN ||
	    rr->rdlen != 16)
		return false;
	memcpy(a, dns_rr_rdata(m, rr), 16);
	return true;
}

static bool excluded_aaaa(const struct dns_rr *rr, const struct dns_msg *m,
			  const struct dns64_policy *pol)
{
	struct in6_addr a;
	return answer_aaaa(m, rr, &a) && dns64_aaaa_excluded(pol, &a);
}

bool dns64_has_usable_aaaa(const struct dns_msg *m, const struct dns64_policy *pol)
{
	struct in6_addr a;
	for (size_t i = 0; i < m->nrr; i++)
		if (answer_aaaa(m, &m->rr[i], &a) && !dns64_aaaa_excluded(pol, &a))
			return true;
	return false;
}

uint32_t dns64_negative_ttl(const struct dns_msg *m)
{
	for (size_t i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];
		if (rr->section != DNS_S_NS || rr->type != DNS_T_SOA || rr->rdlen < 22)
			continue;
		/* MINIMUM is the last of the five 32-bit fields. */
		uint32_t minimum = get_be32(dns_rr_rdata(m, rr) + rr->rdlen - 4);
		return MIN(rr->ttl, minimum);
	}
	return DNS64_DEFAULT_NEG_TTL;
}

/* An RRSIG (RFC 4034 3.1) whose Type Covered is AAAA, owned by `owner`. */
static bool covers_aaaa_of(const struct dns_msg *m, const struct dns_rr *rr,
			   const uint8_t *owner, size_t olen)
{
	return rr->section == DNS_S_AN && rr->type == DNS_T_RRSIG && rr->rdlen >= 2 &&
	       get_be16(dns_rr_rdata(m, rr)) == DNS_T_AAAA &&
	       dns_name_equal(dns_rr_name(m, rr), rr->name_len, owner, olen);
}

int dns64_filter_excluded(const struct dns_msg *in, const struct dns64_policy *pol,
			  struct dns_msg *out)
{
	out->id = in->id;
	out->flags = in->flags;
	memcpy(out->qname, in->qname, in->qname_len);
	out->qname_len = in->qname_len;
	out->qtype = in->qtype;
	out->qclass = in->qclass;
	out->has_edns = in->has_edns;
	out->edns_do = in->edns_do;
	int removed = 0;
	for (size_t i = 0; i < in->nrr; i++) {
		const struct dns_rr *rr = &in->rr[i];
		if (excluded_aaaa(rr, in, pol)) {
			removed++;
			continue;
		}
		bool stale_sig = false;
		for (size_t j = 0; j < in->nrr && !stale_sig; j++)
			stale_sig = excluded_aaaa(&in->rr[j], in, pol) &&
				    covers_aaaa_of(in, rr, dns_rr_name(in, &in->rr[j]),
						   in->rr[j].name_len);
		if (stale_sig) {
			removed++;
			continue;
		}
		if (dns_msg_add(out, rr->section, dns_rr_name(in, rr), rr->name_len, rr->type,
				rr->rclass, rr->ttl, dns_rr_rdata(in, rr), rr->rdlen))
			return -ENOMEM;
	}
	return removed;
}

int dns64_synthesize(const struct dns_msg *aaaa, const struct dns_msg *a,
		     const struct prefix_info *const *prefixes, size_t nprefixes,
		     const struct dns64_policy *pol, struct dns_msg *out)
{
	uint32_t neg_ttl = dns64_negative_ttl(aaaa);
	out->flags = a->flags & ~DNS_F_RCODE;
	memcpy(out->qname, a->qname, a->qname_len);
	out->qname_len = a->qname_len;
	out->qtype = DNS_T_AAAA;
	out->qclass = a->qclass;
	/* 5.1.5 and 5.1.6: an error or an empty A answer means no synthesis. */
	if (dns_msg_rcode(a) != DNS_R_NOERROR)
		return 0;
	for (size_t i = 0; i < a->nrr; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (rr->section != DNS_S_AN || (rr->type != DNS_T_CNAME && rr->type != DNS_T_DNAME))
			continue;
		/* 5.1.8 (the DNAME/CNAME chain is kept as it came). */
		if (dns_msg_add(out, DNS_S_AN, dns_rr_name(a, rr), rr->name_len, rr->type,
				rr->rclass, rr->ttl, dns_rr_rdata(a, rr), rr->rdlen))
			return -ENOMEM;
	}
	/* RRsets are never cut (RFC 2181 5.1): a response too large for the
	 * client's UDP size gets TC=1 on the way out, TCP carries it whole. */
	unsigned cap = pol->max_synthesized ? pol->max_synthesized : UINT_MAX;
	int made = 0;
	for (size_t i = 0; i < a->nrr && (unsigned)made < cap; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (rr->section != DNS_S_AN || rr->type != DNS_T_A || rr->rclass != DNS_C_IN ||
		    rr->rdlen != 4)
			continue;
		struct in_addr v4;
		memcpy(&v4.s_addr, dns_rr_rdata(a, rr), 4);
		if (!v4_mapped_allowed(pol, v4))
			continue;
		/* 5.1.7: the smaller of the A record's TTL and the SOA's. */
		uint32_t ttl = MIN(rr->ttl, neg_ttl);
		for (size_t p = 0; p < nprefixes && (unsigned)made < cap; p++) {
			const struct prefix_info *pi = prefixes[p];
			struct in6_addr v6;
			if (!rfc6052_may_embed(&pi->addr, pi->len, v4) ||
			    rfc6052_embed(&pi->addr, pi->len, v4, &v6) != 0)
				continue;
			if (dns_msg_add(out, DNS_S_AN, dns_rr_name(a, rr), rr->name_len, DNS_T_AAAA,
					DNS_C_IN, ttl, v6.s6_addr, 16))
				return -ENOMEM;
			made++;
		}
	}
	return made;
}

/* --- PTR (5.3.1) --- */

static const uint8_t ip6_arpa[] = "\003ip6\004arpa";		/* + the root's 0 */
static const uint8_t in_addr_arpa[] = "\007in-addr\004arpa";

int dns64_ptr_target(const uint8_t *qname, size_t qlen, const struct prefix_set *set,
		     uint8_t *target)
{
	/* 32 one-nibble labels (64 octets) then ip6.arpa. (10 octets). */
	if (qlen != 64 + sizeof(ip6_arpa) ||
	    !dns_name_equal(qname + 64, sizeof(ip6_arpa), ip6_arpa, sizeof(ip6_arpa)))
		return 0;
	struct in6_addr addr;
	memset(&addr, 0, sizeof(addr));
	for (int i = 0; i < 32; i++) {
		if (qname[2 * i] != 1)
			return 0;
		int v = dns_hex_digit(qname[2 * i + 1]);
		if (v < 0)
			return 0;
		/* The first label is the lowest nibble of the address. */
		int nib = 31 - i;
		addr.s6_addr[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
	}
	const struct prefix_info *p =
		prefix_set_find(set, &addr, 0);
	struct in_addr v4;
	if (!p || rfc6052_extract(&addr, p->len, &v4) != 0)
		return 0;
	const uint8_t *b = (const uint8_t *)&v4.s_addr;
	size_t o = 0;
	for (int i = 3; i >= 0; i--) {
		char lab[4];
		int n = snprintf(lab, sizeof(lab), "%u", b[i]);
		target[o++] = (uint8_t)n;
		memcpy(target + o, lab, (size_t)n);
		o += (size_t)n;
	}
	memcpy(target + o, in_addr_arpa, sizeof(in_addr_arpa));
	return (int)(o + sizeof(in_addr_arpa));
}

/* --- ipv4only.arpa (RFC 8880) --- */

static const uint8_t ipv4only_arpa[] = "\010ipv4only\004arpa";

bool dns64_is_ipv4only(const uint8_t *qname_lc, size_t qlen)
{
	return dns_name_is_below(qname_lc, qlen, ipv4only_arpa, sizeof(ipv4only_arpa));
}

int dns64_ipv4only_answer(const uint8_t *qname, size_t qlen, uint16_t qtype,
			  const struct prefix_info *const *prefixes, size_t nprefixes,
			  struct dns_msg *out)
{
	/* RFC 8880 2.2: the two well-known addresses 192.0.0.170 and .171. */
	static const uint8_t well_known[2][4] = { { 192, 0, 0, 170 }, { 192, 0, 0, 171 } };
	memcpy(out->qname, qname, qlen);
	out->qname_len = (uint8_t)qlen;
	out->qtype = qtype;
	out->qclass = DNS_C_IN;
	out->flags = DNS_F_QR | DNS_F_AA;
	bool exact = dns_name_equal(qname, qlen, ipv4only_arpa, sizeof(ipv4only_arpa));
	int rcode = exact ? DNS_R_NOERROR : DNS_R_NXDOMAIN;
	int added = 0;
	if (exact && (qtype == DNS_T_A || qtype == DNS_T_ANY)) {
		for (int i = 0; i < 2; i++, added++)
			if (dns_msg_add(out, DNS_S_AN, qname, qlen, DNS_T_A, DNS_C_IN,
					DNS64_IPV4ONLY_TTL, well_known[i], 4))
				return -ENOMEM;
	}
	if (exact && (qtype == DNS_T_AAAA || qtype == DNS_T_ANY)) {
		for (size_t p = 0; p < nprefixes; p++)
			for (int i = 0; i < 2; i++, added++) {
				struct in_addr v4;
				struct in6_addr v6;
				memcpy(&v4.s_addr, well_known[i], 4);
				if (rfc6052_embed(&prefixes[p]->addr, prefixes[p]->len, v4, &v6))
					continue;
				if (dns_msg_add(out, DNS_S_AN, qname, qlen, DNS_T_AAAA, DNS_C_IN,
						DNS64_IPV4ONLY_TTL, v6.s6_addr, 16))
					return -ENOMEM;
			}
	}
	if (!added) {
		/* A local SOA so that the negative answer can be cached
		 * (RFC 2308 3); MINIMUM = the TTL above. */
		uint8_t soa[64];
		size_t o = 0;
		static const uint8_t mname[] = "\011localhost";
		static const uint8_t rname[] = "\006nobody\007invalid";
		memcpy(soa + o, mname, sizeof(mname));
		o += sizeof(mname);
		memcpy(soa + o, rname, sizeof(rname));
		o += sizeof(rname);
		const uint32_t fields[5] = { 1, 3600, 1200, 604800, DNS64_IPV4ONLY_TTL };
		for (int i = 0; i < 5; i++, o += 4)
			put_be32(soa + o, fields[i]);
		if (dns_msg_add(out, DNS_S_NS, ipv4only_arpa, sizeof(ipv4only_arpa), DNS_T_SOA,
				DNS_C_IN, DNS64_IPV4ONLY_TTL, soa, (uint16_t)o))
			return -ENOMEM;
	}
	out->flags |= (uint16_t)rcode;
	return rcode;
}
