/*
 * Shared helpers for the spanalloc benchmark workloads.
 *
 * Every workload calls the standard malloc family, so the allocator under
 * test is chosen at run time with LD_PRELOAD.  Each program is
 * deterministic (fixed-seed PRNG), touches what it allocates, and scales
 * its work by BENCH_SCALE (default 1.0; the quick mode uses 0.2).
 *
 * Output: one line "ns_per_op <float>" (plus optional "key value" lines)
 * on stdout, so the runner can record the program's own figure next to its
 * wall time and peak RSS.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* xoshiro-style small PRNG: splitmix64 (deterministic, fast). */
typedef struct {
	uint64_t s;
} rng_t;

static inline uint64_t rng_next(rng_t *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void rng_seed(rng_t *r, uint64_t seed)
{
	r->s = seed * 0x2545f4914f6cdd1dULL + 1;
	(void)rng_next(r);
}

/* Uniform in [0, n). */
static inline uint64_t rng_below(rng_t *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi)
{
	return lo + (size_t)rng_below(r, (uint64_t)(hi - lo + 1));
}

/*
 * A size skewed toward small requests, as real programs make them:
 * pick a power-of-two bucket in [lo_shift, hi_shift) with weights that
 * halve per step, then a uniform size inside it.
 */
static inline size_t rng_skewed_size(rng_t *r, unsigned lo_shift, unsigned hi_shift)
{
	unsigned b = lo_shift;
	while (b + 1 < hi_shift && (rng_next(r) & 1))
		b++;
	size_t lo = (size_t)1 << b, hi = ((size_t)1 << (b + 1)) - 1;
	return rng_range(r, lo, hi);
}

static inline double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* BENCH_SCALE from the environment (default 1.0, clamped to > 0). */
static inline double bench_scale(void)
{
	const char *s = getenv("BENCH_SCALE");
	double v = s ? strtod(s, NULL) : 1.0;
	if (!(v > 0.0))
		v = 1.0;
	return v;
}

/* base * BENCH_SCALE, at least min. */
static inline long scaled(long base, long min)
{
	double v = (double)base * bench_scale();
	long n = (long)(v + 0.5);
	return n < min ? min : n;
}

/* Keep the compiler from proving an allocation dead (gcc and clang elide
 * malloc/free pairs whose result is never used otherwise). */
static inline void escape(void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }

/* Touch a block: write its first bytes (and one byte per page when
 * pages != 0), as a program that uses its memory would. */
static inline void touch(void *p, size_t size, int pages)
{
	unsigned char *c = p;
	size_t head = size < 16 ? size : 16;
	memset(c, 0xa5, head);
	if (pages)
		for (size_t off = 4096; off < size; off += 4096)
			c[off] = (unsigned char)off;
	escape(p);
}

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fprintf(stderr, "malloc(%zu) failed\n", n);
		exit(2);
	}
	return p;
}

static inline void report(const char *name, double ns_per_op, long ops, double secs)
{
	printf("workload %s\n", name);
	printf("ops %ld\n", ops);
	printf("seconds %.6f\n", secs);
	printf("ns_per_op %.3f\n", ns_per_op);
}

#endif
