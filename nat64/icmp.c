/* ICMP translation (RFC 7915 4.2 and 5.2): type/code tables, Parameter
 * Problem pointers, Packet Too Big <-> Fragmentation Needed arithmetic,
 * ICMP errors with their inner packets, and the errors the translator
 * originates itself. */
#include "autoconf.h"

#include "nat64/xlate_priv.h"

/* RFC 7915 4.2: ICMPv4 -> ICMPv6. */
enum nat64_verdict nat64_icmp4_map(uint8_t type, uint8_t code, uint8_t *t6, uint8_t *c6)
{
	switch (type) {
	case ICMP4_ECHO_REQUEST:
		*t6 = ICMP6_ECHO_REQUEST; *c6 = 0;
		return NAT64_CONTINUE;
	case ICMP4_ECHO_REPLY:
		*t6 = ICMP6_ECHO_REPLY; *c6 = 0;
		return NAT64_CONTINUE;
	case ICMP4_DEST_UNREACH:
		*t6 = ICMP6_DEST_UNREACH;
		switch (code) {
		case 0: case 1:		/* net, host unreachable */
		case 5:			/* source route failed */
		case 6: case 7: case 8:	/* unknown net/host, source host isolated */
		case 11: case 12:	/* net/host unreachable for TOS */
			*c6 = 0;	/* no route to destination */
			return NAT64_CONTINUE;
		case 2:			/* protocol unreachable */
			*t6 = ICMP6_PARAM_PROB;
			*c6 = 1;	/* unrecognized next header, pointer 6 */
			return NAT64_CONTINUE;
		case ICMP4_UNREACH_PORT:
			*c6 = 4;
			return NAT64_CONTINUE;
		case ICMP4_UNREACH_NEEDFRAG:
			*t6 = ICMP6_PACKET_TOO_BIG;
			*c6 = 0;
			return NAT64_CONTINUE;
		case 9: case 10:	/* network/host administratively prohibited */
		case 13:		/* communication administratively prohibited */
		case 15:		/* precedence cutoff in effect */
			*c6 = 1;	/* communication administratively prohibited */
			return NAT64_CONTINUE;
		default:		/* 14 host precedence violation, unknown */
			return NAT64_DROP_ICMP_UNTRANSLATABLE;
		}
	case ICMP4_TIME_EXCEEDED:
		if (code > 1)
			return NAT64_DROP_ICMP_UNTRANSLATABLE;
		*t6 = ICMP6_TIME_EXCEEDED;
		*c6 = code;
		return NAT64_CONTINUE;
	case ICMP4_PARAM_PROB:
		/* Code 0 (pointer) and 2 (bad length) keep a pointer; code 1
		 * (missing required option) has none to translate. */
		if (code != 0 && code != 2)
			return NAT64_DROP_ICMP_UNTRANSLATABLE;
		*t6 = ICMP6_PARAM_PROB;
		*c6 = 0;
		return NAT64_CONTINUE;
	default:
		/* Information/timestamp/address mask, router advertisement and
		 * solicitation, redirect, source quench, alternative host
		 * address, IGMP and unknown types are dropped (RFC 7915 4.2). */
		return NAT64_DROP_ICMP_UNTRANSLATABLE;
	}
}

/* RFC 7915 5.2: ICMPv6 -> ICMPv4. */
enum nat64_verdict nat64_icmp6_map(uint8_t type, uint8_t code, uint8_t *t4, uint8_t *c4)
{
	switch (type) {
	case ICMP6_ECHO_REQUEST:
		*t4 = ICMP4_ECHO_REQUEST; *c4 = 0;
		return NAT64_CONTINUE;
	case ICMP6_ECHO_REPLY:
		*t4 = ICMP4_ECHO_REPLY; *c4 = 0;
		return NAT64_CONTINUE;
	case ICMP6_DEST_UNREACH:
		*t4 = ICMP4_DEST_UNREACH;
		switch (code) {
		case 0: case 2: case 3:	/* no route, beyond scope, address unreachable */
			*c4 = 1;	/* host unreachable */
			return NAT64_CONTINUE;
		case 1:			/* administratively prohibited */
			*c4 = 10;	/* host administratively prohibited */
			return NAT64_CONTINUE;
		case 4:
			*c4 = ICMP4_UNREACH_PORT;
			return NAT64_CONTINUE;
		default:
			return NAT64_DROP_ICMP_UNTRANSLATABLE;
		}
	case ICMP6_PACKET_TOO_BIG:
		*t4 = ICMP4_DEST_UNREACH;
		*c4 = ICMP4_UNREACH_NEEDFRAG;
		return NAT64_CONTINUE;
	case ICMP6_TIME_EXCEEDED:
		if (code > 1)
			return NAT64_DROP_ICMP_UNTRANSLATABLE;
		*t4 = ICMP4_TIME_EXCEEDED;
		*c4 = code;
		return NAT64_CONTINUE;
	case ICMP6_PARAM_PROB:
		if (code == 0) {	/* erroneous header field: pointer mapped */
			*t4 = ICMP4_PARAM_PROB;
			*c4 = 0;
			return NAT64_CONTINUE;
		}
		if (code == 1) {	/* unrecognized next header */
			*t4 = ICMP4_DEST_UNREACH;
			*c4 = 2;	/* protocol unreachable */
			return NAT64_CONTINUE;
		}
		return NAT64_DROP_ICMP_UNTRANSLATABLE;	/* 2: unrecognized option */
	default:
		/* MLD, Neighbor Discovery and unknown informational types are
		 * single-hop or meaningless in IPv4 (RFC 7915 5.2). */
		return NAT64_DROP_ICMP_UNTRANSLATABLE;
	}
}

/* RFC 7915 figure 3 (IPv4 pointer -> IPv6 pointer). */
int nat64_icmp_pointer_4to6(uint8_t p)
{
	if (p == 0) return 0;		/* version/IHL -> version/traffic class */
	if (p == 1) return 1;		/* type of service -> traffic class */
	if (p == 2 || p == 3) return 4;	/* total length -> payload length */
	if (p == 8) return 7;		/* TTL -> hop limit */
	if (p == 9) return 6;		/* protocol -> next header */
	if (p >= 12 && p <= 15) return 8;	/* source address */
	if (p >= 16 && p <= 19) return 24;	/* destination address */
	return -1;	/* identification, flags, offset, checksum, options */
}

/* RFC 7915 figure 6 (IPv6 pointer -> IPv4 pointer). */
int nat64_icmp_pointer_6to4(uint8_t p)
{
	if (p == 0) return 0;		/* version/traffic class */
	if (p == 1) return 1;		/* traffic class/flow label */
	if (p == 4 || p == 5) return 2;	/* payload length -> total length */
	if (p == 6) return 9;		/* next header -> protocol */
	if (p == 7) return 8;		/* hop limit -> TTL */
	if (p >= 8 && p <= 23) return 12;	/* source address */
	if (p >= 24 && p <= 39) return 16;	/* destination address */
	return -1;	/* flow label, extension headers */
}

/* RFC 1191 section 7 plateau table. */
static const uint16_t mtu_plateaus[] = {
	65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, IPV4_MIN_MTU,
};

uint16_t nat64_mtu_plateau(uint16_t total_len)
{
	for (size_t i = 0; i < ARRAY_SIZE(mtu_plateaus); i++)
		if (mtu_plateaus[i] < total_len)
			return mtu_plateaus[i];
	return IPV4_MIN_MTU;
}

/* RFC 7915 4.2: minimum(advertised MTU + 20, MTU of the IPv6 next hop,
 * MTU of the IPv4 next hop + 20). A router that reports 0 predates RFC
 * 1191: use the largest plateau below the quoted packet's total length
 * that is at least 1280. The result never goes below the IPv6 minimum. */
uint32_t nat64_icmp_mtu_4to6(const struct nat64_xlate_cfg *cfg, uint16_t mtu4,
			     uint16_t inner_total_len)
{
	const uint32_t grow = IPV6_HDR_LEN - IPV4_HDR_LEN;
	uint32_t mtu6;
	if (mtu4 == 0) {
		mtu6 = nat64_mtu_plateau(inner_total_len);
		if (mtu6 < IPV6_MIN_MTU)
			mtu6 = IPV6_MIN_MTU;
	} else {
		mtu6 = (uint32_t)mtu4 + grow;
	}
	if (cfg->ipv6_mtu && mtu6 > cfg->ipv6_mtu)
		mtu6 = cfg->ipv6_mtu;
	if (cfg->ipv4_mtu && mtu6 > (uint32_t)cfg->ipv4_mtu + grow)
		mtu6 = (uint32_t)cfg->ipv4_mtu + grow;
	return MAX(mtu6, (uint32_t)IPV6_MIN_MTU);
}

/* RFC 7915 5.2: minimum(advertised MTU - 20, MTU of the IPv4 next hop,
 * MTU of the IPv6 next hop - 20). */
uint16_t nat64_icmp_mtu_6to4(const struct nat64_xlate_cfg *cfg, uint32_t mtu6)
{
	const uint32_t shrink = IPV6_HDR_LEN - IPV4_HDR_LEN;
	uint32_t mtu4 = mtu6 > shrink ? mtu6 - shrink : 0;
	if (cfg->ipv4_mtu && mtu4 > cfg->ipv4_mtu)
		mtu4 = cfg->ipv4_mtu;
	if (cfg->ipv6_mtu && cfg->ipv6_mtu > shrink && mtu4 > cfg->ipv6_mtu - shrink)
		mtu4 = cfg->ipv6_mtu - shrink;
	if (mtu4 > 0xffff)
		mtu4 = 0xffff;
	return (uint16_t)MAX(mtu4, (uint32_t)IPV4_MIN_MTU);
}

static uint8_t tclass_of(const uint8_t *ip6)
{
	return (uint8_t)((ip6[0] & 0x0f) << 4 | ip6[1] >> 4);
}

/* An ICMP or ICMPv6 header: type, code, the checksum zero until it is
 * computed over the whole message, and the 4 octets after it (`rest`:
 * an MTU, a pointer, or unused). */
static void put_icmp_hdr(uint8_t *oc, uint8_t type, uint8_t code, uint32_t rest)
{
	oc[0] = type;
	oc[1] = code;
	oc[2] = oc[3] = 0;
	put_be32(oc + 4, rest);
}

/* RFC 7915 5.2 + 5.3: an ICMPv6 error becomes an ICMPv4 error whose inner
 * packet is the translated IPv4 version of the quoted one, reversed tuple
 * (RFC 6146 3.7), and the whole message truncated to 576 octets. */
enum nat64_verdict nat64_icmp_error_6to4(const struct nat64_xlate_cfg *cfg,
					 const struct nat64_pkt *pkt,
					 const struct nat64_tuple *ot, struct nat64_out *out)
{
	const uint8_t *d = pkt->data;
	const uint8_t *icmp = d + pkt->l3_len;
	uint8_t t4, c4;
	enum nat64_verdict v = nat64_icmp6_map(icmp[0], icmp[1], &t4, &c4);
	if (v != NAT64_CONTINUE)
		return v;
	uint32_t rest = 0;
	if (icmp[0] == ICMP6_PACKET_TOO_BIG) {
		rest = nat64_icmp_mtu_6to4(cfg, get_be32(icmp + 4));	/* in the low 16 bits */
	} else if (icmp[0] == ICMP6_PARAM_PROB && icmp[1] == 0) {
		uint32_t p6 = get_be32(icmp + 4);
		int p4 = p6 <= 0xff ? nat64_icmp_pointer_6to4((uint8_t)p6) : -1;
		if (p4 < 0)
			return NAT64_DROP_ICMP_UNTRANSLATABLE;
		rest = (uint32_t)p4 << 24;	/* the pointer is the first octet */
	}

	const uint8_t *in = d + pkt->inner_off;
	size_t inner_l3 = pkt->inner_l4_off - pkt->inner_off;
	const uint8_t *il4 = d + pkt->inner_l4_off;
	size_t il4_len = pkt->len - pkt->inner_l4_off;
	/* The inner datagram's own sizes, from its header (it may be cut). */
	size_t iplen = get_be16(in + 4);
	size_t iulen = iplen > inner_l3 - IPV6_HDR_LEN ? iplen - (inner_l3 - IPV6_HDR_LEN) : 0;
	size_t itotal = MIN(IPV4_HDR_LEN + iulen, (size_t)0xffff);

	const size_t head = IPV4_HDR_LEN + ICMP_HDR_LEN + IPV4_HDR_LEN;
	size_t copy = MIN(il4_len, (size_t)ICMP4_ERROR_MAX - head);
	size_t total = head + copy;
	if (out->cap < total)
		return NAT64_DROP_NO_BUFFER;
	uint8_t *o = out->buf;
	uint8_t *oi = o + IPV4_HDR_LEN + ICMP_HDR_LEN;

	uint16_t ifrag = 0, iid = 0;
	if (pkt->inner_frag_off) {
		const uint8_t *fh = d + pkt->inner_frag_off;
		uint16_t f = get_be16(fh + 2);
		ifrag = (uint16_t)((f & 0xfff8) / 8) | ((f & 1) ? IPV4_MF : 0);
		iid = (uint16_t)get_be32(fh + 4);
	} else if (itotal > DF_THRESHOLD) {
		ifrag = IPV4_DF;
	}
	uint8_t iproto = pkt->inner_proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : pkt->inner_proto;
	nat64_write_ipv4(oi, tclass_of(in), (uint16_t)itotal, iid, ifrag, in[7], iproto,
			 ot->dst.v4, ot->src.v4);
	memcpy(oi + IPV4_HDR_LEN, il4, copy);
	struct in6_addr s6, d6;
	memcpy(&s6, in + 8, 16);
	memcpy(&d6, in + 24, 16);
	nat64_l4_6to4(oi + IPV4_HDR_LEN, copy, pkt->inner_proto, pkt->inner_first_fragment,
		      &s6, &d6, ot->dst.v4, ot->src.v4, ot->dport, ot->sport, (uint32_t)iulen,
		      false);

	uint8_t *oc = o + IPV4_HDR_LEN;
	put_icmp_hdr(oc, t4, c4, rest);
	put_be16(oc + 2, nat64_csum_finish(nat64_csum_add(0, oc, total - IPV4_HDR_LEN)));

	uint16_t id = cfg->ipv4_id_next ? (uint16_t)(*cfg->ipv4_id_next)++ : get_be16(oc + 2);
	nat64_write_ipv4(o, tclass_of(d), (uint16_t)total, id, 0, (uint8_t)(d[7] - 1),
			 IPPROTO_ICMP, ot->src.v4, ot->dst.v4);
	nat64_out_single(out, total);
	return NAT64_CONTINUE;
}

/* The IPv6 source of a translated ICMPv4 error: the reporting router's
 * address embedded with the prefix of the flow (RFC 6146 3.7). When the
 * Well-Known Prefix may not carry it, the translator's own address. */
static void error_source6(const struct nat64_xlate_cfg *cfg, const struct nat64_tuple *ot,
			  struct in_addr router, struct in6_addr *src)
{
	const struct prefix_info *p =
		prefix_set_find(cfg->prefixes, &ot->src.v6, PREFIX_ROLE_TRANSLATE);
	if (p && rfc6052_may_embed(&p->addr, p->len, router) &&
	    rfc6052_embed(&p->addr, p->len, router, src) == 0)
		return;
	static const struct in6_addr any = { .s6_addr = { 0 } };
	if (memcmp(&cfg->own_v6, &any, sizeof(any)) != 0)
		*src = cfg->own_v6;
	else
		*src = ot->src.v6;
}

/* RFC 7915 4.2 + 4.3: an ICMPv4 error becomes an ICMPv6 error, inner
 * packet translated with the reversed tuple, truncated to 1280 octets. */
enum nat64_verdict nat64_icmp_error_4to6(const struct nat64_xlate_cfg *cfg,
					 const struct nat64_pkt *pkt,
					 const struct nat64_tuple *ot, struct nat64_out *out)
{
	const uint8_t *d = pkt->data;
	const uint8_t *icmp = d + pkt->l3_len;
	uint8_t t6, c6;
	enum nat64_verdict v = nat64_icmp4_map(icmp[0], icmp[1], &t6, &c6);
	if (v != NAT64_CONTINUE)
		return v;
	const uint8_t *in = d + pkt->inner_off;
	size_t inner_l3 = pkt->inner_l4_off - pkt->inner_off;
	size_t itotal = get_be16(in + 2);
	size_t iulen = itotal > inner_l3 ? itotal - inner_l3 : 0;

	uint32_t rest = 0;
	if (t6 == ICMP6_PACKET_TOO_BIG) {
		rest = nat64_icmp_mtu_4to6(cfg, get_be16(icmp + 6), (uint16_t)itotal);
	} else if (t6 == ICMP6_PARAM_PROB && c6 == 1) {
		rest = 6;	/* protocol unreachable: the next header field */
	} else if (t6 == ICMP6_PARAM_PROB) {
		int p6 = nat64_icmp_pointer_4to6(icmp[4]);
		if (p6 < 0)
			return NAT64_DROP_ICMP_UNTRANSLATABLE;
		rest = (uint32_t)p6;
	}

	const uint8_t *il4 = d + pkt->inner_l4_off;
	size_t il4_len = pkt->len - pkt->inner_l4_off;
	bool ifrag = pkt->inner_is_fragment;
	size_t ihead = IPV6_HDR_LEN + (ifrag ? IPV6_FRAG_HDR_LEN : 0);
	const size_t head = IPV6_HDR_LEN + ICMP_HDR_LEN + ihead;
	size_t copy = MIN(il4_len, (size_t)ICMP6_ERROR_MAX - head);
	size_t total = head + copy;
	if (out->cap < total)
		return NAT64_DROP_NO_BUFFER;
	uint8_t *o = out->buf;
	uint8_t *oi = o + IPV6_HDR_LEN + ICMP_HDR_LEN;

	uint8_t inh = pkt->inner_proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : pkt->inner_proto;
	size_t iplen = iulen + (ifrag ? IPV6_FRAG_HDR_LEN : 0);
	nat64_write_ipv6(oi, in[1], (uint16_t)MIN(iplen, (size_t)0xffff),
			 ifrag ? NH_FRAGMENT : inh, in[8], &ot->dst.v6, &ot->src.v6);
	uint8_t *p = oi + IPV6_HDR_LEN;
	if (ifrag) {
		uint16_t f = get_be16(in + 6);
		p[0] = inh;
		p[1] = 0;
		put_be16(p + 2, (uint16_t)((f & IPV4_OFFSET_MASK) * 8) | ((f & IPV4_MF) ? 1 : 0));
		put_be32(p + 4, get_be16(in + 4));
		p += IPV6_FRAG_HDR_LEN;
	}
	memcpy(p, il4, copy);
	struct in_addr s4, d4;
	memcpy(&s4.s_addr, in + 12, 4);
	memcpy(&d4.s_addr, in + 16, 4);
	nat64_l4_4to6(p, copy, pkt->inner_proto, pkt->inner_first_fragment, s4, d4,
		      &ot->dst.v6, &ot->src.v6, ot->dport, ot->sport, (uint32_t)iulen, false);

	struct in_addr router;
	memcpy(&router.s_addr, d + 12, 4);
	struct in6_addr src6;
	error_source6(cfg, ot, router, &src6);
	size_t icmp_len = total - IPV6_HDR_LEN;
	nat64_write_ipv6(o, d[1], (uint16_t)icmp_len, IPPROTO_ICMPV6, (uint8_t)(d[8] - 1),
			 &src6, &ot->dst.v6);
	uint8_t *oc = o + IPV6_HDR_LEN;
	put_icmp_hdr(oc, t6, c6, rest);
	uint32_t sum = nat64_csum_pseudo6(&src6, &ot->dst.v6, (uint32_t)icmp_len, IPPROTO_ICMPV6);
	put_be16(oc + 2, nat64_csum_finish(nat64_csum_add(sum, oc, icmp_len)));
	nat64_out_single(out, total);
	return NAT64_CONTINUE;
}

#define OWN_ERROR_HLIM 64

/* Refills a bucket of `rate` per second holding at most `burst`. */
static uint32_t refill(uint32_t tokens, uint64_t *last_ms, uint64_t now, uint32_t rate,
		       uint32_t burst)
{
	if (*last_ms == 0 || now < *last_ms) {
		*last_ms = now ? now : 1;
		return burst;
	}
	uint64_t add = (now - *last_ms) * rate / 1000;
	if (add) {
		*last_ms = now;
		return (uint32_t)MIN((uint64_t)burst, tokens + add);
	}
	return tokens;
}

/* RFC 4443 2.4 (f): may one more error go to `dst` (16 octets, an IPv4
 * address in the first 4)? */
static bool rate_allow(struct nat64_icmp_limit *l, const uint8_t *dst)
{
	if (!l)
		return true;
	uint64_t now = l->now_ms ? l->now_ms : monotonic_ms();
	if (l->per_sec) {
		l->tokens = refill(l->tokens, &l->last_ms, now, l->per_sec, MAX(l->burst, 1u));
		if (l->tokens == 0)
			goto suppress;
	}
	if (l->dst_per_sec) {
		uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uintptr_t)l;
		for (unsigned i = 0; i < 16; i++)
			h = (h ^ dst[i]) * UINT64_C(0x100000001b3);
		struct nat64_icmp_dst *d = &l->dst[(h ^ h >> 29) % NAT64_ICMP_DST_SLOTS];
		if (d->last_ms == 0 || memcmp(d->key, dst, 16) != 0) {
			memcpy(d->key, dst, 16);
			d->last_ms = 0;
			d->tokens = 0;
		}
		uint32_t burst = MAX(l->dst_burst, 1u);
		d->tokens = refill(d->tokens, &d->last_ms, now, l->dst_per_sec, burst);
		if (d->tokens == 0)
			goto suppress;
		d->tokens--;
	}
	if (l->per_sec)
		l->tokens--;
	return true;
suppress:
	__atomic_store_n(&l->suppressed, l->suppressed + 1, __ATOMIC_RELAXED);
	return false;
}

enum nat64_verdict nat64_icmp_owe(const struct nat64_xlate_cfg *cfg, const struct nat64_pkt *pkt,
				  uint8_t type, uint8_t code, uint32_t param,
				  struct nat64_out *out, enum nat64_verdict reason)
{
	enum nat64_verdict v = nat64_icmp_error(cfg, pkt, type, code, param, out);
	/* An error held back by the rate limit is counted there; the packet
	 * still counts under its own reason. */
	if (v == NAT64_ICMP_SENT || v == NAT64_DROP_NO_BUFFER)
		return v;
	return reason;
}

enum nat64_verdict nat64_translate_begin(const struct nat64_xlate_cfg *cfg,
					 const struct nat64_pkt *pkt, int family, bool offloaded,
					 struct nat64_out *out)
{
	out->len = 0;
	out->count = 0;
	bool v6 = family == AF_INET6;
	if (pkt->family != family || pkt->len < (v6 ? IPV6_HDR_LEN : IPV4_HDR_LEN))
		return NAT64_DROP_INTERNAL;
	uint8_t hops = v6 ? pkt->data[7] : pkt->data[8];
	if (hops <= 1) {
		if (offloaded)
			return NAT64_SEGMENT;
		if (pkt->is_icmp_error)
			return NAT64_DROP_HOP_LIMIT;
		return nat64_icmp_owe(cfg, pkt, v6 ? ICMP6_TIME_EXCEEDED : ICMP4_TIME_EXCEEDED, 0, 0,
				      out, NAT64_DROP_HOP_LIMIT);
	}
	return NAT64_CONTINUE;
}

/* Errors the translator originates (RFC 4443 2.4, RFC 1812 4.3.2): back to
 * the sender, from the translator's own address, quoting as much of the
 * packet as fits 1280/576 octets. Never about an ICMP error. */
enum nat64_verdict nat64_icmp_error(const struct nat64_xlate_cfg *cfg,
				    const struct nat64_pkt *pkt, uint8_t type, uint8_t code,
				    uint32_t param, struct nat64_out *out)
{
	out->len = 0;
	out->count = 0;
	if (pkt->is_icmp_error)
		return NAT64_DROP_ICMP_ERROR_NESTED;
	if (pkt->is_fragment && !pkt->is_first_fragment)
		return NAT64_DROP_FRAGMENT_LIMIT;
	const uint8_t *d = pkt->data;
	if (pkt->family == AF_INET6) {
		if (pkt->len < IPV6_HDR_LEN)
			return NAT64_DROP_TRUNCATED;
		/* Unspecified or multicast source: nobody to tell. */
		static const uint8_t zero[16];
		if (d[8] == 0xff || memcmp(d + 8, zero, 16) == 0)
			return NAT64_DROP_BAD_HEADER;
		/* One destination: the sender's /64. */
		uint8_t key[16] = { 0 };
		memcpy(key, d + 8, 8);
		if (!rate_allow(cfg->icmp_limit, key))
			return NAT64_DROP_RATE_LIMITED;
		size_t head = IPV6_HDR_LEN + ICMP_HDR_LEN;
		size_t copy = MIN(pkt->len, (size_t)ICMP6_ERROR_MAX - head);
		size_t total = head + copy;
		if (out->cap < total)
			return NAT64_DROP_NO_BUFFER;
		struct in6_addr dst;
		memcpy(&dst, d + 8, 16);
		uint8_t *o = out->buf;
		nat64_write_ipv6(o, 0, (uint16_t)(total - IPV6_HDR_LEN), IPPROTO_ICMPV6,
				 OWN_ERROR_HLIM, &cfg->own_v6, &dst);
		uint8_t *oc = o + IPV6_HDR_LEN;
		put_icmp_hdr(oc, type, code, param);	/* MTU, pointer or unused */
		memcpy(oc + ICMP_HDR_LEN, d, copy);
		size_t icmp_len = total - IPV6_HDR_LEN;
		uint32_t sum = nat64_csum_pseudo6(&cfg->own_v6, &dst, (uint32_t)icmp_len,
						  IPPROTO_ICMPV6);
		put_be16(oc + 2, nat64_csum_finish(nat64_csum_add(sum, oc, icmp_len)));
		nat64_out_single(out, total);
		return NAT64_ICMP_SENT;
	}
	if (pkt->family != AF_INET || pkt->len < IPV4_HDR_LEN)
		return NAT64_DROP_INTERNAL;
	uint32_t src = get_be32(d + 12);
	if (src == 0 || src == 0xffffffffu || (src >> 28) == 0xe || (src >> 24) == 127)
		return NAT64_DROP_BAD_HEADER;	/* RFC 1812 4.3.2.7 */
	uint8_t key[16] = { 0 };
	memcpy(key, d + 12, 4);
	if (!rate_allow(cfg->icmp_limit, key))
		return NAT64_DROP_RATE_LIMITED;
	size_t head = IPV4_HDR_LEN + ICMP_HDR_LEN;
	size_t copy = MIN(pkt->len, (size_t)ICMP4_ERROR_MAX - head);
	size_t total = head + copy;
	if (out->cap < total)
		return NAT64_DROP_NO_BUFFER;
	struct in_addr dst;
	memcpy(&dst.s_addr, d + 12, 4);
	uint8_t *o = out->buf;
	uint8_t *oc = o + IPV4_HDR_LEN;
	/* A pointer is the first octet of the rest; a next-hop MTU its last two. */
	put_icmp_hdr(oc, type, code,
		     type == ICMP4_PARAM_PROB ? (uint32_t)(uint8_t)param << 24 : param & 0xffff);
	memcpy(oc + ICMP_HDR_LEN, d, copy);
	put_be16(oc + 2, nat64_csum_finish(nat64_csum_add(0, oc, total - IPV4_HDR_LEN)));
	uint16_t id = cfg->ipv4_id_next ? (uint16_t)(*cfg->ipv4_id_next)++ : get_be16(oc + 2);
	nat64_write_ipv4(o, 0, (uint16_t)total, id, 0, OWN_ERROR_HLIM, IPPROTO_ICMP,
			 cfg->own_v4, dst);
	nat64_out_single(out, total);
	return NAT64_ICMP_SENT;
}
