/* The DNS codec: queries, malformed input of every kind, whole messages
 * with compressed RDATA, the builder's compression and truncation. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "dns64/wire.h"
#include "tests/unit/tap.h"

static size_t hdr(uint8_t *p, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	put_be16(p, 0xbeef);
	put_be16(p + 2, flags);
	put_be16(p + 4, qd);
	put_be16(p + 6, an);
	put_be16(p + 8, ns);
	put_be16(p + 10, ar);
	return DNS_HDR_LEN;
}

static size_t put(uint8_t *p, const void *data, size_t n)
{
	memcpy(p, data, n);
	return n;
}

#define WWW_EXAMPLE "\003www\007example\000"	/* 13 octets */
#define QTAIL "\000\034\000\001"			/* AAAA IN */
#define OPT_ROOT "\000\000\051\004\320\000\000\200\000\000\000"	/* udp 1232, DO */

/* A query for AAAA IN whose name is labels of 'a's of these lengths. */
static size_t query_of_labels(uint8_t *p, const uint8_t *lens, size_t nlabels)
{
	size_t n = hdr(p, 0, 1, 0, 0, 0);
	for (size_t i = 0; i < nlabels; i++) {
		p[n++] = lens[i];
		memset(p + n, 'a', lens[i]);
		n += lens[i];
	}
	return n + put(p + n, "\000" QTAIL, 5);
}

static int parse(const uint8_t *p, size_t len, struct dns_query *q)
{
	return dns_query_parse(p, len, q);
}

static void test_queries(void)
{
	uint8_t p[600];
	struct dns_query q;
	size_t n = hdr(p, DNS_F_RD, 1, 0, 0, 1);
	n += put(p + n, "\003WwW\007example\000", 13);
	n += put(p + n, QTAIL, 4);
	n += put(p + n, OPT_ROOT, 11);
	is_int(parse(p, n, &q), 0, "a query with EDNS parses");
	is_int(q.id, 0xbeef, "id");
	is_int(q.qtype, DNS_T_AAAA, "qtype");
	is_int(q.qclass, DNS_C_IN, "qclass");
	is_int(q.qname_len, 13, "qname length");
	ok(memcmp(q.qname, "\003WwW", 4) == 0, "qname keeps the case");
	ok(memcmp(q.qname_lc, WWW_EXAMPLE, 13) == 0, "qname_lc is lower-cased");
	ok(q.has_edns && q.edns_do && q.edns_udp == 1232 && q.edns_version == 0, "EDNS fields");

	/* Trailing octets after the counted records are ignored. */
	is_int(parse(p, n + 0, &q), 0, "exact length");

	/* Payload size below 512 counts as 512 (RFC 6891 6.2.3). */
	uint8_t small_opt[] = "\000\000\051\000\100\000\000\000\000\000\000";
	n = hdr(p, 0, 1, 0, 0, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL, 17);
	n += put(p + n, small_opt, 11);
	is_int(parse(p, n, &q), 0, "tiny EDNS payload parses");
	is_int(q.edns_udp, 512, "... and is raised to 512");
}

struct bad_case {
	const char *name;
	enum dns_wire_err err;
	bool replyable;
};

static void expect_bad(const uint8_t *p, size_t len, const struct bad_case *c)
{
	struct dns_query q;
	char name[128];
	int rc = parse(p, len, &q);
	snprintf(name, sizeof(name), "%s: rejected", c->name);
	ok(rc == -EBADMSG, name);
	snprintf(name, sizeof(name), "%s: reason %s", c->name, dns_wire_err_name(c->err));
	if (!ok(q.err == c->err, name))
		printf("#   got %s\n", dns_wire_err_name(q.err));
	snprintf(name, sizeof(name), "%s: %s", c->name, c->replyable ? "replyable" : "dropped");
	ok(dns_query_replyable(&q) == c->replyable, name);
}

static void test_malformed(void)
{
	uint8_t p[1200];
	size_t n;
	struct dns_query q;

	size_t len = 0;
	for (; len < DNS_HDR_LEN; len++) {
		n = hdr(p, 0, 1, 0, 0, 0);
		if (parse(p, len, &q) != -EBADMSG || q.err != DNS_E_SHORT_HEADER)
			break;
	}
	/* One assertion for the whole loop; a failing length reports itself. */
	if (!ok(len == DNS_HDR_LEN, "every header shorter than 12 octets: short_header, dropped"))
		printf("#   a %zu-octet header was not short_header\n", len);
	n = hdr(p, DNS_F_QR, 1, 0, 0, 0);
	n += put(p + n, WWW_EXAMPLE QTAIL, 17);
	expect_bad(p, n, &(struct bad_case){ "a response", DNS_E_IS_RESPONSE, false });

	n = hdr(p, 0, 0, 0, 0, 0);
	expect_bad(p, n, &(struct bad_case){ "no question", DNS_E_QDCOUNT, true });
	n = hdr(p, 0, 2, 0, 0, 0);
	n += put(p + n, WWW_EXAMPLE QTAIL WWW_EXAMPLE QTAIL, 34);
	expect_bad(p, n, &(struct bad_case){ "two questions", DNS_E_QDCOUNT, true });

	/* Every cut inside the name and the type/class. */
	bool all = true;
	for (size_t cut = DNS_HDR_LEN; cut < DNS_HDR_LEN + 17; cut++) {
		n = hdr(p, 0, 1, 0, 0, 0);
		n += put(p + n, WWW_EXAMPLE QTAIL, 17);
		if (parse(p, cut, &q) != -EBADMSG ||
		    (q.err != DNS_E_TRUNC_NAME && q.err != DNS_E_TRUNC_QUESTION))
			all = false;
	}
	ok(all, "every truncated question is rejected");

	n = query_of_labels(p, (const uint8_t[]){ 64 }, 1);
	expect_bad(p, n, &(struct bad_case){ "label of 64", DNS_E_LABEL_TOO_LONG, true });
	n = hdr(p, 0, 1, 0, 0, 0);
	p[n++] = 0x80 | 3;
	n += put(p + n, "www\000" QTAIL, 8);
	expect_bad(p, n, &(struct bad_case){ "label type 0x80", DNS_E_LABEL_TOO_LONG, true });

	/* 4 x 63-octet labels + root = 257 octets. */
	n = query_of_labels(p, (const uint8_t[]){ 63, 63, 63, 63 }, 4);
	expect_bad(p, n, &(struct bad_case){ "name of 257 octets", DNS_E_NAME_TOO_LONG, true });
	/* 3 x 63 + 1 x 61 + root = 255: the longest legal name. */
	n = query_of_labels(p, (const uint8_t[]){ 63, 63, 63, 61 }, 4);
	is_int(parse(p, n, &q), 0, "a name of exactly 255 octets is fine");

	n = hdr(p, 0, 1, 0, 0, 0);
	n += put(p + n, "\300\014" QTAIL, 6);
	expect_bad(p, n, &(struct bad_case){ "pointer to itself", DNS_E_BAD_POINTER, true });
	n = hdr(p, 0, 1, 0, 0, 0);
	n += put(p + n, "\003www\300\014" QTAIL, 10);
	expect_bad(p, n, &(struct bad_case){ "loop through a label", DNS_E_BAD_POINTER, true });
	n = hdr(p, 0, 1, 0, 0, 0);
	n += put(p + n, "\300\022" QTAIL "\003www\000", 11);
	expect_bad(p, n, &(struct bad_case){ "forward pointer", DNS_E_BAD_POINTER, true });
	n = hdr(p, 0, 1, 0, 0, 0);
	n += put(p + n, "\300", 1);
	expect_bad(p, n, &(struct bad_case){ "half a pointer", DNS_E_TRUNC_NAME, true });

	n = hdr(p, 0, 1, 1, 0, 0);
	n += put(p + n, WWW_EXAMPLE QTAIL, 17);
	expect_bad(p, n, &(struct bad_case){ "answer records in a query", DNS_E_UNEXPECTED_RECORDS,
					     true });
	n = hdr(p, 0, 1, 0, 0, 5);
	n += put(p + n, WWW_EXAMPLE QTAIL OPT_ROOT, 28);
	expect_bad(p, n, &(struct bad_case){ "arcount larger than the packet", DNS_E_TRUNC_NAME,
					     true });
	n = hdr(p, 0, 1, 0, 0, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL OPT_ROOT, 24);
	expect_bad(p, n, &(struct bad_case){ "OPT cut short", DNS_E_TRUNC_RR, true });
	n = hdr(p, 0, 1, 0, 0, 2);
	n += put(p + n, WWW_EXAMPLE QTAIL OPT_ROOT OPT_ROOT, 39);
	expect_bad(p, n, &(struct bad_case){ "two OPT records", DNS_E_DUP_OPT, true });
	n = hdr(p, 0, 1, 0, 0, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL "\001a\000\000\051\004\320\000\000\000\000\000\000", 30);
	expect_bad(p, n, &(struct bad_case){ "OPT not owned by the root", DNS_E_BAD_OPT, true });
	/* OPT RDATA: an option claiming 9 octets in a 5-octet RDATA. */
	n = hdr(p, 0, 1, 0, 0, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL "\000\000\051\004\320\000\000\000\000\000\005"
		 "\000\012\000\011\001", 33);
	expect_bad(p, n, &(struct bad_case){ "OPT option longer than its RDATA", DNS_E_BAD_OPT,
					     true });
	n = hdr(p, 0, 1, 0, 0, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL "\000\000\051\004\320\000\000\000\000\000\010"
		 "\375\351\000\004abcd", 36);
	is_int(parse(p, n, &q), 0, "an OPT with a well-formed option parses");
	/* RFC 7873 5.2.2: COOKIE (option 10) is 8 or 16..40 octets. */
	n = hdr(p, 0, 1, 0, 0, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL "\000\000\051\004\320\000\000\000\000\000\010"
		 "\000\012\000\004abcd", 36);
	expect_bad(p, n, &(struct bad_case){ "a 4-octet COOKIE", DNS_E_BAD_COOKIE, true });
	n = hdr(p, 0, 1, 0, 0, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL "\000\000\051\004\320\000\000\000\000\000\014"
		 "\000\012\000\010abcdefgh", 40);
	ok(parse(p, n, &q) == 0 && q.cookie_len == 8 && memcmp(q.cookie, "abcdefgh", 8) == 0,
	   "a client cookie alone is kept");
	n = hdr(p, 0, 1, 0, 0, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL "\000\000\051\004\320\000\000\000\000\000\034"
		 "\000\012\000\030abcdefgh0123456789abcdef", 56);
	ok(parse(p, n, &q) == 0 && q.cookie_len == 24, "client and server cookie are kept");
	is_int(q.len, n, "the query's length is kept");
}

static void test_names(void)
{
	uint8_t w[DNS_NAME_MAX];
	char t[4 * DNS_NAME_MAX + 2];
	int n = dns_name_from_text("www.Example.", w);
	is_int(n, 13, "from_text length");
	is_int(dns_name_to_text(w, (size_t)n, t, sizeof(t)), 0, "to_text");
	is_str(t, "www.Example.", "round trip keeps the case");
	static const uint8_t odd[] = "\004a.b\\\002\001\000";
	is_int(dns_name_to_text(odd, 9, t, sizeof(t)), 0, "to_text with special octets");
	is_str(t, "a\\.b\\\\.\\001\\000.", "dots, backslashes and binary are escaped");
	n = dns_name_from_text(t, w);
	ok(n == 9 && memcmp(w, odd, 9) == 0, "... and parse back");
	is_int(dns_name_from_text("a..b", w), -EINVAL, "empty label rejected");
	char longlab[80];
	memset(longlab, 'x', 64);
	strcpy(longlab + 64, ".");
	is_int(dns_name_from_text(longlab, w), -EINVAL, "64-octet label rejected");
	is_int(dns_name_from_text(".", w), 1, "the root");
	ok(dns_name_is_below((const uint8_t *)"\001x\010ipv4only\004arpa", 17,
			     (const uint8_t *)"\010IPV4ONLY\004arpa", 15), "is_below, any case");
	ok(!dns_name_is_below((const uint8_t *)"\011xipv4only\004arpa", 16,
			      (const uint8_t *)"\010ipv4only\004arpa", 15), "is_below on label edges");
}

static void test_messages(void)
{
	/* A response with compression inside CNAME, SOA and MX RDATA. */
	uint8_t p[512];
	size_t n = hdr(p, DNS_F_QR | DNS_F_RD | DNS_F_RA, 1, 2, 1, 1);
	n += put(p + n, WWW_EXAMPLE QTAIL, 17);		/* name at 12 */
	n += put(p + n, "\300\014\000\005\000\001\000\000\001\054\000\006\003web\300\020", 18);
	n += put(p + n, "\300\014\000\017\000\001\000\000\000\074\000\004\000\012\300\020", 16);
	n += put(p + n, "\300\020\000\006\000\001\000\000\001\054\000\040"
		 "\002ns\300\020\004host\300\020\000\000\000\001\000\000\000\002\000\000\000\003"
		 "\000\000\000\004\000\000\000\005", 44);
	n += put(p + n, OPT_ROOT, 11);
	struct dns_msg m;
	enum dns_wire_err err;
	dns_msg_init(&m);
	is_int(dns_msg_parse(p, n, &m, &err), 0, "a compressed response parses");
	is_int(m.nrr, 3, "three records (OPT consumed)");
	ok(m.has_edns && m.edns_do, "OPT seen with DO");
	is_int(m.rr[0].rdlen, 13, "CNAME RDATA expanded (web.example.)");
	ok(memcmp(dns_rr_rdata(&m, &m.rr[0]), "\003web\007example\000", 13) == 0, "... correctly");
	is_int(m.rr[1].rdlen, 2 + 9, "MX RDATA expanded");
	is_int(m.rr[2].rdlen, 12 + 14 + 20, "SOA RDATA expanded");
	is_int(m.rr[2].section, DNS_S_NS, "SOA is in authority");

	/* Re-encode with compression, parse again: same records, fewer octets. */
	uint8_t out[1024];
	struct dns_builder b;
	dnsb_init(&b, out, sizeof(out), 7, DNS_F_QR);
	dnsb_question(&b, m.qname, m.qname_len, m.qtype, m.qclass);
	for (size_t i = 0; i < m.nrr; i++)
		is_int(dnsb_rr(&b, m.rr[i].section, dns_rr_name(&m, &m.rr[i]), m.rr[i].name_len,
			       m.rr[i].type, m.rr[i].rclass, m.rr[i].ttl, dns_rr_rdata(&m, &m.rr[i]),
			       m.rr[i].rdlen), 0, "record encoded");
	dnsb_opt(&b, 1232, 0, true);
	size_t len = dnsb_finish(&b);
	ok(len <= n, "our compression is at least as tight as the input");
	is_int(b.nttl, 3, "three TTL offsets recorded (OPT excluded)");
	is_int(get_be32(out + b.ttl_off[1]), 60, "TTL offsets point at TTLs");
	struct dns_msg m2;
	dns_msg_init(&m2);
	is_int(dns_msg_parse(out, len, &m2, &err), 0, "our encoding parses");
	ok(m2.nrr == 3 && m2.rr[0].rdlen == 13 &&
	   memcmp(dns_rr_rdata(&m2, &m2.rr[0]), dns_rr_rdata(&m, &m.rr[0]), 13) == 0 &&
	   m2.rr[2].rdlen == m.rr[2].rdlen &&
	   memcmp(dns_rr_rdata(&m2, &m2.rr[2]), dns_rr_rdata(&m, &m.rr[2]), m.rr[2].rdlen) == 0,
	   "... to the same records");

	/* Truncation keeps header, question and OPT. */
	size_t tl = dns_truncate(out, len, b.question_end, b.opt_off);
	is_int(tl, b.question_end + DNS_OPT_LEN, "truncated: question + OPT");
	ok(out[2] & (DNS_F_TC >> 8), "TC set");
	is_int(get_be16(out + 6) + get_be16(out + 8), 0, "no answer or authority records");
	is_int(get_be16(out + 10), 1, "the OPT stays");

	/* A record that does not fit is rolled back. */
	uint8_t tiny[40];
	dnsb_init(&b, tiny, sizeof(tiny), 1, 0);
	dnsb_question(&b, m.qname, m.qname_len, m.qtype, m.qclass);
	size_t before = b.len;
	is_int(dnsb_rr(&b, DNS_S_AN, m.qname, m.qname_len, DNS_T_TXT, DNS_C_IN, 1,
		       (const uint8_t *)"\030abcdefghijklmnopqrstuvwx", 25), -EMSGSIZE,
	       "a record too large for the buffer fails");
	is_int(b.len, before, "... and leaves the message as it was");
	is_int(b.count[1], 0, "... with its count unchanged");

	/* RDATA whose embedded name overruns its RDLENGTH. */
	n = hdr(p, DNS_F_QR, 1, 1, 0, 0);
	n += put(p + n, WWW_EXAMPLE QTAIL, 17);
	n += put(p + n, "\300\014\000\005\000\001\000\000\001\054\000\003\003web\300\020", 18);
	is_int(dns_msg_parse(p, n, &m2, &err), -EBADMSG, "a CNAME overrunning RDLENGTH is rejected");
	n = hdr(p, DNS_F_QR, 1, 3, 0, 0);
	n += put(p + n, WWW_EXAMPLE QTAIL, 17);
	is_int(dns_msg_parse(p, n, &m2, &err), -EBADMSG, "counts larger than the message");
	is_int(err, DNS_E_TRUNC_NAME, "... reason truncated_name");
	dns_msg_free(&m);
	dns_msg_free(&m2);
}

int main(void)
{
	plan(106);
	test_queries();
	test_malformed();
	test_names();
	test_messages();
	return tap_done();
}
