/* Per-interface Router Advertisement sender (RFC 4861 6.2): timers with
 * initial fast RAs, solicited RAs rate-limited as 6.2.6 says, and a final
 * RA with zero lifetimes when the interface stops advertising. The RA is
 * built anew every time from the running parameters and the current prefix
 * set, so a prefix change shows up in the next RA. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/counters.h"
#include "common/evloop.h"
#include "common/rfc6052.h"
#include "common/subsys.h"
#include "common/util.h"
#include "hints/hints_int.h"

#define RA_BUF_SIZE 1280		/* fits the IPv6 minimum MTU */

/* RFC 9096 3: lifetimes short enough for hosts to notice renumbering. */
#define PIO_VALID_S 5400u
#define PIO_PREFERRED_S 2700u

static const struct in6_addr all_nodes = { { { 0xff, 0x02, [15] = 0x01 } } };

uint64_t hints_random(struct hints *h, uint64_t n)
{
	/* xorshift64: jitter for timers, not cryptography. */
	uint64_t x = h->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	h->rng = x;
	return n ? x % n : 0;
}

bool hints_prefix_advertised(const struct prefix_info *p)
{
	/* A probed prefix follows its health verdict; an unprobed one is
	 * advertised for as long as it has the role (its `active` only says
	 * whether DNS64 synthesizes with it). */
	if (!(p->roles & PREFIX_ROLE_ADVERTISE) || !rfc6052_len_valid(p->len))
		return false;
	return p->active || !(p->roles & PREFIX_ROLE_PROBE);
}

size_t ra_iface_resolvers(const struct ra_iface *ifc, struct in6_addr *out, size_t max)
{
	const struct hints_params *prm = ifc->h->params;
	if (prm->nrdnss) {
		size_t n = MIN(prm->nrdnss, max);
		memcpy(out, prm->rdnss, n * sizeof(*out));
		return n;
	}
	const struct hints_link *l = &ifc->link;
	if (max == 0 || (!l->has_global && !l->has_ll))
		return 0;
	out[0] = l->has_global ? l->global : l->ll;
	return 1;
}

static bool adv_contains(const struct hints_adv_prefix *v, size_t n, const struct in6_addr *a,
			 uint8_t len)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].len == len && memcmp(&v[i].addr, a, sizeof(*a)) == 0)
			return true;
	return false;
}

/* Appends an option encoder's result; a full buffer drops the option with
 * a rate-limited warning rather than the whole RA. */
static void append(struct ra_iface *ifc, size_t *off, int r, const char *what)
{
	if (r >= 0) {
		*off += (size_t)r;
		return;
	}
	log_ratelimited(&ifc->h->log_lim, LOG_LVL_WARN, "hints: %s: %s option left out: %s",
			ifc->name, what, strerror(-r));
}

/* Builds the RA; `final` zeroes the router and option lifetimes
 * (RFC 4861 6.2.5, RFC 8106 5.1, RFC 8781 4.1). The PREF64 prefixes it
 * carries with a lifetime go to now[]; ra_send() remembers them once the
 * RA is out, so a withdrawal is not lost to a failed send. */
static size_t ra_build(struct ra_iface *ifc, bool final, uint8_t *buf, size_t cap,
		       struct hints_adv_prefix *now, size_t *nnow_out)
{
	struct hints *h = ifc->h;
	const struct hints_params *prm = h->params;
	struct ra_header hdr = {
		.cur_hop_limit = 0,	/* unspecified: hosts keep their own */
		.flags = prm->dhcpv6 ? RA_FLAG_OTHER : 0,
		.router_lifetime_s = final ? 0 : prm->router_lifetime_s,
	};
	size_t off = 0;
	append(ifc, &off, ra_encode_header(buf, cap, &hdr), "header");

	const struct hints_link *l = &ifc->link;
	if (l->has_mac && cap - off >= 8) {
		/* RFC 4861 6.2.3: the source link-layer address saves hosts a
		 * Neighbor Solicitation. */
		buf[off] = RA_OPT_SOURCE_LLADDR;
		buf[off + 1] = 1;
		memcpy(buf + off + 2, l->mac, 6);
		off += 8;
	}
	if (prm->mtu)
		append(ifc, &off, ra_encode_mtu(buf + off, cap - off, prm->mtu), "MTU");
	for (size_t i = 0; i < prm->nslaac; i++)
		append(ifc, &off, ra_encode_pio(buf + off, cap - off, &prm->slaac[i].addr.v6,
						prm->slaac[i].len,
						final ? 0 : MAX(PIO_VALID_S, prm->dns_lifetime_s),
						final ? 0 : PIO_PREFERRED_S),
		       "prefix information");

	uint32_t dns_life = final ? 0 : prm->dns_lifetime_s;
	struct in6_addr rdnss[HINTS_MAX_RDNSS];
	size_t nrdnss = ra_iface_resolvers(ifc, rdnss, ARRAY_SIZE(rdnss));
	if (nrdnss)
		append(ifc, &off, ra_encode_rdnss(buf + off, cap - off, rdnss, nrdnss, dns_life),
		       "RDNSS");
	if (prm->ndnssl)
		append(ifc, &off, ra_encode_dnssl(buf + off, cap - off, prm->dnssl, prm->ndnssl,
						  dns_life), "DNSSL");

	/* PREF64 (RFC 8781): the set as it is now, then a lifetime-0 option
	 * for each prefix the previous RA carried and this one does not. */
	const struct prefix_set *set = prefix_pub_current(h->ctx->prefixes);
	size_t nnow = 0;
	for (size_t i = 0; set && i < set->count && nnow < CONFIG_MAX_PREFIXES; i++) {
		const struct prefix_info *p = &set->prefixes[i];
		if (!hints_prefix_advertised(p))
			continue;
		append(ifc, &off, ra_encode_pref64(buf + off, cap - off, &p->addr, p->len,
						   final ? 0 : prm->pref64_lifetime_s), "PREF64");
		now[nnow].addr = p->addr;
		now[nnow].len = p->len;
		nnow++;
	}
	for (size_t i = 0; i < ifc->nadv; i++) {
		if (adv_contains(now, nnow, &ifc->adv[i].addr, ifc->adv[i].len))
			continue;
		append(ifc, &off, ra_encode_pref64(buf + off, cap - off, &ifc->adv[i].addr,
						   ifc->adv[i].len, 0), "PREF64 withdrawal");
	}
	*nnow_out = final ? 0 : nnow;
	return off;
}

/* The RA went out: log and count withdrawals, remember what it carried. */
static void commit_advertised(struct ra_iface *ifc, const struct hints_adv_prefix *now,
			      size_t nnow)
{
	for (size_t i = 0; i < ifc->nadv; i++) {
		if (adv_contains(now, nnow, &ifc->adv[i].addr, ifc->adv[i].len))
			continue;
		counter_inc(&ifc->h->c.ev[HINTS_C_pref64_withdrawn], 1);
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &ifc->adv[i].addr, a, sizeof(a));
		log_info("hints: %s: PREF64 %s/%u withdrawn (lifetime 0)", ifc->name, a,
			 ifc->adv[i].len);
	}
	memcpy(ifc->adv, now, nnow * sizeof(now[0]));
	ifc->nadv = nnow;
}

/* Sends one RA to all-nodes on the interface; 0 or -errno. */
static int ra_send(struct ra_iface *ifc, bool final)
{
	struct hints *h = ifc->h;
	if (h->icmp_fd < 0 || ifc->ifindex == 0)
		return -ENODEV;
	uint8_t buf[RA_BUF_SIZE];
	struct hints_adv_prefix now[CONFIG_MAX_PREFIXES];
	size_t nnow;
	size_t len = ra_build(ifc, final, buf, sizeof(buf), now, &nnow);
	struct sockaddr_in6 dst = {
		.sin6_family = AF_INET6,
		.sin6_addr = all_nodes,
		.sin6_scope_id = ifc->ifindex,
	};
	union {
		struct cmsghdr hdr;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { buf, len };
	struct msghdr msg = {
		.msg_name = &dst, .msg_namelen = sizeof(dst),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
	};
	/* The kernel picks our link-local source for the link-scope
	 * destination, as RFC 4861 6.1.2 requires of RAs. */
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = IPPROTO_IPV6;
	cm->cmsg_type = IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
	struct in6_pktinfo pi = { .ipi6_ifindex = ifc->ifindex };
	/* The active node of a cluster speaks as the virtual router: hosts keep
	 * one default router when another node takes the address over. */
	if (h->params->has_vrouter)
		pi.ipi6_addr = h->params->vrouter;
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	if (sendmsg(h->icmp_fd, &msg, 0) < 0) {
		int err = errno;
		counter_inc(&h->c.ev[HINTS_C_ra_send_errors], 1);
		log_ratelimited(&h->log_lim, LOG_LVL_WARN, "hints: %s: sending RA: %s", ifc->name,
				strerror(err));
		return -err;
	}
	commit_advertised(ifc, now, nnow);
	counter_inc(&h->c.ra_sent[final ? HINTS_RA_final : ifc->solicited_pending ?
				  HINTS_RA_solicited : HINTS_RA_unsolicited], 1);
	ifc->sent++;
	ifc->last_mcast_ms = evloop_now_ms(h->loop);
	return 0;
}

static void arm_at(struct ra_iface *ifc, uint64_t due_ms)
{
	uint64_t now = evloop_now_ms(ifc->h->loop);
	ifc->due_ms = due_ms;
	ev_timer_arm(ifc->timer, due_ms > now ? due_ms - now : 0);
}

/* RFC 4861 6.2.4: the next unsolicited RA comes a uniformly random time
 * between MinRtrAdvInterval and MaxRtrAdvInterval later, at most
 * MAX_INITIAL_RTR_ADVERT_INTERVAL apart during the initial ones. */
static void schedule_next(struct ra_iface *ifc)
{
	const struct hints_params *prm = ifc->h->params;
	uint64_t span = prm->max_interval_ms - prm->min_interval_ms;
	uint64_t delay = prm->min_interval_ms + hints_random(ifc->h, span + 1);
	if (ifc->initial_left > 0 && delay > RA_MAX_INITIAL_INTERVAL_MS)
		delay = RA_MAX_INITIAL_INTERVAL_MS;
	arm_at(ifc, evloop_now_ms(ifc->h->loop) + delay);
}

/* A cluster standby sends no RA at all (doc/cluster.md): it is not a router
 * hosts should use, and only the active node speaks for the virtual router,
 * so PREF64 and RDNSS come from one source whichever node is active (a
 * standby that cannot probe through the active node could otherwise
 * withdraw them). The role watcher restarts the RAs when it becomes active. */
static bool silent(const struct ra_iface *ifc)
{
	return ifc->h->ctx->role.role == SIXFOUR_ROLE_STANDBY;
}

static void on_timer(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct ra_iface *ifc = arg;
	(void)loop;
	(void)t;
	if (ifc->ifindex == 0 || silent(ifc))
		return;		/* a link event (or the role) restarts us */
	if (ra_send(ifc, false) != 0) {
		/* No link-local address yet, or the link is down: try again
		 * soon without spending an initial RA. */
		arm_at(ifc, evloop_now_ms(ifc->h->loop) + 1000);
		return;
	}
	ifc->solicited_pending = false;
	if (ifc->initial_left > 0)
		ifc->initial_left--;
	schedule_next(ifc);
}

struct ra_iface *ra_iface_new(struct hints *h, const char *name)
{
	struct ra_iface *ifc = calloc(1, sizeof(*ifc));
	if (!ifc)
		return NULL;
	*ifc = (struct ra_iface){ .h = h };
	strlcpy_ok(ifc->name, name, sizeof(ifc->name));
	ifc->timer = ev_timer_new(h->loop, on_timer, ifc);
	if (!ifc->timer) {
		free(ifc);
		return NULL;
	}
	return ifc;
}

void ra_iface_restart(struct ra_iface *ifc)
{
	ifc->initial_left = RA_MAX_INITIAL_ADVERTS;
	if (ifc->ifindex == 0 || silent(ifc)) {
		ev_timer_cancel(ifc->timer);
		return;
	}
	/* Keep MIN_DELAY_BETWEEN_RAS from the last one (RFC 4861 6.2.6 rate
	 * limit applies to every multicast RA) but otherwise send now. */
	uint64_t now = evloop_now_ms(ifc->h->loop);
	uint64_t due = now + hints_random(ifc->h, RA_MAX_DELAY_MS + 1);
	if (ifc->last_mcast_ms && ifc->last_mcast_ms + RA_MIN_DELAY_BETWEEN_MS > due)
		due = ifc->last_mcast_ms + RA_MIN_DELAY_BETWEEN_MS;
	arm_at(ifc, due);
}

void ra_iface_solicited(struct ra_iface *ifc)
{
	if (ifc->ifindex == 0 || silent(ifc))
		return;
	/* RFC 4861 6.2.6: answer after a random delay up to MAX_RA_DELAY_TIME,
	 * never sooner than MIN_DELAY_BETWEEN_RAS after the previous multicast
	 * RA, and never postpone an RA that is already due sooner. A flood of
	 * RSs therefore collapses into one RA per 3 seconds. */
	uint64_t now = evloop_now_ms(ifc->h->loop);
	uint64_t due = now + hints_random(ifc->h, RA_MAX_DELAY_MS + 1);
	if (ifc->last_mcast_ms && ifc->last_mcast_ms + RA_MIN_DELAY_BETWEEN_MS > due)
		due = ifc->last_mcast_ms + RA_MIN_DELAY_BETWEEN_MS;
	if (ev_timer_armed(ifc->timer) && ifc->due_ms <= due)
		return;
	ifc->solicited_pending = true;
	arm_at(ifc, due);
}

void ra_iface_free(struct ra_iface *ifc, bool send_final)
{
	if (!ifc)
		return;
	/* In a cluster, zero lifetimes would withdraw what the next active node
	 * serves under the same virtual router address. */
	if (send_final && ifc->ifindex && ifc->sent > 0 && !ifc->h->params->cluster)
		ra_send(ifc, true);
	ev_timer_free(ifc->timer);
	free(ifc);
}
