/* Private to the translator subsystem (nat64.c, path.c, nat64_ctl.c, handoff_glue.c). */
#ifndef SIXFOUR_NAT64_PRIV_H
#define SIXFOUR_NAT64_PRIV_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/counters.h"
#include "common/subsys.h"
#include "nat64/nft.h"
#include "nat64/xlate.h"

#define NAT64_MAX_WORKERS 64
#define NAT64_MAX_STEER 16
/* Every buffer fits a 64 KB super-packet (GSO) plus its virtio-net header. */
#define NAT64_BUF_SIZE (65536 + 256)
/* Steered packets carry this mark and find the TUN through this table. */
#define NAT64_MARK 0x64640001u
#define NAT64_TABLE 6464u
#define NAT64_RULE_PRIO 10u
/* pool4 when [nat64] pool4 is empty: the host's own addresses, above the
 * kernel's default ephemeral range (32768-60999). */
#define NAT64_DEFAULT_PORT_MIN 61001
#define NAT64_DEFAULT_PORT_MAX 65535

/* Path counters beyond the drop reasons (common/counters.h). */
#define NAT64_PATH_COUNTERS(X) \
	X(rx6, "IPv6 packets read from the TUN") \
	X(rx4, "IPv4 packets read from the TUN") \
	X(tx4, "IPv4 packets written (translated 6->4)") \
	X(tx6, "IPv6 packets written (translated 4->6)") \
	X(icmp_sent, "ICMP errors the translator originated") \
	X(icmp_suppressed, "ICMP errors not sent: over the rate limit (RFC 4443 2.4 (f))") \
	X(hairpinned, "packets hairpinned (RFC 6146 3.8)") \
	X(write_errors, "TUN writes that failed") \
	X(rx_bytes, "octets read") \
	X(tx_bytes, "octets written") \
	X(gso_rx, "super-packets read (TUN offloads; rx6/rx4 count their segments)") \
	X(gso_tx, "super-packets written (tx4/tx6 count their segments)") \
	X(offload_cut, "frames cut into segments or checksummed in software for a step that needs plain packets") \
	X(rx_wakeups, "times a worker woke up to frames (frames per wake-up: the batching)") \
	X(tx_coalesced, "packets written inside the frame of the one before (UDP of one flow as one GSO frame)")

enum nat64_path_counter {
#define X(name, text) NAT64_PC_##name,
	NAT64_PATH_COUNTERS(X)
#undef X
	NAT64_PC__COUNT
};

/* One worker's counters: written by the worker only (counter_inc), read
 * by the control thread (counter_get; may lag by a packet, never tear). */
struct nat64_path_counters {
	uint64_t c[NAT64_PC__COUNT];
	uint64_t drops[NAT64_VERDICT_COUNT];	/* by enum nat64_verdict */
};

struct nat64;
struct nat64_usage;
struct nat64_usage_slot;
struct nat64_bw;
struct nat64_bw_slot;
struct tunio;

struct nat64_worker {
	struct nat64 *n;
	unsigned id;
	int fd;
	pthread_t thread;
	bool started;
	uint32_t ipv4_id;
	uint8_t *out, *out2;
	uint8_t *seg;			/* a super-packet's segment cut in software */
	struct tunio *io;		/* its TUN queue's I/O (tunio.h); NULL: write at once */
	atomic_bool batched;		/* io is io_uring (for nat64 stats) */
	struct nat64_frag_table *frags;	/* this worker's reassembly (frag.h) */
	struct nat64_path_counters c;
	/* This worker's limit on the ICMP errors it originates (xlate.h). */
	struct nat64_icmp_limit icmp_limit;
	/* Usage accounting (usage.h) and bandwidth limits (bwlimit.h) of
	 * this thread; NULL counts or limits nothing. */
	struct nat64_usage_slot *usage;
	struct nat64_bw_slot *bw;
};

struct nat64 {
	struct sixfour_ctx *ctx;
	bool enabled;
	char dev[IFNAMSIZ];
	unsigned mtu;
	unsigned nworkers;
	int fds[NAT64_MAX_WORKERS];
	/* TUN offloads ([nat64] offload, tun.h): the virtio-net header in
	 * front of every frame (0 = none), what the kernel took, and whether
	 * the workers try batched I/O. */
	unsigned vnet_len;
	unsigned offload_features;
	bool batch_io;
	uint16_t handoff_port;		/* [handoff] port, 0 = handoff off */
	int ifindex;
	atomic_bool stopping;		/* workers leave (see path.c) */
	struct nat64_nl *nl;
	/* Replaced when host addresses change; the old version is retired
	 * through ctx->publish (workers read it without a lock). */
	struct pool4 *_Atomic pool;
	uint64_t pool_key;		/* pool4_set_key: the same for every version */
	struct session_table *sessions;
	bool shared_mode;		/* pool4 on the host's own addresses */
	struct nat64_nft_steer steer[NAT64_MAX_STEER];
	size_t nsteer;
	bool nft_installed;
	struct nat64_xlate_cfg xcfg;	/* own addresses, MTUs (prefixes per packet) */
	/* Changed by reload while workers run: read with relaxed atomics. */
	atomic_bool reassemble_udp;	/* copied into each packet's xlate cfg */
	struct nat64_usage *usage;	/* usage accounting, log, quota (usage.h) */
	struct nat64_bw *bw;		/* [ratelimit] bandwidth limits (bwlimit.h) */
	/* ICMP errors we originate: per second in all, and to one destination. */
	_Atomic unsigned icmp_rate, icmp_dst_rate;
	struct nat64_icmp_limit main_icmp_limit;	/* the main thread's errors */
	uint64_t main_icmp_sent;
	struct ev_timer *sweep;
	int ev_fd;			/* address events, -1 = none */
	struct nat64_worker *workers;
	struct nat64_handoff *handoff;	/* NULL: [handoff] enable = no */
	/* A cluster's standby (doc/cluster.md): workers drop every packet.
	 * Set before anything else when the node goes standby, cleared last
	 * when it becomes active. */
	atomic_bool standby;
};

/* nat64_ctl.c: the `nat64 stats` and `nat64 sessions` output. */
struct ctl_out;
void nat64_print_stats(struct nat64 *n, struct ctl_out *out);
void nat64_print_sessions(struct nat64 *n, struct ctl_out *out);
/* Prometheus text for the metrics endpoint (subsys.h). */
void nat64_metrics(void *state, struct ctl_out *out);

/* path.c */
int nat64_workers_start(struct nat64 *n);
void nat64_workers_stop(struct nat64 *n);
/* Runs an IPv4 packet through the IPv4 -> IPv6 path as if it had been read
 * from the TUN (the handoff glue re-delivers packets a LOOKUP held). `w`
 * belongs to the calling thread: a worker, or a pseudo-worker of its own
 * with its own buffers. */
void nat64_path4_deliver(struct nat64_worker *w, const uint8_t *p, size_t len);
/* The same for an IPv6 packet the handoff glue held (a LOOKUP-CLIENT or a
 * wait for hints): it is not given to the glue again. */
void nat64_path6_deliver(struct nat64_worker *w, const uint8_t *p, size_t len);
/* Answers a stored inbound SYN whose wait ran out (RFC 6146 3.5.2.2). */
void nat64_syn_timeout(void *arg, const uint8_t *pkt, size_t len);
/* Sums the workers' counters (ICMP limiters included). */
void nat64_path_counters_sum(const struct nat64 *n, struct nat64_path_counters *out);

#endif
