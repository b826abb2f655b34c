/* Routing set-up for the translator over rtnetlink (libnl-route-3): the
 * TUN link, routes to it, the policy rule for steered traffic, the host's
 * IPv4 addresses and their changes. Everything added is remembered and
 * removed by nat64_nl_cleanup(); nat64_nl_sync_routes() reconciles the
 * route set on reload. */
#ifndef SIXFOUR_NAT64_NETLINK_H
#define SIXFOUR_NAT64_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/util.h"

struct nat64_nl;

/* A route the translator wants: `dst` through the TUN device in `table`. */
struct nat64_route {
	struct cidr dst;
	uint32_t table;
};

struct nat64_nl *nat64_nl_open(void);
/* Removes what was added (routes, rules, the moved local rule) and closes. */
void nat64_nl_cleanup(struct nat64_nl *nl);

/* Brings `dev` up with `mtu`; returns its ifindex or -errno (-ENODEV also
 * when `kind` is not NULL and the link is of another kind, e.g. "tun"). */
int nat64_nl_link_up(struct nat64_nl *nl, const char *dev, unsigned mtu, const char *kind);
/* Makes the kernel's route set through `ifindex` equal `want` (adds the
 * missing, removes those we added before and no longer want). 0 or the
 * first -errno (the rest is still attempted). */
int nat64_nl_sync_routes(struct nat64_nl *nl, int ifindex, const struct nat64_route *want,
			 size_t n);
/* IPv4 policy rule "fwmark MARK lookup TABLE" ahead of the local table:
 * packets to the host's own address (shared pool4 mode) must reach the TUN
 * before local delivery claims them, so the kernel's "lookup local" rule
 * is moved from priority 0 to just behind ours (and back on cleanup). */
int nat64_nl_steer_rule(struct nat64_nl *nl, uint32_t mark, uint32_t table, uint32_t prio);

/* A cluster standby (doc/cluster.md) routes the translate prefixes via the
 * active node for its own packets only: `n` routes of dst[i] via `gw` in
 * the detour table, which the rule "iif lo" (locally sent) looks up ahead
 * of the main table. Packets from a link still take the TUN route, also
 * while this node already holds the virtual address but is not yet active
 * (a route via an address of its own would queue them and answer with
 * "address unreachable" seconds later). Replaces the previous set; n = 0
 * removes it and the rule. 0 or the first -errno. */
#define NAT64_NL_DETOUR_TABLE 6464u
#define NAT64_NL_DETOUR_PRIO 10u
#define NAT64_NL_DETOUR_METRIC 512
int nat64_nl_detour(struct nat64_nl *nl, const struct cidr *dst, size_t n,
		    const struct in6_addr *gw);

/* The host's global IPv4 addresses (scope universe, not on `skip_ifindex`),
 * up to `max`; returns the count or -errno. */
int nat64_nl_host_ipv4(struct nat64_nl *nl, int skip_ifindex, struct in_addr *out, size_t max);

/* Address-change events: a descriptor to poll and a handler to call when
 * it is readable. The handler returns true when the IPv4 address set may
 * have changed (including after ENOBUFS, when events were lost). */
int nat64_nl_events_fd(struct nat64_nl *nl);
bool nat64_nl_events_read(struct nat64_nl *nl);

#endif
