/* The privileged helper's checks (nat64/netadmin.h): a route, a notrack
 * destination or a steered port range is accepted only when the helper's
 * own configuration (and the host's addresses) allow it. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "common/config.h"
#include "nat64/nat64_priv.h"
#include "nat64/netadmin.h"
#include "tests/unit/tap.h"

static struct sixfour_config *load(const char *text)
{
	struct config_errors errs;
	struct sixfour_config *c = config_load_string("test.ini", text, &errs);
	if (!c)
		bail(errs.n ? errs.msg[0] : "config did not load");
	return c;
}

static struct nat64_route route(const char *text, uint32_t table)
{
	struct nat64_route r = { .table = table };
	if (cidr_parse(text, &r.dst, false) != 0)
		bail(text);
	return r;
}

static struct nat64_nft_steer steer(const char *addr, uint16_t lo, uint16_t hi)
{
	struct nat64_nft_steer s = { .port_min = lo, .port_max = hi };
	inet_pton(AF_INET, addr, &s.addr);
	return s;
}

int main(void)
{
	plan(22);
	struct sixfour_config *c = load(
		"[prefix wkp]\nprefix = 64:ff9b::/96\ntranslate = yes\n"
		"[prefix far]\nprefix = 2001:db8:64:2::/96\nsynthesize = yes\n"
		"[nat64]\npool4 = 192.0.2.0/28, 198.51.100.7:20000-29999\n");
	struct nat64_route r;
	r = route("64:ff9b::/96", RT_TABLE_MAIN);
	ok(nat64_netadmin_route_allowed(c, &r), "a translate prefix may be routed to the TUN");
	r = route("64:ff9b::/64", RT_TABLE_MAIN);
	ok(!nat64_netadmin_route_allowed(c, &r), "... not with another length");
	r = route("2001:db8:64:2::/96", RT_TABLE_MAIN);
	ok(!nat64_netadmin_route_allowed(c, &r), "a prefix without translate = yes is refused");
	r = route("2001:db8:bad::/96", RT_TABLE_MAIN);
	ok(!nat64_netadmin_route_allowed(c, &r), "a prefix not in the configuration is refused");
	r = route("::/0", RT_TABLE_MAIN);
	ok(!nat64_netadmin_route_allowed(c, &r), "the IPv6 default route is refused");
	r = route("64:ff9b::/96", RT_TABLE_LOCAL);
	ok(!nat64_netadmin_route_allowed(c, &r), "a translate prefix in another table is refused");
	r = route("192.0.2.0/28", RT_TABLE_MAIN);
	ok(nat64_netadmin_route_allowed(c, &r), "a pool4 item may be routed to the TUN");
	r = route("192.0.2.0/24", RT_TABLE_MAIN);
	ok(!nat64_netadmin_route_allowed(c, &r), "... not a wider prefix around it");
	r = route("0.0.0.0/0", RT_TABLE_MAIN);
	ok(!nat64_netadmin_route_allowed(c, &r), "the IPv4 default in the main table is refused");
	r = route("0.0.0.0/0", NAT64_TABLE);
	ok(nat64_netadmin_route_allowed(c, &r), "the steering table's default is allowed");
	r = route("192.0.2.0/28", NAT64_TABLE);
	ok(!nat64_netadmin_route_allowed(c, &r), "... and nothing else in that table");

	struct in_addr host[2];
	inet_pton(AF_INET, "198.51.100.7", &host[0]);
	inet_pton(AF_INET, "203.0.113.1", &host[1]);
	struct nat64_nft_steer s;
	s = steer("198.51.100.7", 20000, 29999);
	ok(nat64_netadmin_steer_allowed(c, host, 2, &s), "a shared pool4 item's range is allowed");
	s = steer("198.51.100.7", 1, 65535);
	ok(!nat64_netadmin_steer_allowed(c, host, 2, &s), "... not a wider one");
	s = steer("198.51.100.7", 64646, 64646);
	ok(nat64_netadmin_steer_allowed(c, host, 2, &s), "the handoff port of a shared address");
	s = steer("203.0.113.1", 20000, 29999);
	ok(!nat64_netadmin_steer_allowed(c, host, 2, &s), "a host address not in pool4 is refused");
	s = steer("198.51.100.7", 20000, 29999);
	ok(!nat64_netadmin_steer_allowed(c, host + 1, 1, &s),
	   "a pool4 address the host does not have is refused");
	s = steer("192.0.2.1", 1024, 65535);
	ok(!nat64_netadmin_steer_allowed(c, host, 2, &s), "an address of a routed pool4 item is refused");
	config_free(c);

	/* Empty pool4: the host's addresses with the default range. */
	c = load("[prefix wkp]\nprefix = 64:ff9b::/96\ntranslate = yes\n[handoff]\nenable = no\n");
	s = steer("203.0.113.1", NAT64_DEFAULT_PORT_MIN, NAT64_DEFAULT_PORT_MAX);
	ok(nat64_netadmin_steer_allowed(c, host, 2, &s), "empty pool4: a host address, default range");
	s = steer("203.0.113.1", 1024, NAT64_DEFAULT_PORT_MAX);
	ok(!nat64_netadmin_steer_allowed(c, host, 2, &s), "... not another range");
	s = steer("203.0.113.1", 64646, 64646);
	ok(!nat64_netadmin_steer_allowed(c, host, 2, &s), "... nor the handoff port with handoff off");
	config_free(c);

	/* Translator off: nothing at all. */
	c = load("[prefix wkp]\nprefix = 64:ff9b::/96\ntranslate = yes\n[nat64]\nenable = no\n");
	r = route("64:ff9b::/96", RT_TABLE_MAIN);
	ok(!nat64_netadmin_route_allowed(c, &r), "translator disabled: no route");
	s = steer("203.0.113.1", NAT64_DEFAULT_PORT_MIN, NAT64_DEFAULT_PORT_MAX);
	ok(!nat64_netadmin_steer_allowed(c, host, 2, &s), "translator disabled: no steering");
	config_free(c);
	return tap_done();
}
