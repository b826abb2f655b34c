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

struct rl_entry {
	struct rl_key key;
	uint64_t tat_us;		/* theoretical arrival time; 0 = unused */
	uint32_t limited;		/* queries limited, for slip */
};

struct rl_bucket {
	struct rl_entry e[RL_WAYS];
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

static size_t bucket_of(const struct dns64_ratelimit *rl, const struct rl_key *k)
{
	return (size_t)dns64_siphash24(rl->hash_key, k, sizeof(*k)) & (rl->nbuckets - 1);
}

/* The key's entry, made when missing: in a free way, else in place of
 * the entry with the least debt (see the top of ratelimit.h); never in
 * place of `keep` (the other entry of the same query). */
static struct rl_entry *entry_of(struct dns64_ratelimit *rl, size_t b, const struct rl_key *k,
				 uint64_t now, const struct rl_entry *keep)
{
	struct rl_bucket *bk = &rl->buckets[b];
	struct rl_entry *idle = NULL, *least = NULL;
	for (int i = 0; i < RL_WAYS; i++) {
		struct rl_entry *e = &bk->e[i];
		if (e->tat_us && memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
		if (e == keep)
			continue;
		if (e->tat_us <= now) {
			if (!idle)
				idle = e;
		} else if (!least || e->tat_us < least->tat_us) {
			least = e;
		}
	}
	struct rl_entry *e = idle ? idle : least;
	if (!idle)
		counter_add(&rl->evictions, 1);
	e->key = *k;
	e->tat_us = now;
	e->limited = 0;
	return e;
}

static uint64_t interval_us(const struct dns64_rl_limit *l)
{
	return l->qps >= US_PER_S ? 1 : US_PER_S / l->qps;
}

/* GCRA: the arrival time after this query, when it conforms (at most
 * `burst` queries ahead of the rate), else 0. */
static uint64_t conforms(const struct rl_entry *e, const struct dns64_rl_limit *l, uint64_t now)
{
	uint64_t iv = interval_us(l);
	uint64_t next = (e->tat_us > now ? e->tat_us : now) + iv;
	return next - now <= iv * (l->burst ? l->burst : 1) ? next : 0;
}

static enum dns64_rl_verdict limited(struct rl_entry *e, unsigned slip)
{
	e->limited++;
	return slip && e->limited % slip == 0 ? DNS64_RL_SLIP : DNS64_RL_DROP;
}

static pthread_mutex_t *lock_of(struct dns64_ratelimit *rl, size_t b)
{
	return &rl->lock[b & (RL_LOCKS - 1)];
}

/* One budget. */
static enum dns64_rl_verdict check_one(struct dns64_ratelimit *rl, const struct rl_key *k,
				       const struct dns64_rl_limit *l, unsigned slip, uint64_t now)
{
	size_t b = bucket_of(rl, k);
	pthread_mutex_t *lk = lock_of(rl, b);
	pthread_mutex_lock(lk);
	struct rl_entry *e = entry_of(rl, b, k, now, NULL);
	uint64_t next = conforms(e, l, now);
	enum dns64_rl_verdict v = DNS64_RL_PASS;
	if (next)
		e->tat_us = next;
	else
		v = limited(e, slip);
	pthread_mutex_unlock(lk);
	return v;
}

/* The client's and the enclosing prefix's budgets, both or neither
 * charged: the two locks are taken in a fixed order. */
static struct dns64_rl_result check_two(struct dns64_ratelimit *rl, const struct rl_key *kc,
					const struct rl_key *ke,
					const struct dns64_rl_policy *pol, uint64_t now)
{
	size_t bc = bucket_of(rl, kc), be = bucket_of(rl, ke);
	pthread_mutex_t *lc = lock_of(rl, bc), *le = lock_of(rl, be);
	pthread_mutex_t *first = lc < le ? lc : le, *second = lc < le ? le : lc;
	pthread_mutex_lock(first);
	if (second != first)
		pthread_mutex_lock(second);
	struct rl_entry *ec = entry_of(rl, bc, kc, now, NULL);
	struct rl_entry *ee = entry_of(rl, be, ke, now, ec);
	uint64_t nc = conforms(ec, &pol->client, now);
	uint64_t ne = conforms(ee, &pol->enclosing, now);
	struct dns64_rl_result r = { DNS64_RL_PASS, DNS64_RL_client };
	if (!nc) {
		r.verdict = limited(ec, pol->slip);
	} else if (!ne) {
		r.verdict = limited(ee, pol->slip);
		r.scope = DNS64_RL_enclosing;
	} else {
		ec->tat_us = nc;
		ee->tat_us = ne;
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
	make_key(&kc, sa, pol->v6_len, pol->v4_len, DNS64_RL_client);
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
