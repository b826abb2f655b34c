/* The DNS64 rate limiter of ratelimit.h. */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <netinet/in.h>

#include "common/counters.h"
#include "dns64/cookie.h"
#include "dns64/ratelimit.h"

#define RL_WAYS 8		/* entries per bucket */
#define RL_LOCKS 256		/* power of two */
#define US_PER_S 1000000u

/* Family, level and masked address: one budget. */
struct rl_key {
	uint8_t addr[16];
	uint8_t family;
	uint8_t scope;
	uint8_t plen;
	uint8_t pad;
	uint32_t partner;
};

/* A bucket keeps what a lookup reads first (a fingerprint of each key, the
 * arrival times) in two cache lines, and the keys, compared only on a
 * fingerprint match, apart. */
struct rl_bucket {
	uint32_t fp[RL_WAYS];		/* 0 = unused */
	uint64_t tat_us[RL_WAYS];	/* theoretical arrival time */
	uint32_t limited[RL_WAYS];	/* queries limited, for slip */
	struct rl_key key[RL_WAYS];
};

/* Where one key lives: its bucket and way. */
struct rl_slot {
	struct rl_bucket *b;
	int way;
};

struct dns64_ratelimit {
	uint8_t hash_key[16];
	size_t nbuckets;		/* power of two */
	uint64_t evictions;		/* counter_add: several writers */
	pthread_mutex_t lock[RL_LOCKS];
	struct rl_bucket *buckets;
};

struct dns64_ratelimit *dns64_ratelimit_new(size_t entries)
{
	struct dns64_ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->nbuckets = 1;
	while (rl->nbuckets * RL_WAYS < entries)
		rl->nbuckets *= 2;
	rl->buckets = calloc(rl->nbuckets, sizeof(*rl->buckets));
	if (!rl->buckets) {
		free(rl);
		return NULL;
	}
	for (unsigned i = 0; i < RL_LOCKS; i++)
		pthread_mutex_init(&rl->lock[i], NULL);
	if (getrandom(rl->hash_key, sizeof(rl->hash_key), 0) != sizeof(rl->hash_key)) {
		uint64_t t = monotonic_us();
		memcpy(rl->hash_key, &t, sizeof(t));
	}
	return rl;
}

void dns64_ratelimit_free(struct dns64_ratelimit *rl)
{
	if (!rl)
		return;
	for (unsigned i = 0; i < RL_LOCKS; i++)
		pthread_mutex_destroy(&rl->lock[i]);
	free(rl->buckets);
	free(rl);
}

uint64_t dns64_ratelimit_evictions(const struct dns64_ratelimit *rl)
{
	return rl ? counter_get(&rl->evictions) : 0;
}

static void make_key(struct rl_key *k, const struct sockaddr *sa, unsigned v6_len,
		     unsigned v4_len, enum dns64_rl_scope scope)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)sa->sa_family;
	k->scope = (uint8_t)scope;
	if (sa->sa_family == AF_INET6) {
		memcpy(k->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		k->plen = (uint8_t)v6_len;
		mask_octets(k->addr, 16, v6_len);
	} else {
		memcpy(k->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		k->plen = (uint8_t)v4_len;
		mask_octets(k->addr, 4, v4_len);
	}
}

bool dns64_rl_same_client(const struct dns64_rl_policy *pol, const struct sockaddr *a,
			  const struct sockaddr *b)
{
	struct rl_key ka, kb;
	make_key(&ka, a, pol->v6_len, pol->v4_len, DNS64_RL_client);
	make_key(&kb, b, pol->v6_len, pol->v4_len, DNS64_RL_client);
	return memcmp(&ka, &kb, sizeof(ka)) == 0;
}

static uint64_t hash_of(const struct dns64_ratelimit *rl, const struct rl_key *k)
{
	return dns64_siphash24(rl->hash_key, k, sizeof(*k));
}

static size_t bucket_of(const struct dns64_ratelimit *rl, uint64_t h)
{
	return (size_t)h & (rl->nbuckets - 1);
}

/* The key's slot, made when missing: in a free way, else in place of the
 * entry with the least debt (see the top of ratelimit.h); never in place
 * of `keep` (the other slot of the same query). */
static struct rl_slot slot_of(struct dns64_ratelimit *rl, size_t b, uint64_t h,
			      const struct rl_key *k, uint64_t now, const struct rl_slot *keep)
{
	struct rl_bucket *bk = &rl->buckets[b];
	uint32_t fp = (uint32_t)(h >> 32) | 1;	/* never 0 */
	int idle = -1, least = -1;
	for (int i = 0; i < RL_WAYS; i++) {
		if (bk->fp[i] == fp && memcmp(&bk->key[i], k, sizeof(*k)) == 0)
			return (struct rl_slot){ bk, i };
		if (keep && keep->b == bk && keep->way == i)
			continue;
		if (!bk->fp[i] || bk->tat_us[i] <= now) {
			if (idle < 0)
				idle = i;
		} else if (least < 0 || bk->tat_us[i] < bk->tat_us[least]) {
			least = i;
		}
	}
	int w = idle >= 0 ? idle : least;
	if (idle < 0)
		counter_add(&rl->evictions, 1);
	bk->fp[w] = fp;
	bk->key[w] = *k;
	bk->tat_us[w] = now;
	bk->limited[w] = 0;
	return (struct rl_slot){ bk, w };
}

static uint64_t interval_us(const struct dns64_rl_limit *l)
{
	return l->qps >= US_PER_S ? 1 : US_PER_S / l->qps;
}

/* GCRA: the arrival time after this query, when it conforms (at most
 * `burst` queries ahead of the rate), else 0. */
static uint64_t conforms(struct rl_slot s, const struct dns64_rl_limit *l, uint64_t now)
{
	uint64_t iv = interval_us(l);
	uint64_t tat = s.b->tat_us[s.way];
	uint64_t next = (tat > now ? tat : now) + iv;
	return next - now <= iv * (l->burst ? l->burst : 1) ? next : 0;
}

static enum dns64_rl_verdict limited(struct rl_slot s, unsigned slip)
{
	uint32_t n = ++s.b->limited[s.way];
	return slip && n % slip == 0 ? DNS64_RL_SLIP : DNS64_RL_DROP;
}

static pthread_mutex_t *lock_of(struct dns64_ratelimit *rl, size_t b)
{
	return &rl->lock[b & (RL_LOCKS - 1)];
}

/* One budget. */
static enum dns64_rl_verdict check_one(struct dns64_ratelimit *rl, const struct rl_key *k,
				       const struct dns64_rl_limit *l, unsigned slip, uint64_t now)
{
	uint64_t h = hash_of(rl, k);
	size_t b = bucket_of(rl, h);
	pthread_mutex_t *lk = lock_of(rl, b);
	pthread_mutex_lock(lk);
	struct rl_slot s = slot_of(rl, b, h, k, now, NULL);
	uint64_t next = conforms(s, l, now);
	enum dns64_rl_verdict v = DNS64_RL_PASS;
	if (next)
		s.b->tat_us[s.way] = next;
	else
		v = limited(s, slip);
	pthread_mutex_unlock(lk);
	return v;
}

/* The client's and the enclosing prefix's budgets, both or neither
 * charged: the two locks are taken in a fixed order. */
static struct dns64_rl_result check_two(struct dns64_ratelimit *rl, const struct rl_key *kc,
					const struct rl_key *ke,
					const struct dns64_rl_policy *pol, uint64_t now)
{
	uint64_t hc = hash_of(rl, kc), he = hash_of(rl, ke);
	size_t bc = bucket_of(rl, hc), be = bucket_of(rl, he);
	pthread_mutex_t *lc = lock_of(rl, bc), *le = lock_of(rl, be);
	pthread_mutex_t *first = lc < le ? lc : le, *second = lc < le ? le : lc;
	pthread_mutex_lock(first);
	if (second != first)
		pthread_mutex_lock(second);
	struct rl_slot sc = slot_of(rl, bc, hc, kc, now, NULL);
	struct rl_slot se = slot_of(rl, be, he, ke, now, &sc);
	uint64_t nc = conforms(sc, &pol->client, now);
	uint64_t ne = conforms(se, &pol->enclosing, now);
	struct dns64_rl_result r = { DNS64_RL_PASS, DNS64_RL_client };
	if (!nc) {
		r.verdict = limited(sc, pol->slip);
	} else if (!ne) {
		r.verdict = limited(se, pol->slip);
		r.scope = DNS64_RL_enclosing;
	} else {
		sc.b->tat_us[sc.way] = nc;
		se.b->tat_us[se.way] = ne;
	}
	if (second != first)
		pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
	return r;
}

static const struct dns64_rl_partner *partner_of(const struct dns64_rl_policy *pol,
						 const struct sockaddr *sa)
{
	const struct dns64_rl_partner *best = NULL;
	for (size_t i = 0; i < pol->npartners; i++) {
		const struct dns64_rl_partner *p = &pol->partners[i];
		bool in = sa->sa_family == AF_INET6 ?
			  p->prefix.family == AF_INET6 &&
			  cidr_contains_v6(&p->prefix, &((const struct sockaddr_in6 *)sa)->sin6_addr) :
			  p->prefix.family == AF_INET &&
			  cidr_contains_v4(&p->prefix, ((const struct sockaddr_in *)sa)->sin_addr);
		if (in && (!best || p->prefix.len > best->prefix.len))
			best = p;
	}
	return best;
}

struct dns64_rl_result dns64_ratelimit_check(struct dns64_ratelimit *rl,
					     const struct dns64_rl_policy *pol,
					     const struct sockaddr *sa, bool verified,
					     uint64_t now_us)
{
	struct dns64_rl_result r = { DNS64_RL_PASS, DNS64_RL_client };
	struct rl_key kc, ke;
	/* 0 means "never used" in the table. */
	uint64_t now = now_us ? now_us : 1;
	if (!rl)
		return r;
	const struct dns64_rl_partner *p = partner_of(pol, sa);
	if (p) {
		r.scope = DNS64_RL_partner;
		if (!p->limit.qps)
			return r;
		make_key(&kc, sa, p->prefix.len, p->prefix.len, DNS64_RL_partner);
		kc.partner = (uint32_t)(p - pol->partners);
		r.verdict = check_one(rl, &kc, &p->limit, pol->slip, now);
		return r;
	}
	if (verified) {
		r.scope = DNS64_RL_verified;
		if (!pol->verified.qps)
			return r;
		make_key(&kc, sa, pol->v6_len, pol->v4_len, DNS64_RL_verified);
		r.verdict = check_one(rl, &kc, &pol->verified, pol->slip, now);
		return r;
	}
	unsigned enc_len = sa->sa_family == AF_INET6 ? pol->v6_enc_len : pol->v4_enc_len;
	bool client = pol->client.qps != 0, enclosing = enc_len && pol->enclosing.qps;
	if (client)
		make_key(&kc, sa, pol->v6_len, pol->v4_len, DNS64_RL_client);
	if (enclosing)
		make_key(&ke, sa, pol->v6_enc_len, pol->v4_enc_len, DNS64_RL_enclosing);
	if (client && enclosing)
		return check_two(rl, &kc, &ke, pol, now);
	if (client)
		r.verdict = check_one(rl, &kc, &pol->client, pol->slip, now);
	else if (enclosing) {
		r.scope = DNS64_RL_enclosing;
		r.verdict = check_one(rl, &ke, &pol->enclosing, pol->slip, now);
	}
	return r;
}
