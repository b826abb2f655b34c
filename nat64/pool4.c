/* pool4 allocation: RFC 6146 3.5.1.1 (paired address, port range and
 * parity preserved where the pool allows) with randomized ports (RFC 6056
 * section 3.3.1, algorithm 1: a random start, then a linear search). */
#include "autoconf.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nat64/pool4.h"

#define POOL4_MAX_RANGES 64
#define POOL4_MAX_ADDRS 65536
/* Addresses tried for one allocation before giving up (each fully). */
#define POOL4_MAX_ADDR_TRIES 64

struct pool4_item {
	uint32_t base;		/* host order, host bits zero */
	uint32_t count;		/* addresses: 2^(32-len) */
	uint16_t port_min, port_max;
};

struct pool4 {
	struct pool4_item items[POOL4_MAX_RANGES];
	size_t nitems;
	size_t naddrs;
	uint64_t rng;		/* splitmix64 state */
	uint64_t key;		/* secret for the paired-address hash */
};

static uint64_t rng_next(struct pool4 *p)
{
	uint64_t z = (p->rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

struct pool4 *pool4_new(uint64_t seed)
{
	struct pool4 *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (seed == 0) {
		uint64_t s[2];
		if (getrandom(s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
			free(p);
			return NULL;
		}
		p->rng = s[0];
		p->key = s[1];
	} else {
		p->rng = seed;
		p->key = rng_next(p);
	}
	return p;
}

void pool4_free(struct pool4 *p)
{
	free(p);
}

int pool4_add(struct pool4 *p, struct in_addr addr, unsigned len, uint16_t port_min,
	      uint16_t port_max)
{
	if (len > 32 || len < 16 || port_min > port_max)
		return -EINVAL;
	if (p->nitems == POOL4_MAX_RANGES)
		return -E2BIG;
	uint32_t mask = len ? ~UINT32_C(0) << (32 - len) : 0;
	uint32_t base = ntohl(addr.s_addr) & mask;
	uint32_t count = UINT32_C(1) << (32 - len);
	if (p->naddrs + count > POOL4_MAX_ADDRS)
		return -E2BIG;
	for (size_t i = 0; i < p->nitems; i++) {
		const struct pool4_item *o = &p->items[i];
		bool addr_overlap = base < o->base + o->count && o->base < base + count;
		if (addr_overlap && port_min <= o->port_max && o->port_min <= port_max)
			return -EEXIST;
	}
	p->items[p->nitems++] = (struct pool4_item){ base, count, port_min, port_max };
	p->naddrs += count;
	return 0;
}

size_t pool4_count(const struct pool4 *p)
{
	return p->naddrs;
}

/* Address index -> (item, address). Items are few (config lines). */
static const struct pool4_item *item_of(const struct pool4 *p, size_t i, uint32_t *addr)
{
	for (size_t k = 0; k < p->nitems; k++) {
		if (i < p->items[k].count) {
			*addr = p->items[k].base + (uint32_t)i;
			return &p->items[k];
		}
		i -= p->items[k].count;
	}
	return NULL;
}

void pool4_get(const struct pool4 *p, size_t i, struct in_addr *addr, uint16_t *port_min,
	       uint16_t *port_max)
{
	uint32_t a = 0;
	const struct pool4_item *it = item_of(p, i, &a);
	addr->s_addr = htonl(a);
	*port_min = it ? it->port_min : 0;
	*port_max = it ? it->port_max : 0;
}

bool pool4_contains(const struct pool4 *p, struct in_addr addr, uint16_t port)
{
	uint32_t a = ntohl(addr.s_addr);
	for (size_t k = 0; k < p->nitems; k++) {
		const struct pool4_item *it = &p->items[k];
		if (a - it->base < it->count && port >= it->port_min && port <= it->port_max)
			return true;
	}
	return false;
}

bool pool4_has_addr(const struct pool4 *p, struct in_addr addr)
{
	uint32_t a = ntohl(addr.s_addr);
	for (size_t k = 0; k < p->nitems; k++)
		if (a - p->items[k].base < p->items[k].count)
			return true;
	return false;
}

/* A keyed hash of the client address: the same client lands on the same
 * pool address (RFC 6146 3.5.1.1 "paired"), others cannot predict which. */
static uint64_t client_hash(const struct pool4 *p, const struct in6_addr *c)
{
	uint64_t h = p->key;
	for (unsigned i = 0; i < 16; i += 8) {
		uint64_t w;
		memcpy(&w, c->s6_addr + i, 8);
		h ^= w;
		h *= UINT64_C(0x9fb21c651e98df25);
		h ^= h >> 29;
	}
	return h;
}

/* Searches [lo, hi] for a free port, starting at a random point and
 * stepping by `step` (2 keeps the parity of `lo`'s alignment chosen by the
 * caller, 1 takes any). */
static int search_range(struct pool4 *p, uint8_t proto, struct in_addr addr, uint32_t lo,
			uint32_t hi, unsigned step, int parity, pool4_in_use_fn in_use, void *arg,
			uint16_t *port_out)
{
	if (step == 2) {
		/* Narrow to the first and last value of the wanted parity. */
		if ((lo & 1) != (unsigned)parity)
			lo++;
		if ((hi & 1) != (unsigned)parity)
			hi--;
		if (lo > hi)
			return -ENOSPC;
	}
	uint32_t n = (hi - lo) / step + 1;
	uint32_t start = (uint32_t)(rng_next(p) % n);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t port = lo + ((start + k) % n) * step;
		if (port == 0 && proto != IPPROTO_ICMP)
			continue;
		if (!in_use(arg, proto, addr, (uint16_t)port)) {
			*port_out = (uint16_t)port;
			return 0;
		}
	}
	return -ENOSPC;
}

static int allocate_on(struct pool4 *p, uint8_t proto, const struct pool4_item *it,
		       uint32_t a, uint16_t client_port, pool4_in_use_fn in_use, void *arg,
		       uint16_t *port_out)
{
	struct in_addr addr = { htonl(a) };
	uint32_t lo = it->port_min, hi = it->port_max;
	if (proto == IPPROTO_ICMP)
		return search_range(p, proto, addr, lo, hi, 1, 0, in_use, arg, port_out);
	/* Same range as the client's port when the pool overlaps it. */
	uint32_t clo = client_port < 1024 ? 0 : 1024, chi = client_port < 1024 ? 1023 : 65535;
	uint32_t rlo = lo > clo ? lo : clo, rhi = hi < chi ? hi : chi;
	int parity = client_port & 1;
	if (rlo <= rhi) {
		if (search_range(p, proto, addr, rlo, rhi, 2, parity, in_use, arg, port_out) == 0)
			return 0;
		if (search_range(p, proto, addr, rlo, rhi, 2, !parity, in_use, arg, port_out) == 0)
			return 0;
		if (rlo == lo && rhi == hi)
			return -ENOSPC;
	}
	/* The pool has nothing in that range (e.g. 61001-65535 for a client
	 * port below 1024): any port then. */
	return search_range(p, proto, addr, lo, hi, 1, 0, in_use, arg, port_out);
}

int pool4_allocate(struct pool4 *p, uint8_t proto, const struct in6_addr *client,
		   uint16_t client_port, pool4_in_use_fn in_use, void *arg,
		   struct in_addr *addr_out, uint16_t *port_out)
{
	if (p->naddrs == 0)
		return -ENOSPC;
	size_t first = (size_t)(client_hash(p, client) % p->naddrs);
	size_t tries = p->naddrs < POOL4_MAX_ADDR_TRIES ? p->naddrs : POOL4_MAX_ADDR_TRIES;
	for (size_t k = 0; k < tries; k++) {
		uint32_t a;
		const struct pool4_item *it = item_of(p, (first + k) % p->naddrs, &a);
		if (it && allocate_on(p, proto, it, a, client_port, in_use, arg, port_out) == 0) {
			addr_out->s_addr = htonl(a);
			return 0;
		}
	}
	return -ENOSPC;
}
