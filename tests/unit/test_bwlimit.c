/* The bandwidth limits (nat64/bwlimit.h) on a fake clock: two workers
 * share one budget, packets over it wait (in order) up to the queue and
 * are dropped after; the main thread never waits; a heavy client is held
 * to its limit while a light one is neither delayed nor dropped; partner
 * overrides; a reload keeps the budget; and 100,000 spoofed clients at
 * once only make new clients pass unlimited (counted), never let a
 * limited one escape. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/ctl.h"
#include "common/publish.h"
#include "common/subsys.h"
#include "nat64/bwlimit.h"
#include "tests/unit/config_fixture.h"
#include "tests/unit/tap.h"

#define MS 1000000ull

static uint64_t fake;
static uint64_t fake_now(void)
{
	return fake;
}

/* The "TUN": our end stays readable (one datagram never read), what the
 * queue writes lands at the peer. */
static int tun[2];

static void tun_open(void)
{
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, tun) != 0)
		bail("socketpair");
	fcntl(tun[0], F_SETFL, O_NONBLOCK);
	fcntl(tun[1], F_SETFL, O_NONBLOCK);
	int big = 8 << 20;
	setsockopt(tun[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	(void)!write(tun[1], "r", 1);
}

struct out_count {
	uint64_t packets, octets;
	uint32_t last_seq[3];
	unsigned out_of_order;
};

/* Reads what the queues wrote; packets carry (slot, sequence). */
static void drain(struct out_count *o)
{
	uint8_t buf[2048];
	ssize_t n;
	while ((n = read(tun[1], buf, sizeof(buf))) > 0) {
		o->packets++;
		o->octets += (uint64_t)n;
		uint32_t seq;
		memcpy(&seq, buf + 4, 4);
		if (buf[0] < 3) {
			if (seq <= o->last_seq[buf[0]] && o->last_seq[buf[0]])
				o->out_of_order++;
			o->last_seq[buf[0]] = seq;
		}
	}
}

static void client_addr(struct in6_addr *a, unsigned n)
{
	inet_pton(AF_INET6, "2001:db8:1::", a);
	a->s6_addr[12] = (uint8_t)(n >> 24);
	a->s6_addr[13] = (uint8_t)(n >> 16);
	a->s6_addr[14] = (uint8_t)(n >> 8);
	a->s6_addr[15] = (uint8_t)n;
}

int main(void)
{
	plan(26);
	struct publish_domain dom;
	publish_domain_init(&dom);
	struct sixfour_ctx ctx = { .publish = &dom };
	tun_open();
	uint64_t werr = 0;

	/* --- two workers, one budget: 1 MB/s, a 50 ms queue --- */
	struct sixfour_config *cfg =
		fixture_config("[ratelimit]\nbandwidth = 1000000\nbandwidth-queue = 50ms\n");
	struct nat64_bw *b = nat64_bw_new(&ctx, cfg, 2, 1500);
	if (!b)
		bail("nat64_bw_new");
	nat64_bw_set_clock(b, fake_now);
	fake = 1000 * MS;
	struct nat64_bw_slot *w[2] = { nat64_bw_slot(b, 0), nat64_bw_slot(b, 1) };
	struct nat64_bw_slot *mainslot = nat64_bw_slot(b, 2);
	uint8_t pkt[1000] = { 0 };
	uint64_t now_n[2] = { 0 }, held_n[2] = { 0 }, dropped = 0, other = 0;
	uint32_t seq[2] = { 0 };
	struct out_count out = { 0 };
	/* Each worker offers 10 MB/s (a 1000-octet packet every 100 us), the
	 * two in a random order each time (as packets arrive). */
	uint32_t rng = 12345;
	for (uint64_t t = 0; t < 1000 * MS; t += MS / 10) {
		fake = 1000 * MS + t;
		rng = rng * 1103515245u + 12345u;
		int first = (rng >> 16) & 1;
		for (int kk = 0; kk < 2; kk++) {
			int k = kk ^ first;
			pkt[0] = (uint8_t)k;
			seq[k]++;
			memcpy(pkt + 4, &seq[k], 4);
			enum nat64_verdict v = nat64_bw_admit(w[k], NULL, pkt, sizeof(pkt), sizeof(pkt));
			if (v == NAT64_CONTINUE) {
				now_n[k]++;
				out.packets++;
				out.octets += sizeof(pkt);
			} else if (v == NAT64_HELD) {
				held_n[k]++;
			} else if (v == NAT64_DROP_RATE_LIMITED) {
				dropped++;
			} else {
				other++;
			}
			nat64_bw_wait(w[k], tun[0], 0, &werr);
			drain(&out);
		}
	}
	uint64_t admitted = (now_n[0] + now_n[1] + held_n[0] + held_n[1]) * sizeof(pkt);
	printf("# admitted %llu octets (now %llu+%llu, queued %llu+%llu), dropped %llu; out %llu\n",
	       (unsigned long long)admitted, (unsigned long long)now_n[0],
	       (unsigned long long)now_n[1], (unsigned long long)held_n[0],
	       (unsigned long long)held_n[1], (unsigned long long)dropped,
	       (unsigned long long)out.octets);
	ok(admitted >= 1000000 && admitted <= 1000000 + 20000 + 50000 + 2000,
	   "2 workers offering 20 MB/s get 1 MB/s together (+ burst and queue)");
	ok(out.octets >= 990000 && out.octets <= 1000000 + 20000 + 2000,
	   "what went out by the end of the second is the cap (+ the burst)");
	ok(held_n[0] > 100 && held_n[1] > 100, "both workers queued packets over the cap");
	ok(dropped > 15000, "beyond the 50 ms queue the rest is dropped");
	ok(labs((long)(now_n[0] + held_n[0]) - (long)(now_n[1] + held_n[1])) < 100,
	   "the two workers share the budget (arrivals in random order)");
	is_int(other + werr + out.out_of_order, 0, "no other verdict, no write error, in order");
	fake += 100 * MS;
	nat64_bw_wait(w[0], tun[0], 0, &werr);
	nat64_bw_wait(w[1], tun[0], 0, &werr);
	drain(&out);
	is_int(out.octets, admitted, "every queued packet went out once it was due");
	/* The main thread never waits: over the cap it drops. */
	unsigned main_held = 0, main_dropped = 0;
	for (int i = 0; i < 100; i++) {
		enum nat64_verdict v = nat64_bw_admit(mainslot, NULL, pkt, sizeof(pkt), sizeof(pkt));
		main_held += v == NAT64_HELD;
		main_dropped += v == NAT64_DROP_RATE_LIMITED;
	}
	ok(main_held == 0 && main_dropped >= 70, "the main thread's slot never queues");
	/* A reload keeps the budget: no fresh burst. */
	config_free(cfg);
	cfg = fixture_config("[ratelimit]\nbandwidth = 1000000\nbandwidth-queue = 50ms\n");
	nat64_bw_reload(b, cfg);
	ok(nat64_bw_admit(mainslot, NULL, pkt, sizeof(pkt), sizeof(pkt)) == NAT64_DROP_RATE_LIMITED,
	   "after a reload the spent budget stays spent");
	fake += 2000 * MS;
	is_int(nat64_bw_admit(mainslot, NULL, pkt, sizeof(pkt), sizeof(pkt)), NAT64_CONTINUE,
	       "after a pause a packet goes at once");

	/* --- per client: 100 kB/s each, a partner /120 at 500 kB/s for all
	 * of it, one without limit; no cap --- */
	config_free(cfg);
	struct sixfour_config *bad =
		fixture_config("[ratelimit]\nbandwidth-partner = 2001:db8::/32 lots\n");
	char err[256] = "";
	ok(nat64_bw_check(bad, err, sizeof(err)) != 0 && strstr(err, "bandwidth-partner"),
	   "a partner line that does not parse is refused, naming the key");
	config_free(bad);
	cfg = fixture_config(
		"[ratelimit]\nprefix-len = 128\nclient-bandwidth = 100000\n"
		"bandwidth-queue = 50ms\nbandwidth-partner = 2001:db8:1::300/120 500000\n"
		"bandwidth-partner = 2001:db8:1::400/128 0\n");
	ok(nat64_bw_check(cfg, err, sizeof(err)) == 0, "partner lines parse");
	nat64_bw_reload(b, cfg);
	struct in6_addr heavy, light, partner, partner2, free6;
	inet_pton(AF_INET6, "2001:db8:1::100", &heavy);
	inet_pton(AF_INET6, "2001:db8:1::200", &light);
	inet_pton(AF_INET6, "2001:db8:1::300", &partner);
	inet_pton(AF_INET6, "2001:db8:1::301", &partner2);
	inet_pton(AF_INET6, "2001:db8:1::400", &free6);
	uint64_t got[5] = { 0 };
	unsigned light_delayed = 0, light_dropped = 0;
	fake += 5000 * MS;
	uint64_t t0 = fake;
	/* heavy and the two of the partner offer 1 MB/s, the light client
	 * 50 kB/s, the unlimited one 1 MB/s. */
	for (uint64_t t = 0; t < 1000 * MS; t += MS) {
		fake = t0 + t;
		const struct in6_addr *who[] = { &heavy, &partner, &free6, NULL, &partner2 };
		for (int k = 0; k < 5; k++) {
			if (!who[k])
				continue;
			enum nat64_verdict v = nat64_bw_admit(w[0], who[k], pkt, sizeof(pkt), sizeof(pkt));
			if (v == NAT64_CONTINUE || v == NAT64_HELD)
				got[k] += sizeof(pkt);
		}
		if (t % (20 * MS) == 0) {
			enum nat64_verdict v = nat64_bw_admit(w[1], &light, pkt, sizeof(pkt), sizeof(pkt));
			if (v == NAT64_CONTINUE)
				got[3] += sizeof(pkt);
			light_delayed += v == NAT64_HELD;
			light_dropped += v != NAT64_CONTINUE && v != NAT64_HELD;
		}
		nat64_bw_wait(w[0], tun[0], 0, &werr);
		drain(&out);
	}
	printf("# heavy %llu, partner %llu + %llu, unlimited %llu, light %llu octets in 1 s\n",
	       (unsigned long long)got[0], (unsigned long long)got[1], (unsigned long long)got[4],
	       (unsigned long long)got[2], (unsigned long long)got[3]);
	ok(got[0] >= 100000 && got[0] <= 100000 + 3000 + 5000 + 1000,
	   "a heavy client is held to 100 kB/s (+ burst and queue)");
	ok(got[1] + got[4] >= 500000 && got[1] + got[4] <= 500000 + 10000 + 25000 + 2000,
	   "a partner prefix gets its own 500 kB/s, for its two clients together");
	is_int(got[2], 1000000, "a partner rate of 0 is no limit");
	is_int(got[3], 50000, "the light client got everything");
	is_int(light_delayed + light_dropped, 0, "and nothing of it waited or was dropped");
	ok(nat64_bw_admit(w[0], &heavy, pkt, sizeof(pkt), sizeof(pkt)) == NAT64_DROP_CLIENT_RATE_LIMITED,
	   "over its queue the heavy client's packets are dropped as CLIENT_RATE_LIMITED");
	ok(nat64_bw_admit(w[0], NULL, pkt, sizeof(pkt), sizeof(pkt)) == NAT64_CONTINUE,
	   "the translator's own errors are no client's");

	/* --- 100,000 spoofed clients at one instant, 1 kB/s each --- */
	config_free(cfg);
	cfg = fixture_config("[ratelimit]\nprefix-len = 128\nclient-bandwidth = 1000\n"
			     "bandwidth-queue = 0\n");
	nat64_bw_reload(b, cfg);
	fake += 10000 * MS;
	uint64_t heavy_ok = 0;
	for (int i = 0; i < 10; i++)	/* the heavy one first: it has a bucket */
		heavy_ok += nat64_bw_admit(w[0], &heavy, pkt, 1000, 1000) == NAT64_CONTINUE;
	unsigned spoofed_ok = 0;
	for (unsigned n = 0; n < 100000; n++) {
		struct in6_addr a;
		client_addr(&a, 0x10000 + n);
		spoofed_ok += nat64_bw_admit(w[0], &a, pkt, 100, 100) == NAT64_CONTINUE;
	}
	heavy_ok += nat64_bw_admit(w[0], &heavy, pkt, 1000, 1000) == NAT64_CONTINUE;
	struct ctl_out co = { .json = true };
	nat64_bw_print(b, &co);
	ok(co.buf && strstr(co.buf, "\"CLIENT_TABLE_FULL\":") &&
	   !strstr(co.buf, "\"CLIENT_TABLE_FULL\":0"), "a full client row is counted");
	is_int(spoofed_ok, 100000, "each spoofed client gets its first packet through");
	is_int(heavy_ok, 3, "the heavy client stays held to its burst (3000 octets)");
	free(co.buf);

	/* --- super-packets: whole when they may leave now, else nothing
	 * charged (the caller cuts them and admits each segment) --- */
	config_free(cfg);
	cfg = fixture_config("[ratelimit]\nprefix-len = 128\nclient-bandwidth = 10000000\n"
			     "bandwidth = 100000000\n");
	nat64_bw_reload(b, cfg);
	fake += 10000 * MS;
	struct in6_addr sx, sy;
	client_addr(&sx, 0x7000001);
	client_addr(&sy, 0x7000002);
	/* 10 MB/s for a client: a 20 ms burst, 200 kB: three 65 kB frames. */
	unsigned whole = 0;
	for (int i = 0; i < 4; i++)
		whole += nat64_bw_admit_now(w[0], &sx, 65000);
	is_int(whole, 3, "super-packets within the limits go whole, up to the client's burst");
	is_int(nat64_bw_admit(w[0], &sx, pkt, 500, 500), NAT64_CONTINUE,
	       "the one refused was not charged: a small packet still goes at once");
	/* The cap (1 MB/s: a 20 ms burst, 20 kB) refuses a 65 kB frame the
	 * client's limit takes: the client's share is given back. */
	config_free(cfg);
	cfg = fixture_config("[ratelimit]\nprefix-len = 128\nclient-bandwidth = 10000000\n"
			     "bandwidth = 1000000\n");
	nat64_bw_reload(b, cfg);
	ok(!nat64_bw_admit_now(w[0], &sy, 65000), "a frame over the cap's burst does not go whole");
	config_free(cfg);
	cfg = fixture_config("[ratelimit]\nprefix-len = 128\nclient-bandwidth = 10000000\n");
	nat64_bw_reload(b, cfg);
	whole = 0;
	for (int i = 0; i < 4; i++)
		whole += nat64_bw_admit_now(w[0], &sy, 65000);
	is_int(whole, 3, "... and the client's limit got back what the cap refused");

	nat64_bw_free(b);
	config_free(cfg);
	publish_domain_destroy(&dom);
	close(tun[0]);
	close(tun[1]);
	return tap_done();
}
