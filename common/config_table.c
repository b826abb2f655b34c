/* Every option of sixfour.ini: one row each. Adding an option is one row
 * here, one field in struct sixfour_config and one check in config.c if it
 * depends on another option. A row without `.reload = CFG_LIVE` needs a
 * restart (config_restart_changes refuses the change at reload); a live row
 * is applied by its subsystem's reload(). */
#include "autoconf.h"

#include <stddef.h>

#include "common/config.h"
#include "common/config_table.h"

#define G(f) offsetof(struct sixfour_config, f)
#define P(f) offsetof(struct prefix_conf, f)
#define SEC(s) (UINT64_C(1000) * (s))

static const char *const offload_names[] = {
	[NAT64_OFFLOAD_AUTO] = "auto",
	[NAT64_OFFLOAD_OFF] = "off",
	NULL,
};

static const char *const filtering_names[] = {
	[FILTER_ENDPOINT_INDEPENDENT] = "endpoint-independent",
	[FILTER_ADDRESS_DEPENDENT] = "address-dependent",
	NULL,
};

const char *const cfg_sections[] = {
	"general", "prefix", "dns64", "nat64", "handoff", "health", "export", "hints", "stats",
	"ratelimit", "cluster",
};
const size_t cfg_nsections = sizeof(cfg_sections) / sizeof(cfg_sections[0]);

const struct cfg_option cfg_options[] = {
	/* [general] */
	{ "general", "user", CFG_STR, G(general.user), "nobody", .doc =
	  "Unprivileged user sixfourd switches to after start-up." },
	{ "general", "control-socket", CFG_STR, G(general.control_socket),
	  "/run/sixfour/sixfourd.sock", .flags = CFG_PATH, .doc =
	  "Unix socket that sixfourctl talks to." },
	{ "general", "control-group", CFG_STR, G(general.control_group), "", .doc =
	  "Group that may use the control socket (mode 0660): its members can run "
	  "sixfourctl, including reload and flush. Empty: root and the user only "
	  "(the Debian package uses sixfourctl)." },
	{ "general", "log-level", CFG_LOGLEVEL, G(general.log_level), "info", .reload = CFG_LIVE, .doc =
	  "One of err, warn, notice, info, debug." },
	{ "general", "workers", CFG_UINT, G(general.workers), "0", 0, 64, .doc =
	  "Worker threads for DNS and packets; 0 means one per CPU." },
	{ "general", "state-directory", CFG_STR, G(general.state_dir), "/var/lib/sixfour",
	  .flags = CFG_PATH, .doc =
	  "Where sixfourd keeps what must survive a restart: usage.state (the day's and "
	  "month's usage per prefix) and the handoff sessions with IPv4 servers (no client, "
	  "no connection); made 0700 for [general] user. Empty: nothing is kept (usage starts "
	  "from zero at each start), and connections to handoff servers survive a restart "
	  "only when the server speaks first after a new handshake." },

	/* [prefix NAME] */
	{ "prefix", "prefix", CFG_CIDR, P(prefix), "", .flags = CFG_V6, .reload = CFG_LIVE, .doc =
	  "The NAT64 prefix, e.g. 64:ff9b::/96 (required)." },
	/* translate, synthesize, advertise, probe: the PREFIX_ROLES list */
#define X(role, key, def, text) \
	{ "prefix", #key, CFG_BOOL, P(key), def, .reload = CFG_LIVE, .doc = text },
	PREFIX_ROLES(X)
#undef X
	{ "prefix", "probe-target", CFG_STR, P(probe_target), "", .reload = CFG_LIVE, .doc =
	  "IPv4 address probed through the prefix (empty: the health default)." },

	/* [dns64] */
	{ "dns64", "enable", CFG_BOOL, G(dns64.enable), "yes", .doc =
	  "Run the DNS64 resolver (RFC 6147). A usable AAAA answer (without its "
	  "excluded records, section 5.1.4) and NXDOMAIN pass through; NODATA, an "
	  "answer with only excluded AAAA records, SERVFAIL, FORMERR, NOTIMP or "
	  "REFUSED and no answer at all (sections 5.1.2, 5.1.3, see aaaa-wait) are "
	  "synthesized from the A records; when those yield nothing the AAAA answer is "
	  "sent. A DNSSEC-bogus "
	  "AAAA answer stays SERVFAIL. DO+CD queries get data without synthesis; AD "
	  "is never set on synthesized data (section 5.5). ipv4only.arpa is answered "
	  "locally (RFC 8880), ANY with one HINFO (RFC 8482)." },
	{ "dns64", "listen", CFG_ENDPOINT_LIST, G(dns64.listen), "[::]:53",
	  .port = 53, .doc = "Addresses and ports to answer DNS on (UDP and TCP); replies "
	  "leave from the address the query came to. IPv6 only by default: synthesized "
	  "AAAA records are of no use to IPv4-only clients, a dual-stack client should "
	  "not use DNS64 at all, and an IPv4 address is where spoofed floods come from; "
	  "add 0.0.0.0:53 when IPv4 clients need it (the IPv4 limits apply)." },
	{ "dns64", "allow", CFG_CIDR_LIST, G(dns64.allow), "::/0, 0.0.0.0/0", .reload = CFG_LIVE, .doc =
	  "Clients that may query; others get REFUSED." },
	{ "dns64", "exclude", CFG_CIDR_LIST, G(dns64.exclude), "::ffff:0:0/96", .flags = CFG_V6,
	  .reload = CFG_LIVE, .doc = "AAAA records in these ranges do not count (RFC 6147 5.1.4). A public "
	  "service uses ::ffff:0:0/96, 0::/3, 4000::/2, 8000::/1, 2001:db8::/32." },
	{ "dns64", "mapped", CFG_CIDR_LIST, G(dns64.mapped), "0.0.0.0/0", .flags = CFG_V4, .reload = CFG_LIVE, .doc =
	  "IPv4 addresses that may be synthesized into AAAA records." },
	{ "dns64", "forward", CFG_ENDPOINT_LIST, G(dns64.forward), "", .port = 53, .doc =
	  "Forward to these resolvers instead of recursing from the root." },
	{ "dns64", "root-hints", CFG_STR, G(dns64.root_hints), "", .flags = CFG_PATH, .doc =
	  "Root hints file (empty: libunbound's built-in root servers)." },
	{ "dns64", "trust-anchor", CFG_STR, G(dns64.trust_anchor), "/usr/share/dns/root.key",
	  .flags = CFG_PATH, .doc =
	  "DNSSEC trust anchor file; validation is off when it does not exist. "
	  "CD=1 queries are resolved by a second, non-validating context." },
	{ "dns64", "edns-size", CFG_UINT, G(dns64.edns_size), "1232", 512, 4096, .reload = CFG_LIVE, .doc =
	  "EDNS0 UDP payload size advertised and honoured." },
	{ "dns64", "max-synthesized", CFG_UINT, G(dns64.max_synthesized), "0", 0, 1024, .reload = CFG_LIVE, .doc =
	  "Cap on synthesized AAAA records per answer; 0 = no cap: the whole RRset "
	  "(RFC 2181 5.1), with TC=1 where it does not fit the client's UDP size and "
	  "all of it over TCP. A cap cuts the RRset on every transport; records go A "
	  "by A, every prefix each." },
	{ "dns64", "cache-size", CFG_SIZE, G(dns64.cache_size), "64M", 0, UINT64_C(1) << 40, .doc =
	  "Memory for the answer cache (finished responses, TTLs aged on the way "
	  "out); 0 = no cache. Emptied by sixfourctl flush and by a prefix set change "
	  "for prefix-dependent answers." },
	{ "dns64", "tcp-idle-timeout", CFG_DURATION, G(dns64.tcp_idle_ms), "10s", 100, SEC(3600),
	  .reload = CFG_LIVE, .doc = "Idle TCP connections are closed after this, and so are "
	  "connections whose output the client has not read for this long." },
	{ "dns64", "tcp-max-connections", CFG_UINT, G(dns64.tcp_max_connections), "512", 1, 65536,
	  .reload = CFG_LIVE, .doc = "Concurrent TCP connections; the oldest idle one goes first." },
	{ "dns64", "tcp-max-per-client", CFG_UINT, G(dns64.tcp_max_per_client), "16", 1, 65536,
	  .reload = CFG_LIVE, .doc = "Concurrent TCP connections per client prefix (the rate "
	  "limit's prefix-len, ipv4-prefix-len); more are refused." },
	{ "dns64", "tcp-query-deadline", CFG_DURATION, G(dns64.tcp_query_deadline_ms), "5s", 100,
	  SEC(60), .reload = CFG_LIVE, .doc = "A TCP query must arrive whole within this of its "
	  "first octet, or the connection is closed (a client sending one octet at a time)." },
	{ "dns64", "tcp-output-budget", CFG_SIZE, G(dns64.tcp_output_budget), "16M", UINT64_C(1) << 16,
	  UINT64_C(1) << 32, .reload = CFG_LIVE, .doc = "Memory for TCP answers not yet read by "
	  "their clients, all connections together. A connection with unread output is not "
	  "read; when the budget is spent no connection is read until half of it has drained, "
	  "and the connection holding the most is closed to make room." },
	{ "dns64", "query-timeout", CFG_DURATION, G(dns64.query_timeout_ms), "5s", 100, SEC(60),
	  .reload = CFG_LIVE, .doc = "An upstream resolution that takes longer is answered SERVFAIL." },
	{ "dns64", "aaaa-wait", CFG_DURATION, G(dns64.aaaa_wait_ms), "1s", 0, SEC(60),
	  .reload = CFG_LIVE, .doc = "Once the A answer of an AAAA query is in, how much longer "
	  "the AAAA answer may take; then it counts as empty (RFC 6147 5.1.3) and the "
	  "answer is synthesized, as it is at once when the AAAA lookup fails (SERVFAIL, "
	  "REFUSED: 5.1.2). Such answers are cached for 30 s at most." },
	{ "dns64", "cookies", CFG_BOOL, G(dns64.cookies), "yes", .reload = CFG_LIVE, .doc =
	  "DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018: a "
	  "client that returns a valid server cookie is known not to be spoofed and gets "
	  "the dns-cookie-qps budget and UDP answers up to its EDNS size." },
	{ "dns64", "cookie-secret", CFG_STR_LIST, G(dns64.cookie_secrets), "", .reload = CFG_LIVE,
	  .doc = "Server cookie secrets, 32 hex digits each (at most 4): the first makes "
	  "cookies, all of them verify (a rollover keeps the old one a while). Every "
	  "node of an anycast service needs the same; keep the file unreadable to others "
	  "then. Empty: a random secret made at start (kept across reloads)." },
	{ "dns64", "unbound-option", CFG_STR_LIST, G(dns64.unbound_options), "",
	  .flags = CFG_MULTI, .doc =
	  "Extra libunbound option \"name: value\" as in unbound.conf (double quotes "
	  "are dropped), e.g. local-zone: \"8.b.d.0.1.0.0.2.ip6.arpa.\" transparent; "
	  "may repeat." },

	/* [nat64] */
	{ "nat64", "enable", CFG_BOOL, G(nat64.enable), "yes", .doc =
	  "Run the translator for prefixes with translate = yes." },
	{ "nat64", "device", CFG_STR, G(nat64.device), "sixfour0", .doc =
	  "Name of the TUN device." },
	{ "nat64", "mtu", CFG_UINT, G(nat64.mtu), "1500", 1280, 65535, .doc =
	  "MTU of the TUN device." },
	{ "nat64", "pool4", CFG_POOL4_LIST, G(nat64.pool4), "", .flags = CFG_V4, .doc =
	  "IPv4 pool: ADDR[/LEN][:MIN-MAX] items (ports default to 1024-65535). An "
	  "address the host owns is shared: only its port range is steered into the "
	  "translator (nftables mark + policy rule) and reserved from local sockets "
	  "(ip_local_reserved_ports); other addresses are routed to the TUN device. "
	  "Empty: the host's own IPv4 addresses, ports 61001-65535, followed as they "
	  "change." },
	{ "nat64", "max-sessions", CFG_UINT, G(nat64.max_sessions), "65536", 16, 16777216, .doc =
	  "Session table size. When it is full the cheapest entry goes first: acked "
	  "handoff cache entries, then sessions that never saw a reply and transitory "
	  "TCP, taken from the client holding the most of them, oldest first; a client "
	  "within its fair share (max-sessions / clients) displaces one over it before "
	  "it loses anything itself, and an established TCP connection confirmed by its "
	  "initiator is the last to go." },
	{ "nat64", "max-sessions-per-client", CFG_UINT, G(nat64.max_sessions_per_client), "4096",
	  1, 16777216, .reload = CFG_LIVE, .doc = "Sessions one client (see client-prefix-len) may hold." },
	{ "nat64", "pool4-ports-per-client", CFG_UINT, G(nat64.max_ports_per_client), "1024",
	  1, 65536, .reload = CFG_LIVE, .doc =
	  "pool4 ports (mappings) one client may hold per protocol (RFC 6888 REQ-4); at "
	  "its share a client reuses its own cheapest mapping. At the default share the "
	  "default pool (ports 61001-65535, 4535 per host address) serves 4 clients per "
	  "address and protocol in full, a pool item with ports 1024-65535 serves 63 per "
	  "address; beyond that clients share: when an address is full, a client with "
	  "fewer ports takes mappings back from the holders with the most, cheapest "
	  "first." },
	{ "nat64", "client-prefix-len", CFG_UINT, G(nat64.client_prefix_len), "56", 1, 128,
	  .doc = "IPv6 prefix length that counts as one client." },
	{ "nat64", "filtering", CFG_ENUM, G(nat64.filtering), "endpoint-independent",
	  .choices = filtering_names, .reload = CFG_LIVE, .doc =
	  "Inbound filtering of RFC 6146 3.5: endpoint-independent or address-dependent." },
	{ "nat64", "tcp-est-timeout", CFG_DURATION, G(nat64.tcp_est_timeout_ms), "7440s",
	  SEC(7440), SEC(86400 * 7), .reload = CFG_LIVE, .doc = "Established TCP session lifetime (RFC 6146 minimum)." },
	{ "nat64", "tcp-trans-timeout", CFG_DURATION, G(nat64.tcp_trans_timeout_ms), "240s",
	  SEC(240), SEC(86400), .reload = CFG_LIVE, .doc = "Transitory TCP session lifetime." },
	{ "nat64", "tcp-syn-wait", CFG_DURATION, G(nat64.tcp_syn_wait_ms), "6s", SEC(6), SEC(60),
	  .reload = CFG_LIVE, .doc = "How long an inbound SYN without state waits (simultaneous open)." },
	{ "nat64", "udp-timeout", CFG_DURATION, G(nat64.udp_timeout_ms), "300s", SEC(120),
	  SEC(86400), .reload = CFG_LIVE, .doc = "UDP session lifetime (RFC 6146: at least 2 min)." },
	{ "nat64", "icmp-timeout", CFG_DURATION, G(nat64.icmp_timeout_ms), "60s", SEC(1),
	  SEC(3600), .reload = CFG_LIVE, .doc = "ICMP query session lifetime." },
	{ "nat64", "fragment-timeout", CFG_DURATION, G(nat64.frag_timeout_ms), "2s", 100,
	  SEC(60), .doc = "How long fragments wait for the rest of their packet." },
	{ "nat64", "fragment-datagrams", CFG_UINT, G(nat64.frag_max_datagrams), "256", 1, 65536,
	  .doc = "Datagrams each worker reassembles at once; the oldest is dropped when full." },
	{ "nat64", "reassemble-udp-no-checksum", CFG_BOOL, G(nat64.reassemble_unchecksummed_udp),
	  "yes", .reload = CFG_LIVE, .doc = "Reassemble fragmented IPv4 UDP without a checksum to compute one for "
	  "IPv6 (RFC 7915 4.5); no: drop it." },
	{ "nat64", "icmp-errors-per-second", CFG_UINT, G(nat64.icmp_errors_per_second), "1000",
	  1, 1000000, .reload = CFG_LIVE, .doc =
	  "ICMP errors the translator itself originates, per second in all (RFC 4443 "
	  "2.4 (f)), shared by the workers; errors over it are not sent and are counted "
	  "as icmp_suppressed." },
	{ "nat64", "icmp-errors-per-destination", CFG_UINT, G(nat64.icmp_errors_per_destination),
	  "10", 1, 1000000, .reload = CFG_LIVE, .doc =
	  "ICMP errors per second (and burst) toward one destination (an IPv6 /64 or an "
	  "IPv4 address), per worker: a spoofed source gets no more than this." },
	{ "nat64", "offload", CFG_ENUM, G(nat64.offload), "auto", .choices = offload_names,
	  .doc = "TUN offloads: auto asks the kernel for super-packets (TSO, USO), partial "
	  "checksums and batched I/O, translates a 64 KB super-packet once and falls back "
	  "to packets one by one (with a log line) when the kernel refuses; off: one "
	  "packet per read and write." },

	/* [handoff] */
	{ "handoff", "enable", CFG_BOOL, G(handoff.enable), "yes", .doc =
	  "Send NAT64 handoff notices to IPv4 servers." },
	{ "handoff", "port", CFG_UINT, G(handoff.port), "64646", 1, 65535, .doc =
	  "UDP port of the handoff servers." },
	{ "handoff", "message", CFG_STR, G(handoff.message),
	  "NAT64 handoff: IPv6 clients reach you via this NAT64; notices name them.",
	  .reload = CFG_LIVE, .doc =
	  "Human-readable TEXT sent to hosts that may not know the protocol (with "
	  "the contact, cut to 128 octets)." },
	{ "handoff", "contact", CFG_STR, G(handoff.contact), "", .reload = CFG_LIVE, .doc =
	  "Operator contact (URL or mail) appended to the message as \"Contact: ...\"." },
	{ "handoff", "keepalive-interval", CFG_DURATION, G(handoff.keepalive_ms), "120s", 100,
	  SEC(3600), .reload = CFG_LIVE, .doc = "Keep-alive of an established handoff session "
	  "(+-10 %); three unanswered ones end it and acked entries get RFC 6146 timers again." },
	{ "handoff", "probe-rate", CFG_UINT, G(handoff.probe_rate), "50", 1, 10000,
	  .reload = CFG_LIVE, .doc = "Notice datagrams per second to one server without a session." },
	{ "handoff", "session-rate", CFG_UINT, G(handoff.session_rate), "1000", 1, 100000,
	  .reload = CFG_LIVE, .doc =
	  "Datagrams per second to one server in a session (notices, resync)." },
	{ "handoff", "batch-delay", CFG_DURATION, G(handoff.batch_delay_ms), "5ms", 0, SEC(1),
	  .reload = CFG_LIVE, .doc = "How long a notice may wait to share a datagram with others." },
	{ "handoff", "lookup", CFG_BOOL, G(handoff.lookup), "yes", .reload = CFG_LIVE, .doc =
	  "Offer LOOKUP: entries a server acked become evictable cache, fetched back on a "
	  "miss. Turned off at reload, acked entries get RFC 6146 timers again." },
	{ "handoff", "lookup-rate", CFG_UINT, G(handoff.lookup_rate), "1000", 0, 1000000,
	  .reload = CFG_LIVE, .doc =
	  "Lookups per second to one server (a burst of as many); misses over it are "
	  "dropped as without handoff and counted (LOOKUPS_LIMITED). 0 = no cap." },
	{ "handoff", "lookup-rate-total", CFG_UINT, G(handoff.lookup_rate_total), "10000", 0,
	  10000000, .reload = CFG_LIVE, .doc =
	  "Lookups per second to all servers together; 0 = no cap." },

	/* [health] */
	{ "health", "enable", CFG_BOOL, G(health.enable), "yes", .reload = CFG_LIVE, .doc =
	  "Probe prefixes that have probe = yes." },
	{ "health", "interval", CFG_DURATION, G(health.interval_ms), "2s", SEC(1), SEC(3600),
	  .reload = CFG_LIVE, .doc = "Time between probes of a prefix whose verdict is settled. "
	  "A dead site is withdrawn at most interval + (fall - 1) x fast-interval + timeout "
	  "after its death (3.75 s with the defaults), a site that answers again is back "
	  "within interval + (rise - 1) x fast-interval (2.3 s)." },
	{ "health", "fast-interval", CFG_DURATION, G(health.fast_interval_ms), "150ms", 50,
	  SEC(60), .reload = CFG_LIVE, .doc =
	  "Time between probes while a verdict is being confirmed: after a probe is late "
	  "(unanswered after this time, or twice the usual round trip) or fails, and for "
	  "a prefix that has no verdict yet. Several probes are in flight at once." },
	{ "health", "timeout", CFG_DURATION, G(health.timeout_ms), "1s", 100, SEC(30), .reload = CFG_LIVE, .doc =
	  "A probe not answered within this time has failed (at most 16 x fast-interval)." },
	{ "health", "max-active", CFG_UINT, G(health.max_active), "3", 1, 32, .reload = CFG_LIVE, .doc =
	  "DNS64 synthesizes with at most this many healthy prefixes, fastest first." },
	{ "health", "rise", CFG_UINT, G(health.rise), "3", 1, 100, .reload = CFG_LIVE, .doc =
	  "Probes in a row that must succeed before a prefix comes (back) up." },
	{ "health", "fall", CFG_UINT, G(health.fall), "6", 1, 100, .reload = CFG_LIVE, .doc =
	  "Probes in a row that must fail before a prefix is withdrawn. With 10 % of "
	  "probes lost at random, six in a row happen once in a million probes." },
	{ "health", "target", CFG_CIDR, G(health.target), "", .flags = CFG_V4, .reload = CFG_LIVE, .doc =
	  "IPv4 address probed through prefixes that name no probe-target." },

	/* [export] */
	{ "export", "bind", CFG_STR, G(export.bind), "", .flags = CFG_PATH, .reload = CFG_LIVE, .doc =
	  "Write BIND 9 dns64 blocks (sixfourctl export bind) to this file whenever they "
	  "change, e.g. /var/lib/bind/named.conf.dns64 (on Debian group bind may write "
	  "/var/lib/bind, not /etc/bind), included inside options { }. The file "
	  "is replaced atomically (written, synced, renamed) and keeps its mode; its "
	  "directory must be writable by [general] user. Empty: not written." },
	{ "export", "bind-reload", CFG_STR, G(export.bind_reload), "", .reload = CFG_LIVE, .doc =
	  "Command run after the BIND file changed, e.g. rndc reconfig. It runs without a "
	  "shell (words split at spaces, \"double quotes\" group), as [general] user, "
	  "with reload-timeout; a failure is logged, counted and retried." },
	{ "export", "unbound", CFG_STR, G(export.unbound), "", .flags = CFG_PATH, .reload = CFG_LIVE, .doc =
	  "Write the Unbound dns64 settings (a server: clause with the best healthy "
	  "prefix) to this file, e.g. /etc/unbound/unbound.conf.d/dns64.conf." },
	{ "export", "unbound-reload", CFG_STR, G(export.unbound_reload), "", .reload = CFG_LIVE, .doc =
	  "Command run after the Unbound file changed, e.g. unbound-control reload." },
	{ "export", "radvd", CFG_STR, G(export.radvd), "", .flags = CFG_PATH, .reload = CFG_LIVE, .doc =
	  "Write a whole radvd.conf (RDNSS, DNSSL, nat64prefix) to this file." },
	{ "export", "radvd-reload", CFG_STR, G(export.radvd_reload), "", .reload = CFG_LIVE, .doc =
	  "Command run after the radvd file changed, e.g. systemctl reload radvd." },
	{ "export", "radvd-interface", CFG_STR_LIST, G(export.radvd_interfaces), "", .reload = CFG_LIVE,
	  .doc = "Interfaces of the radvd file; empty = [hints] interface." },
	{ "export", "fallback", CFG_STR_LIST, G(export.fallback), "all", .reload = CFG_LIVE, .doc =
	  "What the exports carry when no prefix is healthy: all (every prefix with "
	  "synthesize = yes, as if none were probed: a broken probe path must not turn "
	  "DNS64 off), none (no dns64 block, no nat64prefix: the resolver stops "
	  "synthesizing), or a list of prefix names. Our own DNS64 is not affected: it "
	  "synthesizes only with healthy prefixes." },
	{ "export", "reload-timeout", CFG_DURATION, G(export.reload_timeout_ms), "10s", 100,
	  SEC(600), .reload = CFG_LIVE, .doc =
	  "A reload command still running after this is killed and counts as failed." },
	{ "export", "retry-interval", CFG_DURATION, G(export.retry_ms), "5s", 100, SEC(3600),
	  .reload = CFG_LIVE, .doc =
	  "A failed reload command is run again after this, doubling up to 64 x, until it "
	  "succeeds or the file changes again." },

	/* [hints] */
	{ "hints", "interface", CFG_STR_LIST, G(hints.interfaces), "", .reload = CFG_LIVE, .doc =
	  "Interfaces that get Router Advertisements (and DHCPv6); empty = none. "
	  "Turning hints or dhcpv6 on later needs a restart (sockets open at start)." },
	{ "hints", "max-interval", CFG_DURATION, G(hints.max_interval_ms), "600s", SEC(4),
	  SEC(1800), .reload = CFG_LIVE, .doc = "MaxRtrAdvInterval (RFC 4861)." },
	{ "hints", "min-interval", CFG_DURATION, G(hints.min_interval_ms), "200s", SEC(3),
	  SEC(1350), .reload = CFG_LIVE, .doc = "MinRtrAdvInterval; at most 0.75 x max-interval." },
	{ "hints", "router-lifetime", CFG_DURATION, G(hints.router_lifetime_ms), "0s", 0,
	  SEC(9000), .reload = CFG_LIVE, .doc = "Router lifetime; 0 = hints only, not a default router; otherwise "
	  "at least max-interval (RFC 4861 6.2.1)." },
	{ "hints", "pref64-lifetime", CFG_DURATION, G(hints.pref64_lifetime_ms), "0s", 0,
	  SEC(65528), .reload = CFG_LIVE, .doc = "PREF64 lifetime, sent in 8 s units rounded up (RFC 8781 4.1); "
	  "0 = 3 x max-interval. RDNSS and DNSSL always get 3 x max-interval." },
	{ "hints", "rdnss", CFG_CIDR_LIST, G(hints.rdnss), "", .flags = CFG_V6, .reload = CFG_LIVE, .doc =
	  "Resolver addresses (up to 8) in RDNSS and DHCPv6 option 23; empty = our "
	  "address on the link (a global one, else the link-local one)." },
	{ "hints", "dnssl", CFG_STR_LIST, G(hints.dnssl), "", .reload = CFG_LIVE, .doc =
	  "Search domains in DNSSL and DHCPv6 option 24." },
	{ "hints", "dhcpv6", CFG_BOOL, G(hints.dhcpv6), "yes", .reload = CFG_LIVE, .doc =
	  "Answer stateless DHCPv6 Information-Requests on the interfaces." },
	{ "hints", "mtu", CFG_UINT, G(hints.mtu), "0", 0, 65535, .reload = CFG_LIVE, .doc =
	  "MTU option in RAs (at least 1280); 0 = none." },
	{ "hints", "slaac-prefix", CFG_CIDR_LIST, G(hints.slaac_prefixes), "", .flags = CFG_V6,
	  .reload = CFG_LIVE, .doc = "Prefix information options (on-link; autonomous for /64) for SLAAC." },
	{ "hints", "info-refresh-time", CFG_DURATION, G(hints.info_refresh_ms), "1d", SEC(600),
	  SEC(86400 * 7), .reload = CFG_LIVE, .doc =
	  "DHCPv6 information refresh time sent to clients (RFC 8415 21.23, at least 600 s)." },

	/* [stats] */
	{ "stats", "client-prefix-len", CFG_UINT, G(stats.v6_prefix_len), "32", 16, 64, .reload = CFG_LIVE, .doc =
	  "IPv6 prefix length that counts as one client in the usage log and totals. A "
	  "reload applies a change from the next packet on (the day's and month's totals "
	  "then hold prefixes of both lengths)." },
	{ "stats", "ipv4-prefix-len", CFG_UINT, G(stats.v4_prefix_len), "24", 8, 32, .reload = CFG_LIVE, .doc =
	  "IPv4 prefix length for packets that belong to no IPv6 client." },
	{ "stats", "metrics-listen", CFG_ENDPOINT_LIST, G(stats.metrics_listen), "",
	  .port = 9164, .doc = "Serve Prometheus metrics over HTTP here; empty = off." },
	{ "stats", "interval", CFG_DURATION, G(stats.interval_ms), "5m", SEC(1), SEC(86400),
	  .reload = CFG_LIVE, .doc = "How often the usage log gets its records: one JSON line "
	  "per prefix with traffic in the interval (packets and octets from and to it), then "
	  "one summary line. Intervals are aligned to multiples of their length (UTC)." },
	{ "stats", "usage-log", CFG_STR, G(stats.usage_log), "/var/log/sixfour/usage.log",
	  .flags = CFG_PATH, .reload = CFG_LIVE, .doc = "The usage log (JSON lines, appended; "
	  "never an address beyond the prefix, never a connection); empty = none. Reopened on "
	  "SIGHUP and by sixfourctl usage reopen (logrotate's postrotate); its folder must be "
	  "writable by the user (created for it at start when missing; a reload to a path in a "
	  "missing folder is logged and the records are dropped, counted, until it opens)." },
	{ "stats", "top-prefixes", CFG_UINT, G(stats.top_prefixes), "65536", 0, 4194304, .doc =
	  "Client prefixes counted exactly per period (Space-Saving); IPv4 prefixes get a "
	  "quarter as many. Beyond that the smallest are folded into a counted remainder and "
	  "every figure carries an error bound of at most total/top-prefixes. About 300 octets "
	  "each for the interval's, day's and month's summaries, plus up to 4 MB per worker "
	  "for its counting tables (65536 with two workers: 27 MB), fixed at start; 0 turns "
	  "usage accounting off." },
	{ "stats", "metrics-prefixes", CFG_UINT, G(stats.metrics_prefixes), "10", 0, 1000,
	  .reload = CFG_LIVE, .doc = "Top prefixes per period exported as metric labels." },

	/* [ratelimit] */
	{ "ratelimit", "dns-qps", CFG_UINT, G(ratelimit.dns_qps), "100", 0, 1000000, .reload = CFG_LIVE, .doc =
	  "DNS queries per second per client prefix (prefix-len, ipv4-prefix-len) from "
	  "clients without a valid DNS Cookie, UDP; 0 = no limit at this level. Over the "
	  "limit, one query in dns-slip gets a TC=1 reply no larger than the query, the "
	  "others are dropped." },
	{ "ratelimit", "dns-burst", CFG_UINT, G(ratelimit.dns_burst), "200", 1, 1000000, .reload = CFG_LIVE, .doc =
	  "Queries a client prefix may send at once before dns-qps applies." },
	{ "ratelimit", "prefix-len", CFG_UINT, G(ratelimit.v6_prefix_len), "56", 16, 128, .reload = CFG_LIVE, .doc =
	  "IPv6 prefix length that counts as one client for rate limits." },
	{ "ratelimit", "ipv4-prefix-len", CFG_UINT, G(ratelimit.v4_prefix_len), "24", 8, 32,
	  .reload = CFG_LIVE, .doc = "IPv4 prefix length that counts as one client for rate limits." },
	{ "ratelimit", "enclosing-prefix-len", CFG_UINT, G(ratelimit.v6_enclosing_len), "48", 0, 128,
	  .reload = CFG_LIVE, .doc = "The prefix around the IPv6 client prefix that is limited as a "
	  "whole too (dns-enclosing-qps), so a flood spread over many /56s of one /48 is "
	  "limited; 0 = none." },
	{ "ratelimit", "ipv4-enclosing-prefix-len", CFG_UINT, G(ratelimit.v4_enclosing_len), "0", 0, 32,
	  .reload = CFG_LIVE, .doc = "The same for IPv4 (e.g. 16); 0 = none." },
	{ "ratelimit", "dns-enclosing-qps", CFG_UINT, G(ratelimit.dns_enclosing_qps), "400", 0, 1000000,
	  .reload = CFG_LIVE, .doc = "Queries per second per enclosing prefix, all its client "
	  "prefixes together (no valid cookie, UDP); 0 = no limit at this level." },
	{ "ratelimit", "dns-enclosing-burst", CFG_UINT, G(ratelimit.dns_enclosing_burst), "800", 1,
	  1000000, .reload = CFG_LIVE, .doc = "Queries an enclosing prefix may send at once." },
	{ "ratelimit", "dns-cookie-qps", CFG_UINT, G(ratelimit.dns_cookie_qps), "1000", 0, 1000000,
	  .reload = CFG_LIVE, .doc = "Queries per second per client prefix from clients that "
	  "cannot be spoofed: a valid DNS Cookie (UDP) or TCP; 0 = no limit. Over it, UDP "
	  "queries slip as above and TCP queries are answered REFUSED." },
	{ "ratelimit", "dns-cookie-burst", CFG_UINT, G(ratelimit.dns_cookie_burst), "2000", 1, 1000000,
	  .reload = CFG_LIVE, .doc = "Queries such a client prefix may send at once." },
	{ "ratelimit", "dns-slip", CFG_UINT, G(ratelimit.dns_slip), "2", 0, 10, .reload = CFG_LIVE, .doc =
	  "One in this many rate-limited UDP queries gets a minimal TC=1 reply (a real "
	  "client retries over TCP), the rest are dropped (as BIND's RRL slip); 0 = drop "
	  "all, 1 = TC to all." },
	{ "ratelimit", "dns-amplification", CFG_UINT, G(ratelimit.dns_amplification), "5", 0, 100,
	  .reload = CFG_LIVE, .doc = "UDP answers to clients without a valid DNS Cookie are at "
	  "most this many times the size of their query; a larger answer is sent as TC=1 "
	  "(header, question, OPT), and the client retries over TCP or with a cookie. "
	  "0 = no bound (only edns-size)." },
	{ "ratelimit", "dns-partner", CFG_STR_LIST, G(ratelimit.dns_partners), "", .flags = CFG_MULTI,
	  .reload = CFG_LIVE, .doc = "\"PREFIX QPS [BURST]\": an arranged partner's prefix with a "
	  "budget of its own for the whole prefix instead of the per-client limits (BURST "
	  "defaults to twice QPS; QPS 0 = not limited), e.g. 2001:db8:100::/40 5000; may "
	  "repeat, the longest match wins." },
	{ "ratelimit", "bandwidth", CFG_SIZE, G(ratelimit.bandwidth), "0", 0,
	  UINT64_C(1) << 40, .reload = CFG_LIVE, .doc = "Global cap on translated octets per "
	  "second, both directions together (10 Mbit/s = 1250000); one budget for all workers; "
	  "0 = off. Packets over it wait up to bandwidth-queue, then are dropped "
	  "(RATE_LIMITED)." },
	{ "ratelimit", "bandwidth-queue", CFG_DURATION, G(ratelimit.bandwidth_queue_ms), "50ms", 0,
	  SEC(1), .reload = CFG_LIVE, .doc = "How long a packet over the bandwidth cap may wait "
	  "(the worker holds it; the TUN queues the rest) before packets are dropped. A short "
	  "queue lets one TCP flow use the whole cap; 0 drops at once (a policer)." },
	{ "ratelimit", "client-bandwidth", CFG_SIZE, G(ratelimit.client_bandwidth), "0", 0,
	  UINT64_C(1) << 40, .reload = CFG_LIVE, .doc = "Octets per second each client (an IPv6 "
	  "prefix of prefix-len) may have translated, both directions together; packets over "
	  "it wait up to bandwidth-queue, then are dropped (CLIENT_RATE_LIMITED), and never "
	  "delay other clients; 0 = off." },
	{ "ratelimit", "bandwidth-partner", CFG_STR_LIST, G(ratelimit.bandwidth_partners), "",
	  .flags = CFG_MULTI, .reload = CFG_LIVE, .doc = "\"PREFIX RATE\": an arranged "
	  "partner's IPv6 prefix with a bandwidth budget of its own, in octets per second, for "
	  "the whole prefix instead of client-bandwidth per client (RATE 0 = not limited), e.g. "
	  "2001:db8:100::/40 10M; may repeat, the longest match wins." },
	{ "ratelimit", "monthly-quota", CFG_SIZE, G(ratelimit.monthly_quota), "0", 0,
	  UINT64_C(1) << 60, .reload = CFG_LIVE, .doc = "The hosting plan's traffic per calendar "
	  "month (20T = 20 TiB), held against the octets translated: sixfourctl usage and the "
	  "metrics show use and projection; warnings are logged at 80, 90 and 100 % with the "
	  "prefixes that used most; 0 = none." },

	/* [cluster] (doc/cluster.md) */
	{ "cluster", "enable", CFG_BOOL, G(cluster.enable), "no", .doc =
	  "This node is one of several that share the translate prefixes and pool4; "
	  "keepalived decides which one is active (sixfourctl cluster follow and "
	  "cluster check in its configuration). Until keepalived says so, the node is "
	  "standby: it translates nothing and sends no handoff datagram." },
	{ "cluster", "node", CFG_UINT, G(cluster.node), "1", 1, 16, .doc =
	  "This node's number, 1 to nodes: new mappings take their ports from share "
	  "`node` of every pool4 address's range, so a node never hands out a port of a "
	  "connection another node made (recovered connections keep theirs)." },
	{ "cluster", "nodes", CFG_UINT, G(cluster.nodes), "1", 1, 16, .doc =
	  "How many nodes share the pool4 ports (the same on every node)." },
	{ "cluster", "shared-directory", CFG_STR, G(cluster.shared_dir), "", .flags = CFG_PATH,
	  .doc = "A directory every node reads and the active one writes (shared storage, "
	  "writable by [general] user): the handoff sessions with IPv4 servers "
	  "(handoff-state, no client, no connection). A node that becomes active resumes "
	  "them, so a miss from either side is looked up at once. Empty: the new active node "
	  "starts sessions only with the servers its clients send to." },
	{ "cluster", "virtual-address", CFG_CIDR, G(cluster.virtual_address), "", .flags = CFG_V6,
	  .doc = "The virtual IPv6 address (VRRP) that clients route the prefixes through. "
	  "A standby node routes the translate prefixes through it too, so its own probes "
	  "and lookups go through the active node. Empty: the standby keeps its routes." },
	{ "cluster", "virtual-router", CFG_CIDR, G(cluster.virtual_router), "", .flags = CFG_V6,
	  .doc = "The virtual link-local address (VRRP) the active node sends its Router "
	  "Advertisements from, so hosts keep one default router (and one source of PREF64 "
	  "and RDNSS) across a failover; a standby sends none. Empty: the node's own "
	  "link-local." },
	{ "cluster", "takeover-time", CFG_DURATION, G(cluster.takeover_ms), "5s", 0, SEC(60),
	  .reload = CFG_LIVE, .doc =
	  "How long a takeover may take (keepalived's master down interval, 3 x advert_int "
	  "+ skew, plus the time to notice a dead node). A standby probes its translate "
	  "prefixes through the active node; when they fail it keeps them up this long, so "
	  "DNS64 answers and PREF64 do not flap while another node takes over." },
	{ "cluster", "heartbeat-timeout", CFG_DURATION, G(cluster.heartbeat_ms), "3s", 500,
	  SEC(60), .reload = CFG_LIVE, .doc =
	  "The node goes standby when keepalived's follower (sixfourctl cluster follow) "
	  "has been silent this long: keepalived died." },
};
const size_t cfg_noptions = sizeof(cfg_options) / sizeof(cfg_options[0]);
