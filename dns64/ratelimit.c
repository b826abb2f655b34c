/* Per-client-prefix query rate limit: GCRA (a token bucket kept as one
 * "theoretical arrival time") in a fixed, direct-mapped table, so a flood
 * of distinct sources costs no memory; a collision only resets a slot.
 * Shared by the worker threads (SO_REUSEPORT spreads one client's source
 * ports over all of them), so slots are guarded by striped locks. */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dns64/dns64_int.h"

#define RL_SLOTS 8192	/* power of two */
#define RL_LOCKS 64	/* power of two, divides RL_SLOTS */

struct rl_slot {
	uint8_t key[17];	/* family, then the masked address */
	uint64_t tat_us;
};

struct dns64_ratelimit {
	uint64_t interval_us;	/* one query's worth */
	uint64_t tolerance_us;	/* burst x interval */
	unsigned v6_len, v4_len;
	uint64_t seed;
	pthread_mutex_t lock[RL_LOCKS];
	struct rl_slot slot[RL_SLOTS];
};

struct dns64_ratelimit *dns64_ratelimit_new(unsigned qps, unsigned burst, unsigned v6_len,
					    unsigned v4_len)
{
	if (qps == 0)
		return NULL;
	struct dns64_ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->interval_us = 1000000u / qps ? 1000000u / qps : 1;
	rl->tolerance_us = rl->interval_us * (burst ? burst : 1);
	rl->v6_len = v6_len;
	rl->v4_len = v4_len;
	for (unsigned i = 0; i < RL_LOCKS; i++)
		pthread_mutex_init(&rl->lock[i], NULL);
	if (getrandom(&rl->seed, sizeof(rl->seed), 0) != sizeof(rl->seed))
		rl->seed = monotonic_us();
	return rl;
}

void dns64_ratelimit_free(struct dns64_ratelimit *rl)
{
	if (!rl)
		return;
	for (unsigned i = 0; i < RL_LOCKS; i++)
		pthread_mutex_destroy(&rl->lock[i]);
	free(rl);
}

bool dns64_ratelimit_allow(struct dns64_ratelimit *rl, const struct sockaddr *sa,
			   uint64_t now_us)
{
	uint8_t key[17] = { 0 };
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET6) {
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		mask_octets(key + 1, 16, rl->v6_len);
	} else {
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		mask_octets(key + 1, 4, rl->v4_len);
	}
	uint64_t h = 0xcbf29ce484222325ull ^ rl->seed;
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	size_t idx = (h ^ (h >> 32)) & (RL_SLOTS - 1);
	struct rl_slot *s = &rl->slot[idx];
	pthread_mutex_t *lk = &rl->lock[idx & (RL_LOCKS - 1)];
	bool ok = true;
	pthread_mutex_lock(lk);
	if (memcmp(s->key, key, sizeof(key)) != 0) {
		memcpy(s->key, key, sizeof(key));
		s->tat_us = now_us;
	}
	uint64_t tat = s->tat_us > now_us ? s->tat_us : now_us;
	if (tat - now_us > rl->tolerance_us)
		ok = false;
	else
		s->tat_us = tat + rl->interval_us;
	pthread_mutex_unlock(lk);
	return ok;
}
