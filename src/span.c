/*
 * mspan: the object bitmaps of a span, the next-free search and the sweep.
 * Nothing here locks or calls the OS: callers own the span (its mcache) or
 * hold its mcentral's lock, as internal.h describes.
 */
#include "internal.h"

/* Set up a fresh span of a small class: all objects free.  Heap lock held. */
void span_init_small(mspan *s, unsigned spc)
{
	DCHECK(lock_held(&mheap_.lock));
	unsigned cls = spc == TINY_SPAN_CLASS ? TINY_SIZE_CLASS : spc;
	s->spanclass = (uint8_t)spc;
	s->elemsize = class_to_size[cls];
	s->nelems = class_to_nelems[cls];
#if SA_FAULT == 2
	if (s->nelems % 64 != 0 && s->nelems > 1)
		s->nelems++; /* planted bug: one object too many */
#endif
	s->divMagic = spc == TINY_SPAN_CLASS ? 0 : class_to_divmagic[cls];
	size_t words = span_bitmap_words(s);
	uint64_t *bits = s->inlineBits;
	if (words > 1) {
		bits = fixalloc_alloc(&mheap_.bitsalloc);
		if (!bits)
			return; /* caller sees allocBits == NULL */
	}
	s->allocBits = bits;
	s->gcmarkBits = bits + words;
	s->remoteBits = bits + 2 * words;
	if (spc == TINY_SPAN_CLASS) {
		s->tinyMasks = fixalloc_alloc(&mheap_.tinyalloc);
		if (!s->tinyMasks) {
			if (bits != s->inlineBits)
				fixalloc_free(&mheap_.bitsalloc, bits);
			s->allocBits = NULL;
			return;
		}
	}
	s->freeindex = 0;
	s->allocCount = 0;
	/* Production: nothing may be handed out until the first refill
	 * grows the limit (cache.c); the debug build hands out as Go does. */
	s->limit = SA_DEBUG_BUILD ? s->nelems : 0;
	s->allocCache = span_free_word(s, 0);
	s->reuseIn = NO_REUSE;
}

/*
 * Let objs more objects (at most to nelems) be handed out, and point
 * allocCache at the free ones from freeindex on, which is the old limit
 * when the objects below it were used up.  The caller owns the span.
 */
void span_grow(mspan *s, unsigned objs)
{
	DCHECK(span_owned(s));
	unsigned old = s->limit, lim = old + objs;
	s->limit = (uint16_t)(lim < s->nelems ? lim : s->nelems);
	unsigned fi = s->freeindex < old ? s->freeindex : old;
	s->freeindex = (uint16_t)fi;
	s->allocCache = span_free_word(s, fi / 64) >> (fi % 64);
}

/*
 * Sweep: fold the remote frees into gcmarkBits and make the result the new
 * allocBits.  Returns the number of free objects.  The caller owns the span
 * (its mcache, or its mcentral's lock).
 */
unsigned span_sweep(mspan *s)
{
	DCHECK(span_owned(s));
	size_t words = span_bitmap_words(s);
	unsigned live = 0;
	for (size_t i = 0; i < words; i++) {
		uint64_t remote = LOAD_RELAXED(&s->remoteBits[i]);
		if (remote)
			remote = __atomic_exchange_n(&s->remoteBits[i], 0, __ATOMIC_SEQ_CST);
		uint64_t m = s->gcmarkBits[i] & ~remote;
		STORE_RELAXED(&s->gcmarkBits[i], m);
		s->allocBits[i] = m;
#if SA_FAULT == 1
		static unsigned sweeps;
		if (m && ++sweeps % 16 == 0)
			s->allocBits[i] = m & (m - 1); /* planted bug: a live object looks free */
#endif
		live += (unsigned)__builtin_popcountll(m);
	}
	if (s->freeindex != 0)
		s->needzero = 1; /* objects below freeindex may have been used */
	s->allocCount = (uint16_t)live;
	s->freeindex = 0;
	s->allocCache = span_free_word(s, 0);
	return s->nelems - live;
}

/*
 * Go's nextFreeIndex: the index of the next free object at or after
 * freeindex and below limit, consuming it, or nelems when there is none.
 * When allocCache is empty it is loaded again from allocBits at freeindex
 * (the objects from freeindex to the word's end; every object in
 * [freeindex, the highest freeindex since the sweep) is free, see
 * internal.h), and then word by word.
 */
unsigned span_next_free(mspan *s)
{
	unsigned fi = s->freeindex, n = s->limit;
	uint64_t cache = s->allocCache;
	while (!cache) {
		if (fi >= n) {
			s->freeindex = (uint16_t)n;
			s->allocCache = 0;
			return s->nelems;
		}
		cache = span_free_word(s, fi / 64) >> (fi % 64);
		if (!cache)
			fi = (fi | 63) + 1;
	}
	unsigned tz = (unsigned)__builtin_ctzll(cache);
	unsigned idx = fi + tz;
	if (idx >= n) {
		s->freeindex = (uint16_t)n;
		s->allocCache = 0;
		return s->nelems;
	}
	s->freeindex = (uint16_t)(idx + 1);
	s->allocCache = (cache >> tz) >> 1; /* 0 at the word's end, as in take_free_fast */
	return idx;
}

void spanlist_push_back(spanlist *l, mspan *s)
{
	s->next = NULL;
	s->prev = l->last;
	if (l->last)
		l->last->next = s;
	else
		l->first = s;
	l->last = s;
	l->n++;
}

void spanlist_remove(spanlist *l, mspan *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->last = s->prev;
	s->next = s->prev = NULL;
	l->n--;
}

static size_t problem(const mspan *s, const char *where, const char *what, uint64_t a, uint64_t b)
{
	char buf[256];
	strbuf sb = {buf, 0, sizeof buf};
	sb_fmt(&sb, "spanalloc: corrupt span %p [%p, +%lu pages) class %u at %s: %s (%llu vs %llu)\n", (const void *)s,
	       (void *)s->startAddr, (unsigned long)s->npages, (unsigned)s->spanclass, where, what,
	       (unsigned long long)a, (unsigned long long)b);
	os_write(2, sb.buf, sb.len);
	return 1;
}

/*
 * Check the invariants written next to struct mspan; report each broken
 * one and return how many.  swept: the span was just swept.  The caller
 * owns the span (as for span_sweep).
 */
size_t span_validate(const mspan *s, bool swept, const char *where)
{
	DCHECK(span_owned(s));
	size_t bad = 0;
	/* A large span may also sit in a thread's largeCache, or be on its
	 * way back to the heap (its freer waits for the heap lock).  Its
	 * owner moves it InUse -> Freeing -> Cached -> InUse without a lock,
	 * so the state is read once: three reads could see Freeing, then
	 * InUse twice, and report a span that was never wrong (bugs test
	 * clean_exit_threads_running: 5 runs in 100 before). */
	enum span_state st = span_state(s);
	if (st != mSpanInUse && !(s->spanclass == 0 && (st == mSpanCached || st == mSpanFreeing)))
		return problem(s, where, "state is not in-use", st, mSpanInUse);
	if (s->startAddr & (PAGE_SIZE - 1))
		bad += problem(s, where, "startAddr not page aligned", s->startAddr & (PAGE_SIZE - 1), 0);
	for (uintptr_t pg = 0; pg < s->npages; pg++) {
		uintptr_t a = s->startAddr + pg * PAGE_SIZE;
		heapArena *ha = arena_of(a);
		if (!ha || span_of(ha, a) != s) {
			bad += problem(s, where, "page map does not point at the span for page", pg, s->npages);
			break;
		}
	}
	if (s->spanclass == 0)
		return bad;
	if ((uintptr_t)s->nelems * s->elemsize > s->npages * PAGE_SIZE)
		bad += problem(s, where, "objects overflow the span", (uint64_t)s->nelems * s->elemsize,
			       s->npages * PAGE_SIZE);
	size_t words = span_bitmap_words(s);
	unsigned marked = 0;
	for (size_t i = 0; i < words; i++) {
		uint64_t valid = (i + 1) * 64 <= s->nelems ? ~0ull : (1ull << (s->nelems % 64)) - 1;
		uint64_t g = LOAD_RELAXED(&s->gcmarkBits[i]);
		uint64_t r = LOAD_RELAXED(&s->remoteBits[i]);
		if ((s->allocBits[i] | g | r) & ~valid)
			bad += problem(s, where, "bit set beyond nelems in word", i, s->nelems);
		uint64_t below = i * 64 >= s->limit         ? 0
				 : (i + 1) * 64 <= s->limit ? ~0ull
							    : (1ull << (s->limit % 64)) - 1;
		if (g & ~below)
			bad += problem(s, where, "object live at or past limit, word", i, s->limit);
		if (r & ~g)
			bad += problem(s, where, "remote free of an object not live, word", i, words);
		marked += (unsigned)__builtin_popcountll(g);
		/* (remote frees may land right after a sweep: r is not checked) */
		if (swept && s->allocBits[i] != g)
			bad += problem(s, where, "allocBits differ from gcmarkBits after sweep, word", i, words);
	}
	if (s->limit > s->nelems)
		bad += problem(s, where, "limit beyond nelems", s->limit, s->nelems);
	if (s->freeindex > s->nelems)
		bad += problem(s, where, "freeindex beyond nelems", s->freeindex, s->nelems);
	if (swept && s->allocCount != marked)
		bad += problem(s, where, "allocCount differs from the live bits", s->allocCount, marked);
	if (swept) {
		if (s->freeindex != 0 || s->allocCache != span_free_word(s, 0))
			bad += problem(s, where, "freeindex/allocCache not reset by sweep", s->freeindex, 0);
	} else if (s->freeindex < s->nelems) {
		/* allocCache offers only free objects (of freeindex's word,
		 * and of the next one after the owner's frees stepped
		 * freeindex back over a word's start). */
		unsigned fi = s->freeindex;
		uint64_t free = ~LOAD_RELAXED(&s->gcmarkBits[fi / 64]) >> (fi % 64);
		if (fi % 64 && fi / 64 + 1 < words)
			free |= ~LOAD_RELAXED(&s->gcmarkBits[fi / 64 + 1]) << (64 - fi % 64);
		/* and nothing at limit or past it: the fast path does not check */
		if (fi >= s->limit)
			free = 0;
		else if (s->limit - fi < 64)
			free &= (1ull << (s->limit - fi)) - 1;
		if ((s->allocCache & ~free) != 0)
			bad += problem(s, where, "allocCache offers a live object at index",
				       fi + (unsigned)__builtin_ctzll(s->allocCache & ~free), fi);
	}
	return bad;
}
