/*
 * spanalloc internals: the data structures of every tier, their invariants
 * and the locking rules, in one place.  Read this first (docs/design.md
 * tells the whole design in prose).
 *
 * Overview (after the header of Go's runtime/malloc.go).
 *
 * Allocation of a small object (8 B .. 32 KiB) walks down the tiers:
 *
 *   1. Round the size up to a size class and look in the thread's mcache
 *      for the span of that class.  nextFreeFast finds a free slot in the
 *      span's 64-bit allocCache (count trailing zeros); no lock.
 *   2. When the span is exhausted, the owner first sweeps it itself (no
 *      lock: it folds in the objects freed since the last sweep).  If that
 *      yields too little, the mcache parks the span (it keeps it, for its
 *      own frees to refill) and takes a parked span that has enough free,
 *      else another span with free objects from the mcentral (the class
 *      lock); parked spans over PARK_MAX_BYTES a class go back there.
 *   3. When the mcentral has no span with free objects, it gets a fresh run
 *      of pages from the mheap (the heap lock), which takes them from an
 *      arena or reserves a new 64 MiB heapArena from the OS.
 *
 * Requests of 1..8 B take the 8-byte class.  With tiny=1 they are packed
 * into 16-byte tiny blocks instead (tiny.c, Go's tiny allocator); requests
 * over 32 KiB get a span of their own straight from the mheap (large.c).
 *
 * Freeing an object is explicit here, where Go's collector marks and
 * sweeps.  The span keeps Go's two bitmaps with Go's meaning:
 *
 *   allocBits   the objects in use when the span was last swept; the owner
 *               allocates from it through freeindex and allocCache.
 *   gcmarkBits  the objects live now: allocation sets the object's bit, a
 *               free by the span's owner clears it.
 *
 * plus one of our own, because any thread may free:
 *
 *   remoteBits  objects freed by a thread that does not own the span,
 *               set atomically, folded into gcmarkBits at the next sweep.
 *
 * The old value of these bits makes every free checkable in every build:
 * a free whose gcmarkBit is already clear, or whose remoteBit is already
 * set, is a double free.  Sweeping (every mcentral transfer, and the
 * owner's own sweep) does gcmarkBits &= ~remoteBits, remoteBits = 0,
 * allocBits = gcmarkBits, allocCount = popcount (the live objects at the
 * sweep: the fast paths do not keep it up to date).
 *
 * Lock order: caches_lock -> mcentral.lock -> mheap.lock (every lock, the
 * debug build's too, is listed in docs/design.md, "The locks"; the ranks,
 * checked by the debug build, are enum lock_rank below).  No lock
 * is held while a heap bug's report is printed (sa_report; the debug
 * build asserts it there): the debug build's checks that run under a
 * lock record what they find and print it once the lock is released
 * (debug.c, "reports found under a lock").  Written with locks held, on
 * purpose: the lines of the invariant checks (span.c problem(), stats.c
 * heap_problem(): span_validate at an mcentral transfer, under the class
 * lock, and sa_check_heap, under every class lock and the heap lock),
 * where the allocator's own state is corrupt and a transfer then stops;
 * fatal errors (sa_fatal, CHECK, a lock order), which abort; and the leak
 * check's report, under its own check_lock (debug/leak.c), which ranks
 * below every allocator lock.
 */
#ifndef SA_INTERNAL_H
#define SA_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sizeclasses.h"
#ifdef SA_DEBUG
#include "debug/debug.h"
#endif

#ifdef SA_DEBUG
#define SA_DEBUG_BUILD 1
#else
#define SA_DEBUG_BUILD 0
#endif

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NOINLINE __attribute__((noinline))
#define INTERNAL __attribute__((visibility("hidden")))
#define CACHE_LINE 64

/* Relaxed atomics on plain fields that one thread writes and others read. */
#define LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/*
 * Add n to a uint64_t counter that only one thread writes and others read
 * (relaxed): a relaxed load and store, not an atomic add.  clang makes
 * them one add to memory; gcc makes a load, an add and a store, so with
 * gcc on x86-64 the add is written in assembly, the same access (an
 * aligned 8-byte store by the only writer).  ThreadSanitizer builds use
 * clang and see the atomics.
 */
#if defined(__x86_64__) && !defined(__clang__)
#define COUNTER_ADD(p, n) __asm__("addq %1, %0" : "+m"(*(p)) : "er"((uint64_t)(n)))
#else
#define COUNTER_ADD(p, n) STORE_RELAXED((p), LOAD_RELAXED(p) + (uint64_t)(n))
#endif

/*
 * Add n to the counter field (a cache_counters member as written after
 * "st.": nfree[spc], largeFree) of the mcache c, or of orphan (cache.c)
 * when c is NULL.  A thread frees with no mcache after its cache was
 * retired at its exit (a TSD destructor run after spanalloc's frees), or
 * when the OS refused the memory for one; its frees must still be
 * counted, or the stats would show as in use blocks that are gone.
 * orphan is shared by all such threads, so it takes an atomic add, where
 * a cache's counters have one writer each (COUNTER_ADD).  c is evaluated
 * twice.  ORPHAN_COUNTER_ADD: for a caller that knows it has no cache.
 */
#define ORPHAN_COUNTER_ADD(field, n) __atomic_fetch_add(&orphan.field, (uint64_t)(n), __ATOMIC_RELAXED)
#define CACHE_COUNTER_ADD(c, field, n)                                                                                 \
	do {                                                                                                           \
		if (c)                                                                                                 \
			COUNTER_ADD(&(c)->st.field, (n));                                                              \
		else                                                                                                   \
			ORPHAN_COUNTER_ADD(field, (n));                                                                \
	} while (0)

/*
 * CHECK is always on; DCHECK only in the debug build but always
 * type-checked.  A failed check is a bug in spanalloc, not in the program.
 */
__attribute__((noreturn)) void sa_fatal_internal(const char *file, int line, const char *what) INTERNAL;
#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		if (UNLIKELY(!(cond)))                                                                                 \
			sa_fatal_internal(__FILE__, __LINE__, #cond);                                                  \
	} while (0)
#ifdef SA_DEBUG
#define DCHECK(cond) CHECK(cond)
#else
#define DCHECK(cond)                                                                                                   \
	do {                                                                                                           \
		if (0 && !(cond)) {                                                                                    \
		}                                                                                                      \
	} while (0)
#endif

/*
 * Fault injection, for showing that the fuzz harnesses find real bugs:
 * building with -DSA_FAULT=N plants bug N (never in a real build).
 *   1  a live object is handed out a second time (sweep drops its bit)
 *   2  off by one: a span's last object runs past the span's end
 *   3  a remote free is lost (every 8th)
 *   4  a freed span's last page stays in the page map
 *   5  (debug build) every 16th guarded slot handed out stays the next
 *      one to hand out: the next sampled block gets it too, while live
 */
#ifndef SA_FAULT
#define SA_FAULT 0
#endif

/* ---- geometry --------------------------------------------------------- */

#define TINY_SIZE 16                     /* tiny block size */
#define TINY_MAX 8                       /* largest tiny request (tiny=1) */
#define TINY_SPAN_CLASS NUM_SIZE_CLASSES /* 16 B objects holding tiny blocks */
#define NUM_SPAN_CLASSES (NUM_SIZE_CLASSES + 1)
#define TINY_SIZE_CLASS 2 /* the 16 B class, for stats */

#define ARENA_SHIFT 26 /* heapArena: 64 MiB */
#define ARENA_SIZE ((uintptr_t)1 << ARENA_SHIFT)
#define PAGES_PER_ARENA (ARENA_SIZE / PAGE_SIZE) /* 8192 */
#define ARENA_BITMAP_WORDS (PAGES_PER_ARENA / 64)
#define HEAP_ADDR_BITS 48                                            /* x86-64 / aarch64 user space */
#define ARENA_L1_BITS 0                                              /* as Go on amd64: one L1 entry */
#define ARENA_L2_BITS (HEAP_ADDR_BITS - ARENA_SHIFT - ARENA_L1_BITS) /* 22 */

static_assert(PAGE_SIZE * PAGES_PER_ARENA == ARENA_SIZE, "arena geometry");
static_assert(ARENA_L1_BITS + ARENA_L2_BITS + ARENA_SHIFT == HEAP_ADDR_BITS, "arena index");
static_assert(MAX_OBJS_PER_SPAN % 64 == 0, "bitmap words");

/* ---- platform (os.c: the only caller of mmap, munmap, mprotect, madvise) */

void *os_reserve(size_t size, size_t align) INTERNAL;                       /* PROT_NONE, aligned */
bool os_commit(void *p, size_t size) INTERNAL;                              /* reserved -> read/write */
void *os_reserve_guarded(size_t size, size_t align, size_t guard) INTERNAL; /* keeps guard bytes PROT_NONE below */
bool os_protect(void *p, size_t size) INTERNAL;                             /* read/write -> PROT_NONE (guard pages) */
bool os_own_mapping(void *p, size_t size, bool rw) INTERNAL;                /* reserved range -> a mapping of its own */
void os_release(void *p, size_t size) INTERNAL; /* give pages back, keep range (zero on next touch) */
void *os_alloc(size_t size) INTERNAL;           /* read/write metadata, zeroed */
void os_free(void *p, size_t size) INTERNAL;
uint64_t os_nanotime(void) INTERNAL;
size_t os_page_size(void) INTERNAL;   /* the OS page (mprotect's unit) */
long os_max_map_count(void) INTERNAL; /* vm.max_map_count, or -1 */
/* getenv before libc's environ exists (readable: /proc could be read). */
const char *os_early_getenv(const char *name, bool *readable) INTERNAL;
uint64_t os_memory_limit(void) INTERNAL;
uint64_t os_address_space_limit(void) INTERNAL; /* RLIMIT_AS, or 0: none */
/* Say once that the OS refused bytes for what (os.c has the rule). */
void os_say_refused(const char *what, size_t bytes, int err) INTERNAL;
void os_write(int fd, const char *s, size_t n) INTERNAL;
/* Run prog, its stdout into buf; bytes read, -1 if it failed (os.c has the rules). */
long os_run_read(const char *prog, char *const argv[], char *const envp[], char *buf, size_t cap,
		 int timeout_ms) INTERNAL;
int os_spawn_duplex(const char *prog, char *const argv[], char *const envp[], int *fd) INTERNAL;
bool os_send_all(int fd, const char *buf, size_t len) INTERNAL;
long os_recv_some(int fd, char *buf, size_t cap, int timeout_ms) INTERNAL;
void os_end_duplex(int pid, int fd, bool kill_it) INTERNAL;
/* Threads (the debug build's leak check stops the world with them). */
int os_gettid(void) INTERNAL;
bool os_signal_thread(int tid, int sig) INTERNAL;
long os_list_threads(int *out, size_t max) INTERNAL;
void os_sleep_us(unsigned us) INTERNAL;
/* An address above every frame of this thread's stack, for a thread
 * pthread_create made (not the main thread's), or 0 if unknown; no lock,
 * no allocation. */
uintptr_t os_thread_stack_bound(void) INTERNAL;

/* ---- locks -------------------------------------------------------------- */

/*
 * A futex lock (Drepper's "Futexes are tricky", mutex 3): 0 unlocked,
 * 1 locked, 2 locked with waiters.  Uncontended lock and unlock are one
 * atomic each, with no call into libc, and it works before any
 * constructor and in a forked child (mutex_init).
 *
 * Lock ranks (Go's lockrank.go): every lock has a rank, and a thread may
 * only take a lock of a higher rank than every lock it holds, but for
 * the mcentral locks, of which it may take several in class order (the
 * fork handler, sa_check_heap).  The debug build checks it: a per-thread
 * record of every lock held (debug/lockrank.c: the mcentral locks as a
 * set over the classes, the others in a list), and a fatal report naming
 * both locks on an acquire out of order, a lock taken twice or released
 * unheld; lock_held() asserts the locks a function's comment requires
 * (DCHECK), and no_lock_held() that a report is printed with none.  The production build has no
 * rank in its mutex and checks nothing.  docs/design.md, "The locks",
 * says what each lock guards.
 */
enum lock_rank {
	LOCK_UNRANKED = 0, /* a lock nobody ranked: fatal in the debug build */
	LOCK_INIT,         /* init.c: the first initialization */
	LOCK_LEAK_CHECK,   /* debug/leak.c check_lock: one leak check at a time */
	LOCK_CACHES,       /* cache.c caches_lock */
	LOCK_CENTRAL,      /* mcentral.lock, several in class order */
	LOCK_HEAP,         /* mheap.lock */
	LOCK_POOL,         /* debug/guarded.c pool_lock */
	LOCK_ZERO_REGION,  /* debug/guarded.c zlock */
	LOCK_DEPOT,        /* debug/stack.c depot_lock */
	LOCK_PENDING,      /* debug/debug.c pending_lock */
	LOCK_NRANKS
};

typedef struct mutex {
	uint32_t state;
#ifdef SA_DEBUG
	uint8_t rank; /* enum lock_rank */
#endif
} mutex;
#ifdef SA_DEBUG
#define MUTEX_INIT(r)                                                                                                  \
	{                                                                                                              \
		0, (r)                                                                                                 \
	}
void lockrank_acquire(const mutex *m) INTERNAL;
void lockrank_release(const mutex *m) INTERNAL;
void lockrank_forget(const mutex *m) INTERNAL;
bool lockrank_held(const mutex *m) INTERNAL;
bool lockrank_none_held(void) INTERNAL;
#define LOCKRANK_HOOK(f, m) f(m)
#else
#define MUTEX_INIT(r)                                                                                                  \
	{                                                                                                              \
		0                                                                                                      \
	}
#define LOCKRANK_HOOK(f, m) ((void)(m))
#endif
void os_futex_wait(uint32_t *addr, uint32_t val) INTERNAL;
void os_futex_wake(uint32_t *addr, int n) INTERNAL;
void lock_slow(mutex *m) INTERNAL;

/* Give m its rank (a lock that is not statically initialized). */
static inline void mutex_set_rank(mutex *m, enum lock_rank r)
{
#ifdef SA_DEBUG
	m->rank = (uint8_t)r;
#else
	(void)m, (void)r;
#endif
}

/* Unlocked (the rank stays): also forgets a hold the fork left behind. */
static inline void mutex_init(mutex *m)
{
	LOCKRANK_HOOK(lockrank_forget, m);
	__atomic_store_n(&m->state, 0, __ATOMIC_RELAXED);
}

static inline void lock(mutex *m)
{
	LOCKRANK_HOOK(lockrank_acquire, m);
	uint32_t c = 0;
	if (UNLIKELY(!__atomic_compare_exchange_n(&m->state, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
		lock_slow(m);
}

static inline void unlock(mutex *m)
{
	LOCKRANK_HOOK(lockrank_release, m);
	if (UNLIKELY(__atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE) == 2))
		os_futex_wake(&m->state, 1);
}

/* Whether this thread holds m (debug build; always true in production,
 * for DCHECK(lock_held(...)), which compiles to nothing there). */
static inline bool lock_held(const mutex *m)
{
#ifdef SA_DEBUG
	return lockrank_held(m);
#else
	(void)m;
	return true;
#endif
}

/* Whether this thread holds no spanalloc lock (debug build; true in
 * production, like lock_held). */
static inline bool no_lock_held(void)
{
#ifdef SA_DEBUG
	return lockrank_none_held();
#else
	return true;
#endif
}

/* ---- fixalloc.c: fixed-size metadata ------------------------------------ */

/*
 * A free-list allocator of fixed-size blocks carved from 256 KiB chunks of
 * OS memory, for spanalloc's own metadata (spans, caches, bitmaps).
 * Protected by mheap.lock.  Blocks come back zeroed.
 */
typedef struct fixalloc {
	size_t size;
	void *list;  /* free blocks, linked through their first word */
	char *chunk; /* rest of the current chunk */
	size_t nchunk;
	uint64_t inuse; /* bytes handed out and not freed */
	uint64_t sys;   /* bytes obtained from the OS */
} fixalloc;

void fixalloc_init(fixalloc *f, size_t size) INTERNAL;
void *fixalloc_alloc(fixalloc *f) INTERNAL;
void fixalloc_free(fixalloc *f, void *p) INTERNAL;

/* ---- mspan (span.c) ----------------------------------------------------- */

/* mSpanCached: a freed large span kept in an mcache's largeCache for reuse. */
enum span_state { mSpanDead = 0, mSpanInUse = 1, mSpanFreeing = 2, mSpanCached = 3 };
/* Which list holds a span: an mcentral's (central lock), or its owner's. */
enum span_list { LIST_NONE = 0, LIST_PARTIAL = 1, LIST_FULL = 2, LIST_PARKED = 3, LIST_READY = 4 };
#define NO_REUSE 0xffff /* reuseIn of a span that is not parked */

typedef struct mcache mcache;
typedef struct mspan mspan;

/*
 * A span's state, read and written only atomically (Go's mSpanStateBox):
 * a large span's free claims it with a compare-and-swap while any thread
 * may read it, so the field is wrapped where a plain read or write would
 * not compile.  span_state() acquires, span_set_state() releases.
 */
typedef struct span_state_box {
	uint8_t v;
} span_state_box;

/* A tiny block's record (tiny.c): live written by its owner, state atomic. */
typedef struct tinyrec {
	uint32_t live;
	uint32_t state;
} tinyrec;

/*
 * The owner of a span its mcentral holds: neither NULL nor &nocache, so
 * that a thread without an mcache never looks like the owner.
 */
#define NO_OWNER ((mcache *)(uintptr_t)1)

/*
 * An mspan is a run of npages pages cut into nelems objects of elemsize
 * bytes (a large span: one object of npages pages).
 *
 * Invariants (checked by span_validate; "swept" = just after span_sweep):
 *   - startAddr is page-aligned; every page of the span maps to it in its
 *     heapArena's spans[] while state == mSpanInUse;
 *   - nelems * elemsize <= npages * PAGE_SIZE;
 *   - no bit at index >= nelems is set in allocBits, gcmarkBits or
 *     remoteBits (index nelems, an object start in the span's tail that
 *     free's fast path lets through, is inside the words: the size-class
 *     generator checks it);
 *   - swept: allocBits == gcmarkBits, remoteBits == 0 (until the next
 *     remote free),
 *     allocCount == popcount(gcmarkBits), freeindex == 0,
 *     allocCache == span_free_word(s, 0);
 *   - between sweeps: every object with index < freeindex was handed out
 *     at most once since the sweep (the owner may free the object at
 *     freeindex - 1 and step freeindex back over it), so every object in
 *     [freeindex, the highest freeindex since the sweep) is free;
 *     allocCache bit i set means object freeindex + i is free (its
 *     gcmarkBit is clear), and no bit is set for an index >= limit;
 *     allocCache covers some of the objects from freeindex on, at most
 *     to the end of the word after freeindex's (the fast path leaves it
 *     0 at a word's end; the owner's frees shift bits in at freeindex),
 *     and once it is 0 the next free object is looked up in allocBits
 *     from freeindex on;
 *   - an object is live iff its gcmarkBit is set and its remoteBit clear;
 *   - limit <= nelems, and no object at index >= limit has been handed
 *     out since the span left the heap: allocation stays below limit,
 *     which grows (cache.c, span_grow) only when the objects below it
 *     are used up, so that a class with few live objects keeps few of
 *     its span's pages resident (mimalloc's page capacity).  The debug
 *     build starts at nelems.
 *
 * Ownership: a span is either owned by exactly one mcache (owner == that
 * cache: its alloc[spc], or on its parked or ready list; only that thread
 * touches freeindex, allocCache, allocBits and writes gcmarkBits) or held
 * by its mcentral (owner == NO_OWNER, on exactly one of the partial / full
 * lists, changed only under the mcentral's lock).
 * Any thread may set remoteBits, atomically.
 *
 * needsweep (see central.c for the protocol): 1 when someone is bound to
 * sweep the span before it is next considered full: its owner, or an
 * mcentral that has it on its partial list.  0 when it sits on a central
 * list and nobody has freed into it since it was last swept.
 */
struct mspan {
	/*
	 * The first cache line holds everything malloc's and free's fast paths
	 * touch (spans are CACHE_LINE-aligned): a free of a cold block misses
	 * once on its span, not three times.
	 */
	uintptr_t startAddr;  /* immutable while in use */
	uint64_t *gcmarkBits; /* owner writes (relaxed stores), anyone reads */
	uint64_t *remoteBits; /* any thread, atomic RMW */
	mcache *owner;        /* read by any thread (relaxed) */
	uint64_t allocCache;
	uintptr_t elemsize; /* npages * PAGE_SIZE for a large span; immutable */
	uint64_t divMagic;  /* class_to_divmagic; 0 for a large or tiny span (free's routing); immutable */
	/* Allocation state: written by the owner (or under the central lock). */
	uint16_t freeindex;
	uint16_t allocCount; /* live objects at the last sweep */
	/*
	 * The owner's frees count it down (one decrement, no compare of two
	 * fields); at 0, cache_span_reusable moves a parked span to ready
	 * (set at parking: the local frees that leave reuse_threshold
	 * free) and starts any other span over at NO_REUSE.
	 */
	uint16_t reuseIn;
	uint8_t spanclass; /* 0: large, 1..66: size class, TINY_SPAN_CLASS; immutable */
	uint8_t needzero;  /* objects at index >= freeindex may be dirty */

	/*
	 * The three bitmaps when nelems <= 64, at the start of the second
	 * line: a free of such a span reads its gcmarkBits and remoteBits
	 * word in this one line (after them, they straddled the second and
	 * third: larson's frees missed three times on the span, not twice).
	 */
	uint64_t inlineBits[3];
	uintptr_t npages; /* immutable while in use */
	uint64_t *allocBits;
	struct tinyrec *tinyMasks; /* TINY_SPAN_CLASS: one record per 16 B block (tiny.c) */
	uint32_t needsweep;        /* atomic */
	uint16_t nelems;           /* immutable; no fast path reads it */
	uint16_t limit;            /* objects that may be handed out: owner, or the central lock */
	span_state_box state;      /* enum span_state: span_state(), span_set_state() only */
	uint8_t list;              /* enum span_list: central lock, or the owner */
	mspan *next, *prev;        /* central list links, under the central lock */

#ifdef SA_DEBUG
	struct span_debug *dbg; /* debug/debug.h */
#endif
} __attribute__((aligned(CACHE_LINE)));
static_assert(offsetof(mspan, inlineBits) == CACHE_LINE,
	      "mspan: the fast paths' fields in the first cache line, the inline bitmaps at the start of the second");

static inline enum span_state span_state(const mspan *s)
{
	return (enum span_state)__atomic_load_n(&s->state.v, __ATOMIC_ACQUIRE);
}
static inline void span_set_state(mspan *s, enum span_state st)
{
	__atomic_store_n(&s->state.v, (uint8_t)st, __ATOMIC_RELEASE);
}
/* From old to st; false (another thread changed it first) if not old. */
static inline bool span_cas_state(mspan *s, enum span_state old, enum span_state st)
{
	uint8_t expect = (uint8_t)old;
	return __atomic_compare_exchange_n(&s->state.v, &expect, (uint8_t)st, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

typedef struct spanlist {
	mspan *first, *last;
	uint64_t n;
} spanlist;

void spanlist_push_back(spanlist *l, mspan *s) INTERNAL;
void spanlist_remove(spanlist *l, mspan *s) INTERNAL;

static inline size_t span_bitmap_words(const mspan *s) { return ((size_t)s->nelems + 63) / 64; }

/*
 * allocCache's value for bitmap word w (w * 64 < nelems): the free objects
 * of the word, without the bits at limit and past it, so that a set bit of
 * allocCache is always an object of the span that may be handed out (the
 * fast path needs no nelems or limit check).
 */
static inline uint64_t span_free_word(const mspan *s, size_t w)
{
	if (w * 64 >= s->limit)
		return 0;
	uint64_t free = ~s->allocBits[w];
	size_t left = s->limit - w * 64;
	return left >= 64 ? free : free & ((1ull << left) - 1);
}
void span_init_small(mspan *s, unsigned spanclass) INTERNAL;
unsigned span_sweep(mspan *s) INTERNAL;     /* returns free objects */
unsigned span_next_free(mspan *s) INTERNAL; /* index, or nelems if none below limit */
void span_grow(mspan *s, unsigned objs) INTERNAL;
size_t span_validate(const mspan *s, bool swept, const char *where) INTERNAL;

/*
 * The index of the object holding p, and whether p is its start, from one
 * 64x64->128-bit multiply (divMagic = 2^64 / elemsize rounded up; exact
 * for every offset in a small span: tools/mksizeclasses.c checks it): the
 * high half is offset / elemsize, the low half is below divMagic iff
 * elemsize divides the offset.  The index may be nelems (a span's tail).
 * A large or tiny span (divMagic 0) has no start: free's slow path.
 */
static inline uintptr_t span_object_index_start(const mspan *s, uintptr_t p, bool *start)
{
	unsigned __int128 m = (unsigned __int128)(uint64_t)(p - s->startAddr) * s->divMagic;
	*start = (uint64_t)m < s->divMagic;
	return (uintptr_t)(m >> 64);
}

/* The index of the object holding p, in any span (off the fast paths). */
static inline uintptr_t span_object_index(const mspan *s, uintptr_t p)
{
	bool start;
	if (!s->divMagic)
		return (p - s->startAddr) / s->elemsize;
	return span_object_index_start(s, p, &start);
}

/* ---- heapArena and the arena index (arena.c) ---------------------------- */

/*
 * Metadata of one 64 MiB arena, kept outside the arena itself.
 *
 * Invariants (heap lock):
 *   - pallocBits bit i == 1 iff page i belongs to an in-use span, and then
 *     spans[i] is that span; spans[i] == NULL for every free page;
 *   - scavBits bit i == 1 only for free pages, and means the page holds no
 *     memory (never touched, or returned with os_release): it reads zero;
 *   - recentBits bit i == 1 only for free, unscavenged pages freed since
 *     the scavenger's last tick;
 *   - pages at index >= commitPages are reserved (PROT_NONE), free and
 *     scavenged;
 *   - no free page has index < searchHint.
 */
typedef struct heapArena heapArena;
struct heapArena {
	mspan *spans[PAGES_PER_ARENA];
	uint64_t pallocBits[ARENA_BITMAP_WORDS];
	uint64_t scavBits[ARENA_BITMAP_WORDS];
	uint64_t recentBits[ARENA_BITMAP_WORDS];
	uintptr_t base;
	uint32_t commitPages;
	uint32_t searchHint;
	uint32_t nfree;  /* free pages */
	heapArena *next; /* all arenas, in address order */
};

/*
 * The arena index, Go's arenas[l1][l2].  With 48-bit addresses and a
 * single L1 entry (as Go does on amd64) the L2 array is static: 2^22
 * pointers, 32 MiB of demand-zero bss of which only the pages indexing
 * real arenas are ever touched, and a lookup is one load.
 */
#if ARENA_L1_BITS == 0
extern heapArena *arena_l2[1u << ARENA_L2_BITS] INTERNAL;
#else
extern heapArena **arena_l1[1u << ARENA_L1_BITS] INTERNAL;
#endif

/* The same for p < 2^HEAP_ADDR_BITS (the caller checked). */
static inline heapArena *arena_of_heap_addr(uintptr_t p)
{
#if ARENA_L1_BITS == 0
	return LOAD_RELAXED(&arena_l2[p >> ARENA_SHIFT]);
#else
	heapArena **l2 = LOAD_RELAXED(&arena_l1[p >> (ARENA_SHIFT + ARENA_L2_BITS)]);
	if (UNLIKELY(!l2))
		return NULL;
	return LOAD_RELAXED(&l2[(p >> ARENA_SHIFT) & ((1u << ARENA_L2_BITS) - 1)]);
#endif
}

/* The arena holding address p, or NULL when p is in no arena (NULL for
 * p == 0: no arena starts at address 0, arena_register checks it). */
static inline heapArena *arena_of(uintptr_t p)
{
#if ARENA_L1_BITS == 0
	/* (one shift for the test and the index) */
	uintptr_t i = p >> ARENA_SHIFT;
	if (UNLIKELY(i >= ((uintptr_t)1 << ARENA_L2_BITS)))
		return NULL;
	return LOAD_RELAXED(&arena_l2[i]);
#else
	if (UNLIKELY(p >> HEAP_ADDR_BITS))
		return NULL;
	return arena_of_heap_addr(p);
#endif
}

static inline mspan *span_of(heapArena *ha, uintptr_t p)
{
	return LOAD_RELAXED(&ha->spans[(p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)]);
}

heapArena *arena_new(uintptr_t base) INTERNAL; /* heap lock */
bool arena_register(heapArena *ha) INTERNAL;   /* heap lock */

/* ---- mheap (heap.c) ----------------------------------------------------- */

typedef struct mheap {
	mutex lock;
	heapArena *arenas;   /* address order */
	fixalloc spanalloc;  /* mspan */
	fixalloc cachealloc; /* mcache */
	fixalloc bitsalloc;  /* 3 x 16 words of span bitmaps, nelems > 64 */
	fixalloc tinyalloc;  /* tiny masks of a tiny span */
	fixalloc arenaalloc; /* heapArena */
	/* page counts, under lock */
	uint64_t pagesInUse;
	uint64_t pagesCommitted;
	uint64_t pagesScav; /* committed, free and released */
	uint64_t narenas;
	uint64_t lastScavenge;  /* os_nanotime of the last scavenger tick */
	uint64_t ticks;         /* heap operations, to pace clock reads */
	uint64_t releasedTotal; /* pages ever released */
} mheap;

extern mheap mheap_ INTERNAL;

void heap_init(void) INTERNAL;
mspan *heap_alloc_span(size_t npages, size_t alignPages, unsigned spanclass) INTERNAL;
void heap_free_span(mspan *s) INTERNAL;
bool heap_grow_in_place(mspan *s, size_t npages) INTERNAL;
void heap_scavenge(bool force) INTERNAL;
mspan *heap_alloc_span_struct(void) INTERNAL; /* heap lock */

/* ---- mcentral (central.c) ----------------------------------------------- */

typedef struct mcentral {
	mutex lock;
	uint8_t spanclass;
	spanlist partial; /* owner == NO_OWNER, maybe free objects (swept or needsweep) */
	spanlist full;    /* owner == NO_OWNER, no free object at the last sweep */
	uint64_t nspans;  /* spans of this class not returned to the heap */
} __attribute__((aligned(CACHE_LINE))) mcentral;

extern mcentral mcentral_[NUM_SPAN_CLASSES] INTERNAL;

void central_init(void) INTERNAL;
mspan *central_cache_span(mcentral *c, mcache *owner) INTERNAL;
/* torn: s may have been left mid-update by a thread lost in a fork. */
void central_uncache_span(mcentral *c, mspan *s, bool torn) INTERNAL;
void central_remote_freed(mspan *s) INTERNAL;

/* ---- mcache (cache.c) --------------------------------------------------- */

#define PARK_MAX_BYTES (2048 * 1024)
#define LARGE_CACHE_SLOTS 8
#define LARGE_CACHE_PAGES 32 /* 256 KiB */
#define LARGE_CACHE_TOTAL 64 /* 512 KiB per thread */

/*
 * Allocation counters: each mcache's own (written by its thread only, with
 * COUNTER_ADD, read by sa_read_memstats with relaxed loads), and their
 * sums.
 */
typedef struct cache_counters {
	uint64_t nmalloc[NUM_SIZE_CLASSES]; /* [0]: large objects */
	uint64_t nfree[NUM_SIZE_CLASSES];
	uint64_t largeAlloc;     /* bytes of large objects allocated */
	uint64_t largeFree;      /* bytes of large objects freed */
	uint64_t tinyAllocs;     /* tiny sub-objects allocated */
	uint64_t tinyFrees;      /* tiny sub-objects freed */
	uint64_t tinyBlocks;     /* tiny blocks taken (16 B each) */
	uint64_t tinyBlocksFree; /* tiny blocks released */
	uint64_t ncaches;        /* sums only: live caches */
} cache_counters;

/*
 * Per-thread cache, reached through TLS, no lock.  alloc[spc] is never
 * NULL: an empty cache points at emptyspan, whose allocCache is 0, so the
 * fast path has a single test.
 *
 * The counters are written by the owner only and read by
 * sa_read_memstats (relaxed).
 */
struct mcache {
	mspan *alloc[NUM_SPAN_CLASSES];
	/*
	 * Spans this cache exhausted and still owns (mimalloc keeps full pages
	 * with their thread the same way): frees into them by this thread stay
	 * local and atomic-free.  A parked span moves to ready when local
	 * frees leave an eighth of it free; the oldest parked span goes back to
	 * its mcentral when more than PARK_MAX_BYTES are parked in a class.
	 * A ready span that local frees empty goes back too, but for the
	 * class's last one if it is a single page (cache_span_reusable).
	 */
	spanlist parked[NUM_SPAN_CLASSES];
	spanlist ready[NUM_SPAN_CLASSES];
	uintptr_t tiny;          /* current tiny block, or 0 */
	uintptr_t tinyoffset;    /* next free byte in it */
	struct tinyrec *tinyRec; /* its record */
	uint32_t tinyCount;      /* sub-objects handed out from it */
	/*
	 * Freed large spans of up to LARGE_CACHE_PAGES pages, kept for the
	 * next large malloc of the same page count (state mSpanCached; at
	 * most LARGE_CACHE_TOTAL pages in all, flushed at thread exit).
	 */
	mspan *largeCache[LARGE_CACHE_SLOTS];
	uint32_t nlargeCache;
	uint32_t largeCachePages;
	cache_counters st; /* this thread's allocation counters */
	/*
	 * The span this thread is freeing into remotely, from just before the
	 * OR that publishes the free to just after its last access to the
	 * span (malloc.c, remote_free), else NULL: a pin.  Once the OR is
	 * seen, a sweep may find the span empty; central_uncache_span then
	 * waits until no pin names it (cache_wait_remote_frees) before it
	 * gives it to the heap, which would hand the mspan out again.  Written
	 * by the owner (relaxed, then release), read by that wait (acquire).
	 * Threads without an mcache pin in orphan_pins instead.
	 */
	mspan *remoteFreeing;
	mcache *next, *prev; /* allcaches, under caches_lock */
#ifdef SA_DEBUG
	struct quarantine quarantine;
	uint32_t dbgBusy; /* debug-layer operations begun and ended: odd while in one (atomic) */
#endif
};

extern mspan emptyspan INTERNAL;
/*
 * The cache of a thread that has none yet (or whose cache was retired at
 * its exit), so that the fast paths need no NULL test: every alloc[] is
 * emptyspan, so malloc's fast path fails into malloc_slow, which makes
 * the thread a real cache; it owns no span (no span's owner is ever
 * &nocache, as none is NO_OWNER's 1), so free's owner test fails into
 * remote_free, which gets the thread its cache (cache_get_for_free), or
 * takes the orphan path once the thread's cache was retired.  Nothing writes it.  Only the
 * fast paths see it (cache_fast); everything else sees NULL
 * (cache_current).
 */
extern mcache nocache INTERNAL;
/* This thread's mcache, &nocache when it has none. */
extern __thread mcache *tls_mcache INTERNAL __attribute__((tls_model("initial-exec")));

mcache *cache_get_slow(void) INTERNAL;
mcache *cache_get_for_free(void) INTERNAL; /* NULL: free without one */
void *cache_refill_alloc(mcache *c, unsigned spc) INTERNAL;
void cache_flush(mcache *c, bool torn) INTERNAL;
void cache_span_reusable(mcache *c, mspan *s) INTERNAL;
void cache_wait_remote_frees(const mspan *s) INTERNAL; /* no lock but caches_lock */
/*
 * The remote-free pins of threads without an mcache: a slot claimed with a
 * compare-and-swap (cache_pin_orphan returns it holding s; the freer
 * stores NULL after its last access to s, like a cache's remoteFreeing).
 */
#define ORPHAN_PINS 16
mspan **cache_pin_orphan(mspan *s) INTERNAL;
void cache_fork_prepare(void) INTERNAL;
void cache_fork_parent(void) INTERNAL;
void cache_fork_child(void) INTERNAL;
void cache_sum_counters(cache_counters *t) INTERNAL;
bool cache_any_busy(void) INTERNAL;
uint64_t cache_debug_ops(const mcache *self, bool *busy) INTERNAL;
/* Frees by threads that have no mcache, counted atomically. */
extern cache_counters orphan INTERNAL;
/* False after a fork that lost threads: counters may be off by the
 * operations those threads were in the middle of. */
extern bool counters_exact INTERNAL;

/* The calling thread's cache for the fast paths: &nocache when it has none. */
static inline mcache *cache_fast(void) { return tls_mcache; }

/* The cache of a fast path's c, NULL for nocache. */
static inline mcache *cache_real(mcache *c) { return c == &nocache ? NULL : c; }

/* The allocating thread's cache, or NULL when it has none yet. */
static inline mcache *cache_current(void) { return cache_real(tls_mcache); }

/* Whether this thread may change s's allocation state: its mcache owns
 * s, or it holds s's class lock (for DCHECK: true in production). */
static inline bool span_owned(const mspan *s)
{
	mcache *c = cache_current();
	return (c && LOAD_RELAXED(&s->owner) == c) || lock_held(&mcentral_[s->spanclass].lock);
}

/* ---- small objects (malloc.c helpers shared with tiny.c) ---------------- */

/*
 * Start fetching the object the next malloc of this class takes: obj was
 * just taken, next is allocCache after it (bit 0: the object after obj;
 * with no bit set, 64 past obj: a prefetch never faults).  Allocation goes
 * in address order, not LIFO, so in a span that frees made reusable it
 * hands out objects freed long ago, whose lines have left the cache:
 * mimalloc-bench's larson spent 75% of its time in the program's first
 * write to a new block.
 */
static inline void prefetch_next_free(uintptr_t obj, uint64_t next, uintptr_t size)
{
	unsigned n = (unsigned)__builtin_ctzll(next | (1ull << 63)) + 1u; /* (unsigned: no sign extension) */
	__builtin_prefetch((const void *)(obj + (uintptr_t)n * size), 1, 3);
}

/*
 * Take a free object from c's span of class spc into *p: nextFreeFast, Go's
 * fast path.  False when the span's cached word has no free object.
 */
static inline bool take_free_fast(mcache *c, unsigned spc, uintptr_t *p)
{
	mspan *s = c->alloc[spc];
	uint64_t cache = s->allocCache;
	if (UNLIKELY(!cache))
		return false;
	unsigned tz = (unsigned)__builtin_ctzll(cache);
	unsigned idx = s->freeindex + tz;
	DCHECK(idx < s->nelems); /* allocCache has no bit past nelems */
	unsigned nf = idx + 1;
	s->freeindex = (uint16_t)nf;
	/* At a word's end this leaves allocCache 0 (the shift takes the
	 * word's last bit out): span_next_free loads the next word. */
	uint64_t next = (cache >> tz) >> 1;
	s->allocCache = next;
	uint64_t *w = &s->gcmarkBits[idx / 64];
	/* (relaxed load: gcc then makes load, bts, store, not a mask's
	 * three instructions and an OR into memory) */
	STORE_RELAXED(w, LOAD_RELAXED(w) | (1ull << (idx % 64)));
	uintptr_t obj = s->startAddr + idx * s->elemsize;
	*p = obj;
	prefetch_next_free(obj, next, s->elemsize);
	return true;
}

/* The same, returning the object or 0. */
static inline uintptr_t next_free_fast(mcache *c, unsigned spc)
{
	uintptr_t p;
	return take_free_fast(c, spc, &p) ? p : 0;
}

static inline uintptr_t small_alloc(mcache *c, unsigned spc)
{
	uintptr_t p = next_free_fast(c, spc);
	if (LIKELY(p))
		return p;
	return (uintptr_t)cache_refill_alloc(c, spc);
}

void small_free(mcache *c, mspan *s, uintptr_t p) INTERNAL;
void *core_malloc(size_t size, bool zero) INTERNAL;
void *core_aligned(size_t align, size_t size) INTERNAL;
void core_release(mspan *s, uintptr_t idx, uintptr_t p, bool count) INTERNAL;
void core_count_free(mspan *s) INTERNAL;
/* The production build's C++ operators (cxx.c) over malloc.c's paths. */
void *core_new(size_t size) INTERNAL;         /* throws (plain new, new[]) */
void *core_new_nothrow(size_t size) INTERNAL; /* NULL when out of memory */
void *core_new_aligned(size_t align, size_t size) INTERNAL;
void core_delete(void *ptr) INTERNAL;
void core_delete_sized(void *ptr, size_t size) INTERNAL;
void core_delete_aligned_sized(void *ptr, size_t size) INTERNAL;
void *cxx_new_failed(size_t size) INTERNAL; /* plain new's retry loop (cxx.c) */

/* ---- tiny.c and large.c ------------------------------------------------- */

void *tiny_alloc(mcache *c, size_t size) INTERNAL;

/* The alignment a tiny object of size bytes gets: what any object that
 * size can need (the largest power of two dividing it, at most 8). */
static inline size_t tiny_align(size_t size) { return size & 7 ? size & -size : 8; }
void tiny_free(mcache *c, mspan *s, uintptr_t p) INTERNAL;
size_t tiny_usable_size(mspan *s, uintptr_t p) INTERNAL;
unsigned tiny_live(mspan *s, uintptr_t block) INTERNAL;
void tiny_retire(mcache *c) INTERNAL;

void *large_alloc(mcache *c, size_t size, size_t align, bool zero) INTERNAL; /* c may be &nocache */
void large_free(mcache *c, mspan *s, uintptr_t p, bool count) INTERNAL;
void large_cache_flush(mcache *c) INTERNAL;
bool large_resize_in_place(mcache *c, mspan *s, size_t size) INTERNAL;

/* ---- options.c ---------------------------------------------------------- */

/*
 * X(type, name, default, debug-only, doc).  Debug-only options are
 * accepted by the production build with a warning that they do nothing.
 */
#define SA_OPTIONS(X)                                                                                                                                                                            \
	X(bool, stats, 0, 0, "print the heap statistics to stderr at exit")                                                                                                                      \
	X(int, scavenge_ms, 1000, 0, "release free pages to the OS after this many ms idle (0: at once, -1: never)")                                                                             \
	X(bool, abort_on_error, 1, 0, "abort after reporting a heap bug (0: report and go on where that is safe)")                                                                               \
	X(bool, help, 0, 0, "print the options and their defaults to stderr")                                                                                                                    \
	X(bool, tiny, 0, 0,                                                                                                                                                                      \
	  "pack requests of 1..8 B into shared 16-byte blocks (Go's tiny allocator): denser for tiny objects, but each of their frees is a compare-and-swap")                                    \
	X(bool, efence, 0, 1,                                                                                                                                                                    \
	  "every block up to 32 KiB on pages of its own, as many as a quarter of vm.max_map_count allows")                                                                                       \
	X(int, quarantine_kb, 1024, 1, "KiB of freed blocks each thread holds back from reuse")                                                                                                  \
	X(int, malloc_context, 16, 1, "frames kept of each allocation and free stack (0: none)")                                                                                                 \
	X(path, log_path, "", 1, "write reports to PATH.<pid> instead of stderr")                                                                                                                \
	X(int, exitcode, 0, 1, "exit status of a program that had reports (0: its own)")                                                                                                         \
	X(bool, check_at_exit, 1, 1, "check every block's canaries and every freed block's poison at exit")                                                                                      \
	X(int, guarded_slots, 256, 1,                                                                                                                                                            \
	  "blocks on guarded pages at once: half for the first blocks, half for sampled ones (0: none)")                                                                                         \
	X(int, sample_rate, 1000, 1,                                                                                                                                                             \
	  "after the first guarded_slots/2 blocks, one in N goes to a guarded slot (0: none)")                                                                                                   \
	X(int, fuzz, -1, 1,                                                                                                                                                                      \
	  "the fuzzing preset: guarded blocks sampled one in fuzz_sample_rate, under libFuzzer only while an input runs (-1: on when the program is a libFuzzer target or runs under afl-fuzz)") \
	X(int, fuzz_sample_rate, 32, 1,                                                                                                                                                          \
	  "under the fuzzing preset, one allocation in N goes to a guarded slot (1: every one while slots are free)")                                                                            \
	X(bool, guard_input, 1, 1,                                                                                                                                                               \
	  "under libFuzzer, its copy of each input ends at a guard page, so a read one byte past the input faults (0: a normal debug block)")                                                    \
	X(bool, guard_zero, 1, 1,                                                                                                                                                                \
	  "malloc(0) blocks get unique addresses no access can touch (0: ordinary 1-byte blocks)")                                                                                               \
	X(bool, fast_unwind, 1, 1,                                                                                                                                                               \
	  "allocation and free stacks by frame pointers (0: by .eh_frame, complete without -fno-omit-frame-pointer)")                                                                            \
	X(bool, symbolize, 1, 0,                                                                                                                                                                 \
	  "print frames as function file:line with llvm-symbolizer or addr2line (0: module+offset)")                                                                                             \
	X(path, external_symbolizer_path, "", 0,                                                                                                                                                 \
	  "the symbolizer to run (llvm-symbolizer or addr2line; default: the first on PATH)")                                                                                                    \
	X(bool, detect_leaks, 1, 1, "check for leaks at exit (a conservative mark from the roots)")                                                                                              \
	X(int, leak_exitcode, 23, 1, "exit status of a run with leaks (0: its own)")                                                                                                             \
	X(path, suppressions, "", 1, "file of leak:PATTERN lines: leaks whose stack matches are not reported")                                                                                   \
	X(int, max_leaks, 0, 1, "report at most this many leak stacks (0: all)")                                                                                                                 \
	X(bool, report_indirect, 1, 1, "report leaks reached only from other leaks (indirect)")                                                                                                  \
	X(int, malloc_limit_mb, 0, 1, "abort on one request of this many MiB or more (0: no limit)")

typedef char path[256];
typedef struct sa_options {
#define X(type, name, def, dbg, doc) type name;
	SA_OPTIONS(X)
#undef X
} sa_options;

extern sa_options opts INTERNAL;
void options_init(void) INTERNAL;
void stats_at_start(void) INTERNAL;
void stats_at_exit(void) INTERNAL;
int options_parse(const char *s, sa_options *o, bool report) INTERNAL; /* errors found */
extern bool options_parsed INTERNAL;

/* ---- init, reports ------------------------------------------------------ */

extern int sa_inited INTERNAL;
void sa_init_slow(void) INTERNAL;
static inline void sa_ensure_init(void)
{
	if (UNLIKELY(!__atomic_load_n(&sa_inited, __ATOMIC_ACQUIRE)))
		sa_init_slow();
}

enum sa_bug {
	BUG_DOUBLE_FREE,
	BUG_INVALID_FREE,
	BUG_REALLOC_FREED,
	BUG_CORRUPT,
	BUG_OVERFLOW,         /* canary after the block changed */
	BUG_UNDERFLOW,        /* redzone before the block changed */
	BUG_WRITE_AFTER_FREE, /* poison of a free block changed */
	BUG_GUARD,            /* fault in a guard page */
	BUG_USE_AFTER_FREE,   /* fault in a freed block's pages (efence) */
	/* C++ (cxx.c): a block freed by the wrong family; the allocation's
	 * family is the bug, the call names the deallocation (debug build) */
	BUG_MISMATCH_MALLOC,    /* malloc-family block, deleted */
	BUG_MISMATCH_NEW,       /* operator new block, freed or delete[]d */
	BUG_MISMATCH_NEW_ARRAY, /* operator new[] block, freed or deleted */
	BUG_SIZED_DELETE,       /* sized delete, the wrong size */
	BUG_ALIGNED_DELETE,     /* delete with the wrong alignment (debug build) */
};
extern int report_fd INTERNAL;    /* stderr, or the log_path file */
extern unsigned reports INTERNAL; /* heap bugs reported so far */
/*
 * Report a heap bug in the program at p (s: its span, or NULL) and abort
 * unless abort_on_error=0.  Never called with a lock held (DCHECK).
 */
void sa_report(enum sa_bug bug, const char *call, uintptr_t p, mspan *s, const char *detail) INTERNAL;
void report_fork_child(void) INTERNAL; /* a fork child: no thread is reporting */
/* The span of the live block at p (malloc.c), or NULL after reporting. */
mspan *core_lookup(uintptr_t p, uintptr_t *idx, const char *call, enum sa_bug freed) INTERNAL;
__attribute__((noreturn)) void sa_fatal(const char *msg) INTERNAL;

/*
 * Print a stack to report_fd, a frame a line in ASan's style: "#N 0xPC in
 * function file:line (module+0xoffset)", symbolized by an external
 * symbolizer (symbolize.c), "#N 0xPC (module+0xoffset)" without one.
 * pcs are return addresses, but for pcs[0] when exact0 (a faulting
 * instruction).  Never allocates.
 */
void sa_print_frames(const uintptr_t *pcs, unsigned n, bool exact0) INTERNAL;
void sa_symbolize_end(void) INTERNAL; /* a report is done: its long-lived symbolizer ends */
/* Symbolize pcs (return addresses) and call match on each function and
 * file:line found, inlined ones too, until it returns true (the leak
 * check's suppressions).  False when nothing matched or there is no
 * symbolizer. */
bool sa_frames_match(const uintptr_t *pcs, unsigned n, bool (*match)(const char *func, const char *file, void *arg),
		     void *arg) INTERNAL;

/*
 * spanalloc's code sits in a section of its own, sa_text (the Makefile
 * renames every object's .text* sections), in the .so and in a program
 * linked with the .a alike, so that a report can cut spanalloc's frames
 * from a stack.  Weak: a build that does not rename (the fuzz harnesses)
 * gets whole stacks.
 */
extern const char __start_sa_text[] __attribute__((weak, visibility("hidden")));
extern const char __stop_sa_text[] __attribute__((weak, visibility("hidden")));

/* A tiny formatter that never allocates (reports run inside malloc). */
typedef struct strbuf {
	char *buf;
	size_t len, cap;
} strbuf;
void sb_str(strbuf *b, const char *s) INTERNAL;
void sb_dec(strbuf *b, uint64_t v) INTERNAL;
void sb_hex(strbuf *b, uint64_t v) INTERNAL;
/* printf's %s, %u (also %lu, %llu, %zu), %p (as sb_hex) and %%, no
 * other conversion, no width: the compiler checks the arguments, nothing
 * allocates (reports come from signal handlers and under locks). */
void sb_fmt(strbuf *b, const char *fmt, ...) INTERNAL __attribute__((format(printf, 2, 3)));
void sb_report_prefix(strbuf *b) INTERNAL; /* "==PID== spanalloc: " */

#include "debug/hooks.h" /* the debug layer's hooks: no-ops in production */

#endif
