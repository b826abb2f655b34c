/* pool4 allocation: RFC 6146 3.5.1.1 parity and range, RFC 6056 random
 * start, paired addresses, exhaustion, the pool's own port map (take,
 * release, reserve, sample) and the caller's preferred port and veto. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat64/pool4.h"
#include "tests/unit/nat64_fixture.h"
#include "tests/unit/tap.h"

static int alloc(struct pool4 *p, uint8_t proto, const struct in6_addr *c, uint16_t cport,
		 struct in_addr *a, uint16_t *port)
{
	return pool4_allocate(p, proto, c, cport, NULL, a, port);
}

/* A pool of seed SEED holding one range: ADDR/PLEN, ports LO-HI. */
static struct pool4 *pool_of(uint64_t seed, const char *addr, unsigned plen, uint16_t lo,
			     uint16_t hi)
{
	struct pool4 *p = pool4_new(seed);
	pool4_add(p, ip4(addr), plen, lo, hi);
	return p;
}

static uint16_t hint_port;
static uint16_t prefer(void *arg, uint8_t proto, struct in_addr addr)
{
	(void)arg;
	(void)proto;
	(void)addr;
	return hint_port;
}

static int vetoes;
static uint16_t veto_lo, veto_hi;
static bool veto(void *arg, uint8_t proto, struct in_addr addr, uint16_t port)
{
	(void)arg;
	(void)proto;
	(void)addr;
	bool no = port >= veto_lo && port <= veto_hi;
	vetoes += no;
	return no;
}

static void test_contains(void)
{
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
	p = pool4_new(1);
	is_int(pool4_add(p, ip4("10.0.0.0"), 16, 1024, 65535), -E2BIG,
	       "a /16 with every port is more map than POOL4_MAX_MAP_BYTES");
	is_int(pool4_add(p, ip4("10.0.0.0"), 16, 60000, 63999), 0, "a /16 with 4000 ports fits");
	pool4_free(p);
}

static void test_parity_and_range(struct in6_addr c1)
{
	struct pool4 *p = pool4_new(777);
	struct in_addr a;
	uint16_t port;
	pool4_add(p, ip4("192.0.2.1"), 32, 1, 65535);
	int parity_ok = 0, range_ok = 0;
	for (int i = 0; i < 200; i++) {
		uint16_t cport = (uint16_t)(40000 + i);
		if (alloc(p, IPPROTO_UDP, &c1, cport, &a, &port) == 0) {
			parity_ok += (port & 1) == (cport & 1);
			range_ok += port >= 1024;
		}
	}
	is_int(parity_ok, 200, "parity kept for 200 allocations");
	is_int(range_ok, 200, "client ports >= 1024 get ports >= 1024");
	int low = 0;
	for (int i = 0; i < 50; i++) {
		uint16_t cport = (uint16_t)(100 + i);
		if (alloc(p, IPPROTO_TCP, &c1, cport, &a, &port) == 0)
			low += port < 1024 && port > 0 && (port & 1) == (cport & 1);
	}
	is_int(low, 50, "client ports < 1024 get ports < 1024 of the same parity");
	is_int((int)pool4_used(p, IPPROTO_UDP, a, NULL), 200, "the map counts UDP ports in use");
	is_int((int)pool4_used(p, IPPROTO_TCP, a, NULL), 50, "... and TCP ports apart");
	pool4_free(p);
}

static void test_random(struct in6_addr c1)
{
	struct in_addr a;
	uint16_t port;
	struct pool4 *p = pool_of(0, "192.0.2.1", 32, 61001, 65535);
	uint16_t prev = 0;
	int sequential = 0, lowhalf = 0;
	for (int i = 0; i < 100; i++) {
		alloc(p, IPPROTO_UDP, &c1, 50000, &a, &port);
		sequential += port == prev + 2;
		lowhalf += port < 63268;
		prev = port;
	}
	ok(sequential < 5, "ports are not handed out in sequence");
	ok(lowhalf > 20 && lowhalf < 80, "ports spread over the whole range");
	pool4_free(p);

	/* Two pools with different random seeds choose different ports. */
	struct pool4 *p1 = pool_of(0, "192.0.2.1", 32, 1024, 65535);
	struct pool4 *p2 = pool_of(0, "192.0.2.1", 32, 1024, 65535);
	int same = 0;
	for (int i = 0; i < 20; i++) {
		uint16_t x, y;
		alloc(p1, IPPROTO_UDP, &c1, 5000, &a, &x);
		alloc(p2, IPPROTO_UDP, &c1, 5000, &a, &y);
		same += x == y;
	}
	ok(same < 3, "independent pools are unpredictable to each other");
	pool4_free(p1);
	pool4_free(p2);
}

static void test_paired(struct in6_addr c1, struct in6_addr c2)
{
	struct in_addr a, first, paired_addr;
	uint16_t port;
	struct pool4 *p = pool_of(99, "192.0.2.0", 28, 1024, 65535);
	alloc(p, IPPROTO_TCP, &c1, 1111, &first, &port);
	int paired = 0;
	for (int i = 0; i < 20; i++) {
		alloc(p, IPPROTO_TCP, &c1, (uint16_t)(2000 + i), &a, &port);
		paired += a.s_addr == first.s_addr;
	}
	is_int(paired, 20, "the same client always gets the same pool address");
	ok(pool4_paired(p, &c1, &paired_addr) && paired_addr.s_addr == first.s_addr,
	   "pool4_paired names that address");
	int other = 0;
	for (int i = 0; i < 16; i++) {
		struct in6_addr c = c2;
		c.s6_addr[5] = (uint8_t)i;
		alloc(p, IPPROTO_TCP, &c, 3000, &a, &port);
		other += a.s_addr != first.s_addr;
	}
	ok(other > 0, "other clients are spread over other addresses");
	pool4_free(p);

	/* Hosts of one /64 that differ in their last octet only: spread too. */
	p = pool_of(100, "192.0.2.0", 30, 1024, 65535);
	int per[4] = { 0 };
	for (int i = 0; i < 64; i++) {
		struct in6_addr c = c1;
		c.s6_addr[15] = (uint8_t)i;
		if (alloc(p, IPPROTO_UDP, &c, 5000, &a, &port) == 0)
			per[(ntohl(a.s_addr) & 3)]++;
	}
	ok(per[0] >= 6 && per[1] >= 6 && per[2] >= 6 && per[3] >= 6,
	   "64 hosts of one /64 spread over the 4 addresses of a /30");
	if (!(per[0] >= 6 && per[1] >= 6 && per[2] >= 6 && per[3] >= 6))
		printf("#   %d %d %d %d\n", per[0], per[1], per[2], per[3]);
	pool4_free(p);
}

static void test_exhaustion(struct in6_addr c1)
{
	struct in_addr a;
	uint16_t port;
	struct pool4 *p = pool_of(5, "192.0.2.1", 32, 2000, 2007);
	int got = 0, inside = 0;
	for (int i = 0; i < 10; i++)
		if (alloc(p, IPPROTO_UDP, &c1, (uint16_t)(3000 + i), &a, &port) == 0) {
			inside += port >= 2000 && port <= 2007;
			got++;
		}
	is_int(got, 8, "eight ports, then no more");
	is_int(inside, 8, "every port inside the configured range");
	is_int(alloc(p, IPPROTO_UDP, &c1, 1, &a, &port), -ENOSPC, "exhausted pool says ENOSPC");
	size_t size;
	is_int((int)pool4_used(p, IPPROTO_UDP, ip4("192.0.2.1"), &size), 8, "8 used ...");
	is_int((int)size, 8, "... of 8");

	/* The map is the pool's own: a released port is free again. */
	pool4_release(p, IPPROTO_UDP, ip4("192.0.2.1"), 2003);
	is_int(alloc(p, IPPROTO_UDP, &c1, 1, &a, &port), 0, "a released port can be had again");
	is_int(port, 2003, "... that very one");
	is_int(pool4_take(p, IPPROTO_UDP, ip4("192.0.2.1"), 2003), -EEXIST, "take: a used port");
	is_int(pool4_take(p, IPPROTO_UDP, ip4("192.0.2.1"), 3000), -ENOENT,
	       "take: a port outside the range");
	is_int(pool4_take(p, IPPROTO_TCP, ip4("192.0.2.1"), 2003), 0,
	       "take: the same port of another protocol is free");

	/* Sampling for reclaim: only used ports come back. */
	uint16_t s[16];
	pool4_release(p, IPPROTO_UDP, ip4("192.0.2.1"), 2000);
	pool4_release(p, IPPROTO_UDP, ip4("192.0.2.1"), 2005);
	unsigned n = pool4_sample(p, IPPROTO_UDP, ip4("192.0.2.1"), s, 16);
	int used_only = 0;
	for (unsigned k = 0; k < n; k++)
		used_only += s[k] >= 2000 && s[k] <= 2007 && s[k] != 2000 && s[k] != 2005;
	ok(n == 16 && used_only == 16, "sample: 16 draws, all of ports in use");
	is_int((int)pool4_sample(p, IPPROTO_ICMP, ip4("192.0.2.1"), s, 16), 0,
	       "sample: nothing where nothing is used");

	pool4_add(p, ip4("192.0.2.9"), 32, 2000, 2001);
	for (int i = 0; i < 2; i++)
		alloc(p, IPPROTO_UDP, &c1, 1, &a, &port);	/* fill 2000 and 2005 */
	is_int(alloc(p, IPPROTO_UDP, &c1, 1, &a, &port), 0, "a second address takes over");
	ok(a.s_addr == ip4("192.0.2.9").s_addr, "from the second address");
	/* ICMP identifiers use the whole range regardless of parity. */
	int icmp = 0;
	for (int i = 0; i < 10; i++)
		icmp += alloc(p, IPPROTO_ICMP, &c1, 7, &a, &port) == 0;
	is_int(icmp, 10, "ICMP ids: all ten of both addresses");
	pool4_free(p);
}

static void test_reserve_prefs(struct in6_addr c1)
{
	struct in_addr a;
	uint16_t port;
	struct pool4 *p = pool_of(8, "192.0.2.1", 32, 5000, 5003);
	pool4_reserve(p, IPPROTO_UDP, 5001);
	int hit = 0, got = 0;
	for (int i = 0; i < 4; i++)
		if (alloc(p, IPPROTO_UDP, &c1, (uint16_t)(7000 + i), &a, &port) == 0) {
			got++;
			hit += port == 5001;
		}
	ok(got == 3 && hit == 0, "a reserved UDP port is never handed out");
	is_int(alloc(p, IPPROTO_TCP, &c1, 7001, &a, &port), 0, "TCP may use it");
	pool4_free(p);

	/* The handoff server's next-port hint: taken when free and ours. */
	p = pool_of(9, "192.0.2.1", 32, 6000, 6999);
	struct pool4_prefs prefs = { .preferred = prefer, .veto = veto };
	hint_port = 6543;
	is_int(pool4_allocate(p, IPPROTO_TCP, &c1, 40000, &prefs, &a, &port), 0, "hint: allocated");
	is_int(port, 6543, "hint: the preferred port, whatever its parity");
	is_int(pool4_allocate(p, IPPROTO_TCP, &c1, 40000, &prefs, &a, &port), 0,
	       "hint: again, with the port taken");
	ok(port != 6543 && port >= 6000 && port <= 6999, "hint: a used port is not given twice");
	hint_port = 80;
	is_int(pool4_allocate(p, IPPROTO_TCP, &c1, 40000, &prefs, &a, &port), 0,
	       "hint: outside the range");
	ok(port >= 6000 && port <= 6999, "hint: ignored for a port that is not ours");
	/* The veto: ports someone outside still holds. */
	hint_port = 6100;
	veto_lo = 6100;
	veto_hi = 6100;
	vetoes = 0;
	is_int(pool4_allocate(p, IPPROTO_TCP, &c1, 40000, &prefs, &a, &port), 0, "veto: allocated");
	ok(port != 6100 && vetoes >= 1, "veto: the vetoed hint is passed over");
	hint_port = 0;
	veto_lo = 6000;
	veto_hi = 6999;
	vetoes = 0;
	is_int(pool4_allocate(p, IPPROTO_UDP, &c1, 40000, &prefs, &a, &port), -ENOSPC,
	       "veto: nothing when every free port is vetoed");
	ok(vetoes > 0 && vetoes <= 64 * 3, "veto: the search gives up after a bounded number");
	pool4_free(p);
}

int main(void)
{
	plan(50);
	struct in6_addr c1 = ip6("2001:db8:1::100"), c2 = ip6("2001:db8:2::100");
	test_contains();
	test_parity_and_range(c1);
	test_random(c1);
	test_paired(c1, c2);
	test_exhaustion(c1);
	test_reserve_prefs(c1);
	return tap_done();
}
