/* Router Advertisement wire format: pure encoders for the RA header and the
 * options sixfour sends (RFC 4861, RFC 8106, RFC 8781), a DNS name encoder
 * shared with DHCPv6, and the Router Solicitation validator. No sockets. */
#ifndef SIXFOUR_HINTS_RA_OPTS_H
#define SIXFOUR_HINTS_RA_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* ICMPv6 types (RFC 4861 section 4) and the option types we use. */
enum {
	RA_ICMP6_RS = 133,
	RA_ICMP6_RA = 134,
};

enum ra_opt_type {
	RA_OPT_SOURCE_LLADDR = 1,	/* RFC 4861 4.6.1 */
	RA_OPT_PREFIX_INFO = 3,		/* RFC 4861 4.6.2 */
	RA_OPT_MTU = 5,			/* RFC 4861 4.6.4 */
	RA_OPT_RDNSS = 25,		/* RFC 8106 5.1 */
	RA_OPT_DNSSL = 31,		/* RFC 8106 5.2 */
	RA_OPT_PREF64 = 38,		/* RFC 8781 4 */
};

#define RA_HEADER_LEN 16		/* ICMPv6 header + RA fixed part */
#define RA_RS_HEADER_LEN 8
#define RA_HOP_LIMIT 255		/* RFC 4861 6.1.1 / 6.1.2 */
/* RFC 8781 4.1: the scaled lifetime field has 13 bits of 8-second units. */
#define RA_PREF64_MAX_LIFETIME 65528u
#define RA_DNS_NAME_MAX 255		/* RFC 1035 2.3.4, in wire octets */

enum ra_flags {
	RA_FLAG_MANAGED = 0x80,		/* M: addresses by DHCPv6 */
	RA_FLAG_OTHER = 0x40,		/* O: other configuration by DHCPv6 */
};

/* The fixed part of an RA (RFC 4861 4.2). Checksum is left zero: the kernel
 * fills it in for ICMPv6 raw sockets. */
struct ra_header {
	uint8_t cur_hop_limit;		/* 0 = unspecified */
	uint8_t flags;			/* enum ra_flags */
	uint16_t router_lifetime_s;	/* 0 = not a default router */
	uint32_t reachable_ms;
	uint32_t retrans_ms;
};

/* Every encoder writes into buf[0..cap) and returns the octets written, or
 * -ENOSPC when cap is too small, -EINVAL for values the option cannot carry. */
int ra_encode_header(uint8_t *buf, size_t cap, const struct ra_header *h);

/* RFC 8781 4.1: lifetime in seconds -> 13-bit scaled lifetime. 0 stays 0,
 * anything else is rounded up to a multiple of 8 (so 1..8 -> 1), and values
 * of 65528 s and more saturate at 8191. */
uint16_t ra_pref64_scaled_lifetime(uint64_t seconds);
/* RFC 8781 4: Prefix Length Code for /96 /64 /56 /48 /40 /32 (0..5), or
 * -EINVAL for any other length. */
int ra_pref64_plc(unsigned len);
/* PREF64: 16 octets; the prefix's bits past `len` are not sent. */
int ra_encode_pref64(uint8_t *buf, size_t cap, const struct in6_addr *prefix, unsigned len,
		     uint64_t lifetime_s);

/* RDNSS: 8 + 16 x n octets; n >= 1. */
int ra_encode_rdnss(uint8_t *buf, size_t cap, const struct in6_addr *addrs, size_t n,
		    uint32_t lifetime_s);
/* DNSSL: the names in uncompressed wire format, zero-padded to a multiple
 * of 8 octets (RFC 8106 5.2); n >= 1, each name valid for
 * hints_dns_name_encode(). */
int ra_encode_dnssl(uint8_t *buf, size_t cap, char *const *names, size_t n,
		    uint32_t lifetime_s);
int ra_encode_mtu(uint8_t *buf, size_t cap, uint32_t mtu);
/* Prefix Information with L set, and A set for /64 (RFC 4862 5.5.3 needs
 * the interface identifier length to match). */
int ra_encode_pio(uint8_t *buf, size_t cap, const struct in6_addr *prefix, unsigned len,
		  uint32_t valid_s, uint32_t preferred_s);

/* "example.com" or "example.com." -> wire labels ending with the root
 * label. Rejects empty labels, labels over 63 octets, names over 255
 * octets and "." alone (a search domain of the root makes no sense). */
int hints_dns_name_encode(uint8_t *buf, size_t cap, const char *name);

/* Why an inbound Router Solicitation was dropped. */
#define RA_RS_DROPS(X) \
	X(SHORT, "short") \
	X(NOT_RS, "not-rs") \
	X(BAD_CODE, "bad-code") \
	X(HOP_LIMIT, "hop-limit") \
	X(OPT_ZERO_LEN, "option-zero-length") \
	X(OPT_OVERRUN, "option-overrun") \
	X(UNSPEC_WITH_SLLA, "unspecified-source-with-slla") \
	X(UNKNOWN_IFACE, "unknown-interface")

enum ra_rs_verdict {
	RA_RS_OK = 0,
#define RA_RS_ENUM(name, text) RA_RS_DROP_##name,
	RA_RS_DROPS(RA_RS_ENUM)
#undef RA_RS_ENUM
	RA_RS_NVERDICTS
};

const char *ra_rs_verdict_name(enum ra_rs_verdict v);

/* What a valid RS told us. */
struct ra_rs_info {
	bool has_slla;
};

/* RFC 4861 6.1.1: validates an RS (the ICMPv6 message, checksum already
 * checked by the kernel), given the IP hop limit and whether the IP source
 * was the unspecified address. */
enum ra_rs_verdict ra_rs_parse(const uint8_t *p, size_t len, int hop_limit, bool src_unspecified,
			       struct ra_rs_info *out);

#endif
