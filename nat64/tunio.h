/* A worker's TUN queue I/O, in batches where the kernel allows it.
 *
 * With io_uring (Linux 6.7 and later: multishot read), one io_uring_enter
 * per wake-up submits every frame written since the last one and collects
 * every frame that has arrived, each into its own buffer of a provided-
 * buffer ring: two system calls per packet become about one per batch.
 * Without it (older kernel, io_uring disabled, [nat64] offload = off),
 * one read() per frame in and one write per frame out, as before.
 *
 * The worker's loop keeps its shape:
 *
 *   tunio_wait(io, -1);                  sleeps; sends what is queued
 *   while ((f = tunio_next(io, &len)))   each frame read
 *           handle it, tunio_send() the results
 *
 * A frame is the virtio-net header (when the queue has one) and the
 * packet. One thread uses a tunio; it is not locked. */
#ifndef SIXFOUR_NAT64_TUNIO_H
#define SIXFOUR_NAT64_TUNIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat64/xlate.h"

struct tunio;

/* For `fd` (a blocking TUN queue) whose frames start with `vnet_len`
 * octets of header. `batch`: try io_uring; call it on the thread that
 * will use the queue (the ring belongs to it). NULL on ENOMEM. */
struct tunio *tunio_new(int fd, unsigned vnet_len, size_t frame_max, bool batch);
void tunio_free(struct tunio *io);
/* True when reads and writes go through io_uring. */
bool tunio_batched(const struct tunio *io);

/* Submits the frames queued by tunio_send and waits until frames have
 * arrived, `timeout_ms` at most (-1: no limit). 0 (frames may be there,
 * see tunio_next), -EINTR (a signal), -ETIME, or -errno. */
int tunio_wait(struct tunio *io, int timeout_ms);
/* The next frame read, NULL when the batch is done. The previous frame's
 * memory goes back to the kernel: it is valid until the next call. */
uint8_t *tunio_next(struct tunio *io, size_t *len);

/* Writes one packet with header `g` (NULL or zero: a plain packet) in
 * front: small ones are copied and go with the next tunio_wait (a UDP
 * datagram of the flow of the one before joins its frame), larger ones
 * (super-packets) go at once after whatever is queued. 0 or -errno (an
 * error of a queued write is counted in tunio_take_write_errors). */
int tunio_send(struct tunio *io, const struct nat64_gso *g, const uint8_t *pkt, size_t len);
/* Submits what tunio_send queued without waiting for frames (before the
 * worker blocks somewhere else). */
void tunio_flush(struct tunio *io);
/* Packets written as part of a frame queued before them (datagrams of one
 * flow coalesced into a UDP GSO frame: vnet.h) since the last call. */
uint64_t tunio_take_coalesced(struct tunio *io);
/* Queued writes that the kernel refused since the last call. */
uint64_t tunio_take_write_errors(struct tunio *io);

/* One frame written at once, header in front (the main thread's writes,
 * handoff datagrams, nat64_syn_timeout). 0 or -errno. */
int tunio_write_one(int fd, unsigned vnet_len, const struct nat64_gso *g, const uint8_t *pkt,
		    size_t len);

#endif
