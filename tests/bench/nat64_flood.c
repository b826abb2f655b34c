/* Load generators for tests/bench/nat64_bench.sh (not part of sixfourd).
 *
 *   nat64_flood accept ADDR PORT THREADS
 *       accepts TCP connections and closes them at once, forever.
 *   nat64_flood conn ADDR PORT SECONDS THREADS
 *       opens and resets TCP connections for SECONDS; prints connections/s.
 *   nat64_flood flows SRC6PREFIX DST6 PORT COUNT PPS
 *       sends COUNT UDP datagrams over a raw IPv6 socket from address
 *       SRC6PREFIX::1, each a new flow for the translator's table: 32
 *       source ports times destination ports 1, 2, ... (so 32 pool4
 *       mappings carry all the sessions), paced at PPS.
 *   nat64_flood rfc4814 SRC6 DST6 SECONDS PPS
 *       for SECONDS sends one-packet UDP flows from SRC6 to DST6 with RFC 4814
 *       (section 4.5) pseudorandom ports: source 1024-65535, destination
 *       1-49151, so nearly every packet is a new flow; paced at PPS (0 = as
 *       fast as it goes). Prints "SENT ELAPSED".
 *   nat64_flood prefixes DST6 COUNT PPS
 *       COUNT datagrams, each from another /56 of 2001:db8::/32
 *       (2001:db8:NNNN:NN00::1): COUNT distinct client prefixes for the
 *       usage accounting's summaries. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage target;
static socklen_t target_len;
static volatile int stop;
static double seconds;

static int parse(const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(port));
		*len = sizeof(*s6);
		return 0;
	}
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(port));
		*len = sizeof(*s4);
		return 0;
	}
	return -1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int listener;

static void *acceptor(void *arg)
{
	for (;;) {
		int c = accept(listener, NULL, NULL);
		if (c >= 0)
			close(c);
	}
	return arg;
}

static void *connector(void *arg)
{
	long *count = arg;
	struct linger lg = { 1, 0 };	/* close with RST: no TIME_WAIT */
	double end = now() + seconds;
	while (now() < end) {
		int s = socket(target.ss_family, SOCK_STREAM, 0);
		if (s < 0)
			break;
		setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		struct timeval tv = { 1, 0 };
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(s, (struct sockaddr *)&target, target_len) == 0)
			(*count)++;
		close(s);
	}
	return NULL;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* One IPv6/UDP datagram of 8 payload octets, SRC -> DST, ports set by
 * udp6_ports. */
struct udp6 {
	uint8_t pkt[40 + 8 + 8];
	uint32_t base;		/* checksum of everything but the ports */
	int sock;
	struct sockaddr_in6 to;
};

/* The checksum of everything but the ports (again after the source changed). */
static void udp6_rebase(struct udp6 *u)
{
	u->base = csum_add(0, u->pkt + 8, 32) + 16 + IPPROTO_UDP;
	u->base = csum_add(u->base, u->pkt + 44, 2);
	u->base = csum_add(u->base, u->pkt + 48, 8);
}

static int udp6_open(struct udp6 *u, const char *src, const char *dst, const char *payload)
{
	struct in6_addr s6, d6;
	if (inet_pton(AF_INET6, src, &s6) != 1 || inet_pton(AF_INET6, dst, &d6) != 1)
		return 2;
	u->sock = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (u->sock < 0) {
		perror("raw socket");
		return 1;
	}
	memset(u->pkt, 0, sizeof(u->pkt));
	u->pkt[0] = 0x60;
	u->pkt[5] = 16;
	u->pkt[6] = IPPROTO_UDP;
	u->pkt[7] = 64;
	memcpy(u->pkt + 8, &s6, 16);
	memcpy(u->pkt + 24, &d6, 16);
	u->pkt[45] = 16;
	memcpy(u->pkt + 48, payload, 8);
	udp6_rebase(u);
	u->to = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_addr = d6 };
	return 0;
}

/* Sets the ports and the checksum; true when the datagram left. */
static bool udp6_send(struct udp6 *u, uint16_t sport, uint16_t dport)
{
	u->pkt[40] = (uint8_t)(sport >> 8);
	u->pkt[41] = (uint8_t)sport;
	u->pkt[42] = (uint8_t)(dport >> 8);
	u->pkt[43] = (uint8_t)dport;
	uint16_t c = csum_fold(u->base + sport + dport);
	u->pkt[46] = (uint8_t)(c >> 8);
	u->pkt[47] = (uint8_t)c;
	return sendto(u->sock, u->pkt, sizeof(u->pkt), 0, (struct sockaddr *)&u->to,
		      sizeof(u->to)) == (ssize_t)sizeof(u->pkt);
}

/* Sleeps until `done` packets are due at `pps` since `start`. */
static void pace(double start, long done, long pps)
{
	if (pps <= 0)
		return;
	double d = start + (double)done / (double)pps - now();
	if (d > 0) {
		struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

static int flows(const char *prefix, const char *dst, long count, long pps)
{
	char src[INET6_ADDRSTRLEN + 2];
	snprintf(src, sizeof(src), "%s1", prefix);	/* PREFIX::1 */
	struct udp6 u;
	int rc = udp6_open(&u, src, dst, "sixfour!");
	if (rc)
		return rc;
	double start = now();
	for (long i = 0; i < count; i++) {
		udp6_send(&u, (uint16_t)(1024 + i % 32), (uint16_t)(1 + (i / 32) % 65535));
		if (i % 256 == 255)
			pace(start, i + 1, pps);
	}
	printf("%ld flows in %.2f s\n", count, now() - start);
	return 0;
}

/* One datagram from each of `count` client /56s (bits 32..55 of the
 * source), so that the usage summaries hold that many prefixes. */
static int prefixes(const char *dst, long count, long pps)
{
	struct udp6 u;
	int rc = udp6_open(&u, "2001:db8::1", dst, "prefixes");
	if (rc)
		return rc;
	double start = now();
	for (long i = 0; i < count; i++) {
		u.pkt[8 + 4] = (uint8_t)(i >> 16);
		u.pkt[8 + 5] = (uint8_t)(i >> 8);
		u.pkt[8 + 6] = (uint8_t)i;
		udp6_rebase(&u);
		udp6_send(&u, 1024, (uint16_t)(1 + i % 65535));
		if (i % 256 == 255)
			pace(start, i + 1, pps);
	}
	printf("%ld prefixes in %.2f s\n", count, now() - start);
	return 0;
}

/* A small xorshift generator: RFC 4814 asks for pseudorandom ports, not
 * for cryptographic ones. */
static uint64_t xs = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 7;
	xs ^= xs << 17;
	return (uint32_t)(xs >> 16);
}

static int rfc4814(const char *src, const char *dst, double secs, long pps)
{
	struct udp6 u;
	int rc = udp6_open(&u, src, dst, "rfc 4814");
	if (rc)
		return rc;
	double start = now(), end = start + secs;
	long sent = 0;
	while (now() < end) {
		for (int k = 0; k < 256; k++)
			sent += udp6_send(&u, (uint16_t)(1024 + rnd() % (65536 - 1024)),
					  (uint16_t)(1 + rnd() % 49151));
		pace(start, sent, pps);
	}
	printf("%ld %.3f\n", sent, now() - start);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "accept") == 0) {
		if (parse(argv[2], argv[3], &target, &target_len))
			return 2;
		listener = socket(target.ss_family, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(listener, (struct sockaddr *)&target, target_len) || listen(listener, 4096)) {
			perror("listen");
			return 1;
		}
		int n = atoi(argv[4]);
		pthread_t t[64];
		for (int i = 0; i < n && i < 64; i++)
			pthread_create(&t[i], NULL, acceptor, NULL);
		pause();
		return 0;
	}
	if (argc >= 6 && strcmp(argv[1], "conn") == 0) {
		if (parse(argv[2], argv[3], &target, &target_len))
			return 2;
		seconds = atof(argv[4]);
		int n = atoi(argv[5]);
		pthread_t t[64];
		long counts[64] = { 0 };
		double t0 = now();
		for (int i = 0; i < n && i < 64; i++)
			pthread_create(&t[i], NULL, connector, &counts[i]);
		long total = 0;
		for (int i = 0; i < n && i < 64; i++) {
			pthread_join(t[i], NULL);
			total += counts[i];
		}
		printf("%.0f\n", (double)total / (now() - t0));
		return 0;
	}
	if (argc >= 7 && strcmp(argv[1], "flows") == 0)
		return flows(argv[2], argv[3], atol(argv[5]), atol(argv[6]));
	if (argc >= 6 && strcmp(argv[1], "rfc4814") == 0)
		return rfc4814(argv[2], argv[3], atof(argv[4]), atol(argv[5]));
	if (argc >= 5 && strcmp(argv[1], "prefixes") == 0)
		return prefixes(argv[2], atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: see the comment at the top of nat64_flood.c\n");
	return 2;
}
