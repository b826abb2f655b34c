/* Exports for resolvers we do not run: the BIND and Unbound texts in every
 * role (dns64/export.c), the [export] fallback, files replaced atomically
 * with their mode kept and only on a change, and reload commands (real
 * child processes: success, failure, timeout, retry) on a real event loop. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/publish.h"
#include "common/rfc6052.h"
#include "common/subsys.h"
#include "dns64/export.h"
#include "health/exports.h"
#include "health/spawn.h"
#include "tests/unit/config_fixture.h"
#include "tap.h"

static const char *const base_ini =
	"[prefix site1]\nprefix = 2001:db8:64:1::/96\nprobe = yes\nprobe-target = 192.88.99.80\n"
	"[prefix site2]\nprefix = 2001:db8:64:2::/96\nprobe = yes\nprobe-target = 192.88.99.80\n"
	"[prefix wkp]\nprefix = 64:ff9b::/96\nprobe = yes\nprobe-target = 192.88.99.80\n"
	"[dns64]\nenable = %s\n"
	"exclude = 0::/3, 4000::/2, 8000::/1, 2001:db8::/32, ::ffff:0:0/96\n"
	"[nat64]\nenable = no\n%s";

static struct sixfour_config *load(const char *dns64, const char *extra)
{
	char text[2048];
	snprintf(text, sizeof(text), base_ini, dns64, extra);
	return fixture_config(text);
}

/* The set with the named prefixes active and their round trips. */
static struct prefix_set *set_with(const struct sixfour_config *cfg, const char *active,
				   const uint32_t *rtt)
{
	struct prefix_set *s = config_prefix_set(cfg);
	for (size_t i = 0; i < s->count; i++) {
		s->prefixes[i].active = strstr(active, s->prefixes[i].name) != NULL;
		s->prefixes[i].rtt_us = rtt ? rtt[i] : 0;
	}
	return s;
}

static char *text_of(const struct prefix_set *set, const struct sixfour_config *cfg,
		     const char *format)
{
	struct ctl_out out = { 0 };
	dns64_export(set, cfg, format, false, &out);
	ctl_printf(&out, "%s", "");
	return out.buf;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* --- the event loop around struct exports --- */

struct rig {
	struct evloop *loop;
	struct publish_domain dom;
	struct prefix_pub pub;
	struct sixfour_ctx ctx;
	struct sixfour_config *cfg;
	struct exports *x;
};

static void rig_init(struct rig *r, struct sixfour_config *cfg, const char *active)
{
	memset(r, 0, sizeof(*r));
	r->loop = evloop_new();
	publish_domain_init(&r->dom);
	prefix_pub_init(&r->pub, &r->dom);
	prefix_pub_publish(&r->pub, set_with(cfg, active, NULL));
	r->cfg = cfg;
	r->ctx = (struct sixfour_ctx){ .loop = r->loop, .cfg = cfg, .prefixes = &r->pub,
				       .publish = &r->dom };
	r->x = exports_new(&r->ctx);
}

static void rig_free(struct rig *r)
{
	exports_free(r->x);
	prefix_pub_destroy(&r->pub);
	publish_domain_destroy(&r->dom);
	evloop_free(r->loop);
	config_free(r->cfg);
}

/* Runs the loop until `cond` holds or `ms` pass. */
static bool spin(struct rig *r, bool (*cond)(struct rig *), uint64_t ms)
{
	uint64_t end = monotonic_ms() + ms;
	while (!cond(r)) {
		if (monotonic_ms() >= end)
			return false;
		evloop_run_once(r->loop, 20);
	}
	return true;
}

static char status_buf[8192];
static const char *status(struct rig *r)
{
	struct ctl_out out = { 0 };
	exports_status(r->x, &out);
	ctl_printf(&out, "%s", "");
	snprintf(status_buf, sizeof(status_buf), "%s", out.buf ? out.buf : "");
	free(out.buf);
	return status_buf;
}

/* The counter value NAME of the first file in `exports_status`. */
static unsigned long long count_of(struct rig *r, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\n  %s ", name);
	const char *s = strstr(status(r), key);
	return s ? strtoull(s + strlen(key), NULL, 10) : 0;
}

static char dir[256], marker[300];
static bool file_exists(struct rig *r) { return access(marker, F_OK) == 0; }
static bool two_reloads(struct rig *r) { return count_of(r, "reloads") >= 2; }
static bool failed_twice(struct rig *r) { return count_of(r, "reload_failures") >= 2; }
static bool timed_out(struct rig *r) { return count_of(r, "reload_timeouts") >= 1; }
static bool one_reload(struct rig *r) { return count_of(r, "reloads") >= 1; }

int main(void)
{
	plan(26);

	/* --- texts: the same in every role --- */
	struct sixfour_config *off = load("no", ""), *on = load("yes", "");
	uint32_t rtt[3] = { 30000, 10000, 20000 };
	struct prefix_set *s12 = set_with(off, "site1 site2", rtt);
	char *b_off = text_of(s12, off, "bind"), *b_on = text_of(s12, on, "bind");
	is_str(b_off, b_on, "BIND text is the same with our resolver off and on");
	ok(strstr(b_off, "dns64 2001:db8:64:2::/96 {\n\tclients { any; };\n"
			 "\texclude { 0::/3; 4000::/2; 8000::/1; 2001:db8::/32; };\n};\n") != NULL,
	   "the public-service block: clients any, the exclude profile (::ffff:0:0/96 is in 0::/3)");
	ok(!strstr(b_off, "mapped"), "no mapped list for a network-specific prefix and mapped any");
	ok(strstr(b_off, "dns64 2001:db8:64:1::/96 {") && !strstr(b_off, "64:ff9b"),
	   "one block per active prefix, none for the inactive one");
	ok(strstr(b_off, "2001:db8:64:2::/96") < strstr(b_off, "2001:db8:64:1::/96"),
	   "blocks best first (lowest round trip)");
	struct prefix_set *sw = set_with(off, "wkp", NULL);
	char *b_wkp = text_of(sw, off, "bind");
	ok(strstr(b_wkp, "\tmapped { !0.0.0.0/8; !10.0.0.0/8;") && strstr(b_wkp, "!240.0.0.0/4; any; };"),
	   "the WKP block keeps non-global IPv4 out (RFC 6052 3.1) and maps the rest");
	char *u_off = text_of(s12, off, "unbound"), *u_on = text_of(s12, on, "unbound");
	is_str(u_off, u_on, "Unbound text is the same in both roles");
	ok(strstr(u_off, "\tdns64-prefix: 2001:db8:64:2::/96\n") &&
	   strstr(u_off, "# site2: the best healthy prefix of 2 active"),
	   "Unbound gets the best healthy prefix, and a comment says so");
	ok(strstr(u_off, "# not expressible: a further prefix 2001:db8:64:1::/96 (site1)"),
	   "the other active prefix is named as not expressible");
	struct prefix_set *none = set_with(off, "", NULL);
	char *b_none = text_of(none, off, "bind");
	ok(!strstr(b_none, "\ndns64 ") && strstr(b_none, "no prefix to synthesize with"),
	   "no active prefix: no block, a comment");
	free(b_off); free(b_on); free(b_wkp); free(u_off); free(u_on); free(b_none);
	prefix_set_free(s12); prefix_set_free(sw); prefix_set_free(none);
	config_free(on);

	/* --- fallback --- */
	struct rig r;
	rig_init(&r, off, "");
	struct ctl_out out = { 0 };
	exports_render(r.x, "bind", &out);
	ctl_printf(&out, "%s", "");
	ok(strstr(out.buf, "fallback prefixes") && strstr(out.buf, "dns64 2001:db8:64:1::/96") &&
	   strstr(out.buf, "dns64 64:ff9b::/96"), "no healthy prefix: fallback = all exports every prefix");
	free(out.buf);
	rig_free(&r);
	rig_init(&r, load("no", "[export]\nfallback = site2\n"), "");
	memset(&out, 0, sizeof(out));
	exports_render(r.x, "bind", &out);
	ctl_printf(&out, "%s", "");
	ok(strstr(out.buf, "dns64 2001:db8:64:2::/96") && !strstr(out.buf, "2001:db8:64:1::"),
	   "fallback = site2 exports that prefix alone");
	free(out.buf);
	rig_free(&r);
	/* radvd: interfaces of [export], PREF64 of the advertised prefixes. */
	struct sixfour_config *rc = load("no", "[hints]\nrdnss = 2001:db8:53::1\n"
					 "[export]\nradvd-interface = eth9\n");
	rc->prefixes[1].advertise = true;
	rig_init(&r, rc, "site1 site2");
	memset(&out, 0, sizeof(out));
	exports_render(r.x, "radvd", &out);
	ctl_printf(&out, "%s", "");
	ok(strstr(out.buf, "interface eth9 {") && strstr(out.buf, "RDNSS 2001:db8:53::1 {") &&
	   strstr(out.buf, "nat64prefix 2001:db8:64:2::/96 {") && !strstr(out.buf, "2001:db8:64:1::/96"),
	   "radvd: [export] radvd-interface, [hints] rdnss, nat64prefix for the advertised prefix");
	free(out.buf);
	rig_free(&r);
	struct sixfour_config *bad = load("no", "");
	char err[256] = "";
	free(bad->export.fallback.v[0]);
	bad->export.fallback.v[0] = strdup("nosuch");
	ok(exports_check(bad, err, sizeof(err)) != 0 && strstr(err, "no [prefix nosuch]"),
	   "a fallback naming no prefix is refused");
	config_free(bad);

	/* --- files and reload commands --- */
	snprintf(dir, sizeof(dir), "/tmp/sixfour-export-test.XXXXXX");
	if (!mkdtemp(dir))
		bail("mkdtemp");
	char path[300], extra[1024];
	snprintf(path, sizeof(path), "%s/named.conf.dns64", dir);
	snprintf(marker, sizeof(marker), "%s/reloaded", dir);
	/* The "reload command" appends a line to a marker file. */
	snprintf(extra, sizeof(extra), "[export]\nbind = %s\nbind-reload = /bin/sh -c \"echo x >> %s\"\n",
		 path, marker);
	rig_init(&r, load("no", extra), "site1");
	FILE *f = fopen(path, "w");
	fputs("old\n", f);
	fclose(f);
	chmod(path, 0640);
	exports_update(r.x);
	evloop_run_once(r.loop, 50);
	ok(access(marker, F_OK) != 0 && strcmp(slurp(path), "old\n") == 0,
	   "nothing is written before the first verdicts (held)");
	exports_release(r.x);
	ok(spin(&r, file_exists, 5000), "released: the file is written and the command runs");
	char *t = slurp(path);
	ok(t && strstr(t, "dns64 2001:db8:64:1::/96"), "the file holds the BIND text");
	struct stat st;
	stat(path, &st);
	is_int(st.st_mode & 07777, 0640, "the file kept its mode");
	snprintf(extra, sizeof(extra), "%s.sixfour-tmp", path);
	ok(access(extra, F_OK) != 0, "no temporary file is left behind");
	ok(spin(&r, one_reload, 5000) && count_of(&r, "written") == 1, "one write, one reload");
	exports_update(r.x);
	evloop_run_once(r.loop, 50);
	spin(&r, one_reload, 100);
	ok(count_of(&r, "written") == 1 && count_of(&r, "reloads") == 1,
	   "an update with the same text writes nothing and reloads nothing");
	/* A new verdict: the file changes, the command runs again. */
	prefix_pub_publish(&r.pub, set_with(r.cfg, "site2", NULL));
	exports_update(r.x);
	ok(spin(&r, two_reloads, 5000) && strstr(slurp(path), "2001:db8:64:2::/96") &&
	   !strstr(slurp(path), "2001:db8:64:1::/96"), "a changed set rewrites the file and reloads");
	rig_free(&r);

	/* A failing command is retried (retry-interval 100ms in the test). */
	snprintf(extra, sizeof(extra), "[export]\nbind = %s\nbind-reload = /bin/false\n"
		 "retry-interval = 100ms\n", path);
	rig_init(&r, load("no", extra), "site2 site1");
	exports_release(r.x);
	ok(spin(&r, failed_twice, 5000), "a failing reload command is counted and retried");
	ok(strstr(status(&r), "last error: exit status 1"), "its exit status is reported");
	rig_free(&r);

	/* A hanging command is killed after reload-timeout. */
	snprintf(extra, sizeof(extra), "[export]\nbind = %s\nbind-reload = /bin/sleep 30\n"
		 "reload-timeout = 200ms\nretry-interval = 10s\n", path);
	rig_init(&r, load("no", extra), "site1");
	exports_release(r.x);
	ok(spin(&r, timed_out, 5000) && strstr(status(&r), "killed after 200 ms"),
	   "a command that hangs is killed after reload-timeout and counted");
	rig_free(&r);

	/* The split of a command line, no shell. */
	char buf[256], *argv[SPAWN_MAX_ARGS];
	int n = spawn_split("rndc -s \"my server\"  reconfig", buf, sizeof(buf), argv, SPAWN_MAX_ARGS);
	ok(n == 4 && !strcmp(argv[2], "my server") && !strcmp(argv[3], "reconfig") && !argv[4],
	   "a command splits at spaces, quotes group words");
	unlink(path);
	unlink(marker);
	rmdir(dir);
	return tap_done();
}
