/* pool4: the IPv4 transport addresses the translator hands out (RFC 6146
 * 3.5.1.1), as a list of addresses each with a port range. One range
 * serves TCP, UDP and ICMP identifiers alike. */
#ifndef SIXFOUR_NAT64_POOL4_H
#define SIXFOUR_NAT64_POOL4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct pool4;

/* Asked by the allocator: is this transport address taken for `proto`? */
typedef bool (*pool4_in_use_fn)(void *arg, uint8_t proto, struct in_addr addr, uint16_t port);

/* `seed` 0 takes a random seed from the kernel (tests pass a fixed one). */
struct pool4 *pool4_new(uint64_t seed);
void pool4_free(struct pool4 *p);

/* Adds every address of ADDR/LEN with ports [min, max]. 0 or -errno
 * (-E2BIG past the address limit, -EEXIST when it overlaps). */
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

/* Picks a free transport address for a new mapping of (client, port):
 * the client's own address of the pool when possible (paired pooling),
 * the same port range (0-1023 / 1024-65535) and parity as `client_port`
 * when the pool allows (RFC 6146 3.5.1.1), from a random start (RFC 6056
 * algorithm 1). ICMP identifiers ignore range and parity. 0, or -ENOSPC
 * when every candidate is in use. */
int pool4_allocate(struct pool4 *p, uint8_t proto, const struct in6_addr *client,
		   uint16_t client_port, pool4_in_use_fn in_use, void *arg,
		   struct in_addr *addr_out, uint16_t *port_out);

#endif
