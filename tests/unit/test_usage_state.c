/* The usage state file (nat64/usage_state.c) on its own: what is written
 * reads back the same; a damaged item line costs only its prefix (the
 * octets stay in the total as unattributed); a damaged total line keeps at
 * least what the items hold; another month is not restored; a smaller
 * capacity keeps the totals; and 2000 files with random damage (bytes
 * flipped, cut, lines swapped) never crash the reader and never give a
 * total larger than what was saved. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "nat64/usage_priv.h"
#include "tests/unit/tap.h"

static char dir[] = "/tmp/test_usage_state.XXXXXX";
static char path[256];

static struct nat64_usage *usage_new(uint32_t cap, time_t now)
{
	struct nat64_usage *u = calloc(1, sizeof(*u));
	u->interval_s = 300;
	for (int p = 0; p < USAGE_NPERIODS; p++) {
		u->p[p].hh6 = hh_new(cap, 1);
		u->p[p].hh4 = hh_new(cap / 4 ? cap / 4 : 1, 2);
		usage_period_bounds((enum usage_period_id)p, now, u->interval_s, &u->p[p].start,
				    &u->p[p].end, u->p[p].label, sizeof(u->p[p].label));
	}
	return u;
}

static void usage_free(struct nat64_usage *u)
{
	for (int p = 0; p < USAGE_NPERIODS; p++) {
		hh_free(u->p[p].hh6);
		hh_free(u->p[p].hh4);
	}
	free(u);
}

static void add(struct nat64_usage *u, int family, uint32_t id, uint64_t octets)
{
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct hh_key k;
	a[4] = (uint8_t)(id >> 8);
	a[5] = (uint8_t)id;
	if (family == AF_INET) {
		uint8_t v4[4] = { 100, 64, (uint8_t)id, 0 };
		hh_key_make(&k, AF_INET, v4, 24);
	} else {
		hh_key_make(&k, AF_INET6, a, 48);
	}
	struct hh_counts c = { 1, octets, 1, octets / 2 };
	for (int p = USAGE_DAY; p <= USAGE_MONTH; p++)
		hh_add(family == AF_INET ? u->p[p].hh4 : u->p[p].hh6, &k, &c);
}

static uint64_t month_octets(const struct nat64_usage *u)
{
	struct hh_stats s6, s4;
	usage_period_stats(&u->p[USAGE_MONTH], &s6, &s4);
	return hh_octets(&s6.total) + hh_octets(&s4.total);
}

static uint64_t month_unattributed(const struct nat64_usage *u)
{
	struct hh_stats s6, s4;
	usage_period_stats(&u->p[USAGE_MONTH], &s6, &s4);
	return hh_octets(&s6.unattributed) + hh_octets(&s4.unattributed);
}

static void save(const struct nat64_usage *u, time_t now, char **text, size_t *len)
{
	*text = usage_state_format(u, now, len);
	FILE *f = fopen(path, "w");
	fwrite(*text, 1, *len, f);
	fclose(f);
}

static void put(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	fwrite(text, 1, len, f);
	fclose(f);
}

static void clean(void)
{
	char p[300];
	unlink(path);
	snprintf(p, sizeof(p), "%s.prev", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.tmp", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.damaged", path);
	unlink(p);
}

int main(void)
{
	plan(13);
	log_init("test_usage_state", true, LOG_LVL_ERR);	/* on stderr */
	if (!mkdtemp(dir))
		bail("mkdtemp");
	snprintf(path, sizeof(path), "%s/usage.state", dir);
	time_t now = time(NULL);

	struct nat64_usage *u = usage_new(64, now);
	for (uint32_t i = 0; i < 40; i++)
		add(u, AF_INET6, i, 1000 + i);
	for (uint32_t i = 0; i < 10; i++)
		add(u, AF_INET, i, 500);
	u->quota_level = 90;
	uint64_t total = month_octets(u);
	char *text;
	size_t len;
	save(u, now, &text, &len);

	/* Read back whole. */
	struct nat64_usage *r = usage_new(64, now);
	usage_state_load(r, path);
	is_int(month_octets(r), total, "written and read back: the month's total");
	struct hh_stats a, b, a4, b4;
	usage_period_stats(&u->p[USAGE_DAY], &a, &a4);
	usage_period_stats(&r->p[USAGE_DAY], &b, &b4);
	ok(a.tracked == b.tracked && a4.tracked == b4.tracked && b.tracked == 40,
	   "every prefix of the day is back");
	is_int(r->quota_level, 90, "the quota warning level too");
	char *again;
	size_t alen;
	again = usage_state_format(r, now, &alen);
	ok(alen == len && memcmp(again, text, len) == 0, "and writing it again gives the same file");
	free(again);
	usage_free(r);

	/* One item line damaged. */
	char *t = strdup(text);
	char *line = strstr(t, "\nitem month 2001:db8:5::/48 ");
	if (!line)
		bail("no item line for 2001:db8:5::/48");
	line[strlen("\nitem month 2001:db8:5::/48 ")] ^= 1;	/* a digit changes */
	put(t, len);
	r = usage_new(64, now);
	usage_state_load(r, path);
	is_int(month_octets(r), total, "a damaged item line: the total is kept");
	is_int(month_unattributed(r), 1005 + 1005 / 2, "its octets are unattributed, both ways");
	again = usage_state_format(r, now, &alen);
	ok(again && !strstr(again, "item month 2001:db8:5::/48 ") &&
	   strstr(again, "item day 2001:db8:5::/48 "), "written again, without the lost prefix");
	free(again);
	char damaged[300];
	snprintf(damaged, sizeof(damaged), "%s.damaged", path);
	ok(access(damaged, F_OK) == 0, "the damaged file is kept aside");
	usage_free(r);
	free(t);
	clean();

	/* A damaged total line: at least what the items hold. */
	t = strdup(text);
	line = strstr(t, "\ntotal month 6 ");
	line[strlen("\ntotal month 6 ") + 3] ^= 1;
	put(t, len);
	r = usage_new(64, now);
	usage_state_load(r, path);
	struct hh_stats m6, m4;
	usage_period_stats(&r->p[USAGE_MONTH], &m6, &m4);
	ok(m6.tracked == 40 && hh_octets(&m6.remainder) == 0 && hh_octets(&m6.total) > 0,
	   "a damaged total line: the items are back, the total is what they hold");
	usage_free(r);
	free(t);
	clean();

	/* Another month: nothing restored. */
	put(text, len);
	r = usage_new(64, now + 40 * 86400);
	usage_state_load(r, path);
	is_int(month_octets(r), 0, "a file of another month is not restored into this one");
	usage_free(r);
	clean();

	/* A smaller capacity. */
	put(text, len);
	r = usage_new(16, now);
	usage_state_load(r, path);
	usage_period_stats(&r->p[USAGE_MONTH], &m6, &m4);
	ok(month_octets(r) == total && m6.tracked == 16 && m6.ss_bound > 0,
	   "into a smaller capacity: the total stays, the rest is a remainder with a bound");
	usage_free(r);
	clean();

	/* Random damage: never a crash, never more than was saved. */
	unsigned over = 0, restored = 0;
	uint32_t rng = 7;
	for (int round = 0; round < 2000; round++) {
		t = malloc(len);
		memcpy(t, text, len);
		size_t n = len;
		rng = rng * 1103515245u + 12345u;
		switch (rng >> 16 & 3) {
		case 0:	/* bytes flipped */
			for (int k = 0; k < 1 + (int)(rng % 5); k++) {
				rng = rng * 1103515245u + 12345u;
				t[(rng >> 8) % n] ^= (char)(1 << (rng % 8));
			}
			break;
		case 1:	/* cut */
			n = (rng >> 4) % n;
			break;
		case 2:	/* two lines swapped: a block moved */
			if (n > 200) {
				char tmp[64];
				size_t from = (rng >> 6) % (n - 64), to = (rng >> 9) % (n - 64);
				memcpy(tmp, t + from, 64);
				memmove(t + from, t + to, 64);
				memcpy(t + to, tmp, 64);
			}
			break;
		default:	/* garbage in the middle */
			for (size_t k = n / 3; k < n / 3 + 40 && k < n; k++)
				t[k] = (char)(rng >> (k % 24));
		}
		put(t, n);
		r = usage_new(64, now);
		usage_state_load(r, path);
		uint64_t got = month_octets(r);
		over += got > total;
		restored += got == total;
		usage_free(r);
		free(t);
		clean();
	}
	is_int(over, 0, "2000 randomly damaged files: never a total above the saved one");
	ok(restored > 500, "and most keep the exact total (a damaged item line only moves octets)");
	printf("# %u of 2000 kept the exact month total\n", restored);
	free(text);
	usage_free(u);
	rmdir(dir);
	return tap_done();
}
