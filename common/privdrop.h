/* Dropping privileges after start-up, in one fixed order, failing closed. */
#ifndef SIXFOUR_PRIVDROP_H
#define SIXFOUR_PRIVDROP_H

#include <stdint.h>

/* Capabilities kept across the switch (bits of CAP_*, e.g.
 * PRIVDROP_CAP(CAP_NET_ADMIN)). */
#define PRIVDROP_CAP(c) (UINT64_C(1) << (c))

/* Switches to `user` (its uid, gid, no supplementary groups), keeps only
 * `keep_caps` as permitted and effective capabilities, and sets
 * no_new_privs. Any step failing returns -errno, and the caller must exit.
 * Does nothing but no_new_privs when not running as root. */
int privdrop(const char *user, uint64_t keep_caps);

#endif
