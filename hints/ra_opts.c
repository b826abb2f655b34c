/* Router Advertisement encoders and the Router Solicitation validator. */
#include "autoconf.h"
#include "hints/ra_opts.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

/* Options are measured in units of 8 octets (RFC 4861 4.6). */
#define OPT_UNIT 8

int ra_encode_header(uint8_t *buf, size_t cap, const struct ra_header *h)
{
	if (cap < RA_HEADER_LEN)
		return -ENOSPC;
	buf[0] = RA_ICMP6_RA;
	buf[1] = 0;			/* code */
	put_be16(buf + 2, 0);		/* checksum: the kernel computes it */
	buf[4] = h->cur_hop_limit;
	buf[5] = h->flags;
	put_be16(buf + 6, h->router_lifetime_s);
	put_be32(buf + 8, h->reachable_ms);
	put_be32(buf + 12, h->retrans_ms);
	return RA_HEADER_LEN;
}

uint16_t ra_pref64_scaled_lifetime(uint64_t seconds)
{
	/* RFC 8781 4.1: round up to a multiple of 8 below 2^16, then divide
	 * by 8; a non-zero lifetime under 8 s still encodes as 1. */
	if (seconds == 0)
		return 0;
	if (seconds >= RA_PREF64_MAX_LIFETIME)
		return RA_PREF64_MAX_LIFETIME / 8;
	return (uint16_t)((seconds + 7) / 8);
}

int ra_pref64_plc(unsigned len)
{
	switch (len) {
	case 96: return 0;
	case 64: return 1;
	case 56: return 2;
	case 48: return 3;
	case 40: return 4;
	case 32: return 5;
	default: return -EINVAL;
	}
}

int ra_encode_pref64(uint8_t *buf, size_t cap, const struct in6_addr *prefix, unsigned len,
		     uint64_t lifetime_s)
{
	int plc = ra_pref64_plc(len);
	if (plc < 0)
		return plc;
	if (cap < 2 * OPT_UNIT)
		return -ENOSPC;
	buf[0] = RA_OPT_PREF64;
	buf[1] = 2;
	put_be16(buf + 2, (uint16_t)(ra_pref64_scaled_lifetime(lifetime_s) << 3 | (unsigned)plc));
	/* Highest 96 bits of the prefix; bits past `len` are zero on the wire
	 * (RFC 8781 4: receivers ignore them, we do not leak them). */
	struct in6_addr p = *prefix;
	in6_mask(&p, len);
	memcpy(buf + 4, p.s6_addr, 12);
	return 2 * OPT_UNIT;
}

int ra_encode_rdnss(uint8_t *buf, size_t cap, const struct in6_addr *addrs, size_t n,
		    uint32_t lifetime_s)
{
	/* Length is 1 + 2n units and must fit in one octet (RFC 8106 5.1). */
	if (n == 0 || n > 127)
		return -EINVAL;
	size_t total = OPT_UNIT + 16 * n;
	if (cap < total)
		return -ENOSPC;
	buf[0] = RA_OPT_RDNSS;
	buf[1] = (uint8_t)(total / OPT_UNIT);
	put_be16(buf + 2, 0);
	put_be32(buf + 4, lifetime_s);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + OPT_UNIT + 16 * i, addrs[i].s6_addr, 16);
	return (int)total;
}

int hints_dns_name_encode(uint8_t *buf, size_t cap, const char *name)
{
	size_t in = strlen(name), out = 0, i = 0;
	if (in == 0 || strcmp(name, ".") == 0)
		return -EINVAL;
	if (name[in - 1] == '.')
		in--;
	if (in == 0 || name[in - 1] == '.')
		return -EINVAL;		/* "a.." ends with an empty label */
	while (i < in) {
		size_t start = i;
		while (i < in && name[i] != '.')
			i++;
		size_t lab = i - start;
		if (lab == 0 || lab > 63)
			return -EINVAL;
		if (out + 1 + lab + 1 > RA_DNS_NAME_MAX)
			return -EINVAL;
		if (out + 1 + lab > cap)
			return -ENOSPC;
		buf[out++] = (uint8_t)lab;
		memcpy(buf + out, name + start, lab);
		out += lab;
		if (i < in)
			i++;		/* the dot */
	}
	if (out + 1 > cap)
		return -ENOSPC;
	buf[out++] = 0;			/* the root label */
	return (int)out;
}

int ra_encode_dnssl(uint8_t *buf, size_t cap, char *const *names, size_t n,
		    uint32_t lifetime_s)
{
	if (n == 0)
		return -EINVAL;
	if (cap < OPT_UNIT)
		return -ENOSPC;
	size_t off = OPT_UNIT;
	for (size_t i = 0; i < n; i++) {
		int r = hints_dns_name_encode(buf + off, cap - off, names[i]);
		if (r < 0)
			return r;
		off += (size_t)r;
	}
	/* RFC 8106 5.2: pad with zero octets to the next 8-octet boundary. */
	size_t padded = (off + OPT_UNIT - 1) / OPT_UNIT * OPT_UNIT;
	if (padded > cap)
		return -ENOSPC;
	if (padded / OPT_UNIT > 255)
		return -EINVAL;
	memset(buf + off, 0, padded - off);
	buf[0] = RA_OPT_DNSSL;
	buf[1] = (uint8_t)(padded / OPT_UNIT);
	put_be16(buf + 2, 0);
	put_be32(buf + 4, lifetime_s);
	return (int)padded;
}

int ra_encode_mtu(uint8_t *buf, size_t cap, uint32_t mtu)
{
	if (cap < OPT_UNIT)
		return -ENOSPC;
	buf[0] = RA_OPT_MTU;
	buf[1] = 1;
	put_be16(buf + 2, 0);
	put_be32(buf + 4, mtu);
	return OPT_UNIT;
}

int ra_encode_pio(uint8_t *buf, size_t cap, const struct in6_addr *prefix, unsigned len,
		  uint32_t valid_s, uint32_t preferred_s)
{
	enum { PIO_L = 0x80, PIO_A = 0x40 };
	if (len > 128 || preferred_s > valid_s)
		return -EINVAL;
	if (cap < 4 * OPT_UNIT)
		return -ENOSPC;
	struct in6_addr p = *prefix;
	in6_mask(&p, len);
	buf[0] = RA_OPT_PREFIX_INFO;
	buf[1] = 4;
	buf[2] = (uint8_t)len;
	buf[3] = PIO_L | (len == 64 ? PIO_A : 0);
	put_be32(buf + 4, valid_s);
	put_be32(buf + 8, preferred_s);
	put_be32(buf + 12, 0);
	memcpy(buf + 16, p.s6_addr, 16);
	return 4 * OPT_UNIT;
}

/* --- Router Solicitation input --- */

static const char *const rs_verdict_names[] = { "ok", RA_RS_DROPS(VERDICT_TEXT) };
_Static_assert(ARRAY_SIZE(rs_verdict_names) == RA_RS_NVERDICTS, "a name per verdict");

const char *ra_rs_verdict_name(enum ra_rs_verdict v)
{
	return NAME_OF(rs_verdict_names, v);
}

enum ra_rs_verdict ra_rs_parse(const uint8_t *p, size_t len, int hop_limit, bool src_unspecified,
			       struct ra_rs_info *out)
{
	memset(out, 0, sizeof(*out));
	/* RFC 4861 6.1.1, in the order the section lists the checks. */
	if (hop_limit != RA_HOP_LIMIT)
		return RA_RS_DROP_HOP_LIMIT;
	if (len < RA_RS_HEADER_LEN)
		return RA_RS_DROP_SHORT;
	if (p[0] != RA_ICMP6_RS)
		return RA_RS_DROP_NOT_RS;
	if (p[1] != 0)
		return RA_RS_DROP_BAD_CODE;
	size_t off = RA_RS_HEADER_LEN;
	while (off < len) {
		if (len - off < 2)
			return RA_RS_DROP_OPT_OVERRUN;
		size_t olen = (size_t)p[off + 1] * OPT_UNIT;
		if (olen == 0)
			return RA_RS_DROP_OPT_ZERO_LEN;
		if (olen > len - off)
			return RA_RS_DROP_OPT_OVERRUN;
		if (p[off] == RA_OPT_SOURCE_LLADDR)
			out->has_slla = true;
		off += olen;
	}
	if (src_unspecified && out->has_slla)
		return RA_RS_DROP_UNSPEC_WITH_SLLA;
	return RA_RS_OK;
}
