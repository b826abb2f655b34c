/* Internet checksum helpers (RFC 1071) and incremental updates (RFC 1624).
 * Sums are carried in 32 bits in network byte order word by word and folded
 * only at the end, so a caller can add pieces in any order. */
#ifndef SIXFOUR_NAT64_CHECKSUM_H
#define SIXFOUR_NAT64_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* Adds `len` octets at `p` to `sum` (odd lengths padded with a zero octet).
 * Only the last piece of a message may have an odd length. */
uint32_t nat64_csum_add(uint32_t sum, const uint8_t *p, size_t len);

/* Folds a 32-bit sum into 16 bits (not complemented). */
static inline uint16_t nat64_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Complemented checksum of a finished sum, as stored in headers. */
static inline uint16_t nat64_csum_finish(uint32_t sum)
{
	return (uint16_t)~nat64_csum_fold(sum);
}

/* Adds a host-order 16-bit word. */
static inline uint32_t nat64_csum_add16(uint32_t sum, uint16_t w)
{
	return sum + w;
}

/* Subtracts a host-order 16-bit word (adds its one's complement). */
static inline uint32_t nat64_csum_sub16(uint32_t sum, uint16_t w)
{
	return sum + (uint16_t)~w;
}

/* RFC 1624 equation 3: HC' = ~(~HC + ~m + m'), where `old_sum` is the sum
 * of every word that left the checksummed data and `new_sum` the sum of
 * every word that came in. `check` is the header field in host order. */
uint16_t nat64_csum_update(uint16_t check, uint32_t old_sum, uint32_t new_sum);

/* A partial checksum field (offloads: it holds the folded pseudo-header
 * sum, not complemented; the sender sums the rest into it) after the
 * pseudo-header's addresses changed from (osrc, odst) to (nsrc, ndst),
 * `olen`/`nlen` octets each; length and protocol stay. */
uint16_t nat64_csum_partial_update(uint16_t partial, const void *osrc, const void *odst,
				   size_t olen, const void *nsrc, const void *ndst, size_t nlen);

/* Pseudo-header sums (RFC 8200 8.1, RFC 793/768) without the payload. */
uint32_t nat64_csum_pseudo6(const struct in6_addr *src, const struct in6_addr *dst,
			    uint32_t len, uint8_t next_header);
uint32_t nat64_csum_pseudo4(struct in_addr src, struct in_addr dst, uint16_t len,
			    uint8_t proto);

/* IPv4 header checksum over `ihl_octets`; the field itself must be 0 or is
 * skipped by the caller. Returns the value to store (host order). */
uint16_t nat64_csum_ipv4_header(const uint8_t *hdr, size_t ihl_octets);

#endif
