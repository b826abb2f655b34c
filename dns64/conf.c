/* The DNS64 policy as one immutable version (struct dns64_conf): built
 * from the running config at start and at every reload, read by every
 * thread without a lock, retired through common/publish.h. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "dns64/dns64_int.h"

static int copy_cidrs(const struct cidr_list *l, struct cidr **out, size_t *n)
{
	*out = NULL;
	*n = l->n;
	if (!l->n)
		return 0;
	*out = calloc(l->n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, l->v, l->n * sizeof(**out));
	return 0;
}

void dns64_conf_free(void *conf)
{
	struct dns64_conf *c = conf;
	if (!c)
		return;
	free(c->exclude);
	free(c->mapped);
	free(c->allow);
	dns64_ratelimit_free(c->rl);
	free(c);
}

struct dns64_conf *dns64_conf_new(const struct sixfour_config *cfg)
{
	struct dns64_conf *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (copy_cidrs(&cfg->dns64.exclude, &c->exclude, &c->nexclude) ||
	    copy_cidrs(&cfg->dns64.mapped, &c->mapped, &c->nmapped) ||
	    copy_cidrs(&cfg->dns64.allow, &c->allow, &c->nallow))
		goto fail;
	c->max_synthesized = cfg->dns64.max_synthesized;
	c->edns_size = cfg->dns64.edns_size;
	c->query_timeout_ms = cfg->dns64.query_timeout_ms;
	c->aaaa_wait_ms = cfg->dns64.aaaa_wait_ms;
	c->tcp_idle_ms = cfg->dns64.tcp_idle_ms;
	c->tcp_max_connections = cfg->dns64.tcp_max_connections;
	c->rl = dns64_ratelimit_new(cfg->ratelimit.dns_qps, cfg->ratelimit.dns_burst,
				    cfg->ratelimit.v6_prefix_len, cfg->ratelimit.v4_prefix_len);
	if (cfg->ratelimit.dns_qps && !c->rl)
		goto fail;
	return c;
fail:
	dns64_conf_free(c);
	return NULL;
}
