/* The virtio-net header in front of every frame on a TUN opened with
 * offloads (tun.h): what the kernel tells us about a super-packet it hands
 * over (GSO type and segment size, a partial checksum), what we tell it
 * about one we write, and the arithmetic between the two:
 *
 *   - nat64_vnet_decode/encode: the 12-octet header <-> struct nat64_gso
 *     (xlate.h), in the host's byte order (legacy virtio on a TUN);
 *   - nat64_gso_check: a received header checked against its packet, the
 *     header length taken from the packet's own L4 header (on the forward
 *     path the kernel's hdr_len may cover the whole first segment);
 *   - nat64_gso_segs / nat64_gso_wire_len: the segments the kernel will
 *     cut and the octets they carry (what is counted and charged);
 *   - nat64_gso_next: those segments made in software, each a plain
 *     packet with a complete checksum (the slow path), the way the kernel
 *     cuts them (TCP: sequence numbers, FIN/PSH on the last, CWR on the
 *     first; IPv4: total length, ID + k, header checksum);
 *   - nat64_gso_split_last: a translated super-packet whose last, short
 *     segment needs other IPv4 header fields than the rest (RFC 7915 5.1,
 *     DF) becomes two frames.
 * Pure functions on caller memory: no I/O, no allocation. */
#ifndef SIXFOUR_NAT64_VNET_H
#define SIXFOUR_NAT64_VNET_H

#include <stddef.h>
#include <stdint.h>

#include "nat64/xlate.h"

/* Set with TUNSETVNETHDRSZ: struct virtio_net_hdr (10 octets) plus the
 * unused num_buffers field, so that the IP header that follows is aligned
 * to 4 octets in our buffers. */
#define NAT64_VNET_HDR_LEN 12

/* virtio 1.x section 5.1.6 (include/uapi/linux/virtio_net.h). Defined
 * here: Debian 12's headers predate GSO_UDP_L4. */
#define NAT64_VNET_F_NEEDS_CSUM 1
#define NAT64_VNET_F_DATA_VALID 2
#define NAT64_VNET_GSO_NONE 0
#define NAT64_VNET_GSO_TCPV4 1
#define NAT64_VNET_GSO_UDP 3		/* UFO: never offered, never accepted */
#define NAT64_VNET_GSO_TCPV6 4
#define NAT64_VNET_GSO_UDP_L4 5
#define NAT64_VNET_GSO_ECN 0x80

/* The header at `h` as the kernel wrote it; fields not understood (UFO,
 * unknown types) give type NAT64_GSO_BAD, which nat64_gso_check refuses. */
void nat64_vnet_decode(const uint8_t *h, struct nat64_gso *g);
/* Writes NAT64_VNET_HDR_LEN octets at `h` (zero header for a plain g). */
void nat64_vnet_encode(uint8_t *h, const struct nat64_gso *g);

/* Checks a received header against the packet p[0..*len) (the IP packet,
 * after the header) and completes it: *len cut to the IP length when the
 * frame has a partial checksum, hdr_len from the L4 header, a GSO
 * frame holding one segment or less becomes a plain one (as the kernel
 * treats it). NAT64_CONTINUE or NAT64_DROP_BAD_OFFLOAD (GSO without a partial checksum
 * included: the kernel never hands one to a TUN). */
enum nat64_verdict nat64_gso_check(const uint8_t *p, size_t *len, struct nat64_gso *g);

/* Segments the kernel will cut from a frame of `len` octets (1 for a
 * plain one), and the octets they add up to (headers repeated). */
unsigned nat64_gso_segs(const struct nat64_gso *g, size_t len);
size_t nat64_gso_wire_len(const struct nat64_gso *g, size_t len);

/* Software segmentation: nat64_gso_iter_init(&it, p, len, g), then each
 * nat64_gso_next() builds the next segment in buf[0..cap) and returns its
 * length, 0 when done (or when cap is too small: never with cap >=
 * NAT64_BUF_SIZE). A plain frame with a partial checksum gives one
 * segment, its checksum completed; a plain one is copied as it is. */
struct nat64_gso_iter {
	const uint8_t *p;
	size_t len;
	struct nat64_gso g;
	size_t off;		/* payload octets already cut */
	unsigned k;		/* segments made */
	unsigned n;		/* segments in all */
};
void nat64_gso_iter_init(struct nat64_gso_iter *it, const uint8_t *p, size_t len,
			 const struct nat64_gso *g);
size_t nat64_gso_next(struct nat64_gso_iter *it, uint8_t *buf, size_t cap);

/* Completes a partial checksum in place: the field at csum_start +
 * csum_offset holds the pseudo-header sum; the checksum over
 * [csum_start, len) replaces it (UDP: 0 becomes 0xffff). */
void nat64_csum_complete(uint8_t *p, size_t len, const struct nat64_gso *g);

/* A translated IPv4 super-packet at buf[0..len) (TCP or UDP, partial
 * checksum) whose last segment must go as a frame of its own: the first
 * frame keeps segments 0..n-2 and `g` (g->type NONE when one is left),
 * the second (the last segment, plain with a partial checksum, its IPv4
 * header from `tail_ip4` fields: DF clear, identification `tail_id`) is
 * written at buf + the new first length, which the call returns; its
 * length in *tail_len, its metadata in *tail_g. `cap` bounds buf. 0 when
 * it does not fit or the frame has a single segment. */
size_t nat64_gso_split_last(uint8_t *buf, size_t len, size_t cap, struct nat64_gso *g,
			    uint16_t tail_id, size_t *tail_len, struct nat64_gso *tail_g);

/* Write-side coalescing (the kernel's GRO, done on what we write): appends
 * the plain packet p[0..plen) (metadata pg) to the frame f[0..*flen)
 * (metadata fg: the packet it started with, or the UDP GSO frame built so
 * far) when the kernel's segmentation of the result gives back exactly
 * the packets one by one: UDP datagrams with partial checksums, of one
 * flow and one size (the last may be shorter, then nothing follows),
 * headers equal but for the lengths and, for IPv4 with DF clear, IDs in a
 * row. `cap` bounds f. True when appended (*flen and *fg updated). */
#define NAT64_GSO_UDP_MAX_SEGS 64	/* UDP_MAX_SEGMENTS of Linux 6.1 */
bool nat64_gso_coalesce(uint8_t *f, size_t *flen, size_t cap, struct nat64_gso *fg,
			const uint8_t *p, size_t plen, const struct nat64_gso *pg);

#endif
