#include "autoconf.h"
#include "health/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/rfc6052.h"
#include "common/util.h"

/* A faster prefix displaces an active one only when it is this much faster. */
#define HEALTH_DISPLACE_PERCENT 80
/* Weight of a new sample in the smoothed round trip, in 1/8ths (as TCP's SRTT). */
#define HEALTH_RTT_NEW_EIGHTHS 2

struct probe {
	char name[PREFIX_NAME_MAX];
	struct in6_addr prefix;
	uint8_t len;
	struct in6_addr dst;		/* <prefix>::<target> */
	bool probed;
	bool up;
	unsigned ok_run, fail_run;
	uint32_t rtt_us;
	bool outstanding;
	uint16_t seq;
	uint64_t sent_us;
	uint64_t sent, received, late, changes;
};

struct health {
	struct sixfour_ctx *ctx;
	bool enable;
	int sock;
	uint16_t ident;
	uint16_t next_seq;
	uint64_t interval_ms, timeout_ms;
	unsigned rise, fall, max_active;
	struct ev_timer *round, *deadline;
	struct probe probes[CONFIG_MAX_PREFIXES];
	size_t nprobes;
	uint64_t malformed;
};

/* --- selection (pure) --- */

static bool eligible(const struct health_candidate *c)
{
	return !c->probed || c->up;
}

/* Rank key: smaller is better. Unprobed first; the incumbent gets a bonus. */
static uint64_t rank(const struct health_candidate *c)
{
	if (!c->probed)
		return 0;
	uint64_t rtt = c->rtt_us ? c->rtt_us : UINT32_MAX;
	if (c->active)
		rtt = rtt * HEALTH_DISPLACE_PERCENT / 100;
	return rtt + 1;
}

bool health_select(struct health_candidate *c, size_t n, unsigned max_active)
{
	bool chosen[CONFIG_MAX_PREFIXES] = { false };
	if (n > CONFIG_MAX_PREFIXES)
		n = CONFIG_MAX_PREFIXES;
	for (unsigned k = 0; k < max_active; k++) {
		size_t best = n;
		for (size_t i = 0; i < n; i++) {
			if (chosen[i] || !eligible(&c[i]))
				continue;
			if (best == n || rank(&c[i]) < rank(&c[best]))
				best = i;
		}
		if (best == n)
			break;
		chosen[best] = true;
	}
	bool changed = false;
	for (size_t i = 0; i < n; i++) {
		if (c[i].active != chosen[i])
			changed = true;
		c[i].active = chosen[i];
	}
	return changed;
}

/* --- publishing --- */

/* Applies the verdicts to a copy of the current set; publishes on change. */
static void publish(struct health *h)
{
	const struct prefix_set *cur = prefix_pub_current(h->ctx->prefixes);
	if (!cur)
		return;
	struct health_candidate cand[CONFIG_MAX_PREFIXES];
	size_t idx[CONFIG_MAX_PREFIXES], n = 0;
	for (size_t i = 0; i < cur->count && n < CONFIG_MAX_PREFIXES; i++) {
		const struct prefix_info *p = &cur->prefixes[i];
		if (!(p->roles & PREFIX_ROLE_SYNTHESIZE))
			continue;
		struct health_candidate *c = &cand[n];
		memset(c, 0, sizeof(*c));
		c->active = p->active;
		for (size_t j = 0; j < h->nprobes; j++) {
			struct probe *pr = &h->probes[j];
			if (!strcmp(pr->name, p->name) && pr->probed) {
				c->probed = true;
				c->up = pr->up;
				c->rtt_us = pr->rtt_us;
			}
		}
		idx[n++] = i;
	}
	if (!health_select(cand, n, h->max_active))
		return;
	struct prefix_set *next = prefix_set_clone(cur);
	if (!next)
		return;
	for (size_t k = 0; k < n; k++) {
		struct prefix_info *p = &next->prefixes[idx[k]];
		if (p->active != cand[k].active)
			log_notice("health: prefix %s %s for DNS64 synthesis", p->name,
				   cand[k].active ? "activated" : "withdrawn");
		p->active = cand[k].active;
		p->rtt_us = cand[k].rtt_us;
	}
	prefix_pub_publish(h->ctx->prefixes, next);
}

/* --- probing --- */

static void record(struct health *h, struct probe *p, bool success)
{
	if (success) {
		p->fail_run = 0;
		if (++p->ok_run >= h->rise && !p->up) {
			p->up = true;
			p->changes++;
			log_notice("health: prefix %s is up (rtt %u us)", p->name, p->rtt_us);
		}
	} else {
		p->ok_run = 0;
		if (++p->fail_run >= h->fall && p->up) {
			p->up = false;
			p->changes++;
			log_warn("health: prefix %s is down (%u probes failed)", p->name, p->fail_run);
		}
	}
}

static void send_probe(struct health *h, struct probe *p)
{
	uint8_t pkt[sizeof(struct icmp6_hdr) + 8];
	struct icmp6_hdr *ic = (struct icmp6_hdr *)pkt;
	memset(pkt, 0, sizeof(pkt));
	ic->icmp6_type = ICMP6_ECHO_REQUEST;
	ic->icmp6_id = htons(h->ident);
	p->seq = h->next_seq++;
	ic->icmp6_seq = htons(p->seq);
	p->sent_us = monotonic_us();
	memcpy(pkt + sizeof(*ic), &p->sent_us, 8);
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = p->dst };
	/* The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets. */
	p->outstanding = true;
	p->sent++;
	if (sendto(h->sock, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		/* No route, unreachable: the deadline counts it as a failure. */
		log_debug("health: probe of %s: %s", p->name, strerror(errno));
	}
}

static void round_start(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct health *h = arg;
	for (size_t i = 0; i < h->nprobes; i++)
		if (h->probes[i].probed)
			send_probe(h, &h->probes[i]);
	ev_timer_arm(h->deadline, h->timeout_ms);
	ev_timer_arm(h->round, h->interval_ms);
}

static void round_deadline(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct health *h = arg;
	for (size_t i = 0; i < h->nprobes; i++) {
		struct probe *p = &h->probes[i];
		if (p->probed && p->outstanding) {
			p->outstanding = false;
			record(h, p, false);
		}
	}
	publish(h);
}

static void reply_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct health *h = arg;
	for (;;) {
		uint8_t buf[256];
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if ((size_t)n < sizeof(struct icmp6_hdr) + 8) {
			h->malformed++;
			continue;
		}
		const struct icmp6_hdr *ic = (const struct icmp6_hdr *)buf;
		if (ic->icmp6_type != ICMP6_ECHO_REPLY || ntohs(ic->icmp6_id) != h->ident)
			continue;
		uint16_t seq = ntohs(ic->icmp6_seq);
		for (size_t i = 0; i < h->nprobes; i++) {
			struct probe *p = &h->probes[i];
			if (memcmp(&p->dst, &from.sin6_addr, sizeof(p->dst)) != 0)
				continue;
			if (!p->outstanding || p->seq != seq) {
				p->late++;
				break;
			}
			p->outstanding = false;
			p->received++;
			uint64_t rtt = monotonic_us() - p->sent_us;
			if (rtt > UINT32_MAX)
				rtt = UINT32_MAX;
			p->rtt_us = p->rtt_us == 0 ? (uint32_t)rtt :
				(uint32_t)((p->rtt_us * (8 - HEALTH_RTT_NEW_EIGHTHS) +
					    rtt * HEALTH_RTT_NEW_EIGHTHS) / 8);
			record(h, p, true);
			break;
		}
	}
}

/* --- configuration --- */

static int build_probes(const struct sixfour_config *cfg, const struct health *old,
			struct probe *out, size_t *nout, char *err, size_t errlen)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->nprefixes; i++) {
		const struct prefix_conf *pc = &cfg->prefixes[i];
		struct probe *p = &out[n];
		memset(p, 0, sizeof(*p));
		strlcpy_ok(p->name, pc->name, sizeof(p->name));
		p->prefix = pc->prefix.addr.v6;
		p->len = pc->prefix.len;
		p->probed = pc->probe && cfg->health.enable;
		/* Our own prefixes start up; others must prove themselves. */
		p->up = pc->translate || !p->probed;
		if (p->probed) {
			struct in_addr target = cfg->health.target.addr.v4;
			if (pc->probe_target && *pc->probe_target &&
			    inet_pton(AF_INET, pc->probe_target, &target) != 1) {
				snprintf(err, errlen, "prefix %s: bad probe-target", pc->name);
				return -EINVAL;
			}
			if (rfc6052_embed(&p->prefix, p->len, target, &p->dst) != 0) {
				snprintf(err, errlen, "prefix %s: cannot embed the probe target",
					 pc->name);
				return -EINVAL;
			}
		}
		/* Keep what we learned about an unchanged prefix across a reload. */
		for (size_t j = 0; old && j < old->nprobes; j++) {
			const struct probe *o = &old->probes[j];
			if (!strcmp(o->name, p->name) && o->len == p->len &&
			    !memcmp(&o->prefix, &p->prefix, sizeof(p->prefix)) &&
			    !memcmp(&o->dst, &p->dst, sizeof(p->dst)) && o->probed == p->probed) {
				*p = *o;
				p->outstanding = false;
			}
		}
		n++;
	}
	*nout = n;
	return 0;
}

static void apply_timing(struct health *h, const struct sixfour_config *cfg)
{
	h->enable = cfg->health.enable;
	h->interval_ms = cfg->health.interval_ms;
	h->timeout_ms = MIN(cfg->health.timeout_ms, cfg->health.interval_ms);
	h->rise = cfg->health.rise;
	h->fall = cfg->health.fall;
	h->max_active = cfg->health.max_active;
}

static void *health_start(struct sixfour_ctx *ctx)
{
	struct health *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ctx = ctx;
	h->sock = -1;
	apply_timing(h, ctx->cfg);
	char err[128];
	if (build_probes(ctx->cfg, NULL, h->probes, &h->nprobes, err, sizeof(err)) != 0) {
		log_err("health: %s", err);
		free(h);
		return NULL;
	}
	if (getrandom(&h->ident, sizeof(h->ident), 0) != sizeof(h->ident))
		h->ident = (uint16_t)getpid();
	/* The raw socket is opened once, while privileged, and kept across
	 * reloads even when no prefix is probed yet. */
	h->sock = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (h->sock < 0) {
		log_warn("health: no raw ICMPv6 socket (%s); prefixes cannot be probed",
			 strerror(errno));
	} else {
		struct icmp6_filter f;
		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		setsockopt(h->sock, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
		evloop_add_fd(ctx->loop, h->sock, EPOLLIN, reply_ready, h);
	}
	h->round = ev_timer_new(ctx->loop, round_start, h);
	h->deadline = ev_timer_new(ctx->loop, round_deadline, h);
	if (!h->round || !h->deadline) {
		ev_timer_free(h->round);
		ev_timer_free(h->deadline);
		if (h->sock >= 0)
			close(h->sock);
		free(h);
		return NULL;
	}
	return h;
}

static int health_run(void *state)
{
	struct health *h = state;
	ev_timer_arm(h->round, 0);
	return 0;
}

static int health_check(void *state, const struct sixfour_config *cfg, char *err,
			size_t errlen)
{
	struct probe probes[CONFIG_MAX_PREFIXES];
	size_t n;
	return build_probes(cfg, state, probes, &n, err, errlen);
}

static int health_reload(void *state, const struct sixfour_config *cfg, char *err,
			 size_t errlen)
{
	struct health *h = state;
	struct probe probes[CONFIG_MAX_PREFIXES];
	size_t n;
	int rc = build_probes(cfg, h, probes, &n, err, errlen);
	if (rc)
		return rc;
	memcpy(h->probes, probes, n * sizeof(probes[0]));
	h->nprobes = n;
	apply_timing(h, cfg);
	/* sixfourd publishes the new set after every subsystem agreed; the
	 * verdicts are applied to it at once by the next round. */
	ev_timer_arm(h->round, 0);
	return 0;
}

static void health_stop(void *state)
{
	struct health *h = state;
	ev_timer_free(h->round);
	ev_timer_free(h->deadline);
	if (h->sock >= 0) {
		evloop_del_fd(h->ctx->loop, h->sock);
		close(h->sock);
	}
	free(h);
}

static int cmd_health(void *arg, int argc, char **argv, struct ctl_out *out)
{
	struct health *h = arg;
	const struct prefix_set *set = prefix_pub_current(h->ctx->prefixes);
	if (out->json)
		ctl_printf(out, "{\"malformed\":%llu,\"prefixes\":[",
			   (unsigned long long)h->malformed);
	for (size_t i = 0; i < h->nprobes; i++) {
		const struct probe *p = &h->probes[i];
		const struct prefix_info *pi = prefix_set_by_name(set, p->name);
		char dst[INET6_ADDRSTRLEN] = "-";
		if (p->probed)
			inet_ntop(AF_INET6, &p->dst, dst, sizeof(dst));
		const char *state = !p->probed ? "unprobed" : p->up ? "up" : "down";
		bool active = pi && pi->active;
		if (out->json) {
			ctl_printf(out, "%s{\"name\":", i ? "," : "");
			ctl_json_str(out, p->name);
			ctl_printf(out, ",\"state\":\"%s\",\"active\":%s,\"target\":\"%s\","
				   "\"rtt_us\":%u,\"sent\":%llu,\"received\":%llu,\"late\":%llu,"
				   "\"changes\":%llu}", state, active ? "true" : "false", dst,
				   p->rtt_us, (unsigned long long)p->sent,
				   (unsigned long long)p->received, (unsigned long long)p->late,
				   (unsigned long long)p->changes);
		} else {
			ctl_printf(out, "%-16s %-8s %-8s rtt %6u us  sent %llu  received %llu  "
				   "target %s\n", p->name, state, active ? "active" : "inactive",
				   p->rtt_us, (unsigned long long)p->sent,
				   (unsigned long long)p->received, dst);
		}
	}
	if (out->json)
		ctl_printf(out, "]}\n");
	return 0;
}

static void health_metrics(void *state, struct ctl_out *out)
{
	struct health *h = state;
	ctl_printf(out, "# HELP sixfour_health_up Whether the prefix's probes succeed.\n"
		   "# TYPE sixfour_health_up gauge\n");
	for (size_t i = 0; i < h->nprobes; i++)
		if (h->probes[i].probed)
			ctl_printf(out, "sixfour_health_up{name=\"%s\"} %d\n", h->probes[i].name,
				   h->probes[i].up);
	ctl_printf(out, "# HELP sixfour_health_rtt_seconds Smoothed probe round trip.\n"
		   "# TYPE sixfour_health_rtt_seconds gauge\n");
	for (size_t i = 0; i < h->nprobes; i++)
		if (h->probes[i].probed)
			ctl_printf(out, "sixfour_health_rtt_seconds{name=\"%s\"} %.6f\n",
				   h->probes[i].name, h->probes[i].rtt_us / 1e6);
	ctl_printf(out, "# HELP sixfour_health_probes_total Probes sent and answered.\n"
		   "# TYPE sixfour_health_probes_total counter\n");
	for (size_t i = 0; i < h->nprobes; i++) {
		const struct probe *p = &h->probes[i];
		if (!p->probed)
			continue;
		ctl_printf(out, "sixfour_health_probes_total{name=\"%s\",result=\"sent\"} %llu\n"
			   "sixfour_health_probes_total{name=\"%s\",result=\"answered\"} %llu\n",
			   p->name, (unsigned long long)p->sent, p->name,
			   (unsigned long long)p->received);
	}
}

static const struct ctl_command health_commands[] = {
	{ "health", "", "probe state of every prefix (up/down, rtt, active)", cmd_health },
	{ NULL, NULL, NULL, NULL },
};

const struct subsys_ops health_subsys = {
	.name = "health",
	.start = health_start,
	.check = health_check,
	.run = health_run,
	.reload = health_reload,
	.stop = health_stop,
	.commands = health_commands,
	.metrics = health_metrics,
};
