/* The translator's requests to the privileged helper: see netadmin.h. The
 * client half encodes, the helper half decodes, checks against the
 * helper's configuration and calls netlink.c, nft.c and /proc/sys. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "nat64/handoff_glue.h"
#include "nat64/nat64_priv.h"
#include "nat64/netadmin.h"

#define RESERVED_PORTS "/proc/sys/net/ipv4/ip_local_reserved_ports"
#define MAX_ITEMS 256
#define MAX_HOST_ADDRS 64

/* Wire forms: fixed layouts, host byte order except addresses (both ends
 * are the same program on the same machine). */
struct wire_cidr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t len;
	uint8_t pad[2];
	uint32_t table;
	uint8_t addr[16];
};
_Static_assert(sizeof(struct wire_cidr) == 24, "wire_cidr layout");

struct wire_steer {
	uint32_t addr;		/* network order */
	uint16_t port_min, port_max;
};
_Static_assert(sizeof(struct wire_steer) == 8, "wire_steer layout");

struct wire_counts {
	uint32_t a, b;
};

/* ------------------------------------------------ the unprivileged side */

/* Appends one item at buf + off; returns the new offset. */
static size_t put_cidr(uint8_t *buf, size_t off, const struct cidr *c, uint32_t table)
{
	struct wire_cidr w = { .family = (uint8_t)c->family, .len = c->len, .table = table };
	if (c->family == AF_INET)
		memcpy(w.addr, &c->addr.v4, 4);
	else
		memcpy(w.addr, &c->addr.v6, 16);
	memcpy(buf + off, &w, sizeof(w));
	return off + sizeof(w);
}

static size_t put_steer(uint8_t *buf, size_t off, const struct nat64_nft_steer *s)
{
	struct wire_steer w = { s->addr.s_addr, s->port_min, s->port_max };
	memcpy(buf + off, &w, sizeof(w));
	return off + sizeof(w);
}

static size_t put_count(uint8_t *buf, size_t n)
{
	uint32_t cnt = (uint32_t)n;
	memcpy(buf, &cnt, sizeof(cnt));
	return sizeof(cnt);
}

int nat64_netadmin_link(struct privsep *ps)
{
	int32_t ifindex = 0;
	size_t n = 0;
	int rc = privsep_call(ps, NAT64_NETADMIN_LINK, NULL, 0, &ifindex, sizeof(ifindex), &n);
	if (rc)
		return rc;
	return n == sizeof(ifindex) && ifindex > 0 ? ifindex : -EPROTO;
}

int nat64_netadmin_routes(struct privsep *ps, const struct nat64_route *r, size_t n)
{
	uint8_t buf[sizeof(uint32_t) + MAX_ITEMS * sizeof(struct wire_cidr)];
	if (n > MAX_ITEMS)
		return -E2BIG;
	size_t off = put_count(buf, n);
	for (size_t i = 0; i < n; i++)
		off = put_cidr(buf, off, &r[i].dst, r[i].table);
	return privsep_call(ps, NAT64_NETADMIN_ROUTES, buf, off, NULL, 0, NULL);
}

int nat64_netadmin_rule(struct privsep *ps)
{
	return privsep_call(ps, NAT64_NETADMIN_RULE, NULL, 0, NULL, 0, NULL);
}

int nat64_netadmin_nft(struct privsep *ps, const struct nat64_nft_steer *steer, size_t nsteer,
		       const struct cidr *notrack, size_t nnotrack)
{
	uint8_t buf[sizeof(struct wire_counts) + MAX_ITEMS * sizeof(struct wire_cidr)];
	if (nsteer > NAT64_MAX_STEER || nnotrack > MAX_ITEMS - NAT64_MAX_STEER)
		return -E2BIG;
	struct wire_counts c = { (uint32_t)nsteer, (uint32_t)nnotrack };
	memcpy(buf, &c, sizeof(c));
	size_t off = sizeof(c);
	for (size_t i = 0; i < nsteer; i++)
		off = put_steer(buf, off, &steer[i]);
	for (size_t i = 0; i < nnotrack; i++)
		off = put_cidr(buf, off, &notrack[i], 0);
	return privsep_call(ps, NAT64_NETADMIN_NFT, buf, off, NULL, 0, NULL);
}

int nat64_netadmin_reserve(struct privsep *ps, const struct nat64_nft_steer *steer, size_t n)
{
	uint8_t buf[sizeof(uint32_t) + NAT64_MAX_STEER * sizeof(struct wire_steer)];
	if (n > NAT64_MAX_STEER)
		return -E2BIG;
	size_t off = put_count(buf, n);
	for (size_t i = 0; i < n; i++)
		off = put_steer(buf, off, &steer[i]);
	return privsep_call(ps, NAT64_NETADMIN_RESERVE, buf, off, NULL, 0, NULL);
}

void nat64_netadmin_cleanup(struct privsep *ps)
{
	int rc = privsep_call(ps, NAT64_NETADMIN_CLEANUP, NULL, 0, NULL, 0, NULL);
	if (rc)
		log_warn("nat64: helper clean-up: %s", strerror(-rc));
}

int nat64_netadmin_standby(struct privsep *ps, bool on)
{
	uint8_t v = on;
	return privsep_call(ps, NAT64_NETADMIN_STANDBY, &v, sizeof(v), NULL, 0, NULL);
}

/* ------------------------------------------------------------ the checks */

static bool nat64_on(const struct sixfour_config *cfg)
{
	if (!cfg->nat64.enable)
		return false;
	for (size_t i = 0; i < cfg->nprefixes; i++)
		if (cfg->prefixes[i].translate)
			return true;
	return false;
}

static bool cidr_same(const struct cidr *a, const struct cidr *b)
{
	if (a->family != b->family || a->len != b->len)
		return false;
	return a->family == AF_INET ? a->addr.v4.s_addr == b->addr.v4.s_addr
				    : memcmp(&a->addr.v6, &b->addr.v6, 16) == 0;
}

/* A destination the configuration routes to the TUN (and keeps out of
 * connection tracking). */
static bool tun_destination(const struct sixfour_config *cfg, const struct cidr *c)
{
	if (c->family == AF_INET6) {
		for (size_t i = 0; i < cfg->nprefixes; i++)
			if (cfg->prefixes[i].translate && cidr_same(&cfg->prefixes[i].prefix, c))
				return true;
		return false;
	}
	if (c->family != AF_INET)
		return false;
	for (size_t i = 0; i < cfg->nat64.pool4.n; i++) {
		const struct pool4_range *p = &cfg->nat64.pool4.v[i];
		struct cidr pc = { .family = AF_INET, .len = p->len, .addr.v4 = p->addr };
		if (cidr_same(&pc, c))
			return true;
	}
	return false;
}

bool nat64_netadmin_route_allowed(const struct sixfour_config *cfg, const struct nat64_route *r)
{
	if (!nat64_on(cfg))
		return false;
	if (r->table == NAT64_TABLE)	/* shared pool4: the steering table's default */
		return r->dst.family == AF_INET && r->dst.len == 0 && r->dst.addr.v4.s_addr == 0;
	return r->table == RT_TABLE_MAIN && tun_destination(cfg, &r->dst);
}

static bool host_has(const struct in_addr *host, size_t nhost, struct in_addr a)
{
	for (size_t i = 0; i < nhost; i++)
		if (host[i].s_addr == a.s_addr)
			return true;
	return false;
}

bool nat64_netadmin_steer_allowed(const struct sixfour_config *cfg, const struct in_addr *host,
			      size_t nhost, const struct nat64_nft_steer *s)
{
	if (!nat64_on(cfg) || !host_has(host, nhost, s->addr) || s->port_min > s->port_max)
		return false;
	uint16_t hp = nat64_handoff_port(cfg);
	bool handoff_only = hp && s->port_min == hp && s->port_max == hp;
	const struct pool4_list *l = &cfg->nat64.pool4;
	if (l->n == 0)
		return handoff_only || (s->port_min == NAT64_DEFAULT_PORT_MIN &&
					s->port_max == NAT64_DEFAULT_PORT_MAX);
	for (size_t i = 0; i < l->n; i++) {
		const struct pool4_range *p = &l->v[i];
		if (p->len == 32 && p->addr.s_addr == s->addr.s_addr &&
		    (handoff_only || (p->port_min == s->port_min && p->port_max == s->port_max)))
			return true;
	}
	return false;
}

bool nat64_netadmin_standby_routes(const struct sixfour_config *cfg, struct cidr *out, size_t max,
				   size_t *n)
{
	*n = 0;
	if (!nat64_on(cfg) || !cfg->cluster.enable || cfg->cluster.virtual_address.family != AF_INET6)
		return false;
	for (size_t i = 0; i < cfg->nprefixes && *n < max; i++)
		if (cfg->prefixes[i].translate)
			out[(*n)++] = cfg->prefixes[i].prefix;
	return true;
}

/* ------------------------------------------------------ the helper's side */

struct nat64_privd {
	const struct sixfour_config *cfg;	/* the helper's own, current */
	struct nat64_nl *nl;
	int ifindex;
	bool nft_installed;
	char *reserved_orig;		/* ip_local_reserved_ports before us */
	struct log_limit refusals;
};

static int sysctl_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t len = (ssize_t)strlen(value);
	int rc = write(fd, value, (size_t)len) == len ? 0 : -errno;
	close(fd);
	return rc;
}

static char *sysctl_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return strdup(buf);
}

static void *privd_init(const struct sixfour_config *cfg)
{
	struct nat64_privd *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	*d = (struct nat64_privd){ .cfg = cfg, .refusals = { .interval_ms = 1000, .burst = 10 } };
	return d;
}

static void privd_configure(void *state, const struct sixfour_config *cfg)
{
	struct nat64_privd *d = state;
	d->cfg = cfg;
}

/* Translated packets arrive from the TUN with the host's own address as
 * source in shared mode: accept them, and do not reverse-path filter what
 * only we can have sent. */
static void tun_sysctls(const char *dev)
{
	static const char *const names[][2] = { { "accept_local", "1" }, { "rp_filter", "0" } };
	char path[128];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", dev, names[i][0]);
		int rc = sysctl_write(path, names[i][1]);
		if (rc)
			log_warn("nat64: %s: %s", path, strerror(-rc));
	}
	char *fwd4 = sysctl_read("/proc/sys/net/ipv4/ip_forward");
	char *fwd6 = sysctl_read("/proc/sys/net/ipv6/conf/all/forwarding");
	if (!fwd4 || strcmp(fwd4, "1") || !fwd6 || strcmp(fwd6, "1"))
		log_warn("nat64: IPv4 and IPv6 forwarding must be on for translated traffic "
			 "(net.ipv4.ip_forward, net.ipv6.conf.all.forwarding)");
	free(fwd4);
	free(fwd6);
}

static int do_link(struct nat64_privd *d, uint8_t *resp, size_t *resp_len)
{
	const char *dev = d->cfg->nat64.device;
	/* The name goes into a /proc path. */
	if (!dev[0] || strchr(dev, '/') || !strcmp(dev, ".") || !strcmp(dev, ".."))
		return -EINVAL;
	if (!d->nl && !(d->nl = nat64_nl_open()))
		return -EIO;
	int ifindex = nat64_nl_link_up(d->nl, dev, d->cfg->nat64.mtu, "tun");
	if (ifindex < 0)
		return ifindex;
	d->ifindex = ifindex;
	tun_sysctls(dev);
	int32_t v = ifindex;
	memcpy(resp, &v, sizeof(v));
	*resp_len = sizeof(v);
	return 0;
}

static void wire_to_cidr(const struct wire_cidr *w, struct cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->family = w->family;
	c->len = w->len;
	if (w->family == AF_INET)
		memcpy(&c->addr.v4, w->addr, 4);
	else
		memcpy(&c->addr.v6, w->addr, 16);
}

/* Every prefix and address the peer sends must be in canonical form: a
 * known family, a length that fits, no host bits, no padding. */
static bool wire_cidr_valid(const struct wire_cidr *w)
{
	unsigned bits = w->family == AF_INET ? 32 : w->family == AF_INET6 ? 128 : 0;
	if (!bits || w->len > bits || w->pad[0] || w->pad[1])
		return false;
	for (unsigned i = w->len; i < 128; i++)
		if (w->addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static void refuse(struct nat64_privd *d, const char *what, const struct cidr *c,
		   const struct nat64_nft_steer *s)
{
	char buf[INET6_ADDRSTRLEN + 16] = "";
	if (c)
		cidr_format(c, buf, sizeof(buf));
	else if (s) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &s->addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s:%u-%u", a, s->port_min, s->port_max);
	}
	log_ratelimited(&d->refusals, LOG_LVL_WARN,
			"helper: refused %s %s: not in the configuration", what, buf);
}

/* A request that is a count of `size`-octet items (at most `max`) and the
 * items: exactly that long, or malformed. */
static int item_count(const uint8_t *req, size_t len, size_t size, uint32_t max, uint32_t *n)
{
	if (len < sizeof(*n))
		return -EPROTO;
	memcpy(n, req, sizeof(*n));
	return *n <= max && len == sizeof(*n) + (size_t)*n * size ? 0 : -EPROTO;
}

static int do_routes(struct nat64_privd *d, const uint8_t *req, size_t len)
{
	uint32_t n;
	int rc = item_count(req, len, sizeof(struct wire_cidr), MAX_ITEMS, &n);
	if (rc)
		return rc;
	struct nat64_route r[MAX_ITEMS];
	for (uint32_t i = 0; i < n; i++) {
		struct wire_cidr w;
		memcpy(&w, req + sizeof(n) + i * sizeof(w), sizeof(w));
		if (!wire_cidr_valid(&w))
			return -EPROTO;
		wire_to_cidr(&w, &r[i].dst);
		r[i].table = w.table;
		if (!nat64_netadmin_route_allowed(d->cfg, &r[i])) {
			refuse(d, "route", &r[i].dst, NULL);
			return -EPERM;
		}
	}
	return nat64_nl_sync_routes(d->nl, d->ifindex, r, n);
}

static int do_rule(struct nat64_privd *d)
{
	/* Shared pool4 needs it: an empty pool4 or a /32 item. */
	bool shared = d->cfg->nat64.pool4.n == 0;
	for (size_t i = 0; i < d->cfg->nat64.pool4.n; i++)
		shared |= d->cfg->nat64.pool4.v[i].len == 32;
	if (!shared)
		return -EPERM;
	return nat64_nl_steer_rule(d->nl, NAT64_MARK, NAT64_TABLE, NAT64_RULE_PRIO);
}

/* Decodes and checks `n` steered ranges at `p` against the configuration
 * and the host's addresses now. */
static int read_steers(struct nat64_privd *d, const uint8_t *p, size_t n,
		       struct nat64_nft_steer *out)
{
	struct in_addr host[MAX_HOST_ADDRS];
	int nhost = 0;
	if (n) {
		nhost = nat64_nl_host_ipv4(d->nl, d->ifindex, host, ARRAY_SIZE(host));
		if (nhost < 0)
			return nhost;
	}
	for (size_t i = 0; i < n; i++) {
		struct wire_steer w;
		memcpy(&w, p + i * sizeof(w), sizeof(w));
		out[i] = (struct nat64_nft_steer){ { w.addr }, w.port_min, w.port_max };
		if (!nat64_netadmin_steer_allowed(d->cfg, host, (size_t)nhost, &out[i])) {
			refuse(d, "steered ports", NULL, &out[i]);
			return -EPERM;
		}
	}
	return 0;
}

static int do_nft(struct nat64_privd *d, const uint8_t *req, size_t len)
{
	struct wire_counts c;
	if (len < sizeof(c))
		return -EPROTO;
	memcpy(&c, req, sizeof(c));
	if (c.a > NAT64_MAX_STEER || c.b > MAX_ITEMS ||
	    len != sizeof(c) + c.a * sizeof(struct wire_steer) + c.b * sizeof(struct wire_cidr))
		return -EPROTO;
	struct nat64_nft_steer steer[NAT64_MAX_STEER];
	int rc = read_steers(d, req + sizeof(c), c.a, steer);
	if (rc)
		return rc;
	const uint8_t *p = req + sizeof(c) + c.a * sizeof(struct wire_steer);
	struct cidr notrack[MAX_ITEMS];
	for (uint32_t i = 0; i < c.b; i++) {
		struct wire_cidr w;
		memcpy(&w, p + i * sizeof(w), sizeof(w));
		if (!wire_cidr_valid(&w) || w.table)
			return -EPROTO;
		wire_to_cidr(&w, &notrack[i]);
		if (!tun_destination(d->cfg, &notrack[i])) {
			refuse(d, "notrack", &notrack[i], NULL);
			return -EPERM;
		}
	}
	/* A cluster node never forwards what is addressed to the virtual
	 * address (taken from the helper's own configuration). */
	const struct sixfour_config *cfg = d->cfg;
	const struct cidr *vip = &cfg->cluster.virtual_address;	/* a /128 (config.c) */
	struct nat64_nft_cfg nft = {
		.tun = cfg->nat64.device, .mark = NAT64_MARK, .steer = steer, .nsteer = c.a,
		.notrack = notrack, .nnotrack = c.b, .no_forward = vip,
		.nno_forward = cfg->cluster.enable && vip->family == AF_INET6,
	};
	rc = nat64_nft_apply(&nft);
	if (rc == 0)
		d->nft_installed = true;
	return rc;
}

static int do_reserve(struct nat64_privd *d, const uint8_t *req, size_t len)
{
	uint32_t n;
	int rc = item_count(req, len, sizeof(struct wire_steer), NAT64_MAX_STEER, &n);
	if (rc)
		return rc;
	struct nat64_nft_steer steer[NAT64_MAX_STEER];
	rc = read_steers(d, req + sizeof(n), n, steer);
	if (rc)
		return rc;
	if (!d->reserved_orig && !(d->reserved_orig = sysctl_read(RESERVED_PORTS))) {
		log_warn("nat64: cannot read %s", RESERVED_PORTS);
		return -EIO;
	}
	char buf[4096];
	size_t off = (size_t)snprintf(buf, sizeof(buf), "%s", d->reserved_orig);
	for (uint32_t i = 0; i < n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%u-%u", off ? "," : "",
					steer[i].port_min, steer[i].port_max);
	rc = sysctl_write(RESERVED_PORTS, off ? buf : "\n");
	if (rc)
		log_warn("nat64: reserving ports in %s: %s", RESERVED_PORTS, strerror(-rc));
	return rc;
}

static int do_standby(struct nat64_privd *d, const uint8_t *req, size_t len)
{
	if (len != 1 || req[0] > 1)
		return -EPROTO;
	struct cidr dst[CONFIG_MAX_PREFIXES];
	size_t n;
	if (!nat64_netadmin_standby_routes(d->cfg, dst, ARRAY_SIZE(dst), &n)) {
		log_ratelimited(&d->refusals, LOG_LVL_WARN,
				"helper: refused standby routes: no [cluster] virtual-address");
		return -EPERM;
	}
	return nat64_nl_detour(d->nl, dst, req[0] ? n : 0, &d->cfg->cluster.virtual_address.addr.v6);
}

static void privd_cleanup(void *state)
{
	struct nat64_privd *d = state;
	if (d->nft_installed)
		nat64_nft_remove();
	d->nft_installed = false;
	if (d->reserved_orig) {
		int rc = sysctl_write(RESERVED_PORTS, d->reserved_orig[0] ? d->reserved_orig : "\n");
		if (rc)
			log_warn("nat64: restoring %s: %s", RESERVED_PORTS, strerror(-rc));
		free(d->reserved_orig);
		d->reserved_orig = NULL;
	}
	nat64_nl_cleanup(d->nl);
	d->nl = NULL;
	d->ifindex = 0;
}

static int privd_handle(void *state, uint16_t type, const uint8_t *req, size_t len,
			uint8_t *resp, size_t *resp_len)
{
	struct nat64_privd *d = state;
	size_t max = *resp_len;
	*resp_len = 0;
	if (!nat64_on(d->cfg) && type != NAT64_NETADMIN_CLEANUP)
		return -EPERM;
	/* Everything but the link itself works on the link. */
	if (type != NAT64_NETADMIN_LINK && type != NAT64_NETADMIN_CLEANUP &&
	    (!d->nl || d->ifindex <= 0))
		return -ENODEV;
	switch (type) {
	case NAT64_NETADMIN_LINK:
		if (len || max < sizeof(int32_t))
			return -EPROTO;
		return do_link(d, resp, resp_len);
	case NAT64_NETADMIN_ROUTES: return do_routes(d, req, len);
	case NAT64_NETADMIN_RULE: return len ? -EPROTO : do_rule(d);
	case NAT64_NETADMIN_NFT: return do_nft(d, req, len);
	case NAT64_NETADMIN_RESERVE: return do_reserve(d, req, len);
	case NAT64_NETADMIN_STANDBY: return do_standby(d, req, len);
	case NAT64_NETADMIN_CLEANUP:
		if (len)
			return -EPROTO;
		privd_cleanup(d);
		return 0;
	default: return -EOPNOTSUPP;
	}
}

const struct privsep_ops nat64_netadmin_ops = {
	.type_base = NAT64_NETADMIN_BASE,
	.init = privd_init,
	.configure = privd_configure,
	.handle = privd_handle,
	.cleanup = privd_cleanup,
};
