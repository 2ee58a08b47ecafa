/*
 * mcache: the per-thread cache.  The fast paths (malloc.c) use it without
 * a lock; this file creates it, refills it from the mcentrals, and gives
 * everything back when the thread exits or, in a forked child, for the
 * threads that did not survive the fork.
 */
#include <errno.h>

#include "internal.h"

/* Never allocates: nelems == 0, allocCache == 0. */
mspan emptyspan;

mcache nocache = {.alloc = {[0 ... NUM_SPAN_CLASSES - 1] = &emptyspan}};

__thread mcache *tls_mcache __attribute__((tls_model("initial-exec"))) = &nocache;

/* allcaches: every mcache ever made, live or dead, for stats and fork. */
static mutex caches_lock = MUTEX_INIT(LOCK_CACHES);
static __thread bool caches_locked; /* this thread holds caches_lock */
static mcache *allcaches;
static mcache *freecaches; /* dead caches ready for reuse (counters folded) */

/* Counters of retired caches (caches_lock) and of cacheless frees (atomic). */
static cache_counters dead;
cache_counters orphan;
static mspan *orphan_pins[ORPHAN_PINS]; /* atomic: cache_pin_orphan */
/* Caches made and retired (caches_lock): with the dbgBusy counters, tells
 * the debug build's heap checks whether anything moved (cache_debug_ops). */
static uint64_t cache_gen;
bool counters_exact = true;

static void lock_caches(void)
{
	lock(&caches_lock);
	caches_locked = true;
}

static void unlock_caches(void)
{
	caches_locked = false;
	unlock(&caches_lock);
}

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static bool exit_key_ok;

static void thread_exit(void *arg);

static void make_exit_key(void) { exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0; }

static void cache_init(mcache *c)
{
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++)
		c->alloc[i] = &emptyspan;
}

/*
 * The calling thread's first allocation: make its mcache.  Reuses the
 * record of a thread that exited.  Returns NULL only when the OS refuses
 * memory.
 */
mcache *cache_get_slow(void)
{
	sa_ensure_init();
	mcache *c = cache_current();
	if (c)
		return c;
	lock_caches();
	c = freecaches;
	if (c) {
		freecaches = c->next;
	} else {
		lock(&mheap_.lock);
		c = fixalloc_alloc(&mheap_.cachealloc);
		unlock(&mheap_.lock);
	}
	if (c) {
		*c = (mcache){0};
		cache_init(c);
		c->next = allcaches;
		if (allcaches)
			allcaches->prev = c;
		allcaches = c;
		cache_gen++;
	}
	unlock_caches();
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	tls_mcache = c;
	/* Set after tls_mcache: pthread_setspecific may itself call calloc. */
	pthread_once(&exit_key_once, make_exit_key);
	if (exit_key_ok)
		pthread_setspecific(exit_key, c);
	return c;
}

/* Set when the thread's cache is retired at its exit (thread_exit). */
static __thread bool cache_retired;

/*
 * The cache of a thread whose first call is a free (malloc.c,
 * remote_free), without touching errno; NULL when the OS refuses memory,
 * and once the thread's cache has been retired at its exit: a free after
 * the last TSD destructor (glibc's __libc_thread_freeres) would make a
 * cache that no thread_exit ever retires.  (A malloc there still makes
 * one, as it always has.)
 */
mcache *cache_get_for_free(void)
{
	if (cache_retired)
		return NULL;
	int saved = errno;
	mcache *c = cache_get_slow();
	errno = saved;
	return c;
}

/*
 * Objects a span must have free to be worth allocating from: an eighth,
 * but at least REUSE_MIN (or half the span, for spans of fewer objects).
 * Every switch of span costs a refill (a few hundred instructions); with
 * only an eighth, a span of 8 or 16 objects (Go's spans of 512 B and up)
 * was refilled every one or two mallocs under random frees (mimalloc-bench
 * larson: 42 000 refills for about 100 000 mallocs).
 */
#define REUSE_MIN 8
static unsigned reuse_threshold(const mspan *s)
{
	unsigned n = s->nelems, t = n / 8u;
	if (t < REUSE_MIN)
		t = n / 2u < REUSE_MIN ? (n + 1) / 2u : REUSE_MIN;
	return t;
}

/*
 * A span's limit (internal.h) grows by a 4 KiB page of objects at a time,
 * but by at least reuse_threshold, so that growing costs no more refills
 * than a span that many objects free would: allocation walks a span in
 * address order from its sweep to its end, so a class with a few live
 * objects at a time kept its whole span resident (espresso: every class's
 * 8-32 KiB span resident for 10-100 KiB of live objects in all).
 */
#define LIMIT_STEP_BYTES 4096
static unsigned grow_step(const mspan *s)
{
	unsigned t = reuse_threshold(s), per = (unsigned)((LIMIT_STEP_BYTES + s->elemsize - 1) / s->elemsize);
	return per > t ? per : t;
}

static void grow(mspan *s) { span_grow(s, grow_step(s)); }

/* The next free object of a span to allocate from, growing its limit
 * when there is none below it (a fresh span, or one its mcentral handed
 * over with its free objects past its limit). */
static unsigned next_free(mspan *s)
{
	unsigned idx = span_next_free(s);
	if (idx == s->nelems && s->limit < s->nelems) {
		grow(s);
		idx = span_next_free(s);
	}
	return idx;
}

/* Take s off its owner's parked or ready list. */
static void unpark(mcache *c, mspan *s)
{
	spanlist_remove(s->list == LIST_PARKED ? &c->parked[s->spanclass] : &c->ready[s->spanclass], s);
	s->list = LIST_NONE;
	s->reuseIn = NO_REUSE;
}

/* Local frees that leave s worth reusing, nfree objects free now. */
static uint16_t reuse_in(const mspan *s, unsigned nfree)
{
	unsigned t = reuse_threshold(s);
	return (uint16_t)(nfree < t ? t - nfree : 1);
}

/* Keep the exhausted span s (nfree objects free at its sweep); hand the
 * oldest parked span back if too many. */
static void park(mcache *c, mspan *s, unsigned nfree)
{
	unsigned spc = s->spanclass;
	s->list = LIST_PARKED;
	s->reuseIn = reuse_in(s, nfree);
	spanlist_push_back(&c->parked[spc], s);
	if (c->parked[spc].n * s->npages * PAGE_SIZE > PARK_MAX_BYTES && c->parked[spc].n > 1) {
		mspan *old = c->parked[spc].first;
		unpark(c, old);
		central_uncache_span(&mcentral_[spc], old, false);
	}
}

/*
 * An empty ready span: its pages go back to the heap, where any class can
 * have them, rather than wait in this cache; but the cache keeps one of a
 * single page, so that a thread allocating and freeing in waves does not
 * take every span of the next wave from the heap.  A span of more pages
 * (16-72 KiB, classes of 288 B and up) goes back too: kept, one per class,
 * they were espresso's peak RSS by 250 KiB (3.66 -> 3.41 MiB), and larson's
 * speed did not need them.
 */
static void ready_span_empty(mcache *c, mspan *s)
{
	unsigned spc = s->spanclass;
	s->reuseIn = NO_REUSE;
	if (c->ready[spc].n > 1 || s->npages > 1) {
		unpark(c, s);
		central_uncache_span(&mcentral_[spc], s, false);
	}
}

/*
 * The owner's frees counted s's reuseIn down to 0 (malloc.c's free path):
 * a parked span is an eighth free, and moves to ready, to count down the
 * frees that leave it empty; a ready span is empty (its live objects were
 * at most nelems - reuse_threshold when it moved, each freed once since);
 * any other span starts over.
 */
void cache_span_reusable(mcache *c, mspan *s)
{
	unsigned spc = s->spanclass;
	if (s->list == LIST_PARKED) {
		spanlist_remove(&c->parked[spc], s);
		s->list = LIST_READY;
		spanlist_push_back(&c->ready[spc], s);
		unsigned live = s->nelems - reuse_threshold(s);
		if (live == 0)
			ready_span_empty(c, s);
		else
			s->reuseIn = (uint16_t)live;
	} else if (s->list == LIST_READY) {
		ready_span_empty(c, s);
	} else {
		s->reuseIn = NO_REUSE;
	}
}

/*
 * A free object of class spc from c's span, which nextFreeFast found
 * empty: the rest of the span's bitmap first, then the objects freed since
 * the last sweep (the owner sweeps its own span, no lock); then a parked
 * span that local frees made reusable, or the oldest parked span if other
 * threads freed enough of it; and only then another span from the
 * mcentral.
 */
static unsigned refill(mcache *c, unsigned spc, mspan **sp)
{
	mspan *s = c->alloc[spc];
	if (s != &emptyspan) {
		unsigned idx = span_next_free(s);
		if (idx < s->nelems)
			return *sp = s, idx;
		unsigned nfree = span_sweep(s);
		if (s->limit < s->nelems) {
			/* Go on below the limit if enough was freed there, else
			 * grow it (no object is live past it). */
			if (nfree - (s->nelems - s->limit) < (grow_step(s) + 1) / 2)
				grow(s);
			return *sp = s, span_next_free(s);
		}
		if (nfree > 0 && nfree >= reuse_threshold(s))
			return *sp = s, span_next_free(s);
		c->alloc[spc] = &emptyspan;
		park(c, s, nfree);
	}
	while ((s = c->ready[spc].first) != NULL) {
		unpark(c, s);
		if (span_sweep(s) > 0) {
			c->alloc[spc] = s;
			return *sp = s, next_free(s);
		}
		park(c, s, 0); /* (cannot happen: it was an eighth free) */
	}
	/*
	 * Other threads' frees into parked spans show only when they are
	 * swept: sweep the oldest one (no lock, it is ours) and take it when
	 * they freed enough, else move it to the back.  A producer whose
	 * blocks a consumer frees so gets them back without going through
	 * the mcentral.
	 */
	if ((s = c->parked[spc].first) != NULL) {
		spanlist_remove(&c->parked[spc], s);
		unsigned nfree = span_sweep(s);
		if (nfree >= reuse_threshold(s)) {
			s->list = LIST_NONE;
			s->reuseIn = NO_REUSE;
			c->alloc[spc] = s;
			return *sp = s, next_free(s);
		}
		s->reuseIn = reuse_in(s, nfree); /* the sweep found remote frees */
		spanlist_push_back(&c->parked[spc], s);
	}
	s = central_cache_span(&mcentral_[spc], c);
	if (!s)
		return *sp = NULL, 0;
	c->alloc[spc] = s;
	return *sp = s, next_free(s);
}

void *cache_refill_alloc(mcache *c, unsigned spc)
{
	mspan *s;
	unsigned idx = refill(c, spc, &s);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	CHECK(idx < s->nelems);
	uint64_t *w = &s->gcmarkBits[idx / 64];
	CHECK(!(*w & (1ull << (idx % 64))));
	STORE_RELAXED(w, *w | (1ull << (idx % 64)));
	uintptr_t obj = s->startAddr + idx * s->elemsize;
	/* As take_free_fast does (in a span that frees made reusable, the
	 * next object is likely cold), if the rest of the word has one. */
	if (s->allocCache)
		prefetch_next_free(obj, s->allocCache, s->elemsize);
	return (void *)obj;
}

/* Give every span c owns back to its mcentral, and its large spans to the heap. */
void cache_flush(mcache *c, bool torn)
{
	debug_thread_flush(c);
	tiny_retire(c);
	large_cache_flush(c);
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++) {
		mspan *s = c->alloc[i];
		if (s != &emptyspan) {
			c->alloc[i] = &emptyspan;
			central_uncache_span(&mcentral_[i], s, torn);
		}
		while ((s = c->parked[i].first) || (s = c->ready[i].first)) {
			unpark(c, s);
			central_uncache_span(&mcentral_[i], s, torn);
		}
	}
}

static void add_sums(cache_counters *t, const cache_counters *x)
{
	for (unsigned i = 0; i < NUM_SIZE_CLASSES; i++) {
		t->nmalloc[i] += LOAD_RELAXED(&x->nmalloc[i]);
		t->nfree[i] += LOAD_RELAXED(&x->nfree[i]);
	}
	t->largeAlloc += LOAD_RELAXED(&x->largeAlloc);
	t->largeFree += LOAD_RELAXED(&x->largeFree);
	t->tinyAllocs += LOAD_RELAXED(&x->tinyAllocs);
	t->tinyFrees += LOAD_RELAXED(&x->tinyFrees);
	t->tinyBlocks += LOAD_RELAXED(&x->tinyBlocks);
	t->tinyBlocksFree += LOAD_RELAXED(&x->tinyBlocksFree);
}

/* Retire c: fold its counters and make it reusable, after flushing it
 * when flush is set (a thread exit; a forked child reclaims the lost
 * threads' spans through the page map instead).  caches_lock held. */
static void retire_locked(mcache *c, bool flush)
{
	DCHECK(lock_held(&caches_lock));
	if (flush)
		cache_flush(c, false);
	add_sums(&dead, &c->st);
	if (c->prev)
		c->prev->next = c->next;
	else
		allcaches = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = freecaches;
	freecaches = c;
	cache_gen++;
}

static void thread_exit(void *arg)
{
	mcache *c = arg;
	tls_mcache = &nocache;
	cache_retired = true;
	debug_hold_reports(true); /* the flush checks blocks under caches_lock */
	lock_caches();
	retire_locked(c, true);
	unlock_caches();
	debug_hold_reports(false);
	debug_report_deferred();
	/* A later destructor that allocates gets a new cache (and this
	 * destructor again, up to PTHREAD_DESTRUCTOR_ITERATIONS times). */
}

void cache_sum_counters(cache_counters *t)
{
	*t = (cache_counters){0};
	lock_caches();
	for (mcache *c = allcaches; c; c = c->next) {
		add_sums(t, &c->st);
		t->ncaches++;
	}
	add_sums(t, &dead);
	unlock_caches();
	add_sums(t, &orphan);
}

/*
 * Wait until no thread pins s for a remote free (mcache.remoteFreeing,
 * internal.h), before s goes back to the heap: a freer that published its
 * free may still read the span.  Called with no lock held but, during a
 * thread exit or a fork, caches_lock.  A pin lasts a few instructions,
 * or as long as the freer waits for s's class lock, which the caller
 * does not hold.
 */
static void wait_unpinned(mspan *const *pin, const mspan *s)
{
	for (unsigned n = 0; __atomic_load_n(pin, __ATOMIC_ACQUIRE) == s; n++)
		if (n >= 64)
			os_sleep_us(1);
}

void cache_wait_remote_frees(const mspan *s)
{
	DCHECK(!lock_held(&mcentral_[s->spanclass].lock)); /* a pinned freer may wait for it */
	bool mine = caches_locked;
	if (!mine)
		lock_caches();
	for (mcache *c = allcaches; c; c = c->next)
		wait_unpinned(&c->remoteFreeing, s);
	if (!mine)
		unlock_caches();
	for (unsigned i = 0; i < ORPHAN_PINS; i++)
		wait_unpinned(&orphan_pins[i], s);
}

/* A free slot of orphan_pins, claimed for s (searched from a slot of the
 * thread's own, so that threads seldom meet). */
mspan **cache_pin_orphan(mspan *s)
{
	static __thread uint8_t home;
	for (unsigned i = home;; i = (i + 1) % ORPHAN_PINS) {
		mspan *expect = NULL;
		if (__atomic_compare_exchange_n(&orphan_pins[i], &expect, s, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			home = (uint8_t)i;
			return &orphan_pins[i];
		}
	}
}

/* Whether some thread is inside a debug-layer operation (debug.c). */
bool cache_any_busy(void)
{
	bool busy = false;
#ifdef SA_DEBUG /* (stays: dbgBusy is a field of the debug build's mcache) */
	lock_caches();
	for (mcache *c = allcaches; c && !busy; c = c->next)
		busy = __atomic_load_n(&c->dbgBusy, __ATOMIC_SEQ_CST) & 1;
	unlock_caches();
#endif
	return busy;
}

/*
 * A number that changes whenever a debug-layer operation begins or ends
 * in any thread with a cache (or a cache is made or retired); *busy: a
 * thread other than self's is inside one now.  Two equal readings with
 * nobody else busy mean no other operation ran in between.
 */
uint64_t cache_debug_ops(const mcache *self, bool *busy)
{
	uint64_t sum = 0;
	*busy = false;
#ifdef SA_DEBUG /* (stays: dbgBusy is a field of the debug build's mcache) */
	lock_caches();
	for (mcache *c = allcaches; c; c = c->next) {
		uint32_t n = __atomic_load_n(&c->dbgBusy, __ATOMIC_SEQ_CST);
		*busy |= c != self && (n & 1);
		sum += n;
	}
	sum += cache_gen << 32;
	unlock_caches();
#else
	(void)self;
#endif
	return sum;
}

/*
 * fork: hold every lock across it so the child inherits consistent
 * structures; in the child only the forking thread lives, so the other
 * threads' caches are flushed back to the mcentrals.
 */
void cache_fork_prepare(void)
{
	lock_caches();
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++)
		lock(&mcentral_[i].lock);
	lock(&mheap_.lock);
}

void cache_fork_parent(void)
{
	unlock(&mheap_.lock);
	for (unsigned i = NUM_SPAN_CLASSES; i-- > 0;)
		unlock(&mcentral_[i].lock);
	unlock_caches();
}

/* Whether s is in c's largeCache. */
static bool in_large_cache(const mcache *c, const mspan *s)
{
	for (uint32_t i = 0; c && i < c->nlargeCache; i++)
		if (c->largeCache[i] == s)
			return true;
	return false;
}

/*
 * In a forked child, give back every span a lost thread owned.  Its
 * cache's lists and arrays may be torn (the thread stopped wherever it
 * was), so the spans are found through the page map, by owner, and the
 * sweep in central_uncache_span rebuilds their state from the bitmaps.
 * Large spans waiting in a lost cache's largeCache go back to the heap.
 */
static void reclaim_lost_spans(mcache *self)
{
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next) {
		for (size_t pg = 0; pg < PAGES_PER_ARENA; pg++) {
			mspan *s = ha->spans[pg];
			if (!s || s->startAddr != ha->base + pg * PAGE_SIZE)
				continue; /* free, or not the span's first page */
			if (s->spanclass == 0) {
				if (span_state(s) == mSpanCached && !in_large_cache(self, s))
					heap_free_span(s);
			} else if (s->owner != NO_OWNER && s->owner != self && s->owner != NULL) {
				s->list = LIST_NONE;
				s->reuseIn = NO_REUSE;
				central_uncache_span(&mcentral_[s->spanclass], s, true);
			}
		}
	}
}

void cache_fork_child(void)
{
	debug_hold_reports(true); /* caches_lock is held until the end */
	mutex_init(&mheap_.lock);
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++)
		mutex_init(&mcentral_[i].lock);
	mcache *self = cache_current();
	caches_locked = true; /* held since cache_fork_prepare */
	if (allcaches != self || (self && self->next)) {
		/* A lost thread's pin would hold up every release for ever
		 * (what its free was doing is lost with it). */
		for (mcache *c = allcaches; c; c = c->next)
			if (c != self)
				c->remoteFreeing = NULL;
		/* Lost threads may have been between a bitmap and a counter
		 * update at the fork: counters are only near from now on. */
		counters_exact = false;
		reclaim_lost_spans(self);
		for (mcache *c = allcaches, *next; c; c = next) {
			next = c->next;
			if (c == self)
				continue;
			retire_locked(c, false);
			/* Nothing of it is used again: a fresh record when reused. */
		}
	}
	caches_locked = false;
	mutex_init(&caches_lock);
	debug_hold_reports(false);
	debug_report_deferred();
}
