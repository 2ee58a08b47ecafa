/*
 * Large objects (over 32 KiB, or alignments no size class can give): a
 * span of whole pages each, class 0, straight from the mheap, freed
 * straight back to it.  The heap keeps freed pages resident for a
 * scavenger period, so a malloc/free loop of large blocks reuses warm
 * pages instead of faulting in new ones.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

void *large_alloc(mcache *c, size_t size, size_t align, bool zero)
{
	if (size > ((size_t)1 << (HEAP_ADDR_BITS - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	size_t npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
	size_t alignPages = align > PAGE_SIZE ? align >> PAGE_SHIFT : 1;
	mspan *s = heap_alloc_span(npages, alignPages, 0);
	if (!s)
		return NULL;
	if (zero && s->needzero)
		memset((void *)s->startAddr, 0, size);
	size_t bytes = s->npages * PAGE_SIZE;
	if (c) {
		c->nmalloc[0]++;
		c->largeAlloc += bytes;
	} else {
		/* Only before a thread has a cache, which malloc.c avoids. */
		CHECK(!"large_alloc without an mcache");
	}
	return (void *)s->startAddr;
}

void large_free(mcache *c, mspan *s, uintptr_t p)
{
	if (p != s->startAddr) {
		sa_report(BUG_INVALID_FREE, "free", p, s, "pointer into the middle of a large object");
		return;
	}
	/* Claim the span: of two frees of the same block only one may win. */
	uint8_t expect = mSpanInUse;
	if (!__atomic_compare_exchange_n(&s->state, &expect, mSpanFreeing, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED)) {
		sa_report(BUG_DOUBLE_FREE, "free", p, s, NULL);
		return;
	}
	size_t bytes = s->npages * PAGE_SIZE;
	if (c) {
		c->nfree[0]++;
		c->largeFree += bytes;
	} else {
		__atomic_fetch_add(&orphan.nfree[0], 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&orphan.largeFree, bytes, __ATOMIC_RELAXED);
	}
	heap_free_span(s);
}

/* Resize a large object without moving it, when its pages allow. */
bool large_resize_in_place(mcache *c, mspan *s, size_t size)
{
	size_t npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
	if (npages <= s->npages)
		return npages * 2 > s->npages; /* shrink in place unless it wastes half */
	size_t old = s->npages;
	if (!heap_grow_in_place(s, npages))
		return false;
	c->largeAlloc += (npages - old) * PAGE_SIZE;
	return true;
}
