/*
 * Large objects (over 32 KiB, or alignments no size class can give): a
 * span of whole pages each, class 0, from the mheap.  The heap keeps freed
 * pages resident for a scavenger period, so a malloc/free loop of large
 * blocks reuses warm pages instead of faulting in new ones; and each
 * mcache keeps a few freed spans of up to 256 KiB (512 KiB in all) to hand
 * out again without the heap lock.  A cached span is in state
 * mSpanCached, so a second free of it is still caught.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* c: the thread's cache, or &nocache (malloc's fast path). */
void *large_alloc(mcache *c, size_t size, size_t align, bool zero)
{
	if (size > ((size_t)1 << (HEAP_ADDR_BITS - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	/* The debug build puts a PROT_NONE guard page after every large block. */
	size_t npages = ((size + PAGE_SIZE - 1) >> PAGE_SHIFT) + SA_DEBUG_BUILD;
	size_t alignPages = align > PAGE_SIZE ? align >> PAGE_SHIFT : 1;
	mspan *s = NULL;
	if (alignPages == 1 && npages <= LARGE_CACHE_PAGES) {
		for (uint32_t i = c->nlargeCache; i-- > 0;) {
			if (c->largeCache[i]->npages == npages) {
				s = c->largeCache[i];
				c->largeCache[i] = c->largeCache[--c->nlargeCache];
				c->largeCachePages -= (uint32_t)npages;
				span_set_state(s, mSpanInUse);
				break;
			}
		}
	}
	if (!s) {
		/* malloc's fast path passes nocache (its largeCache is empty):
		 * a thread whose first malloc is large gets its cache here. */
		if (UNLIKELY(c == &nocache) && !(c = cache_get_slow()))
			return NULL;
		s = heap_alloc_span(npages, alignPages, 0);
	}
	if (!s)
		return NULL;
	debug_large_alloc(s);
	if (zero && s->needzero)
		memset((void *)s->startAddr, 0, size);
	size_t bytes = s->npages * PAGE_SIZE;
	if (c) {
		COUNTER_ADD(&c->st.nmalloc[0], 1);
		COUNTER_ADD(&c->st.largeAlloc, bytes);
	} else {
		/* Only before a thread has a cache, which malloc.c avoids. */
		CHECK(!"large_alloc without an mcache");
	}
	return (void *)s->startAddr;
}

void large_free(mcache *c, mspan *s, uintptr_t p, bool count)
{
	if (p != s->startAddr) {
		sa_report(BUG_INVALID_FREE, "free", p, s, "pointer into the middle of a large object");
		return;
	}
	/* Claim the span: of two frees of the same block only one may win. */
	if (!span_cas_state(s, mSpanInUse, mSpanFreeing)) {
		sa_report(BUG_DOUBLE_FREE, "free", p, s, NULL);
		return;
	}
	size_t bytes = s->npages * PAGE_SIZE;
	if (count) { /* (else counted already: the debug build's quarantine) */
		CACHE_COUNTER_ADD(c, nfree[0], 1);
		CACHE_COUNTER_ADD(c, largeFree, bytes);
	}
	if (c && s->npages <= LARGE_CACHE_PAGES) {
		/* Keep it for this thread's next large malloc of this size. */
		if (c->largeCachePages + s->npages > LARGE_CACHE_TOTAL || c->nlargeCache == LARGE_CACHE_SLOTS) {
			mspan *old = c->largeCache[0];
			c->largeCache[0] = c->largeCache[--c->nlargeCache];
			c->largeCachePages -= (uint32_t)old->npages;
			heap_free_span(old);
		}
		if (c->largeCachePages + s->npages <= LARGE_CACHE_TOTAL) {
			s->needzero = 1;
			span_set_state(s, mSpanCached);
			c->largeCache[c->nlargeCache++] = s;
			c->largeCachePages += (uint32_t)s->npages;
			return;
		}
	}
	heap_free_span(s);
}

/* Give the cached large spans back to the heap. */
void large_cache_flush(mcache *c)
{
	while (c->nlargeCache > 0)
		heap_free_span(c->largeCache[--c->nlargeCache]);
	c->largeCachePages = 0;
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
	COUNTER_ADD(&c->st.largeAlloc, (npages - old) * PAGE_SIZE);
	return true;
}
