/*
 * Behaviours that planted bugs (tests/mutants/) once broke without any
 * other test noticing:
 *
 *   - calloc after a malloc/free pair: the freed object comes straight back
 *     through the LIFO rollback of allocCache (malloc.c free_object), dirty;
 *     calloc must still return zeroes (the rollback sets needzero);
 *   - a double free of the last object of a span, by the owner (also once
 *     the rest of the span is free) and by another thread;
 *   - the debug build's poison check of a freed block, at the block's first,
 *     middle and last byte (a check that stops early misses the end).
 *
 * The tests run with abort_on_error=0 (set directly in opts) and count the
 * reports the library makes (its internal counter), so that a report that
 * should come and does not fails the test.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "spanalloc.h"
#include "testutil.h"
#include "track.h"

static void init(void)
{
	free(malloc(1)); /* the heap and this thread's cache */
	opts.abort_on_error = 0;
	/* The blocks here must come from spans, not the debug build's guarded slots. */
	opts.guarded_slots = 0;
	/* The reports are expected: count them, do not print them. */
	int fd = open("/dev/null", O_WRONLY);
	if (fd >= 0)
		report_fd = fd;
}

TestSuite(checks, .init = init);

/* Through a pointer the compiler cannot see into: the double frees and
 * writes after free below are the point, not a mistake to warn about. */
static void (*volatile xfree)(void *) = free;

static unsigned nreports(void) { return __atomic_load_n(&reports, __ATOMIC_RELAXED); }

static mspan *span_at(const void *p) { return span_of(arena_of((uintptr_t)p), (uintptr_t)p); }

/*
 * Every size class: malloc, dirty the whole block, free it, calloc the same
 * size.  In the production build the calloc gets the same slot back (the
 * rollback); it must be all zero.
 */
Test(checks, calloc_after_free_of_the_last_malloc_is_zero)
{
	for (unsigned cls = 1; cls < SA_NUM_SIZE_CLASSES; cls++) {
		size_t n = tu_class_size[cls];
		if (n < TINY_SIZE)
			continue; /* a tiny calloc is a memset */
		for (int via_sa = 0; via_sa < 2; via_sa++) {
			unsigned char *p = via_sa ? sa_malloc(n) : malloc(n);
			cr_assert_not_null(p);
			memset(p, 0xA5, n);
			if (via_sa)
				sa_free(p);
			else
				free(p);
			unsigned char *q = via_sa ? sa_calloc(1, n) : calloc(n, 1);
			cr_assert_not_null(q);
#ifndef SA_DEBUG
			cr_assert_eq(q, p, "class %u: the freed slot is not reused (no rollback to test)", cls);
#endif
			for (size_t i = 0; i < n; i++)
				cr_assert_eq(q[i], 0,
					     "class %u (%zu B): calloc byte %zu is 0x%02x after a malloc/free pair",
					     cls, n, i, q[i]);
			free(q);
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

/*
 * Allocate blocks of n bytes until one is the last object of a span all
 * of whose objects came from here (so that freeing the others empties
 * it); returns it, the others in *others (count *nothers).  The first
 * span may be one that blocks of the test process hold objects of (its
 * last object may be one of them): counting starts over at each span.
 */
static void *last_of_span(size_t n, void **others, size_t max, size_t *nothers)
{
	mspan *s = NULL;
	size_t mine = 0; /* objects of s allocated here */
	*nothers = 0;
	for (;;) {
		void *p = malloc(n);
		cr_assert_not_null(p);
		if (span_at(p) != s) {
			s = span_at(p);
			mine = 0;
		}
		if (++mine == s->nelems && span_object_index(s, (uintptr_t)p) == (uintptr_t)s->nelems - 1u)
			return p;
		cr_assert_lt(*nothers, max, "size %zu: no span's last object after %zu blocks", n, max);
		others[(*nothers)++] = p;
	}
}

struct twice {
	void *p;
};

static void *free_twice(void *arg)
{
	struct twice *t = arg;
	xfree(t->p);
	unsigned before = nreports();
	xfree(t->p);
	return (void *)(uintptr_t)(nreports() - before);
}

/* Sizes with 1, a few, and many objects per span (and a span of 1024). */
static const size_t last_sizes[] = {16, 48, 128, 1024, 4096, 10240, 27264, 32768};
#define MAXBLOCKS (2 * MAX_OBJS_PER_SPAN)

Test(checks, double_free_of_a_span_last_object_is_reported)
{
	static void *others[MAXBLOCKS];
	for (size_t k = 0; k < sizeof last_sizes / sizeof last_sizes[0]; k++) {
		size_t n = last_sizes[k];
		for (int how = 0; how < 3; how++) {
			size_t nothers;
			void *last = last_of_span(n, others, MAXBLOCKS, &nothers);
			unsigned before;
			if (how == 2) {
				/* Another thread frees it twice. */
				struct twice t = {last};
				pthread_t th;
				void *got;
				cr_assert_eq(pthread_create(&th, NULL, free_twice, &t), 0);
				cr_assert_eq(pthread_join(th, &got), 0);
				cr_assert_eq((uintptr_t)got, 1,
					     "size %zu: remote double free of the last object: %zu reports", n,
					     (size_t)(uintptr_t)got);
			} else {
				if (how == 1) /* the rest of the span first: it is empty after */
					for (size_t i = 0; i < nothers; i++)
						free(others[i]);
				xfree(last);
				before = nreports();
				xfree(last);
				cr_assert_eq(nreports(), before + 1,
					     "size %zu (%s): double free of the last object: %u reports", n,
					     how ? "span emptied" : "span full", nreports() - before);
			}
			if (how != 1)
				for (size_t i = 0; i < nothers; i++)
					free(others[i]);
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
}

/*
 * An object start in a span's tail (the bytes past its last object, index
 * nelems), freed by the owner and by another thread, in every class whose
 * span has a tail: the production fast path lets it through to the live
 * check, which must report an invalid free, not a double free, and leave
 * the span's bitmaps alone.
 */
static void *free_once(void *arg)
{
	xfree(arg);
	return NULL;
}

Test(checks, free_of_an_object_start_in_a_span_tail_is_invalid)
{
	char name[] = "/tmp/sa_test_tailXXXXXX";
	int fd = mkstemp(name);
	cr_assert_geq(fd, 0);
	unlink(name);
	int saved = report_fd;
	report_fd = fd;
	unsigned tested = 0;
	for (unsigned cls = 1; cls < SA_NUM_SIZE_CLASSES; cls++) {
		size_t n = tu_class_size[cls];
		void *p = malloc(n);
		cr_assert_not_null(p);
		mspan *s = span_at(p);
		uintptr_t tail = s->startAddr + (uintptr_t)s->nelems * s->elemsize;
		if (s->spanclass == 0 || s->spanclass == TINY_SPAN_CLASS ||
		    tail >= s->startAddr + s->npages * PAGE_SIZE) {
			free(p); /* no tail */
			continue;
		}
		for (int remote = 0; remote < 2; remote++) {
			off_t at = lseek(fd, 0, SEEK_CUR);
			unsigned before = nreports();
			if (remote) {
				pthread_t th;
				cr_assert_eq(pthread_create(&th, NULL, free_once, (void *)tail), 0);
				cr_assert_eq(pthread_join(th, NULL), 0);
			} else {
				xfree((void *)tail);
			}
			cr_assert_eq(nreports(), before + 1, "class %u: %u reports", cls, nreports() - before);
			char buf[512] = {0};
			cr_assert_gt(pread(fd, buf, sizeof buf - 1, at), 0);
			cr_assert_not_null(strstr(buf, "invalid free"), "class %u (%s): %s", cls,
					   remote ? "remote" : "owner", buf);
		}
		free(p);
		tested++;
	}
	report_fd = saved;
	close(fd);
	cr_assert_gt(tested, 0);
	cr_assert_eq(sa_check_heap(), 0);
}

/*
 * The debug build poisons a freed block (at least its first 256 bytes) and
 * checks the poison when the block is handed out, swept or leaves the
 * quarantine, and in sa_check_heap.  A write at the first, a middle or the
 * last byte of a freed block must each be reported.
 */
Test(checks, debug_poison_check_covers_the_whole_freed_range)
{
#ifndef SA_DEBUG
	cr_skip_test("the production build does not poison");
#else
	if (SA_UNDER_TOOL())
		cr_skip_test("under a memory checker the debug build writes no patterns");
	for (size_t n = 1; n <= 256; n += (n < 40 ? 1 : 23)) {
		size_t offs[] = {0, n / 2, n - 1};
		for (size_t k = 0; k < 3; k++) {
			unsigned char *p = malloc(n);
			cr_assert_not_null(p);
			xfree(p); /* quarantined: poisoned, still held back */
			unsigned char *b = tu_escape(p);
			b += offs[k];
			unsigned char saved = *b;
			*b = (unsigned char)~saved;
			unsigned before = nreports();
			size_t bad = sa_check_heap();
			cr_assert(bad >= 1 && nreports() > before,
				  "size %zu: a write after free at offset %zu is not reported (%zu problems)", n,
				  offs[k], bad);
			*b = saved;
		}
	}
	cr_assert_eq(sa_check_heap(), 0);
#endif
}

/*
 * span_validate reports a bit set at an index past nelems even when the
 * span is otherwise consistent (the same bit in allocBits and gcmarkBits,
 * allocCount counting it), which no other invariant would show.
 */
Test(checks, span_validate_reports_bits_past_nelems)
{
	mspan *s = heap_alloc_span(1, 1, 4); /* class 4: 48 B, 170 objects: word 2 is partly used */
	cr_assert_not_null(s);
	lock(&mcentral_[4].lock); /* span_sweep and span_validate: its owner or its class lock */
	span_sweep(s);
	cr_assert_eq(span_validate(s, true, "test"), 0);
	uint64_t stray = 1ull << 63; /* object 191 >= nelems */
	s->gcmarkBits[2] |= stray;
	s->allocBits[2] |= stray;
	s->allocCount = 1;
	size_t bad = span_validate(s, true, "test");
	s->gcmarkBits[2] &= ~stray;
	s->allocBits[2] &= ~stray;
	s->allocCount = 0;
	cr_assert_geq(bad, 1, "a consistent stray bit past nelems is not reported");
	cr_assert_eq(span_validate(s, true, "test"), 0);
	unlock(&mcentral_[4].lock);
	heap_free_span(s);
}
