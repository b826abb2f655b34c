/* `sixfourctl nat64 stats` and `sixfourctl nat64 sessions`: counters,
 * limits, the month's top prefixes (usage_ctl.c) and the session list. The session list is an
 * operator's debugging tool and is never written to a log. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/ctl.h"
#include "common/util.h"
#include "nat64/bwlimit.h"
#include "nat64/frag.h"
#include "nat64/handoff_glue.h"
#include "nat64/nat64_priv.h"
#include "nat64/pool4.h"
#include "nat64/session.h"
#include "nat64/usage.h"
#include "nat64/tun.h"

static const struct counter_desc path_desc[] = { NAT64_PATH_COUNTERS(COUNTER_DESC) };
static const struct counter_desc drop_desc[] = { NAT64_DROP_REASONS(COUNTER_DESC) };
static const struct counter_desc session_desc[] = { SESSION_COUNTERS(COUNTER_DESC) };
static const struct counter_desc frag_desc[] = { NAT64_FRAG_COUNTERS(COUNTER_DESC) };
/* The table's levels and its memory, one group. */
static const struct counter_desc gauge_desc[] = {
	SESSION_GAUGES(COUNTER_DESC)
	{ "memory", "octets allocated for the session table" },
};
#define NDROPS (NAT64_VERDICT_COUNT - NAT64_DROP_TRUNCATED)

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "icmp";
}

/* pool4 ports in use per address (the first POOL_SHOWN addresses). */
#define POOL_SHOWN 64
static void print_pool(struct nat64 *n, struct ctl_out *out)
{
	struct pool4 *pool = atomic_load_explicit(&n->pool, memory_order_acquire);
	size_t count = pool4_count(pool);
	ctl_printf(out, out->json ? ",\"pool4\":[" : "pool4 ports in use (tcp udp icmp of each):\n");
	for (size_t i = 0; i < count && i < POOL_SHOWN; i++) {
		struct in_addr a;
		uint16_t lo, hi;
		size_t used[3], size = 0;
		pool4_get(pool, i, &a, &lo, &hi);
		session_pool_usage(n->sessions, a, used, &size);
		char s[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, s, sizeof(s));
		if (out->json)
			ctl_printf(out, "%s{\"address\":\"%s\",\"ports\":%zu,\"tcp\":%zu,"
				   "\"udp\":%zu,\"icmp\":%zu}", i ? "," : "", s, size, used[0],
				   used[1], used[2]);
		else
			ctl_printf(out, "  %-16s %zu %zu %zu of %zu\n", s, used[0], used[1], used[2],
				   size);
	}
	if (out->json)
		ctl_printf(out, "]");
	else if (count > POOL_SHOWN)
		ctl_printf(out, "  (%zu more addresses)\n", count - POOL_SHOWN);
}

/* What the TUN negotiated ([nat64] offload, tun.h) and how the frames
 * spread over the workers' queues. */
static void print_offload(const struct nat64 *n, struct ctl_out *out)
{
	char f[64];
	tun_offload_name(n->offload_features, f, sizeof(f));
	unsigned batched = 0;
	for (unsigned i = 0; i < n->nworkers; i++)
		batched += atomic_load_explicit(&n->workers[i].batched, memory_order_relaxed);
	const char *io = batched == n->nworkers ? "io_uring" : batched ? "mixed" : "read/write";
	if (out->json) {
		ctl_printf(out, ",\"offload\":{\"requested\":%s,\"vnet_header\":%u,"
			   "\"features\":\"%s\",\"io\":\"%s\"},\"workers\":[",
			   n->batch_io ? "true" : "false", n->vnet_len, f, io);
		for (unsigned i = 0; i < n->nworkers; i++) {
			const uint64_t *c = n->workers[i].c.c;
			ctl_printf(out, "%s{\"rx\":%llu,\"tx\":%llu,\"wakeups\":%llu}", i ? "," : "",
				   (unsigned long long)(counter_get(&c[NAT64_PC_rx6]) +
							counter_get(&c[NAT64_PC_rx4])),
				   (unsigned long long)(counter_get(&c[NAT64_PC_tx4]) +
							counter_get(&c[NAT64_PC_tx6])),
				   (unsigned long long)counter_get(&c[NAT64_PC_rx_wakeups]));
		}
		ctl_printf(out, "]");
		return;
	}
	ctl_printf(out, "offload: %s%s, I/O %s\n", n->batch_io ? "" : "off; ",
		   n->vnet_len ? f : "no virtio-net header", io);
	for (unsigned i = 0; i < n->nworkers; i++) {
		const uint64_t *c = n->workers[i].c.c;
		ctl_printf(out, "  queue %u: %llu packets in, %llu out\n", i,
			   (unsigned long long)(counter_get(&c[NAT64_PC_rx6]) +
						counter_get(&c[NAT64_PC_rx4])),
			   (unsigned long long)(counter_get(&c[NAT64_PC_tx4]) +
						counter_get(&c[NAT64_PC_tx6])));
	}
}

/* Everything `nat64 stats` and the metrics endpoint show, summed over the
 * workers (read while they run: a figure may lag by a packet). */
struct stats {
	struct nat64_path_counters pc;
	struct session_counters sc;
	uint64_t gauges[SESSION_G__COUNT + 1];
	struct nat64_frag_stats frag;
	struct counter_group groups[6];
};

static void collect(struct nat64 *n, struct stats *st)
{
	memset(st, 0, sizeof(*st));
	nat64_path_counters_sum(n, &st->pc);
	session_get_counters(n->sessions, &st->sc);
	memcpy(st->gauges, st->sc.g, sizeof(st->sc.g));
	st->gauges[SESSION_G__COUNT] = session_table_memory(n->sessions);
	for (unsigned w = 0; w < n->nworkers; w++) {
		struct nat64_frag_stats one;
		nat64_frag_get_stats(n->workers[w].frags, &one);
		for (unsigned i = 0; i < NAT64_FRAG__COUNT; i++)
			st->frag.c[i] += one.c[i];
	}
	const struct counter_group g[] = {
		{ "packets", "nat64_packets", "Translator packet and octet counts.", "counter",
		  NULL, COUNTER_TOTAL, path_desc, NAT64_PC__COUNT, st->pc.c, false },
		{ "drops", "nat64_drops", "Packets dropped, by reason.", "reason", NULL,
		  COUNTER_TOTAL, drop_desc, NDROPS, &st->pc.drops[NAT64_DROP_TRUNCATED], false },
		{ "sessions", "nat64_sessions", "Session table levels.", NULL, NULL, COUNTER_GAUGE,
		  gauge_desc, ARRAY_SIZE(gauge_desc), st->gauges, false },
		{ "session_events", "nat64_session_events", "Session table events.", "event",
		  NULL, COUNTER_TOTAL, session_desc, SESSION_C__COUNT, st->sc.c, false },
		{ "fragments", "nat64_fragments", "Fragment reassembly events.", "event", NULL,
		  COUNTER_TOTAL, frag_desc, NAT64_FRAG__COUNT, st->frag.c, false },
	};
	memcpy(st->groups, g, sizeof(g));
}

void nat64_print_stats(struct nat64 *n, struct ctl_out *out)
{
	struct stats *st = calloc(1, sizeof(*st));
	if (!st)
		return;
	collect(n, st);
	if (out->json) {
		ctl_printf(out, "{\"enabled\":true,\"device\":");
		ctl_json_str(out, n->dev);
		ctl_printf(out, ",\"queues\":%u,", n->nworkers);
		counters_emit(out, COUNTERS_JSON, st->groups, 5, NULL);
		print_offload(n, out);
		print_pool(n, out);
		nat64_bw_print(n->bw, out);
		nat64_usage_print_traffic(n->usage, out);
		ctl_printf(out, "}\n");
	} else {
		ctl_printf(out, "device %s, %u queue(s)\n", n->dev, n->nworkers);
		print_offload(n, out);
		counters_emit(out, COUNTERS_TEXT, st->groups, 5, NULL);
		print_pool(n, out);
		nat64_bw_print(n->bw, out);
		nat64_usage_print_traffic(n->usage, out);
	}
	free(st);
}

struct list_arg {
	struct ctl_out *out;
	uint64_t now;
	size_t n;
};

static void print_one(void *arg, const struct session_record *r)
{
	struct list_arg *la = arg;
	struct ctl_out *out = la->out;
	char c6[INET6_ADDRSTRLEN], r6[INET6_ADDRSTRLEN], r4[INET_ADDRSTRLEN],
	     p4[INET_ADDRSTRLEN];
	inet_ntop(AF_INET6, &r->client6, c6, sizeof(c6));
	inet_ntop(AF_INET6, &r->remote6, r6, sizeof(r6));
	inet_ntop(AF_INET, &r->remote4, r4, sizeof(r4));
	inet_ntop(AF_INET, &r->pool4, p4, sizeof(p4));
	long long expires = r->expires_ms ? (long long)(r->expires_ms - la->now) / 1000 : -1;
	const char *tcp = r->proto == IPPROTO_TCP ? session_tcp_state_name(r->tcp_state) : "-";
	const char *state = r->state == SESSION_ACKED ? "acked" : "local";
	if (out->json) {
		ctl_printf(out, "%s{\"proto\":\"%s\",\"client\":\"%s\",\"client_port\":%u,"
			   "\"remote6\":\"%s\",\"remote4\":\"%s\",\"remote_port\":%u,"
			   "\"pool4\":\"%s\",\"pool_port\":%u,\"tcp_state\":\"%s\","
			   "\"state\":\"%s\",\"pinned\":%s,\"class\":\"%s\",\"expires_s\":%lld}",
			   la->n ? "," : "", proto_name(r->proto), c6, r->client_port, r6, r4,
			   r->remote_port, p4, r->pool_port, tcp, state,
			   r->pinned ? "true" : "false", session_evict_class_name(r->evict_class),
			   expires);
	} else {
		ctl_printf(out, "%-4s [%s]:%u -> [%s]:%u  as %s:%u -> %s:%u  %s %s %s",
			   proto_name(r->proto), c6, r->client_port, r6, r->remote_port, p4,
			   r->pool_port, r4, r->remote_port, tcp, state,
			   session_evict_class_name(r->evict_class));
		if (expires >= 0)
			ctl_printf(out, " expires %llds", expires);
		ctl_printf(out, "\n");
	}
	la->n++;
}

void nat64_print_sessions(struct nat64 *n, struct ctl_out *out)
{
	struct list_arg la = { .out = out, .now = monotonic_ms() };
	if (out->json)
		ctl_printf(out, "[");
	session_foreach(n->sessions, print_one, &la);
	if (out->json)
		ctl_printf(out, "]\n");
	else
		ctl_printf(out, "%zu session%s\n", la.n, la.n == 1 ? "" : "s");
}

/* --- Prometheus --- */

void nat64_metrics(void *state, struct ctl_out *out)
{
	struct nat64 *n = state;
	if (!n || !n->enabled)
		return;
	struct stats *st = calloc(1, sizeof(*st));
	if (!st)
		return;
	collect(n, st);
	counters_emit(out, COUNTERS_PROMETHEUS, st->groups, 5, NULL);
	free(st);
	nat64_bw_metrics(n->bw, out);
	nat64_usage_metrics(n->usage, out);
	nat64_handoff_metrics(n->handoff, out);
}
