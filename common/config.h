/* sixfour.ini: one table of options drives parsing, defaults, the canonical
 * printout (-n -v) and the man page's option list. */
#ifndef SIXFOUR_CONFIG_H
#define SIXFOUR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#include "common/log.h"
#include "common/rfc6052.h"
#include "common/util.h"

/* configure --sysconfdir=/etc (what scripts/setup and packages use) gives
 * /etc/sixfour/sixfour.ini. */
#define CONFIG_DEFAULT_PATH SIXFOUR_CONFDIR "/sixfour/sixfour.ini"
#define CONFIG_MAX_PREFIXES 32
#define CONFIG_MAX_ERRORS 32

/* Lists own their elements (heap arrays). */
struct cidr_list { size_t n; struct cidr *v; };
struct endpoint_list { size_t n; struct endpoint *v; };
struct str_list { size_t n; char **v; };

/* One pool4 element: "ADDR[/LEN][:PORTMIN-PORTMAX]". */
struct pool4_range {
	struct in_addr addr;
	uint8_t len;
	uint16_t port_min, port_max;
};
struct pool4_list { size_t n; struct pool4_range *v; };

struct prefix_conf {
	char name[PREFIX_NAME_MAX];
	unsigned line;			/* where the section started */
	struct cidr prefix;
#define X(role, key, def, doc) bool key;	/* one per PREFIX_ROLES row */
	PREFIX_ROLES(X)
#undef X
	char *probe_target;		/* IPv4 address or name probed through it */
};

enum nat64_filtering { FILTER_ENDPOINT_INDEPENDENT, FILTER_ADDRESS_DEPENDENT };
enum nat64_offload { NAT64_OFFLOAD_AUTO, NAT64_OFFLOAD_OFF };

struct sixfour_config {
	char *path;			/* NULL for the embedded default */

	struct {
		char *user;
		char *control_socket;
		char *control_group;	/* "" = the socket keeps its group */
		enum log_level log_level;
		unsigned workers;	/* 0 = one per CPU */
		char *state_dir;	/* kept across restarts; "" = nothing kept */
	} general;

	size_t nprefixes;
	struct prefix_conf prefixes[CONFIG_MAX_PREFIXES];

	struct {
		bool enable;
		struct endpoint_list listen;
		struct cidr_list allow;
		struct cidr_list exclude;
		struct cidr_list mapped;
		struct endpoint_list forward;
		char *root_hints;
		char *trust_anchor;
		unsigned edns_size;
		unsigned max_synthesized;	/* 0 = no cap */
		uint64_t cache_size;
		uint64_t tcp_idle_ms;
		unsigned tcp_max_connections;
		unsigned tcp_max_per_client;
		uint64_t tcp_query_deadline_ms;
		uint64_t tcp_output_budget;	/* bytes */
		uint64_t query_timeout_ms;
		uint64_t aaaa_wait_ms;		/* after the A answer (RFC 6147 5.1.3) */
		bool cookies;			/* RFC 7873 server cookies */
		struct str_list cookie_secrets;	/* hex; the first makes cookies */
		struct str_list unbound_options;	/* "name: value", repeatable */
	} dns64;

	struct {
		bool enable;
		char *device;
		unsigned mtu;
		struct pool4_list pool4;
		unsigned max_sessions;
		unsigned max_sessions_per_client;
		unsigned max_ports_per_client;
		unsigned client_prefix_len;
		enum nat64_filtering filtering;
		uint64_t tcp_est_timeout_ms;
		uint64_t tcp_trans_timeout_ms;
		uint64_t tcp_syn_wait_ms;
		uint64_t udp_timeout_ms;
		uint64_t icmp_timeout_ms;
		uint64_t frag_timeout_ms;
		unsigned frag_max_datagrams;	/* per worker (nat64/frag.h) */
		bool reassemble_unchecksummed_udp;
		unsigned icmp_errors_per_second;
		unsigned icmp_errors_per_destination;
		enum nat64_offload offload;	/* TUN offloads (nat64/tun.h) */
	} nat64;

	struct {
		bool enable;
		unsigned port;
		char *message;
		char *contact;
		uint64_t keepalive_ms;		/* SESSION+HELLO interval (7.6) */
		unsigned probe_rate;		/* datagrams/s per server without session */
		unsigned session_rate;		/* datagrams/s per server in session */
		uint64_t batch_delay_ms;	/* how long a notice waits for company */
		bool lookup;			/* offer LOOKUP (take acked entries as cache) */
		unsigned lookup_rate;		/* lookups/s to one server, 0 = no cap */
		unsigned lookup_rate_total;	/* lookups/s to all servers, 0 = no cap */
	} handoff;

	struct {
		bool enable;
		uint64_t interval_ms;
		uint64_t fast_interval_ms;	/* while a verdict is being confirmed */
		uint64_t timeout_ms;
		unsigned max_active;
		unsigned rise;			/* successes in a row to come up */
		unsigned fall;			/* failures in a row to go down */
		struct cidr target;		/* default probe target (IPv4) */
	} health;

	/* Files written for resolvers and routers we do not run (health/). */
	struct {
		char *bind, *bind_reload;	/* "" = not written / no command */
		char *unbound, *unbound_reload;
		char *radvd, *radvd_reload;
		struct str_list radvd_interfaces;	/* empty = [hints] interface */
		struct str_list fallback;	/* "all", "none" or prefix names */
		uint64_t reload_timeout_ms;
		uint64_t retry_ms;
	} export;

	struct {
		struct str_list interfaces;
		uint64_t max_interval_ms;
		uint64_t min_interval_ms;
		uint64_t router_lifetime_ms;
		uint64_t pref64_lifetime_ms;	/* 0 = 3 x max-interval */
		struct cidr_list rdnss;		/* empty = this host's address on the link */
		struct str_list dnssl;
		bool dhcpv6;
		unsigned mtu;			/* 0 = no MTU option */
		struct cidr_list slaac_prefixes;
		uint64_t info_refresh_ms;	/* DHCPv6 option 32 */
	} hints;

	struct {
		unsigned v6_prefix_len;
		unsigned v4_prefix_len;
		struct endpoint_list metrics_listen;
		uint64_t interval_ms;		/* usage log records */
		char *usage_log;		/* "" = no log */
		unsigned top_prefixes;		/* heavy-hitter capacity; 0 = no accounting */
		unsigned metrics_prefixes;	/* top N exported as metric labels */
	} stats;

	struct {
		unsigned dns_qps;		/* per client prefix, 0 = off */
		unsigned dns_burst;
		unsigned v6_prefix_len;
		unsigned v4_prefix_len;
		unsigned v6_enclosing_len;	/* 0 = no enclosing level */
		unsigned v4_enclosing_len;
		unsigned dns_enclosing_qps;
		unsigned dns_enclosing_burst;
		unsigned dns_cookie_qps;	/* valid DNS Cookie or TCP */
		unsigned dns_cookie_burst;
		unsigned dns_slip;
		unsigned dns_amplification;	/* x query size without a cookie, 0 = off */
		struct str_list dns_partners;	/* "PREFIX QPS [BURST]", repeatable */
		uint64_t bandwidth;		/* bytes/s, 0 = off */
		uint64_t bandwidth_queue_ms;	/* how long over the cap may wait */
		uint64_t client_bandwidth;	/* bytes/s per client, 0 = off */
		struct str_list bandwidth_partners;	/* "PREFIX RATE", repeatable */
		uint64_t monthly_quota;		/* octets, 0 = none */
	} ratelimit;

	struct {
		bool enable;
		unsigned node, nodes;		/* pool4 port share `node` of `nodes` */
		char *shared_dir;		/* handoff sessions for the next active node */
		struct cidr virtual_address;	/* VRRP IPv6 next hop of the prefixes */
		struct cidr virtual_router;	/* VRRP link-local source of RAs */
		uint64_t heartbeat_ms;		/* keepalived silent that long: standby */
		uint64_t takeover_ms;		/* a standby's translate prefixes stay up */
	} cluster;
};

/* Errors collected while reading one file: "FILE:LINE: message". */
struct config_errors {
	size_t n;
	char msg[CONFIG_MAX_ERRORS][256];
};

/* Reads `path` (NULL = embedded default) into a new config. On error returns
 * NULL and fills `errs`; nothing is half-applied. */
struct sixfour_config *config_load(const char *path, struct config_errors *errs);
/* Parses INI text from memory; `name` is used in error messages. */
struct sixfour_config *config_load_string(const char *name, const char *text,
					  struct config_errors *errs);
void config_free(struct sixfour_config *cfg);

/* Writes the effective config in canonical form. Reading the output back
 * prints the same text again. */
void config_print(const struct sixfour_config *cfg, FILE *out);
/* Writes the option table as man(7) text for doc/sixfour.ini.5. */
void config_print_man(FILE *out);

/* The generic reload rule (the `reload` column of the option table): 0 when
 * no key of `section` (NULL: of any section) whose class is restart differs
 * between `running` and `next`; else -EINVAL with "changes to [section] key,
 * key need a restart" (sections joined by "; ") in err. [prefix NAME] rows all
 * reload live: the prefix set is republished. */
int config_restart_changes(const struct sixfour_config *running,
			   const struct sixfour_config *next, const char *section,
			   char *err, size_t errlen);

/* Builds the prefix set that every subsystem shares from the config. */
struct prefix_set *config_prefix_set(const struct sixfour_config *cfg);

#endif
