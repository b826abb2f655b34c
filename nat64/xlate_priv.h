/* Private to the translator's packet core (parse, xlate_*, icmp, frag):
 * wire constants and helpers shared between those files. */
#ifndef SIXFOUR_NAT64_XLATE_PRIV_H
#define SIXFOUR_NAT64_XLATE_PRIV_H

#include <stdint.h>
#include <string.h>

#include "common/rfc6052.h"
#include "common/util.h"
#include "nat64/checksum.h"
#include "nat64/xlate.h"

#define IPV4_HDR_LEN 20
#define IPV6_HDR_LEN 40
#define IPV6_FRAG_HDR_LEN 8
#define ICMP_HDR_LEN 8		/* type, code, checksum, 4 octets of rest */
#define UDP_HDR_LEN 8
#define TCP_HDR_LEN 20
#define L4_PORTS_LEN 8		/* what an ICMP error must quote at least */

#define IPV6_MIN_MTU 1280
#define IPV4_MIN_MTU 68
#define ICMP4_ERROR_MAX 576	/* RFC 1812 4.3.2.3 */
#define ICMP6_ERROR_MAX 1280	/* RFC 4443 2.4 (c) */
#define DF_THRESHOLD 1260	/* RFC 7915 5.1: IPv4 packets <= 1260 get DF=0 */

#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff

/* IPv6 extension header numbers (RFC 8200 4). */
#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_DSTOPTS 60

/* ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) types used here. */
#define ICMP4_ECHO_REPLY 0
#define ICMP4_DEST_UNREACH 3
#define ICMP4_ECHO_REQUEST 8
#define ICMP4_TIME_EXCEEDED 11
#define ICMP4_PARAM_PROB 12
#define ICMP4_UNREACH_PORT 3
#define ICMP4_UNREACH_NEEDFRAG 4
#define ICMP4_UNREACH_SRCFAIL 5
#define ICMP6_DEST_UNREACH 1
#define ICMP6_DEST_UNREACH_NOROUTE 0
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAM_PROB 4
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129

/* Where the fields of an IP header and its upper layer lie. Filled for the
 * outer packet and, for ICMP errors, the inner one. */
struct nat64_l3 {
	size_t l3_len;		/* IP header + options / extension headers */
	uint8_t proto;
	size_t frag_hdr;	/* offset of the IPv6 fragment header, 0 = none */
	size_t frag_nh_at;	/* the next-header octet that names it */
	bool fragment, first;
	uint32_t id;
	uint16_t offset;	/* octets */
	bool mf;
};

/* Parses an IPv6 header chain at p[0..len). `inner`: a quoted packet, whose
 * payload length may exceed what is present. Fills `err_*` of `pkt` (when
 * not NULL) for a routing header with segments left. */
enum nat64_verdict nat64_parse_ipv6(const uint8_t *p, size_t len, bool inner,
				    struct nat64_l3 *l3, struct nat64_pkt *pkt);
enum nat64_verdict nat64_parse_ipv4(const uint8_t *p, size_t len, bool inner,
				    struct nat64_l3 *l3, struct nat64_pkt *pkt);

/* frag.c: stores one fragment (parsed into `l3`). NAT64_HELD while pieces
 * are missing; NAT64_CONTINUE with the whole datagram in *whole (valid until
 * the next call on `t`); or a drop. */
enum nat64_verdict nat64_frag_add(struct nat64_frag_table *t, uint64_t now_ms, int family,
				  const uint8_t *p, size_t len, const struct nat64_l3 *l3,
				  const uint8_t **whole, size_t *whole_len);

/* ICMP type/code mapping (RFC 7915 4.2 and 5.2); icmp.c. For errors,
 * `*param` is the pointer (Parameter Problem) or MTU: it is only mapped by
 * the translation step. */
enum nat64_verdict nat64_icmp4_map(uint8_t type, uint8_t code, uint8_t *type6,
				   uint8_t *code6);
enum nat64_verdict nat64_icmp6_map(uint8_t type, uint8_t code, uint8_t *type4,
				   uint8_t *code4);
/* Parameter Problem pointer tables (RFC 7915 figures 3 and 6): -1 = none. */
int nat64_icmp_pointer_4to6(uint8_t ptr4);
int nat64_icmp_pointer_6to4(uint8_t ptr6);
/* The MTU for a translated Packet Too Big / Fragmentation Needed. */
uint32_t nat64_icmp_mtu_4to6(const struct nat64_xlate_cfg *cfg, uint16_t mtu4,
			     uint16_t inner_total_len);
uint16_t nat64_icmp_mtu_6to4(const struct nat64_xlate_cfg *cfg, uint32_t mtu6);
/* RFC 1191 section 7: the largest plateau below `total_len`. */
uint16_t nat64_mtu_plateau(uint16_t total_len);

/* An error the translator owes for a packet it drops for `reason` (hop
 * limit, too big): ICMP_SENT, or `reason` when no error may be sent, or
 * RATE_LIMITED / NO_BUFFER. */
enum nat64_verdict nat64_icmp_owe(const struct nat64_xlate_cfg *cfg, const struct nat64_pkt *pkt,
				  uint8_t type, uint8_t code, uint32_t param,
				  struct nat64_out *out, enum nat64_verdict reason);

/* What both directions do first (icmp.c): the output emptied, a packet
 * of another family than `family` refused, and a packet whose TTL or hop
 * limit runs out here dropped with a Time Exceeded, never one about an
 * error (the translator is a router, RFC 7915 4.1, 5.1). NAT64_CONTINUE:
 * the caller translates it. `offloaded`: a super-packet or a partial
 * checksum (xlate.h), which is cut first, so that each segment is owed
 * its own error. */
enum nat64_verdict nat64_translate_begin(const struct nat64_xlate_cfg *cfg,
					 const struct nat64_pkt *pkt, int family, bool offloaded,
					 struct nat64_out *out);

/* Translation of the ICMP error bodies (icmp.c). */
enum nat64_verdict nat64_icmp_error_6to4(const struct nat64_xlate_cfg *cfg,
					 const struct nat64_pkt *pkt,
					 const struct nat64_tuple *ot, struct nat64_out *out);
enum nat64_verdict nat64_icmp_error_4to6(const struct nat64_xlate_cfg *cfg,
					 const struct nat64_pkt *pkt,
					 const struct nat64_tuple *ot, struct nat64_out *out);

/* Header writers shared by outer and inner translation (xlate_*.c).
 * Write a 20-octet IPv4 header / 40-octet IPv6 header at `o`. */
void nat64_write_ipv4(uint8_t *o, uint8_t tos, uint16_t total_len, uint16_t id,
		      uint16_t frag_field, uint8_t ttl, uint8_t proto,
		      struct in_addr src, struct in_addr dst);
void nat64_write_ipv6(uint8_t *o, uint8_t tclass, uint16_t payload_len, uint8_t nh,
		      uint8_t hlim, const struct in6_addr *src, const struct in6_addr *dst);

/* Rewrites an L4 header at `l4` (only `avail` octets present) from the
 * IPv6 pseudo-header/ports to the IPv4 ones, or back: incremental checksum
 * update for TCP/UDP, type + checksum conversion for ICMP echo. `ulen` is
 * the upper-layer length of the whole datagram (ICMP pseudo-header). The
 * checksum is only touched when its field is present. `csum_partial`
 * (TCP/UDP, offloads: xlate.h): the field holds the pseudo-header sum, so
 * only the address change goes into it; the ports are summed later. */
void nat64_l4_6to4(uint8_t *l4, size_t avail, uint8_t proto6, bool first,
		   const struct in6_addr *src6, const struct in6_addr *dst6,
		   struct in_addr src4, struct in_addr dst4, uint16_t sport, uint16_t dport,
		   uint32_t ulen, bool csum_partial);
void nat64_l4_4to6(uint8_t *l4, size_t avail, uint8_t proto4, bool first,
		   struct in_addr src4, struct in_addr dst4,
		   const struct in6_addr *src6, const struct in6_addr *dst6, uint16_t sport,
		   uint16_t dport, uint32_t ulen, bool csum_partial);

/* The offload metadata of a translated packet: its IP headers went from
 * `l3_in` to `l3_out` octets, the L4 header and segment size stay. */
static inline struct nat64_gso nat64_gso_moved(const struct nat64_gso *g, size_t l3_in,
					       size_t l3_out, int family_out)
{
	struct nat64_gso o = *g;
	if (o.type == NAT64_GSO_TCP4 || o.type == NAT64_GSO_TCP6)
		o.type = family_out == AF_INET ? NAT64_GSO_TCP4 : NAT64_GSO_TCP6;
	if (o.type != NAT64_GSO_NONE)
		o.hdr_len = (uint16_t)(o.hdr_len - l3_in + l3_out);
	o.csum_start = (uint16_t)(o.csum_start - l3_in + l3_out);
	return o;
}

static inline void nat64_out_single(struct nat64_out *out, size_t len)
{
	out->len = len;
	out->count = 1;
	out->pkt_len[0] = (uint32_t)len;
}

#endif
