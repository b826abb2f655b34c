/* RFC 6052: the examples of section 2.4 for every prefix length, the
 * section 3.1 rule for the Well-Known Prefix, and the prefix set. */
#include "autoconf.h"

#include <arpa/inet.h>

#include "common/publish.h"
#include "common/rfc6052.h"
#include "tap.h"

static const struct {
	const char *prefix;
	unsigned len;
	const char *v4;
	const char *v6;
} examples[] = {
	/* RFC 6052 section 2.4, table 1 */
	{ "2001:db8::", 32, "192.0.2.33", "2001:db8:c000:221::" },
	{ "2001:db8:100::", 40, "192.0.2.33", "2001:db8:1c0:2:21::" },
	{ "2001:db8:122::", 48, "192.0.2.33", "2001:db8:122:c000:2:2100::" },
	{ "2001:db8:122:300::", 56, "192.0.2.33", "2001:db8:122:3c0:0:221::" },
	{ "2001:db8:122:344::", 64, "192.0.2.33", "2001:db8:122:344:c0:2:2100:0" },
	{ "2001:db8:122:344::", 96, "192.0.2.33", "2001:db8:122:344::192.0.2.33" },
	{ "64:ff9b::", 96, "192.0.2.33", "64:ff9b::192.0.2.33" },
};

static void test_examples(void)
{
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		struct in6_addr p, want, got;
		struct in_addr v4, back;
		char name[128];
		inet_pton(AF_INET6, examples[i].prefix, &p);
		inet_pton(AF_INET6, examples[i].v6, &want);
		inet_pton(AF_INET, examples[i].v4, &v4);
		snprintf(name, sizeof(name), "embed /%u", examples[i].len);
		ok(rfc6052_embed(&p, examples[i].len, v4, &got) == 0 &&
		   memcmp(&got, &want, 16) == 0, name);
		snprintf(name, sizeof(name), "extract /%u", examples[i].len);
		ok(rfc6052_extract(&want, examples[i].len, &back) == 0 &&
		   back.s_addr == v4.s_addr, name);
	}
	struct in6_addr p = { 0 }, out;
	struct in_addr v4 = { 0 };
	ok(rfc6052_embed(&p, 33, v4, &out) == -EINVAL, "embed rejects /33");
	ok(rfc6052_extract(&p, 128, &v4) == -EINVAL, "extract rejects /128");
	ok(!rfc6052_len_valid(0) && rfc6052_len_valid(32) && !rfc6052_len_valid(95),
	   "valid lengths");
}

static void test_global(void)
{
	static const struct { const char *a; bool global; } cases[] = {
		{ "10.1.2.3", false }, { "172.16.0.1", false }, { "172.32.0.1", true },
		{ "192.168.1.1", false }, { "127.0.0.1", false }, { "169.254.1.1", false },
		{ "100.64.0.1", false }, { "100.128.0.1", true }, { "192.0.2.1", false },
		{ "198.51.100.7", false }, { "203.0.113.9", false }, { "198.18.0.1", false },
		{ "224.0.0.1", false }, { "255.255.255.255", false }, { "0.1.2.3", false },
		{ "8.8.8.8", true }, { "192.88.99.1", true }, { "192.0.0.8", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in_addr a;
		char name[64];
		inet_pton(AF_INET, cases[i].a, &a);
		snprintf(name, sizeof(name), "%s is %sglobal", cases[i].a,
			 cases[i].global ? "" : "not ");
		ok(ipv4_is_global(a) == cases[i].global, name);
	}
	struct in6_addr nsp;
	struct in_addr priv;
	inet_pton(AF_INET6, "2001:db8:64::", &nsp);
	inet_pton(AF_INET, "10.0.0.1", &priv);
	ok(!rfc6052_may_embed(&rfc6052_wkp, 96, priv), "WKP refuses 10.0.0.1 (RFC 6052 3.1)");
	ok(rfc6052_may_embed(&nsp, 96, priv), "a network-specific prefix takes 10.0.0.1");
}

static void test_set(void)
{
	struct prefix_set *s = prefix_set_alloc(3);
	inet_pton(AF_INET6, "64:ff9b::", &s->prefixes[0].addr);
	s->prefixes[0].len = 96;
	s->prefixes[0].roles = PREFIX_ROLE_TRANSLATE | PREFIX_ROLE_SYNTHESIZE;
	s->prefixes[0].active = true;
	strcpy(s->prefixes[0].name, "a");
	inet_pton(AF_INET6, "2001:db8:64::", &s->prefixes[1].addr);
	s->prefixes[1].len = 96;
	s->prefixes[1].roles = PREFIX_ROLE_SYNTHESIZE;
	s->prefixes[1].active = false;
	strcpy(s->prefixes[1].name, "b");
	inet_pton(AF_INET6, "2001:db8:100::", &s->prefixes[2].addr);
	s->prefixes[2].len = 40;
	s->prefixes[2].roles = PREFIX_ROLE_SYNTHESIZE;
	s->prefixes[2].active = true;
	strcpy(s->prefixes[2].name, "c");

	struct in6_addr x;
	inet_pton(AF_INET6, "2001:db8:64::c000:221", &x);
	const struct prefix_info *p = prefix_set_find(s, &x, 0);
	ok(p && !strcmp(p->name, "b"), "find by address");
	ok(prefix_set_find(s, &x, PREFIX_ROLE_TRANSLATE) == NULL, "find honours roles");
	const struct prefix_info *act[4];
	size_t n = prefix_set_active(s, act, 4);
	ok(n == 2 && !strcmp(act[0]->name, "a") && !strcmp(act[1]->name, "c"),
	   "active: healthy synthesizing prefixes only, in order");
	ok(prefix_set_by_name(s, "c") == &s->prefixes[2], "by name");

	struct publish_domain dom;
	publish_domain_init(&dom);
	struct publish_reader *reader = publish_reader_register(&dom);
	struct prefix_pub pub;
	prefix_pub_init(&pub, &dom);
	ok(prefix_pub_current(&pub) == NULL, "empty publication point");
	prefix_pub_publish(&pub, s);
	const struct prefix_set *cur = prefix_pub_current(&pub);
	ok(cur == s && cur->generation == 1, "first version published");
	struct prefix_set *s2 = prefix_set_clone(s);
	s2->prefixes[1].active = true;
	prefix_pub_publish(&pub, s2);
	ok(prefix_pub_current(&pub) == s2 && s2->generation == 2, "swap publishes a new version");
	ok(cur->count == 3 && !cur->prefixes[1].active,
	   "a reader's old version stays intact while the reader is in its event");
	is_int(publish_reclaim(&dom), 1, "the old version waits for the reader");
	publish_quiescent(&dom, reader);
	is_int(publish_reclaim(&dom), 0, "and is freed once the reader has been quiescent");
	publish_reader_unregister(reader);
	prefix_pub_destroy(&pub);
	publish_domain_destroy(&dom);
}

/* The PREFIX_ROLES list: bits in row order, names equal to the keys. */
static void test_roles(void)
{
	is_int(PREFIX_ROLE_COUNT, 4, "four prefix roles");
	ok(PREFIX_ROLE_TRANSLATE == 1 && PREFIX_ROLE_SYNTHESIZE == 2 &&
	   PREFIX_ROLE_ADVERTISE == 4 && PREFIX_ROLE_PROBE == 8, "role bits in list order");
	is_str(prefix_role_name(PREFIX_ROLE_BIT_SYNTHESIZE), "synthesize", "a role's name is its key");
	ok(prefix_role_name(PREFIX_ROLE_COUNT) == NULL, "no name past the last role");
}

int main(void)
{
	plan(51);
	test_examples();
	test_global();
	test_set();
	test_roles();
	return tap_done();
}
