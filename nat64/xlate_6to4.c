/* RFC 6146 3.7 "Translating the Packet", IPv6 -> IPv4, with the header
 * rules of RFC 7915 section 5. The caller has parsed the packet
 * (nat64_determine_tuple6) and chosen the IPv4 tuple. */
#include "autoconf.h"

#include "nat64/vnet.h"
#include "nat64/xlate_priv.h"

void nat64_write_ipv4(uint8_t *o, uint8_t tos, uint16_t total_len, uint16_t id,
		      uint16_t frag_field, uint8_t ttl, uint8_t proto,
		      struct in_addr src, struct in_addr dst)
{
	o[0] = 0x45;		/* version 4, IHL 5: no options (RFC 7915 5.1) */
	o[1] = tos;
	put_be16(o + 2, total_len);
	put_be16(o + 4, id);
	put_be16(o + 6, frag_field);
	o[8] = ttl;
	o[9] = proto;
	o[10] = o[11] = 0;
	memcpy(o + 12, &src.s_addr, 4);
	memcpy(o + 16, &dst.s_addr, 4);
	put_be16(o + 10, nat64_csum_ipv4_header(o, IPV4_HDR_LEN));
}

/* The IPv6 traffic class: 4 bits in octet 0, 4 in octet 1. */
static inline uint8_t ipv6_tclass(const uint8_t *ip6)
{
	return (uint8_t)((ip6[0] & 0x0f) << 4 | ip6[1] >> 4);
}

void nat64_l4_6to4(uint8_t *l4, size_t avail, uint8_t proto6, bool first,
		   const struct in6_addr *src6, const struct in6_addr *dst6,
		   struct in_addr src4, struct in_addr dst4, uint16_t sport, uint16_t dport,
		   uint32_t ulen, bool csum_partial)
{
	if (!first || avail < 8)
		return;
	uint32_t old_sum, new_sum;
	size_t check_at;
	if (proto6 == IPPROTO_TCP || proto6 == IPPROTO_UDP) {
		/* Only addresses and ports differ: the length and protocol
		 * words of both pseudo-headers are equal (RFC 1624 update). */
		old_sum = nat64_csum_add(0, src6->s6_addr, 16);
		old_sum = nat64_csum_add(old_sum, dst6->s6_addr, 16);
		old_sum = nat64_csum_add(old_sum, l4, 4);
		put_be16(l4, sport);
		put_be16(l4 + 2, dport);
		new_sum = nat64_csum_add(0, (const uint8_t *)&src4.s_addr, 4);
		new_sum = nat64_csum_add(new_sum, (const uint8_t *)&dst4.s_addr, 4);
		new_sum = nat64_csum_add(new_sum, l4, 4);
		check_at = proto6 == IPPROTO_TCP ? 16 : 6;
		if (avail < check_at + 2)
			return;
		uint16_t check = get_be16(l4 + check_at);
		if (csum_partial) {
			put_be16(l4 + check_at, nat64_csum_partial_update(check, src6->s6_addr,
									  dst6->s6_addr, 16,
									  &src4.s_addr, &dst4.s_addr, 4));
			return;
		}
		if (proto6 == IPPROTO_UDP && check == 0)
			return;	/* invalid in IPv6, but "no checksum" in IPv4 */
		check = nat64_csum_update(check, old_sum, new_sum);
		if (proto6 == IPPROTO_UDP && check == 0)
			check = 0xffff;	/* RFC 768: 0 means none */
		put_be16(l4 + check_at, check);
		return;
	}
	if (proto6 != IPPROTO_ICMPV6)
		return;
	/* Echo (RFC 7915 5.2): new type, identifier from the tuple, and the
	 * ICMPv6 pseudo-header leaves the checksum. */
	uint8_t type4 = l4[0] == ICMP6_ECHO_REQUEST ? ICMP4_ECHO_REQUEST : ICMP4_ECHO_REPLY;
	old_sum = nat64_csum_pseudo6(src6, dst6, ulen, IPPROTO_ICMPV6);
	old_sum = nat64_csum_add(old_sum, l4, 2);
	old_sum = nat64_csum_add(old_sum, l4 + 4, 2);
	l4[0] = type4;
	put_be16(l4 + 4, sport);
	new_sum = nat64_csum_add(0, l4, 2);
	new_sum = nat64_csum_add(new_sum, l4 + 4, 2);
	put_be16(l4 + 2, nat64_csum_update(get_be16(l4 + 2), old_sum, new_sum));
}

/* RFC 7915 5.1 leaves the Identification algorithm to the translator: a
 * per-worker counter, or a hash that still changes from packet to packet.
 * `count` values in a row (the kernel numbers a super-packet's segments
 * from the one it carries). */
static uint16_t next_ipv4_id(const struct nat64_xlate_cfg *cfg, const struct nat64_pkt *pkt,
			     unsigned count)
{
	if (cfg->ipv4_id_next) {
		uint16_t id = (uint16_t)*cfg->ipv4_id_next;
		*cfg->ipv4_id_next += count;
		return id;
	}
	uint32_t h = 2166136261u;
	size_t n = MIN(pkt->len, (size_t)pkt->l3_len + 24);
	for (size_t i = 8; i < n; i++)
		h = (h ^ pkt->data[i]) * 16777619u;
	return (uint16_t)(h ^ h >> 16);
}

enum nat64_verdict nat64_translate_6to4(const struct nat64_xlate_cfg *cfg,
					const struct nat64_pkt *pkt,
					const struct nat64_tuple *ot,
					struct nat64_out *out)
{
	/* Offloads: an error or a fragment owed for a super-packet is owed for
	 * each of its segments, and quotes one with a complete checksum. */
	const struct nat64_gso *g = &pkt->gso;
	bool offl = g->type != NAT64_GSO_NONE || g->csum_partial;
	enum nat64_verdict v = nat64_translate_begin(cfg, pkt, AF_INET6, offl, out);
	if (v != NAT64_CONTINUE)
		return v;
	if (pkt->is_icmp_error)
		return nat64_icmp_error_6to4(cfg, pkt, ot, out);
	const uint8_t *in = pkt->data;
	uint8_t hlim = in[7];

	size_t plen = pkt->len - pkt->l3_len;
	size_t total = IPV4_HDR_LEN + plen;
	if (total > 0xffff)
		return offl ? NAT64_SEGMENT : NAT64_DROP_TOO_BIG;
	/* The IPv4 packets that leave are the segments: `seg` octets each,
	 * the last one `last` (xlate.h). */
	unsigned nsegs = nat64_gso_segs(g, pkt->len);
	size_t hl = nsegs > 1 ? IPV4_HDR_LEN + g->hdr_len - pkt->l3_len : 0;	/* headers of each */
	size_t seg = nsegs > 1 ? hl + g->size : total;
	size_t last = total - (size_t)(nsegs - 1) * g->size;
	/* A first ICMPv6 fragment cannot be re-checksummed: the pseudo-header
	 * holds the whole message's length. Such packets are reassembled. */
	if (pkt->is_fragment && pkt->is_first_fragment && pkt->proto == IPPROTO_ICMPV6)
		return NAT64_DROP_FRAGMENT_LIMIT;

	uint16_t id, frag_field;
	bool df;
	if (pkt->reassembled) {
		/* Reassembled here (frag.h): the sender fragmented, so IPv4
		 * routers may too; the ID is the IPv6 one, as for a fragment. */
		id = (uint16_t)pkt->frag_id;
		frag_field = 0;
		df = false;
	} else if (pkt->frag_off) {
		/* RFC 7915 5.1.1: the low 16 bits of the IPv6 identification,
		 * offset and M copied, DF clear. */
		id = (uint16_t)pkt->frag_id;
		frag_field = (uint16_t)(pkt->frag_offset / 8) | (pkt->more_fragments ? IPV4_MF : 0);
		df = false;
	} else {
		/* RFC 7915 5.1: DF = 0 when the IPv4 packet is 1260 octets or
		 * less, so that IPv4 routers may still fragment what an IPv6
		 * host sized for the 1280 minimum MTU. */
		df = seg > DF_THRESHOLD;
		id = df ? 0 : next_ipv4_id(cfg, pkt, nsegs);
		frag_field = df ? IPV4_DF : 0;
	}
	if (df && cfg->ipv4_mtu && seg > cfg->ipv4_mtu) {
		if (offl)
			return NAT64_SEGMENT;
		uint32_t mtu6 = MAX((uint32_t)cfg->ipv4_mtu + (IPV6_HDR_LEN - IPV4_HDR_LEN),
				    (uint32_t)IPV6_MIN_MTU);
		return nat64_icmp_owe(cfg, pkt, ICMP6_PACKET_TOO_BIG, 0, mtu6, out,
				      NAT64_DROP_TOO_BIG);
	}
	/* Segments of more than 1260 octets but a last one of 1260 or less:
	 * that one goes as a packet of its own with DF = 0. */
	bool tail_aside = df && nsegs > 1 && last <= DF_THRESHOLD;
	if (out->cap < total + (tail_aside ? hl : 0))
		return NAT64_DROP_NO_BUFFER;

	uint8_t *o = out->buf;
	uint8_t proto4 = pkt->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : pkt->proto;
	nat64_write_ipv4(o, ipv6_tclass(in), (uint16_t)total, id, frag_field,
			 (uint8_t)(hlim - 1), proto4, ot->src.v4, ot->dst.v4);
	memcpy(o + IPV4_HDR_LEN, in + pkt->l3_len, plen);
	struct in6_addr s6, d6;
	memcpy(&s6, in + 8, 16);
	memcpy(&d6, in + 24, 16);
	nat64_l4_6to4(o + IPV4_HDR_LEN, plen, pkt->proto, pkt->is_first_fragment, &s6, &d6,
		      ot->src.v4, ot->dst.v4, ot->sport, ot->dport, (uint32_t)plen, g->csum_partial);
	nat64_out_single(out, total);
	if (!offl)
		return NAT64_CONTINUE;
	out->gso[0] = nat64_gso_moved(g, pkt->l3_len, IPV4_HDR_LEN, AF_INET);
	if (tail_aside) {
		size_t tail_len;
		size_t first = nat64_gso_split_last(o, total, out->cap, &out->gso[0],
						    next_ipv4_id(cfg, pkt, 1), &tail_len, &out->gso[1]);
		if (first == 0)
			return NAT64_DROP_INTERNAL;	/* room was checked above */
		out->count = 2;
		out->pkt_len[0] = (uint32_t)first;
		out->pkt_len[1] = (uint32_t)tail_len;
		out->len = first + tail_len;
	}
	return NAT64_CONTINUE;
}
