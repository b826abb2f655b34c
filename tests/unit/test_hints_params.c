/* The [hints] options as the hints subsystem reads them: defaults from
 * RFC 4861 / 8106 / 8781 and the cross-field rules it refuses. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "hints/hints_int.h"
#include "tests/unit/tap.h"

/* Builds params from a [hints] section; NULL (and err) when refused. */
static struct hints_params *build(const char *hints_section, char *err, size_t errlen)
{
	char text[2048];
	snprintf(text, sizeof(text), "[hints]\n%s", hints_section);
	struct config_errors errs;
	struct sixfour_config *cfg = config_load_string("test", text, &errs);
	if (!cfg) {
		snprintf(err, errlen, "config: %.200s", errs.n ? errs.msg[0] : "?");
		return NULL;
	}
	struct hints_params *p = hints_params_build(cfg, err, errlen);
	config_free(cfg);	/* params must not point into the config */
	return p;
}

static void refused(const char *section, const char *want_substr, const char *name)
{
	char err[256] = "";
	struct hints_params *p = build(section, err, sizeof(err));
	if (!ok(!p && strstr(err, want_substr), name))
		printf("#   err: '%s'\n", err);
	hints_params_free(p);
}

int main(void)
{
	plan(25);
	char err[256] = "";
	struct hints_params *p = build("interface = eth0, eth1\nmax-interval = 600s\n"
				       "dnssl = lab.example example.org\n", err, sizeof(err));
	ok(p != NULL, "a plain [hints] section is accepted");
	if (!p) {
		printf("#   %s\n", err);
		return tap_done();
	}
	is_int(p->nifaces, 2, "two interfaces");
	is_str(p->ifaces[1], "eth1", "interface names copied");
	is_int(p->pref64_lifetime_s, 1800, "PREF64 lifetime defaults to 3 x max-interval");
	is_int(p->dns_lifetime_s, 1800, "RDNSS/DNSSL lifetime 3 x max-interval (RFC 8106 5.1)");
	is_int(p->router_lifetime_s, 0, "router lifetime 0 by default");
	ok(p->dhcpv6, "DHCPv6 on by default");
	is_int(p->info_refresh_s, 86400, "information refresh time 1 d");
	is_int(p->ndnssl, 2, "two search domains");
	is_str(p->dnssl[0], "lab.example", "search domain copied");
	is_int(p->domains_len, 13 + 13, "search list encoded once, wire format");
	is_int(p->nrdnss, 0, "no rdnss = our address on the link");
	hints_params_free(p);

	p = build("max-interval = 7s\nmin-interval = 3s\npref64-lifetime = 100s\n"
		  "rdnss = 2001:db8::53\nrouter-lifetime = 30m\nmtu = 1480\n", err, sizeof(err));
	ok(p != NULL, "explicit values accepted");
	if (p) {
		is_int(p->pref64_lifetime_s, 100, "explicit PREF64 lifetime kept");
		is_int(p->dns_lifetime_s, 21, "3 x 7 s");
		is_int(p->router_lifetime_s, 1800, "router lifetime 30 m");
		is_int(p->mtu, 1480, "MTU");
		struct in6_addr a;
		inet_pton(AF_INET6, "2001:db8::53", &a);
		ok(p->nrdnss == 1 && !memcmp(&p->rdnss[0], &a, 16), "rdnss address");
	}
	hints_params_free(p);

	refused("router-lifetime = 100s\nmax-interval = 600s\n", "router-lifetime",
		"router lifetime below max-interval refused (RFC 4861 6.2.1)");
	refused("rdnss = 2001:db8::/64\n", "prefix, not an address", "rdnss prefix refused");
	refused("dnssl = a..b\n", "not a valid domain name", "bad search domain refused");
	refused("mtu = 1000\n", "1280", "MTU below 1280 refused");
	refused("interface = eth0 eth0\n", "twice", "duplicate interface refused");
	refused("interface = averyveryverylongname0\n", "too long", "long interface name refused");
	refused("rdnss = 2001:db8::1 2001:db8::2 2001:db8::3 2001:db8::4 2001:db8::5 "
		"2001:db8::6 2001:db8::7 2001:db8::8 2001:db8::9\n", "at most 8",
		"more than 8 resolvers refused");
	return tap_done();
}
