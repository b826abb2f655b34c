/* pool4 allocation: RFC 6146 3.5.1.1 parity and range, RFC 6056 random
 * start, paired addresses, exhaustion. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat64/pool4.h"
#include "tests/unit/tap.h"

/* A used-port set per address index (last octet) for the in_use callback. */
struct used {
	uint8_t bits[256][65536 / 8];
};

static bool in_use(void *arg, uint8_t proto, struct in_addr a, uint16_t port)
{
	struct used *u = arg;
	uint8_t last = (uint8_t)(ntohl(a.s_addr) & 0xff);
	return u->bits[last][port / 8] & (1u << (port % 8));
}

static void mark(struct used *u, struct in_addr a, uint16_t port)
{
	uint8_t last = (uint8_t)(ntohl(a.s_addr) & 0xff);
	u->bits[last][port / 8] |= (uint8_t)(1u << (port % 8));
}

static struct in_addr ip4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;
	inet_pton(AF_INET6, s, &a);
	return a;
}

int main(void)
{
	struct used *u = calloc(1, sizeof(*u));
	struct in6_addr c1 = ip6("2001:db8:1::100"), c2 = ip6("2001:db8:2::100");
	struct in_addr a;
	uint16_t port;

	/* --- contains, overlap --- */
	struct pool4 *p = pool4_new(12345);
	is_int(pool4_add(p, ip4("192.0.2.0"), 30, 1024, 65535), 0, "add a /30");
	is_int(pool4_add(p, ip4("192.0.2.2"), 32, 2000, 3000), -EEXIST, "overlap refused");
	is_int(pool4_add(p, ip4("198.51.100.1"), 32, 1, 1023), 0, "add a /32 low range");
	is_int((int)pool4_count(p), 5, "five addresses");
	ok(pool4_contains(p, ip4("192.0.2.3"), 5000), "contains address in /30 and port");
	ok(!pool4_contains(p, ip4("192.0.2.3"), 80), "port outside range is not ours");
	ok(!pool4_contains(p, ip4("192.0.2.4"), 5000), "address outside is not ours");
	ok(pool4_has_addr(p, ip4("198.51.100.1")), "has_addr");
	ok(!pool4_has_addr(p, ip4("198.51.100.2")), "has_addr negative");
	pool4_free(p);

	/* --- parity and range (RFC 6146 3.5.1.1) --- */
	p = pool4_new(777);
	pool4_add(p, ip4("192.0.2.1"), 32, 1, 65535);
	int parity_ok = 0, range_ok = 0;
	for (int i = 0; i < 200; i++) {
		uint16_t cport = (uint16_t)(40000 + i);
		if (pool4_allocate(p, IPPROTO_UDP, &c1, cport, in_use, u, &a, &port) == 0) {
			parity_ok += (port & 1) == (cport & 1);
			range_ok += port >= 1024;
			mark(u, a, port);
		}
	}
	is_int(parity_ok, 200, "parity kept for 200 allocations");
	is_int(range_ok, 200, "client ports >= 1024 get ports >= 1024");
	int low = 0;
	for (int i = 0; i < 50; i++) {
		uint16_t cport = (uint16_t)(100 + i);
		if (pool4_allocate(p, IPPROTO_TCP, &c1, cport, in_use, u, &a, &port) == 0) {
			low += port < 1024 && port > 0 && (port & 1) == (cport & 1);
			mark(u, a, port);
		}
	}
	is_int(low, 50, "client ports < 1024 get ports < 1024 of the same parity");
	pool4_free(p);

	/* --- randomness: not sequential, spread over the range --- */
	memset(u, 0, sizeof(*u));
	p = pool4_new(0);
	pool4_add(p, ip4("192.0.2.1"), 32, 61001, 65535);
	uint16_t prev = 0;
	int sequential = 0, lowhalf = 0;
	for (int i = 0; i < 100; i++) {
		pool4_allocate(p, IPPROTO_UDP, &c1, 50000, in_use, u, &a, &port);
		mark(u, a, port);
		sequential += port == prev + 2;
		lowhalf += port < 63268;
		prev = port;
	}
	ok(sequential < 5, "ports are not handed out in sequence");
	ok(lowhalf > 20 && lowhalf < 80, "ports spread over the whole range");
	pool4_free(p);

	/* Two pools with different random seeds choose different ports. */
	memset(u, 0, sizeof(*u));
	struct pool4 *p1 = pool4_new(0), *p2 = pool4_new(0);
	pool4_add(p1, ip4("192.0.2.1"), 32, 1024, 65535);
	pool4_add(p2, ip4("192.0.2.1"), 32, 1024, 65535);
	int same = 0;
	for (int i = 0; i < 20; i++) {
		uint16_t x, y;
		pool4_allocate(p1, IPPROTO_UDP, &c1, 5000, in_use, u, &a, &x);
		pool4_allocate(p2, IPPROTO_UDP, &c1, 5000, in_use, u, &a, &y);
		same += x == y;
	}
	ok(same < 3, "independent pools are unpredictable to each other");
	pool4_free(p1);
	pool4_free(p2);

	/* --- paired address: one client, one address --- */
	memset(u, 0, sizeof(*u));
	p = pool4_new(99);
	pool4_add(p, ip4("192.0.2.0"), 28, 1024, 65535);
	struct in_addr first;
	pool4_allocate(p, IPPROTO_TCP, &c1, 1111, in_use, u, &first, &port);
	int paired = 0;
	for (int i = 0; i < 20; i++) {
		pool4_allocate(p, IPPROTO_TCP, &c1, (uint16_t)(2000 + i), in_use, u, &a, &port);
		mark(u, a, port);
		paired += a.s_addr == first.s_addr;
	}
	is_int(paired, 20, "the same client always gets the same pool address");
	int other = 0;
	for (int i = 0; i < 16; i++) {
		struct in6_addr c = c2;
		c.s6_addr[5] = (uint8_t)i;
		pool4_allocate(p, IPPROTO_TCP, &c, 3000, in_use, u, &a, &port);
		other += a.s_addr != first.s_addr;
	}
	ok(other > 0, "other clients are spread over other addresses");
	pool4_free(p);

	/* --- exhaustion, then spill to the next address --- */
	memset(u, 0, sizeof(*u));
	p = pool4_new(5);
	pool4_add(p, ip4("192.0.2.1"), 32, 2000, 2007);
	int got = 0;
	for (int i = 0; i < 10; i++)
		if (pool4_allocate(p, IPPROTO_UDP, &c1, (uint16_t)(3000 + i), in_use, u, &a, &port) ==
		    0) {
			ok(port >= 2000 && port <= 2007, "port inside the configured range");
			mark(u, a, port);
			got++;
		}
	is_int(got, 8, "eight ports, then no more");
	is_int(pool4_allocate(p, IPPROTO_UDP, &c1, 1, in_use, u, &a, &port), -ENOSPC,
	       "exhausted pool says ENOSPC");
	pool4_add(p, ip4("192.0.2.9"), 32, 2000, 2001);
	is_int(pool4_allocate(p, IPPROTO_UDP, &c1, 1, in_use, u, &a, &port), 0,
	       "a second address takes over");
	ok(a.s_addr == ip4("192.0.2.9").s_addr, "from the second address");
	/* ICMP identifiers use the whole range regardless of parity. */
	memset(u, 0, sizeof(*u));
	int icmp = 0;
	for (int i = 0; i < 10; i++)
		if (pool4_allocate(p, IPPROTO_ICMP, &c1, 7, in_use, u, &a, &port) == 0) {
			mark(u, a, port);
			icmp++;
		}
	is_int(icmp, 10, "ICMP ids: all ten of both addresses");
	pool4_free(p);
	free(u);
	return tap_done();
}
