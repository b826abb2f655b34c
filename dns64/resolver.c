/* libunbound on our event loop through its pluggable event API: the
 * ub_event "objects" below map libunbound's sockets and timers onto
 * evloop fds and timers. Compared with thread mode (a background thread,
 * queries and answers serialized through two pipes, one wake-up each way
 * per lookup), a cold miss costs no context switch and no copy; measured
 * in tests/bench/dns64_bench.sh. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <unbound.h>
#include <unbound-event.h>

#include "common/config.h"
#include "common/evloop.h"
#include "common/log.h"
#include "dns64/resolver.h"
#include "dns64/wire.h"

/* An answer libunbound gave before ub_resolve_event() returned (local
 * data): the caller is not ready for its callback yet, so it is kept and
 * delivered from a zero-delay timer. */
struct dns64_late {
	struct dns64_late *next;
	struct dns64_rq *rq;
	struct dns64_result res;
	uint8_t pkt[];
};

struct ubev_base {
	struct ub_event_base base;	/* first: libunbound casts */
	struct evloop *loop;
};

struct dns64_resolver {
	struct ub_ctx *ctx;
	struct evloop *loop;
	struct ubev_base evbase;
	bool validates;
	struct dns64_rq *in_call;	/* the query ub_resolve_event() is starting */
	struct dns64_late *late;
	struct ev_timer *late_timer;
};

/* --- the pluggable event base --- */

struct ubev {
	struct ub_event ev;		/* first: libunbound casts */
	struct evloop *loop;
	int fd;
	short bits;
	void (*cb)(int, short, void *);
	void *arg;
	bool watching;			/* fd registered with the loop */
	uint64_t timeout_ms;		/* for PERSIST events with a timeout */
	bool has_timeout;
	struct ev_timer *timer;
};

static int ubev_del(struct ub_event *e)
{
	struct ubev *u = (struct ubev *)e;
	if (u->watching) {
		evloop_del_fd(u->loop, u->fd);
		u->watching = false;
	}
	ev_timer_cancel(u->timer);
	u->has_timeout = false;
	return 0;
}

static void ubev_on_fd(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ubev *u = arg;
	short what = 0;
	if ((u->bits & UB_EV_READ) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		what |= UB_EV_READ;
	if ((u->bits & UB_EV_WRITE) && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
		what |= UB_EV_WRITE;
	if (!what)
		return;
	if (!(u->bits & UB_EV_PERSIST))
		ubev_del(&u->ev);
	else if (u->has_timeout)
		ev_timer_arm(u->timer, u->timeout_ms);
	/* Last: the callback may free the event. */
	u->cb(u->fd, what, u->arg);
}

static void ubev_on_timer(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct ubev *u = arg;
	if (!(u->bits & UB_EV_PERSIST))
		ubev_del(&u->ev);
	else
		ev_timer_arm(u->timer, u->timeout_ms);
	u->cb(u->fd, UB_EV_TIMEOUT, u->arg);
}

static uint64_t tv_ms(const struct timeval *tv)
{
	/* Rounded up: a timer must not fire before its time. */
	return (uint64_t)tv->tv_sec * 1000 + ((uint64_t)tv->tv_usec + 999) / 1000;
}

static int ubev_add(struct ub_event *e, struct timeval *tv)
{
	struct ubev *u = (struct ubev *)e;
	if (u->fd >= 0 && (u->bits & (UB_EV_READ | UB_EV_WRITE)) && !u->watching) {
		uint32_t ev = ((u->bits & UB_EV_READ) ? EPOLLIN : 0) |
			      ((u->bits & UB_EV_WRITE) ? EPOLLOUT : 0);
		int rc = evloop_add_fd(u->loop, u->fd, ev, ubev_on_fd, u);
		if (rc != 0) {
			log_debug("dns64: libunbound fd %d: %s", u->fd, strerror(-rc));
			return -1;
		}
		u->watching = true;
	}
	if (tv) {
		u->timeout_ms = tv_ms(tv);
		u->has_timeout = true;
		ev_timer_arm(u->timer, u->timeout_ms);
	}
	return 0;
}

/* The event is deactivated before these three are called. */
static void ubev_add_bits(struct ub_event *e, short bits)
{
	((struct ubev *)e)->bits |= bits;
}

static void ubev_del_bits(struct ub_event *e, short bits)
{
	((struct ubev *)e)->bits &= (short)~bits;
}

static void ubev_set_fd(struct ub_event *e, int fd)
{
	((struct ubev *)e)->fd = fd;
}

static void ubev_free(struct ub_event *e)
{
	struct ubev *u = (struct ubev *)e;
	if (!u)
		return;
	ubev_del(e);
	ev_timer_free(u->timer);
	free(u);
}

static int ubev_add_timer(struct ub_event *e, struct ub_event_base *b,
			  void (*cb)(int, short, void *), void *arg, struct timeval *tv)
{
	struct ubev *u = (struct ubev *)e;
	u->cb = cb;
	u->arg = arg;
	u->bits = UB_EV_TIMEOUT;
	u->fd = -1;
	return ubev_add(e, tv);
}

static int ubev_del_timer(struct ub_event *e)
{
	return ubev_del(e);
}

static int ubev_unused(struct ub_event *e, struct timeval *tv)
{
	return -1;	/* signals: libunbound does not use them here */
}

static int ubev_unused_del(struct ub_event *e)
{
	return -1;
}

static void ubev_unused_wsa(struct ub_event *e)
{
}

static void ubev_unused_wouldblock(struct ub_event *e, int bit)
{
}

static struct ub_event_vmt ubev_vmt = {
	.add_bits = ubev_add_bits,
	.del_bits = ubev_del_bits,
	.set_fd = ubev_set_fd,
	.free = ubev_free,
	.add = ubev_add,
	.del = ubev_del,
	.add_timer = ubev_add_timer,
	.del_timer = ubev_del_timer,
	.add_signal = ubev_unused,
	.del_signal = ubev_unused_del,
	.winsock_unregister_wsaevent = ubev_unused_wsa,
	.winsock_tcp_wouldblock = ubev_unused_wouldblock,
};

static struct ub_event *ubev_new(struct ub_event_base *b, int fd, short bits,
				 void (*cb)(int, short, void *), void *arg)
{
	struct ubev_base *base = (struct ubev_base *)b;
	struct ubev *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	*u = (struct ubev){ .ev = { .magic = UB_EVENT_MAGIC, .vmt = &ubev_vmt }, .loop = base->loop,
			    .fd = fd, .bits = bits, .cb = cb, .arg = arg };
	u->timer = ev_timer_new(base->loop, ubev_on_timer, u);
	if (!u->timer) {
		free(u);
		return NULL;
	}
	return &u->ev;
}

static struct ub_event *ubev_new_signal(struct ub_event_base *b, int fd,
					void (*cb)(int, short, void *), void *arg)
{
	return NULL;
}

static struct ub_event *ubev_new_wsa(struct ub_event_base *b, void *wsaevent,
				     void (*cb)(int, short, void *), void *arg)
{
	return NULL;
}

static void ubev_base_free(struct ub_event_base *b)
{
}

static int ubev_base_dispatch(struct ub_event_base *b)
{
	return -1;	/* our loop runs itself */
}

static int ubev_base_loopexit(struct ub_event_base *b, struct timeval *tv)
{
	return 0;
}

static struct ub_event_base_vmt ubev_base_vmt = {
	.free = ubev_base_free,
	.dispatch = ubev_base_dispatch,
	.loopexit = ubev_base_loopexit,
	.new_event = ubev_new,
	.new_signal = ubev_new_signal,
	.winsock_register_wsaevent = ubev_new_wsa,
};

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
		     unsigned share, char *err, size_t errlen)
{
	struct ub_ctx *ctx = r->ctx;
	int rc;
	/* Each thread has its own contexts: the cache budget below is the
	 * process's, split between them (with a floor), so more workers do
	 * not mean more memory. */
	if (share < 1)
		share = 1;
	char msg[16], rrset[16], key[16], neg[16];
	snprintf(msg, sizeof(msg), "%uk", MAX(32768u / share, 4096u));
	snprintf(rrset, sizeof(rrset), "%uk", MAX(65536u / share, 8192u));
	snprintf(key, sizeof(key), "%uk", MAX(8192u / share, 1024u));
	snprintf(neg, sizeof(neg), "%uk", MAX(4096u / share, 1024u));
	/* libunbound's library defaults are sized for a stub inside an
	 * application (16 outgoing ports, 1 MB caches); a resolver serving
	 * many clients needs the daemon's scale. unbound-option rows come
	 * later and may override these. */
	const char *const server_defaults[][2] = {
		{ "outgoing-range:", "4096" },
		{ "num-queries-per-thread:", "2048" },
		{ "msg-cache-size:", msg },
		{ "rrset-cache-size:", rrset },
		{ "key-cache-size:", key },
		{ "neg-cache-size:", neg },
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

static void deliver_late(struct evloop *loop, struct ev_timer *t, void *arg);

struct dns64_resolver *dns64_resolver_new(struct evloop *loop, const struct sixfour_config *cfg,
					  bool validate, unsigned share, char *err, size_t errlen)
{
	struct dns64_resolver *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*r = (struct dns64_resolver){
		.loop = loop,
		.evbase = { .base = { .magic = UB_EVENT_MAGIC, .vmt = &ubev_base_vmt }, .loop = loop },
	};
	r->late_timer = ev_timer_new(loop, deliver_late, r);
	r->ctx = ub_ctx_create_ub_event(&r->evbase.base);
	if (!r->late_timer || !r->ctx) {
		snprintf(err, errlen, "ub_ctx_create_ub_event failed");
		ev_timer_free(r->late_timer);
		if (r->ctx)
			ub_ctx_delete(r->ctx);
		free(r);
		return NULL;
	}
	if (configure(r, cfg, validate, share, err, errlen) != 0) {
		dns64_resolver_free(r);
		return NULL;
	}
	return r;
}

int dns64_resolver_check(const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct dns64_resolver r = { 0 };
	r.ctx = ub_ctx_create();
	if (!r.ctx) {
		snprintf(err, errlen, "ub_ctx_create failed");
		return -ENOMEM;
	}
	int rc = configure(&r, cfg, true, 1, err, errlen);
	ub_ctx_delete(r.ctx);
	return rc;
}

void dns64_resolver_free(struct dns64_resolver *r)
{
	if (!r)
		return;
	while (r->late) {
		struct dns64_late *l = r->late;
		r->late = l->next;
		l->rq->late = NULL;
		free(l);
	}
	/* Frees libunbound's events (their fds and timers leave our loop). */
	ub_ctx_delete(r->ctx);
	ev_timer_free(r->late_timer);
	free(r);
}

bool dns64_resolver_validates(const struct dns64_resolver *r)
{
	return r->validates;
}

static void deliver_late(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct dns64_resolver *r = arg;
	/* One at a time from the head: a callback may cancel others. */
	while (r->late) {
		struct dns64_late *l = r->late;
		r->late = l->next;
		struct dns64_rq *rq = l->rq;
		rq->late = NULL;
		rq->pending = false;
		l->res.pkt = l->res.err ? NULL : l->pkt;
		rq->cb(rq->arg, &l->res);
		free(l);
	}
}

/* sec: 0 insecure, 1 bogus, 2 secure (unbound-event.h). A non-zero rcode
 * is libunbound's own failure (SERVFAIL and the like), not the answer's. */
static void on_result(void *mydata, int rcode, void *packet, int len, int sec, char *why_bogus,
		      int was_ratelimited)
{
	struct dns64_rq *rq = mydata;
	struct dns64_resolver *r = rq->late_owner;
	struct dns64_result res = { .err = -EIO };
	if (rcode == 0 && packet && len >= DNS_HDR_LEN) {
		res.err = 0;
		res.pkt = packet;
		res.len = (size_t)len;
		res.secure = sec == 2;
		res.bogus = sec == 1;
	}
	if (r && r->in_call == rq) {
		/* Answered inside ub_resolve_event(): deliver next round. */
		struct dns64_late *l = malloc(sizeof(*l) + (res.err ? 0 : res.len));
		if (!l) {
			res.err = -EIO;
			l = malloc(sizeof(*l));
			if (!l) {
				log_err("dns64: out of memory for a local answer");
				return;
			}
		}
		l->rq = rq;
		l->res = res;
		if (!res.err)
			memcpy(l->pkt, packet, res.len);
		l->next = r->late;
		r->late = l;
		rq->late = l;
		ev_timer_arm(r->late_timer, 0);
		return;
	}
	rq->pending = false;
	rq->cb(rq->arg, &res);
}

int dns64_resolver_query(struct dns64_resolver *r, const uint8_t *qname, size_t qlen,
			 uint16_t qtype, uint16_t qclass, struct dns64_rq *rq)
{
	char text[4 * DNS_NAME_MAX + 2];
	if (dns_name_to_text(qname, qlen, text, sizeof(text)) != 0)
		return -EINVAL;
	rq->late = NULL;
	rq->late_owner = r;
	rq->id = 0;
	r->in_call = rq;
	int rc = ub_resolve_event(r->ctx, text, qtype, qclass, rq, on_result, &rq->id);
	r->in_call = NULL;
	if (rc != 0) {
		/* A late answer cannot exist: libunbound failed before it. */
		log_debug("dns64: ub_resolve_event %s: %s", text, ub_strerror(rc));
		return -EIO;
	}
	rq->pending = true;
	return 0;
}

void dns64_resolver_cancel(struct dns64_resolver *r, struct dns64_rq *rq)
{
	if (!rq->pending)
		return;
	rq->pending = false;
	if (rq->late) {
		for (struct dns64_late **pp = &r->late; *pp; pp = &(*pp)->next)
			if (*pp == rq->late) {
				*pp = rq->late->next;
				break;
			}
		free(rq->late);
		rq->late = NULL;
		return;
	}
	ub_cancel(r->ctx, rq->id);
}
