/* The TUN device the translator reads and writes: one queue per worker
 * (IFF_MULTI_QUEUE), raw IP packets without a packet-information header.
 * The virtio-net header (IFF_VNET_HDR) and its offloads come later; each
 * queue's buffer is sized for 64 KB super-packets already. */
#ifndef SIXFOUR_NAT64_TUN_H
#define SIXFOUR_NAT64_TUN_H

#include <net/if.h>

/* Opens `nqueues` queues of TUN device `name` (created if missing, and
 * gone again when the last queue closes). fds[] receives the descriptors,
 * blocking: a worker's read() is its only system call per packet in. 0 or -errno; on error nothing stays open. */
int tun_open(const char *name, unsigned nqueues, int *fds);
void tun_close(int *fds, unsigned nqueues);

#endif
