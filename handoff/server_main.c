/* sixfour-handoffd: the NAT64 handoff server component for IPv4 hosts
 * (spec section 16.2). One UDP socket bound to every local IPv4 address with
 * IP_PKTINFO so each reply leaves from the address it was asked on (S-1);
 * rounds of up to ROUND_MAX datagrams, one journal fsync per round before
 * the acks go out (section 7.3); a Unix control socket in STATEDIR for
 * `sixfour-handoffd block` and `status`. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "handoff/server_live.h"
#include "handoff/server_proto.h"

#define ROUND_MAX 64
#define DEFAULT_STATEDIR "/var/lib/sixfour-handoffd"
#define DEFAULT_USER "nobody"
#define CONTROL_NAME "control"

enum exit_code { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct daemon {
	struct evloop *loop;
	struct hsrv *srv;
	struct hsrv_journal *journal;
	struct hsrv_live *live;
	int udp, ctl;
	const char *dir;
	const char *log_path;
	FILE *log;
	struct log_limit send_limit;
};

static uint64_t wall_seconds(void)
{
	return (uint64_t)time(NULL);
}

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
	int rc = hsrv_journal_rewrite(d->dir, hsrv_compact_fill, d->srv, &fresh);
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

static void on_udp(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	uint8_t buf[65536];
	hsrv_live_round(d->live, evloop_now_ms(loop));
	for (int i = 0; i < ROUND_MAX; i++) {
		struct sockaddr_in from;
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				     .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			break;	/* EAGAIN ends the round; errors are retried next time */
		if (mh.msg_flags & MSG_TRUNC)
			continue;	/* larger than any valid datagram */
		struct in_addr local = { 0 };
		bool have_local = false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				local = pi.ipi_addr;	/* the header destination */
				have_local = true;
			}
		if (!have_local)
			continue;
		hsrv_input(d->srv, from.sin_addr, ntohs(from.sin_port), local, buf, (size_t)n,
			   evloop_now_ms(loop), wall_seconds());
	}
	end_round(d);
}

/* ---- control socket ---- */

static int control_path(const char *dir, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	int n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", dir, CONTROL_NAME);
	return n < 0 || (size_t)n >= sizeof(sun->sun_path) ? -ENAMETOOLONG : 0;
}

/* One request per connection: "block A.B.C.D SECONDS" or "status". */
static void handle_request(struct daemon *d, const char *req, FILE *out)
{
	char addr[64];
	unsigned long long secs;
	if (strcmp(req, "status") == 0) {
		hsrv_status(d->srv, out, wall_seconds());
		return;
	}
	if (sscanf(req, "block %63s %llu", addr, &secs) == 2) {
		struct in_addr a;
		if (inet_pton(AF_INET, addr, &a) != 1 || secs > HANDOFF_BLOCK_FOREVER) {
			fprintf(out, "error: bad address or duration\n");
			return;
		}
		int n = hsrv_block(d->srv, a, (uint32_t)secs, wall_seconds());
		if (n < 0) {
			fprintf(out, "error: no session with %s\n", addr);
			return;
		}
		end_round(d);
		log_notice("handoffd: asked translator %s to block this host for %llu s", addr, secs);
		fprintf(out, "ok: BLOCK sent on %d session(s)\n", n);
		return;
	}
	fprintf(out, "error: unknown request\n");
}

static void on_control(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	/* The client writes its request at once; never wait long for it. */
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char req[128];
	ssize_t n = read(c, req, sizeof(req) - 1);
	if (n <= 0) {
		close(c);
		return;
	}
	req[n] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (out) {
		handle_request(d, req, out);
		fclose(out);
		for (size_t off = 0; off < len;) {
			ssize_t w = write(c, text + off, len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		free(text);
	}
	close(c);
}

static int control_client(const char *dir, const char *req)
{
	struct sockaddr_un sun;
	if (control_path(dir, &sun) < 0)
		return EXIT_USAGE;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "sixfour-handoffd: cannot reach the daemon at %s: %s\n",
			sun.sun_path, strerror(errno));
		return EXIT_FAIL;
	}
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return EXIT_FAIL;
	}
	shutdown(fd, SHUT_WR);
	char buf[4096];
	ssize_t n;
	bool error = false, any = false;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (!any && n >= 6 && memcmp(buf, "error:", 6) == 0)
			error = true;
		any = true;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return error || !any ? EXIT_FAIL : EXIT_OK;
}

/* ---- start-up ---- */

static void on_stop(struct evloop *loop, int signo, void *arg)
{
	evloop_stop(loop);
}

static int open_log(struct daemon *d)
{
	if (!d->log_path) {
		d->log = stdout;
		setvbuf(stdout, NULL, _IOLBF, 0);
		return 0;
	}
	FILE *f = fopen(d->log_path, "ae");
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	if (d->log && d->log != stdout)
		fclose(d->log);
	d->log = f;
	return 0;
}

/* SIGHUP: reopen -l FILE after log rotation. */
static void on_hup(struct evloop *loop, int signo, void *arg)
{
	struct daemon *d = arg;
	if (!d->log_path)
		return;
	int rc = open_log(d);
	if (rc)
		log_err("handoffd: reopen %s: %s", d->log_path, strerror(-rc));
	else
		hsrv_set_log(d->srv, d->log);
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

static int open_control(const char *dir)
{
	struct sockaddr_un sun;
	int rc = control_path(dir, &sun);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sun.sun_path);
	mode_t old = umask(0077);	/* only the daemon's user and root may block */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old);
	if (!rc && listen(fd, 8) < 0)
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Gives STATEDIR and its files to the unprivileged user before the switch,
 * so the next start (as root or as that user) can still write them. */
static int hand_over_files(const char *dir, const char *user, const char *log_path)
{
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_err("handoffd: no user '%s'", user);
		return -ENOENT;
	}
	static const char *const names[] = { "", "journal", "secret", CONTROL_NAME };
	char path[4096];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
			return -errno;
	}
	if (log_path && chown(log_path, pw->pw_uid, pw->pw_gid) < 0)
		return -errno;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sixfour-handoffd [-p PORT] [-d STATEDIR] [-l LOGFILE] [-u USER]\n"
		"                        [-c CAPACITY] [-k PER_NAT64_PROTO] [-r MS] [-L] [-n] [-v]\n"
		"       sixfour-handoffd [-d STATEDIR] block A.B.C.D [SECONDS]\n"
		"       sixfour-handoffd [-d STATEDIR] status\n");
}

static int parse_size(const char *text, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end || v == 0 || v > (1ull << 32))
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .udp = -1, .ctl = -1 };
	const char *dir = DEFAULT_STATEDIR, *user = DEFAULT_USER;
	struct hsrv_config cfg = { .capacity = HSRV_TABLE_DEFAULT_CAPACITY,
				   .per_group = HSRV_TABLE_DEFAULT_PER_GROUP,
				   .accept_caps = HANDOFF_CAP_LOOKUP | HANDOFF_CAP_BLOCK };
	unsigned long port = HANDOFF_PORT_DEFAULT;
	uint32_t live_age_ms = HSRV_LIVE_MAX_AGE_MS;
	enum log_level level = LOG_LVL_NOTICE;
	int opt;
	while ((opt = getopt(argc, argv, "+p:d:l:u:c:k:r:Lnvh")) != -1) {
		char *end;
		switch (opt) {
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || port == 0 || port > 65535) {
				fprintf(stderr, "sixfour-handoffd: bad port '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd': dir = optarg; break;
		case 'l': d.log_path = optarg; break;
		case 'u': user = optarg; break;
		case 'c':
		case 'k':
			if (parse_size(optarg, opt == 'c' ? &cfg.capacity : &cfg.per_group) < 0) {
				fprintf(stderr, "sixfour-handoffd: bad number '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r': {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v > 60000) {
				fprintf(stderr, "sixfour-handoffd: bad refresh '%s' (0-60000 ms)\n", optarg);
				return EXIT_USAGE;
			}
			live_age_ms = (uint32_t)v;
			break;
		}
		case 'L': cfg.local_time = true; break;
		case 'n': cfg.accept_caps = 0; break;
		case 'v': level = LOG_LVL_DEBUG; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (cfg.per_group > 65536)
		cfg.per_group = 65536;
	if (optind < argc) {
		char req[128];
		if (strcmp(argv[optind], "status") == 0 && optind + 1 == argc)
			return control_client(dir, "status");
		if (strcmp(argv[optind], "block") == 0 && optind + 2 <= argc && optind + 3 >= argc) {
			struct in_addr a;
			unsigned long long secs = HANDOFF_BLOCK_FOREVER;
			if (inet_pton(AF_INET, argv[optind + 1], &a) != 1) {
				fprintf(stderr, "sixfour-handoffd: bad IPv4 address '%s'\n", argv[optind + 1]);
				return EXIT_USAGE;
			}
			if (optind + 3 == argc) {
				char *end;
				secs = strtoull(argv[optind + 2], &end, 10);
				if (*end || secs == 0 || secs > HANDOFF_BLOCK_FOREVER) {
					fprintf(stderr, "sixfour-handoffd: bad duration '%s'\n", argv[optind + 2]);
					return EXIT_USAGE;
				}
			}
			snprintf(req, sizeof(req), "block %s %llu", argv[optind + 1], secs);
			return control_client(dir, req);
		}
		usage(stderr);
		return EXIT_USAGE;
	}

	log_init("sixfour-handoffd", true, level);
	if (open_log(&d) < 0) {
		log_err("handoffd: open %s: %s", d.log_path, strerror(errno));
		return EXIT_FAIL;
	}
	cfg.log = d.log;
	d.dir = dir;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_err("handoffd: mkdir %s: %s", dir, strerror(errno));
		return EXIT_FAIL;
	}
	uint8_t secret[HANDOFF_SECRET_LEN];
	int rc = hsrv_secret_load(dir, secret);
	if (rc) {
		log_err("handoffd: secret in %s: %s", dir, strerror(-rc));
		return EXIT_FAIL;
	}
	d.srv = hsrv_new(&cfg, secret);
	memset(secret, 0, sizeof(secret));
	if (!d.srv) {
		log_err("handoffd: out of memory");
		return EXIT_FAIL;
	}
	size_t nrec = 0, torn = 0;
	rc = hsrv_journal_replay(dir, hsrv_replay_record, d.srv, &nrec, &torn);
	if (rc) {
		log_err("handoffd: journal in %s: %s", dir, strerror(-rc));
		return EXIT_FAIL;
	}
	if (torn)
		log_warn("handoffd: dropped a torn journal tail of %zu octets", torn);
	rc = hsrv_journal_rewrite(dir, hsrv_compact_fill, d.srv, &d.journal);
	if (rc) {
		log_err("handoffd: compacting the journal in %s: %s", dir, strerror(-rc));
		return EXIT_FAIL;
	}
	log_notice("handoffd: %zu journal records replayed, %zu entries kept", nrec,
		   hsrv_entries(d.srv));
	hsrv_set_journal(d.srv, d.journal);
	d.live = hsrv_live_new(live_age_ms);
	hsrv_set_live_fn(d.srv, hsrv_live_check, d.live);

	d.udp = open_udp((uint16_t)port);
	if (d.udp < 0) {
		log_err("handoffd: UDP port %lu: %s", port, strerror(-d.udp));
		return EXIT_FAIL;
	}
	d.ctl = open_control(dir);
	if (d.ctl < 0) {
		log_err("handoffd: control socket in %s: %s", dir, strerror(-d.ctl));
		return EXIT_FAIL;
	}
	if ((rc = hand_over_files(dir, user, d.log_path)) < 0 || (rc = privdrop(user, 0)) < 0) {
		log_err("handoffd: dropping privileges to %s: %s", user, strerror(-rc));
		return EXIT_FAIL;
	}
	if (sandbox_enter(SANDBOX_HANDOFFD) != 0)
		return EXIT_FAIL;
	d.send_limit.interval_ms = 10000;
	d.send_limit.burst = 3;
	d.loop = evloop_new();
	if (!d.loop || evloop_add_fd(d.loop, d.udp, EPOLLIN, on_udp, &d) < 0 ||
	    evloop_add_fd(d.loop, d.ctl, EPOLLIN, on_control, &d) < 0 ||
	    evloop_add_signal(d.loop, SIGTERM, on_stop, &d) < 0 ||
	    evloop_add_signal(d.loop, SIGINT, on_stop, &d) < 0 ||
	    evloop_add_signal(d.loop, SIGHUP, on_hup, &d) < 0) {
		log_err("handoffd: event loop set-up failed");
		return EXIT_FAIL;
	}
	signal(SIGPIPE, SIG_IGN);
	log_notice("handoffd: listening on UDP port %lu, state in %s", port, dir);
	rc = evloop_run(d.loop);
	hsrv_journal_close(d.journal);
	hsrv_free(d.srv);
	hsrv_live_free(d.live);
	evloop_free(d.loop);
	close(d.udp);
	close(d.ctl);
	return rc ? EXIT_FAIL : EXIT_OK;
}
