/* `sixfourctl handoff [--json]` and the metrics of the handoff glue: the
 * engine's counters (totals and per session), the glue's and the port
 * record's, all through common/counters.h. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <string.h>

#include "common/counters.h"
#include "common/ctl.h"
#include "nat64/handoff_glue.h"
#include "nat64/handoff_ports.h"
#include "nat64/handoff_priv.h"
#include "nat64/handoff_queue.h"

static struct counter_group group(const char *key, const char *metric, const char *help,
				  const struct counter_desc *desc, size_t n, const uint64_t *v,
				  const char *extra)
{
	return (struct counter_group){ .key = key, .metric = metric, .help = help, .label = "kind",
				       .extra = extra, .kind = COUNTER_TOTAL, .desc = desc, .n = n,
				       .values = v, .skip_zero = true };
}

struct print_arg {
	struct nat64_handoff *h;
	struct ctl_out *out;
	bool first;
};

static void print_peer(void *arg, const struct handoff_peer_info *pi)
{
	struct print_arg *pa = arg;
	struct ctl_out *out = pa->out;
	char t[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &pi->nat64, t, sizeof(t));
	inet_ntop(AF_INET, &pi->server, s, sizeof(s));
	const char *state = pi->established ? "established" : "probing";
	bool lookup = pi->established && (pi->caps & HANDOFF_CAP_LOOKUP);
	bool blocked = nat64_handoff_blocked(pa->h, pi->server);
	struct counter_group g = group("counters", "nat64_handoff_events", "",
				       handoff_client_counter_desc, HANDOFF_CLIENT__COUNT,
				       pi->counters, NULL);
	if (out->json) {
		ctl_printf(out, "%s{\"nat64\":\"%s\",\"server\":\"%s\",\"state\":\"%s\","
			   "\"lookup\":%s,\"blocked\":%s,\"outstanding_lookups\":%u,"
			   "\"queued_packets\":%u,\"unacked\":%u,",
			   pa->first ? "" : ",", t, s, state, lookup ? "true" : "false",
			   blocked ? "true" : "false", pi->outstanding_lookups,
			   pi->queued_packets, pi->unacked);
		counters_emit(out, COUNTERS_JSON, &g, 1, NULL);
		ctl_printf(out, "}");
	} else {
		ctl_printf(out, "%s -> %s %s%s%s lookups-out %u queued %u unacked %u\n", t, s, state,
			   lookup ? " (lookup)" : "", blocked ? " BLOCKED" : "",
			   pi->outstanding_lookups, pi->queued_packets, pi->unacked);
		counters_emit(out, COUNTERS_TEXT, &g, 1, NULL);
	}
	pa->first = false;
}

/* The three families, in the order every format shows them. */
static void groups_of(struct nat64_handoff *h, uint64_t *glue, struct counter_group g[3])
{
	for (size_t i = 0; i < GLUE__COUNT; i++)
		glue[i] = counter_get(&h->c[i]);
	g[0] = group("totals", "nat64_handoff_events", "NAT64 handoff protocol events by kind.",
		     handoff_client_counter_desc, HANDOFF_CLIENT__COUNT,
		     handoff_client_totals(h->client), NULL);
	g[1] = group("glue", "nat64_handoff_glue_events",
		     "NAT64 handoff events of the translator's packet path.", handoff_glue_counter_desc,
		     GLUE__COUNT, glue, NULL);
	g[2] = group("ports", "nat64_handoff_port_events",
		     "Pool ports held by handoff servers and their hints.",
		     handoff_ports_counter_desc, HANDOFF_PORTS__COUNT,
		     handoff_ports_counters(h->ports), NULL);
}

void nat64_handoff_print(struct nat64_handoff *h, struct ctl_out *out)
{
	if (!h) {
		ctl_printf(out, out->json ? "{\"enabled\":false}\n" : "handoff: disabled\n");
		return;
	}
	uint64_t glue[GLUE__COUNT];
	struct counter_group g[3];
	groups_of(h, glue, g);
	struct print_arg pa = { h, out, true };
	size_t held = handoff_ports_held_count(h->ports);
	uint64_t lost = handoff_queue_lost(h->queue);
	if (out->json) {
		ctl_printf(out, "{\"enabled\":true,\"port\":%u,\"held_ports\":%zu,"
			   "\"queue_full\":%llu,", h->port, held, (unsigned long long)lost);
		counters_emit(out, COUNTERS_JSON, g, 3, NULL);
		ctl_printf(out, ",\"sessions\":[");
		handoff_client_foreach_peer(h->client, print_peer, &pa);
		ctl_printf(out, "]}\n");
		return;
	}
	ctl_printf(out, "handoff: port %u, %zu pool ports held by servers, %llu events lost "
		   "(queue full)\n", h->port, held, (unsigned long long)lost);
	counters_emit(out, COUNTERS_TEXT, g, 3, NULL);
	ctl_printf(out, "sessions:\n");
	handoff_client_foreach_peer(h->client, print_peer, &pa);
}

struct state_count {
	uint64_t v[3];	/* established, probing, blocked */
	struct nat64_handoff *h;
};

static void count_state(void *arg, const struct handoff_peer_info *pi)
{
	struct state_count *sc = arg;
	sc->v[pi->established ? 0 : 1]++;
	sc->v[2] += nat64_handoff_blocked(sc->h, pi->server);
}

void nat64_handoff_metrics(struct nat64_handoff *h, struct ctl_out *out)
{
	if (!h)
		return;
	uint64_t glue[GLUE__COUNT];
	struct counter_group g[3];
	groups_of(h, glue, g);
	for (size_t i = 0; i < 3; i++)
		g[i].skip_zero = false;
	counters_emit(out, COUNTERS_PROMETHEUS, g, 3, NULL);
	static const struct counter_desc state_desc[] = {
		{ "established", "sessions established" },
		{ "probing", "sessions probing" },
		{ "blocked", "sessions blocked by their server" },
	};
	struct state_count sc = { .h = h };
	handoff_client_foreach_peer(h->client, count_state, &sc);
	struct counter_group s = { .key = "sessions", .metric = "nat64_handoff_sessions",
				   .help = "Handoff sessions by state.", .label = "state",
				   .kind = COUNTER_GAUGE, .desc = state_desc, .n = 3,
				   .values = sc.v };
	counters_emit(out, COUNTERS_PROMETHEUS, &s, 1, NULL);
	static const struct counter_desc queue_desc[] = {
		{ "LOST", "events lost: the queue to the main loop was full" },
	};
	uint64_t lost = handoff_queue_lost(h->queue);
	struct counter_group q = group("queue", "nat64_handoff_queue_events",
				       "Events of the workers' queue to the handoff engine.",
				       queue_desc, 1, &lost, NULL);
	q.skip_zero = false;
	counters_emit(out, COUNTERS_PROMETHEUS, &q, 1, NULL);
}
