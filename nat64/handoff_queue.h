/* The handoff glue's one queue from the packet workers (and the session
 * table's hook) to the main loop, where the protocol engine runs: bounded
 * in events and in octets of packet copies, woken through an eventfd only
 * when it goes from empty to non-empty. Private to nat64/handoff_*. */
#ifndef SIXFOUR_NAT64_HANDOFF_QUEUE_H
#define SIXFOUR_NAT64_HANDOFF_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "handoff/client.h"

enum handoff_ev_type {
	HEV_CREATED,		/* an entry toward S was announced (er) */
	HEV_REMOVED,		/* it went (er, why) */
	HEV_MISS4,		/* an IPv4 packet from S missed (proto, port, data) */
	HEV_MISS6,		/* an IPv6 packet toward S missed (key6, data) */
	HEV_HOLD6,		/* a new flow toward S waits for a hint (proto, data) */
	HEV_INPUT,		/* a handoff datagram from S (port = source port, data) */
	HEV_ICMP,		/* an ICMP error quoting one of our datagrams */
	HEV_PROBE,		/* our client's packet toward S found nothing */
	HEV_HINTS_LOW,		/* the store of S's hints for proto runs low (count) */
};

struct handoff_event {
	uint8_t type;		/* enum handoff_ev_type */
	uint8_t why;		/* enum handoff_removal */
	uint8_t proto;
	uint16_t port;
	uint16_t count;		/* HEV_HINTS_LOW: hints to ask for */
	struct in_addr nat64, server;
	struct handoff_er er;
	struct handoff_client_key6 key6;
	const uint8_t *data;	/* the copy, valid while the handler runs */
	size_t len;
};

struct evloop;
struct handoff_queue;

/* `handle` runs on the loop's thread for every event, in order. */
struct handoff_queue *handoff_queue_new(struct evloop *loop, size_t max_events, size_t max_bytes,
					void (*handle)(void *arg, const struct handoff_event *ev),
					void *arg);
/* Drops what is still queued. */
void handoff_queue_free(struct handoff_queue *q);
/* Any thread: queues `ev` with a copy of `data` (may be NULL). False (and
 * counted) when the queue is full or out of memory. */
bool handoff_queue_push(struct handoff_queue *q, const struct handoff_event *ev,
			const uint8_t *data, size_t len);
/* Events lost to the bounds. */
uint64_t handoff_queue_lost(const struct handoff_queue *q);

#endif
