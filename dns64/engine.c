/* The life of one query: checks, answer cache, local answers (RFC 8880,
 * RFC 8482), then libunbound and the RFC 6147 steps:
 *   AAAA -> bogus (5.5)?            SERVFAIL, never synthesized
 *        -> usable (5.1.1)?         pass through, excluded records removed
 *                                   (5.1.4)
 *        -> NXDOMAIN (5.1.2)?       pass through
 *        -> otherwise: NODATA, only excluded records, another rcode or no
 *           answer at all (5.1.2, 5.1.3: an empty answer)
 *                                   A answer -> synthesize (5.1.5-5.1.8)
 * The A query goes out together with the AAAA query, so a name that needs
 * synthesis costs one round of upstream latency, not two; when the AAAA
 * answer is usable, the A query is cancelled or its answer ignored. Once
 * the A answer holds records, the AAAA answer gets aaaa-wait more (5.1.3:
 * an AAAA query that is never answered counts as empty), so a server
 * that drops AAAA queries costs aaaa-wait, not query-timeout.
 *   PTR in a prefix's ip6.arpa      CNAME to in-addr.arpa, resolved (5.3.1)
 * and the response is encoded, cached and sent. Everything runs on the
 * thread that received the query (`io`: a worker for UDP, the main thread
 * for TCP), with that thread's buffer, counters and libunbound contexts;
 * only the cache, the rate limiter, the conf and the prefix set are shared. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/evloop.h"
#include "common/rfc6052.h"
#include "common/util.h"
#include "dns64/cache.h"
#include "dns64/dns64_int.h"
#include "dns64/resolver.h"

/* Resolutions in flight at once; past this, queries get SERVFAIL. */
#define DNS64_MAX_PENDING 16384
/* Active prefixes considered per answer. */
#define DNS64_MAX_ACTIVE 32
/* RFC 8482 4.2: the HINFO answer to ANY; cached by clients for a while. */
#define DNS64_ANY_TTL 3600
/* Synthesized answers that stand in for a failed or missing AAAA answer
 * are kept this long at most (here and by clients): the AAAA may work
 * again soon (RFC 2308 7.1 bounds the caching of failures, too). */
#define DNS64_FAILED_AAAA_TTL 30

enum req_stage { ST_PLAIN, ST_AAAA, ST_PTR };

struct dns64_req {
	struct dns64_req *prev, *next;
	struct dns64_io *io;		/* the thread that received the query */
	struct dns_query q;
	struct dns64_client cl;
	enum req_stage stage;
	struct dns64_resolver *res;
	struct dns64_rq rq;
	struct ev_timer *timer;		/* query-timeout */
	struct ev_timer *aaaa_wait;	/* ST_AAAA: the A answer is in, the AAAA not */
	struct dns_msg aaaa;		/* the AAAA answer, kept for 5.1.6 */
	bool aaaa_done;
	bool aaaa_failed;		/* no usable AAAA response at all (5.1.2, 5.1.3) */
	struct dns64_rq rq_a;		/* the parallel A query (ST_AAAA) */
	struct dns_msg a;
	bool a_done, a_bogus, a_failed;
	uint8_t target[DNS_NAME_MAX];	/* ST_PTR: the in-addr.arpa name */
	size_t target_len;
};

void dns64_policy_get(const struct dns64_conf *c, struct dns64_policy *pol)
{
	pol->exclude = c->exclude;
	pol->nexclude = c->nexclude;
	pol->mapped = c->mapped;
	pol->nmapped = c->nmapped;
	pol->max_synthesized = c->max_synthesized;
}

static void count_rcode(struct dns64_io *io, unsigned rcode)
{
	static const enum dns64_counter map[] = {
		[DNS_R_NOERROR] = DNS64_C_rcode_noerror, [DNS_R_FORMERR] = DNS64_C_rcode_formerr,
		[DNS_R_SERVFAIL] = DNS64_C_rcode_servfail, [DNS_R_NXDOMAIN] = DNS64_C_rcode_nxdomain,
		[DNS_R_NOTIMP] = DNS64_C_rcode_notimp, [DNS_R_REFUSED] = DNS64_C_rcode_refused,
	};
	if (rcode < ARRAY_SIZE(map) && (rcode == 0 || map[rcode]))
		dns64_count(io, map[rcode]);
}

/* RFC 7873 5.2: a reply to a query with a COOKIE option carries the client
 * cookie and a server cookie (the valid one echoed while it is young,
 * else a fresh one, RFC 9018 4.3), as the last option of the OPT record
 * (which our responses always end with). Returns the new length. */
static size_t add_cookie(struct dns64_io *io, const struct dns_query *q,
			 const struct dns64_client *cl, uint8_t *buf, size_t len, size_t opt_off,
			 size_t cap)
{
	const struct dns64_conf *conf = dns64_conf_get(io->d);
	const size_t n = DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_LEN;
	if (!conf->cookies || !q->cookie_len || !q->has_edns || !opt_off || len + 4 + n > cap ||
	    opt_off + DNS_OPT_LEN > len)
		return len;
	uint8_t *o = buf + len;
	put_be16(o, DNS_OPT_COOKIE);
	put_be16(o + 2, (uint16_t)n);
	if (cl->cookie == DNS64_COOKIE_VALID && !cl->cookie_renew)
		memcpy(o + 4, q->cookie, n);
	else
		dns64_cookie_make(conf->secrets.key[0], q->cookie, (const struct sockaddr *)&cl->peer,
				  (uint32_t)time(NULL), o + 4);
	put_be16(buf + opt_off + 9, (uint16_t)(get_be16(buf + opt_off + 9) + 4 + n));
	return len + 4 + n;
}

/* What a reply to `q` will add for its cookie. */
static size_t cookie_room(struct dns64_io *io, const struct dns_query *q, size_t opt_off)
{
	return dns64_conf_get(io->d)->cookies && q->cookie_len && q->has_edns && opt_off ?
	       4 + DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_LEN : 0;
}

/* Makes a response in io->scratch fit this client and sends it: the
 * requestor's ID, case and RD/CD bits, AD only for validated data asked
 * for by DO or AD (RFC 6840 5.7), no OPT unless the query had one
 * (RFC 6891 7), TC when it is too large for UDP (RFC 1035 4.2.1) or, for a
 * client without a valid cookie, more than dns-amplification times its
 * query (the bound a spoofed source can get), its cookie last. */
static void send_response(struct dns64_io *io, const struct dns_query *q,
			  const struct dns64_client *cl, size_t len, size_t question_end,
			  size_t opt_off, bool secure)
{
	uint8_t *buf = io->scratch;
	const struct dns64_conf *conf = dns64_conf_get(io->d);
	put_be16(buf, q->id);
	uint16_t flags = get_be16(buf + 2);
	flags &= (uint16_t)~(DNS_F_RD | DNS_F_CD | DNS_F_AD);
	flags |= q->flags & (DNS_F_RD | DNS_F_CD);
	if (secure && !(q->flags & DNS_F_CD) && (q->edns_do || (q->flags & DNS_F_AD)))
		flags |= DNS_F_AD;
	put_be16(buf + 2, flags);
	if (question_end >= DNS_HDR_LEN + q->qname_len + 4u && q->qname_len)
		memcpy(buf + DNS_HDR_LEN, q->qname, q->qname_len);
	if (opt_off && !q->has_edns && opt_off + DNS_OPT_LEN == len) {
		len = opt_off;
		put_be16(buf + 10, (uint16_t)(get_be16(buf + 10) - 1));
		opt_off = 0;
	}
	size_t cookie = cookie_room(io, q, opt_off);
	if (cl->transport == DNS64_UDP) {
		size_t limit = q->has_edns ? MIN(q->edns_udp, conf->edns_size) : 512;
		size_t bound = !cl->verified && conf->amplification ?
			       MIN(limit, (size_t)conf->amplification * q->len) : limit;
		if (len + cookie > bound) {
			dns64_count(io, len + cookie > limit ? DNS64_C_truncated :
				    DNS64_C_truncated_amplification);
			len = dns_truncate(buf, len, question_end, opt_off);
			if (opt_off)
				opt_off = question_end;
		}
	}
	len = add_cookie(io, q, cl, buf, len, opt_off, sizeof(io->scratch));
	count_rcode(io, flags & DNS_F_RCODE);
	dns64_server_send(io, cl, buf, len);
}

/* Rate-limited (slip): header and question with TC=1, and the OPT and the
 * cookie only as far as the reply stays no larger than the query. */
static void send_slip(struct dns64_io *io, const struct dns_query *q,
		      const struct dns64_client *cl)
{
	struct dns_builder b;
	uint16_t flags = DNS_F_QR | DNS_F_TC | (q->flags & (DNS_F_RD | DNS_F_CD | DNS_F_OPCODE));
	dnsb_init(&b, io->scratch, sizeof(io->scratch), q->id, flags);
	if (q->qname_len)
		dnsb_question(&b, q->qname, q->qname_len, q->qtype, q->qclass);
	if (q->has_edns && b.len + DNS_OPT_LEN <= q->len)
		dnsb_opt(&b, (uint16_t)dns64_conf_get(io->d)->edns_size, 0, q->edns_do);
	size_t len = dnsb_finish(&b);
	if (len + cookie_room(io, q, b.opt_off) <= q->len)
		len = add_cookie(io, q, cl, io->scratch, len, b.opt_off, q->len);
	if (len <= q->len)
		dns64_server_send(io, cl, io->scratch, len);
}

/* Header (+ question, + OPT) with an error rcode: never larger than the
 * query that caused it. */
static void send_error(struct dns64_io *io, const struct dns_query *q,
		       const struct dns64_client *cl, unsigned rcode)
{
	struct dns_builder b;
	uint16_t flags = DNS_F_QR | DNS_F_RA | (q->flags & (DNS_F_RD | DNS_F_CD | DNS_F_OPCODE)) |
			 (rcode & DNS_F_RCODE);
	dnsb_init(&b, io->scratch, sizeof(io->scratch), q->id, flags);
	if (q->qname_len)
		dnsb_question(&b, q->qname, q->qname_len, q->qtype, q->qclass);
	if (q->has_edns)
		dnsb_opt(&b, (uint16_t)dns64_conf_get(io->d)->edns_size, rcode, q->edns_do);
	size_t len = add_cookie(io, q, cl, io->scratch, dnsb_finish(&b), b.opt_off,
				sizeof(io->scratch));
	if (rcode == DNS_R_BADVERS)
		dns64_count(io, DNS64_C_rcode_badvers);
	else
		count_rcode(io, rcode);
	dns64_server_send(io, cl, io->scratch, len);
}

static bool is_dnssec_type(uint16_t t)
{
	return t == DNS_T_RRSIG || t == DNS_T_NSEC || t == DNS_T_NSEC3;
}

/* Encodes `m` as the answer to `q` into io->scratch, OPT always included
 * (send_response strips it for clients without EDNS, so one cached copy
 * serves both). RFC 4035 3.2.1: without DO, DNSSEC records are left out
 * unless they were asked for. */
static size_t encode(struct dns64_io *io, const struct dns_query *q, const struct dns_msg *m,
		     unsigned rcode, struct dns_builder *b)
{
	uint16_t flags = DNS_F_QR | DNS_F_RA | (m->flags & DNS_F_AA) | (rcode & DNS_F_RCODE);
	dnsb_init(b, io->scratch, sizeof(io->scratch) - DNS_OPT_LEN, q->id, flags);
	dnsb_question(b, q->qname, q->qname_len, q->qtype, q->qclass);
	for (size_t i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];
		if (!q->edns_do && is_dnssec_type(rr->type) && rr->type != q->qtype)
			continue;
		if (dnsb_rr(b, rr->section, dns_rr_name(m, rr), rr->name_len, rr->type, rr->rclass,
			    rr->ttl, dns_rr_rdata(m, rr), rr->rdlen) != 0) {
			/* Larger than 64 KiB: what fits, flagged TC. */
			io->scratch[2] |= DNS_F_TC >> 8;
			break;
		}
	}
	b->cap += DNS_OPT_LEN;
	dnsb_opt(b, (uint16_t)dns64_conf_get(io->d)->edns_size, rcode, q->edns_do);
	return dnsb_finish(b);
}

/* Encodes, caches (NOERROR and NXDOMAIN only) and sends. */
static void answer(struct dns64_io *io, const struct dns_query *q, const struct dns64_client *cl,
		   const struct dns_msg *m, bool secure, uint64_t prefix_gen)
{
	struct dns_builder b;
	unsigned rcode = dns_msg_rcode(m);
	size_t len = encode(io, q, m, rcode, &b);
	if ((rcode == DNS_R_NOERROR || rcode == DNS_R_NXDOMAIN) &&
	    !(io->scratch[2] & (DNS_F_TC >> 8)))
		dns64_cache_store(io->d->cache, q, &b, len, secure, prefix_gen,
				  evloop_now_ms(io->loop));
	send_response(io, q, cl, len, b.question_end, b.opt_off, secure);
}

static uint64_t current_gen(struct dns64 *d)
{
	const struct prefix_set *set = prefix_pub_current(d->prefixes);
	return set ? set->generation : 0;
}

static size_t active_prefixes(struct dns64 *d, const struct prefix_info **out)
{
	return prefix_set_active(prefix_pub_current(d->prefixes), out, DNS64_MAX_ACTIVE);
}

/* --- requests in flight --- */

static void req_free(struct dns64_req *r)
{
	struct dns64_io *io = r->io;
	if (r->res) {
		dns64_resolver_cancel(r->res, &r->rq);
		dns64_resolver_cancel(r->res, &r->rq_a);
	}
	ev_timer_free(r->timer);
	ev_timer_free(r->aaaa_wait);
	dns_msg_free(&r->aaaa);
	dns_msg_free(&r->a);
	dns64_client_release(r->io, &r->cl);
	DLIST_UNLINK(io->reqs, r);
	atomic_store_explicit(&io->nreqs, atomic_load_explicit(&io->nreqs, memory_order_relaxed) - 1,
			      memory_order_relaxed);
	free(r);
}

static void req_fail(struct dns64_req *r, unsigned rcode)
{
	send_error(r->io, &r->q, &r->cl, rcode);
	req_free(r);
}

static void on_result(void *arg, const struct dns64_result *res);
static void on_a_result(void *arg, const struct dns64_result *res);
static void try_finish_a(struct dns64_req *r);

/* 5.1.3: the AAAA query was not answered in time while the A answer is
 * in: an empty answer. */
static void aaaa_missing(struct dns64_req *r)
{
	dns64_resolver_cancel(r->res, &r->rq);
	r->aaaa_done = r->aaaa_failed = true;
	try_finish_a(r);
}

static void on_aaaa_wait(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct dns64_req *r = arg;
	dns64_count(r->io, DNS64_C_aaaa_wait_expired);
	aaaa_missing(r);
}

static void on_timeout(struct evloop *loop, struct ev_timer *t, void *arg)
{
	struct dns64_req *r = arg;
	dns64_count(r->io, DNS64_C_upstream_timeout);
	if (r->stage == ST_AAAA && !r->aaaa_done && r->a_done && !r->a_failed) {
		aaaa_missing(r);	/* aaaa-wait reaches past query-timeout */
		return;
	}
	req_fail(r, DNS_R_SERVFAIL);
}

static int req_resolve(struct dns64_req *r, const uint8_t *name, size_t nlen, uint16_t qtype)
{
	r->rq.cb = on_result;
	r->rq.arg = r;
	return dns64_resolver_query(r->res, name, nlen, qtype, r->q.qclass, &r->rq);
}

static void req_start(struct dns64_io *io, const struct dns_query *q,
		      const struct dns64_client *cl, enum req_stage stage, const uint8_t *target,
		      size_t target_len)
{
	if (atomic_load_explicit(&io->nreqs, memory_order_relaxed) >= DNS64_MAX_PENDING) {
		dns64_count(io, DNS64_C_drop_no_memory);
		send_error(io, q, cl, DNS_R_SERVFAIL);
		return;
	}
	struct dns64_req *r = calloc(1, sizeof(*r));
	if (!r || !(r->timer = ev_timer_new(io->loop, on_timeout, r)) ||
	    (stage == ST_AAAA && !(r->aaaa_wait = ev_timer_new(io->loop, on_aaaa_wait, r)))) {
		if (r)
			ev_timer_free(r->timer);
		free(r);
		dns64_count(io, DNS64_C_drop_no_memory);
		send_error(io, q, cl, DNS_R_SERVFAIL);
		return;
	}
	r->io = io;
	r->q = *q;
	r->cl = *cl;
	dns64_client_hold(&r->cl);
	r->stage = stage;
	dns_msg_init(&r->aaaa);
	dns_msg_init(&r->a);
	/* CD=1 asks for data without validation (RFC 4035 3.2.2). */
	r->res = (q->flags & DNS_F_CD) && io->res_cd ? io->res_cd : io->res;
	DLIST_PUSH_FRONT(io->reqs, r);
	atomic_store_explicit(&io->nreqs, atomic_load_explicit(&io->nreqs, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	int rc;
	if (stage == ST_PTR) {
		memcpy(r->target, target, target_len);
		r->target_len = target_len;
		rc = req_resolve(r, target, target_len, DNS_T_PTR);
	} else {
		rc = req_resolve(r, q->qname, q->qname_len, q->qtype);
		if (rc == 0 && stage == ST_AAAA) {
			r->rq_a.cb = on_a_result;
			r->rq_a.arg = r;
			if (dns64_resolver_query(r->res, q->qname, q->qname_len, DNS_T_A, q->qclass,
						 &r->rq_a) != 0)
				r->a_done = r->a_failed = true;
		}
	}
	if (rc != 0) {
		dns64_count(io, DNS64_C_upstream_error);
		req_fail(r, DNS_R_SERVFAIL);
		return;
	}
	ev_timer_arm(r->timer, dns64_conf_get(io->d)->query_timeout_ms);
}

/* 5.3.1: owner ip6.arpa name CNAME the in-addr.arpa name, then whatever
 * the PTR lookup gave (answer, and authority for negative answers). */
static void finish_ptr(struct dns64_req *r, const struct dns_msg *m)
{
	struct dns64_io *io = r->io;
	struct dns64 *d = io->d;
	struct dns_msg out;
	dns_msg_init(&out);
	out.flags = m->flags & DNS_F_RCODE;
	uint32_t ttl = UINT32_MAX;
	for (size_t i = 0; i < m->nrr; i++)
		if (m->rr[i].section == DNS_S_AN)
			ttl = MIN(ttl, m->rr[i].ttl);
	if (ttl == UINT32_MAX)
		ttl = dns64_negative_ttl(m);
	int rc = dns_msg_add(&out, DNS_S_AN, r->q.qname, r->q.qname_len, DNS_T_CNAME, DNS_C_IN, ttl,
			     r->target, (uint16_t)r->target_len);
	for (size_t i = 0; rc == 0 && i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];
		if (rr->section == DNS_S_AR)
			continue;
		rc = dns_msg_add(&out, rr->section, dns_rr_name(m, rr), rr->name_len, rr->type,
				 rr->rclass, rr->ttl, dns_rr_rdata(m, rr), rr->rdlen);
	}
	if (rc != 0) {
		dns64_count(io, DNS64_C_drop_no_memory);
		dns_msg_free(&out);
		req_fail(r, DNS_R_SERVFAIL);
		return;
	}
	dns64_count(io, DNS64_C_ptr_synthesized);
	answer(io, &r->q, &r->cl, &out, false, current_gen(d));
	dns_msg_free(&out);
	req_free(r);
}

/* An A answer with records to synthesize from (or a CNAME chain to one). */
static bool a_has_records(const struct dns_msg *a)
{
	if (dns_msg_rcode(a) != DNS_R_NOERROR)
		return false;
	for (size_t i = 0; i < a->nrr; i++)
		if (a->rr[i].section == DNS_S_AN && a->rr[i].type == DNS_T_A)
			return true;
	return false;
}

/* Both answers are in (or the AAAA one will not come): synthesize from
 * the A answer (5.1.5-5.1.8), else send the AAAA answer as it was (5.1.6),
 * or SERVFAIL when there was none. */
static void finish_a(struct dns64_req *r)
{
	struct dns64_io *io = r->io;
	struct dns64 *d = io->d;
	const struct prefix_info *active[DNS64_MAX_ACTIVE];
	size_t nactive = active_prefixes(d, active);
	struct dns64_policy pol;
	dns64_policy_get(dns64_conf_get(d), &pol);
	struct dns_msg out;
	dns_msg_init(&out);
	/* A failed AAAA lookup stands as an empty answer (no SOA: 5.1.7's
	 * default negative TTL). */
	int n = r->a_failed ? 0 : dns64_synthesize(&r->aaaa, &r->a, active, nactive, &pol, &out);
	if (n < 0) {
		dns64_count(io, DNS64_C_drop_no_memory);
		dns_msg_free(&out);
		req_fail(r, DNS_R_SERVFAIL);
		return;
	}
	if (n > 0) {
		if (r->aaaa_failed)
			for (size_t i = 0; i < out.nrr; i++)
				if (out.rr[i].type == DNS_T_AAAA)
					out.rr[i].ttl = MIN(out.rr[i].ttl, DNS64_FAILED_AAAA_TTL);
		dns64_count(io, r->aaaa_failed ? DNS64_C_synthesized_aaaa_failed :
			    DNS64_C_synthesized);
		/* 5.5: AD is never set on synthesized data. */
		answer(io, &r->q, &r->cl, &out, false, current_gen(d));
	} else if (r->aaaa_failed) {
		req_fail(r, DNS_R_SERVFAIL);
		dns_msg_free(&out);
		return;
	} else {
		answer(io, &r->q, &r->cl, &r->aaaa, false, current_gen(d));
	}
	dns_msg_free(&out);
	req_free(r);
}

static void try_finish_a(struct dns64_req *r)
{
	if (r->a_done && r->a_bogus) {
		/* 5.5: never synthesize from bogus data. */
		dns64_count(r->io, DNS64_C_bogus);
		req_fail(r, DNS_R_SERVFAIL);
		return;
	}
	if (!r->aaaa_done) {
		/* The A answer is in and could be synthesized from: the AAAA
		 * answer gets aaaa-wait more (never past query-timeout). */
		if (r->a_done && !r->a_failed && a_has_records(&r->a) &&
		    !ev_timer_armed(r->aaaa_wait))
			ev_timer_arm(r->aaaa_wait, dns64_conf_get(r->io->d)->aaaa_wait_ms);
		return;
	}
	if (r->a_done)
		finish_a(r);
}

static void on_a_result(void *arg, const struct dns64_result *res)
{
	struct dns64_req *r = arg;
	enum dns_wire_err werr;
	r->a_done = true;
	if (res->err != 0 || dns_msg_parse(res->pkt, res->len, &r->a, &werr) != 0) {
		dns64_count(r->io, DNS64_C_upstream_error);
		r->a_failed = true;
	}
	r->a_bogus = res->bogus;
	try_finish_a(r);
}

/* The AAAA answer (ST_AAAA). */
static void on_aaaa(struct dns64_req *r, const struct dns64_result *res, struct dns_msg *m)
{
	struct dns64_io *io = r->io;
	struct dns64_policy pol;
	dns64_policy_get(dns64_conf_get(io->d), &pol);
	unsigned rcode = dns_msg_rcode(m);
	if (rcode == DNS_R_NXDOMAIN || (rcode == DNS_R_NOERROR && dns64_has_usable_aaaa(m, &pol))) {
		/* 5.1.1, 5.1.4: what is usable passes, excluded records do
		 * not; a filtered RRset is no longer the validated one. */
		struct dns_msg f;
		dns_msg_init(&f);
		int removed = dns64_filter_excluded(m, &pol, &f);
		if (removed < 0) {
			dns64_count(io, DNS64_C_drop_no_memory);
			dns_msg_free(&f);
			dns_msg_free(m);
			req_fail(r, DNS_R_SERVFAIL);
			return;
		}
		dns64_count(io, removed ? DNS64_C_passthrough_filtered : DNS64_C_passthrough);
		answer(io, &r->q, &r->cl, removed ? &f : m, res->secure && !removed,
		       current_gen(io->d));
		dns_msg_free(&f);
		dns_msg_free(m);
		req_free(r);
		return;
	}
	/* NODATA, only excluded AAAA, or another rcode (5.1.2, 5.1.3): the A
	 * records of the same name decide. */
	if (rcode != DNS_R_NOERROR) {
		dns64_count(io, DNS64_C_aaaa_rcode_as_empty);
		r->aaaa_failed = true;
		dns_msg_free(m);
	} else {
		r->aaaa = *m;
	}
	ev_timer_cancel(r->aaaa_wait);
	r->aaaa_done = true;
	try_finish_a(r);
}

static void on_result(void *arg, const struct dns64_result *res)
{
	struct dns64_req *r = arg;
	struct dns64_io *io = r->io;
	struct dns64 *d = io->d;
	struct dns_msg m;
	enum dns_wire_err werr;
	dns_msg_init(&m);
	if (res->bogus) {
		/* 5.5: bogus data is never replaced by synthesis. */
		dns64_count(io, DNS64_C_bogus);
		req_fail(r, DNS_R_SERVFAIL);
		return;
	}
	if (res->err != 0 || dns_msg_parse(res->pkt, res->len, &m, &werr) != 0) {
		dns64_count(io, DNS64_C_upstream_error);
		if (r->stage == ST_AAAA) {
			/* 5.1.2: libunbound's SERVFAIL (the upstream's SERVFAIL,
			 * REFUSED, or no answer) stands as an empty answer. */
			ev_timer_cancel(r->aaaa_wait);
			r->aaaa_done = r->aaaa_failed = true;
			try_finish_a(r);
			return;
		}
		req_fail(r, DNS_R_SERVFAIL);
		return;
	}
	switch (r->stage) {
	case ST_PLAIN:
		answer(io, &r->q, &r->cl, &m, res->secure,
		       r->q.qtype == DNS_T_AAAA ? current_gen(d) : 0);
		break;
	case ST_AAAA:
		on_aaaa(r, res, &m);
		return;
	case ST_PTR:
		finish_ptr(r, &m);
		dns_msg_free(&m);
		return;
	}
	dns_msg_free(&m);
	req_free(r);
}

void dns64_engine_cancel_all(struct dns64_io *io)
{
	while (io->reqs)
		req_free(io->reqs);
}

int dns64_io_resolvers(struct dns64_io *io, const struct sixfour_config *cfg, char *err,
		       size_t errlen)
{
	unsigned share = io->d->nthreads;
	io->res = dns64_resolver_new(io->loop, cfg, true, share, err, errlen);
	if (!io->res)
		return -1;
	/* CD=1 queries need data the validator would withhold: a second
	 * context without it, only when validation is on at all. */
	if (dns64_resolver_validates(io->res)) {
		io->res_cd = dns64_resolver_new(io->loop, cfg, false, share, err, errlen);
		if (!io->res_cd)
			return -1;
	}
	return 0;
}

void dns64_io_resolvers_free(struct dns64_io *io)
{
	dns64_resolver_free(io->res);
	dns64_resolver_free(io->res_cd);
	io->res = io->res_cd = NULL;
}

/* --- local answers --- */

static void answer_local(struct dns64_io *io, const struct dns_query *q, const struct dns64_client *cl)
{
	const struct prefix_info *active[DNS64_MAX_ACTIVE];
	size_t nactive = active_prefixes(io->d, active);
	struct dns_msg m;
	dns_msg_init(&m);
	if (dns64_ipv4only_answer(q->qname, q->qname_len, q->qtype, active, nactive, &m) < 0) {
		dns_msg_free(&m);
		send_error(io, q, cl, DNS_R_SERVFAIL);
		return;
	}
	dns64_count(io, DNS64_C_ipv4only_local);
	answer(io, q, cl, &m, false, current_gen(io->d));
	dns_msg_free(&m);
}

/* RFC 8482 4.2: one synthesized HINFO instead of everything. */
static void answer_any(struct dns64_io *io, const struct dns_query *q, const struct dns64_client *cl)
{
	static const uint8_t hinfo[] = "\007RFC8482";	/* CPU "RFC8482", OS "" */
	struct dns_msg m;
	dns_msg_init(&m);
	if (dns_msg_add(&m, DNS_S_AN, q->qname, q->qname_len, DNS_T_HINFO, DNS_C_IN, DNS64_ANY_TTL,
			hinfo, sizeof(hinfo))) {
		dns_msg_free(&m);
		send_error(io, q, cl, DNS_R_SERVFAIL);
		return;
	}
	dns64_count(io, DNS64_C_any_rfc8482);
	answer(io, q, cl, &m, false, 0);
	dns_msg_free(&m);
}

/* The part of a query that needs libunbound, on the thread that received
 * it (its own contexts). */
static void engine_resolve(struct dns64_io *io, const struct dns_query *q,
			  const struct dns64_client *cl)
{
	struct dns64 *d = io->d;
	bool dnssec_raw = q->edns_do && (q->flags & DNS_F_CD);
	if (q->qtype == DNS_T_PTR && !dnssec_raw) {
		uint8_t target[DNS_NAME_MAX];
		int tlen = dns64_ptr_target(q->qname, q->qname_len, prefix_pub_current(d->prefixes),
					    target);
		if (tlen > 0) {
			req_start(io, q, cl, ST_PTR, target, (size_t)tlen);
			return;
		}
	}
	if (q->qtype == DNS_T_AAAA && !dnssec_raw) {
		req_start(io, q, cl, ST_AAAA, NULL, 0);
		return;
	}
	/* 5.5: DO and CD together get the data as it is, no synthesis. */
	if (dnssec_raw && (q->qtype == DNS_T_AAAA || q->qtype == DNS_T_PTR))
		dns64_count(io, DNS64_C_dnssec_cd_passthrough);
	req_start(io, q, cl, ST_PLAIN, NULL, 0);
}

/* One counter per outcome, in the order of enum dns64_rl_scope. */
_Static_assert(DNS64_C_rl_enclosing_slipped == DNS64_C_rl_client_slipped + 2 * DNS64_RL_enclosing &&
	       DNS64_C_rl_verified_slipped == DNS64_C_rl_client_slipped + 2 * DNS64_RL_verified &&
	       DNS64_C_rl_partner_slipped == DNS64_C_rl_client_slipped + 2 * DNS64_RL_partner &&
	       DNS64_C_rl_client_dropped == DNS64_C_rl_client_slipped + 1,
	       "rate-limit counters follow enum dns64_rl_scope");

/* The rate limit (ratelimit.h) for every query that could be answered:
 * true to go on; otherwise the query slipped (TC=1), was dropped, or (TCP)
 * got REFUSED, and is counted. */
static bool within_rate(struct dns64_io *io, const struct dns_query *q,
			const struct dns64_client *cl)
{
	struct dns64 *d = io->d;
	struct dns64_rl_result r = dns64_ratelimit_check(d->rl, &dns64_conf_get(d)->rl,
							 (const struct sockaddr *)&cl->peer,
							 cl->verified, evloop_now_ms(io->loop) * 1000);
	if (r.verdict == DNS64_RL_PASS)
		return true;
	if (cl->transport == DNS64_TCP) {
		/* No reflection over TCP: a clear answer instead of silence. */
		dns64_count(io, DNS64_C_rl_tcp_refused);
		send_error(io, q, cl, DNS_R_REFUSED);
		return false;
	}
	dns64_count(io, (enum dns64_counter)(DNS64_C_rl_client_slipped + 2 * r.scope +
					     (r.verdict == DNS64_RL_DROP)));
	if (r.verdict == DNS64_RL_SLIP)
		send_slip(io, q, cl);
	return false;
}

/* RFC 7873 5.2: what the query's COOKIE option says about its source. */
static void judge_cookie(struct dns64_io *io, const struct dns_query *q, struct dns64_client *cl)
{
	const struct dns64_conf *conf = dns64_conf_get(io->d);
	cl->verified = cl->transport == DNS64_TCP;
	cl->cookie = DNS64_COOKIE_NONE;
	if (!q->cookie_len || !conf->cookies)
		return;
	cl->cookie = (uint8_t)dns64_cookie_check(&conf->secrets, q->cookie, q->cookie_len,
						 (const struct sockaddr *)&cl->peer,
						 (uint32_t)time(NULL), &cl->cookie_renew);
	static const enum dns64_counter count[] = {
		[DNS64_COOKIE_CLIENT_ONLY] = DNS64_C_cookie_client_only,
		[DNS64_COOKIE_VALID] = DNS64_C_cookie_valid,
		[DNS64_COOKIE_INVALID] = DNS64_C_cookie_invalid,
	};
	dns64_count(io, count[cl->cookie]);
	cl->verified |= cl->cookie == DNS64_COOKIE_VALID;
}

/* Everything up to the resolver runs on the thread that received the
 * query (a worker for UDP): checks, cookies, the rate limit, the cache,
 * local answers. */
void dns64_engine_query(struct dns64_io *io, const uint8_t *pkt, size_t len,
			const struct dns64_client *client)
{
	struct dns_query q;
	struct dns64_client c = *client, *cl = &c;
	int rc = dns_query_parse(pkt, len, &q);
	if (rc != 0 && !dns_query_replyable(&q)) {
		counter_inc(&io->wire_errors[q.err], 1);
		dns64_count(io, DNS64_C_drop_unreplyable);
		return;
	}
	if (rc == 0)
		judge_cookie(io, &q, cl);
	else
		cl->verified = cl->transport == DNS64_TCP;
	if (!within_rate(io, &q, cl))
		return;
	if (rc != 0) {
		counter_inc(&io->wire_errors[q.err], 1);
		q.has_edns = false;
		send_error(io, &q, cl, DNS_R_FORMERR);
		return;
	}
	if ((q.flags & DNS_F_OPCODE) != 0) {	/* only QUERY (RFC 1035 4.1.1) */
		send_error(io, &q, cl, DNS_R_NOTIMP);
		return;
	}
	if (q.has_edns && q.edns_version > 0) {	/* RFC 6891 6.1.3 */
		send_error(io, &q, cl, DNS_R_BADVERS);
		return;
	}
	if (q.qclass != DNS_C_IN) {
		dns64_count(io, DNS64_C_refused_class);
		send_error(io, &q, cl, DNS_R_REFUSED);
		return;
	}
	switch (q.qtype) {
	case DNS_T_AXFR: case DNS_T_IXFR:
		dns64_count(io, DNS64_C_refused_xfr);
		send_error(io, &q, cl, DNS_R_REFUSED);
		return;
	case DNS_T_MAILA: case DNS_T_MAILB:
		send_error(io, &q, cl, DNS_R_NOTIMP);
		return;
	case DNS_T_OPT:		/* a meta type: no data can exist (RFC 6891 6.1.1) */
		send_error(io, &q, cl, DNS_R_FORMERR);
		return;
	default:
		break;
	}

	struct dns64_cached hit;
	if (dns64_cache_lookup(io->d->cache, &q, evloop_now_ms(io->loop), current_gen(io->d),
			       io->scratch, sizeof(io->scratch), &hit)) {
		dns64_count(io, DNS64_C_cache_hits);
		send_response(io, &q, cl, hit.len, hit.question_end, hit.opt_off, hit.secure);
		return;
	}
	dns64_count(io, DNS64_C_cache_misses);

	if (dns64_is_ipv4only(q.qname_lc, q.qname_len)) {
		answer_local(io, &q, cl);
		return;
	}
	if (q.qtype == DNS_T_ANY) {
		answer_any(io, &q, cl);
		return;
	}
	engine_resolve(io, &q, cl);
}
