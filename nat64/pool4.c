/* pool4 allocation: RFC 6146 3.5.1.1 (paired address, port range and
 * parity preserved where the pool allows) with randomized ports (RFC 6056
 * section 3.3.1, algorithm 1: a random start, then a linear search), over
 * a bitmap per address and protocol that the pool owns. */
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
/* Free ports a veto may turn down in one search before it gives up: the
 * handoff engine vetoes a few ports, never a range. */
#define POOL4_MAX_VETOES 64
#define NPROTO 3		/* TCP, UDP, ICMP */
#define EVEN_BITS UINT64_C(0x5555555555555555)

struct pool4_item {
	uint32_t base;		/* host order, host bits zero */
	uint32_t count;		/* addresses: 2^(32-len) */
	uint16_t port_min, port_max;
	uint32_t words;		/* bitmap words per (address, protocol) */
	uint64_t *bits;		/* [count][NPROTO][words]: 1 = in use */
	uint32_t *used;		/* [count][NPROTO]: bits set */
};

struct pool4 {
	struct pool4_item items[POOL4_MAX_RANGES];
	size_t nitems;
	size_t naddrs;
	size_t map_bytes;
	uint64_t rng;		/* splitmix64 state */
	uint64_t key;		/* secret for the paired-address hash */
	unsigned share, nshares;	/* allocations use share `share` of `nshares` */
};

/* One address's map for one protocol. */
struct map {
	const struct pool4_item *it;
	uint64_t *bits;
	uint32_t *used;
	struct in_addr addr;
	uint8_t proto;
};

static uint64_t rng_next(struct pool4 *p)
{
	uint64_t z = (p->rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static unsigned proto_index(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : 2;
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

void pool4_set_key(struct pool4 *p, uint64_t key)
{
	p->key = key;
}

void pool4_set_share(struct pool4 *p, unsigned k, unsigned n)
{
	p->nshares = n > 1 ? n : 1;
	p->share = k < p->nshares ? k : 0;
}

/* The ports of `it` that new mappings may take: its range, or this node's
 * share of it when several nodes share the pool (doc/cluster.md). */
static void share_range(const struct pool4 *p, const struct pool4_item *it, uint32_t *lo,
			uint32_t *hi)
{
	uint32_t size = (uint32_t)it->port_max - it->port_min + 1, n = p->nshares ? p->nshares : 1;
	if (size < n)
		n = 1;	/* too small to share: every node may use all of it */
	*lo = it->port_min + size / n * (n > 1 ? p->share : 0);
	*hi = n == 1 || p->share + 1 == n ? it->port_max : *lo + size / n - 1;
}

void pool4_free(struct pool4 *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nitems; i++) {
		free(p->items[i].bits);
		free(p->items[i].used);
	}
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
	uint32_t words = ((uint32_t)port_max - port_min + 1 + 63) / 64;
	size_t maps = (size_t)count * NPROTO;
	size_t bytes = maps * (words * sizeof(uint64_t) + sizeof(uint32_t));
	if (p->map_bytes + bytes > POOL4_MAX_MAP_BYTES)
		return -E2BIG;
	struct pool4_item it = { base, count, port_min, port_max, words,
				 calloc(maps * words, sizeof(uint64_t)),
				 calloc(maps, sizeof(uint32_t)) };
	if (!it.bits || !it.used) {
		free(it.bits);
		free(it.used);
		return -ENOMEM;
	}
	p->items[p->nitems++] = it;
	p->naddrs += count;
	p->map_bytes += bytes;
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

/* --- the port map --- */

static struct map map_at(const struct pool4_item *it, uint32_t a, uint8_t proto)
{
	size_t m = (size_t)(a - it->base) * NPROTO + proto_index(proto);
	return (struct map){ it, it->bits + m * it->words, it->used + m,
			     { htonl(a) }, proto };
}

/* The map of (addr, proto) whose range holds `port`. */
static bool map_of(const struct pool4 *p, struct in_addr addr, uint8_t proto, uint16_t port,
		   struct map *m)
{
	uint32_t a = ntohl(addr.s_addr);
	for (size_t k = 0; k < p->nitems; k++) {
		const struct pool4_item *it = &p->items[k];
		if (a - it->base < it->count && port >= it->port_min && port <= it->port_max) {
			*m = map_at(it, a, proto);
			return true;
		}
	}
	return false;
}

static bool bit_get(const struct map *m, uint32_t b)
{
	return m->bits[b / 64] >> (b % 64) & 1;
}

static void bit_set(struct map *m, uint32_t b)
{
	m->bits[b / 64] |= UINT64_C(1) << (b % 64);
	(*m->used)++;
}

static uint32_t map_size(const struct map *m)
{
	return (uint32_t)m->it->port_max - m->it->port_min + 1;
}

static bool acceptable(const struct map *m, uint32_t b, const struct pool4_prefs *prefs,
		       unsigned *vetoes)
{
	uint16_t port = (uint16_t)(m->it->port_min + b);
	if (port == 0 && m->proto != IPPROTO_ICMP)
		return false;
	if (prefs && prefs->veto && prefs->veto(prefs->arg, m->proto, m->addr, port)) {
		(*vetoes)++;
		return false;
	}
	return true;
}

/* The first free, acceptable bit of [from, to] whose parity (bit index,
 * `want` 0/1) matches, or any when `want` < 0. -1 when none. */
static int64_t scan_free(const struct map *m, uint32_t from, uint32_t to, int want,
			 const struct pool4_prefs *prefs, unsigned *vetoes)
{
	uint64_t pmask = want < 0 ? ~UINT64_C(0) : want == 0 ? EVEN_BITS : EVEN_BITS << 1;
	for (uint32_t wi = from / 64; wi <= to / 64; wi++) {
		uint64_t free_bits = ~m->bits[wi] & pmask;
		if (wi == from / 64)
			free_bits &= ~UINT64_C(0) << (from % 64);
		if (wi == to / 64 && to % 64 != 63)
			free_bits &= (UINT64_C(1) << (to % 64 + 1)) - 1;
		while (free_bits) {
			uint32_t b = wi * 64 + (uint32_t)__builtin_ctzll(free_bits);
			if (acceptable(m, b, prefs, vetoes))
				return b;
			if (*vetoes >= POOL4_MAX_VETOES)
				return -1;
			free_bits &= free_bits - 1;
		}
	}
	return -1;
}

/* Searches ports [lo, hi] of the map from a random point, wrapping around;
 * `parity` 0/1 asks for ports of that parity, -1 for any. */
static int search_range(struct pool4 *p, struct map *m, uint32_t lo, uint32_t hi, int parity,
			const struct pool4_prefs *prefs, uint16_t *port_out)
{
	uint32_t blo = lo - m->it->port_min, bhi = hi - m->it->port_min;
	int want = parity < 0 ? -1 : (parity ^ m->it->port_min) & 1;
	uint32_t start = blo + (uint32_t)(rng_next(p) % (bhi - blo + 1));
	unsigned vetoes = 0;
	int64_t b = scan_free(m, start, bhi, want, prefs, &vetoes);
	if (b < 0 && start > blo && vetoes < POOL4_MAX_VETOES)
		b = scan_free(m, blo, start - 1, want, prefs, &vetoes);
	if (b < 0)
		return -ENOSPC;
	bit_set(m, (uint32_t)b);
	*port_out = (uint16_t)(m->it->port_min + b);
	return 0;
}

static int allocate_on(struct pool4 *p, struct map *m, uint16_t client_port,
		       const struct pool4_prefs *prefs, uint16_t *port_out)
{
	if (*m->used >= map_size(m))
		return -ENOSPC;
	uint32_t lo, hi;
	share_range(p, m->it, &lo, &hi);
	if (prefs && prefs->preferred) {
		/* The handoff server's next-port hint (spec/handoff.md 7). */
		uint16_t want = prefs->preferred(prefs->arg, m->proto, m->addr);
		unsigned vetoes = 0;
		if (want && want >= lo && want <= hi && !bit_get(m, want - lo) &&
		    acceptable(m, want - lo, prefs, &vetoes)) {
			bit_set(m, want - lo);
			*port_out = want;
			return 0;
		}
	}
	if (m->proto == IPPROTO_ICMP)
		return search_range(p, m, lo, hi, -1, prefs, port_out);
	/* Same range as the client's port when the pool overlaps it. */
	uint32_t clo = client_port < 1024 ? 0 : 1024, chi = client_port < 1024 ? 1023 : 65535;
	uint32_t rlo = lo > clo ? lo : clo, rhi = hi < chi ? hi : chi;
	int parity = client_port & 1;
	if (rlo <= rhi) {
		if (search_range(p, m, rlo, rhi, parity, prefs, port_out) == 0)
			return 0;
		if (search_range(p, m, rlo, rhi, !parity, prefs, port_out) == 0)
			return 0;
		if (rlo == lo && rhi == hi)
			return -ENOSPC;
	}
	/* The pool has nothing in that range (e.g. 61001-65535 for a client
	 * port below 1024): any port then. */
	return search_range(p, m, lo, hi, -1, prefs, port_out);
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
	/* A multiply carries bits upward only: without this finish, the last
	 * octets of an address (the high bits of the second word) would never
	 * reach the low bits that `% naddrs` uses, and the hosts of one /64
	 * would all pair with one address. */
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 33);
}

int pool4_allocate(struct pool4 *p, uint8_t proto, const struct in6_addr *client,
		   uint16_t client_port, const struct pool4_prefs *prefs,
		   struct in_addr *addr_out, uint16_t *port_out)
{
	if (p->naddrs == 0)
		return -ENOSPC;
	size_t first = (size_t)(client_hash(p, client) % p->naddrs);
	size_t tries = p->naddrs < POOL4_MAX_ADDR_TRIES ? p->naddrs : POOL4_MAX_ADDR_TRIES;
	for (size_t k = 0; k < tries; k++) {
		uint32_t a;
		const struct pool4_item *it = item_of(p, (first + k) % p->naddrs, &a);
		if (!it)
			continue;
		struct map m = map_at(it, a, proto);
		if (allocate_on(p, &m, client_port, prefs, port_out) == 0) {
			addr_out->s_addr = htonl(a);
			return 0;
		}
	}
	return -ENOSPC;
}

int pool4_take(struct pool4 *p, uint8_t proto, struct in_addr addr, uint16_t port)
{
	struct map m;
	if (!map_of(p, addr, proto, port, &m))
		return -ENOENT;
	uint32_t b = port - m.it->port_min;
	if (bit_get(&m, b))
		return -EEXIST;
	bit_set(&m, b);
	return 0;
}

void pool4_release(struct pool4 *p, uint8_t proto, struct in_addr addr, uint16_t port)
{
	struct map m;
	if (!map_of(p, addr, proto, port, &m))
		return;
	uint32_t b = port - m.it->port_min;
	if (bit_get(&m, b)) {
		m.bits[b / 64] &= ~(UINT64_C(1) << (b % 64));
		(*m.used)--;
	}
}

void pool4_reserve(struct pool4 *p, uint8_t proto, uint16_t port)
{
	for (size_t k = 0; k < p->nitems; k++) {
		const struct pool4_item *it = &p->items[k];
		if (port < it->port_min || port > it->port_max)
			continue;
		for (uint32_t i = 0; i < it->count; i++) {
			struct map m = map_at(it, it->base + i, proto);
			if (!bit_get(&m, port - it->port_min))
				bit_set(&m, port - it->port_min);
		}
	}
}

bool pool4_share_of(const struct pool4 *p, struct in_addr addr, uint16_t *lo, uint16_t *hi)
{
	uint32_t a = ntohl(addr.s_addr);
	for (size_t k = 0; k < p->nitems; k++) {
		const struct pool4_item *it = &p->items[k];
		if (a - it->base >= it->count)
			continue;
		uint32_t l, h;
		share_range(p, it, &l, &h);
		*lo = (uint16_t)l;
		*hi = (uint16_t)h;
		return true;
	}
	return false;
}

bool pool4_paired(const struct pool4 *p, const struct in6_addr *client, struct in_addr *addr)
{
	if (p->naddrs == 0)
		return false;
	uint32_t a;
	if (!item_of(p, (size_t)(client_hash(p, client) % p->naddrs), &a))
		return false;
	addr->s_addr = htonl(a);
	return true;
}

/* The first used bit at or after `from`, wrapping around; -1 when none. */
static int64_t next_used(const struct map *m, uint32_t from)
{
	uint32_t size = map_size(m), words = m->it->words;
	for (uint32_t k = 0; k <= words; k++) {
		uint32_t wi = (from / 64 + k) % words;
		uint64_t w = m->bits[wi];
		if (k == 0)
			w &= ~UINT64_C(0) << (from % 64);
		if (w) {
			uint32_t b = wi * 64 + (uint32_t)__builtin_ctzll(w);
			if (b < size)
				return b;
		}
	}
	return -1;
}

unsigned pool4_sample(struct pool4 *p, uint8_t proto, struct in_addr addr, uint16_t *ports,
		      unsigned n)
{
	uint32_t a = ntohl(addr.s_addr);
	unsigned got = 0;
	for (size_t k = 0; k < p->nitems && got == 0; k++) {
		const struct pool4_item *it = &p->items[k];
		if (a - it->base >= it->count)
			continue;
		struct map m = map_at(it, a, proto);
		if (*m.used == 0)
			continue;
		/* Within our share: freeing another node's port makes no room. */
		uint32_t lo, hi;
		share_range(p, it, &lo, &hi);
		lo -= it->port_min;
		hi -= it->port_min;
		for (unsigned i = 0; i < n; i++) {
			int64_t b = next_used(&m, lo + (uint32_t)(rng_next(p) % (hi - lo + 1)));
			if (b >= lo && b <= hi)
				ports[got++] = (uint16_t)(it->port_min + b);
		}
	}
	return got;
}

size_t pool4_used(const struct pool4 *p, uint8_t proto, struct in_addr addr, size_t *size)
{
	uint32_t a = ntohl(addr.s_addr);
	size_t used = 0, total = 0;
	for (size_t k = 0; k < p->nitems; k++) {
		const struct pool4_item *it = &p->items[k];
		if (a - it->base >= it->count)
			continue;
		struct map m = map_at(it, a, proto);
		used += *m.used;
		total += map_size(&m);
	}
	if (size)
		*size = total;
	return used;
}
