/* `sixfourctl nat64 stats` and `sixfourctl nat64 sessions`: counters,
 * per-prefix traffic and the session list. The session list is an
 * operator's debugging tool and is never written to a log. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/ctl.h"
#include "common/util.h"
#include "nat64/frag.h"
#include "nat64/handoff_glue.h"
#include "nat64/nat64_priv.h"
#include "nat64/session.h"

static const char *const path_counter_names[] = {
#define X(name, text) #name,
	NAT64_PATH_COUNTERS(X)
#undef X
};

static const char *const drop_names[] = {
	[NAT64_CONTINUE] = "continue",
	[NAT64_ICMP_SENT] = "icmp_sent",
	[NAT64_HELD] = "held",
#define X(name, text) [NAT64_DROP_##name] = #name,
	NAT64_DROP_REASONS(X)
#undef X
};

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "icmp";
}

/* Sums the workers' per-prefix tables into one list. */
struct merged {
	struct nat64_traffic_slot *v;
	size_t n;
	uint64_t other_packets, other_bytes;
};

static void merge_traffic(const struct nat64 *n, struct merged *m)
{
	m->v = calloc((size_t)n->nworkers * NAT64_TRAFFIC_SLOTS, sizeof(*m->v));
	m->n = 0;
	m->other_packets = m->other_bytes = 0;
	if (!m->v)
		return;
	for (unsigned w = 0; w < n->nworkers; w++) {
		const struct nat64_traffic *t = &n->workers[w].traffic;
		m->other_packets += nat64_ld(&t->other_packets);
		m->other_bytes += nat64_ld(&t->other_bytes);
		for (unsigned i = 0; i < NAT64_TRAFFIC_SLOTS; i++) {
			const struct nat64_traffic_slot *s = &t->slot[i];
			uint8_t fam = __atomic_load_n(&s->family, __ATOMIC_ACQUIRE);
			if (!fam)
				continue;
			size_t k = 0;
			while (k < m->n && !(m->v[k].family == fam &&
					     memcmp(m->v[k].key, s->key, 16) == 0))
				k++;
			if (k == m->n) {
				m->v[k] = (struct nat64_traffic_slot){ .family = fam, .len = s->len };
				memcpy(m->v[k].key, s->key, 16);
				m->n++;
			}
			m->v[k].packets += nat64_ld(&s->packets);
			m->v[k].bytes += nat64_ld(&s->bytes);
		}
	}
}

static void print_traffic(const struct nat64 *n, struct ctl_out *out)
{
	struct merged m;
	merge_traffic(n, &m);
	if (out->json)
		ctl_printf(out, ",\"traffic\":[");
	else
		ctl_printf(out, "traffic by prefix:\n");
	for (size_t k = 0; k < m.n; k++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(m.v[k].family, m.v[k].key, a, sizeof(a));
		if (out->json)
			ctl_printf(out, "%s{\"prefix\":\"%s/%u\",\"packets\":%llu,\"bytes\":%llu}",
				   k ? "," : "", a, m.v[k].len, (unsigned long long)m.v[k].packets,
				   (unsigned long long)m.v[k].bytes);
		else
			ctl_printf(out, "  %-24s %12llu packets %14llu bytes\n", a,
				   (unsigned long long)m.v[k].packets,
				   (unsigned long long)m.v[k].bytes);
	}
	if (out->json)
		ctl_printf(out, "],\"traffic_other\":{\"packets\":%llu,\"bytes\":%llu}",
			   (unsigned long long)m.other_packets, (unsigned long long)m.other_bytes);
	else if (m.other_packets)
		ctl_printf(out, "  %-24s %12llu packets %14llu bytes\n", "(table full)",
			   (unsigned long long)m.other_packets, (unsigned long long)m.other_bytes);
	free(m.v);
}

/* Reassembly counters of every worker (read while they run: a figure may
 * lag by a packet). */
static void print_frags(const struct nat64 *n, struct ctl_out *out)
{
	struct nat64_frag_stats sum = { 0 }, one;
	for (unsigned w = 0; w < n->nworkers; w++) {
		nat64_frag_get_stats(n->workers[w].frags, &one);
		sum.held += one.held;
		sum.reassembled += one.reassembled;
		sum.timeouts += one.timeouts;
		sum.evicted += one.evicted;
		sum.overlaps += one.overlaps;
		sum.too_big += one.too_big;
	}
	ctl_printf(out, out->json ? ",\"fragments\":{\"held\":%llu,\"reassembled\":%llu,"
		   "\"timeouts\":%llu,\"evicted\":%llu,\"overlaps\":%llu,\"too_big\":%llu}"
		   : "fragments: held %llu, reassembled %llu, timeouts %llu, evicted %llu, "
		   "overlaps %llu, too big %llu\n",
		   (unsigned long long)sum.held, (unsigned long long)sum.reassembled,
		   (unsigned long long)sum.timeouts, (unsigned long long)sum.evicted,
		   (unsigned long long)sum.overlaps, (unsigned long long)sum.too_big);
}

void nat64_print_stats(struct nat64 *n, struct ctl_out *out)
{
	struct nat64_path_counters pc;
	nat64_path_counters_sum(n, &pc);
	struct session_counters sc;
	session_get_counters(n->sessions, &sc);
	const uint64_t *pcv = &pc.rx6;
	const uint64_t *scv = &sc.created;
	if (out->json) {
		ctl_printf(out, "{\"enabled\":true,\"device\":");
		ctl_json_str(out, n->dev);
		ctl_printf(out, ",\"packets\":{");
		for (size_t i = 0; i < ARRAY_SIZE(path_counter_names); i++)
			ctl_printf(out, "%s\"%s\":%llu", i ? "," : "", path_counter_names[i],
				   (unsigned long long)pcv[i]);
		ctl_printf(out, "},\"drops\":{");
		bool first = true;
		for (unsigned v = NAT64_DROP_TRUNCATED; v < NAT64_VERDICT_COUNT; v++) {
			ctl_printf(out, "%s\"%s\":%llu", first ? "" : ",", drop_names[v],
				   (unsigned long long)pc.drops[v]);
			first = false;
		}
		ctl_printf(out, "},\"sessions\":{\"count\":%llu,\"bib\":%llu,\"clients\":%llu,"
			   "\"tcp\":%llu,\"udp\":%llu,\"icmp\":%llu,\"acked\":%llu,\"memory\":%zu",
			   (unsigned long long)sc.sessions, (unsigned long long)sc.bibs,
			   (unsigned long long)sc.clients, (unsigned long long)sc.by_proto[0],
			   (unsigned long long)sc.by_proto[1], (unsigned long long)sc.by_proto[2],
			   (unsigned long long)sc.acked, session_table_memory(n->sessions));
		for (size_t i = 0; session_counter_names[i]; i++)
			ctl_printf(out, ",\"%s\":%llu", session_counter_names[i],
				   (unsigned long long)scv[i]);
		ctl_printf(out, "}");
		print_frags(n, out);
		print_traffic(n, out);
		ctl_printf(out, "}\n");
		return;
	}
	ctl_printf(out, "device %s, %u queue(s)\npackets:\n", n->dev, n->nworkers);
	for (size_t i = 0; i < ARRAY_SIZE(path_counter_names); i++)
		ctl_printf(out, "  %-14s %llu\n", path_counter_names[i], (unsigned long long)pcv[i]);
	ctl_printf(out, "drops:\n");
	for (unsigned v = NAT64_DROP_TRUNCATED; v < NAT64_VERDICT_COUNT; v++)
		ctl_printf(out, "  %-22s %llu\n", drop_names[v], (unsigned long long)pc.drops[v]);
	ctl_printf(out, "sessions: %llu (tcp %llu, udp %llu, icmp %llu; acked %llu), bib %llu, "
		   "clients %llu, table memory %zu bytes\n", (unsigned long long)sc.sessions,
		   (unsigned long long)sc.by_proto[0], (unsigned long long)sc.by_proto[1],
		   (unsigned long long)sc.by_proto[2], (unsigned long long)sc.acked,
		   (unsigned long long)sc.bibs, (unsigned long long)sc.clients,
		   session_table_memory(n->sessions));
	for (size_t i = 0; session_counter_names[i]; i++)
		ctl_printf(out, "  %-16s %llu\n", session_counter_names[i],
			   (unsigned long long)scv[i]);
	print_frags(n, out);
	print_traffic(n, out);
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
			   "\"state\":\"%s\",\"pinned\":%s,\"expires_s\":%lld}",
			   la->n ? "," : "", proto_name(r->proto), c6, r->client_port, r6, r4,
			   r->remote_port, p4, r->pool_port, tcp, state,
			   r->pinned ? "true" : "false", expires);
	} else {
		ctl_printf(out, "%-4s [%s]:%u -> [%s]:%u  as %s:%u -> %s:%u  %s %s", 
			   proto_name(r->proto), c6, r->client_port, r6, r->remote_port, p4,
			   r->pool_port, r4, r->remote_port, tcp, state);
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
	struct nat64_path_counters pc;
	nat64_path_counters_sum(n, &pc);
	struct session_counters sc;
	session_get_counters(n->sessions, &sc);
	const uint64_t *pcv = &pc.rx6;
	const uint64_t *scv = &sc.created;
	ctl_printf(out, "# HELP sixfour_nat64_packets_total Translator packet and octet counts.\n"
		   "# TYPE sixfour_nat64_packets_total counter\n");
	for (size_t i = 0; i < ARRAY_SIZE(path_counter_names); i++)
		ctl_printf(out, "sixfour_nat64_packets_total{counter=\"%s\"} %llu\n",
			   path_counter_names[i], (unsigned long long)pcv[i]);
	ctl_printf(out, "# HELP sixfour_nat64_drops_total Packets dropped, by reason.\n"
		   "# TYPE sixfour_nat64_drops_total counter\n");
	for (unsigned v = NAT64_DROP_TRUNCATED; v < NAT64_VERDICT_COUNT; v++)
		ctl_printf(out, "sixfour_nat64_drops_total{reason=\"%s\"} %llu\n", drop_names[v],
			   (unsigned long long)pc.drops[v]);
	ctl_printf(out, "# HELP sixfour_nat64_sessions Sessions in the table, by protocol.\n"
		   "# TYPE sixfour_nat64_sessions gauge\n"
		   "sixfour_nat64_sessions{proto=\"tcp\"} %llu\n"
		   "sixfour_nat64_sessions{proto=\"udp\"} %llu\n"
		   "sixfour_nat64_sessions{proto=\"icmp\"} %llu\n",
		   (unsigned long long)sc.by_proto[0], (unsigned long long)sc.by_proto[1],
		   (unsigned long long)sc.by_proto[2]);
	ctl_printf(out, "# HELP sixfour_nat64_session_events_total Session table events.\n"
		   "# TYPE sixfour_nat64_session_events_total counter\n");
	for (size_t i = 0; session_counter_names[i]; i++)
		ctl_printf(out, "sixfour_nat64_session_events_total{event=\"%s\"} %llu\n",
			   session_counter_names[i], (unsigned long long)scv[i]);
	struct merged m;
	merge_traffic(n, &m);
	ctl_printf(out, "# HELP sixfour_nat64_prefix_packets_total Packets per client IPv6 "
		   "prefix, or per IPv4 prefix for packets of no client.\n"
		   "# TYPE sixfour_nat64_prefix_packets_total counter\n");
	for (size_t k = 0; k < m.n; k++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(m.v[k].family, m.v[k].key, a, sizeof(a));
		ctl_printf(out, "sixfour_nat64_prefix_packets_total{prefix=\"%s/%u\"} %llu\n", a,
			   m.v[k].len, (unsigned long long)m.v[k].packets);
	}
	free(m.v);
	nat64_handoff_metrics(n->handoff, out);
}
