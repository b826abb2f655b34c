/* pool4: the IPv4 transport addresses the translator hands out (RFC 6146
 * 3.5.1.1), as a list of addresses each with a port range. One range
 * serves TCP, UDP and ICMP identifiers alike.
 *
 * The pool owns its port map: one bitmap per address and protocol, so an
 * allocation never asks anyone whether a port is taken, and a full
 * address is known without a search. The items (addresses, ranges) never
 * change after the pool is built and may be read from any thread; the
 * port map is changed by pool4_allocate/take/release/reserve, which the
 * caller serializes (the session table calls them under its lock). */
#ifndef SIXFOUR_NAT64_POOL4_H
#define SIXFOUR_NAT64_POOL4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct pool4;

/* Bitmap memory one pool may take (addresses x ports x 3 protocols / 8):
 * a /20 with the whole port range, or a /16 with 4096 ports each. */
#define POOL4_MAX_MAP_BYTES ((size_t)256 << 20)

/* `seed` 0 takes a random seed from the kernel (tests pass a fixed one). */
struct pool4 *pool4_new(uint64_t seed);
/* The secret behind the paired address of each client: the pool versions
 * of one running translator share it, so a client's new mappings go to
 * the same address as its old ones when the host's addresses change. */
void pool4_set_key(struct pool4 *p, uint64_t key);
/* Several nodes share the pool (doc/cluster.md): new mappings of this one
 * take ports from share k (0-based) of n equal parts of every range, so no
 * node hands out a port of a connection another made; take/contains keep
 * the whole range (a recovered connection keeps its port). Default 0 of 1. */
void pool4_set_share(struct pool4 *p, unsigned k, unsigned n);
/* The share of the first range of `addr` (its whole range without shares);
 * false when `addr` is not in the pool. */
bool pool4_share_of(const struct pool4 *p, struct in_addr addr, uint16_t *lo, uint16_t *hi);
void pool4_free(struct pool4 *p);

/* Adds every address of ADDR/LEN with ports [min, max]. 0 or -errno
 * (-E2BIG past the address or map limit, -EEXIST when it overlaps). */
int pool4_add(struct pool4 *p, struct in_addr addr, unsigned len, uint16_t port_min,
	      uint16_t port_max);
size_t pool4_count(const struct pool4 *p);
/* The i-th address and its range. */
void pool4_get(const struct pool4 *p, size_t i, struct in_addr *addr, uint16_t *port_min,
	       uint16_t *port_max);

/* True when (addr, port) is one of ours: inbound packets to anything else
 * are not the translator's business. */
bool pool4_contains(const struct pool4 *p, struct in_addr addr, uint16_t port);
/* True when `addr` is a pool address at all (hairpin detection). */
bool pool4_has_addr(const struct pool4 *p, struct in_addr addr);

/* What the caller adds to one allocation (all optional). */
struct pool4_prefs {
	/* A port to try first on `addr` (0 = none): taken when it lies in
	 * the address's range, is free and not vetoed, parity or not. */
	uint16_t (*preferred)(void *arg, uint8_t proto, struct in_addr addr);
	/* True when `port` of `addr` must not be handed out now, though the
	 * map says it is free (someone outside still uses it). */
	bool (*veto)(void *arg, uint8_t proto, struct in_addr addr, uint16_t port);
	void *arg;
};

/* Picks a free transport address for a new mapping of (client, port) and
 * marks it used: the client's own address of the pool when possible
 * (paired pooling), the same port range (0-1023 / 1024-65535) and parity
 * as `client_port` when the pool allows (RFC 6146 3.5.1.1), from a random
 * start (RFC 6056 algorithm 1). ICMP identifiers ignore range and parity.
 * 0, or -ENOSPC when every candidate address is full. */
int pool4_allocate(struct pool4 *p, uint8_t proto, const struct in6_addr *client,
		   uint16_t client_port, const struct pool4_prefs *prefs,
		   struct in_addr *addr_out, uint16_t *port_out);
/* Marks a given port used (an installed entry, a mapping carried over to a
 * new pool version): 0, -EEXIST when it is used, -ENOENT when not ours. */
int pool4_take(struct pool4 *p, uint8_t proto, struct in_addr addr, uint16_t port);
/* Gives a port back (no-op for ports that are not ours). */
void pool4_release(struct pool4 *p, uint8_t proto, struct in_addr addr, uint16_t port);
/* Keeps `port` of every address out of allocations for `proto`. */
void pool4_reserve(struct pool4 *p, uint8_t proto, uint16_t port);

/* The address a client's mappings go to first (paired pooling); false for
 * an empty pool. */
bool pool4_paired(const struct pool4 *p, const struct in6_addr *client, struct in_addr *addr);
/* Ports of `proto` on `addr` in use, for making room when it is full: up
 * to `n` of them, each the first used port at or after a random point (so
 * a holder of many ports is likely among them). Returns how many. */
unsigned pool4_sample(struct pool4 *p, uint8_t proto, struct in_addr addr, uint16_t *ports,
		      unsigned n);
/* Ports of `proto` on `addr` in use, and how many it has. */
size_t pool4_used(const struct pool4 *p, uint8_t proto, struct in_addr addr, size_t *size);

#endif
