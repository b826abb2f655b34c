/* The session table's life (allocation, reload) and the entry points of
 * the operator (list, flush, counters) and of the handoff client (install
 * from a record, acked/pinned states). The packet path is in session.c. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/rfc6052.h"
#include "common/util.h"
#include "nat64/pool4.h"
#include "nat64/session_priv.h"

/* --- set-up --- */

static void *alloc_array(size_t n, size_t size, size_t *total)
{
	*total += n * size;
	return calloc(n, size);
}

static void set_timeouts(struct session_table *t)
{
	t->timeout[CL_UDP] = t->cfg.udp_ms;
	t->timeout[CL_ICMP] = t->cfg.icmp_ms;
	t->timeout[CL_TCP_EST] = t->cfg.tcp_est_ms;
	t->timeout[CL_TCP_TRANS] = t->cfg.tcp_trans_ms;
	t->timeout[CL_ACKED] = 0;
}

static size_t table_bytes(uint32_t max, uint32_t buckets, unsigned nsyns)
{
	return sizeof(struct session_table) + (size_t)max * (sizeof(struct sess) +
	       sizeof(struct bib) + sizeof(struct client)) + (size_t)buckets * 5 * sizeof(uint32_t) +
	       2 * nsyns * sizeof(struct stored_syn);
}

struct session_table *session_table_new(const struct session_cfg *cfg, struct pool4 *pool,
					uint64_t seed, int *err)
{
	*err = -EINVAL;
	if (cfg->max_sessions < 1 || cfg->max_sessions >= NIL / 2 || cfg->max_per_client < 1 ||
	    cfg->max_ports_per_client < 1 || cfg->client_prefix_len > 128)
		return NULL;
	*err = -ENOMEM;
	struct session_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (!t->cfg.max_stored_syns)
		t->cfg.max_stored_syns = DEFAULT_STORED_SYNS;
	if (t->cfg.max_stored_syns > DEFAULT_STORED_SYNS)
		t->cfg.max_stored_syns = DEFAULT_STORED_SYNS;
	t->pool = pool;
	if (seed == 0 && getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = monotonic_us();
	t->seed = seed;
	set_timeouts(t);
	t->max = cfg->max_sessions;
	uint32_t buckets = 16;
	while (buckets < t->max)
		buckets <<= 1;
	t->mask = buckets - 1;
	size_t total = 0;
	t->sess = alloc_array(t->max, sizeof(*t->sess), &total);
	t->bib = alloc_array(t->max, sizeof(*t->bib), &total);
	t->cli = alloc_array(t->max, sizeof(*t->cli), &total);
	t->sess6 = malloc(buckets * sizeof(uint32_t));
	t->sess4 = malloc(buckets * sizeof(uint32_t));
	t->bib6 = malloc(buckets * sizeof(uint32_t));
	t->bib4 = malloc(buckets * sizeof(uint32_t));
	t->cli_b = malloc(buckets * sizeof(uint32_t));
	t->nsyns = t->cfg.max_stored_syns;
	t->syns = calloc(t->nsyns, sizeof(*t->syns));
	t->syn_due = calloc(t->nsyns, sizeof(*t->syn_due));
	if (!t->sess || !t->bib || !t->cli || !t->sess6 || !t->sess4 || !t->bib6 || !t->bib4 ||
	    !t->cli_b || !t->syns || !t->syn_due) {
		session_table_free(t);
		return NULL;
	}
	memset(t->sess6, 0xff, buckets * sizeof(uint32_t));
	memset(t->sess4, 0xff, buckets * sizeof(uint32_t));
	memset(t->bib6, 0xff, buckets * sizeof(uint32_t));
	memset(t->bib4, 0xff, buckets * sizeof(uint32_t));
	memset(t->cli_b, 0xff, buckets * sizeof(uint32_t));
	for (uint32_t i = 0; i < t->max; i++) {
		t->sess[i].next6 = i + 1 < t->max ? i + 1 : NIL;
		t->bib[i].next6 = i + 1 < t->max ? i + 1 : NIL;
		t->cli[i].next = i + 1 < t->max ? i + 1 : NIL;
	}
	t->free_sess = t->free_bib = t->free_cli = 0;
	for (unsigned cl = 0; cl < CL_COUNT; cl++)
		t->head[cl] = t->tail[cl] = NIL;
	for (unsigned c = 0; c < EC_COUNT; c++)
		memset(t->buckets[c].head, 0xff, sizeof(t->buckets[c].head));
	/* Critical sections are a few hash probes: spin a little before
	 * sleeping, so two workers sharing a flow rarely enter the kernel. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&t->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	*err = 0;
	return t;
}

void session_table_free(struct session_table *t)
{
	if (!t)
		return;
	free(t->syns);
	free(t->syn_due);
	free(t->sess);
	free(t->bib);
	free(t->cli);
	free(t->sess6);
	free(t->sess4);
	free(t->bib6);
	free(t->bib4);
	free(t->cli_b);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void session_table_reconfigure(struct session_table *t, const struct session_cfg *cfg)
{
	pthread_mutex_lock(&t->lock);
	t->cfg.filtering = cfg->filtering;
	t->cfg.max_per_client = cfg->max_per_client;
	t->cfg.max_ports_per_client = cfg->max_ports_per_client;
	t->cfg.tcp_est_ms = cfg->tcp_est_ms;
	t->cfg.tcp_trans_ms = cfg->tcp_trans_ms;
	t->cfg.tcp_syn_wait_ms = cfg->tcp_syn_wait_ms;
	t->cfg.udp_ms = cfg->udp_ms;
	t->cfg.icmp_ms = cfg->icmp_ms;
	/* Running entries keep their expiry; new lifetimes apply from their
	 * next packet. Lists may then be briefly out of order, which only
	 * delays an expiry until the entries in front of it go. */
	set_timeouts(t);
	pthread_mutex_unlock(&t->lock);
}

void session_table_set_pool(struct session_table *t, struct pool4 *pool)
{
	pthread_mutex_lock(&t->lock);
	/* The new pool's map starts empty: mark every live mapping on an
	 * address it still has (once per host address change). */
	for (uint32_t h = 0; h <= t->mask; h++)
		for (uint32_t bi = t->bib4[h]; bi != NIL; bi = t->bib[bi].next4)
			pool4_take(pool, t->bib[bi].proto, t->bib[bi].p4, t->bib[bi].pport);
	if (t->reserved_port)
		pool4_reserve(pool, IPPROTO_UDP, t->reserved_port);
	t->pool = pool;
	pthread_mutex_unlock(&t->lock);
}

void session_table_set_port_policy(struct session_table *t,
				   const struct session_port_policy *policy)
{
	pthread_mutex_lock(&t->lock);
	if (policy)
		t->port_policy = *policy;
	else
		memset(&t->port_policy, 0, sizeof(t->port_policy));
	pthread_mutex_unlock(&t->lock);
}

void session_table_set_hook(struct session_table *t, session_event_fn fn, void *arg)
{
	pthread_mutex_lock(&t->lock);
	t->hook = fn;
	t->hook_arg = arg;
	pthread_mutex_unlock(&t->lock);
}

/* --- the handoff client's entry points --- */

int session_install(struct session_table *t, const struct session_record *rec, uint64_t now)
{
	uint8_t proto = sess_norm_proto(rec->proto);
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP) ||
	    !rfc6052_len_valid(rec->prefix_len) || rec->state > SESSION_ACKED)
		return -EINVAL;
	uint16_t rport = proto == IPPROTO_ICMP ? 0 : rec->remote_port;
	int rc = 0;
	struct session_events evs = { 0 };
	pthread_mutex_lock(&t->lock);
	uint32_t i6 = sess_find6(t, proto, &rec->client6, rec->client_port, &rec->remote6, rport);
	uint32_t i4 = sess_find4(t, proto, rec->remote4, rport, rec->pool4, rec->pool_port);
	if (i6 != NIL || i4 != NIL) {
		if (i6 != i4) {
			rc = -EEXIST;
		} else {
			struct sess *s = &t->sess[i6];
			if (s->state != rec->state)
				t->g[SESSION_G_acked] += rec->state == SESSION_ACKED ? 1 : (uint64_t)-1;
			s->state = rec->state;
			sess_touch(t, i6, now);
		}
		goto unlock;
	}
	uint32_t b6 = sess_find_bib6(t, proto, &rec->client6, rec->client_port);
	uint32_t b4 = sess_find_bib4(t, proto, rec->pool4, rec->pool_port);
	if (b6 != b4) {
		rc = -EEXIST;	/* would break endpoint-independent mapping */
		goto unlock;
	}
	struct bib keep = { .sess_head = NIL };
	if (b6 != NIL)
		keep = t->bib[b6];
	if (sess_make_room(t, sess_find_client(t, &rec->client6), &evs) != 0) {
		rc = -ENOSPC;
		goto unlock;
	}
	uint32_t bi = b6 == NIL ? NIL : sess_find_bib4(t, proto, keep.p4, keep.pport);
	if (bi == NIL) {
		/* Only a port of our pool that nobody holds (not the handoff
		 * port either). */
		int taken = pool4_take(t->pool, proto, rec->pool4, rec->pool_port);
		if (taken != 0) {
			rc = taken == -EEXIST ? -EEXIST : -EINVAL;
			goto unlock;
		}
		bi = sess_bib_new(t, proto, &rec->client6, rec->client_port, rec->pool4,
				  rec->pool_port);
	}
	uint32_t i = sess_new(t, bi, &rec->remote6, rec->prefix_len, rec->remote4, rport,
			      proto == IPPROTO_TCP ? (rec->tcp_state ? rec->tcp_state :
						      SESSION_TCP_ESTABLISHED) : SESSION_TCP_CLOSED,
			      rec->state, false, now);
	if (i == NIL) {
		if (t->bib[bi].nsess == 0)
			sess_bib_remove(t, bi);
		rc = -ENOSPC;
		goto unlock;
	}
	/* The server sent it: it knows the entry, and hears of its end. A
	 * connection it kept was a real one. */
	struct sess *s = &t->sess[i];
	s->flags |= SF_ANNOUNCED | SF_SEEN6 | SF_SEEN4 | SF_CONFIRMED;
	sess_evict_link(t, i, true);
	t->c[SESSION_C_installed]++;
unlock:
	pthread_mutex_unlock(&t->lock);
	session_events_deliver(&evs);
	return rc;
}

int session_set_state(struct session_table *t, const struct session_record *key,
		      enum session_entry_state state, bool pinned, uint64_t now)
{
	uint8_t proto = sess_norm_proto(key->proto);
	uint16_t rport = proto == IPPROTO_ICMP ? 0 : key->remote_port;
	pthread_mutex_lock(&t->lock);
	uint32_t i = sess_find4(t, proto, key->remote4, rport, key->pool4, key->pool_port);
	if (i == NIL) {
		pthread_mutex_unlock(&t->lock);
		return -ENOENT;
	}
	struct sess *s = &t->sess[i];
	if (s->state != state)
		t->g[SESSION_G_acked] += state == SESSION_ACKED ? 1 : (uint64_t)-1;
	s->state = (uint8_t)state;
	s->flags = (uint8_t)(pinned ? s->flags | SF_PINNED : s->flags & ~SF_PINNED);
	sess_touch(t, i, now);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void session_foreach(struct session_table *t, void (*fn)(void *arg,
		     const struct session_record *rec), void *arg)
{
	pthread_mutex_lock(&t->lock);
	for (unsigned cl = 0; cl < CL_COUNT; cl++)
		for (uint32_t i = t->head[cl]; i != NIL; i = t->sess[i].next) {
			struct session_record r;
			sess_fill_record(&t->sess[i], &r);
			fn(arg, &r);
		}
	pthread_mutex_unlock(&t->lock);
}

size_t session_flush(struct session_table *t)
{
	size_t n = 0;
	struct session_events evs = { 0 };
	pthread_mutex_lock(&t->lock);
	for (unsigned cl = 0; cl < CL_COUNT; cl++)
		while (t->head[cl] != NIL) {
			if (evs.n == SESSION_EVENTS_MAX) {
				/* The hook gets each batch outside the lock. */
				pthread_mutex_unlock(&t->lock);
				session_events_deliver(&evs);
				pthread_mutex_lock(&t->lock);
				continue;
			}
			sess_remove(t, t->head[cl], SESSION_EV_DELETED, &evs);
			t->c[SESSION_C_flushed]++;
			n++;
		}
	pthread_mutex_unlock(&t->lock);
	session_events_deliver(&evs);
	return n;
}

void session_get_counters(struct session_table *t, struct session_counters *out)
{
	pthread_mutex_lock(&t->lock);
	memcpy(out->c, t->c, sizeof(out->c));
	memcpy(out->g, t->g, sizeof(out->g));
	out->g[SESSION_G_cheap] = t->ec_total[EC_CHEAP];
	out->g[SESSION_G_live] = t->ec_total[EC_LIVE];
	out->g[SESSION_G_established] = t->ec_total[EC_EST];
	pthread_mutex_unlock(&t->lock);
}

void session_pool_usage(struct session_table *t, struct in_addr addr, size_t used[3],
			size_t *size)
{
	static const uint8_t protos[3] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	pthread_mutex_lock(&t->lock);
	for (unsigned k = 0; k < 3; k++)
		used[k] = pool4_used(t->pool, protos[k], addr, size);
	pthread_mutex_unlock(&t->lock);
}

size_t session_table_memory(const struct session_table *t)
{
	return table_bytes(t->max, t->mask + 1, t->nsyns);
}
