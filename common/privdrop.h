/* Dropping privileges after start-up, in one fixed order, failing closed. */
#ifndef SIXFOUR_PRIVDROP_H
#define SIXFOUR_PRIVDROP_H

#include <stdint.h>

/* Capabilities kept across the switch (bits of CAP_*, e.g.
 * PRIVDROP_CAP(CAP_NET_ADMIN)). */
#define PRIVDROP_CAP(c) (UINT64_C(1) << (c))

/* As root: switches to `user` (its uid, its gid, no supplementary groups).
 * Either way: keeps only `keep_caps` (of those it has) as permitted and
 * effective capabilities, none inheritable or ambient, and sets
 * no_new_privs. A process started as another user (a systemd unit with
 * User= and AmbientCapabilities=) cannot switch and keeps its user and
 * groups. Any step failing returns -errno, and the caller must exit.
 * Only the calling thread's capabilities change: call it before any
 * thread starts. */
int privdrop(const char *user, uint64_t keep_caps);

/* The calling thread's effective capabilities (PRIVDROP_CAP bits). */
uint64_t privdrop_effective(void);

#endif
