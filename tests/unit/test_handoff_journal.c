/* sixfour-handoffd durability: record codec, replay, a crash-truncated or
 * corrupt tail, compaction through the server engine, the secret file. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "handoff/server_journal.h"
#include "handoff/server_proto.h"
#include "tap.h"

struct seen {
	int n, puts, dels, sessions;
	struct hsrv_jrec last;
};

static int count_rec(void *arg, const struct hsrv_jrec *r)
{
	struct seen *s = arg;
	s->n++;
	s->puts += r->type == HSRV_JREC_PUT;
	s->dels += r->type == HSRV_JREC_DEL;
	s->sessions += r->type == HSRV_JREC_SESSION;
	s->last = *r;
	return 0;
}

static struct hsrv_jrec put_rec(uint16_t port)
{
	struct hsrv_jrec r = { .type = HSRV_JREC_PUT };
	inet_pton(AF_INET, "198.51.100.10", &r.server4);
	inet_pton(AF_INET, "192.0.2.7", &r.nat64);
	r.er.proto = 6;
	r.er.nat_port = port;
	r.er.client_port = 50000;
	inet_pton(AF_INET6, "2001:db8::17", &r.er.client);
	return r;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int fill_n(void *arg, struct hsrv_journal *j)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++) {
		struct hsrv_jrec r = put_rec((uint16_t)(1000 + i));
		int rc = hsrv_journal_append(j, &r);
		if (rc)
			return rc;
	}
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/handoff-journal-XXXXXX";
	if (!mkdtemp(dir)) {
		printf("1..0 # SKIP no temp dir\n");
		return 0;
	}
	char path[256];
	snprintf(path, sizeof(path), "%s/journal", dir);

	/* Record codec. */
	uint8_t raw[HSRV_JREC_LEN];
	struct hsrv_jrec r = put_rec(3719), back;
	r.er.flags = HANDOFF_ER_CLOSED;
	hsrv_jrec_encode(&r, raw);
	ok(hsrv_jrec_decode(raw, &back) == 0 && back.er.nat_port == 3719 &&
	   back.er.flags == HANDOFF_ER_CLOSED && back.nat64 == r.nat64 &&
	   memcmp(&back.er.client, &r.er.client, 16) == 0, "record round trip");
	raw[20] ^= 0x40;
	is_int(hsrv_jrec_decode(raw, &back), -EBADMSG, "a flipped bit fails the CRC");

	/* Nothing on disk yet. */
	struct seen s = { 0 };
	size_t n, torn;
	ok(hsrv_journal_replay(dir, count_rec, &s, &n, &torn) == 0 && n == 0, "no journal: empty replay");

	/* Write 3 records through a rewrite + appends. */
	int three = 3;
	struct hsrv_journal *j;
	ok(hsrv_journal_rewrite(dir, fill_n, &three, &j) == 0, "journal created");
	struct hsrv_jrec d = put_rec(1001);
	d.type = HSRV_JREC_DEL;
	hsrv_journal_append(j, &d);
	ok(hsrv_journal_pending(j) > 0, "append is buffered");
	ok(hsrv_journal_sync(j) == 0 && hsrv_journal_pending(j) == 0, "sync writes the batch");
	is_int(hsrv_journal_size(j), 8 + 4 * HSRV_JREC_LEN, "journal size tracked");
	hsrv_journal_close(j);
	is_int(file_size(path), 8 + 4 * HSRV_JREC_LEN, "magic + four records on disk");
	memset(&s, 0, sizeof(s));
	ok(hsrv_journal_replay(dir, count_rec, &s, &n, &torn) == 0 && n == 4 && s.puts == 3 &&
	   s.dels == 1 && torn == 0, "replay returns all four in order");

	/* A crash mid-write: half a record at the end. */
	int fd = open(path, O_WRONLY | O_APPEND);
	hsrv_jrec_encode(&r, raw);
	ok(write(fd, raw, 20) == 20, "torn tail written");
	close(fd);
	memset(&s, 0, sizeof(s));
	ok(hsrv_journal_replay(dir, count_rec, &s, &n, &torn) == 0 && n == 4 && torn == 20,
	   "torn tail dropped, earlier records kept");
	/* A corrupt full record after the good ones. */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	ok(hsrv_journal_rewrite(dir, fill_n, &three, &j) == 0, "rewrite");
	hsrv_journal_close(j);
	fd = open(path, O_WRONLY | O_APPEND);
	hsrv_jrec_encode(&r, raw);
	raw[5] ^= 1;
	ok(write(fd, raw, sizeof(raw)) == (ssize_t)sizeof(raw), "corrupt record appended");
	close(fd);
	memset(&s, 0, sizeof(s));
	ok(hsrv_journal_replay(dir, count_rec, &s, &n, &torn) == 0 && n == 3 &&
	   torn == HSRV_JREC_LEN, "corrupt record ends the replay");
	/* A file that is not a journal is refused, not misread. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(write(fd, "hello world, not a journal", 26) == 26, "foreign file written");
	close(fd);
	is_int(hsrv_journal_replay(dir, count_rec, &s, &n, &torn), -EBADMSG, "wrong magic refused");

	/* Compaction through the engine: replay, drop evicted and replaced
	 * history, keep sessions and the latest mapping of every port. */
	uint8_t secret[HANDOFF_SECRET_LEN] = { 9 };
	struct hsrv_config cfg = { .capacity = 100, .per_group = 65536,
				   .accept_caps = HANDOFF_CAP_LOOKUP };
	struct hsrv *srv = hsrv_new(&cfg, secret);
	ok(hsrv_journal_rewrite(dir, NULL, NULL, &j) == 0, "fresh journal");
	for (int i = 0; i < 10; i++) {
		struct hsrv_jrec p = put_rec((uint16_t)(2000 + i % 5));	/* 5 ports, twice */
		p.er.client_port = (uint16_t)(40000 + i);
		hsrv_journal_append(j, &p);
	}
	struct hsrv_jrec del = put_rec(2004);
	del.type = HSRV_JREC_DEL;
	hsrv_journal_append(j, &del);
	struct hsrv_jrec sess = put_rec(0);
	sess.type = HSRV_JREC_SESSION;
	sess.nat_src_port = 64646;
	sess.wall_s = (uint64_t)time(NULL);
	hsrv_journal_append(j, &sess);
	hsrv_journal_close(j);
	ok(hsrv_journal_replay(dir, hsrv_replay_record, srv, &n, &torn) == 0 && n == 12,
	   "engine replays 12 records");
	is_int(hsrv_entries(srv), 4, "4 live entries (5 ports, one deleted)");
	ok(hsrv_journal_rewrite(dir, hsrv_compact_fill, srv, &j) == 0, "compacted");
	hsrv_journal_close(j);
	is_int(file_size(path), 8 + 5 * HSRV_JREC_LEN, "compacted file: 1 session + 4 entries");
	memset(&s, 0, sizeof(s));
	hsrv_journal_replay(dir, count_rec, &s, &n, &torn);
	ok(s.sessions == 1 && s.puts == 4 && s.dels == 0, "compacted content");
	struct hsrv *srv2 = hsrv_new(&cfg, secret);
	hsrv_journal_replay(dir, hsrv_replay_record, srv2, &n, &torn);
	is_int(hsrv_entries(srv2), 4, "replaying the compacted file gives the same table");
	hsrv_free(srv);
	hsrv_free(srv2);
	snprintf(path, sizeof(path), "%s/journal.new", dir);
	ok(access(path, F_OK) != 0, "no journal.new left behind");

	/* The secret: created once, then the same on every load. */
	uint8_t s1[HANDOFF_SECRET_LEN], s2[HANDOFF_SECRET_LEN];
	ok(hsrv_secret_load(dir, s1) == 0, "secret created");
	snprintf(path, sizeof(path), "%s/secret", dir);
	struct stat st;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == HANDOFF_SECRET_LEN,
	   "secret file is 0600, 32 octets");
	ok(hsrv_secret_load(dir, s2) == 0 && memcmp(s1, s2, sizeof(s1)) == 0, "secret survives");
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(write(fd, "short", 5) == 5, "secret truncated");
	close(fd);
	is_int(hsrv_secret_load(dir, s2), -EBADMSG, "short secret refused, not replaced");

	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
