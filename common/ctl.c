/* The control socket: sixfourctl's requests on the main loop, which must
 * never wait for a control client (ARCHITECTURE.md, "Threads"): accept and
 * reads are non-blocking, a request is handled when its one message has
 * arrived, the reply is sent as far as the socket takes it and the rest
 * when it becomes writable, and every connection has a deadline from its
 * accept. So idle or slow control clients (up to CTL_MAX_CONNS at once,
 * the oldest closed for a newer one) delay neither DNS nor reloads. */
#include "autoconf.h"
#include "common/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/log.h"
#include "common/util.h"

/* Clients that may be connected at once, and how long one may take. */
#define CTL_MAX_CONNS 64
#define CTL_DEADLINE_MS 10000

struct ctl_conn {
	struct ctl_server *srv;
	struct ctl_conn *prev, *next;
	int fd;
	struct ev_timer *deadline;
	/* The reply: messages of header + text, sent one per send(). */
	struct ctl_out out;
	int status;
	size_t sent;			/* text octets sent so far */
	bool replying;
};

struct ctl_server {
	struct evloop *loop;
	int fd;
	char *path;
	const struct ctl_command *cmds;
	void *const *cmd_ctx;
	void *ctx;
	struct ctl_conn *conns;		/* newest first */
	size_t nconns;
};

void ctl_printf(struct ctl_out *out, const char *fmt, ...)
{
	if (out->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = out->cap - out->len;
		int n = vsnprintf(out->buf ? out->buf + out->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			out->failed = true;
			return;
		}
		if ((size_t)n < room) {
			out->len += (size_t)n;
			return;
		}
		size_t cap = out->cap ? out->cap * 2 : 4096;
		while (cap < out->len + (size_t)n + 1)
			cap *= 2;
		char *nb = realloc(out->buf, cap);
		if (!nb) {
			out->failed = true;
			return;
		}
		out->buf = nb;
		out->cap = cap;
	}
}

void ctl_json_str(struct ctl_out *out, const char *s)
{
	ctl_printf(out, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			ctl_printf(out, "\\%c", c);
		else if (c < 0x20)
			ctl_printf(out, "\\u%04x", c);
		else
			ctl_printf(out, "%c", c);
	}
	ctl_printf(out, "\"");
}

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (!strlcpy_ok(dir, path, sizeof(dir)))
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void conn_free(struct ctl_conn *c)
{
	struct ctl_server *srv = c->srv;
	DLIST_UNLINK(srv->conns, c);
	srv->nconns--;
	evloop_close_fd(srv->loop, &c->fd);
	ev_timer_free(c->deadline);
	free(c->out.buf);
	free(c);
}

/* Sends what the socket takes of the reply (one message per chunk): true
 * when it is all out, or the connection is gone. */
static bool send_reply(struct ctl_conn *c)
{
	char msg[sizeof(struct ctl_reply_hdr) + CTL_CHUNK];
	do {
		size_t n = MIN(c->out.len - c->sent, (size_t)CTL_CHUNK);
		struct ctl_reply_hdr h = { .version = CTL_VERSION, .status = c->status };
		if (c->sent + n < c->out.len)
			h.flags |= CTL_MORE;
		memcpy(msg, &h, sizeof(h));
		if (n)
			memcpy(msg + sizeof(h), c->out.buf + c->sent, n);
		if (send(c->fd, msg, sizeof(h) + n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK;
		c->sent += n;
	} while (c->sent < c->out.len);
	return true;
}

/* Runs the request in `req` (one message of `n` octets) into c->out. */
static void handle_request(struct ctl_conn *conn, char *req, ssize_t n)
{
	struct ctl_server *srv = conn->srv;
	struct ctl_out out = { 0 };
	int status = 2;
	char *argv[CTL_MAX_ARGS + 1];
	struct ctl_req_hdr h;
	if (n < (ssize_t)sizeof(h)) {
		ctl_printf(&out, "malformed request\n");
		goto reply;
	}
	memcpy(&h, req, sizeof(h));
	req[n] = '\0';
	if (h.version != CTL_VERSION || h.argc == 0 || h.argc > CTL_MAX_ARGS) {
		ctl_printf(&out, "unsupported request (version %u, %u arguments)\n", h.version,
			   h.argc);
		goto reply;
	}
	char *p = req + sizeof(h), *end = req + n;
	for (unsigned i = 0; i < h.argc; i++) {
		if (p >= end) {
			ctl_printf(&out, "malformed request: arguments cut short\n");
			goto reply;
		}
		argv[i] = p;
		p += strlen(p) + 1;
	}
	argv[h.argc] = NULL;
	out.json = h.flags & CTL_JSON;
	/* Several subsystems may share a command name; each takes what is its
	 * own and passes the rest on (CTL_PASS). */
	bool known = false;
	status = CTL_PASS;
	for (const struct ctl_command *c = srv->cmds; c->name && status == CTL_PASS; c++) {
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		known = true;
		out.len = 0;
		void *ctx = srv->cmd_ctx && srv->cmd_ctx[c - srv->cmds] ? srv->cmd_ctx[c - srv->cmds]
									 : srv->ctx;
		status = c->fn(ctx, (int)h.argc, argv, &out);
	}
	if (!known) {
		ctl_printf(&out, "unknown command '%s'; commands:", argv[0]);
		const char *last = "";
		for (const struct ctl_command *c = srv->cmds; c->name; c++)
			if (strcmp(c->name, last) != 0)
				ctl_printf(&out, " %s", (last = c->name));
		ctl_printf(&out, "\n");
		status = 2;
	} else if (status == CTL_PASS) {
		out.len = 0;
		ctl_printf(&out, "usage:");
		for (const struct ctl_command *c = srv->cmds; c->name; c++)
			if (strcmp(c->name, argv[0]) == 0)
				ctl_printf(&out, "\n  %s %s", c->name, c->usage ? c->usage : "");
		ctl_printf(&out, "\n");
		status = 2;
	}
	if (out.failed) {
		out.len = 0;
		out.failed = false;
		ctl_printf(&out, "out of memory\n");
		status = 1;
	}
reply:
	conn->out = out;
	conn->status = status;
}

static void on_conn(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ctl_conn *c = arg;
	if (c->replying) {
		if (send_reply(c))
			conn_free(c);
		return;
	}
	char req[CTL_MAX_REQUEST + 1];
	ssize_t n = recv(fd, req, CTL_MAX_REQUEST, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {			/* gone before asking */
		conn_free(c);
		return;
	}
	handle_request(c, req, n);
	c->replying = true;
	if (send_reply(c)) {
		conn_free(c);
		return;
	}
	/* The client reads slowly: the rest when the socket has room. */
	evloop_mod_fd(loop, fd, EPOLLOUT);
}

static void on_deadline(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct ctl_conn *c = arg;
	log_debug("control: a client took more than %d ms, closed", CTL_DEADLINE_MS);
	conn_free(c);
}

static void accept_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ctl_server *srv = arg;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0)
			return;
		if (srv->nconns >= CTL_MAX_CONNS) {
			/* The oldest goes (the list is newest first). */
			struct ctl_conn *old = srv->conns;
			while (old->next)
				old = old->next;
			conn_free(old);
		}
		struct ctl_conn *c = calloc(1, sizeof(*c));
		if (!c || !(c->deadline = ev_timer_new(loop, on_deadline, c))) {
			free(c);
			close(cfd);
			continue;
		}
		c->srv = srv;
		c->fd = cfd;
		if (evloop_add_fd(loop, cfd, EPOLLIN, on_conn, c) != 0) {
			ev_timer_free(c->deadline);
			free(c);
			close(cfd);
			continue;
		}
		DLIST_PUSH_FRONT(srv->conns, c);
		srv->nconns++;
		ev_timer_arm(c->deadline, CTL_DEADLINE_MS);
	}
}

struct ctl_server *ctl_server_new(struct evloop *loop, const char *path,
				  const struct ctl_command *cmds, void *const *cmd_ctx, void *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (!strlcpy_ok(sun.sun_path, path, sizeof(sun.sun_path))) {
		log_err("control socket path too long: %s", path);
		return NULL;
	}
	struct ctl_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	*srv = (struct ctl_server){ .loop = loop, .cmds = cmds, .cmd_ctx = cmd_ctx, .ctx = ctx,
				    .path = strdup(path) };
	srv->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->fd < 0 || !srv->path)
		goto fail;
	make_parent_dir(path);
	unlink(path);
	mode_t old = umask(0117);
	int rc = bind(srv->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(srv->fd, CTL_MAX_CONNS) < 0) {
		log_err("control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	if (evloop_add_fd(loop, srv->fd, EPOLLIN, accept_ready, srv) != 0)
		goto fail;
	return srv;
fail:
	if (srv->fd >= 0)
		close(srv->fd);
	free(srv->path);
	free(srv);
	return NULL;
}

void ctl_server_free(struct ctl_server *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		conn_free(srv->conns);
	evloop_close_fd(srv->loop, &srv->fd);
	unlink(srv->path);
	free(srv->path);
	free(srv);
}

int ctl_call(const char *path, int argc, char **argv, bool json, FILE *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (!strlcpy_ok(sun.sun_path, path, sizeof(sun.sun_path)))
		return -ENAMETOOLONG;
	if (argc <= 0 || argc > CTL_MAX_ARGS)
		return -E2BIG;
	char req[CTL_MAX_REQUEST];
	struct ctl_req_hdr h = { .version = CTL_VERSION, .flags = json ? CTL_JSON : 0,
				 .argc = (uint16_t)argc };
	size_t len = sizeof(h);
	memcpy(req, &h, sizeof(h));
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (len + n > sizeof(req))
			return -E2BIG;
		memcpy(req + len, argv[i], n);
		len += n;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(fd, req, len, MSG_NOSIGNAL) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct timeval tv = { .tv_sec = 30 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	static char msg[sizeof(struct ctl_reply_hdr) + CTL_CHUNK];
	for (;;) {
		ssize_t n = recv(fd, msg, sizeof(msg), 0);
		struct ctl_reply_hdr r;
		if (n < (ssize_t)sizeof(r)) {
			close(fd);
			return n < 0 ? -errno : -EPROTO;
		}
		memcpy(&r, msg, sizeof(r));
		fwrite(msg + sizeof(r), 1, (size_t)n - sizeof(r), out);
		if (!(r.flags & CTL_MORE)) {
			close(fd);
			return r.status;
		}
	}
}
