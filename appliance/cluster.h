/* A node of a cluster of translators (doc/cluster.md): the `cluster`
 * subsystem keeps the node's role as keepalived reports it, and the client
 * side that keepalived runs. Everything else follows ctx->role (subsys.h).
 *
 * keepalived's vrrp_notify_fifo_script runs `sixfourctl cluster follow
 * FIFO`: it reads the FIFO (VRRP states, in order) and sends
 * `cluster report STATE` on every change and once a second; EOF on the
 * FIFO (keepalived died) sends `cluster report gone`. sixfourd is active
 * only while the last report is "master" and it is fresher than [cluster]
 * heartbeat-timeout. keepalived's track_script runs `sixfourctl cluster
 * check`, which fails when sixfourd cannot serve (or does not answer), so
 * the peer takes over. */
#ifndef SIXFOUR_APPLIANCE_CLUSTER_H
#define SIXFOUR_APPLIANCE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/subsys.h"

extern const struct subsys_ops cluster_subsys;

/* The follower's view of one FIFO line: true when `line` is a VRRP state
 * line (`INSTANCE "NAME" STATE PRIO` or `GROUP "NAME" STATE`); fills the
 * kind ("INSTANCE"/"GROUP"), the name and the state word. */
bool cluster_fifo_parse(const char *line, char *kind, size_t kind_len, char *name,
			size_t name_len, char *state, size_t state_len);

/* What the follower reports after a line: the node is active when at least
 * one group (or, without groups, one instance) was seen and all of them are
 * MASTER. The states seen so far are kept in `t` (bounded). */
#define CLUSTER_FOLLOW_MAX 32
struct cluster_follow_table {
	size_t n;
	struct {
		bool group;
		char name[64];
		char state[24];
	} v[CLUSTER_FOLLOW_MAX];
};
void cluster_follow_note(struct cluster_follow_table *t, const char *kind, const char *name,
			 const char *state);
/* "master", or the state that keeps the node from being active ("backup",
 * "fault", "stop", ... lower case), or "unknown" before any line. */
const char *cluster_follow_word(const struct cluster_follow_table *t, char *buf, size_t len);

/* `sixfourctl [-s SOCKET] cluster follow FIFO`: runs until EOF on FIFO;
 * returns the exit status. */
int cluster_follow(const char *sock, const char *fifo);

#endif
