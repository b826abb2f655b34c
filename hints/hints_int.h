/* Private to hints/: the subsystem state shared by the RA sender (ra.c),
 * the DHCPv6 socket and the glue (hints.c). */
#ifndef SIXFOUR_HINTS_INT_H
#define SIXFOUR_HINTS_INT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/config.h"
#include "common/log.h"
#include "hints/addrs.h"
#include "hints/dhcpv6.h"
#include "hints/ra_opts.h"

struct evloop;
struct ev_timer;
struct prefix_pub;
struct sixfour_ctx;

#define HINTS_MAX_IFACES 32
#define HINTS_MAX_RDNSS 8
#define HINTS_DOMAINS_MAX 1024		/* wire-format search list */

/* RFC 4861 10: router constants. */
#define RA_MAX_INITIAL_ADVERTS 3
#define RA_MAX_INITIAL_INTERVAL_MS 16000
#define RA_MIN_DELAY_BETWEEN_MS 3000
#define RA_MAX_DELAY_MS 500

/* Counters (common/counters.h), one per event: RAs by why they were
 * sent, DHCPv6 answers by type, other events, and drops by reason. */
#define HINTS_RA_KINDS(X) \
	X(unsolicited, "Router Advertisements sent on the timer") \
	X(solicited, "Router Advertisements sent in answer to a Router Solicitation") \
	X(final, "final Router Advertisements (zero lifetimes)")
#define HINTS_DHCP6_ANSWERS(X) \
	X(reply, "DHCPv6 Replies to Information-Requests") \
	X(advertise, "DHCPv6 Advertises to Solicits")
#define HINTS_COUNTERS(X) \
	X(ra_send_errors, "Router Advertisements the kernel did not take") \
	X(pref64_withdrawn, "PREF64 options sent with lifetime 0 (prefix withdrawn)") \
	X(rs_valid, "valid Router Solicitations") \
	X(dhcp6_send_errors, "DHCPv6 answers the kernel did not take")

enum hints_ra_kind {
#define X(name, help) HINTS_RA_##name,
	HINTS_RA_KINDS(X)
#undef X
	HINTS_RA__COUNT
};
enum hints_dhcp6_answer {
#define X(name, help) HINTS_DHCP6_##name,
	HINTS_DHCP6_ANSWERS(X)
#undef X
	HINTS_DHCP6__COUNT
};
enum hints_counter {
#define X(name, help) HINTS_C_##name,
	HINTS_COUNTERS(X)
#undef X
	HINTS_C__COUNT
};

struct hints_counters {
	uint64_t ev[HINTS_C__COUNT];
	uint64_t ra_sent[HINTS_RA__COUNT];
	uint64_t dhcp6_answers[HINTS_DHCP6__COUNT];
	uint64_t rs_drops[RA_RS_NVERDICTS];
	uint64_t dhcp6_drops[DHCP6_NVERDICTS];
};

/* The [hints] options, copied out of the config so that a config freed
 * later cannot leave us with dangling pointers. */
struct hints_params {
	size_t nifaces;
	char ifaces[HINTS_MAX_IFACES][IF_NAMESIZE];
	uint64_t max_interval_ms, min_interval_ms;
	uint16_t router_lifetime_s;
	uint64_t pref64_lifetime_s;	/* already defaulted */
	uint32_t dns_lifetime_s;	/* RDNSS/DNSSL lifetime */
	size_t nrdnss;			/* 0 = our address on the link */
	struct in6_addr rdnss[HINTS_MAX_RDNSS];
	size_t ndnssl;
	char **dnssl;
	uint8_t domains[HINTS_DOMAINS_MAX];	/* the same names, wire format */
	size_t domains_len;
	bool dhcpv6;
	uint32_t mtu;
	size_t nslaac;
	struct cidr *slaac;
	uint32_t info_refresh_s;
	/* A cluster node (doc/cluster.md): a standby sends no RA, the active
	 * node's come from the virtual router address, and no node withdraws
	 * PREF64 with a final RA (the next active one serves it). */
	bool cluster, has_vrouter;
	struct in6_addr vrouter;
};

/* A prefix we put in a PREF64 option, remembered so that its disappearance
 * can be announced with lifetime 0. */
struct hints_adv_prefix {
	struct in6_addr addr;
	uint8_t len;
};

struct ra_iface {
	struct hints *h;
	char name[IF_NAMESIZE];
	unsigned ifindex;		/* 0 while the interface does not exist */
	struct hints_link link;		/* its addresses, as netlink last told */
	struct ev_timer *timer;
	unsigned initial_left;		/* fast RAs still to send */
	uint64_t last_mcast_ms;		/* when the last RA went out, 0 = never */
	uint64_t due_ms;		/* when the timer fires */
	bool solicited_pending;		/* the next RA answers an RS */
	size_t nadv;
	struct hints_adv_prefix adv[CONFIG_MAX_PREFIXES];
	uint64_t sent;
};

struct hints {
	struct sixfour_ctx *ctx;
	struct evloop *loop;
	int icmp_fd;			/* raw ICMPv6, RS in and RA out; -1 = none */
	int dhcp_fd;			/* UDP 547; -1 = none */
	struct hints_params *params;
	size_t nifaces;
	struct ra_iface *ifaces[HINTS_MAX_IFACES];
	struct hints_addrs *addrs;	/* links and addresses (netlink events) */
	uint64_t prefix_generation;
	uint8_t duid[DHCP6_DUID_MAX];
	size_t duid_len;
	uint64_t rng;
	struct hints_counters c;
	struct log_limit log_lim;
};

/* --- params.c --- */

/* Copies and checks the [hints] options of `cfg`; NULL with `err` filled
 * when they cannot work together (RFC 4861 6.2.1 router lifetime, RDNSS
 * addresses, DNSSL names, MTU). */
struct hints_params *hints_params_build(const struct sixfour_config *cfg, char *err,
					size_t errlen);
void hints_params_free(struct hints_params *p);

/* --- export.c --- */

struct ctl_out;
/* Prometheus text for the metrics endpoint (subsys_ops.metrics). */
void hints_metrics(void *state, struct ctl_out *out);

/* --- ra.c --- */

struct ra_iface *ra_iface_new(struct hints *h, const char *name);
/* Sends the final RA (zero lifetimes) if the interface exists, then frees. */
void ra_iface_free(struct ra_iface *ifc, bool send_final);
/* Restarts the initial fast RAs (start, config or prefix change, new
 * ifindex; RFC 4861 6.2.4). */
void ra_iface_restart(struct ra_iface *ifc);
/* An RS arrived on this interface (RFC 4861 6.2.6). */
void ra_iface_solicited(struct ra_iface *ifc);
/* The resolvers this interface hands out: configured, or our own address
 * on the link (a global one if any, else link-local). */
size_t ra_iface_resolvers(const struct ra_iface *ifc, struct in6_addr *out, size_t max);
/* Whether a prefix of the set goes into PREF64 now. */
bool hints_prefix_advertised(const struct prefix_info *p);
/* Uniform in [0, n). */
uint64_t hints_random(struct hints *h, uint64_t n);

#endif
