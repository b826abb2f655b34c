/* The health subsystem: one raw ICMPv6 socket, one timer for every
 * prefix's next probe or deadline, the verdicts (probe.h) turned into the
 * shared prefix set's `active` flags, and the [export] files (exports.h)
 * brought up to date after every change. */
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
#include "common/counters.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/rfc6052.h"
#include "common/util.h"
#include "health/exports.h"
#include "health/health_int.h"

/* A faster prefix displaces an active one only when it is this much faster. */
#define HEALTH_DISPLACE_PERCENT 80
/* At start, exports wait for the first verdicts at most this long. */
#define HEALTH_SETTLE_MAX_US (10 * 1000000ull)

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

static struct hprobe *probe_of(struct health *h, const char *name)
{
	for (size_t j = 0; j < h->nprobes; j++)
		if (!strcmp(h->probes[j].name, name))
			return &h->probes[j];
	return NULL;
}

static bool settled(const struct health *h)
{
	for (size_t i = 0; i < h->nprobes; i++)
		if (h->probes[i].probed && !h->probes[i].st.settled)
			return false;
	return true;
}

/* A cluster standby probes its translate prefixes through the active node
 * (doc/cluster.md): while another node takes over they fail for a few
 * seconds, so a standby keeps such a prefix up for [cluster] takeover-time
 * after its verdict went down, and DNS64 and PREF64 do not flap. */
static bool in_takeover_grace(struct health *h, struct hprobe *p, uint64_t now)
{
	p->grace_until_us = 0;
	if (h->ctx->role.role != SIXFOUR_ROLE_STANDBY || !p->translate || !p->probed || p->st.up ||
	    now >= p->st.changed_us + h->takeover_us)
		return false;
	p->grace_until_us = p->st.changed_us + h->takeover_us;
	return true;
}

/* Applies the verdicts to a copy of the current set and publishes it when
 * an `active` flag changes; then the watchers (PREF64) and the export
 * files follow at once. */
static void publish(struct health *h)
{
	const struct prefix_set *cur = prefix_pub_current(h->ctx->prefixes);
	if (!cur)
		return;
	struct health_candidate cand[CONFIG_MAX_PREFIXES];
	size_t idx[CONFIG_MAX_PREFIXES], n = 0;
	uint64_t now = monotonic_us();
	for (size_t i = 0; i < cur->count && n < CONFIG_MAX_PREFIXES; i++) {
		const struct prefix_info *p = &cur->prefixes[i];
		if (!(p->roles & PREFIX_ROLE_SYNTHESIZE))
			continue;
		struct health_candidate *c = &cand[n];
		memset(c, 0, sizeof(*c));
		c->active = p->active;
		struct hprobe *pr = probe_of(h, p->name);
		if (pr && (pr->probed || pr->local_down)) {
			c->probed = true;
			c->up = hprobe_up(pr) || in_takeover_grace(h, pr, now);
			c->rtt_us = pr->probed ? pr->st.rtt_us : 0;
		}
		idx[n++] = i;
	}
	if (health_select(cand, n, h->max_active)) {
		struct prefix_set *next = prefix_set_clone(cur);
		if (!next)
			return;
		for (size_t k = 0; k < n; k++) {
			struct prefix_info *p = &next->prefixes[idx[k]];
			if (p->active != cand[k].active)
				log_notice("health: prefix %s %s for DNS64 synthesis", p->name,
					   cand[k].active ? "activated" : "withdrawn");
			p->active = cand[k].active;
			/* Round trips go into the set only with a change of the
			 * active flags, so exports ordered by them stay stable. */
			p->rtt_us = cand[k].rtt_us;
		}
		prefix_pub_publish(h->ctx->prefixes, next);
		sixfour_prefixes_changed(h->ctx);
	}
	if (!h->released && (settled(h) || monotonic_us() >= h->settle_deadline_us)) {
		h->released = true;
		exports_release(h->exports);
	}
	exports_update(h->exports);
}

/* Logs a verdict that changed or was settled for the first time; returns
 * whether anything did. */
static bool note_change(const struct hprobe *p, bool was_up, bool was_settled)
{
	if (was_up == p->st.up && was_settled == p->st.settled)
		return false;
	const char *why = health_reason_text(p->st.reason);
	if (p->st.up)
		log_notice("health: prefix %s is up (%u %s, rtt %u us)", p->name, p->st.reason_count,
			   why, p->st.rtt_us);
	else
		log_warn("health: prefix %s is down (%u %s)", p->name, p->st.reason_count, why);
	return true;
}

/* --- probing --- */

static void schedule(struct health *h);

static bool send_probe(struct health *h, struct hprobe *p, uint64_t now)
{
	uint8_t pkt[sizeof(struct icmp6_hdr) + 8];
	struct icmp6_hdr *ic = (struct icmp6_hdr *)pkt;
	memset(pkt, 0, sizeof(pkt));
	ic->icmp6_type = ICMP6_ECHO_REQUEST;
	ic->icmp6_id = htons(h->ident);
	uint16_t seq = h->next_seq++;
	ic->icmp6_seq = htons(seq);
	memcpy(pkt + sizeof(*ic), &now, 8);
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = p->dst };
	/* The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets. A
	 * probe that cannot leave (no route, unreachable) fails at once. */
	bool failed = h->sock < 0 ||
		sendto(h->sock, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0;
	if (failed)
		log_debug("health: probe of %s: %s", p->name,
			  h->sock < 0 ? "no socket" : strerror(errno));
	bool was_up = p->st.up, was_settled = p->st.settled;
	probe_sent(&p->st, &h->timing, seq, failed, now);
	return note_change(p, was_up, was_settled);
}

static void on_timer(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct health *h = arg;
	uint64_t now = monotonic_us();
	bool changed = false;
	for (size_t i = 0; i < h->nprobes; i++) {
		struct hprobe *p = &h->probes[i];
		if (!p->probed)
			continue;
		bool was_up = p->st.up, was_settled = p->st.settled;
		probe_tick(&p->st, &h->timing, now);
		changed |= note_change(p, was_up, was_settled);
		changed |= p->grace_until_us && now >= p->grace_until_us;	/* grace over */
		if (probe_send_due(&p->st, now))
			changed |= send_probe(h, p, now);
	}
	/* After a reload, and until the exports are released at start-up,
	 * publish() runs even without a change. */
	if (changed || h->republish || !h->released) {
		h->republish = false;
		publish(h);
	}
	schedule(h);
}

static void schedule(struct health *h)
{
	uint64_t due = UINT64_MAX;
	for (size_t i = 0; i < h->nprobes; i++) {
		if (h->probes[i].probed)
			due = MIN(due, probe_next_due(&h->probes[i].st, &h->timing));
		if (h->probes[i].grace_until_us)
			due = MIN(due, h->probes[i].grace_until_us);
	}
	if (due == UINT64_MAX) {
		ev_timer_cancel(h->timer);
		return;
	}
	uint64_t now = monotonic_us();
	/* Rounded up: a timer that fires early would only re-arm itself. */
	ev_timer_arm(h->timer, due > now ? (due - now + 999) / 1000 : 0);
}

static void reply_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct health *h = arg;
	bool changed = false;
	for (;;) {
		uint8_t buf[256];
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			break;
		if ((size_t)n < sizeof(struct icmp6_hdr) + 8) {
			counter_inc(&h->c[HEALTH_C_malformed], 1);
			continue;
		}
		const struct icmp6_hdr *ic = (const struct icmp6_hdr *)buf;
		if (ic->icmp6_type != ICMP6_ECHO_REPLY || ntohs(ic->icmp6_id) != h->ident)
			continue;	/* someone else's ping */
		uint16_t seq = ntohs(ic->icmp6_seq);
		struct hprobe *p = NULL;
		for (size_t i = 0; i < h->nprobes && !p; i++)
			if (h->probes[i].probed &&
			    !memcmp(&h->probes[i].dst, &from.sin6_addr, sizeof(from.sin6_addr)))
				p = &h->probes[i];
		if (!p) {
			counter_inc(&h->c[HEALTH_C_stray], 1);
			continue;
		}
		bool was_up = p->st.up, was_settled = p->st.settled;
		probe_answer(&p->st, &h->timing, seq, monotonic_us());
		changed |= note_change(p, was_up, was_settled);
	}
	if (changed)
		publish(h);
	schedule(h);
}

/* --- the local data path --- */

/* The translator reported (sixfour_datapath_report): its prefixes follow
 * at once, without waiting for probes. */
static void on_datapath(void *arg)
{
	struct health *h = arg;
	const struct sixfour_datapath *dp = &h->ctx->datapath;
	uint64_t now = monotonic_us();
	for (size_t i = 0; i < h->nprobes; i++) {
		struct hprobe *p = &h->probes[i];
		if (!p->translate || p->local_down == dp->down)
			continue;
		bool before = hprobe_up(p);
		p->local_down = dp->down;
		p->st.changed_us = now;
		p->st.reason = dp->down ? HEALTH_REASON_LOCAL_DOWN : HEALTH_REASON_LOCAL_UP;
		p->st.reason_count = 0;
		if (before != hprobe_up(p))
			p->st.c[PROBE_C_changes]++;
		if (dp->down)
			log_warn("health: prefix %s is down: %s (%s)", p->name,
				 health_reason_text(p->st.reason), dp->why);
		else
			log_notice("health: prefix %s: %s", p->name, health_reason_text(p->st.reason));
	}
	publish(h);
}

/* A cluster node that becomes active serves its translate prefixes itself
 * from now on (doc/cluster.md). While standby it probed them through the
 * old active node; one that went down with that node starts up again, as
 * at start-up, and the probes through our own translator decide. */
static void on_role(void *arg)
{
	struct health *h = arg;
	if (h->ctx->role.role != SIXFOUR_ROLE_ACTIVE)
		return;
	uint64_t now = monotonic_us();
	bool changed = false;
	for (size_t i = 0; i < h->nprobes; i++) {
		struct hprobe *p = &h->probes[i];
		if (!p->translate || !p->probed || p->st.up)
			continue;
		uint64_t c[PROBE_C__COUNT];
		memcpy(c, p->st.c, sizeof(c));
		probe_init(&p->st, true, true, now);
		memcpy(p->st.c, c, sizeof(c));
		p->st.c[PROBE_C_changes]++;
		p->st.reason = HEALTH_REASON_TAKEOVER;
		log_notice("health: prefix %s is up: %s", p->name, health_reason_text(p->st.reason));
		changed = true;
	}
	if (changed)
		publish(h);
	schedule(h);
}

/* --- configuration --- */

static int build_probes(const struct sixfour_config *cfg, const struct health *old,
			struct hprobe *out, size_t *nout, char *err, size_t errlen)
{
	size_t n = 0;
	uint64_t now = monotonic_us();
	for (size_t i = 0; i < cfg->nprefixes; i++) {
		const struct prefix_conf *pc = &cfg->prefixes[i];
		struct hprobe *p = &out[n];
		memset(p, 0, sizeof(*p));
		strlcpy_ok(p->name, pc->name, sizeof(p->name));
		p->prefix = pc->prefix.addr.v6;
		p->len = pc->prefix.len;
		p->probed = pc->probe && cfg->health.enable;
		p->translate = pc->translate && cfg->nat64.enable;
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
		/* Our own prefixes start up; others must prove themselves. */
		probe_init(&p->st, pc->translate || !p->probed, pc->translate || !p->probed, now);
		/* Keep what we learned about an unchanged prefix across a reload. */
		for (size_t j = 0; old && j < old->nprobes; j++) {
			const struct hprobe *o = &old->probes[j];
			if (!strcmp(o->name, p->name) && o->len == p->len &&
			    !memcmp(&o->prefix, &p->prefix, sizeof(p->prefix)) &&
			    !memcmp(&o->dst, &p->dst, sizeof(p->dst)) && o->probed == p->probed) {
				p->st = o->st;
				p->local_down = p->translate && o->local_down;
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
	h->timing = (struct probe_timing){
		.interval_us = cfg->health.interval_ms * 1000,
		.fast_us = cfg->health.fast_interval_ms * 1000,
		.timeout_us = cfg->health.timeout_ms * 1000,
		.rise = cfg->health.rise,
		.fall = cfg->health.fall,
	};
	h->max_active = cfg->health.max_active;
	h->takeover_us = cfg->cluster.takeover_ms * 1000;
}

static int check_timing(const struct sixfour_config *cfg, char *err, size_t errlen)
{
	if (cfg->health.timeout_ms > cfg->health.fast_interval_ms * PROBE_WINDOW) {
		snprintf(err, errlen, "[health] timeout must be at most %d x fast-interval "
			 "(probes in flight per prefix)", PROBE_WINDOW);
		return -EINVAL;
	}
	if (cfg->health.fast_interval_ms > cfg->health.interval_ms) {
		snprintf(err, errlen, "[health] fast-interval must not exceed interval");
		return -EINVAL;
	}
	return 0;
}

static void health_stop(void *state);
static void on_prefixes_changed(void *arg);

static void *health_start(struct sixfour_ctx *ctx)
{
	struct health *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	*h = (struct health){ .ctx = ctx, .sock = -1 };
	apply_timing(h, ctx->cfg);
	h->settle_deadline_us = monotonic_us() + HEALTH_SETTLE_MAX_US;
	char err[256];
	if (check_timing(ctx->cfg, err, sizeof(err)) != 0 ||
	    exports_check(ctx->cfg, err, sizeof(err)) != 0 ||
	    build_probes(ctx->cfg, NULL, h->probes, &h->nprobes, err, sizeof(err)) != 0) {
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
		if (evloop_add_fd(ctx->loop, h->sock, EPOLLIN, reply_ready, h) != 0) {
			close(h->sock);
			h->sock = -1;
		}
	}
	h->timer = ev_timer_new(ctx->loop, on_timer, h);
	h->exports = exports_new(ctx);
	if (!h->timer || !h->exports) {
		health_stop(h);
		return NULL;
	}
	ctx->datapath.notify = on_datapath;
	ctx->datapath.notify_arg = h;
	sixfour_watch_prefixes(ctx, on_prefixes_changed, h);
	sixfour_watch_role(ctx, on_role, h);
	h->republish = true;
	return h;
}

static int health_run(void *state)
{
	struct health *h = state;
	ev_timer_arm(h->timer, 0);
	return 0;
}

static int health_check(void *state, const struct sixfour_config *cfg, char *err,
			size_t errlen)
{
	struct hprobe probes[CONFIG_MAX_PREFIXES];
	size_t n;
	int rc = check_timing(cfg, err, errlen);
	if (!rc)
		rc = exports_check(cfg, err, errlen);
	if (!rc)
		rc = build_probes(cfg, state, probes, &n, err, errlen);
	return rc;
}

static int health_reload(void *state, const struct sixfour_config *cfg, char *err,
			 size_t errlen)
{
	struct health *h = state;
	struct hprobe probes[CONFIG_MAX_PREFIXES];
	size_t n;
	int rc = build_probes(cfg, h, probes, &n, err, errlen);
	if (rc)
		return rc;
	memcpy(h->probes, probes, n * sizeof(probes[0]));
	h->nprobes = n;
	apply_timing(h, cfg);
	/* sixfourd publishes the new set after every subsystem agreed and
	 * makes ctx->cfg the new config; the timer (due at once) applies the
	 * verdicts to that set and brings the exports up to date. */
	h->republish = true;
	ev_timer_arm(h->timer, 0);
	return 0;
}

/* A new prefix set, ours or a reload's (then ctx->cfg is the new config
 * already): the exports take [export] again and follow. */
static void on_prefixes_changed(void *arg)
{
	struct health *h = arg;
	exports_reload(h->exports);
}

static void health_stop(void *state)
{
	struct health *h = state;
	if (h->ctx->datapath.notify_arg == h)
		h->ctx->datapath.notify = NULL;
	sixfour_unwatch_prefixes(h->ctx, h);
	sixfour_unwatch_role(h->ctx, h);
	ev_timer_free(h->timer);
	exports_free(h->exports);
	evloop_close_fd(h->ctx->loop, &h->sock);
	free(h);
}

const struct subsys_ops health_subsys = { SUBSYS_OPS(health), .run = health_run };
