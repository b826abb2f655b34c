#include "autoconf.h"
#include "appliance/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/util.h"

#define METRICS_MAX_LISTEN 8
#define METRICS_MAX_CLIENTS 16
#define METRICS_MAX_REQUEST 2048
#define METRICS_CLIENT_TIMEOUT_MS 2000

/* What became of each connection: one counter per outcome. */
#define METRICS_HTTP_COUNTERS(X) \
	X(SERVED, "Requests answered with the metrics.") \
	X(NOT_FOUND, "Requests for another path, answered 404.") \
	X(REFUSED, "Connections closed at once because every client slot was busy.") \
	X(OVERSIZED, "Requests longer than the request buffer, closed unanswered.") \
	X(TIMED_OUT, "Clients that did not finish their request in time, closed unanswered.")

enum metrics_http_counter {
#define X(name, help) METRICS_HTTP_##name,
	METRICS_HTTP_COUNTERS(X)
#undef X
	METRICS_HTTP__COUNT
};
static const struct counter_desc metrics_http_desc[] = { METRICS_HTTP_COUNTERS(COUNTER_DESC) };

struct metrics_client {
	int fd;
	size_t len;
	uint64_t started;
	char req[METRICS_MAX_REQUEST];
};

struct metrics_server {
	struct evloop *loop;
	int listen_fd[METRICS_MAX_LISTEN];
	size_t nlisten;
	struct metrics_client clients[METRICS_MAX_CLIENTS];
	struct ev_timer *reaper;
	metrics_collect_fn collect;
	void *arg;
	uint64_t counters[METRICS_HTTP__COUNT];	/* main loop only */
};

static void client_close(struct metrics_server *srv, struct metrics_client *c)
{
	evloop_close_fd(srv->loop, &c->fd);
}

static void respond(struct metrics_server *srv, struct metrics_client *c)
{
	struct ctl_out body = { 0 };
	const char *status = "200 OK";
	if (strncmp(c->req, "GET /metrics ", 13) == 0 || strncmp(c->req, "GET / ", 6) == 0) {
		counter_inc(&srv->counters[METRICS_HTTP_SERVED], 1);
		srv->collect(srv->arg, &body);
	} else {
		counter_inc(&srv->counters[METRICS_HTTP_NOT_FOUND], 1);
		status = "404 Not Found";
		ctl_printf(&body, "metrics are at /metrics\n");
	}
	char head[160];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, body.len);
	/* The socket is blocking with a send timeout: a slow reader costs at
	 * most that, and the answer is a few kilobytes. */
	if (send(c->fd, head, (size_t)hl, MSG_NOSIGNAL) == hl && body.len)
		(void)!send(c->fd, body.buf, body.len, MSG_NOSIGNAL);
	free(body.buf);
	client_close(srv, c);
}

static void client_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct metrics_server *srv = arg;
	struct metrics_client *c = NULL;
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (srv->clients[i].fd == fd)
			c = &srv->clients[i];
	if (!c)
		return;
	ssize_t n = recv(fd, c->req + c->len, sizeof(c->req) - 1 - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(srv, c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		respond(srv, c);
	else if (c->len == sizeof(c->req) - 1) {
		counter_inc(&srv->counters[METRICS_HTTP_OVERSIZED], 1);
		client_close(srv, c);	/* no answer */
	}
}

static void accept_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct metrics_server *srv = arg;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	struct metrics_client *slot = NULL;
	for (size_t i = 0; i < METRICS_MAX_CLIENTS && !slot; i++)
		if (srv->clients[i].fd < 0)
			slot = &srv->clients[i];
	if (!slot) {
		counter_inc(&srv->counters[METRICS_HTTP_REFUSED], 1);
		close(c);	/* bounded: scrapers are few */
		return;
	}
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	slot->fd = c;
	slot->len = 0;
	slot->started = evloop_now_ms(loop);
	if (evloop_add_fd(loop, c, EPOLLIN, client_ready, srv) != 0) {
		close(c);
		slot->fd = -1;
		return;
	}
	if (!ev_timer_armed(srv->reaper))
		ev_timer_arm(srv->reaper, METRICS_CLIENT_TIMEOUT_MS);
}

/* Closes clients that did not finish their request in time. */
static void reap(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct metrics_server *srv = arg;
	bool any = false;
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++) {
		struct metrics_client *c = &srv->clients[i];
		if (c->fd < 0)
			continue;
		if (evloop_now_ms(loop) - c->started >= METRICS_CLIENT_TIMEOUT_MS) {
			counter_inc(&srv->counters[METRICS_HTTP_TIMED_OUT], 1);
			client_close(srv, c);
		} else
			any = true;
	}
	if (any)
		ev_timer_arm(t, METRICS_CLIENT_TIMEOUT_MS);
}

struct metrics_server *metrics_server_new(struct evloop *loop,
					  const struct endpoint_list *addrs,
					  metrics_collect_fn collect, void *arg)
{
	struct metrics_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	*srv = (struct metrics_server){ .loop = loop, .collect = collect, .arg = arg };
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++)
		srv->clients[i].fd = -1;
	srv->reaper = ev_timer_new(loop, reap, srv);
	for (size_t i = 0; i < addrs->n && i < METRICS_MAX_LISTEN; i++) {
		const struct endpoint *ep = &addrs->v[i];
		char name[64];
		endpoint_format(ep, name, sizeof(name));
		int fd = socket(ep->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ep->ss.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		}
		if (fd < 0 || bind(fd, (const struct sockaddr *)&ep->ss, ep->len) < 0 ||
		    listen(fd, 16) < 0 || evloop_add_fd(loop, fd, EPOLLIN, accept_ready, srv) != 0) {
			log_err("metrics: cannot listen on %s: %s", name, strerror(errno));
			if (fd >= 0)
				close(fd);
			metrics_server_free(srv);
			return NULL;
		}
		srv->listen_fd[srv->nlisten++] = fd;
		log_info("metrics on http://%s/metrics", name);
	}
	return srv;
}

void metrics_server_emit(const struct metrics_server *srv, struct ctl_out *out)
{
	const struct counter_group g = {
		.key = "metrics_requests", .metric = "metrics_requests",
		.help = "Connections to the metrics endpoint, by outcome.", .label = "result",
		.kind = COUNTER_TOTAL, .desc = metrics_http_desc, .n = METRICS_HTTP__COUNT,
		.values = srv->counters,
	};
	counters_emit(out, COUNTERS_PROMETHEUS, &g, 1, NULL);
}

void metrics_server_free(struct metrics_server *srv)
{
	if (!srv)
		return;
	for (size_t i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (srv->clients[i].fd >= 0)
			client_close(srv, &srv->clients[i]);
	for (size_t i = 0; i < srv->nlisten; i++)
		evloop_close_fd(srv->loop, &srv->listen_fd[i]);
	ev_timer_free(srv->reaper);
	free(srv);
}
