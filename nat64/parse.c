/* RFC 6146 3.4 "Determining the Incoming Tuple": header parsing for both
 * families. Every length is checked before a field is read; a packet that
 * does not parse is dropped with a named reason. */
#include "autoconf.h"

#include <arpa/inet.h>

#include "nat64/xlate_priv.h"

const char *nat64_verdict_name(enum nat64_verdict v)
{
	static const char *const names[NAT64_VERDICT_COUNT] = {
		[NAT64_CONTINUE] = "continue",
		[NAT64_ICMP_SENT] = "icmp-sent",
		[NAT64_HELD] = "held",
		[NAT64_SEGMENT] = "segment",
#define X(name, text) [NAT64_DROP_##name] = text,
		NAT64_DROP_REASONS(X)
#undef X
	};
	if ((unsigned)v >= NAT64_VERDICT_COUNT)
		return "unknown";
	return names[v];
}

static void set_error(struct nat64_pkt *pkt, uint8_t type, uint8_t code, uint32_t param)
{
	if (!pkt)
		return;
	pkt->err_set = true;
	pkt->err_type = type;
	pkt->err_code = code;
	pkt->err_param = param;
}

/* RFC 8200 4: walk the extension headers the translator understands (RFC
 * 7915 5.1: hop-by-hop, destination options and routing headers with
 * segments left 0 are dropped in translation, the fragment header is
 * mapped). Anything else ends the chain and is the upper-layer protocol. */
enum nat64_verdict nat64_parse_ipv6(const uint8_t *p, size_t len, bool inner,
				    struct nat64_l3 *l3, struct nat64_pkt *pkt)
{
	memset(l3, 0, sizeof(*l3));
	if (len < IPV6_HDR_LEN)
		return NAT64_DROP_TRUNCATED;
	if (p[0] >> 4 != 6)
		return NAT64_DROP_BAD_VERSION;
	size_t plen = get_be16(p + 4);
	if (!inner) {
		if (plen == 0)	/* jumbogram (RFC 2675): never through a TUN */
			return NAT64_DROP_BAD_HEADER;
		if (IPV6_HDR_LEN + plen > len)
			return NAT64_DROP_TRUNCATED;
	}
	size_t end = inner ? len : IPV6_HDR_LEN + plen;
	uint8_t nh = p[6];
	size_t nh_at = 6;
	size_t off = IPV6_HDR_LEN;
	bool first_hdr = true;
	for (;;) {
		if (nh == NH_HOPOPTS && !first_hdr)
			return NAT64_DROP_EXT_HEADER;	/* RFC 8200 4.3: only first */
		first_hdr = false;
		if (nh == NH_HOPOPTS || nh == NH_DSTOPTS || nh == NH_ROUTING) {
			if (off + 8 > end)
				return NAT64_DROP_TRUNCATED;
			size_t hlen = ((size_t)p[off + 1] + 1) * 8;
			if (off + hlen > end)
				return NAT64_DROP_TRUNCATED;
			/* RFC 7915 5.1: a routing header with segments left is
			 * not translated; Parameter Problem points at that field. */
			if (nh == NH_ROUTING && p[off + 3] != 0) {
				if (!inner)
					set_error(pkt, ICMP6_PARAM_PROB, 0, (uint32_t)(off + 3));
				return NAT64_DROP_EXT_HEADER;
			}
			nh = p[off];
			nh_at = off;
			off += hlen;
			continue;
		}
		if (nh == NH_FRAGMENT) {
			if (l3->frag_hdr)	/* two fragment headers */
				return NAT64_DROP_EXT_HEADER;
			if (off + IPV6_FRAG_HDR_LEN > end)
				return NAT64_DROP_TRUNCATED;
			uint16_t f = get_be16(p + off + 2);
			l3->frag_hdr = off;
			l3->frag_nh_at = nh_at;
			l3->offset = f & 0xfff8;
			l3->mf = f & 1;
			l3->id = get_be32(p + off + 4);
			l3->fragment = l3->offset != 0 || l3->mf;
			nh = p[off];
			nh_at = off;
			off += IPV6_FRAG_HDR_LEN;
			if (l3->offset != 0)
				break;	/* the rest is payload of a later fragment */
			continue;
		}
		break;
	}
	l3->l3_len = off;
	l3->proto = nh;
	l3->first = l3->offset == 0;
	return NAT64_CONTINUE;
}

/* RFC 791 3.1. Options are skipped in translation (RFC 7915 4.1), except an
 * unexpired source route, which is refused with an ICMP error. */
enum nat64_verdict nat64_parse_ipv4(const uint8_t *p, size_t len, bool inner,
				    struct nat64_l3 *l3, struct nat64_pkt *pkt)
{
	memset(l3, 0, sizeof(*l3));
	if (len < IPV4_HDR_LEN)
		return NAT64_DROP_TRUNCATED;
	if (p[0] >> 4 != 4)
		return NAT64_DROP_BAD_VERSION;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < IPV4_HDR_LEN)
		return NAT64_DROP_BAD_HEADER;
	if (ihl > len)
		return NAT64_DROP_TRUNCATED;
	size_t total = get_be16(p + 2);
	if (total < ihl)
		return NAT64_DROP_BAD_HEADER;
	if (!inner) {
		if (total > len)
			return NAT64_DROP_TRUNCATED;
		/* Inner headers were checksummed by whoever quoted them; the
		 * outer one is ours to verify (RFC 1812 5.2.2). */
		if (nat64_csum_fold(nat64_csum_add(0, p, ihl)) != 0xffff)
			return NAT64_DROP_BAD_CHECKSUM;
	}
	for (size_t o = IPV4_HDR_LEN; o < ihl;) {
		uint8_t type = p[o];
		if (type == 0)		/* end of option list */
			break;
		if (type == 1) {	/* no-operation */
			o++;
			continue;
		}
		if (o + 2 > ihl || p[o + 1] < 2 || o + p[o + 1] > ihl)
			return NAT64_DROP_BAD_HEADER;
		/* Loose (131) or strict (137) source route not yet used up: its
		 * pointer (1-based) still lies within the option. */
		if ((type == 131 || type == 137) && p[o + 1] >= 3 && p[o + 2] <= p[o + 1]) {
			if (!inner) {
				set_error(pkt, ICMP4_DEST_UNREACH, ICMP4_UNREACH_SRCFAIL, 0);
				return NAT64_DROP_SOURCE_ROUTE;
			}
		}
		o += p[o + 1];
	}
	uint16_t f = get_be16(p + 6);
	l3->l3_len = ihl;
	l3->proto = p[9];
	l3->id = get_be16(p + 4);
	l3->offset = (uint16_t)((f & IPV4_OFFSET_MASK) * 8);
	l3->mf = f & IPV4_MF;
	l3->fragment = l3->offset != 0 || l3->mf;
	l3->first = l3->offset == 0;
	return NAT64_CONTINUE;
}

/* The ports (or ICMP identifier) of an upper-layer header with `avail`
 * octets present. Errors are told apart by the callers. */
static enum nat64_verdict l4_ports(const uint8_t *l4, size_t avail, uint8_t proto,
				   bool need_full, uint16_t *sport, uint16_t *dport)
{
	size_t need = L4_PORTS_LEN;
	if (need_full && proto == IPPROTO_TCP)
		need = TCP_HDR_LEN;
	if (avail < need)
		return NAT64_DROP_TRUNCATED;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		*sport = get_be16(l4);
		*dport = get_be16(l4 + 2);
	} else {
		*sport = *dport = get_be16(l4 + 4);	/* ICMP echo identifier */
	}
	return NAT64_CONTINUE;
}

static bool proto_translated6(uint8_t p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_ICMPV6;
}

static bool proto_translated4(uint8_t p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_ICMP;
}

/* Finds the translate prefix of `addr` and the IPv4 address inside it,
 * refusing what the Well-Known Prefix may not carry (RFC 6052 3.1). */
static enum nat64_verdict extract_dst4(const struct nat64_xlate_cfg *cfg,
				       const struct in6_addr *addr,
				       const struct prefix_info **pfx, struct in_addr *v4)
{
	const struct prefix_info *p = prefix_set_find(cfg->prefixes, addr, PREFIX_ROLE_TRANSLATE);
	if (!p)
		return NAT64_DROP_NOT_OUR_PREFIX;
	if (rfc6052_extract(addr, p->len, v4) < 0)
		return NAT64_DROP_NOT_OUR_PREFIX;
	if (!rfc6052_may_embed(&p->addr, p->len, *v4))
		return NAT64_DROP_NON_GLOBAL_V4;
	*pfx = p;
	return NAT64_CONTINUE;
}

/* An ICMPv6 error (type < 128) starts at the upper layer: nothing may
 * answer it with another error (RFC 4443 2.4 (e)). */
static bool is_icmp6_error(const uint8_t *data, size_t len, const struct nat64_l3 *l3)
{
	return l3->proto == IPPROTO_ICMPV6 && (!l3->first || l3->l3_len >= len ||
					       data[l3->l3_len] < 128);
}

/* What both families' parsers record about the outer header. */
static void pkt_from_l3(struct nat64_pkt *pkt, const struct nat64_l3 *l3)
{
	pkt->proto = l3->proto;
	pkt->l3_len = (uint16_t)l3->l3_len;
	pkt->is_fragment = l3->fragment;
	pkt->is_first_fragment = l3->first;
	pkt->frag_id = l3->id;
	pkt->frag_offset = l3->offset;
	pkt->more_fragments = l3->mf;
}

/* TCP: the ports, and the flags the state machine needs (RFC 6146 3.5.2). */
static enum nat64_verdict tcp_ports(const uint8_t *l4, size_t avail, struct nat64_pkt *pkt,
				    struct nat64_tuple *tuple)
{
	enum nat64_verdict v = l4_ports(l4, avail, IPPROTO_TCP, true, &tuple->sport,
					&tuple->dport);
	if (v == NAT64_CONTINUE)
		pkt->tcp_flags = l4[13];
	return v;
}

static enum nat64_verdict determine6(const struct nat64_xlate_cfg *cfg, const uint8_t *data,
				     size_t len, struct nat64_pkt *pkt, struct nat64_tuple *tuple,
				     bool reassembled);
static enum nat64_verdict determine4(const struct nat64_xlate_cfg *cfg, const uint8_t *data,
				     size_t len, struct nat64_pkt *pkt, struct nat64_tuple *tuple,
				     bool reassembled);

/* A fragment goes to the reassembly table; once its datagram is whole,
 * the whole one is determined as if it had arrived so (frag.h). */
static enum nat64_verdict determine_reassembled(const struct nat64_xlate_cfg *cfg,
						const uint8_t *data, const struct nat64_l3 *l3,
						struct nat64_pkt *pkt, struct nat64_tuple *tuple)
{
	const uint8_t *whole;
	size_t wlen;
	int family = pkt->family;
	enum nat64_verdict v = nat64_frag_add(cfg->frags, monotonic_ms(), family, data, pkt->len,
					      l3, &whole, &wlen);
	if (v != NAT64_CONTINUE)
		return v;
	if (family == AF_INET6)
		v = determine6(cfg, whole, wlen, pkt, tuple, true);
	else
		v = determine4(cfg, whole, wlen, pkt, tuple, true);
	pkt->reassembled = true;
	pkt->frag_id = l3->id;
	return v;
}

/* An ICMP error (outer header `l3`): its inner packet names the flow (RFC
 * 6146 3.4), the reverse of its own, so its addresses and ports are
 * swapped into the tuple. An inner ICMP message must be an echo: an error
 * about an error is dropped. */
static enum nat64_verdict determine_inner(const uint8_t *data, const struct nat64_l3 *l3,
					  struct nat64_pkt *pkt, struct nat64_tuple *tuple)
{
	bool v6 = pkt->family == AF_INET6;
	pkt->is_icmp_error = true;
	pkt->inner_off = (uint16_t)(l3->l3_len + ICMP_HDR_LEN);
	const uint8_t *in = data + pkt->inner_off;
	size_t inlen = pkt->len - pkt->inner_off;
	struct nat64_l3 il3;
	enum nat64_verdict v = v6 ? nat64_parse_ipv6(in, inlen, true, &il3, NULL)
				  : nat64_parse_ipv4(in, inlen, true, &il3, NULL);
	if (v != NAT64_CONTINUE)
		return v;
	if (!(v6 ? proto_translated6(il3.proto) : proto_translated4(il3.proto)))
		return NAT64_DROP_UNKNOWN_PROTO;
	if (!il3.first)
		return NAT64_DROP_BAD_HEADER;	/* no ports to name the flow */
	pkt->inner_proto = il3.proto;
	pkt->inner_l4_off = (uint16_t)(pkt->inner_off + il3.l3_len);
	pkt->inner_frag_off = il3.frag_hdr ? (uint16_t)(pkt->inner_off + il3.frag_hdr) : 0;
	pkt->inner_is_fragment = il3.fragment;
	pkt->inner_first_fragment = il3.first;
	const uint8_t *il4 = in + il3.l3_len;
	size_t il4len = inlen - il3.l3_len;
	if (il3.proto == IPPROTO_ICMPV6 || il3.proto == IPPROTO_ICMP) {
		if (il4len < 1)
			return NAT64_DROP_TRUNCATED;
		bool echo = v6 ? il4[0] == ICMP6_ECHO_REQUEST || il4[0] == ICMP6_ECHO_REPLY
			       : il4[0] == ICMP4_ECHO_REQUEST || il4[0] == ICMP4_ECHO_REPLY;
		if (!echo)
			return NAT64_DROP_ICMP_ERROR_NESTED;
	}
	uint16_t isport, idport;
	v = l4_ports(il4, il4len, il3.proto, false, &isport, &idport);
	if (v != NAT64_CONTINUE)
		return v;
	tuple->proto = il3.proto;
	tuple->sport = idport;
	tuple->dport = isport;
	if (v6) {
		memcpy(&tuple->src.v6, in + 24, 16);
		memcpy(&tuple->dst.v6, in + 8, 16);
	} else {
		memcpy(&tuple->src.v4, in + 16, 4);
		memcpy(&tuple->dst.v4, in + 12, 4);
	}
	return NAT64_CONTINUE;
}

static enum nat64_verdict determine6(const struct nat64_xlate_cfg *cfg, const uint8_t *data,
				     size_t len, struct nat64_pkt *pkt, struct nat64_tuple *tuple,
				     bool reassembled)
{
	memset(pkt, 0, sizeof(*pkt));
	memset(tuple, 0, sizeof(*tuple));
	pkt->data = data;
	pkt->len = len;
	pkt->family = AF_INET6;
	struct nat64_l3 l3;
	enum nat64_verdict v = nat64_parse_ipv6(data, len, false, &l3, pkt);
	if (v != NAT64_CONTINUE)
		return v;
	pkt->len = IPV6_HDR_LEN + get_be16(data + 4);	/* trailing octets are not ours */
	pkt_from_l3(pkt, &l3);
	pkt->frag_off = (uint16_t)l3.frag_hdr;
	if (!proto_translated6(l3.proto))
		return NAT64_DROP_UNKNOWN_PROTO;

	tuple->family = AF_INET6;
	tuple->proto = l3.proto;
	memcpy(&tuple->src.v6, data + 8, 16);
	memcpy(&tuple->dst.v6, data + 24, 16);
	v = extract_dst4(cfg, &tuple->dst.v6, &pkt->prefix, &pkt->dst4);
	if (v == NAT64_DROP_NON_GLOBAL_V4 && !is_icmp6_error(data, pkt->len, &l3)) {
		/* RFC 6052 3.1 forbids translating it: for the client the
		 * translator has no route there, and it should learn so at once
		 * (RFC 4443 3.1, code 0) instead of timing out. */
		set_error(pkt, ICMP6_DEST_UNREACH, ICMP6_DEST_UNREACH_NOROUTE, 0);
	}
	if (v != NAT64_CONTINUE)
		return v;
	if (l3.fragment && cfg->frags && !reassembled)
		return determine_reassembled(cfg, data, &l3, pkt, tuple);
	if (!l3.first)
		return NAT64_CONTINUE;	/* ports: see frag.h */

	const uint8_t *l4 = data + l3.l3_len;
	size_t avail = pkt->len - l3.l3_len;
	if (l3.proto == IPPROTO_TCP)
		return tcp_ports(l4, avail, pkt, tuple);
	if (l3.proto == IPPROTO_UDP) {
		v = l4_ports(l4, avail, l3.proto, true, &tuple->sport, &tuple->dport);
		/* RFC 8200 8.1: an IPv6 receiver discards UDP with checksum 0.
		 * We receive for the IPv4 side: a checksum computed here would
		 * vouch for octets nobody protected (nat64/RFC7915.md). */
		if (v == NAT64_CONTINUE && get_be16(l4 + 6) == 0)
			return NAT64_DROP_UDP_ZERO_CHECKSUM;
		return v;
	}

	/* ICMPv6 */
	if (avail < ICMP_HDR_LEN)
		return NAT64_DROP_TRUNCATED;
	uint8_t t4, c4;
	v = nat64_icmp6_map(l4[0], l4[1], &t4, &c4);
	if (v != NAT64_CONTINUE)
		return v;
	if (l4[0] == ICMP6_ECHO_REQUEST || l4[0] == ICMP6_ECHO_REPLY)
		return l4_ports(l4, avail, l3.proto, true, &tuple->sport, &tuple->dport);

	/* An error: the inner packet names the flow (RFC 6146 3.4). It was
	 * sent by the IPv4 side, so its source is the IPv4-embedded one. */
	if (l3.fragment)
		return NAT64_DROP_BAD_HEADER;	/* errors fit 1280 (RFC 4443 2.4) */
	/* The translated error gets a fresh checksum over a rebuilt message,
	 * so a damaged one must not pass as valid (RFC 4443 2.3). */
	struct in6_addr s6, d6;
	memcpy(&s6, data + 8, 16);
	memcpy(&d6, data + 24, 16);
	uint32_t sum = nat64_csum_pseudo6(&s6, &d6, (uint32_t)avail, IPPROTO_ICMPV6);
	if (nat64_csum_fold(nat64_csum_add(sum, l4, avail)) != 0xffff)
		return NAT64_DROP_BAD_ICMP_CHECKSUM;
	v = determine_inner(data, &l3, pkt, tuple);
	if (v != NAT64_CONTINUE)
		return v;
	return extract_dst4(cfg, &tuple->dst.v6, &pkt->prefix, &pkt->dst4);
}

enum nat64_verdict nat64_determine_tuple6(const struct nat64_xlate_cfg *cfg,
					  const uint8_t *data, size_t len,
					  struct nat64_pkt *pkt, struct nat64_tuple *tuple)
{
	return determine6(cfg, data, len, pkt, tuple, false);
}

static enum nat64_verdict determine4(const struct nat64_xlate_cfg *cfg, const uint8_t *data,
				     size_t len, struct nat64_pkt *pkt, struct nat64_tuple *tuple,
				     bool reassembled)
{
	memset(pkt, 0, sizeof(*pkt));
	memset(tuple, 0, sizeof(*tuple));
	pkt->data = data;
	pkt->len = len;
	pkt->family = AF_INET;
	struct nat64_l3 l3;
	enum nat64_verdict v = nat64_parse_ipv4(data, len, false, &l3, pkt);
	if (v != NAT64_CONTINUE)
		return v;
	pkt->len = get_be16(data + 2);
	pkt_from_l3(pkt, &l3);
	pkt->df = get_be16(data + 6) & IPV4_DF;
	if (!proto_translated4(l3.proto))
		return NAT64_DROP_UNKNOWN_PROTO;

	tuple->family = AF_INET;
	tuple->proto = l3.proto;
	memcpy(&tuple->src.v4, data + 12, 4);
	memcpy(&tuple->dst.v4, data + 16, 4);
	if (l3.fragment && cfg->frags && !reassembled)
		return determine_reassembled(cfg, data, &l3, pkt, tuple);
	if (!l3.first)
		return NAT64_CONTINUE;	/* ports: see frag.h */

	const uint8_t *l4 = data + l3.l3_len;
	size_t avail = pkt->len - l3.l3_len;
	if (l3.proto == IPPROTO_TCP)
		return tcp_ports(l4, avail, pkt, tuple);
	if (l3.proto == IPPROTO_UDP) {
		v = l4_ports(l4, avail, l3.proto, true, &tuple->sport, &tuple->dport);
		if (v != NAT64_CONTINUE)
			return v;
		/* RFC 7915 4.5: IPv6 needs a UDP checksum. A whole packet gets
		 * one computed; a fragment needs the whole datagram first. */
		pkt->udp_zero_checksum = get_be16(l4 + 6) == 0;
		if (pkt->udp_zero_checksum && (l3.fragment || reassembled) &&
		    !cfg->reassemble_unchecksummed_udp)
			return NAT64_DROP_FRAGMENT_UNCHECKSUMMED;
		return NAT64_CONTINUE;
	}

	/* ICMPv4 */
	if (avail < ICMP_HDR_LEN)
		return NAT64_DROP_TRUNCATED;
	uint8_t t6, c6;
	v = nat64_icmp4_map(l4[0], l4[1], &t6, &c6);
	if (v != NAT64_CONTINUE)
		return v;
	if (l4[0] == ICMP4_ECHO_REQUEST || l4[0] == ICMP4_ECHO_REPLY)
		return l4_ports(l4, avail, l3.proto, true, &tuple->sport, &tuple->dport);

	if (l3.fragment)
		return NAT64_DROP_BAD_HEADER;	/* errors fit 576 (RFC 1812 4.3.2.3) */
	if (nat64_csum_fold(nat64_csum_add(0, l4, avail)) != 0xffff)
		return NAT64_DROP_BAD_ICMP_CHECKSUM;	/* see determine6 */
	return determine_inner(data, &l3, pkt, tuple);
}

enum nat64_verdict nat64_determine_tuple4(const struct nat64_xlate_cfg *cfg,
					  const uint8_t *data, size_t len,
					  struct nat64_pkt *pkt, struct nat64_tuple *tuple)
{
	return determine4(cfg, data, len, pkt, tuple, false);
}

/* Offloads (xlate.h): the translation steps carry a super-packet or a
 * partial checksum when the packet is what its metadata says, a TCP or
 * UDP packet whose L4 header starts where the IP headers end. Everything
 * else (a partial ICMP checksum, fragments, errors) is cut or completed
 * by the caller first. */
enum nat64_verdict nat64_pkt_offload(struct nat64_pkt *pkt, const struct nat64_gso *g)
{
	memset(&pkt->gso, 0, sizeof(pkt->gso));
	if (!g || (g->type == NAT64_GSO_NONE && !g->csum_partial))
		return NAT64_CONTINUE;
	if (!g->csum_partial || g->type == NAT64_GSO_BAD || pkt->is_fragment ||
	    pkt->reassembled || pkt->is_icmp_error || g->csum_start != pkt->l3_len)
		return NAT64_SEGMENT;
	bool tcp = pkt->proto == IPPROTO_TCP, udp = pkt->proto == IPPROTO_UDP;
	if (g->type == NAT64_GSO_NONE ? !(tcp && g->csum_offset == 16) &&
					  !(udp && g->csum_offset == 6)
				      : g->type == NAT64_GSO_UDP ? !udp : !tcp)
		return NAT64_SEGMENT;
	if ((size_t)pkt->l3_len + (tcp ? TCP_HDR_LEN : UDP_HDR_LEN) > pkt->len)
		return NAT64_SEGMENT;
	size_t l4_hdr = tcp ? (size_t)(pkt->data[pkt->l3_len + 12] >> 4) * 4 : UDP_HDR_LEN;
	if (l4_hdr < UDP_HDR_LEN || (size_t)pkt->l3_len + l4_hdr > pkt->len)
		return NAT64_SEGMENT;
	if (g->type != NAT64_GSO_NONE && g->hdr_len != pkt->l3_len + l4_hdr)
		return NAT64_SEGMENT;
	pkt->gso = *g;
	pkt->udp_zero_checksum = false;	/* the field holds the pseudo-header sum */
	return NAT64_CONTINUE;
}
