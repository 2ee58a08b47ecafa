/*
 * The entry points: routing by size, C / POSIX error rules, and the
 * exported names.  The data-structure work lives in the tiers; see
 * internal.h for the overview.
 *
 *   1 .. 32 KiB      the size class's span in the thread's mcache
 *   0 .. 8 with tiny=1   tiny.c (packed 16-byte blocks), instead
 *   over 32 KiB      large.c (a span of its own)
 *
 * Every free is checked: the pointer must be in an arena, on a page of an
 * in-use span, at an object start, and the object must be live.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "spanalloc.h"
#include "track.h"

#define EXPORT __attribute__((visibility("default")))

static_assert(SA_NUM_SIZE_CLASSES == NUM_SIZE_CLASSES, "public class count");

/*
 * A program linked with libspanalloc.a gets the C++ operators with
 * malloc, whatever the link order.  clang -fsanitize=fuzzer puts libFuzzer
 * and -lstdc++ before the program's own files and libraries: libFuzzer's
 * operator new[] (its input copy: guarded.c, copy_first) and a C++
 * target's own new and delete were then bound to libstdc++'s, which calls
 * malloc, and the debug build saw every block as malloc's (no new/delete
 * mismatch, no input copy).  With cxx.o in the program, the program's
 * definitions win and are exported.  (cxx.c needs no C++ runtime.)
 */
extern const char sa_cxx_operators;
__attribute__((used)) static const char *const need_cxx_operators = &sa_cxx_operators;

/* ---- allocation ---------------------------------------------------------- */

static NOINLINE void *malloc_slow(size_t size, bool zero)
{
	mcache *c = cache_current();
	if (!c && !(c = cache_get_slow()))
		return NULL;
	if (size <= TINY_MAX && !SA_DEBUG_BUILD && UNLIKELY(opts.tiny)) {
		void *p = tiny_alloc(c, size ? size : 1);
		if (p && zero)
			memset(p, 0, size);
		return p;
	}
	if (size <= MAX_SMALL_SIZE) {
		unsigned cls = size_to_class(size ? size : 1);
		uintptr_t p = small_alloc(c, cls);
		if (!p)
			return NULL;
		COUNTER_ADD(&c->st.nmalloc[cls], 1);
		if (zero && c->alloc[cls]->needzero)
			memset((void *)p, 0, size);
		return (void *)p;
	}
	return large_alloc(c, size, PAGE_SIZE, zero);
}

/*
 * With tiny=1 the 8-byte class is never cached (its alloc[] stays
 * emptyspan), so sizes 0..8 fall through to malloc_slow and the tiny
 * allocator at no cost to this path.  Size 0 takes class 1 here
 * (size_to_class8[0]), as in malloc_slow.
 */
static inline __attribute__((always_inline)) void *malloc_impl(size_t size)
{
	mcache *c = cache_fast(); /* nocache's spans are all empty: no NULL test */
	if (LIKELY(size <= MAX_SMALL_SIZE)) {
		unsigned cls = size_to_class(size);
		uintptr_t p;
		if (LIKELY(take_free_fast(c, cls, &p))) {
			COUNTER_ADD(&c->st.nmalloc[cls], 1);
			return (void *)p;
		}
		return malloc_slow(size, false);
	}
	return large_alloc(c, size, PAGE_SIZE, false); /* (one jump, not through malloc_slow) */
}

/*
 * Objects aligned to align (a power of two, > 16 or beyond what the size
 * alone gets): the smallest size class whose objects are all aligned,
 * else a large span at an aligned page.
 */
static void *aligned_impl(size_t align, size_t size)
{
	if (size == 0) /* an aligned block all the same (found by fuzz_tiny) */
		size = 1;
	/* Sizes 9..15 get the 16-byte class, 1..8 the 8-byte class, or with
	 * tiny=1 a tiny object aligned to the size's lowest bit. */
	size_t natural = size > TINY_MAX ? TINY_SIZE : !SA_DEBUG_BUILD && opts.tiny ? tiny_align(size) : TINY_MAX;
	if (align <= natural || (align <= TINY_SIZE && size >= TINY_SIZE))
		return malloc_impl(size);
	if (align > ARENA_SIZE || size > SIZE_MAX - align) {
		errno = ENOMEM;
		return NULL;
	}
	if (size < TINY_SIZE)
		size = TINY_SIZE; /* classes 16 B and up are what align a block */
	if (align <= PAGE_SIZE && size <= MAX_SMALL_SIZE) {
		mcache *c = cache_current();
		if (!c && !(c = cache_get_slow()))
			return NULL;
		/* Objects start at multiples of their size in a page-aligned span. */
		for (unsigned cls = size_to_class(size); cls < NUM_SIZE_CLASSES; cls++) {
			if (class_to_size[cls] % align == 0) {
				uintptr_t p = small_alloc(c, cls);
				if (p)
					COUNTER_ADD(&c->st.nmalloc[cls], 1);
				return (void *)p;
			}
		}
	}
	mcache *c = cache_current();
	if (!c && !(c = cache_get_slow()))
		return NULL;
	return large_alloc(c, size, align, false);
}

static bool is_pow2(size_t x) { return x && !(x & (x - 1)); }

/* ---- free ---------------------------------------------------------------- */

/*
 * A free of object idx of s that is not live: a double free, or, for the
 * index past the span's last object (its tail), an invalid one.
 */
static NOINLINE void bad_free(mspan *s, uintptr_t idx)
{
	uintptr_t p = s->startAddr + idx * s->elemsize;
	if (idx >= s->nelems)
		sa_report(BUG_INVALID_FREE, "free", p, s, "not the start of an object");
	else
		sa_report(BUG_DOUBLE_FREE, "free", p, s, NULL);
}

/*
 * A free into a span the thread does not own: one atomic bit.
 *
 * The OR that sets the remoteBit publishes the free: from then on a sweep
 * in another thread may collect it, find the span empty and give it back
 * to the heap, which hands the mspan out again.  So the freer pins the
 * span from before the OR until its last access to it (the needsweep
 * step, the stats, a double free's report): c->remoteFreeing, or for a
 * thread without an mcache a slot of orphan_pins (internal.h).  A release
 * waits until no pin names the span (cache_wait_remote_frees).
 *
 * Publish the free of object (w, bit) of the pinned span s; false after
 * reporting a double free.
 */
static inline __attribute__((always_inline)) bool publish_remote_free(mspan *s, size_t w, uint64_t bit, uintptr_t p)
{
#if SA_FAULT == 3
	static unsigned remotes;
	if (__atomic_add_fetch(&remotes, 1, __ATOMIC_RELAXED) % 8 == 0)
		return true; /* planted bug: the free is lost */
#endif
	uint64_t old = __atomic_fetch_or(&s->remoteBits[w], bit, __ATOMIC_SEQ_CST);
	if (UNLIKELY(old & bit)) {
		sa_report(BUG_DOUBLE_FREE, "free", p, s, NULL);
		return false;
	}
	if (__atomic_load_n(&s->needsweep, __ATOMIC_SEQ_CST) == 0 &&
	    __atomic_exchange_n(&s->needsweep, 1, __ATOMIC_SEQ_CST) == 0)
		central_remote_freed(s);
	return true;
}

/* remote_free by a thread without an mcache. */
static NOINLINE void orphan_remote_free(mspan *s, size_t w, uint64_t bit, uintptr_t p, bool count)
{
	mspan **pin = cache_pin_orphan(s);
	if (publish_remote_free(s, w, bit, p) && count)
		ORPHAN_COUNTER_ADD(nfree[s->spanclass], 1);
	__atomic_store_n(pin, NULL, __ATOMIC_RELEASE);
}

/*
 * c: the thread's cache; &nocache from free() itself, when the thread has
 * none yet: it frees but has not allocated (larson's threads free their
 * predecessors' blocks), and gets its cache here, so that this free and
 * its next ones pin in the cache and count in it, not through the orphan
 * pins' compare-and-swap and atomic adds.  NULL from the allocator's own
 * frees (tiny_free, the debug build's core_release), which leave it so.
 */
static NOINLINE void remote_free(mcache *c, mspan *s, size_t w, uint64_t bit, uintptr_t p, bool count)
{
	if (UNLIKELY(!(LOAD_RELAXED(&s->gcmarkBits[w]) & bit))) {
		bad_free(s, (uintptr_t)w * 64 + (unsigned)__builtin_ctzll(bit));
		return;
	}
	if (UNLIKELY(c == &nocache))
		c = cache_get_for_free();
	if (UNLIKELY(!c)) {
		orphan_remote_free(s, w, bit, p, count);
		return;
	}
	/* (the OR orders this store before itself) */
	STORE_RELAXED(&c->remoteFreeing, s);
	if (publish_remote_free(s, w, bit, p) && count)
		COUNTER_ADD(&c->st.nfree[s->spanclass], 1);
	/* The last access to s: a release waiting on the pin may go on. */
	__atomic_store_n(&c->remoteFreeing, NULL, __ATOMIC_RELEASE);
}

/*
 * Free object idx of small span s: locally when c owns s, else remotely
 * (c may be NULL or &nocache: neither owns a span).
 * Counts the free in c's stats when count is set.  (The object's address
 * is worked out again where it is needed, off the fast path, which keeps
 * it in the caller-saved registers.)
 */
static inline void free_object(mcache *c, mspan *s, uintptr_t idx, bool count)
{
	size_t w = idx / 64;
	unsigned b = idx % 64;
	if (LIKELY(LOAD_RELAXED(&s->owner) == c)) {
		/* Our own span: plain stores, no atomics.  (Bits tested and
		 * cleared by shifts of the word, not with a mask: gcc makes bt
		 * and btr of them, three instructions fewer than the mask's.) */
		uint64_t g = s->gcmarkBits[w];
		if (UNLIKELY(!((g >> b) & 1) || ((LOAD_RELAXED(&s->remoteBits[w]) >> b) & 1))) {
			bad_free(s, idx);
			return;
		}
		STORE_RELAXED(&s->gcmarkBits[w], g & ~(1ull << b));
		/*
		 * Freeing the object just allocated (malloc/free pairs, LIFO
		 * use): give it back to allocCache so it is reused while warm.
		 * Bit i of allocCache is object freeindex + i at any
		 * freeindex (internal.h), so the shift is right across a word's
		 * start too; the bit shifted out at the top is found again in
		 * allocBits once allocCache runs dry.  (LIKELY for the layout:
		 * in line, it costs the other frees no instruction, only a
		 * taken branch; out of line, it cost its own a jump back.)
		 */
		unsigned fi = s->freeindex;
		if (LIKELY(idx + 1 == fi)) {
			s->freeindex = (uint16_t)idx;
			s->allocCache = (s->allocCache << 1) | 1;
			s->needzero = 1;
		}
		if (count)
			COUNTER_ADD(&c->st.nfree[s->spanclass], 1);
		/* Last, so that the common case returns without a frame. */
		if (UNLIKELY(--s->reuseIn == 0))
			cache_span_reusable(c, s);
		return;
	}
	remote_free(c, s, w, 1ull << b, s->startAddr + idx * s->elemsize, count);
}

void small_free(mcache *c, mspan *s, uintptr_t p) { free_object(c, s, span_object_index(s, p), false); }

/*
 * The span holding heap pointer p for a free-like call, or NULL after
 * reporting why p cannot have come from malloc.
 */
static NOINLINE mspan *bad_pointer(uintptr_t p, heapArena *ha, const char *call)
{
	if (!ha)
		sa_report(BUG_INVALID_FREE, call, p, NULL, "not a spanalloc heap address");
	else
		sa_report(BUG_DOUBLE_FREE, call, p, NULL,
			  "no block there: its pages are free (freed twice, or never allocated)");
	return NULL;
}

/*
 * C++'s sized delete (cxx.c) gives the size the block was allocated with:
 * a size its block's class could not have come from is a bug
 * (new-delete-type-mismatch).
 */
static NOINLINE void sized_delete_mismatch(uintptr_t p, mspan *s, size_t size, size_t lo, size_t hi)
{
	char buf[160];
	strbuf b = {buf, 0, sizeof buf};
	sb_fmt(&b, "size given to delete: %zu bytes; blocks of this size class hold requests of %zu..%zu bytes", size,
	       lo, hi);
	buf[b.len] = 0;
	sa_report(BUG_SIZED_DELETE, "operator delete", p, s, buf);
}

/* Frees that are not a small object start: large, tiny, or a bad pointer
 * (c: cache_fast()'s). */
static NOINLINE void free_special(mcache *c, mspan *s, uintptr_t p)
{
	c = cache_real(c);
	if (s->spanclass == 0)
		large_free(c, s, p, true);
	else if (s->spanclass == TINY_SPAN_CLASS)
		tiny_free(c, s, p);
	else
		sa_report(BUG_INVALID_FREE, "free", p, s, "not the start of an object");
}

/*
 * The same for C++'s sized delete, which first checks the size: apart, so
 * that free's path to a large block carries no trace of the check.
 */
static NOINLINE void free_special_sized(mcache *c, mspan *s, uintptr_t p, size_t size)
{
	if (s->spanclass == 0) {
		/* Large requests of this span's page count (aligned ones too: a
		 * large aligned span has just the pages its size needs). */
		size_t hi = s->npages * PAGE_SIZE, lo = hi - PAGE_SIZE + 1;
		lo = lo > MAX_SMALL_SIZE ? lo : 0;
		if (UNLIKELY(p == s->startAddr && size - lo > hi - lo)) {
			sized_delete_mismatch(p, s, size, lo, hi);
			return;
		}
	} else if (s->spanclass == TINY_SPAN_CLASS) {
		if (UNLIKELY(size >= TINY_SIZE)) {
			sized_delete_mismatch(p, s, size, 0, TINY_SIZE - 1);
			return;
		}
	}
	free_special(c, s, p);
}

/*
 * A free, and for C++'s sized delete (sized) the one compare of
 * the size against the class's range (lo, hi]: every request that lands
 * in class c is in (class_to_size[c - 1], class_to_size[c]], and an
 * aligned one, which may land in a bigger class, is freed by the aligned
 * delete, which checks only hi (cxx.c).  Always inline: free's copy
 * (sized false) then has no trace of the check.
 */
static inline __attribute__((always_inline)) void free_impl_sized(void *ptr, bool sized, size_t size)
{
	uintptr_t p = (uintptr_t)ptr;
	/* NULL's arena is NULL: free(NULL) costs the fast path no test. */
	heapArena *ha = arena_of(p);
	mspan *s = ha ? span_of(ha, p) : NULL;
	if (UNLIKELY(!s)) {
		if (p)
			bad_pointer(p, ha, "free");
		return;
	}
	mcache *c = cache_fast();
	bool start;
	uintptr_t idx = span_object_index_start(s, p, &start);
	/*
	 * Large and tiny spans have no divMagic, so that the object-start
	 * test alone routes them, and pointers that are no object start, to
	 * free_special.  An object start in the span's tail (idx == nelems)
	 * is not checked here: its bit is never set, so it fails the live
	 * check and bad_free reports it.
	 */
	if (UNLIKELY(!start)) {
		if (sized)
			free_special_sized(c, s, p, size);
		else
			free_special(c, s, p);
		return;
	}
	if (sized) {
		/* [lo, hi]: lo itself (the top of the class below) passes, so
		 * that class 1 holds new(0)'s size 0 as well. */
		size_t lo = class_to_size[s->spanclass - 1];
		if (UNLIKELY(size - lo > s->elemsize - lo)) {
			sized_delete_mismatch(p, s, size, lo, s->elemsize);
			return;
		}
	}
	free_object(c, s, idx, true);
}

/* (always inline: sa_free is then the fast path itself, not a jump to it) */
static inline __attribute__((always_inline)) void free_impl(void *ptr) { free_impl_sized(ptr, false, 0); }

/* ---- usable size and realloc --------------------------------------------- */

/*
 * Usable size of the live block at p, or 0 after reporting that p is not
 * one (call names the API function for the report; freed is the report
 * for a freed block: a double free for free, a use for the others).
 */
static size_t usable_size(uintptr_t p, mspan **sp, const char *call, enum sa_bug freed)
{
	heapArena *ha = arena_of(p);
	mspan *s = ha ? span_of(ha, p) : NULL;
	*sp = s;
	if (!s) {
		bad_pointer(p, ha, call);
		return 0;
	}
	if (s->spanclass == 0) {
		if (p != s->startAddr) {
			sa_report(BUG_INVALID_FREE, call, p, s, "pointer into the middle of a large object");
			return 0;
		}
		if (span_state(s) != mSpanInUse) {
			sa_report(freed, call, p, s, NULL);
			return 0;
		}
		return s->npages * PAGE_SIZE;
	}
	if (s->spanclass == TINY_SPAN_CLASS) {
		size_t n = tiny_usable_size(s, p);
		if (!n)
			sa_report(freed, call, p, s, "no live tiny object starts there");
		return n;
	}
	uintptr_t idx = span_object_index(s, p);
	if (idx * s->elemsize != p - s->startAddr || idx >= s->nelems) {
		sa_report(BUG_INVALID_FREE, call, p, s, "not the start of an object");
		return 0;
	}
	uint64_t bit = 1ull << (idx % 64);
	if (!(LOAD_RELAXED(&s->gcmarkBits[idx / 64]) & bit) || (LOAD_RELAXED(&s->remoteBits[idx / 64]) & bit)) {
		sa_report(freed, call, p, s, NULL);
		return 0;
	}
	return s->elemsize;
}

static __attribute__((unused)) void *realloc_impl(void *ptr, size_t size)
{
	if (!ptr)
		return malloc_impl(size);
	if (size == 0) { /* glibc: free and return NULL */
		free_impl(ptr);
		return NULL;
	}
	uintptr_t p = (uintptr_t)ptr;
	mspan *s;
	size_t old = usable_size(p, &s, "realloc", BUG_REALLOC_FREED);
	if (!old)
		return NULL;
	if (s->spanclass == 0) {
		mcache *c = cache_current();
		if (size > MAX_SMALL_SIZE && c && large_resize_in_place(c, s, size))
			return ptr;
	} else if (size <= old) {
		/* Stay when the block is not much too big for the new size (and,
		 * for a tiny object, aligned enough for it: found by fuzz_tiny). */
		if (s->spanclass == TINY_SPAN_CLASS ? (p & (tiny_align(size) - 1)) == 0
						    : size > old / 2 || size_to_class(size) == s->spanclass)
			return ptr;
	}
	void *q = malloc_impl(size);
	if (!q)
		return NULL;
	memcpy(q, ptr, old < size ? old : size);
	free_impl(ptr);
	return q;
}

/* ---- the core, for the debug layer ---------------------------------------- */

/* A block of size bytes (zeroed if zero), without tiny packing in debug. */
void *core_malloc(size_t size, bool zero) { return malloc_slow(size, zero); }

void *core_aligned(size_t align, size_t size) { return aligned_impl(align, size); }

/*
 * The span and object index of the live block at p, or NULL after
 * reporting why p is not one.  A large block's index is 0.
 */
mspan *core_lookup(uintptr_t p, uintptr_t *idx, const char *call, enum sa_bug freed)
{
	mspan *s;
	if (!usable_size(p, &s, call, freed))
		return NULL;
	*idx = s->spanclass == 0 ? 0 : span_object_index(s, p);
	return s;
}

/* Free the validated block idx of s; count it in the stats if count. */
void core_release(mspan *s, uintptr_t idx, uintptr_t p, bool count)
{
	mcache *c = cache_current();
	if (s->spanclass == 0)
		large_free(c, s, p, count);
	else
		free_object(c, s, idx, count);
}

/* Count a free of the block of s in this thread's stats (debug quarantine). */
void core_count_free(mspan *s)
{
	mcache *c = cache_current();
	unsigned spc = s->spanclass;
	uint64_t large = spc == 0 ? s->npages * PAGE_SIZE : 0;
	CACHE_COUNTER_ADD(c, nfree[spc], 1);
	CACHE_COUNTER_ADD(c, largeFree, large);
}

/* ---- for the C++ operators (cxx.c), production build ----------------------- */

#ifndef SA_DEBUG /* (stays: the API tier; the debug build's operators are debug.c's) */
/* operator new and new[]: the fast path here, inline (flatten), the
 * failure in cxx.c, so that the operators are one jump to this. */
__attribute__((flatten)) void *core_new(size_t size)
{
	void *p = malloc_impl(size);
	return LIKELY(p != NULL) ? p : cxx_new_failed(size);
}
void *core_new_nothrow(size_t size) { return malloc_impl(size); }
void *core_new_aligned(size_t align, size_t size) { return aligned_impl(align, size); }
void core_delete(void *ptr) { free_impl(ptr); }
void core_delete_sized(void *ptr, size_t size) { free_impl_sized(ptr, true, size); }

/*
 * The aligned sized delete: the block may sit in a class bigger than its
 * size needs (the smallest one whose objects are all aligned), so only the
 * top of the range is checked: a size its block cannot hold.
 */
void core_delete_aligned_sized(void *ptr, size_t size)
{
	uintptr_t p = (uintptr_t)ptr;
	heapArena *ha = p ? arena_of(p) : NULL;
	mspan *s = ha ? span_of(ha, p) : NULL;
	if (s) {
		size_t hi = s->spanclass == 0                 ? s->npages * PAGE_SIZE
			    : s->spanclass == TINY_SPAN_CLASS ? TINY_SIZE - 1
							      : s->elemsize;
		if (UNLIKELY(size > hi)) {
			sized_delete_mismatch(p, s, size, 0, hi);
			return;
		}
	}
	free_impl(ptr);
}
#endif

/* ---- the sa_ API ------------------------------------------------------------ */

/* (stays: the API tier, which routes to the debug layer or to the core) */
#ifdef SA_DEBUG
/* The caller's frame, where the debug build's stack traces start. */
#define CALLER_FP ((uintptr_t)__builtin_frame_address(0))
#define API_MALLOC(size, zero) dbg_alloc((size), 0, (zero), CALLER_FP)
#define API_ALIGNED(align, size) dbg_alloc((size), (align), false, CALLER_FP)
#define API_FREE(p) dbg_free((p), CALLER_FP, "free")
#define API_REALLOC(p, size) dbg_realloc((p), (size), CALLER_FP)
#define API_USABLE(p) dbg_usable_size(p)
#else
#define API_MALLOC(size, zero) ((zero) ? malloc_slow((size), true) : malloc_impl(size))
#define API_ALIGNED(align, size) aligned_impl((align), (size))
#define API_FREE(p) free_impl(p)
#define API_REALLOC(p, size) realloc_impl((p), (size))
#define API_USABLE(p) usable_size_api(p)

static size_t usable_size_api(const void *ptr)
{
	if (!ptr)
		return 0;
	mspan *s;
	return usable_size((uintptr_t)ptr, &s, "malloc_usable_size", BUG_REALLOC_FREED);
}
#endif

EXPORT void *sa_malloc(size_t size) { return API_MALLOC(size, false); }

EXPORT void sa_free(void *ptr) { API_FREE(ptr); }

EXPORT void *sa_calloc(size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return API_MALLOC(n, true);
}

EXPORT void *sa_realloc(void *ptr, size_t size) { return API_REALLOC(ptr, size); }

EXPORT void *sa_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return API_REALLOC(ptr, n);
}

EXPORT void *sa_aligned_alloc(size_t alignment, size_t size)
{
	if (!is_pow2(alignment)) {
		errno = EINVAL;
		return NULL;
	}
	return API_ALIGNED(alignment, size);
}

/* memalign has aligned_alloc's rules here (glibc rounds a bad alignment up). */
EXPORT void *sa_memalign(size_t alignment, size_t size) __attribute__((alias("sa_aligned_alloc")));

EXPORT int sa_posix_memalign(void **memptr, size_t alignment, size_t size)
{
	if (!is_pow2(alignment) || alignment % sizeof(void *) != 0)
		return EINVAL;
	int saved = errno;
	void *p = API_ALIGNED(alignment, size);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*memptr = p;
	return 0;
}

static size_t os_page(void)
{
	static size_t pg;
	if (!pg) {
		long v = sysconf(_SC_PAGESIZE);
		pg = v > 0 ? (size_t)v : 4096;
	}
	return pg;
}

EXPORT void *sa_valloc(size_t size) { return API_ALIGNED(os_page(), size); }

EXPORT void *sa_pvalloc(size_t size)
{
	size_t pg = os_page();
	if (size > SIZE_MAX - pg) {
		errno = ENOMEM;
		return NULL;
	}
	size = size ? (size + pg - 1) & ~(pg - 1) : pg;
	return API_ALIGNED(pg, size);
}

EXPORT size_t sa_malloc_usable_size(const void *ptr) { return API_USABLE(ptr); }

/*
 * The standard family, for linking and LD_PRELOAD.  -DSA_NO_STD_NAMES
 * leaves them out, for programs that keep their own malloc next to the
 * sa_ API (the fuzz harnesses under AddressSanitizer, which has its own).
 */
#ifndef SA_NO_STD_NAMES
#define ALIAS(name) __attribute__((alias(#name), visibility("default")))
void *malloc(size_t size) ALIAS(sa_malloc);
void free(void *ptr) ALIAS(sa_free);
void *calloc(size_t nmemb, size_t size) ALIAS(sa_calloc);
void *realloc(void *ptr, size_t size) ALIAS(sa_realloc);
void *reallocarray(void *ptr, size_t nmemb, size_t size) ALIAS(sa_reallocarray);
void *aligned_alloc(size_t alignment, size_t size) ALIAS(sa_aligned_alloc);
int posix_memalign(void **memptr, size_t alignment, size_t size) ALIAS(sa_posix_memalign);
void *memalign(size_t alignment, size_t size) ALIAS(sa_memalign);
void *valloc(size_t size) ALIAS(sa_valloc);
void *pvalloc(size_t size) ALIAS(sa_pvalloc);
size_t malloc_usable_size(void *ptr) ALIAS(sa_malloc_usable_size);
void cfree(void *ptr) ALIAS(sa_free);
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);
EXPORT void free_sized(void *ptr, size_t size)
{
	(void)size;
	API_FREE(ptr);
}
EXPORT void free_aligned_sized(void *ptr, size_t alignment, size_t size)
{
	(void)alignment, (void)size;
	API_FREE(ptr);
}
#endif /* SA_NO_STD_NAMES */
