/* DNS message codec (RFC 1035 section 4, RFC 6891 EDNS0): a strict query
 * parser for the hot path (no allocation), a full message parser for
 * upstream answers (names decompressed into an arena) and a response
 * builder with name compression. */
#ifndef SIXFOUR_DNS64_WIRE_H
#define SIXFOUR_DNS64_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_NAME_MAX 255
#define DNS_LABEL_MAX 63
#define DNS_OPT_LEN 11		/* an OPT RR without options */
#define DNS_MAX_MSG 65535

enum dns_type {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_MD = 3, DNS_T_MF = 4, DNS_T_CNAME = 5,
	DNS_T_SOA = 6, DNS_T_MB = 7, DNS_T_MG = 8, DNS_T_MR = 9, DNS_T_PTR = 12,
	DNS_T_HINFO = 13, DNS_T_MINFO = 14, DNS_T_MX = 15, DNS_T_TXT = 16,
	DNS_T_RP = 17, DNS_T_AFSDB = 18, DNS_T_RT = 21, DNS_T_AAAA = 28,
	DNS_T_SRV = 33, DNS_T_NAPTR = 35, DNS_T_KX = 36, DNS_T_DNAME = 39,
	DNS_T_OPT = 41, DNS_T_DS = 43, DNS_T_RRSIG = 46, DNS_T_NSEC = 47,
	DNS_T_DNSKEY = 48, DNS_T_NSEC3 = 50, DNS_T_NSEC3PARAM = 51,
	DNS_T_IXFR = 251, DNS_T_AXFR = 252, DNS_T_MAILB = 253, DNS_T_MAILA = 254,
	DNS_T_ANY = 255,
};

enum dns_class { DNS_C_IN = 1, DNS_C_CH = 3, DNS_C_HS = 4, DNS_C_NONE = 254, DNS_C_ANY = 255 };

enum dns_flag {
	DNS_F_QR = 0x8000,
	DNS_F_OPCODE = 0x7800,
	DNS_F_AA = 0x0400,
	DNS_F_TC = 0x0200,
	DNS_F_RD = 0x0100,
	DNS_F_RA = 0x0080,
	DNS_F_Z = 0x0040,
	DNS_F_AD = 0x0020,
	DNS_F_CD = 0x0010,
	DNS_F_RCODE = 0x000f,
};

enum dns_rcode {
	DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5, DNS_R_BADVERS = 16,
};

enum dns_section { DNS_S_AN, DNS_S_NS, DNS_S_AR, DNS_S_COUNT };

#define DNS_EDNS_DO 0x8000	/* in the OPT TTL's low 16 bits (RFC 3225) */

/* Why a message was rejected; the names are the counters' names. */
#define DNS_WIRE_ERRORS(X) \
	X(OK, "ok") \
	X(SHORT_HEADER, "short_header") \
	X(IS_RESPONSE, "is_response") \
	X(TRUNC_NAME, "truncated_name") \
	X(LABEL_TOO_LONG, "label_too_long") \
	X(NAME_TOO_LONG, "name_too_long") \
	X(BAD_POINTER, "bad_compression_pointer") \
	X(TRUNC_QUESTION, "truncated_question") \
	X(TRUNC_RR, "truncated_rr") \
	X(QDCOUNT, "qdcount_not_one") \
	X(UNEXPECTED_RECORDS, "records_in_query") \
	X(BAD_OPT, "bad_opt") \
	X(DUP_OPT, "duplicate_opt") \
	X(TOO_MANY_RRS, "too_many_records") \
	X(BAD_COOKIE, "bad_cookie") \
	X(NOMEM, "no_memory")

enum dns_wire_err {
#define X(id, name) DNS_E_##id,
	DNS_WIRE_ERRORS(X)
#undef X
	DNS_E_COUNT
};

const char *dns_wire_err_name(enum dns_wire_err e);

/* Reads the (possibly compressed) name at `*off` into `out` as an
 * uncompressed wire name (at most 255 octets) and advances `*off` past it.
 * Compression pointers must point strictly backwards (before the label
 * that holds them), which rules out loops and forward references. Returns
 * the name's length, or -EBADMSG with `*err` set. */
int dns_name_read(const uint8_t *p, size_t len, size_t *off, uint8_t *out,
		  enum dns_wire_err *err);
/* Skips a name without decoding it; 0 or -EBADMSG. */
int dns_name_skip(const uint8_t *p, size_t len, size_t *off, enum dns_wire_err *err);
/* Case-insensitive comparison of two wire names (ASCII letters only). */
bool dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Lower-cases ASCII letters of a wire name in place. */
void dns_name_lower(uint8_t *name, size_t len);
/* True when `name` is `zone` or below it. */
bool dns_name_is_below(const uint8_t *name, size_t nlen, const uint8_t *zone, size_t zlen);
/* Presentation form ("www.example.", "\046" escapes); -ENOSPC if it does
 * not fit `size` (at most 4 x 255 + 2 octets are ever needed). */
int dns_name_to_text(const uint8_t *name, size_t len, char *out, size_t size);
/* The value of one hexadecimal digit, or -1. */
int dns_hex_digit(int c);
/* Parses presentation form into a wire name; returns its length or -EINVAL. */
int dns_name_from_text(const char *text, uint8_t *out);

/* A parsed query: what the server needs, with no allocation. */
struct dns_query {
	uint16_t id;
	uint16_t flags;
	uint8_t qname[DNS_NAME_MAX];	/* as received (case kept) */
	uint8_t qname_lc[DNS_NAME_MAX];	/* lower-cased, the cache key */
	uint8_t qname_len;
	uint16_t qtype;
	uint16_t qclass;
	bool has_edns;
	uint8_t edns_version;
	bool edns_do;
	uint16_t edns_udp;		/* requestor's payload size, >= 512 */
	uint16_t len;			/* of the query as received */
	uint8_t cookie_len;		/* COOKIE option data (RFC 7873): 0, 8, 16..40 */
	uint8_t cookie[40];
	enum dns_wire_err err;
};

/* Parses a query (RFC 1035 4.1) and its first COOKIE option (RFC 7873
 * 5.2.2: a length other than 8 or 16..40 is FORMERR). Returns 0; or
 * -EBADMSG with q->err set,
 * and with q->id/q->flags/q->qname filled as far as they could be read, so
 * the caller can decide whether a FORMERR reply is safe (it is when the
 * header and the question were read: dns_query_replyable()). */
int dns_query_parse(const uint8_t *p, size_t len, struct dns_query *q);
bool dns_query_replyable(const struct dns_query *q);

/* One resource record of a parsed message; name and rdata live in the
 * message's arena (rdata names decompressed). */
struct dns_rr {
	uint32_t name_off;
	uint32_t rdata_off;
	uint32_t ttl;
	uint16_t type;
	uint16_t rclass;
	uint16_t rdlen;
	uint8_t name_len;
	uint8_t section;
};

/* A whole message (upstream answers, synthesized answers). */
struct dns_msg {
	uint16_t id;
	uint16_t flags;
	uint8_t qname[DNS_NAME_MAX];
	uint8_t qname_len;		/* 0: no question */
	uint16_t qtype, qclass;
	bool has_edns;
	bool edns_do;
	struct dns_rr *rr;
	size_t nrr, rr_cap;
	uint8_t *arena;
	size_t arena_len, arena_cap;
};

#define DNS_MSG_MAX_RRS 4096

void dns_msg_init(struct dns_msg *m);
void dns_msg_free(struct dns_msg *m);
/* Parses a complete message (any QR); the OPT record is consumed into
 * has_edns/edns_do and not kept as an RR. 0 or -EBADMSG/-ENOMEM with
 * `*err` set. `m` must be initialised; on error it is left empty. */
int dns_msg_parse(const uint8_t *p, size_t len, struct dns_msg *m, enum dns_wire_err *err);
/* Appends a record; rdata is copied as given (uncompressed). 0 or -ENOMEM. */
int dns_msg_add(struct dns_msg *m, enum dns_section sec, const uint8_t *name, size_t nlen,
		uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
static inline const uint8_t *dns_rr_name(const struct dns_msg *m, const struct dns_rr *rr)
{
	return m->arena + rr->name_off;
}
static inline const uint8_t *dns_rr_rdata(const struct dns_msg *m, const struct dns_rr *rr)
{
	return m->arena + rr->rdata_off;
}
static inline unsigned dns_msg_rcode(const struct dns_msg *m)
{
	return m->flags & DNS_F_RCODE;
}

/* The response builder. Records that do not fit are rolled back and the
 * call fails with -EMSGSIZE so the caller can set TC. */
#define DNSB_MAX_COMP 64
#define DNSB_MAX_TTLS 128
struct dns_builder {
	uint8_t *buf;
	size_t cap, len;
	uint16_t count[4];		/* QD, AN, NS, AR */
	uint16_t comp[DNSB_MAX_COMP];	/* offsets of names for compression */
	size_t ncomp;
	uint16_t ttl_off[DNSB_MAX_TTLS];	/* where TTL fields are, for aging */
	size_t nttl;
	bool ttl_overflow;		/* more TTLs than ttl_off holds */
	size_t question_end;
	size_t opt_off;			/* 0 = no OPT written */
};

void dnsb_init(struct dns_builder *b, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
int dnsb_question(struct dns_builder *b, const uint8_t *qname, size_t qlen, uint16_t qtype,
		  uint16_t qclass);
int dnsb_rr(struct dns_builder *b, enum dns_section sec, const uint8_t *name, size_t nlen,
	    uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
/* Appends OPT (RFC 6891 6.1.2): payload size, extended rcode, DO. */
int dnsb_opt(struct dns_builder *b, uint16_t udp_size, unsigned rcode, bool dnssec_ok);
/* Writes the counts; returns the message length. */
size_t dnsb_finish(struct dns_builder *b);

/* Cuts a response we built down to header + question (+ OPT when
 * `opt_off` is non-zero) with TC set (RFC 1035 4.1.1, RFC 6891 7). Returns
 * the new length. */
size_t dns_truncate(uint8_t *buf, size_t len, size_t question_end, size_t opt_off);

#endif
