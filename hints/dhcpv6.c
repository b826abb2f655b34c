/* Stateless DHCPv6 server logic (RFC 8415): parse, validate, answer.
 *
 * Scope: Information-Request gets a Reply with DNS servers (option 23) and
 * the domain search list (24) of RFC 3646, and the information refresh time
 * (32, RFC 8415 21.23). Solicit gets an Advertise with status NoAddrsAvail and no IA
 * (RFC 8415 18.3.9: a server that will not assign addresses says so), so an
 * operator watching a client sees why it got no address instead of silence;
 * RFC 8415 18.2.9 makes clients ignore such an Advertise, so it costs them
 * nothing. Request, Renew, Rebind, Confirm, Release and Decline refer to
 * bindings we never create and are dropped (counted as unsupported). */
#include "autoconf.h"
#include "hints/dhcpv6.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

static const char *const verdict_names[] = { "ok", DHCP6_DROPS(VERDICT_TEXT) };
_Static_assert(ARRAY_SIZE(verdict_names) == DHCP6_NVERDICTS, "a name per verdict");

const char *dhcp6_verdict_name(enum dhcp6_verdict v)
{
	return NAME_OF(verdict_names, v);
}

/* Scans the ORO body (a list of 16-bit option codes). */
static void read_oro(struct dhcp6_request *r, const uint8_t *b, size_t len)
{
	r->has_oro = true;
	for (size_t i = 0; i + 1 < len; i += 2) {
		switch (get_be16(b + i)) {
		case DHCP6_OPT_DNS_SERVERS: r->wants_dns = true; break;
		case DHCP6_OPT_DOMAIN_LIST: r->wants_domains = true; break;
		case DHCP6_OPT_INFO_REFRESH_TIME: r->wants_refresh = true; break;
		default: break;
		}
	}
}

enum dhcp6_verdict dhcp6_parse(const uint8_t *p, size_t len, struct dhcp6_request *out)
{
	memset(out, 0, sizeof(*out));
	if (len < DHCP6_HEADER_LEN)
		return DHCP6_DROP_SHORT;
	out->type = p[0];
	memcpy(out->xid, p + 1, 3);
	if (out->type == DHCP6_RELAY_FORW || out->type == DHCP6_RELAY_REPL)
		return DHCP6_DROP_RELAYED;	/* different layout (RFC 8415 9) */
	bool seen_elapsed = false;
	size_t off = DHCP6_HEADER_LEN;
	while (off < len) {
		if (len - off < DHCP6_OPT_HEADER_LEN)
			return DHCP6_DROP_OPT_TRUNCATED;
		uint16_t code = get_be16(p + off);
		size_t olen = get_be16(p + off + 2);
		const uint8_t *body = p + off + DHCP6_OPT_HEADER_LEN;
		if (olen > len - off - DHCP6_OPT_HEADER_LEN)
			return DHCP6_DROP_OPT_OVERRUN;
		switch (code) {
		case DHCP6_OPT_CLIENTID:
		case DHCP6_OPT_SERVERID: {
			/* RFC 8415 11.1: a DUID is a 2-octet type plus up to
			 * 128 octets; there is no empty DUID. */
			if (olen < 3 || olen > DHCP6_DUID_MAX)
				return DHCP6_DROP_OPT_BAD_LEN;
			const uint8_t **slot = code == DHCP6_OPT_CLIENTID ? &out->client_id :
									  &out->server_id;
			if (*slot)
				return DHCP6_DROP_DUP_OPTION;
			*slot = body;
			if (code == DHCP6_OPT_CLIENTID)
				out->client_id_len = olen;
			else
				out->server_id_len = olen;
			break;
		}
		case DHCP6_OPT_ORO:
			if (olen % 2)
				return DHCP6_DROP_OPT_BAD_LEN;
			if (out->has_oro)
				return DHCP6_DROP_DUP_OPTION;
			read_oro(out, body, olen);
			break;
		case DHCP6_OPT_ELAPSED_TIME:
			if (olen != 2)
				return DHCP6_DROP_OPT_BAD_LEN;
			if (seen_elapsed)
				return DHCP6_DROP_DUP_OPTION;
			seen_elapsed = true;
			break;
		case DHCP6_OPT_RAPID_COMMIT:
			if (olen != 0)
				return DHCP6_DROP_OPT_BAD_LEN;
			break;
		case DHCP6_OPT_IA_NA:
		case DHCP6_OPT_IA_PD:
			if (olen < 12)		/* IAID, T1, T2 (RFC 8415 21.4, 21.21) */
				return DHCP6_DROP_OPT_BAD_LEN;
			out->has_ia = true;
			break;
		case DHCP6_OPT_IA_TA:
			if (olen < 4)		/* IAID (RFC 8415 21.5) */
				return DHCP6_DROP_OPT_BAD_LEN;
			out->has_ia = true;
			break;
		default:
			break;			/* unknown options are skipped */
		}
		off += DHCP6_OPT_HEADER_LEN + olen;
	}
	return DHCP6_OK;
}

enum dhcp6_verdict dhcp6_validate(const struct dhcp6_request *req, const uint8_t *duid,
				  size_t duid_len, bool dst_multicast)
{
	switch (req->type) {
	case DHCP6_ADVERTISE:
	case DHCP6_REPLY:
	case DHCP6_RECONFIGURE:
		/* RFC 8415 16: servers discard messages meant for clients. */
		return DHCP6_DROP_NOT_FOR_SERVER;
	case DHCP6_SOLICIT:
	case DHCP6_INFORMATION_REQUEST:
		break;
	default:
		return DHCP6_DROP_UNSUPPORTED;
	}
	/* RFC 8415 16: Solicit and Information-request sent to a unicast
	 * address are discarded (we never offer the Server Unicast option). */
	if (!dst_multicast)
		return DHCP6_DROP_UNICAST;
	if (req->type == DHCP6_SOLICIT) {
		/* RFC 8415 16.2 */
		if (!req->client_id)
			return DHCP6_DROP_NO_CLIENTID;
		if (req->server_id)
			return DHCP6_DROP_HAS_SERVERID;
		return DHCP6_OK;
	}
	/* RFC 8415 16.12 */
	if (req->server_id &&
	    (req->server_id_len != duid_len || memcmp(req->server_id, duid, duid_len) != 0))
		return DHCP6_DROP_WRONG_SERVERID;
	if (req->has_ia)
		return DHCP6_DROP_HAS_IA;
	return DHCP6_OK;
}

/* Appends one option; returns the new offset or -ENOSPC. */
static int put_opt(uint8_t *buf, size_t cap, size_t off, uint16_t code, const void *body,
		   size_t len)
{
	if (len > UINT16_MAX || cap < off || cap - off < DHCP6_OPT_HEADER_LEN + len)
		return -ENOSPC;
	put_be16(buf + off, code);
	put_be16(buf + off + 2, (uint16_t)len);
	if (len)
		memcpy(buf + off + DHCP6_OPT_HEADER_LEN, body, len);
	return (int)(off + DHCP6_OPT_HEADER_LEN + len);
}

#define PUT(code, body, len) do { \
	int r_ = put_opt(buf, cap, off, (code), (body), (len)); \
	if (r_ < 0) \
		return r_; \
	off = (size_t)r_; \
} while (0)

int dhcp6_build_answer(const struct dhcp6_request *req, const struct dhcp6_server_info *info,
		       uint8_t *buf, size_t cap)
{
	if (req->type != DHCP6_SOLICIT && req->type != DHCP6_INFORMATION_REQUEST)
		return -EINVAL;
	if (cap < DHCP6_HEADER_LEN)
		return -ENOSPC;
	size_t off = 0;
	buf[0] = req->type == DHCP6_SOLICIT ? DHCP6_ADVERTISE : DHCP6_REPLY;
	memcpy(buf + 1, req->xid, 3);	/* RFC 8415 16.1: echo the transaction id */
	off = DHCP6_HEADER_LEN;
	PUT(DHCP6_OPT_SERVERID, info->duid, info->duid_len);
	if (req->client_id)
		PUT(DHCP6_OPT_CLIENTID, req->client_id, req->client_id_len);

	if (req->type == DHCP6_SOLICIT) {
		/* RFC 8415 18.3.9 and 21.13: code, then a UTF-8 message. */
		static const char msg[] = "stateless service only: no addresses or prefixes";
		uint8_t status[2 + sizeof(msg) - 1];
		put_be16(status, DHCP6_STATUS_NOADDRSAVAIL);
		memcpy(status + 2, msg, sizeof(msg) - 1);
		PUT(DHCP6_OPT_STATUS_CODE, status, sizeof(status));
		return (int)off;
	}
	if (info->ndns) {
		if (info->ndns > UINT16_MAX / 16)
			return -EINVAL;
		if (cap < off || cap - off < DHCP6_OPT_HEADER_LEN + 16 * info->ndns)
			return -ENOSPC;
		put_be16(buf + off, DHCP6_OPT_DNS_SERVERS);
		put_be16(buf + off + 2, (uint16_t)(16 * info->ndns));
		for (size_t i = 0; i < info->ndns; i++)
			memcpy(buf + off + DHCP6_OPT_HEADER_LEN + 16 * i, info->dns[i].s6_addr, 16);
		off += DHCP6_OPT_HEADER_LEN + 16 * info->ndns;
	}
	if (info->domains_len)
		PUT(DHCP6_OPT_DOMAIN_LIST, info->domains, info->domains_len);
	uint8_t irt[4];
	put_be32(irt, info->refresh_s < DHCP6_IRT_MINIMUM ? DHCP6_IRT_MINIMUM : info->refresh_s);
	PUT(DHCP6_OPT_INFO_REFRESH_TIME, irt, sizeof(irt));
	return (int)off;
}

int dhcp6_duid_ll(uint8_t *buf, size_t cap, uint16_t hwtype, const uint8_t *lladdr, size_t len)
{
	enum { DUID_LL = 3 };
	if (len == 0 || len > DHCP6_DUID_MAX - 4)
		return -EINVAL;
	if (cap < 4 + len)
		return -ENOSPC;
	put_be16(buf, DUID_LL);
	put_be16(buf + 2, hwtype);
	memcpy(buf + 4, lladdr, len);
	return (int)(4 + len);
}

int dhcp6_duid_uuid(uint8_t *buf, size_t cap, const uint8_t uuid[16])
{
	enum { DUID_UUID = 4 };
	if (cap < 18)
		return -ENOSPC;
	put_be16(buf, DUID_UUID);
	memcpy(buf + 2, uuid, 16);
	return 18;
}
