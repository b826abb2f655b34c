/* Private state of the DNS64 subsystem, shared by its files only. */
#ifndef SIXFOUR_DNS64_INT_H
#define SIXFOUR_DNS64_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/util.h"
#include "dns64/cookie.h"
#include "dns64/ratelimit.h"
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

/* Counters shown by `sixfourctl dns stats` and the metrics (common/counters.h):
 * one row per event; drops and refusals by reason. */
#define DNS64_COUNTERS(X) \
	X(queries_udp, "UDP queries received") \
	X(queries_tcp, "TCP queries received") \
	X(cache_hits, "queries answered from the answer cache") \
	X(cache_misses, "queries not in the answer cache") \
	X(synthesized, "AAAA answers synthesized from A records (RFC 6147 5.1.5-5.1.8)") \
	X(synthesized_aaaa_failed, "AAAA answers synthesized where the AAAA lookup failed (5.1.2, 5.1.3)") \
	X(passthrough, "AAAA answers passed through (RFC 6147 5.1.1, 5.1.2)") \
	X(passthrough_filtered, "AAAA answers passed through without their excluded records (5.1.4)") \
	X(aaaa_rcode_as_empty, "AAAA answers with an error rcode, treated as empty (5.1.2)") \
	X(aaaa_wait_expired, "AAAA lookups given up aaaa-wait after the A answer (5.1.3)") \
	X(ptr_synthesized, "PTR answers through a CNAME to in-addr.arpa (RFC 6147 5.3.1)") \
	X(ipv4only_local, "ipv4only.arpa answered locally (RFC 8880)") \
	X(any_rfc8482, "ANY answered with one HINFO (RFC 8482)") \
	X(rcode_noerror, "responses with NOERROR") \
	X(rcode_nxdomain, "responses with NXDOMAIN") \
	X(rcode_servfail, "responses with SERVFAIL") \
	X(rcode_formerr, "responses with FORMERR") \
	X(rcode_notimp, "responses with NOTIMP") \
	X(rcode_refused, "responses with REFUSED") \
	X(rcode_badvers, "responses with BADVERS (RFC 6891 6.1.3)") \
	X(refused_acl, "queries refused: client outside allow") \
	X(refused_class, "queries refused: class other than IN") \
	X(refused_xfr, "queries refused: zone transfers") \
	X(rl_client_slipped, "over the client prefix's limit: a TC=1 reply (slip)") \
	X(rl_client_dropped, "over the client prefix's limit: dropped") \
	X(rl_enclosing_slipped, "over the enclosing prefix's limit: a TC=1 reply (slip)") \
	X(rl_enclosing_dropped, "over the enclosing prefix's limit: dropped") \
	X(rl_verified_slipped, "over the limit for valid cookies: a TC=1 reply (slip)") \
	X(rl_verified_dropped, "over the limit for valid cookies: dropped") \
	X(rl_partner_slipped, "over a partner prefix's limit: a TC=1 reply (slip)") \
	X(rl_partner_dropped, "over a partner prefix's limit: dropped") \
	X(rl_tcp_refused, "TCP queries over the limit: REFUSED") \
	X(cookie_client_only, "queries with a client cookie alone (RFC 7873 5.2.3)") \
	X(cookie_valid, "queries with a valid server cookie (RFC 7873 5.2.4)") \
	X(cookie_invalid, "queries with a server cookie not ours or too old") \
	X(truncated, "UDP responses cut to TC=1 (too large for the client)") \
	X(truncated_amplification, "UDP responses cut to TC=1 (over max-amplification, no cookie)") \
	X(upstream_timeout, "resolutions that took longer than query-timeout") \
	X(upstream_error, "resolutions libunbound failed or answered unparseably") \
	X(bogus, "DNSSEC-bogus answers (SERVFAIL, never synthesized)") \
	X(dnssec_cd_passthrough, "DO+CD queries answered without synthesis (RFC 6147 5.5)") \
	X(tcp_accepted, "TCP connections accepted") \
	X(tcp_closed_peer, "TCP connections the client closed") \
	X(tcp_closed_idle, "TCP connections closed after tcp-idle-timeout") \
	X(tcp_closed_slow, "TCP connections closed: a query not whole within tcp-query-deadline") \
	X(tcp_closed_unread, "TCP connections closed: output unread for tcp-idle-timeout") \
	X(tcp_closed_budget, "TCP connections closed: the most unread output when tcp-output-budget was spent") \
	X(tcp_closed_error, "TCP connections closed on a socket error or lack of memory") \
	X(tcp_evicted, "idle TCP connections closed to make room") \
	X(tcp_refused_full, "TCP connections refused: tcp-max-connections reached") \
	X(tcp_refused_client, "TCP connections refused: tcp-max-per-client reached") \
	X(tcp_bad_length, "TCP connections closed: message length below a header or over 4096") \
	X(drop_unreplyable, "queries dropped: no reply is safe (short, a response)") \
	X(drop_send_failed, "responses the kernel did not take") \
	X(drop_no_memory, "queries failed for lack of memory or request slots")

enum dns64_counter {
#define X(name, help) DNS64_C_##name,
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
	/* What the query told about its source (engine.c): a valid server
	 * cookie or TCP mean it was not spoofed. */
	bool verified;
	uint8_t cookie;			/* enum dns64_cookie_verdict */
	bool cookie_renew;		/* the reply gets a fresh server cookie */
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} pi;
	struct dns64_tcp_conn *conn;	/* TCP: held while a query is pending */
};

struct dns64_worker;
struct dns64_udp;

/* Rate-limit state: client and enclosing prefixes tracked at once (40
 * octets each). */
#define DNS64_RL_ENTRIES 65536

/* What a reload may change, as one immutable version: every thread reads
 * it without a lock (dns64_conf_get) and never keeps it across events; a
 * reload swaps in a new one and retires the old one through the daemon's
 * publication domain (common/publish.h), which frees it once every worker
 * has passed a quiescent point. */
struct dns64_conf {
	struct cidr *exclude, *mapped, *allow;
	size_t nexclude, nmapped, nallow;
	unsigned max_synthesized;
	unsigned edns_size;
	uint64_t query_timeout_ms;
	uint64_t aaaa_wait_ms;
	uint64_t tcp_idle_ms;
	unsigned tcp_max_connections;
	unsigned tcp_max_per_client;
	uint64_t tcp_query_deadline_ms;
	size_t tcp_output_budget;
	struct dns64_rl_policy rl;	/* the table is struct dns64's */
	struct dns64_rl_partner *partners;	/* rl.partners */
	unsigned amplification;		/* UDP replies without a valid cookie: x query */
	bool cookies;
	struct dns64_cookie_secrets secrets;
};

/* conf.c: a version from the [dns64] and [ratelimit] options (NULL when out
 * of memory), and its destructor (also the publish_retire callback).
 * `random_secret` makes cookies when cookie-secret is empty. */
struct dns64_conf *dns64_conf_new(const struct sixfour_config *cfg,
				  const uint8_t random_secret[DNS_COOKIE_SECRET_LEN]);
void dns64_conf_free(void *conf);
/* The [ratelimit] dns-partner and [dns64] cookie-secret values: 0, or
 * -EINVAL with the offending value in `err`. */
int dns64_conf_check(const struct sixfour_config *cfg, char *err, size_t errlen);

/* One thread's share: its loop, its counters (written by that thread
 * only with counter_inc, summed by readers), its UDP batch, its libunbound
 * contexts and its response buffer, so the hot path takes no lock beyond
 * the cache shard's. Every thread resolves its own misses, like Unbound's
 * threads (measured in tests/bench/dns64_bench.sh, dns64/RFC6147.md). */
struct dns64_io {
	struct dns64 *d;
	struct evloop *loop;
	struct dns64_worker *w;		/* NULL: the main thread (TCP) */
	uint64_t counters[DNS64_C_COUNT];
	uint64_t wire_errors[DNS_E_COUNT];
	struct dns64_udp *udp;		/* server.c: recvmmsg/sendmmsg batch */
	/* Resolutions started on this thread. */
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

	struct dns64_cache *cache;	/* shared, sharded locks */
	struct dns64_ratelimit *rl;	/* shared, striped locks; kept across reloads */
	uint8_t random_secret[DNS_COOKIE_SECRET_LEN];	/* kept across reloads */
	struct dns64_server *server;	/* TCP listeners (main loop) */

	struct dns64_io *main_io;
	struct dns64_worker **workers;
	size_t nworkers;
	unsigned nthreads;		/* workers + main: threads with resolvers */

	struct log_limit log_lim;
};

/* Counters are per thread (one writer each): common/counters.h. */
static inline void dns64_count(struct dns64_io *io, enum dns64_counter c)
{
	counter_inc(&io->counters[c], 1);
}

static inline const struct dns64_conf *dns64_conf_get(struct dns64 *d)
{
	return atomic_load_explicit(&d->conf, memory_order_seq_cst);
}

/* engine.c: the life of one query, on the thread that received it. */
void dns64_engine_query(struct dns64_io *io, const uint8_t *pkt, size_t len,
			const struct dns64_client *cl);
/* Cancels every resolution started on this thread (at stop). */
void dns64_engine_cancel_all(struct dns64_io *io);
/* Resolution contexts for one thread's loop: 0, or -1 with `err`. */
int dns64_io_resolvers(struct dns64_io *io, const struct sixfour_config *cfg, char *err,
		       size_t errlen);
void dns64_io_resolvers_free(struct dns64_io *io);
void dns64_policy_get(const struct dns64_conf *c, struct dns64_policy *pol);

/* server.c: sockets and UDP. UDP sockets are opened per worker
 * (SO_REUSEPORT) and read by dns64_udp_read(). */
/* A socket of `type` bound to `ep` (listening for TCP): fd, or -1 with `err`. */
int dns64_socket_open(const struct endpoint *ep, int type, char *err, size_t errlen);
/* A UDP socket for one worker's share of `ep`: fd, or -1 with `err`. */
int dns64_udp_open(const struct endpoint *ep, char *err, size_t errlen);
bool dns64_acl_allows(const struct dns64_conf *conf, const struct sockaddr *sa);
struct dns64_udp *dns64_udp_new(void);
void dns64_udp_free(struct dns64_udp *u);
/* Reads and answers what waits on `fd` (a few recvmmsg batches). */
void dns64_udp_read(struct dns64_io *io, int fd);
/* Sends a finished response to `cl` (UDP: batched within a receive
 * round on the receiving thread, else sent at once on the same socket;
 * TCP: framed and queued). */
void dns64_server_send(struct dns64_io *io, const struct dns64_client *cl, const uint8_t *buf,
		       size_t len);
/* tcp.c: TCP listeners and connections on the main loop. */
struct dns64_server *dns64_server_new(struct dns64 *d, const struct sixfour_config *cfg,
				      char *err, size_t errlen);
void dns64_server_free(struct dns64_server *s);
/* Queues a framed response on `c` (closing connections that hold the most
 * unread output when tcp-output-budget is spent). */
void dns64_tcp_send(struct dns64_io *io, struct dns64_tcp_conn *c, const uint8_t *buf,
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

#endif
