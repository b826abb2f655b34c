/* STATE-DIRECTORY/handoff-state (handoff_state.h). Text, so an operator can
 * read what is kept:
 *   sixfour-handoff-state 1
 *   pool-key KEY                       (16 hex digits)
 *   session T S NONCE COOKIE CAPS      (addresses dotted, nonce and cookie
 *                                       16 hex digits, caps decimal)
 * Unknown lines are skipped, so a later version may add some. */
#include "autoconf.h"
#include "nat64/handoff_state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

#define HEADER "sixfour-handoff-state 1"

static int path_of(char *buf, size_t size, const char *dir, const char *suffix)
{
	int n = snprintf(buf, size, "%s/%s%s", dir, HANDOFF_STATE_FILE, suffix);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static bool unhex(uint8_t *out, const char *s, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static void write_one(void *arg, const struct handoff_session_state *st)
{
	FILE *f = arg;
	char t[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN], n[2 * HANDOFF_NONCE_LEN + 1],
		c[2 * HANDOFF_COOKIE_LEN + 1];
	inet_ntop(AF_INET, &st->nat64, t, sizeof(t));
	inet_ntop(AF_INET, &st->server, s, sizeof(s));
	hex(n, st->nonce, HANDOFF_NONCE_LEN);
	hex(c, st->cookie, HANDOFF_COOKIE_LEN);
	fprintf(f, "session %s %s %s %s %u\n", t, s, n, c, st->caps);
}

int handoff_state_save(const char *dir, struct handoff_client *c, uint64_t pool_key)
{
	char tmp[4096], final[4096];
	int rc = path_of(tmp, sizeof(tmp), dir, ".new");
	if (!rc)
		rc = path_of(final, sizeof(final), dir, "");
	if (rc)
		return rc;
	/* The cookies are credentials of our sessions: only our user reads them. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		return rc;
	}
	fprintf(f, "%s\npool-key %016llx\n", HEADER, (unsigned long long)pool_key);
	handoff_client_foreach_session(c, write_one, f);
	if (fflush(f) != 0 || ferror(f) || fsync(fd) < 0)
		rc = -errno ? -errno : -EIO;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, final) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return fsync_dir(dir);
}

int handoff_state_load(const char *dir,
		       void (*fn)(void *arg, const struct handoff_session_state *st), void *arg,
		       size_t *bad, uint64_t *pool_key)
{
	char path[4096], line[256];
	*bad = 0;
	int rc = path_of(path, sizeof(path), dir, "");
	if (rc)
		return rc;
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	size_t n = 0;
	bool header = false;
	while (fgets(line, sizeof(line), f) && n < HANDOFF_STATE_MAX) {
		line[strcspn(line, "\n")] = '\0';
		if (!header) {
			header = strcmp(line, HEADER) == 0;
			if (!header) {
				(*bad)++;
				break;	/* another format: read nothing from it */
			}
			continue;
		}
		char t[32], s[32], nonce[40], cookie[40];
		unsigned caps;
		unsigned long long key;
		struct handoff_session_state st = { 0 };
		if (strncmp(line, "pool-key ", 9) == 0) {
			if (sscanf(line + 9, "%16llx", &key) == 1 && strlen(line + 9) == 16) {
				if (pool_key)
					*pool_key = key;
			} else {
				(*bad)++;
			}
			continue;
		}
		if (strncmp(line, "session ", 8) != 0)
			continue;	/* a line of a later version */
		if (sscanf(line, "session %31s %31s %39s %39s %u", t, s, nonce, cookie, &caps) != 5 ||
		    inet_pton(AF_INET, t, &st.nat64) != 1 || inet_pton(AF_INET, s, &st.server) != 1 ||
		    !unhex(st.nonce, nonce, HANDOFF_NONCE_LEN) ||
		    !unhex(st.cookie, cookie, HANDOFF_COOKIE_LEN) || caps > 0xff) {
			(*bad)++;
			continue;
		}
		st.caps = (uint8_t)caps;
		if (fn)
			fn(arg, &st);
		n++;
	}
	rc = ferror(f) ? -EIO : 0;
	fclose(f);
	return rc;
}
