/*
 * test_api: the C / POSIX error rules and the guarantees of the malloc
 * family, through the standard names and through the sa_ prefix.
 *
 * Every test runs its body once per API (the standard names, then sa_*),
 * calling through function pointers read from a volatile table so that
 * the compiler cannot fold or drop the calls (gcc removes unused
 * malloc/free pairs and warns on constant sizes over PTRDIFF_MAX).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spanalloc.h"
#include "testutil.h"

struct api {
	const char *name;
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	void (*free)(void *);
	void *(*aligned_alloc)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*usable)(const void *);
};

static size_t std_usable(const void *p) { return malloc_usable_size((void *)(uintptr_t)p); }

static const struct api std_api = {
	"std",         malloc,         calloc,   realloc, reallocarray, free,
	aligned_alloc, posix_memalign, memalign, valloc,  pvalloc,      std_usable,
};
static const struct api sa_api = {
	"sa_",           sa_malloc, sa_calloc,        sa_realloc,
	sa_reallocarray, sa_free,   sa_aligned_alloc, sa_posix_memalign,
	sa_memalign,     sa_valloc, sa_pvalloc,       sa_malloc_usable_size,
};
static const struct api *volatile apis[] = {&std_api, &sa_api};
#define NAPIS 2
#define FOR_EACH_API(a)                                                                                                \
	for (int api_i_ = 0; api_i_ < NAPIS; api_i_++)                                                                 \
		for (const struct api *a = apis[api_i_]; a; a = NULL)

/* Sizes that cross the tiers: tiny (< 16), small (16 .. 32 KiB), large. */
static const size_t tier_sizes[] = {
	1,    5,    8,     15,    16,    17,    24,    64,     100,    112,     1000,          4096,
	5000, 8192, 16385, 32768, 32769, 40000, 70000, 100000, 262144, 1 << 20, (5 << 20) + 3,
};
#define NTIER (sizeof tier_sizes / sizeof tier_sizes[0])

/* Sizes no allocator can satisfy (and that trip naive overflow checks). */
static const size_t huge_sizes[] = {
	SIZE_MAX,
	SIZE_MAX - 1,
	SIZE_MAX - 15,
	SIZE_MAX - 4095,
	SIZE_MAX - 8191,
	SIZE_MAX - (1u << 20),
	SIZE_MAX - ((size_t)64 << 20),
	SIZE_MAX / 2 + 1,
	(size_t)PTRDIFF_MAX,
	(size_t)1 << 62,
	(size_t)1 << 48,
	(size_t)1 << 47,
};
#define NHUGE (sizeof huge_sizes / sizeof huge_sizes[0])

static int all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

/* ---- malloc(0), huge sizes, free(NULL) -------------------------------- */

Test(api, malloc_zero_unique_freeable)
{
	FOR_EACH_API (a) {
		enum { N = 200 };
		void *p[N];
		for (int i = 0; i < N; i++) {
			p[i] = a->malloc(0);
			cr_assert_not_null(p[i], "%s: malloc(0) #%d returned NULL", a->name, i);
		}
		qsort(p, N, sizeof p[0], tu_cmp_ptr);
		for (int i = 1; i < N; i++)
			cr_assert_neq(p[i - 1], p[i], "%s: malloc(0) returned %p twice", a->name, p[i]);
		for (int i = 0; i < N; i++)
			a->free(p[i]);
	}
	cr_assert_eq(sa_check_heap(), 0);
}

Test(api, malloc_huge_is_enomem)
{
	FOR_EACH_API (a) {
		for (size_t i = 0; i < NHUGE; i++) {
			errno = 0;
			void *p = a->malloc(huge_sizes[i]);
			cr_assert_null(p, "%s: malloc(%zu) returned %p", a->name, huge_sizes[i], p);
			cr_assert_eq(errno, ENOMEM, "%s: malloc(%zu): errno %d, want ENOMEM", a->name, huge_sizes[i],
				     errno);
		}
		/* The heap still works. */
		void *p = a->malloc(100);
		cr_assert_not_null(p);
		memset(p, 1, 100);
		a->free(p);
	}
	cr_assert_eq(sa_check_heap(), 0);
}

Test(api, free_null_is_noop)
{
	struct sa_memstats before = tu_stats();
	for (int i = 0; i < 1000; i++) {
		free(NULL);
		sa_free(NULL);
	}
	struct sa_memstats after = tu_stats();
	cr_assert_eq(after.Frees, before.Frees, "free(NULL) counted as a free");
	cr_assert_eq(sa_check_heap(), 0);
}

/* ---- calloc --------------------------------------------------------------- */

Test(api, calloc_overflow_is_enomem)
{
	static const size_t pairs[][2] = {
		{SIZE_MAX, 2},
		{2, SIZE_MAX},
		{SIZE_MAX, SIZE_MAX},
		{SIZE_MAX / 2 + 1, 2},
		{(size_t)1 << 32, (size_t)1 << 32},
		{((size_t)1 << 33) + 1, (size_t)1 << 31},
		{65537, SIZE_MAX / 65536},
		{1, SIZE_MAX}, /* no overflow, just too big */
		{SIZE_MAX, 1},
		{(size_t)1 << 24, (size_t)1 << 24}, /* 256 TiB */
	};
	FOR_EACH_API (a) {
		for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
			errno = 0;
			void *p = a->calloc(pairs[i][0], pairs[i][1]);
			cr_assert_null(p, "%s: calloc(%zu, %zu) returned %p", a->name, pairs[i][0], pairs[i][1], p);
			cr_assert_eq(errno, ENOMEM, "%s: calloc(%zu, %zu): errno %d, want ENOMEM", a->name, pairs[i][0],
				     pairs[i][1], errno);
		}
	}
}

Test(api, calloc_zero_count_or_size)
{
	static const size_t pairs[][2] = {
		{0, 16}, {16, 0}, {0, 0}, {0, SIZE_MAX}, {SIZE_MAX, 0},
	};
	FOR_EACH_API (a) {
		for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
			void *p = a->calloc(pairs[i][0], pairs[i][1]);
			cr_assert_not_null(p, "%s: calloc(%zu, %zu) returned NULL (malloc(0) does not)", a->name,
					   pairs[i][0], pairs[i][1]);
			a->free(p);
		}
	}
}

/*
 * calloc must return zeroed memory also when it reuses blocks that were
 * written and freed (the "fresh from the OS" shortcut must not leak into
 * reused memory), in every tier.
 */
Test(api, calloc_zeroes_reused_dirty_memory, .timeout = 120)
{
	enum { BATCH = 64 };
	FOR_EACH_API (a) {
		for (size_t s = 0; s < NTIER; s++) {
			size_t n = tier_sizes[s];
			size_t batch = BATCH;
			if (n * batch > ((size_t)64 << 20))
				batch = ((size_t)64 << 20) / n;
			void *p[BATCH];
			for (int round = 0; round < 3; round++) {
				for (size_t i = 0; i < batch; i++) {
					p[i] = a->malloc(n);
					cr_assert_not_null(p[i]);
					memset(p[i], 0xA5, a->usable(p[i]));
				}
				for (size_t i = 0; i < batch; i++)
					a->free(p[i]);
				for (size_t i = 0; i < batch; i++) {
					/* alternate the argument order */
					p[i] = (i & 1) ? a->calloc(n, 1) : a->calloc(1, n);
					cr_assert_not_null(p[i], "%s: calloc(%zu) NULL", a->name, n);
					cr_assert(all_bytes(p[i], n, 0),
						  "%s: calloc(%zu) round %d #%zu at %p is not zeroed", a->name, n,
						  round, i, p[i]);
				}
				/* Dirty them again before the next round frees them. */
				for (size_t i = 0; i < batch; i++) {
					memset(p[i], 0x5A, n);
					a->free(p[i]);
				}
			}
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

/* calloc as an array: nmemb * size bytes, all zero, all writable. */
Test(api, calloc_array_sizes)
{
	static const size_t pairs[][2] = {
		{3, 5}, {7, 16}, {100, 100}, {4096, 9}, {1000, 1000}, {3, 100000},
	};
	FOR_EACH_API (a) {
		for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
			size_t n = pairs[i][0] * pairs[i][1];
			unsigned char *p = a->calloc(pairs[i][0], pairs[i][1]);
			cr_assert_not_null(p);
			cr_assert_geq(a->usable(p), n);
			cr_assert(all_bytes(p, n, 0), "%s: calloc(%zu, %zu) not zeroed", a->name, pairs[i][0],
				  pairs[i][1]);
			memset(p, 0xFF, n);
			a->free(p);
		}
	}
}

/* ---- realloc / reallocarray ---------------------------------------------- */

Test(api, reallocarray_overflow_keeps_block)
{
	static const size_t bad[][2] = {
		{SIZE_MAX, 2}, {2, SIZE_MAX}, {(size_t)1 << 33, (size_t)1 << 33}, {SIZE_MAX / 2 + 1, 2}, {1, SIZE_MAX},
	};
	static const size_t start[] = {8, 64, 5000, 100000};
	FOR_EACH_API (a) {
		for (size_t s = 0; s < sizeof start / sizeof start[0]; s++) {
			size_t n = start[s];
			void *p = a->malloc(n);
			cr_assert_not_null(p);
			tu_fill(p, n, 77 + s);
			for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
				errno = 0;
				void *q = a->reallocarray(p, bad[i][0], bad[i][1]);
				cr_assert_null(q, "%s: reallocarray(%p, %zu, %zu) returned %p", a->name, p, bad[i][0],
					       bad[i][1], q);
				cr_assert_eq(errno, ENOMEM, "%s: reallocarray(%zu, %zu): errno %d", a->name, bad[i][0],
					     bad[i][1], errno);
				cr_assert_eq(tu_check(p, n, 77 + s), n, "%s: block changed by a failed reallocarray",
					     a->name);
			}
			for (size_t i = 0; i < NHUGE; i++) {
				errno = 0;
				void *q = a->realloc(p, huge_sizes[i]);
				cr_assert_null(q, "%s: realloc(%p, %zu) returned %p", a->name, p, huge_sizes[i], q);
				cr_assert_eq(errno, ENOMEM, "%s: realloc(huge %zu): errno %d", a->name, huge_sizes[i],
					     errno);
				cr_assert_eq(tu_check(p, n, 77 + s), n, "%s: block changed by a failed realloc",
					     a->name);
			}
			/* The block is still live and usable: a valid reallocarray works. */
			void *q = a->reallocarray(p, 3, n);
			cr_assert_not_null(q);
			cr_assert_eq(tu_check(q, n, 77 + s), n);
			a->free(q);
		}
		void *q = a->reallocarray(NULL, 4, 8);
		cr_assert_not_null(q, "%s: reallocarray(NULL, 4, 8)", a->name);
		cr_assert_geq(a->usable(q), 32);
		a->free(q);
	}
	cr_assert_eq(sa_check_heap(), 0);
}

Test(api, realloc_null_is_malloc)
{
	FOR_EACH_API (a) {
		for (size_t s = 0; s < NTIER; s++) {
			size_t n = tier_sizes[s];
			struct sa_memstats before = tu_stats();
			void *p = a->realloc(NULL, n);
			struct sa_memstats after = tu_stats();
			cr_assert_not_null(p, "%s: realloc(NULL, %zu)", a->name, n);
			cr_assert_geq(after.Mallocs, before.Mallocs + 1,
				      "%s: realloc(NULL, %zu) not counted as a malloc", a->name, n);
			cr_assert_geq(a->usable(p), n);
			memset(p, 0x33, n);
			a->free(p);
		}
		void *p = a->realloc(NULL, 0);
		cr_assert_not_null(p, "%s: realloc(NULL, 0) should be malloc(0)", a->name);
		a->free(p);
	}
}

/* glibc: realloc(p, 0) with p != NULL frees p and returns NULL. */
Test(api, realloc_to_zero_frees)
{
	FOR_EACH_API (a) {
		for (size_t s = 0; s < NTIER; s++) {
			size_t n = tier_sizes[s];
			int ok = 0;
			uint64_t got = 0;
			/* Retry: another thread of the test runner may free meanwhile. */
			for (int attempt = 0; attempt < 5 && !ok; attempt++) {
				void *p = a->malloc(n);
				cr_assert_not_null(p);
				memset(p, 1, n);
				struct sa_memstats before = tu_stats();
				void *q = a->realloc(p, 0);
				struct sa_memstats after = tu_stats();
				cr_assert_null(q, "%s: realloc(p, 0) returned %p, want NULL (glibc)", a->name, q);
				got = after.Frees - before.Frees;
				ok = got == 1 && after.Mallocs == before.Mallocs;
			}
			cr_assert(ok, "%s: realloc(malloc(%zu), 0) did %" PRIu64 " frees, want 1", a->name, n, got);
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

Test(api, realloc_preserves_contents_across_tiers, .timeout = 120)
{
	uint64_t id = 1000;
	FOR_EACH_API (a) {
		for (size_t i = 0; i < NTIER; i++) {
			for (size_t j = 0; j < NTIER; j++) {
				size_t from = tier_sizes[i], to = tier_sizes[j];
				/* A neighbour before and after, to catch overlap. */
				void *n1 = a->malloc(from);
				void *p = a->malloc(from);
				void *n2 = a->malloc(from);
				cr_assert(n1 && p && n2);
				tu_fill(n1, from, id + 1);
				tu_fill(p, from, id);
				tu_fill(n2, from, id + 2);
				void *q = a->realloc(p, to);
				cr_assert_not_null(q, "%s: realloc(%zu -> %zu)", a->name, from, to);
				size_t keep = from < to ? from : to;
				size_t bad = tu_check(q, keep, id);
				cr_assert_eq(bad, keep, "%s: realloc %zu -> %zu lost byte %zu of the contents", a->name,
					     from, to, bad);
				cr_assert_geq(a->usable(q), to);
				/* The new block is fully writable and overlaps nothing. */
				tu_fill(q, to, id + 3);
				cr_assert_eq(tu_check(n1, from, id + 1), from,
					     "%s: realloc %zu -> %zu clobbered a neighbour", a->name, from, to);
				cr_assert_eq(tu_check(n2, from, id + 2), from,
					     "%s: realloc %zu -> %zu clobbered a neighbour", a->name, from, to);
				a->free(q);
				a->free(n1);
				a->free(n2);
				id += 4;
			}
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

/*
 * realloc stays in place when the new size is in the same size class.
 * The debug build always moves the block instead, so that a stale pointer
 * to the old one is caught: check that it does.
 */
#ifdef SA_DEBUG
Test(api, realloc_always_moves_in_debug)
{
	FOR_EACH_API (a) {
		void *p = a->malloc(100);
		cr_assert_not_null(p);
		tu_fill(p, 100, 5);
		void *q = a->realloc(p, 110);
		cr_assert_neq(q, p, "%s: the debug build's realloc kept %p", a->name, p);
		cr_assert_eq(tu_check(q, 100, 5), 100);
		a->free(q);
	}
}
#else
Test(api, realloc_same_class_in_place)
{
	FOR_EACH_API (a) {
		void *p = a->malloc(100);
		cr_assert_not_null(p);
		tu_fill(p, 100, 5);
		void *q = a->realloc(p, 110); /* 100 and 110 are both in the 112 B class */
		cr_assert_eq(q, p, "%s: realloc(malloc(100), 110) moved %p -> %p", a->name, p, q);
		q = a->realloc(q, 112);
		cr_assert_eq(q, p, "%s: realloc(.., 112) moved", a->name);
		q = a->realloc(q, 97);
		cr_assert_eq(q, p, "%s: realloc(.., 97) moved", a->name);
		cr_assert_eq(tu_check(q, 97, 5), 97);
		a->free(q);

		/* Every small class: grow to the class size, shrink to the low end. */
		for (unsigned c = 3; c < SA_NUM_SIZE_CLASSES; c++) {
			size_t lo = tu_class_size[c - 1] + 1, hi = tu_class_size[c];
			p = a->malloc(lo);
			cr_assert_not_null(p);
			tu_fill(p, lo, c);
			q = a->realloc(p, hi);
			cr_assert_eq(q, p, "%s: realloc %zu -> %zu (class %u, %u B) moved", a->name, lo, hi, c,
				     tu_class_size[c]);
			q = a->realloc(q, lo);
			cr_assert_eq(q, p, "%s: realloc %zu -> %zu (class %u) moved", a->name, hi, lo, c);
			cr_assert_eq(tu_check(q, lo, c), lo);
			a->free(q);
		}
	}
}
#endif

/* ---- aligned allocation --------------------------------------------------- */

static const size_t align_sizes[] = {1, 7, 100, 5000, 70000};
#define NALIGN_SIZES (sizeof align_sizes / sizeof align_sizes[0])
#define MAX_ALIGN ((size_t)2 << 20)

static void check_aligned(const struct api *a, const char *fn, void *p, size_t al, size_t n)
{
	cr_assert_not_null(p, "%s%s(%zu, %zu) returned NULL", a->name, fn, al, n);
	cr_assert_eq((uintptr_t)p % al, 0, "%s%s(%zu, %zu) = %p is not aligned", a->name, fn, al, n, p);
	cr_assert_geq(a->usable(p), n, "%s%s(%zu, %zu): usable size %zu", a->name, fn, al, n, a->usable(p));
	memset(p, 0xC3, n);
	((volatile unsigned char *)p)[n - 1] = 0x3C;
}

/* Every alignment and size through fn (aligned_alloc or memalign). */
static void all_alignments(const struct api *a, const char *fn, void *(*alloc)(size_t, size_t))
{
	for (size_t al = 1; al <= MAX_ALIGN; al <<= 1) {
		for (size_t s = 0; s < NALIGN_SIZES; s++) {
			size_t n = align_sizes[s];
			/* Two at a time, so the second is not trivially the first. */
			void *p = alloc(al, n);
			check_aligned(a, fn, p, al, n);
			void *q = alloc(al, n);
			check_aligned(a, fn, q, al, n);
			cr_assert_neq(p, q);
			a->free(p);
			a->free(q);
		}
	}
}

Test(api, aligned_alloc_all_alignments, .timeout = 120)
{
	FOR_EACH_API (a)
		all_alignments(a, "aligned_alloc", a->aligned_alloc);
	cr_assert_eq(sa_check_heap(), 0);
}

Test(api, posix_memalign_all_alignments, .timeout = 120)
{
	FOR_EACH_API (a) {
		for (size_t al = sizeof(void *); al <= MAX_ALIGN; al <<= 1) {
			for (size_t s = 0; s < NALIGN_SIZES; s++) {
				size_t n = align_sizes[s];
				void *p = (void *)0x1, *q = (void *)0x1;
				int rc = a->posix_memalign(&p, al, n);
				cr_assert_eq(rc, 0, "%sposix_memalign(%zu, %zu) = %d", a->name, al, n, rc);
				check_aligned(a, "posix_memalign", p, al, n);
				rc = a->posix_memalign(&q, al, n);
				cr_assert_eq(rc, 0);
				check_aligned(a, "posix_memalign", q, al, n);
				cr_assert_neq(p, q);
				a->free(p);
				a->free(q);
			}
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

Test(api, memalign_all_alignments, .timeout = 120)
{
	FOR_EACH_API (a)
		all_alignments(a, "memalign", a->memalign);
	cr_assert_eq(sa_check_heap(), 0);
}

/* Many live aligned blocks of mixed alignment: none overlaps another. */
Test(api, aligned_blocks_do_not_overlap)
{
	enum { N = 600 };
	static void *p[N];
	static size_t len[N];
	uint64_t rng = 42;
	FOR_EACH_API (a) {
		for (int i = 0; i < N; i++) {
			size_t al = (size_t)1 << (tu_rand(&rng) % 17); /* up to 64 KiB */
			len[i] = 1 + tu_rand(&rng) % 9000;
			p[i] = a->aligned_alloc(al, len[i]);
			check_aligned(a, "aligned_alloc", p[i], al, len[i]);
			tu_fill(p[i], len[i], (uint64_t)i);
		}
		for (int i = 0; i < N; i++) {
			cr_assert_eq(tu_check(p[i], len[i], (uint64_t)i), len[i],
				     "%s: aligned block %d (%p, %zu B) was overwritten", a->name, i, p[i], len[i]);
			a->free(p[i]);
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

Test(api, posix_memalign_bad_alignment_is_einval)
{
	static const size_t bad[] = {
		0, 1, 2, 3, 4, 12, 24, 48, 100, 4097, 12288, SIZE_MAX, SIZE_MAX / 2 + 2,
	};
	FOR_EACH_API (a) {
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			void *sentinel = (void *)(uintptr_t)0xdeadbeef;
			void *p = sentinel;
			int rc = a->posix_memalign(&p, bad[i], 64);
			cr_assert_eq(rc, EINVAL, "%sposix_memalign(alignment %zu) = %d, want EINVAL", a->name, bad[i],
				     rc);
			cr_assert_eq(p, sentinel, "%sposix_memalign(alignment %zu) touched *memptr", a->name, bad[i]);
		}
	}
}

/* 0 is not a power of two either: C17 says aligned_alloc fails for it. */
Test(api, aligned_alloc_memalign_bad_alignment_is_einval)
{
	static const size_t bad[] = {3, 5, 24, 48, 100, 4097, 12288, SIZE_MAX, SIZE_MAX / 2 + 2};
	FOR_EACH_API (a) {
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			errno = 0;
			void *p = a->aligned_alloc(bad[i], 64);
			cr_assert_null(p, "%saligned_alloc(%zu, 64) = %p", a->name, bad[i], p);
			cr_assert_eq(errno, EINVAL, "%saligned_alloc(%zu, 64): errno %d, want EINVAL", a->name, bad[i],
				     errno);
			errno = 0;
			p = a->memalign(bad[i], 64);
			cr_assert_null(p, "%smemalign(%zu, 64) = %p", a->name, bad[i], p);
			cr_assert_eq(errno, EINVAL, "%smemalign(%zu, 64): errno %d, want EINVAL", a->name, bad[i],
				     errno);
		}
		errno = 0;
		void *p = a->aligned_alloc(0, 64);
		cr_assert_null(p, "%saligned_alloc(0, 64) = %p", a->name, p);
		cr_assert_eq(errno, EINVAL, "%saligned_alloc(0, 64): errno %d", a->name, errno);
	}
}

Test(api, aligned_huge_is_enomem)
{
	static const size_t als[] = {8, 64, 4096, MAX_ALIGN};
	FOR_EACH_API (a) {
		for (size_t i = 0; i < sizeof als / sizeof als[0]; i++) {
			for (size_t h = 0; h < NHUGE; h++) {
				void *sentinel = (void *)(uintptr_t)0xdeadbeef;
				void *p = sentinel;
				int rc = a->posix_memalign(&p, als[i], huge_sizes[h]);
				cr_assert_eq(rc, ENOMEM, "%sposix_memalign(%zu, %zu) = %d, want ENOMEM", a->name,
					     als[i], huge_sizes[h], rc);
				errno = 0;
				p = a->aligned_alloc(als[i], huge_sizes[h]);
				cr_assert(p == NULL && errno == ENOMEM, "%saligned_alloc(%zu, %zu) = %p errno %d",
					  a->name, als[i], huge_sizes[h], p, errno);
				errno = 0;
				p = a->memalign(als[i], huge_sizes[h]);
				cr_assert(p == NULL && errno == ENOMEM, "%smemalign(%zu, %zu) = %p errno %d", a->name,
					  als[i], huge_sizes[h], p, errno);
			}
		}
		/* A valid but unsatisfiable alignment. */
		void *p = NULL;
		int rc = a->posix_memalign(&p, (size_t)1 << 62, 16);
		cr_assert_eq(rc, ENOMEM, "%sposix_memalign(1<<62, 16) = %d, want ENOMEM", a->name, rc);
	}
	cr_assert_eq(sa_check_heap(), 0);
}

Test(api, valloc_pvalloc_page_aligned)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	cr_assert_eq(page, 4096);
	static const size_t sizes[] = {1, 100, 4095, 4096, 4097, 5000, 70000, 1 << 20};
	FOR_EACH_API (a) {
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			size_t n = sizes[i];
			void *p = a->valloc(n);
			check_aligned(a, "valloc", p, page, n);
			size_t rounded = (n + page - 1) & ~(page - 1);
			void *q = a->pvalloc(n);
			check_aligned(a, "pvalloc", q, page, rounded);
			a->free(p);
			a->free(q);
		}
		for (size_t h = 0; h < NHUGE; h++) {
			errno = 0;
			void *p = a->valloc(huge_sizes[h]);
			cr_assert(p == NULL && errno == ENOMEM, "%svalloc(%zu) = %p errno %d", a->name, huge_sizes[h],
				  p, errno);
			errno = 0;
			p = a->pvalloc(huge_sizes[h]); /* rounding up must not wrap */
			cr_assert(p == NULL && errno == ENOMEM, "%spvalloc(%zu) = %p errno %d", a->name, huge_sizes[h],
				  p, errno);
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

/* ---- malloc_usable_size --------------------------------------------------- */

Test(api, usable_size_null_is_zero)
{
	cr_assert_eq(malloc_usable_size(NULL), 0);
	cr_assert_eq(sa_malloc_usable_size(NULL), 0);
}

/*
 * usable size >= requested, and the whole usable size is the caller's:
 * fill every block of a batch to its usable size, then check that no
 * block's bytes were overwritten by a neighbour's fill.
 */
Test(api, usable_size_is_writable_and_private, .timeout = 120)
{
	enum { N = 400 };
	static void *p[N];
	static size_t us[N];
	FOR_EACH_API (a) {
		for (size_t base = 0; base < 70000; base = base < 600 ? base + 1 : base * 5 / 4) {
			for (int i = 0; i < N; i++) {
				/* the same size (packed neighbours) and mixed sizes */
				size_t n = (i & 1) ? base : base + (size_t)(i % 7);
				if (n > 40000 && i > 16)
					n = base % 40;
				p[i] = a->malloc(n);
				cr_assert_not_null(p[i]);
				us[i] = a->usable(p[i]);
				cr_assert_geq(us[i], n, "%s: usable_size(malloc(%zu)) = %zu", a->name, n, us[i]);
				tu_fill(p[i], us[i], (uint64_t)(base * N + i));
			}
			for (int i = 0; i < N; i++) {
				size_t bad = tu_check(p[i], us[i], (uint64_t)(base * N + i));
				cr_assert_eq(bad, us[i],
					     "%s: block %p (usable %zu) overwritten at +%zu by a "
					     "neighbour's usable bytes",
					     a->name, p[i], us[i], bad);
			}
			for (int i = 0; i < N; i++)
				a->free(p[i]);
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

/* ---- alignment of plain malloc and no double hand-out -------------------- */

static size_t natural_align(size_t n)
{
	if (n >= 16)
		return 16;
	size_t low = n & (~n + 1); /* largest power of two dividing n */
	return low > 8 ? 8 : low;
}

Test(api, malloc_alignment)
{
	FOR_EACH_API (a) {
		for (size_t n = 1; n <= 70000; n = n < 1100 ? n + 1 : n + 97) {
			void *p[3];
			for (int k = 0; k < 3; k++) {
				p[k] = a->malloc(n);
				cr_assert_not_null(p[k]);
				cr_assert_eq((uintptr_t)p[k] % natural_align(n), 0,
					     "%s: malloc(%zu) = %p, not %zu-aligned", a->name, n, p[k],
					     natural_align(n));
			}
			for (int k = 0; k < 3; k++)
				a->free(p[k]);
		}
	}
}

/* Tiny objects are packed: an odd-sized one must not misalign the next. */
Test(api, tiny_mixed_sizes_alignment)
{
	enum { N = 4000 };
	static void *p[N];
	static size_t len[N];
	uint64_t rng = 7;
	FOR_EACH_API (a) {
		for (int i = 0; i < N; i++) {
			len[i] = 1 + tu_rand(&rng) % 15;
			p[i] = a->malloc(len[i]);
			cr_assert_not_null(p[i]);
			cr_assert_eq((uintptr_t)p[i] % natural_align(len[i]), 0,
				     "%s: malloc(%zu) = %p, not %zu-aligned", a->name, len[i], p[i],
				     natural_align(len[i]));
			tu_fill(p[i], len[i], (uint64_t)i);
		}
		for (int i = 0; i < N; i++) {
			cr_assert_eq(tu_check(p[i], len[i], (uint64_t)i), len[i],
				     "%s: tiny block %d (%p, %zu B) overwritten", a->name, i, p[i], len[i]);
			/* free every other one first: partial tiny blocks */
			if (i & 1)
				a->free(p[i]);
		}
		for (int i = 0; i < N; i += 2)
			a->free(p[i]);
	}
	cr_assert_eq(sa_check_heap(), 0);
}

/* A live block is never handed out twice: 30000 live blocks, no overlap. */
Test(api, live_blocks_never_overlap, .timeout = 120)
{
	enum { N = 30000 };
	struct blk {
		uintptr_t addr;
		size_t len;
	};
	static struct blk b[N];
	uint64_t rng = 99;
	for (int i = 0; i < N; i++) {
		b[i].len = tu_rand_size(&rng);
		if (b[i].len > 40000 && i % 8)
			b[i].len %= 4096; /* keep the large ones rare */
		void *p = (i & 1) ? malloc(b[i].len) : sa_malloc(b[i].len);
		cr_assert_not_null(p);
		b[i].addr = (uintptr_t)p;
		/* free a few as we go so slots are reused */
		if (i % 5 == 4) {
			free((void *)b[i - 2].addr);
			b[i - 2].addr = 0;
		}
	}
	int n = 0;
	for (int i = 0; i < N; i++)
		if (b[i].addr)
			b[n++] = b[i];
	qsort(b, (size_t)n, sizeof b[0], tu_cmp_ptr); /* sorts by addr, the first field */
	for (int i = 1; i < n; i++)
		cr_assert_leq(b[i - 1].addr + b[i - 1].len, b[i].addr,
			      "live blocks overlap: %#lx (+%zu) and %#lx (+%zu)", (unsigned long)b[i - 1].addr,
			      b[i - 1].len, (unsigned long)b[i].addr, b[i].len);
	for (int i = 0; i < n; i++)
		free((void *)b[i].addr);
	cr_assert_eq(sa_check_heap(), 0);
}

/* Aligned blocks are ordinary blocks: realloc, usable size and free work. */
Test(api, aligned_blocks_realloc_and_free)
{
	static const size_t grow[] = {1, 100, 5000, 70000, 3 << 20};
	FOR_EACH_API (a) {
		for (size_t al = 16; al <= MAX_ALIGN; al <<= 1) {
			for (size_t s = 0; s < NALIGN_SIZES; s++) {
				size_t n = align_sizes[s];
				void *p = NULL;
				cr_assert_eq(a->posix_memalign(&p, al, n), 0);
				check_aligned(a, "posix_memalign", p, al, n);
				tu_fill(p, n, al + s);
				for (size_t g = 0; g < sizeof grow / sizeof grow[0]; g++) {
					size_t m = grow[g];
					void *q = a->realloc(p, m);
					cr_assert_not_null(q, "%s: realloc of a %zu-aligned block to %zu", a->name, al,
							   m);
					size_t keep = n < m ? n : m;
					cr_assert_eq(tu_check(q, keep, al + s), keep,
						     "%s: realloc of a %zu-aligned %zu B block to %zu lost "
						     "its contents",
						     a->name, al, n, m);
					cr_assert_geq(a->usable(q), m);
					tu_fill(q, m, al + s);
					p = q;
					n = m;
				}
				a->free(p);
			}
		}
		/* size 0 with an alignment: a unique freeable pointer */
		void *p = NULL, *q = NULL;
		cr_assert_eq(a->posix_memalign(&p, 64, 0), 0);
		cr_assert_eq(a->posix_memalign(&q, 64, 0), 0);
		cr_assert(p && q && p != q, "%sposix_memalign(64, 0): %p %p", a->name, p, q);
		a->free(p);
		a->free(q);
	}
	cr_assert_eq(sa_check_heap(), 0);
}

/* Objects larger than a 64 MiB heapArena, fresh and reused. */
Test(api, objects_larger_than_an_arena, .timeout = 120)
{
	static const size_t sizes[] = {(size_t)65 << 20, ((size_t)130 << 20) + 12345};
	FOR_EACH_API (a) {
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
			size_t n = sizes[s];
			for (int round = 0; round < 2; round++) {
				unsigned char *p = a->calloc(1, n);
				cr_assert_not_null(p, "%s: calloc(1, %zu)", a->name, n);
				cr_assert_geq(a->usable(p), n);
				for (size_t i = 0; i < n; i += 4096)
					cr_assert_eq(p[i], 0, "%s: calloc(%zu) round %d: byte %zu not zero", a->name, n,
						     round, i);
				cr_assert_eq(p[n - 1], 0);
				memset(p, 0xEE, n); /* dirty for the next round */
				a->free(p);
			}
			/* grow a 1 MiB block past the arena size and back */
			unsigned char *p = a->malloc(1 << 20);
			cr_assert_not_null(p);
			tu_fill(p, 1 << 20, 9);
			unsigned char *q = a->realloc(p, n);
			cr_assert_not_null(q);
			cr_assert_eq(tu_check(q, 1 << 20, 9), 1 << 20);
			q[n - 1] = 1;
			p = a->realloc(q, 1000);
			cr_assert_not_null(p);
			cr_assert_eq(tu_check(p, 1000, 9), 1000);
			a->free(p);
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}
