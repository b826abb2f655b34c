/* The fake libunbound of fake_unbound.h. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unbound.h>
#include <unbound-event.h>

#include "tests/unit/fake_unbound.h"

#define FAKE_SCRIPT 256
#define FAKE_INFLIGHT 256

struct ub_ctx {
	struct ub_event_base *base;	/* NULL: a check-only context */
	bool validating;		/* a trust anchor was added */
};

struct inflight {
	bool live;
	int id;
	struct ub_ctx *ctx;
	struct fake_answer *ans;	/* NULL: nothing will ever come */
	void *mydata;
	ub_event_callback_type cb;
	struct ub_event *timer;
};

static struct fake_answer script[FAKE_SCRIPT];
static size_t nscript;
static struct inflight inflight[FAKE_INFLIGHT];
static int next_id = 1;
static struct fake_unbound_stats st;

bool fake_unbound_add(const struct fake_answer *a)
{
	if (nscript == FAKE_SCRIPT)
		return false;
	script[nscript] = *a;
	script[nscript++].used = false;
	return true;
}

void fake_unbound_reset(void)
{
	unsigned contexts = st.contexts;
	nscript = 0;
	memset(&st, 0, sizeof(st));
	st.contexts = contexts;
}

void fake_unbound_stats(struct fake_unbound_stats *out)
{
	*out = st;
	out->outstanding = 0;
	for (size_t i = 0; i < FAKE_INFLIGHT; i++)
		out->outstanding += inflight[i].live;
}

struct ub_ctx *ub_ctx_create_ub_event(struct ub_event_base *base)
{
	struct ub_ctx *c = calloc(1, sizeof(*c));
	if (c) {
		c->base = base;
		st.contexts++;
	}
	return c;
}

struct ub_ctx *ub_ctx_create(void)
{
	return ub_ctx_create_ub_event(NULL);
}

static void end(struct inflight *f)
{
	if (f->timer)
		f->timer->vmt->free(f->timer);
	memset(f, 0, sizeof(*f));
}

void ub_ctx_delete(struct ub_ctx *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < FAKE_INFLIGHT; i++)
		if (inflight[i].live && inflight[i].ctx == ctx)
			end(&inflight[i]);
	st.contexts--;
	free(ctx);
}

int ub_ctx_set_option(struct ub_ctx *ctx, const char *opt, const char *val)
{
	(void)ctx, (void)val;
	/* The real library rejects unknown options; so does the fake, for
	 * the one spelling tests use to provoke it. */
	return strcmp(opt, "no-such-option:") == 0 ? UB_SYNTAX : UB_NOERROR;
}

int ub_ctx_set_fwd(struct ub_ctx *ctx, const char *addr)
{
	(void)ctx, (void)addr;
	return UB_NOERROR;
}

int ub_ctx_add_ta_file(struct ub_ctx *ctx, const char *fname)
{
	(void)fname;
	ctx->validating = true;
	return UB_NOERROR;
}

const char *ub_strerror(int err)
{
	return err == UB_NOERROR ? "no error" : "fake libunbound error";
}

static void deliver(struct inflight *f)
{
	struct fake_answer *a = f->ans;
	void *mydata = f->mydata;
	ub_event_callback_type cb = f->cb;
	end(f);
	st.delivered++;
	cb(mydata, a->ub_rcode, a->ub_rcode ? NULL : a->pkt, a->ub_rcode ? 0 : (int)a->len,
	   a->ub_rcode ? 0 : a->sec, NULL, 0);
}

static void on_timer(int fd, short bits, void *arg)
{
	(void)fd, (void)bits;
	deliver(arg);
}

static bool matches(const struct fake_answer *a, const struct ub_ctx *ctx, const char *name,
		    int rrtype)
{
	if (a->used || a->qtype != rrtype || strcasecmp(a->qname, name) != 0)
		return false;
	return a->ctx == FAKE_ANY_CTX || (a->ctx == FAKE_VALIDATING) == ctx->validating;
}

int ub_resolve_event(struct ub_ctx *ctx, const char *name, int rrtype, int rrclass,
		     void *mydata, ub_event_callback_type callback, int *async_id)
{
	(void)rrclass;
	struct inflight *f = NULL;
	for (size_t i = 0; i < FAKE_INFLIGHT && !f; i++)
		if (!inflight[i].live)
			f = &inflight[i];
	if (!f || !ctx->base)
		return UB_NOMEM;
	struct fake_answer *a = NULL;
	for (size_t i = 0; i < nscript && !a; i++)
		if (matches(&script[i], ctx, name, rrtype))
			a = &script[i];
	f->live = true;
	f->id = next_id++;
	f->ctx = ctx;
	f->mydata = mydata;
	f->cb = callback;
	*async_id = f->id;
	if (!a) {
		st.unexpected++;
		snprintf(st.last_unexpected, sizeof(st.last_unexpected), "%s type %d%s", name,
			 rrtype, ctx->validating ? "" : " (CD context)");
		return UB_NOERROR;	/* like a server that never answers */
	}
	st.queries++;
	a->used = true;
	f->ans = a;
	switch (a->when) {
	case FAKE_INLINE:
		deliver(f);	/* before ub_resolve_event returns */
		break;
	case FAKE_AFTER: {
		struct ub_event_base *b = ctx->base;
		f->timer = b->vmt->new_event(b, -1, UB_EV_TIMEOUT, on_timer, f);
		struct timeval tv = { .tv_sec = (time_t)(a->delay_ms / 1000),
				      .tv_usec = (suseconds_t)(a->delay_ms % 1000) * 1000 };
		if (!f->timer || f->timer->vmt->add_timer(f->timer, b, on_timer, f, &tv) != 0) {
			end(f);
			return UB_NOMEM;
		}
		break;
	}
	case FAKE_NEVER:
		break;
	}
	return UB_NOERROR;
}

int ub_cancel(struct ub_ctx *ctx, int async_id)
{
	for (size_t i = 0; i < FAKE_INFLIGHT; i++)
		if (inflight[i].live && inflight[i].ctx == ctx && inflight[i].id == async_id) {
			st.cancelled++;
			end(&inflight[i]);
			return UB_NOERROR;
		}
	return UB_NOID;
}
