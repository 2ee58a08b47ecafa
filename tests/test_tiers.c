/*
 * Unit tests of each tier through the internal headers: fixalloc, the
 * arena index, the mheap page allocator (first fit, coalescing, alignment,
 * in-place growth, scavenging), mspan bitmaps and sweep, mcentral
 * transfers, and the tiny allocator's masks.
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <string.h>

#include "internal.h"
#include "spanalloc.h"

static void init(void) { free(malloc(1)); /* initializes the heap and this thread's cache */ }

TestSuite(tiers, .init = init);

Test(tiers, fixalloc_reuses_and_zeroes)
{
	fixalloc f;
	fixalloc_init(&f, 40);
	cr_assert_eq(f.size, 48);
	char *a = fixalloc_alloc(&f), *b = fixalloc_alloc(&f);
	cr_assert(a && b && a != b);
	cr_assert_eq(f.inuse, 96);
	memset(a, 0xab, 48);
	fixalloc_free(&f, a);
	char *c = fixalloc_alloc(&f);
	cr_assert_eq(c, a, "a freed block is reused first");
	for (int i = 0; i < 48; i++)
		cr_assert_eq(c[i], 0, "reused blocks come back zeroed");
}

Test(tiers, arena_index_finds_heap_pointers_only)
{
	char *p = malloc(100);
	heapArena *ha = arena_of((uintptr_t)p);
	cr_assert_not_null(ha);
	cr_assert((uintptr_t)p >= ha->base && (uintptr_t)p < ha->base + ARENA_SIZE);
	int local;
	cr_assert_null(arena_of((uintptr_t)&local));
	cr_assert_null(arena_of((uintptr_t)&init));
	cr_assert_null(arena_of(~(uintptr_t)0));
	free(p);
}

static void assert_page_map(mspan *s, mspan *want)
{
	for (uintptr_t i = 0; i < s->npages; i++) {
		uintptr_t a = s->startAddr + i * PAGE_SIZE;
		cr_assert_eq(span_of(arena_of(a), a), want, "page %zu of the span", (size_t)i);
	}
}

Test(tiers, heap_first_fit_and_coalescing)
{
	mspan *a = heap_alloc_span(3, 1, 0);
	mspan *b = heap_alloc_span(5, 1, 0);
	mspan *c = heap_alloc_span(2, 1, 0);
	cr_assert(a && b && c);
	assert_page_map(a, a);
	assert_page_map(b, b);
	uintptr_t abase = a->startAddr;
	bool adjacent = b->startAddr == abase + 3 * PAGE_SIZE;
	heap_free_span(a);
	cr_assert_null(span_of(arena_of(abase), abase), "freed pages leave the page map");
	heap_free_span(b);
	mspan *d = heap_alloc_span(8, 1, 0);
	cr_assert_not_null(d);
	if (adjacent)
		cr_assert_eq(d->startAddr, abase, "the two freed runs coalesce and are found first");
	assert_page_map(d, d);
	heap_free_span(d);
	heap_free_span(c);
	cr_assert_eq(sa_check_heap(), 0);
}

Test(tiers, heap_aligned_runs)
{
	for (size_t align = 1; align <= 256; align *= 2) {
		mspan *s = heap_alloc_span(3, align, 0);
		cr_assert_not_null(s);
		cr_assert_eq(s->startAddr % (align * PAGE_SIZE), 0, "alignment %zu pages", align);
		heap_free_span(s);
	}
}

Test(tiers, heap_spans_larger_than_an_arena)
{
	size_t npages = PAGES_PER_ARENA + 100;
	mspan *s = heap_alloc_span(npages, 1, 0);
	cr_assert_not_null(s);
	assert_page_map(s, s);
	char *p = (char *)s->startAddr;
	p[0] = 1;
	p[npages * PAGE_SIZE - 1] = 2;
	heap_free_span(s);
	cr_assert_eq(sa_check_heap(), 0);
}

Test(tiers, heap_grows_in_place_into_free_pages)
{
	mspan *a = heap_alloc_span(2, 1, 0);
	mspan *b = heap_alloc_span(2, 1, 0);
	cr_assert(a && b);
	if (b->startAddr != a->startAddr + 2 * PAGE_SIZE)
		cr_skip_test("runs not adjacent in this heap state");
	cr_assert_not(heap_grow_in_place(a, 3), "the next pages are in use");
	heap_free_span(b);
	cr_assert(heap_grow_in_place(a, 4));
	cr_assert_eq(a->npages, 4);
	assert_page_map(a, a);
	heap_free_span(a);
	cr_assert_eq(sa_check_heap(), 0);
}

Test(tiers, scavenger_releases_idle_pages)
{
	struct sa_memstats m0, m1;
	mspan *s = heap_alloc_span(64, 1, 0);
	cr_assert_not_null(s);
	memset((void *)s->startAddr, 1, 64 * PAGE_SIZE); /* make it resident */
	sa_read_memstats(&m0);
	heap_free_span(s);
	sa_scavenge();
	sa_read_memstats(&m1);
	cr_assert_geq(m1.HeapReleased, m0.HeapReleased + 64 * PAGE_SIZE);
	/* Released pages read as zero when reused. */
	mspan *t = heap_alloc_span(64, 1, 0);
	cr_assert_not(t->needzero, "a run of released pages needs no zeroing");
	for (size_t i = 0; i < 64 * PAGE_SIZE; i += 512)
		cr_assert_eq(((char *)t->startAddr)[i], 0);
	heap_free_span(t);
}

Test(tiers, span_next_free_and_sweep)
{
	mspan *s = heap_alloc_span(1, 1, 5); /* class 5: 64 B, 128 objects */
	cr_assert_not_null(s);
	lock(&mcentral_[5].lock); /* span_sweep and span_validate: its owner or its class lock */
	cr_assert_eq(s->nelems, 128);
	cr_assert_eq(s->elemsize, 64);
	if (s->limit < 128) { /* production: nothing below the limit until it grows */
		cr_assert_eq(span_next_free(s), 128);
		span_grow(s, 128);
	}
	for (unsigned i = 0; i < 128; i++) {
		cr_assert_eq(span_next_free(s), i);
		s->gcmarkBits[i / 64] |= 1ull << (i % 64);
	}
	cr_assert_eq(span_next_free(s), 128, "exhausted");
	/* Free objects 3 and 100 (one locally, one remotely). */
	s->gcmarkBits[0] &= ~(1ull << 3);
	s->remoteBits[1] |= 1ull << (100 - 64);
	cr_assert_eq(span_sweep(s), 2);
	cr_assert_eq(s->allocCount, 126);
	cr_assert_eq(s->remoteBits[1], 0);
	cr_assert_eq(span_validate(s, true, "test"), 0);
	cr_assert_eq(span_next_free(s), 3);
	cr_assert_eq(span_next_free(s), 100);
	cr_assert_eq(span_next_free(s), 128);
	cr_assert(s->needzero, "reused objects are dirty");
	s->gcmarkBits[0] = s->gcmarkBits[1] = 0;
	s->allocBits[0] = s->allocBits[1] = 0;
	unlock(&mcentral_[5].lock);
	heap_free_span(s);
}

/* Allocation stays below a span's limit, and goes on from it when it
 * grows: the pages past it stay untouched while the objects below it do. */
Test(tiers, span_limit_bounds_allocation)
{
	mspan *s = heap_alloc_span(1, 1, 5); /* class 5: 64 B, 128 objects */
	cr_assert_not_null(s);
	lock(&mcentral_[5].lock);
	s->limit = 0;
	s->allocCache = 0;
	span_grow(s, 40);
	cr_assert_eq(s->limit, 40);
	for (unsigned i = 0; i < 40; i++) {
		cr_assert_eq(span_next_free(s), i);
		s->gcmarkBits[i / 64] |= 1ull << (i % 64);
	}
	cr_assert_eq(span_next_free(s), 128, "nothing past the limit");
	cr_assert_eq(span_validate(s, false, "test"), 0);
	span_grow(s, 1000);
	cr_assert_eq(s->limit, 128, "the limit stops at nelems");
	for (unsigned i = 40; i < 128; i++) {
		cr_assert_eq(span_next_free(s), i);
		s->gcmarkBits[i / 64] |= 1ull << (i % 64);
	}
	cr_assert_eq(span_next_free(s), 128);
	/* A live object past the limit is corruption. */
	s->limit = 100;
	cr_assert_geq(span_validate(s, false, "test"), 1);
	s->limit = 128;
	s->gcmarkBits[0] = s->gcmarkBits[1] = 0;
	s->allocBits[0] = s->allocBits[1] = 0;
	unlock(&mcentral_[5].lock);
	heap_free_span(s);
}

Test(tiers, span_validate_catches_corruption)
{
	mspan *s = heap_alloc_span(1, 1, 4); /* class 4: 48 B, 170 objects */
	cr_assert_not_null(s);
	lock(&mcentral_[4].lock); /* span_sweep and span_validate: its owner or its class lock */
	span_sweep(s);
	cr_assert_eq(span_validate(s, true, "test"), 0);
	s->gcmarkBits[2] |= 1ull << 63; /* object 191 >= nelems */
	cr_assert_geq(span_validate(s, false, "test"), 1);
	s->gcmarkBits[2] = 0;
	/* (a stray gcmarkBit is also past the limit: one in allocBits is
	 * the nelems check's alone) */
	s->allocBits[2] |= 1ull << 63;
	cr_assert_geq(span_validate(s, false, "test"), 1);
	s->allocBits[2] = 0;
	s->allocCount = 7; /* no live bits */
	cr_assert_geq(span_validate(s, true, "test"), 1);
	s->allocCount = 0;
	unlock(&mcentral_[4].lock);
	heap_free_span(s);
}

Test(tiers, central_cycles_spans_through_the_heap)
{
	mcache *c = cache_current();
	cr_assert_not_null(c);
	mcentral *mc = &mcentral_[9]; /* 128 B */
	mspan *s = central_cache_span(mc, c);
	cr_assert_not_null(s);
	cr_assert_eq(s->owner, c);
	cr_assert_eq(s->spanclass, 9);
	uintptr_t base = s->startAddr;
	/* An empty span goes back to the heap on uncache. */
	central_uncache_span(mc, s, false);
	cr_assert_null(span_of(arena_of(base), base));
	/* A span with a live object goes to partial, a full one to full. */
	s = central_cache_span(mc, c);
	unsigned idx = span_next_free(s);
	s->gcmarkBits[0] |= 1ull << idx;
	s->allocCount++;
	central_uncache_span(mc, s, false);
	cr_assert_eq(s->list, LIST_PARTIAL);
	cr_assert_eq(s->owner, NO_OWNER);
	mspan *again = central_cache_span(mc, c);
	cr_assert_eq(again, s, "the partial span is handed out again");
	cr_assert_eq(again->allocCount, 1);
	again->gcmarkBits[0] = 0;
	again->allocCount = 0;
	central_uncache_span(mc, again, false);
	cr_assert_eq(sa_check_heap(), 0);
}

/*
 * A thread that frees every object of the spans it parked keeps one empty
 * span of the class and gives the others' pages back to the heap (they
 * leave the page map), rather than hold them all.
 */
Test(tiers, a_cache_keeps_one_empty_span_of_a_class)
{
#ifdef SA_DEBUG
	cr_skip_test("the debug build's quarantine holds the frees back");
#endif
	enum { N = 64 * 5 }; /* 128 B: 64 objects a span, five spans */
	static void *obj[N];
	mspan *spans[N];
	size_t nspans = 0;
	for (size_t i = 0; i < N; i++) {
		obj[i] = malloc(128);
		cr_assert_not_null(obj[i]);
		mspan *s = span_of(arena_of((uintptr_t)obj[i]), (uintptr_t)obj[i]);
		if (nspans == 0 || spans[nspans - 1] != s)
			spans[nspans++] = s;
	}
	cr_assert_geq(nspans, 4);
	mcache *c = cache_current();
	mspan *cur = c->alloc[9];
	uintptr_t base[N];
	for (size_t k = 0; k < nspans; k++)
		base[k] = spans[k]->startAddr;
	for (size_t i = 0; i < N; i++)
		free(obj[i]);
	size_t kept = 0, mapped = 0;
	for (size_t k = 0; k < nspans; k++) {
		if (spans[k] == cur)
			continue;
		mspan *s = span_of(arena_of(base[k]), base[k]);
		if (s == spans[k] && s->owner == c) {
			mapped++;
			kept += s->list == LIST_READY;
		}
	}
	cr_assert_eq(mapped, 1, "%zu of %zu emptied spans still held by the cache", mapped, nspans - 1);
	cr_assert_eq(kept, 1);
	cr_assert_eq(sa_check_heap(), 0);
}

/* By default requests of 1..8 bytes take 8-byte slots of their own. */
Test(tiers, small_requests_take_the_8_byte_class)
{
#ifdef SA_DEBUG
	cr_skip_test("the debug build puts a redzone before every block");
#endif
	char *p[4] = {malloc(3), malloc(5), malloc(8), malloc(1)};
	for (int i = 0; i < 4; i++) {
		cr_assert_not_null(p[i]);
		cr_assert_eq((uintptr_t)p[i] % 8, 0);
		cr_assert_eq(malloc_usable_size(p[i]), 8);
		mspan *s = span_of(arena_of((uintptr_t)p[i]), (uintptr_t)p[i]);
		cr_assert_eq(s->spanclass, 1, "malloc of a few bytes in span class %u", s->spanclass);
		for (int j = 0; j < i; j++)
			cr_assert_neq((uintptr_t)p[i] / 8, (uintptr_t)p[j] / 8);
		memset(p[i], i + 1, 8);
	}
	free(p[1]);
	cr_assert_eq(p[0][7], 1);
	cr_assert_eq(p[2][7], 3);
	free(p[0]), free(p[2]), free(p[3]);
	cr_assert_eq(sa_check_heap(), 0);
}

/*
 * With tiny=1 they are packed by the tiny allocator.  A fresh thread, so
 * that no 8-byte span is cached yet (the option is read at each slow path).
 */
static void *tiny_packing(void *arg)
{
	(void)arg;
	char *a = malloc(3), *b = malloc(5), *c = malloc(8), *d = malloc(1);
	if (!a || !b || !c || !d)
		return "malloc failed";
	/* Packed by the tiny allocator: same 16-byte block where they fit. */
	uintptr_t blk = (uintptr_t)a & ~(uintptr_t)15;
	if (((uintptr_t)b & ~(uintptr_t)15) != blk)
		return "malloc(3) and malloc(5) in different tiny blocks";
	if ((uintptr_t)c % 8 != 0)
		return "malloc(8) not 8-aligned";
	if (malloc_usable_size(a) != 3 || malloc_usable_size(b) != 5 || malloc_usable_size(c) != 8)
		return "tiny usable sizes are not the requests";
	memset(a, 1, 3), memset(b, 2, 5), memset(c, 3, 8), memset(d, 4, 1);
	free(b);
	if (a[2] != 1 || c[7] != 3)
		return "free of a tiny neighbour overwrote a live one";
	free(a), free(c), free(d);
	return sa_check_heap() == 0 ? NULL : "sa_check_heap found problems";
}

Test(tiers, tiny_objects_share_a_block)
{
#ifdef SA_DEBUG
	cr_skip_test("the debug build gives every block a slot of its own");
#endif
	opts.tiny = 1;
	pthread_t t;
	void *why;
	cr_assert_eq(pthread_create(&t, NULL, tiny_packing, NULL), 0);
	pthread_join(t, &why);
	opts.tiny = 0;
	cr_assert_null(why, "%s", (char *)why);
}
