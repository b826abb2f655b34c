/* rtnetlink set-up through libnl-route-3: see netlink.h. */
#include "autoconf.h"

#include <errno.h>
#include <netinet/in.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "nat64/netlink.h"

#define MAX_OWNED_ROUTES 128
/* Our routes carry this protocol number, so an operator can tell them
 * apart (`ip route show proto 64`) and so can we. */
#define SIXFOUR_RTPROT 64

struct nat64_nl {
	struct nl_sock *sk;
	struct nl_sock *ev;		/* address events */
	bool ev_changed;
	struct nat64_route owned[MAX_OWNED_ROUTES];
	int owned_ifindex;
	size_t nowned;
	bool rule_added;
	uint32_t rule_mark, rule_table, rule_prio;
	bool local_moved;		/* "lookup local" moved from 0 to rule_prio + 1 */
	/* A cluster standby's routes of the prefixes via the active node. */
	struct cidr detour[MAX_OWNED_ROUTES];
	struct in6_addr detour_gw;
	size_t ndetour;
	bool detour_rule;		/* "iif lo lookup NAT64_NL_DETOUR_TABLE" added */
};

static int nlerr(int e)
{
	/* libnl's own codes; the few that matter map to errno. */
	switch (-e) {
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_INVAL: return -EINVAL;
	case NLE_NODEV: return -ENODEV;
	default: return e < 0 ? -EIO : 0;
	}
}

struct nat64_nl *nat64_nl_open(void)
{
	struct nat64_nl *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->sk = nl_socket_alloc();
	if (!nl->sk || nl_connect(nl->sk, NETLINK_ROUTE) < 0) {
		log_err("nat64: cannot open rtnetlink");
		if (nl->sk)
			nl_socket_free(nl->sk);
		free(nl);
		return NULL;
	}
	return nl;
}

static struct nl_addr *cidr_to_nl(const struct cidr *c)
{
	struct nl_addr *a = c->family == AF_INET ?
		nl_addr_build(AF_INET, &c->addr.v4, 4) : nl_addr_build(AF_INET6, &c->addr.v6, 16);
	if (a)
		nl_addr_set_prefixlen(a, c->len);
	return a;
}

/* A unicast route of ours to `dst` in `table` through one next hop: the
 * TUN (`ifindex`, scope link), or a gateway `gw` with `metric`. */
static struct rtnl_route *build_route_via(const struct cidr *dst, uint32_t table, int ifindex,
					  const struct in6_addr *gw, uint32_t metric)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *d = cidr_to_nl(dst), *g = gw ? nl_addr_build(AF_INET6, gw, 16) : NULL;
	if (!route || !nh || !d || (gw && !g)) {
		if (route)
			rtnl_route_put(route);
		if (nh)
			rtnl_route_nh_free(nh);
		if (d)
			nl_addr_put(d);
		if (g)
			nl_addr_put(g);
		return NULL;
	}
	rtnl_route_set_family(route, (uint8_t)dst->family);
	rtnl_route_set_dst(route, d);
	nl_addr_put(d);
	rtnl_route_set_table(route, table);
	rtnl_route_set_protocol(route, SIXFOUR_RTPROT);
	rtnl_route_set_type(route, RTN_UNICAST);
	if (g) {
		rtnl_route_set_priority(route, metric);
		rtnl_route_nh_set_gateway(nh, g);
		nl_addr_put(g);
	} else {
		rtnl_route_set_scope(route, RT_SCOPE_LINK);
		rtnl_route_nh_set_ifindex(nh, ifindex);
	}
	rtnl_route_add_nexthop(route, nh);
	return route;
}

static struct rtnl_route *build_route(const struct nat64_route *r, int ifindex)
{
	return build_route_via(&r->dst, r->table, ifindex, NULL, 0);
}

static int route_change(struct nat64_nl *nl, const struct nat64_route *r, int ifindex, bool add)
{
	struct rtnl_route *route = build_route(r, ifindex);
	if (!route)
		return -ENOMEM;
	int rc = add ? rtnl_route_add(nl->sk, route, NLM_F_CREATE | NLM_F_REPLACE)
		     : rtnl_route_delete(nl->sk, route, 0);
	rtnl_route_put(route);
	char buf[64];
	cidr_format(&r->dst, buf, sizeof(buf));
	if (rc < 0) {
		if (!add && rc == -NLE_OBJ_NOTFOUND)
			return 0;	/* gone with the device already */
		log_warn("nat64: %s route %s table %u: %s", add ? "adding" : "removing", buf,
			 r->table, nl_geterror(rc));
		return nlerr(rc);
	}
	log_debug("nat64: %s route %s table %u", add ? "added" : "removed", buf, r->table);
	return 0;
}

static bool route_eq(const struct nat64_route *a, const struct nat64_route *b)
{
	if (a->table != b->table || a->dst.family != b->dst.family || a->dst.len != b->dst.len)
		return false;
	return a->dst.family == AF_INET ? a->dst.addr.v4.s_addr == b->dst.addr.v4.s_addr
					: memcmp(&a->dst.addr.v6, &b->dst.addr.v6, 16) == 0;
}

int nat64_nl_link_up(struct nat64_nl *nl, const char *dev, unsigned mtu, const char *kind)
{
	struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
	int rc = rtnl_link_get_kernel(nl->sk, 0, dev, &link);
	if (rc < 0 || !change) {
		if (change)
			rtnl_link_put(change);
		if (link)
			rtnl_link_put(link);
		log_err("nat64: link %s: %s", dev, rc < 0 ? nl_geterror(rc) : "out of memory");
		return rc < 0 ? nlerr(rc) : -ENOMEM;
	}
	const char *type = rtnl_link_get_type(link);
	if (kind && (!type || strcmp(type, kind) != 0)) {
		log_err("nat64: link %s is %s, not %s", dev, type ? type : "of no kind", kind);
		rtnl_link_put(change);
		rtnl_link_put(link);
		return -ENODEV;
	}
	rtnl_link_set_flags(change, IFF_UP);
	rtnl_link_set_mtu(change, mtu);
	rc = rtnl_link_change(nl->sk, link, change, 0);
	int ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(change);
	rtnl_link_put(link);
	if (rc < 0) {
		log_err("nat64: bringing %s up with MTU %u: %s", dev, mtu, nl_geterror(rc));
		return nlerr(rc);
	}
	return ifindex;
}

int nat64_nl_sync_routes(struct nat64_nl *nl, int ifindex, const struct nat64_route *want,
			 size_t n)
{
	int first = 0;
	if (n > MAX_OWNED_ROUTES)
		n = MAX_OWNED_ROUTES;
	/* Remove ours that are no longer wanted (or on an old device). */
	for (size_t i = 0; i < nl->nowned;) {
		bool keep = nl->owned_ifindex == ifindex;
		for (size_t k = 0; keep && k < n; k++)
			if (route_eq(&nl->owned[i], &want[k]))
				goto next;
		route_change(nl, &nl->owned[i], nl->owned_ifindex, false);
		nl->owned[i] = nl->owned[--nl->nowned];
		continue;
next:
		i++;
	}
	nl->owned_ifindex = ifindex;
	for (size_t k = 0; k < n; k++) {
		bool have = false;
		for (size_t i = 0; i < nl->nowned && !have; i++)
			have = route_eq(&nl->owned[i], &want[k]);
		if (have)
			continue;
		int rc = route_change(nl, &want[k], ifindex, true);
		if (rc == 0)
			nl->owned[nl->nowned++] = want[k];
		else if (!first)
			first = rc;
	}
	return first;
}

/* One policy rule "[iif IIF] [fwmark MARK] lookup TABLE" at `prio`. */
static int rule_change(struct nat64_nl *nl, int family, uint32_t prio, uint32_t table,
		       uint32_t mark, const char *iif, bool add)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();
	if (!rule)
		return -ENOMEM;
	rtnl_rule_set_family(rule, family);
	rtnl_rule_set_prio(rule, prio);
	rtnl_rule_set_table(rule, table);
	rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
	if (mark) {
		rtnl_rule_set_mark(rule, mark);
		rtnl_rule_set_mask(rule, UINT32_MAX);
	}
	if (iif)
		rtnl_rule_set_iif(rule, iif);
	int rc = add ? rtnl_rule_add(nl->sk, rule, NLM_F_CREATE | NLM_F_EXCL)
		     : rtnl_rule_delete(nl->sk, rule, 0);
	rtnl_rule_put(rule);
	return rc < 0 ? nlerr(rc) : 0;
}

/* The IPv4 steering rules (fwmark, and the local table moved behind it). */
static int rule4_change(struct nat64_nl *nl, uint32_t prio, uint32_t table, uint32_t mark,
			bool add)
{
	return rule_change(nl, AF_INET, prio, table, mark, NULL, add);
}

int nat64_nl_steer_rule(struct nat64_nl *nl, uint32_t mark, uint32_t table, uint32_t prio)
{
	if (nl->rule_added)
		return 0;
	int rc = rule4_change(nl, prio, table, mark, true);
	if (rc != 0 && rc != -EEXIST) {
		log_err("nat64: policy rule fwmark %#x lookup %u: %s", mark, table, strerror(-rc));
		return rc;
	}
	nl->rule_added = true;
	nl->rule_mark = mark;
	nl->rule_table = table;
	nl->rule_prio = prio;
	/* Rules of equal priority keep insertion order and the kernel's
	 * "from all lookup local" sits at 0, so it would deliver steered
	 * packets locally first. Give it a place right behind ours. */
	rc = rule4_change(nl, prio + 1, RT_TABLE_LOCAL, 0, true);
	if (rc != 0 && rc != -EEXIST) {
		log_err("nat64: adding lookup local at %u: %s", prio + 1, strerror(-rc));
		return rc;
	}
	/* ENOENT: a run that crashed moved it already; restore it on exit. */
	rc = rule4_change(nl, 0, RT_TABLE_LOCAL, 0, false);
	if (rc == 0 || rc == -ENOENT)
		nl->local_moved = true;
	else
		log_warn("nat64: removing lookup local at 0: %s", strerror(-rc));
	return 0;
}

int nat64_nl_host_ipv4(struct nat64_nl *nl, int skip_ifindex, struct in_addr *out, size_t max)
{
	struct nl_cache *cache = NULL;
	int rc = rtnl_addr_alloc_cache(nl->sk, &cache);
	if (rc < 0)
		return nlerr(rc);
	size_t n = 0;
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		if (rtnl_addr_get_family(a) != AF_INET || rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE ||
		    rtnl_addr_get_ifindex(a) == skip_ifindex)
			continue;
		struct nl_addr *l = rtnl_addr_get_local(a);
		if (!l || nl_addr_get_len(l) != 4 || n >= max)
			continue;
		memcpy(&out[n++], nl_addr_get_binary_addr(l), 4);
	}
	nl_cache_free(cache);
	return (int)n;
}

static int ev_valid(struct nl_msg *msg, void *arg)
{
	struct nat64_nl *nl = arg;
	nl->ev_changed = true;
	return NL_OK;
}

int nat64_nl_events_fd(struct nat64_nl *nl)
{
	if (nl->ev)
		return nl_socket_get_fd(nl->ev);
	nl->ev = nl_socket_alloc();
	if (!nl->ev)
		return -ENOMEM;
	nl_socket_disable_seq_check(nl->ev);
	nl_socket_modify_cb(nl->ev, NL_CB_VALID, NL_CB_CUSTOM, ev_valid, nl);
	if (nl_connect(nl->ev, NETLINK_ROUTE) < 0 ||
	    nl_socket_add_membership(nl->ev, RTNLGRP_IPV4_IFADDR) < 0 ||
	    nl_socket_set_nonblocking(nl->ev) < 0) {
		nl_socket_free(nl->ev);
		nl->ev = NULL;
		return -EIO;
	}
	return nl_socket_get_fd(nl->ev);
}

bool nat64_nl_events_read(struct nat64_nl *nl)
{
	nl->ev_changed = false;
	for (;;) {
		int rc = nl_recvmsgs_default(nl->ev);
		if (rc == -NLE_AGAIN || rc == 0)
			break;
		if (rc < 0) {
			/* ENOBUFS (events lost) and the like: the caller
			 * re-dumps the whole address set. */
			log_debug("nat64: address events: %s; re-reading", nl_geterror(rc));
			return true;
		}
	}
	return nl->ev_changed;
}

/* One route of `dst` via `gw` in the detour table, added or removed. */
static int detour_change(struct nat64_nl *nl, const struct cidr *dst, const struct in6_addr *gw,
			 bool add)
{
	struct rtnl_route *route =
		build_route_via(dst, NAT64_NL_DETOUR_TABLE, 0, gw, NAT64_NL_DETOUR_METRIC);
	int rc = -NLE_NOMEM;
	if (route) {
		rc = add ? rtnl_route_add(nl->sk, route, NLM_F_CREATE | NLM_F_REPLACE)
			 : rtnl_route_delete(nl->sk, route, 0);
		rtnl_route_put(route);
	}
	char buf[64];
	cidr_format(dst, buf, sizeof(buf));
	if (rc < 0 && !(!add && rc == -NLE_OBJ_NOTFOUND)) {
		log_warn("nat64: %s the standby route %s: %s", add ? "adding" : "removing", buf,
			 nl_geterror(rc));
		return nlerr(rc);
	}
	log_debug("nat64: %s standby route %s", add ? "added" : "removed", buf);
	return 0;
}

/* The rule that sends only the host's own packets ("iif lo") to the detour
 * table: what arrives from a link keeps the main table's TUN route. */
static int detour_rule(struct nat64_nl *nl, bool add)
{
	if (nl->detour_rule == add)
		return 0;
	int rc = rule_change(nl, AF_INET6, NAT64_NL_DETOUR_PRIO, NAT64_NL_DETOUR_TABLE, 0, "lo",
			     add);
	if (rc != 0 && rc != (add ? -EEXIST : -ENOENT)) {
		log_warn("nat64: %s the standby rule iif lo lookup %u: %s", add ? "adding" : "removing",
			 NAT64_NL_DETOUR_TABLE, strerror(-rc));
		return rc;
	}
	nl->detour_rule = add;
	return 0;
}

int nat64_nl_detour(struct nat64_nl *nl, const struct cidr *dst, size_t n,
		    const struct in6_addr *gw)
{
	for (size_t i = 0; i < nl->ndetour; i++)
		detour_change(nl, &nl->detour[i], &nl->detour_gw, false);
	nl->ndetour = 0;
	int first = n ? detour_rule(nl, true) : 0;
	if (first)
		return first;
	for (size_t i = 0; i < n && i < MAX_OWNED_ROUTES; i++) {
		int rc = detour_change(nl, &dst[i], gw, true);
		if (rc == 0) {
			nl->detour[nl->ndetour++] = dst[i];
			nl->detour_gw = *gw;
		} else if (!first) {
			first = rc;
		}
	}
	if (!nl->ndetour)
		detour_rule(nl, false);
	return first;
}

void nat64_nl_cleanup(struct nat64_nl *nl)
{
	if (!nl)
		return;
	nat64_nl_detour(nl, NULL, 0, NULL);
	for (size_t i = 0; i < nl->nowned; i++)
		route_change(nl, &nl->owned[i], nl->owned_ifindex, false);
	if (nl->rule_added) {
		int rc = nl->local_moved ? rule4_change(nl, 0, RT_TABLE_LOCAL, 0, true) : -1;
		if (rc == 0 || rc == -EEXIST)
			rule4_change(nl, nl->rule_prio + 1, RT_TABLE_LOCAL, 0, false);
		rule4_change(nl, nl->rule_prio, nl->rule_table, nl->rule_mark, false);
	}
	if (nl->ev)
		nl_socket_free(nl->ev);
	nl_socket_free(nl->sk);
	free(nl);
}
