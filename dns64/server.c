/* DNS over UDP: recvmmsg/sendmmsg batches, replies from the address the
 * query came to; each worker thread reads its own SO_REUSEPORT sockets
 * with its own batch buffers. The ACL is applied here, before any parsing
 * beyond what a reply needs. Also the sockets for both transports; TCP
 * connections are tcp.c's. */
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
#define CMSG_ROOM (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)))

struct udp_slot {
	struct sockaddr_storage addr;
	struct iovec iov;
	uint8_t cmsg[CMSG_ROOM];
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

bool dns64_acl_allows(const struct dns64_conf *conf, const struct sockaddr *sa)
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
	if (!dns64_acl_allows(dns64_conf_get(io->d), (const struct sockaddr *)&cl->peer)) {
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

void dns64_server_send(struct dns64_io *io, const struct dns64_client *cl, const uint8_t *buf,
		       size_t len)
{
	if (cl->transport == DNS64_TCP) {
		if (cl->conn)
			dns64_tcp_send(io, cl->conn, buf, len);
		return;
	}
	udp_queue(io, cl, buf, len);
}

/* --- sockets --- */

int dns64_socket_open(const struct endpoint *ep, int type, char *err, size_t errlen)
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
	return dns64_socket_open(ep, SOCK_DGRAM, err, errlen);
}
