/* Fragment reassembly for the translator; the design is in frag.h. */
#include "autoconf.h"
#include "nat64/frag.h"

#include <stdlib.h>

#include "common/counters.h"
#include "nat64/xlate_priv.h"

/* The unfragmentable part of an IPv6 fragment (header + extension headers
 * before the fragment header) we keep; RFC 8200 4.5 puts no limit on it,
 * we do. */
#define FRAG_HDR_MAX 1024
#define FRAG_DATA_MAX 65535	/* payload octets of one datagram */

struct piece {
	uint32_t start, end;
};

struct frag_entry {
	bool used;
	int family;
	uint8_t proto;		/* IPv4 protocol; the key of RFC 791 */
	uint8_t src[16], dst[16];
	uint32_t id;
	uint64_t start_ms;
	uint8_t *data;		/* payload octets at their offsets */
	size_t data_cap;
	uint8_t hdr[FRAG_HDR_MAX];	/* the first fragment's header */
	size_t hdr_len;
	size_t nh_at;		/* IPv6: the octet to get the upper protocol */
	uint8_t nh;		/* IPv6: the fragment header's next header */
	bool have_first;
	uint32_t total;		/* payload length once the last piece came, else 0 */
	uint32_t held;		/* payload octets held */
	unsigned npieces;
	struct piece pieces[NAT64_FRAG_MAX_PIECES];
};

struct nat64_frag_table {
	size_t max_entries, max_bytes, bytes;
	uint32_t timeout_ms;
	struct nat64_frag_stats st;
	uint8_t *out;		/* the last datagram handed out */
	struct frag_entry entries[];
};

struct nat64_frag_table *nat64_frag_new(size_t max_datagrams, size_t max_bytes,
					uint32_t timeout_ms)
{
	if (max_datagrams == 0)
		max_datagrams = 1;
	struct nat64_frag_table *t =
		calloc(1, sizeof(*t) + max_datagrams * sizeof(t->entries[0]));
	if (!t)
		return NULL;
	t->out = malloc(FRAG_HDR_MAX + FRAG_DATA_MAX);
	if (!t->out) {
		free(t);
		return NULL;
	}
	t->max_entries = max_datagrams;
	t->max_bytes = max_bytes;
	t->timeout_ms = timeout_ms;
	return t;
}

static void entry_drop(struct nat64_frag_table *t, struct frag_entry *e)
{
	t->bytes -= e->held;
	free(e->data);
	e->data = NULL;
	e->data_cap = 0;
	e->used = false;
}

void nat64_frag_free(struct nat64_frag_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->max_entries; i++)
		if (t->entries[i].used)
			entry_drop(t, &t->entries[i]);
	free(t->out);
	free(t);
}

void nat64_frag_get_stats(const struct nat64_frag_table *t, struct nat64_frag_stats *out)
{
	for (unsigned i = 0; i < NAT64_FRAG__COUNT; i++)
		out->c[i] = counter_get(&t->st.c[i]);
}

void nat64_frag_expire(struct nat64_frag_table *t, uint64_t now_ms)
{
	for (size_t i = 0; i < t->max_entries; i++) {
		struct frag_entry *e = &t->entries[i];
		if (e->used && now_ms - e->start_ms >= t->timeout_ms) {
			entry_drop(t, e);
			counter_inc(&t->st.c[NAT64_FRAG_timeouts], 1);
		}
	}
}

static struct frag_entry *oldest(struct nat64_frag_table *t)
{
	struct frag_entry *o = NULL;
	for (size_t i = 0; i < t->max_entries; i++)
		if (t->entries[i].used && (!o || t->entries[i].start_ms < o->start_ms))
			o = &t->entries[i];
	return o;
}

static struct frag_entry *find_or_add(struct nat64_frag_table *t, uint64_t now_ms, int family,
				      const uint8_t *src, const uint8_t *dst, size_t alen,
				      uint32_t id, uint8_t proto)
{
	struct frag_entry *free_slot = NULL;
	for (size_t i = 0; i < t->max_entries; i++) {
		struct frag_entry *e = &t->entries[i];
		if (!e->used) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->family == family && e->id == id && e->proto == proto &&
		    memcmp(e->src, src, alen) == 0 && memcmp(e->dst, dst, alen) == 0)
			return e;
	}
	if (!free_slot) {
		free_slot = oldest(t);
		entry_drop(t, free_slot);
		counter_inc(&t->st.c[NAT64_FRAG_evicted], 1);
	}
	struct frag_entry *e = free_slot;
	memset(e, 0, offsetof(struct frag_entry, hdr));
	e->hdr_len = 0;
	e->have_first = false;
	e->total = 0;
	e->held = 0;
	e->npieces = 0;
	e->used = true;
	e->family = family;
	e->proto = proto;
	memcpy(e->src, src, alen);
	memcpy(e->dst, dst, alen);
	e->id = id;
	e->start_ms = now_ms;
	return e;
}

/* Builds the whole datagram into t->out. */
static enum nat64_verdict assemble(struct nat64_frag_table *t, struct frag_entry *e,
				   const uint8_t **whole, size_t *whole_len)
{
	uint8_t *o = t->out;
	memcpy(o, e->hdr, e->hdr_len);
	memcpy(o + e->hdr_len, e->data, e->total);
	size_t len = e->hdr_len + e->total;
	if (e->family == AF_INET) {
		if (len > 0xffff)
			return NAT64_DROP_TOO_BIG;
		put_be16(o + 2, (uint16_t)len);
		put_be16(o + 6, get_be16(o + 6) & IPV4_DF);	/* no MF, offset 0 */
		put_be16(o + 10, 0);
		put_be16(o + 10, nat64_csum_ipv4_header(o, e->hdr_len));
	} else {
		if (len - IPV6_HDR_LEN > 0xffff)
			return NAT64_DROP_TOO_BIG;
		put_be16(o + 4, (uint16_t)(len - IPV6_HDR_LEN));
		o[e->nh_at] = e->nh;	/* the fragment header is gone */
	}
	*whole = o;
	*whole_len = len;
	counter_inc(&t->st.c[NAT64_FRAG_reassembled], 1);
	return NAT64_CONTINUE;
}

enum nat64_verdict nat64_frag_add(struct nat64_frag_table *t, uint64_t now_ms, int family,
				  const uint8_t *p, size_t len, const struct nat64_l3 *l3,
				  const uint8_t **whole, size_t *whole_len)
{
	nat64_frag_expire(t, now_ms);
	size_t alen, data_at, end_at, hdr_len;
	uint8_t proto = 0;
	if (family == AF_INET) {
		alen = 4;
		hdr_len = data_at = l3->l3_len;
		end_at = get_be16(p + 2);
		proto = l3->proto;
	} else {
		alen = 16;
		hdr_len = l3->frag_hdr;
		data_at = l3->frag_hdr + IPV6_FRAG_HDR_LEN;
		end_at = IPV6_HDR_LEN + get_be16(p + 4);
	}
	if (end_at > len || data_at > end_at)
		return NAT64_DROP_TRUNCATED;
	uint32_t start = l3->offset;
	uint32_t n = (uint32_t)(end_at - data_at);
	uint32_t end = start + n;
	/* Every piece but the last is a multiple of 8 (RFC 791, RFC 8200). */
	if ((l3->mf && (n % 8 || n == 0)) || end > FRAG_DATA_MAX || hdr_len > FRAG_HDR_MAX) {
		counter_inc(&t->st.c[NAT64_FRAG_too_big], 1);
		return NAT64_DROP_FRAGMENT_LIMIT;
	}
	const uint8_t *src = p + (family == AF_INET ? 12 : 8);
	const uint8_t *dst = p + (family == AF_INET ? 16 : 24);
	struct frag_entry *e = find_or_add(t, now_ms, family, src, dst, alen, l3->id, proto);

	for (unsigned i = 0; i < e->npieces; i++) {
		struct piece *q = &e->pieces[i];
		if (q->start == start && q->end == end)
			return NAT64_HELD;	/* a duplicate */
		if (start < q->end && q->start < end) {
			entry_drop(t, e);	/* RFC 5722: overlap kills it */
			counter_inc(&t->st.c[NAT64_FRAG_overlaps], 1);
			return NAT64_DROP_FRAGMENT_OVERLAP;
		}
	}
	/* The last piece fixes the length; nothing may lie beyond it. */
	bool inconsistent = e->total && end > e->total;
	if (!l3->mf) {
		inconsistent |= e->total && e->total != end;
		for (unsigned i = 0; i < e->npieces; i++)
			inconsistent |= e->pieces[i].end > end;
	}
	if (inconsistent) {
		entry_drop(t, e);
		counter_inc(&t->st.c[NAT64_FRAG_overlaps], 1);
		return NAT64_DROP_FRAGMENT_OVERLAP;
	}
	if (!l3->mf)
		e->total = end;
	if (e->npieces == NAT64_FRAG_MAX_PIECES) {
		entry_drop(t, e);
		counter_inc(&t->st.c[NAT64_FRAG_too_big], 1);
		return NAT64_DROP_FRAGMENT_LIMIT;
	}
	/* Make room under the byte cap, oldest first (never this one). */
	while (t->max_bytes && t->bytes + n > t->max_bytes) {
		struct frag_entry *o = NULL;
		for (size_t i = 0; i < t->max_entries; i++) {
			struct frag_entry *c = &t->entries[i];
			if (c->used && c != e && (!o || c->start_ms < o->start_ms))
				o = c;
		}
		if (!o) {
			entry_drop(t, e);
			counter_inc(&t->st.c[NAT64_FRAG_too_big], 1);
			return NAT64_DROP_FRAGMENT_LIMIT;
		}
		entry_drop(t, o);
		counter_inc(&t->st.c[NAT64_FRAG_evicted], 1);
	}
	if (end > e->data_cap) {
		size_t cap = e->data_cap ? e->data_cap : 2048;
		while (cap < end)
			cap *= 2;
		if (cap > FRAG_DATA_MAX)
			cap = FRAG_DATA_MAX;
		uint8_t *d = realloc(e->data, cap);
		if (!d) {
			entry_drop(t, e);
			return NAT64_DROP_FRAGMENT_LIMIT;
		}
		e->data = d;
		e->data_cap = cap;
	}
	memcpy(e->data + start, p + data_at, n);
	e->pieces[e->npieces++] = (struct piece){ start, end };
	e->held += n;
	t->bytes += n;
	counter_inc(&t->st.c[NAT64_FRAG_held], 1);
	if (start == 0) {
		e->have_first = true;
		memcpy(e->hdr, p, hdr_len);
		e->hdr_len = hdr_len;
		if (family == AF_INET6) {
			e->nh_at = l3->frag_nh_at;
			e->nh = p[l3->frag_hdr];
		}
	}
	if (!e->have_first || !e->total || e->held != e->total)
		return NAT64_HELD;
	enum nat64_verdict v = assemble(t, e, whole, whole_len);
	entry_drop(t, e);
	return v;
}
