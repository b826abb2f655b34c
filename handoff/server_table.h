/* sixfour-handoffd: the authoritative entry table (spec sections 7.3, 7.5,
 * 10.5). Keyed by (server IPv4, NAT64 IPv4, protocol, NAT64-side port);
 * entries never age out, they go only when displaced by a new mapping for
 * their port or evicted least-recently-used to make room. Private to
 * handoff/. */
#ifndef SIXFOUR_HANDOFF_SERVER_TABLE_H
#define SIXFOUR_HANDOFF_SERVER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "handoff/wire.h"

#define HSRV_TABLE_DEFAULT_CAPACITY	(1u << 20)	/* 1 M entries */
#define HSRV_TABLE_DEFAULT_PER_GROUP	65536u		/* per NAT64 address and protocol */
#define HSRV_TABLE_MAX_GROUPS		4096u

struct hsrv_key {
	uint32_t server4;	/* network byte order */
	uint32_t nat64;		/* network byte order */
	uint8_t proto;
	uint16_t port;		/* NAT64-side port */
};

/* What a stored entry looks like to callers. */
struct hsrv_entry_view {
	struct hsrv_key key;
	struct handoff_er er;	/* flags: HANDOFF_ER_CLOSED when a TCP close was seen */
};

enum hsrv_put_kind {
	HSRV_PUT_NEW,		/* log Created */
	HSRV_PUT_REFRESH,	/* identical mapping: log nothing (S-9) */
	HSRV_PUT_REPLACED,	/* other client on the port: log Deleted old, Created new (S-5) */
};

struct hsrv_put_result {
	enum hsrv_put_kind kind;
	struct hsrv_entry_view old;	/* valid for REPLACED */
	bool evicted;			/* room was made by evicting `victim` (S-15) */
	struct hsrv_entry_view victim;
};

/* Answers whether a local socket to (nat64, port) of `proto` is live, so the
 * hint never names it (S-8). */
typedef bool (*hsrv_live_fn)(void *arg, uint32_t nat64, uint8_t proto, uint16_t port);

struct hsrv_table;

struct hsrv_table *hsrv_table_new(size_t capacity, size_t per_group);
void hsrv_table_free(struct hsrv_table *t);
size_t hsrv_table_count(const struct hsrv_table *t);

/* Stores `er` under `key` (key.port must equal er->nat_port) and makes it
 * the most recently used. 0, -ENOSPC when no group slot is left for a new
 * (server, NAT64, protocol), or -ENOMEM. */
int hsrv_table_put(struct hsrv_table *t, const struct hsrv_key *key, const struct handoff_er *er,
		   struct hsrv_put_result *res);
/* Finds an entry and counts the lookup as use (section 7.4 step 2). */
bool hsrv_table_lookup(struct hsrv_table *t, const struct hsrv_key *key, struct handoff_er *out);
/* The same by the IPv6 side (profile P-1): the most recently used entry of
 * (server, NAT64, proto) for that client address and port. */
bool hsrv_table_lookup_client(struct hsrv_table *t, uint32_t server4, uint32_t nat64,
			      uint8_t proto, const struct in6_addr *client, uint16_t client_port,
			      struct handoff_er *out);
/* TCP close seen: if the stored mapping is the same client, flag it CLOSED
 * and rank its port first among used ports for reuse. True when it did. */
bool hsrv_table_mark_closed(struct hsrv_table *t, const struct hsrv_key *key,
			    const struct handoff_er *er);
/* Removes an entry (journal replay of a delete). */
bool hsrv_table_remove(struct hsrv_table *t, const struct hsrv_key *key);
/* Next-port hint for (server, NAT64, proto) within the NAT64's port range
 * [lo, hi] (0, 0: unknown, then 1024-65535, ICMP 1-65535): a free port
 * first, else the least recently used port (CLOSED ones rank first); never
 * a port for which `live` says a socket exists, never the previous hint
 * twice in a row. 0 = no preference. */
uint16_t hsrv_table_hint(struct hsrv_table *t, uint32_t server4, uint32_t nat64, uint8_t proto,
			 uint16_t lo, uint16_t hi, hsrv_live_fn live, void *arg);
/* Up to `max` distinct hints in that order (profile P-3, P-8); how many. */
size_t hsrv_table_hints(struct hsrv_table *t, uint32_t server4, uint32_t nat64, uint8_t proto,
			uint16_t lo, uint16_t hi, hsrv_live_fn live, void *arg, uint16_t *out,
			size_t max);
/* Visits every entry from least to most recently used; stops on non-zero. */
int hsrv_table_foreach(const struct hsrv_table *t,
		       int (*fn)(void *arg, const struct hsrv_entry_view *e), void *arg);

#endif
