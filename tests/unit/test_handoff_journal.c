/* sixfour-handoffd durability: record codec, replay, a crash-truncated
 * tail, the corruption matrix (a flipped octet at every offset of a record,
 * in the header, several damaged records, an octet lost or inserted, garbage
 * after the magic, an empty file), start-up from journal.prev, the files a
 * compaction keeps, compaction through the server engine, the secret file. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/ctl.h"
#include "common/util.h"
#include "handoff/server_journal.h"
#include "handoff/server_proto.h"
#include "tap.h"

#define N 200	/* records in the matrix journal */

static char dir[] = "/tmp/handoff-journal-XXXXXX";
static char jpath[256];

struct seen {
	int n, puts, dels, sessions, resets;
	uint8_t port_seen[N];
};

static int count_rec(void *arg, const struct hsrv_jrec *r)
{
	struct seen *s = arg;
	s->n++;
	s->puts += r->type == HSRV_JREC_PUT;
	s->dels += r->type == HSRV_JREC_DEL;
	s->sessions += r->type == HSRV_JREC_SESSION;
	if (r->type == HSRV_JREC_PUT && r->er.nat_port >= 1000 && r->er.nat_port < 1000 + N)
		s->port_seen[r->er.nat_port - 1000]++;
	return 0;
}

static void reset_seen(void *arg)
{
	struct seen *s = arg;
	int resets = s->resets + 1;
	memset(s, 0, sizeof(*s));
	s->resets = resets;
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

/* The whole journal file, to damage copies of it. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *b = malloc(1 << 20);
	*len = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

static void put_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		if (len && fwrite(p, 1, len, f) != len)
			printf("# short write of %s\n", path);
		fclose(f);
	}
}

static int read_copy(const uint8_t *p, size_t len, struct seen *s, struct hsrv_journal_scan *sc)
{
	put_file(jpath, p, len);
	memset(s, 0, sizeof(*s));
	return hsrv_journal_read(jpath, count_rec, s, sc);
}

static bool only_missing(const struct seen *s, int rec)
{
	for (int i = 0; i < N; i++)
		if (s->port_seen[i] != (i == rec ? 0 : 1))
			return false;
	return true;
}

static void rm(const char *name)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

int main(void)
{
	plan(48);
	if (!mkdtemp(dir))
		bail("no temp dir");
	snprintf(jpath, sizeof(jpath), "%s/journal", dir);
	char path[300];

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
	struct hsrv_jrec sr = { .type = HSRV_JREC_SESSION, .nat_src_port = 64646, .range_lo = 61001,
				.range_hi = 65535, .wall_s = 1700000000 };
	hsrv_jrec_encode(&sr, raw);
	ok(hsrv_jrec_decode(raw, &back) == 0 && back.range_lo == 61001 && back.range_hi == 65535 &&
	   back.nat_src_port == 64646 && back.wall_s == 1700000000,
	   "SESSION record keeps the NAT64's port range");

	/* Nothing on disk yet. */
	struct seen s = { 0 };
	struct hsrv_journal_report rep;
	ok(hsrv_journal_load(dir, count_rec, reset_seen, &s, &rep) == 0 && s.n == 0 &&
	   !rep.used_prev, "no journal: an empty table");

	/* Write 3 records through a rewrite + appends. */
	int three = 3;
	struct hsrv_journal *j;
	ok(hsrv_journal_rewrite(dir, fill_n, &three, HSRV_KEEP_AS_PREV, &j) == 0, "journal created");
	struct stat st;
	ok(stat(jpath, &st) == 0 && (st.st_mode & 0777) == 0600, "the journal is 0600");
	struct hsrv_jrec d = put_rec(1001);
	d.type = HSRV_JREC_DEL;
	hsrv_journal_append(j, &d);
	ok(hsrv_journal_pending(j) > 0, "append is buffered");
	ok(hsrv_journal_sync(j) == 0 && hsrv_journal_pending(j) == 0, "sync writes the batch");
	is_int(hsrv_journal_size(j), 8 + 4 * HSRV_JREC_LEN, "journal size tracked");
	hsrv_journal_close(j);
	is_int(file_size(jpath), 8 + 4 * HSRV_JREC_LEN, "magic + four records on disk");
	struct hsrv_journal_scan sc;
	memset(&s, 0, sizeof(s));
	ok(hsrv_journal_read(jpath, count_rec, &s, &sc) == 0 && s.n == 4 && s.puts == 3 &&
	   s.dels == 1 && !hsrv_journal_damaged(&sc), "replay returns all four in order");

	/* A crash mid-write: half a record at the end. */
	int fd = open(jpath, O_WRONLY | O_APPEND);
	hsrv_jrec_encode(&r, raw);
	ok(write(fd, raw, 20) == 20, "torn tail written");
	close(fd);
	memset(&s, 0, sizeof(s));
	ok(hsrv_journal_read(jpath, count_rec, &s, &sc) == 0 && s.n == 4 && sc.torn_octets == 20 &&
	   !hsrv_journal_damaged(&sc), "torn tail dropped, not counted as damage, records kept");

	/* --- the corruption matrix, on a journal of N records --- */
	int n = N;
	rm("journal");
	ok(hsrv_journal_rewrite(dir, fill_n, &n, HSRV_KEEP_AS_PREV, &j) == 0, "matrix journal");
	hsrv_journal_close(j);
	size_t len;
	uint8_t *good = slurp(jpath, &len);
	uint8_t *bad = malloc(len + 64);
	if (!good || !bad || len != 8 + (size_t)N * HSRV_JREC_LEN)
		bail("matrix journal not written");
	/* One flipped octet at every offset of a record, in records spread
	 * over the file (first, middle, last): exactly that record is lost. */
	int flips = 0, flips_ok = 0;
	static const int recs[] = { 0, 1, 57, 99, 150, N - 2, N - 1 };
	for (size_t ri = 0; ri < ARRAY_SIZE(recs); ri++)
		for (int k = 0; k < HSRV_JREC_LEN; k++) {
			memcpy(bad, good, len);
			bad[8 + (size_t)recs[ri] * HSRV_JREC_LEN + (size_t)k] ^= 0x5a;
			flips++;
			if (read_copy(bad, len, &s, &sc) == 0 && s.n == N - 1 && sc.bad_records == 1 &&
			    sc.torn_octets == 0 && only_missing(&s, recs[ri]))
				flips_ok++;
		}
	is_int(flips_ok, flips, "a flipped octet at each of 392 offsets loses only its own record");
	memcpy(bad, good, len);
	bad[3] ^= 0xff;
	ok(read_copy(bad, len, &s, &sc) == 0 && s.n == N && sc.bad_magic && sc.bad_records == 0,
	   "a damaged header: every record kept, the damage reported");
	memcpy(bad, good, len);
	for (int k = 0; k < 10; k++)
		bad[8 + (size_t)(k * 19 + 3) * HSRV_JREC_LEN + 30] ^= 1;
	ok(read_copy(bad, len, &s, &sc) == 0 && s.n == N - 10 && sc.bad_records == 10,
	   "ten damaged records: ten skipped, 190 kept");
	/* One octet lost, one inserted: alignment changes, the scan finds the
	 * next intact record anyway. */
	size_t at = 8 + 80 * HSRV_JREC_LEN + 17;
	memcpy(bad, good, at);
	memcpy(bad + at, good + at + 1, len - at - 1);
	ok(read_copy(bad, len - 1, &s, &sc) == 0 && s.n == N - 1 && only_missing(&s, 80),
	   "an octet lost in record 80: only that record is lost");
	memcpy(bad, good, at);
	bad[at] = 0x77;
	memcpy(bad + at + 1, good + at, len - at);
	ok(read_copy(bad, len + 1, &s, &sc) == 0 && s.n == N - 1 && only_missing(&s, 80),
	   "an octet inserted in record 80: only that record is lost");
	/* Damage followed by a torn tail. */
	memcpy(bad, good, len);
	bad[8 + 5 * HSRV_JREC_LEN] ^= 0x10;
	memcpy(bad + len, raw, 30);
	ok(read_copy(bad, len + 30, &s, &sc) == 0 && s.n == N - 1 && sc.bad_records == 1 &&
	   sc.torn_octets == 30, "damage and a torn tail are told apart");
	/* Garbage after the magic. */
	memcpy(bad, good, 8);
	srand(7);
	for (size_t i = 8; i < len; i++)
		bad[i] = (uint8_t)rand();
	ok(read_copy(bad, len, &s, &sc) == 0 && s.n == 0 && sc.bad_records > 0,
	   "garbage after the magic: nothing intact, all of it reported");
	rm("journal.prev");
	memset(&s, 0, sizeof(s));
	is_int(hsrv_journal_load(dir, count_rec, reset_seen, &s, &rep), -EBADMSG,
	       "... and without journal.prev no table can be rebuilt: refused");
	size_t len2;
	uint8_t *again = slurp(jpath, &len2);
	ok(again && len2 == len && memcmp(again, bad, len) == 0, "... the file is left as it was");
	free(again);
	/* An empty file: a crash right after it was created. */
	put_file(jpath, NULL, 0);
	memset(&s, 0, sizeof(s));
	ok(hsrv_journal_load(dir, count_rec, reset_seen, &s, &rep) == 0 && s.n == 0 &&
	   !hsrv_journal_damaged(&rep.cur), "a zero-length journal is an empty one");

	/* Start-up with journal.prev: a damaged journal is rebuilt from the
	 * previous generation first, then its own intact records. */
	snprintf(path, sizeof(path), "%s/journal.prev", dir);
	put_file(path, good, len);
	memcpy(bad, good, len);
	bad[8 + 42 * HSRV_JREC_LEN + 9] ^= 4;
	struct hsrv_jrec extra = put_rec(1000 + N - 1);
	extra.type = HSRV_JREC_DEL;	/* a later eviction, only in the journal */
	hsrv_jrec_encode(&extra, bad + len);
	put_file(jpath, bad, len + HSRV_JREC_LEN);
	memset(&s, 0, sizeof(s));
	ok(hsrv_journal_load(dir, count_rec, reset_seen, &s, &rep) == 0 && rep.used_prev &&
	   s.resets == 1 && rep.cur.bad_records == 1 && rep.prev.records == N,
	   "damaged journal: table reset, journal.prev replayed first");
	ok(s.port_seen[42] == 1 && s.dels == 1 && s.n == N + N - 1 + 1,
	   "... the damaged record comes back from journal.prev, later changes still apply");
	for (size_t i = 8; i < 8 + 3 * HSRV_JREC_LEN; i++)
		bad[i] = (uint8_t)rand();
	put_file(jpath, bad, 8 + 3 * HSRV_JREC_LEN);	/* garbage; journal.prev is fine */
	memset(&s, 0, sizeof(s));
	ok(hsrv_journal_load(dir, count_rec, reset_seen, &s, &rep) == 0 && rep.used_prev &&
	   s.n == N, "a journal with nothing intact: the table comes from journal.prev");

	/* Compaction keeps the journal it replaces. */
	put_file(jpath, good, len);
	three = 3;
	ok(hsrv_journal_rewrite(dir, fill_n, &three, HSRV_KEEP_AS_PREV, &j) == 0, "rewrite");
	hsrv_journal_close(j);
	is_int(file_size(path), (off_t)len, "the replaced journal is journal.prev now");
	is_int(file_size(jpath), 8 + 3 * HSRV_JREC_LEN, "the new journal holds the live state");
	ok(hsrv_journal_rewrite(dir, NULL, NULL, HSRV_KEEP_AS_DAMAGED, &j) == 0, "rewrite after damage");
	hsrv_journal_close(j);
	snprintf(path, sizeof(path), "%s/journal.damaged", dir);
	is_int(file_size(path), 8 + 3 * HSRV_JREC_LEN, "a damaged journal is kept as journal.damaged");
	snprintf(path, sizeof(path), "%s/journal.prev", dir);
	is_int(file_size(path), (off_t)len, "... and journal.prev is left alone");
	free(good);
	free(bad);

	/* Compaction through the engine: replay, drop evicted and replaced
	 * history, keep sessions and the latest mapping of every port. */
	uint8_t secret[HANDOFF_SECRET_LEN] = { 9 };
	struct hsrv_config cfg = { .capacity = 100, .per_group = 65536,
				   .accept_caps = HANDOFF_CAP_LOOKUP };
	struct hsrv *srv = hsrv_new(&cfg, secret);
	rm("journal.prev");
	ok(hsrv_journal_rewrite(dir, NULL, NULL, HSRV_KEEP_AS_PREV, &j) == 0, "fresh journal");
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
	sess.range_lo = 40000;
	sess.range_hi = 40999;
	sess.wall_s = (uint64_t)time(NULL);
	hsrv_journal_append(j, &sess);
	hsrv_journal_close(j);
	ok(hsrv_journal_load(dir, hsrv_replay_record, NULL, srv, &rep) == 0 && rep.cur.records == 12,
	   "engine replays 12 records");
	is_int(hsrv_entries(srv), 4, "4 live entries (5 ports, one deleted)");
	ok(hsrv_journal_rewrite(dir, hsrv_compact_fill, srv, HSRV_KEEP_AS_PREV, &j) == 0, "compacted");
	hsrv_journal_close(j);
	is_int(file_size(jpath), 8 + 5 * HSRV_JREC_LEN, "compacted file: 1 session + 4 entries");
	memset(&s, 0, sizeof(s));
	hsrv_journal_read(jpath, count_rec, &s, &sc);
	ok(s.sessions == 1 && s.puts == 4 && s.dels == 0, "compacted content");
	struct hsrv *srv2 = hsrv_new(&cfg, secret);
	hsrv_journal_load(dir, hsrv_replay_record, NULL, srv2, &rep);
	is_int(hsrv_entries(srv2), 4, "replaying the compacted file gives the same table");
	struct ctl_out out = { 0 };
	hsrv_status(srv2, &out, (uint64_t)time(NULL));
	ok(out.buf && strstr(out.buf, "ports 40000-40999"), "the session's port range survives compaction");
	free(out.buf);
	hsrv_free(srv);
	hsrv_free(srv2);
	snprintf(path, sizeof(path), "%s/journal.new", dir);
	ok(access(path, F_OK) != 0, "no journal.new left behind");

	/* The secret: created once, then the same on every load. */
	uint8_t s1[HANDOFF_SECRET_LEN], s2[HANDOFF_SECRET_LEN];
	ok(hsrv_secret_load(dir, s1) == 0, "secret created");
	snprintf(path, sizeof(path), "%s/secret", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == HANDOFF_SECRET_LEN,
	   "secret file is 0600, 32 octets");
	ok(hsrv_secret_load(dir, s2) == 0 && memcmp(s1, s2, sizeof(s1)) == 0, "secret survives");
	chmod(path, 0644);
	ok(hsrv_secret_load(dir, s2) == 0 && stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "a secret readable by others is made 0600 again");
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
