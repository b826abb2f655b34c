/* The metrics endpoint: Prometheus text over plain HTTP/1.0 on the
 * [stats] metrics-listen addresses. Collection is a callback so that the
 * daemon decides what is exported (its own gauges, then every subsystem's). */
#ifndef SIXFOUR_METRICS_H
#define SIXFOUR_METRICS_H

#include "common/config.h"
#include "common/ctl.h"

struct evloop;
struct metrics_server;

typedef void (*metrics_collect_fn)(void *arg, struct ctl_out *out);

/* Listens on every endpoint of `listen` (TCP); NULL with a log on error. */
struct metrics_server *metrics_server_new(struct evloop *loop,
					  const struct endpoint_list *addrs,
					  metrics_collect_fn collect, void *arg);
/* The endpoint's own counters (connections by outcome), Prometheus text. */
void metrics_server_emit(const struct metrics_server *srv, struct ctl_out *out);
void metrics_server_free(struct metrics_server *srv);

#endif
