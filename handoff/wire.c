/* NAT64 handoff wire codec: framing by first nibble (spec section 4.2), the
 * 0x3X registry and payload layouts (section 5), the server cookie. */
#include "autoconf.h"
#include "handoff/wire.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/util.h"

#define MSG_HDR 2	/* 0x3X octet + L */

static const char *const event_names[] = {
#define X(name, text) [HANDOFF_WIRE_##name] = text,
	HANDOFF_WIRE_EVENTS(X)
#undef X
};

const char *handoff_wire_event_name(enum handoff_wire_event ev)
{
	return (unsigned)ev < HANDOFF_WIRE__COUNT ? event_names[ev] : "?";
}

size_t handoff_ip_len(const uint8_t *p, size_t len)
{
	if (len < 1)
		return 0;
	switch (p[0] >> 4) {
	case 4: {
		if (len < 20)
			return 0;
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		size_t tl = get_be16(p + 2);
		if (ihl < 20 || tl < ihl || tl > len)
			return 0;
		return tl;
	}
	case 6: {
		if (len < 40)
			return 0;
		size_t tl = 40 + (size_t)get_be16(p + 4);
		return tl <= len ? tl : 0;
	}
	default:
		return 0;
	}
}

static void parse_er(const uint8_t *q, struct handoff_er *er)
{
	er->proto = q[0];
	er->flags = q[1];
	er->nat_port = get_be16(q + 2);
	er->server_port = get_be16(q + 4);
	er->client_port = get_be16(q + 6);
	memcpy(&er->client, q + 8, 16);
}

static void write_er(uint8_t *q, const struct handoff_er *er)
{
	q[0] = er->proto;
	q[1] = er->flags;
	put_be16(q + 2, er->nat_port);
	put_be16(q + 4, er->server_port);
	put_be16(q + 6, er->client_port);
	memcpy(q + 8, &er->client, 16);
}

/* Minimum payload of each known subtype; 0 = unknown or reserved. */
static size_t min_payload(uint8_t type)
{
	switch (type) {
	case HANDOFF_TEXT:		return 0;
	case HANDOFF_HELLO:		return 12;
	case HANDOFF_HELLO_ACK:		return 20;
	case HANDOFF_SESSION:		return 16;
	case HANDOFF_ENTRY_CREATED:
	case HANDOFF_ENTRY_DELETED:	return HANDOFF_ER_LEN;
	case HANDOFF_ENTRY_ACK:		return 8;
	case HANDOFF_LOOKUP:		return 8;
	case HANDOFF_LOOKUP_REPLY:	return 6;
	case HANDOFF_MODE:		return 2;
	case HANDOFF_BLOCK:		return 6;
	case HANDOFF_LOOKUP_CLIENT:	return 28;
	case HANDOFF_HINT_REQUEST:	return 2;
	case HANDOFF_HINTS:		return 4;	/* at least one port */
	default:			return SIZE_MAX;
	}
}

/* Decodes the payload of a known 0x3X message; false = drop the message. */
static bool decode_control(struct handoff_iter *it, struct handoff_msg *m,
			   const uint8_t *q, size_t plen)
{
	size_t need = min_payload(m->type);
	if (need == SIZE_MAX) {
		it->events[HANDOFF_WIRE_UNKNOWN_SUBTYPE]++;
		return false;
	}
	if (plen < need) {
		it->events[HANDOFF_WIRE_SHORT_PAYLOAD]++;
		return false;
	}
	switch (m->type) {
	case HANDOFF_TEXT:
		/* Receivers strip trailing 0xFF; the text stays opaque (S-13). */
		while (plen > 0 && q[plen - 1] == 0xFF)
			plen--;
		m->u.text.p = q;
		m->u.text.len = plen;
		break;
	case HANDOFF_HELLO:
		m->u.hello.version = q[0];
		m->u.hello.caps = q[1];
		memcpy(m->u.hello.nonce, q + 4, HANDOFF_NONCE_LEN);
		if (plen >= 16) {
			m->u.hello.range_lo = get_be16(q + 12);
			m->u.hello.range_hi = get_be16(q + 14);
		}
		break;
	case HANDOFF_HELLO_ACK:
		m->u.hello_ack.version = q[0];
		m->u.hello_ack.caps = q[1];
		memcpy(m->u.hello_ack.nonce, q + 4, HANDOFF_NONCE_LEN);
		memcpy(m->u.hello_ack.cookie, q + 12, HANDOFF_COOKIE_LEN);
		break;
	case HANDOFF_SESSION:
		memcpy(m->u.session.nonce, q, HANDOFF_NONCE_LEN);
		memcpy(m->u.session.cookie, q + 8, HANDOFF_COOKIE_LEN);
		break;
	case HANDOFF_ENTRY_CREATED:
	case HANDOFF_ENTRY_DELETED:
		parse_er(q, &m->u.entry);
		break;
	case HANDOFF_ENTRY_ACK:
		m->u.entry_ack.proto = q[0];
		m->u.entry_ack.nat_port = get_be16(q + 2);
		m->u.entry_ack.hint = get_be16(q + 4);
		break;
	case HANDOFF_LOOKUP:
		m->u.lookup.proto = q[0];
		m->u.lookup.nat_port = get_be16(q + 2);
		m->u.lookup.id = get_be32(q + 4);
		break;
	case HANDOFF_LOOKUP_REPLY:
		m->u.lookup_reply.status = q[0];
		m->u.lookup_reply.id = get_be32(q + 2);
		memset(&m->u.lookup_reply.er, 0, sizeof(m->u.lookup_reply.er));
		if (q[0] == HANDOFF_LOOKUP_FOUND) {
			if (plen < 6 + HANDOFF_ER_LEN) {
				it->events[HANDOFF_WIRE_SHORT_PAYLOAD]++;
				return false;
			}
			parse_er(q + 6, &m->u.lookup_reply.er);
		}
		break;
	case HANDOFF_LOOKUP_CLIENT:
		m->u.lookup_client.proto = q[0];
		m->u.lookup_client.server_port = get_be16(q + 2);
		m->u.lookup_client.client_port = get_be16(q + 4);
		m->u.lookup_client.id = get_be32(q + 8);
		memcpy(&m->u.lookup_client.client, q + 12, 16);
		break;
	case HANDOFF_HINT_REQUEST:
		m->u.hint_request.proto = q[0];
		m->u.hint_request.count = q[1];
		break;
	case HANDOFF_HINTS: {
		m->u.hints.proto = q[0];
		size_t n = MIN((plen - 2) / 2, (size_t)HANDOFF_HINTS_MAX);
		m->u.hints.n = (uint8_t)n;
		for (size_t i = 0; i < n; i++)
			m->u.hints.port[i] = get_be16(q + 2 + 2 * i);
		break;
	}
	case HANDOFF_MODE:
		m->u.mode.mode = q[0];
		break;
	case HANDOFF_BLOCK:
		m->u.block.flags = q[0];
		m->u.block.duration = get_be32(q + 2);
		break;
	}
	return true;
}

void handoff_iter_init(struct handoff_iter *it, const uint8_t *p, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->p = p;
	it->len = len;
}

static int stop_malformed(struct handoff_iter *it, enum handoff_wire_event ev)
{
	it->events[ev]++;
	it->done = true;
	it->malformed = true;
	return -EBADMSG;
}

int handoff_iter_next(struct handoff_iter *it, struct handoff_msg *m)
{
	while (!it->done && it->off < it->len) {
		const uint8_t *q = it->p + it->off;
		size_t left = it->len - it->off;
		memset(m, 0, sizeof(*m));
		m->type = q[0];
		m->raw = q;
		switch (q[0] >> 4) {
		case 3: {
			if (left < MSG_HDR)
				return stop_malformed(it, HANDOFF_WIRE_TRUNCATED_HEADER);
			size_t plen = 2 * (size_t)q[1];
			if (MSG_HDR + plen > left)
				return stop_malformed(it, HANDOFF_WIRE_TRUNCATED_PAYLOAD);
			m->raw_len = MSG_HDR + plen;
			it->off += m->raw_len;
			if (decode_control(it, m, q + MSG_HDR, plen))
				return 1;
			continue;	/* unknown subtype or short payload: skip it */
		}
		case 4:
		case 6: {
			size_t tl = handoff_ip_len(q, left);
			if (tl == 0)
				return stop_malformed(it, (q[0] >> 4) == 4 ? HANDOFF_WIRE_BAD_IPV4
								   : HANDOFF_WIRE_BAD_IPV6);
			m->type = (q[0] >> 4) == 4 ? HANDOFF_IPV4 : HANDOFF_IPV6;
			m->raw_len = tl;
			it->off += tl;
			return 1;
		}
		default:
			/* The length of a reserved class is unknowable: stop, no error. */
			it->events[HANDOFF_WIRE_UNKNOWN_NIBBLE]++;
			it->done = true;
			return 0;
		}
	}
	it->done = true;
	return 0;
}

int handoff_validate(const uint8_t *p, size_t len)
{
	struct handoff_iter it;
	struct handoff_msg m;
	int rc;
	handoff_iter_init(&it, p, len);
	while ((rc = handoff_iter_next(&it, &m)) > 0)
		;
	return rc;
}

/* ---- builder ---- */

void handoff_builder_init(struct handoff_builder *b, uint8_t *buf, size_t size)
{
	b->buf = buf;
	b->cap = MIN(size, (size_t)HANDOFF_MAX_DGRAM);
	b->len = 0;
}

/* Reserves a zeroed 0x3X message with `plen` payload octets (even). */
static uint8_t *reserve(struct handoff_builder *b, uint8_t type, size_t plen)
{
	if (plen % 2 || plen > 2 * 255 || handoff_builder_room(b) < MSG_HDR + plen)
		return NULL;
	uint8_t *q = b->buf + b->len;
	q[0] = type;
	q[1] = (uint8_t)(plen / 2);
	memset(q + MSG_HDR, 0, plen);
	b->len += MSG_HDR + plen;
	return q + MSG_HDR;
}

int handoff_put_text(struct handoff_builder *b, const char *text, size_t n)
{
	if (n > HANDOFF_TEXT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (text[i] == '\0' || (uint8_t)text[i] == 0xFF)
			return -EINVAL;
	uint8_t *q = reserve(b, HANDOFF_TEXT, n + (n & 1));
	if (!q)
		return -ENOSPC;
	memcpy(q, text, n);
	if (n & 1)
		q[n] = 0xFF;
	return 0;
}

int handoff_put_hello(struct handoff_builder *b, uint8_t caps,
		      const uint8_t nonce[HANDOFF_NONCE_LEN], uint16_t range_lo,
		      uint16_t range_hi, bool pad_to_ack)
{
	bool range = range_lo || range_hi;
	if (range && range_lo > range_hi)
		return -EINVAL;
	uint8_t *q = reserve(b, HANDOFF_HELLO, pad_to_ack || range ? 20 : 12);
	if (!q)
		return -ENOSPC;
	q[0] = HANDOFF_VERSION;
	q[1] = caps;
	memcpy(q + 4, nonce, HANDOFF_NONCE_LEN);
	if (pad_to_ack || range) {	/* the padding exists: it holds the range */
		put_be16(q + 12, range_lo);
		put_be16(q + 14, range_hi);
	}
	return 0;
}

int handoff_put_hello_ack(struct handoff_builder *b, uint8_t version, uint8_t caps,
			  const uint8_t nonce[HANDOFF_NONCE_LEN],
			  const uint8_t cookie[HANDOFF_COOKIE_LEN])
{
	uint8_t *q = reserve(b, HANDOFF_HELLO_ACK, 20);
	if (!q)
		return -ENOSPC;
	q[0] = version;
	q[1] = caps;
	memcpy(q + 4, nonce, HANDOFF_NONCE_LEN);
	memcpy(q + 12, cookie, HANDOFF_COOKIE_LEN);
	return 0;
}

int handoff_put_session(struct handoff_builder *b, const uint8_t nonce[HANDOFF_NONCE_LEN],
			const uint8_t cookie[HANDOFF_COOKIE_LEN])
{
	uint8_t *q = reserve(b, HANDOFF_SESSION, 16);
	if (!q)
		return -ENOSPC;
	memcpy(q, nonce, HANDOFF_NONCE_LEN);
	memcpy(q + 8, cookie, HANDOFF_COOKIE_LEN);
	return 0;
}

int handoff_put_entry(struct handoff_builder *b, uint8_t type, const struct handoff_er *er)
{
	if (type != HANDOFF_ENTRY_CREATED && type != HANDOFF_ENTRY_DELETED)
		return -EINVAL;
	uint8_t *q = reserve(b, type, HANDOFF_ER_LEN);
	if (!q)
		return -ENOSPC;
	write_er(q, er);
	if (type == HANDOFF_ENTRY_CREATED)
		q[1] = 0;	/* flags are defined for ENTRY-DELETED only */
	return 0;
}

/* A message about one flow: it starts with the protocol, a reserved
 * octet and a port (ENTRY-ACK, LOOKUP, LOOKUP-CLIENT). */
static uint8_t *reserve_flow(struct handoff_builder *b, uint8_t type, size_t plen, uint8_t proto,
			     uint16_t port)
{
	uint8_t *q = reserve(b, type, plen);
	if (q) {
		q[0] = proto;
		put_be16(q + 2, port);
	}
	return q;
}

int handoff_put_entry_ack(struct handoff_builder *b, uint8_t proto, uint16_t nat_port,
			  uint16_t hint)
{
	uint8_t *q = reserve_flow(b, HANDOFF_ENTRY_ACK, 8, proto, nat_port);
	if (!q)
		return -ENOSPC;
	put_be16(q + 4, hint);
	return 0;
}

int handoff_put_lookup(struct handoff_builder *b, uint8_t proto, uint16_t nat_port, uint32_t id)
{
	uint8_t *q = reserve_flow(b, HANDOFF_LOOKUP, 8, proto, nat_port);
	if (!q)
		return -ENOSPC;
	put_be32(q + 4, id);
	return 0;
}

int handoff_put_lookup_client(struct handoff_builder *b, uint8_t proto, uint16_t server_port,
			      const struct in6_addr *client, uint16_t client_port, uint32_t id)
{
	uint8_t *q = reserve_flow(b, HANDOFF_LOOKUP_CLIENT, 28, proto, server_port);
	if (!q)
		return -ENOSPC;
	put_be16(q + 4, client_port);
	put_be32(q + 8, id);
	memcpy(q + 12, client, 16);
	return 0;
}

int handoff_put_hint_request(struct handoff_builder *b, uint8_t proto, uint8_t count)
{
	if (count == 0 || count > HANDOFF_HINTS_MAX)
		return -EINVAL;
	uint8_t *q = reserve(b, HANDOFF_HINT_REQUEST, 2);
	if (!q)
		return -ENOSPC;
	q[0] = proto;
	q[1] = count;
	return 0;
}

int handoff_put_hints(struct handoff_builder *b, uint8_t proto, const uint16_t *ports, size_t n)
{
	if (n == 0 || n > HANDOFF_HINTS_MAX)
		return -EINVAL;
	uint8_t *q = reserve(b, HANDOFF_HINTS, 2 + 2 * n);
	if (!q)
		return -ENOSPC;
	q[0] = proto;
	for (size_t i = 0; i < n; i++)
		put_be16(q + 2 + 2 * i, ports[i]);
	return 0;
}

int handoff_put_lookup_reply(struct handoff_builder *b, uint32_t id, const struct handoff_er *er)
{
	uint8_t *q = reserve(b, HANDOFF_LOOKUP_REPLY, er ? 6 + HANDOFF_ER_LEN : 6);
	if (!q)
		return -ENOSPC;
	q[0] = er ? HANDOFF_LOOKUP_FOUND : HANDOFF_LOOKUP_NOT_FOUND;
	put_be32(q + 2, id);
	if (er) {
		write_er(q + 6, er);
		q[7] = 0;	/* flags are not part of a reply */
	}
	return 0;
}

int handoff_put_mode(struct handoff_builder *b, uint8_t mode)
{
	if (mode > 2)
		return -EINVAL;
	uint8_t *q = reserve(b, HANDOFF_MODE, 2);
	if (!q)
		return -ENOSPC;
	q[0] = mode;
	return 0;
}

int handoff_put_block(struct handoff_builder *b, uint8_t flags, uint32_t duration)
{
	uint8_t *q = reserve(b, HANDOFF_BLOCK, 6);
	if (!q)
		return -ENOSPC;
	q[0] = flags;
	put_be32(q + 2, duration);
	return 0;
}

int handoff_put_packet(struct handoff_builder *b, const uint8_t *pkt, size_t len)
{
	if (len == 0 || handoff_ip_len(pkt, len) != len)
		return -EINVAL;
	if (handoff_builder_room(b) < len)
		return -ENOSPC;
	memcpy(b->buf + b->len, pkt, len);
	b->len += len;
	return 0;
}

/* ---- cookie and randomness ---- */

int handoff_cookie(const uint8_t *secret, size_t secret_len, struct in_addr nat64,
		   struct in_addr server, const uint8_t nonce[HANDOFF_NONCE_LEN],
		   uint8_t cookie[HANDOFF_COOKIE_LEN])
{
	uint8_t msg[4 + 4 + HANDOFF_NONCE_LEN];
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	memcpy(msg, &nat64.s_addr, 4);
	memcpy(msg + 4, &server.s_addr, 4);
	memcpy(msg + 8, nonce, HANDOFF_NONCE_LEN);
	if (!HMAC(EVP_sha256(), secret, (int)secret_len, msg, sizeof(msg), mac, &mac_len) ||
	    mac_len < HANDOFF_COOKIE_LEN)
		return -EIO;
	memcpy(cookie, mac, HANDOFF_COOKIE_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

bool handoff_cookie_equal(const uint8_t a[HANDOFF_COOKIE_LEN], const uint8_t b[HANDOFF_COOKIE_LEN])
{
	return CRYPTO_memcmp(a, b, HANDOFF_COOKIE_LEN) == 0;
}

int handoff_random(uint8_t *out, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(out, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		out += n;
		len -= (size_t)n;
	}
	return 0;
}
