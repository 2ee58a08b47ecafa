/*
 * Helpers shared by the Criterion tests in tests/test_*.c (header only).
 *
 * The tests link build/libspanalloc.a, so the standard names (malloc, ...)
 * are spanalloc's as well as the sa_ ones.  Everything here is static
 * inline so that a test that does not use a helper still builds with
 * -Wall -Wextra -Werror.
 */
#ifndef SA_TESTUTIL_H
#define SA_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spanalloc.h"

/*
 * Go's size classes (Go's runtime/sizeclasses.go, written out here by hand
 * so that a generator bug cannot pass its own test): index = class,
 * class 0 = large objects (Size 0 in BySize).
 */
static const uint32_t tu_class_size[SA_NUM_SIZE_CLASSES] = {
	0,     8,     16,    32,    48,    64,    80,    96,    112,   128,   144,   160,   176,   192,
	208,   224,   240,   256,   288,   320,   352,   384,   416,   448,   480,   512,   576,   640,
	704,   768,   896,   1024,  1152,  1280,  1408,  1536,  1792,  2048,  2304,  2688,  3072,  3200,
	3456,  4096,  4864,  5376,  6144,  6528,  6784,  6912,  8192,  9472,  9728,  10240, 10880, 12288,
	13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
};

#define TU_MAX_SMALL 32768u

/* The size class of a request of n bytes, 0 < n <= 32 KiB (not tiny-aware). */
static inline unsigned tu_size_class(size_t n)
{
	for (unsigned c = 1; c < SA_NUM_SIZE_CLASSES; c++)
		if (tu_class_size[c] >= n)
			return c;
	return 0;
}

/* The BySize slot a malloc(n) is counted in: its size class, large -> 0. */
static inline unsigned tu_stats_class(size_t n)
{
#ifdef SA_DEBUG
	/* The debug build packs nothing, and puts a 16-byte redzone before
	 * every block that fits a size class with it. */
	if (n <= TU_MAX_SMALL - 16)
		return tu_size_class((n ? n : 1) + 16);
#else
	if (n == 0)
		n = 1;
#endif
	if (n > TU_MAX_SMALL)
		return 0;
	return tu_size_class(n);
}

/* xorshift64*: a small deterministic PRNG, one state per thread. */
static inline uint64_t tu_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/*
 * A random request size: 20% tiny (1..15), 50% small up to 256 B, 29%
 * small up to 32 KiB (log-uniform: each power-of-two range as likely),
 * 1% large (32 KiB + 1 .. 288 KiB).
 */
static inline size_t tu_rand_size(uint64_t *s)
{
	uint64_t r = tu_rand(s);
	unsigned kind = (unsigned)(r % 100);
	r >>= 8;
	if (kind < 20)
		return 1 + (size_t)(r % 15);
	if (kind < 70)
		return 16 + (size_t)(r % 241);
	if (kind < 99) {
		unsigned shift = 8 + (unsigned)(r % 7); /* 256 .. 16 KiB */
		r >>= 3;
		return ((size_t)1 << shift) + 1 + (size_t)(r % ((size_t)1 << shift));
	}
	return 32769 + (size_t)(r % (256 * 1024));
}

/*
 * The pattern of a block tagged id: word k (bytes 8k .. 8k+7) holds a mix
 * of id and k, so it depends on the offset only, never on the block's
 * length (a prefix checks the same after a realloc).
 */
static inline uint64_t tu_word(uint64_t id, size_t k)
{
	uint64_t x = (id + 1) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)k * 0xD6E8FEB86659FD93ULL);
	return x ^ (x >> 31);
}

/* Fill n bytes of p with the pattern of id. */
static inline void tu_fill(void *p, size_t n, uint64_t id)
{
	unsigned char *b = p;
	size_t k = 0;
	for (; 8 * k + 8 <= n; k++) {
		uint64_t w = tu_word(id, k);
		memcpy(b + 8 * k, &w, 8);
	}
	if (8 * k < n) {
		uint64_t w = tu_word(id, k);
		memcpy(b + 8 * k, &w, n - 8 * k);
	}
}

/* Offset of the first byte of p that does not hold id's pattern, or n. */
static inline size_t tu_check(const void *p, size_t n, uint64_t id)
{
	const unsigned char *b = p;
	size_t k = 0;
	for (; 8 * k < n; k++) {
		uint64_t w = tu_word(id, k);
		size_t len = n - 8 * k < 8 ? n - 8 * k : 8;
		if (memcmp(b + 8 * k, &w, len) != 0) {
			const unsigned char *e = (const unsigned char *)&w;
			for (size_t i = 0; i < len; i++)
				if (b[8 * k + i] != e[i])
					return 8 * k + i;
		}
	}
	return n;
}

static inline struct sa_memstats tu_stats(void)
{
	struct sa_memstats m;
	memset(&m, 0, sizeof m);
	sa_read_memstats(&m);
	return m;
}

/*
 * Make p escape: gcc and clang drop a malloc / free pair (and the stores
 * between them) when the pointer is used for nothing else.
 */
static inline void *tu_escape(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

/* Compare two pointers for qsort. */
static inline int tu_cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

#endif
