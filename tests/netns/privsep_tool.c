/* Drives sixfourd's real privileged helper (appliance/privhelper.c) the
 * way a compromised sixfourd could: it opens the TUN of CONFIG's [nat64]
 * device as sixfourd does, forks the helper with CONFIG, and sends
 * requests, printing "NAME RC" per request (RC 0 or -errno). Then it prints
 * "ready" and obeys lines on stdin: "reload" (the helper re-reads CONFIG,
 * then the foreign route is asked for again: "after-reload RC") or "exit".
 * tests/netns/privsep.sh checks the kernel's routes between the steps. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "appliance/cmdlauncher.h"
#include "appliance/privhelper.h"
#include "common/config.h"
#include "common/evloop.h"
#include "common/launcher.h"
#include "common/log.h"
#include "nat64/nat64_priv.h"
#include "nat64/netadmin.h"
#include "nat64/tun.h"

#define FOREIGN "2001:db8:bad::/96"

static struct sixfour_config *load(const char *arg, struct config_errors *errs)
{
	return config_load(arg, errs);
}

static void say(const char *what, int rc)
{
	printf("%s %d\n", what, rc);
	fflush(stdout);
}

struct launched {
	bool done;
	int status;
	char output[LAUNCHER_OUTPUT_MAX];
};

static void launched(void *arg, int status, const char *output)
{
	struct launched *r = arg;
	r->done = true;
	r->status = status;
	snprintf(r->output, sizeof(r->output), "%s", output);
}

/* Asks the command launcher to start argv; its status ("NAME STATUS"). */
static void launch(struct evloop *loop, struct launcher *l, const char *name, char *const argv[])
{
	struct launched r = { 0 };
	if (!launcher_run(l, argv, 5000, launched, &r)) {
		say(name, -12);
		return;
	}
	for (int i = 0; i < 100 && !r.done; i++)
		evloop_run_once(loop, 100);
	say(name, r.done ? r.status : -110);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: privsep_tool CONFIG\n");
		return 2;
	}
	log_init("privsep_tool", true, LOG_LVL_INFO);
	struct config_errors errs;
	struct sixfour_config *cfg = config_load(argv[1], &errs);
	if (!cfg || cfg->nprefixes == 0 || !cfg->prefixes[0].translate) {
		fprintf(stderr, "privsep_tool: %s needs a first prefix with translate = yes\n", argv[1]);
		return 2;
	}
	int fd;
	struct tun_offload offl;
	int rc = tun_open(cfg->nat64.device, 1, false, &fd, &offl);
	if (rc) {
		fprintf(stderr, "privsep_tool: TUN %s: %s\n", cfg->nat64.device, strerror(-rc));
		return 1;
	}
	struct privsep *ps = privhelper_start(cfg, load, argv[1]);
	if (!ps)
		return 1;
	int ifindex = nat64_netadmin_link(ps);
	say("link", ifindex > 0 ? 0 : ifindex);

	struct nat64_route r[2] = { { cfg->prefixes[0].prefix, RT_TABLE_MAIN },
				    { .table = RT_TABLE_MAIN } };
	cidr_parse(FOREIGN, &r[1].dst, false);
	say("routes-config", nat64_netadmin_routes(ps, r, 1));
	say("routes-foreign", nat64_netadmin_routes(ps, r, 2));
	say("routes-foreign-alone", nat64_netadmin_routes(ps, &r[1], 1));
	struct nat64_route def = { { .family = AF_INET6, .len = 0 }, RT_TABLE_MAIN };
	say("routes-default", nat64_netadmin_routes(ps, &def, 1));
	say("nft-foreign", nat64_netadmin_nft(ps, NULL, 0, &r[1].dst, 1));
	struct nat64_nft_steer s = { .port_min = 1, .port_max = 65535 };
	inet_pton(AF_INET, "192.0.2.99", &s.addr);
	say("reserve-foreign", nat64_netadmin_reserve(ps, &s, 1));
	/* A route count that does not match the payload. */
	uint32_t bogus = 5;
	say("malformed", privsep_call(ps, NAT64_NETADMIN_ROUTES, &bogus, sizeof(bogus), NULL, 0, NULL));
	say("unknown", privsep_call(ps, 0x7f00, NULL, 0, NULL, 0, NULL));

	/* The command launcher: only the configuration's reload commands. */
	pid_t lpid;
	int lfd = cmdlauncher_start(cfg, load, argv[1], &lpid);
	struct evloop *loop = evloop_new();
	struct launcher *l = lfd >= 0 && loop ? launcher_new(loop, lfd, lpid) : NULL;
	char *configured[] = { "/bin/sh", "-c", "exit 7", NULL };
	char *foreign[] = { "/bin/sh", "-c", "exit 8", NULL };
	if (l) {
		launch(loop, l, "launch-configured", configured);
		launch(loop, l, "launch-foreign", foreign);
	}
	say("ready", 0);

	char line[64];
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "reload", 6) == 0) {
			say("reload", privhelper_reload(ps));
			say("after-reload", nat64_netadmin_routes(ps, r, 2));
		} else if (strncmp(line, "exit", 4) == 0) {
			break;
		}
	}
	launcher_close(l);
	evloop_free(loop);
	privsep_close(ps);	/* the helper removes its routes and exits */
	tun_close(&fd, 1);
	config_free(cfg);
	say("closed", 0);
	return 0;
}
