/* RFC 6146 3.7 "Translating the Packet", IPv4 -> IPv6, with the header
 * rules of RFC 7915 section 4, including the fragmentation the translator
 * does itself (section 4: a DF=0 packet larger than 1280 as IPv6). */
#include "autoconf.h"

#include "nat64/xlate_priv.h"

void nat64_write_ipv6(uint8_t *o, uint8_t tclass, uint16_t payload_len, uint8_t nh,
		      uint8_t hlim, const struct in6_addr *src, const struct in6_addr *dst)
{
	/* Flow label 0 (RFC 7915 4.1). */
	o[0] = (uint8_t)(0x60 | tclass >> 4);
	o[1] = (uint8_t)(tclass << 4);
	o[2] = o[3] = 0;
	put_be16(o + 4, payload_len);
	o[6] = nh;
	o[7] = hlim;
	memcpy(o + 8, src->s6_addr, 16);
	memcpy(o + 24, dst->s6_addr, 16);
}

void nat64_l4_4to6(uint8_t *l4, size_t avail, uint8_t proto4, bool first,
		   struct in_addr src4, struct in_addr dst4,
		   const struct in6_addr *src6, const struct in6_addr *dst6, uint16_t sport,
		   uint16_t dport, uint32_t ulen, bool csum_partial)
{
	if (!first || avail < 8)
		return;
	uint32_t old_sum, new_sum;
	if (proto4 == IPPROTO_TCP || proto4 == IPPROTO_UDP) {
		old_sum = nat64_csum_add(0, (const uint8_t *)&src4.s_addr, 4);
		old_sum = nat64_csum_add(old_sum, (const uint8_t *)&dst4.s_addr, 4);
		old_sum = nat64_csum_add(old_sum, l4, 4);
		put_be16(l4, sport);
		put_be16(l4 + 2, dport);
		new_sum = nat64_csum_add(0, src6->s6_addr, 16);
		new_sum = nat64_csum_add(new_sum, dst6->s6_addr, 16);
		new_sum = nat64_csum_add(new_sum, l4, 4);
		size_t check_at = proto4 == IPPROTO_TCP ? 16 : 6;
		if (avail < check_at + 2)
			return;
		uint16_t check = get_be16(l4 + check_at);
		if (csum_partial) {
			put_be16(l4 + check_at, nat64_csum_partial_update(check, &src4.s_addr,
									  &dst4.s_addr, 4,
									  src6->s6_addr, dst6->s6_addr, 16));
			return;
		}
		if (proto4 == IPPROTO_UDP && check == 0)
			return;	/* computed by the caller over the whole datagram */
		check = nat64_csum_update(check, old_sum, new_sum);
		if (proto4 == IPPROTO_UDP && check == 0)
			check = 0xffff;
		put_be16(l4 + check_at, check);
		return;
	}
	if (proto4 != IPPROTO_ICMP)
		return;
	/* Echo (RFC 7915 4.2): ICMPv6 adds the pseudo-header. */
	uint8_t type6 = l4[0] == ICMP4_ECHO_REQUEST ? ICMP6_ECHO_REQUEST : ICMP6_ECHO_REPLY;
	old_sum = nat64_csum_add(0, l4, 2);
	old_sum = nat64_csum_add(old_sum, l4 + 4, 2);
	l4[0] = type6;
	put_be16(l4 + 4, sport);
	new_sum = nat64_csum_pseudo6(src6, dst6, ulen, IPPROTO_ICMPV6);
	new_sum = nat64_csum_add(new_sum, l4, 2);
	new_sum = nat64_csum_add(new_sum, l4 + 4, 2);
	put_be16(l4 + 2, nat64_csum_update(get_be16(l4 + 2), old_sum, new_sum));
}

/* Largest payload per IPv6 fragment so a fragment fits 1280 octets:
 * 1280 - 40 - 8 = 1232, a multiple of 8 as offsets require. */
#define FRAG6_PAYLOAD ((IPV6_MIN_MTU - IPV6_HDR_LEN - IPV6_FRAG_HDR_LEN) & ~7u)

enum nat64_verdict nat64_translate_4to6(const struct nat64_xlate_cfg *cfg,
					const struct nat64_pkt *pkt,
					const struct nat64_tuple *ot,
					struct nat64_out *out)
{
	/* Offloads (xlate.h): errors and fragments are owed per segment. */
	const struct nat64_gso *g = &pkt->gso;
	bool offl = g->type != NAT64_GSO_NONE || g->csum_partial;
	enum nat64_verdict v = nat64_translate_begin(cfg, pkt, AF_INET, offl, out);
	if (v != NAT64_CONTINUE)
		return v;
	if (pkt->is_icmp_error)
		return nat64_icmp_error_4to6(cfg, pkt, ot, out);
	const uint8_t *in = pkt->data;
	uint8_t ttl = in[8];

	size_t plen = pkt->len - pkt->l3_len;
	const uint8_t *payload = in + pkt->l3_len;
	if (pkt->is_fragment && pkt->is_first_fragment && pkt->proto == IPPROTO_ICMP)
		return NAT64_DROP_FRAGMENT_LIMIT;	/* reassembled first: see 6to4 */
	if (pkt->is_fragment && pkt->is_first_fragment && pkt->udp_zero_checksum)
		return NAT64_DROP_FRAGMENT_UNCHECKSUMMED;

	/* RFC 7915 4: with DF set, a packet too big for the IPv6 side gets
	 * Fragmentation Needed carrying the MTU in IPv4 terms. */
	size_t whole6 = IPV6_HDR_LEN + (pkt->is_fragment ? IPV6_FRAG_HDR_LEN : 0) + plen;
	/* The IPv6 packets that leave are the segments, each 20 octets
	 * larger than it was: they are what must fit. */
	size_t seg6 = g->type != NAT64_GSO_NONE ? (size_t)IPV6_HDR_LEN + g->hdr_len - pkt->l3_len + g->size
						: whole6;
	if (offl && ((cfg->ipv6_mtu && seg6 > cfg->ipv6_mtu) ||
		     (!pkt->df && seg6 > IPV6_MIN_MTU)))
		return NAT64_SEGMENT;
	if (pkt->df && !pkt->is_fragment && cfg->ipv6_mtu && seg6 > cfg->ipv6_mtu) {
		uint32_t mtu4 = cfg->ipv6_mtu - (IPV6_HDR_LEN - IPV4_HDR_LEN);
		return nat64_icmp_owe(cfg, pkt, ICMP4_DEST_UNREACH, ICMP4_UNREACH_NEEDFRAG,
				      mtu4, out, NAT64_DROP_TOO_BIG);
	}

	/* The translated upper-layer header, patched into the first piece. */
	uint8_t hdr[TCP_HDR_LEN];
	size_t hl = MIN(plen, sizeof(hdr));
	memcpy(hdr, payload, hl);
	struct in_addr s4, d4;
	memcpy(&s4.s_addr, in + 12, 4);
	memcpy(&d4.s_addr, in + 16, 4);
	nat64_l4_4to6(hdr, hl, pkt->proto, pkt->is_first_fragment, s4, d4, &ot->src.v6,
		      &ot->dst.v6, ot->sport, ot->dport, (uint32_t)plen, g->csum_partial);
	if (pkt->proto == IPPROTO_UDP && pkt->udp_zero_checksum && hl >= UDP_HDR_LEN) {
		/* RFC 7915 4.5: IPv6 requires the UDP checksum; this is a
		 * whole datagram (fragments were reassembled or refused). */
		uint32_t sum = nat64_csum_pseudo6(&ot->src.v6, &ot->dst.v6, (uint32_t)plen,
						  IPPROTO_UDP);
		sum = nat64_csum_add(sum, hdr, 6);
		sum = nat64_csum_add(sum, payload + UDP_HDR_LEN, plen - UDP_HDR_LEN);
		uint16_t check = nat64_csum_finish(sum);
		put_be16(hdr + 6, check ? check : 0xffff);
	}

	/* Pieces: one packet, or fragments of at most 1280 octets when the
	 * IPv4 sender allowed fragmentation (DF=0) and the result is larger
	 * than the IPv6 minimum MTU (RFC 7915 4, "lowest-ipv6-mtu"). A packet
	 * that already was a fragment keeps its offsets and is cut further. */
	bool need_frag_hdr = pkt->is_fragment;
	if (!pkt->df && seg6 > IPV6_MIN_MTU)
		need_frag_hdr = true;
	size_t piece = plen;
	if (need_frag_hdr && IPV6_HDR_LEN + IPV6_FRAG_HDR_LEN + plen > IPV6_MIN_MTU)
		piece = FRAG6_PAYLOAD;
	size_t count = plen == 0 ? 1 : (plen + piece - 1) / piece;
	size_t ext = need_frag_hdr ? IPV6_FRAG_HDR_LEN : 0;
	if (count > NAT64_OUT_MAX_PKTS)
		return NAT64_DROP_TOO_BIG;
	if (ext + piece > 0xffff)	/* payload length field */
		return NAT64_DROP_TOO_BIG;
	size_t need = count * (IPV6_HDR_LEN + ext) + plen;
	if (out->cap < need)
		return NAT64_DROP_NO_BUFFER;

	uint8_t nh = pkt->proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : pkt->proto;
	uint8_t *o = out->buf;
	size_t done = 0;
	for (size_t i = 0; i < count; i++) {
		size_t n = MIN(piece, plen - done);
		bool last = done + n == plen;
		nat64_write_ipv6(o, in[1], (uint16_t)(ext + n), need_frag_hdr ? NH_FRAGMENT : nh,
				 (uint8_t)(ttl - 1), &ot->src.v6, &ot->dst.v6);
		uint8_t *p = o + IPV6_HDR_LEN;
		if (need_frag_hdr) {
			/* RFC 7915 4.1: identification = IPv4 ID (zero-
			 * extended), offset and M from the IPv4 fields. */
			uint32_t off = pkt->frag_offset + done;
			bool m = last ? pkt->more_fragments : true;
			p[0] = nh;
			p[1] = 0;
			put_be16(p + 2, (uint16_t)(off | (m ? 1 : 0)));
			put_be32(p + 4, pkt->frag_id);
			p += IPV6_FRAG_HDR_LEN;
		}
		memcpy(p, payload + done, n);
		if (done == 0 && pkt->is_first_fragment)
			memcpy(p, hdr, MIN(hl, n));
		out->pkt_len[i] = (uint32_t)(IPV6_HDR_LEN + ext + n);
		o += out->pkt_len[i];
		done += n;
	}
	out->count = (unsigned)count;
	out->len = need;
	if (offl)	/* one packet: the checks above kept it whole */
		out->gso[0] = nat64_gso_moved(g, pkt->l3_len, IPV6_HDR_LEN, AF_INET6);
	return NAT64_CONTINUE;
}
