/* The usage state file: the day's and the month's summaries, so that a
 * restart keeps them. Text, one record per line, each line ending in the
 * CRC-32 of what precedes it:
 *
 *   sixfour-usage-state 1 WRITTEN                      (unix time)
 *   total day|month 6|4 LABEL START END  TOTAL  UNATTRIBUTED  HELD  SS_BOUND
 *   quota MONTH LEVEL
 *   item day|month PREFIX PACKETS_FROM OCTETS_FROM PACKETS_TO OCTETS_TO ERR
 *   end LINES
 *
 * where TOTAL, UNATTRIBUTED and HELD are four numbers each (packets and
 * octets from, packets and octets to), HELD being what the items hold.
 * A damaged line costs only itself: an item's octets stay in the totals
 * and are reported as no longer attributed (HELD minus what was read); a
 * damaged file is kept aside as .damaged, never silently replaced. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ctl.h"
#include "common/log.h"
#include "common/util.h"
#include "nat64/usage_priv.h"

#define STATE_MAGIC "sixfour-usage-state"
#define STATE_VERSION 1
#define STATE_MAX_SIZE (1u << 30)

static const char *const period_name[] = { [USAGE_DAY] = "day", [USAGE_MONTH] = "month" };

/* --- writing --- */

/* Ends the line that starts at `from` with its CRC. */
static void end_line(struct ctl_out *b, size_t from)
{
	if (b->failed)
		return;
	uint32_t crc = crc32_buf(b->buf + from, b->len - from);
	ctl_printf(b, " %08x\n", crc);
}

struct item_arg {
	struct ctl_out *b;
	const char *period;
	size_t lines;
};

static void put_item(void *arg, const struct hh_item *it)
{
	struct item_arg *a = arg;
	char pfx[64];
	hh_key_format(&it->key, pfx, sizeof(pfx));
	size_t from = a->b->len;
	ctl_printf(a->b, "item %s %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
		      a->period, pfx, it->c.packets_from, it->c.octets_from, it->c.packets_to,
		      it->c.octets_to, it->err);
	end_line(a->b, from);
	a->lines++;
}

static void put_counts(struct ctl_out *b, const struct hh_counts *c)
{
	ctl_printf(b, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, c->packets_from,
		      c->octets_from, c->packets_to, c->octets_to);
}

char *usage_state_format(const struct nat64_usage *u, time_t now, size_t *len)
{
	struct ctl_out b = { 0 };
	size_t lines = 0, from = b.len;
	ctl_printf(&b, "%s %d %lld", STATE_MAGIC, STATE_VERSION, (long long)now);
	end_line(&b, from);
	lines++;
	for (int p = USAGE_DAY; p <= USAGE_MONTH; p++) {
		const struct usage_period *pp = &u->p[p];
		const struct hh *hh[2] = { pp->hh6, pp->hh4 };
		for (int f = 0; f < 2; f++) {
			struct hh_stats st;
			hh_stats(hh[f], &st);
			struct hh_counts held = st.total;
			/* held = total - remainder */
			held.packets_from -= st.remainder.packets_from;
			held.octets_from -= st.remainder.octets_from;
			held.packets_to -= st.remainder.packets_to;
			held.octets_to -= st.remainder.octets_to;
			from = b.len;
			ctl_printf(&b, "total %s %d %s %lld %lld", period_name[p], f ? 4 : 6,
				      pp->label, (long long)pp->start, (long long)pp->end);
			put_counts(&b, &st.total);
			put_counts(&b, &st.unattributed);
			put_counts(&b, &held);
			ctl_printf(&b, " %" PRIu64, st.ss_bound);
			end_line(&b, from);
			lines++;
		}
	}
	from = b.len;
	ctl_printf(&b, "quota %s %u", u->p[USAGE_MONTH].label, u->quota_level);
	end_line(&b, from);
	lines++;
	for (int p = USAGE_DAY; p <= USAGE_MONTH; p++) {
		struct item_arg a = { &b, period_name[p], 0 };
		hh_foreach(u->p[p].hh6, put_item, &a);
		hh_foreach(u->p[p].hh4, put_item, &a);
		lines += a.lines;
	}
	from = b.len;
	ctl_printf(&b, "end %zu", lines);
	end_line(&b, from);
	if (b.failed) {
		free(b.buf);
		return NULL;
	}
	*len = b.len;
	return b.buf;
}

/* --- reading --- */

struct saved_total {
	bool have;
	char label[24];
	long long start, end;
	struct hh_counts total, unattributed, held;
	uint64_t ss_bound;
};

struct saved_item {
	uint8_t period;
	struct hh_item it;
};

struct saved {
	const char *path;
	bool exists, header, end;
	size_t lines, damaged, end_lines;
	long long written;
	struct saved_total tot[USAGE_NPERIODS][2];	/* [period][0: IPv6, 1: IPv4] */
	bool have_quota;
	char quota_label[24];
	unsigned quota_level;
	struct saved_item *items;
	size_t nitems, cap;
	char why[128];			/* why it could not be read at all */
};

static int period_of(const char *name)
{
	for (int p = USAGE_DAY; p <= USAGE_MONTH; p++)
		if (strcmp(name, period_name[p]) == 0)
			return p;
	return -1;
}

static bool parse_counts(const char **s, struct hh_counts *c)
{
	uint64_t *v[4] = { &c->packets_from, &c->octets_from, &c->packets_to, &c->octets_to };
	for (int i = 0; i < 4; i++) {
		char *end;
		errno = 0;
		*v[i] = strtoull(*s, &end, 10);
		if (errno || end == *s || (*end != ' ' && *end != '\0'))
			return false;
		*s = end;
	}
	return true;
}

/* One line (without its newline); false when it is damaged. */
static bool parse_line(struct saved *sv, char *line)
{
	char *sp = strrchr(line, ' ');
	if (!sp || strlen(sp + 1) != 8)
		return false;
	char *end;
	unsigned long crc = strtoul(sp + 1, &end, 16);
	if (*end || crc32_buf(line, (size_t)(sp - line)) != (uint32_t)crc)
		return false;
	*sp = '\0';
	char word[32], a[24], b[64];
	int n = 0;
	if (sscanf(line, "%31s %n", word, &n) != 1)
		return false;
	const char *rest = line + n;
	if (strcmp(word, STATE_MAGIC) == 0) {
		int version;
		if (sscanf(rest, "%d %lld", &version, &sv->written) != 2 || version != STATE_VERSION)
			return false;
		sv->header = true;
		return true;
	}
	if (strcmp(word, "total") == 0) {
		int fam, k = 0;
		long long start, stop;
		if (sscanf(rest, "%15s %d %23s %lld %lld%n", a, &fam, b, &start, &stop, &k) != 5)
			return false;
		int p = period_of(a);
		if (p < 0 || (fam != 4 && fam != 6))
			return false;
		struct saved_total *t = &sv->tot[p][fam == 4];
		const char *s = rest + k;
		if (!parse_counts(&s, &t->total) || !parse_counts(&s, &t->unattributed) ||
		    !parse_counts(&s, &t->held))
			return false;
		if (sscanf(s, " %" SCNu64, &t->ss_bound) != 1)
			return false;
		strlcpy_ok(t->label, b, sizeof(t->label));
		t->start = start;
		t->end = stop;
		t->have = true;
		return true;
	}
	if (strcmp(word, "quota") == 0) {
		if (sscanf(rest, "%23s %u", sv->quota_label, &sv->quota_level) != 2)
			return false;
		sv->have_quota = true;
		return true;
	}
	if (strcmp(word, "item") == 0) {
		int k = 0;
		struct saved_item si = { 0 };
		if (sscanf(rest, "%15s %63s%n", a, b, &k) != 2)
			return false;
		int p = period_of(a);
		const char *s = rest + k;
		if (p < 0 || hh_key_parse(b, &si.it.key) != 0 || !parse_counts(&s, &si.it.c) ||
		    sscanf(s, " %" SCNu64, &si.it.err) != 1)
			return false;
		si.period = (uint8_t)p;
		if (sv->nitems == sv->cap) {
			size_t cap = sv->cap ? sv->cap * 2 : 1024;
			struct saved_item *v = realloc(sv->items, cap * sizeof(*v));
			if (!v)
				return false;
			sv->items = v;
			sv->cap = cap;
		}
		sv->items[sv->nitems++] = si;
		return true;
	}
	if (strcmp(word, "end") == 0) {
		if (sscanf(rest, "%zu", &sv->end_lines) != 1)
			return false;
		sv->end = true;
		return true;
	}
	return false;
}

static void read_saved(struct saved *sv, const char *path)
{
	memset(sv, 0, sizeof(*sv));
	sv->path = path;
	char *text = read_small_file(path, STATE_MAX_SIZE, NULL);
	if (!text) {
		int e = errno;
		sv->exists = e == EFBIG || e == ENOMEM;	/* it opened */
		snprintf(sv->why, sizeof(sv->why), "%s",
			 e == EFBIG ? "too large" : e == ENOMEM ? "out of memory" : strerror(e));
		return;
	}
	sv->exists = true;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sv->end) {	/* anything after the end is damage */
			sv->damaged++;
			continue;
		}
		sv->lines++;
		if (!parse_line(sv, line)) {
			sv->damaged++;
		} else if (sv->end) {
			sv->lines--;	/* the end line counts the lines before it */
		}
	}
	free(text);
	if (!sv->header)
		snprintf(sv->why, sizeof(sv->why), "no valid header line");
}

static bool complete(const struct saved *sv)
{
	return sv->header && sv->end && sv->damaged == 0 && sv->end_lines == sv->lines;
}

static bool usable(const struct saved *sv)
{
	return sv->header;
}

/* Every period's total line was read: the totals are exact even when some
 * item lines are not. */
static bool totals_intact(const struct saved *sv)
{
	for (int p = USAGE_DAY; p <= USAGE_MONTH; p++)
		for (int f = 0; f < 2; f++)
			if (!sv->tot[p][f].have)
				return false;
	return sv->header;
}

static void free_saved(struct saved *sv)
{
	free(sv->items);
	sv->items = NULL;
}

/* Puts what `sv` holds for the current day and month into the summaries;
 * returns the octets whose prefix was lost (damaged item lines). */
static uint64_t restore(struct nat64_usage *u, const struct saved *sv, size_t restored[2])
{
	uint64_t lost = 0;
	restored[0] = restored[1] = 0;
	for (int p = USAGE_DAY; p <= USAGE_MONTH; p++) {
		struct usage_period *pp = &u->p[p];
		for (int f = 0; f < 2; f++) {
			const struct saved_total *t = &sv->tot[p][f];
			const struct saved_total *other = &sv->tot[p][!f];
			const char *label = t->have ? t->label : other->have ? other->label : NULL;
			if (!label)
				continue;
			if (strcmp(label, pp->label) != 0) {
				/* Another day or month: its totals are in the log. */
				if (f == 0)
					log_notice("usage: the state file holds %s %s; %s %s starts "
						   "from zero", period_name[p], label, period_name[p],
						   pp->label);
				continue;
			}
			struct hh *h = f ? pp->hh4 : pp->hh6;
			struct hh_counts loaded = { 0 };
			uint64_t max_err = 0;
			for (size_t i = 0; i < sv->nitems; i++) {
				const struct saved_item *si = &sv->items[i];
				if (si->period != p || (si->it.key.family == AF_INET) != (f == 1))
					continue;
				hh_restore_item(h, &si->it);
				hh_counts_add(&loaded, &si->it.c);
				max_err = MAX(max_err, si->it.err);
				restored[p == USAGE_MONTH]++;
			}
			if (!t->have) {
				/* The total line was damaged: at least what the
				 * items hold. */
				hh_restore_totals(h, &loaded, &(struct hh_counts){ 0 }, max_err);
				continue;
			}
			/* What damaged item lines held stays in the total, as
			 * unattributed (the bound grows by it). */
			struct hh_counts un = t->unattributed;
			uint64_t *hv[4] = { &un.packets_from, &un.octets_from, &un.packets_to,
					    &un.octets_to };
			const uint64_t held[4] = { t->held.packets_from, t->held.octets_from,
						   t->held.packets_to, t->held.octets_to };
			const uint64_t got[4] = { loaded.packets_from, loaded.octets_from,
						  loaded.packets_to, loaded.octets_to };
			for (int k = 0; k < 4; k++)
				if (held[k] > got[k])
					*hv[k] += held[k] - got[k];
			if (p == USAGE_MONTH)
				lost += (held[1] > got[1] ? held[1] - got[1] : 0) +
					(held[3] > got[3] ? held[3] - got[3] : 0);
			hh_restore_totals(h, &t->total, &un, t->ss_bound);
		}
	}
	if (sv->have_quota && strcmp(sv->quota_label, u->p[USAGE_MONTH].label) == 0)
		u->quota_level = sv->quota_level;
	return lost;
}

/* Keeps an unreadable or damaged file for the operator instead of letting
 * the next write replace it. */
static void keep_aside(const char *path)
{
	char aside[4200];
	snprintf(aside, sizeof(aside), "%s.damaged", path);
	if (rename(path, aside) == 0)
		log_err("usage: the damaged state file is kept as %s", aside);
}

void usage_state_load(struct nat64_usage *u, const char *path)
{
	char p_tmp[4200], p_prev[4200];
	snprintf(p_tmp, sizeof(p_tmp), "%s.tmp", path);
	snprintf(p_prev, sizeof(p_prev), "%s.prev", path);
	struct saved sv[3];
	read_saved(&sv[0], path);
	read_saved(&sv[1], p_tmp);
	read_saved(&sv[2], p_prev);
	/* The main file when its totals are intact (damaged item lines cost
	 * only their prefixes) and nothing newer is complete; else the newest
	 * complete file; else any with a header. */
	int best = -1;
	for (int i = 0; i < 3; i++)
		if (complete(&sv[i]) && (best < 0 || sv[i].written > sv[best].written))
			best = i;
	if (totals_intact(&sv[0]) && (best < 0 || sv[0].written >= sv[best].written))
		best = 0;
	if (best < 0)
		for (int i = 0; i < 3 && best < 0; i++)
			if (usable(&sv[i]))
				best = i;
	if (best < 0) {
		if (sv[0].exists) {
			log_err("usage: the state file %s cannot be read (%s); the day's and month's "
				"totals start from zero", path, sv[0].why);
			keep_aside(path);
		}
		for (int i = 0; i < 3; i++)
			free_saved(&sv[i]);
		return;
	}
	size_t restored[2];
	uint64_t lost = restore(u, &sv[best], restored);
	char when[32];
	usage_utc_label((time_t)sv[best].written, when, sizeof(when));
	if (best != 0 && sv[0].exists) {
		log_err("usage: the state file %s is damaged (%zu bad lines%s); read %s of %s "
			"instead: traffic counted after that (up to one interval) is lost",
			path, sv[0].damaged, sv[0].end ? "" : ", cut short", sv[best].path, when);
		keep_aside(path);
	} else if (best != 0) {
		log_warn("usage: %s was missing; read %s of %s (up to one interval may be lost)",
			 path, sv[best].path, when);
	} else if (!complete(&sv[0])) {
		char v[32];
		usage_human(lost, v, sizeof(v));
		log_err("usage: the state file %s is damaged (%zu bad lines%s): the prefixes of "
			"those lines are lost; the totals are kept, %s (%llu octets) of the month "
			"no longer attributed to a prefix", path, sv[0].damaged,
			sv[0].end ? "" : ", cut short", v, (unsigned long long)lost);
		keep_aside(path);
	}
	log_info("usage: state of %s read: %zu prefixes for day %s, %zu for month %s", when,
		 restored[0], u->p[USAGE_DAY].label, restored[1], u->p[USAGE_MONTH].label);
	for (int i = 0; i < 3; i++)
		free_saved(&sv[i]);
}
