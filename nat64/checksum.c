/* Internet checksum (RFC 1071) and incremental update (RFC 1624). */
#include "autoconf.h"
#include "nat64/checksum.h"

#include <string.h>

uint32_t nat64_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	/* 64-bit accumulator: no carry handling inside the loop even for
	 * 64 KB super-packets. */
	uint64_t acc = sum;
	while (len >= 8) {
		acc += (uint32_t)(p[0] << 8 | p[1]) + (uint32_t)(p[2] << 8 | p[3]) +
		       (uint32_t)(p[4] << 8 | p[5]) + (uint32_t)(p[6] << 8 | p[7]);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		acc += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	/* Leave headroom for callers that keep adding words. */
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

uint16_t nat64_csum_update(uint16_t check, uint32_t old_sum, uint32_t new_sum)
{
	uint32_t s = (uint16_t)~check;
	s += (uint16_t)~nat64_csum_fold(old_sum);
	s += nat64_csum_fold(new_sum);
	return (uint16_t)~nat64_csum_fold(s);
}

uint16_t nat64_csum_partial_update(uint16_t partial, const void *osrc, const void *odst,
				   size_t olen, const void *nsrc, const void *ndst, size_t nlen)
{
	uint32_t old_sum = nat64_csum_add(nat64_csum_add(0, osrc, olen), odst, olen);
	uint32_t new_sum = nat64_csum_add(nat64_csum_add(0, nsrc, nlen), ndst, nlen);
	/* RFC 1624 on the complement: the field is ~checksum. */
	return (uint16_t)~nat64_csum_update((uint16_t)~partial, old_sum, new_sum);
}

uint32_t nat64_csum_pseudo6(const struct in6_addr *src, const struct in6_addr *dst,
			    uint32_t len, uint8_t next_header)
{
	uint32_t s = nat64_csum_add(0, src->s6_addr, 16);
	s = nat64_csum_add(s, dst->s6_addr, 16);
	s += len >> 16;
	s += len & 0xffff;
	s += next_header;
	return s;
}

uint32_t nat64_csum_pseudo4(struct in_addr src, struct in_addr dst, uint16_t len,
			    uint8_t proto)
{
	uint32_t s = nat64_csum_add(0, (const uint8_t *)&src.s_addr, 4);
	s = nat64_csum_add(s, (const uint8_t *)&dst.s_addr, 4);
	s += len;
	s += proto;
	return s;
}

uint16_t nat64_csum_ipv4_header(const uint8_t *hdr, size_t ihl_octets)
{
	uint32_t s = nat64_csum_add(0, hdr, 10);
	s = nat64_csum_add(s, hdr + 12, ihl_octets - 12);
	return nat64_csum_finish(s);
}
