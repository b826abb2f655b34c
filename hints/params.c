/* The [hints] options as the subsystem uses them: copied out of the
 * config, defaults resolved, cross-field rules checked. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/util.h"
#include "hints/hints_int.h"

void hints_params_free(struct hints_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ndnssl; i++)
		free(p->dnssl[i]);
	free(p->dnssl);
	free(p->slaac);
	free(p);
}

static uint64_t ceil_s(uint64_t ms)
{
	return (ms + 999) / 1000;
}

struct hints_params *hints_params_build(const struct sixfour_config *cfg, char *err,
					 size_t errlen)
{
	struct hints_params *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const typeof(cfg->hints) *hc = &cfg->hints;
	if (hc->interfaces.n > HINTS_MAX_IFACES) {
		snprintf(err, errlen, "[hints] interface: at most %d interfaces", HINTS_MAX_IFACES);
		goto fail;
	}
	for (size_t i = 0; i < hc->interfaces.n; i++) {
		if (!strlcpy_ok(p->ifaces[i], hc->interfaces.v[i], IF_NAMESIZE)) {
			snprintf(err, errlen, "[hints] interface: name too long: %s",
				 hc->interfaces.v[i]);
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->ifaces[i], p->ifaces[j]) == 0) {
				snprintf(err, errlen, "[hints] interface: %s is listed twice",
					 p->ifaces[i]);
				goto fail;
			}
	}
	p->nifaces = hc->interfaces.n;
	p->max_interval_ms = hc->max_interval_ms;
	p->min_interval_ms = hc->min_interval_ms;
	uint64_t rl = ceil_s(hc->router_lifetime_ms);
	/* RFC 4861 6.2.1: zero, or between MaxRtrAdvInterval and 9000 s. */
	if (rl && rl * 1000 < hc->max_interval_ms) {
		snprintf(err, errlen, "[hints] router-lifetime must be 0 or at least max-interval "
			 "(RFC 4861 6.2.1)");
		goto fail;
	}
	p->router_lifetime_s = (uint16_t)rl;
	/* RFC 8781 4.1 and RFC 8106 5.1: 3 x MaxRtrAdvInterval by default. */
	uint64_t three_max = ceil_s(3 * hc->max_interval_ms);
	p->pref64_lifetime_s = hc->pref64_lifetime_ms ? ceil_s(hc->pref64_lifetime_ms) : three_max;
	p->dns_lifetime_s = (uint32_t)three_max;
	if (hc->rdnss.n > HINTS_MAX_RDNSS) {
		snprintf(err, errlen, "[hints] rdnss: at most %d addresses", HINTS_MAX_RDNSS);
		goto fail;
	}
	for (size_t i = 0; i < hc->rdnss.n; i++) {
		if (hc->rdnss.v[i].len != 128) {
			snprintf(err, errlen, "[hints] rdnss: item %zu is a prefix, not an address",
				 i + 1);
			goto fail;
		}
		p->rdnss[i] = hc->rdnss.v[i].addr.v6;
	}
	p->nrdnss = hc->rdnss.n;
	if (hc->dnssl.n) {
		p->dnssl = calloc(hc->dnssl.n, sizeof(*p->dnssl));
		if (!p->dnssl)
			goto oom;
	}
	for (size_t i = 0; i < hc->dnssl.n; i++) {
		int r = hints_dns_name_encode(p->domains + p->domains_len,
					      sizeof(p->domains) - p->domains_len, hc->dnssl.v[i]);
		if (r < 0) {
			snprintf(err, errlen, "[hints] dnssl: %s: %s", hc->dnssl.v[i],
				 r == -ENOSPC ? "the list is too long" : "not a valid domain name");
			goto fail;
		}
		p->domains_len += (size_t)r;
		p->dnssl[i] = strdup(hc->dnssl.v[i]);
		if (!p->dnssl[i])
			goto oom;
		p->ndnssl = i + 1;
	}
	/* The DNSSL option must fit one RA (length field in 8-octet units). */
	if (p->domains_len + 8 > 255 * 8) {
		snprintf(err, errlen, "[hints] dnssl: the list is too long for one RA option");
		goto fail;
	}
	p->dhcpv6 = hc->dhcpv6;
	if (hc->mtu && hc->mtu < 1280) {
		snprintf(err, errlen, "[hints] mtu must be 0 or at least 1280 (RFC 8200 5)");
		goto fail;
	}
	p->mtu = hc->mtu;
	if (hc->slaac_prefixes.n) {
		p->slaac = calloc(hc->slaac_prefixes.n, sizeof(*p->slaac));
		if (!p->slaac)
			goto oom;
		memcpy(p->slaac, hc->slaac_prefixes.v, hc->slaac_prefixes.n * sizeof(*p->slaac));
		p->nslaac = hc->slaac_prefixes.n;
	}
	p->info_refresh_s = (uint32_t)ceil_s(hc->info_refresh_ms);
	p->cluster = cfg->cluster.enable;
	p->has_vrouter = cfg->cluster.enable && cfg->cluster.virtual_router.family == AF_INET6;
	if (p->has_vrouter)
		p->vrouter = cfg->cluster.virtual_router.addr.v6;
	return p;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	hints_params_free(p);
	return NULL;
}
