/* The few functions of the shared context (subsys.h). */
#include "autoconf.h"
#include "common/subsys.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

int sixfour_watch_prefixes(struct sixfour_ctx *ctx, void (*fn)(void *), void *arg)
{
	if (ctx->nwatchers >= SIXFOUR_MAX_WATCHERS)
		return -ENOSPC;
	ctx->watchers[ctx->nwatchers++] = (struct sixfour_watcher){ fn, arg };
	return 0;
}

void sixfour_unwatch_prefixes(struct sixfour_ctx *ctx, void *arg)
{
	for (size_t i = 0; i < ctx->nwatchers;) {
		if (ctx->watchers[i].arg == arg)
			ctx->watchers[i] = ctx->watchers[--ctx->nwatchers];
		else
			i++;
	}
}

void sixfour_prefixes_changed(struct sixfour_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nwatchers; i++)
		ctx->watchers[i].fn(ctx->watchers[i].arg);
}

void sixfour_datapath_report(struct sixfour_ctx *ctx, bool down, const char *why)
{
	struct sixfour_datapath *dp = &ctx->datapath;
	if (dp->down == down && (!down || strcmp(dp->why, why ? why : "") == 0))
		return;
	dp->down = down;
	strlcpy_ok(dp->why, why ? why : "", sizeof(dp->why));
	if (dp->notify)
		dp->notify(dp->notify_arg);
}

int sixfour_watch_role(struct sixfour_ctx *ctx, void (*fn)(void *), void *arg)
{
	struct sixfour_role_state *r = &ctx->role;
	if (r->nwatchers >= SIXFOUR_MAX_ROLE_WATCHERS)
		return -ENOSPC;
	r->watchers[r->nwatchers++] = (struct sixfour_watcher){ fn, arg };
	return 0;
}

void sixfour_unwatch_role(struct sixfour_ctx *ctx, void *arg)
{
	struct sixfour_role_state *r = &ctx->role;
	size_t k = 0;
	for (size_t i = 0; i < r->nwatchers; i++)	/* keeps the order */
		if (r->watchers[i].arg != arg)
			r->watchers[k++] = r->watchers[i];
	r->nwatchers = k;
}

void sixfour_role_report(struct sixfour_ctx *ctx, enum sixfour_role role, const char *why)
{
	struct sixfour_role_state *r = &ctx->role;
	if (r->role == role)
		return;
	r->role = role;
	strlcpy_ok(r->why, why ? why : "", sizeof(r->why));
	for (size_t i = 0; i < r->nwatchers; i++)
		r->watchers[i].fn(r->watchers[i].arg);
}

const char *sixfour_role_name(enum sixfour_role role)
{
	switch (role) {
	case SIXFOUR_ROLE_ACTIVE: return "active";
	case SIXFOUR_ROLE_STANDBY: return "standby";
	default: return "single";
	}
}
