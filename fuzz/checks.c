/*
 * The library's own view against the model: memstats after every
 * operation, sa_check_heap, and the mcentral lists.
 */
#define _GNU_SOURCE

#include "engine.h"

/* At the start of the input. */
uint64_t base_objects;
static uint64_t base_cls[NUM_SIZE_CLASSES], base_alloc;
struct sa_memstats prev;
/* SA_FUZZ_NO_CHECK_HEAP=1: leave sa_check_heap (the library's own audit)
 * out, to measure what the model alone finds. */
bool skip_check_heap;

void read_base(void)
{
	struct sa_memstats m;
	sa_read_memstats(&m);
	base_objects = m.Mallocs - m.Frees;
	for (unsigned c = 0; c < NUM_SIZE_CLASSES; c++)
		base_cls[c] = m.BySize[c].Mallocs - m.BySize[c].Frees;
	base_alloc = m.Alloc;
	prev = m;
}

NOCOV void check_stats(const char *when)
{
	struct sa_memstats m;
	sa_read_memstats(&m);
	if (m.HeapObjects != m.Mallocs - m.Frees)
		fuzz_fail("%s: HeapObjects %lu != Mallocs %lu - Frees %lu", when, (unsigned long)m.HeapObjects,
			  (unsigned long)m.Mallocs, (unsigned long)m.Frees);
	if (m.Mallocs - m.Frees != base_objects + nlive)
		fuzz_fail("%s: Mallocs - Frees = %lu, but the model has %u live blocks (+%lu at the start)", when,
			  (unsigned long)(m.Mallocs - m.Frees), nlive, (unsigned long)base_objects);
	for (unsigned c = 0; c < NUM_SIZE_CLASSES; c++) {
		uint64_t n = m.BySize[c].Mallocs - m.BySize[c].Frees;
		if (n != base_cls[c] + model_cls[c])
			fuzz_fail("%s: class %u: BySize Mallocs - Frees = %lu, model %lu (+%lu at the start)", when, c,
				  (unsigned long)n, (unsigned long)model_cls[c], (unsigned long)base_cls[c]);
		if (m.BySize[c].Size != class_to_size[c])
			fuzz_fail("%s: BySize[%u].Size = %u", when, c, m.BySize[c].Size);
	}
	uint64_t lo = 0, hi_nontiny = 0, ntiny = 0;
	for (unsigned i = 0; i < nlive; i++) {
		if (live[i].tiny) {
			lo += live[i].req;
			ntiny++;
		} else {
			lo += live[i].usable;
			hi_nontiny += live[i].usable;
		}
	}
	if (m.Alloc != m.HeapAlloc)
		fuzz_fail("%s: Alloc %lu != HeapAlloc %lu", when, (unsigned long)m.Alloc, (unsigned long)m.HeapAlloc);
	if (m.Alloc < lo)
		fuzz_fail("%s: Alloc %lu < %lu bytes of live blocks in the model", when, (unsigned long)m.Alloc,
			  (unsigned long)lo);
	uint64_t hi = base_alloc + hi_nontiny + TINY_SIZE * (ntiny + P->nthreads);
	if (!DEBUG_BUILD && m.Alloc > hi)
		fuzz_fail("%s: Alloc %lu > %lu, the most the model's live blocks can take", when,
			  (unsigned long)m.Alloc, (unsigned long)hi);
	if (m.Mallocs < prev.Mallocs || m.Frees < prev.Frees || m.TotalAlloc < prev.TotalAlloc)
		fuzz_fail(
			"%s: a cumulative counter went down (Mallocs %lu -> %lu, Frees %lu -> %lu, TotalAlloc %lu -> %lu)",
			when, (unsigned long)prev.Mallocs, (unsigned long)m.Mallocs, (unsigned long)prev.Frees,
			(unsigned long)m.Frees, (unsigned long)prev.TotalAlloc, (unsigned long)m.TotalAlloc);
	if (m.TotalAlloc < m.Alloc)
		fuzz_fail("%s: TotalAlloc %lu < Alloc %lu", when, (unsigned long)m.TotalAlloc, (unsigned long)m.Alloc);
	if (m.HeapIdle + m.HeapInuse != m.HeapSys || m.HeapReleased > m.HeapIdle || m.HeapInuse < m.Alloc)
		fuzz_fail("%s: heap bytes inconsistent: Sys %lu Idle %lu Inuse %lu Released %lu Alloc %lu", when,
			  (unsigned long)m.HeapSys, (unsigned long)m.HeapIdle, (unsigned long)m.HeapInuse,
			  (unsigned long)m.HeapReleased, (unsigned long)m.Alloc);
	if (m.MSpanInuse > m.MSpanSys || m.MCacheInuse > m.MCacheSys || m.Sys < m.HeapSys + m.MSpanSys + m.MCacheSys)
		fuzz_fail("%s: metadata bytes inconsistent", when);
	prev = m;
}

void check_heap(const char *when)
{
	size_t bad = sa_check_heap();
	if (bad)
		fuzz_fail("%s: sa_check_heap() found %zu problems (reported above)", when, bad);
}

/* Spans an mcache keeps besides its current one (parked and ready lists). */
static uint64_t cache_kept_spans(const mcache *c, unsigned spc)
{
	uint64_t n = c->parked[spc].n + c->ready[spc].n;
	for (int which = 0; which < 2; which++)
		for (const mspan *s = which ? c->ready[spc].first : c->parked[spc].first; s; s = s->next)
			if (s->owner != c || s->list != (which ? LIST_READY : LIST_PARKED) || s->spanclass != spc)
				fuzz_fail(
					"class %u: span %p kept by this thread's cache has owner %p, list %u, class %u",
					spc, (void *)s, (void *)s->owner, s->list, s->spanclass);
	return n;
}

/*
 * The mcentral lists, with no allocation in flight: a span on a list has
 * no owner and the list's class; a full span has every object live (a free
 * into it must have moved it to partial); a partial span has a free
 * object.  exact: only this thread has a cache, so every span of a class
 * is on a list or is this thread's current span.  empty: no block is live
 * and no cache holds a span, so every object on the lists must be free
 * (a free that was lost leaves its object live for ever).
 */
NOCOV void check_central(bool exact, bool empty)
{
	mcache *self = cache_current();
	for (unsigned spc = 1; spc < NUM_SPAN_CLASSES; spc++) {
		mcentral *c = &mcentral_[spc];
		lock(&c->lock);
		for (int which = LIST_PARTIAL; which <= LIST_FULL; which++) {
			spanlist *l = which == LIST_PARTIAL ? &c->partial : &c->full;
			uint64_t n = 0;
			for (mspan *s = l->first; s; s = s->next, n++) {
				if (n > l->n)
					fuzz_fail("central %u: list longer than its count %lu", spc,
						  (unsigned long)l->n);
				if (s->owner != NO_OWNER || s->spanclass != spc || s->list != which)
					fuzz_fail("central %u: span %p on list %d has owner %p, class %u, list %u", spc,
						  (void *)s, which, (void *)s->owner, s->spanclass, s->list);
				unsigned livecount = 0;
				for (size_t w = 0; w < span_bitmap_words(s); w++)
					livecount += (unsigned)__builtin_popcountll(s->gcmarkBits[w] &
										    ~s->remoteBits[w]);
				if (empty && livecount)
					fuzz_fail("central %u: span %p still has %u live objects, and no block is live "
						  "(a free was lost)",
						  spc, (void *)s, livecount);
				if (which == LIST_FULL && livecount != s->nelems)
					fuzz_fail("central %u: span %p is on the full list with %u of %u objects free "
						  "(freed objects no thread can allocate)",
						  spc, (void *)s, s->nelems - livecount, s->nelems);
				if (which == LIST_PARTIAL && livecount >= s->nelems)
					fuzz_fail("central %u: span %p is on the partial list with no free object", spc,
						  (void *)s);
			}
			if (n != l->n)
				fuzz_fail("central %u: list %d has %lu spans, count says %lu", spc, which,
					  (unsigned long)n, (unsigned long)l->n);
		}
		/* This thread's spans of the class: its current one, and those it
		 * keeps (parked / ready) when the library has such lists. */
		uint64_t held = self && self->alloc[spc] != &emptyspan;
		if (self)
			held += cache_kept_spans(self, spc);
		if (exact && !DEBUG_BUILD && c->nspans != c->partial.n + c->full.n + held)
			fuzz_fail("central %u: nspans %lu != partial %lu + full %lu + cached %lu", spc,
				  (unsigned long)c->nspans, (unsigned long)c->partial.n, (unsigned long)c->full.n,
				  (unsigned long)held);
		unlock(&c->lock);
	}
}
