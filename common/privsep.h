/* Privilege separation in the manner of OpenBSD's daemons: a helper
 * process keeps the one capability the translator needs after start-up
 * (CAP_NET_ADMIN) and performs a fixed set of typed requests that the
 * unprivileged process sends over a socketpair. The helper loads the
 * configuration itself and refuses what that configuration does not
 * allow; the unprivileged process runs every parser and holds no
 * capability at all.
 *
 * One request is one SOCK_SEQPACKET message (header + payload), one reply
 * is one message (an int32 result, 0 or -errno, + payload). Requests are
 * synchronous and come from the main thread only. */
#ifndef SIXFOUR_PRIVSEP_H
#define SIXFOUR_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PRIVSEP_MAX_MSG 16384
/* A reply the helper has not sent by then counts as failure: the helper
 * only talks to the kernel, never to a peer. */
#define PRIVSEP_TIMEOUT_MS 10000

/* Request types: 0x00xx belong to the helper itself, each subsystem with a
 * privileged side owns a block of 256 (its privsep_ops.type_base). */
enum privsep_type {
	/* Re-read the configuration file (reload): the helper's view of what
	 * is allowed follows the file, never the requester. */
	PRIVSEP_RELOAD = 0x0001,
};

struct privsep_hdr {
	uint16_t type;
	uint16_t seq;		/* echoed in the reply */
	uint32_t len;		/* payload octets after the header */
};

struct privsep_reply_hdr {
	int32_t rc;		/* 0 or -errno */
	uint16_t seq;
	uint16_t reserved;
	uint32_t len;
};

struct sixfour_config;

/* The privileged side of a subsystem, run in the helper process. */
struct privsep_ops {
	uint16_t type_base;	/* serves type_base .. type_base + 0xff */
	/* In the helper, once, with the configuration the helper loaded. */
	void *(*init)(const struct sixfour_config *cfg);
	/* A reload: the helper loaded `cfg`; from now on requests are checked
	 * against it. The previous one stays valid until this returns. */
	void (*configure)(void *state, const struct sixfour_config *cfg);
	/* One request: 0 or -errno (-EPERM for what the configuration does
	 * not allow). `resp` holds up to *resp_len octets; set *resp_len. */
	int (*handle)(void *state, uint16_t type, const uint8_t *req, size_t len, uint8_t *resp,
		      size_t *resp_len);
	/* The unprivileged process went away (or asked): undo everything. */
	void (*cleanup)(void *state);
};

/* The unprivileged side's handle on the helper. */
struct privsep;

/* Wraps a connected descriptor and the helper's pid. */
struct privsep *privsep_new(int fd, pid_t pid);
/* Closes the channel, which tells the helper to undo what it set up and
 * exit, and waits for it. */
void privsep_close(struct privsep *ps);
int privsep_fd(const struct privsep *ps);

/* Sends one request and waits for its reply: the helper's result (0 or
 * -errno), or -EPIPE/-ETIMEDOUT/-EPROTO when the channel failed. The reply
 * payload goes to `resp` (up to resp_max octets; *resp_len set when not
 * NULL). */
int privsep_call(struct privsep *ps, uint16_t type, const void *req, size_t len, void *resp,
		 size_t resp_max, size_t *resp_len);

/* Helper side: reads one request's payload into buf (up to `size` octets)
 * and its header into *h. 1 for a request, 0 at EOF (the unprivileged
 * process is gone), -errno on error (-EPROTO for a malformed message). */
int privsep_recv_request(int fd, struct privsep_hdr *h, uint8_t *buf, size_t size);
int privsep_send_reply(int fd, const struct privsep_hdr *req, int32_t rc, const void *payload,
		       size_t len);

/* In a freshly forked helper: keeps standard input, output and error and
 * `fd` (moved to descriptor 3, close-on-exec), closes every other
 * descriptor the parent had (the other helpers' channels among them) and
 * reopens syslog when that is where the log goes. Returns the new `fd`. */
int privsep_child_fds(int fd, const char *ident, int log_level);

#endif
