/* DNS over TCP on the main loop (RFC 7766: length-prefixed, pipelined,
 * answers in any order), bounded for a public address:
 *  - connections: tcp-max-connections in all (the one idle longest makes
 *    room), tcp-max-per-client per client prefix;
 *  - time: a query must arrive whole within tcp-query-deadline of its
 *    first octet (a slowloris sending one octet at a time is closed, each
 *    octet no longer resets a timer); output must make progress within
 *    tcp-idle-timeout (a client that does not read is closed); an idle
 *    connection is closed after tcp-idle-timeout (6.2.3);
 *  - memory: output waiting for a client is bounded by tcp-output-budget
 *    over all connections; a connection whose output is not drained is
 *    not read (back-pressure), and when the budget is reached the
 *    connection holding the most output is closed; queries over 4096
 *    octets are not queries we answer (the connection is closed);
 *  - rate: TCP queries count against the rate limit (engine.c).
 * One timer per connection, armed for its next deadline. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/config.h"
#include "common/evloop.h"
#include "common/util.h"
#include "dns64/dns64_int.h"

#define TCP_MAX_QUERY 4096	/* as over UDP */
#define TCP_MAX_PIPELINE 64	/* queries in flight per connection (RFC 7766 6.2.1.1) */
#define TCP_READ_PAUSE 16384	/* output waiting: stop reading queries */
#define TCP_KEEP_CAP 65536	/* a drained output buffer above this is given back */
#define MAX_LISTEN 32

struct dns64_tcp_conn {
	struct dns64_tcp_conn *prev, *next;
	struct dns64_server *s;
	int fd;
	bool closed;
	bool parsing;
	unsigned refs;			/* pending queries + the reader */
	unsigned pending;		/* queries in flight */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint8_t *in;
	size_t inlen, incap;
	uint8_t *out;
	size_t outlen, outoff, outcap;
	uint32_t events;		/* what the loop watches for */
	struct ev_timer *timer;		/* the next deadline */
	uint64_t active_ms;		/* last query done or output written */
	uint64_t msg_start_ms;		/* first octet of the partial query; 0 = none */
	uint64_t out_since_ms;		/* output waiting without progress since */
};

struct dns64_server {
	struct dns64 *d;
	int tcp_fd[MAX_LISTEN];
	size_t ntcp;
	struct dns64_tcp_conn *conns;
	size_t nconns;			/* in the list, closed or not */
	size_t live;			/* not closed */
	size_t out_total;		/* output octets waiting, all connections */
	bool over_budget;		/* reading is paused everywhere */
};

static uint64_t now_ms(const struct dns64_tcp_conn *c)
{
	return evloop_now_ms(c->s->d->loop);
}

static void conn_free(struct dns64_tcp_conn *c)
{
	struct dns64_server *s = c->s;
	DLIST_UNLINK(s->conns, c);
	s->nconns--;
	ev_timer_free(c->timer);
	free(c->in);
	free(c->out);
	free(c);
}

static void resume_all(struct dns64_server *s);

static void conn_close(struct dns64_tcp_conn *c, enum dns64_counter why)
{
	if (c->closed)
		return;
	struct dns64_server *s = c->s;
	dns64_count(s->d->main_io, why);
	c->closed = true;
	s->live--;
	s->out_total -= c->outlen - c->outoff;
	c->outlen = c->outoff = 0;
	evloop_close_fd(s->d->loop, &c->fd);
	ev_timer_cancel(c->timer);
	if (c->refs == 0)
		conn_free(c);
	resume_all(s);
}

static void conn_unref(struct dns64_tcp_conn *c)
{
	if (--c->refs == 0 && c->closed)
		conn_free(c);
}

static void conn_parse(struct dns64_tcp_conn *c);
static void conn_events(struct dns64_tcp_conn *c);
static void conn_deadline(struct dns64_tcp_conn *c);

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
		c->active_ms = now_ms(c);
		c->refs++;
		conn_parse(c);
		if (!c->closed) {
			conn_events(c);
			conn_deadline(c);
		}
		conn_unref(c);
	}
	conn_unref(c);
}

size_t dns64_server_tcp_count(const struct dns64_server *s)
{
	return s ? s->live : 0;
}

/* Reads while the pipeline has room and output is drained (back-pressure),
 * and not at all while the output budget is spent; writes while output
 * waits. */
static void conn_events(struct dns64_tcp_conn *c)
{
	bool read = c->pending < TCP_MAX_PIPELINE && c->outlen - c->outoff < TCP_READ_PAUSE &&
		    !c->s->over_budget;
	uint32_t ev = (read ? EPOLLIN : 0) | (c->outlen > c->outoff ? EPOLLOUT : 0);
	/* While we do not read, a partial query is not the client's delay:
	 * its deadline starts again when reading does. */
	if (read && !(c->events & EPOLLIN) && c->msg_start_ms)
		c->msg_start_ms = now_ms(c);
	if (ev != c->events) {
		c->events = ev;
		evloop_mod_fd(c->s->d->loop, c->fd, ev);
	}
}

/* Queries already buffered while reading was paused are taken from the
 * connection's timer, on the next round: never from inside another
 * connection's call chain. */
static bool has_query(const struct dns64_tcp_conn *c)
{
	return c->inlen >= 2 && c->inlen - 2 >= get_be16(c->in);
}

static void parse_later(struct dns64_tcp_conn *c)
{
	if (has_query(c))
		ev_timer_arm(c->timer, 0);
}

/* Once the budget has room again, every connection may read again. */
static void resume_all(struct dns64_server *s)
{
	if (!s->over_budget || s->out_total >= dns64_conf_get(s->d)->tcp_output_budget / 2)
		return;
	s->over_budget = false;
	for (struct dns64_tcp_conn *c = s->conns; c; c = c->next)
		if (!c->closed) {
			conn_events(c);
			parse_later(c);
		}
}

/* The earliest of: the partial query's deadline, output without progress,
 * idleness. Queries in flight are bounded by query-timeout (engine.c). */
static void conn_deadline(struct dns64_tcp_conn *c)
{
	const struct dns64_conf *conf = dns64_conf_get(c->s->d);
	uint64_t at = UINT64_MAX;
	if (has_query(c) && (c->events & EPOLLIN) && !c->parsing) {
		ev_timer_arm(c->timer, 0);	/* buffered while paused */
		return;
	}
	if (c->msg_start_ms && (c->events & EPOLLIN))
		at = MIN(at, c->msg_start_ms + conf->tcp_query_deadline_ms);
	if (c->outlen > c->outoff)
		at = MIN(at, c->out_since_ms + conf->tcp_idle_ms);
	else if (!c->pending && (!c->msg_start_ms || !(c->events & EPOLLIN)))
		at = MIN(at, c->active_ms + conf->tcp_idle_ms);
	if (at == UINT64_MAX) {
		ev_timer_cancel(c->timer);
		return;
	}
	uint64_t now = now_ms(c);
	ev_timer_arm(c->timer, at > now ? at - now : 0);
}

static void on_deadline(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct dns64_tcp_conn *c = arg;
	const struct dns64_conf *conf = dns64_conf_get(c->s->d);
	if (has_query(c) && (c->events & EPOLLIN)) {
		c->refs++;
		conn_parse(c);
		bool closed = c->closed;
		conn_unref(c);
		if (closed)
			return;
		conn_events(c);
	}
	uint64_t now = now_ms(c);
	if (c->msg_start_ms && (c->events & EPOLLIN) &&
	    now >= c->msg_start_ms + conf->tcp_query_deadline_ms) {
		conn_close(c, DNS64_C_tcp_closed_slow);
		return;
	}
	if (c->outlen > c->outoff && now >= c->out_since_ms + conf->tcp_idle_ms) {
		conn_close(c, DNS64_C_tcp_closed_unread);
		return;
	}
	/* RFC 7766 6.2.3: close idle connections, keep ones with answers
	 * still to come. */
	if (!c->pending && (!c->msg_start_ms || !(c->events & EPOLLIN)) && c->outlen == c->outoff &&
	    now >= c->active_ms + conf->tcp_idle_ms) {
		conn_close(c, DNS64_C_tcp_closed_idle);
		return;
	}
	conn_deadline(c);
}

static void conn_write(struct dns64_tcp_conn *c)
{
	struct dns64_server *s = c->s;
	bool progress = false;
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c, DNS64_C_tcp_closed_error);
			return;
		}
		c->outoff += (size_t)n;
		s->out_total -= (size_t)n;
		progress = true;
	}
	if (progress) {
		c->out_since_ms = c->active_ms = now_ms(c);
		resume_all(s);
		parse_later(c);
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->outcap > TCP_KEEP_CAP) {
			free(c->out);
			c->out = NULL;
			c->outcap = 0;
		}
	}
	conn_events(c);
	conn_deadline(c);
}

/* The output budget is spent: the connection holding the most unread
 * output goes (the client that reads least), until `need` octets fit. */
static void make_output_room(struct dns64_server *s, size_t need)
{
	size_t budget = dns64_conf_get(s->d)->tcp_output_budget;
	while (s->out_total + need > budget) {
		struct dns64_tcp_conn *worst = NULL;
		for (struct dns64_tcp_conn *c = s->conns; c; c = c->next)
			if (!c->closed && (!worst || c->outlen - c->outoff > worst->outlen - worst->outoff))
				worst = c;
		if (!worst || worst->outlen == worst->outoff)
			return;
		conn_close(worst, DNS64_C_tcp_closed_budget);
	}
}

void dns64_tcp_send(struct dns64_io *io, struct dns64_tcp_conn *c, const uint8_t *buf,
		    size_t len)
{
	struct dns64_server *s = c->s;
	if (c->closed)
		return;
	make_output_room(s, 2 + len);
	if (c->closed)
		return;
	if (c->outoff && c->outlen + 2 + len > c->outcap) {
		/* Unsent output to the front first. */
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + 2 + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		while (cap < c->outlen + 2 + len)
			cap *= 2;
		uint8_t *o = realloc(c->out, cap);
		if (!o) {
			dns64_count(io, DNS64_C_drop_no_memory);
			conn_close(c, DNS64_C_tcp_closed_error);
			return;
		}
		c->out = o;
		c->outcap = cap;
	}
	if (c->outlen == c->outoff)
		c->out_since_ms = now_ms(c);
	put_be16(c->out + c->outlen, (uint16_t)len);
	memcpy(c->out + c->outlen + 2, buf, len);
	c->outlen += 2 + len;
	s->out_total += 2 + len;
	if (s->out_total >= dns64_conf_get(s->d)->tcp_output_budget && !s->over_budget) {
		/* Back-pressure everywhere until half of it has drained. */
		s->over_budget = true;
		for (struct dns64_tcp_conn *o = s->conns; o; o = o->next)
			if (!o->closed)
				conn_events(o);
	}
	conn_write(c);
}

/* Takes every complete message out of the input buffer (pipelining,
 * RFC 7766 6.2.1: answers may go out in any order). */
static void conn_parse(struct dns64_tcp_conn *c)
{
	struct dns64_io *io = c->s->d->main_io;
	size_t off = 0;
	c->parsing = true;
	while (!c->closed && c->inlen - off >= 2 && c->pending < TCP_MAX_PIPELINE &&
	       c->outlen - c->outoff < TCP_READ_PAUSE) {
		size_t mlen = get_be16(c->in + off);
		if (mlen < DNS_HDR_LEN || mlen > TCP_MAX_QUERY) {
			conn_close(c, DNS64_C_tcp_bad_length);
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
		c->active_ms = now_ms(c);
	}
	if (!c->closed) {
		if (off) {
			memmove(c->in, c->in + off, c->inlen - off);
			c->inlen -= off;
		}
		/* The deadline runs from the first octet of a query, whatever
		 * comes after it. */
		if (!c->inlen)
			c->msg_start_ms = 0;
		else if (off || !c->msg_start_ms)
			c->msg_start_ms = now_ms(c);
	}
	c->parsing = false;
}

static void on_conn(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct dns64_tcp_conn *c = arg;
	c->refs++;	/* the connection outlives this call even if closed */
	if (events & EPOLLOUT)
		conn_write(c);
	/* Not reading, so an error or a hang-up is all that can come: the
	 * peer is gone (level-triggered, it would come again and again). */
	if (!c->closed && (events & (EPOLLERR | EPOLLHUP)) && !(c->events & EPOLLIN))
		conn_close(c, DNS64_C_tcp_closed_peer);
	if (!c->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->events & EPOLLIN)) {
		/* Room for the largest query we take and its length. */
		if (!c->in && !(c->in = malloc(c->incap = 2 * (2 + TCP_MAX_QUERY)))) {
			dns64_count(c->s->d->main_io, DNS64_C_drop_no_memory);
			conn_close(c, DNS64_C_tcp_closed_error);
		}
		while (!c->closed && c->inlen < c->incap && (c->events & EPOLLIN)) {
			ssize_t n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
				       errno != EINTR)) {
				conn_close(c, n == 0 ? DNS64_C_tcp_closed_peer : DNS64_C_tcp_closed_error);
				break;
			}
			if (n < 0)
				break;
			c->inlen += (size_t)n;
			conn_parse(c);
			if (!c->closed)
				conn_events(c);
		}
		if (!c->closed) {
			conn_events(c);
			conn_deadline(c);
		}
	}
	conn_unref(c);
}

/* When full, the connection idle the longest makes room (RFC 7766 6.2.3);
 * one with a partial query counts as idle (it has nothing in flight). */
static bool make_room(struct dns64_server *s)
{
	struct dns64_tcp_conn *oldest = NULL;
	for (struct dns64_tcp_conn *c = s->conns; c; c = c->next)
		if (!c->closed && c->refs == 0 && c->outlen == c->outoff &&
		    (!oldest || c->active_ms < oldest->active_ms))
			oldest = c;
	if (!oldest)
		return false;
	conn_close(oldest, DNS64_C_tcp_evicted);
	return true;
}

static size_t client_conns(struct dns64_server *s, const struct sockaddr *peer)
{
	const struct dns64_rl_policy *pol = &dns64_conf_get(s->d)->rl;
	size_t n = 0;
	for (struct dns64_tcp_conn *c = s->conns; c; c = c->next)
		n += !c->closed && dns64_rl_same_client(pol, (struct sockaddr *)&c->peer, peer);
	return n;
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
		const struct dns64_conf *conf = dns64_conf_get(d);
		if (!dns64_acl_allows(conf, (struct sockaddr *)&peer)) {
			dns64_count(io, DNS64_C_refused_acl);
			close(cfd);
			continue;
		}
		if (client_conns(s, (struct sockaddr *)&peer) >= conf->tcp_max_per_client) {
			dns64_count(io, DNS64_C_tcp_refused_client);
			close(cfd);
			continue;
		}
		if (s->live >= conf->tcp_max_connections && !make_room(s)) {
			dns64_count(io, DNS64_C_tcp_refused_full);
			close(cfd);
			continue;
		}
		struct dns64_tcp_conn *c = calloc(1, sizeof(*c));
		if (!c || !(c->timer = ev_timer_new(loop, on_deadline, c))) {
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
		DLIST_PUSH_FRONT(s->conns, c);
		s->nconns++;
		s->live++;
		c->active_ms = evloop_now_ms(loop);
		c->events = s->over_budget ? 0 : EPOLLIN;
		if (evloop_add_fd(loop, cfd, c->events, on_conn, c) != 0) {
			conn_close(c, DNS64_C_tcp_closed_error);
			continue;
		}
		dns64_count(io, DNS64_C_tcp_accepted);
		conn_deadline(c);
	}
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
		int t = dns64_socket_open(&l->v[i], SOCK_STREAM, err, errlen);
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
		if (!c->closed)
			evloop_close_fd(d->loop, &c->fd);
		conn_free(c);
	}
	for (size_t i = 0; i < s->ntcp; i++)
		evloop_close_fd(d->loop, &s->tcp_fd[i]);
	free(s);
}
