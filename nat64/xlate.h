/* The translator's packet steps, named after RFC 6146 section 3 and
 * RFC 7915. The state layer (session.c, nat64.c) runs them in order:
 *
 *   v = nat64_determine_tuple6(pkt, len, &p, &in);   RFC 6146 3.4
 *   ... filtering and updating: session lookup/create -> out tuple (3.5, 3.6)
 *   v = nat64_translate_6to4(&p, &out, buf, cap, &outlen);  3.7 + RFC 7915 5
 *
 * and the mirror image for IPv4 -> IPv6. Every function returns a verdict;
 * a drop names its reason (NAT64_DROP_* below), which the caller counts. */
#ifndef SIXFOUR_NAT64_XLATE_H
#define SIXFOUR_NAT64_XLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* Drop reasons: one list, so the enum and its names cannot drift apart. */
#define NAT64_DROP_REASONS(X) \
	X(TRUNCATED, "truncated or inconsistent length") \
	X(BAD_VERSION, "not IPv4/IPv6") \
	X(BAD_HEADER, "malformed IP header") \
	X(BAD_CHECKSUM, "bad IPv4 header checksum") \
	X(EXT_HEADER, "unsupported IPv6 extension header") \
	X(UNKNOWN_PROTO, "protocol not translated") \
	X(NOT_OUR_PREFIX, "destination not in a translated prefix") \
	X(NON_GLOBAL_V4, "non-global IPv4 under the Well-Known Prefix") \
	X(HOP_LIMIT, "hop limit exceeded") \
	X(ICMP_UNTRANSLATABLE, "ICMP type without a translation") \
	X(ICMP_ERROR_NESTED, "ICMP error about an ICMP error") \
	X(FRAGMENT_UNCHECKSUMMED, "fragmented UDP without checksum") \
	X(FRAGMENT_LIMIT, "fragment reassembly limits") \
	X(TOO_BIG, "packet does not fit the next hop") \
	X(NO_SESSION, "no session for inbound packet") \
	X(FILTERED, "filtered by the session's filtering policy") \
	X(POOL_EXHAUSTED, "no free pool4 port") \
	X(TABLE_FULL, "session table full") \
	X(CLIENT_LIMIT, "per-client session limit") \
	X(HAIRPIN_LOOP, "hairpin loop") \
	X(RATE_LIMITED, "rate limited") \
	X(BLOCKED, "blocked by a handoff server") \
	X(NO_BUFFER, "output buffer too small") \
	X(INTERNAL, "internal error")

enum nat64_verdict {
	NAT64_CONTINUE = 0,	/* go on to the next step */
	NAT64_ICMP_SENT,	/* the step produced an ICMP error in `out` instead */
#define X(name, text) NAT64_DROP_##name,
	NAT64_DROP_REASONS(X)
#undef X
	NAT64_VERDICT_COUNT
};

const char *nat64_verdict_name(enum nat64_verdict v);

/* A flow's identity (RFC 6146 3.4): addresses, ports, protocol. For ICMP
 * query messages both ports hold the identifier. For ICMP errors the tuple
 * is that of the inner packet, reversed (it names the flow it is about). */
struct nat64_tuple {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP(V6) */
	uint16_t sport, dport;	/* host order */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} src, dst;
};

/* What parsing learned about a packet, kept for the translation step so
 * that nothing is parsed twice. Offsets index into `data`. */
struct nat64_pkt {
	const uint8_t *data;
	size_t len;
	int family;
	uint8_t proto;		/* upper-layer protocol after extension headers */
	uint16_t l3_len;	/* IP header (+ IPv6 extension headers) length */
	uint16_t frag_off;	/* offset of the IPv6 fragment header, 0 = none */
	bool is_fragment;	/* not a whole packet (MF set or offset != 0) */
	bool is_first_fragment;	/* carries the L4 header */
	bool is_icmp_error;
	uint8_t tcp_flags;	/* for the TCP state machine (3.5.2) */
	/* For ICMP errors: where the inner packet starts. */
	uint16_t inner_off;
};

/* The result of translation: a packet built in caller-provided memory.
 * Room for 64 KB super-packets (GSO) is the caller's choice of `cap`. */
struct nat64_out {
	uint8_t *buf;
	size_t cap;
	size_t len;
};

/* Context every step gets: the shared prefix set version to use for this
 * packet, and the translator's own addresses for errors it originates. */
struct prefix_set;
struct nat64_xlate_cfg {
	const struct prefix_set *prefixes;	/* translate-role prefixes */
	struct in_addr own_v4;		/* source of ICMPv4 errors we originate */
	struct in6_addr own_v6;		/* source of ICMPv6 errors we originate */
	uint16_t ipv4_mtu;		/* MTU toward IPv4 when no better is known */
	uint16_t ipv6_mtu;		/* MTU toward IPv6 (>= 1280) */
	bool reassemble_unchecksummed_udp;	/* else drop (RFC 7915 4.5) */
};

/* RFC 6146 3.4, IPv6 side: checks every length, finds the L4 header, and
 * fills `tuple` (destination IPv4 extracted from the prefix it lies in). */
enum nat64_verdict nat64_determine_tuple6(const struct nat64_xlate_cfg *cfg,
					  const uint8_t *data, size_t len,
					  struct nat64_pkt *pkt, struct nat64_tuple *tuple);
/* RFC 6146 3.4, IPv4 side. */
enum nat64_verdict nat64_determine_tuple4(const struct nat64_xlate_cfg *cfg,
					  const uint8_t *data, size_t len,
					  struct nat64_pkt *pkt, struct nat64_tuple *tuple);

/* RFC 6146 3.7 + RFC 7915 section 5: builds the IPv4 packet whose header
 * carries `out_tuple` (IPv4 addresses and ports chosen by the state layer).
 * For an ICMP error, the inner packet is translated with the reverse of
 * `out_tuple`. May instead build an ICMPv6 error back toward the sender
 * (hop limit, too big) and return NAT64_ICMP_SENT. */
enum nat64_verdict nat64_translate_6to4(const struct nat64_xlate_cfg *cfg,
					const struct nat64_pkt *pkt,
					const struct nat64_tuple *out_tuple,
					struct nat64_out *out);
/* RFC 6146 3.7 + RFC 7915 section 4. */
enum nat64_verdict nat64_translate_4to6(const struct nat64_xlate_cfg *cfg,
					const struct nat64_pkt *pkt,
					const struct nat64_tuple *out_tuple,
					struct nat64_out *out);

/* Builds an ICMPv6 (for an IPv6 packet) or ICMPv4 error about `pkt` that
 * the translator itself originates (e.g. no session: port unreachable,
 * administratively prohibited), with the quoted packet truncated to
 * 1280/576 octets. */
enum nat64_verdict nat64_icmp_error(const struct nat64_xlate_cfg *cfg,
				    const struct nat64_pkt *pkt, uint8_t type, uint8_t code,
				    uint32_t param, struct nat64_out *out);

#endif
