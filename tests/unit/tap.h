/* A tiny TAP producer for unit tests: plan(), ok(), is_int(), is_str(),
 * bail(), tap_done().
 *
 * Declare the plan first (plan(N)): the TAP driver then fails a run that
 * stops early or skips a check, so an assertion cannot silently vanish.
 * A test that must stop before its end calls bail(why), which reports
 * "not ok" and exits non-zero. */
#ifndef SIXFOUR_TAP_H
#define SIXFOUR_TAP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed, tap_planned = -1;

/* Declares how many assertions follow; call once, before the first. */
static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline int tap_ok(int pass, const char *file, int line, const char *name)
{
	tap_count++;
	printf("%s %d - %s\n", pass ? "ok" : "not ok", tap_count, name);
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, (name))
#define is_int(got, want, name) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (!tap_ok(g_ == w_, __FILE__, __LINE__, (name))) \
		printf("#   got %lld, want %lld\n", g_, w_); \
} while (0)
#define is_str(got, want, name) do { \
	const char *g_ = (got), *w_ = (want); \
	int p_ = g_ && w_ && strcmp(g_, w_) == 0; \
	if (!tap_ok(p_, __FILE__, __LINE__, (name))) \
		printf("#   got '%s'\n#   want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)
#define is_mem(got, want, n, name) ok(memcmp((got), (want), (n)) == 0, (name))

/* Ends the run: a failure when no plan was declared or the count of
 * assertions differs from it. A run that returns early reports one
 * "not ok" per planned assertion it did not reach. */
static inline int tap_done(void)
{
	if (tap_planned < 0) {
		/* A plan printed now would count whatever ran (even nothing). */
		printf("Bail out! no plan(N) was declared before the first assertion\n");
		return 1;
	} else if (tap_count != tap_planned) {
		printf("# planned %d assertions, ran %d\n", tap_planned, tap_count);
		while (tap_count < tap_planned)
			tap_ok(0, __FILE__, __LINE__, "not run: the test returned early");
		return 1;
	}
	return tap_failed ? 1 : 0;
}

/* Stops the test early: one "not ok" naming why, then a failing exit. */
#define bail(why) do { \
	tap_ok(0, __FILE__, __LINE__, (why)); \
	printf("Bail out! %s\n", (why)); \
	exit(1); \
} while (0)

#endif
