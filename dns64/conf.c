/* The DNS64 policy as one immutable version (struct dns64_conf): built
 * from the running config at start and at every reload, read by every
 * thread without a lock, retired through common/publish.h. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include <arpa/inet.h>
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
	free(c->partners);
	free(c);
}

/* "PREFIX QPS [BURST]" (BURST defaults to twice QPS): 0 or -EINVAL. */
static int parse_partner(const char *text, struct dns64_rl_partner *p)
{
	char prefix[64];
	unsigned qps, burst;
	int n = sscanf(text, "%63s %u %u", prefix, &qps, &burst);
	if (n < 2 || cidr_parse(prefix, &p->prefix, false) != 0)
		return -EINVAL;
	p->limit.qps = qps;
	p->limit.burst = n == 3 ? burst : MAX(qps * 2, 1u);
	return p->limit.burst ? 0 : -EINVAL;
}

int dns64_conf_check(const struct sixfour_config *cfg, char *err, size_t errlen)
{
	const struct str_list *l = &cfg->ratelimit.dns_partners;
	for (size_t i = 0; i < l->n; i++) {
		struct dns64_rl_partner p;
		if (parse_partner(l->v[i], &p) != 0) {
			snprintf(err, errlen, "[ratelimit] dns-partner \"%s\": expected PREFIX QPS "
				 "[BURST], e.g. 2001:db8:100::/40 5000", l->v[i]);
			return -EINVAL;
		}
	}
	l = &cfg->dns64.cookie_secrets;
	if (l->n > DNS_COOKIE_MAX_SECRETS) {
		snprintf(err, errlen, "[dns64] cookie-secret: at most %d secrets",
			 DNS_COOKIE_MAX_SECRETS);
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n; i++) {
		uint8_t key[DNS_COOKIE_SECRET_LEN];
		if (dns64_cookie_secret_parse(l->v[i], key) != 0) {
			snprintf(err, errlen, "[dns64] cookie-secret \"%s\": expected 32 hex digits "
				 "(128 bits)", l->v[i]);
			return -EINVAL;
		}
	}
	const typeof(cfg->ratelimit) *r = &cfg->ratelimit;
	if ((r->v6_enclosing_len && r->v6_enclosing_len > r->v6_prefix_len) ||
	    (r->v4_enclosing_len && r->v4_enclosing_len > r->v4_prefix_len)) {
		snprintf(err, errlen, "[ratelimit] an enclosing prefix is longer than the client "
			 "prefix it encloses");
		return -EINVAL;
	}
	return 0;
}

struct dns64_conf *dns64_conf_new(const struct sixfour_config *cfg,
				  const uint8_t random_secret[DNS_COOKIE_SECRET_LEN])
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
	c->tcp_max_per_client = cfg->dns64.tcp_max_per_client;
	c->tcp_query_deadline_ms = cfg->dns64.tcp_query_deadline_ms;
	c->tcp_output_budget = (size_t)cfg->dns64.tcp_output_budget;
	const typeof(cfg->ratelimit) *r = &cfg->ratelimit;
	c->rl = (struct dns64_rl_policy){
		.v6_len = r->v6_prefix_len, .v4_len = r->v4_prefix_len,
		.v6_enc_len = r->v6_enclosing_len, .v4_enc_len = r->v4_enclosing_len,
		.client = { r->dns_qps, r->dns_burst },
		.enclosing = { r->dns_enclosing_qps, r->dns_enclosing_burst },
		.verified = { r->dns_cookie_qps, r->dns_cookie_burst },
		.slip = r->dns_slip,
	};
	if (r->dns_partners.n) {
		c->partners = calloc(r->dns_partners.n, sizeof(*c->partners));
		if (!c->partners)
			goto fail;
		for (size_t i = 0; i < r->dns_partners.n; i++)
			if (parse_partner(r->dns_partners.v[i], &c->partners[c->rl.npartners]) == 0)
				c->rl.npartners++;
		c->rl.partners = c->partners;
	}
	c->amplification = r->dns_amplification;
	c->cookies = cfg->dns64.cookies;
	const struct str_list *sec = &cfg->dns64.cookie_secrets;
	for (size_t i = 0; i < sec->n && c->secrets.n < DNS_COOKIE_MAX_SECRETS; i++)
		if (dns64_cookie_secret_parse(sec->v[i], c->secrets.key[c->secrets.n]) == 0)
			c->secrets.n++;
	if (!c->secrets.n) {
		memcpy(c->secrets.key[0], random_secret, DNS_COOKIE_SECRET_LEN);
		c->secrets.n = 1;
	}
	return c;
fail:
	dns64_conf_free(c);
	return NULL;
}
