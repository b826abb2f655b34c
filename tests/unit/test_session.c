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
#include "tests/unit/tap.h"

#define SYN 0x02
#define FIN 0x01
#define RST 0x04
#define ACK 0x10

static struct in_addr ip4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;
	inet_pton(AF_INET6, s, &a);
	return a;
}

static struct session_cfg base_cfg(void)
{
	return (struct session_cfg){
		.max_sessions = 8, .max_per_client = 4, .client_prefix_len = 56,
		.filtering = FILTER_ENDPOINT_INDEPENDENT,
		.tcp_est_ms = 7440000, .tcp_trans_ms = 240000, .tcp_syn_wait_ms = 6000,
		.udp_ms = 300000, .icmp_ms = 60000,
	};
}

/* An IPv6-side tuple: client -> 64:ff9b::remote4. */
static struct nat64_tuple t6(uint8_t proto, const char *client, uint16_t cport, const char *r4,
			     uint16_t rport)
{
	struct nat64_tuple t = { .family = AF_INET6, .proto = proto, .sport = cport,
				 .dport = rport };
	t.src.v6 = ip6(client);
	rfc6052_embed(&rfc6052_wkp, 96, ip4(r4), &t.dst.v6);
	return t;
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

static enum nat64_verdict out6(struct session_table *t, const struct nat64_tuple *in,
			       uint8_t flags, uint64_t now, struct nat64_tuple *out)
{
	struct in_addr r4;
	rfc6052_extract(&in->dst.v6, 96, &r4);
	return session_handle6(t, in, r4, 96, flags, false, now, out, NULL);
}

static enum nat64_verdict in4(struct session_table *t, const struct nat64_tuple *in,
			      uint8_t flags, uint64_t now, bool *stored, struct nat64_tuple *out)
{
	static const uint8_t pkt[40] = { 0x45 };
	return session_handle4(t, in, flags, false, now, pkt, sizeof(pkt), stored, out, NULL);
}

static struct session_counters counters(struct session_table *t)
{
	struct session_counters c;
	session_get_counters(t, &c);
	return c;
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
	is_int((int)counters(t).bibs, 1, "udp: one BIB entry for two sessions");
	is_int((int)counters(t).sessions, 2, "udp: two sessions");

	struct nat64_tuple back = t4(IPPROTO_UDP, "198.51.100.7", 53, o.src.v4, o.sport), r;
	bool stored;
	is_int(in4(t, &back, 0, 2000, &stored, &r), NAT64_CONTINUE, "udp: reply finds the session");
	ok(r.family == AF_INET6 && memcmp(&r.dst.v6, &in.src.v6, 16) == 0 && r.dport == 5000 &&
	   memcmp(&r.src.v6, &in.dst.v6, 16) == 0 && r.sport == 53,
	   "udp: reply tuple goes back to the client from the prefix address");

	/* Endpoint-independent filtering: a third host may use the mapping. */
	struct nat64_tuple stranger = t4(IPPROTO_UDP, "192.0.2.200", 9999, o.src.v4, o.sport);
	is_int(in4(t, &stranger, 0, 2000, &stored, &r), NAT64_CONTINUE,
	       "eif: an unknown remote reaches the mapping");
	is_int((int)counters(t).sessions, 3, "eif: and gets its own session");
	struct nat64_tuple closed = t4(IPPROTO_UDP, "192.0.2.200", 9999, o.src.v4,
				       (uint16_t)(o.sport + 2));
	is_int(in4(t, &closed, 0, 2000, &stored, &r), NAT64_DROP_NO_SESSION,
	       "a port without a mapping: no session");

	/* Timers: UDP lives udp_ms after its last packet. */
	is_int((int)session_expire(t, 1000 + 300000 - 1, NULL, NULL), 0, "udp: alive before timeout");
	is_int((int)session_expire(t, 2000 + 300000, NULL, NULL), 3, "udp: all gone after timeout");
	is_int((int)counters(t).bibs, 0, "udp: BIB entry goes with its last session");
	is_int((int)counters(t).clients, 0, "udp: client entry goes too");
	session_table_free(t);
	pool4_free(pool);
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
	session_table_free(t);
	pool4_free(pool);
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
	is_int((int)counters(t).filtered, 1, "adf: counted");
	session_table_free(t);
	pool4_free(pool);
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

	/* V6 INIT without answer expires at the transitory timer. */
	out6(t, &in, SYN, 0, &o);
	is_int((int)session_expire(t, 240000, NULL, NULL), 1, "tcp: unanswered SYN expires");
	session_table_free(t);
	pool4_free(pool);
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
	is_int((int)counters(t).syn_matched, 1, "so: the stored SYN is discarded");
	session_expire(t, 10000, on_syn_timeout, &len);
	is_int(syn_timeouts, 1, "so: and never answered with an error");
	is_int(in4(t, &fromB, SYN | ACK, 11, &stored, &r), NAT64_CONTINUE,
	       "so: B's packets now pass");
	session_table_free(t);
	pool4_free(pool);
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
	is_int((int)counters(t).sessions, 8, "lru: table full");
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
	is_int((int)counters(t).evicted, 1, "lru: one eviction");
	struct nat64_tuple gone = t6(IPPROTO_UDP, "2001:db8:1::1", 1001, "198.51.100.7", 53);
	struct in_addr r4 = ip4("198.51.100.7");
	is_int(session_handle6(t, &gone, r4, 96, 0, true, 301000, &o, NULL), NAT64_DROP_NO_SESSION,
	       "lru: the least recently used session was evicted");
	is_int(session_handle6(t, &oldest, r4, 96, 0, true, 301000, &o, NULL), NAT64_CONTINUE,
	       "lru: the refreshed one stayed");
	is_int(out6(t, &fifth, 0, 400000, &o), NAT64_CONTINUE, "cap: room again after the eviction");
	session_table_free(t);
	pool4_free(pool);
}

static void test_handoff_states(void)
{
	struct session_cfg cfg = base_cfg();
	cfg.max_sessions = 2;
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
	is_int((int)counters(t).acked, 1, "ack: counted as acked");
	/* Full table: the acked entry goes first even though it is newer. */
	out6(t, &b, SYN, 10000001, &o);
	struct nat64_tuple c = t6(IPPROTO_UDP, "2001:db8:3::1", 7, "198.51.100.7", 53);
	out6(t, &c, 0, 10000002, &o);
	is_int((int)counters(t).evicted_acked, 1, "ack: acked entries are evicted first");
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
	is_int((int)counters(t).sessions, 0, "flush empties the table");
	session_table_free(t);
	pool4_free(pool);
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
	struct session_cfg cfg = base_cfg();
	cfg.max_sessions = 2;
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
	is_int((int)counters(t).unannounced, 1, "quiet: counted as unannounced");
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
	session_table_set_hook(t, NULL, NULL);
	session_table_free(t);
	pool4_free(pool);
}

static void test_pool_exhaustion(void)
{
	struct session_cfg cfg = base_cfg();
	int err;
	struct pool4 *pool = pool4_new(1);
	pool4_add(pool, ip4("192.0.2.1"), 32, 5000, 5001);
	struct session_table *t = session_table_new(&cfg, pool, 1, &err);
	struct nat64_tuple o;
	int okc = 0;
	for (int i = 0; i < 3; i++) {
		char client[64];
		snprintf(client, sizeof(client), "2001:db8:%d::1", i + 1);
		struct nat64_tuple in = t6(IPPROTO_UDP, client, 5000, "198.51.100.7", 53);
		okc += out6(t, &in, 0, 0, &o) == NAT64_CONTINUE;
	}
	is_int(okc, 2, "pool: two ports, two mappings");
	is_int((int)counters(t).pool_exhausted, 1, "pool: exhaustion counted");
	session_table_free(t);
	pool4_free(pool);
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
	session_table_free(t);
	pool4_free(pool);
}

int main(void)
{
	alarm(20);	/* a hook called under the lock would deadlock */
	test_udp_mapping();
	test_lazy_relink();
	test_adf();
	test_tcp();
	test_simultaneous_open();
	test_lru_and_cap();
	test_handoff_states();
	test_pool_exhaustion();
	test_events();
	test_icmp();
	return tap_done();
}
