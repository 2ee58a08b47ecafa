/*
 * fuzz_heap: the mheap page allocator, driven through its internal API
 * (heap_alloc_span / heap_free_span / heap_grow_in_place /
 * heap_scavenge), with a model of the pages.
 *
 * Before every allocation the harness works out, from the arenas' page
 * bitmaps, where an address-ordered first fit must put the run (the lowest
 * arena, the lowest page with the alignment) and whether it must come
 * back zeroed (every page scavenged).  After every operation it walks all
 * arenas: the page bitmap and the page map agree page by page (a freed
 * span leaves no entry), the scavenged and recently-freed bitmaps only
 * mark free pages, free counts, search hints, the heap's page counters;
 * and every span the model holds maps all its pages to itself.  Spans
 * carry contents on sampled pages, checked at free and grow.  Adjacent
 * spans freed together must coalesce: their sum fits where they were.
 */
#include <string.h>

#include "internal.h"
#include "ops.h"
#include "spanalloc.h"

/*
 * The debug build under ASan poisons heap pages until a tier above the
 * heap hands them out; this harness is that tier for its spans.
 */
#if defined(SA_DEBUG) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define HAND_OUT(a, n) ASAN_UNPOISON_MEMORY_REGION((void *)(a), (n))
#define TAKE_BACK(a, n) ASAN_POISON_MEMORY_REGION((void *)(a), (n))
#endif
#endif
#ifndef HAND_OUT
#define HAND_OUT(a, n) ((void)(a), (void)(n))
#define TAKE_BACK(a, n) ((void)(a), (void)(n))
#endif

#define MAX_SPANS 128
#define MAX_PAGES 12288 /* pages held at once: 96 MiB */

struct hspan {
	mspan *s;
	uintptr_t a;
	size_t np;
	uint64_t seed;
};

static struct hspan spans[MAX_SPANS];
static unsigned nspans;
static size_t pages_held;

/* ---- contents on sampled pages -------------------------------------------------------- */

#define SAMPLE_PAGES 24
#define SAMPLE_BYTES 64

/* Page k of the sample of a run of np pages (first, last, and spread between). */
static size_t sample_page(size_t np, unsigned k)
{
	if (np <= SAMPLE_PAGES)
		return k < np ? k : np - 1;
	if (k == SAMPLE_PAGES - 1)
		return np - 1;
	return (size_t)k * np / SAMPLE_PAGES;
}

static unsigned nsamples(size_t np) { return np < SAMPLE_PAGES ? (unsigned)np : SAMPLE_PAGES; }

NOCOV static void span_fill(const struct hspan *h)
{
	for (unsigned k = 0; k < nsamples(h->np); k++) {
		uint8_t *pg = (uint8_t *)h->a + sample_page(h->np, k) * PAGE_SIZE;
		pattern_fill(pg, SAMPLE_BYTES, h->seed + sample_page(h->np, k) * 2);
		pattern_fill(pg + PAGE_SIZE - SAMPLE_BYTES, SAMPLE_BYTES, h->seed + sample_page(h->np, k) * 2 + 1);
	}
}

NOCOV static void span_check(const struct hspan *h, const char *what)
{
	for (unsigned k = 0; k < nsamples(h->np); k++) {
		uint8_t *pg = (uint8_t *)h->a + sample_page(h->np, k) * PAGE_SIZE;
		pattern_check(pg, SAMPLE_BYTES, h->seed + sample_page(h->np, k) * 2, SAMPLE_BYTES, what);
		pattern_check(pg + PAGE_SIZE - SAMPLE_BYTES, SAMPLE_BYTES, h->seed + sample_page(h->np, k) * 2 + 1,
			      SAMPLE_BYTES, what);
	}
}

NOCOV static void span_zero_check(uintptr_t a, size_t np)
{
	for (unsigned k = 0; k < nsamples(np); k++) {
		uint8_t *pg = (uint8_t *)a + sample_page(np, k) * PAGE_SIZE;
		zero_check(pg, SAMPLE_BYTES, "span said not to need zeroing (head of page)");
		zero_check(pg + PAGE_SIZE - SAMPLE_BYTES, SAMPLE_BYTES, "span said not to need zeroing (end of page)");
	}
}

/* ---- the page model ----------------------------------------------------------------------- */

NOCOV static inline bool bit(const uint64_t *b, size_t i) { return (b[i / 64] >> (i % 64)) & 1; }

NOCOV static bool run_free(const heapArena *ha, size_t i, size_t n)
{
	for (size_t j = i; j < i + n; j++)
		if (bit(ha->pallocBits, j))
			return false;
	return true;
}

/* Arenas a run of np pages takes when no arena has room for it. */
NOCOV static size_t arenas_for(size_t np)
{
	return np <= PAGES_PER_ARENA ? 1 : (np + PAGES_PER_ARENA - 1) / PAGES_PER_ARENA;
}

/*
 * A run of more pages than an arena: the first address-adjacent arenas,
 * as many as it needs, that are entirely free (a freed huge run's, or
 * arenas the kernel placed side by side), else fresh ones.  Heap lock.
 */
NOCOV static uintptr_t predict_multi(size_t np, bool *dirty, bool *fresh)
{
	size_t count = arenas_for(np), run = 0;
	heapArena *first = NULL;
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next) {
		if (!run_free(ha, 0, PAGES_PER_ARENA)) {
			run = 0;
			continue;
		}
		if (run && ha->base != first->base + run * ARENA_SIZE)
			run = 0;
		if (!run)
			first = ha;
		if (++run < count)
			continue;
		*dirty = false;
		size_t left = np;
		for (heapArena *a = first; left > 0; a = a->next) {
			size_t n = left < PAGES_PER_ARENA ? left : PAGES_PER_ARENA;
			for (size_t j = 0; j < n; j++)
				if (!bit(a->scavBits, j))
					*dirty = true;
			left -= n;
		}
		return first->base;
	}
	*fresh = true;
	*dirty = false;
	return 0;
}

/*
 * Where first fit puts npages aligned to align pages, and whether the run
 * may be dirty; *fresh when no arena has room (new arenas: arenas_for).
 * Heap lock.
 */
NOCOV static uintptr_t predict(size_t np, size_t align, bool *dirty, bool *fresh)
{
	static uint32_t next_used[PAGES_PER_ARENA + 1];
	*fresh = false;
	if (np > PAGES_PER_ARENA)
		return predict_multi(np, dirty, fresh);
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next) {
		/* next_used[j]: the first page >= j in use (a simple model of find_run). */
		next_used[PAGES_PER_ARENA] = PAGES_PER_ARENA;
		for (size_t j = PAGES_PER_ARENA; j-- > 0;)
			next_used[j] = bit(ha->pallocBits, j) ? (uint32_t)j : next_used[j + 1];
		for (size_t i = 0; i + np <= PAGES_PER_ARENA; i += align) {
			if (next_used[i] < i + np)
				continue;
			*dirty = false;
			for (size_t j = i; j < i + np; j++)
				if (!bit(ha->scavBits, j))
					*dirty = true;
			return ha->base + i * PAGE_SIZE;
		}
	}
	*fresh = true;
	*dirty = false;
	return 0;
}

/* The pages of a run just freed: out of the page map and the page bitmap. */
NOCOV static void check_freed(uintptr_t a, size_t np)
{
	lock(&mheap_.lock);
	for (size_t pg = 0; pg < np; pg++) {
		uintptr_t x = a + pg * PAGE_SIZE;
		heapArena *ha = arena_of(x);
		size_t i = (x >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
		if (!ha || ha->spans[i] || bit(ha->pallocBits, i))
			fuzz_fail(
				"page %zu of the %zu-page span just freed at %#lx: page map %p, in use %d (a stale entry)",
				pg, np, (unsigned long)a, ha ? (void *)ha->spans[i] : NULL,
				ha ? bit(ha->pallocBits, i) : -1);
	}
	unlock(&mheap_.lock);
}

/* Everything the heap keeps about pages, against the model; the per-page
 * scan of the page map when full. */
NOCOV static void check_pages(const char *when, bool full)
{
	lock(&mheap_.lock);
	uint64_t inuse = 0, committed = 0, scav = 0;
	uintptr_t prevbase = 0;
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next) {
		if (ha->base & (ARENA_SIZE - 1) || arena_of(ha->base) != ha ||
		    arena_of(ha->base + ARENA_SIZE - 1) != ha)
			fuzz_fail("%s: arena %#lx is not indexed", when, (unsigned long)ha->base);
		if (ha->base <= prevbase && prevbase)
			fuzz_fail("%s: arena list not in address order", when);
		prevbase = ha->base;
		uint32_t used = 0;
		for (size_t w = 0; w < ARENA_BITMAP_WORDS; w++) {
			uint64_t p = ha->pallocBits[w], s = ha->scavBits[w], r = ha->recentBits[w];
			if (p & s)
				fuzz_fail("%s: arena %#lx word %zu: pages both in use and scavenged (%#lx)", when,
					  (unsigned long)ha->base, w, (unsigned long)(p & s));
			if (r & (p | s))
				fuzz_fail("%s: arena %#lx word %zu: recently-freed bits on pages in use or scavenged",
					  when, (unsigned long)ha->base, w);
			used += (uint32_t)__builtin_popcountll(p);
		}
		for (size_t pg = 0; full && pg < PAGES_PER_ARENA; pg++) {
			bool u = bit(ha->pallocBits, pg);
			mspan *s = ha->spans[pg];
			if (u != (s != NULL))
				fuzz_fail("%s: page %zu of arena %#lx: in use %d but page map %p (a stale or missing "
					  "page map entry)",
					  when, pg, (unsigned long)ha->base, u, (void *)s);
			if (pg >= ha->commitPages && (u || !bit(ha->scavBits, pg)))
				fuzz_fail("%s: uncommitted page %zu in use or not counted scavenged", when, pg);
		}
		for (size_t w = 0; w < ARENA_BITMAP_WORDS; w++) {
			uint64_t committed = w * 64 + 64 <= ha->commitPages ? ~0ull
					     : w * 64 >= ha->commitPages    ? 0
									    : (1ull << (ha->commitPages % 64)) - 1;
			scav += (uint64_t)__builtin_popcountll(ha->scavBits[w] & committed);
		}
		for (size_t pg = 0; pg < ha->searchHint && pg < PAGES_PER_ARENA; pg++)
			if (!bit(ha->pallocBits, pg))
				fuzz_fail("%s: free page %zu below the search hint %u", when, pg, ha->searchHint);
		if (ha->nfree != PAGES_PER_ARENA - used)
			fuzz_fail("%s: arena nfree %u, bitmap says %u", when, ha->nfree,
				  (unsigned)(PAGES_PER_ARENA - used));
		inuse += used;
		committed += ha->commitPages;
	}
	if (inuse != mheap_.pagesInUse || committed != mheap_.pagesCommitted || scav != mheap_.pagesScav)
		fuzz_fail("%s: heap counters: in use %lu (pages say %lu), committed %lu (%lu), scavenged %lu (%lu)",
			  when, (unsigned long)mheap_.pagesInUse, (unsigned long)inuse,
			  (unsigned long)mheap_.pagesCommitted, (unsigned long)committed,
			  (unsigned long)mheap_.pagesScav, (unsigned long)scav);
	if (inuse != pages_held)
		fuzz_fail("%s: %lu pages in use, the model holds %zu", when, (unsigned long)inuse, pages_held);
	for (unsigned i = 0; i < nspans; i++) {
		const struct hspan *h = &spans[i];
		mspan *s = h->s;
		if (s->startAddr != h->a || s->npages != h->np || span_state(s) != mSpanInUse || s->spanclass != 0 ||
		    s->elemsize != h->np * PAGE_SIZE)
			fuzz_fail("%s: span %p changed: start %#lx pages %lu state %u", when, (void *)s,
				  (unsigned long)s->startAddr, (unsigned long)s->npages, span_state(s));
		for (size_t pg = 0; pg < h->np; pg++) {
			uintptr_t a = h->a + pg * PAGE_SIZE;
			heapArena *ha = arena_of(a);
			if (!ha || span_of(ha, a) != s)
				fuzz_fail("%s: page %zu of span %p maps to %p", when, pg, (void *)s,
					  ha ? (void *)span_of(ha, a) : NULL);
		}
	}
	unlock(&mheap_.lock);
}

/* ---- operations ------------------------------------------------------------------------------ */

static size_t gen_npages(fdp *d)
{
	switch (fdp_u8(d) % 8) {
	case 0:
	case 1:
	case 2: return 1 + fdp_u8(d) % 4;
	case 3:
	case 4: return 1 + fdp_u8(d) % 64;
	case 5: return 1 + fdp_u16(d) % 512;
	case 6: return 1 + fdp_u16(d) % 4096;
	default: /* whole arena and near it */ return PAGES_PER_ARENA - fdp_u8(d) % 4;
	}
}

static size_t gen_align(fdp *d)
{
	uint8_t v = fdp_u8(d);
	if (v < 160)
		return 1;
	return (size_t)1 << (v % 14); /* up to a whole arena */
}

static void do_alloc(size_t np, size_t align, uintptr_t at_most)
{
	if (nspans == MAX_SPANS || pages_held + np > MAX_PAGES)
		return;
	bool dirty, fresh;
	lock(&mheap_.lock);
	uintptr_t want = predict(np, align, &dirty, &fresh);
	uint64_t narenas = mheap_.narenas;
	unlock(&mheap_.lock);
	mspan *s = heap_alloc_span(np, align, 0);
	fuzz_log("heap_alloc_span(%zu, %zu) = %p [%#lx]%s", np, align, (void *)s, s ? (unsigned long)s->startAddr : 0,
		 fresh ? " (new arena)" : "");
	if (!s)
		fuzz_fail("heap_alloc_span(%zu, %zu) failed", np, align);
	uintptr_t a = s->startAddr;
	if (fresh) {
		lock(&mheap_.lock);
		bool ok = (a & (ARENA_SIZE - 1)) == 0 && mheap_.narenas == narenas + arenas_for(np);
		unlock(&mheap_.lock);
		if (!ok)
			fuzz_fail(
				"heap_alloc_span(%zu, %zu): no arena had room, but the run is at %#lx, not at the start "
				"of %zu new arenas",
				np, align, (unsigned long)a, arenas_for(np));
	} else if (a != want) {
		fuzz_fail("heap_alloc_span(%zu, %zu) = %#lx; first fit is %#lx", np, align, (unsigned long)a,
			  (unsigned long)want);
	}
	if (at_most && a > at_most)
		fuzz_fail("freed adjacent runs did not coalesce: %zu pages at %#lx, expected at or below %#lx", np,
			  (unsigned long)a, (unsigned long)at_most);
	if ((a >> PAGE_SHIFT) % align)
		fuzz_fail("heap_alloc_span: %#lx not aligned to %zu pages", (unsigned long)a, align);
	if (s->needzero != dirty)
		fuzz_fail("heap_alloc_span(%zu) at %#lx: needzero %u, but the pages were %s", np, (unsigned long)a,
			  s->needzero, dirty ? "dirty" : "all scavenged (zero)");
	HAND_OUT(a, np * PAGE_SIZE);
	if (!s->needzero)
		span_zero_check(a, np);
	struct hspan *h = &spans[nspans++];
	h->s = s;
	h->a = a;
	h->np = np;
	h->seed = (uint64_t)a * 31 + np;
	pages_held += np;
	span_fill(h);
}

static void do_free(unsigned i)
{
	struct hspan h = spans[i];
	span_check(&h, "span contents at free");
	spans[i] = spans[--nspans];
	pages_held -= h.np;
	TAKE_BACK(h.a, h.np * PAGE_SIZE);
	fuzz_log("heap_free_span(%#lx, %zu pages)", (unsigned long)h.a, h.np);
	heap_free_span(h.s);
	check_freed(h.a, h.np);
}

static int pick(fdp *d)
{
	if (!nspans)
		return -1;
	return (int)(fdp_u8(d) % nspans);
}

static void op_grow(fdp *d)
{
	int i = pick(d);
	if (i < 0)
		return;
	struct hspan *h = &spans[i];
	uint8_t e = fdp_u8(d), small = fdp_u8(d) & 1;
	size_t extra = 1 + e % (small ? 8 : 256);
	if (pages_held + extra > MAX_PAGES)
		return;
	lock(&mheap_.lock);
	uintptr_t end = h->a + h->np * PAGE_SIZE;
	heapArena *ha = arena_of(h->a);
	size_t pg = (end >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
	bool expect = (end & (ARENA_SIZE - 1)) != 0 && pg + extra <= PAGES_PER_ARENA && run_free(ha, pg, extra);
	unlock(&mheap_.lock);
	span_check(h, "span contents before grow");
	bool ok = heap_grow_in_place(h->s, h->np + extra);
	fuzz_log("heap_grow_in_place(%#lx, %zu + %zu) = %d", (unsigned long)h->a, h->np, extra, ok);
	if (ok != expect)
		fuzz_fail("heap_grow_in_place(%#lx, %zu -> %zu pages) = %d, but the pages after it are %s",
			  (unsigned long)h->a, h->np, h->np + extra, ok,
			  expect ? "free" : "not all free in this arena");
	if (ok) {
		HAND_OUT(h->a + h->np * PAGE_SIZE, extra * PAGE_SIZE);
		h->np += extra;
		pages_held += extra;
		span_fill(h);
	}
}

/* Free two spans that touch, then ask for their sum: it fits where they were. */
static void op_coalesce(fdp *d)
{
	int i = pick(d);
	if (i < 0)
		return;
	uintptr_t end = spans[i].a + spans[i].np * PAGE_SIZE;
	for (unsigned j = 0; j < nspans; j++) {
		if (spans[j].a != end)
			continue;
		uintptr_t lo = spans[i].a;
		size_t sum = spans[i].np + spans[j].np;
		fuzz_log("coalesce %#lx + %#lx (%zu pages)", (unsigned long)lo, (unsigned long)end, sum);
		unsigned a = (unsigned)i, b = j;
		if (fdp_u8(d) & 1) { /* either order */
			unsigned t = a;
			a = b;
			b = t;
		}
		/* Free the higher index first: the swap-remove keeps the other in place. */
		if (a > b) {
			do_free(a);
			do_free(b);
		} else {
			do_free(b);
			do_free(a);
		}
		/* Runs coalesce within an arena: two that meet at an arena's
		 * end (arenas the kernel placed side by side) do not make one
		 * run, which first fit may put anywhere. */
		bool one_arena = lo >> ARENA_SHIFT == (lo + sum * PAGE_SIZE - 1) >> ARENA_SHIFT;
		do_alloc(sum, 1, one_arena ? lo : 0);
		return;
	}
}

/* After a forced scavenge: every free committed page is released. */
NOCOV static void check_all_released(void)
{
	lock(&mheap_.lock);
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next)
		for (size_t pg = 0; pg < ha->commitPages; pg++)
			if (!bit(ha->pallocBits, pg) && !bit(ha->scavBits, pg))
				fuzz_fail("heap_scavenge(force) left free page %zu of arena %#lx resident", pg,
					  (unsigned long)ha->base);
	unlock(&mheap_.lock);
}

static void op_scavenge(fdp *d)
{
	bool force = fdp_u8(d) & 1;
	fuzz_log("heap_scavenge(%d)", force);
	heap_scavenge(force);
	if (!force)
		return;
	check_all_released();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_set_name("heap");
	sa_ensure_init();
	opts.scavenge_ms = -1; /* only when the input says */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init_once();
	fdp d = {data, size};
	unsigned ops = 0;
	fuzz_log("---- input of %zu bytes (%lu arenas)", size, (unsigned long)mheap_.narenas);
	while (!fdp_done(&d) && ops++ < 400) {
		uint8_t op = fdp_u8(&d);
		switch (op % 16) {
		case 0:
		case 1:
		case 2:
		case 3:
		case 4: {
			size_t np = gen_npages(&d);
			do_alloc(np, gen_align(&d), 0);
			break;
		}
		case 5:
		case 6:
		case 7:
		case 8: {
			int i = pick(&d);
			if (i >= 0)
				do_free((unsigned)i);
			break;
		}
		case 9:
		case 10: op_grow(&d); break;
		case 11:
		case 12: op_coalesce(&d); break;
		case 13: op_scavenge(&d); break;
		case 14: {
			static const int v[] = {-1, 0, 1, -1};
			opts.scavenge_ms = v[fdp_u8(&d) % 4];
			fuzz_log("scavenge_ms=%d", opts.scavenge_ms);
			break;
		}
		default: {
			/* A run of single pages, then every other one freed: holes to fill. */
			unsigned n = 2 + fdp_u8(&d) % 30;
			for (unsigned k = 0; k < n; k++)
				do_alloc(1 + (fdp_u8(&d) & 1), 1, 0);
			for (unsigned k = nspans; k-- > 0;)
				if (k % 2)
					do_free(k);
			break;
		}
		}
		check_pages("after an operation", ops % 8 == 0);
	}
	while (nspans)
		do_free(nspans - 1);
	opts.scavenge_ms = -1;
	check_pages("end of input", true);
	size_t bad = sa_check_heap();
	if (bad)
		fuzz_fail("end of input: sa_check_heap() found %zu problems", bad);
	return 0;
}
