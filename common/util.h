/* Small helpers shared by every subsystem. */
#ifndef SIXFOUR_UTIL_H
#define SIXFOUR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
/* TABLE[I], or "?" past the end of a table of names. */
#define NAME_OF(table, i) ((size_t)(i) < ARRAY_SIZE(table) ? (table)[i] : "?")
/* A verdict enum that is an OK value, then the rows of a drop-reason list
 * X(NAME, "text") has the names { "ok", LIST(VERDICT_TEXT) }, in order. */
#define VERDICT_TEXT(name, text) text,

/* Intrusive doubly linked lists: elements link through their `prev` and
 * `next` fields, and a list is its `head` pointer; the _HT forms keep a
 * `tail` pointer as well. Arguments are evaluated more than once: pass
 * plain lvalues. */
#define DLIST_PUSH_FRONT(head, e) \
	do { \
		(e)->prev = NULL; \
		(e)->next = (head); \
		if (head) \
			(head)->prev = (e); \
		(head) = (e); \
	} while (0)
#define DLIST_UNLINK(head, e) \
	do { \
		if ((e)->prev) \
			(e)->prev->next = (e)->next; \
		else \
			(head) = (e)->next; \
		if ((e)->next) \
			(e)->next->prev = (e)->prev; \
	} while (0)
#define DLIST_PUSH_FRONT_HT(head, tail, e) \
	do { \
		if (!(head)) \
			(tail) = (e); \
		DLIST_PUSH_FRONT(head, e); \
	} while (0)
#define DLIST_UNLINK_HT(head, tail, e) \
	do { \
		if (!(e)->next) \
			(tail) = (e)->prev; \
		DLIST_UNLINK(head, e); \
	} while (0)

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t monotonic_ms(void);
/* Microseconds on CLOCK_MONOTONIC. */
uint64_t monotonic_us(void);

/* Copies at most size-1 bytes and always terminates; returns false if cut. */
bool strlcpy_ok(char *dst, const char *src, size_t size);

/* Big-endian loads and stores on unaligned buffers. */
static inline uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* An IPv4 or IPv6 prefix (CIDR). Host bits are zero after parsing. */
struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t len;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
};

/* Parses "ADDR/LEN" (or a bare address: full length). Rejects set host bits
 * with -EINVAL unless `allow_host_bits`. */
int cidr_parse(const char *text, struct cidr *out, bool allow_host_bits);
/* "2001:db8::/32" or "192.0.2.0/24". */
void cidr_format(const struct cidr *c, char *buf, size_t size);
bool cidr_contains_v4(const struct cidr *c, struct in_addr a);
bool cidr_contains_v6(const struct cidr *c, const struct in6_addr *a);
/* True when the two prefixes (same family) share any address. */
bool cidr_overlap(const struct cidr *a, const struct cidr *b);
/* Zeroes the bits of `a` past `len`. */
void in6_mask(struct in6_addr *a, unsigned len);
/* Keeps the first `len` bits of the `n` octets at `a` (an address in network
 * order) and clears the rest. */
void mask_octets(uint8_t *a, size_t n, unsigned len);

/* A socket address with its length; parses "ADDR", "ADDR:PORT", "[V6]:PORT". */
struct endpoint {
	struct sockaddr_storage ss;
	socklen_t len;
};
int endpoint_parse(const char *text, uint16_t default_port, struct endpoint *out);
/* "[2001:db8::1]:53" or "192.0.2.1:53". */
void endpoint_format(const struct endpoint *ep, char *buf, size_t size);

/* Parses "30", "30s", "500ms", "5m", "2h", "1d" into milliseconds. */
int duration_parse_ms(const char *text, uint64_t *out_ms);
/* Canonical form: largest unit that divides the value exactly. */
void duration_format_ms(uint64_t ms, char *buf, size_t size);
/* Parses "1024", "64k", "16M", "1G", "20T" into bytes (binary units). */
int size_parse(const char *text, uint64_t *out);
void size_format(uint64_t bytes, char *buf, size_t size);

/* Splits a comma- or whitespace-separated list; calls `fn` per item.
 * Stops at and returns the first non-zero return of `fn`. */
int list_foreach(const char *text, int (*fn)(const char *item, void *arg), void *arg);

/* CRC-32 as in IEEE 802.3 and zlib (crc32_buf("123456789", 9) = 0xcbf43926). */
uint32_t crc32_buf(const void *data, size_t len);

/* The whole of a small file in a malloc'd, NUL-terminated buffer (its length
 * in *len when len is not NULL). NULL with errno: open's, EFBIG when it holds
 * more than `max` octets, ENOMEM. */
char *read_small_file(const char *path, size_t max, size_t *len);
/* All `len` octets to `fd`, again after EINTR or a short write: 0, -errno,
 * or -EIO when write() takes nothing. */
int write_all(int fd, const void *buf, size_t len);
/* fsync of the folder `dir`, so that a rename or link in it survives a
 * crash: 0 or -errno. fsync_parent_dir: of the folder that holds `path`
 * ("." for a name without a slash). */
int fsync_dir(const char *dir);
int fsync_parent_dir(const char *path);


#endif
