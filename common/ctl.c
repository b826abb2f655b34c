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

struct ctl_server {
	struct evloop *loop;
	int fd;
	char *path;
	const struct ctl_command *cmds;
	void *const *cmd_ctx;
	void *ctx;
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

static void send_reply(int fd, int status, const struct ctl_out *out)
{
	size_t off = 0;
	char msg[sizeof(struct ctl_reply_hdr) + CTL_CHUNK];
	do {
		size_t n = MIN(out->len - off, (size_t)CTL_CHUNK);
		struct ctl_reply_hdr h = { .version = CTL_VERSION, .status = status };
		if (off + n < out->len)
			h.flags |= CTL_MORE;
		memcpy(msg, &h, sizeof(h));
		if (n)
			memcpy(msg + sizeof(h), out->buf + off, n);
		if (send(fd, msg, sizeof(h) + n, MSG_NOSIGNAL) < 0)
			return;
		off += n;
	} while (off < out->len);
}

static void handle_request(struct ctl_server *srv, int fd)
{
	char req[CTL_MAX_REQUEST + 1];
	ssize_t n = recv(fd, req, CTL_MAX_REQUEST, 0);
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
	send_reply(fd, status, &out);
	free(out.buf);
}

static void accept_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ctl_server *srv = arg;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	/* Requests are small and answered at once; a client that does not
	 * send within a second is dropped rather than blocking the loop. */
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	handle_request(srv, c);
	close(c);
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
	srv->loop = loop;
	srv->cmds = cmds;
	srv->cmd_ctx = cmd_ctx;
	srv->ctx = ctx;
	srv->path = strdup(path);
	srv->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->fd < 0 || !srv->path)
		goto fail;
	make_parent_dir(path);
	unlink(path);
	mode_t old = umask(0117);
	int rc = bind(srv->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(srv->fd, 16) < 0) {
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
	evloop_del_fd(srv->loop, srv->fd);
	close(srv->fd);
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
