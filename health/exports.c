/* [export] files (exports.h): render, compare, replace atomically, reload.
 *
 * A file is rewritten only when its text differs from what it holds (read
 * back at start, so a restart with the same verdicts rewrites nothing and
 * reloads nothing). The reload command follows every write; while it runs,
 * a newer write waits for it and then runs it once more. A failure (exit
 * status, signal, timeout, no such program) is logged, counted and retried
 * after retry-interval, doubling up to 64 x, until a run succeeds. */
#include "autoconf.h"
#include "health/exports.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/ctl.h"
#include "common/evloop.h"
#include "common/rfc6052.h"
#include "common/subsys.h"
#include "common/util.h"
#include "dns64/export.h"
#include "health/spawn.h"
#include "hints/hints.h"

#define EXPORT_MAX_FILE (1u << 20)	/* what we read back of an existing file */
#define RETRY_MAX_SHIFT 6

#define EXPORT_COUNTERS(X) \
	X(written, "times the file was replaced with a new text") \
	X(write_errors, "times writing or renaming the file failed") \
	X(reloads, "reload commands that succeeded") \
	X(reload_failures, "reload commands that exited non-zero, died or did not start") \
	X(reload_timeouts, "reload commands killed after reload-timeout")

enum export_counter {
#define X(name, help) EXPORT_C_##name,
	EXPORT_COUNTERS(X)
#undef X
	EXPORT_C__COUNT
};

static const struct counter_desc export_desc[] = { EXPORT_COUNTERS(COUNTER_DESC) };

enum export_kind { EXPORT_BIND, EXPORT_UNBOUND, EXPORT_RADVD, EXPORT__COUNT };
static const char *const kind_names[EXPORT__COUNT] = { "bind", "unbound", "radvd" };

struct export_file {
	struct exports *x;
	enum export_kind kind;
	char *path;		/* NULL: not configured */
	char *reload;		/* NULL: no command */
	char *text;		/* what the file holds (written or read back) */
	bool text_known;
	bool reload_due;	/* written since the last successful reload */
	bool rerun;		/* written again while the command ran */
	unsigned failures;	/* in a row */
	struct spawn *running;
	struct ev_timer *retry;
	time_t written_at, reloaded_at;
	int last_status;
	char last_error[160];
	uint64_t c[EXPORT_C__COUNT];
};

struct exports {
	struct sixfour_ctx *ctx;
	struct ev_timer *kick;
	bool held;
	struct export_file f[EXPORT__COUNT];
};

/* --- the text --- */

static bool has_name(const struct str_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return true;
	return false;
}

/* The set the files describe: the current one, or with no prefix active a
 * copy with the configured fallback marked active. *fallback says which. */
static struct prefix_set *export_view(const struct prefix_set *cur,
				      const struct sixfour_config *cfg, bool *fallback)
{
	*fallback = false;
	const struct prefix_info *act[1];
	if (!cur || prefix_set_active(cur, act, 1) > 0)
		return NULL;
	const struct str_list *fb = &cfg->export.fallback;
	if (fb->n == 1 && strcmp(fb->v[0], "none") == 0)
		return NULL;
	struct prefix_set *v = prefix_set_clone(cur);
	if (!v)
		return NULL;
	bool all = fb->n == 0 || has_name(fb, "all");
	for (size_t i = 0; i < v->count; i++) {
		struct prefix_info *p = &v->prefixes[i];
		if ((p->roles & PREFIX_ROLE_SYNTHESIZE) && (all || has_name(fb, p->name))) {
			p->active = true;
			*fallback = true;
		}
	}
	return v;
}

static int render(struct exports *x, enum export_kind kind, struct ctl_out *out)
{
	const struct sixfour_config *cfg = x->ctx->cfg;
	const struct prefix_set *cur = prefix_pub_current(x->ctx->prefixes);
	bool fallback;
	struct prefix_set *view = export_view(cur, cfg, &fallback);
	const struct prefix_set *set = view ? view : cur;
	int rc = kind == EXPORT_RADVD ? hints_export_radvd(set, cfg, fallback, out) :
		dns64_export(set, cfg, kind_names[kind], fallback, out);
	prefix_set_free(view);
	return rc;
}

int exports_render(struct exports *x, const char *format, struct ctl_out *out)
{
	for (unsigned k = 0; k < EXPORT__COUNT; k++)
		if (strcmp(format, kind_names[k]) == 0)
			return render(x, k, out);
	return -EINVAL;
}

/* --- the file --- */

/* write, fsync, rename over the old file, fsync the directory. The new
 * file gets the old one's mode (and owner, where we may set it). */
static int replace_file(const char *path, const char *text, size_t len, char *err,
			size_t errlen)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.sixfour-tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "path too long");
		return -ENAMETOOLONG;
	}
	struct stat st;
	bool had = stat(path, &st) == 0;
	mode_t mode = had ? (st.st_mode & 07777) : 0644;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "creating %.180s: %s", tmp, strerror(e));
		return -e;
	}
	const char *step = "writing";
	int rc = write_all(fd, text, len);
	if (!rc && had && fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM)
		rc = -errno, step = "chown";
	if (!rc && fchmod(fd, mode) < 0)
		rc = -errno, step = "chmod";
	if (!rc && fsync(fd) < 0)
		rc = -errno, step = "fsync";
	if (close(fd) < 0 && !rc)
		rc = -errno, step = "closing";
	if (!rc && rename(tmp, path) < 0)
		rc = -errno, step = "renaming";
	if (rc) {
		snprintf(err, errlen, "%s %.180s: %s", step, tmp, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	/* The rename itself survives a crash once the directory is synced. */
	(void)fsync_parent_dir(path);
	return 0;
}

/* --- the reload command --- */

static void start_reload(struct export_file *f);

static void reload_done(void *arg, int status, const char *output)
{
	struct export_file *f = arg;
	f->running = NULL;
	f->last_status = status;
	if (status == 0) {
		counter_inc(&f->c[EXPORT_C_reloads], 1);
		f->failures = 0;
		f->reloaded_at = time(NULL);
		f->last_error[0] = '\0';
		log_notice("export %s: `%s` done", kind_names[f->kind], f->reload);
		f->reload_due = f->rerun;
		f->rerun = false;
		if (f->reload_due)
			start_reload(f);
		return;
	}
	char line[SPAWN_OUTPUT_MAX];
	strlcpy_ok(line, output ? output : "", sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	if (status == -ETIMEDOUT) {
		counter_inc(&f->c[EXPORT_C_reload_timeouts], 1);
		snprintf(f->last_error, sizeof(f->last_error), "killed after %llu ms",
			 (unsigned long long)f->x->ctx->cfg->export.reload_timeout_ms);
	} else {
		counter_inc(&f->c[EXPORT_C_reload_failures], 1);
		if (status < 0)
			snprintf(f->last_error, sizeof(f->last_error), "cannot run it: %s",
				 strerror(-status));
		else if (status > 128)
			snprintf(f->last_error, sizeof(f->last_error), "killed by signal %d%s%.100s",
				 status - 128, line[0] ? ": " : "", line);
		else
			snprintf(f->last_error, sizeof(f->last_error), "exit status %d%s%.100s", status,
				 line[0] ? ": " : "", line);
	}
	f->failures++;
	uint64_t delay = f->x->ctx->cfg->export.retry_ms << MIN(f->failures - 1, RETRY_MAX_SHIFT);
	log_err("export %s: `%s` failed (%s); retrying in %llu ms", kind_names[f->kind], f->reload,
		f->last_error, (unsigned long long)delay);
	f->rerun = false;	/* the retry runs it for the newest text anyway */
	ev_timer_arm(f->retry, delay);
}

static void start_reload(struct export_file *f)
{
	if (!f->reload) {
		f->reload_due = false;
		return;
	}
	if (f->running) {
		f->rerun = true;
		return;
	}
	ev_timer_cancel(f->retry);
	char buf[1024], *argv[SPAWN_MAX_ARGS];
	if (spawn_split(f->reload, buf, sizeof(buf), argv, ARRAY_SIZE(argv)) < 0)
		return;		/* exports_check refused it */
	log_info("export %s: running `%s`", kind_names[f->kind], f->reload);
	f->running = spawn_run_with(f->x->ctx->launcher, f->x->ctx->loop, argv,
				    f->x->ctx->cfg->export.reload_timeout_ms, reload_done, f);
	if (!f->running) {
		snprintf(f->last_error, sizeof(f->last_error), "out of memory");
		ev_timer_arm(f->retry, f->x->ctx->cfg->export.retry_ms);
	}
}

/* Brings one file up to date: write it if its text changed, then reload
 * if a write has not been followed by a successful reload yet. */
static void sync_file(struct export_file *f)
{
	if (!f->path)
		return;
	struct ctl_out out = { 0 };
	render(f->x, f->kind, &out);
	if (out.failed) {
		free(out.buf);
		ev_timer_arm(f->retry, f->x->ctx->cfg->export.retry_ms);
		return;
	}
	const char *text = out.buf ? out.buf : "";
	if (!f->text_known) {
		f->text = read_small_file(f->path, EXPORT_MAX_FILE, NULL);
		f->text_known = true;
	}
	if (!f->text || strcmp(f->text, text) != 0) {
		char err[256];
		if (replace_file(f->path, text, out.len, err, sizeof(err)) != 0) {
			counter_inc(&f->c[EXPORT_C_write_errors], 1);
			strlcpy_ok(f->last_error, err, sizeof(f->last_error));
			log_err("export %s: %s; retrying in %llu ms", kind_names[f->kind], err,
				(unsigned long long)f->x->ctx->cfg->export.retry_ms);
			free(out.buf);
			ev_timer_arm(f->retry, f->x->ctx->cfg->export.retry_ms);
			return;
		}
		counter_inc(&f->c[EXPORT_C_written], 1);
		free(f->text);
		f->text = out.buf ? out.buf : strdup("");
		out.buf = NULL;
		f->written_at = time(NULL);
		f->reload_due = true;
		log_notice("export %s: wrote %s", kind_names[f->kind], f->path);
	}
	free(out.buf);
	if (f->reload_due)
		start_reload(f);
}

static void on_retry(struct evloop *loop, struct ev_timer *t, void *arg)
{
	sync_file(arg);
}

static void on_kick(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct exports *x = arg;
	for (unsigned k = 0; k < EXPORT__COUNT; k++)
		sync_file(&x->f[k]);
}

/* --- life cycle --- */

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static void take_config(struct exports *x)
{
	const struct sixfour_config *cfg = x->ctx->cfg;
	const char *paths[EXPORT__COUNT] = { cfg->export.bind, cfg->export.unbound, cfg->export.radvd };
	const char *cmds[EXPORT__COUNT] = { cfg->export.bind_reload, cfg->export.unbound_reload,
					    cfg->export.radvd_reload };
	for (unsigned k = 0; k < EXPORT__COUNT; k++) {
		struct export_file *f = &x->f[k];
		bool same_path = (!f->path && !(paths[k] && *paths[k])) ||
			(f->path && paths[k] && strcmp(f->path, paths[k]) == 0);
		if (!same_path) {
			free(f->path);
			f->path = dup_or_null(paths[k]);
			free(f->text);
			f->text = NULL;
			f->text_known = false;
			f->reload_due = false;
		}
		free(f->reload);
		f->reload = dup_or_null(cmds[k]);
	}
}

struct exports *exports_new(struct sixfour_ctx *ctx)
{
	struct exports *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	*x = (struct exports){ .ctx = ctx, .held = true };
	x->kick = ev_timer_new(ctx->loop, on_kick, x);
	bool ok = x->kick != NULL;
	for (unsigned k = 0; k < EXPORT__COUNT; k++) {
		x->f[k].x = x;
		x->f[k].kind = k;
		x->f[k].retry = ev_timer_new(ctx->loop, on_retry, &x->f[k]);
		ok &= x->f[k].retry != NULL;
	}
	if (!ok) {
		exports_free(x);
		return NULL;
	}
	take_config(x);
	return x;
}

void exports_free(struct exports *x)
{
	if (!x)
		return;
	for (unsigned k = 0; k < EXPORT__COUNT; k++) {
		struct export_file *f = &x->f[k];
		spawn_cancel(f->running);
		ev_timer_free(f->retry);
		free(f->path);
		free(f->reload);
		free(f->text);
	}
	ev_timer_free(x->kick);
	free(x);
}

bool exports_command_allowed(const struct sixfour_config *cfg, char *const argv[])
{
	const char *cmds[EXPORT__COUNT] = { cfg->export.bind_reload, cfg->export.unbound_reload,
					    cfg->export.radvd_reload };
	for (unsigned k = 0; k < EXPORT__COUNT; k++) {
		char buf[1024], *want[SPAWN_MAX_ARGS];
		if (!cmds[k] || !*cmds[k] ||
		    spawn_split(cmds[k], buf, sizeof(buf), want, ARRAY_SIZE(want)) < 0)
			continue;
		size_t i = 0;
		while (want[i] && argv[i] && strcmp(want[i], argv[i]) == 0)
			i++;
		if (!want[i] && !argv[i])
			return true;
	}
	return false;
}

int exports_check(const struct sixfour_config *cfg, char *err, size_t errlen)
{
	const struct str_list *fb = &cfg->export.fallback;
	for (size_t i = 0; i < fb->n; i++) {
		bool word = strcmp(fb->v[i], "all") == 0 || strcmp(fb->v[i], "none") == 0;
		if (word && fb->n > 1) {
			snprintf(err, errlen, "[export] fallback: %s stands alone", fb->v[i]);
			return -EINVAL;
		}
		bool known = word;
		for (size_t j = 0; j < cfg->nprefixes && !known; j++)
			known = strcmp(cfg->prefixes[j].name, fb->v[i]) == 0;
		if (!known) {
			snprintf(err, errlen, "[export] fallback: no [prefix %s]", fb->v[i]);
			return -EINVAL;
		}
	}
	const char *cmds[EXPORT__COUNT] = { cfg->export.bind_reload, cfg->export.unbound_reload,
					    cfg->export.radvd_reload };
	const char *paths[EXPORT__COUNT] = { cfg->export.bind, cfg->export.unbound, cfg->export.radvd };
	for (unsigned k = 0; k < EXPORT__COUNT; k++) {
		if (paths[k] && *paths[k] && paths[k][0] != '/') {
			snprintf(err, errlen, "[export] %s: an absolute path, please", kind_names[k]);
			return -EINVAL;
		}
		if (!cmds[k] || !*cmds[k])
			continue;
		char buf[1024], *argv[SPAWN_MAX_ARGS];
		int n = spawn_split(cmds[k], buf, sizeof(buf), argv, ARRAY_SIZE(argv));
		if (n < 0) {
			snprintf(err, errlen, "[export] %s-reload: %s", kind_names[k],
				 n == -E2BIG ? "too long" : "an unterminated quote or no command");
			return -EINVAL;
		}
		if (!paths[k] || !*paths[k]) {
			snprintf(err, errlen, "[export] %s-reload is set but %s is not", kind_names[k],
				 kind_names[k]);
			return -EINVAL;
		}
	}
	if (cfg->export.radvd && *cfg->export.radvd) {
		struct ctl_out out = { 0 };
		int rc = hints_export_radvd(NULL, cfg, false, &out);
		if (rc) {
			snprintf(err, errlen, "[export] radvd: %.*s", (int)MIN(out.len, 200),
				 out.buf ? out.buf + 2 : "");
			err[strcspn(err, "\n")] = '\0';
		}
		free(out.buf);
		if (rc)
			return rc;
	}
	return 0;
}

void exports_reload(struct exports *x)
{
	take_config(x);
	exports_update(x);
}

void exports_update(struct exports *x)
{
	if (!x->held)
		ev_timer_arm(x->kick, 0);
}

void exports_release(struct exports *x)
{
	if (!x->held)
		return;
	x->held = false;
	exports_update(x);
}

/* --- reporting --- */

static void fmt_time(time_t t, char *buf, size_t size)
{
	struct tm tm;
	if (!t || !gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "never");
}

void exports_status(struct exports *x, struct ctl_out *out)
{
	if (out->json)
		ctl_printf(out, "{\"held\":%s,\"files\":[", x->held ? "true" : "false");
	bool first = true;
	for (unsigned k = 0; k < EXPORT__COUNT; k++) {
		const struct export_file *f = &x->f[k];
		if (!f->path)
			continue;
		char w[32], r[32];
		fmt_time(f->written_at, w, sizeof(w));
		fmt_time(f->reloaded_at, r, sizeof(r));
		const char *state = f->running ? "reloading" : f->reload_due ? "reload-pending" : "ok";
		if (out->json) {
			ctl_printf(out, "%s{\"kind\":\"%s\",\"path\":", first ? "" : ",", kind_names[k]);
			ctl_json_str(out, f->path);
			ctl_printf(out, ",\"reload\":");
			ctl_json_str(out, f->reload ? f->reload : "");
			ctl_printf(out, ",\"state\":\"%s\",\"written\":\"%s\",\"reloaded\":\"%s\","
				   "\"failures_in_a_row\":%u,\"last_error\":", state, w, r,
				   f->failures);
			ctl_json_str(out, f->last_error);
			ctl_printf(out, ",");
			struct counter_group g = { "counters", NULL, NULL, NULL, NULL, COUNTER_TOTAL,
						   export_desc, EXPORT_C__COUNT, f->c, false };
			counters_emit(out, COUNTERS_JSON, &g, 1, NULL);
			ctl_printf(out, "}");
		} else {
			ctl_printf(out, "%-8s %s  %s  written %s  reloaded %s", kind_names[k], f->path,
				   state, w, r);
			if (f->last_error[0])
				ctl_printf(out, "  last error: %s", f->last_error);
			ctl_printf(out, "\n");
			for (unsigned c = 0; c < EXPORT_C__COUNT; c++)
				ctl_printf(out, "  %-22s %llu\n", export_desc[c].name,
					   (unsigned long long)counter_get(&f->c[c]));
		}
		first = false;
	}
	if (out->json)
		ctl_printf(out, "]}\n");
	else if (first)
		ctl_printf(out, "no [export] file is configured\n%s", x->held ?
			   "(waiting for the first verdicts)\n" : "");
}

void exports_metrics(struct exports *x, struct ctl_out *out)
{
	struct counter_group g = { "export", "export", "Export file events, by kind of file.",
				   "event", NULL, COUNTER_TOTAL, export_desc, EXPORT_C__COUNT,
				   NULL, false };
	bool any = false;
	for (unsigned k = 0; k < EXPORT__COUNT; k++)
		any |= x->f[k].path != NULL;
	if (!any)
		return;
	counters_prometheus_header(out, &g);
	for (unsigned k = 0; k < EXPORT__COUNT; k++) {
		if (!x->f[k].path)
			continue;
		char extra[32];
		snprintf(extra, sizeof(extra), "file=\"%s\"", kind_names[k]);
		g.extra = extra;
		g.values = x->f[k].c;
		counters_prometheus_values(out, &g);
	}
}
