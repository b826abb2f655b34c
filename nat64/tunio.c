/* A worker's TUN queue I/O: see tunio.h. */
#include "autoconf.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "nat64/tunio.h"
#include "nat64/vnet.h"

/* Linux 6.7 (io_uring/rw.c io_read_mshot): one SQE reads frame after frame
 * into provided buffers until it runs out of them. liburing 2.3 (Debian
 * 12) predates the opcode; the kernel is asked whether it has it. */
#define TUNIO_OP_READ_MULTISHOT 49

#define RX_BUFS 64		/* frames one wake-up can bring */
#define RX_RING (2 * RX_BUFS)	/* frames read, not handled yet (>= RX_BUFS) */
#define RING_ENTRIES 256
#define BGID 1
/* Frames up to this size are copied and written with the next batch;
 * bigger ones (super-packets: one per 45 segments) go at once. */
#define SMALL_FRAME 2048
#define ARENA_SIZE ((size_t)RING_ENTRIES * (SMALL_FRAME + 64))
#define TAG_READ 1
#define TAG_WRITE 2
#define TAG_CANCEL 3

struct rx_frame {
	uint16_t bid;
	uint32_t len;
};

struct tunio {
	int fd;
	unsigned vnet_len;
	size_t frame_max;
	uint64_t write_errors;
	/* One read at a time (no io_uring). */
	uint8_t *buf;
	size_t buf_len;
	bool buf_ready;
	/* io_uring */
	bool uring;
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_size;
	uint8_t *bufs;		/* RX_BUFS frames of frame_max */
	bool armed;		/* the multishot read is in flight */
	int rx_error;
	struct rx_frame rx[RX_RING];
	unsigned rx_head, rx_tail;
	int held;		/* the buffer tunio_next last returned, -1 */
	uint8_t *arena;		/* queued small writes */
	size_t arena_used;
	unsigned writes_pending;	/* prepared, not completed */
	/* The last frame queued stays open while datagrams of its flow
	 * follow (vnet.h nat64_gso_coalesce): it starts at open_at in the
	 * arena, its header is written when it closes. */
	bool open;
	size_t open_at, open_len;
	struct nat64_gso open_g;
	uint64_t coalesced;
};

/* --- io_uring --- */

static void recycle(struct tunio *io, unsigned bid)
{
	io_uring_buf_ring_add(io->br, io->bufs + (size_t)bid * io->frame_max,
			      (unsigned)io->frame_max, (unsigned short)bid,
			      io_uring_buf_ring_mask(RX_BUFS), 0);
	io_uring_buf_ring_advance(io->br, 1);
}

/* Which setup the running kernel takes, best first: one issuer whose
 * completions run when it asks (6.1), else cooperative (5.19), else plain.
 * The ring starts disabled so that its restrictions come first. */
static int ring_init(struct io_uring *ring)
{
	static const unsigned flags[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int rc = -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		struct io_uring_params p = { .flags = flags[i] | IORING_SETUP_R_DISABLED };
		rc = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
		if (rc != -EINVAL)
			return rc;
	}
	return rc;
}

static bool multishot_read_supported(struct io_uring *ring)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	if (!p)
		return false;
	bool ok = io_uring_opcode_supported(p, TUNIO_OP_READ_MULTISHOT);
	io_uring_free_probe(p);
	return ok;
}

/* Operations submitted through a ring are not seen by seccomp: the ring
 * may only read and write the TUN queue (the one registered file), cancel
 * its read and let go of the file, nothing more once enabled. */
static int restrict_ring(struct io_uring *ring)
{
	struct io_uring_restriction r[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = TUNIO_OP_READ_MULTISHOT },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITE },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_ASYNC_CANCEL },
		{ .opcode = IORING_RESTRICTION_REGISTER_OP, .register_op = IORING_UNREGISTER_FILES },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_BUFFER_SELECT },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
	};
	/* Debian 12's liburing declares the helpers for these but does not
	 * export them: the plain register call does the same. */
	int rc = io_uring_register(ring->ring_fd, IORING_REGISTER_RESTRICTIONS, r, ARRAY_SIZE(r));
	return rc ? rc : io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}

static int uring_setup(struct tunio *io)
{
	int rc = ring_init(&io->ring);
	if (rc)
		return rc;
	if (!multishot_read_supported(&io->ring)) {
		io_uring_queue_exit(&io->ring);
		return -EOPNOTSUPP;
	}
	io->br_size = RX_BUFS * sizeof(struct io_uring_buf);
	io->br = mmap(NULL, io->br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
		      -1, 0);
	io->bufs = malloc(RX_BUFS * io->frame_max);
	io->arena = malloc(ARENA_SIZE);
	if (io->br == MAP_FAILED || !io->bufs || !io->arena) {
		rc = -ENOMEM;
		goto fail;
	}
	struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)io->br,
					.ring_entries = RX_BUFS, .bgid = BGID };
	if ((rc = io_uring_register_files(&io->ring, &io->fd, 1)) != 0 ||
	    (rc = io_uring_register_buf_ring(&io->ring, &reg, 0)) != 0)
		goto fail;
	io_uring_buf_ring_init(io->br);
	for (unsigned i = 0; i < RX_BUFS; i++)
		recycle(io, i);
	if ((rc = restrict_ring(&io->ring)) != 0)
		goto fail;
	io->uring = true;
	return 0;
fail:
	io_uring_queue_exit(&io->ring);
	if (io->br != MAP_FAILED && io->br)
		munmap(io->br, io->br_size);
	io->br = NULL;
	free(io->bufs);
	free(io->arena);
	io->bufs = io->arena = NULL;
	return rc;
}

static void arm(struct tunio *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	if (!sqe)
		return;	/* the queue is full of writes: armed with the next wait */
	io_uring_prep_rw(TUNIO_OP_READ_MULTISHOT, sqe, 0, NULL, 0, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, TAG_READ);
	io->armed = true;
}

/* Completions: frames read join the list, writes done free the arena. */
static void harvest(struct tunio *io)
{
	struct io_uring_cqe *c;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&io->ring, head, c) {
		n++;
		if (io_uring_cqe_get_data64(c) == TAG_CANCEL)
			continue;
		if (io_uring_cqe_get_data64(c) == TAG_WRITE) {
			io->writes_pending--;
			if (c->res < 0)
				io->write_errors++;
			continue;
		}
		if (!(c->flags & IORING_CQE_F_MORE))
			io->armed = false;	/* out of buffers or an error: again */
		if (c->res > 0 && (c->flags & IORING_CQE_F_BUFFER))
			io->rx[io->rx_tail++ % RX_RING] =
				(struct rx_frame){ (uint16_t)(c->flags >> IORING_CQE_BUFFER_SHIFT),
						   (uint32_t)c->res };
		else if (c->res < 0 && c->res != -ENOBUFS && c->res != -EINTR &&
			 c->res != -EAGAIN)
			io->rx_error = c->res;
	}
	io_uring_cq_advance(&io->ring, n);
	if (io->writes_pending == 0)
		io->arena_used = 0;
}

/* The open frame gets its header and its write. */
static void close_open(struct tunio *io)
{
	if (!io->open)
		return;
	io->open = false;
	uint8_t *f = io->arena + io->open_at;
	size_t n = io->vnet_len + io->open_len;
	if (io->vnet_len)
		nat64_vnet_encode(f, &io->open_g);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	if (!sqe) {
		io_uring_submit(&io->ring);	/* room for one more */
		sqe = io_uring_get_sqe(&io->ring);
	}
	if (!sqe) {
		io->write_errors++;
		return;
	}
	io_uring_prep_write(sqe, 0, f, (unsigned)n, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, TAG_WRITE);
	io->arena_used = io->open_at + ((n + 63) & ~(size_t)63);
	io->writes_pending++;
}

/* Every queued write submitted and done (the arena is free again). */
static void drain_writes(struct tunio *io)
{
	close_open(io);
	while (io->writes_pending) {
		int rc = io_uring_submit_and_wait(&io->ring, 1);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			log_err("nat64: TUN writes through io_uring: %s", strerror(-rc));
			io->write_errors += io->writes_pending;
			io->writes_pending = 0;
		}
		harvest(io);
	}
	io->arena_used = 0;
}

/* --- both --- */

struct tunio *tunio_new(int fd, unsigned vnet_len, size_t frame_max, bool batch)
{
	struct tunio *io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	*io = (struct tunio){ .fd = fd, .vnet_len = vnet_len,
			      .frame_max = (frame_max + 63) & ~(size_t)63, .held = -1 };
	if (batch) {
		int rc = uring_setup(io);
		if (rc)
			log_info("nat64: no batched TUN I/O (io_uring: %s): a read per frame",
				 strerror(-rc));
	}
	if (!io->uring && !(io->buf = malloc(io->frame_max))) {
		free(io);
		return NULL;
	}
	return io;
}

/* The ring lets go of the TUN queue before it goes: a ring's teardown
 * runs later in a kernel worker, and until then the device would outlive
 * the daemon (and a restart would find it busy). */
static void release_queue(struct tunio *io)
{
	if (io->armed) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
		if (sqe) {
			io_uring_prep_cancel64(sqe, TAG_READ, 0);
			sqe->flags |= IOSQE_FIXED_FILE;	/* the restriction asks for it */
			io_uring_sqe_set_data64(sqe, TAG_CANCEL);
		}
		while (io->armed && io_uring_submit_and_wait(&io->ring, 1) >= 0)
			harvest(io);
	}
	int rc = io_uring_unregister_files(&io->ring);
	if (rc)
		log_warn("nat64: releasing a TUN queue from its ring: %s", strerror(-rc));
}

void tunio_free(struct tunio *io)
{
	if (!io)
		return;
	if (io->uring) {
		drain_writes(io);
		release_queue(io);
		io_uring_queue_exit(&io->ring);
		munmap(io->br, io->br_size);
	}
	free(io->bufs);
	free(io->arena);
	free(io->buf);
	free(io);
}

bool tunio_batched(const struct tunio *io)
{
	return io->uring;
}

int tunio_wait(struct tunio *io, int timeout_ms)
{
	if (!io->uring) {
		if (timeout_ms >= 0) {
			struct pollfd p = { .fd = io->fd, .events = POLLIN };
			int n = poll(&p, 1, timeout_ms);
			if (n <= 0)
				return n == 0 ? -ETIME : -errno;
		}
		ssize_t n = read(io->fd, io->buf, io->frame_max);
		if (n < 0)
			return -errno;
		io->buf_len = (size_t)n;
		io->buf_ready = n > 0;
		return 0;
	}
	close_open(io);
	if (!io->armed)
		arm(io);
	int rc;
	if (timeout_ms < 0) {
		rc = io_uring_submit_and_wait(&io->ring, 1);
	} else {
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec = (long long)(timeout_ms % 1000) * 1000000 };
		struct io_uring_cqe *cqe;
		rc = io_uring_submit_and_wait_timeout(&io->ring, &cqe, 1, &ts, NULL);
	}
	harvest(io);
	if (io->rx_error) {
		rc = io->rx_error;
		io->rx_error = 0;
		return rc;
	}
	return rc < 0 && io->rx_head == io->rx_tail ? rc : 0;
}

uint8_t *tunio_next(struct tunio *io, size_t *len)
{
	if (!io->uring) {
		if (!io->buf_ready)
			return NULL;
		io->buf_ready = false;
		*len = io->buf_len;
		return io->buf;
	}
	if (io->held >= 0) {
		recycle(io, (unsigned)io->held);
		io->held = -1;
	}
	if (io->rx_head == io->rx_tail)
		return NULL;
	struct rx_frame f = io->rx[io->rx_head++ % RX_RING];
	io->held = f.bid;
	*len = f.len;
	return io->bufs + (size_t)f.bid * io->frame_max;
}

int tunio_write_one(int fd, unsigned vnet_len, const struct nat64_gso *g, const uint8_t *pkt,
		    size_t len)
{
	ssize_t n;
	if (vnet_len == 0) {
		n = write(fd, pkt, len);
	} else {
		uint8_t h[NAT64_VNET_HDR_LEN];
		static const struct nat64_gso plain;
		nat64_vnet_encode(h, g ? g : &plain);
		struct iovec iov[2] = { { h, vnet_len }, { (void *)pkt, len } };
		n = writev(fd, iov, 2);
		len += vnet_len;
	}
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int tunio_send(struct tunio *io, const struct nat64_gso *g, const uint8_t *pkt, size_t len)
{
	if (!io->uring)
		return tunio_write_one(io->fd, io->vnet_len, g, pkt, len);
	size_t n = io->vnet_len + len;
	if (len > SMALL_FRAME) {
		/* In order behind what is queued (one flow may have both). */
		drain_writes(io);
		return tunio_write_one(io->fd, io->vnet_len, g, pkt, len);
	}
	static const struct nat64_gso plain;
	if (!g)
		g = &plain;
	/* A datagram of the open frame's flow joins it: the kernel forwards
	 * one frame and cuts it again at the far end. */
	if (io->open && io->vnet_len &&
	    nat64_gso_coalesce(io->arena + io->open_at + io->vnet_len, &io->open_len,
			       ARENA_SIZE - io->open_at - io->vnet_len, &io->open_g, pkt, len, g)) {
		io->arena_used = io->open_at + io->vnet_len + io->open_len;
		io->coalesced++;
		return 0;
	}
	close_open(io);
	if (io->arena_used + n > ARENA_SIZE || io_uring_sq_space_left(&io->ring) < 2)
		drain_writes(io);
	io->open = true;
	io->open_at = io->arena_used;
	io->open_len = len;
	io->open_g = *g;
	memcpy(io->arena + io->open_at + io->vnet_len, pkt, len);
	io->arena_used += n;
	return 0;
}

void tunio_flush(struct tunio *io)
{
	if (!io->uring)
		return;
	close_open(io);
	if (io_uring_sq_ready(&io->ring))
		io_uring_submit(&io->ring);
}

uint64_t tunio_take_coalesced(struct tunio *io)
{
	uint64_t n = io->coalesced;
	io->coalesced = 0;
	return n;
}

uint64_t tunio_take_write_errors(struct tunio *io)
{
	uint64_t n = io->write_errors;
	io->write_errors = 0;
	return n;
}
