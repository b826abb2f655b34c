/* sixfour-handoffd journal and secret files. Record layout (56 octets,
 * big-endian):
 *   0 type  1 flags  2-3 NAT64 port  4-7 server IPv4  8-11 NAT64 IPv4
 *   12 proto  13 reserved  14-15 server port  16-17 client port
 *   18-33 client IPv6  34-41 nonce  42-43 NAT64 UDP port  44-51 wall seconds
 *   52-55 CRC-32 (IEEE) of octets 0-51
 * A SESSION record keeps the NAT64's port range in 14-15 and 16-17.
 * The file starts with an 8-octet magic so a wrong file is never replayed;
 * records follow back to back, so one damaged record is skipped by looking
 * for the next offset where an intact one starts. */
#include "autoconf.h"
#include "handoff/server_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

static const uint8_t journal_magic[8] = { 'S', '6', '4', 'H', 'J', 'N', 'L', '1' };
#define MAGIC_LEN sizeof(journal_magic)
#define BUF_RECORDS 256
#define READ_CHUNK (1u << 20)

struct hsrv_journal {
	int fd;
	uint64_t size;	/* octets written or buffered */
	size_t used;
	uint8_t buf[BUF_RECORDS * HSRV_JREC_LEN];
};

static uint32_t crc_table[256];

/* CRC-32 (IEEE 802.3, reflected), one table lookup per octet: a start-up
 * reads the whole journal, up to a few hundred MB for a full table. */
static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
	if (crc_table[1] == 0)
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
			crc_table[i] = c;
		}
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return ~c;
}

void hsrv_jrec_encode(const struct hsrv_jrec *r, uint8_t o[HSRV_JREC_LEN])
{
	memset(o, 0, HSRV_JREC_LEN);
	o[0] = r->type;
	o[1] = r->er.flags;
	put_be16(o + 2, r->er.nat_port);
	memcpy(o + 4, &r->server4, 4);
	memcpy(o + 8, &r->nat64, 4);
	o[12] = r->er.proto;
	if (r->type == HSRV_JREC_SESSION) {
		put_be16(o + 14, r->range_lo);
		put_be16(o + 16, r->range_hi);
	} else {
		put_be16(o + 14, r->er.server_port);
		put_be16(o + 16, r->er.client_port);
	}
	memcpy(o + 18, &r->er.client, 16);
	memcpy(o + 34, r->nonce, HANDOFF_NONCE_LEN);
	put_be16(o + 42, r->nat_src_port);
	put_be32(o + 44, (uint32_t)(r->wall_s >> 32));
	put_be32(o + 48, (uint32_t)r->wall_s);
	put_be32(o + 52, crc32_ieee(o, 52));
}

int hsrv_jrec_decode(const uint8_t in[HSRV_JREC_LEN], struct hsrv_jrec *r)
{
	if (in[0] < HSRV_JREC_PUT || in[0] > HSRV_JREC_SESSION)
		return -EBADMSG;	/* cheap test first: the resync scan calls this a lot */
	if (get_be32(in + 52) != crc32_ieee(in, 52))
		return -EBADMSG;
	memset(r, 0, sizeof(*r));
	r->type = in[0];
	r->er.flags = in[1];
	r->er.nat_port = get_be16(in + 2);
	memcpy(&r->server4, in + 4, 4);
	memcpy(&r->nat64, in + 8, 4);
	r->er.proto = in[12];
	if (r->type == HSRV_JREC_SESSION) {
		r->range_lo = get_be16(in + 14);
		r->range_hi = get_be16(in + 16);
	} else {
		r->er.server_port = get_be16(in + 14);
		r->er.client_port = get_be16(in + 16);
	}
	memcpy(&r->er.client, in + 18, 16);
	memcpy(r->nonce, in + 34, HANDOFF_NONCE_LEN);
	r->nat_src_port = get_be16(in + 42);
	r->wall_s = (uint64_t)get_be32(in + 44) << 32 | get_be32(in + 48);
	return 0;
}

static int path_in(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}


/* A forward reader with at least one record of look-ahead. */
struct reader {
	int fd;
	uint8_t *buf;
	size_t len, off;
	bool eof;
	int err;
};

/* Makes `want` octets available at r->off if the file has them. */
static size_t reader_avail(struct reader *r, size_t want)
{
	if (r->len - r->off >= want || r->eof)
		return r->len - r->off;
	memmove(r->buf, r->buf + r->off, r->len - r->off);
	r->len -= r->off;
	r->off = 0;
	while (r->len < want && !r->eof) {
		ssize_t n = read(r->fd, r->buf + r->len, READ_CHUNK + HSRV_JREC_LEN - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->err = -errno;
			r->eof = true;
		} else if (n == 0) {
			r->eof = true;
		} else {
			r->len += (size_t)n;
		}
	}
	return r->len - r->off;
}

int hsrv_journal_read(const char *path, int (*fn)(void *arg, const struct hsrv_jrec *r),
		      void *arg, struct hsrv_journal_scan *scan)
{
	memset(scan, 0, sizeof(*scan));
	struct reader r = { .fd = open(path, O_RDONLY | O_CLOEXEC) };
	if (r.fd < 0)
		return -errno;
	r.buf = malloc(READ_CHUNK + HSRV_JREC_LEN);
	if (!r.buf) {
		close(r.fd);
		return -ENOMEM;
	}
	int rc = 0;
	size_t avail = reader_avail(&r, MAGIC_LEN);
	if (avail > 0 && avail < MAGIC_LEN) {
		scan->torn_octets = avail;	/* a crash right after creation */
		goto out;
	}
	if (avail >= MAGIC_LEN) {
		scan->bad_magic = memcmp(r.buf, journal_magic, MAGIC_LEN) != 0;
		r.off += MAGIC_LEN;
	}
	uint64_t bad_run = 0;	/* octets of the damaged stretch being skipped */
	for (;;) {
		avail = reader_avail(&r, HSRV_JREC_LEN);
		struct hsrv_jrec rec;
		if (avail >= HSRV_JREC_LEN && hsrv_jrec_decode(r.buf + r.off, &rec) == 0) {
			if (bad_run) {
				scan->bad_octets += bad_run;
				scan->bad_records += (bad_run + HSRV_JREC_LEN - 1) / HSRV_JREC_LEN;
				bad_run = 0;
			}
			scan->records++;
			r.off += HSRV_JREC_LEN;
			if (fn && (rc = fn(arg, &rec)) != 0)
				goto out;
			continue;
		}
		if (avail == 0)
			break;
		if (avail < HSRV_JREC_LEN && bad_run == 0) {
			scan->torn_octets = avail;	/* cut short by a crash: never acked */
			break;
		}
		if (avail < HSRV_JREC_LEN) {
			bad_run += avail;	/* the end of a damaged stretch */
			break;
		}
		/* Damage: the next intact record may start at any offset (a
		 * flipped octet keeps the alignment, a lost or extra one does
		 * not), so look one octet further. */
		bad_run++;
		r.off++;
	}
	if (bad_run) {
		scan->bad_octets += bad_run;
		scan->bad_records += (bad_run + HSRV_JREC_LEN - 1) / HSRV_JREC_LEN;
	}
	rc = r.err;
out:
	free(r.buf);
	close(r.fd);
	return rc;
}

int hsrv_journal_load(const char *dir, int (*fn)(void *arg, const struct hsrv_jrec *r),
		      void (*reset)(void *arg), void *arg, struct hsrv_journal_report *rep)
{
	char cur[4096], prev[4096];
	int rc = path_in(cur, sizeof(cur), dir, "journal");
	if (!rc)
		rc = path_in(prev, sizeof(prev), dir, "journal.prev");
	memset(rep, 0, sizeof(*rep));
	if (rc)
		return rc;
	rc = hsrv_journal_read(cur, fn, arg, &rep->cur);
	bool missing = rc == -ENOENT;
	if (rc && !missing)
		return rc;
	bool damaged = hsrv_journal_damaged(&rep->cur);
	if (!damaged && !missing)
		return 0;
	/* Damage (or no journal at all next to a journal.prev, a state no
	 * crash leaves): rebuild from the previous generation, then apply
	 * what the damaged journal still holds on top. */
	struct hsrv_journal_scan p;
	rc = hsrv_journal_read(prev, NULL, NULL, &p);
	if (rc == -ENOENT) {
		if (missing)
			return 0;	/* a first start */
		if (rep->cur.records == 0)
			return -EBADMSG;	/* nothing intact to build on */
		return 0;
	}
	if (rc)
		return rc;
	if (reset)
		reset(arg);
	rep->used_prev = true;
	rc = hsrv_journal_read(prev, fn, arg, &rep->prev);
	if (!rc && !missing)
		rc = hsrv_journal_read(cur, fn, arg, &rep->cur);
	return rc;
}

/* `name` becomes another name of STATEDIR/journal (replacing what it was). */
static int link_aside(const char *dir, const char *final, const char *name)
{
	char aside[4096];
	int rc = path_in(aside, sizeof(aside), dir, name);
	if (rc)
		return rc;
	if (unlink(aside) < 0 && errno != ENOENT)
		return -errno;
	if (link(final, aside) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int hsrv_journal_rewrite(const char *dir, int (*fill)(void *arg, struct hsrv_journal *j),
			 void *arg, enum hsrv_journal_keep keep, struct hsrv_journal **out)
{
	char tmp[4096], final[4096];
	int rc = path_in(tmp, sizeof(tmp), dir, "journal.new");
	if (!rc)
		rc = path_in(final, sizeof(final), dir, "journal");
	if (rc)
		return rc;
	struct hsrv_journal *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		rc = -errno;
		free(j);
		return rc;
	}
	rc = fchmod(j->fd, 0600) < 0 ? -errno : 0;	/* whatever the umask */
	if (!rc)
		rc = write_all(j->fd, journal_magic, MAGIC_LEN);
	j->size = MAGIC_LEN;
	if (!rc && fill)
		rc = fill(arg, j);
	if (!rc)
		rc = hsrv_journal_sync(j);
	/* The replaced journal stays under another name, linked before the
	 * rename so that STATEDIR/journal names a whole journal at every
	 * moment (a crash in between leaves both names on the old file). */
	if (!rc)
		rc = link_aside(dir, final, keep == HSRV_KEEP_AS_PREV ? "journal.prev"
								   : "journal.damaged");
	if (!rc && rename(tmp, final) < 0)
		rc = -errno;
	if (!rc)
		rc = fsync_dir(dir);
	if (rc) {
		close(j->fd);
		unlink(tmp);
		free(j);
		return rc;
	}
	*out = j;
	return 0;
}

void hsrv_journal_close(struct hsrv_journal *j)
{
	if (!j)
		return;
	if (j->used)
		hsrv_journal_sync(j);
	close(j->fd);
	free(j);
}

static int flush(struct hsrv_journal *j)
{
	int rc = write_all(j->fd, j->buf, j->used);
	j->used = 0;
	return rc;
}

int hsrv_journal_append(struct hsrv_journal *j, const struct hsrv_jrec *r)
{
	if (j->used + HSRV_JREC_LEN > sizeof(j->buf)) {
		int rc = flush(j);
		if (rc)
			return rc;
	}
	hsrv_jrec_encode(r, j->buf + j->used);
	j->used += HSRV_JREC_LEN;
	j->size += HSRV_JREC_LEN;
	return 0;
}

uint64_t hsrv_journal_size(const struct hsrv_journal *j)
{
	return j->size;
}

int hsrv_journal_sync(struct hsrv_journal *j)
{
	int rc = flush(j);
	if (rc)
		return rc;
	return fdatasync(j->fd) < 0 ? -errno : 0;
}

size_t hsrv_journal_pending(const struct hsrv_journal *j)
{
	return j->used;
}

int hsrv_secret_load(const char *dir, uint8_t secret[HANDOFF_SECRET_LEN])
{
	char path[4096], tmp[4096];
	int rc = path_in(path, sizeof(path), dir, "secret");
	if (!rc)
		rc = path_in(tmp, sizeof(tmp), dir, "secret.new");
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		/* Anyone who reads the secret can forge cookies: it is the
		 * daemon's user's alone. */
		if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
			log_warn("handoffd: %s was readable by others; made 0600", path);
			if (fchmod(fd, 0600) < 0) {
				int e = errno;
				close(fd);
				return -e;
			}
		}
		ssize_t n = read(fd, secret, HANDOFF_SECRET_LEN);
		close(fd);
		if (n == HANDOFF_SECRET_LEN)
			return 0;
		log_err("handoffd: %s is not %d octets; remove it to make a new one", path,
			HANDOFF_SECRET_LEN);
		return -EBADMSG;
	}
	if (errno != ENOENT)
		return -errno;
	/* First start: write the new secret aside, then rename, so a crash never
	 * leaves a short secret that would change every cookie. */
	rc = handoff_random(secret, HANDOFF_SECRET_LEN);
	if (rc)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, secret, HANDOFF_SECRET_LEN);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc)
		rc = fsync_dir(dir);
	return rc;
}
