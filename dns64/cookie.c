/* DNS Cookies: SipHash-2-4 and the RFC 9018 server cookie. */
#include "autoconf.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "common/util.h"
#include "dns64/cookie.h"
#include "dns64/wire.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

uint64_t dns64_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	size_t whole = len & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint8_t last[8] = { 0 };
	memcpy(last, p + whole, len - whole);
	uint64_t b = (uint64_t)len << 56 | le64(last);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* RFC 9018 4.4: Hash = SipHash-2-4(secret, Client Cookie | Version |
 * Reserved | Timestamp | Client-IP), written as SipHash's output octets. */
static void server_hash(const uint8_t key[DNS_COOKIE_SECRET_LEN], const uint8_t *client_cookie,
			const uint8_t head[8], const struct sockaddr *client, uint8_t out[8])
{
	uint8_t msg[DNS_COOKIE_CLIENT_LEN + 8 + 16];
	size_t n = 0;
	memcpy(msg, client_cookie, DNS_COOKIE_CLIENT_LEN);
	n += DNS_COOKIE_CLIENT_LEN;
	memcpy(msg + n, head, 8);
	n += 8;
	if (client->sa_family == AF_INET6) {
		memcpy(msg + n, &((const struct sockaddr_in6 *)client)->sin6_addr, 16);
		n += 16;
	} else {
		memcpy(msg + n, &((const struct sockaddr_in *)client)->sin_addr, 4);
		n += 4;
	}
	uint64_t h = dns64_siphash24(key, msg, n);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h >> (8 * i));
}

/* Constant time, so timing does not tell how much of a guess was right. */
static bool same8(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	for (int i = 0; i < 8; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

enum dns64_cookie_verdict dns64_cookie_check(const struct dns64_cookie_secrets *s,
					     const uint8_t *cookie, size_t len,
					     const struct sockaddr *client, uint32_t now,
					     bool *renew)
{
	*renew = true;
	if (len == DNS_COOKIE_CLIENT_LEN)
		return DNS64_COOKIE_CLIENT_ONLY;
	/* Ours are 16 octets of version 1; anything else is some other
	 * server's (RFC 7873 5.2.3: treated as a client cookie alone). */
	const uint8_t *server = cookie + DNS_COOKIE_CLIENT_LEN;
	if (len != DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_LEN || server[0] != 1)
		return DNS64_COOKIE_INVALID;
	/* RFC 9018 4.3: serial-number arithmetic on the timestamp; an hour
	 * old at most, five minutes ahead at most. */
	int32_t age = (int32_t)(now - get_be32(server + 4));
	if (age > 3600 || age < -300)
		return DNS64_COOKIE_INVALID;
	for (size_t i = 0; i < s->n; i++) {
		uint8_t h[8];
		server_hash(s->key[i], cookie, server, client, h);
		if (same8(h, server + 8)) {
			/* Another secret's cookie is replaced by one of the
			 * current secret (RFC 9018 5). */
			*renew = i != 0 || age > 1800;
			return DNS64_COOKIE_VALID;
		}
	}
	return DNS64_COOKIE_INVALID;
}

void dns64_cookie_make(const uint8_t key[DNS_COOKIE_SECRET_LEN],
		       const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN],
		       const struct sockaddr *client, uint32_t now,
		       uint8_t out[DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_LEN])
{
	memcpy(out, client_cookie, DNS_COOKIE_CLIENT_LEN);
	uint8_t *server = out + DNS_COOKIE_CLIENT_LEN;
	server[0] = 1;			/* version */
	server[1] = server[2] = server[3] = 0;
	put_be32(server + 4, now);
	server_hash(key, client_cookie, server, client, server + 8);
}

int dns64_cookie_secret_parse(const char *hex, uint8_t out[DNS_COOKIE_SECRET_LEN])
{
	if (strlen(hex) != 2 * DNS_COOKIE_SECRET_LEN)
		return -EINVAL;
	for (size_t i = 0; i < DNS_COOKIE_SECRET_LEN; i++) {
		int hi = dns_hex_digit(hex[2 * i]), lo = dns_hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
