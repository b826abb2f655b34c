/* Stateless DHCPv6 (RFC 8415): the message parser and validator, the
 * Reply/Advertise builder and the server DUID. Pure functions; the socket
 * lives in hints.c. */
#ifndef SIXFOUR_HINTS_DHCPV6_H
#define SIXFOUR_HINTS_DHCPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define DHCP6_CLIENT_PORT 546
#define DHCP6_SERVER_PORT 547
#define DHCP6_HEADER_LEN 4		/* msg-type + transaction-id */
#define DHCP6_OPT_HEADER_LEN 4
#define DHCP6_DUID_MAX 130		/* RFC 8415 11.1: 2 + up to 128 octets */
/* RFC 8415 21.23: IRT_DEFAULT 86400 s, IRT_MINIMUM 600 s. */
#define DHCP6_IRT_MINIMUM 600u

/* Message types (RFC 8415 7.3). */
enum dhcp6_msg_type {
	DHCP6_SOLICIT = 1,
	DHCP6_ADVERTISE = 2,
	DHCP6_REQUEST = 3,
	DHCP6_CONFIRM = 4,
	DHCP6_RENEW = 5,
	DHCP6_REBIND = 6,
	DHCP6_REPLY = 7,
	DHCP6_RELEASE = 8,
	DHCP6_DECLINE = 9,
	DHCP6_RECONFIGURE = 10,
	DHCP6_INFORMATION_REQUEST = 11,
	DHCP6_RELAY_FORW = 12,
	DHCP6_RELAY_REPL = 13,
};

/* Option codes (RFC 8415 21, RFC 3646). */
enum dhcp6_opt {
	DHCP6_OPT_CLIENTID = 1,
	DHCP6_OPT_SERVERID = 2,
	DHCP6_OPT_IA_NA = 3,
	DHCP6_OPT_IA_TA = 4,
	DHCP6_OPT_ORO = 6,
	DHCP6_OPT_ELAPSED_TIME = 8,
	DHCP6_OPT_STATUS_CODE = 13,
	DHCP6_OPT_RAPID_COMMIT = 14,
	DHCP6_OPT_DNS_SERVERS = 23,
	DHCP6_OPT_DOMAIN_LIST = 24,
	DHCP6_OPT_IA_PD = 25,
	DHCP6_OPT_INFO_REFRESH_TIME = 32,
};

enum dhcp6_status {
	DHCP6_STATUS_SUCCESS = 0,
	DHCP6_STATUS_NOADDRSAVAIL = 2,	/* RFC 8415 21.13 */
};

/* Why an inbound message was not answered. Each has a counter. */
#define DHCP6_DROPS(X) \
	X(SHORT, "short") \
	X(OPT_TRUNCATED, "option-header-truncated") \
	X(OPT_OVERRUN, "option-overruns-message") \
	X(OPT_BAD_LEN, "option-bad-length") \
	X(DUP_OPTION, "duplicate-option") \
	X(NOT_FOR_SERVER, "not-a-client-message") \
	X(UNSUPPORTED, "unsupported-message") \
	X(RELAYED, "relayed-message") \
	X(NO_CLIENTID, "missing-client-id") \
	X(HAS_SERVERID, "server-id-present") \
	X(WRONG_SERVERID, "server-id-not-ours") \
	X(HAS_IA, "ia-in-information-request") \
	X(UNICAST, "unicast-destination") \
	X(UNKNOWN_IFACE, "unknown-interface") \
	X(DISABLED, "dhcpv6-disabled") \
	X(NOT_LINK_LOCAL, "source-not-link-local") \
	X(OVERSIZED, "oversized-datagram") \
	X(TOO_BIG, "reply-too-big")

enum dhcp6_verdict {
	DHCP6_OK = 0,
#define DHCP6_ENUM(name, text) DHCP6_DROP_##name,
	DHCP6_DROPS(DHCP6_ENUM)
#undef DHCP6_ENUM
	DHCP6_NVERDICTS
};

const char *dhcp6_verdict_name(enum dhcp6_verdict v);

/* A parsed client message; pointers refer into the caller's buffer. */
struct dhcp6_request {
	uint8_t type;
	uint8_t xid[3];
	const uint8_t *client_id;	/* option body, NULL if absent */
	size_t client_id_len;
	const uint8_t *server_id;
	size_t server_id_len;
	bool has_ia;			/* IA_NA, IA_TA or IA_PD present */
	bool wants_dns, wants_domains, wants_refresh;	/* named in the ORO */
	bool has_oro;
};

/* Splits the message and checks its structure (RFC 8415 8, 21): every
 * option header and body inside the message, fixed-size options the right
 * size, singleton options not repeated. Does not apply per-type policy. */
enum dhcp6_verdict dhcp6_parse(const uint8_t *p, size_t len, struct dhcp6_request *out);

/* RFC 8415 16: whether this server answers the parsed message, given our
 * DUID and whether it reached us on a multicast address. */
enum dhcp6_verdict dhcp6_validate(const struct dhcp6_request *req, const uint8_t *duid,
				  size_t duid_len, bool dst_multicast);

/* What the server hands out. */
struct dhcp6_server_info {
	const uint8_t *duid;
	size_t duid_len;
	const struct in6_addr *dns;
	size_t ndns;
	const uint8_t *domains;		/* concatenated wire-format names */
	size_t domains_len;
	uint32_t refresh_s;		/* information refresh time */
};

/* Builds the answer to a validated request: Reply to Information-Request
 * (options 1, 2, 23, 24, 32), Advertise with status NoAddrsAvail to
 * Solicit. Returns the length, or -ENOSPC / -EINVAL. */
int dhcp6_build_answer(const struct dhcp6_request *req, const struct dhcp6_server_info *info,
		       uint8_t *buf, size_t cap);

/* DUID-LL (RFC 8415 11.4) from a link-layer address: type 3, hardware
 * type (1 = Ethernet), address. Returns the length. */
int dhcp6_duid_ll(uint8_t *buf, size_t cap, uint16_t hwtype, const uint8_t *lladdr, size_t len);
/* DUID-UUID (RFC 6355): type 4 and 16 octets. */
int dhcp6_duid_uuid(uint8_t *buf, size_t cap, const uint8_t uuid[16]);

#endif
