/* The config table: defaults, every parser's error path with FILE:LINE and
 * the key, cross-field checks, and the canonical print round trip. */
#include "autoconf.h"

#include <stdlib.h>

#include "common/config.h"
#include "tap.h"

static struct config_errors errs;

/* Loads `text`; the test passes when the first error contains `want`. */
static void expect_error(const char *text, const char *want, const char *name)
{
	struct sixfour_config *cfg = config_load_string("t.ini", text, &errs);
	int pass = cfg == NULL && errs.n > 0 && strstr(errs.msg[0], want) != NULL;
	if (!ok(pass, name))
		printf("#   want error containing '%s', got '%s'\n", want,
		       errs.n ? errs.msg[0] : (cfg ? "(accepted)" : "(no message)"));
	config_free(cfg);
}

static char *print_to_string(const struct sixfour_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_print(cfg, f);
	fclose(f);
	return buf;
}

static void test_defaults(void)
{
	struct sixfour_config *cfg = config_load(NULL, &errs);
	ok(cfg != NULL, "embedded default loads");
	is_int(cfg->nprefixes, 1, "one default prefix");
	ok(cfg->prefixes[0].translate && cfg->prefixes[0].synthesize, "WKP translated here");
	is_int(cfg->prefixes[0].prefix.len, 96, "WKP is a /96");
	is_int(cfg->dns64.listen.n, 1, "DNS64 on [::]:53 only (IPv6, issue 10)");
	is_int(cfg->dns64.exclude.n, 1, "exclude ::ffff:0:0/96 by default");
	is_int(cfg->nat64.tcp_est_timeout_ms, 7440000, "TCP established 2 h 4 min");
	is_int(cfg->handoff.port, 64646, "handoff port");
	struct prefix_set *set = config_prefix_set(cfg);
	ok(set && set->count == 1 && set->prefixes[0].active, "prefix set from the config");
	prefix_set_free(set);
	config_free(cfg);
}

/* Configs that must be refused: text, a part of the first error, check name. */
static const struct { const char *text, *want, *name; } bad_configs[] = {
	{ "[dns64]\nlisen = [::]:53\n", "t.ini:2: unknown key 'lisen' in [dns64]",
	  "a typo in a key names FILE:LINE and the key" },
	{ "[dnss64]\n", "t.ini:1: unknown section [dnss64]", "unknown section" },
	{ "[general]\nworkers = many\n", "t.ini:2: workers = many: expected a number",
	  "not a number" },
	{ "[general]\nworkers = 65\n", "must be between 0 and 64", "number range" },
	{ "[dns64]\nenable = maybe\n", "expected yes or no", "bool" },
	{ "[nat64]\nudp-timeout = 10s\n", "must be between 2m and 1d",
	  "duration below the RFC minimum" },
	{ "[nat64]\nudp-timeout = 5 min\n", "expected a duration", "duration syntax" },
	{ "[dns64]\ncache-size = lots\n", "expected a size", "size syntax" },
	{ "[general]\nlog-level = loud\n", "expected err, warn", "log level" },
	{ "[nat64]\nfiltering = strict\n",
	  "expected one of: endpoint-independent address-dependent",
	  "enum" },
	{ "[dns64]\nexclude = 10.0.0.0/8\n", "only IPv6 prefixes", "v6-only list" },
	{ "[dns64]\nmapped = ::/0\n", "only IPv4 prefixes", "v4-only list" },
	{ "[dns64]\nallow = 10.0.0.1/8\n", "host bits zero", "host bits in a list" },
	{ "[dns64]\nlisten = [::]:99999\n", "not an address with optional port",
	  "endpoint port range" },
	{ "[nat64]\npool4 = 192.0.2.1:9-3\n", "pool4 ports", "pool4 port order" },
	{ "[nat64]\npool4 = 2001:db8::1\n", "pool4 items are IPv4", "pool4 family" },
	{ "[nat64]\npool4 = 10.0.0.0/8\n", "/16 or longer", "pool4 size" },
	{ "[nat64]\npool4 = 192.0.2.0/24, 192.0.2.7:1000-2000\n", "overlap", "pool4 overlap" },
	{ "[dns64]\nedns-size = 512\nedns-size = 1232\n", "t.ini:3: 'edns-size' is set twice",
	  "duplicate key" },
	{ "x = 1\n", "t.ini:1: 'x' is outside any section", "key before any section" },
	{ "[general\n", "t.ini:1: syntax error", "broken section header" },
	{ "[prefix]\nprefix = 2001:db8::/96\n", "needs a name", "unnamed prefix" },
	{ "[prefix a]\nprefix = 2001:db8::/96\n[prefix a]\nprefix = 2001:db9::/96\n",
	  "t.ini:3: [prefix a] appears twice",
	  "duplicate prefix name" },
	{ "[prefix a]\ntranslate = yes\n", "t.ini:1: [prefix a]: 'prefix' is required",
	  "prefix is required" },
	{ "[prefix a]\nprefix = 2001:db8::/80\n", "not one of RFC 6052", "RFC 6052 length" },
	{ "[prefix a]\nprefix = 10.0.0.0/8\n", "must be an IPv6 prefix", "prefix family" },
	{ "[prefix a]\nprefix = 2001:db8::/32\n[prefix b]\nprefix = 2001:db8:64::/96\n",
	  "t.ini:3: [prefix b] 2001:db8:64::/96 overlaps [prefix a] 2001:db8::/32",
	  "overlapping prefixes" },
	{ "[prefix a]\nprefix = 64:ff9b::/64\n", "must be used as a /96", "WKP only as a /96" },
	{ "[prefix a]\nbogus = 1\n", "unknown key 'bogus' in [prefix a]",
	  "unknown key in a prefix section" },
	{ "[hints]\nmax-interval = 10s\nmin-interval = 9s\n", "0.75 x max-interval",
	  "RA interval rule" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_configs); i++)
		expect_error(bad_configs[i].text, bad_configs[i].want, bad_configs[i].name);
	char longline[400];
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "[general]\nuser = ", 17);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	expect_error(longline, "t.ini:2: line longer than", "overlong line");

	/* Several errors are all reported, in order. */
	struct sixfour_config *cfg = config_load_string("t.ini",
		"[dns64]\nfoo = 1\nbar = 2\n", &errs);
	ok(!cfg && errs.n == 2 && strstr(errs.msg[1], "t.ini:3:"), "every error is reported");
	ok(config_load("/nonexistent/sixfour.ini", &errs) == NULL &&
	   strstr(errs.msg[0], "cannot open"), "missing -c file is an error");
}

static void test_roundtrip(void)
{
	const char *text =
		"# a public service profile\n"
		"[general]\nlog-level = debug\n"
		"[prefix site1]\nprefix = 2001:db8:64::/96\ntranslate = yes\nadvertise = yes\n"
		"[prefix other]\nprefix = 2001:db8:100::/40\nprobe = yes\nprobe-target = 192.0.2.1\n"
		"[dns64]\nlisten = [2001:db8::53]:53 192.0.2.53\n"
		"exclude = 0::/3, 4000::/2, 8000::/1, 2001:db8::/32 ::ffff:0:0/96\n"
		"unbound-option = local-zone: \"test.\" nodefault\n"
		"unbound-option = do-not-query-localhost: no\n"
		"cache-size = 1048576\n"
		"[nat64]\npool4 = 192.0.2.0/28, 198.51.100.1:61001-65535\n"
		"tcp-est-timeout = 3h\n"
		"[hints]\ninterface = eth1 eth2\ndnssl = example.net\n";
	struct sixfour_config *cfg = config_load_string("t.ini", text, &errs);
	ok(cfg != NULL, "a full config loads");
	if (!cfg) {
		for (size_t i = 0; i < errs.n; i++)
			printf("# %s\n", errs.msg[i]);
		return;
	}
	is_int(cfg->nprefixes, 2, "two prefixes, no default added");
	is_int(cfg->dns64.exclude.n, 5, "public-service exclude profile");
	is_int(cfg->dns64.unbound_options.n, 2, "repeatable option appends");
	is_str(cfg->dns64.unbound_options.v[0], "local-zone: \"test.\" nodefault",
	       "repeatable option keeps its spaces");
	is_int(cfg->nat64.pool4.n, 2, "pool4 items");
	is_int(cfg->nat64.pool4.v[1].port_min, 61001, "pool4 port range");
	is_int(cfg->hints.interfaces.n, 2, "interface list");
	char *first = print_to_string(cfg);
	struct sixfour_config *again = config_load_string("t.ini", first, &errs);
	ok(again != NULL, "canonical output loads again");
	char *second = again ? print_to_string(again) : NULL;
	is_str(second, first, "printing the reloaded canonical form gives the same text");
	ok(strstr(first, "cache-size = 1M\n") && strstr(first, "tcp-est-timeout = 3h\n"),
	   "canonical units");
	free(first);
	free(second);
	config_free(again);
	config_free(cfg);
}

/* The `reload` column: restart-class keys that changed are named, live
 * keys are not. */
static void test_restart_changes(void)
{
	struct sixfour_config *a = config_load_string("a.ini", "[nat64]\nudp-timeout = 5m\n", &errs);
	struct sixfour_config *b = config_load_string("b.ini",
		"[nat64]\nudp-timeout = 10m\n[general]\nlog-level = debug\n", &errs);
	struct sixfour_config *c = config_load_string("c.ini",
		"[nat64]\nmtu = 1400\nmax-sessions = 1024\n[dns64]\nlisten = [::1]:53\n", &errs);
	if (!a || !b || !c)
		bail("reload-class configs load");
	char err[256];
	is_int(config_restart_changes(a, b, NULL, err, sizeof(err)), 0,
	       "live keys (udp-timeout, log-level) may change at reload");
	is_str(err, "", "and nothing is named");
	is_int(config_restart_changes(a, c, NULL, err, sizeof(err)), -EINVAL,
	       "restart keys are refused");
	is_str(err, "changes to [dns64] listen need a restart; "
	       "changes to [nat64] mtu, max-sessions need a restart",
	       "every changed restart key is named, by section");
	is_int(config_restart_changes(a, c, "dns64", err, sizeof(err)), -EINVAL,
	       "one section at a time");
	is_str(err, "changes to [dns64] listen need a restart", "only that section is named");
	is_int(config_restart_changes(a, c, "hints", err, sizeof(err)), 0,
	       "an untouched section passes");
	char tiny[8];
	ok(config_restart_changes(a, c, NULL, tiny, sizeof(tiny)) == -EINVAL &&
	   strlen(tiny) == sizeof(tiny) - 1, "a short buffer is cut, still terminated");
	config_free(a);
	config_free(b);
	config_free(c);
}

int main(void)
{
	plan(61);
	test_defaults();
	test_errors();
	test_roundtrip();
	test_restart_changes();
	return tap_done();
}
