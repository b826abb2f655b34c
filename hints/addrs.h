/* The links and addresses hints needs (interface indexes, our IPv6
 * addresses on a link for RDNSS, the Ethernet address for the source
 * link-layer option and the DUID), followed through rtnetlink events
 * (libnl-route-3 caches) instead of polled: after a lost event (ENOBUFS)
 * both caches are dumped again. Private to hints/. */
#ifndef SIXFOUR_HINTS_ADDRS_H
#define SIXFOUR_HINTS_ADDRS_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

struct evloop;
struct hints_addrs;

/* What one link has now. */
struct hints_link {
	unsigned ifindex;		/* 0: no such interface */
	bool has_global, has_ll, has_mac;
	struct in6_addr global;		/* the first global IPv6 address */
	struct in6_addr ll;		/* the link-local one */
	uint8_t mac[6];
};

/* `changed` runs on the loop after events changed the caches. NULL with
 * -errno in *err when netlink cannot be opened. */
struct hints_addrs *hints_addrs_new(struct evloop *loop, void (*changed)(void *arg), void *arg,
				    int *err);
void hints_addrs_free(struct hints_addrs *a);
/* Fills `out` for the interface called `name` (ifindex 0 when absent). */
void hints_addrs_link(struct hints_addrs *a, const char *name, struct hints_link *out);

#endif
