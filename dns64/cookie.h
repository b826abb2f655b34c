/* DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018:
 * version 1, three reserved octets, a 32-bit timestamp and SipHash-2-4
 * over (client cookie | version | reserved | timestamp | client address),
 * keyed with a 128-bit secret that every server of an anycast set shares. */
#ifndef SIXFOUR_DNS64_COOKIE_H
#define SIXFOUR_DNS64_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_OPT_COOKIE 10		/* EDNS option code (RFC 7873 4) */
#define DNS_COOKIE_CLIENT_LEN 8
#define DNS_COOKIE_SERVER_LEN 16	/* what we make (RFC 9018 4) */
#define DNS_COOKIE_MAX_LEN 40		/* client 8 + server 8..32 */
#define DNS_COOKIE_SECRET_LEN 16
#define DNS_COOKIE_MAX_SECRETS 4

/* SipHash-2-4 of `len` octets under a 128-bit key. */
uint64_t dns64_siphash24(const uint8_t key[16], const void *data, size_t len);

enum dns64_cookie_verdict {
	DNS64_COOKIE_NONE,		/* no COOKIE option */
	DNS64_COOKIE_CLIENT_ONLY,	/* a client cookie alone (first contact) */
	DNS64_COOKIE_VALID,		/* a server cookie of ours, for this client */
	DNS64_COOKIE_INVALID,		/* a server cookie, not ours or too old */
};

/* The secrets: the first makes server cookies, every one verifies them
 * (RFC 9018 5: a rollover keeps the old one for a while). */
struct dns64_cookie_secrets {
	uint8_t key[DNS_COOKIE_MAX_SECRETS][DNS_COOKIE_SECRET_LEN];
	size_t n;
};

/* Judges the COOKIE option data `cookie` (`len` 8 or 16..40, as the query
 * parser admits) from `client` at `now` (seconds, wall clock: RFC 9018 4.3
 * accepts timestamps from an hour ago to five minutes ahead). With a valid
 * cookie, `*renew` says whether it is older than half an hour (4.3: then
 * the reply carries a fresh one; a younger one may be echoed as it is). */
enum dns64_cookie_verdict dns64_cookie_check(const struct dns64_cookie_secrets *s,
					     const uint8_t *cookie, size_t len,
					     const struct sockaddr *client, uint32_t now,
					     bool *renew);
/* The COOKIE option data of a reply: the client cookie and a server
 * cookie made now with `key` (24 octets). */
void dns64_cookie_make(const uint8_t key[DNS_COOKIE_SECRET_LEN],
		       const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN],
		       const struct sockaddr *client, uint32_t now,
		       uint8_t out[DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_LEN]);
/* Parses "32 hex digits" into a secret: 0 or -EINVAL. */
int dns64_cookie_secret_parse(const char *hex, uint8_t out[DNS_COOKIE_SECRET_LEN]);

#endif
