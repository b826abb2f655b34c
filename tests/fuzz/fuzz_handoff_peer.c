/* libFuzzer target for both protocol engines behind the codec: each input
 * is fed to the server engine (raw, and after a valid SESSION) and to an
 * ESTABLISHED translator-side session (raw, and after its SESSION).
 * Checks the profile's promises on every input: no answer to a malformed
 * datagram, no unauthenticated answer larger than the request, no datagram
 * over 1472 octets from either side. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/client.h"
#include "handoff/server_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hsrv *srv;
static struct handoff_client *cli;
static struct in_addr T, S;
static const uint8_t secret[HANDOFF_SECRET_LEN] = { 7 };
static uint8_t srv_nonce[8] = { 1, 1, 2, 3, 5, 8, 13, 21 }, srv_cookie[8];
static uint8_t cli_nonce[8], cli_cookie[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
static bool captured;

static void f_send(void *ctx, struct in_addr t, struct in_addr s, const uint8_t *p, size_t len)
{
	if (len > HANDOFF_MAX_DGRAM)
		abort();
	if (!captured && len >= 2 && handoff_validate(p, len) == 0) {
		struct handoff_iter it;
		struct handoff_msg m;
		handoff_iter_init(&it, p, len);
		while (handoff_iter_next(&it, &m) > 0)
			if (m.type == HANDOFF_HELLO) {
				memcpy(cli_nonce, m.u.hello.nonce, 8);
				captured = true;
			}
	}
}
static void f_foreach(void *c, struct in_addr t, struct in_addr s,
		      void (*fn)(void *, const struct handoff_er *), void *a) { }
static void f_acked(void *c, struct in_addr t, struct in_addr s, uint8_t p, uint16_t n) { }
static void f_install(void *c, struct in_addr t, struct in_addr s, const struct handoff_er *e) { }
static void f_deliver(void *c, struct in_addr t, struct in_addr s, const uint8_t *p, size_t l)
{
	if (handoff_ip_len(p, l) != l)
		abort();	/* only whole, framed IPv4 packets come back */
}
static void f_down(void *c, struct in_addr t, struct in_addr s) { }
static void f_deliver6(void *c, struct in_addr t, struct in_addr s, const uint8_t *p, size_t l,
		       bool found) { }
static void f_hints(void *c, struct in_addr t, struct in_addr s, uint8_t proto,
		    const uint16_t *ports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i] < 40000 || ports[i] > 49999)
			abort();	/* only hints inside our range are passed on */
}
static void f_blocked(void *c, struct in_addr t, struct in_addr s, uint32_t d) { }
static void f_range(void *c, struct in_addr t, uint16_t *lo, uint16_t *hi)
{
	*lo = 40000;
	*hi = 49999;
}

static const struct handoff_client_ops ops = {
	.send = f_send, .foreach_entry = f_foreach, .entry_acked = f_acked,
	.install = f_install, .deliver = f_deliver, .deliver6 = f_deliver6, .hints = f_hints,
	.session_down = f_down, .blocked = f_blocked, .port_range = f_range,
};

static void init(void)
{
	inet_pton(AF_INET, "192.0.2.7", &T);
	inet_pton(AF_INET, "198.51.100.10", &S);
	struct hsrv_config cfg = { .capacity = 4096, .per_group = 1024,
				   .accept_caps = HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK };
	srv = hsrv_new(&cfg, secret);
	handoff_cookie(secret, sizeof(secret), T, S, srv_nonce, srv_cookie);
	struct handoff_client_config ccfg;
	handoff_client_config_default(&ccfg);
	ccfg.text = "fuzz";
	cli = handoff_client_new(NULL, &ccfg, &ops, NULL);
	struct handoff_er er = { .proto = 6, .nat_port = 1000, .client_port = 1 };
	handoff_client_entry_created(cli, T, S, &er);
	handoff_client_flush(cli, 0);
	uint8_t buf[64];
	struct handoff_builder b;
	handoff_builder_init(&b, buf, sizeof(buf));
	handoff_put_hello_ack(&b, 1, HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK, cli_nonce, cli_cookie);
	handoff_client_input(cli, T, S, HANDOFF_PORT_DEFAULT, buf, b.len);
	uint8_t pkt[28] = { 0x45, 0, 0, 28 };
	handoff_client_miss(cli, T, S, 6, 1000, pkt, sizeof(pkt));
	/* A lookup by the IPv6 side and a wait for hints are outstanding too. */
	struct handoff_client_key6 k6 = { .proto = 6, .client_port = 1 };
	uint8_t pkt6[40] = { 0x60 };
	handoff_client_miss6(cli, T, S, &k6, pkt6, sizeof(pkt6));
	handoff_client_hold_for_hints(cli, T, S, 6, pkt6, sizeof(pkt6));
}

static void server_round(const uint8_t *p, size_t len, bool check_unauth)
{
	hsrv_outbox_clear(srv);
	hsrv_input(srv, T, HANDOFF_PORT_DEFAULT, S, p, len, 0, 1700000000);
	hsrv_commit(srv);
	const struct hsrv_out *o;
	size_t n = hsrv_outbox(srv, &o);
	if (n && handoff_validate(p, len) != 0)
		abort();	/* a malformed datagram was answered */
	for (size_t i = 0; i < n; i++) {
		if (o[i].len > HANDOFF_MAX_DGRAM)
			abort();
		if (check_unauth && o[i].len > len)
			abort();	/* amplification */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv)
		init();
	if (size > 4096)
		return 0;
	uint8_t *buf = malloc(18 + size);
	if (!buf)
		return 0;
	/* Raw: unauthenticated unless it forges a cookie (it cannot). */
	memcpy(buf, data, size);
	server_round(buf, size, size < 2 || buf[0] != HANDOFF_SESSION);
	handoff_client_input(cli, T, S, HANDOFF_PORT_DEFAULT, buf, size);
	/* Behind a valid SESSION, to reach the session code. */
	struct handoff_builder b;
	handoff_builder_init(&b, buf, 18);
	handoff_put_session(&b, srv_nonce, srv_cookie);
	memcpy(buf + 18, data, size);
	server_round(buf, 18 + size, false);
	handoff_builder_init(&b, buf, 18);
	handoff_put_session(&b, cli_nonce, cli_cookie);
	handoff_client_input(cli, T, S, HANDOFF_PORT_DEFAULT, buf, 18 + size);
	handoff_client_tick(cli, 0);
	free(buf);
	return 0;
}
