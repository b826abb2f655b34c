/* The translator's nftables rules, in a table of its own ("inet sixfour"),
 * installed and replaced as one atomic batch through libnftnl and removed
 * on exit. No other table is read or touched. */
#ifndef SIXFOUR_NAT64_NFT_H
#define SIXFOUR_NAT64_NFT_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/util.h"

#define NAT64_NFT_TABLE "sixfour"

/* A port range on one of the host's own addresses that belongs to the
 * translator (shared pool4 mode). */
struct nat64_nft_steer {
	struct in_addr addr;
	uint16_t port_min, port_max;
};

struct nat64_nft_cfg {
	const char *tun;		/* translated packets enter from here */
	uint32_t mark;			/* set on steered packets */
	const struct nat64_nft_steer *steer;
	size_t nsteer;
	const struct cidr *notrack;	/* destinations routed to the TUN */
	size_t nnotrack;
	const struct cidr *no_forward;	/* never forwarded (dropped) */
	size_t nno_forward;
};

/* Replaces the table with the rules for `cfg` in one batch. 0 or -errno. */
int nat64_nft_apply(const struct nat64_nft_cfg *cfg);
/* Deletes the table; 0 also when it did not exist. */
int nat64_nft_remove(void);

#endif
