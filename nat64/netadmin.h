/* The translator's privileged side (common/privsep.h): what nat64 does
 * with CAP_NET_ADMIN, as typed requests to sixfourd's helper process.
 *
 *   link      bring the TUN of [nat64] device up with its MTU, set its
 *             accept_local/rp_filter sysctls; reply: its ifindex
 *   routes    the route set through the TUN (translate prefixes, pool4
 *             items, the steering table's default)
 *   rule      the fwmark policy rule of shared pool4
 *   nft       the "inet sixfour" table: steered port ranges, notrack
 *   reserve   ip_local_reserved_ports = what was there + the steered ranges
 *   cleanup   undo all of it (also done when the channel closes)
 *   standby   a cluster standby's routes (doc/cluster.md): on, the
 *             translate prefixes go via [cluster] virtual-address (the
 *             active node) ahead of the TUN; off, they are removed
 *
 * The helper takes the device, MTU, mark and tables from its own copy of
 * the configuration and its own constants, and accepts an address, prefix
 * or port range only when that configuration (and, for shared pool4, the
 * host's addresses as the helper reads them) allows it. */
#ifndef SIXFOUR_NAT64_NETADMIN_H
#define SIXFOUR_NAT64_NETADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/privsep.h"
#include "nat64/netlink.h"
#include "nat64/nft.h"

struct sixfour_config;

enum nat64_netadmin_type {
	NAT64_NETADMIN_BASE = 0x0100,
	NAT64_NETADMIN_LINK = NAT64_NETADMIN_BASE + 1,
	NAT64_NETADMIN_ROUTES,
	NAT64_NETADMIN_RULE,
	NAT64_NETADMIN_NFT,
	NAT64_NETADMIN_RESERVE,
	NAT64_NETADMIN_CLEANUP,
	NAT64_NETADMIN_STANDBY,
};

/* --- the unprivileged side (nat64.c) --- */

/* Returns the TUN's ifindex or -errno. */
int nat64_netadmin_link(struct privsep *ps);
int nat64_netadmin_routes(struct privsep *ps, const struct nat64_route *r, size_t n);
int nat64_netadmin_rule(struct privsep *ps);
int nat64_netadmin_nft(struct privsep *ps, const struct nat64_nft_steer *steer, size_t nsteer,
		       const struct cidr *notrack, size_t nnotrack);
int nat64_netadmin_reserve(struct privsep *ps, const struct nat64_nft_steer *steer, size_t n);
void nat64_netadmin_cleanup(struct privsep *ps);
/* The standby routes on or off: the helper takes the prefixes and the
 * gateway from its own configuration, so the request is one octet. */
int nat64_netadmin_standby(struct privsep *ps, bool on);

/* --- the helper's side --- */

extern const struct privsep_ops nat64_netadmin_ops;

/* The checks, exported for the unit test. A route through the TUN: a
 * translate prefix or a pool4 item in the main table, or the default in
 * the steering table. */
bool nat64_netadmin_route_allowed(const struct sixfour_config *cfg, const struct nat64_route *r);
/* A steered (shared) port range: on one of the host's addresses `host`,
 * with the range of the pool4 item for that address (or the default range
 * when pool4 is empty), or the handoff port alone. */
/* The standby routes: only with [cluster] enable and a virtual-address;
 * the routes are the translate prefixes (n of them into `out`, at most
 * `max`) via that address. */
bool nat64_netadmin_standby_routes(const struct sixfour_config *cfg, struct cidr *out, size_t max,
				   size_t *n);
bool nat64_netadmin_steer_allowed(const struct sixfour_config *cfg, const struct in_addr *host,
			      size_t nhost, const struct nat64_nft_steer *s);

#endif
