/* The translator's packet core against vectors built by scapy
 * (gen_xlate_vectors.py): every RFC 7915 rule, both directions, and the
 * drops for malformed input. Plus checksum, table and robustness checks. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/rfc6052.h"
#include "common/util.h"
#include "nat64/checksum.h"
#include "nat64/frag.h"
#include "nat64/xlate.h"
#include "tests/unit/tap.h"
#include "tests/unit/xlate_vectors.h"

static struct prefix_set *make_prefixes(void)
{
	struct prefix_set *set = prefix_set_alloc((sizeof(xv_prefixes) / sizeof(xv_prefixes[0])));
	for (size_t i = 0; i < (sizeof(xv_prefixes) / sizeof(xv_prefixes[0])); i++) {
		struct prefix_info *p = &set->prefixes[i];
		snprintf(p->name, sizeof(p->name), "p%zu", i);
		inet_pton(AF_INET6, xv_prefixes[i].addr, &p->addr);
		p->len = (uint8_t)xv_prefixes[i].len;
		p->roles = PREFIX_ROLE_TRANSLATE;
	}
	return set;
}

static void show_diff(const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen)
{
	size_t n = glen < wlen ? glen : wlen;
	for (size_t i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			printf("#   difference at octet %zu: got 0x%02x want 0x%02x\n", i, got[i],
			       want[i]);
			if (getenv("XLATE_ALL_DIFFS"))
				continue;
			return;
		}
	}
	printf("#   length got %zu want %zu\n", glen, wlen);
}

static bool same_packets(const struct nat64_out *out, const uint8_t *want, const uint32_t *lens,
			 unsigned count)
{
	size_t total = 0;
	for (unsigned i = 0; i < count; i++)
		total += lens[i];
	bool ok = out->count == count && out->len == total;
	for (unsigned i = 0; ok && i < count; i++)
		ok = out->pkt_len[i] == lens[i];
	if (ok && memcmp(out->buf, want, total) != 0)
		ok = false;
	if (!ok) {
		printf("#   packets got %u want %u\n", out->count, count);
		show_diff(out->buf, out->len, want, total);
	}
	return ok;
}

/* Translates `pkt` (from IPv6 when dir is 6, else from IPv4) with the
 * outer tuple a session would give it: src -> dst, sport -> dport, in the
 * other family. */
static enum nat64_verdict translate(const struct nat64_xlate_cfg *cfg, int dir,
				    const struct nat64_pkt *pkt, uint8_t proto, const char *src,
				    const char *dst, uint16_t sport, uint16_t dport,
				    struct nat64_out *out)
{
	struct nat64_tuple ot = { .proto = proto, .sport = sport, .dport = dport };
	if (dir == 6) {
		ot.family = AF_INET;
		inet_pton(AF_INET, src, &ot.src.v4);
		inet_pton(AF_INET, dst, &ot.dst.v4);
		return nat64_translate_6to4(cfg, pkt, &ot, out);
	}
	ot.family = AF_INET6;
	inet_pton(AF_INET6, src, &ot.src.v6);
	inet_pton(AF_INET6, dst, &ot.dst.v6);
	return nat64_translate_4to6(cfg, pkt, &ot, out);
}

static void run_vector(struct nat64_xlate_cfg *cfg, const struct xlate_vector *v, uint8_t *buf,
		       size_t cap)
{
	char name[300];
	struct nat64_pkt pkt;
	struct nat64_tuple t;
	uint32_t id = XV_ID_START;
	cfg->ipv4_id_next = &id;
	cfg->ipv4_mtu = v->ipv4_mtu;
	cfg->ipv6_mtu = v->ipv6_mtu;
	enum nat64_verdict d = v->dir == 6 ? nat64_determine_tuple6(cfg, v->in, v->in_len, &pkt, &t)
					   : nat64_determine_tuple4(cfg, v->in, v->in_len, &pkt, &t);
	snprintf(name, sizeof(name), "%s: determine -> %s", v->name, nat64_verdict_name(v->det));
	if (d != v->det) {
		ok(0, name);
		printf("#   got %s\n", nat64_verdict_name(d));
		return;
	}
	struct nat64_out out = { .buf = buf, .cap = cap };
	if (d != NAT64_CONTINUE) {
		if (!v->err)
			return (void)ok(1, name);
		ok(pkt.err_set && pkt.err_type == v->err_type && pkt.err_code == v->err_code &&
		   pkt.err_param == v->err_param, name);
		enum nat64_verdict e = nat64_icmp_error(cfg, &pkt, pkt.err_type, pkt.err_code,
							pkt.err_param, &out);
		snprintf(name, sizeof(name), "%s: the ICMP error owed", v->name);
		ok(e == NAT64_ICMP_SENT && same_packets(&out, v->err_out, (uint32_t[]){ (uint32_t)v->err_len }, 1),
		   name);
		return;
	}
	if (v->check_tuple) {
		bool tok = t.sport == v->t_sport && t.dport == v->t_dport;
		if (v->t_dst4) {
			struct in_addr a;
			inet_pton(AF_INET, v->t_dst4, &a);
			tok = tok && a.s_addr == pkt.dst4.s_addr;
		}
		if (!tok)
			printf("#   tuple ports %u %u\n", t.sport, t.dport);
		ok(tok, name);
	} else {
		ok(1, name);
	}

	enum nat64_verdict x = translate(cfg, v->dir, &pkt, t.proto, v->ot_src, v->ot_dst,
					 v->ot_sport, v->ot_dport, &out);
	snprintf(name, sizeof(name), "%s: translate -> %s", v->name, nat64_verdict_name(v->xl));
	if (x != v->xl) {
		ok(0, name);
		printf("#   got %s\n", nat64_verdict_name(x));
		return;
	}
	if (x != NAT64_CONTINUE && x != NAT64_ICMP_SENT)
		return (void)ok(1, name);
	ok(same_packets(&out, v->out, v->out_lens, v->out_count), name);
}

/* RFC 1624 section 4 example: old checksum 0xdd2f, a word 0x5555 -> 0x3285
 * gives 0x0000 with equation 3 ... which must never yield -0 (0xffff). */
static void test_checksum(void)
{
	uint8_t data[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	is_int(nat64_csum_ipv4_header(data, 20), 0xb861, "IPv4 header checksum (RFC 1071 example)");
	is_int(nat64_csum_update(0xdd2f, 0x5555, 0x3285), 0x0000,
	       "RFC 1624 equation 3 example: 0xdd2f, 0x5555 -> 0x3285 gives 0x0000");
	/* Update equals recomputation for a random header edit. */
	uint8_t b[64];
	srand(7);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rand();
		uint16_t before = nat64_csum_finish(nat64_csum_add(0, b, sizeof(b)));
		size_t at = (size_t)(rand() % 31) * 2;
		uint32_t old = nat64_csum_add(0, b + at, 2);
		b[at] = (uint8_t)rand();
		b[at + 1] = (uint8_t)rand();
		uint32_t new = nat64_csum_add(0, b + at, 2);
		uint16_t after = nat64_csum_finish(nat64_csum_add(0, b, sizeof(b)));
		uint16_t inc = nat64_csum_update(before, old, new);
		if (inc != after && !(inc == 0xffff && after == 0) && !(inc == 0 && after == 0xffff)) {
			ok(0, "incremental update equals recomputation");
			return;
		}
	}
	ok(1, "incremental update equals recomputation (200 random edits)");
	uint8_t odd[] = { 0x01, 0x02, 0x03 };
	is_int(nat64_csum_fold(nat64_csum_add(0, odd, 3)), 0x0402, "odd length padded with zero");
}

/* Robustness: every vector cut at every length and with bytes flipped must
 * give a verdict, never a crash or an out-of-bounds read (ASan builds). */
static void test_mutations(struct nat64_xlate_cfg *cfg, uint8_t *buf, size_t cap)
{
	size_t runs = 0;
	uint8_t *m = malloc(70000);
	srand(11);
	for (size_t i = 0; i < (sizeof(xlate_vectors) / sizeof(xlate_vectors[0])); i++) {
		const struct xlate_vector *v = &xlate_vectors[i];
		for (size_t cut = 0; cut <= v->in_len; cut += 1 + v->in_len / 64) {
			for (int flip = 0; flip < 3; flip++) {
				memcpy(m, v->in, cut);
				if (flip && cut)
					m[rand() % cut] ^= (uint8_t)(1u << (rand() % 8));
				struct nat64_pkt pkt;
				struct nat64_tuple t, ot;
				uint8_t *in = malloc(cut ? cut : 1);
				memcpy(in, m, cut);
				enum nat64_verdict d = v->dir == 6 ?
					nat64_determine_tuple6(cfg, in, cut, &pkt, &t) :
					nat64_determine_tuple4(cfg, in, cut, &pkt, &t);
				struct nat64_out out = { .buf = buf, .cap = cap };
				if (d == NAT64_CONTINUE) {
					ot = t;
					ot.family = v->dir == 6 ? AF_INET : AF_INET6;
					if (v->dir == 6)
						nat64_translate_6to4(cfg, &pkt, &ot, &out);
					else
						nat64_translate_4to6(cfg, &pkt, &ot, &out);
				} else if (pkt.err_set) {
					nat64_icmp_error(cfg, &pkt, pkt.err_type, pkt.err_code,
							 pkt.err_param, &out);
				}
				free(in);
				runs++;
			}
		}
	}
	free(m);
	ok(runs > 1000, "truncated and bit-flipped vectors never crash");
}

/* The errors the state layer owes a sender (RFC 6146 3.5.1, 3.5.3). */
static void run_own_error(struct nat64_xlate_cfg *cfg, const struct own_error_vector *v,
			  uint8_t *buf, size_t cap)
{
	struct nat64_pkt pkt;
	struct nat64_tuple t;
	uint32_t id = XV_ID_START;
	cfg->ipv4_id_next = &id;
	struct nat64_out out = { .buf = buf, .cap = cap };
	enum nat64_verdict d = nat64_determine_tuple4(cfg, v->in, v->in_len, &pkt, &t);
	enum nat64_verdict e = d == NAT64_CONTINUE ?
		nat64_icmp_error(cfg, &pkt, v->type, v->code, v->param, &out) : d;
	if (e != NAT64_ICMP_SENT)
		printf("#   got %s\n", nat64_verdict_name(e));
	ok(e == NAT64_ICMP_SENT &&
	   same_packets(&out, v->out, (uint32_t[]){ (uint32_t)v->out_len }, 1), v->name);
	cfg->ipv4_id_next = NULL;	/* `id` goes out of scope */
}

static void test_small_buffer(struct nat64_xlate_cfg *cfg)
{
	const struct xlate_vector *v = &xlate_vectors[0];
	struct nat64_pkt pkt;
	struct nat64_tuple t;
	nat64_determine_tuple6(cfg, v->in, v->in_len, &pkt, &t);
	uint8_t small[30];
	struct nat64_out out = { .buf = small, .cap = sizeof(small) };
	struct nat64_tuple ot = t;
	ot.family = AF_INET;
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_DROP_NO_BUFFER,
	       "output buffer too small is a named drop");
}

static void run_reasm(struct nat64_xlate_cfg *cfg, const struct reasm_vector *r, uint8_t *buf,
		      size_t cap)
{
	char name[300];
	struct nat64_frag_table *ft = nat64_frag_new(8, 1 << 20, 2000);
	uint32_t id = XV_ID_START;
	cfg->frags = ft;
	cfg->ipv4_id_next = &id;
	cfg->reassemble_unchecksummed_udp = r->reassemble;
	struct nat64_pkt pkt;
	struct nat64_tuple t;
	enum nat64_verdict d = NAT64_DROP_INTERNAL;
	bool held_ok = true;
	for (unsigned i = 0; i < r->nfrags; i++) {
		d = r->dir == 6 ? nat64_determine_tuple6(cfg, r->frags[i], r->flens[i], &pkt, &t)
				: nat64_determine_tuple4(cfg, r->frags[i], r->flens[i], &pkt, &t);
		if (i + 1 < r->nfrags && d != NAT64_HELD && d != r->det)
			held_ok = false;
		if (d != NAT64_HELD && d != NAT64_CONTINUE)
			break;
	}
	snprintf(name, sizeof(name), "%s: fragments held, then %s", r->name, nat64_verdict_name(r->det));
	if (!ok(held_ok && d == r->det, name)) {
		printf("#   got %s\n", nat64_verdict_name(d));
		goto out;
	}
	if (d == NAT64_CONTINUE) {
		struct nat64_out out = { .buf = buf, .cap = cap };
		enum nat64_verdict x = translate(cfg, r->dir, &pkt, t.proto, r->ot_src, r->ot_dst,
						 r->ot_sport, r->ot_dport, &out);
		snprintf(name, sizeof(name), "%s: translated", r->name);
		ok(x == NAT64_CONTINUE && same_packets(&out, r->out, r->out_lens, r->out_count), name);
	}
out:
	cfg->frags = NULL;
	cfg->reassemble_unchecksummed_udp = false;
	nat64_frag_free(ft);
}

/* Limits: a table of two datagrams evicts the oldest; timeouts expire. */
static void test_frag_limits(struct nat64_xlate_cfg *cfg)
{
	const struct reasm_vector *r = &reasm_vectors[0];	/* 6to4, 3 fragments */
	struct nat64_frag_table *ft = nat64_frag_new(2, 1 << 20, 1000);
	cfg->frags = ft;
	struct nat64_pkt pkt;
	struct nat64_tuple t;
	is_int(nat64_determine_tuple6(cfg, r->frags[0], r->flens[0], &pkt, &t), NAT64_HELD,
	       "first fragment held");
	struct nat64_frag_stats st;
	nat64_frag_expire(ft, monotonic_ms() + 1000);
	nat64_frag_get_stats(ft, &st);
	is_int(st.c[NAT64_FRAG_timeouts], 1, "unfinished datagram expires after fragment-timeout");
	is_int(nat64_determine_tuple6(cfg, r->frags[1], r->flens[1], &pkt, &t), NAT64_HELD,
	       "later fragment starts a new datagram");
	is_int(nat64_determine_tuple6(cfg, r->frags[2], r->flens[2], &pkt, &t), NAT64_HELD,
	       "still missing the first piece");
	/* Two other datagrams (different IDs) push this one out. */
	uint8_t f[2000];
	for (int k = 1; k <= 2; k++) {
		memcpy(f, r->frags[0], r->flens[0]);
		f[47] ^= (uint8_t)k;	/* the low octet of the identification */
		nat64_determine_tuple6(cfg, f, r->flens[0], &pkt, &t);
	}
	nat64_frag_get_stats(ft, &st);
	is_int(st.c[NAT64_FRAG_evicted], 1, "a full table evicts the oldest datagram");
	is_int(nat64_determine_tuple6(cfg, r->frags[0], r->flens[0], &pkt, &t), NAT64_HELD,
	       "evicted datagram is not completed by its first fragment");
	nat64_frag_free(ft);
	ft = nat64_frag_new(4, 1500, 1000);
	cfg->frags = ft;
	is_int(nat64_determine_tuple6(cfg, r->frags[0], r->flens[0], &pkt, &t), NAT64_HELD,
	       "byte cap: first fragment fits");
	is_int(nat64_determine_tuple6(cfg, r->frags[1], r->flens[1], &pkt, &t),
	       NAT64_DROP_FRAGMENT_LIMIT, "byte cap: the datagram may not grow past it");
	nat64_frag_free(ft);
	cfg->frags = NULL;
}

/* RFC 4443 2.4 (e)/(f): no errors to multicast sources, and a rate limit. */
static void test_own_errors(struct nat64_xlate_cfg *cfg, uint8_t *buf, size_t cap)
{
	const struct xlate_vector *v = NULL;
	for (size_t i = 0; i < sizeof(xlate_vectors) / sizeof(xlate_vectors[0]); i++)
		if (strstr(xlate_vectors[i].name, "hop limit 1 ->"))
			v = &xlate_vectors[i];
	if (!ok(v != NULL, "hop-limit vector present"))
		return;
	uint8_t p[2000];
	memcpy(p, v->in, v->in_len);
	struct nat64_pkt pkt;
	struct nat64_tuple t;
	struct nat64_out out = { .buf = buf, .cap = cap };
	is_int(nat64_determine_tuple6(cfg, p, v->in_len, &pkt, &t), NAT64_CONTINUE, "parsed");
	struct nat64_tuple ot = { .family = AF_INET, .proto = t.proto, .sport = 1, .dport = 2 };
	struct nat64_icmp_limit lim = { .per_sec = 1, .burst = 2 };
	cfg->icmp_limit = &lim;
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_ICMP_SENT, "rate limit: 1st error");
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_ICMP_SENT, "rate limit: 2nd error");
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_DROP_HOP_LIMIT,
	       "rate limit: the burst is spent: dropped for its hop limit, no error");
	is_int((int)lim.suppressed, 1, "rate limit: the error held back is counted");
	/* Per destination (the sender's /64), with a fake clock. */
	struct nat64_icmp_limit dl = { .per_sec = 100, .burst = 100, .dst_per_sec = 1,
				       .dst_burst = 1, .now_ms = 5000 };
	cfg->icmp_limit = &dl;
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_ICMP_SENT,
	       "per destination: the first error to a sender");
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_DROP_HOP_LIMIT,
	       "per destination: not a second one within the second");
	p[8 + 7] ^= 1;	/* another /64 */
	is_int(nat64_determine_tuple6(cfg, p, v->in_len, &pkt, &t), NAT64_CONTINUE, "parsed");
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_ICMP_SENT,
	       "per destination: another sender still gets its error");
	p[8 + 7] ^= 1;
	is_int(nat64_determine_tuple6(cfg, p, v->in_len, &pkt, &t), NAT64_CONTINUE, "parsed");
	dl.now_ms += 1000;
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_ICMP_SENT,
	       "per destination: a second later, the first sender again");
	is_int((int)dl.suppressed, 1, "per destination: one error held back");
	cfg->icmp_limit = NULL;
	p[8] = 0xff;	/* a multicast source */
	is_int(nat64_determine_tuple6(cfg, p, v->in_len, &pkt, &t), NAT64_CONTINUE, "parsed");
	is_int(nat64_translate_6to4(cfg, &pkt, &ot, &out), NAT64_DROP_HOP_LIMIT,
	       "no Time Exceeded to a multicast source: dropped for its hop limit");
}

static void test_names(void)
{
	is_str(nat64_verdict_name(NAT64_DROP_NON_GLOBAL_V4),
	       "non-global IPv4 under the Well-Known Prefix", "verdict names from the X-macro list");
	is_str(nat64_verdict_name(NAT64_VERDICT_COUNT), "unknown", "out-of-range verdict");
}

int main(void)
{
	plan(327);
	struct prefix_set *set = make_prefixes();
	struct nat64_xlate_cfg cfg = { .prefixes = set };
	inet_pton(AF_INET, XV_OWN4, &cfg.own_v4);
	inet_pton(AF_INET6, XV_OWN6, &cfg.own_v6);
	size_t cap = 65536 + 64 * 48;
	uint8_t *buf = malloc(cap);
	for (size_t i = 0; i < (sizeof(xlate_vectors) / sizeof(xlate_vectors[0])); i++)
		run_vector(&cfg, &xlate_vectors[i], buf, cap);
	cfg.ipv4_mtu = cfg.ipv6_mtu = 0;
	for (size_t i = 0; i < sizeof(reasm_vectors) / sizeof(reasm_vectors[0]); i++)
		run_reasm(&cfg, &reasm_vectors[i], buf, cap);
	test_frag_limits(&cfg);
	for (size_t i = 0; i < sizeof(own_error_vectors) / sizeof(own_error_vectors[0]); i++)
		run_own_error(&cfg, &own_error_vectors[i], buf, cap);
	test_own_errors(&cfg, buf, cap);
	test_checksum();
	test_small_buffer(&cfg);
	test_names();
	uint32_t id = 1;
	cfg.ipv4_id_next = &id;
	test_mutations(&cfg, buf, cap);
	free(buf);
	prefix_set_free(set);
	return tap_done();
}
