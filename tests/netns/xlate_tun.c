/* Test harness for tests/netns/xlate.sh (not part of sixfourd): the packet
 * core of nat64/ behind a TUN device with a fixed one-client mapping in
 * place of the session table, so real Linux stacks exercise translation,
 * ICMP errors, fragments and PMTU without the state layer.
 *
 *   xlate_tun TUN PREFIX/LEN CLIENT6 POOL4 OWN4 OWN6 IPV4_MTU IPV6_MTU
 *
 * 6->4: source becomes POOL4, ports kept. 4->6: destination becomes
 * CLIENT6, source the IPv4 address embedded in PREFIX. Runs until killed. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/rfc6052.h"
#include "common/util.h"
#include "nat64/frag.h"
#include "nat64/xlate.h"

static int tun_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0)
		return -errno;
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: %s TUN PREFIX/LEN CLIENT6 POOL4 OWN4 OWN6 IPV4_MTU IPV6_MTU\n",
			argv[0]);
		return 2;
	}
	struct cidr pfx;
	struct in6_addr client6;
	struct in_addr pool4;
	struct nat64_xlate_cfg cfg = { 0 };
	if (cidr_parse(argv[2], &pfx, false) < 0 || pfx.family != AF_INET6 ||
	    inet_pton(AF_INET6, argv[3], &client6) != 1 || inet_pton(AF_INET, argv[4], &pool4) != 1 ||
	    inet_pton(AF_INET, argv[5], &cfg.own_v4) != 1 ||
	    inet_pton(AF_INET6, argv[6], &cfg.own_v6) != 1) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	struct prefix_set *set = prefix_set_alloc(1);
	set->prefixes[0].addr = pfx.addr.v6;
	set->prefixes[0].len = pfx.len;
	set->prefixes[0].roles = PREFIX_ROLE_TRANSLATE;
	uint32_t id = 1;
	struct nat64_icmp_limit lim = { .per_sec = 100, .burst = 50 };
	cfg.prefixes = set;
	cfg.ipv4_mtu = (uint16_t)atoi(argv[7]);
	cfg.ipv6_mtu = (uint16_t)atoi(argv[8]);
	cfg.reassemble_unchecksummed_udp = true;
	cfg.ipv4_id_next = &id;
	cfg.icmp_limit = &lim;
	cfg.frags = nat64_frag_new(64, 1 << 20, 2000);
	int fd = tun_open(argv[1]);
	if (fd < 0 || !cfg.frags) {
		fprintf(stderr, "tun %s: %s\n", argv[1], strerror(-fd));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	static uint8_t in[65536 + 64];
	uint8_t *buf = malloc(NAT64_OUT_BUF_MIN);
	unsigned long counts[NAT64_VERDICT_COUNT] = { 0 };
	for (;;) {
		ssize_t n = read(fd, in, sizeof(in));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		struct nat64_pkt pkt;
		struct nat64_tuple t, ot;
		struct nat64_out out = { .buf = buf, .cap = NAT64_OUT_BUF_MIN };
		enum nat64_verdict v;
		bool six = (in[0] >> 4) == 6;
		v = six ? nat64_determine_tuple6(&cfg, in, (size_t)n, &pkt, &t)
			: nat64_determine_tuple4(&cfg, in, (size_t)n, &pkt, &t);
		if (v == NAT64_CONTINUE) {
			ot = t;
			if (six) {
				ot.family = AF_INET;
				ot.src.v4 = pool4;
				ot.dst.v4 = pkt.dst4;
				v = nat64_translate_6to4(&cfg, &pkt, &ot, &out);
			} else {
				ot.family = AF_INET6;
				rfc6052_embed(&pfx.addr.v6, pfx.len, t.src.v4, &ot.src.v6);
				ot.dst.v6 = client6;
				v = nat64_translate_4to6(&cfg, &pkt, &ot, &out);
			}
		} else if (pkt.err_set) {
			v = nat64_icmp_error(&cfg, &pkt, pkt.err_type, pkt.err_code, pkt.err_param,
					     &out);
		}
		counts[v]++;
		if (v == NAT64_CONTINUE || v == NAT64_ICMP_SENT) {
			const uint8_t *p = out.buf;
			for (unsigned k = 0; k < out.count; k++) {
				if (write(fd, p, out.pkt_len[k]) < 0)
					perror("write");
				p += out.pkt_len[k];
			}
		}
		if (v != NAT64_CONTINUE && v != NAT64_HELD) {
			fprintf(stderr, "verdict %s (total %lu)\n", nat64_verdict_name(v), counts[v]);
		}
	}
	return 0;
}
