/* The session table's handoff entry points (nat64/session_handoff.c) with
 * a fake clock: acking a flow by its IPv4 side, handing acked entries back
 * to RFC 6146 timers, walking the entries toward one server, eviction of
 * acked entries first, and the reserved handoff port. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/rfc6052.h"
#include "nat64/pool4.h"
#include "nat64/session.h"
#include "nat64/session_handoff.h"
#include "tests/unit/nat64_fixture.h"
#include "tests/unit/tap.h"

#define SYN 0x02
#define ACK 0x10
#define HANDOFF_PORT 64646

struct collect {
	size_t n, acked;
	uint16_t ports[64];
};

static void collect(void *arg, const struct session_record *r)
{
	struct collect *c = arg;
	if (c->n < 64)
		c->ports[c->n] = r->pool_port;
	c->n++;
	c->acked += r->state == SESSION_ACKED;
}

struct probe {
	uint16_t port;
	uint64_t exp;
	uint8_t st;
	int found;
};

static void probe_one(void *arg, const struct session_record *r)
{
	struct probe *a = arg;
	if (r->pool_port == a->port) {
		a->exp = r->expires_ms;
		a->st = r->state;
		a->found = 1;
	}
}

/* The expiry and state of the session on `pool_port`; 0 when none. */
static int expires_of(struct session_table *t, uint16_t pool_port, uint64_t *expires,
		      uint8_t *state)
{
	struct probe a = { .port = pool_port };
	session_foreach(t, probe_one, &a);
	*expires = a.exp;
	*state = a.st;
	return a.found;
}

int main(void)
{
	plan(28);
	struct session_cfg cfg = fixture_session_cfg(16, 16);
	int err;
	struct pool4 *pool = pool4_new(42);
	pool4_add(pool, ip4("192.0.2.1"), 32, HANDOFF_PORT, HANDOFF_PORT + 1);
	struct session_table *t = session_table_new(&cfg, pool, 7, &err);
	ok(t != NULL, "table");
	struct in_addr T = ip4("192.0.2.1"), S = ip4("198.51.100.10"), O = ip4("198.51.100.20");

	/* The reserved port is never handed out for UDP. */
	session_table_reserve_port(t, HANDOFF_PORT);
	struct nat64_tuple in = t6(IPPROTO_UDP, "2001:db8::1", 5000, "198.51.100.10", 53), out;
	is_int(out6(t, &in, 0, 1000, &out), NAT64_CONTINUE, "a UDP flow is mapped");
	is_int(out.sport, HANDOFF_PORT + 1, "... never on the reserved handoff port");
	in = t6(IPPROTO_UDP, "2001:db8::2", 5000, "198.51.100.10", 53);
	is_int(out6(t, &in, 0, 1000, &out), NAT64_CONTINUE,
	       "a second client takes the only other port back (the first was one-way) ...");
	is_int(out.sport, HANDOFF_PORT + 1, "... never the reserved handoff port");
	in = t6(IPPROTO_TCP, "2001:db8::2", 5000, "198.51.100.10", 80);
	is_int(out6(t, &in, SYN, 1000, &out), NAT64_CONTINUE, "TCP may use the port");
	session_flush(t);
	session_table_free(t);
	pool4_free(pool);

	pool = pool4_new(42);
	pool4_add(pool, T, 32, 1024, 65535);
	t = session_table_new(&cfg, pool, 7, &err);
	session_table_reserve_port(t, HANDOFF_PORT);

	/* One client port to S on two server ports (one BIB entry) and to O. */
	struct nat64_tuple a = t6(IPPROTO_UDP, "2001:db8::1", 6000, "198.51.100.10", 53), oa;
	struct nat64_tuple b = t6(IPPROTO_UDP, "2001:db8::1", 6000, "198.51.100.10", 54), ob;
	struct nat64_tuple c = t6(IPPROTO_UDP, "2001:db8::1", 6000, "198.51.100.20", 53), oc;
	out6(t, &a, 0, 1000, &oa);
	out6(t, &b, 0, 1000, &ob);
	out6(t, &c, 0, 1000, &oc);
	is_int(oa.sport, ob.sport, "endpoint-independent: one pool port");
	struct collect col = { 0 };
	session_foreach_toward(t, T, S, collect, &col);
	is_int(col.n, 2, "two sessions on T toward S");
	col = (struct collect){ 0 };
	session_foreach_toward(t, T, O, collect, &col);
	is_int(col.n, 1, "one toward the other server");

	/* ENTRY-ACK (proto, port) on (T, S) acks both sessions toward S only. */
	is_int(session_ack_flow(t, IPPROTO_UDP, T, oa.sport, S, 2000), 2, "ack: two sessions");
	is_int(session_ack_flow(t, IPPROTO_UDP, T, oa.sport, S, 2000), 0, "a repeated ack changes nothing");
	is_int(session_ack_flow(t, IPPROTO_UDP, T, (uint16_t)(oa.sport + 1), S, 2000), 0,
	       "an ack for an unknown port changes nothing");
	is_int(session_ack_flow(t, IPPROTO_TCP, T, oa.sport, S, 2000), 0,
	       "an ack for another protocol changes nothing");
	struct session_counters sc;
	session_get_counters(t, &sc);
	is_int(sc.g[SESSION_G_acked], 2, "two acked entries");
	col = (struct collect){ 0 };
	session_foreach_toward(t, T, O, collect, &col);
	is_int(col.acked, 0, "the session toward the other server stays local");
	uint64_t exp;
	uint8_t st;

	/* Acked entries have no timer: they outlive the UDP timeout. */
	session_expire(t, 1000 + 300000 + 1, NULL, NULL);
	col = (struct collect){ 0 };
	session_foreach_toward(t, T, S, collect, &col);
	is_int(col.n, 2, "acked entries do not expire");
	col = (struct collect){ 0 };
	session_foreach_toward(t, T, O, collect, &col);
	is_int(col.n, 0, "the local one did");

	/* Session down: back to LOCAL with a fresh lifetime from now. */
	uint64_t now = 500000;
	is_int(session_release_acked(t, T, S, now), 2, "release: two entries");
	session_get_counters(t, &sc);
	is_int(sc.g[SESSION_G_acked], 0, "no acked entries left");
	ok(expires_of(t, oa.sport, &exp, &st), "the entry is still there");
	is_int(st, SESSION_LOCAL, "... LOCAL again");
	is_int(exp, now + 300000, "... with a fresh UDP lifetime");
	is_int(session_release_acked(t, T, S, now), 0, "a second release changes nothing");
	session_expire(t, now + 300000 + 1, NULL, NULL);
	ok(!expires_of(t, oa.sport, &exp, &st), "... and expires on the RFC 6146 timer");

	/* A full table evicts acked entries first, the oldest one first. */
	session_flush(t);
	struct nat64_tuple x;
	for (uint16_t p = 0; p < 16; p++) {
		in = t6(IPPROTO_UDP, "2001:db8::5", (uint16_t)(7000 + p), p < 4 ? "198.51.100.20"
									 : "198.51.100.10", 9);
		out6(t, &in, 0, 10000 + p, &x);
		if (p >= 4)
			session_ack_flow(t, IPPROTO_UDP, T, x.sport, S, 10000 + p);
	}
	in = t6(IPPROTO_UDP, "2001:db8:1::6", 8000, "198.51.100.20", 9);
	is_int(out6(t, &in, 0, 20000, &x), NAT64_CONTINUE, "a new flow in a full table");
	session_get_counters(t, &sc);
	is_int(sc.c[SESSION_C_evicted_acked], 1, "... evicted an acked entry");
	is_int(sc.c[SESSION_C_evicted_cheap] + sc.c[SESSION_C_evicted_live] +
	       sc.c[SESSION_C_evicted_est] + sc.c[SESSION_C_displaced], 0, "... and no local one");
	col = (struct collect){ 0 };
	session_foreach_toward(t, T, O, collect, &col);
	is_int(col.n, 5, "every local entry survived");

	session_table_free(t);
	pool4_free(pool);
	return tap_done();
}
