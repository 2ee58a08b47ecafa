/*
 * mcentral: the spans of one span class that no mcache holds, under one
 * lock per class.  cacheSpan hands a span with free objects to an mcache,
 * uncacheSpan takes one back; both sweep the span (and, in the debug
 * build, validate it).
 *
 * Remote frees and the needsweep flag.  A thread that frees into a span
 * it does not own sets the object's remoteBit and then reads needsweep
 * (both sequentially consistent).  A sweeper first stores needsweep = 0
 * and then collects the remoteBits.  So every remote free is either
 * collected by a sweep, or its freer sees needsweep == 0; that freer (the
 * one that turns it to 1) takes the central lock once and moves the span
 * from full to partial.  A full span that receives frees therefore comes
 * back to allocation, and the lock is taken once per span per sweep, not
 * once per object.  While an mcache owns a span (current, parked or
 * ready), needsweep stays 1: its owner sweeps it when it needs it.
 * The freer does all this under its pin on the span (malloc.c,
 * remote_free), which central_uncache_span waits on before it gives an
 * empty span back to the heap.
 */
#include "internal.h"

mcentral mcentral_[NUM_SPAN_CLASSES];

void central_init(void)
{
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++) {
		mutex_set_rank(&mcentral_[i].lock, LOCK_CENTRAL);
		mutex_init(&mcentral_[i].lock);
		mcentral_[i].spanclass = (uint8_t)i;
	}
}

/* Class lock held (the blocks' reports wait until it is released:
 * unlock_central). */
static void check_span(mspan *s, bool swept, const char *where)
{
	if (!SA_DEBUG_BUILD)
		return;
	DCHECK(lock_held(&mcentral_[s->spanclass].lock));
	if (span_validate(s, swept, where))
		sa_fatal("span invariants broken at an mcentral transfer");
	debug_check_span(s, where);
}

static void unlock_central(mcentral *c)
{
	unlock(&c->lock);
	debug_report_deferred();
}

/* A span of this class with a free object, now owned by owner. */
mspan *central_cache_span(mcentral *c, mcache *owner)
{
	lock(&c->lock);
	mspan *s;
	while ((s = c->partial.first) != NULL) {
		spanlist_remove(&c->partial, s);
		__atomic_store_n(&s->needsweep, 0, __ATOMIC_SEQ_CST);
		unsigned nfree = span_sweep(s);
		check_span(s, true, "cacheSpan");
		if (nfree > 0) {
			__atomic_store_n(&s->needsweep, 1, __ATOMIC_SEQ_CST);
			s->list = LIST_NONE;
			STORE_RELAXED(&s->owner, owner);
			unlock_central(c);
			return s;
		}
		s->list = LIST_FULL;
		spanlist_push_back(&c->full, s);
	}
	unlock_central(c);

	/* Nothing partial: a fresh span from the heap. */
	unsigned cls = c->spanclass == TINY_SPAN_CLASS ? TINY_SIZE_CLASS : c->spanclass;
	s = heap_alloc_span(class_to_allocnpages[cls], 1, c->spanclass);
	if (!s)
		return NULL;
	s->needsweep = 1;
	s->owner = owner;
	lock(&c->lock);
	check_span(s, true, "cacheSpan (fresh)");
	c->nspans++;
	unlock_central(c);
	return s;
}

/* Take back a span from its owner: partial, full, or the heap if empty. */
void central_uncache_span(mcentral *c, mspan *s, bool torn)
{
	lock(&c->lock);
	STORE_RELAXED(&s->owner, NO_OWNER);
	__atomic_store_n(&s->needsweep, 0, __ATOMIC_SEQ_CST);
	if (!torn)
		check_span(s, false, "uncacheSpan (before sweep)");
	unsigned nfree = span_sweep(s);
	check_span(s, true, "uncacheSpan");
	if (nfree == s->nelems) {
		c->nspans--;
		s->list = LIST_NONE;
		unlock_central(c);
		cache_wait_remote_frees(s);
		heap_free_span(s);
		return;
	}
	if (nfree > 0) {
		s->list = LIST_PARTIAL;
		spanlist_push_back(&c->partial, s);
	} else {
		s->list = LIST_FULL;
		spanlist_push_back(&c->full, s);
	}
	unlock_central(c);
}

/* Called by the remote freer that turned s->needsweep from 0 to 1, under
 * its pin (malloc.c, remote_free). */
void central_remote_freed(mspan *s)
{
	mcentral *c = &mcentral_[s->spanclass];
	lock(&c->lock);
	if (s->owner == NO_OWNER && s->list == LIST_FULL) {
		spanlist_remove(&c->full, s);
		s->list = LIST_PARTIAL;
		spanlist_push_back(&c->partial, s);
	}
	unlock(&c->lock);
}
