/* Private state of the DNS64 subsystem, shared by its files only. */
#ifndef SIXFOUR_DNS64_INT_H
#define SIXFOUR_DNS64_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/util.h"
#include "dns64/synth.h"
#include "dns64/wire.h"

struct evloop;
struct prefix_pub;
struct sixfour_config;
struct dns64_cache;
struct dns64_resolver;
struct dns64_server;
struct dns64_req;
struct dns64_tcp_conn;

/* Counters shown by `sixfourctl dns stats`; drops and refusals by reason. */
#define DNS64_COUNTERS(X) \
	X(queries_udp) X(queries_tcp) \
	X(cache_hits) X(cache_misses) \
	X(synthesized) X(passthrough) X(ptr_synthesized) X(ipv4only_local) X(any_rfc8482) \
	X(rcode_noerror) X(rcode_nxdomain) X(rcode_servfail) X(rcode_formerr) \
	X(rcode_notimp) X(rcode_refused) X(rcode_badvers) \
	X(refused_acl) X(refused_class) X(refused_xfr) X(ratelimited) X(truncated) \
	X(upstream_timeout) X(upstream_error) X(bogus) X(dnssec_cd_passthrough) \
	X(tcp_accepted) X(tcp_closed_idle) X(tcp_evicted) X(tcp_refused_full) \
	X(tcp_bad_length) X(tcp_output_overflow) \
	X(drop_unreplyable) X(drop_send_failed) X(drop_no_memory) X(drop_queue_full)

enum dns64_counter {
#define X(n) DNS64_C_##n,
	DNS64_COUNTERS(X)
#undef X
	DNS64_C_COUNT
};

enum dns64_transport { DNS64_UDP, DNS64_TCP };

/* Where a reply goes. UDP replies leave from the address the query came
 * to (pktinfo), so a wildcard listener answers from the right source. */
struct dns64_client {
	uint8_t transport;
	bool has_pktinfo;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} pi;
	struct dns64_tcp_conn *conn;	/* TCP: held while a query is pending */
};

struct dns64_ratelimit;
struct dns64_worker;
struct dns64_udp;

/* What a reload may change, as one immutable version: workers read it
 * without a lock (dns64_conf_get), a reload publishes a new one and frees
 * the old one once every worker has acknowledged a wake-up from its loop,
 * i.e. between two events (dns64_workers_quiesce). */
struct dns64_conf {
	struct cidr *exclude, *mapped, *allow;
	size_t nexclude, nmapped, nallow;
	unsigned max_synthesized;
	unsigned edns_size;
	uint64_t query_timeout_ms;
	struct dns64_ratelimit *rl;	/* shared by the workers (striped locks) */
};

/* Where misses are resolved. Per worker (default): each worker thread has
 * its own libunbound contexts on its own loop and resolves its misses
 * itself, like Unbound's threads. Shared: workers hand misses to the main
 * thread's contexts through a ring. Measured in tests/bench/dns64_bench.sh
 * (see dns64/RFC6147.md, "Threads"). */
#ifndef DNS64_RESOLVER_PER_WORKER
#define DNS64_RESOLVER_PER_WORKER 1
#endif

/* One thread's share: its loop, its counters (written by that thread
 * only, summed by readers), its UDP batch and its response buffer, so the
 * hot path takes no lock beyond the cache shard's. */
struct dns64_io {
	struct dns64 *d;
	struct evloop *loop;
	struct dns64_worker *w;		/* NULL: the main (resolver) thread */
	_Atomic uint64_t counters[DNS64_C_COUNT];
	_Atomic uint64_t wire_errors[DNS_E_COUNT];
	struct dns64_udp *udp;		/* server.c: recvmmsg/sendmmsg batch */
	/* Resolutions started on this thread (NULL res: a worker that hands
	 * its misses to the main thread). */
	struct dns64_resolver *res;	/* validating when a trust anchor exists */
	struct dns64_resolver *res_cd;	/* no validator: CD=1 queries */
	struct dns64_req *reqs;
	_Atomic size_t nreqs;		/* read by stats on the main thread */
	uint8_t scratch[DNS_MAX_MSG];	/* responses are built here */
};

struct dns64 {
	struct evloop *loop;		/* main thread: TCP, libunbound, control */
	struct prefix_pub *prefixes;
	struct publish_domain *publish;	/* workers register as readers */
	bool enabled;

	_Atomic(struct dns64_conf *) conf;
	/* Main-thread-only settings (TCP lives there). */
	uint64_t tcp_idle_ms;
	unsigned tcp_max_connections;

	struct dns64_cache *cache;	/* shared, sharded locks */
	struct dns64_server *server;	/* TCP listeners (main loop) */

	struct dns64_io *main_io;
	struct dns64_worker **workers;
	size_t nworkers;
	unsigned nthreads;		/* workers + main: threads with resolvers */

	struct log_limit log_lim;
};

/* Counters are per thread: a relaxed load and store (no locked
 * instruction), made atomic only so that readers on other threads are
 * well defined. */
static inline void dns64_io_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static inline void dns64_count(struct dns64_io *io, enum dns64_counter c)
{
	dns64_io_inc(&io->counters[c]);
}

static inline const struct dns64_conf *dns64_conf_get(struct dns64 *d)
{
	return atomic_load_explicit(&d->conf, memory_order_seq_cst);
}

const char *dns64_counter_name(enum dns64_counter c);
/* Sums over the main thread and every worker. */
uint64_t dns64_counter_total(struct dns64 *d, enum dns64_counter c);
uint64_t dns64_wire_error_total(struct dns64 *d, enum dns_wire_err e);

/* engine.c: the life of one query. On a worker, a miss is deferred to
 * the main thread, which continues with dns64_engine_resolve(). */
void dns64_engine_query(struct dns64_io *io, const uint8_t *pkt, size_t len,
			const struct dns64_client *cl);
void dns64_engine_resolve(struct dns64_io *io, const struct dns_query *q,
			  const struct dns64_client *cl);
/* Cancels every resolution started on this thread (at stop). */
void dns64_engine_cancel_all(struct dns64_io *io);
/* Resolution contexts for one thread's loop: 0, or -1 with `err`. */
int dns64_io_resolvers(struct dns64_io *io, const struct sixfour_config *cfg, char *err,
		       size_t errlen);
void dns64_io_resolvers_free(struct dns64_io *io);
void dns64_policy_get(const struct dns64_conf *c, struct dns64_policy *pol);

/* server.c: sockets. TCP listeners on the main loop; UDP sockets are
 * opened per worker (SO_REUSEPORT) and read by dns64_udp_read(). */
struct dns64_server *dns64_server_new(struct dns64 *d, const struct sixfour_config *cfg,
				      char *err, size_t errlen);
void dns64_server_free(struct dns64_server *s);
/* A UDP socket for one worker's share of `ep`: fd, or -1 with `err`. */
int dns64_udp_open(const struct endpoint *ep, char *err, size_t errlen);
struct dns64_udp *dns64_udp_new(void);
void dns64_udp_free(struct dns64_udp *u);
/* Reads and answers what waits on `fd` (a few recvmmsg batches). */
void dns64_udp_read(struct dns64_io *io, int fd);
/* Sends a finished response to `cl` (UDP: batched within a receive
 * round on the receiving thread, else sent at once on the same socket;
 * TCP: framed and queued). */
void dns64_server_send(struct dns64_io *io, const struct dns64_client *cl, const uint8_t *buf,
		       size_t len);
void dns64_client_hold(const struct dns64_client *cl);
void dns64_client_release(struct dns64_io *io, const struct dns64_client *cl);
size_t dns64_server_tcp_count(const struct dns64_server *s);

/* worker.c: threads, each with its own loop and UDP sockets. */
struct dns64_worker *dns64_worker_new(struct dns64 *d, unsigned index,
				      const struct sixfour_config *cfg, char *err, size_t errlen);
int dns64_worker_start(struct dns64_worker *w);
/* Stops and joins the thread (if started), closes its sockets. */
void dns64_worker_free(struct dns64_worker *w);
struct dns64_io *dns64_worker_io(struct dns64_worker *w);
/* Queues a miss for the main thread (shared resolver mode); false when
 * its queue is full. */
bool dns64_worker_defer(struct dns64_io *io, const struct dns_query *q,
			const struct dns64_client *cl);
/* Returns once no worker can still be using a conf published before
 * (true), or false when a worker seems stuck (then keep the old one). */
bool dns64_workers_quiesce(struct dns64 *d);

/* ratelimit.c: per client prefix (GCRA). */
struct dns64_ratelimit *dns64_ratelimit_new(unsigned qps, unsigned burst, unsigned v6_len,
					    unsigned v4_len);
void dns64_ratelimit_free(struct dns64_ratelimit *rl);
/* True when the client may be answered now. */
bool dns64_ratelimit_allow(struct dns64_ratelimit *rl, const struct sockaddr *sa,
			   uint64_t now_us);

/* export.c */
struct ctl_out;
struct prefix_set;
int dns64_export(const struct prefix_set *set, const struct dns64_policy *pol,
		 const char *format, struct ctl_out *out);

#endif
