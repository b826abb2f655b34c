/* libunbound inside our event loop: a context created with the pluggable
 * event API (unbound-event.h) whose sockets and timers are our loop's, so
 * recursion runs on the loop's thread with no background thread, no pipe
 * and no serialization of queries and answers between threads. */
#ifndef SIXFOUR_DNS64_RESOLVER_H
#define SIXFOUR_DNS64_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;
struct sixfour_config;
struct dns64_resolver;

/* The outcome of one resolution. `pkt` is the raw answer (with DNSSEC
 * records), NULL when libunbound failed (err < 0). Valid during the call. */
struct dns64_result {
	int err;			/* 0, or -EIO when libunbound failed */
	const uint8_t *pkt;
	size_t len;
	bool secure;			/* validated (AD-worthy) */
	bool bogus;			/* validation failed: never synthesize */
};

typedef void (*dns64_resolve_cb)(void *arg, const struct dns64_result *res);

/* Creates a context on `loop` from the [dns64] options. With `validate`,
 * the trust anchor is loaded when its file exists; without, the validator
 * is left out (for CD=1 queries, RFC 4035 3.2.2). `share`: how many
 * threads' contexts split the default cache budget. Returns NULL with
 * `err` filled. */
struct dns64_resolver *dns64_resolver_new(struct evloop *loop, const struct sixfour_config *cfg,
					  bool validate, unsigned share, char *err, size_t errlen);
void dns64_resolver_free(struct dns64_resolver *r);
/* Applies the [dns64] resolver options to a throwaway context (no thread,
 * no socket): 0, or -EINVAL with the offending option in `err`. */
int dns64_resolver_check(const struct sixfour_config *cfg, char *err, size_t errlen);
/* True when DNSSEC validation is on (a trust anchor was loaded). */
bool dns64_resolver_validates(const struct dns64_resolver *r);

/* One outstanding query, owned by the caller (no allocation here). */
struct dns64_late;
struct dns64_rq {
	dns64_resolve_cb cb;
	void *arg;
	int id;			/* libunbound's async id */
	bool pending;
	struct dns64_late *late;	/* answered during the call: delivered next round */
	struct dns64_resolver *late_owner;
};

/* Starts resolving; rq->cb runs later on the loop's thread, exactly once,
 * unless the query is cancelled. `rq` must stay valid until then. Returns
 * 0, or -errno. */
int dns64_resolver_query(struct dns64_resolver *r, const uint8_t *qname, size_t qlen,
			 uint16_t qtype, uint16_t qclass, struct dns64_rq *rq);
/* Cancels a pending query; its callback will not run. */
void dns64_resolver_cancel(struct dns64_resolver *r, struct dns64_rq *rq);

#endif
