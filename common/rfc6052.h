/* RFC 6052 IPv4-embedded IPv6 addresses and the shared NAT64 prefix set. */
#ifndef SIXFOUR_RFC6052_H
#define SIXFOUR_RFC6052_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* The Well-Known Prefix 64:ff9b::/96 (RFC 6052 section 2.1). */
extern const struct in6_addr rfc6052_wkp;

/* True for 32, 40, 48, 56, 64 and 96 (RFC 6052 section 2.2). */
bool rfc6052_len_valid(unsigned len);

/* Writes prefix + IPv4 (+ u octet 0, suffix 0) into *out (section 2.2). */
int rfc6052_embed(const struct in6_addr *prefix, unsigned len, struct in_addr v4,
		  struct in6_addr *out);
/* Reads the IPv4 address back out of an IPv4-embedded IPv6 address. The
 * caller has checked that `addr` lies inside the prefix. */
int rfc6052_extract(const struct in6_addr *addr, unsigned len, struct in_addr *out);

/* True for IPv4 addresses that RFC 6052 section 3.1 lets a Well-Known
 * Prefix carry: not private, loopback, link-local, documentation, shared
 * (RFC 6598), multicast, reserved or broadcast. */
bool ipv4_is_global(struct in_addr a);
bool rfc6052_is_wkp(const struct in6_addr *prefix, unsigned len);
/* Whether this prefix may carry this IPv4 address (the section 3.1 rule). */
bool rfc6052_may_embed(const struct in6_addr *prefix, unsigned len, struct in_addr v4);

/* --- the prefix set, shared by DNS64, the translator, hints and health --- */

/* The roles a prefix can have, one row each: X(ROLE, key, default, doc).
 * This list makes the PREFIX_ROLE_* bits, the bools of struct prefix_conf
 * (named `key`), their [prefix] option rows (common/config_table.c) and the
 * role names that `sixfourctl status` prints, in this order. */
#define PREFIX_ROLES(X) \
	X(TRANSLATE, translate, "no", \
	  "This host's translator serves the prefix (RFC 6052 length required).") \
	X(SYNTHESIZE, synthesize, "yes", \
	  "DNS64 synthesizes AAAA records with the prefix while it is healthy.") \
	X(ADVERTISE, advertise, "no", \
	  "Router Advertisements carry the prefix in a PREF64 option.") \
	X(PROBE, probe, "no", \
	  "Health-check the prefix; only healthy prefixes are synthesized.")

enum prefix_role_bit {
#define X(role, key, def, doc) PREFIX_ROLE_BIT_##role,
	PREFIX_ROLES(X)
#undef X
	PREFIX_ROLE_COUNT
};

enum prefix_role {
#define X(role, key, def, doc) PREFIX_ROLE_##role = 1u << PREFIX_ROLE_BIT_##role,
	PREFIX_ROLES(X)
#undef X
};

/* The role's name (its [prefix] key) for a bit number below PREFIX_ROLE_COUNT. */
const char *prefix_role_name(unsigned bit);

#define PREFIX_NAME_MAX 32

struct prefix_info {
	char name[PREFIX_NAME_MAX];
	struct in6_addr addr;
	uint8_t len;
	uint32_t roles;		/* enum prefix_role bits */
	/* Health verdict: synthesize with it now. Prefixes without the probe
	 * role are active whenever they have the synthesize role. */
	bool active;
	uint32_t rtt_us;	/* last measured probe round trip, 0 = unknown */
};

/* An immutable version of the set. Readers get it from prefix_pub_current()
 * and must not keep the pointer past the current event (one packet, one
 * query): retired versions are freed through the publication domain
 * (common/publish.h) once no reader can hold them. */
struct prefix_set {
	uint64_t generation;
	size_t count;
	struct prefix_info prefixes[];
};

struct prefix_set *prefix_set_alloc(size_t count);
struct prefix_set *prefix_set_clone(const struct prefix_set *set);
void prefix_set_free(struct prefix_set *set);

/* The prefix that contains `addr`, or NULL. With `roles` non-zero, only
 * prefixes with one of those roles count. */
const struct prefix_info *prefix_set_find(const struct prefix_set *set,
					  const struct in6_addr *addr, uint32_t roles);
/* Fills `out` with up to `max` prefixes that DNS64 synthesizes with now. */
size_t prefix_set_active(const struct prefix_set *set, const struct prefix_info **out,
			 size_t max);
const struct prefix_info *prefix_set_by_name(const struct prefix_set *set, const char *name);

struct publish_domain;

/* The publication point: one writer publishes, many readers never lock. */
struct prefix_pub {
	_Atomic(struct prefix_set *) current;
	struct publish_domain *domain;	/* frees retired versions */
	uint64_t next_generation;
};

void prefix_pub_init(struct prefix_pub *pub, struct publish_domain *domain);
/* Frees the current version (retired ones go with the domain); no reader
 * may be running. */
void prefix_pub_destroy(struct prefix_pub *pub);
/* Takes ownership of `set`, stamps its generation and swaps it in. */
void prefix_pub_publish(struct prefix_pub *pub, struct prefix_set *set);

static inline const struct prefix_set *prefix_pub_current(struct prefix_pub *pub)
{
	return atomic_load_explicit(&pub->current, memory_order_acquire);
}

#endif
