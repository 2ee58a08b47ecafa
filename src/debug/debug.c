/*
 * The debug build's checks: poisoning, canaries, quarantine, and the
 * debug API layer (dbg_alloc, dbg_free, ...).  Guard pages and the fault
 * handler are in guard.c, the guarded pool and the zero-size blocks (a
 * fault at the access) in guarded.c, stacks and the stack depot in stack.c.
 *
 * A small block sits REDZONE bytes into its slot (0 for aligned blocks and
 * large ones): the program's pointer is slot + offset.  What a slot holds
 * (unless a memory checker runs, which watches the bytes itself):
 *
 *   never used     FREE_POISON over the whole slot (offset 0, reqsize ==
 *                  elemsize)
 *   live           CANARY in [0, offset), the program's bytes in
 *                  [offset, offset + reqsize), CANARY after
 *   quarantined    as live, with FREE_POISON over the program's bytes
 *                  (their first FREE_FILL_MAX);
 *                  still live in gcmarkBits, its qbit set
 *   free           as quarantined, qbit clear, gcmarkBit clear
 *
 * so one check (slot_check) serves handing out, sweeping and the exit
 * check, and a free block's contents need no rewrite when it
 * leaves the quarantine.
 *
 * A large block (class 0, one per span) ends right at the guard page
 * after its span's pages, its end rounded up to 16 bytes: CANARY in the
 * slack before it (at least LARGE_REDZONE bytes, its offset) and in the
 * few bytes after it.  Aligned blocks start at the span's start instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../internal.h"
#include "../track.h"
#include "guarded.h"

static bool under_tool; /* valgrind or ASan: no patterns, the tool checks */

/* ---- side tables ------------------------------------------------------------ */

static fixalloc dbgalloc[11]; /* span_debug for nelems <= 1 << i; heap lock */

static unsigned dbg_bucket(unsigned nelems)
{
	unsigned b = 0;
	while ((1u << b) < nelems)
		b++;
	return b;
}

static inline struct dbg_obj *obj_of(mspan *s, uintptr_t idx) { return &s->dbg->obj[idx]; }

static inline bool quarantined(const mspan *s, uintptr_t idx)
{
	return (__atomic_load_n(&s->dbg->qbits[idx / 64], __ATOMIC_ACQUIRE) >> (idx % 64)) & 1;
}

uint64_t debug_quarantined_in(const mspan *s, size_t word)
{
	return s->dbg ? __atomic_load_n(&s->dbg->qbits[word], __ATOMIC_ACQUIRE) : 0;
}

/*
 * How many of a block's first bytes get a pattern: all of a small block,
 * the first FILL_MAX of a big one (as ASan's max_malloc_fill_size), so
 * that a big buffer the program barely touches does not become resident
 * and a free is not a long memset.
 */
#define FILL_MAX 4096
static inline size_t fill_len(size_t n) { return n < FILL_MAX ? n : FILL_MAX; }

/*
 * Freed blocks are poisoned over their first FREE_FILL_MAX bytes only:
 * where writes through stale pointers land (links, counts, headers), at a
 * sixteenth of the cost of poisoning a 4 KiB block whole.
 */
#define FREE_FILL_MAX 256
static inline size_t free_fill_len(size_t n) { return n < FREE_FILL_MAX ? n : FREE_FILL_MAX; }

/* The first byte of [p, p+n) that is not b, or n (8 bytes at a time). */
static size_t first_not_slow(uintptr_t p, size_t n, uint8_t b)
{
	const uint8_t *q = (const uint8_t *)p;
	size_t i = 0;
	uint64_t w = 0x0101010101010101ull * b;
	for (; i < n && ((uintptr_t)(q + i) & 7); i++)
		if (q[i] != b)
			return i;
	for (; i + 32 <= n; i += 32) {
		const uint64_t *v = (const uint64_t *)(const void *)(q + i);
		if (((v[0] ^ w) | (v[1] ^ w) | (v[2] ^ w) | (v[3] ^ w)) != 0)
			break;
	}
	for (; i + 8 <= n; i += 8)
		if (*(const uint64_t *)(const void *)(q + i) != w)
			break;
	for (; i < n; i++)
		if (q[i] != b)
			return i;
	return n;
}

/* (a small block's redzone, two aligned words, checked inline: the exit
 * check reads every block of the heap) */
static inline size_t first_not(uintptr_t p, size_t n, uint8_t b)
{
	if (n == 16 && !(p & 7)) {
		const uint64_t *v = (const uint64_t *)p;
		uint64_t w = 0x0101010101010101ull * b;
		if (v[0] == w && v[1] == w)
			return n;
	} else if (n == 0) {
		return 0;
	}
	return first_not_slow(p, n, b);
}

/* A large span's usable bytes: its pages before the guard page. */
static size_t slot_size(const mspan *s)
{
	if (s->spanclass != 0)
		return s->elemsize;
	return (s->npages - s->dbg->guard) * PAGE_SIZE;
}

#define REDZONE 16         /* bytes of CANARY before each small block */
#define LARGE_REDZONE 1024 /* at least as many before a large one */

/* The start of object idx's slot. */
static uintptr_t block_of(mspan *s, uintptr_t idx) { return s->startAddr + idx * s->elemsize; }

/* The pointer the program holds for object idx. */
static uintptr_t user_of(mspan *s, uintptr_t idx) { return block_of(s, idx) + obj_of(s, idx)->offset; }

/* The end of a block's slot (a large block's: its guard page). */
static uintptr_t slot_end(mspan *s, uintptr_t idx)
{
	if (s->spanclass == 0)
		return s->startAddr + slot_size(s);
	return block_of(s, idx) + s->elemsize;
}

/*
 * What a check found wrong with a slot: the bug, the block the report
 * names (not always the slot's own: see slot_check) and the detail.
 */
struct finding {
	enum sa_bug bug;
	uintptr_t p, idx; /* the block the report names, and its index */
	size_t off;       /* the detail's offset */
	const char *what; /* the detail, before the offset */
	const char *tail; /* and after it */
};

static bool slot_live(mspan *s, uintptr_t idx)
{
	uint64_t bit = 1ull << (idx % 64);
	return (LOAD_RELAXED(&s->gcmarkBits[idx / 64]) & bit) && !(LOAD_RELAXED(&s->remoteBits[idx / 64]) & bit) &&
	       !quarantined(s, idx);
}

/* Whether none of [p, p+n) holds the byte b. */
static bool all_not(uintptr_t p, size_t n, uint8_t b)
{
	for (size_t i = 0; i < n; i++)
		if (((const uint8_t *)p)[i] == b)
			return false;
	return true;
}

/*
 * The first bytes of small slot idx are damaged: was it the block before
 * running over its end?  Yes when the damage is contiguous with that
 * block: the bytes between its requested size and this slot (its
 * canary) are all overwritten, or there are none (a block that fills its
 * slot).  A never-used neighbour, or a freed one whose canary is whole,
 * cannot have done it: then the bytes belong to this slot's report.
 */
static bool overflow_from_prev(mspan *s, uintptr_t idx, struct finding *f)
{
	if (s->spanclass == 0 || s->spanclass == TINY_SPAN_CLASS || idx == 0)
		return false;
	uintptr_t prev = idx - 1, pp = user_of(s, prev), end = block_of(s, idx);
	size_t req = obj_of(s, prev)->reqsize;
	if (pp + req > end)
		return false;
	if (!slot_live(s, prev) && pp + req == end)
		return false; /* (a freed exact fit or a never-used slot: no evidence) */
	if (!all_not(pp + req, end - (pp + req), CANARY))
		return false;
	*f = (struct finding){BUG_OVERFLOW,
			      pp,
			      prev,
			      req,
			      "bytes after the requested size overwritten, first at offset ",
			      ", on into the next slot"};
	return true;
}

/*
 * Check slot idx: the redzone before its block and the canary after it,
 * and the poison of a freed (or never used) one.  False, with *f filled
 * in, when something is damaged.  The bug's kind follows from where the
 * damage is against the block the program used: bytes at the very start
 * of a slot that continue a damaged canary of the block before are that
 * block's overflow, not an underflow or a write after free of this one.
 */
static bool slot_check(mspan *s, uintptr_t idx, bool freed, struct finding *f)
{
	if (under_tool)
		return true;
	uintptr_t slot = block_of(s, idx), p = user_of(s, idx);
	size_t req = obj_of(s, idx)->reqsize, rz = p - slot, end = slot_end(s, idx) - p;
	size_t bad = first_not(slot, rz, CANARY);
	if (bad != rz) {
		if (bad == 0 && overflow_from_prev(s, idx, f))
			return false;
		*f = (struct finding){
			BUG_UNDERFLOW, p, idx, rz - bad, "bytes before the block overwritten, from offset -", ""};
		return false;
	}
	if (freed && s->spanclass != 0) {
		size_t n = free_fill_len(req);
		bad = first_not(p, n, FREE_POISON);
		if (bad != n) {
			if (bad == 0 && rz == 0 && overflow_from_prev(s, idx, f))
				return false;
			*f = (struct finding){BUG_WRITE_AFTER_FREE, p, idx, bad, "freed block modified at offset ", ""};
			return false;
		}
	}
	if (req > end)
		return true; /* (a record being written: only in a concurrent check, which re-checks) */
	bad = first_not(p + req, end - req, CANARY);
	if (bad == end - req)
		return true;
	*f = (struct finding){
		BUG_OVERFLOW, p, idx, req + bad, "bytes after the requested size overwritten, first at offset ", ""};
	return false;
}

static void report_finding(const struct finding *f, const char *call, mspan *s)
{
	char buf[192];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, f->what);
	sb_dec(&b, f->off);
	sb_str(&b, f->tail);
	buf[b.len] = 0;
	sa_report(f->bug, call, f->p, s, buf);
}

/* ---- reports found under a lock ------------------------------------------------ */

/*
 * A check that runs under a lock (an mcentral transfer, sa_check_heap,
 * the exit check, a thread's exit) must not print: printing calls
 * backtrace and write, and a report may abort.  It records what it found,
 * with copies of the span and the block's record (both may be gone or
 * reused by the time the report is printed), and whoever released the
 * lock prints (debug_report_deferred).  A finding on a span that another
 * thread may be changing is checked again first, at a moment when no
 * thread is inside malloc or free (verify).
 */
struct pending {
	struct finding f;
	const char *call;
	mspan span;         /* copy; span.dbg is NULL */
	struct dbg_obj obj; /* copy of the named block's record */
	mspan *s;           /* for verify: the span, where it was, the slot checked */
	uintptr_t start, slot;
	bool verify;
};

#define PENDING_MAX 32
static struct pending pending[PENDING_MAX];
static unsigned npending, pending_lost; /* pending_lock */
static mutex pending_lock = MUTEX_INIT(LOCK_PENDING);
static __thread unsigned report_hold;
static __thread const struct pending *reporting; /* what debug_report_extra prints */

void debug_hold_reports(bool hold)
{
	if (hold)
		report_hold++;
	else
		report_hold--;
}

static void defer(mspan *s, uintptr_t slot, const struct finding *f, const char *call, bool verify)
{
	lock(&pending_lock);
	struct pending *last = npending ? &pending[npending - 1] : NULL;
	if (last && last->f.bug == f->bug && last->f.p == f->p) {
		/* the same bug seen from the next slot (an overflow into it) */
	} else if (npending == PENDING_MAX) {
		pending_lost++;
	} else {
		struct pending *r = &pending[npending++];
		r->f = *f;
		r->call = call;
		r->span = *s;
		r->span.dbg = NULL;
		r->obj = *obj_of(s, f->idx);
		r->s = s;
		r->start = s->startAddr;
		r->slot = slot;
		r->verify = verify;
	}
	unlock(&pending_lock);
}

/* Report f now, or defer it if this thread holds a lock. */
static void found(mspan *s, uintptr_t slot, const struct finding *f, const char *call)
{
	if (report_hold)
		defer(s, slot, f, call, false);
	else
		report_finding(f, call, s);
}

static bool slot_freed(mspan *s, uintptr_t idx)
{
	if (s->spanclass == 0)
		return quarantined(s, 0);
	return !slot_live(s, idx);
}

/*
 * Is a finding on a span another thread may be changing real?  Check the
 * slot again while no thread is inside a debug-layer operation (two equal
 * readings of cache_debug_ops, nobody busy, around the check) and the
 * span is still where it was.  A heap that never stands still for the
 * retries leaves the block to its next check (at its free, sweep or
 * reuse).
 */
static bool verify(struct pending *r)
{
	/* (this thread may be inside an operation itself, paused where it
	 * released a class lock: it changes nothing meanwhile) */
	mcache *self = cache_current();
	for (int tries = 0; tries < 200; tries++) {
		bool busy;
		uint64_t before = cache_debug_ops(self, &busy);
		if (busy) {
			sched_yield();
			continue;
		}
		bool bad = false;
		lock(&mheap_.lock);
		heapArena *ha = arena_of(r->start);
		mspan *s = ha ? span_of(ha, r->start) : NULL;
		if (s == r->s && s->startAddr == r->start && s->dbg && span_state(s) == mSpanInUse &&
		    !(s->spanclass == 0 && quarantined(s, 0))) {
			struct finding f;
			bad = !slot_check(s, r->slot, slot_freed(s, r->slot), &f) && f.bug == r->f.bug && f.p == r->f.p;
			if (bad) {
				r->f = f;
				r->span = *s;
				r->span.dbg = NULL;
				r->obj = *obj_of(s, f.idx);
			}
		}
		unlock(&mheap_.lock);
		if (cache_debug_ops(self, &busy) == before && !busy)
			return bad;
		sched_yield();
	}
	return false;
}

unsigned debug_report_deferred(void)
{
	unsigned n = 0;
	if (report_hold || !__atomic_load_n(&npending, __ATOMIC_RELAXED))
		return 0;
	for (;;) {
		lock(&pending_lock);
		unsigned lost = pending_lost;
		pending_lost = 0;
		if (!npending) {
			unlock(&pending_lock);
			if (lost) {
				char buf[160];
				strbuf b = {buf, 0, sizeof buf};
				sb_str(&b, "spanalloc: ");
				sb_dec(&b, lost);
				sb_str(&b,
				       " more damaged blocks found under a lock were not reported (each is reported when next checked)\n");
				os_write(report_fd, b.buf, b.len);
			}
			return n;
		}
		struct pending r = pending[0];
		memmove(&pending[0], &pending[1], (npending - 1) * sizeof pending[0]);
		npending--;
		pending_lost = lost;
		unlock(&pending_lock);
		if (r.verify && !verify(&r))
			continue;
		reporting = &r;
		report_finding(&r.f, r.call, &r.span);
		reporting = NULL;
		n++;
	}
}

/* The redzone before a block and the canary after it.  Reports. */
static bool canary_ok(mspan *s, uintptr_t idx, const char *call)
{
	struct finding f;
	if (slot_check(s, idx, false, &f))
		return true;
	found(s, idx, &f, call);
	return false;
}

/* Check a free or quarantined small slot: poison and canaries.  Reports. */
static bool poison_ok(mspan *s, uintptr_t idx, const char *call)
{
	if (under_tool || s->spanclass == 0)
		return true;
	struct finding f;
	if (slot_check(s, idx, true, &f))
		return true;
	found(s, idx, &f, call);
	return false;
}

/* A new span's side table; false when out of memory.  Heap lock held. */
bool debug_span_alloc(mspan *s)
{
	DCHECK(lock_held(&mheap_.lock));
	unsigned b = dbg_bucket(s->nelems ? s->nelems : 1);
	if (!dbgalloc[b].size)
		fixalloc_init(&dbgalloc[b], sizeof(struct span_debug) + ((size_t)1 << b) * sizeof(struct dbg_obj));
	s->dbg = fixalloc_alloc(&dbgalloc[b]);
	return s->dbg != NULL;
}

/* A new span has its pages: poison its objects.  Heap lock held. */
void debug_span_made(mspan *s)
{
	DCHECK(lock_held(&mheap_.lock));
	if (s->spanclass == 0)
		return;
	for (unsigned i = 0; i < s->nelems; i++)
		s->dbg->obj[i].reqsize = s->elemsize;
	if (under_tool)
		SA_TRACK_NOACCESS(s->startAddr, s->npages * PAGE_SIZE);
	else
		memset((void *)s->startAddr, FREE_POISON, (size_t)s->nelems * s->elemsize);
}

/* A span goes back to the heap.  Heap lock held. */
void debug_span_gone(mspan *s)
{
	DCHECK(lock_held(&mheap_.lock));
	if (!s->dbg)
		return;
	if (s->dbg->guard)
		os_commit((void *)(s->startAddr + (s->npages - 1) * PAGE_SIZE), PAGE_SIZE);
	SA_TRACK_NOACCESS(s->startAddr, s->npages * PAGE_SIZE);
	fixalloc_free(&dbgalloc[dbg_bucket(s->nelems ? s->nelems : 1)], s->dbg);
	s->dbg = NULL;
}

/*
 * The blocks of span s: live ones keep their canaries, free and
 * quarantined ones their poison.  Its reports are deferred (the callers
 * hold locks); others: another thread may be using the span, so each
 * finding is verified before it is printed.  Large blocks are read only
 * when no other thread can be freeing one (a free makes its pages
 * PROT_NONE before it marks the block quarantined): others is false.
 */
static unsigned check_blocks(mspan *s, const char *where, bool others)
{
	if (under_tool || !s->dbg || span_state(s) != mSpanInUse)
		return 0;
	unsigned bad = 0;
	struct finding f;
	if (s->spanclass == 0) {
		if (others || quarantined(s, 0))
			return 0;
		if (!slot_check(s, 0, false, &f)) {
			defer(s, 0, &f, where, false);
			bad++;
		}
		return bad;
	}
	if (s->spanclass == TINY_SPAN_CLASS)
		return 0;
	uint64_t freed = 0;
	for (uintptr_t i = 0; i < s->nelems; i++) {
		if (i % 64 == 0) {
			size_t w = i / 64;
			freed = ~(LOAD_RELAXED(&s->gcmarkBits[w]) & ~LOAD_RELAXED(&s->remoteBits[w])) |
				__atomic_load_n(&s->dbg->qbits[w], __ATOMIC_ACQUIRE);
		}
		if (!slot_check(s, i, (freed >> (i % 64)) & 1, &f)) {
			defer(s, i, &f, where, others);
			bad++;
		}
	}
	return bad;
}

/* At every mcentral transfer (class lock held). */
bool debug_check_span(mspan *s, const char *where)
{
	DCHECK(lock_held(&mcentral_[s->spanclass].lock));
	(void)where; /* (reported as a sweep: that is what the program sees) */
	return check_blocks(s, "sweep", false) == 0;
}

void debug_check_blocks(mspan *s, bool others) { check_blocks(s, "sa_check_heap", others); }

/* ---- quarantine --------------------------------------------------------------- */

#define QUARANTINE_SLOTS (1u << 16)

/*
 * A block leaves the quarantine: really free it.  Its poison is not
 * checked here but where the slot is next read anyway, when it is handed
 * out again (alloc_op), its span swept, or at exit: the bytes stay as they
 * were, so that one check sees every write since the free, also one made
 * after the block left the ring, while a check here would be a second
 * read of a slot not touched for a quarantine's worth of frees (two cache
 * misses: the slot and its record, 17% of json-c's fuzz target's time).
 */
static void release(uintptr_t p)
{
	heapArena *ha = arena_of(p);
	mspan *s = ha ? span_of(ha, p) : NULL;
	CHECK(s && s->dbg);
	uintptr_t idx = s->spanclass == 0 ? 0 : span_object_index(s, p);
	if (s->spanclass == 0)
		os_commit((void *)s->startAddr, slot_size(s));
	__atomic_fetch_and(&s->dbg->qbits[idx / 64], ~(1ull << (idx % 64)), __ATOMIC_ACQ_REL);
	core_release(s, idx, block_of(s, idx), false);
}

static size_t block_bytes(mspan *s) { return s->spanclass == 0 ? s->npages * PAGE_SIZE : s->elemsize; }

static uintptr_t quarantine_pop(struct quarantine *q)
{
	uintptr_t *slot = &q->ring[(q->head + q->cap - q->n) % q->cap];
	uintptr_t old = *slot;
	/* No stale copy: memcheck's leak check would take it for a pointer to
	 * whatever block the program gets at that address next. */
	*slot = 0;
	q->n--;
	q->bytes -= block_bytes(span_of(arena_of(old), old));
	return old;
}

static void quarantine_put(uintptr_t p, mspan *s)
{
	/*
	 * A thread whose first heap call is this free (or whose blocks so
	 * far all came from the guarded pool) has no cache yet: it gets one
	 * here, as the core's remote_free gets it one, so that the block
	 * waits out a quarantine like any other.  Released at once, a freed
	 * large block was readable again at once and its use after free
	 * never caught (tests/bugs/use_after_free_large_other_thread.c).
	 * NULL after the thread's cache was retired at its exit: released.
	 */
	mcache *c = cache_current();
	if (!c)
		c = cache_get_for_free();
	uint64_t limit = (uint64_t)(opts.quarantine_kb > 0 ? opts.quarantine_kb : 0) * 1024;
	size_t bytes = block_bytes(s);
	struct quarantine *q = c ? &c->quarantine : NULL;
	if (q && !q->ring && limit) {
		q->ring = os_alloc(QUARANTINE_SLOTS * sizeof(uintptr_t));
		q->cap = q->ring ? QUARANTINE_SLOTS : 0;
	}
	if (!q || !q->cap || bytes > limit) {
		release(p);
		return;
	}
	while (q->n && (q->n == q->cap || q->bytes + bytes > limit))
		release(quarantine_pop(q));
	q->ring[q->head] = p;
	q->head = (q->head + 1) % q->cap;
	q->n++;
	q->bytes += bytes;
}

/* The thread exits: empty its quarantine and give its ring back (the
 * cache record is reused, zeroed, by the next thread). */
void debug_thread_flush(mcache *c)
{
	struct quarantine *q = &c->quarantine;
	while (q->n)
		release(quarantine_pop(q));
	if (q->ring)
		os_free(q->ring, QUARANTINE_SLOTS * sizeof(uintptr_t));
	*q = (struct quarantine){0};
}

/* ---- the debug API layer --------------------------------------------------------- */

/*
 * The slot the next allocation of s's class will get (the next bit of its
 * allocCache) is checked then (poison_ok), its record read first: both
 * cold, since the slot waited out a quarantine's worth of frees (the
 * record's load was 62% of slot_check's time in json-c's fuzz target).
 * Fetch them now, while this block is made and the program runs.  (The
 * core's fast path prefetches the slot's first line only.)  Any span:
 * a prefetch of a wrong address costs nothing more than a load.
 */
static inline void prefetch_next_slot(const mspan *s)
{
	uint64_t cache = LOAD_RELAXED(&s->allocCache);
	if (!cache || s->spanclass == 0)
		return;
	uintptr_t next = s->freeindex + (unsigned)__builtin_ctzll(cache);
	if (next >= s->nelems)
		return;
	__builtin_prefetch(&s->dbg->obj[next], 0, 3);
	uintptr_t b = s->startAddr + next * s->elemsize;
	size_t n = s->elemsize < REDZONE + FREE_FILL_MAX ? s->elemsize : REDZONE + FREE_FILL_MAX;
	for (size_t o = 64; o < n; o += 64)
		__builtin_prefetch((const void *)(b + o), 0, 3);
}

static void *alloc_op(size_t size, size_t align, bool zero, uintptr_t fp)
{
	/* Zero-size and sampled blocks (every one under efence=1): guarded.c. */
	if (size == 0 && align <= 16) {
		void *z = guarded_zero_alloc(fp);
		if (z)
			return z;
	} else if (size && guarded_sample()) {
		void *g = guarded_alloc(size, align, zero, fp);
		if (g)
			return g;
	}
	if (size > MAX_SMALL_SIZE)
		debug_guard_ensure(); /* a large block ends at a guard page */
	/*
	 * Small blocks of malloc alignment get a redzone before them.  (Sizes
	 * the redzone would push over the class limit stay small, without
	 * one.)  Large blocks end right at their guard page (their end
	 * rounded up to 16 bytes, the few bytes of slack a canary), so a
	 * write or read past them faults at the instruction, with at least
	 * LARGE_REDZONE bytes of canary before them: p[-1] and p[-32] are
	 * caught at the free.  Then no metadata word (the span's startAddr)
	 * holds a large block's address either, which memcheck's leak check
	 * would take for a pointer to it.
	 */
	size_t off = 0, ask = size ? size : 1; /* (at least one byte: the block starts inside its slot) */
	bool large = false;
	if (!align && size <= MAX_SMALL_SIZE - REDZONE) {
		off = REDZONE;
		ask += REDZONE;
	} else if (!align && size > MAX_SMALL_SIZE && size <= SIZE_MAX - LARGE_REDZONE - 16) {
		ask = ((size + 15) & ~(size_t)15) + LARGE_REDZONE;
		large = true;
	}
	void *r = align ? core_aligned(align, size) : core_malloc(ask, false);
	if (!r)
		return NULL;
	uintptr_t slot = (uintptr_t)r;
	mspan *s = span_of(arena_of(slot), slot);
	uintptr_t idx = s->spanclass == 0 ? 0 : span_object_index(s, slot);
	if (large)
		off = slot_size(s) - ((size + 15) & ~(size_t)15);
	uintptr_t p = slot + off;
	poison_ok(s, idx, "malloc");
	prefetch_next_slot(s);
	struct dbg_obj *o = obj_of(s, idx);
	o->offset = (uint16_t)off;
	o->reqsize = size;
	o->allocStack = stack_here(fp);
	o->freeStack = 0;
	o->leakIgnore = leak_disabled != 0;
	o->kind = KIND_MALLOC; /* (dbg_new sets its own) */
	SA_TRACK_MALLOC(p, size, zero);
	if (zero)
		memset((void *)p, 0, size);
	else if (!under_tool)
		memset((void *)p, ALLOC_POISON, fill_len(size));
	if (!under_tool) {
		memset((void *)slot, CANARY, off);
		memset((void *)(p + size), CANARY, slot_end(s, idx) - (p + size));
	}
	return (void *)p;
}

/*
 * The span and object index of the live block the program knows as p, or
 * NULL after reporting what is wrong with p (freed_bug: the report for a
 * freed block).  Guarded blocks are the callers' business.
 */
static mspan *dbg_lookup(uintptr_t p, uintptr_t *idxp, const char *call, enum sa_bug freed_bug)
{
	heapArena *ha = arena_of(p);
	mspan *s = ha ? span_of(ha, p) : NULL;
	if (!s || !s->dbg)
		return core_lookup(p, idxp, call, freed_bug); /* reports */
	uintptr_t idx = s->spanclass == 0 ? 0 : span_object_index(s, p);
	if (idx >= (s->nelems ? s->nelems : 1) || p != user_of(s, idx)) {
		sa_report(BUG_INVALID_FREE, call, p, s, "not the start of a block");
		return NULL;
	}
	uint64_t bit = 1ull << (idx % 64);
	/* (a freed large span may wait in a thread's largeCache: not in use) */
	bool live = s->spanclass == 0 ? span_state(s) == mSpanInUse
				      : (LOAD_RELAXED(&s->gcmarkBits[idx / 64]) & bit) &&
						!(LOAD_RELAXED(&s->remoteBits[idx / 64]) & bit);
	if (quarantined(s, idx) || !live) {
		sa_report(freed_bug, call, p, s, NULL);
		return NULL;
	}
	return core_lookup(block_of(s, idx), idxp, call, freed_bug);
}

/* How a block is freed (C++'s delete forms: cxx.c, dbg_delete). */
struct dealloc {
	enum dbg_kind kind;
	size_t size;  /* sized delete, or DBG_NO_SIZE */
	size_t align; /* the std::align_val_t forms, or 0 */
};
static const struct dealloc by_free = {KIND_MALLOC, DBG_NO_SIZE, 0};
static void dealloc_check_kind(unsigned okind, size_t reqsize, mspan *s, uintptr_t p, const char *call,
			       const struct dealloc *d);
static void dealloc_check(mspan *s, uintptr_t idx, uintptr_t p, const char *call, const struct dealloc *d)
{
	dealloc_check_kind(obj_of(s, idx)->kind, obj_of(s, idx)->reqsize, s, p, call, d);
}

static void free_op(void *ptr, uintptr_t fp, const char *call, const struct dealloc *d)
{
	uintptr_t p = (uintptr_t)ptr, idx;
	if (!p)
		return;
	if (guarded_owns(p)) {
		uint8_t *kind;
		size_t size;
		if (guarded_kind(p, &kind, &size))
			dealloc_check_kind(*kind, size, NULL, p, call, d);
		guarded_free(p, fp, call);
		return;
	}
	mspan *s = dbg_lookup(p, &idx, call, BUG_DOUBLE_FREE);
	if (!s)
		return;
	dealloc_check(s, idx, p, call, d);
	canary_ok(s, idx, call);
	struct dbg_obj *o = obj_of(s, idx);
	o->freeStack = stack_here(fp);
	/* Poison before the qbit: a sweeper that sees the qbit sees poison. */
	if (s->spanclass == 0)
		os_protect((void *)s->startAddr, slot_size(s));
	else if (!under_tool)
		memset((void *)p, FREE_POISON, free_fill_len(o->reqsize));
	SA_TRACK_FREE(p, (s->spanclass == 0 ? slot_size(s) : s->elemsize) - o->offset);
	uint64_t bit = 1ull << (idx % 64);
	if (__atomic_fetch_or(&s->dbg->qbits[idx / 64], bit, __ATOMIC_ACQ_REL) & bit) {
		sa_report(BUG_DOUBLE_FREE, call, p, s, NULL);
		return;
	}
	core_count_free(s);
	quarantine_put(p, s);
}

static void *realloc_op(void *ptr, size_t size, uintptr_t fp)
{
	if (!ptr)
		return alloc_op(size, 0, false, fp);
	if (size == 0) {
		free_op(ptr, fp, "realloc", &by_free);
		return NULL;
	}
	uintptr_t p = (uintptr_t)ptr, idx;
	size_t old;
	if (guarded_owns(p)) {
		if (!guarded_size(p, "realloc", BUG_REALLOC_FREED, &old))
			return NULL;
	} else {
		mspan *s = dbg_lookup(p, &idx, "realloc", BUG_REALLOC_FREED);
		if (!s)
			return NULL;
		old = obj_of(s, idx)->reqsize;
	}
	/* Always move: a stale pointer to the old block is then caught. */
	void *q = alloc_op(size, 0, false, fp);
	if (!q)
		return NULL;
	memcpy(q, ptr, old < size ? old : size);
	free_op(ptr, fp, "realloc", &by_free);
	return q;
}

static size_t usable_op(const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr, idx;
	if (!p)
		return 0;
	if (guarded_owns(p)) {
		size_t n;
		return guarded_size(p, "malloc_usable_size", BUG_REALLOC_FREED, &n) ? n : 0;
	}
	mspan *s = dbg_lookup(p, &idx, "malloc_usable_size", BUG_REALLOC_FREED);
	return s ? obj_of(s, idx)->reqsize : 0;
}

/*
 * Fork and operations in flight.  Between the allocator's bookkeeping and
 * the debug layer's (request size, redzones, poison) a block is briefly
 * inconsistent; a thread lost in a fork at that moment would leave it so
 * for good, and the child would report it.  So each operation marks its
 * thread's cache busy, and fork waits until no cache is (a Dekker pair:
 * busy, then forking, on one side; forking, then busy, on the other).
 */
static uint32_t forking;
static __thread unsigned op_depth;

static mcache *op_enter(bool alloc)
{
	/* A thread without a cache gets one to allocate; to free (an exiting
	 * thread, say) it gets none: the block skips the quarantine. */
	mcache *c = cache_current();
	if (!c && alloc)
		c = cache_get_slow();
	if (!c || op_depth++)
		return c;
	/* dbgBusy counts: odd inside an operation, and a step at each start
	 * and end, so that two equal readings of cache_debug_ops mean no
	 * operation began or ended between them (a 0/1 flag would read the
	 * same after a whole operation ran).  Only this thread writes it. */
	for (;;) {
		__atomic_store_n(&c->dbgBusy, LOAD_RELAXED(&c->dbgBusy) + 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&forking, __ATOMIC_SEQ_CST))
			return c;
		__atomic_store_n(&c->dbgBusy, LOAD_RELAXED(&c->dbgBusy) + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&forking, __ATOMIC_ACQUIRE))
			sched_yield();
	}
}

static void op_exit(mcache *c)
{
	if (c && --op_depth == 0) {
		DCHECK(LOAD_RELAXED(&c->dbgBusy) & 1);
		__atomic_store_n(&c->dbgBusy, LOAD_RELAXED(&c->dbgBusy) + 1, __ATOMIC_RELEASE);
	}
}

void debug_fork_prepare(void)
{
	__atomic_store_n(&forking, 1, __ATOMIC_SEQ_CST);
	while (cache_any_busy())
		sched_yield();
}

void debug_fork_done(void) { __atomic_store_n(&forking, 0, __ATOMIC_RELEASE); }

/* The malloc limit and the engine's hooks (sanitizer.c) are outside the operation. */
void *dbg_alloc(size_t size, size_t align, bool zero, uintptr_t fp)
{
	if (UNLIKELY(opts.malloc_limit_mb) && size >> 20 >= (size_t)opts.malloc_limit_mb)
		san_over_limit(size, zero ? "calloc" : align ? "memalign" : "malloc");
	mcache *c = op_enter(true);
	void *p = alloc_op(size, align, zero, fp);
	op_exit(c);
	if (UNLIKELY(san_nhooks) && p)
		san_malloc_hooks(p, size);
	return p;
}

void dbg_free(void *ptr, uintptr_t fp, const char *call)
{
	if (UNLIKELY(san_nhooks) && ptr)
		san_free_hooks(ptr);
	mcache *c = op_enter(false);
	free_op(ptr, fp, call, &by_free);
	op_exit(c);
}

void *dbg_realloc(void *ptr, size_t size, uintptr_t fp)
{
	if (UNLIKELY(opts.malloc_limit_mb) && size >> 20 >= (size_t)opts.malloc_limit_mb)
		san_over_limit(size, "realloc");
	mcache *c = op_enter(true);
	void *p = realloc_op(ptr, size, fp);
	op_exit(c);
	/* (realloc always moves here: a free of the old block, a malloc of the new) */
	if (UNLIKELY(san_nhooks) && (p || (ptr && size == 0))) {
		if (ptr)
			san_free_hooks(ptr);
		if (p)
			san_malloc_hooks(p, size);
	}
	return p;
}

size_t dbg_usable_size(const void *ptr)
{
	mcache *c = op_enter(false);
	size_t n = usable_op(ptr);
	op_exit(c);
	return n;
}

/* ---- C++: the family, size and alignment of a delete (cxx.c calls these) ----------- */

void *dbg_new(size_t size, size_t align, enum dbg_kind kind, uintptr_t fp)
{
	if (UNLIKELY(opts.malloc_limit_mb) && size >> 20 >= (size_t)opts.malloc_limit_mb)
		san_over_limit(size, kind == KIND_NEW_ARRAY ? "operator new[]" : "operator new");
	mcache *c = op_enter(true);
	void *p = NULL;
	if (UNLIKELY(guarded_copy_watch) && kind == KIND_NEW_ARRAY && !align)
		p = guarded_copy_alloc(size, fp); /* libFuzzer's input copy, perhaps */
	if (!p)
		p = alloc_op(size, align, false, fp);
	if (p) {
		unsigned alog = align ? 1 + (unsigned)__builtin_ctzll(align) : 0;
		uint8_t k = (uint8_t)(kind | alog << KIND_ALIGN_SHIFT), *gk;
		size_t gsize;
		if (guarded_owns((uintptr_t)p)) {
			/* (a zero-size block keeps no family: new(0) is not checked) */
			if (guarded_kind((uintptr_t)p, &gk, &gsize))
				*gk = k;
		} else {
			mspan *s = span_of(arena_of((uintptr_t)p), (uintptr_t)p);
			uintptr_t idx = s->spanclass == 0 ? 0 : span_object_index(s, (uintptr_t)p);
			obj_of(s, idx)->kind = k;
		}
	}
	op_exit(c);
	if (UNLIKELY(san_nhooks) && p)
		san_malloc_hooks(p, size);
	return p;
}

void dbg_delete(void *ptr, size_t size, size_t align, enum dbg_kind kind, uintptr_t fp)
{
	static const char *const name[] = {"free", "operator delete", "operator delete[]"};
	struct dealloc d = {kind, size, align};
	if (UNLIKELY(san_nhooks) && ptr)
		san_free_hooks(ptr);
	mcache *c = op_enter(false);
	free_op(ptr, fp, name[kind], &d);
	op_exit(c);
}

static void sb_align(strbuf *b, size_t align)
{
	if (!align) {
		sb_str(b, "none (the default)");
		return;
	}
	sb_dec(b, align);
	sb_str(b, " bytes");
}

/*
 * Report a live block freed by the wrong family (as ASan's
 * alloc-dealloc-mismatch), a sized delete of the wrong size or an aligned
 * one of the wrong alignment (ASan's new-delete-type-mismatch).  The block
 * is freed all the same when the program goes on (abort_on_error=0).
 */
static void dealloc_check_kind(unsigned okind, size_t reqsize, mspan *s, uintptr_t p, const char *call,
			       const struct dealloc *d)
{
	unsigned kind = okind & KIND_MASK, alog = okind >> KIND_ALIGN_SHIFT;
	size_t align = alog ? (size_t)1 << (alog - 1) : 0;
	char buf[160];
	strbuf b = {buf, 0, sizeof buf};
	if (kind != d->kind) {
		static const enum sa_bug bug[] = {BUG_MISMATCH_MALLOC, BUG_MISMATCH_NEW, BUG_MISMATCH_NEW_ARRAY};
		sa_report(bug[kind], call, p, s, NULL);
	} else if (d->size != DBG_NO_SIZE && d->size != reqsize) {
		sb_str(&b, "size given to delete: ");
		sb_dec(&b, d->size);
		sb_str(&b, " bytes; size allocated: ");
		sb_dec(&b, reqsize);
		sb_str(&b, " bytes");
		buf[b.len] = 0;
		sa_report(BUG_SIZED_DELETE, call, p, s, buf);
	} else if (kind != KIND_MALLOC && d->align != align) {
		sb_str(&b, "alignment given to delete: ");
		sb_align(&b, d->align);
		sb_str(&b, "; alignment allocated: ");
		sb_align(&b, align);
		buf[b.len] = 0;
		sa_report(BUG_ALIGNED_DELETE, call, p, s, buf);
	}
}

/* ---- reports ------------------------------------------------------------------------ */

void debug_report_extra(mspan *s, uintptr_t p)
{
	const struct dbg_obj *o;
	uintptr_t user;
	if (guarded_report_extra(p) || !s)
		return;
	if (reporting && s == &reporting->span) {
		/* a deferred report: the records as they were when found */
		o = &reporting->obj;
		user = reporting->f.p;
	} else {
		if (!s->dbg)
			return;
		uintptr_t idx = s->spanclass == 0 ? 0 : span_object_index(s, p);
		if (idx >= (s->nelems ? s->nelems : 1))
			return;
		o = obj_of(s, idx);
		user = user_of(s, idx);
	}
	debug_print_block(user, o->reqsize, o->freeStack, o->allocStack);
}

/* The tail of every report on a block: the block, then its stacks. */
void debug_print_block(uintptr_t user, size_t reqsize, uint32_t freeStack, uint32_t allocStack)
{
	char buf[128];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, "    block ");
	sb_hex(&b, user);
	sb_str(&b, ", requested size ");
	sb_dec(&b, reqsize);
	sb_str(&b, "\n");
	os_write(report_fd, b.buf, b.len);
	print_depot_stack("    freed at:\n", freeStack);
	print_depot_stack("    allocated at:\n", allocStack);
}

/* ---- start and exit --------------------------------------------------------------------- */

void debug_init(void)
{
	under_tool = SA_UNDER_TOOL();
	stack_init();
	if (opts.log_path[0]) {
		char name[300];
		strbuf b = {name, 0, sizeof name};
		sb_str(&b, opts.log_path);
		sb_str(&b, ".");
		sb_dec(&b, (uint64_t)getpid());
		name[b.len] = 0;
		int fd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			report_fd = fd;
	}
	if (!under_tool)
		guarded_init();
	debug_guard_init();
	leak_at_start();
}

/*
 * check_at_exit: the blocks that were never freed, and the freed ones
 * never handed out again or swept, were never checked.  Walk the whole
 * heap (every span: the mcentrals' and every thread's) under the heap
 * lock, a few spans at a time so that threads still running are held up
 * briefly, and report after each batch with the lock released.  Other
 * threads may still run: their findings are verified (see verify), and
 * large blocks are read only when this is the last thread with a cache.
 */
static void check_heap_at_exit(void)
{
	if (under_tool || !opts.check_at_exit)
		return;
	mcache *self = cache_current();
	cache_counters t;
	cache_sum_counters(&t);
	bool alone = t.ncaches == 0 || (t.ncaches == 1 && self);
	lock(&mheap_.lock);
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next) {
		unsigned batch = 0;
		for (size_t pg = 0; pg < PAGES_PER_ARENA; pg++) {
			mspan *s = ha->spans[pg];
			if (!s || s->startAddr != ha->base + pg * PAGE_SIZE)
				continue;
			mcache *owner = LOAD_RELAXED(&s->owner);
			check_blocks(s, "exit", !alone && (s->spanclass == 0 || owner != self));
			if (++batch % 64 == 0 || __atomic_load_n(&npending, __ATOMIC_RELAXED)) {
				unlock(&mheap_.lock);
				debug_report_deferred();
				lock(&mheap_.lock);
			}
		}
	}
	unlock(&mheap_.lock);
	debug_report_deferred();
	if (alone)
		guarded_check_live("exit");
}

void debug_at_exit(void)
{
	check_heap_at_exit();
	int leaks = leak_at_exit();
	/* A heap bug's exit status before a leak's. */
	int status = reports && opts.exitcode ? opts.exitcode : leaks > 0 ? opts.leak_exitcode : 0;
	if (status) {
		/* _exit skips the flush of stdio that exit() does after us. */
		fflush(NULL);
		_exit(status);
	}
}

void debug_large_alloc(mspan *s)
{
	if (!s->dbg->guard) { /* (a span from the large cache keeps its guard) */
		s->dbg->guard = 1;
		os_protect((void *)(s->startAddr + (s->npages - 1) * PAGE_SIZE), PAGE_SIZE);
	}
}
