/* DNS over UDP (recvmmsg/sendmmsg batches, replies from the address the
 * query came to; each worker thread reads its own SO_REUSEPORT sockets
 * with its own batch buffers) and TCP on the main loop (RFC 7766:
 * length-prefixed, pipelined, idle timeout, bounded connection count). ACL and rate limit are applied
 * here, before any parsing beyond what a reply needs. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/config.h"
#include "common/evloop.h"
#include "dns64/dns64_int.h"

#define UDP_BATCH 32
#define UDP_RX 4096		/* larger queries are not DNS queries we answer */
#define UDP_TX 4096		/* edns-size is at most 4096 */
#define UDP_ROUNDS 8		/* batches per readiness event, for fairness */
#define TCP_BACKLOG 128
#define TCP_MAX_OUT (1u << 20)	/* a reader this slow is closed */
#define TCP_MAX_PIPELINE 64	/* queries in flight per connection (RFC 7766 6.2.1.1) */
#define CMSG_ROOM (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)))
#define MAX_LISTEN 32

struct dns64_tcp_conn {
	struct dns64_tcp_conn *prev, *next;
	struct dns64_server *s;
	int fd;
	bool closed;
	unsigned refs;			/* pending queries + the reader */
	unsigned pending;		/* queries in flight */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint8_t *in;
	size_t inlen, incap;
	uint8_t *out;
	size_t outlen, outoff, outcap;
	uint32_t events;		/* what the loop watches for */
	bool parsing;
	struct ev_timer *idle;
	uint64_t last_ms;
};

struct udp_slot {
	struct sockaddr_storage addr;
	struct iovec iov;
	uint8_t cmsg[CMSG_ROOM];
};

struct dns64_server {
	struct dns64 *d;
	int tcp_fd[MAX_LISTEN];
	size_t ntcp;
	struct dns64_tcp_conn *conns;
	size_t nconns;
};

/* One thread's UDP batch: allocated once, reused for every round. */
struct dns64_udp {
	int batch_fd;			/* -1 = not batching */
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct udp_slot in_slot[UDP_BATCH], out_slot[UDP_BATCH];
	uint8_t inbuf[UDP_BATCH][UDP_RX];
	uint8_t outbuf[UDP_BATCH][UDP_TX];
	size_t nout;
};

static bool acl_allows(const struct dns64_conf *conf, const struct sockaddr *sa)
{
	for (size_t i = 0; i < conf->nallow; i++) {
		const struct cidr *c = &conf->allow[i];
		if (sa->sa_family == AF_INET6 && c->family == AF_INET6 &&
		    cidr_contains_v6(c, &((const struct sockaddr_in6 *)sa)->sin6_addr))
			return true;
		if (sa->sa_family == AF_INET && c->family == AF_INET &&
		    cidr_contains_v4(c, ((const struct sockaddr_in *)sa)->sin_addr))
			return true;
	}
	return false;
}

/* Refusals: header + question only, so the reply is never larger than the
 * query (no amplification). The rate limit and cookies come after the
 * full parse, in engine.c. */
static void refuse(struct dns64_io *io, const uint8_t *pkt, size_t len,
		   const struct dns64_client *cl)
{
	struct dns_query q;
	dns_query_parse(pkt, len, &q);
	if (!dns_query_replyable(&q)) {
		dns64_count(io, DNS64_C_drop_unreplyable);
		return;
	}
	struct dns_builder b;
	uint16_t flags = DNS_F_QR | (q.flags & (DNS_F_RD | DNS_F_CD | DNS_F_OPCODE)) | DNS_R_REFUSED;
	dnsb_init(&b, io->scratch, sizeof(io->scratch), q.id, flags);
	if (q.qname_len)
		dnsb_question(&b, q.qname, q.qname_len, q.qtype, q.qclass);
	size_t n = dnsb_finish(&b);
	if (n <= len)
		dns64_server_send(io, cl, io->scratch, n);
}

static bool admit(struct dns64_io *io, const uint8_t *pkt, size_t len,
		  const struct dns64_client *cl)
{
	if (!acl_allows(dns64_conf_get(io->d), (const struct sockaddr *)&cl->peer)) {
		dns64_count(io, DNS64_C_refused_acl);
		refuse(io, pkt, len, cl);
		return false;
	}
	return true;
}

/* --- UDP --- */

static void read_pktinfo(struct msghdr *mh, struct dns64_client *cl)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			memcpy(&cl->pi.v6, CMSG_DATA(c), sizeof(cl->pi.v6));
			cl->has_pktinfo = true;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			memcpy(&cl->pi.v4, CMSG_DATA(c), sizeof(cl->pi.v4));
			cl->has_pktinfo = true;
		}
	}
}

/* Sets up msg_control so the reply leaves from the query's destination. */
static void write_pktinfo(struct msghdr *mh, uint8_t *room, const struct dns64_client *cl)
{
	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (!cl->has_pktinfo)
		return;
	memset(room, 0, CMSG_ROOM);
	mh->msg_control = room;
	if (cl->peer.ss_family == AF_INET6) {
		mh->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
		struct cmsghdr *c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
		memcpy(CMSG_DATA(c), &cl->pi.v6, sizeof(cl->pi.v6));
	} else {
		mh->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
		struct cmsghdr *c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = { 0 };
		pi.ipi_spec_dst = cl->pi.v4.ipi_addr;
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}

static void udp_send_now(struct dns64_io *io, const struct dns64_client *cl,
			 const uint8_t *buf, size_t len)
{
	uint8_t room[CMSG_ROOM];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_name = (void *)&cl->peer, .msg_namelen = cl->peerlen,
			     .msg_iov = &iov, .msg_iovlen = 1 };
	write_pktinfo(&mh, room, cl);
	if (sendmsg(cl->fd, &mh, MSG_DONTWAIT) < 0)
		dns64_count(io, DNS64_C_drop_send_failed);
}

static void udp_flush(struct dns64_io *io)
{
	struct dns64_udp *s = io->udp;
	size_t done = 0;
	while (done < s->nout) {
		int n = sendmmsg(s->batch_fd, s->out + done, (unsigned)(s->nout - done), MSG_DONTWAIT);
		if (n <= 0) {
			/* Skip the message that failed and go on. */
			dns64_count(io, DNS64_C_drop_send_failed);
			done++;
			continue;
		}
		done += (size_t)n;
	}
	s->nout = 0;
}

static void udp_queue(struct dns64_io *io, const struct dns64_client *cl, const uint8_t *buf,
		      size_t len)
{
	struct dns64_udp *s = io->udp;
	if (!s || s->batch_fd != cl->fd || len > UDP_TX || s->nout == UDP_BATCH) {
		udp_send_now(io, cl, buf, len);
		return;
	}
	size_t i = s->nout++;
	struct udp_slot *sl = &s->out_slot[i];
	memcpy(s->outbuf[i], buf, len);
	memcpy(&sl->addr, &cl->peer, cl->peerlen);
	sl->iov.iov_base = s->outbuf[i];
	sl->iov.iov_len = len;
	struct msghdr *mh = &s->out[i].msg_hdr;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = &sl->addr;
	mh->msg_namelen = cl->peerlen;
	mh->msg_iov = &sl->iov;
	mh->msg_iovlen = 1;
	write_pktinfo(mh, sl->cmsg, cl);
}

struct dns64_udp *dns64_udp_new(void)
{
	struct dns64_udp *u = calloc(1, sizeof(*u));
	if (u)
		u->batch_fd = -1;
	return u;
}

void dns64_udp_free(struct dns64_udp *u)
{
	free(u);
}

void dns64_udp_read(struct dns64_io *io, int fd)
{
	struct dns64_udp *s = io->udp;
	for (int round = 0; round < UDP_ROUNDS; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			struct udp_slot *sl = &s->in_slot[i];
			sl->iov.iov_base = s->inbuf[i];
			sl->iov.iov_len = UDP_RX;
			struct msghdr *mh = &s->in[i].msg_hdr;
			mh->msg_name = &sl->addr;
			mh->msg_namelen = sizeof(sl->addr);
			mh->msg_iov = &sl->iov;
			mh->msg_iovlen = 1;
			mh->msg_control = sl->cmsg;
			mh->msg_controllen = sizeof(sl->cmsg);
			mh->msg_flags = 0;
		}
		int n = recvmmsg(fd, s->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		s->batch_fd = fd;
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &s->in[i].msg_hdr;
			dns64_count(io, DNS64_C_queries_udp);
			if (mh->msg_flags & MSG_TRUNC) {
				counter_inc(&io->wire_errors[DNS_E_TRUNC_RR], 1);
				dns64_count(io, DNS64_C_drop_unreplyable);
				continue;
			}
			struct dns64_client cl = { .transport = DNS64_UDP, .fd = fd };
			memcpy(&cl.peer, &s->in_slot[i].addr, sizeof(cl.peer));
			cl.peerlen = mh->msg_namelen;
			read_pktinfo(mh, &cl);
			if (admit(io, s->inbuf[i], s->in[i].msg_len, &cl))
				dns64_engine_query(io, s->inbuf[i], s->in[i].msg_len, &cl);
		}
		udp_flush(io);
		s->batch_fd = -1;
		if (n < UDP_BATCH)
			return;
	}
}

/* --- TCP --- */

static void conn_free(struct dns64_tcp_conn *c)
{
	struct dns64_server *s = c->s;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	ev_timer_free(c->idle);
	free(c->in);
	free(c->out);
	free(c);
}

static void conn_close(struct dns64_tcp_conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	evloop_del_fd(c->s->d->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	ev_timer_cancel(c->idle);
	if (c->refs == 0)
		conn_free(c);
}

static void conn_unref(struct dns64_tcp_conn *c)
{
	if (--c->refs == 0 && c->closed)
		conn_free(c);
}

static void conn_parse(struct dns64_tcp_conn *c);
static void conn_events(struct dns64_tcp_conn *c);

void dns64_client_hold(const struct dns64_client *cl)
{
	if (cl->transport == DNS64_TCP && cl->conn) {
		cl->conn->refs++;
		cl->conn->pending++;
	}
}

void dns64_client_release(struct dns64_io *io, const struct dns64_client *cl)
{
	struct dns64_tcp_conn *c = cl->transport == DNS64_TCP ? cl->conn : NULL;
	if (!c)
		return;
	c->pending--;
	/* A slot is free again: take the next buffered query, and read
	 * again if reading was paused. */
	if (!c->closed && !c->parsing) {
		c->refs++;
		conn_parse(c);
		if (!c->closed)
			conn_events(c);
		conn_unref(c);
	}
	conn_unref(c);
}

size_t dns64_server_tcp_count(const struct dns64_server *s)
{
	return s ? s->nconns : 0;
}

static void conn_touch(struct dns64_tcp_conn *c)
{
	c->last_ms = evloop_now_ms(c->s->d->loop);
	ev_timer_arm(c->idle, dns64_conf_get(c->s->d)->tcp_idle_ms);
}

static void conn_write(struct dns64_tcp_conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	conn_events(c);
}

/* Reads while the pipeline has room, writes while output waits. */
static void conn_events(struct dns64_tcp_conn *c)
{
	uint32_t ev = (c->pending < TCP_MAX_PIPELINE ? EPOLLIN : 0) | (c->outlen ? EPOLLOUT : 0);
	if (ev != c->events) {
		c->events = ev;
		evloop_mod_fd(c->s->d->loop, c->fd, ev);
	}
}

static void tcp_send(struct dns64_io *io, struct dns64_tcp_conn *c, const uint8_t *buf,
		     size_t len)
{
	if (c->closed)
		return;
	if (c->outlen + 2 + len > TCP_MAX_OUT) {
		dns64_count(io, DNS64_C_tcp_output_overflow);
		conn_close(c);
		return;
	}
	if (c->outlen + 2 + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		while (cap < c->outlen + 2 + len)
			cap *= 2;
		uint8_t *o = realloc(c->out, cap);
		if (!o) {
			dns64_count(io, DNS64_C_drop_no_memory);
			conn_close(c);
			return;
		}
		c->out = o;
		c->outcap = cap;
	}
	put_be16(c->out + c->outlen, (uint16_t)len);
	memcpy(c->out + c->outlen + 2, buf, len);
	c->outlen += 2 + len;
	conn_write(c);
	if (!c->closed)
		conn_touch(c);
}

void dns64_server_send(struct dns64_io *io, const struct dns64_client *cl, const uint8_t *buf,
		       size_t len)
{
	if (cl->transport == DNS64_TCP) {
		if (cl->conn)
			tcp_send(io, cl->conn, buf, len);
		return;
	}
	udp_queue(io, cl, buf, len);
}

/* Takes every complete message out of the input buffer (pipelining,
 * RFC 7766 6.2.1: answers may go out in any order). */
static void conn_parse(struct dns64_tcp_conn *c)
{
	struct dns64_io *io = c->s->d->main_io;
	size_t off = 0;
	c->parsing = true;
	while (!c->closed && c->inlen - off >= 2 && c->pending < TCP_MAX_PIPELINE) {
		size_t mlen = get_be16(c->in + off);
		if (mlen < DNS_HDR_LEN) {
			dns64_count(io, DNS64_C_tcp_bad_length);
			conn_close(c);
			break;
		}
		if (c->inlen - off - 2 < mlen)
			break;
		struct dns64_client cl = { .transport = DNS64_TCP, .fd = c->fd, .conn = c };
		memcpy(&cl.peer, &c->peer, sizeof(cl.peer));
		cl.peerlen = c->peerlen;
		dns64_count(io, DNS64_C_queries_tcp);
		dns64_engine_query(io, c->in + off + 2, mlen, &cl);
		off += 2 + mlen;
	}
	if (off && !c->closed) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	c->parsing = false;
}

static void on_conn(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct dns64_tcp_conn *c = arg;
	c->refs++;	/* the connection outlives this call even if closed */
	if (events & EPOLLOUT)
		conn_write(c);
	if (!c->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		while (c->pending < TCP_MAX_PIPELINE) {
			if (c->inlen == c->incap) {
				/* Room for the largest message and its length. */
				size_t cap = c->incap ? c->incap * 2 : 1024;
				if (cap > 2 + DNS_MAX_MSG + 1024)
					cap = 2 + DNS_MAX_MSG + 1024;
				if (cap == c->incap)
					break;
				uint8_t *in = realloc(c->in, cap);
				if (!in) {
					conn_close(c);
					break;
				}
				c->in = in;
				c->incap = cap;
			}
			ssize_t n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
				       errno != EINTR)) {
				conn_close(c);
				break;
			}
			if (n < 0)
				break;
			c->inlen += (size_t)n;
			conn_touch(c);
			conn_parse(c);
			if (c->closed)
				break;
		}
		if (!c->closed)
			conn_events(c);
	}
	conn_unref(c);
}

static void on_idle(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct dns64_tcp_conn *c = arg;
	/* RFC 7766 6.2.3: close idle connections; keep ones with answers
	 * still to come. */
	if (c->refs > 0 || c->outlen > 0) {
		ev_timer_arm(c->idle, dns64_conf_get(c->s->d)->tcp_idle_ms);
		return;
	}
	dns64_count(c->s->d->main_io, DNS64_C_tcp_closed_idle);
	conn_close(c);
}

/* When full, the connection idle the longest makes room (RFC 7766 6.2.3). */
static bool make_room(struct dns64_server *s)
{
	struct dns64_tcp_conn *oldest = NULL;
	for (struct dns64_tcp_conn *c = s->conns; c; c = c->next)
		if (!c->closed && c->refs == 0 && c->outlen == 0 &&
		    (!oldest || c->last_ms < oldest->last_ms))
			oldest = c;
	if (!oldest)
		return false;
	dns64_count(s->d->main_io, DNS64_C_tcp_evicted);
	conn_close(oldest);
	return true;
}

static void on_accept(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct dns64_server *s = arg;
	struct dns64 *d = s->d;
	struct dns64_io *io = d->main_io;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int cfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		if (!acl_allows(dns64_conf_get(d), (struct sockaddr *)&peer)) {
			dns64_count(io, DNS64_C_refused_acl);
			close(cfd);
			continue;
		}
		size_t live = 0;
		for (struct dns64_tcp_conn *c = s->conns; c; c = c->next)
			live += !c->closed;
		if (live >= dns64_conf_get(d)->tcp_max_connections && !make_room(s)) {
			dns64_count(io, DNS64_C_tcp_refused_full);
			close(cfd);
			continue;
		}
		struct dns64_tcp_conn *c = calloc(1, sizeof(*c));
		if (!c || !(c->idle = ev_timer_new(loop, on_idle, c))) {
			free(c);
			close(cfd);
			dns64_count(io, DNS64_C_drop_no_memory);
			continue;
		}
		int one = 1;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->s = s;
		c->fd = cfd;
		c->peer = peer;
		c->peerlen = plen;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		c->events = EPOLLIN;
		if (evloop_add_fd(loop, cfd, EPOLLIN, on_conn, c) != 0) {
			conn_close(c);
			continue;
		}
		dns64_count(io, DNS64_C_tcp_accepted);
		conn_touch(c);
	}
}

/* --- sockets --- */

static int open_socket(const struct endpoint *ep, int type, char *err, size_t errlen)
{
	char name[INET6_ADDRSTRLEN + 16];
	endpoint_format(ep, name, sizeof(name));
	int fam = ep->ss.ss_family;
	int fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* One UDP socket per worker shares the port; the kernel spreads
	 * clients over them by their addresses and ports. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (fam == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (type == SOCK_DGRAM) {
		int rc = fam == AF_INET6 ?
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) :
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		if (rc < 0)
			goto fail;
		int buf = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	}
	/* The lab binds addresses that may still be arriving. */
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ep->ss, ep->len) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, TCP_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s %s: %s", type == SOCK_DGRAM ? "udp" : "tcp", name,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int dns64_udp_open(const struct endpoint *ep, char *err, size_t errlen)
{
	return open_socket(ep, SOCK_DGRAM, err, errlen);
}

struct dns64_server *dns64_server_new(struct dns64 *d, const struct sixfour_config *cfg,
				      char *err, size_t errlen)
{
	struct dns64_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->d = d;
	d->server = s;
	const struct endpoint_list *l = &cfg->dns64.listen;
	if (l->n > MAX_LISTEN) {
		snprintf(err, errlen, "at most %d listen addresses", MAX_LISTEN);
		goto fail;
	}
	for (size_t i = 0; i < l->n; i++) {
		int t = open_socket(&l->v[i], SOCK_STREAM, err, errlen);
		if (t < 0)
			goto fail;
		s->tcp_fd[s->ntcp++] = t;
		if (evloop_add_fd(d->loop, t, EPOLLIN, on_accept, s) != 0) {
			snprintf(err, errlen, "cannot watch the DNS sockets");
			goto fail;
		}
	}
	return s;
fail:
	dns64_server_free(s);
	d->server = NULL;
	return NULL;
}

void dns64_server_free(struct dns64_server *s)
{
	if (!s)
		return;
	struct dns64 *d = s->d;
	while (s->conns) {
		struct dns64_tcp_conn *c = s->conns;
		if (!c->closed) {
			evloop_del_fd(d->loop, c->fd);
			close(c->fd);
		}
		conn_free(c);
	}
	for (size_t i = 0; i < s->ntcp; i++) {
		evloop_del_fd(d->loop, s->tcp_fd[i]);
		close(s->tcp_fd[i]);
	}
	free(s);
}
