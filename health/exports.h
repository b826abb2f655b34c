/* Export files for resolvers and routers we do not run ([export]): the BIND,
 * Unbound and radvd texts of the current prefix set, written atomically
 * when they change, each followed by its reload command (retried until it
 * succeeds). Private to health/. */
#ifndef SIXFOUR_HEALTH_EXPORTS_H
#define SIXFOUR_HEALTH_EXPORTS_H

#include <stdbool.h>
#include <stddef.h>

struct ctl_out;
struct prefix_set;
struct sixfour_config;
struct sixfour_ctx;
struct exports;

/* Nothing is written until exports_release(): at start-up the first
 * verdicts are awaited so a resolver is not told "no prefix" for a moment. */
struct exports *exports_new(struct sixfour_ctx *ctx);
void exports_free(struct exports *x);
/* [export] as the option table alone cannot check it (fallback names,
 * commands that do not split). */
int exports_check(const struct sixfour_config *cfg, char *err, size_t errlen);
/* Takes the running config's [export] (ctx->cfg) and rewrites what changed. */
void exports_reload(struct exports *x);
/* True when argv is one of cfg's [export] reload commands, word for word
 * (what sixfourd's command launcher may start). */
bool exports_command_allowed(const struct sixfour_config *cfg, char *const argv[]);
/* The prefix set or its verdicts may have changed: rewrite what differs
 * (from the loop, right after the current event). */
void exports_update(struct exports *x);
void exports_release(struct exports *x);

/* `format` (bind, unbound, radvd) as it would be written now, with the
 * [export] fallback applied. -EINVAL for an unknown format. */
int exports_render(struct exports *x, const char *format, struct ctl_out *out);
/* `sixfourctl export status` and the metrics. */
void exports_status(struct exports *x, struct ctl_out *out);
void exports_metrics(struct exports *x, struct ctl_out *out);

#endif
