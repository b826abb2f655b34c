/* Reading, checking and printing sixfour.ini through the option table. */
#include "autoconf.h"
#include "common/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/config_table.h"

struct parse_ctx {
	struct sixfour_config *cfg;
	struct config_errors *errs;
	const char *name;
	unsigned line;
	/* which options were set in which scope, to catch duplicates */
	bool seen_global[CFG_MAX_OPTIONS];
	bool seen_prefix[CONFIG_MAX_PREFIXES][CFG_MAX_OPTIONS];
	char section[64];
	bool section_ok;
	struct prefix_conf *prefix;	/* current [prefix NAME] or NULL */
	/* for the string reader */
	const char *text;
};

static void add_error(struct config_errors *errs, const char *name, unsigned line,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add_error(struct config_errors *errs, const char *name, unsigned line,
		      const char *fmt, ...)
{
	if (errs->n >= CONFIG_MAX_ERRORS)
		return;
	char *msg = errs->msg[errs->n++];
	size_t size = sizeof(errs->msg[0]);
	int at = line ? snprintf(msg, size, "%s:%u: ", name, line) : snprintf(msg, size, "%s: ", name);
	if (at < 0 || (size_t)at >= size)
		return;		/* the name fills it: the location alone */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + at, size - (size_t)at, fmt, ap);
	va_end(ap);
}

/* --- value parsers: 0 on success, or a static message --- */

struct list_add_ctx {
	const struct cfg_option *opt;
	void *list;
	const char *err;
};

/* Every list type has the layout { size_t n; T *v; }: one append for all. */
struct any_list {
	size_t n;
	void *v;
};

static int list_append(struct list_add_ctx *c, const void *elem, size_t size)
{
	struct any_list *l = c->list;
	char *nv = realloc(l->v, (l->n + 1) * size);
	if (!nv) {
		c->err = "out of memory";
		return -1;
	}
	memcpy(nv + l->n * size, elem, size);
	l->v = nv;
	l->n++;
	return 0;
}

static int cidr_item(const char *item, void *arg)
{
	struct list_add_ctx *c = arg;
	struct cidr v;
	if (cidr_parse(item, &v, false) != 0) {
		c->err = "not an address prefix (ADDR/LEN, host bits zero)";
		return -1;
	}
	if ((c->opt->flags & CFG_V4) && v.family != AF_INET) {
		c->err = "only IPv4 prefixes are allowed here";
		return -1;
	}
	if ((c->opt->flags & CFG_V6) && v.family != AF_INET6) {
		c->err = "only IPv6 prefixes are allowed here";
		return -1;
	}
	return list_append(c, &v, sizeof(v));
}

static int endpoint_item(const char *item, void *arg)
{
	struct list_add_ctx *c = arg;
	struct endpoint v;
	if (endpoint_parse(item, c->opt->port, &v) != 0) {
		c->err = "not an address with optional port (ADDR, ADDR:PORT, [V6]:PORT)";
		return -1;
	}
	return list_append(c, &v, sizeof(v));
}

static int str_item(const char *item, void *arg)
{
	struct list_add_ctx *c = arg;
	char *copy = strdup(item);
	if (!copy) {
		c->err = "out of memory";
		return -1;
	}
	if (list_append(c, &copy, sizeof(copy)) != 0) {
		free(copy);
		return -1;
	}
	return 0;
}

static int pool4_item(const char *item, void *arg)
{
	struct list_add_ctx *c = arg;
	struct pool4_range r = { .port_min = 1024, .port_max = 65535 };
	char buf[64];
	if (!strlcpy_ok(buf, item, sizeof(buf))) {
		c->err = "pool4 item too long";
		return -1;
	}
	char *colon = strchr(buf, ':');
	if (colon && strchr(colon + 1, ':')) {
		c->err = "pool4 items are IPv4 ADDR[/LEN][:MIN-MAX]";
		return -1;
	}
	if (colon) {
		*colon = '\0';
		unsigned lo, hi;
		char tail;
		if (sscanf(colon + 1, "%u-%u%c", &lo, &hi, &tail) != 2 || lo == 0 || lo > hi ||
		    hi > 65535) {
			c->err = "pool4 ports must be MIN-MAX with 1 <= MIN <= MAX <= 65535";
			return -1;
		}
		r.port_min = (uint16_t)lo;
		r.port_max = (uint16_t)hi;
	}
	struct cidr ci;
	if (cidr_parse(buf, &ci, false) != 0 || ci.family != AF_INET) {
		c->err = "pool4 items are IPv4 ADDR[/LEN][:MIN-MAX]";
		return -1;
	}
	if (ci.len < 16) {
		c->err = "pool4 prefixes must be /16 or longer";
		return -1;
	}
	r.addr = ci.addr.v4;
	r.len = ci.len;
	return list_append(c, &r, sizeof(r));
}

static void free_value(const struct cfg_option *opt, void *field)
{
	switch (opt->type) {
	case CFG_STR:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case CFG_CIDR_LIST:
	case CFG_ENDPOINT_LIST:
	case CFG_POOL4_LIST: {
		/* all three share the { size_t n; T *v; } layout */
		struct cidr_list *l = field;
		free(l->v);
		l->v = NULL;
		l->n = 0;
		break;
	}
	case CFG_STR_LIST: {
		struct str_list *l = field;
		for (size_t i = 0; i < l->n; i++)
			free(l->v[i]);
		free(l->v);
		l->v = NULL;
		l->n = 0;
		break;
	}
	default:
		break;
	}
}

static const char *parse_value(const struct cfg_option *opt, const char *value, void *field,
			       bool append)
{
	static char msg[160];
	uint64_t u;
	char *end;
	switch (opt->type) {
	case CFG_BOOL:
		if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "on") ||
		    !strcmp(value, "1"))
			*(bool *)field = true;
		else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "off") ||
			 !strcmp(value, "0"))
			*(bool *)field = false;
		else
			return "expected yes or no";
		return NULL;
	case CFG_UINT:
		if (!isdigit((unsigned char)*value))
			return "expected a number";
		errno = 0;
		u = strtoull(value, &end, 10);
		if (errno || *end)
			return "expected a number";
		if (u < opt->min || u > opt->max) {
			snprintf(msg, sizeof(msg), "must be between %" PRIu64 " and %" PRIu64,
				 opt->min, opt->max);
			return msg;
		}
		*(unsigned *)field = (unsigned)u;
		return NULL;
	case CFG_DURATION: {
		if (duration_parse_ms(value, &u) != 0)
			return "expected a duration such as 30s, 500ms, 5m, 2h or 1d";
		if (u < opt->min || u > opt->max) {
			char lo[32], hi[32];
			duration_format_ms(opt->min, lo, sizeof(lo));
			duration_format_ms(opt->max, hi, sizeof(hi));
			snprintf(msg, sizeof(msg), "must be between %s and %s", lo, hi);
			return msg;
		}
		*(uint64_t *)field = u;
		return NULL;
	}
	case CFG_SIZE:
		if (size_parse(value, &u) != 0)
			return "expected a size such as 4096, 64k, 16M or 1G";
		if (u < opt->min || u > opt->max)
			return "size out of range";
		*(uint64_t *)field = u;
		return NULL;
	case CFG_LOGLEVEL:
		if (log_level_parse(value, (enum log_level *)field) != 0)
			return "expected err, warn, notice, info or debug";
		return NULL;
	case CFG_ENUM:
		for (int i = 0; opt->choices[i]; i++) {
			if (!strcmp(value, opt->choices[i])) {
				*(int *)field = i;
				return NULL;
			}
		}
		snprintf(msg, sizeof(msg), "expected one of:");
		for (int i = 0; opt->choices[i]; i++) {
			strncat(msg, " ", sizeof(msg) - strlen(msg) - 1);
			strncat(msg, opt->choices[i], sizeof(msg) - strlen(msg) - 1);
		}
		return msg;
	case CFG_STR: {
		char *s = strdup(value);
		if (!s)
			return "out of memory";
		free(*(char **)field);
		*(char **)field = s;
		return NULL;
	}
	case CFG_CIDR: {
		struct cidr *c = field;
		if (*value == '\0') {
			memset(c, 0, sizeof(*c));
			return NULL;
		}
		if (cidr_parse(value, c, false) != 0)
			return "not an address prefix (ADDR/LEN, host bits zero)";
		if ((opt->flags & CFG_V6) && c->family != AF_INET6)
			return "must be an IPv6 prefix";
		if ((opt->flags & CFG_V4) && c->family != AF_INET)
			return "must be an IPv4 prefix";
		return NULL;
	}
	case CFG_CIDR_LIST:
	case CFG_ENDPOINT_LIST:
	case CFG_STR_LIST:
	case CFG_POOL4_LIST: {
		if (!append)
			free_value(opt, field);
		struct list_add_ctx c = { opt, field, NULL };
		int (*fn)(const char *, void *) =
			opt->type == CFG_CIDR_LIST ? cidr_item :
			opt->type == CFG_ENDPOINT_LIST ? endpoint_item :
			opt->type == CFG_POOL4_LIST ? pool4_item : str_item;
		if (opt->type == CFG_STR_LIST && (opt->flags & CFG_MULTI)) {
			/* a repeatable option keeps its whole value, spaces included */
			if (*value && str_item(value, &c) != 0)
				return c.err;
			return NULL;
		}
		if (list_foreach(value, fn, &c) != 0)
			return c.err ? c.err : "list item too long";
		return NULL;
	}
	}
	return "unknown option type";
}

/* --- the INI handler --- */

static const struct cfg_option *find_option(const char *section, const char *key)
{
	for (size_t i = 0; i < cfg_noptions; i++)
		if (!strcmp(cfg_options[i].section, section) && !strcmp(cfg_options[i].key, key))
			return &cfg_options[i];
	return NULL;
}

static bool section_known(const char *s)
{
	for (size_t i = 0; i < cfg_nsections; i++)
		if (!strcmp(cfg_sections[i], s) && strcmp(s, "prefix") != 0)
			return true;
	return false;
}

static void apply_prefix_defaults(struct prefix_conf *p);

static bool valid_prefix_name(const char *n)
{
	if (!*n || strlen(n) >= PREFIX_NAME_MAX)
		return false;
	for (const char *c = n; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	return true;
}

/* Called when the section header changes. */
static void enter_section(struct parse_ctx *ctx, const char *section)
{
	strlcpy_ok(ctx->section, section, sizeof(ctx->section));
	ctx->prefix = NULL;
	ctx->section_ok = false;
	if (!strncmp(section, "prefix ", 7) || !strcmp(section, "prefix")) {
		const char *name = section + (section[6] ? 7 : 6);
		while (*name == ' ')
			name++;
		if (!valid_prefix_name(name)) {
			add_error(ctx->errs, ctx->name, ctx->line,
				  "[%s]: a prefix section needs a name of letters, digits, '-', '_' "
				  "or '.' (at most %d), as in [prefix site1]", section,
				  PREFIX_NAME_MAX - 1);
			return;
		}
		for (size_t i = 0; i < ctx->cfg->nprefixes; i++) {
			if (!strcmp(ctx->cfg->prefixes[i].name, name)) {
				add_error(ctx->errs, ctx->name, ctx->line,
					  "[prefix %s] appears twice (first at line %u)", name,
					  ctx->cfg->prefixes[i].line);
				return;
			}
		}
		if (ctx->cfg->nprefixes == CONFIG_MAX_PREFIXES) {
			add_error(ctx->errs, ctx->name, ctx->line, "more than %d prefix sections",
				  CONFIG_MAX_PREFIXES);
			return;
		}
		struct prefix_conf *p = &ctx->cfg->prefixes[ctx->cfg->nprefixes++];
		memset(p, 0, sizeof(*p));
		strlcpy_ok(p->name, name, sizeof(p->name));
		p->line = ctx->line;
		apply_prefix_defaults(p);
		ctx->prefix = p;
		ctx->section_ok = true;
		return;
	}
	if (!section_known(section)) {
		add_error(ctx->errs, ctx->name, ctx->line, "unknown section [%s]", section);
		return;
	}
	ctx->section_ok = true;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	/* Section headers were seen by counting_reader, with their line. */
	if (!name)
		return 1;
	if (!*section) {
		add_error(ctx->errs, ctx->name, ctx->line, "'%s' is outside any section", name);
		return 1;
	}
	if (!ctx->section_ok)
		return 1;	/* the section header already has an error */
	const char *sec = ctx->prefix ? "prefix" : section;
	const struct cfg_option *opt = find_option(sec, name);
	if (!opt) {
		add_error(ctx->errs, ctx->name, ctx->line, "unknown key '%s' in [%s]", name, section);
		return 1;
	}
	size_t idx = (size_t)(opt - cfg_options);
	bool *seen = ctx->prefix ? &ctx->seen_prefix[ctx->prefix - ctx->cfg->prefixes][idx]
				 : &ctx->seen_global[idx];
	if (*seen && !(opt->flags & CFG_MULTI)) {
		add_error(ctx->errs, ctx->name, ctx->line, "'%s' is set twice in [%s]", name, section);
		return 1;
	}
	void *field = (char *)(ctx->prefix ? (void *)ctx->prefix : (void *)ctx->cfg) + opt->offset;
	/* A repeatable option's first line replaces the default; later ones append. */
	const char *err = parse_value(opt, value, field, *seen);
	*seen = true;
	if (err)
		add_error(ctx->errs, ctx->name, ctx->line, "%s = %s: %s", name, value, err);
	return 1;
}

/* --- defaults --- */

static void apply_defaults(struct sixfour_config *cfg)
{
	for (size_t i = 0; i < cfg_noptions; i++) {
		const struct cfg_option *opt = &cfg_options[i];
		if (!strcmp(opt->section, "prefix"))
			continue;
		const char *err = parse_value(opt, opt->def, (char *)cfg + opt->offset, false);
		if (err) {
			fprintf(stderr, "sixfour: built-in default of %s.%s is bad: %s\n",
				opt->section, opt->key, err);
			abort();
		}
	}
}

static void apply_prefix_defaults(struct prefix_conf *p)
{
	for (size_t i = 0; i < cfg_noptions; i++) {
		const struct cfg_option *opt = &cfg_options[i];
		if (strcmp(opt->section, "prefix") != 0)
			continue;
		if (parse_value(opt, opt->def, (char *)p + opt->offset, false))
			abort();
	}
}

/* The embedded default prefix: the Well-Known Prefix, translated here. */
static void add_default_prefix(struct sixfour_config *cfg)
{
	struct prefix_conf *p = &cfg->prefixes[cfg->nprefixes++];
	memset(p, 0, sizeof(*p));
	apply_prefix_defaults(p);
	strlcpy_ok(p->name, "wkp", sizeof(p->name));
	cidr_parse("64:ff9b::/96", &p->prefix, false);
	p->translate = true;
	p->synthesize = true;
	p->advertise = true;
}

/* --- cross-field checks, all in one place --- */

static bool link_local6(const struct cidr *c)
{
	return c->addr.v6.s6_addr[0] == 0xfe && (c->addr.v6.s6_addr[1] & 0xc0) == 0x80;
}

/* [cluster] (doc/cluster.md): the nodes share pool4, so it must be a list of
 * addresses (the host's own address is not the other node's); the virtual
 * addresses are single addresses, the router one link-local. */
static void check_cluster(const struct sixfour_config *cfg, struct config_errors *errs,
			  const char *name)
{
	const struct cidr *va = &cfg->cluster.virtual_address, *vr = &cfg->cluster.virtual_router;
	if (cfg->cluster.node > cfg->cluster.nodes)
		add_error(errs, name, 0, "[cluster] node must be between 1 and nodes (%u)",
			  cfg->cluster.nodes);
	if (va->family == AF_INET6 && (va->len != 128 || link_local6(va)))
		add_error(errs, name, 0, "[cluster] virtual-address must be one global IPv6 "
			  "address (no /len, not link-local)");
	if (vr->family == AF_INET6 && (vr->len != 128 || !link_local6(vr)))
		add_error(errs, name, 0, "[cluster] virtual-router must be one link-local "
			  "address (fe80::/10, no /len)");
	if (cfg->cluster.enable && cfg->nat64.enable && cfg->nat64.pool4.n == 0)
		add_error(errs, name, 0, "[cluster] needs [nat64] pool4: the nodes share its "
			  "addresses (routed to the active node), not their own");
}

static void check_config(struct sixfour_config *cfg, struct config_errors *errs,
			 const char *name)
{
	for (size_t i = 0; i < cfg->nprefixes; i++) {
		struct prefix_conf *p = &cfg->prefixes[i];
		if (p->prefix.family != AF_INET6) {
			add_error(errs, name, p->line, "[prefix %s]: 'prefix' is required", p->name);
			continue;
		}
		if (!rfc6052_len_valid(p->prefix.len) && (p->translate || p->synthesize ||
							  p->advertise)) {
			add_error(errs, name, p->line,
				  "[prefix %s]: prefix length /%u is not one of RFC 6052's "
				  "32, 40, 48, 56, 64 or 96", p->name, p->prefix.len);
		}
		if (!memcmp(&p->prefix.addr.v6, &rfc6052_wkp, 12) && p->prefix.len != 96 &&
		    p->prefix.len > 32)
			add_error(errs, name, p->line,
				  "[prefix %s]: the Well-Known Prefix 64:ff9b::/96 must be used "
				  "as a /96 (RFC 6052 section 2.1)", p->name);
		for (size_t j = 0; j < i; j++) {
			struct prefix_conf *q = &cfg->prefixes[j];
			if (q->prefix.family == AF_INET6 && cidr_overlap(&p->prefix, &q->prefix)) {
				char a[64], b[64];
				cidr_format(&p->prefix, a, sizeof(a));
				cidr_format(&q->prefix, b, sizeof(b));
				add_error(errs, name, p->line,
					  "[prefix %s] %s overlaps [prefix %s] %s", p->name, a,
					  q->name, b);
			}
		}
	}
	for (size_t i = 0; i < cfg->nprefixes; i++) {
		const struct prefix_conf *p = &cfg->prefixes[i];
		struct in_addr t;
		if (!p->probe)
			continue;
		if (p->probe_target && *p->probe_target) {
			if (inet_pton(AF_INET, p->probe_target, &t) != 1)
				add_error(errs, name, p->line,
					  "[prefix %s]: probe-target must be an IPv4 address", p->name);
		} else if (cfg->health.target.family != AF_INET) {
			add_error(errs, name, p->line,
				  "[prefix %s]: probe = yes needs a probe-target here or a "
				  "[health] target", p->name);
		}
	}
	if (cfg->hints.min_interval_ms * 4 > cfg->hints.max_interval_ms * 3)
		add_error(errs, name, 0,
			  "[hints] min-interval must be at most 0.75 x max-interval (RFC 4861 6.2.1)");
	if (cfg->dns64.enable && cfg->dns64.listen.n == 0)
		add_error(errs, name, 0, "[dns64] listen is empty but the resolver is enabled");
	for (size_t i = 0; i < cfg->nat64.pool4.n; i++)
		for (size_t j = 0; j < i; j++) {
			struct cidr a = { AF_INET, cfg->nat64.pool4.v[i].len,
					  { .v4 = cfg->nat64.pool4.v[i].addr } };
			struct cidr b = { AF_INET, cfg->nat64.pool4.v[j].len,
					  { .v4 = cfg->nat64.pool4.v[j].addr } };
			const struct pool4_range *x = &cfg->nat64.pool4.v[i], *y = &cfg->nat64.pool4.v[j];
			if (cidr_overlap(&a, &b) && x->port_min <= y->port_max &&
			    y->port_min <= x->port_max)
				add_error(errs, name, 0, "[nat64] pool4 items %zu and %zu overlap",
					  j + 1, i + 1);
		}
	check_cluster(cfg, errs, name);
}

/* --- loading --- */

/* An ini_reader that counts lines and refuses lines longer than inih's. */
static char *counting_reader(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	const char *t = ctx->text;
	if (!t || !*t)
		return NULL;
	const char *nl = strchr(t, '\n');
	size_t n = nl ? (size_t)(nl - t + 1) : strlen(t);
	ctx->line++;
	ctx->text = t + n;
	if (n >= (size_t)num) {
		add_error(ctx->errs, ctx->name, ctx->line, "line longer than %d characters",
			  num - 2);
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	memcpy(str, t, n);
	str[n] = '\0';
	/* inih calls the handler only for keys; sections are entered here so
	 * that empty and repeated sections are checked at their own line. */
	const char *p = str;
	while (*p == ' ' || *p == '\t')
		p++;
	const char *close = *p == '[' ? strchr(p, ']') : NULL;
	if (close) {
		char section[64];
		size_t len = (size_t)(close - p - 1);
		if (len >= sizeof(section)) {
			add_error(ctx->errs, ctx->name, ctx->line, "section name too long");
			len = sizeof(section) - 1;
		}
		memcpy(section, p + 1, len);
		section[len] = '\0';
		enter_section(ctx, section);
	}
	return str;
}

struct sixfour_config *config_load_string(const char *name, const char *text,
					  struct config_errors *errs)
{
	struct sixfour_config *cfg = calloc(1, sizeof(*cfg));
	struct parse_ctx *ctx = calloc(1, sizeof(*ctx));
	errs->n = 0;
	if (!cfg || !ctx) {
		free(cfg);
		free(ctx);
		add_error(errs, name, 0, "out of memory");
		return NULL;
	}
	apply_defaults(cfg);
	ctx->cfg = cfg;
	ctx->errs = errs;
	ctx->name = name;
	ctx->text = text;
	int rc = ini_parse_stream(counting_reader, ctx, config_ini_handler, ctx);
	if (rc > 0 && errs->n == 0)
		add_error(errs, name, (unsigned)rc,
			  "syntax error (expected [section], key = value or a comment)");
	else if (rc < 0)
		add_error(errs, name, 0, "cannot parse (%d)", rc);
	free(ctx);
	if (errs->n == 0 && cfg->nprefixes == 0)
		add_default_prefix(cfg);
	if (errs->n == 0)
		check_config(cfg, errs, name);
	if (errs->n) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct sixfour_config *config_load(const char *path, struct config_errors *errs)
{
	errs->n = 0;
	if (!path) {
		struct sixfour_config *cfg = config_load_string("(built-in)", "", errs);
		return cfg;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		add_error(errs, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			if (cap >= (1u << 24)) {
				add_error(errs, path, 0, "file larger than 16 MiB");
				free(buf);
				fclose(f);
				return NULL;
			}
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			} else {
				buf = nb;
			}
		}
	}
	fclose(f);
	if (!buf) {
		add_error(errs, path, 0, "out of memory");
		return NULL;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		add_error(errs, path, 0, "file contains a NUL byte");
		free(buf);
		return NULL;
	}
	struct sixfour_config *cfg = config_load_string(path, buf, errs);
	free(buf);
	if (cfg) {
		cfg->path = strdup(path);
		if (!cfg->path) {
			config_free(cfg);
			add_error(errs, path, 0, "out of memory");
			return NULL;
		}
	}
	return cfg;
}

void config_free(struct sixfour_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg_noptions; i++) {
		const struct cfg_option *opt = &cfg_options[i];
		if (!strcmp(opt->section, "prefix")) {
			for (size_t j = 0; j < cfg->nprefixes; j++)
				free_value(opt, (char *)&cfg->prefixes[j] + opt->offset);
		} else {
			free_value(opt, (char *)cfg + opt->offset);
		}
	}
	free(cfg->path);
	free(cfg);
}

/* --- printing --- */

/* Element `i` of a list option as config_print writes it back. */
static const char *list_item_text(enum cfg_type type, const struct any_list *l, size_t i,
				  char *buf, size_t size)
{
	switch (type) {
	case CFG_STR_LIST:
		return ((char *const *)l->v)[i];
	case CFG_CIDR_LIST:
		cidr_format(&((const struct cidr *)l->v)[i], buf, size);
		return buf;
	case CFG_ENDPOINT_LIST:
		endpoint_format(&((const struct endpoint *)l->v)[i], buf, size);
		return buf;
	case CFG_POOL4_LIST: {
		const struct pool4_range *r = &((const struct pool4_range *)l->v)[i];
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &r->addr, a, sizeof(a));
		snprintf(buf, size, "%s/%u:%u-%u", a, r->len, r->port_min, r->port_max);
		return buf;
	}
	default:
		return "";
	}
}

static void print_value(const struct cfg_option *opt, const void *field, FILE *out)
{
	if (!out)
		return;
	char buf[256];
	switch (opt->type) {
	case CFG_BOOL:
		fprintf(out, "%s = %s\n", opt->key, *(const bool *)field ? "yes" : "no");
		return;
	case CFG_UINT:
		fprintf(out, "%s = %u\n", opt->key, *(const unsigned *)field);
		return;
	case CFG_DURATION:
		duration_format_ms(*(const uint64_t *)field, buf, sizeof(buf));
		fprintf(out, "%s = %s\n", opt->key, buf);
		return;
	case CFG_SIZE:
		size_format(*(const uint64_t *)field, buf, sizeof(buf));
		fprintf(out, "%s = %s\n", opt->key, buf);
		return;
	case CFG_LOGLEVEL:
		fprintf(out, "%s = %s\n", opt->key, log_level_name(*(const enum log_level *)field));
		return;
	case CFG_ENUM:
		fprintf(out, "%s = %s\n", opt->key, opt->choices[*(const int *)field]);
		return;
	case CFG_STR: {
		const char *s = *(char *const *)field;
		fprintf(out, "%s =%s%s\n", opt->key, s && *s ? " " : "", s ? s : "");
		return;
	}
	case CFG_CIDR: {
		const struct cidr *c = field;
		if (c->family)
			cidr_format(c, buf, sizeof(buf));
		else
			buf[0] = '\0';
		fprintf(out, "%s =%s%s\n", opt->key, *buf ? " " : "", buf);
		return;
	}
	case CFG_STR_LIST:
		if (opt->flags & CFG_MULTI) {	/* one line per value */
			const struct str_list *l = field;
			if (l->n == 0)
				fprintf(out, "%s =\n", opt->key);
			for (size_t i = 0; i < l->n; i++)
				fprintf(out, "%s = %s\n", opt->key, l->v[i]);
			return;
		}
		/* fall through */
	case CFG_CIDR_LIST:
	case CFG_ENDPOINT_LIST:
	case CFG_POOL4_LIST: {
		const struct any_list *l = field;
		fprintf(out, "%s =", opt->key);
		for (size_t i = 0; i < l->n; i++)
			fprintf(out, "%s %s", i ? "," : "", list_item_text(opt->type, l, i, buf,
									   sizeof(buf)));
		fputc('\n', out);
		return;
	}
	}
}

void config_print(const struct sixfour_config *cfg, FILE *out)
{
	fprintf(out, "# sixfour effective configuration (%s)\n",
		cfg->path ? cfg->path : "built-in defaults");
	for (size_t s = 0; s < cfg_nsections; s++) {
		const char *sec = cfg_sections[s];
		if (!strcmp(sec, "prefix")) {
			for (size_t j = 0; j < cfg->nprefixes; j++) {
				fprintf(out, "\n[prefix %s]\n", cfg->prefixes[j].name);
				for (size_t i = 0; i < cfg_noptions; i++)
					if (!strcmp(cfg_options[i].section, "prefix"))
						print_value(&cfg_options[i],
							    (const char *)&cfg->prefixes[j] +
							    cfg_options[i].offset, out);
			}
			continue;
		}
		fprintf(out, "\n[%s]\n", sec);
		for (size_t i = 0; i < cfg_noptions; i++)
			if (!strcmp(cfg_options[i].section, sec))
				print_value(&cfg_options[i], (const char *)cfg + cfg_options[i].offset,
					    out);
	}
}

/* The canonical text of one value (print_value's line), in a new string. */
static char *value_text(const struct cfg_option *opt, const void *field)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	print_value(opt, field, f);
	if (f)
		fclose(f);
	return buf;
}

/* One section's changed restart-class keys appended at err + *off. */
static size_t restart_changes_in(const struct sixfour_config *running,
				 const struct sixfour_config *next, const char *section,
				 char *err, size_t errlen, size_t *off)
{
	size_t nchanged = 0;
	for (size_t i = 0; i < cfg_noptions; i++) {
		const struct cfg_option *opt = &cfg_options[i];
		if (opt->reload != CFG_RESTART || strcmp(opt->section, section) != 0)
			continue;
		char *a = value_text(opt, (const char *)running + opt->offset);
		char *b = value_text(opt, (const char *)next + opt->offset);
		bool same = a && b && strcmp(a, b) == 0;
		free(a);
		free(b);
		if (same)
			continue;
		int n = nchanged ? snprintf(err + *off, *off < errlen ? errlen - *off : 0, ", %s",
					    opt->key)
				 : snprintf(err + *off, *off < errlen ? errlen - *off : 0,
					    "%schanges to [%s] %s", *off ? "; " : "", section,
					    opt->key);
		if (n > 0)
			*off += (size_t)n;
		nchanged++;
	}
	if (nchanged) {
		int n = snprintf(err + *off, *off < errlen ? errlen - *off : 0, " need a restart");
		if (n > 0)
			*off += (size_t)n;
	}
	return nchanged;
}

int config_restart_changes(const struct sixfour_config *running,
			   const struct sixfour_config *next, const char *section,
			   char *err, size_t errlen)
{
	size_t off = 0, changed = 0;
	if (errlen)
		err[0] = '\0';
	for (size_t s = 0; s < cfg_nsections; s++)
		if (strcmp(cfg_sections[s], "prefix") != 0 &&
		    (!section || strcmp(section, cfg_sections[s]) == 0))
			changed += restart_changes_in(running, next, cfg_sections[s], err, errlen,
						      &off);
	if (errlen && off >= errlen)
		err[errlen - 1] = '\0';
	return changed ? -EINVAL : 0;
}

static void man_escape(const char *s, FILE *out)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

void config_print_man(FILE *out)
{
	for (size_t s = 0; s < cfg_nsections; s++) {
		const char *sec = cfg_sections[s];
		fprintf(out, ".SS [%s]\n", !strcmp(sec, "prefix") ? "prefix NAME" : sec);
		for (size_t i = 0; i < cfg_noptions; i++) {
			const struct cfg_option *opt = &cfg_options[i];
			if (strcmp(opt->section, sec))
				continue;
			fputs(".TP\n.B ", out);
			man_escape(opt->key, out);
			fputs("\n", out);
			man_escape(opt->doc, out);
			fputs(" Default: ", out);
			man_escape(*opt->def ? opt->def : "(empty)", out);
			fputs(strcmp(sec, "prefix") == 0 || opt->reload == CFG_LIVE
			      ? ". A reload applies a change.\n"
			      : ". Changing it needs a restart.\n", out);
		}
	}
}

struct prefix_set *config_prefix_set(const struct sixfour_config *cfg)
{
	struct prefix_set *set = prefix_set_alloc(cfg->nprefixes);
	if (!set)
		return NULL;
	for (size_t i = 0; i < cfg->nprefixes; i++) {
		const struct prefix_conf *p = &cfg->prefixes[i];
		struct prefix_info *pi = &set->prefixes[i];
		strlcpy_ok(pi->name, p->name, sizeof(pi->name));
		pi->addr = p->prefix.addr.v6;
		pi->len = p->prefix.len;
		pi->roles = 0;
#define X(role, key, def, doc) pi->roles |= p->key ? PREFIX_ROLE_##role : 0;
		PREFIX_ROLES(X)
#undef X
		/* Probed prefixes start active only when they are our own; the
		 * health checker decides from the first probe on. */
		pi->active = p->synthesize && (!p->probe || p->translate);
	}
	return set;
}
