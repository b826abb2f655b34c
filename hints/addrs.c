/* Links and addresses through rtnetlink events (addrs.h). */
#include "autoconf.h"
#include "hints/addrs.h"

#include <errno.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "common/evloop.h"
#include "common/log.h"

struct hints_addrs {
	struct evloop *loop;
	struct nl_cache_mngr *mngr;
	struct nl_sock *sync;		/* for dumps after lost events */
	struct nl_cache *links, *addrs;
	void (*changed)(void *arg);
	void *arg;
	bool dirty;
};

static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	struct hints_addrs *a = arg;
	a->dirty = true;
}

static void on_ready(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct hints_addrs *a = arg;
	int rc = nl_cache_mngr_data_ready(a->mngr);
	if (rc < 0) {
		/* Events were lost (ENOBUFS) or garbled: read everything again. */
		log_info("hints: netlink events: %s; reading links and addresses again",
			 nl_geterror(rc));
		nl_cache_refill(a->sync, a->links);
		nl_cache_refill(a->sync, a->addrs);
		a->dirty = true;
	}
	if (a->dirty) {
		a->dirty = false;
		if (a->changed)
			a->changed(a->arg);
	}
}

struct hints_addrs *hints_addrs_new(struct evloop *loop, void (*changed)(void *arg), void *arg,
				    int *err)
{
	struct hints_addrs *a = calloc(1, sizeof(*a));
	*err = -ENOMEM;
	if (!a)
		return NULL;
	*a = (struct hints_addrs){ .loop = loop, .changed = changed, .arg = arg };
	int rc = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &a->mngr);
	if (rc >= 0)
		rc = nl_cache_mngr_add(a->mngr, "route/link", on_change, a, &a->links);
	if (rc >= 0)
		rc = nl_cache_mngr_add(a->mngr, "route/addr", on_change, a, &a->addrs);
	if (rc >= 0) {
		a->sync = nl_socket_alloc();
		rc = a->sync ? nl_connect(a->sync, NETLINK_ROUTE) : -NLE_NOMEM;
	}
	if (rc < 0 || evloop_add_fd(loop, nl_cache_mngr_get_fd(a->mngr), EPOLLIN, on_ready, a) != 0) {
		log_err("hints: netlink: %s", rc < 0 ? nl_geterror(rc) : "event loop");
		*err = -EIO;
		hints_addrs_free(a);
		return NULL;
	}
	*err = 0;
	return a;
}

void hints_addrs_free(struct hints_addrs *a)
{
	if (!a)
		return;
	if (a->mngr) {
		evloop_del_fd(a->loop, nl_cache_mngr_get_fd(a->mngr));
		nl_cache_mngr_free(a->mngr);	/* frees the caches it made */
	}
	if (a->sync)
		nl_socket_free(a->sync);
	free(a);
}

void hints_addrs_link(struct hints_addrs *a, const char *name, struct hints_link *out)
{
	memset(out, 0, sizeof(*out));
	struct rtnl_link *l = rtnl_link_get_by_name(a->links, name);
	if (!l)
		return;
	out->ifindex = (unsigned)rtnl_link_get_ifindex(l);
	struct nl_addr *hw = rtnl_link_get_addr(l);
	if (hw && rtnl_link_get_arptype(l) == ARPHRD_ETHER && nl_addr_get_len(hw) == 6) {
		memcpy(out->mac, nl_addr_get_binary_addr(hw), 6);
		out->has_mac = true;
	}
	rtnl_link_put(l);
	for (struct nl_object *o = nl_cache_get_first(a->addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ad = (struct rtnl_addr *)o;
		if (rtnl_addr_get_family(ad) != AF_INET6 ||
		    (unsigned)rtnl_addr_get_ifindex(ad) != out->ifindex)
			continue;
		struct nl_addr *loc = rtnl_addr_get_local(ad);
		if (!loc || nl_addr_get_len(loc) != sizeof(struct in6_addr))
			continue;
		struct in6_addr v;
		memcpy(&v, nl_addr_get_binary_addr(loc), sizeof(v));
		if (IN6_IS_ADDR_LINKLOCAL(&v)) {
			if (!out->has_ll) {
				out->ll = v;
				out->has_ll = true;
			}
		} else if (!IN6_IS_ADDR_LOOPBACK(&v) && !IN6_IS_ADDR_MULTICAST(&v) &&
			   !out->has_global) {
			out->global = v;
			out->has_global = true;
		}
	}
}
