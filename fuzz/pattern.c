/*
 * Block contents derived from a seed: written at allocation, checked at
 * free and realloc (ops.h: pattern_fill, pattern_check, zero_check).
 */
#define _GNU_SOURCE
#include <string.h>

#include "engine.h"

/* Blocks up to FULL_LIMIT are filled and checked entirely; bigger ones at
 * both ends (EDGE bytes) and on a STRIPE every STRIDE bytes: the range
 * index already catches overlapping blocks, and touching every page of a
 * 4 MiB block would make the large harnesses crawl. */
#define FULL_LIMIT (64 * 1024)
#define EDGE 4096
#define STRIDE (64 * 1024)
#define STRIPE 64

enum rmode { R_FILL, R_CHECK, R_ZERO };

NOCOV static void range_op(uint8_t *p, size_t from, size_t to, uint64_t seed, enum rmode m, const char *what,
			   size_t size)
{
	size_t i = from;
	while (i < to) {
		uint64_t v = m == R_ZERO ? 0 : mix64(seed + i / 8);
		size_t lo = i % 8, n = MIN(8 - lo, to - i);
		if (m == R_FILL) {
			if (n == 8)
				memcpy(p + i, &v, 8);
			else
				for (size_t k = 0; k < n; k++)
					p[i + k] = (uint8_t)(v >> (8 * (lo + k)));
		} else {
			uint64_t got = 0;
			bool ok;
			if (n == 8) {
				memcpy(&got, p + i, 8);
				ok = got == v;
			} else {
				ok = true;
				for (size_t k = 0; k < n; k++)
					ok &= p[i + k] == (uint8_t)(v >> (8 * (lo + k)));
			}
			if (!ok) {
				size_t k = 0;
				while (k < n && p[i + k] == (uint8_t)(v >> (8 * (lo + k))))
					k++;
				fuzz_fail(
					"%s: block %p (%zu bytes): byte %zu (at %p) is 0x%02x, expected 0x%02x%s", what,
					(void *)p, size, i + k, (void *)(p + i + k), p[i + k],
					(uint8_t)(v >> (8 * (lo + k))),
					m == R_ZERO
						? " (zeroed memory)"
						: " (overlapping blocks, a block handed out twice, or lost contents)");
			}
		}
		i += n;
	}
}

NOCOV static void regions(void *vp, size_t size, size_t upto, uint64_t seed, enum rmode m, const char *what)
{
	uint8_t *p = vp;
	if (upto > size)
		upto = size;
	if (size <= FULL_LIMIT) {
		range_op(p, 0, upto, seed, m, what, size);
		return;
	}
	range_op(p, 0, MIN((size_t)EDGE, upto), seed, m, what, size);
	for (size_t off = STRIDE; off + STRIPE <= size - EDGE && off < upto; off += STRIDE)
		range_op(p, off, MIN(off + STRIPE, upto), seed, m, what, size);
	if (size - EDGE < upto)
		range_op(p, size - EDGE, upto, seed, m, what, size);
}

void pattern_fill(void *p, size_t size, uint64_t seed) { regions(p, size, size, seed, R_FILL, "fill"); }

void pattern_check(const void *p, size_t size, uint64_t seed, size_t upto, const char *what)
{
	regions((void *)p, size, upto, seed, R_CHECK, what);
}

void zero_check(const void *p, size_t size, const char *what) { regions((void *)p, size, size, 0, R_ZERO, what); }
