#include "autoconf.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

bool strlcpy_ok(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size == 0)
		return false;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

void mask_octets(uint8_t *a, size_t n, unsigned len)
{
	for (size_t i = 0; i < n; i++) {
		unsigned bits = (unsigned)i * 8;
		if (bits >= len)
			a[i] = 0;
		else if (len - bits < 8)
			a[i] &= (uint8_t)(0xff << (8 - (len - bits)));
	}
}

void in6_mask(struct in6_addr *a, unsigned len)
{
	mask_octets(a->s6_addr, sizeof(a->s6_addr), len);
}

static uint32_t v4_mask(unsigned len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

int cidr_parse(const char *text, struct cidr *out, bool allow_host_bits)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (!strlcpy_ok(buf, text, sizeof(buf)))
		return -EINVAL;
	char *slash = strchr(buf, '/');
	long len = -1;
	if (slash) {
		*slash = '\0';
		char *end;
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		len = strtol(slash + 1, &end, 10);
		if (*end != '\0')
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	size_t octets;
	if (inet_pton(AF_INET6, buf, &out->addr.v6) == 1) {
		out->family = AF_INET6;
		octets = sizeof(out->addr.v6);
	} else if (inet_pton(AF_INET, buf, &out->addr.v4) == 1) {
		out->family = AF_INET;
		octets = sizeof(out->addr.v4);
	} else {
		return -EINVAL;
	}
	/* Both families alike, on the address in network order. */
	long max = (long)octets * 8;
	if (len < 0)
		len = max;
	if (len > max)
		return -EINVAL;
	out->len = (uint8_t)len;
	uint8_t *addr = (uint8_t *)&out->addr, masked[sizeof(out->addr)];
	memcpy(masked, addr, octets);
	mask_octets(masked, octets, out->len);
	if (memcmp(masked, addr, octets) != 0 && !allow_host_bits)
		return -EINVAL;
	memcpy(addr, masked, octets);
	return 0;
}

void cidr_format(const struct cidr *c, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(c->family, &c->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, c->len);
}

bool cidr_contains_v4(const struct cidr *c, struct in_addr a)
{
	if (c->family != AF_INET)
		return false;
	uint32_t m = v4_mask(c->len);
	return (ntohl(a.s_addr) & m) == ntohl(c->addr.v4.s_addr);
}

bool cidr_contains_v6(const struct cidr *c, const struct in6_addr *a)
{
	if (c->family != AF_INET6)
		return false;
	struct in6_addr m = *a;
	in6_mask(&m, c->len);
	return memcmp(&m, &c->addr.v6, sizeof(m)) == 0;
}

bool cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	if (a->family != b->family)
		return false;
	const struct cidr *shorter = a->len <= b->len ? a : b;
	const struct cidr *longer = shorter == a ? b : a;
	if (a->family == AF_INET)
		return cidr_contains_v4(shorter, longer->addr.v4);
	return cidr_contains_v6(shorter, &longer->addr.v6);
}

int endpoint_parse(const char *text, uint16_t default_port, struct endpoint *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port_text = NULL;
	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || (size_t)(close - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = '\0';
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
	} else {
		const char *colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':') == NULL) {
			/* IPv4 with a port */
			if ((size_t)(colon - text) >= sizeof(host))
				return -EINVAL;
			memcpy(host, text, (size_t)(colon - text));
			host[colon - text] = '\0';
			port_text = colon + 1;
		} else if (!strlcpy_ok(host, text, sizeof(host))) {
			return -EINVAL;
		}
	}
	unsigned long port = default_port;
	if (port_text) {
		char *end;
		if (!isdigit((unsigned char)*port_text))
			return -EINVAL;
		port = strtoul(port_text, &end, 10);
		if (*end != '\0' || port > 65535)
			return -EINVAL;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*s6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*s4);
		return 0;
	}
	return -EINVAL;
}

void endpoint_format(const struct endpoint *ep, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	if (ep->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ep->ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ep->ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, ntohs(s4->sin_port));
	}
}

struct unit {
	const char *suffix;
	uint64_t factor;
};

static const struct unit duration_units[] = {
	{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
};
static const struct unit size_units[] = {
	{ "T", 1ull << 40 }, { "G", 1ull << 30 }, { "M", 1ull << 20 }, { "k", 1ull << 10 },
};

/* A decimal number and an optional unit suffix (a bare number counts
 * `bare`), times the unit's factor. */
static int scaled_parse(const char *text, const struct unit *units, size_t n, uint64_t bare,
			bool fold_case, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	uint64_t factor = bare;
	if (*end != '\0') {
		factor = 0;
		for (size_t i = 0; i < n; i++)
			if ((fold_case ? strcasecmp : strcmp)(end, units[i].suffix) == 0)
				factor = units[i].factor;
		if (factor == 0)
			return -EINVAL;
	}
	if (v > UINT64_MAX / factor)
		return -ERANGE;
	*out = v * factor;
	return 0;
}

/* The largest unit that divides `v` exactly, or false when none does. */
static bool scaled_format(uint64_t v, const struct unit *units, size_t n, char *buf, size_t size)
{
	for (size_t i = 0; i < n; i++) {
		if (v % units[i].factor == 0) {
			snprintf(buf, size, "%" PRIu64 "%s", v / units[i].factor, units[i].suffix);
			return true;
		}
	}
	return false;
}

int duration_parse_ms(const char *text, uint64_t *out_ms)
{
	return scaled_parse(text, duration_units, ARRAY_SIZE(duration_units), 1000, false, out_ms);
}

void duration_format_ms(uint64_t ms, char *buf, size_t size)
{
	if (ms == 0)
		snprintf(buf, size, "0s");
	else
		scaled_format(ms, duration_units, ARRAY_SIZE(duration_units), buf, size);
}

/* Size suffixes in either case: 64k, 64K, 1g. */
int size_parse(const char *text, uint64_t *out)
{
	return scaled_parse(text, size_units, ARRAY_SIZE(size_units), 1, true, out);
}

void size_format(uint64_t bytes, char *buf, size_t size)
{
	if (bytes == 0 || !scaled_format(bytes, size_units, ARRAY_SIZE(size_units), buf, size))
		snprintf(buf, size, "%" PRIu64, bytes);
}

int list_foreach(const char *text, int (*fn)(const char *item, void *arg), void *arg)
{
	const char *p = text;
	while (*p) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && *p != ',' && !isspace((unsigned char)*p))
			p++;
		char item[256];
		size_t n = (size_t)(p - start);
		if (n >= sizeof(item))
			return -ENAMETOOLONG;
		memcpy(item, start, n);
		item[n] = '\0';
		int rc = fn(item, arg);
		if (rc)
			return rc;
	}
	return 0;
}

/* CRC-32 (IEEE 802.3, as zlib's crc32), four bits at a time. */
uint32_t crc32_buf(const void *data, size_t len)
{
	static const uint32_t t[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
		0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		c = (c >> 4) ^ t[c & 15];
		c = (c >> 4) ^ t[c & 15];
	}
	return ~c;
}

char *read_small_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *text = malloc(size + 1);
	while (text && got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!text) {
		errno = ENOMEM;
		return NULL;
	}
	text[got] = '\0';
	if (len)
		*len = got;
	return text;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int fsync_parent_dir(const char *path)
{
	char dir[4096];
	if (!strlcpy_ok(dir, path, sizeof(dir)))
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';	/* the root folder */
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	return fsync_dir(dir);
}
