#include "autoconf.h"
#include "common/rfc6052.h"
#include "common/publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

const struct in6_addr rfc6052_wkp = { .s6_addr = { 0x00, 0x64, 0xff, 0x9b } };

bool rfc6052_len_valid(unsigned len)
{
	switch (len) {
	case 32: case 40: case 48: case 56: case 64: case 96:
		return true;
	default:
		return false;
	}
}

/* Octet 8 (bits 64-71) is the "u" octet and is always skipped (section 2.2). */
#define U_OCTET 8

int rfc6052_embed(const struct in6_addr *prefix, unsigned len, struct in_addr v4,
		  struct in6_addr *out)
{
	if (!rfc6052_len_valid(len))
		return -EINVAL;
	const uint8_t *b = (const uint8_t *)&v4.s_addr;
	struct in6_addr a = *prefix;
	in6_mask(&a, len);
	unsigned pos = len / 8;
	for (unsigned i = 0; i < 4; i++, pos++) {
		if (pos == U_OCTET)
			pos++;
		a.s6_addr[pos] = b[i];
	}
	*out = a;
	return 0;
}

int rfc6052_extract(const struct in6_addr *addr, unsigned len, struct in_addr *out)
{
	if (!rfc6052_len_valid(len))
		return -EINVAL;
	uint8_t b[4];
	unsigned pos = len / 8;
	for (unsigned i = 0; i < 4; i++, pos++) {
		if (pos == U_OCTET)
			pos++;
		b[i] = addr->s6_addr[pos];
	}
	memcpy(&out->s_addr, b, 4);
	return 0;
}

/* RFC 6890 special-purpose ranges that are not globally reachable. */
static const struct {
	uint32_t net;
	uint8_t len;
} non_global_v4[] = {
	{ 0x00000000, 8 },	/* "this network" */
	{ 0x0a000000, 8 },	/* RFC 1918 */
	{ 0x64400000, 10 },	/* RFC 6598 shared address space */
	{ 0x7f000000, 8 },	/* loopback */
	{ 0xa9fe0000, 16 },	/* link local */
	{ 0xac100000, 12 },	/* RFC 1918 */
	{ 0xc0000000, 24 },	/* IETF protocol assignments */
	{ 0xc0000200, 24 },	/* TEST-NET-1 */
	{ 0xc0a80000, 16 },	/* RFC 1918 */
	{ 0xc6120000, 15 },	/* benchmarking */
	{ 0xc6336400, 24 },	/* TEST-NET-2 */
	{ 0xcb007100, 24 },	/* TEST-NET-3 */
	{ 0xe0000000, 4 },	/* multicast */
	{ 0xf0000000, 4 },	/* reserved, and the limited broadcast */
};

bool ipv4_is_global(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);
	for (size_t i = 0; i < ARRAY_SIZE(non_global_v4); i++) {
		uint32_t mask = 0xffffffffu << (32 - non_global_v4[i].len);
		if ((h & mask) == non_global_v4[i].net)
			return false;
	}
	return true;
}

bool rfc6052_is_wkp(const struct in6_addr *prefix, unsigned len)
{
	return len == 96 && memcmp(prefix->s6_addr, rfc6052_wkp.s6_addr, 12) == 0;
}

bool rfc6052_may_embed(const struct in6_addr *prefix, unsigned len, struct in_addr v4)
{
	return !rfc6052_is_wkp(prefix, len) || ipv4_is_global(v4);
}

struct prefix_set *prefix_set_alloc(size_t count)
{
	struct prefix_set *s = calloc(1, sizeof(*s) + count * sizeof(s->prefixes[0]));
	if (s)
		s->count = count;
	return s;
}

struct prefix_set *prefix_set_clone(const struct prefix_set *set)
{
	struct prefix_set *s = prefix_set_alloc(set->count);
	if (s)
		memcpy(s, set, sizeof(*s) + set->count * sizeof(set->prefixes[0]));
	return s;
}

void prefix_set_free(struct prefix_set *set)
{
	free(set);
}

const struct prefix_info *prefix_set_find(const struct prefix_set *set,
					  const struct in6_addr *addr, uint32_t roles)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->count; i++) {
		const struct prefix_info *p = &set->prefixes[i];
		if (roles && !(p->roles & roles))
			continue;
		struct in6_addr m = *addr;
		in6_mask(&m, p->len);
		if (memcmp(&m, &p->addr, sizeof(m)) == 0)
			return p;
	}
	return NULL;
}

size_t prefix_set_active(const struct prefix_set *set, const struct prefix_info **out,
			 size_t max)
{
	size_t n = 0;
	if (!set)
		return 0;
	for (size_t i = 0; i < set->count && n < max; i++) {
		const struct prefix_info *p = &set->prefixes[i];
		if ((p->roles & PREFIX_ROLE_SYNTHESIZE) && p->active)
			out[n++] = p;
	}
	return n;
}

const struct prefix_info *prefix_set_by_name(const struct prefix_set *set, const char *name)
{
	for (size_t i = 0; set && i < set->count; i++)
		if (strcmp(set->prefixes[i].name, name) == 0)
			return &set->prefixes[i];
	return NULL;
}

static void free_set(void *p)
{
	prefix_set_free(p);
}

void prefix_pub_init(struct prefix_pub *pub, struct publish_domain *domain)
{
	atomic_init(&pub->current, NULL);
	pub->domain = domain;
	pub->next_generation = 1;
}

void prefix_pub_destroy(struct prefix_pub *pub)
{
	prefix_set_free(atomic_exchange(&pub->current, NULL));
}

void prefix_pub_publish(struct prefix_pub *pub, struct prefix_set *set)
{
	set->generation = pub->next_generation++;
	struct prefix_set *old = atomic_exchange_explicit(&pub->current, set, memory_order_seq_cst);
	publish_retire(pub->domain, old, free_set);
}

const char *prefix_role_name(unsigned bit)
{
	static const char *const names[] = {
#define X(role, key, def, doc) [PREFIX_ROLE_BIT_##role] = #key,
		PREFIX_ROLES(X)
#undef X
	};
	return bit < PREFIX_ROLE_COUNT ? names[bit] : NULL;
}
