/* Who loses an entry when the table or a pool address is full.
 *
 * Every entry has an eviction class, cheapest first:
 *   acked   a handoff cache entry (the server gives it back on a LOOKUP)
 *   cheap   no reply yet (a lone SYN, a one-way UDP or ICMP flow), or
 *           transitory TCP (after a RST, both FINs seen)
 *   live    answered UDP/ICMP; TCP established but not yet confirmed
 *   est     TCP established and confirmed: its initiator sent after the
 *           handshake (a spoofed SYN's answer goes to someone who never
 *           asked, so no spoofed flood reaches this class). RFC 6146's
 *           timers rank it the same way (2 h 4 min against 5 min for UDP).
 * Each client (client-prefix-len prefix) keeps one list per class, and the
 * clients holding entries of a class sit in buckets by how many, so "the
 * client holding the most entries of the cheapest class, its oldest" is a
 * few index reads: O(1) per packet, no scan.
 *
 * A client's fair share is max-sessions divided by the clients holding a
 * confirmed connection (see over_share: a number no spoofed flood can
 * raise). The victim for a new entry of client R, the first that applies,
 * always the oldest entry of the heaviest holder of its class:
 *   1. acked entries;
 *   2. cheap entries, unless their heaviest holder is R itself and R is
 *      within its share;
 *   3. live, then 4. established entries of a client over its share
 *      (counted as displaced);
 *   5. live entries of a client holding two entries more than R;
 *   6. R's own cheap entries;
 *   7. live, then 8. established entries; R's own when R is over its
 *      share (a client over its share never takes a connection from one
 *      within it).
 * So a flood of new flows only ever recycles cheap entries (whatever the
 * number and spread of its sources), a client within its share displaces
 * a client over it before it loses anything of its own, and an
 * established, confirmed connection of a client within its share is the
 * last thing to go.
 *
 * A full pool address (per protocol) makes room the same way, by mapping:
 * from a few used ports sampled at random points (a holder of many ports
 * is likely among them), the mapping of the cheapest class, then of the
 * holder with the most ports, then the least recently used; it may be
 * taken from another client only when it is cheap or that client holds
 * at least two ports more than R. */
#include "autoconf.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "nat64/pool4.h"
#include "nat64/session_priv.h"

/* Used ports sampled on a full address. */
#define RECLAIM_SAMPLE 16
/* A mapping with more sessions than this is not taken back at once (its
 * removal is bounded by what one call may record: SESSION_EVENTS_MAX). */
#define RECLAIM_MAX_SESSIONS 8
/* A client's own entries looked at for one of its mappings to recycle. */
#define RECYCLE_SCAN 16

const char *session_evict_class_name(uint8_t ec)
{
	static const char *const names[EC_COUNT] = {
		[EC_ACKED] = "acked", [EC_CHEAP] = "cheap", [EC_LIVE] = "live",
		[EC_EST] = "established",
	};
	return ec < EC_COUNT ? names[ec] : "pinned";
}

uint8_t sess_evict_class(const struct sess *s)
{
	if (s->flags & SF_PINNED)
		return EC_NONE;
	if (s->state == SESSION_ACKED)
		return EC_ACKED;
	if (s->proto == IPPROTO_TCP) {
		switch (s->tcp) {
		case SESSION_TCP_ESTABLISHED:
		case SESSION_TCP_V4_FIN_RCV:
		case SESSION_TCP_V6_FIN_RCV:
			return (s->flags & SF_CONFIRMED) ? EC_EST : EC_LIVE;
		default:
			return EC_CHEAP;	/* INIT, TRANS, both FINs */
		}
	}
	return (s->flags & SF_SEEN6) && (s->flags & SF_SEEN4) ? EC_LIVE : EC_CHEAP;
}

/* --- clients in buckets by count, one set per class --- */

static unsigned bucket_of(uint32_t n)
{
	return n < EVICT_BUCKETS ? n : EVICT_BUCKETS - 1;
}

static void bucket_insert(struct session_table *t, unsigned c, uint32_t ci)
{
	struct evict_buckets *bs = &t->buckets[c];
	struct client_class *cc = &t->cli[ci].ec[c];
	unsigned b = bucket_of(cc->n);
	uint32_t h = bs->head[b];
	if (h == NIL) {
		cc->bprev = cc->bnext = ci;
		bs->head[b] = ci;
	} else {
		/* At the tail: the head is the one that has held as many longest. */
		uint32_t tail = t->cli[h].ec[c].bprev;
		cc->bprev = tail;
		cc->bnext = h;
		t->cli[tail].ec[c].bnext = ci;
		t->cli[h].ec[c].bprev = ci;
	}
	if (b > bs->top)
		bs->top = b;
}

static void bucket_unlink(struct session_table *t, unsigned c, uint32_t ci, unsigned b)
{
	struct evict_buckets *bs = &t->buckets[c];
	struct client_class *cc = &t->cli[ci].ec[c];
	if (cc->bnext == ci) {
		bs->head[b] = NIL;
		return;
	}
	t->cli[cc->bprev].ec[c].bnext = cc->bnext;
	t->cli[cc->bnext].ec[c].bprev = cc->bprev;
	if (bs->head[b] == ci)
		bs->head[b] = cc->bnext;
}

/* The client's count of class c changes by `delta` (+1 or -1). Counts move
 * by one, so when the top bucket empties the next one down holds this
 * client (or the class is empty): the top moves at most one step. */
static void client_count(struct session_table *t, unsigned c, uint32_t ci, int delta)
{
	struct client_class *cc = &t->cli[ci].ec[c];
	struct evict_buckets *bs = &t->buckets[c];
	uint32_t old = cc->n, n = old + (uint32_t)delta;
	if (old && n && bucket_of(n) == bucket_of(old)) {
		cc->n = n;
		return;
	}
	if (old)
		bucket_unlink(t, c, ci, bucket_of(old));
	if (c == EC_EST && (old == 0) != (n == 0))
		t->est_clients += n ? 1 : (uint64_t)-1;
	cc->n = n;
	if (n)
		bucket_insert(t, c, ci);
	while (bs->top && bs->head[bs->top] == NIL)
		bs->top--;
}

/* --- the lists --- */

void sess_evict_unlink(struct session_table *t, uint32_t i)
{
	struct sess *s = &t->sess[i];
	if (s->ec == EC_NONE)
		return;
	struct client_class *cc = &t->cli[s->client].ec[s->ec];
	if (s->eprev != NIL)
		t->sess[s->eprev].enext = s->enext;
	else
		cc->head = s->enext;
	if (s->enext != NIL)
		t->sess[s->enext].eprev = s->eprev;
	else
		cc->tail = s->eprev;
	s->eprev = s->enext = NIL;
	client_count(t, s->ec, s->client, -1);
	t->ec_total[s->ec]--;
	s->ec = EC_NONE;
}

static void evict_push(struct session_table *t, uint32_t i, uint8_t ec)
{
	struct sess *s = &t->sess[i];
	struct client_class *cc = &t->cli[s->client].ec[ec];
	s->ec = ec;
	s->eprev = NIL;
	s->enext = cc->head;
	if (cc->head != NIL)
		t->sess[cc->head].eprev = i;
	else
		cc->tail = i;
	cc->head = i;
	client_count(t, ec, s->client, +1);
	t->ec_total[ec]++;
}

/* Moves an entry to the front of its client's list (a use): counts and
 * buckets stay as they are. */
static void evict_to_front(struct session_table *t, uint32_t i)
{
	struct sess *s = &t->sess[i];
	struct client_class *cc = &t->cli[s->client].ec[s->ec];
	if (cc->head == i)
		return;
	t->sess[s->eprev].enext = s->enext;
	if (s->enext != NIL)
		t->sess[s->enext].eprev = s->eprev;
	else
		cc->tail = s->eprev;
	s->eprev = NIL;
	s->enext = cc->head;
	t->sess[cc->head].eprev = i;
	cc->head = i;
}

void sess_evict_link(struct session_table *t, uint32_t i, bool touch)
{
	struct sess *s = &t->sess[i];
	uint8_t ec = sess_evict_class(s);
	if (ec == s->ec) {
		if (touch && ec != EC_NONE)
			evict_to_front(t, i);
		return;
	}
	sess_evict_unlink(t, i);
	if (ec != EC_NONE)
		evict_push(t, i, ec);
}

/* --- victims for a full table --- */

static uint32_t top_client(const struct session_table *t, unsigned c)
{
	const struct evict_buckets *bs = &t->buckets[c];
	return bs->top ? bs->head[bs->top] : NIL;
}

/* Over its fair share: holds more than max-sessions / the clients that
 * hold a confirmed connection. Only those count: a spoofed flood can add
 * any number of clients with cheap entries (or, through a server that
 * answers, live ones), never one with a confirmed connection, so it
 * cannot shrink the share of the clients it wants to push out. With no
 * such client, nobody is over. */
static bool over_share(const struct session_table *t, uint32_t ci)
{
	return ci != NIL && (uint64_t)t->cli[ci].count * t->est_clients > t->max;
}

enum who {
	ANY,		/* the heaviest holder of the class */
	NOT_SELF,	/* ... unless that is R, within its share */
	OVER,		/* ... if it is over its share */
	HEAVIER,	/* ... if it holds two entries more than R */
	FAIR,		/* ... or R itself when R is over its share */
};

static const struct {
	uint8_t ec, who;
} victim_order[] = {
	{ EC_ACKED, ANY }, { EC_CHEAP, NOT_SELF }, { EC_LIVE, OVER }, { EC_EST, OVER },
	{ EC_LIVE, HEAVIER }, { EC_CHEAP, ANY }, { EC_LIVE, FAIR }, { EC_EST, FAIR },
};

/* The entry to evict for client `r` (NIL: new), its counter in *ctr. */
static uint32_t pick_victim(const struct session_table *t, uint32_t r, unsigned *ctr)
{
	static const unsigned by_class[EC_COUNT] = {
		SESSION_C_evicted_acked, SESSION_C_evicted_cheap, SESSION_C_evicted_live,
		SESSION_C_evicted_est,
	};
	bool r_over = over_share(t, r);
	uint32_t r_count = r != NIL ? t->cli[r].count : 0;
	for (size_t k = 0; k < ARRAY_SIZE(victim_order); k++) {
		uint8_t c = victim_order[k].ec;
		uint32_t x = top_client(t, c);
		if (x == NIL)
			continue;
		switch (victim_order[k].who) {
		case ANY:
			break;
		case NOT_SELF:
			if (x == r && !r_over)
				continue;
			break;
		case OVER:
			if (x == r || !over_share(t, x))
				continue;
			*ctr = SESSION_C_displaced;
			return t->cli[x].ec[c].tail;
		case HEAVIER:
			if (x == r || t->cli[x].count <= r_count + 1)
				continue;
			break;
		case FAIR:
			if (r_over) {
				/* R pays for its own excess. */
				if (t->cli[r].ec[c].n == 0)
					continue;
				x = r;
			}
			break;
		}
		*ctr = by_class[c];
		return t->cli[x].ec[c].tail;
	}
	return NIL;
}

int sess_make_room(struct session_table *t, uint32_t ci, struct session_events *evs)
{
	if (t->free_sess != NIL)
		return 0;
	unsigned ctr = 0;
	uint32_t v = pick_victim(t, ci, &ctr);
	if (v == NIL)
		return -ENOSPC;	/* every entry is pinned */
	t->c[ctr]++;
	sess_remove(t, v, SESSION_EV_EVICTED, evs);
	return 0;
}

/* --- mappings for a full pool address --- */

static unsigned proto_slot(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : 2;
}

/* The class of a mapping (its dearest session) and its last use; false
 * when it may not be taken (pinned, or too many sessions at once). */
static bool mapping_class(const struct session_table *t, uint32_t bi, uint8_t *ec,
			  uint64_t *last)
{
	const struct bib *b = &t->bib[bi];
	if (b->nsess > RECLAIM_MAX_SESSIONS)
		return false;
	*ec = EC_ACKED;
	*last = 0;
	for (uint32_t i = b->sess_head; i != NIL; i = t->sess[i].bnext) {
		const struct sess *s = &t->sess[i];
		if (s->ec == EC_NONE)
			return false;
		if (s->ec > *ec)
			*ec = s->ec;
		if (s->last_used > *last)
			*last = s->last_used;
	}
	return true;
}

/* Removes a mapping with all its sessions. */
static void take_mapping(struct session_table *t, uint32_t bi, struct session_events *evs)
{
	for (uint32_t n = t->bib[bi].nsess; n > 0; n--)
		sess_remove(t, t->bib[bi].sess_head, SESSION_EV_EVICTED, evs);
}

int sess_reclaim_port(struct session_table *t, uint32_t ci, uint8_t proto,
		      const struct in6_addr *c6, struct session_events *evs)
{
	struct in_addr a;
	if (!pool4_paired(t->pool, c6, &a))
		return -ENOSPC;
	uint16_t ports[RECLAIM_SAMPLE];
	unsigned n = pool4_sample(t->pool, proto, a, ports, RECLAIM_SAMPLE);
	unsigned slot = proto_slot(proto);
	uint32_t mine = ci != NIL ? t->cli[ci].ports[slot] : 0;
	uint32_t best = NIL, best_ports = 0;
	uint8_t best_ec = EC_COUNT;
	uint64_t best_last = 0;
	for (unsigned k = 0; k < n; k++) {
		uint32_t bi = sess_find_bib4(t, proto, a, ports[k]);
		uint8_t ec;
		uint64_t last;
		if (bi == NIL || !mapping_class(t, bi, &ec, &last))
			continue;	/* a reserved port, or not to be taken now */
		uint32_t holder = t->bib[bi].client;
		uint32_t hp = holder != NIL ? t->cli[holder].ports[slot] : 0;
		if (ec > EC_CHEAP && hp <= mine + 1)
			continue;	/* a real connection of a client no heavier */
		bool better = best == NIL || ec < best_ec ||
			      (ec == best_ec && (hp > best_ports ||
						 (hp == best_ports && last < best_last)));
		if (better) {
			best = bi;
			best_ec = ec;
			best_ports = hp;
			best_last = last;
		}
	}
	if (best == NIL)
		return -ENOSPC;
	take_mapping(t, best, evs);
	t->c[SESSION_C_pool_reclaimed]++;
	return 0;
}

int sess_recycle_own_port(struct session_table *t, uint32_t ci, uint8_t proto,
			  struct session_events *evs)
{
	static const uint8_t classes[] = { EC_ACKED, EC_CHEAP };
	for (size_t k = 0; k < ARRAY_SIZE(classes); k++) {
		unsigned scanned = 0;
		for (uint32_t i = t->cli[ci].ec[classes[k]].tail; i != NIL && scanned < RECYCLE_SCAN;
		     i = t->sess[i].eprev, scanned++) {
			uint8_t ec;
			uint64_t last;
			if (t->sess[i].proto != proto ||
			    !mapping_class(t, t->sess[i].bib, &ec, &last) || ec > EC_CHEAP)
				continue;
			take_mapping(t, t->sess[i].bib, evs);
			t->c[SESSION_C_port_recycled]++;
			return 0;
		}
	}
	return -ENOSPC;
}

/* --- the invariants, for tests (session_table_check) --- */

static int check_class(struct session_table *t, unsigned c, uint64_t *est_clients)
{
	uint64_t total = 0;
	for (uint32_t ci = 0; ci < t->max; ci++) {
		const struct client *cl = &t->cli[ci];
		if (cl->count == 0)
			continue;	/* free (or never used) */
		const struct client_class *cc = &cl->ec[c];
		uint32_t n = 0, prev = NIL;
		for (uint32_t i = cc->head; i != NIL; prev = i, i = t->sess[i].enext) {
			const struct sess *s = &t->sess[i];
			if (s->ec != c || s->client != ci || s->eprev != prev ||
			    sess_evict_class(s) != c)
				return 1;
			if (++n > t->max)
				return 2;	/* a loop */
		}
		if (n != cc->n || cc->tail != prev)
			return 3;
		total += n;
		if (c == EC_EST && n)
			(*est_clients)++;
		if (!n)
			continue;
		/* In the bucket of its count, linked both ways. */
		unsigned b = bucket_of(n);
		uint32_t k = t->buckets[c].head[b], steps = 0;
		if (k == NIL || b > t->buckets[c].top)
			return 4;
		do {
			if (t->cli[t->cli[k].ec[c].bnext].ec[c].bprev != k || ++steps > t->max)
				return 5;
			k = t->cli[k].ec[c].bnext;
		} while (k != ci && k != t->buckets[c].head[b]);
		if (k != ci)
			return 6;
	}
	const struct evict_buckets *bs = &t->buckets[c];
	if (total != t->ec_total[c] || (bs->top && bs->head[bs->top] == NIL))
		return 7;
	for (unsigned b = bs->top + 1; b < EVICT_BUCKETS; b++)
		if (bs->head[b] != NIL)
			return 8;
	return 0;
}

int session_table_check(struct session_table *t)
{
	pthread_mutex_lock(&t->lock);
	uint64_t est_clients = 0, in_lists = 0;
	int rc = 0;
	for (unsigned c = 0; c < EC_COUNT && !rc; c++)
		rc = check_class(t, c, &est_clients);
	if (!rc && est_clients != t->est_clients)
		rc = 9;
	for (unsigned cl = 0; cl < CL_COUNT && !rc; cl++)
		for (uint32_t i = t->head[cl]; i != NIL && !rc; i = t->sess[i].next) {
			const struct sess *s = &t->sess[i];
			in_lists++;
			if (s->cls != cl || t->bib[s->bib].client != s->client)
				rc = 10;
		}
	if (!rc && in_lists != t->g[SESSION_G_count])
		rc = 11;
	pthread_mutex_unlock(&t->lock);
	return rc;
}
