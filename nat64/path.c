/* The packet path, one worker thread per TUN queue. It reads top to bottom
 * as RFC 6146 section 3 does:
 *
 *   determine the incoming tuple (3.4)        nat64_determine_tuple6/4
 *   filtering and updating (3.5)              session_handle6/4
 *   translating the packet (3.7, RFC 7915)    nat64_translate_6to4/4to6
 *   hairpinning (3.8)                         path4() again, IPv4 output
 *   write                                     back into the TUN
 *
 * With TUN offloads a frame may be a super-packet (xlate.h struct
 * nat64_gso): it takes the same steps once, and is written as one. When a
 * step would treat its segments differently (an error owed, a fragment, a
 * handoff datagram or a packet the handoff engine may hold, a hairpin),
 * the segments the kernel would have cut are made in software (vnet.h)
 * and each goes the whole way as a plain packet (cut_path).
 *
 * Every drop is counted by its reason; nothing is logged per packet. */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/publish.h"
#include "common/rfc6052.h"
#include "common/util.h"
#include "nat64/bwlimit.h"
#include "nat64/handoff_glue.h"
#include "nat64/nat64_priv.h"
#include "nat64/pool4.h"
#include "nat64/session.h"
#include "nat64/tunio.h"
#include "nat64/usage.h"
#include "nat64/vnet.h"

#define ICMP6_DST_UNREACH_TYPE 1
#define ICMP6_DST_UNREACH_ADDR 3	/* RFC 6146 3.5.1: no mapping possible */
#define ICMP4_DST_UNREACH_TYPE 3
#define ICMP4_HOST_UNREACH 1
#define ICMP4_PORT_UNREACH 3
#define ICMP4_ADMIN_PROHIBITED 13	/* communication administratively prohibited */
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

/* --- output --- */

/* One frame to the TUN: the worker's queue (batched), or at once for a
 * thread without one (the handoff glue's pseudo-worker). */
static int tun_send(struct nat64_worker *w, const struct nat64_gso *g, const uint8_t *p,
		    size_t len)
{
	if (w->io)
		return tunio_send(w->io, g, p, len);
	return tunio_write_one(w->fd, w->n->vnet_len, g, p, len);
}

static void write_out(struct nat64_worker *w, const struct nat64_out *out,
		      enum nat64_path_counter counter, const struct in6_addr *client,
		      enum nat64_usage_dir dir);

/* A translated super-packet the limits will not let go whole now: the
 * segments the kernel would cut from it (complete checksums), each
 * through the limits as a plain packet. */
static void write_cut(struct nat64_worker *w, const uint8_t *pkt, size_t len,
		      const struct nat64_gso *g, enum nat64_path_counter counter,
		      const struct in6_addr *client, enum nat64_usage_dir dir)
{
	counter_inc(&w->c.c[NAT64_PC_offload_cut], 1);
	struct nat64_gso_iter it;
	nat64_gso_iter_init(&it, pkt, len, g);
	struct nat64_out seg = { .buf = w->seg, .cap = NAT64_BUF_SIZE };
	while ((seg.len = nat64_gso_next(&it, w->seg, NAT64_BUF_SIZE)) > 0)
		write_out(w, &seg, counter, client, dir);
}

/* `client` (NULL for the translator's own ICMP errors) is charged for what
 * goes out, in direction `dir` (usage.h), within the limits (bwlimit.h).
 * A super-packet counts as the segments the kernel cuts from it and the
 * octets they carry. */
static void write_out(struct nat64_worker *w, const struct nat64_out *out,
		      enum nat64_path_counter counter, const struct in6_addr *client,
		      enum nat64_usage_dir dir)
{
	static const struct nat64_gso plain;
	uint8_t *p = out->buf;
	unsigned count = out->count ? out->count : 1;
	for (unsigned k = 0; k < count; k++) {
		size_t len = out->count ? out->pkt_len[k] : out->len;
		uint8_t *pkt = p;
		p += len;
		const struct nat64_gso *g = k < ARRAY_SIZE(out->gso) ? &out->gso[k] : &plain;
		unsigned segs = nat64_gso_segs(g, len);
		size_t wire = nat64_gso_wire_len(g, len);
		enum nat64_verdict v = NAT64_CONTINUE;
		/* Under a limit what may leave now goes as it is (a super-packet
		 * whole, a datagram with the checksum left to the kernel, so
		 * that it can join the next one's frame: tunio.h). The rest may
		 * be held: a super-packet goes as its segments (the queue's
		 * buffers fit plain packets), a packet with its checksum
		 * completed first. */
		if (nat64_bw_limits(w->bw) && !nat64_bw_admit_now(w->bw, client, wire)) {
			if (g->type != NAT64_GSO_NONE) {
				write_cut(w, pkt, len, g, counter, client, dir);
				continue;
			}
			if (g->csum_partial) {
				nat64_csum_complete(pkt, len, g);
				g = &plain;
			}
			v = nat64_bw_admit(w->bw, client, pkt, len, wire);
		}
		if (v != NAT64_CONTINUE && v != NAT64_HELD) {	/* HELD: queued, goes out when due */
			counter_inc(&w->c.drops[v], segs);
			continue;
		}
		if (v == NAT64_CONTINUE && tun_send(w, g, pkt, len) != 0) {
			counter_inc(&w->c.c[NAT64_PC_write_errors], 1);
			continue;
		}
		counter_inc(&w->c.c[counter], segs);
		counter_inc(&w->c.c[NAT64_PC_tx_bytes], wire);
		if (segs > 1)
			counter_inc(&w->c.c[NAT64_PC_gso_tx], 1);
		nat64_usage_count6(w->usage, client, dir, segs, wire);
	}
}

static void drop(struct nat64_worker *w, enum nat64_verdict v)
{
	if (v < NAT64_VERDICT_COUNT)
		counter_inc(&w->c.drops[v], 1);
}

/* The ICMP error limits ([nat64] icmp-errors-per-second, split between
 * `share` threads, and icmp-errors-per-destination), read per packet so
 * that a reload applies at once. */
static void icmp_limit_set(struct nat64 *n, struct nat64_icmp_limit *l, unsigned share)
{
	unsigned rate = atomic_load_explicit(&n->icmp_rate, memory_order_relaxed);
	unsigned dst = atomic_load_explicit(&n->icmp_dst_rate, memory_order_relaxed);
	l->per_sec = MAX(rate / MAX(share, 1u), 1u);
	l->burst = MAX(l->per_sec / 10, 10u);
	l->dst_per_sec = dst;
	l->dst_burst = dst;
}

static void xcfg_for_packet(struct nat64_worker *w, struct nat64_xlate_cfg *xc)
{
	*xc = w->n->xcfg;
	/* One version of the prefix set for the whole packet. */
	xc->prefixes = prefix_pub_current(w->n->ctx->prefixes);
	xc->reassemble_unchecksummed_udp =
		atomic_load_explicit(&w->n->reassemble_udp, memory_order_relaxed);
	xc->ipv4_id_next = &w->ipv4_id;
	xc->frags = w->frags;
	icmp_limit_set(w->n, &w->icmp_limit, w->n->nworkers);
	xc->icmp_limit = &w->icmp_limit;
}

/* An ICMP error the translator owes the sender of `pkt`. */
static void send_error(struct nat64_worker *w, const struct nat64_xlate_cfg *xc,
		       const struct nat64_pkt *pkt, uint8_t type, uint8_t code, uint32_t param)
{
	struct nat64_out out = { .buf = w->out2, .cap = NAT64_BUF_SIZE };
	if (nat64_icmp_error(xc, pkt, type, code, param, &out) == NAT64_ICMP_SENT ||
	    out.len > 0)
		write_out(w, &out, NAT64_PC_icmp_sent, NULL, NAT64_USAGE_TO);
}

/* --- offloads: a frame that cannot go whole goes as its segments --- */

static void path4(struct nat64_worker *w, const struct nat64_xlate_cfg *xc, const uint8_t *p,
		  size_t len, bool hairpin, bool looked_up, const struct nat64_gso *g);
static void path6(struct nat64_worker *w, const struct nat64_xlate_cfg *xc, const uint8_t *p,
		  size_t len, bool handoff_done, const struct nat64_gso *g);

/* A super-packet, or a packet whose checksum the sender left to us. */
static bool offloaded(const struct nat64_gso *g)
{
	return g && (g->type != NAT64_GSO_NONE || g->csum_partial);
}

/* The segments the kernel would have cut from frame p (complete
 * checksums), each through the whole path as a plain packet. A step
 * before the cut has had no effect, except a session step that made or
 * refreshed the flow's session: each segment then finds it, as it would
 * have without offloads (a refusal leaves the table as it was). */
static void cut_path(struct nat64_worker *w, const struct nat64_xlate_cfg *xc, const uint8_t *p,
		     size_t len, const struct nat64_gso *g, int family)
{
	counter_inc(&w->c.c[NAT64_PC_offload_cut], 1);
	struct nat64_gso_iter it;
	nat64_gso_iter_init(&it, p, len, g);
	size_t n;
	while ((n = nat64_gso_next(&it, w->seg, NAT64_BUF_SIZE)) > 0) {
		if (family == AF_INET6)
			path6(w, xc, w->seg, n, false, NULL);
		else
			path4(w, xc, w->seg, n, false, false, NULL);
	}
}

/* A refused packet whose checksum the sender left to us: completed where
 * it lies (a frame's buffer is the worker's), it goes the refusal's way
 * as a plain packet without a second session lookup; a super-packet is
 * cut. True when the caller goes on. */
static bool refused_plain(struct nat64_worker *w, const struct nat64_xlate_cfg *xc,
			  const uint8_t *p, size_t len, const struct nat64_gso *g, int family)
{
	if (!offloaded(g))
		return true;
	if (g->type != NAT64_GSO_NONE) {
		cut_path(w, xc, p, len, g, family);
		return false;
	}
	nat64_csum_complete((uint8_t *)p, len, g);
	return true;
}

/* --- IPv4 -> IPv6 (also the second half of a hairpin) --- */

static void path4(struct nat64_worker *w, const struct nat64_xlate_cfg *xc, const uint8_t *p,
		  size_t len, bool hairpin, bool looked_up, const struct nat64_gso *g)
{
	struct nat64_handoff *ho = w->n->handoff;
	struct nat64_pkt pkt;
	struct nat64_tuple in, out_tuple;
	memset(&pkt, 0, sizeof(pkt));
	enum nat64_verdict v = nat64_determine_tuple4(xc, p, len, &pkt, &in);
	/* Offloads: a SYN may be stored (session.h) and a handoff datagram
	 * is the glue's; both keep a complete checksum. */
	bool offl = offloaded(g);
	if (offl && (v != NAT64_CONTINUE || nat64_pkt_offload(&pkt, g) != NAT64_CONTINUE ||
		     (pkt.tcp_flags & TCP_FLAG_SYN) ||
		     (ho && in.proto == IPPROTO_UDP && in.dport == w->n->handoff_port)))
		return cut_path(w, xc, p, len, g, AF_INET);
	if (v != NAT64_CONTINUE) {
		if (pkt.err_set && !hairpin)
			send_error(w, xc, &pkt, pkt.err_type, pkt.err_code, pkt.err_param);
		if (v != NAT64_HELD)	/* a held fragment: frag.h counts it */
			drop(w, v);
		return;
	}
	/* Handoff datagrams to T:port (and ICMP errors about ours) are the
	 * protocol's, before anything else: a BLOCK never stops them. */
	if (!hairpin && !looked_up && nat64_handoff_input(ho, &pkt, &in))
		return;
	if (nat64_handoff_blocked(ho, in.src.v4)) {
		if (offl)
			return cut_path(w, xc, p, len, g, AF_INET);
		drop(w, NAT64_DROP_BLOCKED);	/* handoff BLOCK (spec 7.9) */
		return;
	}
	bool stored = false;
	struct session_events evs;
	v = session_handle4(w->n->sessions, &in, pkt.tcp_flags, pkt.is_icmp_error,
			    monotonic_ms(), p, len, &stored, &out_tuple, &evs);
	/* The table is unlocked again: its news go to the handoff client. */
	session_events_deliver(&evs);
	/* Refused: a miss may be held, an error quotes it. */
	if (v != NAT64_CONTINUE && !refused_plain(w, xc, p, len, g, AF_INET))
		return;
	/* A miss from a server with a handoff session: one LOOKUP fetches the
	 * entry back (spec 7.4). A bare SYN opens something new instead. */
	bool bare_syn = in.proto == IPPROTO_TCP &&
			(pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	if (v == NAT64_DROP_NO_SESSION && !stored && !hairpin && !looked_up && !bare_syn &&
	    !pkt.reassembled && nat64_handoff_miss(ho, &pkt, &in, p, len))
		return;
	if (v != NAT64_CONTINUE) {
		if (!stored)	/* a stored SYN: the session table counts it */
			drop(w, v);
		/* RFC 6146 3.5.1, 3.5.3: UDP or an ICMP query to a pool transport
		 * address without a mapping (Host Unreachable), or one that
		 * filtering refuses (Communication Administratively Prohibited),
		 * may be answered; within the ICMP limits, as the source may be
		 * spoofed. TCP waits for a simultaneous open (3.5.2.2). */
		if (!hairpin && (in.proto == IPPROTO_UDP || in.proto == IPPROTO_ICMP) &&
		    (v == NAT64_DROP_NO_SESSION || v == NAT64_DROP_FILTERED))
			send_error(w, xc, &pkt, ICMP4_DST_UNREACH_TYPE,
				   v == NAT64_DROP_NO_SESSION ? ICMP4_HOST_UNREACH
							      : ICMP4_ADMIN_PROHIBITED, 0);
		/* Belongs to no IPv6 client: counted by its IPv4 source. */
		nat64_usage_count4(w->usage, in.src.v4, 1, len);
		return;
	}
	struct nat64_out out = { .buf = hairpin ? w->out2 : w->out, .cap = NAT64_BUF_SIZE };
	v = nat64_translate_4to6(xc, &pkt, &out_tuple, &out);
	if (v == NAT64_SEGMENT)
		return cut_path(w, xc, p, len, g, AF_INET);
	if (v == NAT64_ICMP_SENT) {
		if (!hairpin)
			write_out(w, &out, NAT64_PC_icmp_sent, NULL, NAT64_USAGE_TO);
		return;
	}
	if (v != NAT64_CONTINUE) {
		drop(w, v);
		return;
	}
	write_out(w, &out, NAT64_PC_tx6, &out_tuple.dst.v6, NAT64_USAGE_TO);
}

void nat64_path4_deliver(struct nat64_worker *w, const uint8_t *p, size_t len)
{
	struct nat64_xlate_cfg xc;
	xcfg_for_packet(w, &xc);
	counter_inc(&w->c.c[NAT64_PC_rx4], 1);
	counter_inc(&w->c.c[NAT64_PC_rx_bytes], len);
	path4(w, &xc, p, len, false, true, NULL);	/* never looked up twice */
}

/* --- IPv6 -> IPv4 --- */


void nat64_path6_deliver(struct nat64_worker *w, const uint8_t *p, size_t len)
{
	struct nat64_xlate_cfg xc;
	xcfg_for_packet(w, &xc);
	counter_inc(&w->c.c[NAT64_PC_rx6], 1);
	counter_inc(&w->c.c[NAT64_PC_rx_bytes], len);
	path6(w, &xc, p, len, true, NULL);	/* the handoff engine decided already */
}

static void path6(struct nat64_worker *w, const struct nat64_xlate_cfg *xc, const uint8_t *p,
		  size_t len, bool handoff_done, const struct nat64_gso *g)
{
	struct nat64_pkt pkt;
	struct nat64_tuple in, out_tuple;
	memset(&pkt, 0, sizeof(pkt));
	enum nat64_verdict v = nat64_determine_tuple6(xc, p, len, &pkt, &in);
	struct pool4 *pool = atomic_load_explicit(&w->n->pool, memory_order_acquire);
	/* Offloads: a hairpin (its destination is ours, RFC 6146 3.8), a
	 * BLOCK and a packet the handoff engine may hold go by segments. */
	struct nat64_handoff *ho = w->n->handoff;
	if (offloaded(g) &&
	    (v != NAT64_CONTINUE || nat64_pkt_offload(&pkt, g) != NAT64_CONTINUE ||
	     pool4_has_addr(pool, pkt.dst4) || nat64_handoff_blocked(ho, pkt.dst4) ||
	     (!handoff_done && nat64_handoff_may_hold6(ho, &pkt, &in))))
		return cut_path(w, xc, p, len, g, AF_INET6);
	if (v != NAT64_CONTINUE) {
		if (pkt.err_set)
			send_error(w, xc, &pkt, pkt.err_type, pkt.err_code, pkt.err_param);
		if (v != NAT64_HELD)	/* a held fragment: frag.h counts it */
			drop(w, v);
		return;
	}
	if (nat64_handoff_blocked(w->n->handoff, pkt.dst4)) {
		drop(w, NAT64_DROP_BLOCKED);	/* handoff BLOCK (spec 7.9) */
		return;
	}
	/* A flow toward a handoff server may wait one round trip for it: the
	 * server may hold its entry, or must choose its port. */
	if (!handoff_done && nat64_handoff_before6(w->n->handoff, &pkt, &in, p, len))
		return;
	struct session_events evs;
	v = session_handle6(w->n->sessions, &in, pkt.dst4, pkt.prefix ? pkt.prefix->len : 96,
			    pkt.tcp_flags, pkt.is_icmp_error, monotonic_ms(), &out_tuple, &evs);
	session_events_deliver(&evs);
	if (v != NAT64_CONTINUE && !refused_plain(w, xc, p, len, g, AF_INET6))
		return;
	if (v != NAT64_CONTINUE) {
		/* RFC 6146 3.5.1: no mapping could be made; tell the client. */
		if (v == NAT64_DROP_POOL_EXHAUSTED || v == NAT64_DROP_TABLE_FULL ||
		    v == NAT64_DROP_CLIENT_LIMIT)
			send_error(w, xc, &pkt, ICMP6_DST_UNREACH_TYPE, ICMP6_DST_UNREACH_ADDR, 0);
		/* Our client's flow lost its entry (restart, flush): a handoff
		 * server may hold it and is asked by the IPv6 side (the packet
		 * waits), or is probed so that the next packet can be. */
		if (v == NAT64_DROP_NO_SESSION && !pkt.is_icmp_error && !handoff_done &&
		    nat64_handoff_miss6(w->n->handoff, &pkt, &in, p, len))
			return;
		drop(w, v);
		return;
	}
	struct nat64_out out = { .buf = w->out, .cap = NAT64_BUF_SIZE };
	v = nat64_translate_6to4(xc, &pkt, &out_tuple, &out);
	if (v == NAT64_SEGMENT)
		return cut_path(w, xc, p, len, g, AF_INET6);
	if (v == NAT64_ICMP_SENT) {
		write_out(w, &out, NAT64_PC_icmp_sent, NULL, NAT64_USAGE_TO);
		return;
	}
	if (v != NAT64_CONTINUE) {
		drop(w, v);
		return;
	}
	/* RFC 6146 3.8: a destination in our own pool goes straight back in
	 * as if it had arrived from the IPv4 side. */
	if (pool4_has_addr(pool, out_tuple.dst.v4)) {
		const uint8_t *q = out.buf;
		unsigned count = out.count ? out.count : 1;
		for (unsigned k = 0; k < count; k++) {
			size_t l = out.count ? out.pkt_len[k] : out.len;
			counter_inc(&w->c.c[NAT64_PC_hairpinned], 1);
			path4(w, xc, q, l, true, false, NULL);
			q += l;
		}
		return;
	}
	write_out(w, &out, NAT64_PC_tx4, &in.src.v6, NAT64_USAGE_FROM);
}

/* A frame read from the TUN: with offloads, the virtio-net header, then
 * the packet; a super-packet counts as its segments. */
static void handle_packet(struct nat64_worker *w, const uint8_t *p, size_t len)
{
	/* A cluster's standby node translates nothing and answers nothing
	 * (doc/cluster.md): the active node owns the pool. */
	if (atomic_load_explicit(&w->n->standby, memory_order_acquire)) {
		drop(w, NAT64_DROP_STANDBY);
		return;
	}
	struct nat64_xlate_cfg xc;
	xcfg_for_packet(w, &xc);
	struct nat64_gso g = { 0 };
	unsigned vnet = w->n->vnet_len;
	if (vnet) {
		if (len < vnet) {
			drop(w, NAT64_DROP_TRUNCATED);
			return;
		}
		nat64_vnet_decode(p, &g);
		p += vnet;
		len -= vnet;
		enum nat64_verdict v = nat64_gso_check(p, &len, &g);
		if (v != NAT64_CONTINUE) {
			drop(w, v);
			return;
		}
	}
	unsigned segs = nat64_gso_segs(&g, len);
	counter_inc(&w->c.c[NAT64_PC_rx_bytes], nat64_gso_wire_len(&g, len));
	if (segs > 1)
		counter_inc(&w->c.c[NAT64_PC_gso_rx], 1);
	switch (len ? p[0] >> 4 : 0) {
	case 6:
		counter_inc(&w->c.c[NAT64_PC_rx6], segs);
		path6(w, &xc, p, len, false, &g);
		break;
	case 4:
		counter_inc(&w->c.c[NAT64_PC_rx4], segs);
		path4(w, &xc, p, len, false, false, &g);
		break;
	default:
		drop(w, NAT64_DROP_BAD_VERSION);
	}
}

void nat64_syn_timeout(void *arg, const uint8_t *p, size_t len)
{
	struct nat64 *n = arg;
	struct nat64_xlate_cfg xc = n->xcfg;
	xc.prefixes = prefix_pub_current(n->ctx->prefixes);
	icmp_limit_set(n, &n->main_icmp_limit, n->nworkers);
	xc.icmp_limit = &n->main_icmp_limit;
	struct nat64_pkt pkt;
	struct nat64_tuple in;
	memset(&pkt, 0, sizeof(pkt));
	if (nat64_determine_tuple4(&xc, p, len, &pkt, &in) != NAT64_CONTINUE)
		return;
	/* Built on the control thread: its own buffer, not a worker's. */
	uint8_t *buf = malloc(NAT64_BUF_SIZE);
	if (!buf)
		return;
	struct nat64_out out = { .buf = buf, .cap = NAT64_BUF_SIZE };
	if (nat64_icmp_error(&xc, &pkt, ICMP4_DST_UNREACH_TYPE, ICMP4_PORT_UNREACH, 0, &out) ==
	    NAT64_ICMP_SENT && tunio_write_one(n->fds[0], n->vnet_len, NULL, out.buf, out.len) == 0)
		counter_add(&n->main_icmp_sent, 1);
	free(buf);
}

/* --- workers --- */

/* Workers block in tunio_wait(): with io_uring one system call per batch
 * of frames in and out, else one read() per frame in and a write per
 * frame out. To stop one, nat64_workers_stop() sets `stopping` and
 * interrupts the wait with a signal whose handler does nothing (no
 * SA_RESTART). */
#define WAKE_SIGNAL SIGUSR2

static void on_wake(int signo)
{
	(void)signo;
}

static void *worker_main(void *arg)
{
	struct nat64_worker *w = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* The prefix set and pool4 are read per packet: between two reads the
	 * worker holds no version of them (common/publish.h). */
	struct publish_domain *dom = w->n->ctx->publish;
	struct publish_reader *reader = publish_reader_register(dom);
	/* The queue's ring belongs to this thread (tunio.h). */
	w->io = tunio_new(w->fd, w->n->vnet_len, NAT64_BUF_SIZE, w->n->batch_io);
	if (!w->io) {
		log_err("nat64 worker %u: no memory for its TUN queue", w->id);
		publish_reader_unregister(reader);
		return NULL;
	}
	atomic_store_explicit(&w->batched, tunio_batched(w->io), memory_order_relaxed);
	while (!atomic_load_explicit(&w->n->stopping, memory_order_acquire)) {
		publish_offline(reader);
		/* Packets waiting for a bandwidth limit go out when due, after
		 * what the last batch queued. */
		tunio_flush(w->io);
		nat64_bw_wait(w->bw, w->fd, w->n->vnet_len, &w->c.c[NAT64_PC_write_errors]);
		int rc = tunio_wait(w->io, -1);
		publish_online(dom, reader);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN) {
			log_err("nat64 worker %u: read: %s", w->id, strerror(-rc));
			break;
		}
		uint8_t *frame;
		size_t len;
		unsigned frames = 0;
		while ((frame = tunio_next(w->io, &len)) != NULL) {
			handle_packet(w, frame, len);
			frames++;
		}
		if (frames)
			counter_inc(&w->c.c[NAT64_PC_rx_wakeups], 1);
		/* Queued writes the kernel refused, datagrams coalesced (tunio.h). */
		counter_inc(&w->c.c[NAT64_PC_write_errors], tunio_take_write_errors(w->io));
		counter_inc(&w->c.c[NAT64_PC_tx_coalesced], tunio_take_coalesced(w->io));
	}
	tunio_free(w->io);
	w->io = NULL;
	publish_reader_unregister(reader);
	return NULL;
}

int nat64_workers_start(struct nat64 *n)
{
	struct sigaction sa = { .sa_handler = on_wake };	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	if (sigaction(WAKE_SIGNAL, &sa, NULL) < 0)
		return -errno;
	for (unsigned i = 0; i < n->nworkers; i++) {
		struct nat64_worker *w = &n->workers[i];
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc) {
			log_err("nat64: starting worker %u: %s", i, strerror(rc));
			return -rc;
		}
		w->started = true;
	}
	return 0;
}

void nat64_workers_stop(struct nat64 *n)
{
	atomic_store_explicit(&n->stopping, true, memory_order_release);
	for (unsigned i = 0; n->workers && i < n->nworkers; i++) {
		struct nat64_worker *w = &n->workers[i];
		if (!w->started)
			continue;
		/* A signal that lands just before read() is lost: repeat until
		 * the thread has gone. */
		for (;;) {
			pthread_kill(w->thread, WAKE_SIGNAL);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(w->thread, NULL, &ts) == 0)
				break;
		}
		w->started = false;
	}
}

void nat64_path_counters_sum(const struct nat64 *n, struct nat64_path_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < n->nworkers; i++) {
		const struct nat64_worker *w = &n->workers[i];
		counters_sum(out->c, w->c.c, NAT64_PC__COUNT);
		counters_sum(out->drops, w->c.drops, NAT64_VERDICT_COUNT);
		out->c[NAT64_PC_icmp_suppressed] += counter_get(&w->icmp_limit.suppressed);
	}
	out->c[NAT64_PC_icmp_sent] += counter_get(&n->main_icmp_sent);
	out->c[NAT64_PC_icmp_suppressed] += counter_get(&n->main_icmp_limit.suppressed);
}
