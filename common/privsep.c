/* The request channel between sixfourd and its privileged helper: see
 * privsep.h. */
#include "autoconf.h"
#include "common/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

_Static_assert(sizeof(struct privsep_hdr) == 8, "request header layout");
_Static_assert(sizeof(struct privsep_reply_hdr) == 12, "reply header layout");

struct privsep {
	int fd;
	pid_t pid;
	uint16_t seq;
	pthread_mutex_t lock;	/* one request in flight */
};

struct privsep *privsep_new(int fd, pid_t pid)
{
	struct privsep *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	*ps = (struct privsep){ .fd = fd, .pid = pid };
	pthread_mutex_init(&ps->lock, NULL);
	return ps;
}

int privsep_fd(const struct privsep *ps)
{
	return ps ? ps->fd : -1;
}

void privsep_close(struct privsep *ps)
{
	if (!ps)
		return;
	close(ps->fd);
	if (ps->pid > 0)
		while (waitpid(ps->pid, NULL, 0) < 0 && errno == EINTR)
			;
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}

/* One reply to request `seq`, waiting until `deadline`. Replies to earlier
 * requests that timed out are skipped. */
static int read_reply(struct privsep *ps, uint16_t seq, uint64_t deadline, void *resp,
		      size_t resp_max, size_t *resp_len)
{
	uint8_t buf[PRIVSEP_MAX_MSG];
	for (;;) {
		uint64_t now = monotonic_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = ps->fd, .events = POLLIN };
		int k = poll(&p, 1, (int)(deadline - now));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ETIMEDOUT;
		ssize_t n = recv(ps->fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;	/* the helper is gone */
		struct privsep_reply_hdr rh;
		if ((size_t)n < sizeof(rh) || (size_t)n > sizeof(buf))
			return -EPROTO;
		memcpy(&rh, buf, sizeof(rh));
		if (rh.seq != seq)
			continue;
		if (rh.len != (size_t)n - sizeof(rh) || rh.rc > 0 || rh.len > resp_max)
			return -EPROTO;
		if (rh.len)
			memcpy(resp, buf + sizeof(rh), rh.len);
		if (resp_len)
			*resp_len = rh.len;
		return rh.rc;
	}
}

int privsep_call(struct privsep *ps, uint16_t type, const void *req, size_t len, void *resp,
		 size_t resp_max, size_t *resp_len)
{
	if (!ps)
		return -ENOTCONN;
	if (len > PRIVSEP_MAX_MSG - sizeof(struct privsep_hdr))
		return -EMSGSIZE;
	pthread_mutex_lock(&ps->lock);
	struct privsep_hdr h = { .type = type, .seq = ++ps->seq, .len = (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)req, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	int rc = sendmsg(ps->fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
	if (rc == 0)
		rc = read_reply(ps, h.seq, monotonic_ms() + PRIVSEP_TIMEOUT_MS, resp, resp_max,
				resp_len);
	pthread_mutex_unlock(&ps->lock);
	return rc;
}

int privsep_recv_request(int fd, struct privsep_hdr *h, uint8_t *buf, size_t size)
{
	uint8_t msg[PRIVSEP_MAX_MSG];
	ssize_t n;
	do
		n = recv(fd, msg, sizeof(msg), MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(*h) || (size_t)n > sizeof(msg))
		return -EPROTO;
	memcpy(h, msg, sizeof(*h));
	size_t len = (size_t)n - sizeof(*h);
	if (h->len != len || len > size)
		return -EPROTO;
	memcpy(buf, msg + sizeof(*h), len);
	return 1;
}

int privsep_send_reply(int fd, const struct privsep_hdr *req, int32_t rc, const void *payload,
		       size_t len)
{
	if (len > PRIVSEP_MAX_MSG - sizeof(struct privsep_reply_hdr))
		return -EMSGSIZE;
	struct privsep_reply_hdr h = { .rc = rc, .seq = req->seq, .len = (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int privsep_child_fds(int fd, const char *ident, int log_level)
{
	closelog();
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			return -errno;
		close(fd);
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	if (close_range(4, ~0U, 0) < 0)
		for (int i = 4; i < 1024; i++)
			close(i);
	log_init(ident, log_to_stderr(), (enum log_level)log_level);
	return 3;
}
