/* Inside the handoff glue (handoff_glue.c: the engine in the translator;
 * handoff_ctl.c: its control output). Private to nat64/handoff_*. */
#ifndef SIXFOUR_NAT64_HANDOFF_PRIV_H
#define SIXFOUR_NAT64_HANDOFF_PRIV_H

#include <stdint.h>
#include <netinet/in.h>

#include "common/counters.h"
#include "common/log.h"
#include "handoff/client.h"
#include "nat64/nat64_priv.h"
#include "nat64/xlate_priv.h"

#define MAX_BLOCKS 1024
#define UDP_HDR 8

#define GLUE_COUNTERS(X) \
	X(DATAGRAMS_IN, "handoff datagrams recognised in the IPv4 path") \
	X(MISSES_QUEUED, "IPv4 misses passed to the engine") \
	X(MISSES6_QUEUED, "IPv6 misses passed to the engine") \
	X(HELD_NEW, "new flows toward a handoff server held until it sent hints") \
	X(OUT_OF_SCOPE, "misses not looked up: no entry of that server can have that port") \
	X(DELIVERED, "IPv4 packets translated after a found LOOKUP") \
	X(DELIVERED6, "IPv6 packets translated after their LOOKUP-CLIENT or hint") \
	X(INSTALL_FAILED, "found entries that could not be installed") \
	X(PROBES, "probes after an IPv6-side miss without a session") \
	X(SEND_ERRORS, "handoff datagrams the TUN refused") \
	X(STATE_SAVED, "state file written") \
	X(STATE_ERRORS, "state file could not be written")

enum glue_counter {
#define X(name, text) GLUE_##name,
	GLUE_COUNTERS(X)
#undef X
	GLUE__COUNT
};

extern const struct counter_desc handoff_glue_counter_desc[GLUE__COUNT];

/* What workers read: the (T, S) pairs whose session took LOOKUP, sorted,
 * and the BLOCKs. Immutable once published. */
struct block {
	uint32_t server;	/* network order */
	uint64_t until_ms;	/* UINT64_MAX: until restart */
};

struct view {
	size_t npairs, nblocks;
	uint64_t *pairs;	/* T << 32 | S (host order) */
	uint8_t *resumed;	/* per pair: our knowledge of S's ports is from before */
	struct block *blocks;
};

struct nat64_handoff {
	struct nat64 *n;
	struct handoff_client *client;
	struct handoff_queue *queue;
	struct handoff_ports *ports;
	uint16_t port;
	char text[HANDOFF_CLIENT_TEXT_MAX * 2];
	const char *state_dir;		/* NULL: nothing kept across restarts */

	struct view *_Atomic view;
	uint64_t view_gen;		/* engine generation the view was built at */
	struct block blocks[MAX_BLOCKS];	/* the owner's copy (main thread) */
	size_t nblocks;
	uint64_t *resumed;		/* sorted pair keys resumed at start */
	size_t nresumed;

	uint64_t recover_ms;		/* how long lost entries are asked for by the client side */

	/* A cluster node (doc/cluster.md): state_dir is [cluster]
	 * shared-directory; a standby's engine holds no session and sends
	 * nothing, and it resumes the shared sessions when it becomes active. */
	bool cluster, standby;
	struct handoff_client_config cc;	/* to make the engine anew */

	struct ev_timer *save_timer;
	uint64_t saved_gen;
	struct log_limit save_log;

	/* the main thread's translation context for held packets */
	struct nat64_worker w;
	uint8_t tx[IPV4_HDR_LEN + UDP_HDR + HANDOFF_MAX_DGRAM];
	uint16_t ip_id;

	uint64_t c[GLUE__COUNT];	/* several writers: counter_add */
};

#endif
