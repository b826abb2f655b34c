/* What the micro-benchmarks (not tests) share: a clock in nanoseconds and
 * the median of a figure's runs. */
#ifndef SIXFOUR_BENCH_H
#define SIXFOUR_BENCH_H

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

/* Nanoseconds on `clock`: CLOCK_MONOTONIC, or CLOCK_THREAD_CPUTIME_ID so
 * that other jobs on a shared machine do not count. */
static inline double bench_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of the n (odd) figures in v, which it sorts. */
static inline double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), bench_cmp);
	return v[n / 2];
}

#endif
