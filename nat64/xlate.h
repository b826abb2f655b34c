/* The translator's packet steps, named after RFC 6146 section 3 and
 * RFC 7915. The packet path (path.c, with session.c for the state) runs
 * them in order:
 *
 *   v = nat64_determine_tuple6(cfg, data, len, &pkt, &in);   RFC 6146 3.4
 *   ... filtering and updating: session lookup/create -> out tuple (3.5, 3.6)
 *   v = nat64_translate_6to4(cfg, &pkt, &out_tuple, &out);    3.7 + RFC 7915 5
 *
 * and the mirror image for IPv4 -> IPv6. Every function returns a verdict;
 * a drop names its reason (NAT64_DROP_* below), which the caller counts. */
#ifndef SIXFOUR_NAT64_XLATE_H
#define SIXFOUR_NAT64_XLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* Drop reasons: one list, so the enum and its names cannot drift apart. */
#define NAT64_DROP_REASONS(X) \
	X(TRUNCATED, "truncated or inconsistent length") \
	X(BAD_VERSION, "not IPv4/IPv6") \
	X(BAD_HEADER, "malformed IP header") \
	X(BAD_CHECKSUM, "bad IPv4 header checksum") \
	X(EXT_HEADER, "unsupported IPv6 extension header") \
	X(UNKNOWN_PROTO, "protocol not translated") \
	X(NOT_OUR_PREFIX, "destination not in a translated prefix") \
	X(NON_GLOBAL_V4, "non-global IPv4 under the Well-Known Prefix") \
	X(HOP_LIMIT, "hop limit exceeded") \
	X(ICMP_UNTRANSLATABLE, "ICMP type without a translation") \
	X(ICMP_ERROR_NESTED, "ICMP error about an ICMP error") \
	X(FRAGMENT_UNCHECKSUMMED, "fragmented UDP without checksum") \
	X(FRAGMENT_LIMIT, "fragment reassembly limits") \
	X(TOO_BIG, "packet does not fit the next hop") \
	X(NO_SESSION, "no session for inbound packet") \
	X(FILTERED, "filtered by the session's filtering policy") \
	X(POOL_EXHAUSTED, "no free pool4 port") \
	X(TABLE_FULL, "session table full") \
	X(CLIENT_LIMIT, "per-client session limit") \
	X(HAIRPIN_LOOP, "hairpin loop") \
	X(RATE_LIMITED, "rate limited") \
	X(BLOCKED, "blocked by a handoff server") \
	X(NO_BUFFER, "output buffer too small") \
	X(INTERNAL, "internal error") \
	X(SOURCE_ROUTE, "unexpired IPv4 source route option") \
	X(FRAGMENT_OVERLAP, "overlapping fragments") \
	X(BAD_ICMP_CHECKSUM, "bad checksum on an ICMP error") \
	X(PORT_LIMIT, "per-client pool4 port share (RFC 6888 REQ-4)") \
	X(UDP_ZERO_CHECKSUM, "IPv6 UDP without a checksum (RFC 8200 8.1)") \
	X(CLIENT_RATE_LIMITED, "over the per-client bandwidth limit") \
	X(BAD_OFFLOAD, "virtio-net header inconsistent with its packet") \
	X(STANDBY, "this node is a cluster standby (doc/cluster.md)")

enum nat64_verdict {
	NAT64_CONTINUE = 0,	/* go on to the next step */
	NAT64_ICMP_SENT,	/* the step produced an ICMP error in `out` instead;
				 * it goes back out the side the packet came from */
	NAT64_HELD,		/* a fragment was stored for reassembly (frag.h) */
	NAT64_SEGMENT,		/* a super-packet that cannot be translated whole:
				 * the caller cuts it into its segments and
				 * translates each (see struct nat64_gso) */
#define X(name, text) NAT64_DROP_##name,
	NAT64_DROP_REASONS(X)
#undef X
	NAT64_VERDICT_COUNT
};

const char *nat64_verdict_name(enum nat64_verdict v);

/* A flow's identity (RFC 6146 3.4): addresses, ports, protocol. For ICMP
 * query messages both ports hold the identifier. For ICMP errors the tuple
 * is that of the inner packet, reversed (it names the flow it is about). */
struct nat64_tuple {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP(V6) */
	uint16_t sport, dport;	/* host order */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} src, dst;
};

/* Offloads (TUN with the virtio-net header, nat64/vnet.h): a GSO
 * super-packet stands for the segments the kernel cuts from it, each with
 * a copy of its headers and `size` payload octets (the last one fewer);
 * the translation of all of them is the translation of the super-packet,
 * its headers translated once. `csum_partial` (NEEDS_CSUM): the L4
 * checksum field holds only the pseudo-header sum; whoever sends the
 * packet sums [csum_start, end) into it. Only the address change of the
 * pseudo-header is carried into such a field. All zero: a plain packet
 * with a complete checksum. Offsets count from the IP header. */
enum nat64_gso_type {
	NAT64_GSO_NONE,
	NAT64_GSO_TCP4,		/* TSO over IPv4 */
	NAT64_GSO_TCP6,		/* TSO over IPv6 */
	NAT64_GSO_UDP,		/* UDP segmentation (USO, GSO_UDP_L4): one datagram per segment */
	NAT64_GSO_BAD,		/* a header we do not understand */
};
struct nat64_gso {
	uint8_t type;		/* enum nat64_gso_type */
	bool ecn;		/* TCP: CWR in the first segment (TSO_ECN) */
	bool csum_partial;
	uint16_t size;		/* payload octets per segment */
	uint16_t hdr_len;	/* IP + L4 header octets, repeated in each segment */
	uint16_t csum_start;	/* where the L4 header starts */
	uint16_t csum_offset;	/* of the checksum field, from csum_start */
};

/* What parsing learned about a packet, kept for the translation step so
 * that nothing is parsed twice. Offsets index into `data`. */
struct nat64_pkt {
	const uint8_t *data;
	size_t len;
	int family;
	uint8_t proto;		/* upper-layer protocol after extension headers */
	uint16_t l3_len;	/* IP header (+ IPv6 extension headers) length */
	uint16_t frag_off;	/* offset of the IPv6 fragment header, 0 = none */
	bool is_fragment;	/* not a whole packet (MF set or offset != 0) */
	bool is_first_fragment;	/* carries the L4 header */
	bool is_icmp_error;
	uint8_t tcp_flags;	/* for the TCP state machine (3.5.2) */
	/* For ICMP errors: where the inner packet starts. */
	uint16_t inner_off;

	/* 6->4 only: the IPv4 destination extracted from the translate prefix
	 * the IPv6 destination lies in (for an ICMP error: from the inner
	 * source), and that prefix (valid for this event only, like the set). */
	struct in_addr dst4;
	const struct prefix_info *prefix;

	/* Fragment fields (outer packet), valid when is_fragment. */
	uint32_t frag_id;	/* IPv6 identification or IPv4 ID */
	uint16_t frag_offset;	/* in octets */
	bool more_fragments;
	bool df;		/* IPv4 only: Don't Fragment */
	bool udp_zero_checksum;	/* IPv4 UDP without checksum */
	/* Put together by the reassembly table (frag.h) from fragments whose
	 * identification was frag_id: 6->4 keeps DF=0 and that ID. */
	bool reassembled;

	/* For ICMP errors: the inner packet's layout (offsets from `data`). */
	uint8_t inner_proto;	/* after inner extension headers */
	uint16_t inner_l4_off;	/* start of the inner L4 header */
	uint16_t inner_frag_off;/* inner IPv6 fragment header, 0 = none */
	bool inner_is_fragment;
	bool inner_first_fragment;

	/* When a determine step drops the packet with an ICMP error owed to
	 * the sender (RFC 7915 4.1 source route, 5.1 routing header): the
	 * arguments for nat64_icmp_error(). err_type 0 with family AF_INET6
	 * never happens (type 0 is reserved in ICMPv6), so test err_set. */
	bool err_set;
	uint8_t err_type, err_code;
	uint32_t err_param;

	/* Offload metadata (zero: a plain packet), set by nat64_pkt_offload
	 * after the determine step. */
	struct nat64_gso gso;
};

/* The result of translation: a packet built in caller-provided memory.
 * Room for 64 KB super-packets (GSO) is the caller's choice of `cap`. */
#define NAT64_OUT_MAX_PKTS 64	/* 65535 / 1232 octets per IPv6 fragment < 64 */
/* Largest output: a 64 KB datagram cut into IPv6 fragments, each with its
 * own 40 + 8 octet headers. */
#define NAT64_OUT_BUF_MIN (65535 + 40 + NAT64_OUT_MAX_PKTS * 48)
struct nat64_out {
	uint8_t *buf;
	size_t cap;
	size_t len;		/* total octets written (all packets) */
	/* Packets written, back to back from buf: pkt_len[0] octets, then
	 * pkt_len[1], ... Usually 1 (then pkt_len[0] == len); more when a
	 * packet had to be fragmented (RFC 7915 4: DF=0 IPv4 packet that
	 * becomes an IPv6 packet larger than 1280). */
	unsigned count;
	uint32_t pkt_len[NAT64_OUT_MAX_PKTS];
	/* Offload metadata of packets 0 and 1 (a super-packet, and its last
	 * segment when it needs IPv4 fields of its own); later ones are
	 * always plain. */
	struct nat64_gso gso[2];
};

/* Token buckets for the ICMP errors the translator originates (RFC 4443
 * 2.4 (f), RFC 1812 4.3.2.8), one set per worker: one bucket for all
 * destinations and, when dst_per_sec is set, one per destination (IPv6
 * /64, IPv4 address) in a small keyed table (a destination that collides
 * takes the slot over with a full bucket; the overall bucket still
 * holds). Zero-initialise, set the rates; an error over a limit is not
 * sent and counted in `suppressed`. */
#define NAT64_ICMP_DST_SLOTS 256
struct nat64_icmp_dst {
	uint8_t key[16];
	uint32_t tokens;
	uint64_t last_ms;	/* 0 = slot free */
};
struct nat64_icmp_limit {
	uint32_t per_sec;	/* all destinations; 0 = no limit */
	uint32_t burst;
	uint32_t dst_per_sec;	/* one destination; 0 = no such limit */
	uint32_t dst_burst;
	uint32_t tokens;
	uint64_t last_ms;
	uint64_t suppressed;	/* written by the owner (counter_inc) */
	uint64_t now_ms;	/* tests: a fake clock; 0 = monotonic_ms() */
	struct nat64_icmp_dst dst[NAT64_ICMP_DST_SLOTS];
};

/* Context every step gets: the shared prefix set version to use for this
 * packet, and the translator's own addresses for errors it originates. */
struct prefix_set;
struct nat64_frag_table;
struct nat64_xlate_cfg {
	const struct prefix_set *prefixes;	/* translate-role prefixes */
	struct in_addr own_v4;		/* source of ICMPv4 errors we originate */
	struct in6_addr own_v6;		/* source of ICMPv6 errors we originate */
	/* Next-hop MTUs (RFC 7915 4.2/5.2 PTB arithmetic; 0 = unknown). A
	 * DF=1 IPv4 packet that becomes larger than ipv6_mtu is answered
	 * with Fragmentation Needed, so 1280 here clamps every IPv4 server's
	 * path MTU to 1260: use the IPv6 egress (TUN) MTU and let real IPv6
	 * routers' Packet Too Big come back translated. */
	uint16_t ipv4_mtu;		/* MTU toward IPv4 when no better is known */
	uint16_t ipv6_mtu;		/* MTU toward IPv6 (>= 1280) */
	bool reassemble_unchecksummed_udp;	/* else drop (RFC 7915 4.5) */
	/* IPv4 Identification source for 6->4 packets with DF=0 (RFC 7915
	 * 5.1), one per worker so no locking. NULL: derived from a hash. */
	uint32_t *ipv4_id_next;
	/* Per-worker fragment reassembly (frag.h); NULL: fragments are
	 * translated one by one and non-first ones have no ports. */
	struct nat64_frag_table *frags;
	/* Per-worker limit for nat64_icmp_error(); NULL: not limited. */
	struct nat64_icmp_limit *icmp_limit;
};

/* RFC 6146 3.4, IPv6 side: checks every length, finds the L4 header, and
 * fills `tuple` (AF_INET6: src.v6 = client, dst.v6 = the IPv4-embedded
 * destination); the IPv4 destination extracted from the prefix it lies in
 * is pkt->dst4, the prefix pkt->prefix. For an ICMP error the tuple is the
 * inner packet's, reversed. Non-first fragments carry no ports: sport and
 * dport are 0 and pkt->is_first_fragment false (see frag.h). */
enum nat64_verdict nat64_determine_tuple6(const struct nat64_xlate_cfg *cfg,
					  const uint8_t *data, size_t len,
					  struct nat64_pkt *pkt, struct nat64_tuple *tuple);
/* RFC 6146 3.4, IPv4 side. */
enum nat64_verdict nat64_determine_tuple4(const struct nat64_xlate_cfg *cfg,
					  const uint8_t *data, size_t len,
					  struct nat64_pkt *pkt, struct nat64_tuple *tuple);

/* Offloads: attaches the metadata of the frame `pkt` was parsed from
 * (after a determine step that returned NAT64_CONTINUE). NAT64_CONTINUE
 * when the translation steps can carry it whole: a TCP or UDP packet,
 * not a fragment nor an ICMP error, its L4 header complete where the
 * metadata says; else NAT64_SEGMENT (pkt->gso stays zero). */
enum nat64_verdict nat64_pkt_offload(struct nat64_pkt *pkt, const struct nat64_gso *g);

/* RFC 6146 3.7 + RFC 7915 section 5: builds the IPv4 packet whose header
 * carries `out_tuple` (IPv4 addresses and ports chosen by the state layer).
 * For an ICMP error, the inner packet is translated with the reverse of
 * `out_tuple`. May instead build an ICMPv6 error back toward the sender
 * (hop limit, too big) and return NAT64_ICMP_SENT. A super-packet
 * (pkt->gso) is translated whole, or NAT64_SEGMENT when one of its
 * segments would be treated differently from the others (too big, an
 * error owed, a DF=0 tail aside: see xlate_6to4.c). */
enum nat64_verdict nat64_translate_6to4(const struct nat64_xlate_cfg *cfg,
					const struct nat64_pkt *pkt,
					const struct nat64_tuple *out_tuple,
					struct nat64_out *out);
/* RFC 6146 3.7 + RFC 7915 section 4. */
enum nat64_verdict nat64_translate_4to6(const struct nat64_xlate_cfg *cfg,
					const struct nat64_pkt *pkt,
					const struct nat64_tuple *out_tuple,
					struct nat64_out *out);

/* Builds an ICMPv6 (for an IPv6 packet) or ICMPv4 error about `pkt` that
 * the translator itself originates (e.g. no session: port unreachable,
 * administratively prohibited), with the quoted packet truncated to
 * 1280/576 octets. Returns NAT64_ICMP_SENT, or a drop when no error may be
 * sent: about an ICMP error or a non-first fragment, to an unspecified,
 * multicast or broadcast source (RFC 4443 2.4 (e), RFC 1812 4.3.2.7), or
 * over the rate limit (NAT64_DROP_RATE_LIMITED, counted in the limit). */
enum nat64_verdict nat64_icmp_error(const struct nat64_xlate_cfg *cfg,
				    const struct nat64_pkt *pkt, uint8_t type, uint8_t code,
				    uint32_t param, struct nat64_out *out);

#endif
