/* What the unit tests of the translator's state share (test_pool4,
 * test_session, test_session_handoff): addresses from text, a session
 * table configuration with RFC 6146's timers, and an IPv6-side flow
 * toward 64:ff9b::/96 through session_handle6. */
#ifndef SIXFOUR_TESTS_UNIT_NAT64_FIXTURE_H
#define SIXFOUR_TESTS_UNIT_NAT64_FIXTURE_H

#include <arpa/inet.h>

#include "common/rfc6052.h"
#include "nat64/session.h"

static inline struct in_addr ip4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static inline struct in6_addr ip6(const char *s)
{
	struct in6_addr a;
	inet_pton(AF_INET6, s, &a);
	return a;
}

/* Endpoint-independent filtering, one client = a /56, 1024 ports each,
 * RFC 6146 4's timers (TCP 2 h 4 min / 4 min, SYN wait 6 s, UDP 5 min,
 * ICMP 60 s). */
static inline struct session_cfg fixture_session_cfg(unsigned max_sessions,
						     unsigned max_per_client)
{
	return (struct session_cfg){
		.max_sessions = max_sessions, .max_per_client = max_per_client,
		.max_ports_per_client = 1024, .client_prefix_len = 56,
		.filtering = FILTER_ENDPOINT_INDEPENDENT,
		.tcp_est_ms = 7440000, .tcp_trans_ms = 240000, .tcp_syn_wait_ms = 6000,
		.udp_ms = 300000, .icmp_ms = 60000,
	};
}

/* An IPv6-side tuple: client -> 64:ff9b::remote4. */
static inline struct nat64_tuple t6(uint8_t proto, const char *client, uint16_t cport,
				    const char *r4, uint16_t rport)
{
	struct nat64_tuple t = { .family = AF_INET6, .proto = proto, .sport = cport,
				 .dport = rport };
	t.src.v6 = ip6(client);
	rfc6052_embed(&rfc6052_wkp, 96, ip4(r4), &t.dst.v6);
	return t;
}

/* The IPv6 packet of tuple `in` through the table (RFC 6146 3.5.1). */
static inline enum nat64_verdict out6(struct session_table *t, const struct nat64_tuple *in,
				      uint8_t flags, uint64_t now, struct nat64_tuple *out)
{
	struct in_addr r4;
	rfc6052_extract(&in->dst.v6, 96, &r4);
	return session_handle6(t, in, r4, 96, flags, false, now, out, NULL);
}

#endif
