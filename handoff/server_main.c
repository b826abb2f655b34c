/* sixfour-handoffd: the NAT64 handoff server component for IPv4 hosts
 * (spec section 16.2). One UDP socket bound to every local IPv4 address with
 * IP_PKTINFO so each reply leaves from the address it was asked on (S-1);
 * rounds of up to ROUND_MAX datagrams, one journal fsync per round before
 * the acks go out (section 7.3); the control socket STATEDIR/control speaks
 * the protocol of common/ctl.h (`sixfour-handoffd status|block`).
 *
 * Start-up, in order: options; the state (secret, journal replay with a
 * damage report, compaction); the sockets; the switch to the daemon's own
 * user; the loop. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/ctl.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "handoff/server_live.h"
#include "handoff/server_proto.h"

#define ROUND_MAX 64
#define DEFAULT_STATEDIR "/var/lib/sixfour-handoffd"
#define DEFAULT_USER "_sixfour-handoffd"
#define CONTROL_NAME "control"

enum exit_code { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct options {
	const char *dir, *user, *log_path;
	uint16_t port;
	uint32_t live_age_ms;
	enum log_level level;
	struct hsrv_config cfg;
};

struct daemon {
	const struct options *opt;
	struct evloop *loop;
	struct ctl_server *ctl;
	struct hsrv *srv;
	struct hsrv_journal *journal;
	struct hsrv_live *live;
	int udp;
	FILE *log;
	char *log_buf;
	struct log_limit send_limit;
};

static uint64_t wall_seconds(void)
{
	return (uint64_t)time(NULL);
}

/* ---- the round: receive, commit, send ---- */

static void send_outbox(struct daemon *d)
{
	const struct hsrv_out *out;
	size_t n = hsrv_outbox(d->srv, &out);
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = out[i].dst,
					  .sin_port = htons(out[i].dport) };
		struct iovec iov = { .iov_base = (void *)out[i].buf, .iov_len = out[i].len };
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		memset(&cbuf, 0, sizeof(cbuf));
		struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
				     .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = { .ipi_spec_dst = out[i].src };
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		if (sendmsg(d->udp, &mh, MSG_DONTWAIT) < 0)
			log_ratelimited(&d->send_limit, LOG_LVL_WARN, "handoffd: send: %s",
					strerror(errno));
	}
	hsrv_outbox_clear(d->srv);
}

/* The journal only grows while running; rewrite it from the table once it
 * is both big and mostly history. Blocks the loop for the rewrite (about
 * 60 MB for a full table of a million entries), which is rare. */
static void maybe_compact(struct daemon *d)
{
	uint64_t size = hsrv_journal_size(d->journal);
	uint64_t live = (uint64_t)(hsrv_entries(d->srv) + 1) * HSRV_JREC_LEN;
	if (size < HSRV_JOURNAL_COMPACT_MIN || size < HSRV_JOURNAL_COMPACT_FACTOR * live)
		return;
	struct hsrv_journal *fresh;
	int rc = hsrv_journal_rewrite(d->opt->dir, hsrv_compact_fill, d->srv, HSRV_KEEP_AS_PREV,
				      &fresh);
	if (rc) {
		log_ratelimited(&d->send_limit, LOG_LVL_ERR, "handoffd: compacting the journal: %s",
				strerror(-rc));
		return;	/* keep appending to the old one */
	}
	hsrv_journal_close(d->journal);
	d->journal = fresh;
	hsrv_set_journal(d->srv, fresh);
	log_info("handoffd: journal compacted from %llu to %llu octets",
		 (unsigned long long)size, (unsigned long long)hsrv_journal_size(fresh));
}

static void end_round(struct daemon *d)
{
	hsrv_commit(d->srv);	/* empties the outbox if the journal failed */
	send_outbox(d);
	maybe_compact(d);
}

/* One datagram with the local address it was sent to; false when none is
 * left (EAGAIN ends the round; errors are retried next time). */
static bool receive_one(int fd, uint8_t *buf, size_t size, size_t *len, struct sockaddr_in *from,
			struct in_addr *local)
{
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { .iov_base = buf, .iov_len = size };
		struct msghdr mh = { .msg_name = from, .msg_namelen = sizeof(*from),
				     .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return false;
		if (mh.msg_flags & MSG_TRUNC)
			continue;	/* larger than any valid datagram */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				*local = pi.ipi_addr;	/* the header destination */
				*len = (size_t)n;
				return true;
			}
	}
}

static void on_udp(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	uint8_t buf[65536];
	(void)events;
	hsrv_live_round(d->live, evloop_now_ms(loop));
	for (int i = 0; i < ROUND_MAX; i++) {
		struct sockaddr_in from;
		struct in_addr local;
		size_t n;
		if (!receive_one(fd, buf, sizeof(buf), &n, &from, &local))
			break;
		hsrv_input(d->srv, from.sin_addr, ntohs(from.sin_port), local, buf, n,
			   evloop_now_ms(loop), wall_seconds());
	}
	end_round(d);
}

/* ---- control commands (common/ctl.h protocol) ---- */

static bool take_json(int *argc, char **argv, struct ctl_out *out)
{
	for (int i = 1; i < *argc; i++)
		if (strcmp(argv[i], "--json") == 0) {
			out->json = true;
			memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(*argv));
			(*argc)--;
			i--;
		}
	return out->json;
}

static int cmd_status(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	struct daemon *d = ctx;
	take_json(&argc, argv, out);
	if (argc != 1) {
		ctl_printf(out, "usage: status [--json]\n");
		return EXIT_USAGE;
	}
	hsrv_status(d->srv, out, wall_seconds());
	return 0;
}

static int cmd_block(void *ctx, int argc, char **argv, struct ctl_out *out)
{
	struct daemon *d = ctx;
	struct in_addr a;
	unsigned long long secs = HANDOFF_BLOCK_FOREVER;
	char *end = NULL;
	if (argc < 2 || argc > 3 || inet_pton(AF_INET, argv[1], &a) != 1 ||
	    (argc == 3 && ((secs = strtoull(argv[2], &end, 10)) == 0 || *end ||
			   secs > HANDOFF_BLOCK_FOREVER))) {
		ctl_printf(out, "usage: block A.B.C.D [SECONDS]\n");
		return EXIT_USAGE;
	}
	int n = hsrv_block(d->srv, a, (uint32_t)secs, wall_seconds());
	if (n < 0) {
		ctl_printf(out, "error: no session with %s\n", argv[1]);
		return EXIT_FAIL;
	}
	end_round(d);
	log_notice("handoffd: asked translator %s to block this host for %llu s", argv[1], secs);
	ctl_printf(out, "ok: BLOCK sent on %d session(s)\n", n);
	return 0;
}

static const struct ctl_command commands[] = {
	{ "status", "[--json]", "entries, sessions and counters", cmd_status },
	{ "block", "A.B.C.D [SECONDS]", "ask a NAT64 to stop all traffic with this host",
	  cmd_block },
	{ NULL, NULL, NULL, NULL },
};

static int control_path(const char *dir, char *path, size_t size)
{
	int n = snprintf(path, size, "%s/%s", dir, CONTROL_NAME);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* `sixfour-handoffd [-d DIR] status|block ...`: one request to the daemon. */
static int run_command(const struct options *o, int argc, char **argv, bool json)
{
	char path[108];
	if (control_path(o->dir, path, sizeof(path)) < 0)
		return EXIT_USAGE;
	int rc = ctl_call(path, argc, argv, json, stdout);
	if (rc < 0) {
		fprintf(stderr, "sixfour-handoffd: cannot reach the daemon at %s: %s\n", path,
			strerror(-rc));
		return EXIT_FAIL;
	}
	return rc;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sixfour-handoffd [-p PORT] [-d STATEDIR] [-l LOGFILE] [-u USER]\n"
		"                        [-c CAPACITY] [-k PER_NAT64_PROTO] [-r MS] [-L] [-n] [-v]\n"
		"       sixfour-handoffd [-d STATEDIR] block A.B.C.D [SECONDS]\n"
		"       sixfour-handoffd [-d STATEDIR] status [--json]\n");
}

static int parse_number(const char *text, unsigned long long lo, unsigned long long hi,
			unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end || !*text || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/* 0, or EXIT_USAGE after a message; optind is left at the first operand. */
static int parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){
		.dir = DEFAULT_STATEDIR, .user = DEFAULT_USER, .port = HANDOFF_PORT_DEFAULT,
		.live_age_ms = HSRV_LIVE_MAX_AGE_MS, .level = LOG_LVL_NOTICE,
		.cfg = { .capacity = HSRV_TABLE_DEFAULT_CAPACITY,
			 .per_group = HSRV_TABLE_DEFAULT_PER_GROUP,
			 .accept_caps = HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK },
	};
	int opt;
	unsigned long long v;
	while ((opt = getopt(argc, argv, "+p:d:l:u:c:k:r:Lnvh")) != -1) {
		switch (opt) {
		case 'p':
			if (parse_number(optarg, 1, 65535, &v) < 0)
				goto bad;
			o->port = (uint16_t)v;
			break;
		case 'd': o->dir = optarg; break;
		case 'l': o->log_path = optarg; break;
		case 'u': o->user = optarg; break;
		case 'c':
		case 'k':
			if (parse_number(optarg, 1, 1ull << 32, &v) < 0)
				goto bad;
			*(opt == 'c' ? &o->cfg.capacity : &o->cfg.per_group) = (size_t)v;
			break;
		case 'r':
			if (parse_number(optarg, 0, 60000, &v) < 0)
				goto bad;
			o->live_age_ms = (uint32_t)v;
			break;
		case 'L': o->cfg.local_time = true; break;
		case 'n': o->cfg.accept_caps = 0; break;
		case 'v': o->level = LOG_LVL_DEBUG; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (o->cfg.per_group > 65536)
		o->cfg.per_group = 65536;
	return 0;
bad:
	fprintf(stderr, "sixfour-handoffd: bad value '%s' for -%c\n", optarg, opt);
	return EXIT_USAGE;
}

/* ---- start-up ---- */

/* The event log, line-buffered in a buffer of our own: stdio would
 * otherwise allocate one at the first write and ask isatty() (an ioctl,
 * which the sandbox forbids) when the log is a character device such as a
 * terminal or /dev/null. */
#define LOG_BUF 8192
static int open_log(struct daemon *d)
{
	char *buf = malloc(LOG_BUF);
	if (!buf)
		return -ENOMEM;
	if (!d->opt->log_path) {
		d->log = stdout;
		setvbuf(stdout, buf, _IOLBF, LOG_BUF);
		d->log_buf = buf;
		return 0;
	}
	FILE *f = fopen(d->opt->log_path, "ae");
	if (!f) {
		int rc = -errno;
		free(buf);
		return rc;
	}
	setvbuf(f, buf, _IOLBF, LOG_BUF);
	if (d->log && d->log != stdout)
		fclose(d->log);
	free(d->log_buf);	/* the closed stream's */
	d->log = f;
	d->log_buf = buf;
	return 0;
}

static void reset_table(void *srv)
{
	hsrv_reset(srv);
}

/* Says at error level what the journal lost; true when it was damaged. */
static bool report_journal(const char *dir, const struct hsrv_journal_report *rep)
{
	const struct hsrv_journal_scan *c = &rep->cur;
	if (c->torn_octets)
		log_warn("handoffd: %s/journal ends in a partial record of %llu octets (a write "
			 "cut short, never acknowledged): dropped", dir,
			 (unsigned long long)c->torn_octets);
	if (!hsrv_journal_damaged(c))
		return false;
	log_err("handoffd: %s/journal is damaged: %zu records intact and kept, %zu damaged "
		"records skipped (%llu octets)%s; the damaged file is kept as journal.damaged",
		dir, c->records, c->bad_records, (unsigned long long)c->bad_octets,
		c->bad_magic ? ", header damaged" : "");
	if (rep->used_prev)
		log_err("handoffd: rebuilt from %s/journal.prev first (%zu intact records, %zu "
			"damaged), then the intact records of the journal", dir,
			rep->prev.records, rep->prev.bad_records);
	return true;
}

static int open_state(struct daemon *d)
{
	const struct options *o = d->opt;
	if (mkdir(o->dir, 0700) < 0 && errno != EEXIST) {
		log_err("handoffd: mkdir %s: %s", o->dir, strerror(errno));
		return -errno;
	}
	uint8_t secret[HANDOFF_SECRET_LEN];
	int rc = hsrv_secret_load(o->dir, secret);
	if (rc) {
		log_err("handoffd: secret in %s: %s", o->dir, strerror(-rc));
		return rc;
	}
	struct hsrv_config cfg = o->cfg;
	cfg.log = d->log;
	d->srv = hsrv_new(&cfg, secret);
	memset(secret, 0, sizeof(secret));
	if (!d->srv) {
		log_err("handoffd: out of memory");
		return -ENOMEM;
	}
	struct hsrv_journal_report rep;
	rc = hsrv_journal_load(o->dir, hsrv_replay_record, reset_table, d->srv, &rep);
	if (rc == -EBADMSG) {
		log_err("handoffd: %s/journal holds no intact record and there is no "
			"journal.prev: no table can be rebuilt. Nothing was changed; move the "
			"file aside to start with an empty table", o->dir);
		return rc;
	}
	if (rc) {
		log_err("handoffd: journal in %s: %s", o->dir, strerror(-rc));
		return rc;
	}
	bool damaged = report_journal(o->dir, &rep);
	/* Compaction right away; a damaged journal is kept aside rather than
	 * becoming journal.prev, so nothing intact is ever lost for good. */
	rc = hsrv_journal_rewrite(o->dir, hsrv_compact_fill, d->srv,
				  damaged ? HSRV_KEEP_AS_DAMAGED : HSRV_KEEP_AS_PREV, &d->journal);
	if (rc) {
		log_err("handoffd: compacting the journal in %s: %s", o->dir, strerror(-rc));
		return rc;
	}
	log_notice("handoffd: %zu journal records replayed, %zu entries kept",
		   rep.cur.records + rep.prev.records, hsrv_entries(d->srv));
	hsrv_set_journal(d->srv, d->journal);
	d->live = hsrv_live_new(o->live_age_ms);
	hsrv_set_live_fn(d->srv, hsrv_live_check, d->live);
	return d->live ? 0 : -ENOMEM;
}

static int open_udp(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, rcvbuf = 1 << 21;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

static int open_sockets(struct daemon *d)
{
	d->udp = open_udp(d->opt->port);
	if (d->udp < 0) {
		log_err("handoffd: UDP port %u: %s", d->opt->port, strerror(-d->udp));
		return d->udp;
	}
	char path[108];
	d->loop = evloop_new();
	if (!d->loop || control_path(d->opt->dir, path, sizeof(path)) < 0)
		return -ENOMEM;
	d->ctl = ctl_server_new(d->loop, path, commands, NULL, d);
	if (!d->ctl) {
		log_err("handoffd: control socket %s could not be opened", path);
		return -EIO;
	}
	return 0;
}

/* As root: STATEDIR and everything in it (journal, secret: 0600) and the log
 * belong to the daemon's own user, then the switch. The shared `nobody`
 * would let any other daemon running as nobody read the secret and forge
 * cookies, or rewrite the journal. */
static int drop_privileges(struct daemon *d)
{
	const struct options *o = d->opt;
	if (geteuid() == 0) {
		errno = 0;
		struct passwd *pw = getpwnam(o->user);
		if (!pw) {
			log_err("handoffd: no user '%s': create it (adduser --system --group "
				"--no-create-home %s) or name another with -u", o->user, o->user);
			return -ENOENT;
		}
		if (strcmp(o->user, "nobody") == 0)
			log_warn("handoffd: running as nobody: every other nobody process can read "
				 "the secret; use a user of its own");
		static const char *const names[] = { "", "journal", "journal.prev",
						     "journal.damaged", "secret", CONTROL_NAME };
		char path[4096];
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			snprintf(path, sizeof(path), "%s/%s", o->dir, names[i]);
			if (chown(path, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
				return -errno;
		}
		if (o->log_path && chown(o->log_path, pw->pw_uid, pw->pw_gid) < 0)
			return -errno;
	}
	int rc = privdrop(o->user, 0);
	if (rc) {
		log_err("handoffd: dropping privileges to %s: %s", o->user, strerror(-rc));
		return rc;
	}
	/* Right after the drop, before the loop (common/sandbox_lists.h). */
	return sandbox_enter(SANDBOX_HANDOFFD);
}

static void on_stop(struct evloop *loop, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	evloop_stop(loop);
}

/* SIGHUP: reopen -l FILE after log rotation. */
static void on_hup(struct evloop *loop, int signo, void *arg)
{
	struct daemon *d = arg;
	(void)loop;
	(void)signo;
	if (!d->opt->log_path)
		return;
	int rc = open_log(d);
	if (rc)
		log_err("handoffd: reopen %s: %s", d->opt->log_path, strerror(-rc));
	else
		hsrv_set_log(d->srv, d->log);
}

static int setup_loop(struct daemon *d)
{
	d->send_limit.interval_ms = 10000;
	d->send_limit.burst = 3;
	if (evloop_add_fd(d->loop, d->udp, EPOLLIN, on_udp, d) < 0 ||
	    evloop_add_signal(d->loop, SIGTERM, on_stop, d) < 0 ||
	    evloop_add_signal(d->loop, SIGINT, on_stop, d) < 0 ||
	    evloop_add_signal(d->loop, SIGHUP, on_hup, d) < 0) {
		log_err("handoffd: event loop set-up failed");
		return -EIO;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void teardown(struct daemon *d)
{
	ctl_server_free(d->ctl);
	hsrv_journal_close(d->journal);
	hsrv_free(d->srv);
	hsrv_live_free(d->live);
	if (d->loop)
		evloop_free(d->loop);
	if (d->udp >= 0)
		close(d->udp);
	if (d->log && d->log != stdout)
		fclose(d->log);
	else if (d->log)
		fflush(d->log);
	if (d->log != stdout)
		free(d->log_buf);	/* stdout keeps its buffer until exit */
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_options(argc, argv, &o) != 0)
		return EXIT_USAGE;
	if (optind < argc) {
		char **args = argv + optind;
		int n = argc - optind;
		bool json = n >= 2 && strcmp(args[n - 1], "--json") == 0;
		if (strcmp(args[0], "status") != 0 && strcmp(args[0], "block") != 0) {
			usage(stderr);
			return EXIT_USAGE;
		}
		return run_command(&o, json ? n - 1 : n, args, json);
	}

	struct daemon d = { .opt = &o, .udp = -1 };
	log_init("sixfour-handoffd", true, o.level);
	int rc = open_log(&d);
	if (rc) {
		log_err("handoffd: open %s: %s", o.log_path, strerror(-rc));
		return EXIT_FAIL;
	}
	if (open_state(&d) < 0 || open_sockets(&d) < 0 || drop_privileges(&d) < 0 ||
	    setup_loop(&d) < 0) {
		teardown(&d);
		return EXIT_FAIL;
	}
	log_notice("handoffd: listening on UDP port %u, state in %s", o.port, o.dir);
	rc = evloop_run(d.loop);
	teardown(&d);
	return rc ? EXIT_FAIL : EXIT_OK;
}
