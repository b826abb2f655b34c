/* The virtio-net header and the arithmetic of super-packets: see vnet.h. */
#include "autoconf.h"

#include <string.h>

#include "nat64/vnet.h"
#include "nat64/xlate_priv.h"

#define TCP_SEQ_AT 4
#define TCP_DOFF_AT 12
#define TCP_FLAGS_AT 13
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80
#define TCP_CSUM_AT 16
#define UDP_LEN_AT 4
#define UDP_CSUM_AT 6

/* Legacy virtio on a TUN: the fields are in the host's byte order (a
 * big-endian host would need TUNSETVNETLE for virtio 1.0 order). */
static uint16_t get_h16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void put_h16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

void nat64_vnet_decode(const uint8_t *h, struct nat64_gso *g)
{
	memset(g, 0, sizeof(*g));
	g->csum_partial = h[0] & NAT64_VNET_F_NEEDS_CSUM;
	g->ecn = h[1] & NAT64_VNET_GSO_ECN;
	switch (h[1] & ~NAT64_VNET_GSO_ECN) {
	case NAT64_VNET_GSO_NONE:
		g->type = NAT64_GSO_NONE;
		break;
	case NAT64_VNET_GSO_TCPV4:
		g->type = NAT64_GSO_TCP4;
		break;
	case NAT64_VNET_GSO_TCPV6:
		g->type = NAT64_GSO_TCP6;
		break;
	case NAT64_VNET_GSO_UDP_L4:
		g->type = NAT64_GSO_UDP;
		break;
	default:
		g->type = NAT64_GSO_BAD;
	}
	g->hdr_len = get_h16(h + 2);
	g->size = get_h16(h + 4);
	if (g->csum_partial) {
		g->csum_start = get_h16(h + 6);
		g->csum_offset = get_h16(h + 8);
	}
}

void nat64_vnet_encode(uint8_t *h, const struct nat64_gso *g)
{
	static const uint8_t types[] = {
		[NAT64_GSO_NONE] = NAT64_VNET_GSO_NONE, [NAT64_GSO_TCP4] = NAT64_VNET_GSO_TCPV4,
		[NAT64_GSO_TCP6] = NAT64_VNET_GSO_TCPV6, [NAT64_GSO_UDP] = NAT64_VNET_GSO_UDP_L4,
		[NAT64_GSO_BAD] = NAT64_VNET_GSO_NONE,
	};
	memset(h, 0, NAT64_VNET_HDR_LEN);
	bool gso = g->type != NAT64_GSO_NONE && g->type < NAT64_GSO_BAD;
	h[0] = g->csum_partial ? NAT64_VNET_F_NEEDS_CSUM : 0;
	h[1] = gso ? (uint8_t)(types[g->type] | (g->ecn ? NAT64_VNET_GSO_ECN : 0)) : 0;
	if (gso) {
		put_h16(h + 2, g->hdr_len);
		put_h16(h + 4, g->size);
	}
	if (g->csum_partial) {
		put_h16(h + 6, g->csum_start);
		put_h16(h + 8, g->csum_offset);
	}
}

/* The L4 protocol a GSO type carries. */
static uint8_t gso_proto(const struct nat64_gso *g)
{
	return g->type == NAT64_GSO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

/* The length the IP header claims, 0 when it cannot be read. */
static size_t ip_len(const uint8_t *p, size_t len)
{
	if (len >= IPV4_HDR_LEN && p[0] >> 4 == 4)
		return get_be16(p + 2);
	if (len >= IPV6_HDR_LEN && p[0] >> 4 == 6 && get_be16(p + 4) != 0)
		return IPV6_HDR_LEN + (size_t)get_be16(p + 4);
	return 0;
}

enum nat64_verdict nat64_gso_check(const uint8_t *p, size_t *lenp, struct nat64_gso *g)
{
	if (g->type == NAT64_GSO_BAD)
		return NAT64_DROP_BAD_OFFLOAD;
	if (g->type == NAT64_GSO_NONE && !g->csum_partial) {
		g->size = g->hdr_len = 0;
		return NAT64_CONTINUE;	/* a plain packet: the parser judges it */
	}
	/* The checksum covers up to the end of the IP packet: octets after
	 * it are not ours. */
	size_t ilen = ip_len(p, *lenp);
	if (ilen < IPV4_HDR_LEN || ilen > *lenp)
		return NAT64_DROP_BAD_OFFLOAD;
	size_t len = *lenp = ilen;
	if (g->type == NAT64_GSO_NONE) {
		g->size = g->hdr_len = 0;
		if (g->csum_start < IPV4_HDR_LEN || (size_t)g->csum_start + g->csum_offset + 2 > len)
			return NAT64_DROP_BAD_OFFLOAD;
		return NAT64_CONTINUE;
	}
	/* Every GSO frame the kernel hands a TUN carries a partial checksum,
	 * which also says where the L4 header is. */
	if (!g->csum_partial || g->size == 0)
		return NAT64_DROP_BAD_OFFLOAD;
	unsigned version = p[0] >> 4;
	uint8_t proto = gso_proto(g);
	size_t l4 = g->csum_start;
	if (g->type == NAT64_GSO_TCP4 || (g->type == NAT64_GSO_UDP && version == 4)) {
		if (version != 4 || p[9] != proto || l4 != (size_t)(p[0] & 0x0f) * 4)
			return NAT64_DROP_BAD_OFFLOAD;
	} else {
		if (version != 6 || l4 < IPV6_HDR_LEN || (l4 == IPV6_HDR_LEN && p[6] != proto))
			return NAT64_DROP_BAD_OFFLOAD;
	}
	size_t l4_hdr;
	if (proto == IPPROTO_TCP) {
		if (g->csum_offset != TCP_CSUM_AT || l4 + TCP_HDR_LEN > len)
			return NAT64_DROP_BAD_OFFLOAD;
		l4_hdr = (size_t)(p[l4 + TCP_DOFF_AT] >> 4) * 4;
		if (l4_hdr < TCP_HDR_LEN)
			return NAT64_DROP_BAD_OFFLOAD;
	} else {
		if (g->csum_offset != UDP_CSUM_AT)
			return NAT64_DROP_BAD_OFFLOAD;
		l4_hdr = UDP_HDR_LEN;
	}
	/* Not the kernel's hdr_len: on the forward path it may span the
	 * whole first segment. The headers are what each segment repeats. */
	if (l4 + l4_hdr > len)
		return NAT64_DROP_BAD_OFFLOAD;
	g->hdr_len = (uint16_t)(l4 + l4_hdr);
	if (len - g->hdr_len <= g->size) {
		/* One segment: not really GSO (the kernel says the same). */
		g->type = NAT64_GSO_NONE;
		g->ecn = false;
		g->size = g->hdr_len = 0;
	}
	return NAT64_CONTINUE;
}

unsigned nat64_gso_segs(const struct nat64_gso *g, size_t len)
{
	if (g->type == NAT64_GSO_NONE || g->type == NAT64_GSO_BAD || g->size == 0 ||
	    len <= g->hdr_len)
		return 1;
	return (unsigned)((len - g->hdr_len + g->size - 1) / g->size);
}

size_t nat64_gso_wire_len(const struct nat64_gso *g, size_t len)
{
	return len + (size_t)(nat64_gso_segs(g, len) - 1) * g->hdr_len;
}

void nat64_csum_complete(uint8_t *p, size_t len, const struct nat64_gso *g)
{
	size_t at = (size_t)g->csum_start + g->csum_offset;
	if (!g->csum_partial || at + 2 > len)
		return;
	uint16_t check = nat64_csum_finish(nat64_csum_add(0, p + g->csum_start,
							  len - g->csum_start));
	if (g->csum_offset == UDP_CSUM_AT && check == 0)
		check = 0xffff;	/* RFC 768: 0 would mean "no checksum" */
	put_be16(p + at, check);
}

/* The pseudo-header sum of the packet at p with `l4_len` upper-layer
 * octets from csum_start, as the partial checksum field holds it. */
static uint16_t pseudo_sum(const uint8_t *p, size_t l4_len, uint8_t proto)
{
	uint32_t s;
	if (p[0] >> 4 == 4) {
		struct in_addr src, dst;
		memcpy(&src.s_addr, p + 12, 4);
		memcpy(&dst.s_addr, p + 16, 4);
		s = nat64_csum_pseudo4(src, dst, (uint16_t)l4_len, proto);
	} else {
		struct in6_addr src, dst;
		memcpy(&src, p + 8, 16);
		memcpy(&dst, p + 24, 16);
		s = nat64_csum_pseudo6(&src, &dst, (uint32_t)l4_len, proto);
	}
	return nat64_csum_fold(s);
}

/* The IP header of a segment of `seg_len` octets (IPv4: with `id`). */
static void fix_ip(uint8_t *p, size_t seg_len, uint16_t id, bool set_id)
{
	if (p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		put_be16(p + 2, (uint16_t)seg_len);
		if (set_id)
			put_be16(p + 4, id);
		put_be16(p + 10, 0);
		put_be16(p + 10, nat64_csum_ipv4_header(p, ihl));
	} else {
		put_be16(p + 4, (uint16_t)(seg_len - IPV6_HDR_LEN));
	}
}

void nat64_gso_iter_init(struct nat64_gso_iter *it, const uint8_t *p, size_t len,
			 const struct nat64_gso *g)
{
	it->p = p;
	it->len = len;
	it->g = *g;
	it->off = 0;
	it->k = 0;
	it->n = nat64_gso_segs(g, len);
}

size_t nat64_gso_next(struct nat64_gso_iter *it, uint8_t *buf, size_t cap)
{
	const struct nat64_gso *g = &it->g;
	if (it->k >= it->n)
		return 0;
	if (g->type == NAT64_GSO_NONE) {
		if (it->len > cap)
			return 0;
		memcpy(buf, it->p, it->len);
		nat64_csum_complete(buf, it->len, g);
		it->k++;
		return it->len;
	}
	size_t hl = g->hdr_len;
	size_t pay = MIN((size_t)g->size, it->len - hl - it->off);
	size_t seg_len = hl + pay;
	if (seg_len > cap)
		return 0;
	memcpy(buf, it->p, hl);
	memcpy(buf + hl, it->p + hl + it->off, pay);
	bool first = it->k == 0, last = it->k + 1 == it->n;
	/* IPv4: the kernel numbers the segments ID, ID + 1, ... */
	fix_ip(buf, seg_len, (uint16_t)(get_be16(it->p + 4) + it->k), true);
	uint8_t *l4 = buf + g->csum_start;
	uint8_t proto = gso_proto(g);
	if (proto == IPPROTO_TCP) {
		put_be32(l4 + TCP_SEQ_AT, get_be32(l4 + TCP_SEQ_AT) + (uint32_t)it->off);
		if (!last)
			l4[TCP_FLAGS_AT] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (!first)
			l4[TCP_FLAGS_AT] &= (uint8_t)~TCP_CWR;
	} else {
		put_be16(l4 + UDP_LEN_AT, (uint16_t)(seg_len - g->csum_start));
	}
	/* A complete checksum from scratch: pseudo-header, then the rest. */
	size_t l4_len = seg_len - g->csum_start;
	put_be16(l4 + g->csum_offset, pseudo_sum(buf, l4_len, proto));
	struct nat64_gso plain = { .csum_partial = true, .csum_start = g->csum_start,
				   .csum_offset = g->csum_offset };
	nat64_csum_complete(buf, seg_len, &plain);
	it->off += pay;
	it->k++;
	return seg_len;
}

/* The partial checksum field's pseudo-header length word changed. */
static void partial_relen(uint8_t *field, uint32_t old_len, uint32_t new_len)
{
	uint32_t old_sum = (old_len >> 16) + (old_len & 0xffff);
	uint32_t new_sum = (new_len >> 16) + (new_len & 0xffff);
	uint16_t partial = get_be16(field);
	/* nat64_csum_update works on complemented fields. */
	put_be16(field, (uint16_t)~nat64_csum_update((uint16_t)~partial, old_sum, new_sum));
}

size_t nat64_gso_split_last(uint8_t *buf, size_t len, size_t cap, struct nat64_gso *g,
			    uint16_t tail_id, size_t *tail_len, struct nat64_gso *tail_g)
{
	unsigned n = nat64_gso_segs(g, len);
	if (n < 2 || !g->csum_partial || buf[0] >> 4 != 4)
		return 0;
	size_t hl = g->hdr_len;
	size_t first_len = hl + (size_t)(n - 1) * g->size;
	size_t last_pay = len - first_len;
	if (first_len + hl + last_pay > cap)
		return 0;
	uint8_t proto = gso_proto(g);
	uint8_t *tail = buf + first_len;
	memmove(tail + hl, tail, last_pay);
	memcpy(tail, buf, hl);
	*tail_len = hl + last_pay;

	uint32_t old_l4 = (uint32_t)(len - g->csum_start);
	if (proto == IPPROTO_UDP)
		old_l4 = get_be16(buf + g->csum_start + UDP_LEN_AT);
	/* The first frame: segments 0 .. n-2 (FIN and PSH belong to the last). */
	fix_ip(buf, first_len, 0, false);
	uint8_t *l4 = buf + g->csum_start;
	if (proto == IPPROTO_TCP)
		l4[TCP_FLAGS_AT] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	else
		put_be16(l4 + UDP_LEN_AT, (uint16_t)(first_len - g->csum_start));
	partial_relen(l4 + g->csum_offset, old_l4, (uint32_t)(first_len - g->csum_start));

	/* The last segment: its own identification, DF clear. */
	put_be16(tail + 6, get_be16(tail + 6) & (uint16_t)~IPV4_DF);
	fix_ip(tail, *tail_len, tail_id, true);
	l4 = tail + g->csum_start;
	if (proto == IPPROTO_TCP) {
		put_be32(l4 + TCP_SEQ_AT, get_be32(l4 + TCP_SEQ_AT) + (uint32_t)(n - 1) * g->size);
		l4[TCP_FLAGS_AT] &= (uint8_t)~TCP_CWR;
	} else {
		put_be16(l4 + UDP_LEN_AT, (uint16_t)(*tail_len - g->csum_start));
	}
	partial_relen(l4 + g->csum_offset, old_l4, (uint32_t)(*tail_len - g->csum_start));
	*tail_g = (struct nat64_gso){ .csum_partial = true, .csum_start = g->csum_start,
				      .csum_offset = g->csum_offset };
	if (n == 2) {
		g->type = NAT64_GSO_NONE;
		g->ecn = false;
		g->size = g->hdr_len = 0;
	}
	return first_len;
}

bool nat64_gso_coalesce(uint8_t *f, size_t *flen, size_t cap, struct nat64_gso *fg,
			const uint8_t *p, size_t plen, const struct nat64_gso *pg)
{
	if (!pg->csum_partial || pg->type != NAT64_GSO_NONE || pg->csum_offset != UDP_CSUM_AT ||
	    !fg->csum_partial || (fg->type != NAT64_GSO_NONE && fg->type != NAT64_GSO_UDP) ||
	    fg->csum_offset != UDP_CSUM_AT || fg->csum_start != pg->csum_start)
		return false;
	size_t l3 = pg->csum_start, hl = l3 + UDP_HDR_LEN;
	bool v4 = l3 == IPV4_HDR_LEN;
	if ((!v4 && l3 != IPV6_HDR_LEN) || plen <= hl || *flen <= hl || p[0] != f[0] ||
	    p[0] >> 4 != (v4 ? 4 : 6))
		return false;
	unsigned n = nat64_gso_segs(fg, *flen);
	size_t size = fg->type == NAT64_GSO_UDP ? fg->size : *flen - hl;
	size_t pay = plen - hl;
	/* A short datagram ended the frame; one of another size cannot join. */
	if (pay > size || *flen - hl - (size_t)(n - 1) * size != size ||
	    n >= NAT64_GSO_UDP_MAX_SEGS || *flen + pay > cap ||
	    *flen + pay - (v4 ? 0 : IPV6_HDR_LEN) > 0xffff)
		return false;
	if (v4) {
		/* TOS, flags and offset, TTL, protocol, addresses; the ID
		 * the kernel will give this segment (DF=1: any, RFC 6864). */
		bool df = get_be16(f + 6) & IPV4_DF;
		if (f[1] != p[1] || memcmp(f + 6, p + 6, 4) != 0 || memcmp(f + 12, p + 12, 8) != 0 ||
		    (!df && get_be16(p + 4) != (uint16_t)(get_be16(f + 4) + n)))
			return false;
	} else if (memcmp(f, p, 4) != 0 || memcmp(f + 6, p + 6, 34) != 0) {
		return false;	/* class and flow label, next header, hop limit, addresses */
	}
	if (memcmp(f + l3, p + l3, 4) != 0)
		return false;	/* ports */
	memcpy(f + *flen, p + hl, pay);
	*flen += pay;
	uint8_t *udp = f + l3;
	uint16_t old_len = get_be16(udp + UDP_LEN_AT);
	put_be16(udp + UDP_LEN_AT, (uint16_t)(*flen - l3));
	partial_relen(udp + UDP_CSUM_AT, old_len, (uint32_t)(*flen - l3));
	fix_ip(f, *flen, 0, false);
	fg->type = NAT64_GSO_UDP;
	fg->size = (uint16_t)size;
	fg->hdr_len = (uint16_t)hl;
	return true;
}
