/* libFuzzer target for the DNS codec: the query parser (with its COOKIE
 * option, judged as the server would), the full message parser, and
 * re-encoding whatever parsed (so the builder's compression and the rdata
 * expansion see hostile input too). */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dns64/cookie.h"
#include "dns64/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_MAX_MSG];
	struct dns_query q;
	if (dns_query_parse(data, size, &q) == 0) {
		char text[4 * DNS_NAME_MAX + 2];
		uint8_t back[DNS_NAME_MAX];
		if (dns_name_to_text(q.qname, q.qname_len, text, sizeof(text)) == 0) {
			int n = dns_name_from_text(text, back);
			/* Presentation form must round-trip exactly. */
			if (n != q.qname_len || memcmp(back, q.qname, (size_t)n) != 0)
				abort();
		}
		/* RFC 7873 5.2.2: the parser admits 8 or 16..40 octets only. */
		if (q.cookie_len && q.cookie_len != 8 && (q.cookie_len < 16 || q.cookie_len > 40))
			abort();
		if (q.cookie_len) {
			static const struct dns64_cookie_secrets s = { .n = 1 };
			struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
			bool renew;
			uint8_t reply[24];
			dns64_cookie_check(&s, q.cookie, q.cookie_len, (struct sockaddr *)&sa, 0, &renew);
			dns64_cookie_make(s.key[0], q.cookie, (struct sockaddr *)&sa, 0, reply);
		}
	}
	struct dns_msg m;
	enum dns_wire_err err;
	dns_msg_init(&m);
	if (dns_msg_parse(data, size, &m, &err) == 0) {
		struct dns_builder b;
		dnsb_init(&b, out, sizeof(out), m.id, m.flags);
		if (m.qname_len)
			dnsb_question(&b, m.qname, m.qname_len, m.qtype, m.qclass);
		for (size_t i = 0; i < m.nrr; i++) {
			const struct dns_rr *rr = &m.rr[i];
			if (dnsb_rr(&b, rr->section, dns_rr_name(&m, rr), rr->name_len, rr->type,
				    rr->rclass, rr->ttl, dns_rr_rdata(&m, rr), rr->rdlen) != 0)
				break;
		}
		size_t len = dnsb_finish(&b);
		/* What we encode must parse again. */
		struct dns_msg again;
		dns_msg_init(&again);
		if (dns_msg_parse(out, len, &again, &err) != 0)
			abort();
		dns_msg_free(&again);
	}
	dns_msg_free(&m);
	return 0;
}
