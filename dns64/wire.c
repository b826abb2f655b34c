/* DNS message codec. Every length is checked before the field it guards is
 * read; names are bounded by RFC 1035 section 2.3.4 (labels of 63 octets,
 * names of 255) and compression pointers (section 4.1.4) may only point
 * backwards, so no input can loop or read outside the buffer. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "dns64/wire.h"

static const char *const wire_err_names[] = {
#define X(id, name) name,
	DNS_WIRE_ERRORS(X)
#undef X
};

const char *dns_wire_err_name(enum dns_wire_err e)
{
	return (unsigned)e < DNS_E_COUNT ? wire_err_names[e] : "unknown";
}

static int fail(enum dns_wire_err *err, enum dns_wire_err why)
{
	if (err)
		*err = why;
	return why == DNS_E_NOMEM ? -ENOMEM : -EBADMSG;
}

int dns_name_read(const uint8_t *p, size_t len, size_t *off, uint8_t *out,
		  enum dns_wire_err *err)
{
	size_t pos = *off, outlen = 0, end = 0;
	/* Each pointer must point before the start of the run of labels it
	 * ends; the bound falls with every jump, so decoding terminates. */
	size_t limit = pos;
	bool jumped = false;
	for (;;) {
		if (pos >= len)
			return fail(err, DNS_E_TRUNC_NAME);
		uint8_t c = p[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return fail(err, DNS_E_TRUNC_NAME);
			size_t target = (size_t)(c & 0x3f) << 8 | p[pos + 1];
			if (target >= limit)
				return fail(err, DNS_E_BAD_POINTER);
			if (!jumped)
				end = pos + 2;
			jumped = true;
			limit = target;
			pos = target;
			continue;
		}
		/* 0x40-0xbf: lengths above 63, or the extended label types
		 * that RFC 6891 section 5 retired; neither is a name. */
		if (c & 0xc0)
			return fail(err, DNS_E_LABEL_TOO_LONG);
		if (pos + 1 + c > len)
			return fail(err, DNS_E_TRUNC_NAME);
		if (outlen + 1 + c + (c ? 1 : 0) > DNS_NAME_MAX)
			return fail(err, DNS_E_NAME_TOO_LONG);
		memcpy(out + outlen, p + pos, 1 + (size_t)c);
		outlen += 1 + (size_t)c;
		pos += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	*off = jumped ? end : pos;
	return (int)outlen;
}

int dns_name_skip(const uint8_t *p, size_t len, size_t *off, enum dns_wire_err *err)
{
	uint8_t tmp[DNS_NAME_MAX];
	int n = dns_name_read(p, len, off, tmp, err);
	return n < 0 ? n : 0;
}

static inline uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

bool dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	/* Length octets are below 64 and never letters, so one loop does. */
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

void dns_name_lower(uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		name[i] = lower(name[i]);
}

bool dns_name_is_below(const uint8_t *name, size_t nlen, const uint8_t *zone, size_t zlen)
{
	size_t i = 0;
	while (i < nlen) {
		if (nlen - i == zlen)
			return dns_name_equal(name + i, zlen, zone, zlen);
		if (name[i] == 0)
			break;
		i += 1 + (size_t)name[i];
	}
	return false;
}

int dns_name_to_text(const uint8_t *name, size_t len, char *out, size_t size)
{
	size_t o = 0, i = 0;
#define PUT(ch) do { if (o + 1 >= size) return -ENOSPC; out[o++] = (char)(ch); } while (0)
	while (i < len && name[i] != 0) {
		uint8_t l = name[i++];
		if (i + l > len)
			return -EINVAL;
		for (uint8_t k = 0; k < l; k++, i++) {
			uint8_t c = name[i];
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
			    c == '@' || c == '$') {
				PUT('\\');
				PUT(c);
			} else if (c <= 0x20 || c >= 0x7f) {
				char esc[5];
				snprintf(esc, sizeof(esc), "\\%03u", c);
				for (int e = 0; e < 4; e++)
					PUT(esc[e]);
			} else {
				PUT(c);
			}
		}
		PUT('.');
	}
	if (o == 0)
		PUT('.');
	out[o] = '\0';
#undef PUT
	return 0;
}

int dns_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dns_name_from_text(const char *text, uint8_t *out)
{
	size_t o = 0;
	if (strcmp(text, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	const char *s = text;
	while (*s) {
		size_t lpos = o++;
		uint8_t l = 0;
		if (*s == '.')
			return -EINVAL;	/* empty label */
		while (*s && *s != '.') {
			uint8_t c;
			if (*s == '\\') {
				s++;
				if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
				    s[2] >= '0' && s[2] <= '9') {
					unsigned v = (unsigned)(s[0] - '0') * 100 +
						     (unsigned)(s[1] - '0') * 10 + (unsigned)(s[2] - '0');
					if (v > 255)
						return -EINVAL;
					c = (uint8_t)v;
					s += 3;
				} else if (*s) {
					c = (uint8_t)*s++;
				} else {
					return -EINVAL;
				}
			} else {
				c = (uint8_t)*s++;
			}
			if (l == DNS_LABEL_MAX || o + 2 > DNS_NAME_MAX)
				return -EINVAL;
			out[o++] = c;
			l++;
		}
		out[lpos] = l;
		if (*s == '.')
			s++;
	}
	if (o + 1 > DNS_NAME_MAX)
		return -EINVAL;
	out[o++] = 0;
	return (int)o;
}

/* --- queries --- */

#define OPT_COOKIE 10		/* RFC 7873 4 */

/* RFC 6891 6.1: an OPT RR's RDATA is a sequence of {code, length, data}.
 * The first COOKIE option is kept in `q` (RFC 7873 5.2: later ones are
 * ignored); a malformed one makes the query FORMERR (5.2.2). Without `q`
 * (answers from upstream) only the shape is checked. */
static enum dns_wire_err opt_rdata_read(const uint8_t *p, size_t len, struct dns_query *q)
{
	size_t i = 0;
	while (i < len) {
		if (len - i < 4)
			return DNS_E_BAD_OPT;
		uint16_t code = get_be16(p + i);
		size_t olen = get_be16(p + i + 2);
		if (len - i - 4 < olen)
			return DNS_E_BAD_OPT;
		if (q && code == OPT_COOKIE && !q->cookie_len) {
			if (olen != 8 && (olen < 16 || olen > sizeof(q->cookie)))
				return DNS_E_BAD_COOKIE;
			memcpy(q->cookie, p + i + 4, olen);
			q->cookie_len = (uint8_t)olen;
		}
		i += 4 + olen;
	}
	return DNS_E_OK;
}

static bool opt_rdata_valid(const uint8_t *p, size_t len)
{
	return opt_rdata_read(p, len, NULL) == DNS_E_OK;
}

int dns_query_parse(const uint8_t *p, size_t len, struct dns_query *q)
{
	q->err = DNS_E_OK;
	q->qname_len = 0;
	q->has_edns = false;
	q->edns_do = false;
	q->edns_version = 0;
	q->edns_udp = 512;
	q->cookie_len = 0;
	q->len = (uint16_t)MIN(len, (size_t)UINT16_MAX);
	q->qtype = q->qclass = 0;
	if (len < DNS_HDR_LEN)
		return fail(&q->err, DNS_E_SHORT_HEADER);
	q->id = get_be16(p);
	q->flags = get_be16(p + 2);
	if (q->flags & DNS_F_QR)
		return fail(&q->err, DNS_E_IS_RESPONSE);
	uint16_t qd = get_be16(p + 4), an = get_be16(p + 6), ns = get_be16(p + 8);
	uint16_t ar = get_be16(p + 10);
	if (qd != 1)
		return fail(&q->err, DNS_E_QDCOUNT);
	size_t off = DNS_HDR_LEN;
	int n = dns_name_read(p, len, &off, q->qname, &q->err);
	if (n < 0)
		return n;
	if (len - off < 4)
		return fail(&q->err, DNS_E_TRUNC_QUESTION);
	q->qname_len = (uint8_t)n;
	memcpy(q->qname_lc, q->qname, (size_t)n);
	dns_name_lower(q->qname_lc, (size_t)n);
	q->qtype = get_be16(p + off);
	q->qclass = get_be16(p + off + 2);
	off += 4;
	if (an || ns)
		return fail(&q->err, DNS_E_UNEXPECTED_RECORDS);
	for (unsigned i = 0; i < ar; i++) {
		uint8_t name[DNS_NAME_MAX];
		n = dns_name_read(p, len, &off, name, &q->err);
		if (n < 0)
			return n;
		if (len - off < 10)
			return fail(&q->err, DNS_E_TRUNC_RR);
		uint16_t type = get_be16(p + off), rclass = get_be16(p + off + 2);
		uint32_t ttl = get_be32(p + off + 4);
		size_t rdlen = get_be16(p + off + 8);
		off += 10;
		if (len - off < rdlen)
			return fail(&q->err, DNS_E_TRUNC_RR);
		if (type == DNS_T_OPT) {
			/* RFC 6891 6.1.1: one OPT, owned by the root. */
			if (q->has_edns)
				return fail(&q->err, DNS_E_DUP_OPT);
			if (n != 1)
				return fail(&q->err, DNS_E_BAD_OPT);
			enum dns_wire_err oe = opt_rdata_read(p + off, rdlen, q);
			if (oe != DNS_E_OK)
				return fail(&q->err, oe);
			q->has_edns = true;
			/* 6.2.3: values below 512 are treated as 512. */
			q->edns_udp = rclass < 512 ? 512 : rclass;
			q->edns_version = (uint8_t)(ttl >> 16);
			q->edns_do = (ttl & DNS_EDNS_DO) != 0;
		}
		off += rdlen;
	}
	return 0;
}

bool dns_query_replyable(const struct dns_query *q)
{
	return q->err != DNS_E_SHORT_HEADER && q->err != DNS_E_IS_RESPONSE;
}

/* --- whole messages --- */

void dns_msg_init(struct dns_msg *m)
{
	memset(m, 0, sizeof(*m));
}

void dns_msg_free(struct dns_msg *m)
{
	free(m->rr);
	free(m->arena);
	dns_msg_init(m);
}

static int arena_put(struct dns_msg *m, const void *data, size_t n, uint32_t *off)
{
	if (m->arena_len + n > m->arena_cap) {
		size_t cap = m->arena_cap ? m->arena_cap : 1024;
		while (cap < m->arena_len + n)
			cap *= 2;
		uint8_t *a = realloc(m->arena, cap);
		if (!a)
			return -ENOMEM;
		m->arena = a;
		m->arena_cap = cap;
	}
	*off = (uint32_t)m->arena_len;
	if (n)
		memcpy(m->arena + m->arena_len, data, n);
	m->arena_len += n;
	return 0;
}

int dns_msg_add(struct dns_msg *m, enum dns_section sec, const uint8_t *name, size_t nlen,
		uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	if (m->nrr >= DNS_MSG_MAX_RRS)
		return -ENOMEM;
	if (m->nrr == m->rr_cap) {
		size_t cap = m->rr_cap ? m->rr_cap * 2 : 16;
		struct dns_rr *r = realloc(m->rr, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		m->rr = r;
		m->rr_cap = cap;
	}
	struct dns_rr *rr = &m->rr[m->nrr];
	if (arena_put(m, name, nlen, &rr->name_off) || arena_put(m, rdata, rdlen, &rr->rdata_off))
		return -ENOMEM;
	rr->name_len = (uint8_t)nlen;
	rr->type = type;
	rr->rclass = rclass;
	rr->ttl = ttl;
	rr->rdlen = rdlen;
	rr->section = (uint8_t)sec;
	m->nrr++;
	return 0;
}

/* Layout of RDATA with embedded names that may be compressed: octets
 * before the first name, number of names, octets after them. */
struct rdata_shape {
	uint8_t pre, names, post;
};

static bool rdata_shape(uint16_t type, struct rdata_shape *s)
{
	switch (type) {
	case DNS_T_NS: case DNS_T_MD: case DNS_T_MF: case DNS_T_CNAME: case DNS_T_MB:
	case DNS_T_MG: case DNS_T_MR: case DNS_T_PTR: case DNS_T_DNAME:
		*s = (struct rdata_shape){ 0, 1, 0 };
		return true;
	case DNS_T_SOA:
		*s = (struct rdata_shape){ 0, 2, 20 };
		return true;
	case DNS_T_MINFO: case DNS_T_RP:
		*s = (struct rdata_shape){ 0, 2, 0 };
		return true;
	case DNS_T_MX: case DNS_T_AFSDB: case DNS_T_RT: case DNS_T_KX:
		*s = (struct rdata_shape){ 2, 1, 0 };
		return true;
	case DNS_T_SRV:
		*s = (struct rdata_shape){ 6, 1, 0 };
		return true;
	default:
		return false;
	}
}

/* Expands the names inside RDATA (RFC 3597 4: only well-known types may be
 * compressed, but decoders accept pointers in the older ones too). */
static int rdata_expand(const uint8_t *p, size_t len, size_t off, size_t rdlen,
			const struct rdata_shape *s, uint8_t *out, size_t *outlen,
			enum dns_wire_err *err)
{
	size_t end = off + rdlen, o = 0;
	if (rdlen < s->pre)
		return fail(err, DNS_E_TRUNC_RR);
	memcpy(out, p + off, s->pre);
	o += s->pre;
	off += s->pre;
	for (unsigned i = 0; i < s->names; i++) {
		/* The name must end inside the RDATA, so read within `end`. */
		int n = dns_name_read(p, end, &off, out + o, err);
		if (n < 0)
			return n;
		o += (size_t)n;
	}
	if (end - off != s->post)
		return fail(err, DNS_E_TRUNC_RR);
	memcpy(out + o, p + off, s->post);
	*outlen = o + s->post;
	(void)len;
	return 0;
}

int dns_msg_parse(const uint8_t *p, size_t len, struct dns_msg *m, enum dns_wire_err *err)
{
	int rc;
	dns_msg_free(m);
	if (len < DNS_HDR_LEN)
		return fail(err, DNS_E_SHORT_HEADER);
	m->id = get_be16(p);
	m->flags = get_be16(p + 2);
	unsigned qd = get_be16(p + 4);
	unsigned counts[DNS_S_COUNT] = { get_be16(p + 6), get_be16(p + 8), get_be16(p + 10) };
	size_t off = DNS_HDR_LEN;
	if (qd > 1) {
		rc = fail(err, DNS_E_QDCOUNT);
		goto bad;
	}
	if (qd == 1) {
		rc = dns_name_read(p, len, &off, m->qname, err);
		if (rc < 0)
			goto bad;
		m->qname_len = (uint8_t)rc;
		if (len - off < 4) {
			rc = fail(err, DNS_E_TRUNC_QUESTION);
			goto bad;
		}
		m->qtype = get_be16(p + off);
		m->qclass = get_be16(p + off + 2);
		off += 4;
	}
	if ((size_t)counts[0] + counts[1] + counts[2] > DNS_MSG_MAX_RRS) {
		rc = fail(err, DNS_E_TOO_MANY_RRS);
		goto bad;
	}
	for (unsigned sec = 0; sec < DNS_S_COUNT; sec++) {
		for (unsigned i = 0; i < counts[sec]; i++) {
			uint8_t name[DNS_NAME_MAX];
			/* 2 x 255 names + 20 octets is the largest expansion. */
			uint8_t rdata[2 * DNS_NAME_MAX + 32];
			rc = dns_name_read(p, len, &off, name, err);
			if (rc < 0)
				goto bad;
			size_t nlen = (size_t)rc;
			if (len - off < 10) {
				rc = fail(err, DNS_E_TRUNC_RR);
				goto bad;
			}
			uint16_t type = get_be16(p + off), rclass = get_be16(p + off + 2);
			uint32_t ttl = get_be32(p + off + 4);
			size_t rdlen = get_be16(p + off + 8);
			off += 10;
			if (len - off < rdlen) {
				rc = fail(err, DNS_E_TRUNC_RR);
				goto bad;
			}
			if (type == DNS_T_OPT) {
				if (sec != DNS_S_AR || nlen != 1 || !opt_rdata_valid(p + off, rdlen)) {
					rc = fail(err, DNS_E_BAD_OPT);
					goto bad;
				}
				if (m->has_edns) {
					rc = fail(err, DNS_E_DUP_OPT);
					goto bad;
				}
				m->has_edns = true;
				m->edns_do = (ttl & DNS_EDNS_DO) != 0;
				/* The extended rcode's upper bits (6.1.3) are kept
				 * only as far as our 4-bit header holds them. */
				off += rdlen;
				continue;
			}
			struct rdata_shape shape;
			const uint8_t *rd = p + off;
			size_t rdl = rdlen;
			if (rdata_shape(type, &shape)) {
				rc = rdata_expand(p, len, off, rdlen, &shape, rdata, &rdl, err);
				if (rc < 0)
					goto bad;
				rd = rdata;
			}
			if (rdl > UINT16_MAX ||
			    dns_msg_add(m, sec, name, nlen, type, rclass, ttl, rd, (uint16_t)rdl)) {
				rc = fail(err, DNS_E_NOMEM);
				goto bad;
			}
			off += rdlen;
		}
	}
	if (err)
		*err = DNS_E_OK;
	return 0;
bad:
	dns_msg_free(m);
	return rc;
}

/* --- building --- */

void dnsb_init(struct dns_builder *b, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	if (cap < DNS_HDR_LEN)
		return;
	put_be16(buf, id);
	put_be16(buf + 2, flags);
	memset(buf + 4, 0, 8);
	b->len = DNS_HDR_LEN;
}

static bool room(const struct dns_builder *b, size_t n)
{
	return b->len <= b->cap && b->cap - b->len >= n;
}

/* Writes `name`, pointing at an earlier copy of its longest suffix that is
 * already in the message (RFC 1035 4.1.4). */
static int put_name(struct dns_builder *b, const uint8_t *name, size_t nlen, bool compress)
{
	size_t match_at = nlen, match_off = 0;
	if (compress) {
		for (size_t i = 0; i + 1 < nlen && match_at == nlen; i += 1 + (size_t)name[i]) {
			for (size_t c = 0; c < b->ncomp; c++) {
				uint8_t tmp[DNS_NAME_MAX];
				size_t off = b->comp[c];
				int n = dns_name_read(b->buf, b->len, &off, tmp, NULL);
				if (n > 0 && dns_name_equal(tmp, (size_t)n, name + i, nlen - i)) {
					match_at = i;
					match_off = b->comp[c];
					break;
				}
			}
		}
	}
	size_t plain = match_at == nlen ? nlen : match_at;
	if (!room(b, plain + (match_at == nlen ? 0 : 2)))
		return -EMSGSIZE;
	for (size_t i = 0; i + 1 < plain + (match_at == nlen ? 0 : 1); i += 1 + (size_t)name[i]) {
		if (compress && b->ncomp < DNSB_MAX_COMP && b->len + i < 0x3fff)
			b->comp[b->ncomp++] = (uint16_t)(b->len + i);
	}
	memcpy(b->buf + b->len, name, plain);
	b->len += plain;
	if (match_at != nlen) {
		put_be16(b->buf + b->len, (uint16_t)(0xc000 | match_off));
		b->len += 2;
	}
	return 0;
}

int dnsb_question(struct dns_builder *b, const uint8_t *qname, size_t qlen, uint16_t qtype,
		  uint16_t qclass)
{
	/* The question is written verbatim (the requestor's case, RFC 4343 4.1)
	 * and is the first compression target. */
	if (!room(b, qlen + 4))
		return -EMSGSIZE;
	for (size_t i = 0; i + 1 < qlen && b->ncomp < DNSB_MAX_COMP; i += 1 + (size_t)qname[i])
		b->comp[b->ncomp++] = (uint16_t)(b->len + i);
	memcpy(b->buf + b->len, qname, qlen);
	b->len += qlen;
	put_be16(b->buf + b->len, qtype);
	put_be16(b->buf + b->len + 2, qclass);
	b->len += 4;
	b->count[0]++;
	b->question_end = b->len;
	return 0;
}

int dnsb_rr(struct dns_builder *b, enum dns_section sec, const uint8_t *name, size_t nlen,
	    uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	size_t save_len = b->len, save_comp = b->ncomp, save_ttl = b->nttl;
	bool save_over = b->ttl_overflow;
	if (put_name(b, name, nlen, true) || !room(b, 10))
		goto full;
	put_be16(b->buf + b->len, type);
	put_be16(b->buf + b->len + 2, rclass);
	put_be32(b->buf + b->len + 4, ttl);
	if (b->nttl < DNSB_MAX_TTLS)
		b->ttl_off[b->nttl++] = (uint16_t)(b->len + 4);
	else
		b->ttl_overflow = true;
	size_t rdlen_at = b->len + 8;
	b->len += 10;
	size_t rd_start = b->len;
	/* RFC 3597 4: only the RFC 1035 types get their RDATA names compressed. */
	bool compressible = type == DNS_T_NS || type == DNS_T_CNAME || type == DNS_T_PTR ||
			    type == DNS_T_SOA || type == DNS_T_MX || type == DNS_T_MB ||
			    type == DNS_T_MG || type == DNS_T_MR || type == DNS_T_MINFO ||
			    type == DNS_T_MD || type == DNS_T_MF;
	struct rdata_shape s;
	if (compressible && rdata_shape(type, &s)) {
		enum dns_wire_err e;
		size_t off = s.pre;
		if (rdlen < s.pre || !room(b, s.pre))
			goto full;
		memcpy(b->buf + b->len, rdata, s.pre);
		b->len += s.pre;
		for (unsigned i = 0; i < s.names; i++) {
			uint8_t tmp[DNS_NAME_MAX];
			int n = dns_name_read(rdata, rdlen, &off, tmp, &e);
			if (n < 0 || put_name(b, tmp, (size_t)n, true))
				goto full;
		}
		if (rdlen - off != s.post || !room(b, s.post))
			goto full;
		memcpy(b->buf + b->len, rdata + off, s.post);
		b->len += s.post;
	} else {
		if (!room(b, rdlen))
			goto full;
		memcpy(b->buf + b->len, rdata, rdlen);
		b->len += rdlen;
	}
	put_be16(b->buf + rdlen_at, (uint16_t)(b->len - rd_start));
	b->count[1 + sec]++;
	return 0;
full:
	b->len = save_len;
	b->ncomp = save_comp;
	b->nttl = save_ttl;
	b->ttl_overflow = save_over;
	return -EMSGSIZE;
}

int dnsb_opt(struct dns_builder *b, uint16_t udp_size, unsigned rcode, bool dnssec_ok)
{
	if (!room(b, DNS_OPT_LEN))
		return -EMSGSIZE;
	uint8_t *o = b->buf + b->len;
	o[0] = 0;
	put_be16(o + 1, DNS_T_OPT);
	put_be16(o + 3, udp_size);
	put_be32(o + 5, (uint32_t)(rcode >> 4) << 24 | (dnssec_ok ? DNS_EDNS_DO : 0));
	put_be16(o + 9, 0);
	b->opt_off = b->len;
	b->len += DNS_OPT_LEN;
	b->count[3]++;
	return 0;
}

size_t dnsb_finish(struct dns_builder *b)
{
	if (b->len < DNS_HDR_LEN)
		return 0;
	for (int i = 0; i < 4; i++)
		put_be16(b->buf + 4 + 2 * i, b->count[i]);
	return b->len;
}

size_t dns_truncate(uint8_t *buf, size_t len, size_t question_end, size_t opt_off)
{
	if (question_end < DNS_HDR_LEN || question_end > len)
		return len;
	buf[2] |= DNS_F_TC >> 8;
	put_be16(buf + 6, 0);
	put_be16(buf + 8, 0);
	put_be16(buf + 10, 0);
	if (opt_off && opt_off + DNS_OPT_LEN <= len) {
		memmove(buf + question_end, buf + opt_off, DNS_OPT_LEN);
		put_be16(buf + 10, 1);
		return question_end + DNS_OPT_LEN;
	}
	return question_end;
}
