/* libFuzzer target for the translator's packet core: parse, translate,
 * reassemble and the ICMP errors owed, in both directions.
 *
 * Input: one flags octet, then records of a 2-octet big-endian length and
 * that many octets, each a packet fed in order (so reassembly across
 * fragments is reached). Flags: bit 0 IPv4 side (else IPv6), bit 1 use a
 * reassembly table, bit 2 reassemble unchecksummed UDP, bits 3-4 MTUs,
 * bit 5 repair the IPv4 header and ICMP checksums first (so mutations get
 * past the checksum gates into the translation code). */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rfc6052.h"
#include "nat64/checksum.h"
#include "nat64/frag.h"
#include "nat64/xlate.h"

static struct prefix_set *prefixes(void)
{
	static struct prefix_set *set;
	if (set)
		return set;
	static const struct { const char *a; unsigned len; } p[] = {
		{ "64:ff9b::", 96 }, { "3fff:32::", 32 }, { "3fff:40:100::", 40 },
		{ "3fff:48:48::", 48 }, { "3fff:56:56:5600::", 56 }, { "3fff:64:64:64::", 64 },
	};
	set = prefix_set_alloc(sizeof(p) / sizeof(p[0]));
	for (size_t i = 0; i < set->count; i++) {
		inet_pton(AF_INET6, p[i].a, &set->prefixes[i].addr);
		set->prefixes[i].len = (uint8_t)p[i].len;
		set->prefixes[i].roles = PREFIX_ROLE_TRANSLATE;
	}
	return set;
}

static void repair(uint8_t *p, size_t len, bool v4)
{
	if (v4) {
		if (len < 20)
			return;
		size_t ihl = (size_t)(p[0] & 15) * 4;
		if (ihl < 20 || ihl > len)
			return;
		p[10] = p[11] = 0;
		uint16_t c = nat64_csum_ipv4_header(p, ihl);
		p[10] = (uint8_t)(c >> 8);
		p[11] = (uint8_t)c;
		if (p[9] == IPPROTO_ICMP && len >= ihl + 8) {
			size_t end = (size_t)p[2] << 8 | p[3];
			if (end > len || end < ihl + 8)
				return;
			p[ihl + 2] = p[ihl + 3] = 0;
			c = nat64_csum_finish(nat64_csum_add(0, p + ihl, end - ihl));
			p[ihl + 2] = (uint8_t)(c >> 8);
			p[ihl + 3] = (uint8_t)c;
		}
		return;
	}
	if (len < 48 || p[6] != IPPROTO_ICMPV6)
		return;
	size_t plen = (size_t)p[4] << 8 | p[5];
	if (plen < 8 || 40 + plen > len)
		return;
	struct in6_addr s, d;
	memcpy(&s, p + 8, 16);
	memcpy(&d, p + 24, 16);
	p[42] = p[43] = 0;
	uint32_t sum = nat64_csum_pseudo6(&s, &d, (uint32_t)plen, IPPROTO_ICMPV6);
	uint16_t c = nat64_csum_finish(nat64_csum_add(sum, p + 40, plen));
	p[42] = (uint8_t)(c >> 8);
	p[43] = (uint8_t)c;
}

static void one(const struct nat64_xlate_cfg *cfg, bool v4, bool fix, const uint8_t *p,
		size_t len, uint8_t *buf, size_t cap)
{
	struct nat64_pkt pkt;
	struct nat64_tuple t;
	/* A private copy, so ASan sees reads past the packet's end. */
	uint8_t *in = malloc(len ? len : 1);
	if (!in)
		return;
	memcpy(in, p, len);
	if (fix)
		repair(in, len, v4);
	enum nat64_verdict v = v4 ? nat64_determine_tuple4(cfg, in, len, &pkt, &t)
				  : nat64_determine_tuple6(cfg, in, len, &pkt, &t);
	struct nat64_out out = { .buf = buf, .cap = cap };
	if (v == NAT64_CONTINUE) {
		struct nat64_tuple ot = t;
		ot.family = v4 ? AF_INET6 : AF_INET;
		if (v4) {
			ot.src.v6 = rfc6052_wkp;
			ot.src.v6.s6_addr[15] = 1;
			inet_pton(AF_INET6, "2001:db8:1::100", &ot.dst.v6);
			v = nat64_translate_4to6(cfg, &pkt, &ot, &out);
		} else {
			ot.src.v4.s_addr = htonl(0xc6336401);
			ot.dst.v4 = pkt.dst4;
			v = nat64_translate_6to4(cfg, &pkt, &ot, &out);
		}
		/* Every output packet must lie inside what was written. */
		size_t sum = 0;
		for (unsigned i = 0; i < out.count; i++)
			sum += out.pkt_len[i];
		if (sum != out.len || out.len > cap)
			abort();
	} else if (pkt.err_set) {
		nat64_icmp_error(cfg, &pkt, pkt.err_type, pkt.err_code, pkt.err_param, &out);
	}
	(void)v;
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static uint8_t *buf;
	const size_t cap = NAT64_OUT_BUF_MIN;
	if (!buf && !(buf = malloc(cap)))
		return 0;
	uint8_t flags = data[0];
	uint32_t id = 1;
	struct nat64_xlate_cfg cfg = {
		.prefixes = prefixes(),
		.ipv4_mtu = (flags & 8) ? 1400 : 0,
		.ipv6_mtu = (flags & 16) ? 1280 : 0,
		.reassemble_unchecksummed_udp = flags & 4,
		.ipv4_id_next = &id,
	};
	cfg.own_v4.s_addr = htonl(0xc0586301);
	inet_pton(AF_INET6, "2001:db8:1::1", &cfg.own_v6);
	if (flags & 2)
		cfg.frags = nat64_frag_new(4, 1 << 17, 1000);
	size_t off = 1;
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		one(&cfg, flags & 1, flags & 32, data + off, len, buf, cap);
		off += len;
	}
	nat64_frag_free(cfg.frags);
	return 0;
}
