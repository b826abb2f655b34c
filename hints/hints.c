/* The hints subsystem: config checks, the two sockets (raw ICMPv6 for RS
 * in and RA out, UDP 547 for DHCPv6), interface tracking and reload.
 *
 * Both sockets are shared by all interfaces and opened in start() while we
 * are root; per-interface work (multicast joins, RA destinations) goes by
 * interface index, which needs no privilege. So the subsystem keeps no
 * capabilities. The raw socket is opened even when no interface is
 * configured yet, so that a reload can start advertising; the DHCPv6 port
 * is opened whenever dhcpv6 = yes (when nothing is configured and the port
 * is taken, that is only a warning, and a later reload that needs it is
 * refused with "restart"). */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/rfc6052.h"
#include "common/util.h"
#include "hints/hints.h"
#include "hints/hints_int.h"

#define RECV_BATCH 64

extern const struct ctl_command hints_commands[];

static const struct in6_addr all_routers = { { { 0xff, 0x02, [15] = 0x02 } } };
static const struct in6_addr all_dhcp = { { { 0xff, 0x02, [13] = 0x01, [15] = 0x02 } } };

/* --- sockets --- */

static int setopt_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int open_icmp(void)
{
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0)
		return -errno;
	struct icmp6_filter filt;
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ND_ROUTER_SOLICIT, &filt);
	int r = 0;
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0)
		r = -errno;
	/* RFC 4861 6.1.1/6.1.2: hop limit 255 both ways, so neither side can
	 * be fooled from off-link. */
	if (!r)
		r = setopt_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
	if (!r)
		r = setopt_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	if (!r)
		r = setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, RA_HOP_LIMIT);
	if (!r)
		r = setopt_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, RA_HOP_LIMIT);
	if (!r)
		r = setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

static int open_dhcp(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	int r = setopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	if (!r)
		r = setopt_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	if (!r)
		r = setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(DHCP6_SERVER_PORT),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	if (!r && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

static void group_change(int fd, const struct in6_addr *group, unsigned ifindex, bool join)
{
	if (fd < 0 || ifindex == 0)
		return;
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = *group, .ipv6mr_interface = ifindex };
	/* Leaving fails harmlessly when the interface is already gone. */
	if (setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mr,
		       sizeof(mr)) < 0 && join && errno != EADDRINUSE)
		log_warn("hints: joining a multicast group on interface %u: %s", ifindex,
			 strerror(errno));
}

static void iface_set_index(struct hints *h, struct ra_iface *ifc, unsigned idx)
{
	if (ifc->ifindex == idx)
		return;
	group_change(h->icmp_fd, &all_routers, ifc->ifindex, false);
	group_change(h->dhcp_fd, &all_dhcp, ifc->ifindex, false);
	if (idx)
		log_info("hints: %s: interface index %u", ifc->name, idx);
	else
		log_warn("hints: %s: interface is gone; waiting for it", ifc->name);
	ifc->ifindex = idx;
	ifc->nadv = 0;		/* a new link has heard nothing from us */
	group_change(h->icmp_fd, &all_routers, idx, true);
	group_change(h->dhcp_fd, &all_dhcp, idx, true);
	ra_iface_restart(ifc);
}

static struct ra_iface *iface_by_index(struct hints *h, unsigned idx)
{
	for (size_t i = 0; idx && i < h->nifaces; i++)
		if (h->ifaces[i]->ifindex == idx)
			return h->ifaces[i];
	return NULL;
}

/* Reads the packet info and hop limit a recvmsg() delivered. */
static void read_cmsgs(struct msghdr *msg, unsigned *ifindex, struct in6_addr *dst, int *hops)
{
	*ifindex = 0;
	*hops = -1;
	memset(dst, 0, sizeof(*dst));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != IPPROTO_IPV6)
			continue;
		if (cm->cmsg_type == IPV6_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			*ifindex = pi.ipi6_ifindex;
			*dst = pi.ipi6_addr;
		} else if (cm->cmsg_type == IPV6_HOPLIMIT && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			memcpy(hops, CMSG_DATA(cm), sizeof(int));
		}
	}
}

union cmsg_buf {
	struct cmsghdr align;
	uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
};

/* One datagram with its arrival interface, destination and hop limit. */
struct rx_dgram {
	uint8_t buf[1500];
	size_t len;
	struct sockaddr_in6 src;
	unsigned idx;
	struct in6_addr dst;
	int hops;
	bool truncated;		/* it did not fit in buf */
};

/* 0, or -1 when there is none (EAGAIN, or an error the next wake sees). */
static int recv_pktinfo(int fd, struct rx_dgram *d)
{
	union cmsg_buf cb;
	struct iovec iov = { d->buf, sizeof(d->buf) };
	struct msghdr msg = { .msg_name = &d->src, .msg_namelen = sizeof(d->src),
			      .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	ssize_t len = recvmsg(fd, &msg, 0);
	if (len < 0)
		return -1;
	read_cmsgs(&msg, &d->idx, &d->dst, &d->hops);
	d->len = (size_t)len;
	d->truncated = msg.msg_flags & MSG_TRUNC;
	return 0;
}

/* A Router Solicitation (RFC 4861 6.2.6): answered by the interface's
 * next RA. */
static void rs_one(struct hints *h, int fd, struct rx_dgram *d, struct ra_iface *ifc)
{
	(void)fd;
	enum ra_rs_verdict v;
	struct ra_rs_info info;
	if (!ifc)
		v = RA_RS_DROP_UNKNOWN_IFACE;
	else
		v = ra_rs_parse(d->buf, d->len, d->hops,
				IN6_IS_ADDR_UNSPECIFIED(&d->src.sin6_addr), &info);
	if (v != RA_RS_OK) {
		counter_inc(&h->c.rs_drops[v], 1);
		log_debug("hints: RS dropped: %s", ra_rs_verdict_name(v));
		return;
	}
	counter_inc(&h->c.ev[HINTS_C_rs_valid], 1);
	ra_iface_solicited(ifc);
}

/* An Information-request or Solicit (stateless DHCPv6, RFC 8415 18.2.6). */
static void dhcp_one(struct hints *h, int fd, struct rx_dgram *d, struct ra_iface *ifc)
{
	struct dhcp6_request req;
	enum dhcp6_verdict v;
	if (!ifc)
		v = DHCP6_DROP_UNKNOWN_IFACE;
	else if (!h->params->dhcpv6)
		v = DHCP6_DROP_DISABLED;	/* turned off by a reload */
	else if (!IN6_IS_ADDR_LINKLOCAL(&d->src.sin6_addr))
		/* RFC 8415 13.1: clients send from their link-local
		 * address; anything else would make us reflect
		 * answers off-link. */
		v = DHCP6_DROP_NOT_LINK_LOCAL;
	else if (d->truncated)
		v = DHCP6_DROP_OVERSIZED;
	else
		v = dhcp6_parse(d->buf, d->len, &req);
	if (v == DHCP6_OK)
		v = dhcp6_validate(&req, h->duid, h->duid_len, IN6_IS_ADDR_MULTICAST(&d->dst));
	uint8_t out[1500];
	int olen = 0;
	if (v == DHCP6_OK) {
		struct in6_addr dns[HINTS_MAX_RDNSS];
		struct dhcp6_server_info info = {
			.duid = h->duid, .duid_len = h->duid_len,
			.dns = dns, .ndns = ra_iface_resolvers(ifc, dns, ARRAY_SIZE(dns)),
			.domains = h->params->domains,
			.domains_len = h->params->domains_len,
			.refresh_s = h->params->info_refresh_s,
		};
		olen = dhcp6_build_answer(&req, &info, out, sizeof(out));
		if (olen < 0)
			v = DHCP6_DROP_TOO_BIG;
	}
	if (v != DHCP6_OK) {
		counter_inc(&h->c.dhcp6_drops[v], 1);
		log_debug("hints: DHCPv6 message dropped: %s", dhcp6_verdict_name(v));
		return;
	}
	/* RFC 8415 7.2: clients listen on port 546. */
	d->src.sin6_port = htons(DHCP6_CLIENT_PORT);
	d->src.sin6_scope_id = d->idx;
	if (sendto(fd, out, (size_t)olen, 0, (struct sockaddr *)&d->src, sizeof(d->src)) < 0) {
		counter_inc(&h->c.ev[HINTS_C_dhcp6_send_errors], 1);
		log_ratelimited(&h->log_lim, LOG_LVL_WARN, "hints: %s: DHCPv6 send: %s",
				ifc->name, strerror(errno));
		return;
	}
	counter_inc(&h->c.dhcp6_answers[req.type == DHCP6_SOLICIT ? HINTS_DHCP6_advertise :
					    HINTS_DHCP6_reply], 1);
}

/* Up to RECV_BATCH datagrams from fd, each to `one` with the interface it
 * arrived on (NULL: not one of ours). */
static void each_dgram(struct hints *h, int fd,
		       void (*one)(struct hints *, int, struct rx_dgram *, struct ra_iface *))
{
	struct rx_dgram d;
	for (int n = 0; n < RECV_BATCH && recv_pktinfo(fd, &d) == 0; n++)
		one(h, fd, &d, iface_by_index(h, d.idx));
}

static void on_icmp(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	each_dgram(arg, fd, rs_one);
}

static void on_dhcp(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	each_dgram(arg, fd, dhcp_one);
}

/* A new version of the prefix set (reload, health verdicts): RFC 4861
 * 6.2.4 lets us announce it with fast RAs, so a withdrawn PREF64 goes out
 * with lifetime 0 as soon as the 6.2.6 spacing of multicast RAs allows.
 * Called by the publisher at once (sixfour_watch_prefixes). */
static void on_prefixes(void *arg)
{
	struct hints *h = arg;
	const struct prefix_set *set = prefix_pub_current(h->ctx->prefixes);
	if (set && set->generation != h->prefix_generation) {
		h->prefix_generation = set->generation;
		log_debug("hints: prefix set generation %llu",
			  (unsigned long long)set->generation);
		for (size_t i = 0; i < h->nifaces; i++)
			ra_iface_restart(h->ifaces[i]);
	}
}

/* A cluster node's role changed (doc/cluster.md): a node that becomes
 * active starts advertising at once, with fast RAs; a standby falls silent. */
static void on_role(void *arg)
{
	struct hints *h = arg;
	for (size_t i = 0; i < h->nifaces; i++)
		ra_iface_restart(h->ifaces[i]);
}

/* Links or addresses changed (netlink events): follow interface indexes
 * (an interface may appear late or be recreated), and announce a new
 * resolver address on the link with fast RAs (RFC 4861 6.2.4). */
static void refresh(void *arg)
{
	struct hints *h = arg;
	for (size_t i = 0; i < h->nifaces; i++) {
		struct ra_iface *ifc = h->ifaces[i];
		struct hints_link l;
		hints_addrs_link(h->addrs, ifc->name, &l);
		struct in6_addr before[1], after[1];
		size_t nb = ra_iface_resolvers(ifc, before, 1);
		ifc->link = l;
		size_t na = ra_iface_resolvers(ifc, after, 1);
		bool moved = nb != na || (na && memcmp(before, after, sizeof(after)) != 0);
		if (ifc->ifindex != l.ifindex)
			iface_set_index(h, ifc, l.ifindex);
		else if (moved && l.ifindex)
			ra_iface_restart(ifc);
	}
}

/* --- DUID --- */

/* RFC 8415 11: stable across restarts. DUID-LL from the first configured
 * interface that has an Ethernet address; else DUID-UUID derived from
 * /etc/machine-id (mixed, so the raw machine id does not go on the wire). */
static void make_duid(struct hints *h)
{
	for (size_t i = 0; i < h->params->nifaces && !h->duid_len; i++) {
		struct hints_link l;
		hints_addrs_link(h->addrs, h->params->ifaces[i], &l);
		if (l.has_mac)
			h->duid_len = (size_t)dhcp6_duid_ll(h->duid, sizeof(h->duid), ARPHRD_ETHER,
							    l.mac, 6);
	}
	if (h->duid_len)
		return;
	uint8_t uuid[16] = { 0 };
	char id[64] = "";
	int fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, id, sizeof(id) - 1);
		id[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	if (!id[0]) {
		log_warn("hints: no Ethernet interface and no /etc/machine-id; the DHCPv6 "
			 "server id changes with every restart");
		if (getrandom(uuid, sizeof(uuid), 0) != sizeof(uuid))
			memset(uuid, 0x5f, sizeof(uuid));
	} else {
		/* Two FNV-1a lanes with different seeds over "sixfour-dhcpv6" + id. */
		uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
		const char *salt = "sixfour-dhcpv6:";
		for (const char *s = salt; *s; s++) {
			a = (a ^ (uint8_t)*s) * 0x100000001b3ull;
			b = (b ^ (uint8_t)*s) * 0x100000001b3ull;
		}
		for (const char *s = id; *s && *s != '\n'; s++) {
			a = (a ^ (uint8_t)*s) * 0x100000001b3ull;
			b = (b ^ (uint8_t)*s ^ 0x5a) * 0x100000001b3ull;
		}
		for (int i = 0; i < 8; i++) {
			uuid[i] = (uint8_t)(a >> (8 * i));
			uuid[8 + i] = (uint8_t)(b >> (8 * i));
		}
		uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x50);	/* RFC 4122 name-based */
		uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
	}
	h->duid_len = (size_t)dhcp6_duid_uuid(h->duid, sizeof(h->duid), uuid);
}

/* --- life cycle --- */

static void hints_stop(void *state);

static int apply_ifaces(struct hints *h, const struct hints_params *p)
{
	/* Interfaces no longer listed get their final RA (RFC 4861 6.2.5). */
	for (size_t i = 0; i < h->nifaces;) {
		bool keep = false;
		for (size_t j = 0; j < p->nifaces; j++)
			keep |= strcmp(h->ifaces[i]->name, p->ifaces[j]) == 0;
		if (keep) {
			i++;
			continue;
		}
		struct ra_iface *ifc = h->ifaces[i];
		log_notice("hints: %s: no longer advertising", ifc->name);
		unsigned idx = ifc->ifindex;
		ra_iface_free(ifc, true);
		group_change(h->icmp_fd, &all_routers, idx, false);
		group_change(h->dhcp_fd, &all_dhcp, idx, false);
		h->ifaces[i] = h->ifaces[--h->nifaces];
	}
	for (size_t j = 0; j < p->nifaces; j++) {
		bool have = false;
		for (size_t i = 0; i < h->nifaces; i++)
			have |= strcmp(h->ifaces[i]->name, p->ifaces[j]) == 0;
		if (have)
			continue;
		struct ra_iface *ifc = ra_iface_new(h, p->ifaces[j]);
		if (!ifc)
			return -ENOMEM;
		h->ifaces[h->nifaces++] = ifc;
	}
	return 0;
}

static void *hints_start(struct sixfour_ctx *ctx)
{
	struct hints *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	*h = (struct hints){ .ctx = ctx, .loop = ctx->loop, .icmp_fd = -1, .dhcp_fd = -1,
			     .log_lim = { .interval_ms = 10000, .burst = 5 } };
	if (getrandom(&h->rng, sizeof(h->rng), 0) != sizeof(h->rng))
		h->rng = monotonic_us();
	h->rng |= 1;
	char err[256];
	h->params = hints_params_build(ctx->cfg, err, sizeof(err));
	if (!h->params) {
		log_err("hints: %s", err);
		goto fail;
	}
	int fd = open_icmp();
	if (fd < 0) {
		log_err("hints: raw ICMPv6 socket: %s", strerror(-fd));
		goto fail;
	}
	h->icmp_fd = fd;
	if (evloop_add_fd(h->loop, fd, EPOLLIN, on_icmp, h) != 0)
		goto fail;
	if (h->params->dhcpv6) {
		fd = open_dhcp();
		if (fd < 0 && h->params->nifaces == 0) {
			log_warn("hints: DHCPv6 socket on port %d: %s (no interface needs it yet)",
				 DHCP6_SERVER_PORT, strerror(-fd));
		} else if (fd < 0) {
			log_err("hints: DHCPv6 socket on port %d: %s", DHCP6_SERVER_PORT,
				strerror(-fd));
			goto fail;
		} else {
			h->dhcp_fd = fd;
			if (evloop_add_fd(h->loop, fd, EPOLLIN, on_dhcp, h) != 0)
				goto fail;
		}
	}
	int nlerr;
	h->addrs = hints_addrs_new(h->loop, refresh, h, &nlerr);
	if (!h->addrs)
		goto fail;
	make_duid(h);
	if (apply_ifaces(h, h->params) != 0)
		goto fail;
	const struct prefix_set *set = prefix_pub_current(ctx->prefixes);
	h->prefix_generation = set ? set->generation : 0;
	refresh(h);		/* indexes and addresses: the first RAs */
	if (sixfour_watch_prefixes(ctx, on_prefixes, h) != 0 ||
	    sixfour_watch_role(ctx, on_role, h) != 0)
		goto fail;
	log_notice("hints: advertising on %zu interface(s)%s", h->nifaces,
		   h->dhcp_fd >= 0 ? ", stateless DHCPv6 on" : "");
	return h;
fail:
	hints_stop(h);
	return NULL;
}

/* UDP port 547 is opened at start only: a reload cannot turn DHCPv6 on. */
static int dhcpv6_needs_restart(const struct hints *h, const struct hints_params *p, char *err,
				size_t errlen)
{
	if (!p->nifaces || !p->dhcpv6 || h->dhcp_fd >= 0)
		return 0;
	snprintf(err, errlen, "[hints] dhcpv6 was off (or port 547 busy) at start; restart "
		 "sixfourd to open UDP port 547");
	return -EINVAL;
}

static int hints_check(void *state, const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct hints *h = state;
	struct hints_params *p = hints_params_build(cfg, err, errlen);
	if (!p)
		return -EINVAL;
	int rc = h ? dhcpv6_needs_restart(h, p, err, errlen) : 0;
	hints_params_free(p);
	return rc;
}

static int hints_reload(void *state, const struct sixfour_config *cfg, char *err, size_t errlen)
{
	struct hints *h = state;
	struct hints_params *p = hints_params_build(cfg, err, errlen);
	if (!p)
		return -EINVAL;
	if (dhcpv6_needs_restart(h, p, err, errlen) != 0) {
		hints_params_free(p);
		return -EINVAL;
	}
	if (apply_ifaces(h, p) != 0) {
		snprintf(err, errlen, "out of memory");
		hints_params_free(p);
		return -ENOMEM;
	}
	struct hints_params *old = h->params;
	h->params = p;
	hints_params_free(old);
	/* RFC 4861 6.2.4: changed information goes out with fast RAs; new
	 * interfaces get their index and addresses at once. */
	for (size_t i = 0; i < h->nifaces; i++)
		ra_iface_restart(h->ifaces[i]);
	refresh(h);
	on_prefixes(h);
	return 0;
}

static void hints_stop(void *state)
{
	struct hints *h = state;
	if (!h)
		return;
	sixfour_unwatch_prefixes(h->ctx, h);
	sixfour_unwatch_role(h->ctx, h);
	for (size_t i = 0; i < h->nifaces; i++)
		ra_iface_free(h->ifaces[i], true);
	h->nifaces = 0;
	hints_addrs_free(h->addrs);
	evloop_close_fd(h->loop, &h->icmp_fd);
	evloop_close_fd(h->loop, &h->dhcp_fd);
	hints_params_free(h->params);
	free(h);
}

const struct subsys_ops hints_subsys = {
	SUBSYS_OPS(hints),
	.caps = 0,	/* sockets are opened in start(); see the top of this file */
};
