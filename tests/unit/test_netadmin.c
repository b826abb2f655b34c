/* The privileged helper's checks (nat64/netadmin.h): a route, a notrack
 * destination or a steered port range is accepted only when the helper's
 * own configuration (and the host's addresses) allow it. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "common/config.h"
#include "nat64/nat64_priv.h"
#include "nat64/netadmin.h"
#include "tests/unit/config_fixture.h"
#include "tests/unit/tap.h"

/* The translate prefix of every configuration below. */
#define WKP "[prefix wkp]\nprefix = 64:ff9b::/96\ntranslate = yes\n"

/* Whether the helper lets `text` (a prefix) be routed to the TUN in `table`. */
static bool route_allowed(const struct sixfour_config *c, const char *text, uint32_t table)
{
	struct nat64_route r = { .table = table };
	if (cidr_parse(text, &r.dst, false) != 0)
		bail(text);
	return nat64_netadmin_route_allowed(c, &r);
}

/* Whether it steers ports lo-hi of `addr` to the TUN, the host having
 * the n addresses at `host`. */
static bool steer_allowed(const struct sixfour_config *c, const struct in_addr *host, size_t n,
			  const char *addr, uint16_t lo, uint16_t hi)
{
	struct nat64_nft_steer s = { .port_min = lo, .port_max = hi };
	inet_pton(AF_INET, addr, &s.addr);
	return nat64_netadmin_steer_allowed(c, host, n, &s);
}

int main(void)
{
	plan(22);
	struct sixfour_config *c = fixture_config(
		WKP "[prefix far]\nprefix = 2001:db8:64:2::/96\nsynthesize = yes\n"
		"[nat64]\npool4 = 192.0.2.0/28, 198.51.100.7:20000-29999\n");
	static const struct {
		const char *prefix;
		uint32_t table;
		bool allowed;
		const char *name;
	} routes[] = {
		{ "64:ff9b::/96", RT_TABLE_MAIN, true, "a translate prefix may be routed to the TUN" },
		{ "64:ff9b::/64", RT_TABLE_MAIN, false, "... not with another length" },
		{ "2001:db8:64:2::/96", RT_TABLE_MAIN, false, "a prefix without translate = yes is refused" },
		{ "2001:db8:bad::/96", RT_TABLE_MAIN, false, "a prefix not in the configuration is refused" },
		{ "::/0", RT_TABLE_MAIN, false, "the IPv6 default route is refused" },
		{ "64:ff9b::/96", RT_TABLE_LOCAL, false, "a translate prefix in another table is refused" },
		{ "192.0.2.0/28", RT_TABLE_MAIN, true, "a pool4 item may be routed to the TUN" },
		{ "192.0.2.0/24", RT_TABLE_MAIN, false, "... not a wider prefix around it" },
		{ "0.0.0.0/0", RT_TABLE_MAIN, false, "the IPv4 default in the main table is refused" },
		{ "0.0.0.0/0", NAT64_TABLE, true, "the steering table's default is allowed" },
		{ "192.0.2.0/28", NAT64_TABLE, false, "... and nothing else in that table" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		ok(route_allowed(c, routes[i].prefix, routes[i].table) == routes[i].allowed,
		   routes[i].name);

	struct in_addr host[2];
	inet_pton(AF_INET, "198.51.100.7", &host[0]);
	inet_pton(AF_INET, "203.0.113.1", &host[1]);
	ok(steer_allowed(c, host, 2, "198.51.100.7", 20000, 29999),
	   "a shared pool4 item's range is allowed");
	ok(!steer_allowed(c, host, 2, "198.51.100.7", 1, 65535), "... not a wider one");
	ok(steer_allowed(c, host, 2, "198.51.100.7", 64646, 64646),
	   "the handoff port of a shared address");
	ok(!steer_allowed(c, host, 2, "203.0.113.1", 20000, 29999),
	   "a host address not in pool4 is refused");
	ok(!steer_allowed(c, host + 1, 1, "198.51.100.7", 20000, 29999),
	   "a pool4 address the host does not have is refused");
	ok(!steer_allowed(c, host, 2, "192.0.2.1", 1024, 65535),
	   "an address of a routed pool4 item is refused");
	config_free(c);

	/* Empty pool4: the host's addresses with the default range. */
	c = fixture_config(WKP "[handoff]\nenable = no\n");
	ok(steer_allowed(c, host, 2, "203.0.113.1", NAT64_DEFAULT_PORT_MIN, NAT64_DEFAULT_PORT_MAX),
	   "empty pool4: a host address, default range");
	ok(!steer_allowed(c, host, 2, "203.0.113.1", 1024, NAT64_DEFAULT_PORT_MAX),
	   "... not another range");
	ok(!steer_allowed(c, host, 2, "203.0.113.1", 64646, 64646),
	   "... nor the handoff port with handoff off");
	config_free(c);

	/* Translator off: nothing at all. */
	c = fixture_config(WKP "[nat64]\nenable = no\n");
	ok(!route_allowed(c, "64:ff9b::/96", RT_TABLE_MAIN), "translator disabled: no route");
	ok(!steer_allowed(c, host, 2, "203.0.113.1", NAT64_DEFAULT_PORT_MIN,
			  NAT64_DEFAULT_PORT_MAX),
	   "translator disabled: no steering");
	config_free(c);
	return tap_done();
}
