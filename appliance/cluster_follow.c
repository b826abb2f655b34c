/* `sixfourctl cluster follow FIFO`, run by keepalived as its
 * vrrp_notify_fifo_script (cluster.h): keepalived's VRRP states, in the
 * order keepalived wrote them, become `cluster report STATE` calls to
 * sixfourd, repeated once a second as a heartbeat, so that a restarted
 * sixfourd learns its role within a second and a dead keepalived leaves
 * the node standby: keepalived's VRRP process sends its FIFO script SIGTERM
 * when it goes (even when it is killed with SIGKILL), and a FIFO whose
 * writer went reads as closed; both end in `cluster report gone`. */
#include "autoconf.h"
#include "appliance/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/ctl.h"
#include "common/util.h"

#define HEARTBEAT_MS 1000
/* Until keepalived has opened its end, the FIFO reads as closed. */
#define OPEN_WAIT_MS 30000

bool cluster_fifo_parse(const char *line, char *kind, size_t kind_len, char *name,
			size_t name_len, char *state, size_t state_len)
{
	/* INSTANCE "VI_1" MASTER 100 / GROUP "G1" BACKUP */
	const char *q1 = strchr(line, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
	if (!q1 || !q2 || q1 == line)
		return false;
	size_t klen = (size_t)(q1 - line);
	while (klen && line[klen - 1] == ' ')
		klen--;
	if (klen == 0 || klen >= kind_len || (size_t)(q2 - q1 - 1) >= name_len)
		return false;
	memcpy(kind, line, klen);
	kind[klen] = '\0';
	if (strcmp(kind, "INSTANCE") && strcmp(kind, "GROUP"))
		return false;
	memcpy(name, q1 + 1, (size_t)(q2 - q1 - 1));
	name[q2 - q1 - 1] = '\0';
	const char *s = q2 + 1;
	while (*s == ' ')
		s++;
	size_t slen = strcspn(s, " \n");
	if (slen == 0 || slen >= state_len)
		return false;
	memcpy(state, s, slen);
	state[slen] = '\0';
	return true;
}

void cluster_follow_note(struct cluster_follow_table *t, const char *kind, const char *name,
			 const char *state)
{
	bool group = strcmp(kind, "GROUP") == 0;
	size_t i = 0;
	while (i < t->n && !(t->v[i].group == group && strcmp(t->v[i].name, name) == 0))
		i++;
	if (i == t->n) {
		if (t->n == CLUSTER_FOLLOW_MAX)
			return;	/* bounded: more instances than any sane config has */
		t->n++;
		t->v[i].group = group;
		strlcpy_ok(t->v[i].name, name, sizeof(t->v[i].name));
	}
	strlcpy_ok(t->v[i].state, state, sizeof(t->v[i].state));
}

const char *cluster_follow_word(const struct cluster_follow_table *t, char *buf, size_t len)
{
	bool groups = false;
	for (size_t i = 0; i < t->n; i++)
		groups |= t->v[i].group;
	const char *worst = NULL;
	size_t seen = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].group != groups)
			continue;	/* with a sync group, its state decides */
		seen++;
		/* MASTER_RX_LOWER_PRI and the like are still MASTER */
		if (strncasecmp(t->v[i].state, "MASTER", 6) != 0 && !worst)
			worst = t->v[i].state;
	}
	if (seen == 0)
		worst = "unknown";
	strlcpy_ok(buf, worst ? worst : "master", len);
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p | 0x20);
	return buf;
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int signo)
{
	(void)signo;
	stop_requested = 1;
}

static void send_report(const char *sock, const char *word)
{
	char *argv[] = { "cluster", "report", (char *)word };
	FILE *null = fopen("/dev/null", "w");
	int rc = ctl_call(sock, 3, argv, false, null ? null : stderr);
	if (null)
		fclose(null);
	static int last_rc = 0;
	if (rc < 0 && last_rc >= 0)
		fprintf(stderr, "sixfourctl cluster follow: sixfourd at %s: %s (retrying every "
			"second)\n", sock, strerror(-rc));
	last_rc = rc;
}

int cluster_follow(const char *sock, const char *fifo)
{
	/* O_NONBLOCK: the open must not wait for keepalived's end. */
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "sixfourctl cluster follow: %s: %s\n", fifo, strerror(errno));
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_stop };	/* no SA_RESTART: poll returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct cluster_follow_table t = { 0 };
	char word[24] = "unknown";
	char buf[4096];
	size_t have = 0;
	bool opened = false;	/* keepalived's end has been seen */
	uint64_t start = monotonic_ms(), next = start;
	while (!stop_requested) {
		uint64_t now = monotonic_ms();
		if (now >= next) {
			if (opened)
				send_report(sock, word);
			next = now + HEARTBEAT_MS;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)(next - now));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			if (!opened && monotonic_ms() - start < OPEN_WAIT_MS) {
				/* No writer yet: a closed FIFO may poll readable. */
				poll(NULL, 0, 50);
				continue;
			}
			break;	/* keepalived's end closed: it is gone */
		}
		opened = true;
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		bool changed = false;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			char kind[16], name[64], state[24], w[24];
			if (cluster_fifo_parse(line, kind, sizeof(kind), name, sizeof(name), state,
					       sizeof(state))) {
				cluster_follow_note(&t, kind, name, state);
				cluster_follow_word(&t, w, sizeof(w));
				if (strcmp(w, word)) {
					strlcpy_ok(word, w, sizeof(word));
					changed = true;
				}
			}
			line = nl + 1;
		}
		have = strlen(line);
		memmove(buf, line, have + 1);
		if (have == sizeof(buf) - 1)
			have = 0;	/* a line longer than any keepalived writes */
		if (changed) {
			send_report(sock, word);
			next = monotonic_ms() + HEARTBEAT_MS;
		}
	}
	send_report(sock, "gone");
	close(fd);
	return 0;
}
