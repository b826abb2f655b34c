/* Private state of the DNS64 subsystem, shared by its files only. */
#ifndef SIXFOUR_DNS64_INT_H
#define SIXFOUR_DNS64_INT_H

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
	X(drop_unreplyable) X(drop_send_failed) X(drop_no_memory)

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

struct dns64 {
	struct evloop *loop;
	struct prefix_pub *prefixes;
	bool enabled;

	/* Policy, copied from the config so a reload can swap it. */
	struct cidr *exclude, *mapped, *allow;
	size_t nexclude, nmapped, nallow;
	unsigned max_synthesized;
	unsigned edns_size;
	uint64_t query_timeout_ms;
	uint64_t tcp_idle_ms;
	unsigned tcp_max_connections;

	struct dns64_ratelimit *rl;
	struct dns64_resolver *res;	/* validating when a trust anchor exists */
	struct dns64_resolver *res_cd;	/* no validator: CD=1 queries */
	struct dns64_cache *cache;
	struct dns64_server *server;
	struct dns64_req *reqs;		/* pending resolutions */
	size_t nreqs;

	uint64_t counters[DNS64_C_COUNT];
	uint64_t wire_errors[DNS_E_COUNT];
	struct log_limit log_lim;
	char restart_key[2048];		/* options a reload may not change */
	uint8_t scratch[DNS_MAX_MSG];	/* responses are built here */
};

static inline void dns64_count(struct dns64 *d, enum dns64_counter c)
{
	d->counters[c]++;
}

const char *dns64_counter_name(enum dns64_counter c);

/* engine.c: the life of one query. */
void dns64_engine_query(struct dns64 *d, const uint8_t *pkt, size_t len,
			const struct dns64_client *cl);
/* Cancels every pending resolution (at stop). */
void dns64_engine_cancel_all(struct dns64 *d);
void dns64_policy_get(const struct dns64 *d, struct dns64_policy *pol);

/* server.c: sockets. */
struct dns64_server *dns64_server_new(struct dns64 *d, const struct sixfour_config *cfg,
				      char *err, size_t errlen);
void dns64_server_free(struct dns64_server *s);
/* Sends a finished response to `cl` (UDP: batched within a receive
 * round; TCP: framed and queued). */
void dns64_server_send(struct dns64 *d, const struct dns64_client *cl, const uint8_t *buf,
		       size_t len);
void dns64_client_hold(const struct dns64_client *cl);
void dns64_client_release(struct dns64 *d, const struct dns64_client *cl);
size_t dns64_server_tcp_count(const struct dns64_server *s);

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
