/* RFC 6147 synthesis rules as pure functions over parsed messages: no I/O,
 * no clocks, so every rule has a unit test. */
#ifndef SIXFOUR_DNS64_SYNTH_H
#define SIXFOUR_DNS64_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/rfc6052.h"
#include "common/util.h"
#include "dns64/wire.h"

/* What the configuration says about synthesis. */
struct dns64_policy {
	const struct cidr *exclude;	/* AAAA records in these do not count */
	size_t nexclude;
	const struct cidr *mapped;	/* IPv4 addresses that may be synthesized */
	size_t nmapped;
	unsigned max_synthesized;	/* 0 = no cap: the whole RRset (RFC 2181 5.1) */
};

/* RFC 6147 5.1.7: the TTL used when no SOA came with the negative answer. */
#define DNS64_DEFAULT_NEG_TTL 600
/* The TTL of locally answered ipv4only.arpa data (RFC 8880 7.2 leaves it to
 * us; the prefix set can change, so keep it short). */
#define DNS64_IPV4ONLY_TTL 600

/* Section 5.1.4: true when the address is in an exclude range. */
bool dns64_aaaa_excluded(const struct dns64_policy *pol, const struct in6_addr *a);
/* True when the answer section holds an IN AAAA record that is not
 * excluded: such an answer is passed through (5.1.1). */
bool dns64_has_usable_aaaa(const struct dns_msg *m, const struct dns64_policy *pol);
/* Section 5.1.4: copies `in` into `out` (initialised, empty) without the
 * excluded AAAA records of its answer section and, when any went, without
 * the RRSIGs over the AAAA RRset they belonged to (they would no longer
 * validate). Returns how many records were removed (0: `out` is a plain
 * copy), or -ENOMEM. */
int dns64_filter_excluded(const struct dns_msg *in, const struct dns64_policy *pol,
			  struct dns_msg *out);
/* Section 5.1.7 with RFC 2308 5: the negative-cache TTL is the smaller of
 * the SOA's TTL and its MINIMUM field; DNS64_DEFAULT_NEG_TTL without SOA. */
uint32_t dns64_negative_ttl(const struct dns_msg *m);
/* Sections 5.1.5-5.1.8: builds into `out` (initialised, empty) the answer
 * to an AAAA query from the A response: the A response's CNAME and DNAME
 * records in order, then per A record one AAAA per prefix in `prefixes`,
 * TTL = min(A TTL, negative TTL of the AAAA response); all of them unless
 * the policy sets an explicit cap. IPv4 addresses
 * outside `mapped`, or non-global ones under the Well-Known Prefix (RFC 6052
 * 3.1), are skipped. Returns the number of AAAA records made (0 means: send
 * the AAAA response instead, 5.1.6), or -ENOMEM. */
int dns64_synthesize(const struct dns_msg *aaaa, const struct dns_msg *a,
		     const struct prefix_info *const *prefixes, size_t nprefixes,
		     const struct dns64_policy *pol, struct dns_msg *out);

/* Section 5.3.1: when `qname` is the ip6.arpa name of an address inside any
 * prefix of `set` (synthesized now or reverse-only), writes the
 * in-addr.arpa name of the embedded IPv4 address to `target` and returns
 * its length; 0 otherwise. */
int dns64_ptr_target(const uint8_t *qname, size_t qlen, const struct prefix_set *set,
		     uint8_t *target);

/* RFC 8880: ipv4only.arpa and the names below it are answered locally. */
bool dns64_is_ipv4only(const uint8_t *qname_lc, size_t qlen);
/* Fills `out` with the RFC 8880 7.2 answer for (qname, qtype): A records
 * 192.0.0.170 and .171, AAAA records with every prefix given (the section
 * 3.1 rule does not apply: RFC 7050 needs exactly these), NODATA with a
 * local SOA for other types, NXDOMAIN below the name. Returns the rcode. */
int dns64_ipv4only_answer(const uint8_t *qname, size_t qlen, uint16_t qtype,
			  const struct prefix_info *const *prefixes, size_t nprefixes,
			  struct dns_msg *out);

#endif
