/* The session table's entry points for the handoff glue (handoff_glue.c):
 * state changes keyed the way the protocol names entries, by the IPv4
 * side (spec/handoff.md 5.1: the server's key is (S, T, proto, port)). */
#include "autoconf.h"

#include "nat64/pool4.h"
#include "nat64/session_handoff.h"
#include "nat64/session_priv.h"

#define ACK_SCAN_MAX 256	/* sessions of one BIB entry looked at per ack */
#define ACK_RUN_STOP 8		/* acked ones in a row that end the walk */

size_t session_ack_flow(struct session_table *t, uint8_t proto, struct in_addr pool4,
			uint16_t pool_port, struct in_addr remote4, uint64_t now)
{
	size_t n = 0;
	proto = sess_norm_proto(proto);
	pthread_mutex_lock(&t->lock);
	uint32_t bi = sess_find_bib4(t, proto, pool4, pool_port);
	/* The server keys on the BIB side, so one ack covers every session of
	 * the mapping toward that server (several server ports for UDP). New
	 * sessions sit at the head of the BIB's list, so the walk stops after
	 * a run of sessions acked before, or after ACK_SCAN_MAX: one mapping may
	 * hold thousands of sessions, and an ack per notice must not walk them
	 * all. A session the walk misses stays LOCAL, the safe state (RFC 6146
	 * timers, never evicted as cache). */
	unsigned scanned = 0, acked_run = 0;
	for (uint32_t i = bi == NIL ? NIL : t->bib[bi].sess_head, next;
	     i != NIL && scanned < ACK_SCAN_MAX && acked_run < ACK_RUN_STOP; i = next, scanned++) {
		struct sess *s = &t->sess[i];
		next = s->bnext;
		if (s->r4.s_addr != remote4.s_addr)
			continue;
		if (s->state == SESSION_ACKED) {
			acked_run++;
			continue;
		}
		acked_run = 0;
		s->state = SESSION_ACKED;
		s->flags &= (uint8_t)~SF_PINNED;
		t->g[SESSION_G_acked]++;
		/* Moves it to the acked class: no timer, evicted first. */
		s->linked_at = 0;
		sess_touch(t, i, now);
		n++;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

size_t session_release_acked(struct session_table *t, struct in_addr pool4,
			     struct in_addr remote4, uint64_t now)
{
	size_t n = 0;
	pthread_mutex_lock(&t->lock);
	/* sess_touch relinks the entry into its timed class, off this list. */
	for (uint32_t i = t->head[CL_ACKED], next; i != NIL; i = next) {
		struct sess *s = &t->sess[i];
		next = s->next;
		if (s->p4.s_addr != pool4.s_addr || s->r4.s_addr != remote4.s_addr)
			continue;
		s->state = SESSION_LOCAL;
		t->g[SESSION_G_acked]--;
		s->linked_at = 0;
		sess_touch(t, i, now);	/* a fresh RFC 6146 lifetime */
		n++;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

void session_foreach_toward(struct session_table *t, struct in_addr pool4,
			    struct in_addr remote4,
			    void (*fn)(void *arg, const struct session_record *rec), void *arg)
{
	pthread_mutex_lock(&t->lock);
	for (unsigned cl = 0; cl < CL_COUNT; cl++)
		for (uint32_t i = t->head[cl]; i != NIL; i = t->sess[i].next) {
			const struct sess *s = &t->sess[i];
			if (s->p4.s_addr != pool4.s_addr || s->r4.s_addr != remote4.s_addr)
				continue;
			struct session_record r;
			sess_fill_record(s, &r);
			fn(arg, &r);
		}
	pthread_mutex_unlock(&t->lock);
}

void session_table_reserve_port(struct session_table *t, uint16_t port)
{
	pthread_mutex_lock(&t->lock);
	t->reserved_port = port;
	if (port)
		pool4_reserve(t->pool, IPPROTO_UDP, port);
	pthread_mutex_unlock(&t->lock);
}
