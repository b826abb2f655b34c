/* sixfour-handoffd journal and secret files. Record layout (56 octets,
 * big-endian):
 *   0 type  1 flags  2-3 NAT64 port  4-7 server IPv4  8-11 NAT64 IPv4
 *   12 proto  13 reserved  14-15 server port  16-17 client port
 *   18-33 client IPv6  34-41 nonce  42-43 NAT64 UDP port  44-51 wall seconds
 *   52-55 CRC-32 (IEEE) of octets 0-51
 * The file starts with an 8-octet magic so a wrong file is never replayed. */
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
#define BUF_RECORDS 256

struct hsrv_journal {
	int fd;
	uint64_t size;	/* octets written or buffered */
	size_t used;
	uint8_t buf[BUF_RECORDS * HSRV_JREC_LEN];
};

static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
	}
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
	put_be16(o + 14, r->er.server_port);
	put_be16(o + 16, r->er.client_port);
	memcpy(o + 18, &r->er.client, 16);
	memcpy(o + 34, r->nonce, HANDOFF_NONCE_LEN);
	put_be16(o + 42, r->nat_src_port);
	put_be32(o + 44, (uint32_t)(r->wall_s >> 32));
	put_be32(o + 48, (uint32_t)r->wall_s);
	put_be32(o + 52, crc32_ieee(o, 52));
}

int hsrv_jrec_decode(const uint8_t in[HSRV_JREC_LEN], struct hsrv_jrec *r)
{
	if (get_be32(in + 52) != crc32_ieee(in, 52))
		return -EBADMSG;
	if (in[0] < HSRV_JREC_PUT || in[0] > HSRV_JREC_SESSION)
		return -EBADMSG;
	memset(r, 0, sizeof(*r));
	r->type = in[0];
	r->er.flags = in[1];
	r->er.nat_port = get_be16(in + 2);
	memcpy(&r->server4, in + 4, 4);
	memcpy(&r->nat64, in + 8, 4);
	r->er.proto = in[12];
	r->er.server_port = get_be16(in + 14);
	r->er.client_port = get_be16(in + 16);
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

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int hsrv_journal_replay(const char *dir, int (*fn)(void *arg, const struct hsrv_jrec *r),
			void *arg, size_t *n_records, size_t *dropped_octets)
{
	char path[4096];
	int rc = path_in(path, sizeof(path), dir, "journal");
	*n_records = 0;
	*dropped_octets = 0;
	if (rc)
		return rc;
	FILE *f = fopen(path, "rbe");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	uint8_t magic[sizeof(journal_magic)];
	size_t got = fread(magic, 1, sizeof(magic), f);
	if (got == 0) {
		fclose(f);
		return 0;	/* empty file: a crash right after creation */
	}
	if (got != sizeof(magic) || memcmp(magic, journal_magic, sizeof(magic)) != 0) {
		fclose(f);
		log_err("handoffd: %s is not a sixfour-handoffd journal", path);
		return -EBADMSG;
	}
	uint8_t rec[HSRV_JREC_LEN];
	rc = 0;
	for (;;) {
		got = fread(rec, 1, sizeof(rec), f);
		if (got == 0)
			break;
		struct hsrv_jrec r;
		if (got < sizeof(rec) || hsrv_jrec_decode(rec, &r) < 0) {
			/* A torn tail: everything from here on is dropped. */
			*dropped_octets = got;
			while ((got = fread(rec, 1, sizeof(rec), f)) > 0)
				*dropped_octets += got;
			break;
		}
		(*n_records)++;
		rc = fn(arg, &r);
		if (rc)
			break;
	}
	if (ferror(f) && !rc)
		rc = -EIO;
	fclose(f);
	return rc;
}

int hsrv_journal_rewrite(const char *dir, int (*fill)(void *arg, struct hsrv_journal *j),
			 void *arg, struct hsrv_journal **out)
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
	rc = write_all(j->fd, journal_magic, sizeof(journal_magic));
	j->size = sizeof(journal_magic);
	if (!rc && fill)
		rc = fill(arg, j);
	if (!rc)
		rc = hsrv_journal_sync(j);
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
