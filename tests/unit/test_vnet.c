/* The virtio-net header arithmetic (nat64/vnet.c) and super-packets through
 * the translation steps, for every GSO type in both directions.
 *
 * The reference for what the kernel does with a frame we write is a small
 * model of its segmentation written here (kernel_cut: net/ipv4/tcp_offload.c
 * and udp_offload.c replace the pseudo-header length inside the partial
 * checksum, then the device sums the data), so a partial checksum carried
 * wrongly shows up as an invalid segment. The reference for what the
 * translation must produce is the translation of each segment as a plain
 * packet, the way it worked before offloads. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/rfc6052.h"
#include "common/util.h"
#include "nat64/checksum.h"
#include "nat64/vnet.h"
#include "nat64/xlate.h"
#include "tests/unit/tap.h"

#define BUF (65536 + 4096)
#define TCP_HL 32		/* 20 + NOP NOP timestamp */
#define CLIENT6 "2001:db8:1::100"
#define SERVER4 "192.88.99.80"
#define POOL4 "192.88.99.64"
#define PREFIX "2001:db8:64::"
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

static uint8_t in[BUF], out[BUF], seg[BUF], ref[BUF], ref_out[BUF];

/* --- building frames the way the kernel hands them over --- */

struct frame {
	int family;		/* of the IP header */
	uint8_t proto;
	size_t payload;		/* L4 payload octets */
	uint16_t mss;		/* gso_size; 0: plain partial */
	uint8_t flags;		/* TCP */
	uint8_t ttl;
	bool df;
};

static size_t l3_of(int family)
{
	return family == AF_INET ? 20 : 40;
}

static size_t l4hl_of(uint8_t proto)
{
	return proto == IPPROTO_TCP ? TCP_HL : 8;
}

static uint16_t pseudo(const uint8_t *p, size_t l4_len, uint8_t proto)
{
	if (p[0] >> 4 == 4) {
		struct in_addr s, d;
		memcpy(&s.s_addr, p + 12, 4);
		memcpy(&d.s_addr, p + 16, 4);
		return nat64_csum_fold(nat64_csum_pseudo4(s, d, (uint16_t)l4_len, proto));
	}
	struct in6_addr s, d;
	memcpy(&s, p + 8, 16);
	memcpy(&d, p + 24, 16);
	return nat64_csum_fold(nat64_csum_pseudo6(&s, &d, (uint32_t)l4_len, proto));
}

/* IPv6 client -> server (under the prefix), or IPv4 server -> pool. */
static size_t build(uint8_t *b, const struct frame *f, struct nat64_gso *g)
{
	size_t l3 = l3_of(f->family), hl = l4hl_of(f->proto);
	size_t l4_len = hl + f->payload, len = l3 + l4_len;
	memset(b, 0, len);
	if (f->family == AF_INET6) {
		b[0] = 0x60;
		put_be16(b + 4, (uint16_t)l4_len);
		b[6] = f->proto;
		b[7] = f->ttl ? f->ttl : 64;
		inet_pton(AF_INET6, CLIENT6, b + 8);
		struct in6_addr pfx, dst;
		struct in_addr s4;
		inet_pton(AF_INET6, PREFIX, &pfx);
		inet_pton(AF_INET, SERVER4, &s4);
		rfc6052_embed(&pfx, 96, s4, &dst);
		memcpy(b + 24, &dst, 16);
	} else {
		b[0] = 0x45;
		put_be16(b + 2, (uint16_t)len);
		put_be16(b + 4, 0x1234);
		put_be16(b + 6, f->df ? 0x4000 : 0);
		b[8] = f->ttl ? f->ttl : 64;
		b[9] = f->proto;
		inet_pton(AF_INET, SERVER4, b + 12);
		inet_pton(AF_INET, POOL4, b + 16);
		put_be16(b + 10, nat64_csum_ipv4_header(b, 20));
	}
	uint8_t *l4 = b + l3;
	put_be16(l4, f->family == AF_INET6 ? 40000 : 80);
	put_be16(l4 + 2, f->family == AF_INET6 ? 80 : 61001);
	if (f->proto == IPPROTO_TCP) {
		put_be32(l4 + 4, 0x10000000u);
		put_be32(l4 + 8, 0x20000000u);
		l4[12] = (TCP_HL / 4) << 4;
		l4[13] = f->flags;
		put_be16(l4 + 14, 512);
		l4[20] = l4[21] = 1;	/* NOP NOP timestamp */
		l4[22] = 8;
		l4[23] = 10;
		put_be32(l4 + 24, 12345);
		put_be32(l4 + 28, 54321);
	} else {
		put_be16(l4 + 4, (uint16_t)l4_len);
	}
	for (size_t i = 0; i < f->payload; i++)
		l4[hl + i] = (uint8_t)(i * 7 + i / 251);
	/* As the sending stack leaves it: the pseudo-header sum, for the
	 * whole super-packet's length. */
	size_t coff = f->proto == IPPROTO_TCP ? 16 : 6;
	put_be16(l4 + coff, pseudo(b, l4_len, f->proto));
	*g = (struct nat64_gso){ .csum_partial = true, .csum_start = (uint16_t)l3,
				 .csum_offset = (uint16_t)coff };
	if (f->mss) {
		g->type = f->proto == IPPROTO_UDP ? NAT64_GSO_UDP
			  : f->family == AF_INET ? NAT64_GSO_TCP4 : NAT64_GSO_TCP6;
		g->size = f->mss;
		g->hdr_len = (uint16_t)(l3 + hl + f->mss);	/* as on the forward path */
	}
	return len;
}

/* Frame `f` as the TUN hands it over, in `in`: built, then its virtio-net
 * header checked. Returns its length. */
static size_t from_tun(const struct frame *f, struct nat64_gso *g)
{
	size_t len = build(in, f, g);
	nat64_gso_check(in, &len, g);
	return len;
}

/* --- the kernel's side, modelled --- */

/* Segment k of a frame as the kernel cuts it, checksum from the partial. */
static size_t kernel_cut(const uint8_t *p, size_t len, const struct nat64_gso *g, unsigned k,
			 uint8_t *s)
{
	size_t cs = g->csum_start;
	size_t hl = g->type == NAT64_GSO_NONE ? len : g->hdr_len;
	size_t pay = g->type == NAT64_GSO_NONE ? 0 : MIN((size_t)g->size, len - hl - k * g->size);
	size_t n = hl + pay;
	memcpy(s, p, hl);
	memcpy(s + hl, p + hl + (size_t)k * g->size, pay);
	uint8_t *l4 = s + cs;
	bool udp = g->csum_offset == 6;
	if (g->type != NAT64_GSO_NONE) {
		unsigned last = (unsigned)((len - hl + g->size - 1) / g->size) - 1;
		if (s[0] >> 4 == 4) {
			put_be16(s + 2, (uint16_t)n);
			put_be16(s + 4, (uint16_t)(get_be16(p + 4) + k));
			put_be16(s + 10, 0);
			put_be16(s + 10, nat64_csum_ipv4_header(s, 20));
		} else {
			put_be16(s + 4, (uint16_t)(n - 40));
		}
		uint32_t old_len = udp ? get_be16(p + cs + 4) : (uint32_t)(len - cs);
		uint32_t new_len = (uint32_t)(n - cs);
		if (udp) {
			put_be16(l4 + 4, (uint16_t)new_len);
		} else {
			put_be32(l4 + 4, get_be32(l4 + 4) + (uint32_t)k * g->size);
			if (k != last)
				l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (k != 0)
				l4[13] &= (uint8_t)~TCP_CWR;
		}
		uint16_t c = get_be16(l4 + g->csum_offset);
		uint32_t sum = c + (uint16_t)~old_len + (new_len & 0xffff);
		put_be16(l4 + g->csum_offset, nat64_csum_fold(sum));
	}
	uint16_t check = nat64_csum_finish(nat64_csum_add(0, l4, n - cs));
	if (udp && check == 0)
		check = 0xffff;
	put_be16(l4 + g->csum_offset, check);
	return n;
}

/* A complete, valid L4 checksum (and IPv4 header checksum). */
static bool valid(const uint8_t *p, size_t len)
{
	bool v4 = p[0] >> 4 == 4;
	size_t l3 = v4 ? 20 : 40;
	uint8_t proto = v4 ? p[9] : p[6];
	if (v4 && nat64_csum_fold(nat64_csum_add(0, p, 20)) != 0xffff)
		return false;
	if (len != (v4 ? get_be16(p + 2) : 40u + get_be16(p + 4)))
		return false;
	uint32_t s;
	if (v4) {
		struct in_addr a, b;
		memcpy(&a.s_addr, p + 12, 4);
		memcpy(&b.s_addr, p + 16, 4);
		s = nat64_csum_pseudo4(a, b, (uint16_t)(len - l3), proto);
	} else {
		struct in6_addr a, b;
		memcpy(&a, p + 8, 16);
		memcpy(&b, p + 24, 16);
		s = nat64_csum_pseudo6(&a, &b, (uint32_t)(len - l3), proto);
	}
	return nat64_csum_fold(nat64_csum_add(s, p + l3, len - l3)) == 0xffff;
}

/* --- translation set-up --- */

static struct prefix_set *prefixes;
static uint32_t id_counter;

static void cfg_init(struct nat64_xlate_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->prefixes = prefixes;
	inet_pton(AF_INET, POOL4, &c->own_v4);
	c->ipv4_mtu = 1500;
	c->ipv6_mtu = 1500;
	c->ipv4_id_next = &id_counter;
}

static void out_tuple(int family_in, struct nat64_tuple *ot)
{
	memset(ot, 0, sizeof(*ot));
	if (family_in == AF_INET6) {
		ot->family = AF_INET;
		inet_pton(AF_INET, POOL4, &ot->src.v4);
		inet_pton(AF_INET, SERVER4, &ot->dst.v4);
		ot->sport = 61001;
		ot->dport = 80;
	} else {
		struct in6_addr pfx;
		struct in_addr s4;
		ot->family = AF_INET6;
		inet_pton(AF_INET6, PREFIX, &pfx);
		inet_pton(AF_INET, SERVER4, &s4);
		rfc6052_embed(&pfx, 96, s4, &ot->src.v6);
		inet_pton(AF_INET6, CLIENT6, &ot->dst.v6);
		ot->sport = 80;
		ot->dport = 40000;
	}
}

/* determine -> offload -> translate, as path.c runs them. */
static enum nat64_verdict translate(struct nat64_xlate_cfg *c, const uint8_t *p, size_t len,
				    const struct nat64_gso *g, struct nat64_out *o)
{
	struct nat64_pkt pkt;
	struct nat64_tuple t, ot;
	bool v6 = p[0] >> 4 == 6;
	enum nat64_verdict v = v6 ? nat64_determine_tuple6(c, p, len, &pkt, &t)
				  : nat64_determine_tuple4(c, p, len, &pkt, &t);
	if (v != NAT64_CONTINUE)
		return v;
	v = nat64_pkt_offload(&pkt, g);
	if (v != NAT64_CONTINUE)
		return v;
	out_tuple(v6 ? AF_INET6 : AF_INET, &ot);
	ot.proto = t.proto;
	return v6 ? nat64_translate_6to4(c, &pkt, &ot, o) : nat64_translate_4to6(c, &pkt, &ot, o);
}

/* The super-packet p (metadata g) translated whole must give, once the
 * kernel cuts what we wrote, the packets that translating each segment
 * on its own gives. `ignore_df_id`: IPv4 segments with DF=1 may carry
 * other identifications (RFC 6864: atomic datagrams). */
static bool same_as_per_segment(const char *what, const uint8_t *p, size_t len,
				const struct nat64_gso *g, uint32_t id_start, bool *all_valid)
{
	struct nat64_xlate_cfg c;
	cfg_init(&c);
	id_counter = id_start;
	struct nat64_out o = { .buf = out, .cap = BUF };
	if (translate(&c, p, len, g, &o) != NAT64_CONTINUE) {
		printf("# %s: whole translation refused\n", what);
		return false;
	}
	/* What the kernel sends out of what we wrote. */
	static uint8_t cut[64][2048];
	static size_t cut_len[64];
	unsigned ncut = 0;
	*all_valid = true;
	size_t at = 0;
	for (unsigned k = 0; k < o.count; k++) {
		const struct nat64_gso *og = k < 2 ? &o.gso[k] : &(struct nat64_gso){ 0 };
		unsigned n = nat64_gso_segs(og, o.pkt_len[k]);
		for (unsigned j = 0; j < n && ncut < 64; j++, ncut++) {
			cut_len[ncut] = kernel_cut(out + at, o.pkt_len[k], og, j, cut[ncut]);
			*all_valid = *all_valid && valid(cut[ncut], cut_len[ncut]);
		}
		at += o.pkt_len[k];
	}
	/* Each segment alone, translated as a plain packet. */
	id_counter = id_start;
	struct nat64_gso_iter it;
	nat64_gso_iter_init(&it, p, len, g);
	unsigned k = 0;
	size_t sl;
	bool same = true;
	while ((sl = nat64_gso_next(&it, seg, BUF)) > 0) {
		struct nat64_out r = { .buf = ref_out, .cap = BUF };
		if (translate(&c, seg, sl, NULL, &r) != NAT64_CONTINUE || r.count != 1 ||
		    k >= ncut || r.len != cut_len[k]) {
			printf("# %s: segment %u: %zu vs %zu octets\n", what, k, r.len,
			       k < ncut ? cut_len[k] : 0);
			return false;
		}
		memcpy(ref, ref_out, r.len);
		if (ref[0] >> 4 == 4 && (get_be16(ref + 6) & 0x4000)) {
			/* DF=1: identification (and so the header checksum) free */
			memset(ref + 4, 0, 2), memset(ref + 10, 0, 2);
			memset(cut[k] + 4, 0, 2), memset(cut[k] + 10, 0, 2);
		}
		if (memcmp(ref, cut[k], r.len) != 0) {
			for (size_t i = 0; i < r.len; i++)
				if (ref[i] != cut[k][i]) {
					printf("# %s: segment %u differs at octet %zu\n", what, k, i);
					break;
				}
			same = false;
		}
		k++;
	}
	if (k != ncut) {
		printf("# %s: %u segments, the kernel would cut %u\n", what, k, ncut);
		return false;
	}
	return same;
}

/* --- the tests --- */

static void test_header(void)
{
	static const struct nat64_gso cases[] = {
		{ .type = NAT64_GSO_NONE, .csum_partial = true, .csum_start = 20, .csum_offset = 16 },
		{ .type = NAT64_GSO_TCP4, .csum_partial = true, .size = 1448, .hdr_len = 52,
		  .csum_start = 20, .csum_offset = 16 },
		{ .type = NAT64_GSO_TCP6, .csum_partial = true, .size = 1428, .hdr_len = 72,
		  .csum_start = 40, .csum_offset = 16 },
		{ .type = NAT64_GSO_TCP6, .ecn = true, .csum_partial = true, .size = 1220,
		  .hdr_len = 72, .csum_start = 40, .csum_offset = 16 },
		{ .type = NAT64_GSO_UDP, .csum_partial = true, .size = 1200, .hdr_len = 28,
		  .csum_start = 20, .csum_offset = 6 },
		{ .type = NAT64_GSO_UDP, .csum_partial = true, .size = 1200, .hdr_len = 48,
		  .csum_start = 40, .csum_offset = 6 },
	};
	static const char *const names[] = { "plain, partial checksum", "TCPv4", "TCPv6",
					     "TCPv6 with ECN", "UDP over IPv4", "UDP over IPv6" };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t h[NAT64_VNET_HDR_LEN];
		struct nat64_gso back;
		nat64_vnet_encode(h, &cases[i]);
		nat64_vnet_decode(h, &back);
		char name[96];
		snprintf(name, sizeof(name), "header round trip: %s", names[i]);
		ok(memcmp(&back, &cases[i], sizeof(back)) == 0, name);
	}
	uint8_t h[NAT64_VNET_HDR_LEN] = { 0 };
	struct nat64_gso g;
	h[1] = NAT64_VNET_GSO_UDP;
	nat64_vnet_decode(h, &g);
	is_int(g.type, NAT64_GSO_BAD, "UFO (gso_type 3) is not understood");
	h[1] = 9;
	nat64_vnet_decode(h, &g);
	is_int(g.type, NAT64_GSO_BAD, "an unknown gso_type is not understood");
	memset(h, 0xee, sizeof(h));
	nat64_vnet_encode(h, &(struct nat64_gso){ 0 });
	static const uint8_t zero[NAT64_VNET_HDR_LEN];
	ok(memcmp(h, zero, sizeof(h)) == 0, "a plain packet gets a zero header");
	/* The wire layout (host order on x86: little-endian). */
	nat64_vnet_encode(h, &cases[1]);
	uint16_t sz;
	memcpy(&sz, h + 4, 2);
	ok(h[0] == NAT64_VNET_F_NEEDS_CSUM && h[1] == NAT64_VNET_GSO_TCPV4 && sz == 1448,
	   "flags, gso_type and gso_size where virtio puts them");
}

static void test_check(void)
{
	static const struct frame fr[] = {
		{ AF_INET, IPPROTO_TCP, 10 * 1400 + 300, 1400, TCP_ACK, 0, true },
		{ AF_INET6, IPPROTO_TCP, 10 * 1400 + 300, 1400, TCP_ACK, 0, false },
		{ AF_INET, IPPROTO_UDP, 4 * 1200 + 10, 1200, 0, 0, true },
		{ AF_INET6, IPPROTO_UDP, 4 * 1200 + 10, 1200, 0, 0, false },
	};
	static const char *const names[] = { "TCPv4", "TCPv6", "UDP/IPv4", "UDP/IPv6" };
	for (size_t i = 0; i < ARRAY_SIZE(fr); i++) {
		struct nat64_gso g;
		size_t len = build(in, &fr[i], &g);
		char name[96];
		snprintf(name, sizeof(name), "%s super-packet accepted", names[i]);
		is_int(nat64_gso_check(in, &len, &g), NAT64_CONTINUE, name);
		snprintf(name, sizeof(name), "%s: hdr_len from the L4 header, not the kernel's",
			 names[i]);
		is_int(g.hdr_len, l3_of(fr[i].family) + l4hl_of(fr[i].proto), name);
	}
	struct frame one = { AF_INET, IPPROTO_TCP, 1000, 1400, TCP_ACK, 0, true };
	struct nat64_gso g;
	size_t len = build(in, &one, &g);
	ok(nat64_gso_check(in, &len, &g) == NAT64_CONTINUE && g.type == NAT64_GSO_NONE &&
	   g.csum_partial, "GSO of one segment or less is a plain partial packet");

	struct frame t4 = { AF_INET, IPPROTO_TCP, 5000, 1400, TCP_ACK, 0, true };
	len = build(in, &t4, &g);
	g.type = NAT64_GSO_TCP6;
	is_int(nat64_gso_check(in, &len, &g), NAT64_DROP_BAD_OFFLOAD, "TCPv6 GSO on IPv4 refused");
	len = build(in, &t4, &g);
	g.csum_offset = 6;
	is_int(nat64_gso_check(in, &len, &g), NAT64_DROP_BAD_OFFLOAD,
	       "TCP with the checksum at the UDP offset refused");
	len = build(in, &t4, &g);
	g.type = NAT64_GSO_NONE;
	g.csum_start = (uint16_t)(len - 1);
	is_int(nat64_gso_check(in, &len, &g), NAT64_DROP_BAD_OFFLOAD,
	       "a checksum field past the end refused");
	len = build(in, &t4, &g);
	g.csum_partial = false;
	is_int(nat64_gso_check(in, &len, &g), NAT64_DROP_BAD_OFFLOAD,
	       "GSO without a partial checksum refused");
	len = build(in, &t4, &g);
	size_t padded = len + 6;
	ok(nat64_gso_check(in, &padded, &g) == NAT64_CONTINUE && padded == len,
	   "octets after the IP packet are not part of it");
	len = build(in, &t4, &g);
	g.type = NAT64_GSO_BAD;
	is_int(nat64_gso_check(in, &len, &g), NAT64_DROP_BAD_OFFLOAD, "a header not understood refused");
}

/* A UDP super-packet `f` translated: two checks, UDP segmentation kept with
 * the headers of the other family (hdr_len, csum_start), then each datagram
 * as its own translation with valid checksums. */
static void check_uso(struct nat64_xlate_cfg *c, const char *what, const struct frame *f,
		      size_t hdr_len, size_t csum_start, const char *kept, const char *same)
{
	struct nat64_gso g;
	bool all_valid;
	size_t len = from_tun(f, &g);
	struct nat64_out o = { .buf = out, .cap = BUF };
	translate(c, in, len, &g, &o);
	ok(o.gso[0].type == NAT64_GSO_UDP && o.gso[0].hdr_len == hdr_len &&
	   o.gso[0].csum_start == csum_start, kept);
	ok(same_as_per_segment(what, in, len, &g, 1, &all_valid) && all_valid, same);
}

static void test_counts(void)
{
	struct frame f = { AF_INET, IPPROTO_TCP, 10 * 1400 + 300, 1400, TCP_ACK, 0, true };
	struct nat64_gso g;
	size_t len = from_tun(&f, &g);
	is_int(nat64_gso_segs(&g, len), 11, "segments of a TSO frame (10 full, one short)");
	is_int(nat64_gso_wire_len(&g, len), len + 10 * (20 + TCP_HL),
	       "octets on the wire: the headers once per segment");
	struct nat64_gso plain = { 0 };
	is_int(nat64_gso_segs(&plain, 1500), 1, "a plain packet is one segment");
	is_int(nat64_gso_wire_len(&plain, 1500), 1500, "and carries its own length");
}

static void test_segment(void)
{
	static const struct frame fr[] = {
		{ AF_INET, IPPROTO_TCP, 7 * 1400 + 333, 1400, TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR, 0, true },
		{ AF_INET6, IPPROTO_TCP, 7 * 1400 + 333, 1400, TCP_ACK | TCP_PSH | TCP_CWR, 0, false },
		{ AF_INET, IPPROTO_UDP, 5 * 1200 + 77, 1200, 0, 0, false },
		{ AF_INET6, IPPROTO_UDP, 5 * 1200 + 77, 1200, 0, 0, false },
	};
	static const char *const names[] = { "TCPv4", "TCPv6", "UDP/IPv4", "UDP/IPv6" };
	for (size_t i = 0; i < ARRAY_SIZE(fr); i++) {
		struct nat64_gso g;
		size_t len = from_tun(&fr[i], &g);
		bool tcp = fr[i].proto == IPPROTO_TCP, v4 = fr[i].family == AF_INET;
		size_t l3 = l3_of(fr[i].family), hl = g.hdr_len;
		struct nat64_gso_iter it;
		nat64_gso_iter_init(&it, in, len, &g);
		unsigned k = 0, n = nat64_gso_segs(&g, len);
		bool lens = true, csums = true, hdrs = true, payload = true;
		size_t sl, off = 0;
		while ((sl = nat64_gso_next(&it, seg, BUF)) > 0) {
			size_t pay = MIN((size_t)fr[i].mss, fr[i].payload - off);
			lens = lens && sl == hl + pay;
			csums = csums && valid(seg, sl);
			if (v4)
				hdrs = hdrs && get_be16(seg + 4) == (uint16_t)(0x1234 + k);
			if (tcp) {
				uint8_t fl = seg[l3 + 13];
				bool last = k + 1 == n;
				hdrs = hdrs && get_be32(seg + l3 + 4) == 0x10000000u + off &&
				       !!(fl & TCP_FIN) == (last && (fr[i].flags & TCP_FIN)) &&
				       !!(fl & TCP_PSH) == (last && (fr[i].flags & TCP_PSH)) &&
				       !!(fl & TCP_CWR) == (k == 0);
			} else {
				hdrs = hdrs && get_be16(seg + l3 + 4) == 8 + pay;
			}
			payload = payload && memcmp(seg + hl, in + hl + off, pay) == 0;
			off += pay;
			k++;
		}
		char name[96];
		snprintf(name, sizeof(name), "%s: cut into %u segments of the right sizes", names[i], n);
		ok(k == n && lens && off == fr[i].payload, name);
		snprintf(name, sizeof(name), "%s: every segment's checksums are valid", names[i]);
		ok(csums, name);
		snprintf(name, sizeof(name), "%s: %s", names[i],
		     tcp ? "sequence numbers, FIN/PSH on the last, CWR on the first"
			 : "each datagram's UDP length");
		ok(hdrs, name);
		snprintf(name, sizeof(name), "%s: the payload in order", names[i]);
		ok(payload, name);
		snprintf(name, sizeof(name), "%s: the kernel's cut of the same frame is valid too",
			 names[i]);
		bool kv = true;
		for (unsigned j = 0; j < n; j++)
			kv = kv && valid(seg, kernel_cut(in, len, &g, j, seg));
		ok(kv, name);
	}
	struct frame p = { AF_INET6, IPPROTO_UDP, 333, 0, 0, 0, false };
	struct nat64_gso g;
	size_t len = build(in, &p, &g);
	nat64_gso_check(in, &len, &g);
	struct nat64_gso_iter it;
	nat64_gso_iter_init(&it, in, len, &g);
	size_t sl = nat64_gso_next(&it, seg, BUF);
	ok(sl == len && valid(seg, sl) && nat64_gso_next(&it, seg, BUF) == 0,
	   "a plain partial packet: one, its checksum completed");
}

static void test_translate(void)
{
	struct nat64_gso g;
	size_t len;
	bool all_valid;
	struct frame f;

	/* 6 -> 4, TSO: segments of 20 + 32 + 1400 > 1260 go with DF=1. */
	f = (struct frame){ AF_INET6, IPPROTO_TCP, 10 * 1400 + 1300, 1400, TCP_ACK | TCP_PSH, 0, false };
	len = from_tun(&f, &g);
	struct nat64_xlate_cfg c;
	cfg_init(&c);
	struct nat64_out o = { .buf = out, .cap = BUF };
	is_int(translate(&c, in, len, &g, &o), NAT64_CONTINUE, "6->4 TSO translated whole");
	ok(o.count == 1 && o.gso[0].type == NAT64_GSO_TCP4 && o.gso[0].size == 1400 &&
	   o.gso[0].hdr_len == 20 + TCP_HL && o.gso[0].csum_start == 20 &&
	   o.gso[0].csum_offset == 16 && o.gso[0].csum_partial,
	   "6->4 TSO: TCPv4, same gso_size, hdr_len and csum_start 20 octets less");
	ok((get_be16(out + 6) & 0x4000) && o.len == len - 20, "6->4 TSO: DF=1, 20 octets shorter");
	ok(same_as_per_segment("6->4 TSO", in, len, &g, 1000, &all_valid),
	   "6->4 TSO: the kernel's segments are the per-segment translations");
	ok(all_valid, "6->4 TSO: valid checksums in every segment (partial carried)");

	/* 6 -> 4, a short last segment: DF=0 and its own ID (RFC 7915 5.1). */
	f = (struct frame){ AF_INET6, IPPROTO_TCP, 10 * 1400 + 100, 1400, TCP_ACK | TCP_PSH | TCP_FIN, 0, false };
	len = from_tun(&f, &g);
	o = (struct nat64_out){ .buf = out, .cap = BUF };
	id_counter = 500;
	is_int(translate(&c, in, len, &g, &o), NAT64_CONTINUE, "6->4 TSO, short tail: translated");
	ok(o.count == 2 && o.gso[0].type == NAT64_GSO_TCP4 &&
	   nat64_gso_segs(&o.gso[0], o.pkt_len[0]) == 10 && o.gso[1].type == NAT64_GSO_NONE &&
	   o.gso[1].csum_partial && o.pkt_len[1] == 20 + TCP_HL + 100,
	   "6->4 TSO, short tail: 10 segments, then the last alone");
	const uint8_t *tail = out + o.pkt_len[0];
	ok((get_be16(out + 6) & 0x4000) && !(get_be16(tail + 6) & 0x4000) &&
	   get_be16(tail + 4) == 500 && !(out[20 + 13] & (TCP_FIN | TCP_PSH)) &&
	   (tail[20 + 13] & TCP_FIN) && (tail[20 + 13] & TCP_PSH),
	   "6->4 TSO, short tail: DF=0 and the next ID on it, FIN/PSH moved there");
	ok(same_as_per_segment("6->4 short tail", in, len, &g, 500, &all_valid) && all_valid,
	   "6->4 TSO, short tail: per-segment translation, valid checksums");

	/* 6 -> 4, segments of 1260 or less: DF=0, an ID per segment. */
	f = (struct frame){ AF_INET6, IPPROTO_TCP, 6 * 1200 + 50, 1200, TCP_ACK, 0, false };
	len = from_tun(&f, &g);
	o = (struct nat64_out){ .buf = out, .cap = BUF };
	id_counter = 7000;
	translate(&c, in, len, &g, &o);
	ok(o.count == 1 && !(get_be16(out + 6) & 0x4000) && get_be16(out + 4) == 7000 &&
	   id_counter == 7007, "6->4 TSO of small segments: DF=0, 7 IDs taken from 7000");
	ok(same_as_per_segment("6->4 small segments", in, len, &g, 7000, &all_valid) && all_valid,
	   "6->4 small segments: IDs and bytes as per segment, valid checksums");

	/* 6 -> 4, USO. */
	f = (struct frame){ AF_INET6, IPPROTO_UDP, 5 * 1400 + 9, 1400, 0, 0, false };
	check_uso(&c, "6->4 USO", &f, 28, 20,
		  "6->4 USO: UDP segmentation kept, headers 20 octets less",
		  "6->4 USO: per-datagram translation, valid checksums");

	/* 4 -> 6, TSO: each segment grows by 20 octets and must fit. */
	f = (struct frame){ AF_INET, IPPROTO_TCP, 9 * 1400 + 999, 1400, TCP_ACK | TCP_PSH, 0, true };
	len = from_tun(&f, &g);
	o = (struct nat64_out){ .buf = out, .cap = BUF };
	is_int(translate(&c, in, len, &g, &o), NAT64_CONTINUE, "4->6 TSO translated whole");
	ok(o.count == 1 && o.gso[0].type == NAT64_GSO_TCP6 && o.gso[0].size == 1400 &&
	   o.gso[0].hdr_len == 40 + TCP_HL && o.gso[0].csum_start == 40 && o.len == len + 20,
	   "4->6 TSO: TCPv6, same gso_size, headers 20 octets more");
	ok(same_as_per_segment("4->6 TSO", in, len, &g, 1, &all_valid),
	   "4->6 TSO: the kernel's segments are the per-segment translations");
	ok(all_valid, "4->6 TSO: valid checksums in every segment (partial carried)");

	/* 4 -> 6, USO. */
	f = (struct frame){ AF_INET, IPPROTO_UDP, 4 * 1000 + 1, 1000, 0, 0, true };
	check_uso(&c, "4->6 USO", &f, 48, 40,
		  "4->6 USO: UDP segmentation kept, headers 20 octets more",
		  "4->6 USO: per-datagram translation, valid checksums");

	/* What cannot be done whole. */
	f = (struct frame){ AF_INET, IPPROTO_TCP, 5 * 1460, 1460, TCP_ACK, 0, true };
	len = from_tun(&f, &g);
	o = (struct nat64_out){ .buf = out, .cap = BUF };
	is_int(translate(&c, in, len, &g, &o), NAT64_SEGMENT,
	       "4->6: segments of 40 + 32 + 1460 > the IPv6 MTU: cut (Fragmentation Needed each)");
	f = (struct frame){ AF_INET, IPPROTO_TCP, 5 * 1300, 1300, TCP_ACK, 0, false };
	len = from_tun(&f, &g);
	is_int(translate(&c, in, len, &g, &o), NAT64_SEGMENT,
	       "4->6: DF=0 segments over 1280 as IPv6: cut (fragmented each)");
	f = (struct frame){ AF_INET6, IPPROTO_TCP, 5 * 1400, 1400, TCP_ACK, 0, false };
	len = from_tun(&f, &g);
	c.ipv4_mtu = 1100;
	is_int(translate(&c, in, len, &g, &o), NAT64_SEGMENT,
	       "6->4: DF=1 segments over the IPv4 MTU: cut (Packet Too Big each)");
	c.ipv4_mtu = 1500;
	f = (struct frame){ AF_INET6, IPPROTO_TCP, 5 * 1400, 1400, TCP_ACK, 1, false };
	len = from_tun(&f, &g);
	is_int(translate(&c, in, len, &g, &o), NAT64_SEGMENT, "6->4: hop limit 1: cut (an error each)");
	f = (struct frame){ AF_INET, IPPROTO_UDP, 5 * 1000, 1000, 0, 1, true };
	len = from_tun(&f, &g);
	is_int(translate(&c, in, len, &g, &o), NAT64_SEGMENT, "4->6: TTL 1: cut (an error each)");
	f = (struct frame){ AF_INET6, IPPROTO_TCP, 65535 - TCP_HL, 1400, TCP_ACK, 0, false };
	len = from_tun(&f, &g);
	is_int(translate(&c, in, len, &g, &o), NAT64_SEGMENT,
	       "6->4: an IPv6 payload too long for one IPv4 packet: cut");

	/* A plain packet with a partial checksum. */
	f = (struct frame){ AF_INET6, IPPROTO_TCP, 100, 0, TCP_ACK, 0, false };
	len = from_tun(&f, &g);
	o = (struct nat64_out){ .buf = out, .cap = BUF };
	translate(&c, in, len, &g, &o);
	ok(o.count == 1 && o.gso[0].type == NAT64_GSO_NONE && o.gso[0].csum_partial &&
	   o.gso[0].csum_start == 20, "6->4 plain partial: still partial, from octet 20");
	ok(same_as_per_segment("6->4 plain partial", in, len, &g, 1, &all_valid) && all_valid,
	   "6->4 plain partial: completed, it is the plain translation");

	/* nat64_pkt_offload refuses what the steps cannot carry. */
	struct nat64_pkt pkt;
	struct nat64_tuple t;
	f = (struct frame){ AF_INET6, IPPROTO_UDP, 100, 0, 0, 0, false };
	len = build(in, &f, &g);
	nat64_determine_tuple6(&c, in, len, &pkt, &t);
	struct nat64_gso tcp = { .type = NAT64_GSO_TCP6, .csum_partial = true, .size = 50,
				 .hdr_len = 60, .csum_start = 40, .csum_offset = 16 };
	ok(nat64_pkt_offload(&pkt, &tcp) == NAT64_SEGMENT && pkt.gso.type == NAT64_GSO_NONE,
	   "TSO metadata on a UDP packet: cut in software");
	struct nat64_gso icmp = { .csum_partial = true, .csum_start = 40, .csum_offset = 2 };
	ok(nat64_pkt_offload(&pkt, &icmp) == NAT64_SEGMENT, "a partial checksum not at the UDP "
	   "offset: completed in software");
}

/* Datagram k of a flow as a plain partial packet (translated output). */
static size_t datagram(uint8_t *b, int family, size_t pay, uint16_t id, uint8_t fill,
		       struct nat64_gso *g)
{
	struct frame f = { family, IPPROTO_UDP, pay, 0, 0, 0, false };
	size_t len = build(b, &f, g);
	if (family == AF_INET) {
		put_be16(b + 4, id);
		put_be16(b + 10, 0);
		put_be16(b + 10, nat64_csum_ipv4_header(b, 20));
	}
	memset(b + l3_of(family) + 8, fill, pay);
	return len;
}

/* Writes `n` datagrams through the coalescing; true when the kernel's cut
 * of every frame gives them back byte for byte (checksums completed). */
static bool coalesced_same(int family, const size_t *pays, unsigned n, unsigned *frames)
{
	static uint8_t frame[BUF], one[128][2048];
	static size_t one_len[128];
	struct nat64_gso fg, pg;
	size_t flen = 0;
	unsigned k = 0, got = 0;
	*frames = 0;
	bool same = true;
	for (unsigned i = 0; i < n; i++) {
		size_t len = datagram(seg, family, pays[i], (uint16_t)(100 + i), (uint8_t)i, &pg);
		memcpy(one[i], seg, len);
		nat64_csum_complete(one[i], len, &pg);
		one_len[i] = len;
		if (flen && nat64_gso_coalesce(frame, &flen, BUF, &fg, seg, len, &pg))
			continue;
		if (flen) {	/* the frame closes: cut it and compare */
			for (unsigned j = 0; j < nat64_gso_segs(&fg, flen); j++, k++) {
				size_t sl = kernel_cut(frame, flen, &fg, j, out);
				same = same && sl == one_len[k] && memcmp(out, one[k], sl) == 0;
			}
			got++;
		}
		memcpy(frame, seg, len);
		flen = len;
		fg = pg;
	}
	for (unsigned j = 0; j < nat64_gso_segs(&fg, flen); j++, k++) {
		size_t sl = kernel_cut(frame, flen, &fg, j, out);
		same = same && sl == one_len[k] && memcmp(out, one[k], sl) == 0;
	}
	*frames = got + 1;
	return same && k == n;
}

static void test_coalesce(void)
{
	unsigned frames;
	size_t even[20], tail[6] = { 64, 64, 64, 30, 64, 64 }, grow[4] = { 30, 64, 64, 64 };
	for (size_t i = 0; i < ARRAY_SIZE(even); i++)
		even[i] = 64;
	ok(coalesced_same(AF_INET, even, 20, &frames) && frames == 1,
	   "20 IPv4 datagrams of one flow: one frame, cut back into the same 20");
	ok(coalesced_same(AF_INET6, even, 20, &frames) && frames == 1,
	   "20 IPv6 datagrams of one flow: one frame, cut back into the same 20");
	ok(coalesced_same(AF_INET, tail, 6, &frames) && frames == 2,
	   "a shorter datagram ends its frame (4, then 2)");
	ok(coalesced_same(AF_INET6, grow, 4, &frames) && frames == 2,
	   "a longer one cannot join a frame of shorter ones");
	size_t many[70];
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = 64;
	ok(coalesced_same(AF_INET, many, 70, &frames) && frames == 2,
	   "at most 64 segments per frame (the kernel's UDP_MAX_SEGMENTS)");

	struct nat64_gso fg, pg;
	size_t flen = datagram(in, AF_INET, 64, 100, 0, &fg);
	size_t len = datagram(seg, AF_INET, 64, 102, 0, &pg);
	ok(!nat64_gso_coalesce(in, &flen, BUF, &fg, seg, len, &pg),
	   "IPv4 DF=0: an ID out of the row the kernel would number refuses");
	len = datagram(seg, AF_INET, 64, 101, 0, &pg);
	put_be16(seg + 20, 1234);
	ok(!nat64_gso_coalesce(in, &flen, BUF, &fg, seg, len, &pg), "another source port refuses");
	len = datagram(seg, AF_INET, 64, 101, 0, &pg);
	pg.csum_partial = false;
	ok(!nat64_gso_coalesce(in, &flen, BUF, &fg, seg, len, &pg),
	   "a complete checksum (the sender's, never recomputed) refuses");
	len = datagram(seg, AF_INET, 64, 101, 0, &pg);
	seg[8] = 12;
	ok(!nat64_gso_coalesce(in, &flen, BUF, &fg, seg, len, &pg), "another TTL refuses");
}

int main(void)
{
	plan(10 + 15 + 4 + 21 + 29 + 9);
	prefixes = prefix_set_alloc(1);
	struct prefix_info *p = &prefixes->prefixes[0];
	snprintf(p->name, sizeof(p->name), "bench");
	inet_pton(AF_INET6, PREFIX, &p->addr);
	p->len = 96;
	p->roles = PREFIX_ROLE_TRANSLATE;
	test_header();
	test_check();
	test_counts();
	test_segment();
	test_translate();
	test_coalesce();
	return tap_done();
}
