/* libunbound in thread mode: a background thread does the recursion; we
 * read finished results from ub_fd() in our event loop, so no lock and no
 * fork is involved on our side. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unbound.h>

#include "common/config.h"
#include "common/evloop.h"
#include "common/log.h"
#include "dns64/resolver.h"
#include "dns64/wire.h"

struct dns64_resolver {
	struct ub_ctx *ctx;
	struct evloop *loop;
	int fd;
	bool validates;
};

static void on_ub_fd(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct dns64_resolver *r = arg;
	int rc = ub_process(r->ctx);
	if (rc != 0)
		log_warn("dns64: ub_process: %s", ub_strerror(rc));
}

/* "name: value" from unbound-option rows; libunbound wants "name:" apart. */
static int set_option_line(struct ub_ctx *ctx, const char *line, char *err, size_t errlen)
{
	const char *colon = strchr(line, ':');
	if (!colon) {
		snprintf(err, errlen, "unbound-option \"%s\": expected \"name: value\"", line);
		return -EINVAL;
	}
	char name[128];
	size_t n = (size_t)(colon - line) + 1;
	if (n >= sizeof(name)) {
		snprintf(err, errlen, "unbound-option \"%s\": name too long", line);
		return -EINVAL;
	}
	memcpy(name, line, n);
	name[n] = '\0';
	const char *val = colon + 1;
	while (*val == ' ' || *val == '\t')
		val++;
	/* unbound.conf's lexer drops double quotes, ub_ctx_set_option does
	 * not: drop them here so rows read like unbound.conf lines. */
	char unq[1024];
	size_t o = 0;
	for (const char *v = val; *v && o + 1 < sizeof(unq); v++)
		if (*v != '"')
			unq[o++] = *v;
	unq[o] = '\0';
	int rc = ub_ctx_set_option(ctx, name, unq);
	if (rc != 0) {
		snprintf(err, errlen, "unbound-option \"%s\": %s", line, ub_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

static int configure(struct dns64_resolver *r, const struct sixfour_config *cfg, bool validate,
		     char *err, size_t errlen)
{
	struct ub_ctx *ctx = r->ctx;
	int rc;
	/* Threads, not processes: decided here, before the first query. */
	if ((rc = ub_ctx_async(ctx, 1)) != 0) {
		snprintf(err, errlen, "ub_ctx_async: %s", ub_strerror(rc));
		return -EINVAL;
	}
	/* libunbound's library defaults are sized for a stub inside an
	 * application (16 outgoing ports, 1 MB caches); a resolver serving
	 * many clients needs the daemon's scale. unbound-option rows come
	 * later and may override these. */
	static const char *const server_defaults[][2] = {
		{ "outgoing-range:", "4096" },
		{ "num-queries-per-thread:", "2048" },
		{ "msg-cache-size:", "32m" },
		{ "rrset-cache-size:", "64m" },
		{ "key-cache-size:", "8m" },
		{ "neg-cache-size:", "4m" },
		{ "infra-cache-numhosts:", "10000" },
	};
	for (size_t i = 0; i < sizeof(server_defaults) / sizeof(server_defaults[0]); i++)
		if ((rc = ub_ctx_set_option(ctx, server_defaults[i][0], server_defaults[i][1])) != 0) {
			snprintf(err, errlen, "%s %s: %s", server_defaults[i][0],
				 server_defaults[i][1], ub_strerror(rc));
			return -EINVAL;
		}
	for (size_t i = 0; i < cfg->dns64.forward.n; i++) {
		char ep[INET6_ADDRSTRLEN + 16], host[INET6_ADDRSTRLEN + 8];
		const struct endpoint *e = &cfg->dns64.forward.v[i];
		endpoint_format(e, ep, sizeof(ep));
		/* libunbound spells ports as ADDR@PORT. */
		uint16_t port = e->ss.ss_family == AF_INET6 ?
			ntohs(((const struct sockaddr_in6 *)&e->ss)->sin6_port) :
			ntohs(((const struct sockaddr_in *)&e->ss)->sin_port);
		char addr[INET6_ADDRSTRLEN];
		if (e->ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&e->ss)->sin6_addr, addr,
				  sizeof(addr));
		else
			inet_ntop(AF_INET, &((const struct sockaddr_in *)&e->ss)->sin_addr, addr,
				  sizeof(addr));
		snprintf(host, sizeof(host), "%s@%u", addr, port);
		if ((rc = ub_ctx_set_fwd(ctx, host)) != 0) {
			snprintf(err, errlen, "forward %s: %s", ep, ub_strerror(rc));
			return -EINVAL;
		}
	}
	if (cfg->dns64.root_hints && cfg->dns64.root_hints[0] &&
	    (rc = ub_ctx_set_option(ctx, "root-hints:", cfg->dns64.root_hints)) != 0) {
		snprintf(err, errlen, "root-hints %s: %s", cfg->dns64.root_hints, ub_strerror(rc));
		return -EINVAL;
	}
	const char *ta = cfg->dns64.trust_anchor;
	if (validate && ta && ta[0] && access(ta, R_OK) == 0) {
		if ((rc = ub_ctx_add_ta_file(ctx, ta)) != 0) {
			snprintf(err, errlen, "trust-anchor %s: %s", ta, ub_strerror(rc));
			return -EINVAL;
		}
		r->validates = true;
	} else {
		/* No anchor, or the CD context: leave the validator out so
		 * data comes back as the servers sent it. */
		if ((rc = ub_ctx_set_option(ctx, "module-config:", "iterator")) != 0) {
			snprintf(err, errlen, "module-config: %s", ub_strerror(rc));
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < cfg->dns64.unbound_options.n; i++)
		if ((rc = set_option_line(ctx, cfg->dns64.unbound_options.v[i], err, errlen)))
			return rc;
	return 0;
}

struct dns64_resolver *dns64_resolver_new(struct evloop *loop, const struct sixfour_config *cfg,
					  bool validate, char *err, size_t errlen)
{
	struct dns64_resolver *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->fd = -1;
	r->ctx = ub_ctx_create();
	if (!r->ctx) {
		snprintf(err, errlen, "ub_ctx_create failed");
		free(r);
		return NULL;
	}
	if (configure(r, cfg, validate, err, errlen) != 0)
		goto fail;
	r->fd = ub_fd(r->ctx);
	if (r->fd < 0 || evloop_add_fd(loop, r->fd, EPOLLIN, on_ub_fd, r) != 0) {
		snprintf(err, errlen, "cannot watch libunbound's result pipe");
		r->fd = -1;
		goto fail;
	}
	return r;
fail:
	ub_ctx_delete(r->ctx);
	free(r);
	return NULL;
}

int dns64_resolver_check(const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct dns64_resolver r = { .fd = -1 };
	r.ctx = ub_ctx_create();
	if (!r.ctx) {
		snprintf(err, errlen, "ub_ctx_create failed");
		return -ENOMEM;
	}
	int rc = configure(&r, cfg, true, err, errlen);
	ub_ctx_delete(r.ctx);
	return rc;
}

void dns64_resolver_free(struct dns64_resolver *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		evloop_del_fd(r->loop, r->fd);
	ub_ctx_delete(r->ctx);
	free(r);
}

bool dns64_resolver_validates(const struct dns64_resolver *r)
{
	return r->validates;
}

static void on_result(void *mydata, int err, struct ub_result *result)
{
	struct dns64_rq *rq = mydata;
	struct dns64_result res = { .err = -EIO };
	rq->pending = false;
	if (err == 0 && result && result->answer_packet && result->answer_len > 0) {
		res.err = 0;
		res.pkt = result->answer_packet;
		res.len = (size_t)result->answer_len;
		res.secure = result->secure != 0;
		res.bogus = result->bogus != 0;
	}
	rq->cb(rq->arg, &res);
	if (result)
		ub_resolve_free(result);
}

int dns64_resolver_query(struct dns64_resolver *r, const uint8_t *qname, size_t qlen,
			 uint16_t qtype, uint16_t qclass, struct dns64_rq *rq)
{
	char text[4 * DNS_NAME_MAX + 2];
	if (dns_name_to_text(qname, qlen, text, sizeof(text)) != 0)
		return -EINVAL;
	int rc = ub_resolve_async(r->ctx, text, qtype, qclass, rq, on_result, &rq->id);
	if (rc != 0) {
		log_debug("dns64: ub_resolve_async %s: %s", text, ub_strerror(rc));
		return -EIO;
	}
	rq->pending = true;
	return 0;
}

void dns64_resolver_cancel(struct dns64_resolver *r, struct dns64_rq *rq)
{
	if (rq->pending) {
		ub_cancel(r->ctx, rq->id);
		rq->pending = false;
	}
}
