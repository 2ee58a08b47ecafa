/*
 * mheap: the one global page heap.
 *
 * Pages are handed out in runs by an address-ordered first-fit search of
 * each arena's page bitmap (pallocBits), lowest arena first.  A bitmap
 * coalesces by construction: freeing a run clears its bits and it merges
 * with any free neighbours, with no boundary tags to keep.  searchHint
 * makes the common case (the lowest free run fits) a few word reads.
 *
 * Committing is lazy: an arena is reserved PROT_NONE and made read/write
 * in 2 MiB steps as runs reach further into it.  Free pages go back to the
 * OS only after they have stayed free for a whole scavenger period
 * (opts.scavenge_ms): a page fault costs microseconds, and programs that
 * free a buffer often allocate the same amount again right away.
 *
 * Every function here takes mheap.lock itself unless it says otherwise.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "track.h"

mheap mheap_ = {.lock = MUTEX_INIT(LOCK_HEAP)};

#define COMMIT_STEP_PAGES 256 /* 2 MiB */

void heap_init(void)
{
	fixalloc_init(&mheap_.spanalloc, sizeof(mspan));
	fixalloc_init(&mheap_.cachealloc, sizeof(mcache));
	fixalloc_init(&mheap_.bitsalloc, 3 * (MAX_OBJS_PER_SPAN / 64) * sizeof(uint64_t));
	fixalloc_init(&mheap_.tinyalloc, (PAGE_SIZE / TINY_SIZE) * sizeof(tinyrec));
	fixalloc_init(&mheap_.arenaalloc, sizeof(heapArena));
	mheap_.lastScavenge = os_nanotime();
}

/* ---- bitmap helpers ------------------------------------------------------ */

/* First index >= i (and < n) whose bit equals want, or n. */
static size_t bits_find(const uint64_t *bits, size_t i, size_t n, bool want)
{
	while (i < n) {
		uint64_t w = bits[i / 64];
		if (!want)
			w = ~w;
		w &= ~0ull << (i % 64);
		if (w) {
			size_t j = (i & ~(size_t)63) + (size_t)__builtin_ctzll(w);
			return j < n ? j : n;
		}
		i = (i & ~(size_t)63) + 64;
	}
	return n;
}

static inline uint64_t bits_mask(size_t off, size_t n) { return (n >= 64 ? ~0ull : ((1ull << n) - 1)) << off; }

static void bits_set(uint64_t *bits, size_t i, size_t n, bool v)
{
	if (LIKELY(i % 64 + n <= 64)) { /* within one word: most runs */
		if (v)
			bits[i / 64] |= bits_mask(i % 64, n);
		else
			bits[i / 64] &= ~bits_mask(i % 64, n);
		return;
	}
	while (n > 0) {
		size_t off = i % 64, k = 64 - off < n ? 64 - off : n;
		uint64_t m = (k == 64 ? ~0ull : ((1ull << k) - 1)) << off;
		if (v)
			bits[i / 64] |= m;
		else
			bits[i / 64] &= ~m;
		i += k;
		n -= k;
	}
}

static size_t bits_count(const uint64_t *bits, size_t i, size_t n)
{
	if (LIKELY(i % 64 + n <= 64))
		return (size_t)__builtin_popcountll(bits[i / 64] & bits_mask(i % 64, n));
	size_t c = 0;
	while (n > 0) {
		size_t off = i % 64, k = 64 - off < n ? 64 - off : n;
		uint64_t m = (k == 64 ? ~0ull : ((1ull << k) - 1)) << off;
		c += (size_t)__builtin_popcountll(bits[i / 64] & m);
		i += k;
		n -= k;
	}
	return c;
}

/* ---- page runs (heap lock held) ----------------------------------------- */

/* Lowest free run of npages starting at a multiple of align, or -1. */
static long find_run(heapArena *ha, size_t npages, size_t align)
{
	DCHECK(lock_held(&mheap_.lock));
	size_t i = ha->searchHint;
	for (;;) {
		i = bits_find(ha->pallocBits, i, PAGES_PER_ARENA, false);
		i = (i + align - 1) & ~(align - 1);
		if (i + npages > PAGES_PER_ARENA)
			return -1;
		size_t used = bits_find(ha->pallocBits, i, i + npages, true);
		if (used == i + npages)
			return (long)i;
		i = used;
	}
}

static bool commit_to(heapArena *ha, size_t end)
{
	if (end <= ha->commitPages)
		return true;
	size_t to = (end + COMMIT_STEP_PAGES - 1) / COMMIT_STEP_PAGES * COMMIT_STEP_PAGES;
	if (to > PAGES_PER_ARENA)
		to = PAGES_PER_ARENA;
	if (!os_commit((void *)(ha->base + ha->commitPages * PAGE_SIZE), (to - ha->commitPages) * PAGE_SIZE))
		return false;
	SA_TRACK_NOACCESS(ha->base + ha->commitPages * PAGE_SIZE, (to - ha->commitPages) * PAGE_SIZE);
	/* New pages are free and scavenged (zero, not resident). */
	mheap_.pagesCommitted += to - ha->commitPages;
	mheap_.pagesScav += to - ha->commitPages;
	ha->commitPages = (uint32_t)to;
	return true;
}

/* Mark [i, i+n) in use; returns whether any page may be dirty. */
static bool take_run(heapArena *ha, size_t i, size_t n)
{
	DCHECK(lock_held(&mheap_.lock));
	size_t scav = bits_count(ha->scavBits, i, n);
	bits_set(ha->scavBits, i, n, false);
	bits_set(ha->recentBits, i, n, false);
	bits_set(ha->pallocBits, i, n, true);
	mheap_.pagesScav -= scav;
	mheap_.pagesInUse += n;
	ha->nfree -= (uint32_t)n;
	if (i == ha->searchHint)
		ha->searchHint = (uint32_t)(i + n);
	return scav != n;
}

static void return_run(heapArena *ha, size_t i, size_t n)
{
	DCHECK(lock_held(&mheap_.lock));
	bits_set(ha->pallocBits, i, n, false);
	bits_set(ha->recentBits, i, n, true);
	mheap_.pagesInUse -= n;
	ha->nfree += (uint32_t)n;
	if (i < ha->searchHint)
		ha->searchHint = (uint32_t)i;
}

/* Point every page of [addr, addr + npages pages) at s (or NULL). */
static void set_page_map(uintptr_t addr, size_t npages, mspan *s)
{
	while (npages > 0) {
		heapArena *ha = arena_of(addr);
		size_t i = (addr >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
		size_t n = PAGES_PER_ARENA - i < npages ? PAGES_PER_ARENA - i : npages;
		/* Plain stores (vectorized): only a racy free reads these
		 * entries while they change. */
		mspan **e = &ha->spans[i];
		for (size_t j = 0; j < n; j++)
			e[j] = s;
		addr += n * PAGE_SIZE;
		npages -= n;
	}
}

static heapArena *new_arenas(size_t count)
{
	/* Debug build: a guard page below the arena; its uncommitted rest
	 * guards above. */
	char *base = SA_DEBUG_BUILD ? os_reserve_guarded(count * ARENA_SIZE, ARENA_SIZE, PAGE_SIZE)
				    : os_reserve(count * ARENA_SIZE, ARENA_SIZE);
	if (!base) {
		if (count == 1) /* (more: one huge block's; its NULL is ordinary) */
			os_say_refused("a heap arena", ARENA_SIZE, errno);
		return NULL;
	}
	heapArena *first = NULL;
	for (size_t j = 0; j < count; j++) {
		heapArena *ha = arena_new((uintptr_t)base + j * ARENA_SIZE);
		if (!ha || !arena_register(ha))
			return NULL; /* the reservation leaks; we are out of memory anyway */
		if (!first)
			first = ha;
	}
	return first;
}

/* Pages for a run spanning whole arenas: fresh, contiguous arenas. */
/* The first of count address-adjacent arenas that are entirely free. */
static heapArena *free_arena_run(size_t count)
{
	heapArena *first = NULL;
	size_t run = 0;
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next) {
		if (ha->nfree != PAGES_PER_ARENA) {
			run = 0;
			continue;
		}
		if (run && ha->base != first->base + run * ARENA_SIZE)
			run = 0;
		if (!run)
			first = ha;
		if (++run == count)
			return first;
	}
	return NULL;
}

/*
 * Pages for a run spanning whole arenas: address-adjacent arenas that are
 * free again (a freed huge block's), else fresh ones.  (found by
 * fuzz_large: tests/regressions/large-d07e4bc786c8)
 */
static uintptr_t alloc_multi_arena(size_t npages, bool *needzero)
{
	/* Refuse at once what RAM and swap could never back, as glibc's mmap
	 * does (a 2^40-byte request would otherwise set up 16384 arenas). */
	if ((uint64_t)npages * PAGE_SIZE > os_memory_limit())
		return 0;
	size_t count = (npages + PAGES_PER_ARENA - 1) / PAGES_PER_ARENA;
	heapArena *ha = free_arena_run(count);
	if (!ha)
		ha = new_arenas(count);
	if (!ha)
		return 0;
	uintptr_t base = ha->base;
	bool dirty = false;
	for (size_t left = npages; left > 0; ha = ha->next) {
		size_t n = left < PAGES_PER_ARENA ? left : PAGES_PER_ARENA;
		if (!commit_to(ha, n))
			return 0;
		dirty |= take_run(ha, 0, n);
		left -= n;
	}
	*needzero = dirty;
	return base;
}

mspan *heap_alloc_span_struct(void)
{
	DCHECK(lock_held(&mheap_.lock));
	return fixalloc_alloc(&mheap_.spanalloc);
}

static void heap_tick(void);

mspan *heap_alloc_span(size_t npages, size_t alignPages, unsigned spanclass)
{
	if (npages == 0 || npages > ((uintptr_t)1 << (HEAP_ADDR_BITS - PAGE_SHIFT - 1)) ||
	    alignPages > PAGES_PER_ARENA) {
		errno = ENOMEM;
		return NULL;
	}
	lock(&mheap_.lock);
	mspan *s = heap_alloc_span_struct();
	if (!s)
		goto oom;
	if (spanclass != 0)
		span_init_small(s, spanclass);
	if (spanclass != 0 && !s->allocBits)
		goto oom;
	if (!debug_span_alloc(s)) /* out of memory: NULL + ENOMEM, as any */
		goto oom;

	uintptr_t addr = 0;
	bool needzero = true;
	if (npages > PAGES_PER_ARENA) {
		addr = alloc_multi_arena(npages, &needzero);
	} else {
		heapArena *ha;
		long i = -1;
		for (ha = mheap_.arenas; ha; ha = ha->next)
			if (ha->nfree >= npages && (i = find_run(ha, npages, alignPages)) >= 0)
				break;
		if (!ha) {
			ha = new_arenas(1);
			if (ha)
				i = find_run(ha, npages, alignPages);
		}
		if (ha && i >= 0 && commit_to(ha, (size_t)i + npages)) {
			needzero = take_run(ha, (size_t)i, npages);
			addr = ha->base + (uintptr_t)i * PAGE_SIZE;
		}
	}
	if (!addr)
		goto oom;

	s->startAddr = addr;
	s->npages = npages;
	s->needzero = needzero;
	if (spanclass == 0) {
		s->elemsize = npages * PAGE_SIZE;
		s->nelems = 1;
		s->divMagic = 0;
	}
	span_set_state(s, mSpanInUse);
	s->owner = NO_OWNER;
	set_page_map(addr, npages, s);
	debug_span_made(s);
	heap_tick();
	unlock(&mheap_.lock);
	return s;
oom:
	if (s) {
#ifdef SA_DEBUG /* (stays: s->dbg is the debug build's; it may not be made yet here) */
		if (s->dbg)
			debug_span_gone(s);
#endif
		if (s->allocBits && s->allocBits != s->inlineBits)
			fixalloc_free(&mheap_.bitsalloc, s->allocBits);
		if (s->tinyMasks)
			fixalloc_free(&mheap_.tinyalloc, s->tinyMasks);
		fixalloc_free(&mheap_.spanalloc, s);
	}
	unlock(&mheap_.lock);
	errno = ENOMEM;
	return NULL;
}

void heap_free_span(mspan *s)
{
	lock(&mheap_.lock);
	debug_span_gone(s);
#if SA_FAULT == 4
	set_page_map(s->startAddr, s->npages - (s->npages > 1), NULL); /* planted bug */
#else
	set_page_map(s->startAddr, s->npages, NULL);
#endif
	uintptr_t addr = s->startAddr;
	for (size_t left = s->npages; left > 0;) {
		heapArena *ha = arena_of(addr);
		size_t i = (addr >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
		size_t n = PAGES_PER_ARENA - i < left ? PAGES_PER_ARENA - i : left;
		return_run(ha, i, n);
		addr += n * PAGE_SIZE;
		left -= n;
	}
	if (s->allocBits && s->allocBits != s->inlineBits)
		fixalloc_free(&mheap_.bitsalloc, s->allocBits);
	if (s->tinyMasks)
		fixalloc_free(&mheap_.tinyalloc, s->tinyMasks);
	span_set_state(s, mSpanDead);
	fixalloc_free(&mheap_.spanalloc, s);
	heap_tick();
	unlock(&mheap_.lock);
}

bool heap_grow_in_place(mspan *s, size_t npages)
{
	bool ok = false;
	lock(&mheap_.lock);
	uintptr_t end = s->startAddr + s->npages * PAGE_SIZE;
	heapArena *ha = arena_of(s->startAddr);
	size_t i = (end >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
	size_t extra = npages - s->npages;
	if (ha && arena_of(end - 1) == ha && (end & (ARENA_SIZE - 1)) != 0 && i + extra <= PAGES_PER_ARENA &&
	    bits_find(ha->pallocBits, i, i + extra, true) == i + extra && commit_to(ha, i + extra)) {
		take_run(ha, i, extra);
		set_page_map(end, extra, s);
		s->npages = npages;
		s->elemsize = npages * PAGE_SIZE;
		ok = true;
	}
	unlock(&mheap_.lock);
	return ok;
}

/* ---- scavenger (heap lock held) ----------------------------------------- */

/* Release every free page of ha not freed since the last tick (all if force). */
static void scavenge_arena(heapArena *ha, bool force)
{
	DCHECK(lock_held(&mheap_.lock));
	size_t i = 0, n = ha->commitPages;
	while (i < n) {
		/* Next candidate page: free, still resident, idle long enough. */
		size_t start = i;
		for (; start < n; start++) {
			uint64_t busy = ha->pallocBits[start / 64] | ha->scavBits[start / 64];
			if (!force)
				busy |= ha->recentBits[start / 64];
			if (busy == ~0ull && start % 64 == 0) {
				start += 63;
				continue;
			}
			if (!((busy >> (start % 64)) & 1))
				break;
		}
		if (start >= n)
			break;
		size_t end = start + 1;
		while (end < n) {
			uint64_t busy = ha->pallocBits[end / 64] | ha->scavBits[end / 64];
			if (!force)
				busy |= ha->recentBits[end / 64];
			if ((busy >> (end % 64)) & 1)
				break;
			end++;
		}
		os_release((void *)(ha->base + start * PAGE_SIZE), (end - start) * PAGE_SIZE);
		bits_set(ha->scavBits, start, end - start, true);
		bits_set(ha->recentBits, start, end - start, false);
		mheap_.pagesScav += end - start;
		mheap_.releasedTotal += end - start;
		i = end;
	}
	if (!force)
		memset(ha->recentBits, 0, sizeof ha->recentBits);
}

/*
 * Run the scavenger when a period has passed: pages free since before the
 * previous tick go back to the OS, pages freed since become candidates.
 */
static void heap_tick(void)
{
	int ms = opts.scavenge_ms;
	/* Look at the clock every 32 heap operations only. */
	if (ms < 0 || (ms > 0 && (++mheap_.ticks & 31) != 0))
		return;
	uint64_t now = os_nanotime();
	if (ms > 0 && now - mheap_.lastScavenge < (uint64_t)ms * 1000000u)
		return;
	mheap_.lastScavenge = now;
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next)
		scavenge_arena(ha, ms == 0);
}

void heap_scavenge(bool force)
{
	lock(&mheap_.lock);
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next)
		scavenge_arena(ha, force);
	mheap_.lastScavenge = os_nanotime();
	unlock(&mheap_.lock);
}
