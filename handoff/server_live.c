/* Live-socket check from /proc/net. The kernel prints each address as the
 * hex of its in-memory 32-bit words, so an IPv4 field read with %X equals
 * the s_addr (network byte order) value on the same host; ports are plain
 * host-order hex. */
#include "autoconf.h"
#include "handoff/server_live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "common/util.h"

#define MAX_SOCKETS 65536

struct proto_cache {
	bool valid;
	uint64_t loaded_ms;
	size_t n;
	uint64_t *pairs;	/* sorted */
};

struct hsrv_live {
	struct proto_cache tcp, udp;
	uint64_t now_ms;
	uint32_t max_age_ms;
};

struct hsrv_live *hsrv_live_new(uint32_t max_age_ms)
{
	struct hsrv_live *l = calloc(1, sizeof(*l));
	if (l)
		l->max_age_ms = max_age_ms;
	return l;
}

void hsrv_live_free(struct hsrv_live *l)
{
	if (!l)
		return;
	free(l->tcp.pairs);
	free(l->udp.pairs);
	free(l);
}

void hsrv_live_round(struct hsrv_live *l, uint64_t now_ms)
{
	l->now_ms = now_ms;
	struct proto_cache *cs[] = { &l->tcp, &l->udp };
	for (size_t i = 0; i < ARRAY_SIZE(cs); i++)
		if (cs[i]->loaded_ms + l->max_age_ms <= now_ms)
			cs[i]->valid = false;
}

/* One "rem_address" field: "0100A8C0:0050" (IPv4) or 32 hex digits for
 * IPv6, of which only IPv4-mapped ones (::ffff:a.b.c.d) matter here. */
static bool parse_remote(const char *f, size_t flen, uint64_t *pair)
{
	const char *colon = memchr(f, ':', flen);
	if (!colon)
		return false;
	size_t alen = (size_t)(colon - f);
	unsigned long port = strtoul(colon + 1, NULL, 16);
	char word[9];
	if (alen == 8) {
		memcpy(word, f, 8);
	} else if (alen == 32) {
		/* Mapped: words 0,1 zero, word 2 = 0xFFFF0000 as printed, word 3 = v4. */
		if (memcmp(f, "0000000000000000FFFF0000", 24) != 0)
			return false;
		memcpy(word, f + 24, 8);
	} else {
		return false;
	}
	word[8] = '\0';
	uint32_t addr = (uint32_t)strtoul(word, NULL, 16);
	*pair = (uint64_t)addr << 16 | (port & 0xffff);
	return true;
}

size_t hsrv_live_parse(const char *text, uint64_t *out, size_t max)
{
	size_t n = 0;
	const char *line = strchr(text, '\n');	/* skip the header line */
	while (line && *line && n < max) {
		line++;
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		/* Fields: sl local_address rem_address st ... */
		const char *p = line;
		int field = 0;
		while (p < end) {
			while (p < end && *p == ' ')
				p++;
			const char *q = p;
			while (q < end && *q != ' ')
				q++;
			if (q == p)
				break;
			if (field == 2) {
				uint64_t pair;
				if (parse_remote(p, (size_t)(q - p), &pair) && (pair & 0xffff) != 0)
					out[n++] = pair;
				break;
			}
			field++;
			p = q;
		}
		line = *end ? end : NULL;
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
		if (len + 1 >= cap) {
			if (cap >= ((size_t)64 << 20))
				break;	/* far more sockets than a hint needs to see */
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static void load(struct proto_cache *c, uint64_t now_ms, const char *v4path, const char *v6path)
{
	if (!c->pairs)
		c->pairs = malloc(MAX_SOCKETS * sizeof(*c->pairs));
	c->n = 0;
	c->valid = true;
	c->loaded_ms = now_ms;
	if (!c->pairs)
		return;
	const char *paths[] = { v4path, v6path };
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		char *text = slurp(paths[i]);
		if (!text)
			continue;
		c->n += hsrv_live_parse(text, c->pairs + c->n, MAX_SOCKETS - c->n);
		free(text);
	}
	qsort(c->pairs, c->n, sizeof(*c->pairs), cmp_u64);
}

bool hsrv_live_check(void *live, uint32_t nat64, uint8_t proto, uint16_t port)
{
	struct hsrv_live *l = live;
	struct proto_cache *c;
	if (proto == IPPROTO_TCP) {
		c = &l->tcp;
		if (!c->valid)
			load(c, l->now_ms, "/proc/net/tcp", "/proc/net/tcp6");
	} else if (proto == IPPROTO_UDP) {
		c = &l->udp;
		if (!c->valid)
			load(c, l->now_ms, "/proc/net/udp", "/proc/net/udp6");
	} else {
		return false;
	}
	uint64_t key = (uint64_t)nat64 << 16 | port;
	return c->pairs && bsearch(&key, c->pairs, c->n, sizeof(key), cmp_u64) != NULL;
}
