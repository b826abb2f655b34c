/* The TUN device the translator reads and writes: one queue per worker
 * (IFF_MULTI_QUEUE), raw IP packets without a packet-information header.
 * With offloads, every frame starts with a virtio-net header (IFF_VNET_HDR,
 * nat64/vnet.h) and the kernel hands over and takes super-packets (GSO)
 * and partial checksums; each queue's buffer is sized for 64 KB ones. */
#ifndef SIXFOUR_NAT64_TUN_H
#define SIXFOUR_NAT64_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

/* TUNSETOFFLOAD bits (include/uapi/linux/if_tun.h). USO came with Linux
 * 6.2: Debian 12's headers lack it, so every bit is spelt out here. */
#define TUN_OFFLOAD_CSUM 0x01
#define TUN_OFFLOAD_TSO4 0x02
#define TUN_OFFLOAD_TSO6 0x04
#define TUN_OFFLOAD_TSO_ECN 0x08
#define TUN_OFFLOAD_USO4 0x20
#define TUN_OFFLOAD_USO6 0x40

/* What the kernel agreed to. */
struct tun_offload {
	unsigned vnet_len;	/* virtio-net header octets in front of each frame; 0 = none */
	unsigned features;	/* TUN_OFFLOAD_* taken */
};

/* Opens `nqueues` queues of TUN device `name` (created if missing, and
 * gone again when the last queue closes). fds[] receives the descriptors,
 * blocking. With `offload`, asks for the virtio-net header, checksum
 * offload, TSO for both families and USO where the running kernel has it,
 * each probed; a kernel that refuses gets today's plain queues and one log
 * line. What was negotiated goes to *got. 0 or -errno; on error nothing
 * stays open. */
int tun_open(const char *name, unsigned nqueues, bool offload, int *fds,
	     struct tun_offload *got);
void tun_close(int *fds, unsigned nqueues);
/* "csum tso4 tso6 ecn uso4 uso6" (the features present), "none". */
void tun_offload_name(unsigned features, char *buf, size_t len);

#endif
