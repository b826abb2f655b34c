/* The DNS64 engine (dns64/engine.c and dns64/resolver.c) driven through
 * every RFC 6147 branch with a fake libunbound and a fake clock
 * (fake_unbound.c, fake_loop.c): the deterministic tier beside the
 * namespace labs, in the spirit of Unbound's testbound. Scenarios live in
 * a replay file (tests/unit/dns64_engine.rpl, its grammar at its top):
 * scripted upstream answers with delays, timeouts, failures, bogus data
 * and answers given during the call; queries; clock steps; expected
 * responses and counters. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/evloop.h"
#include "common/publish.h"
#include "common/rfc6052.h"
#include "dns64/cache.h"
#include "dns64/dns64_int.h"
#include "dns64/resolver.h"
#include "tests/unit/fake_loop.h"
#include "tests/unit/fake_unbound.h"
#include "tests/unit/tap.h"

/* Assertions the replay file makes: one per expect, check and counter
 * line, and one per scenario for its clean end. Changing the file means
 * changing this number, so a scenario cannot silently disappear. */
#define REPLAY_ASSERTIONS 197
/* Assertions of this file's own (the replay file parses, its scenarios
 * were all run). */
#define OWN_ASSERTIONS 2

/* --- the fake front end: what the engine sends, and client holds --- */

struct sent {
	uint8_t buf[DNS_MAX_MSG];
	size_t len;
	uint8_t transport;
};

#define OUTBOX 512
static struct sent outbox[OUTBOX];
static size_t nout, nread;
static int holds;
/* The COOKIE option data of the last response checked. */
static uint8_t last_cookie[DNS_COOKIE_MAX_LEN];
static size_t last_cookie_len;

/* The COOKIE option our responses end with (OPT is last, the cookie its
 * last option), or 0. */
static size_t tail_cookie(const struct sent *s, uint8_t *out)
{
	const size_t n = DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_LEN;
	if (s->len < DNS_HDR_LEN + 4 + n || get_be16(s->buf + s->len - n - 4) != DNS_OPT_COOKIE ||
	    get_be16(s->buf + s->len - n - 2) != n)
		return 0;
	memcpy(out, s->buf + s->len - n, n);
	return n;
}

void dns64_server_send(struct dns64_io *io, const struct dns64_client *cl, const uint8_t *buf,
		       size_t len)
{
	(void)io;
	if (nout == OUTBOX)
		return;
	memcpy(outbox[nout].buf, buf, len);
	outbox[nout].len = len;
	outbox[nout].transport = cl->transport;
	nout++;
}

void dns64_client_hold(const struct dns64_client *cl)
{
	(void)cl;
	holds++;
}

void dns64_client_release(struct dns64_io *io, const struct dns64_client *cl)
{
	(void)io, (void)cl;
	holds--;
}

/* --- one scenario's world --- */

struct env {
	struct sixfour_config *cfg;
	struct evloop *loop;
	struct publish_domain pub;
	struct prefix_pub prefixes;
	struct dns64 d;
	struct dns64_io io;
};

static int env_start(struct env *e, const char *ini, char *err, size_t errlen)
{
	struct config_errors errs = { 0 };
	memset(e, 0, sizeof(*e));
	e->cfg = config_load_string("replay", ini, &errs);
	if (!e->cfg) {
		snprintf(err, errlen, "config: %.200s", errs.n ? errs.msg[0] : "?");
		return -1;
	}
	e->loop = evloop_new();
	publish_domain_init(&e->pub);
	prefix_pub_init(&e->prefixes, &e->pub);
	prefix_pub_publish(&e->prefixes, config_prefix_set(e->cfg));
	e->d.loop = e->loop;
	e->d.prefixes = &e->prefixes;
	e->d.publish = &e->pub;
	e->d.enabled = true;
	e->d.nthreads = 1;
	e->d.main_io = &e->io;
	memset(e->d.random_secret, 0x5a, sizeof(e->d.random_secret));
	atomic_store(&e->d.conf, dns64_conf_new(e->cfg, e->d.random_secret));
	e->d.cache = dns64_cache_new(e->cfg->dns64.cache_size);
	e->d.rl = dns64_ratelimit_new(DNS64_RL_ENTRIES);
	e->io.d = &e->d;
	e->io.loop = e->loop;
	if (!e->loop || !atomic_load(&e->d.conf) || !e->d.cache || !e->d.rl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return dns64_io_resolvers(&e->io, e->cfg, err, errlen);
}

static void env_stop(struct env *e)
{
	dns64_engine_cancel_all(&e->io);
	dns64_io_resolvers_free(&e->io);
	dns64_cache_free(e->d.cache);
	dns64_ratelimit_free(e->d.rl);
	dns64_conf_free(atomic_load(&e->d.conf));
	prefix_pub_destroy(&e->prefixes);
	publish_domain_destroy(&e->pub);
	evloop_free(e->loop);
	config_free(e->cfg);
}

/* --- presentation-form records (the subset scenarios use) --- */

static const struct { const char *name; uint16_t type; } types[] = {
	{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "CNAME", DNS_T_CNAME },
	{ "DNAME", DNS_T_DNAME }, { "PTR", DNS_T_PTR }, { "NS", DNS_T_NS },
	{ "SOA", DNS_T_SOA }, { "TXT", DNS_T_TXT }, { "HINFO", DNS_T_HINFO },
	{ "RRSIG", DNS_T_RRSIG }, { "MX", DNS_T_MX }, { "ANY", DNS_T_ANY }, { "AXFR", DNS_T_AXFR },
};

static int type_of(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcasecmp(types[i].name, s) == 0)
			return types[i].type;
	return -1;
}

static const struct { const char *name; unsigned rcode; } rcodes[] = {
	{ "NOERROR", DNS_R_NOERROR }, { "FORMERR", DNS_R_FORMERR },
	{ "SERVFAIL", DNS_R_SERVFAIL }, { "NXDOMAIN", DNS_R_NXDOMAIN },
	{ "NOTIMP", DNS_R_NOTIMP }, { "REFUSED", DNS_R_REFUSED },
	{ "BADVERS", DNS_R_BADVERS },
};

static int rcode_of(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(rcodes); i++)
		if (strcasecmp(rcodes[i].name, s) == 0)
			return (int)rcodes[i].rcode;
	return -1;
}

struct rec {
	uint8_t section;
	uint8_t name[DNS_NAME_MAX];
	size_t nlen;
	uint16_t type;
	uint32_t ttl;
	bool any_ttl;			/* expectations: "*" */
	uint8_t rdata[1024];
	uint16_t rdlen;
};

static int put_name_rd(struct rec *r, const char *text)
{
	int n = dns_name_from_text(text, r->rdata + r->rdlen);
	if (n < 0)
		return -1;
	r->rdlen = (uint16_t)(r->rdlen + n);
	return 0;
}

static void put32(struct rec *r, uint32_t v)
{
	put_be32(r->rdata + r->rdlen, v);
	r->rdlen += 4;
}

/* "AN owner ttl TYPE rdata..." (tok[0] the section). 0 or -1. */
static int parse_rec(char **tok, int ntok, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	if (ntok < 4)
		return -1;
	if (strcmp(tok[0], "AN") == 0)
		r->section = DNS_S_AN;
	else if (strcmp(tok[0], "NS") == 0)
		r->section = DNS_S_NS;
	else if (strcmp(tok[0], "AR") == 0)
		r->section = DNS_S_AR;
	else
		return -1;
	int n = dns_name_from_text(tok[1], r->name);
	if (n < 0)
		return -1;
	r->nlen = (size_t)n;
	if (strcmp(tok[2], "*") == 0)
		r->any_ttl = true;
	else
		r->ttl = (uint32_t)strtoul(tok[2], NULL, 10);
	int t = type_of(tok[3]);
	if (t < 0)
		return -1;
	r->type = (uint16_t)t;
	char **rd = tok + 4;
	int nrd = ntok - 4;
	switch (r->type) {
	case DNS_T_A:
		r->rdlen = 4;
		return nrd == 1 && inet_pton(AF_INET, rd[0], r->rdata) == 1 ? 0 : -1;
	case DNS_T_AAAA:
		r->rdlen = 16;
		return nrd == 1 && inet_pton(AF_INET6, rd[0], r->rdata) == 1 ? 0 : -1;
	case DNS_T_CNAME: case DNS_T_DNAME: case DNS_T_PTR: case DNS_T_NS:
		return nrd == 1 ? put_name_rd(r, rd[0]) : -1;
	case DNS_T_MX:
		if (nrd != 2)
			return -1;
		put_be16(r->rdata, (uint16_t)atoi(rd[0]));
		r->rdlen = 2;
		return put_name_rd(r, rd[1]);
	case DNS_T_SOA:
		if (nrd != 7 || put_name_rd(r, rd[0]) || put_name_rd(r, rd[1]))
			return -1;
		for (int i = 2; i < 7; i++)
			put32(r, (uint32_t)strtoul(rd[i], NULL, 10));
		return 0;
	case DNS_T_TXT: case DNS_T_HINFO:
		/* Strings without spaces; "" is the empty string; xN is N x's. */
		for (int i = 0; i < nrd; i++) {
			const char *s = strcmp(rd[i], "\"\"") == 0 ? "" : rd[i];
			size_t len = strlen(s);
			char many[256];
			if (s[0] == 'x' && isdigit((unsigned char)s[1])) {
				len = MIN((size_t)atoi(s + 1), sizeof(many) - 1);
				memset(many, 'x', len);
				s = many;
			}
			if (len > 255 || r->rdlen + 1 + len > sizeof(r->rdata))
				return -1;
			r->rdata[r->rdlen++] = (uint8_t)len;
			memcpy(r->rdata + r->rdlen, s, len);
			r->rdlen = (uint16_t)(r->rdlen + len);
		}
		return 0;
	case DNS_T_RRSIG: {
		/* "RRSIG COVERED": a well-formed record with a dummy signature. */
		int cov = nrd == 1 ? type_of(rd[0]) : -1;
		if (cov < 0)
			return -1;
		put_be16(r->rdata, (uint16_t)cov);
		r->rdata[2] = 13;	/* algorithm */
		r->rdata[3] = 2;	/* labels */
		r->rdlen = 4;
		put32(r, r->ttl);
		put32(r, 2000000000u);
		put32(r, 1000000000u);
		put_be16(r->rdata + r->rdlen, 4242);
		r->rdlen += 2;
		if (put_name_rd(r, "example."))
			return -1;
		memset(r->rdata + r->rdlen, 0xab, 32);
		r->rdlen += 32;
		return 0;
	}
	default:
		return -1;
	}
}

static bool rec_equal(const struct rec *want, const struct dns_msg *m, const struct dns_rr *rr)
{
	return rr->section == want->section && rr->type == want->type &&
	       rr->rclass == DNS_C_IN && (want->any_ttl || rr->ttl == want->ttl) &&
	       dns_name_equal(dns_rr_name(m, rr), rr->name_len, want->name, want->nlen) &&
	       rr->rdlen == want->rdlen && memcmp(dns_rr_rdata(m, rr), want->rdata, want->rdlen) == 0;
}

static void rr_text(const struct dns_msg *m, const struct dns_rr *rr, char *out, size_t size)
{
	char name[1024], rd[128] = "";
	dns_name_to_text(dns_rr_name(m, rr), rr->name_len, name, sizeof(name));
	const char *tn = "?";
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].type == rr->type)
			tn = types[i].name;
	if (rr->type == DNS_T_A && rr->rdlen == 4)
		inet_ntop(AF_INET, dns_rr_rdata(m, rr), rd, sizeof(rd));
	else if (rr->type == DNS_T_AAAA && rr->rdlen == 16)
		inet_ntop(AF_INET6, dns_rr_rdata(m, rr), rd, sizeof(rd));
	else if (rr->type == DNS_T_CNAME || rr->type == DNS_T_PTR || rr->type == DNS_T_DNAME)
		dns_name_to_text(dns_rr_rdata(m, rr), rr->rdlen, rd, sizeof(rd));
	else
		snprintf(rd, sizeof(rd), "(%u octets)", rr->rdlen);
	snprintf(out, size, "%s %.200s %u %s %.150s", rr->section == DNS_S_AN ? "AN" :
		 rr->section == DNS_S_NS ? "NS" : "AR", name, rr->ttl, tn, rd);
}

/* --- the replay file --- */

#define MAX_TOK 32
#define MAX_LINE 1024
#define MAX_INIS 16

struct replay {
	FILE *f;
	const char *path;
	unsigned lineno;
	char line[MAX_LINE];
	char *tok[MAX_TOK];
	int ntok;
	bool pushed;			/* the current line is to be read again */
	struct { char name[64]; char *text; } ini[MAX_INIS];
	size_t nini;
	unsigned scenarios;
	char scenario[128];
	bool broken;			/* a syntax error: stop */
};

static void syntax(struct replay *rp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# %s:%u: ", rp->path, rp->lineno);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	rp->broken = true;
}

/* The next non-empty line, split into tokens; false at the end. The raw
 * line stays in rp->line until the next call. */
static bool next_line(struct replay *rp, bool keep_raw, char *raw, size_t rawlen)
{
	if (rp->pushed) {
		rp->pushed = false;
		return true;
	}
	while (fgets(rp->line, sizeof(rp->line), rp->f)) {
		rp->lineno++;
		if (raw)
			snprintf(raw, rawlen, "%s", rp->line);
		char *p = rp->line;
		if (!keep_raw) {
			char *c = strpbrk(p, ";#");
			if (c)
				*c = '\0';
		}
		rp->ntok = 0;
		for (char *t = strtok(p, " \t\r\n"); t && rp->ntok < MAX_TOK; t = strtok(NULL, " \t\r\n"))
			rp->tok[rp->ntok++] = t;
		if (rp->ntok > 0)
			return true;
	}
	return false;
}

static const char *opt_val(char **tok, int ntok, const char *key)
{
	size_t kl = strlen(key);
	for (int i = 0; i < ntok; i++)
		if (strncmp(tok[i], key, kl) == 0 && tok[i][kl] == '=')
			return tok[i] + kl + 1;
	return NULL;
}

static bool has_word(char **tok, int ntok, const char *w)
{
	for (int i = 0; i < ntok; i++)
		if (strcmp(tok[i], w) == 0)
			return true;
	return false;
}

/* "ini NAME" ... "end": the text between, verbatim. */
static void read_ini(struct replay *rp)
{
	if (rp->nini == MAX_INIS || rp->ntok != 2) {
		syntax(rp, "ini NAME (at most %d)", MAX_INIS);
		return;
	}
	size_t i = rp->nini++;
	snprintf(rp->ini[i].name, sizeof(rp->ini[i].name), "%s", rp->tok[1]);
	size_t cap = 4096, len = 0;
	char *text = calloc(1, cap);
	char raw[MAX_LINE];
	while (text && next_line(rp, true, raw, sizeof(raw))) {
		if (strcmp(rp->tok[0], "end") == 0) {
			rp->ini[i].text = text;
			return;
		}
		size_t n = strlen(raw);
		if (len + n + 1 > cap) {
			syntax(rp, "ini %s too long", rp->ini[i].name);
			break;
		}
		memcpy(text + len, raw, n + 1);
		len += n;
	}
	free(text);
	syntax(rp, "ini without end");
}

static const char *find_ini(struct replay *rp, const char *name)
{
	for (size_t i = 0; i < rp->nini; i++)
		if (strcmp(rp->ini[i].name, name) == 0)
			return rp->ini[i].text;
	return NULL;
}

/* "WORD QNAME QTYPE ...": the name and type, or false after a syntax error. */
static bool read_question(struct replay *rp, uint8_t *qname, size_t *qlen, uint16_t *qtype,
			  const char *usage)
{
	int t = rp->ntok >= 3 ? type_of(rp->tok[2]) : -1;
	int n = rp->ntok >= 3 ? dns_name_from_text(rp->tok[1], qname) : -1;
	if (t < 0 || n < 0) {
		syntax(rp, "%s", usage);
		return false;
	}
	*qlen = (size_t)n;
	*qtype = (uint16_t)t;
	return true;
}

/* "upstream QNAME QTYPE options" and its record lines. */
static void read_upstream(struct replay *rp)
{
	struct fake_answer a = { 0 };
	char **tok = rp->tok;
	int ntok = rp->ntok;
	uint8_t qname[DNS_NAME_MAX];
	size_t qlen;
	uint16_t qtype;
	if (!read_question(rp, qname, &qlen, &qtype, "upstream QNAME QTYPE [after=MS|inline|never] "
			   "[ctx=cd|validating] [fail] [secure|bogus] [rcode=R] [aa]"))
		return;
	snprintf(a.qname, sizeof(a.qname), "%s", tok[1]);
	a.qtype = qtype;
	const char *v;
	a.when = FAKE_AFTER;
	a.delay_ms = 10;
	if ((v = opt_val(tok, ntok, "after")))
		a.delay_ms = strtoull(v, NULL, 10);
	if (has_word(tok, ntok, "inline"))
		a.when = FAKE_INLINE;
	if (has_word(tok, ntok, "never"))
		a.when = FAKE_NEVER;
	if ((v = opt_val(tok, ntok, "ctx")))
		a.ctx = strcmp(v, "cd") == 0 ? FAKE_CD : FAKE_VALIDATING;
	if (has_word(tok, ntok, "fail"))
		a.ub_rcode = DNS_R_SERVFAIL;
	a.sec = has_word(tok, ntok, "bogus") ? 1 : has_word(tok, ntok, "secure") ? 2 : 0;
	int rcode = DNS_R_NOERROR;
	if ((v = opt_val(tok, ntok, "rcode")) && (rcode = rcode_of(v)) < 0) {
		syntax(rp, "unknown rcode %s", v);
		return;
	}
	uint16_t flags = DNS_F_QR | DNS_F_RD | DNS_F_RA | (uint16_t)rcode |
			 (has_word(tok, ntok, "aa") ? DNS_F_AA : 0);
	struct dns_builder b;
	dnsb_init(&b, a.pkt, sizeof(a.pkt), 0, flags);
	dnsb_question(&b, qname, qlen, qtype, DNS_C_IN);
	/* The records follow, one per line, until the next keyword. */
	struct rec r[3][64];
	size_t n[3] = { 0 };
	while (next_line(rp, false, NULL, 0)) {
		if (strcmp(rp->tok[0], "AN") && strcmp(rp->tok[0], "NS") && strcmp(rp->tok[0], "AR")) {
			rp->pushed = true;
			break;
		}
		struct rec one;
		if (parse_rec(rp->tok, rp->ntok, &one) != 0 || n[one.section] == 64) {
			syntax(rp, "bad record");
			return;
		}
		r[one.section][n[one.section]++] = one;
	}
	/* Sections in order, whatever order the lines came in. */
	for (int s = 0; s < 3; s++)
		for (size_t i = 0; i < n[s]; i++)
			if (dnsb_rr(&b, r[s][i].section, r[s][i].name, r[s][i].nlen, r[s][i].type,
				    DNS_C_IN, r[s][i].ttl, r[s][i].rdata, r[s][i].rdlen) != 0) {
				syntax(rp, "upstream answer too large");
				return;
			}
	a.len = dnsb_finish(&b);
	if (!fake_unbound_add(&a))
		syntax(rp, "too many upstream answers");
}

/* "query QNAME QTYPE [tcp] [do] [cd] [ad] [noedns] [bufsize=N] [id=N]" */
static void do_query(struct replay *rp, struct env *e)
{
	char **tok = rp->tok;
	int ntok = rp->ntok;
	uint8_t qname[DNS_NAME_MAX];
	size_t qlen;
	uint16_t qtype;
	if (!read_question(rp, qname, &qlen, &qtype,
			   "query QNAME QTYPE [tcp] [do] [cd] [ad] [noedns] [bufsize=N] [id=N]"))
		return;
	const char *v;
	uint16_t id = (v = opt_val(tok, ntok, "id")) ? (uint16_t)atoi(v) : 0x4242;
	uint16_t flags = DNS_F_RD | (has_word(tok, ntok, "cd") ? DNS_F_CD : 0) |
			 (has_word(tok, ntok, "ad") ? DNS_F_AD : 0);
	uint8_t pkt[600];
	struct dns_builder b;
	dnsb_init(&b, pkt, sizeof(pkt), id, flags);
	dnsb_question(&b, qname, qlen, qtype, DNS_C_IN);
	if (!has_word(tok, ntok, "noedns"))
		dnsb_opt(&b, (v = opt_val(tok, ntok, "bufsize")) ? (uint16_t)atoi(v) : 1232, 0,
			 has_word(tok, ntok, "do"));
	size_t len = dnsb_finish(&b);
	/* cookie=HEX (the option data), or cookie=last: the one the last
	 * response carried (client and server cookie, as a client returns it). */
	if ((v = opt_val(tok, ntok, "cookie"))) {
		uint8_t c[DNS_COOKIE_MAX_LEN];
		size_t clen = 0;
		if (strcmp(v, "last") == 0) {
			clen = last_cookie_len;
			memcpy(c, last_cookie, clen);
		} else {
			for (; v[2 * clen] && v[2 * clen + 1] && clen < sizeof(c); clen++)
				sscanf(v + 2 * clen, "%2hhx", &c[clen]);
		}
		if (!b.opt_off || len + 4 + clen > sizeof(pkt)) {
			syntax(rp, "cookie= needs EDNS");
			return;
		}
		put_be16(pkt + len, DNS_OPT_COOKIE);
		put_be16(pkt + len + 2, (uint16_t)clen);
		memcpy(pkt + len + 4, c, clen);
		put_be16(pkt + b.opt_off + 9, (uint16_t)(4 + clen));
		len += 4 + clen;
	}
	struct dns64_client cl = { .transport = has_word(tok, ntok, "tcp") ? DNS64_TCP : DNS64_UDP,
				   .fd = -1 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cl.peer;
	sin6->sin6_family = AF_INET6;
	const char *src = (v = opt_val(tok, ntok, "src")) ? v : "2001:db8:1::100";
	if (inet_pton(AF_INET6, src, &sin6->sin6_addr) != 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&cl.peer;
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, src, &sin->sin_addr) != 1) {
			syntax(rp, "src=%s is not an address", src);
			return;
		}
	}
	sin6->sin6_port = htons(5353);
	cl.peerlen = sizeof(*sin6);
	int repeat = (v = opt_val(tok, ntok, "repeat")) ? atoi(v) : 1;
	for (int i = 0; i < repeat; i++)
		dns64_engine_query(&e->io, pkt, len, &cl);
}

static const char *flag_words(uint16_t flags, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", flags & DNS_F_TC ? " tc" : "", flags & DNS_F_AD ? " ad" : "",
		 flags & DNS_F_AA ? " aa" : "");
	return buf;
}

/* "expect none" or "expect [rcode=R] [tc] [notc] [ad] [noad] [an=N] [ns=N]
 * [edns] [noedns] [maxsize=N] [tcp] [cookie] [nocookie]" with optional record lines: the oldest
 * response not yet checked has exactly these answer records, in order. */
static void do_expect(struct replay *rp)
{
	/* The record lines below reuse rp->line: keep this line's words. */
	char line[MAX_LINE], *tok[MAX_TOK];
	int ntok = 0;
	size_t o = 0;
	for (int i = 0; i < rp->ntok; i++) {
		size_t n = strlen(rp->tok[i]) + 1;
		memcpy(line + o, rp->tok[i], n);
		tok[ntok++] = line + o;
		o += n;
	}
	char desc[300], words[MAX_LINE] = "";
	for (int i = 1; i < ntok; i++)
		snprintf(words + strlen(words), sizeof(words) - strlen(words), " %s", tok[i]);
	snprintf(desc, sizeof(desc), "%s: expect%s", rp->scenario, words);
	if (has_word(tok, ntok, "none")) {
		if (!ok(nread == nout, desc))
			printf("#   %zu unexpected response(s)\n", nout - nread);
		nread = nout;
		return;
	}
	struct rec want[64];
	size_t nwant = 0;
	bool records = false;
	while (next_line(rp, false, NULL, 0)) {
		if (strcmp(rp->tok[0], "AN") && strcmp(rp->tok[0], "NS") && strcmp(rp->tok[0], "AR")) {
			rp->pushed = true;
			break;
		}
		records = true;
		if (nwant == 64 || parse_rec(rp->tok, rp->ntok, &want[nwant]) != 0) {
			syntax(rp, "bad record");
			return;
		}
		nwant++;
	}
	if (nread == nout) {
		ok(0, desc);
		printf("#   no response was sent\n");
		return;
	}
	struct sent *s = &outbox[nread++];
	struct dns_msg m;
	enum dns_wire_err werr;
	dns_msg_init(&m);
	if (dns_msg_parse(s->buf, s->len, &m, &werr) != 0) {
		ok(0, desc);
		printf("#   the response does not parse: %s\n", dns_wire_err_name(werr));
		return;
	}
	char why[512] = "";
	const char *v;
	size_t nan = 0, nns = 0;
	for (size_t i = 0; i < m.nrr; i++) {
		nan += m.rr[i].section == DNS_S_AN;
		nns += m.rr[i].section == DNS_S_NS;
	}
	int rcode = (v = opt_val(tok, ntok, "rcode")) ? rcode_of(v) : -1;
	if (rcode >= 0 && dns_msg_rcode(&m) != (unsigned)rcode)
		snprintf(why, sizeof(why), "rcode %u, want %s", dns_msg_rcode(&m), v);
	else if (has_word(tok, ntok, "tc") && !(m.flags & DNS_F_TC))
		snprintf(why, sizeof(why), "TC not set");
	else if (has_word(tok, ntok, "notc") && (m.flags & DNS_F_TC))
		snprintf(why, sizeof(why), "TC set");
	else if (has_word(tok, ntok, "ad") && !(m.flags & DNS_F_AD))
		snprintf(why, sizeof(why), "AD not set");
	else if (has_word(tok, ntok, "noad") && (m.flags & DNS_F_AD))
		snprintf(why, sizeof(why), "AD set");
	else if (has_word(tok, ntok, "edns") && !m.has_edns)
		snprintf(why, sizeof(why), "no OPT");
	else if (has_word(tok, ntok, "noedns") && m.has_edns)
		snprintf(why, sizeof(why), "an OPT record");
	else if (has_word(tok, ntok, "tcp") && s->transport != DNS64_TCP)
		snprintf(why, sizeof(why), "sent over UDP");
	else if ((v = opt_val(tok, ntok, "an")) && nan != (size_t)atoi(v))
		snprintf(why, sizeof(why), "%zu answer records, want %s", nan, v);
	else if ((v = opt_val(tok, ntok, "ns")) && nns != (size_t)atoi(v))
		snprintf(why, sizeof(why), "%zu authority records, want %s", nns, v);
	else if (has_word(tok, ntok, "cookie") && !(last_cookie_len = tail_cookie(s, last_cookie)))
		snprintf(why, sizeof(why), "no server cookie at the end");
	else if (has_word(tok, ntok, "nocookie") && tail_cookie(s, last_cookie))
		snprintf(why, sizeof(why), "a server cookie");
	else if ((v = opt_val(tok, ntok, "maxsize")) && s->len > (size_t)atoi(v))
		snprintf(why, sizeof(why), "%zu octets, want at most %s", s->len, v);
	else if (records) {
		/* The answer section, and the others that expectations name. */
		bool sec[DNS_S_COUNT] = { [DNS_S_AN] = true };
		for (size_t i = 0; i < nwant; i++)
			sec[want[i].section] = true;
		size_t k = 0;
		for (size_t i = 0; i < m.nrr && !why[0]; i++) {
			const struct dns_rr *rr = &m.rr[i];
			if (!sec[rr->section])
				continue;
			if (k == nwant || !rec_equal(&want[k], &m, rr)) {
				char t[400];
				rr_text(&m, rr, t, sizeof(t));
				snprintf(why, sizeof(why), "record %zu is %s", k + 1, t);
			}
			k++;
		}
		if (!why[0] && k != nwant)
			snprintf(why, sizeof(why), "%zu records, want %zu", k, nwant);
	}
	char fw[32];
	if (!ok(!why[0], desc)) {
		printf("#   %s (rcode %u,%s %zu octets)\n", why, dns_msg_rcode(&m),
		       flag_words(m.flags, fw, sizeof(fw)), s->len);
		for (size_t i = 0; i < m.nrr; i++) {
			char t[400];
			rr_text(&m, &m.rr[i], t, sizeof(t));
			printf("#     %s\n", t);
		}
	}
	dns_msg_free(&m);
}

/* "responses N [tc=M] [maxsize=S]": N responses were sent since the last
 * check, M of them with TC (the TC ones no larger than S); consumes them. */
static void do_responses(struct replay *rp)
{
	char desc[300], why[200] = "";
	snprintf(desc, sizeof(desc), "%s: responses", rp->scenario);
	for (int i = 1; i < rp->ntok; i++)
		snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc), " %s", rp->tok[i]);
	const char *tcw = opt_val(rp->tok, rp->ntok, "tc");
	const char *maxw = opt_val(rp->tok, rp->ntok, "maxsize");
	size_t n = nout - nread, tc = 0, big = 0;
	for (size_t i = nread; i < nout; i++) {
		bool t = (outbox[i].buf[2] & (DNS_F_TC >> 8)) != 0;
		tc += t;
		big += t && maxw && outbox[i].len > (size_t)atoi(maxw);
	}
	nread = nout;
	if (rp->ntok < 2)
		syntax(rp, "responses N [tc=M] [maxsize=N]");
	else if (n != (size_t)atoi(rp->tok[1]))
		snprintf(why, sizeof(why), "%zu responses", n);
	else if (tcw && tc != (size_t)atoi(tcw))
		snprintf(why, sizeof(why), "%zu with TC", tc);
	else if (big)
		snprintf(why, sizeof(why), "%zu TC replies larger than %s octets", big, maxw);
	if (!ok(!why[0], desc))
		printf("#   %s\n", why);
}

static const char *const counter_names[] = {
#define X(name, help) #name,
	DNS64_COUNTERS(X)
#undef X
};

/* "counter NAME N" */
static void do_counter(struct replay *rp, struct env *e)
{
	char desc[300];
	snprintf(desc, sizeof(desc), "%s: counter %s = %s", rp->scenario,
		 rp->ntok > 1 ? rp->tok[1] : "?", rp->ntok > 2 ? rp->tok[2] : "?");
	for (size_t i = 0; rp->ntok == 3 && i < DNS64_C_COUNT; i++)
		if (strcmp(counter_names[i], rp->tok[1]) == 0) {
			is_int(counter_get(&e->io.counters[i]), atoll(rp->tok[2]), desc);
			return;
		}
	syntax(rp, "counter NAME N (a dns64 counter)");
}

/* "check [queries=N] [cancelled=N] [outstanding=N] [pending=N] [timers=N]" */
static void do_check(struct replay *rp, struct env *e)
{
	struct fake_unbound_stats st;
	fake_unbound_stats(&st);
	char desc[300], why[200] = "";
	snprintf(desc, sizeof(desc), "%s: check", rp->scenario);
	for (int i = 1; i < rp->ntok; i++) {
		strncat(desc, " ", sizeof(desc) - strlen(desc) - 1);
		strncat(desc, rp->tok[i], sizeof(desc) - strlen(desc) - 1);
	}
	static const char *const keys[] = { "queries", "cancelled", "outstanding", "pending" };
	unsigned got[] = { st.queries, st.cancelled, st.outstanding,
			   (unsigned)atomic_load(&e->io.nreqs) };
	for (size_t k = 0; k < ARRAY_SIZE(keys) && !why[0]; k++) {
		const char *v = opt_val(rp->tok, rp->ntok, keys[k]);
		if (v && got[k] != (unsigned)atoi(v))
			snprintf(why, sizeof(why), "%s = %u, want %s", keys[k], got[k], v);
	}
	if (!ok(!why[0], desc))
		printf("#   %s\n", why);
}

/* Runs one scenario, from after its "scenario" line up to the next one. */
static void run_scenario(struct replay *rp)
{
	const char *ini_name = opt_val(rp->tok, rp->ntok, "ini");
	snprintf(rp->scenario, sizeof(rp->scenario), "%s", rp->ntok > 1 ? rp->tok[1] : "?");
	const char *ini = find_ini(rp, ini_name ? ini_name : "base");
	if (!ini) {
		syntax(rp, "no ini %s", ini_name ? ini_name : "base");
		return;
	}
	rp->scenarios++;
	fake_unbound_reset();
	nout = nread = 0;
	holds = 0;
	last_cookie_len = 0;
	struct env e;
	char err[256] = "";
	if (env_start(&e, ini, err, sizeof(err)) != 0) {
		syntax(rp, "scenario %s: %s", rp->scenario, err);
		return;
	}
	while (!rp->broken && next_line(rp, false, NULL, 0)) {
		const char *k = rp->tok[0];
		if (strcmp(k, "scenario") == 0 || strcmp(k, "ini") == 0) {
			rp->pushed = true;
			break;
		}
		if (strcmp(k, "upstream") == 0)
			read_upstream(rp);
		else if (strcmp(k, "query") == 0)
			do_query(rp, &e);
		else if (strcmp(k, "advance") == 0 && rp->ntok == 2)
			fake_loop_advance(e.loop, strtoull(rp->tok[1], NULL, 10));
		else if (strcmp(k, "expect") == 0)
			do_expect(rp);
		else if (strcmp(k, "counter") == 0)
			do_counter(rp, &e);
		else if (strcmp(k, "responses") == 0)
			do_responses(rp);
		else if (strcmp(k, "check") == 0)
			do_check(rp, &e);
		else if (strcmp(k, "flush") == 0)
			dns64_cache_flush(e.d.cache);
		else
			syntax(rp, "unknown step '%s'", k);
	}
	/* The end of every scenario: nothing left over. */
	struct fake_unbound_stats st;
	fake_unbound_stats(&st);
	char desc[200], why[400] = "";
	snprintf(desc, sizeof(desc), "%s: ends clean", rp->scenario);
	if (st.unexpected)
		snprintf(why, sizeof(why), "%u unexpected upstream queries (last: %s)",
			 st.unexpected, st.last_unexpected);
	else if (nread != nout)
		snprintf(why, sizeof(why), "%zu responses nobody expected", nout - nread);
	else if (atomic_load(&e.io.nreqs) != 0)
		snprintf(why, sizeof(why), "%zu requests still pending", atomic_load(&e.io.nreqs));
	else if (st.outstanding)
		snprintf(why, sizeof(why), "%u upstream queries still outstanding", st.outstanding);
	else if (holds != 0)
		snprintf(why, sizeof(why), "%d client holds not released", holds);
	if (!ok(!why[0], desc))
		printf("#   %s\n", why);
	env_stop(&e);
}

int main(int argc, char **argv)
{
	plan(REPLAY_ASSERTIONS + OWN_ASSERTIONS);
	log_init("test", true, LOG_LVL_ERR);
	const char *srcdir = getenv("srcdir");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/unit/dns64_engine.rpl",
		 argc > 1 ? argv[1] : srcdir ? srcdir : ".");
	struct replay rp = { .path = path };
	rp.f = fopen(path, "r");
	if (!rp.f)
		bail("cannot open the replay file");
	unsigned declared = 0;
	while (!rp.broken && next_line(&rp, false, NULL, 0)) {
		if (strcmp(rp.tok[0], "ini") == 0)
			read_ini(&rp);
		else if (strcmp(rp.tok[0], "scenario") == 0)
			run_scenario(&rp);
		else if (strcmp(rp.tok[0], "scenarios") == 0 && rp.ntok == 2)
			declared = (unsigned)atoi(rp.tok[1]);
		else
			syntax(&rp, "expected ini, scenario or scenarios, not '%s'", rp.tok[0]);
	}
	fclose(rp.f);
	for (size_t i = 0; i < rp.nini; i++)
		free(rp.ini[i].text);
	ok(!rp.broken, "the replay file parses");
	is_int(rp.scenarios, declared, "every scenario the file declares was run");
	struct fake_unbound_stats st;
	fake_unbound_stats(&st);
	if (st.contexts != 0)
		printf("# %u libunbound contexts leaked\n", st.contexts);
	return tap_done();
}
