/* The NAT64 handoff wire codec, shared by the translator (nat64/) and the
 * server component (sixfour-handoffd). Profile: spec/handoff.md.
 *
 * A datagram is a sequence of messages picked by the high nibble of their
 * first octet (section 4): 0x3X control messages with a 2*L octet payload,
 * 0x4/0x6 raw IP packets, anything else ends the datagram. Parse with the
 * iterator, build with the builder (which never exceeds 1472 octets). */
#ifndef SIXFOUR_HANDOFF_WIRE_H
#define SIXFOUR_HANDOFF_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define HANDOFF_PORT_DEFAULT	64646
#define HANDOFF_MAX_DGRAM	1472	/* 1500 - 20 - 8, section 4.2 rule 4 */
#define HANDOFF_VERSION		1
#define HANDOFF_NONCE_LEN	8
#define HANDOFF_COOKIE_LEN	8
#define HANDOFF_ER_LEN		24
#define HANDOFF_TEXT_MAX	510
#define HANDOFF_SECRET_LEN	32

/* Message octets of the 0x3X registry (section 5). */
enum handoff_type {
	HANDOFF_RESERVED	= 0x30,
	HANDOFF_TEXT		= 0x31,
	HANDOFF_HELLO		= 0x32,
	HANDOFF_HELLO_ACK	= 0x33,
	HANDOFF_SESSION		= 0x34,
	HANDOFF_ENTRY_CREATED	= 0x35,
	HANDOFF_ENTRY_DELETED	= 0x36,
	HANDOFF_ENTRY_ACK	= 0x37,
	HANDOFF_LOOKUP		= 0x38,
	HANDOFF_LOOKUP_REPLY	= 0x39,
	HANDOFF_MODE		= 0x3A,
	HANDOFF_BLOCK		= 0x3B,
	/* doc/handoff-profile.md (P-1, P-3): the IPv6-side lookup and hint
	 * batches. */
	HANDOFF_LOOKUP_CLIENT	= 0x3C,
	HANDOFF_HINT_REQUEST	= 0x3D,
	HANDOFF_HINTS		= 0x3E,
	/* Not 0x3X: the message is a raw IP packet. */
	HANDOFF_IPV4		= 0x40,
	HANDOFF_IPV6		= 0x60,
};

/* HELLO capability bits (section 5.1). */
#define HANDOFF_CAP_LOOKUP	0x01
#define HANDOFF_CAP_TUNNEL	0x02
#define HANDOFF_CAP_OTHERPROTO	0x04
#define HANDOFF_CAP_BLOCK	0x08

#define HANDOFF_ER_CLOSED	0x01	/* ENTRY-DELETED flag */
#define HANDOFF_LOOKUP_FOUND	0
#define HANDOFF_LOOKUP_NOT_FOUND 1
#define HANDOFF_BLOCK_FOREVER	0xFFFFFFFFu
#define HANDOFF_HINTS_MAX	32	/* ports in one HINTS message we send or read */

/* Why the parser skipped or stopped: counted by the receivers. */
#define HANDOFF_WIRE_EVENTS(X) \
	X(TRUNCATED_HEADER, "0x3X message header cut off") \
	X(TRUNCATED_PAYLOAD, "0x3X payload runs past the datagram") \
	X(BAD_IPV4, "0x4 message with a bad IPv4 header or length") \
	X(BAD_IPV6, "0x6 message with a bad IPv6 header or length") \
	X(UNKNOWN_NIBBLE, "reserved first nibble, rest ignored") \
	X(UNKNOWN_SUBTYPE, "unknown or reserved 0x3X subtype skipped") \
	X(SHORT_PAYLOAD, "payload shorter than the layout, message dropped")

enum handoff_wire_event {
#define X(name, text) HANDOFF_WIRE_##name,
	HANDOFF_WIRE_EVENTS(X)
#undef X
	HANDOFF_WIRE__COUNT
};
const char *handoff_wire_event_name(enum handoff_wire_event ev);

/* The 24-octet entry record (section 5.1). The NAT64 IPv4 address is the
 * datagram's source and is not part of it. */
struct handoff_er {
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP */
	uint8_t flags;
	uint16_t nat_port;	/* NAT64-side (IPv4) port or ICMP identifier */
	uint16_t server_port;	/* informative only */
	uint16_t client_port;	/* IPv6-side port or identifier */
	struct in6_addr client;
};

/* One parsed message. `raw`/`raw_len` span the whole message (for 0x4/0x6:
 * the IP packet itself), which is what a LOOKUP-REPLY must echo. */
struct handoff_msg {
	uint8_t type;		/* enum handoff_type */
	const uint8_t *raw;
	size_t raw_len;
	union {
		struct { const uint8_t *p; size_t len; } text;	/* 0xFF padding stripped */
		struct {
			uint8_t version, caps;
			uint8_t nonce[HANDOFF_NONCE_LEN];
			/* the NAT64's port range on its address, from the
			 * padding (profile P-2); 0, 0 = not said */
			uint16_t range_lo, range_hi;
		} hello;
		struct {
			uint8_t version, caps;
			uint8_t nonce[HANDOFF_NONCE_LEN];
			uint8_t cookie[HANDOFF_COOKIE_LEN];
		} hello_ack;
		struct {
			uint8_t nonce[HANDOFF_NONCE_LEN];
			uint8_t cookie[HANDOFF_COOKIE_LEN];
		} session;
		struct handoff_er entry;	/* ENTRY-CREATED / ENTRY-DELETED */
		struct { uint8_t proto; uint16_t nat_port, hint; } entry_ack;
		struct { uint8_t proto; uint16_t nat_port; uint32_t id; } lookup;
		struct {
			uint8_t proto;
			uint16_t server_port, client_port;
			uint32_t id;
			struct in6_addr client;
		} lookup_client;
		struct { uint8_t proto, count; } hint_request;
		struct {
			uint8_t proto;
			uint8_t n;	/* ports read, at most HANDOFF_HINTS_MAX */
			uint16_t port[HANDOFF_HINTS_MAX];
		} hints;
		struct { uint8_t status; uint32_t id; struct handoff_er er; } lookup_reply;
		struct { uint8_t mode; } mode;
		struct { uint8_t flags; uint32_t duration; } block;
	} u;
};

/* Iterates over the messages of one datagram. Unknown subtypes and short
 * payloads are skipped (and counted in `events`), so next() only returns
 * messages whose fields are all valid. */
struct handoff_iter {
	const uint8_t *p;
	size_t len, off;
	bool done;
	bool malformed;		/* a length check failed; the rest was dropped */
	uint32_t events[HANDOFF_WIRE__COUNT];
};

void handoff_iter_init(struct handoff_iter *it, const uint8_t *p, size_t len);
/* 1 with `msg` filled, 0 at the end of the datagram (or at a reserved
 * nibble), -EBADMSG when a length check failed (section 4.2: the rest of the
 * datagram is dropped and the receiver must not answer it at all). */
int handoff_iter_next(struct handoff_iter *it, struct handoff_msg *msg);
/* Runs a whole datagram through the framing rules without acting on it:
 * 0, or -EBADMSG for a datagram that must not be answered. */
int handoff_validate(const uint8_t *p, size_t len);

/* Builds one datagram into a caller buffer, capped at HANDOFF_MAX_DGRAM.
 * Every put returns 0, -ENOSPC when the message does not fit (the datagram
 * is unchanged) or -EINVAL for arguments the profile forbids. */
struct handoff_builder {
	uint8_t *buf;
	size_t cap, len;
};

void handoff_builder_init(struct handoff_builder *b, uint8_t *buf, size_t size);
static inline size_t handoff_builder_room(const struct handoff_builder *b)
{
	return b->cap - b->len;
}
/* UTF-8 without NUL or 0xFF octets, at most 510 octets; odd lengths get one
 * 0xFF pad. */
int handoff_put_text(struct handoff_builder *b, const char *text, size_t n);
/* `pad_to_ack`: extend the payload so the message is as long as a HELLO-ACK
 * (22 octets), which lets a lone HELLO be answered (section 7.1). The
 * padding carries the port range [range_lo, range_hi] of the NAT64 address
 * (profile P-2; 0, 0 = not said); a range forces the long form. */
int handoff_put_hello(struct handoff_builder *b, uint8_t caps,
		      const uint8_t nonce[HANDOFF_NONCE_LEN], uint16_t range_lo,
		      uint16_t range_hi, bool pad_to_ack);
int handoff_put_hello_ack(struct handoff_builder *b, uint8_t version, uint8_t caps,
			  const uint8_t nonce[HANDOFF_NONCE_LEN],
			  const uint8_t cookie[HANDOFF_COOKIE_LEN]);
int handoff_put_session(struct handoff_builder *b, const uint8_t nonce[HANDOFF_NONCE_LEN],
			const uint8_t cookie[HANDOFF_COOKIE_LEN]);
/* `type` is HANDOFF_ENTRY_CREATED or HANDOFF_ENTRY_DELETED. */
int handoff_put_entry(struct handoff_builder *b, uint8_t type, const struct handoff_er *er);
int handoff_put_entry_ack(struct handoff_builder *b, uint8_t proto, uint16_t nat_port,
			  uint16_t hint);
int handoff_put_lookup(struct handoff_builder *b, uint8_t proto, uint16_t nat_port,
		       uint32_t id);
/* Profile P-1: a lookup by the IPv6 side (proto, client, client port; the
 * server port is informative). */
int handoff_put_lookup_client(struct handoff_builder *b, uint8_t proto, uint16_t server_port,
			      const struct in6_addr *client, uint16_t client_port, uint32_t id);
/* Profile P-3: asks for `count` (1..HANDOFF_HINTS_MAX) next-port hints. */
int handoff_put_hint_request(struct handoff_builder *b, uint8_t proto, uint8_t count);
/* Profile P-3: `n` (1..HANDOFF_HINTS_MAX) distinct hints for `proto`. */
int handoff_put_hints(struct handoff_builder *b, uint8_t proto, const uint16_t *ports, size_t n);
/* `er` NULL means not found. */
int handoff_put_lookup_reply(struct handoff_builder *b, uint32_t id, const struct handoff_er *er);
int handoff_put_mode(struct handoff_builder *b, uint8_t mode);
int handoff_put_block(struct handoff_builder *b, uint8_t flags, uint32_t duration);
/* A raw IPv4 or IPv6 packet; its header must frame exactly `len` octets. */
int handoff_put_packet(struct handoff_builder *b, const uint8_t *pkt, size_t len);

/* Length of the IP packet at `p` by the 0x4/0x6 rules, or 0 if invalid. */
size_t handoff_ip_len(const uint8_t *p, size_t len);

/* Server cookie: the first 8 octets of
 * HMAC-SHA256(secret, NAT64 IPv4 || server IPv4 || nonce) (section 5.1).
 * Addresses in network byte order. 0 or -EIO. */
int handoff_cookie(const uint8_t *secret, size_t secret_len, struct in_addr nat64,
		   struct in_addr server, const uint8_t nonce[HANDOFF_NONCE_LEN],
		   uint8_t cookie[HANDOFF_COOKIE_LEN]);
/* Constant-time comparison of two cookies. */
bool handoff_cookie_equal(const uint8_t a[HANDOFF_COOKIE_LEN], const uint8_t b[HANDOFF_COOKIE_LEN]);
/* Fills `out` from getrandom(2); 0 or -errno. */
int handoff_random(uint8_t *out, size_t len);

#endif
