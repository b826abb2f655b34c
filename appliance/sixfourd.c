/* sixfourd: reads the config, starts the subsystems, drops privileges,
 * serves the control socket and reloads on SIGHUP. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appliance/appliance.h"
#include "appliance/cmdlauncher.h"
#include "appliance/metrics.h"
#include "appliance/privhelper.h"
#include "common/config.h"
#include "common/counters.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/launcher.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/publish.h"
#include "common/rfc6052.h"
#include "common/sandbox.h"
#include "common/util.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_CONFIG = 1,
	EXIT_USAGE = 2,
	EXIT_STARTUP = 3,
};

#define MAX_SUBSYS 16
#define MAX_COMMANDS 64
#define RECLAIM_MS 1000

/* The daemon's own metrics (Prometheus sixfour_<name>). */
#define DAEMON_COUNTERS(X) \
	X(RELOADS, "Configuration reloads attempted.")
#define DAEMON_GAUGES(X) \
	X(UPTIME_SECONDS, "Time since sixfourd started.")
#define PREFIX_GAUGES(X) \
	X(ACTIVE, "Whether DNS64 synthesizes with the prefix.")

enum daemon_counter {
#define X(name, help) DAEMON_##name,
	DAEMON_COUNTERS(X)
#undef X
	DAEMON__COUNT
};
enum daemon_gauge {
#define X(name, help) DAEMON_##name,
	DAEMON_GAUGES(X)
#undef X
	DAEMON__GAUGES
};
static const struct counter_desc daemon_counter_desc[] = { DAEMON_COUNTERS(COUNTER_DESC) };
static const struct counter_desc daemon_gauge_desc[] = { DAEMON_GAUGES(COUNTER_DESC) };
static const struct counter_desc prefix_gauge_desc[] = { PREFIX_GAUGES(COUNTER_DESC) };

struct daemon {
	struct sixfour_ctx ctx;
	struct sixfour_config *cfg;
	const char *config_arg;		/* -c as given, NULL = default path */
	struct prefix_pub prefixes;
	struct publish_domain publish;
	struct ev_timer *reclaim;
	struct ctl_server *ctl;
	struct metrics_server *metrics;
	void *state[MAX_SUBSYS];
	size_t nsubsys;
	struct ctl_command commands[MAX_COMMANDS + 1];
	void *command_ctx[MAX_COMMANDS + 1];	/* per row: subsystem state or NULL */
	time_t started;
	uint64_t counters[DAEMON__COUNT];	/* main loop only */
	char last_reload_error[512];
	bool helper_gone;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sixfourd [-c FILE] [-d] [-n [-v]]\n"
		"  -c FILE  configuration (default %s; built-in defaults when it is missing)\n"
		"  -d       stay in the foreground and log to stderr\n"
		"  -n       check the configuration and exit (1 with the errors)\n"
		"  -v       with -n, print the effective configuration in canonical form\n"
		"  -M       print the option table as man(7) text and exit\n"
		"  -V       print the version and exit\n", CONFIG_DEFAULT_PATH);
}

/* The configuration to read: -c FILE, else the default path if it exists,
 * else NULL (the embedded default). */
static const char *config_path(const char *arg)
{
	if (arg)
		return arg;
	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		return CONFIG_DEFAULT_PATH;
	return NULL;
}

static struct sixfour_config *load_config(const char *arg, struct config_errors *errs)
{
	return config_load(config_path(arg), errs);
}

static void print_errors(const struct config_errors *errs, FILE *f)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(f, "%s\n", errs->msg[i]);
}

/* --- control commands of the appliance itself --- */

static void print_prefix(struct ctl_out *out, const struct prefix_info *p, bool last)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &p->addr, a, sizeof(a));
	if (out->json) {
		ctl_printf(out, "{\"name\":");
		ctl_json_str(out, p->name);
		ctl_printf(out, ",\"prefix\":\"%s/%u\",\"active\":%s,\"roles\":[", a, p->len,
			   p->active ? "true" : "false");
		bool first = true;
		for (unsigned i = 0; i < PREFIX_ROLE_COUNT; i++)
			if (p->roles & (1u << i)) {
				ctl_printf(out, "%s\"%s\"", first ? "" : ",", prefix_role_name(i));
				first = false;
			}
		ctl_printf(out, "]}%s", last ? "" : ",");
		return;
	}
	ctl_printf(out, "  %-16s %s/%u %s", p->name, a, p->len, p->active ? "active" : "inactive");
	for (unsigned i = 0; i < PREFIX_ROLE_COUNT; i++)
		if (p->roles & (1u << i))
			ctl_printf(out, " %s", prefix_role_name(i));
	ctl_printf(out, "\n");
}

static int cmd_status(void *arg, int argc, char **argv, struct ctl_out *out)
{
	struct daemon *d = arg;
	const struct prefix_set *set = prefix_pub_current(&d->prefixes);
	long uptime = (long)(time(NULL) - d->started);
	const char *path = d->cfg->path ? d->cfg->path : "(built-in defaults)";
	if (out->json) {
		ctl_printf(out, "{\"version\":\"%s\",\"uptime\":%ld,\"pid\":%d,\"config\":",
			   PACKAGE_VERSION, uptime, (int)getpid());
		ctl_json_str(out, path);
		ctl_printf(out, ",\"reloads\":%llu,\"last_reload_error\":",
			   (unsigned long long)counter_get(&d->counters[DAEMON_RELOADS]));
		ctl_json_str(out, d->last_reload_error);
		ctl_printf(out, ",\"prefix_generation\":%llu,\"prefixes\":[",
			   (unsigned long long)set->generation);
		for (size_t i = 0; i < set->count; i++)
			print_prefix(out, &set->prefixes[i], i + 1 == set->count);
		ctl_printf(out, "],\"subsystems\":[");
		for (size_t i = 0; appliance_subsystems[i]; i++)
			ctl_printf(out, "%s\"%s\"", i ? "," : "", appliance_subsystems[i]->name);
		ctl_printf(out, "]}\n");
		return 0;
	}
	ctl_printf(out, "sixfourd %s, pid %d, up %ld s\n", PACKAGE_VERSION, (int)getpid(), uptime);
	ctl_printf(out, "config: %s (reloads: %llu)\n", path,
		   (unsigned long long)counter_get(&d->counters[DAEMON_RELOADS]));
	if (d->last_reload_error[0])
		ctl_printf(out, "last reload failed: %s\n", d->last_reload_error);
	ctl_printf(out, "prefixes (generation %llu):\n", (unsigned long long)set->generation);
	for (size_t i = 0; i < set->count; i++)
		print_prefix(out, &set->prefixes[i], i + 1 == set->count);
	ctl_printf(out, "subsystems:");
	for (size_t i = 0; appliance_subsystems[i]; i++)
		ctl_printf(out, " %s", appliance_subsystems[i]->name);
	ctl_printf(out, "\n");
	return 0;
}

/* The daemon's own gauges, then every subsystem's counters. */
static void collect_metrics(void *arg, struct ctl_out *out)
{
	struct daemon *d = arg;
	const struct prefix_set *set = prefix_pub_current(&d->prefixes);
	uint64_t gauges[DAEMON__GAUGES] = { [DAEMON_UPTIME_SECONDS] =
					     (uint64_t)(time(NULL) - d->started) };
	const struct counter_group own[] = {
		{ .key = "daemon", .kind = COUNTER_GAUGE, .desc = daemon_gauge_desc,
		  .n = DAEMON__GAUGES, .values = gauges },
		{ .key = "daemon", .kind = COUNTER_TOTAL, .desc = daemon_counter_desc,
		  .n = DAEMON__COUNT, .values = d->counters },
	};
	counters_emit(out, COUNTERS_PROMETHEUS, own, ARRAY_SIZE(own), NULL);
	/* One gauge family, a sample per prefix (labelled with its name and
	 * prefix): the header comes with the first. */
	for (size_t i = 0; set && i < set->count; i++) {
		char a[INET6_ADDRSTRLEN], labels[PREFIX_NAME_MAX + INET6_ADDRSTRLEN + 32];
		inet_ntop(AF_INET6, &set->prefixes[i].addr, a, sizeof(a));
		snprintf(labels, sizeof(labels), "name=\"%s\",prefix=\"%s/%u\"",
			 set->prefixes[i].name, a, set->prefixes[i].len);
		uint64_t active = set->prefixes[i].active;
		const struct counter_group g = { .key = "prefix", .metric = "prefix",
						 .kind = COUNTER_GAUGE, .desc = prefix_gauge_desc,
						 .n = 1, .values = &active, .extra = labels };
		if (i == 0)
			counters_emit(out, COUNTERS_PROMETHEUS, &g, 1, NULL);
		else
			counters_prometheus_values(out, &g);
	}
	if (d->metrics)
		metrics_server_emit(d->metrics, out);
	for (size_t i = 0; i < d->nsubsys; i++)
		if (appliance_subsystems[i]->metrics)
			appliance_subsystems[i]->metrics(d->state[i], out);
}

static int cmd_metrics(void *arg, int argc, char **argv, struct ctl_out *out)
{
	collect_metrics(arg, out);
	return 0;
}

static int reload(struct daemon *d);

static int cmd_reload(void *arg, int argc, char **argv, struct ctl_out *out)
{
	struct daemon *d = arg;
	if (reload(d) != 0) {
		ctl_printf(out, "reload failed, the running configuration stays:\n%s\n",
			   d->last_reload_error);
		return 1;
	}
	ctl_printf(out, "reloaded\n");
	return 0;
}

static int cmd_help(void *arg, int argc, char **argv, struct ctl_out *out)
{
	struct daemon *d = arg;
	for (const struct ctl_command *c = d->commands; c->name; c++)
		ctl_printf(out, "  %-10s %-22s %s\n", c->name, c->usage ? c->usage : "", c->help);
	return 0;
}

static const struct ctl_command base_commands[] = {
	{ "status", "", "version, uptime, config file and the prefix set", cmd_status },
	{ "reload", "", "re-read the configuration (as SIGHUP does)", cmd_reload },
	{ "metrics", "", "every counter, in the Prometheus text format", cmd_metrics },
	{ "help", "", "list the commands", cmd_help },
	{ NULL, NULL, NULL, NULL },
};

/* One command table: the appliance's rows, then each subsystem's, bound to
 * the state that subsystem's start() returned. */
static void build_command_table(struct daemon *d)
{
	size_t n = 0;
	for (const struct ctl_command *c = base_commands; c->name && n < MAX_COMMANDS; c++)
		d->commands[n++] = *c;
	for (size_t i = 0; i < d->nsubsys; i++)
		for (const struct ctl_command *c = appliance_subsystems[i]->commands;
		     c && c->name && n < MAX_COMMANDS; c++) {
			d->command_ctx[n] = d->state[i];
			d->commands[n++] = *c;
		}
	d->commands[n] = (struct ctl_command){ 0 };
}

/* --- reload --- */

/* A reload must not forget what health checks learned: an unchanged probed
 * prefix keeps its verdict until the next probe round says otherwise. */
static void carry_health(struct prefix_set *next, const struct prefix_set *cur)
{
	for (size_t i = 0; cur && i < next->count; i++) {
		struct prefix_info *p = &next->prefixes[i];
		const struct prefix_info *o = prefix_set_by_name(cur, p->name);
		if (o && o->len == p->len && !memcmp(&o->addr, &p->addr, sizeof(p->addr)) &&
		    (p->roles & PREFIX_ROLE_PROBE) && (o->roles & PREFIX_ROLE_PROBE)) {
			p->active = o->active && (p->roles & PREFIX_ROLE_SYNTHESIZE);
			p->rtt_us = o->rtt_us;
		}
	}
}

static int reload(struct daemon *d)
{
	struct config_errors errs;
	struct sixfour_config *cfg = load_config(d->config_arg, &errs);
	counter_inc(&d->counters[DAEMON_RELOADS], 1);
	if (!cfg) {
		size_t off = 0;
		d->last_reload_error[0] = '\0';
		for (size_t i = 0; i < errs.n; i++) {
			log_err("reload: %s", errs.msg[i]);
			off += (size_t)snprintf(d->last_reload_error + off,
						off < sizeof(d->last_reload_error) ?
						sizeof(d->last_reload_error) - off : 0,
						"%s%s", i ? "; " : "", errs.msg[i]);
			if (off >= sizeof(d->last_reload_error))
				break;
		}
		log_err("reload failed; the running configuration stays");
		return -EINVAL;
	}
	/* Two phases: every subsystem checks the new config (values it alone
	 * can judge), then keys whose `reload` class is restart are refused,
	 * all of them in one message; the first refusal wins with nothing
	 * switched. Then each subsystem switches. */
	for (int phase = 0; phase < 2; phase++) {
		for (size_t i = 0; i < d->nsubsys; i++) {
			const struct subsys_ops *ops = appliance_subsystems[i];
			int (*fn)(void *, const struct sixfour_config *, char *, size_t) =
				phase == 0 ? ops->check : ops->reload;
			char err[256] = "";
			if (!fn || fn(d->state[i], cfg, err, sizeof(err)) == 0)
				continue;
			snprintf(d->last_reload_error, sizeof(d->last_reload_error), "%s: %s",
				 ops->name, err);
			log_err("reload refused by %s: %s; the running configuration stays",
				ops->name, err);
			config_free(cfg);
			return -EINVAL;
		}
		char why[512];
		if (phase == 0 && config_restart_changes(d->cfg, cfg, NULL, why, sizeof(why)) != 0) {
			snprintf(d->last_reload_error, sizeof(d->last_reload_error), "%s", why);
			log_err("reload refused: %s; the running configuration stays", why);
			config_free(cfg);
			return -EINVAL;
		}
		/* The helper re-reads the file itself: what it will do for the
		 * subsystems' reload is checked against its own copy. */
		int hrc = phase == 0 ? privhelper_reload(d->ctx.priv) : 0;
		if (phase == 0 && hrc == 0)
			launcher_reload(d->ctx.launcher);	/* before any new command */
		if (hrc) {
			snprintf(d->last_reload_error, sizeof(d->last_reload_error),
				 "the privileged helper could not load the configuration: %s",
				 strerror(-hrc));
			log_err("reload refused: %s", d->last_reload_error);
			config_free(cfg);
			return -EINVAL;
		}
	}
	struct prefix_set *set = config_prefix_set(cfg);
	if (set) {
		carry_health(set, prefix_pub_current(&d->prefixes));
		prefix_pub_publish(&d->prefixes, set);
	}
	log_set_level(cfg->general.log_level);
	struct sixfour_config *old = d->cfg;
	d->cfg = cfg;
	d->ctx.cfg = cfg;
	config_free(old);
	d->last_reload_error[0] = '\0';
	/* Watchers (PREF64, export files) see the new set and the new config. */
	sixfour_prefixes_changed(&d->ctx);
	log_notice("reloaded %s", cfg->path ? cfg->path : "built-in defaults");
	return 0;
}

static void on_signal(struct evloop *loop, int signo, void *arg)
{
	struct daemon *d = arg;
	if (signo == SIGHUP) {
		log_notice("SIGHUP: reloading");
		reload(d);
		return;
	}
	log_notice("%s: shutting down", strsignal(signo));
	evloop_stop(loop);
}

/* Retired versions of shared state are freed once readers moved on. */
static void on_reclaim(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct daemon *d = arg;
	(void)loop;
	publish_reclaim(&d->publish);
	ev_timer_arm(t, RECLAIM_MS);
}

/* The helper only ends on its own when something went badly wrong: without
 * it routes and nftables can no longer follow reloads, so stop too. */
static void on_helper_gone(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	char c;
	if (recv(fd, &c, sizeof(c), MSG_DONTWAIT | MSG_TRUNC) != 0 &&
	    !(events & (EPOLLHUP | EPOLLERR)))
		return;	/* a reply that came after its request timed out */
	log_err("the privileged helper exited; stopping");
	d->helper_gone = true;
	evloop_del_fd(loop, fd);
	evloop_stop(loop);
}

/* [general] control-group: the members may use the socket (mode 0660). */
static int set_control_group(const struct sixfour_config *cfg)
{
	const char *name = cfg->general.control_group;
	if (!name || !name[0])
		return 0;
	errno = 0;
	struct group *g = getgrnam(name);
	if (!g) {
		log_err("control-group %s: %s", name, errno ? strerror(errno) : "no such group");
		return -ENOENT;
	}
	if (chown(cfg->general.control_socket, (uid_t)-1, g->gr_gid) < 0 ||
	    chmod(cfg->general.control_socket, 0660) < 0) {
		log_err("control socket %s: group %s: %s", cfg->general.control_socket, name,
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* [general] state-directory: what must survive a restart lives there
 * (usage.state, the handoff sessions). Made while still root: 0700, owned
 * by the user sixfourd switches to, who writes there later. */
static void prepare_state_directory(const struct sixfour_config *cfg)
{
	const char *dir = cfg->general.state_dir;
	if (!dir || !*dir)
		return;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_warn("state directory %s: %s", dir, strerror(errno));
		return;
	}
	struct passwd *pw = geteuid() == 0 ? getpwnam(cfg->general.user) : NULL;
	if (pw && (chown(dir, pw->pw_uid, pw->pw_gid) != 0 || chmod(dir, 0700) != 0))
		log_warn("state directory %s: %s", dir, strerror(errno));
}

static int run_daemon(struct daemon *d)
{
	/* First, while nothing else is open: the helper that keeps what the
	 * translator needs of root (appliance/privhelper.h). */
	d->ctx.priv = privhelper_start(d->cfg, load_config, d->config_arg);
	if (!d->ctx.priv)
		return EXIT_STARTUP;
	/* And the launcher of the commands sixfourd runs (common/launcher.h):
	 * once the seccomp filter is in, sixfourd starts no process itself. */
	pid_t lpid;
	int lfd = cmdlauncher_start(d->cfg, load_config, d->config_arg, &lpid);
	if (lfd < 0) {
		log_err("command launcher: %s", strerror(-lfd));
		return EXIT_STARTUP;
	}
	d->ctx.loop = evloop_new();
	if (!d->ctx.loop)
		return EXIT_STARTUP;
	d->ctx.cfg = d->cfg;
	d->ctx.prefixes = &d->prefixes;
	d->ctx.publish = &d->publish;
	d->ctx.start_ms = monotonic_ms();
	d->started = time(NULL);
	publish_domain_init(&d->publish);
	prefix_pub_init(&d->prefixes, &d->publish);
	d->reclaim = ev_timer_new(d->ctx.loop, on_reclaim, d);
	if (!d->reclaim)
		return EXIT_STARTUP;
	ev_timer_arm(d->reclaim, RECLAIM_MS);
	struct prefix_set *set = config_prefix_set(d->cfg);
	if (!set)
		return EXIT_STARTUP;
	prefix_pub_publish(&d->prefixes, set);

	const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (evloop_add_signal(d->ctx.loop, sigs[i], on_signal, d) != 0)
			return EXIT_STARTUP;
	signal(SIGPIPE, SIG_IGN);

	int rc = EXIT_OK;
	if (evloop_add_fd(d->ctx.loop, privsep_fd(d->ctx.priv), EPOLLIN, on_helper_gone, d) != 0)
		return EXIT_STARTUP;
	d->ctx.launcher = launcher_new(d->ctx.loop, lfd, lpid);
	if (!d->ctx.launcher)
		return EXIT_STARTUP;
	prepare_state_directory(d->cfg);
	for (d->nsubsys = 0; appliance_subsystems[d->nsubsys]; d->nsubsys++) {
		const struct subsys_ops *ops = appliance_subsystems[d->nsubsys];
		d->state[d->nsubsys] = ops->start(&d->ctx);
		if (!d->state[d->nsubsys]) {
			log_err("%s failed to start", ops->name);
			rc = EXIT_STARTUP;
			goto out;
		}
	}
	build_command_table(d);
	d->ctl = ctl_server_new(d->ctx.loop, d->cfg->general.control_socket, d->commands,
				d->command_ctx, d);
	if (!d->ctl || set_control_group(d->cfg) != 0) {
		rc = EXIT_STARTUP;
		goto out;
	}
	if (d->cfg->stats.metrics_listen.n) {
		d->metrics = metrics_server_new(d->ctx.loop, &d->cfg->stats.metrics_listen,
						collect_metrics, d);
		if (!d->metrics) {
			rc = EXIT_STARTUP;
			goto out;
		}
	}
	/* No capability stays: what the subsystems need of one later is a
	 * request to the helper. Then the seccomp filter, before any thread
	 * starts, so that every thread runs under it. */
	int prc = privdrop(d->cfg->general.user, 0);
	if (prc) {
		log_err("cannot drop privileges to %s: %s", d->cfg->general.user, strerror(-prc));
		rc = EXIT_STARTUP;
		goto out;
	}
	if (sandbox_enter(SANDBOX_SIXFOURD) != 0) {
		rc = EXIT_STARTUP;
		goto out;
	}
	for (size_t i = 0; i < d->nsubsys; i++) {
		const struct subsys_ops *ops = appliance_subsystems[i];
		if (ops->run && ops->run(d->state[i]) != 0) {
			log_err("%s failed to run", ops->name);
			rc = EXIT_STARTUP;
			goto out;
		}
	}
	log_notice("sixfourd %s running (%s)", PACKAGE_VERSION,
		   d->cfg->path ? d->cfg->path : "built-in defaults");
	if (evloop_run(d->ctx.loop) != 0 || d->helper_gone)
		rc = EXIT_STARTUP;
out:
	while (d->nsubsys > 0) {
		d->nsubsys--;
		if (d->state[d->nsubsys])
			appliance_subsystems[d->nsubsys]->stop(d->state[d->nsubsys]);
	}
	launcher_close(d->ctx.launcher);
	metrics_server_free(d->metrics);
	ctl_server_free(d->ctl);
	ev_timer_free(d->reclaim);
	evloop_free(d->ctx.loop);
	prefix_pub_destroy(&d->prefixes);
	publish_domain_destroy(&d->publish);
	privsep_close(d->ctx.priv);	/* the helper undoes what it set up */
	return rc;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	bool foreground = false, check = false, verbose = false;
	int c;
	while ((c = getopt(argc, argv, "c:dnvMVh")) != -1) {
		switch (c) {
		case 'c': d.config_arg = optarg; break;
		case 'd': foreground = true; break;
		case 'n': check = true; break;
		case 'v': verbose = true; break;
		case 'M': config_print_man(stdout); return EXIT_OK;
		case 'V': printf("sixfourd %s\n", PACKAGE_VERSION); return EXIT_OK;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct config_errors errs;
	d.cfg = load_config(d.config_arg, &errs);
	if (!d.cfg) {
		print_errors(&errs, stderr);
		return EXIT_CONFIG;
	}
	if (check) {
		/* Subsystems check what the option table alone cannot. */
		int bad = 0;
		for (size_t i = 0; appliance_subsystems[i]; i++) {
			const struct subsys_ops *ops = appliance_subsystems[i];
			char err[256] = "";
			if (ops->check && ops->check(NULL, d.cfg, err, sizeof(err)) != 0) {
				/* Errors that name their section are printed as they are. */
				fprintf(stderr, "%s: %s%s%s%s\n",
					d.cfg->path ? d.cfg->path : "(built-in)",
					err[0] == '[' ? "" : "[", err[0] == '[' ? "" : ops->name,
					err[0] == '[' ? "" : "] ", err);
				bad = 1;
			}
		}
		if (bad) {
			config_free(d.cfg);
			return EXIT_CONFIG;
		}
		if (verbose)
			config_print(d.cfg, stdout);
		config_free(d.cfg);
		return EXIT_OK;
	}
	log_init("sixfourd", foreground, d.cfg->general.log_level);
	if (!foreground && daemon(0, 0) < 0) {
		log_err("daemon: %s", strerror(errno));
		return EXIT_STARTUP;
	}
	int rc = run_daemon(&d);
	config_free(d.cfg);
	return rc;
}
