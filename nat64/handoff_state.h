/* The handoff sessions sixfourd keeps across a restart (doc/handoff-profile.md
 * P-6): STATE-DIRECTORY/handoff-state, a few lines of text, written whole
 * to a new file, fsync'd and renamed (never half-written). It holds, per
 * (pool address, server) session, the nonce, the server's cookie and the
 * accepted capabilities, and pool4's pairing key: no client, no connection. Private to
 * nat64/handoff_*. */
#ifndef SIXFOUR_NAT64_HANDOFF_STATE_H
#define SIXFOUR_NAT64_HANDOFF_STATE_H

#include <stddef.h>

#include "handoff/client.h"

#define HANDOFF_STATE_FILE "handoff-state"
#define HANDOFF_STATE_MAX 65536		/* sessions read back at most */

/* Writes every ESTABLISHED session of `c`, and pool4's pairing key (the
 * pool address a client's mappings go to first: a client-side lookup
 * after a restart must ask the same address). 0 or -errno. */
int handoff_state_save(const char *dir, struct handoff_client *c, uint64_t pool_key);
/* Calls `fn` (may be NULL) for every well-formed session line; `*bad`
 * counts the lines that were not (skipped); `*pool_key` (may be NULL) is
 * set when the file has one. 0 (also when there is no file), or -errno. */
int handoff_state_load(const char *dir,
		       void (*fn)(void *arg, const struct handoff_session_state *st), void *arg,
		       size_t *bad, uint64_t *pool_key);

#endif
