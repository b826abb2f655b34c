/* sixfour-handoffd: which (NAT64 address, port) pairs still have a live
 * local socket, so a next-port hint never names one (spec S-8, 7.5). Read
 * from /proc/net/{tcp,tcp6,udp,udp6} of the daemon's network namespace
 * (IPv4-mapped addresses count: dual-stack servers accept IPv4 on
 * AF_INET6 sockets), at most once per protocol per round. Private to
 * handoff/. */
#ifndef SIXFOUR_HANDOFF_SERVER_LIVE_H
#define SIXFOUR_HANDOFF_SERVER_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hsrv_live;

void hsrv_live_free(struct hsrv_live *l);
/* Reading /proc/net/tcp walks the kernel's whole connection hash (of every
 * namespace), about a millisecond or more, so the lists are cached for
 * `max_age_ms` (default HSRV_LIVE_MAX_AGE_MS; 0 = re-read every round). A
 * socket younger than that may be missed by a hint, which is only advice. */
#define HSRV_LIVE_MAX_AGE_MS 1000
struct hsrv_live *hsrv_live_new(uint32_t max_age_ms);
/* Called at the start of every round with the loop's time. */
void hsrv_live_round(struct hsrv_live *l, uint64_t now_ms);
/* hsrv_live_fn: true when a TCP/UDP socket's remote end is nat64:port. */
bool hsrv_live_check(void *live, uint32_t nat64, uint8_t proto, uint16_t port);

/* Parses one /proc/net/{tcp,udp}[6] text into (remote IPv4, port) pairs,
 * packed as (addr << 16 | port); returns how many were stored (at most
 * `max`). Exposed for the unit test. */
size_t hsrv_live_parse(const char *text, uint64_t *out, size_t max);

#endif
