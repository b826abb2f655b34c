/* sixfour-handoffd's table: store, refresh, replace, LRU eviction at the
 * whole-table and per-(NAT64, protocol) limits, CLOSED ranking, hints. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "handoff/server_live.h"
#include "handoff/server_table.h"
#include "tap.h"

static uint32_t T1, T2, S1;

static struct hsrv_key key(uint32_t nat64, uint8_t proto, uint16_t port)
{
	return (struct hsrv_key){ .server4 = S1, .nat64 = nat64, .proto = proto, .port = port };
}

static struct handoff_er er(uint8_t proto, uint16_t port, const char *v6, uint16_t cport)
{
	struct handoff_er e = { .proto = proto, .nat_port = port, .server_port = 80,
				.client_port = cport };
	inet_pton(AF_INET6, v6, &e.client);
	return e;
}

static int put(struct hsrv_table *t, uint32_t nat64, uint8_t proto, uint16_t port,
	       const char *v6, uint16_t cport, struct hsrv_put_result *res)
{
	struct hsrv_key k = key(nat64, proto, port);
	struct handoff_er e = er(proto, port, v6, cport);
	return hsrv_table_put(t, &k, &e, res);
}

static uint16_t live_port;
static bool live(void *arg, uint32_t nat64, uint8_t proto, uint16_t port)
{
	return port == live_port;
}

static int collect(void *arg, const struct hsrv_entry_view *e)
{
	uint16_t **p = arg;
	*(*p)++ = e->key.port;
	return 0;
}

int main(void)
{
	inet_pton(AF_INET, "192.0.2.7", &T1);
	inet_pton(AF_INET, "192.0.2.9", &T2);
	inet_pton(AF_INET, "198.51.100.10", &S1);
	struct hsrv_put_result res;
	struct handoff_er got;
	plan(36);

	struct hsrv_table *t = hsrv_table_new(4, 3);
	ok(put(t, T1, 6, 3719, "2001:db8::17", 53186, &res) == 0 && res.kind == HSRV_PUT_NEW &&
	   !res.evicted, "new entry");
	ok(put(t, T1, 6, 3719, "2001:db8::17", 53186, &res) == 0 && res.kind == HSRV_PUT_REFRESH,
	   "identical entry is a refresh");
	ok(put(t, T1, 6, 3719, "2001:db8::55", 34643, &res) == 0 && res.kind == HSRV_PUT_REPLACED &&
	   res.old.er.client_port == 53186, "other client on the port replaces, old returned");
	struct hsrv_key k = key(T1, 6, 3719);
	ok(hsrv_table_lookup(t, &k, &got) && got.client_port == 34643, "lookup finds the new client");
	k.proto = 17;
	ok(!hsrv_table_lookup(t, &k, &got), "protocol is part of the key");
	k = key(T2, 6, 3719);
	ok(!hsrv_table_lookup(t, &k, &got), "NAT64 address is part of the key");
	is_int(hsrv_table_count(t), 1, "one entry");

	/* Per-group limit 3: the fourth TCP port of T1 evicts T1/TCP's LRU. */
	put(t, T1, 6, 2000, "2001:db8::1", 1, &res);
	put(t, T1, 17, 5000, "2001:db8::2", 2, &res);	/* other group */
	put(t, T1, 6, 2001, "2001:db8::3", 3, &res);
	k = key(T1, 6, 3719);
	hsrv_table_lookup(t, &k, &got);	/* use: 2000 is now T1/TCP's oldest */
	ok(put(t, T1, 6, 2002, "2001:db8::4", 4, &res) == 0 && res.evicted &&
	   res.victim.key.port == 2000 && res.victim.key.proto == 6,
	   "group limit evicts the group's least recently used");
	is_int(hsrv_table_count(t), 4, "table at capacity 4");
	/* Whole table limit 4: a new group evicts the globally oldest (UDP 5000). */
	ok(put(t, T2, 6, 1, "2001:db8::5", 5, &res) == 0 && res.evicted &&
	   res.victim.key.port == 5000 && res.victim.key.proto == 17,
	   "capacity evicts the table's least recently used");

	uint16_t order[8], *op = order;
	hsrv_table_foreach(t, collect, &op);
	ok(op - order == 4 && order[0] == 2001 && order[3] == 1, "foreach runs oldest first");

	/* CLOSED: only for the same mapping; ranks the port first. */
	k = key(T1, 6, 3719);
	struct handoff_er other = er(6, 3719, "2001:db8::17", 53186);
	ok(!hsrv_table_mark_closed(t, &k, &other), "close for another client ignored");
	struct handoff_er same = er(6, 3719, "2001:db8::55", 34643);
	ok(hsrv_table_mark_closed(t, &k, &same), "close for the stored client accepted");
	ok(hsrv_table_lookup(t, &k, &got) && (got.flags & HANDOFF_ER_CLOSED), "entry flagged CLOSED");
	ok(hsrv_table_remove(t, &k) && !hsrv_table_lookup(t, &k, &got), "remove");
	hsrv_table_free(t);

	/* Hints. */
	t = hsrv_table_new(1000, 65536);
	is_int(hsrv_table_hint(t, S1, T1, 6, 0, 0, NULL, NULL), 1024,
	       "a NAT64 with no entries yet gets the low end of the range");
	put(t, T1, 6, 1024, "2001:db8::1", 1, &res);
	put(t, T1, 6, 1025, "2001:db8::1", 2, &res);
	uint16_t h1 = hsrv_table_hint(t, S1, T1, 6, 0, 0, NULL, NULL);
	is_int(h1, 1026, "first free port >= 1024 offered");
	uint16_t h2 = hsrv_table_hint(t, S1, T1, 6, 0, 0, NULL, NULL);
	ok(h2 != h1 && h2 == 1027, "consecutive hints differ");
	live_port = 1028;
	is_int(hsrv_table_hint(t, S1, T1, 6, 0, 0, live, NULL), 1029, "port with a live socket skipped");
	put(t, T1, 1, 7, "2001:db8::1", 7, &res);
	is_int(hsrv_table_hint(t, S1, T1, 1, 0, 0, NULL, NULL), 1, "ICMP identifiers start at 1");
	/* A run of 64 used ports is skipped word-wise. */
	for (unsigned p = 1030; p < 1030 + 200; p++)
		put(t, T1, 6, (uint16_t)p, "2001:db8::9", (uint16_t)p, &res);
	is_int(hsrv_table_hint(t, S1, T1, 6, 0, 0, NULL, NULL), 1230, "used ports skipped");
	hsrv_table_free(t);

	/* Group full: least recently used, CLOSED first, never a live port. */
	t = hsrv_table_new(1000, 3);
	put(t, T1, 17, 4000, "2001:db8::1", 1, &res);
	put(t, T1, 17, 4001, "2001:db8::2", 2, &res);
	put(t, T1, 17, 4002, "2001:db8::3", 3, &res);
	live_port = 0;
	is_int(hsrv_table_hint(t, S1, T1, 17, 0, 0, live, NULL), 4000, "full group: LRU port offered");
	live_port = 4001;
	is_int(hsrv_table_hint(t, S1, T1, 17, 0, 0, live, NULL), 4002,
	       "full group: previous hint and live port skipped");
	k = key(T1, 17, 4002);
	struct handoff_er e3 = er(17, 4002, "2001:db8::3", 3);
	hsrv_table_mark_closed(t, &k, &e3);
	k = key(T1, 17, 4000);
	hsrv_table_lookup(t, &k, &got);
	live_port = 0;
	is_int(hsrv_table_hint(t, S1, T1, 17, 0, 0, live, NULL), 4001, "LRU order after use");
	k = key(T1, 17, 4001);
	struct handoff_er e2 = er(17, 4001, "2001:db8::2", 2);
	hsrv_table_mark_closed(t, &k, &e2);
	is_int(hsrv_table_hint(t, S1, T1, 17, 0, 0, live, NULL), 4002,
	       "CLOSED entries come first (the one just hinted excepted)");
	hsrv_table_free(t);

	/* Lookups by the IPv6 side (profile P-1). */
	t = hsrv_table_new(1000, 65536);
	struct in6_addr c6;
	inet_pton(AF_INET6, "2001:db8::17", &c6);
	put(t, T1, 6, 3000, "2001:db8::17", 50000, &res);
	put(t, T1, 6, 3001, "2001:db8::17", 50001, &res);
	put(t, T1, 6, 3002, "2001:db8::17", 50000, &res);	/* the client port reused later */
	ok(hsrv_table_lookup_client(t, S1, T1, 6, &c6, 50000, &got) && got.nat_port == 3002,
	   "IPv6-side lookup: the most recent entry of a reused client port");
	k = key(T1, 6, 3000);
	hsrv_table_lookup(t, &k, &got);	/* the older one is used again */
	ok(hsrv_table_lookup_client(t, S1, T1, 6, &c6, 50000, &got) && got.nat_port == 3000,
	   "... most recently used wins");
	ok(!hsrv_table_lookup_client(t, S1, T1, 17, &c6, 50000, &got) &&
	   !hsrv_table_lookup_client(t, S1, T2, 6, &c6, 50000, &got),
	   "protocol and NAT64 address are part of the IPv6-side key");
	put(t, T1, 6, 3001, "2001:db8::99", 7, &res);	/* port 3001 given to another client */
	ok(!hsrv_table_lookup_client(t, S1, T1, 6, &c6, 50001, &got),
	   "a replaced entry is no longer found by its old client");
	struct in6_addr c99;
	inet_pton(AF_INET6, "2001:db8::99", &c99);
	ok(hsrv_table_lookup_client(t, S1, T1, 6, &c99, 7, &got) && got.nat_port == 3001,
	   "... but by its new one");
	k = key(T1, 6, 3001);
	hsrv_table_remove(t, &k);
	ok(!hsrv_table_lookup_client(t, S1, T1, 6, &c99, 7, &got), "a removed entry is gone from both sides");

	/* Hint batches within the NAT64's range (profile P-2, P-3). */
	uint16_t hb[HANDOFF_HINTS_MAX];
	size_t nh = hsrv_table_hints(t, S1, T1, 6, 2999, 3010, NULL, NULL, hb, 8);
	bool in_range = true, distinct = true;
	for (size_t i = 0; i < nh; i++) {
		in_range &= hb[i] >= 2999 && hb[i] <= 3010 && hb[i] != 3000 && hb[i] != 3002;
		for (size_t j = 0; j < i; j++)
			distinct &= hb[i] != hb[j];
	}
	ok(nh == 8 && in_range && distinct, "8 distinct free hints inside the range");
	nh = hsrv_table_hints(t, S1, T1, 6, 3000, 3004, NULL, NULL, hb, 8);
	ok(nh == 5 && hb[0] == 3001 && hb[1] == 3003 && hb[2] == 3004,
	   "a narrow range: its free ports first");
	ok(nh == 5 && hb[3] == 3002 && hb[4] == 3000,
	   "... then its used ports, least recently used first");
	hsrv_table_free(t);

	/* A million entries fit in the default table. */
	t = hsrv_table_new(HSRV_TABLE_DEFAULT_CAPACITY, HSRV_TABLE_DEFAULT_PER_GROUP);
	int fails = 0;
	for (uint32_t i = 0; i < 200000; i++) {
		uint32_t nat = htonl(ntohl(T1) + i / 60000);
		if (put(t, nat, 6, (uint16_t)(1024 + i % 60000), "2001:db8::1", 1, &res) ||
		    res.kind != HSRV_PUT_NEW)
			fails++;
	}
	ok(fails == 0 && hsrv_table_count(t) == 200000, "200k entries over 4 NAT64 addresses");
	hsrv_table_free(t);

	/* /proc/net parsing: the kernel prints the 32-bit words of an address
	 * as hex of their in-memory value, which is what %08X of s_addr gives. */
	char text[1024];
	snprintf(text, sizeof(text),
		 "  sl  local_address rem_address   st tx_queue rx_queue\n"
		 "   0: 0100007F:0035 00000000:0000 0A 00000000:00000000\n"
		 "   1: 5063580A:0050 %08X:9C40 01 00000000:00000000\n"
		 "   2: 00000000000000000000000001000000:0016 0000000000000000FFFF0000%08X:9C41 06 0\n"
		 "   3: 00000000000000000000000001000000:0016 20010DB8000000000000000000000001:9C42 01 0\n",
		 T1, T2);
	uint64_t pairs[8];
	size_t np = hsrv_live_parse(text, pairs, 8);
	ok(np == 2 && pairs[0] == ((uint64_t)T1 << 16 | 40000) &&
	   pairs[1] == ((uint64_t)T2 << 16 | 40001),
	   "/proc/net lines: IPv4 and IPv4-mapped remotes kept, listeners and IPv6 skipped");
	return tap_done();
}
