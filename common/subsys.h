/* What the appliance needs from each subsystem (dns64, nat64, hints, ...).
 * A module's life: start (privileged, once), run (after privileges are
 * dropped: threads), reload (per config: build on the side, then swap),
 * stop. */
#ifndef SIXFOUR_SUBSYS_H
#define SIXFOUR_SUBSYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;
struct prefix_pub;
struct publish_domain;
struct sixfour_config;
struct ctl_command;
struct ctl_out;
struct privsep;
struct privsep_ops;

#define SIXFOUR_MAX_WATCHERS 8

/* A callback run on the main loop right after a new prefix set was
 * published (health verdicts, reload), for what must follow at once:
 * PREF64 withdrawals, export files. */
struct sixfour_watcher {
	void (*fn)(void *arg);
	void *arg;
};

/* What the local translator knows about its own data path: while `down`
 * (no TUN device, no pool4 address), health withdraws the prefixes this
 * host translates at once instead of waiting for probes to fail. */
struct sixfour_datapath {
	bool down;
	char why[96];
	void (*notify)(void *arg);	/* health's; called on every change */
	void *notify_arg;
};

/* A node's role in a cluster of translators sharing prefixes and pool4
 * (doc/cluster.md), as keepalived reports it to the cluster subsystem.
 * SINGLE: no cluster, always in service. Watchers run on the main loop
 * right after every change, in the order they registered. */
enum sixfour_role {
	SIXFOUR_ROLE_SINGLE,
	SIXFOUR_ROLE_ACTIVE,
	SIXFOUR_ROLE_STANDBY,
};
#define SIXFOUR_MAX_ROLE_WATCHERS 8

struct sixfour_role_state {
	enum sixfour_role role;
	char why[96];
	struct sixfour_watcher watchers[SIXFOUR_MAX_ROLE_WATCHERS];
	size_t nwatchers;
};

/* Shared state handed to every subsystem; never a global. */
struct sixfour_ctx {
	struct evloop *loop;		/* the main thread's loop */
	const struct sixfour_config *cfg;	/* the running config */
	struct prefix_pub *prefixes;	/* the shared prefix set */
	/* Frees retired versions of shared state (common/publish.h): worker
	 * threads register as readers; the main thread publishes. */
	struct publish_domain *publish;
	uint64_t start_ms;		/* monotonic time at start */
	struct sixfour_watcher watchers[SIXFOUR_MAX_WATCHERS];
	size_t nwatchers;
	struct sixfour_datapath datapath;
	struct sixfour_role_state role;
	/* The privileged helper (common/privsep.h): what needs a capability
	 * after start-up is a request to it. */
	struct privsep *priv;
	/* Starts the commands sixfourd runs (common/launcher.h); NULL: the
	 * process starts them itself (unit tests). */
	struct launcher *launcher;
};

/* Adds a watcher of new prefix sets; -ENOSPC when all are taken. */
int sixfour_watch_prefixes(struct sixfour_ctx *ctx, void (*fn)(void *), void *arg);
/* Removes every watcher registered with `arg`. */
void sixfour_unwatch_prefixes(struct sixfour_ctx *ctx, void *arg);
/* Whoever published a new prefix set calls this (main loop). */
void sixfour_prefixes_changed(struct sixfour_ctx *ctx);
/* The translator reports its data path (main loop); a repeat of the same
 * state is ignored. */
void sixfour_datapath_report(struct sixfour_ctx *ctx, bool down, const char *why);

/* Role watchers (main loop): -ENOSPC when all are taken. A subsystem reads
 * ctx->role.role in its watcher; standby means: translate nothing, send
 * nothing in the pool's name, do not advertise yourself as a router. */
int sixfour_watch_role(struct sixfour_ctx *ctx, void (*fn)(void *), void *arg);
void sixfour_unwatch_role(struct sixfour_ctx *ctx, void *arg);
/* The cluster subsystem reports a role (main loop); a repeat is ignored. */
void sixfour_role_report(struct sixfour_ctx *ctx, enum sixfour_role role, const char *why);
/* "single", "active", "standby". */
const char *sixfour_role_name(enum sixfour_role role);

struct subsys_ops {
	const char *name;
	/* Opens what needs root (sockets on low ports, TUN, netlink). Returns
	 * the subsystem's state, or NULL after logging why. A subsystem that
	 * is disabled in the config returns a valid state that does nothing. */
	void *(*start)(struct sixfour_ctx *ctx);
	/* Starts threads; called after privileges are dropped. May be NULL. */
	int (*run)(void *state);
	/* Checks `cfg` without changing anything: 0, or -errno with why in
	 * err. `state` is NULL for `sixfourd -n` (config checks only) and the
	 * running state before a reload. A reload calls every subsystem's
	 * check first and switches only when all of them accept. May be NULL. */
	int (*check)(void *state, const struct sixfour_config *cfg, char *err, size_t errlen);
	/* Switches to `cfg`, which check() accepted. Should not fail; if it
	 * must, it writes why into err and keeps the running state. May be NULL. */
	int (*reload)(void *state, const struct sixfour_config *cfg, char *err, size_t errlen);
	void (*stop)(void *state);
	/* Control commands this subsystem adds to sixfourctl (NULL-terminated). */
	const struct ctl_command *commands;
	/* Capabilities (PRIVDROP_CAP bits) the subsystem's privileged side
	 * needs after start: they stay with the helper process, never with
	 * sixfourd itself. */
	uint64_t caps;
	/* The subsystem's privileged side, run in the helper; NULL = none. */
	const struct privsep_ops *priv;
	/* Writes the subsystem's counters in the Prometheus text format
	 * (`sixfour_<subsystem>_<name>{labels} value` lines with # HELP and
	 * # TYPE) for the metrics endpoint and `sixfourctl metrics`. May be NULL. */
	void (*metrics)(void *state, struct ctl_out *out);
};

/* The members every subsystem has, by the names its file gives them:
 * { SUBSYS_OPS(nat64), .run = ..., .caps = ... } is nat64_start,
 * nat64_check, nat64_reload, nat64_stop, nat64_commands, nat64_metrics. */
#define SUBSYS_OPS(n) \
	.name = #n, .start = n##_start, .check = n##_check, .reload = n##_reload, \
	.stop = n##_stop, .commands = n##_commands, .metrics = n##_metrics

#endif
