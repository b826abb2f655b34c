/* sixfourctl: talks to sixfourd over its control socket. */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/cluster.h"
#include "common/config.h"
#include "common/ctl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sixfourctl [-s SOCKET] [--json] COMMAND [ARGS...]\n"
		"  -s SOCKET  control socket (default /run/sixfour/sixfourd.sock)\n"
		"  --json     machine-readable output\n"
		"Commands: status, reload, help (sixfourctl help lists all the\n"
		"commands of the running daemon).\n"
		"  cluster follow FIFO  keepalived's vrrp_notify_fifo_script (doc/cluster.md)\n");
}

int main(int argc, char **argv)
{
	const char *sock = "/run/sixfour/sixfourd.sock";
	bool json = false;
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	/* Runs here, not in the daemon: it outlives any one call. */
	if (argc - optind == 3 && strcmp(argv[optind], "cluster") == 0 &&
	    strcmp(argv[optind + 1], "follow") == 0)
		return cluster_follow(sock, argv[optind + 2]);
	int rc = ctl_call(sock, argc - optind, argv + optind, json, stdout);
	if (rc < 0) {
		fprintf(stderr, "sixfourctl: cannot reach sixfourd at %s: %s\n", sock,
			strerror(-rc));
		return 3;
	}
	return rc;
}
