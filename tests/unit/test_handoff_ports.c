/* The translator side's port knowledge (nat64/handoff_ports.c: held ports,
 * hints) and the state file of its handoff sessions (nat64/handoff_state.c). */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "handoff/client.h"
#include "nat64/handoff_ports.h"
#include "nat64/handoff_state.h"
#include "tap.h"

static struct in_addr T, T2, S, S2, ANY;
static uint16_t busy_port;

static bool busy(void *arg, uint16_t port)
{
	(void)arg;
	return port == busy_port;
}

/* A fake engine for the state file: ops that do nothing. */
static void f_send(void *c, struct in_addr t, struct in_addr s, const uint8_t *p, size_t l) {}
static void f_foreach(void *c, struct in_addr t, struct in_addr s,
		      void (*fn)(void *, const struct handoff_er *), void *a) {}
static void f_acked(void *c, struct in_addr t, struct in_addr s, uint8_t p, uint16_t n) {}
static void f_install(void *c, struct in_addr t, struct in_addr s, const struct handoff_er *e) {}
static void f_deliver(void *c, struct in_addr t, struct in_addr s, const uint8_t *p, size_t l) {}
static void f_deliver6(void *c, struct in_addr t, struct in_addr s, const uint8_t *p, size_t l,
		       bool f) {}
static void f_hints(void *c, struct in_addr t, struct in_addr s, uint8_t pr, const uint16_t *p,
		    size_t n) {}
static void f_down(void *c, struct in_addr t, struct in_addr s) {}
static void f_blocked(void *c, struct in_addr t, struct in_addr s, uint32_t d) {}
static const struct handoff_client_ops ops = {
	.send = f_send, .foreach_entry = f_foreach, .entry_acked = f_acked, .install = f_install,
	.deliver = f_deliver, .deliver6 = f_deliver6, .hints = f_hints, .session_down = f_down,
	.blocked = f_blocked,
};

static struct handoff_session_state loaded[8];
static int nloaded;
static void load_one(void *arg, const struct handoff_session_state *st)
{
	(void)arg;
	if (nloaded < 8)
		loaded[nloaded++] = *st;
}

/* The sessions handoff_state_load reads from DIR (into loaded[]), -1 when
 * it fails; *BAD = the damaged lines it skipped. */
static int load_all(const char *dir, size_t *bad)
{
	nloaded = 0;
	return handoff_state_load(dir, load_one, NULL, bad, NULL) == 0 ? nloaded : -1;
}

static void write_text(const char *path, const char *mode, const char *text)
{
	FILE *f = fopen(path, mode);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int main(void)
{
	plan(35);
	inet_pton(AF_INET, "192.88.99.1", &T);
	inet_pton(AF_INET, "192.88.99.2", &T2);
	inet_pton(AF_INET, "192.88.99.80", &S);
	inet_pton(AF_INET, "192.88.99.81", &S2);

	struct handoff_ports *hp = handoff_ports_new(64);
	handoff_ports_hold(hp, T, 6, 61005, S);
	ok(handoff_ports_veto(hp, T, 6, 61005, ANY), "a held port is kept from any new mapping");
	ok(handoff_ports_veto(hp, T, 6, 61005, S2), "... and from a flow toward another server");
	ok(!handoff_ports_veto(hp, T, 6, 61005, S), "... but not from its own server");
	ok(!handoff_ports_veto(hp, T, 17, 61005, ANY) && !handoff_ports_veto(hp, T2, 6, 61005, ANY),
	   "protocol and pool address are part of the key");
	handoff_ports_release(hp, T, 6, 61005, S2);
	ok(handoff_ports_veto(hp, T, 6, 61005, ANY), "only the holder can release a port");
	handoff_ports_release(hp, T, 6, 61005, S);
	ok(!handoff_ports_veto(hp, T, 6, 61005, ANY), "released by its server");
	for (uint16_t p = 1; p <= 70; p++)
		handoff_ports_hold(hp, T, 17, p, S);
	ok(handoff_ports_held_count(hp) == 64 &&
	   handoff_ports_counters(hp)[HANDOFF_PORTS_HELD_DROPPED] == 6 &&
	   !handoff_ports_veto(hp, T, 17, 6, ANY) && handoff_ports_veto(hp, T, 17, 7, ANY),
	   "full: the oldest held ports are forgotten first, counted");
	handoff_ports_hold(hp, T2, 6, 1000, S);
	handoff_ports_hold(hp, T, 6, 1000, S2);
	handoff_ports_forget(hp, T, S);
	ok(!handoff_ports_veto(hp, T, 17, 70, ANY) && handoff_ports_veto(hp, T2, 6, 1000, ANY) &&
	   handoff_ports_veto(hp, T, 6, 1000, ANY), "a session down forgets that session's ports only");

	/* Hints: the server's first choice first, busy or foreign ones skipped. */
	uint16_t h[4] = { 45000, 45001, 45002, 1000 };
	unsigned ask;
	handoff_ports_add_hints(hp, T, S, 6, h, 4);
	is_int(handoff_ports_take_hint(hp, T, S, 6, busy, NULL, 1000, &ask), 45000,
	       "hints are taken in the server's order");
	is_int(ask, 256 - 3, "... 3 left: ask S for enough to fill the store of 256");
	busy_port = 45001;
	is_int(handoff_ports_take_hint(hp, T, S, 6, busy, NULL, 1001, &ask), 45002,
	       "a hint busy here is skipped");
	is_int(ask, 0, "... asked already and not answered: not again");
	is_int(handoff_ports_take_hint(hp, T, S, 6, busy, NULL, 1000 + HANDOFF_PORTS_ASK_MS, &ask),
	       0, "a hint another server holds (1000, held by S2) is never used");
	ok(ask > 0, "... an unanswered request is repeated after HANDOFF_PORTS_ASK_MS");
	ok(handoff_ports_counters(hp)[HANDOFF_PORTS_HINTS_SKIPPED] == 2 &&
	   handoff_ports_counters(hp)[HANDOFF_PORTS_HINTS_TAKEN] == 2, "taken and skipped counted");
	ok(handoff_ports_take_hint(hp, T, S2, 6, NULL, NULL, 1000, &ask) == 0 && ask == 0,
	   "hints belong to their server");
	handoff_ports_hold(hp, T, 6, 45010, S);
	uint16_t again = 45010;
	handoff_ports_add_hints(hp, T, S, 6, &again, 1);
	ok(!handoff_ports_veto(hp, T, 6, 45010, ANY), "a port S hints is no longer held for S");
	/* Asked at 2000 (above): the next ask would be due at 3000 only. */
	is_int(handoff_ports_take_hint(hp, T, S, 6, NULL, NULL, 2001, &ask), 45010,
	       "the hint is taken");
	ok(ask > 0, "... and S's answer lets the next shortage ask at once");
	uint16_t many[HANDOFF_PORTS_HINTS + 40];
	for (uint16_t p = 0; p < HANDOFF_PORTS_HINTS + 40; p++)
		many[p] = (uint16_t)(50000 + p);
	size_t last = 0;
	for (size_t k = 0; k < ARRAY_SIZE(many); last = k, k += HANDOFF_HINTS_MAX)
		handoff_ports_add_hints(hp, T, S, 6, many + k,
					MIN((size_t)HANDOFF_HINTS_MAX, ARRAY_SIZE(many) - k));
	is_int(handoff_ports_take_hint(hp, T, S, 6, NULL, NULL, 4000, &ask), (int)(50000 + last),
	       "the first hint of the newest batch is taken first");
	is_int(handoff_ports_hints_left(hp, T, S, 6), 256 - 1,
	       "at most 256 hints are kept per server and protocol (a round trip of a burst)");
	ok(ask == 0 && handoff_ports_hints_left(hp, T, S, 17) == 0,
	   "a full store asks for nothing; hints left are counted per protocol");
	size_t taken = 1;
	while (handoff_ports_take_hint(hp, T, S, 6, NULL, NULL, 4000, &ask) && !ask)
		taken++;
	is_int((int)taken, 128,
	       "more are asked for at the take that leaves fewer than 128 (the 129th)");

	/* What left our cache, for the client-side lookups (P-1). */
	struct in6_addr c6, c7;
	inet_pton(AF_INET6, "2001:db8:1::100", &c6);
	inet_pton(AF_INET6, "2001:db8:1::101", &c7);
	handoff_ports_lost_add(hp, S, 17, &c6, 5353);
	ok(handoff_ports_lost_maybe(hp, S, 17, &c6, 5353), "an evicted entry's client side is remembered");
	int fp = 0;
	for (uint16_t p = 1; p <= 2000; p++)
		fp += handoff_ports_lost_maybe(hp, S, 17, &c7, p) ||
		      handoff_ports_lost_maybe(hp, S2, 17, &c6, p);
	ok(fp == 0, "... other clients, ports and servers are not (4000 tried)");
	handoff_ports_lost_age(hp, 1000, 60000);
	handoff_ports_lost_age(hp, 61000, 60000);
	ok(handoff_ports_lost_maybe(hp, S, 17, &c6, 5353), "... still after one period");
	handoff_ports_lost_age(hp, 122000, 60000);
	ok(!handoff_ports_lost_maybe(hp, S, 17, &c6, 5353), "... forgotten after two");
	handoff_ports_mark_lost(hp, T, S, 5000);
	ok(handoff_ports_recovering(hp, T, S, 4999) && !handoff_ports_recovering(hp, T, S, 5000) &&
	   !handoff_ports_recovering(hp, T2, S, 0), "a restart's window, per pool address and server");
	handoff_ports_free(hp);

	/* The state file. */
	char dir[] = "/tmp/handoff-state-XXXXXX";
	if (!mkdtemp(dir))
		bail("no temp dir");
	struct handoff_client_config cfg;
	handoff_client_config_default(&cfg);
	struct handoff_client *c = handoff_client_new(NULL, &cfg, &ops, NULL);
	struct handoff_session_state st = { .nat64 = T, .server = S, .caps = 9,
					    .nonce = { 1, 2, 3, 4, 5, 6, 7, 8 },
					    .cookie = { 9, 9, 9, 9, 9, 9, 9, 0xfe } };
	handoff_client_resume(c, &st);
	st.server = S2;
	handoff_client_resume(c, &st);
	size_t bad;
	ok(handoff_state_save(dir, c, 0x0123456789abcdefull) == 0, "state saved");
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, HANDOFF_STATE_FILE);
	struct stat sb;
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the state file is 0600");
	uint64_t key = 0;
	ok(handoff_state_load(dir, load_one, NULL, &bad, &key) == 0 && key == 0x0123456789abcdefull,
	   "the pool's pairing key reads back");
	ok(load_all(dir, &bad) == 2 && bad == 0 &&
	   !memcmp(loaded[0].cookie, st.cookie, 8) && !memcmp(loaded[0].nonce, st.nonce, 8) &&
	   loaded[0].caps == 9, "two sessions read back, nonce, cookie and caps intact");
	write_text(path, "a", "session 192.88.99.1 nonsense\nfuture-line kept for later\n"
		   "session 192.88.99.1 192.88.99.83 0102030405060708 0909090909090909 1\n");
	ok(load_all(dir, &bad) == 3 && bad == 1,
	   "a damaged line is skipped and counted, unknown lines ignored, the rest read");
	write_text(path, "w", "not a state file\nsession 192.88.99.1 192.88.99.80 "
		   "0102030405060708 0909090909090909 1\n");
	ok(load_all(dir, &bad) == 0 && bad == 1, "a file of another format is not read");
	unlink(path);
	ok(load_all(dir, &bad) == 0, "no state file: nothing to resume");
	handoff_client_free(c);
	rmdir(dir);
	return tap_done();
}
