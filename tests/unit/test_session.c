/* The RFC 6146 state with a fake clock: mapping, filtering, timers, the
 * TCP state machine, simultaneous open, LRU eviction, the per-client cap,
 * and the handoff states (acked cache entries, install from a record). */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/rfc6052.h"
#include "nat64/pool4.h"
#include "nat64/session.h"
#include "tests/unit/nat64_fixture.h"
#include "tests/unit/tap.h"

#define SYN 0x02
#define FIN 0x01
#define RST 0x04
#define ACK 0x10

static struct session_cfg base_cfg(void)
{
	return fixture_session_cfg(8, 4);
}

static struct nat64_tuple t4(uint8_t proto, const char *r4, uint16_t rport, struct in_addr p4,
			     uint16_t pport)
{
	struct nat64_tuple t = { .family = AF_INET, .proto = proto, .sport = rport,
				 .dport = pport };
	t.src.v4 = ip4(r4);
	t.dst.v4 = p4;
	return t;
}

static enum nat64_verdict in4(struct session_table *t, const struct nat64_tuple *in,
			      uint8_t flags, uint64_t now, bool *stored, struct nat64_tuple *out)
{
	static const uint8_t pkt[40] = { 0x45 };
	return session_handle4(t, in, flags, false, now, pkt, sizeof(pkt), stored, out, NULL);
}

static uint64_t ctr(struct session_table *t, enum session_counter i)
{
	struct session_counters c;
	session_get_counters(t, &c);
	return c.c[i];
}

static uint64_t gauge(struct session_table *t, enum session_gauge i)
{
	struct session_counters c;
	session_get_counters(t, &c);
	return c.g[i];
}

static int syn_timeouts;
static void on_syn_timeout(void *arg, const uint8_t *pkt, size_t len)
{
	syn_timeouts++;
	*(size_t *)arg = len;
}

static struct session_table *new_table(const struct session_cfg *cfg, struct pool4 **pool)
{
	int err;
	*pool = pool4_new(42);
	pool4_add(*pool, ip4("192.0.2.1"), 32, 1024, 65535);
	return session_table_new(cfg, *pool, 7, &err);
}

static void free_table(struct session_table *t, struct pool4 *pool)
{
	session_table_free(t);
	pool4_free(pool);
}

static void test_udp_mapping(void)
{
	struct session_cfg cfg = base_cfg();
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	struct nat64_tuple in = t6(IPPROTO_UDP, "2001:db8:1::100", 5000, "198.51.100.7", 53), o, o2;
	is_int(out6(t, &in, 0, 1000, &o), NAT64_CONTINUE, "udp: first packet creates a session");
	ok(o.family == AF_INET && o.src.v4.s_addr == ip4("192.0.2.1").s_addr &&
	   o.dst.v4.s_addr == ip4("198.51.100.7").s_addr && o.dport == 53,
	   "udp: out tuple from the pool to the remote");
	ok(o.sport >= 1024 && (o.sport & 1) == 0, "udp: port in range with the client's parity");
	struct nat64_tuple in2 = t6(IPPROTO_UDP, "2001:db8:1::100", 5000, "203.0.113.9", 123);
	out6(t, &in2, 0, 1000, &o2);
	is_int(o2.sport, o.sport, "udp: endpoint-independent mapping reuses the port");
	is_int((int)gauge(t, SESSION_G_bib), 1, "udp: one BIB entry for two sessions");
	is_int((int)gauge(t, SESSION_G_count), 2, "udp: two sessions");

	struct nat64_tuple back = t4(IPPROTO_UDP, "198.51.100.7", 53, o.src.v4, o.sport), r;
	bool stored;
	is_int(in4(t, &back, 0, 2000, &stored, &r), NAT64_CONTINUE, "udp: reply finds the session");
	ok(session_exists6(t, &in, ip4("198.51.100.7")), "exists6: the session is there");
	struct nat64_tuple other = t6(IPPROTO_UDP, "2001:db8:1::100", 5001, "198.51.100.7", 53);
	ok(!session_exists6(t, &other, ip4("198.51.100.7")), "exists6: another port has none");
	is_int((int)gauge(t, SESSION_G_count), 2, "exists6: and asking created nothing");
	ok(r.family == AF_INET6 && memcmp(&r.dst.v6, &in.src.v6, 16) == 0 && r.dport == 5000 &&
	   memcmp(&r.src.v6, &in.dst.v6, 16) == 0 && r.sport == 53,
	   "udp: reply tuple goes back to the client from the prefix address");

	/* Endpoint-independent filtering: a third host may use the mapping. */
	struct nat64_tuple stranger = t4(IPPROTO_UDP, "192.0.2.200", 9999, o.src.v4, o.sport);
	is_int(in4(t, &stranger, 0, 2000, &stored, &r), NAT64_CONTINUE,
	       "eif: an unknown remote reaches the mapping");
	is_int((int)gauge(t, SESSION_G_count), 3, "eif: and gets its own session");
	struct nat64_tuple closed = t4(IPPROTO_UDP, "192.0.2.200", 9999, o.src.v4,
				       (uint16_t)(o.sport + 2));
	is_int(in4(t, &closed, 0, 2000, &stored, &r), NAT64_DROP_NO_SESSION,
	       "a port without a mapping: no session");

	/* Timers: UDP lives udp_ms after its last packet. */
	is_int((int)session_expire(t, 1000 + 300000 - 1, NULL, NULL), 0, "udp: alive before timeout");
	is_int((int)session_expire(t, 2000 + 300000, NULL, NULL), 3, "udp: all gone after timeout");
	is_int((int)gauge(t, SESSION_G_bib), 0, "udp: BIB entry goes with its last session");
	is_int((int)gauge(t, SESSION_G_clients), 0, "udp: client entry goes too");
	free_table(t, pool);
}

/* A use within RELINK_MS does not move the entry, yet its lifetime still
 * counts from that use: the sweep never expires it early. */
static void test_lazy_relink(void)
{
	struct session_cfg cfg = base_cfg();
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	struct nat64_tuple in = t6(IPPROTO_UDP, "2001:db8:1::100", 5000, "198.51.100.7", 53), o;
	out6(t, &in, 0, 0, &o);
	out6(t, &in, 0, 500, &o);
	is_int((int)session_expire(t, 300000 + 100, NULL, NULL), 0,
	       "lazy: used at 0.5 s, alive at 300.1 s");
	is_int((int)session_expire(t, 300000 + 499, NULL, NULL), 0, "lazy: alive at 300.499 s");
	is_int((int)session_expire(t, 300000 + 500, NULL, NULL), 1, "lazy: gone at 300.5 s");
	free_table(t, pool);
}

static void test_adf(void)
{
	struct session_cfg cfg = base_cfg();
	cfg.filtering = FILTER_ADDRESS_DEPENDENT;
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	struct nat64_tuple in = t6(IPPROTO_UDP, "2001:db8:1::100", 5000, "198.51.100.7", 53), o, r;
	out6(t, &in, 0, 0, &o);
	bool stored;
	struct nat64_tuple other_port = t4(IPPROTO_UDP, "198.51.100.7", 54, o.src.v4, o.sport);
	is_int(in4(t, &other_port, 0, 0, &stored, &r), NAT64_CONTINUE,
	       "adf: same address, other port passes");
	struct nat64_tuple stranger = t4(IPPROTO_UDP, "192.0.2.200", 53, o.src.v4, o.sport);
	is_int(in4(t, &stranger, 0, 0, &stored, &r), NAT64_DROP_FILTERED,
	       "adf: unknown address is filtered");
	is_int((int)gauge(t, SESSION_G_count), 2, "adf: and makes no session");
	free_table(t, pool);
}

static uint8_t tcp_state_of(struct session_table *t);
static void grab(void *arg, const struct session_record *r)
{
	*(struct session_record *)arg = *r;
}
static uint8_t tcp_state_of(struct session_table *t)
{
	struct session_record r = { .tcp_state = 0xff };
	session_foreach(t, grab, &r);
	return r.tcp_state;
}

static void test_tcp(void)
{
	struct session_cfg cfg = base_cfg();
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	struct nat64_tuple in = t6(IPPROTO_TCP, "2001:db8:1::100", 40000, "198.51.100.7", 80), o, r;
	bool stored;
	is_int(out6(t, &in, ACK, 0, &o), NAT64_DROP_NO_SESSION, "tcp: no session from a non-SYN");
	is_int(out6(t, &in, SYN, 0, &o), NAT64_CONTINUE, "tcp: SYN opens");
	is_int(tcp_state_of(t), SESSION_TCP_V6_INIT, "tcp: V6 INIT");
	struct nat64_tuple back = t4(IPPROTO_TCP, "198.51.100.7", 80, o.src.v4, o.sport);
	in4(t, &back, SYN | ACK, 10, &stored, &r);
	is_int(tcp_state_of(t), SESSION_TCP_ESTABLISHED, "tcp: SYN-ACK from v4 -> ESTABLISHED");
	is_int((int)session_expire(t, 10 + 240000 + 1, NULL, NULL), 0,
	       "tcp: established outlives the transitory timer");
	out6(t, &in, FIN | ACK, 20, &o);
	is_int(tcp_state_of(t), SESSION_TCP_V6_FIN_RCV, "tcp: FIN from v6 -> V6 FIN RCV");
	in4(t, &back, FIN | ACK, 30, &stored, &r);
	is_int(tcp_state_of(t), SESSION_TCP_V4_FIN_V6_FIN_RCV, "tcp: FIN from v4 -> both FIN");
	out6(t, &in, ACK, 100000, &o);
	is_int((int)session_expire(t, 30 + 240000, NULL, NULL), 1,
	       "tcp: both FIN expires after the transitory time of the last FIN");

	/* RST moves to TRANS; other traffic brings it back (3.5.2.2). */
	out6(t, &in, SYN, 0, &o);
	back.dport = o.sport;
	in4(t, &back, SYN | ACK, 0, &stored, &r);
	in4(t, &back, RST, 1, &stored, &r);
	is_int(tcp_state_of(t), SESSION_TCP_TRANS, "tcp: RST -> TRANS");
	out6(t, &in, ACK, 2, &o);
	is_int(tcp_state_of(t), SESSION_TCP_ESTABLISHED, "tcp: data in TRANS -> ESTABLISHED");
	in4(t, &back, RST, 3, &stored, &r);
	is_int((int)session_expire(t, 3 + 240000, NULL, NULL), 1, "tcp: TRANS expires at 4 min");

	/* A RST after one FIN is TRANS too (a deviation, RFC6146.md): the
	 * mapping is cheap and goes after 4 min, not 2 h 4 min. */
	out6(t, &in, SYN, 0, &o);
	back.dport = o.sport;
	in4(t, &back, SYN | ACK, 0, &stored, &r);
	out6(t, &in, ACK, 1, &o);
	in4(t, &back, FIN | ACK, 2, &stored, &r);
	is_int(tcp_state_of(t), SESSION_TCP_V4_FIN_RCV, "tcp: FIN from v4 -> V4 FIN RCV");
	out6(t, &in, RST, 3, &o);
	is_int(tcp_state_of(t), SESSION_TCP_TRANS, "tcp: RST from v6 in V4 FIN RCV -> TRANS");
	is_int((int)session_expire(t, 3 + 240000, NULL, NULL), 1,
	       "tcp: ... and it expires at 4 min");
	out6(t, &in, SYN, 0, &o);
	back.dport = o.sport;
	in4(t, &back, SYN | ACK, 0, &stored, &r);
	out6(t, &in, FIN | ACK, 1, &o);
	in4(t, &back, RST, 2, &stored, &r);
	is_int(tcp_state_of(t), SESSION_TCP_TRANS, "tcp: RST from v4 in V6 FIN RCV -> TRANS");
	session_expire(t, 2 + 240000, NULL, NULL);

	/* V6 INIT without answer expires at the transitory timer. */
	out6(t, &in, SYN, 0, &o);
	is_int((int)session_expire(t, 240000, NULL, NULL), 1, "tcp: unanswered SYN expires");
	free_table(t, pool);
}

static void test_simultaneous_open(void)
{
	struct session_cfg cfg = base_cfg();
	cfg.filtering = FILTER_ADDRESS_DEPENDENT;
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	bool stored;
	struct nat64_tuple r, o;
	size_t len = 0;
	/* A SYN to a pool port nobody holds waits, then port unreachable. */
	struct nat64_tuple syn = t4(IPPROTO_TCP, "198.51.100.7", 5555, ip4("192.0.2.1"), 7777);
	is_int(in4(t, &syn, SYN, 0, &stored, &r), NAT64_DROP_NO_SESSION, "so: SYN without BIB");
	ok(stored, "so: the SYN is stored");
	session_expire(t, 5999, on_syn_timeout, &len);
	is_int(syn_timeouts, 0, "so: no error before tcp-syn-wait");
	session_expire(t, 6000, on_syn_timeout, &len);
	is_int(syn_timeouts, 1, "so: ICMP after tcp-syn-wait");
	is_int((int)len, 40, "so: with the stored packet");

	/* A client's mapping exists toward A; B's SYN to it waits (ADF) and
	 * the client's own SYN to B drops it silently. */
	struct nat64_tuple toA = t6(IPPROTO_TCP, "2001:db8:1::100", 40000, "198.51.100.7", 80);
	out6(t, &toA, SYN, 0, &o);
	struct nat64_tuple fromB = t4(IPPROTO_TCP, "203.0.113.5", 6000, o.src.v4, o.sport);
	in4(t, &fromB, SYN, 0, &stored, &r);
	ok(stored, "so: SYN from B stored under ADF");
	struct nat64_tuple toB = t6(IPPROTO_TCP, "2001:db8:1::100", 40000, "203.0.113.5", 6000);
	is_int(out6(t, &toB, SYN, 10, &o), NAT64_CONTINUE, "so: client's SYN to B");
	is_int((int)ctr(t, SESSION_C_syn_matched), 1, "so: the stored SYN is discarded");
	session_expire(t, 10000, on_syn_timeout, &len);
	is_int(syn_timeouts, 1, "so: and never answered with an error");
	is_int(in4(t, &fromB, SYN | ACK, 11, &stored, &r), NAT64_CONTINUE,
	       "so: B's packets now pass");
	free_table(t, pool);
}

static void test_lru_and_cap(void)
{
	struct session_cfg cfg = base_cfg();
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	struct nat64_tuple o;
	char client[64];
	/* Two clients, four sessions each: the table (8) is full. */
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < 4; i++) {
			snprintf(client, sizeof(client), "2001:db8:%d::1", c + 1);
			struct nat64_tuple in = t6(IPPROTO_UDP, client, (uint16_t)(1000 + i),
						   "198.51.100.7", 53);
			out6(t, &in, 0, (uint64_t)(c * 4 + i) * 2000, &o);
		}
	is_int((int)gauge(t, SESSION_G_count), 8, "lru: table full");
	struct nat64_tuple fifth = t6(IPPROTO_UDP, "2001:db8:1::1", 2000, "198.51.100.7", 53);
	is_int(out6(t, &fifth, 0, 100000, &o), NAT64_DROP_CLIENT_LIMIT, "cap: a fifth session refused");
	struct nat64_tuple same_56 = t6(IPPROTO_UDP, "2001:db8:1:ff::9", 2000, "198.51.100.7", 53);
	is_int(out6(t, &same_56, 0, 100000, &o), NAT64_DROP_CLIENT_LIMIT,
	       "cap: another address of the same /56 counts as the same client");
	/* Uses within a second keep their place (RELINK_MS); these are
	 * seconds apart. Refresh the oldest (client 1, port 1000): the next oldest goes. */
	struct nat64_tuple oldest = t6(IPPROTO_UDP, "2001:db8:1::1", 1000, "198.51.100.7", 53);
	out6(t, &oldest, 0, 200000, &o);
	struct nat64_tuple third = t6(IPPROTO_UDP, "2001:db8:3::1", 1, "198.51.100.7", 53);
	is_int(out6(t, &third, 0, 300000, &o), NAT64_CONTINUE, "lru: a new client fits by eviction");
	is_int((int)ctr(t, SESSION_C_evicted_cheap), 1, "lru: one eviction");
	struct nat64_tuple gone = t6(IPPROTO_UDP, "2001:db8:1::1", 1001, "198.51.100.7", 53);
	struct in_addr r4 = ip4("198.51.100.7");
	is_int(session_handle6(t, &gone, r4, 96, 0, true, 301000, &o, NULL), NAT64_DROP_NO_SESSION,
	       "lru: the least recently used session was evicted");
	is_int(session_handle6(t, &oldest, r4, 96, 0, true, 301000, &o, NULL), NAT64_CONTINUE,
	       "lru: the refreshed one stayed");
	is_int(out6(t, &fifth, 0, 400000, &o), NAT64_CONTINUE, "cap: room again after the eviction");
	free_table(t, pool);
}

static void test_handoff_states(void)
{
	struct session_cfg cfg = fixture_session_cfg(2, 4);
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	struct nat64_tuple o, r;
	struct nat64_tuple a = t6(IPPROTO_TCP, "2001:db8:1::1", 1000, "198.51.100.7", 80);
	struct nat64_tuple b = t6(IPPROTO_TCP, "2001:db8:2::1", 1000, "198.51.100.7", 80);
	out6(t, &a, SYN, 0, &o);
	struct session_record key = { .proto = IPPROTO_TCP, .remote4 = ip4("198.51.100.7"),
				      .remote_port = 80, .pool4 = o.src.v4, .pool_port = o.sport };
	is_int(session_set_state(t, &key, SESSION_ACKED, false, 1), 0, "ack: entry becomes ACKED");
	out6(t, &b, SYN, 2, &o);
	is_int((int)session_expire(t, 10000000, NULL, NULL), 1,
	       "ack: the acked entry has no timer (only the local one expired)");
	is_int((int)gauge(t, SESSION_G_acked), 1, "ack: counted as acked");
	/* Full table: the acked entry goes first even though it is newer. */
	out6(t, &b, SYN, 10000001, &o);
	struct nat64_tuple c = t6(IPPROTO_UDP, "2001:db8:3::1", 7, "198.51.100.7", 53);
	out6(t, &c, 0, 10000002, &o);
	is_int((int)ctr(t, SESSION_C_evicted_acked), 1, "ack: acked entries are evicted first");
	bool stored;
	struct nat64_tuple back = t4(IPPROTO_TCP, "198.51.100.7", 80, key.pool4, key.pool_port);
	is_int(in4(t, &back, ACK, 10000003, &stored, &r), NAT64_DROP_NO_SESSION,
	       "ack: evicted entry misses");
	/* The handoff server gives it back (LOOKUP-REPLY): install, hit. */
	struct session_record rec = key;
	rec.client6 = ip6("2001:db8:1::1");
	rec.client_port = 1000;
	rec.remote6 = a.dst.v6;
	rec.prefix_len = 96;
	rec.tcp_state = SESSION_TCP_ESTABLISHED;
	rec.state = SESSION_ACKED;
	is_int(session_install(t, &rec, 10000004), 0, "install: from a record");
	is_int(in4(t, &back, ACK, 10000005, &stored, &r), NAT64_CONTINUE, "install: hit again");
	ok(memcmp(&r.dst.v6, &rec.client6, 16) == 0 && r.dport == 1000,
	   "install: toward the original client");
	is_int(session_install(t, &rec, 10000006), 0, "install: idempotent");
	rec.client_port = 1001;
	is_int(session_install(t, &rec, 10000006), -EEXIST,
	       "install: conflicting mapping refused");
	/* Pinned entries are never evicted. */
	session_set_state(t, &key, SESSION_LOCAL, true, 10000007);
	session_flush(t);
	is_int((int)gauge(t, SESSION_G_count), 0, "flush empties the table");
	free_table(t, pool);
}

static int ev_count[3];
static struct session_table *ev_table;
static size_t ev_seen_sessions;
static void count_one(void *arg, const struct session_record *rec)
{
	(void)rec;
	(*(size_t *)arg)++;
}
static void on_event(void *arg, enum session_event ev, const struct session_record *rec)
{
	ev_count[ev]++;
	*(struct session_record *)arg = *rec;
	/* The hook runs without the table lock: it may even call into the
	 * table (a deadlock here would trip the alarm in main). */
	ev_seen_sessions = 0;
	session_foreach(ev_table, count_one, &ev_seen_sessions);
}

/* The hook the handoff client uses: created, deleted (timer), evicted,
 * delivered after the lock; nothing about a session a remote opened
 * until the client sends on it. */
static void test_events(void)
{
	struct session_cfg cfg = fixture_session_cfg(2, 4);
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	ev_table = t;
	struct session_record last;
	session_table_set_hook(t, on_event, &last);
	struct nat64_tuple o;
	struct nat64_tuple a = t6(IPPROTO_UDP, "2001:db8:1::1", 1000, "198.51.100.7", 53);
	struct nat64_tuple b = t6(IPPROTO_UDP, "2001:db8:2::1", 1000, "198.51.100.7", 53);
	struct nat64_tuple c = t6(IPPROTO_UDP, "2001:db8:3::1", 1000, "198.51.100.7", 53);
	out6(t, &a, 0, 0, &o);
	is_int(ev_count[SESSION_EV_CREATED], 1, "hook: created");
	ok(last.pool_port == o.sport && last.remote_port == 53 && last.proto == IPPROTO_UDP,
	   "hook: the record names the mapping");
	is_int((int)ev_seen_sessions, 1, "hook: called after the lock, sees the new session");
	out6(t, &b, 0, 2000, &o);
	out6(t, &c, 0, 4000, &o);
	is_int(ev_count[SESSION_EV_EVICTED], 1, "hook: evicted when full");
	ok(memcmp(&last.client6, &c.src.v6, 16) == 0, "hook: then the new one created");
	session_expire(t, 2000 + 300000, NULL, NULL);
	is_int(ev_count[SESSION_EV_DELETED], 1, "hook: deleted by its timer");

	/* A stranger writes to c's mapping (endpoint-independent filtering):
	 * a session, but no event naming the client toward the stranger. */
	struct session_events evs;
	struct nat64_tuple r;
	bool stored;
	struct nat64_tuple in = t4(IPPROTO_UDP, "203.0.113.66", 4444, o.src.v4, o.sport);
	int created = ev_count[SESSION_EV_CREATED];
	is_int(session_handle4(t, &in, 0, false, 5000, (const uint8_t *)"x", 1, &stored, &r, &evs),
	       NAT64_CONTINUE, "quiet: a stranger's packet passes (EIF)");
	is_int((int)evs.n, 0, "quiet: and records no event");
	is_int((int)ctr(t, SESSION_C_unannounced), 1, "quiet: counted as unannounced");
	session_handle4(t, &in, 0, false, 5001, (const uint8_t *)"x", 1, &stored, &r, &evs);
	is_int((int)evs.n, 0, "quiet: nor does its second packet");
	struct nat64_tuple reply = t6(IPPROTO_UDP, "2001:db8:3::1", 1000, "203.0.113.66", 4444);
	is_int(session_handle6(t, &reply, in.src.v4, 96, 0, false, 5002, &o, &evs), NAT64_CONTINUE,
	       "quiet: the client answers");
	ok(evs.n == 1 && evs.v[0].ev == SESSION_EV_CREATED &&
	   evs.v[0].rec.remote4.s_addr == in.src.v4.s_addr, "quiet: now CREATED toward that host");
	is_int(ev_count[SESSION_EV_CREATED], created, "quiet: recorded, not yet delivered");
	session_events_deliver(&evs);
	is_int(ev_count[SESSION_EV_CREATED], created + 1, "quiet: delivered by the caller");
	is_int((int)evs.n, 0, "quiet: delivery empties the record");

	/* A stranger's session that the client never used goes silently. */
	struct nat64_tuple in2 = t4(IPPROTO_UDP, "203.0.113.67", 4444, o.src.v4, o.sport);
	session_handle4(t, &in2, 0, false, 6000, (const uint8_t *)"x", 1, &stored, &r, &evs);
	int deleted = ev_count[SESSION_EV_DELETED];
	is_int((int)session_expire(t, 6000 + 300000, NULL, NULL), 2, "quiet: both sessions expire");
	is_int(ev_count[SESSION_EV_DELETED], deleted + 1, "quiet: only the announced one is retracted");
	/* A SYN from a stranger to a TCP mapping: the client's stack answers
	 * with a RST, which names nobody to the stranger. */
	struct nat64_tuple tc = t6(IPPROTO_TCP, "2001:db8:3::1", 2000, "198.51.100.7", 80), to;
	out6(t, &tc, SYN, 400000, &to);
	int created_tcp = ev_count[SESSION_EV_CREATED];
	struct nat64_tuple syn = t4(IPPROTO_TCP, "203.0.113.70", 5556, to.src.v4, to.sport);
	session_handle4(t, &syn, SYN, false, 400001, (const uint8_t *)"x", 1, &stored, &r, &evs);
	struct nat64_tuple rst = t6(IPPROTO_TCP, "2001:db8:3::1", 2000, "203.0.113.70", 5556);
	session_handle6(t, &rst, syn.src.v4, 96, RST | ACK, false, 400002, &o, &evs);
	is_int((int)evs.n, 0, "quiet: the client's RST to a stranger's SYN announces nothing");
	session_handle6(t, &rst, syn.src.v4, 96, SYN | ACK, false, 400003, &o, &evs);
	is_int((int)evs.n, 1, "quiet: its SYN-ACK (a listening socket answers) does");
	session_events_deliver(&evs);
	is_int(ev_count[SESSION_EV_CREATED], created_tcp + 1, "quiet: delivered once");

	session_table_set_hook(t, NULL, NULL);
	free_table(t, pool);
}

/* --- eviction order (session_evict.c) with a fake clock --- */

static const char *R4 = "198.51.100.7";

/* One UDP datagram out; with `answer` the remote replies. */
static void udp_flow(struct session_table *t, const char *client, uint16_t cport, uint16_t rport,
		     bool answer, uint64_t now)
{
	struct nat64_tuple in = t6(IPPROTO_UDP, client, cport, R4, rport), o, r;
	if (out6(t, &in, 0, now, &o) != NAT64_CONTINUE || !answer)
		return;
	bool stored;
	struct nat64_tuple back = t4(IPPROTO_UDP, R4, rport, o.src.v4, o.sport);
	in4(t, &back, 0, now, &stored, &r);
}

/* A TCP connection from the client: SYN, SYN-ACK and (with `confirm`) the
 * client's ACK. */
static void tcp_conn(struct session_table *t, const char *client, uint16_t cport, bool confirm,
		     uint64_t now)
{
	struct nat64_tuple in = t6(IPPROTO_TCP, client, cport, R4, 443), o, r;
	if (out6(t, &in, SYN, now, &o) != NAT64_CONTINUE)
		return;
	bool stored;
	struct nat64_tuple back = t4(IPPROTO_TCP, R4, 443, o.src.v4, o.sport);
	in4(t, &back, SYN | ACK, now, &stored, &r);
	if (confirm)
		out6(t, &in, ACK, now, &o);
}

struct find_arg {
	uint8_t proto;
	struct in6_addr client;
	uint16_t cport;
	int found;
	uint8_t ec;
};

static void find_one(void *arg, const struct session_record *r)
{
	struct find_arg *f = arg;
	if (r->proto == f->proto && r->client_port == f->cport &&
	    memcmp(&r->client6, &f->client, 16) == 0) {
		f->found = 1;
		f->ec = r->evict_class;
	}
}

/* "gone", or the eviction class of the client's session on cport. */
static const char *class_of(struct session_table *t, uint8_t proto, const char *client,
			    uint16_t cport)
{
	struct find_arg f = { .proto = proto, .client = ip6(client), .cport = cport };
	session_foreach(t, find_one, &f);
	return f.found ? session_evict_class_name(f.ec) : "gone";
}

static void test_evict_classes(void)
{
	struct session_cfg cfg = fixture_session_cfg(8, 8);
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	const char *A = "2001:db8:a::1", *B = "2001:db8:b::1", *C = "2001:db8:c::1",
		   *D = "2001:db8:d::1";
	tcp_conn(t, A, 100, true, 1000);
	tcp_conn(t, A, 101, false, 1000);
	udp_flow(t, A, 102, 53, true, 1000);
	is_str(class_of(t, IPPROTO_TCP, A, 100), "established", "class: a confirmed connection");
	is_str(class_of(t, IPPROTO_TCP, A, 101), "live",
	       "class: SYN answered, the client's ACK not yet seen");
	is_str(class_of(t, IPPROTO_UDP, A, 102), "live", "class: answered UDP");
	udp_flow(t, B, 200, 53, false, 2000);
	udp_flow(t, B, 201, 53, false, 3000);
	udp_flow(t, B, 202, 53, false, 4000);
	is_str(class_of(t, IPPROTO_UDP, B, 200), "cheap", "class: one-way UDP");
	struct session_record key = { .proto = IPPROTO_UDP, .remote4 = ip4(R4), .remote_port = 53 };
	struct nat64_tuple probe = t6(IPPROTO_UDP, B, 202, R4, 53), o;
	out6(t, &probe, 0, 4000, &o);
	key.pool4 = o.src.v4;
	key.pool_port = o.sport;
	session_set_state(t, &key, SESSION_ACKED, false, 4000);
	is_str(class_of(t, IPPROTO_UDP, B, 202), "acked", "class: a handoff cache entry");
	udp_flow(t, C, 300, 53, false, 5000);
	udp_flow(t, C, 301, 53, false, 6000);
	is_int((int)gauge(t, SESSION_G_count), 8, "order: the table is full");
	is_int((int)gauge(t, SESSION_G_cheap), 4, "order: four cheap entries counted");

	udp_flow(t, D, 400, 53, false, 7000);
	is_str(class_of(t, IPPROTO_UDP, B, 202), "gone", "order: 1. the acked entry goes first");
	is_int((int)ctr(t, SESSION_C_evicted_acked), 1, "order: counted as evicted_acked");
	udp_flow(t, D, 401, 53, false, 8000);
	is_str(class_of(t, IPPROTO_UDP, B, 200), "gone",
	       "order: 2. then the oldest cheap entry of a heaviest holder (B and C hold two)");
	is_str(class_of(t, IPPROTO_UDP, B, 201), "cheap", "order: ... its newer one stays");
	udp_flow(t, D, 402, 53, false, 9000);
	is_str(class_of(t, IPPROTO_UDP, C, 300), "gone",
	       "order: C held two cheap entries the longest: its oldest goes");
	/* D now holds three cheap entries, over its share (8 / 4 clients). */
	udp_flow(t, D, 403, 53, false, 10000);
	is_str(class_of(t, IPPROTO_UDP, D, 400), "gone",
	       "order: a client over its share recycles its own oldest cheap entry");
	is_str(class_of(t, IPPROTO_UDP, B, 201), "cheap", "order: ... B's last one stays");
	is_int((int)ctr(t, SESSION_C_evicted_cheap), 3, "order: three cheap evictions");
	is_str(class_of(t, IPPROTO_TCP, A, 100), "established", "order: the connection is intact");
	is_int((int)ctr(t, SESSION_C_evicted_live) + (int)ctr(t, SESSION_C_evicted_est) +
	       (int)ctr(t, SESSION_C_displaced), 0, "order: nothing live was touched");
	free_table(t, pool);
}

static void test_fair_share(void)
{
	struct session_cfg cfg = fixture_session_cfg(8, 8);
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	const char *A = "2001:db8:a::1", *B = "2001:db8:b::1", *C = "2001:db8:c::1";
	/* A holds six confirmed connections, B two: the share is 8 / 2. */
	for (uint16_t i = 0; i < 6; i++)
		tcp_conn(t, A, (uint16_t)(100 + i), true, 1000 + i * 1000u);
	tcp_conn(t, B, 200, true, 10000);
	tcp_conn(t, B, 201, true, 11000);
	/* C is new, within its share; A is over it. */
	udp_flow(t, C, 300, 53, false, 20000);
	is_str(class_of(t, IPPROTO_TCP, A, 100), "gone",
	       "fair: a new client displaces the oldest entry of the client over its share");
	is_int((int)ctr(t, SESSION_C_displaced), 1, "fair: counted as displaced");
	udp_flow(t, C, 301, 53, false, 21000);
	is_str(class_of(t, IPPROTO_UDP, C, 300), "cheap",
	       "fair: a client within its share keeps its own pending flow ...");
	is_str(class_of(t, IPPROTO_TCP, A, 101), "gone", "fair: ... while A is over its share");
	is_str(class_of(t, IPPROTO_TCP, B, 200), "established", "fair: B keeps both ...");
	is_str(class_of(t, IPPROTO_TCP, B, 201), "established", "fair: ... connections");
	/* A, now at its share (4 of 8), opens another: cheap entries first. */
	tcp_conn(t, A, 110, true, 30000);
	is_str(class_of(t, IPPROTO_UDP, C, 300), "gone", "fair: A at its share takes a cheap entry");
	is_str(class_of(t, IPPROTO_TCP, B, 200), "established", "fair: ... never B's connection");
	is_str(class_of(t, IPPROTO_TCP, A, 110), "established", "fair: A's new one is up");
	free_table(t, pool);

	/* Answered UDP goes before established TCP (a class below it), from
	 * the client holding more. */
	t = new_table(&cfg, &pool);
	for (uint16_t i = 0; i < 5; i++)
		tcp_conn(t, A, (uint16_t)(100 + i), true, 1000 + i * 1000u);
	udp_flow(t, B, 200, 53, true, 10000);
	udp_flow(t, B, 201, 53, true, 11000);
	udp_flow(t, B, 202, 53, true, 12000);
	udp_flow(t, C, 300, 53, false, 20000);
	is_str(class_of(t, IPPROTO_UDP, B, 200), "gone", "fair: B's oldest answered flow goes");
	is_str(class_of(t, IPPROTO_TCP, A, 100), "established",
	       "fair: A (alone with connections, so within its share) keeps them");
	free_table(t, pool);

	/* A client over its share pays for its own new connection. */
	t = new_table(&cfg, &pool);
	for (uint16_t i = 0; i < 5; i++)
		tcp_conn(t, A, (uint16_t)(100 + i), true, 1000 + i * 1000u);
	for (uint16_t i = 0; i < 3; i++)
		tcp_conn(t, B, (uint16_t)(200 + i), true, 10000 + i * 1000u);
	tcp_conn(t, A, 110, true, 20000);
	is_str(class_of(t, IPPROTO_TCP, A, 100), "gone", "fair: A over its share loses its oldest");
	ok(!strcmp(class_of(t, IPPROTO_TCP, B, 200), "established") &&
	   !strcmp(class_of(t, IPPROTO_TCP, B, 201), "established") &&
	   !strcmp(class_of(t, IPPROTO_TCP, B, 202), "established"), "fair: ... B loses nothing");
	free_table(t, pool);
}

/* A spoofed flood of one-packet flows from many /56s (2 each) against a
 * table of 256: the established connections live on, and a new one made
 * during the flood gets through. */
static void test_flood(void)
{
	struct session_cfg cfg = fixture_session_cfg(256, 256);
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	const char *L = "2001:db8:1::10";
	tcp_conn(t, L, 1000, true, 1000);
	tcp_conn(t, L, 1001, true, 1000);
	char spoof[64];
	uint64_t now = 2000;
	for (unsigned k = 0; k < 4000; k++) {
		snprintf(spoof, sizeof(spoof), "2001:db8:%x:%x00::1", 0x100 + k / 2 / 256,
			 k / 2 % 256);
		udp_flow(t, spoof, (uint16_t)(2000 + k % 2), 53, false, now++);
		if (k == 2000) {
			/* Mid-flood, the client opens a third connection. */
			struct nat64_tuple in = t6(IPPROTO_TCP, L, 1002, R4, 443), o, r;
			out6(t, &in, SYN, now, &o);
			for (int j = 0; j < 20; j++) {
				snprintf(spoof, sizeof(spoof), "2001:db8:fff:%x00::1", j);
				udp_flow(t, spoof, 9, 53, false, now++);
			}
			bool stored;
			struct nat64_tuple back = t4(IPPROTO_TCP, R4, 443, o.src.v4, o.sport);
			is_int(in4(t, &back, SYN | ACK, now, &stored, &r), NAT64_CONTINUE,
			       "flood: the new connection's SYN-ACK finds its session");
			out6(t, &in, ACK, now, &o);
		}
	}
	is_str(class_of(t, IPPROTO_TCP, L, 1000), "established", "flood: connection 1 survives");
	is_str(class_of(t, IPPROTO_TCP, L, 1001), "established", "flood: connection 2 survives");
	is_str(class_of(t, IPPROTO_TCP, L, 1002), "established",
	       "flood: the connection opened during the flood survives");
	ok(ctr(t, SESSION_C_evicted_cheap) >= 4000 - 256, "flood: the flood recycled itself");
	is_int((int)(ctr(t, SESSION_C_evicted_live) + ctr(t, SESSION_C_evicted_est) +
		     ctr(t, SESSION_C_displaced)), 0, "flood: no live entry was evicted");
	free_table(t, pool);
}

/* A full pool address makes room: a mapping of the heaviest holders comes
 * back; an answered mapping of a client no heavier stays. */
static void test_pool_exhaustion(void)
{
	struct session_cfg cfg = fixture_session_cfg(64, 64);
	int err;
	struct pool4 *pool = pool4_new(1);
	pool4_add(pool, ip4("192.0.2.1"), 32, 5000, 5007);
	struct session_table *t = session_table_new(&cfg, pool, 1, &err);
	struct nat64_tuple o;
	const char *A = "2001:db8:a::1", *B = "2001:db8:b::1", *C = "2001:db8:c::1",
		   *D = "2001:db8:d::1";
	/* A: 6 mappings, answered; B: 2 answered. The address is full. */
	for (uint16_t i = 0; i < 6; i++)
		udp_flow(t, A, (uint16_t)(100 + i), 53, true, 1000 + i);
	udp_flow(t, B, 200, 53, true, 2000);
	udp_flow(t, B, 201, 53, true, 2001);
	size_t size;
	is_int((int)pool4_used(pool, IPPROTO_UDP, ip4("192.0.2.1"), &size), 8, "pool: full");
	struct nat64_tuple in = t6(IPPROTO_UDP, C, 300, R4, 53);
	is_int(out6(t, &in, 0, 3000, &o), NAT64_CONTINUE, "pool: a new client still gets a port");
	is_int((int)ctr(t, SESSION_C_pool_reclaimed), 1, "pool: a mapping was taken back");
	ok(!strcmp(class_of(t, IPPROTO_UDP, B, 200), "live") &&
	   !strcmp(class_of(t, IPPROTO_UDP, B, 201), "live"),
	   "pool: ... from A, the heaviest holder, not from B");
	is_int((int)gauge(t, SESSION_G_count), 8, "pool: A lost one mapping");
	/* Four clients of two answered mappings each: nobody is heavier than
	 * a client with one, so D is refused rather than taking a live one. */
	udp_flow(t, C, 301, 53, true, 4000);
	udp_flow(t, C, 300, 53, true, 4001);
	udp_flow(t, A, 150, 53, false, 4002);	/* A recycles: a cheap one */
	in = t6(IPPROTO_UDP, D, 400, R4, 53);
	uint64_t before = ctr(t, SESSION_C_pool_reclaimed);
	enum nat64_verdict v = out6(t, &in, 0, 5000, &o);
	is_int(v, NAT64_CONTINUE, "pool: D takes A's cheap mapping ...");
	is_int((int)(ctr(t, SESSION_C_pool_reclaimed) - before), 1, "pool: ... reclaimed");
	in = t6(IPPROTO_UDP, D, 401, R4, 53);
	udp_flow(t, D, 400, 53, true, 5001);
	struct nat64_tuple in2 = t6(IPPROTO_UDP, "2001:db8:e::1", 500, R4, 53);
	/* E (no ports) against A (4 or more), B, C (2), D (1): A is heavier. */
	is_int(out6(t, &in2, 0, 6000, &o), NAT64_CONTINUE, "pool: E displaces A again");
	free_table(t, pool);

	/* Equal holders of answered mappings: refused, POOL_EXHAUSTED. */
	pool = pool4_new(1);
	pool4_add(pool, ip4("192.0.2.1"), 32, 5000, 5001);
	t = session_table_new(&cfg, pool, 1, &err);
	udp_flow(t, A, 100, 53, true, 1000);
	udp_flow(t, B, 200, 53, true, 1000);
	in = t6(IPPROTO_UDP, C, 300, R4, 53);
	is_int(out6(t, &in, 0, 2000, &o), NAT64_DROP_POOL_EXHAUSTED,
	       "pool: no live mapping of a client no heavier than the newcomer is taken");
	free_table(t, pool);
}

/* RFC 6888 REQ-4: a client's share of ports; at it the client reuses its
 * own cheapest mapping, and is refused when all of them are live. */
static void test_port_share(void)
{
	struct session_cfg cfg = fixture_session_cfg(64, 64);
	cfg.max_ports_per_client = 4;
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	const char *A = "2001:db8:a::1";
	for (uint16_t i = 0; i < 3; i++)
		tcp_conn(t, A, (uint16_t)(100 + i), true, 1000 + i);
	struct nat64_tuple in = t6(IPPROTO_TCP, A, 103, R4, 443), o;
	out6(t, &in, SYN, 1003, &o);	/* a lone SYN */
	in = t6(IPPROTO_TCP, A, 200, R4, 443);
	is_int(out6(t, &in, SYN, 2000, &o), NAT64_CONTINUE, "share: a fifth mapping ...");
	is_str(class_of(t, IPPROTO_TCP, A, 103), "gone",
	       "share: ... reuses the client's unanswered SYN's");
	is_str(class_of(t, IPPROTO_TCP, A, 100), "established", "share: its connections stay");
	free_table(t, pool);

	/* Connections the server closed (FIN) and the client then reset:
	 * dead, so the client's next connection reuses one of them. */
	t = new_table(&cfg, &pool);
	for (uint16_t i = 0; i < 4; i++) {
		tcp_conn(t, A, (uint16_t)(100 + i), true, 1000 + i);
		struct nat64_tuple c6 = t6(IPPROTO_TCP, A, (uint16_t)(100 + i), R4, 443), o4, r4;
		out6(t, &c6, ACK, 1000 + i, &o4);
		bool st;
		struct nat64_tuple b4 = t4(IPPROTO_TCP, R4, 443, o4.src.v4, o4.sport);
		in4(t, &b4, FIN | ACK, 1000 + i, &st, &r4);
		out6(t, &c6, RST, 1000 + i, &o4);
	}
	in = t6(IPPROTO_TCP, A, 200, R4, 443);
	is_int(out6(t, &in, SYN, 2000, &o), NAT64_CONTINUE,
	       "share: at the share, a connection reset after the server's FIN is reused");
	free_table(t, pool);

	t = new_table(&cfg, &pool);
	for (uint16_t i = 0; i < 4; i++)
		udp_flow(t, A, (uint16_t)(100 + i), 53, i != 2, 1000 + i);
	in = t6(IPPROTO_UDP, A, 200, R4, 53);
	is_int(out6(t, &in, 0, 2000, &o), NAT64_CONTINUE, "share: UDP at the share ...");
	is_str(class_of(t, IPPROTO_UDP, A, 102), "gone", "share: ... reuses the one-way mapping");
	is_int((int)ctr(t, SESSION_C_port_recycled), 1, "share: counted as port_recycled");
	in = t6(IPPROTO_UDP, A, 201, R4, 53);
	udp_flow(t, A, 200, 53, true, 2001);
	is_int(out6(t, &in, 0, 3000, &o), NAT64_DROP_PORT_LIMIT,
	       "share: refused when every mapping of the client is answered");
	in = t6(IPPROTO_TCP, A, 201, R4, 443);
	is_int(out6(t, &in, SYN, 3000, &o), NAT64_CONTINUE, "share: counted per protocol");
	free_table(t, pool);
}

/* The handoff engine's hooks (issue 18): a preferred port and a veto. */
static uint16_t hint;
static struct in_addr hint_remote;
static uint16_t pp_preferred(void *arg, uint8_t proto, struct in_addr pool4,
			     struct in_addr remote4)
{
	(void)arg;
	(void)proto;
	(void)pool4;
	hint_remote = remote4;
	return hint;
}
static uint16_t vetoed_port;
static bool pp_veto(void *arg, uint8_t proto, struct in_addr pool4, uint16_t port)
{
	(void)arg;
	(void)proto;
	(void)pool4;
	return port == vetoed_port;
}

static void test_port_policy(void)
{
	struct session_cfg cfg = base_cfg();
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	struct session_port_policy pp = { .preferred = pp_preferred, .veto = pp_veto };
	session_table_set_port_policy(t, &pp);
	hint = 40001;
	struct nat64_tuple in = t6(IPPROTO_TCP, "2001:db8:a::1", 1000, R4, 443), o;
	out6(t, &in, SYN, 1000, &o);
	is_int(o.sport, 40001, "policy: the preferred port is used");
	ok(hint_remote.s_addr == ip4(R4).s_addr, "policy: the hint is asked for that remote");
	hint = 0;
	vetoed_port = 2000;
	int vetoed = 0;
	for (uint16_t i = 0; i < 3; i++) {
		in = t6(IPPROTO_UDP, "2001:db8:b::1", (uint16_t)(2000 + 2 * i), R4, 53);
		out6(t, &in, 0, 1000, &o);
		vetoed += o.sport == 2000;
	}
	is_int(vetoed, 0, "policy: a vetoed port is never handed out");
	session_table_set_port_policy(t, NULL);
	hint = 40003;
	in = t6(IPPROTO_TCP, "2001:db8:c::1", 1001, R4, 443);
	out6(t, &in, SYN, 1000, &o);
	ok(o.sport != 40003 || (o.sport & 1), "policy: removed, no hint is asked");
	free_table(t, pool);
}

/* Random traffic against a small table and pool, with a fake clock: every
 * step keeps the eviction lists, counts and buckets consistent. */
struct pick_arg {
	unsigned want, seen;
	struct session_record rec;
};

static void pick_nth(void *arg, const struct session_record *r)
{
	struct pick_arg *p = arg;
	if (p->seen++ == p->want)
		p->rec = *r;
}

static void test_random_traffic(void)
{
	struct session_cfg cfg = fixture_session_cfg(64, 40);
	cfg.max_ports_per_client = 3;
	int err;
	struct pool4 *pool = pool4_new(9);
	pool4_add(pool, ip4("192.0.2.1"), 32, 5000, 5023);
	struct session_table *t = session_table_new(&cfg, pool, 3, &err);
	srand(2024);
	uint64_t now = 1000;
	int broken = 0, first_rule = 0, over = 0;
	unsigned steps = 20000;
	for (unsigned k = 0; k < steps; k++) {
		char client[64];
		snprintf(client, sizeof(client), "2001:db8:%x::%x", rand() % 12, 1 + rand() % 3);
		uint16_t cport = (uint16_t)(1000 + rand() % 24);
		uint16_t rport = (uint16_t)(1 + rand() % 6);
		struct nat64_tuple in, o, r;
		bool stored;
		int op = rand() % 10;
		now += (uint64_t)(rand() % 3000);
		switch (op) {
		case 0: case 1: case 2:
			udp_flow(t, client, cport, rport, rand() % 2, now);
			break;
		case 3: case 4:
			tcp_conn(t, client, cport, rand() % 2, now);
			break;
		case 5: {	/* FIN or RST from either side */
			in = t6(IPPROTO_TCP, client, cport, R4, 443);
			uint8_t f = rand() % 2 ? FIN | ACK : RST;
			if (out6(t, &in, f, now, &o) == NAT64_CONTINUE && rand() % 2) {
				struct nat64_tuple back = t4(IPPROTO_TCP, R4, 443, o.src.v4, o.sport);
				in4(t, &back, f, now, &stored, &r);
			}
			break;
		}
		case 6: {	/* a stranger writes to a random pool port */
			struct nat64_tuple s4 = t4(rand() % 2 ? IPPROTO_UDP : IPPROTO_TCP,
						   "203.0.113.9", (uint16_t)(rand() % 100),
						   ip4("192.0.2.1"), (uint16_t)(5000 + rand() % 24));
			in4(t, &s4, SYN, now, &stored, &r);
			break;
		}
		case 7: case 8: {	/* a handoff server acks (or lets go of) one entry */
			struct pick_arg p = { .want = (unsigned)rand() % 64 };
			session_foreach(t, pick_nth, &p);
			if (p.seen > p.want)
				session_set_state(t, &p.rec, rand() % 3 ? SESSION_ACKED : SESSION_LOCAL,
						  rand() % 4 == 0, now);
			break;
		}
		default:
			session_expire(t, now, NULL, NULL);
			if (rand() % 200 == 0)
				session_flush(t);
			break;
		}
		int rc = session_table_check(t);
		if (rc && !broken++)
			first_rule = rc, printf("#   step %u: rule %d broken\n", k, rc);
		over += gauge(t, SESSION_G_count) > 64;
	}
	is_int(broken, 0, "random: 20000 steps keep lists, counts and buckets consistent");
	if (first_rule)
		printf("#   first broken rule %d\n", first_rule);
	is_int(over, 0, "random: the table never holds more than its size");
	printf("#   evicted_cheap %llu pool_reclaimed %llu port_recycled %llu\n",
	       (unsigned long long)ctr(t, SESSION_C_evicted_cheap),
	       (unsigned long long)ctr(t, SESSION_C_pool_reclaimed),
	       (unsigned long long)ctr(t, SESSION_C_port_recycled));
	ok(ctr(t, SESSION_C_evicted_cheap) > 0 && ctr(t, SESSION_C_pool_reclaimed) > 0 &&
	   ctr(t, SESSION_C_port_recycled) > 0, "random: eviction, reclaim and recycling all ran");
	session_flush(t);
	size_t size;
	is_int((int)pool4_used(pool, IPPROTO_UDP, ip4("192.0.2.1"), &size) +
	       (int)pool4_used(pool, IPPROTO_TCP, ip4("192.0.2.1"), &size), 0,
	       "random: after a flush every port is back in the pool");
	free_table(t, pool);
}

/* pool4 versions: a new pool knows the live mappings of the old one. */
static void test_new_pool(void)
{
	struct session_cfg cfg = base_cfg();
	int err;
	struct pool4 *p1 = pool4_new(3);
	pool4_add(p1, ip4("192.0.2.1"), 32, 5000, 5001);
	struct session_table *t = session_table_new(&cfg, p1, 1, &err);
	struct nat64_tuple o, o2;
	struct nat64_tuple in = t6(IPPROTO_UDP, "2001:db8:a::1", 100, R4, 53);
	out6(t, &in, 0, 1000, &o);
	struct pool4 *p2 = pool4_new(4);
	pool4_add(p2, ip4("192.0.2.1"), 32, 5000, 5001);
	session_table_set_pool(t, p2);
	pool4_free(p1);
	is_int((int)pool4_used(p2, IPPROTO_UDP, ip4("192.0.2.1"), NULL), 1,
	       "new pool: the live mapping is marked in it");
	in = t6(IPPROTO_UDP, "2001:db8:b::1", 100, R4, 53);
	out6(t, &in, 0, 1000, &o2);
	ok(o2.sport != o.sport, "new pool: and not handed out twice");
	session_flush(t);
	is_int((int)pool4_used(p2, IPPROTO_UDP, ip4("192.0.2.1"), NULL), 0,
	       "new pool: ports come back to it");
	free_table(t, p2);
}

static void test_icmp(void)
{
	struct session_cfg cfg = base_cfg();
	struct pool4 *pool;
	struct session_table *t = new_table(&cfg, &pool);
	struct nat64_tuple in = t6(IPPROTO_ICMPV6, "2001:db8:1::100", 77, "198.51.100.7", 77), o, r;
	is_int(out6(t, &in, 0, 0, &o), NAT64_CONTINUE, "icmp: echo request creates");
	ok(o.proto == IPPROTO_ICMP && o.sport == o.dport, "icmp: identifier in both ports");
	bool stored;
	struct nat64_tuple back = t4(IPPROTO_ICMP, "198.51.100.7", o.sport, o.src.v4, o.sport);
	is_int(in4(t, &back, 0, 1, &stored, &r), NAT64_CONTINUE, "icmp: reply found");
	ok(r.proto == IPPROTO_ICMPV6 && r.sport == 77 && r.dport == 77,
	   "icmp: the client's identifier restored");
	is_int((int)session_expire(t, 1 + 60000, NULL, NULL), 1, "icmp: 60 s timer");
	free_table(t, pool);
}

int main(void)
{
	plan(159);
	alarm(20);	/* a hook called under the lock would deadlock */
	test_udp_mapping();
	test_lazy_relink();
	test_adf();
	test_tcp();
	test_simultaneous_open();
	test_lru_and_cap();
	test_handoff_states();
	test_evict_classes();
	test_fair_share();
	test_flood();
	test_pool_exhaustion();
	test_port_share();
	test_port_policy();
	test_new_pool();
	test_random_traffic();
	test_events();
	test_icmp();
	return tap_done();
}
