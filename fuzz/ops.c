/*
 * The operation engine and heap model of the spanalloc fuzz harnesses.
 * See ops.h for the input format and what is checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "ops.h"
#include "spanalloc.h"

#ifdef SA_DEBUG
#define DEBUG_BUILD 1
#else
#define DEBUG_BUILD 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif
#ifndef ASAN_BUILD
#define ASAN_BUILD 0
#endif

/* A forked child's coverage (clang -fprofile-instr-generate): _exit skips
 * the atexit hook that would write it. */
extern int __llvm_profile_write_file(void) __attribute__((weak));

static __attribute__((noreturn)) void child_exit(int code)
{
	if (__llvm_profile_write_file)
		__llvm_profile_write_file();
	_exit(code);
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- failure reports and the operation log ----------------------------------- */

static const char *fuzz_name = "spanalloc";
static int real_stderr = 2; /* fd 2 before any capture */
static bool trace;

#define LOG_LINES 48
#define LOG_WIDTH 176
static char oplog[LOG_LINES][LOG_WIDTH];
static unsigned oplog_next;
static pthread_mutex_t oplog_lock = PTHREAD_MUTEX_INITIALIZER;

void fuzz_set_name(const char *name)
{
	fuzz_name = name;
	trace = getenv("FUZZ_TRACE") != NULL;
}

void fuzz_log(const char *fmt, ...)
{
	char line[LOG_WIDTH];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&oplog_lock);
	memcpy(oplog[oplog_next++ % LOG_LINES], line, sizeof line);
	pthread_mutex_unlock(&oplog_lock);
	if (trace)
		dprintf(real_stderr, "  op: %s\n", line);
}

void fuzz_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(real_stderr, "\nspanalloc-fuzz: %s: FAIL: %s\n", fuzz_name, msg);
	unsigned n = oplog_next < LOG_LINES ? oplog_next : LOG_LINES;
	if (n) {
		dprintf(real_stderr, "spanalloc-fuzz: the last %u operations (oldest first):\n", n);
		for (unsigned i = oplog_next - n; i != oplog_next; i++)
			dprintf(real_stderr, "    %s\n", oplog[i % LOG_LINES]);
	}
	abort();
}

/* ---- contents -------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Blocks up to FULL_LIMIT are filled and checked entirely; bigger ones at
 * both ends (EDGE bytes) and on a STRIPE every STRIDE bytes: the range
 * index already catches overlapping blocks, and touching every page of a
 * 4 MiB block would make the large harnesses crawl. */
#define FULL_LIMIT (64 * 1024)
#define EDGE 4096
#define STRIDE (64 * 1024)
#define STRIPE 64

enum rmode { R_FILL, R_CHECK, R_ZERO };

NOCOV static void range_op(uint8_t *p, size_t from, size_t to, uint64_t seed, enum rmode m, const char *what,
		     size_t size)
{
	size_t i = from;
	while (i < to) {
		uint64_t v = m == R_ZERO ? 0 : mix64(seed + i / 8);
		size_t lo = i % 8, n = MIN(8 - lo, to - i);
		if (m == R_FILL) {
			if (n == 8)
				memcpy(p + i, &v, 8);
			else
				for (size_t k = 0; k < n; k++)
					p[i + k] = (uint8_t)(v >> (8 * (lo + k)));
		} else {
			uint64_t got = 0;
			bool ok;
			if (n == 8) {
				memcpy(&got, p + i, 8);
				ok = got == v;
			} else {
				ok = true;
				for (size_t k = 0; k < n; k++)
					ok &= p[i + k] == (uint8_t)(v >> (8 * (lo + k)));
			}
			if (!ok) {
				size_t k = 0;
				while (k < n && p[i + k] == (uint8_t)(v >> (8 * (lo + k))))
					k++;
				fuzz_fail("%s: block %p (%zu bytes): byte %zu (at %p) is 0x%02x, expected 0x%02x%s",
					  what, (void *)p, size, i + k, (void *)(p + i + k), p[i + k],
					  (uint8_t)(v >> (8 * (lo + k))),
					  m == R_ZERO ? " (zeroed memory)"
						      : " (overlapping blocks, a block handed out twice, or lost contents)");
			}
		}
		i += n;
	}
}

NOCOV static void regions(void *vp, size_t size, size_t upto, uint64_t seed, enum rmode m, const char *what)
{
	uint8_t *p = vp;
	if (upto > size)
		upto = size;
	if (size <= FULL_LIMIT) {
		range_op(p, 0, upto, seed, m, what, size);
		return;
	}
	range_op(p, 0, MIN((size_t)EDGE, upto), seed, m, what, size);
	for (size_t off = STRIDE; off + STRIPE <= size - EDGE && off < upto; off += STRIDE)
		range_op(p, off, MIN(off + STRIPE, upto), seed, m, what, size);
	if (size - EDGE < upto)
		range_op(p, size - EDGE, upto, seed, m, what, size);
}

void pattern_fill(void *p, size_t size, uint64_t seed) { regions(p, size, size, seed, R_FILL, "fill"); }

void pattern_check(const void *p, size_t size, uint64_t seed, size_t upto, const char *what)
{
	regions((void *)p, size, upto, seed, R_CHECK, what);
}

void zero_check(const void *p, size_t size, const char *what) { regions((void *)p, size, size, 0, R_ZERO, what); }

/* ---- range index --------------------------------------------------------------- */

static void *xmmap(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fuzz_fail("mmap of %zu bytes for the model failed", n);
	return p;
}

void ri_init(range_index *ri, size_t cap)
{
	ri->r = xmmap(cap * sizeof *ri->r);
	ri->n = 0;
	ri->cap = cap;
}

NOCOV static size_t ri_lower(const range_index *ri, uintptr_t a)
{
	size_t lo = 0, hi = ri->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ri->r[mid].a < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

NOCOV void ri_insert(range_index *ri, uintptr_t a, uintptr_t e, const char *what)
{
	size_t i = ri_lower(ri, a);
	if (i > 0 && ri->r[i - 1].e > a)
		fuzz_fail("%s: new block [%#lx, %#lx) overlaps the live block [%#lx, %#lx)", what, (unsigned long)a,
			  (unsigned long)e, (unsigned long)ri->r[i - 1].a, (unsigned long)ri->r[i - 1].e);
	if (i < ri->n && ri->r[i].a < e)
		fuzz_fail("%s: new block [%#lx, %#lx) overlaps the live block [%#lx, %#lx)", what, (unsigned long)a,
			  (unsigned long)e, (unsigned long)ri->r[i].a, (unsigned long)ri->r[i].e);
	if (ri->n == ri->cap)
		fuzz_fail("range index full");
	memmove(&ri->r[i + 1], &ri->r[i], (ri->n - i) * sizeof *ri->r);
	ri->r[i].a = a;
	ri->r[i].e = e;
	ri->n++;
}

NOCOV void ri_remove(range_index *ri, uintptr_t a)
{
	size_t i = ri_lower(ri, a);
	if (i >= ri->n || ri->r[i].a != a)
		fuzz_fail("model: no range at %#lx", (unsigned long)a);
	memmove(&ri->r[i], &ri->r[i + 1], (ri->n - i - 1) * sizeof *ri->r);
	ri->n--;
}

NOCOV const struct range *ri_find(const range_index *ri, uintptr_t a)
{
	size_t i = ri_lower(ri, a);
	return i < ri->n && ri->r[i].a == a ? &ri->r[i] : NULL;
}

/* ---- stderr capture --------------------------------------------------------------- */

static int cap_pipe[2] = {-1, -1};
static bool capturing;

/* The sanitizers' reports keep going to the real stderr while fd 2 is a pipe. */
extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

void capture_init(void)
{
	if (cap_pipe[0] >= 0)
		return;
	if (pipe2(cap_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		fuzz_fail("pipe2: %s", strerror(errno));
	(void)fcntl(cap_pipe[1], F_SETPIPE_SZ, 1 << 20);
	real_stderr = fcntl(2, F_DUPFD_CLOEXEC, 100);
	if (real_stderr < 0)
		fuzz_fail("dup of stderr: %s", strerror(errno));
	if (__sanitizer_set_report_fd)
		__sanitizer_set_report_fd((void *)(intptr_t)real_stderr);
}

void capture_begin(void)
{
	fflush(stderr);
	if (dup2(cap_pipe[1], 2) < 0)
		fuzz_fail("dup2: %s", strerror(errno));
	capturing = true;
}

size_t capture_end(char *buf, size_t cap)
{
	fflush(stderr);
	dup2(real_stderr, 2);
	capturing = false;
	size_t n = 0;
	for (;;) {
		char tmp[4096];
		ssize_t r = read(cap_pipe[0], tmp, sizeof tmp);
		if (r <= 0)
			break;
		size_t k = MIN((size_t)r, cap - 1 - n);
		memcpy(buf + n, tmp, k);
		n += k;
	}
	buf[n] = 0;
	return n;
}

/* ---- the model -------------------------------------------------------------------- */

typedef struct blk {
	uint8_t *p;
	size_t req;     /* requested size */
	size_t usable;  /* malloc_usable_size at allocation (or realloc) */
	uint64_t seed;  /* contents */
	uint8_t cls;    /* size class its stats count in (tiny: the 16-byte class) */
	uint8_t tiny;   /* a tiny sub-object */
	uint8_t thread; /* allocating thread */
} blk;

static blk *live;
static unsigned nlive;
static range_index ranges;
static uint64_t model_cls[NUM_SIZE_CLASSES];
static uint64_t next_seed;

/* Freed addresses, for the badfree harness. */
#define GRAVE 256
static uintptr_t grave[GRAVE];
static unsigned ngrave;

/* At the start of the input. */
static uint64_t base_objects, base_cls[NUM_SIZE_CLASSES], base_alloc;
static struct sa_memstats prev;

static const ops_profile *P;
static FILE *devnull;
static uint8_t optable[256];
static uint8_t tiertable[256];
static unsigned ops_done;
/*
 * Expensive operations run at most every RATE operations (and fork and
 * huge blocks twice an input): a fuzzer's repeated bytes would otherwise
 * make an input of nothing but heap audits.  Their argument bytes are
 * read either way, so that an input means the same thing.
 */
#define RATE 16
static unsigned next_check, next_stats, next_print, next_scav, nforks, nhuge, nooms, ndbgbugs;
/* OP_DEBUG_MODE: the debug options in force until operation debug_until. */
static unsigned debug_until;
static bool efence_seen; /* efence was on at some point in this process */
static sa_options opts_saved;
static bool bad_mode;        /* bad calls: abort_on_error=0, their reports captured */
static unsigned reports_seen; /* the library's report count, as it must be */

static __thread int cur_tid;

/*
 * Known spanalloc bugs a campaign may be told to step over while they are
 * being fixed, so that it can look for others: SA_FUZZ_IGNORE=name,...
 * ("all": every one of them)
 *   realloc-align   realloc shrinking a tiny block in place keeps an
 *                   address aligned for the old size only
 *   huge-arenas     a freed span of more than one arena is never reused:
 *                   every such malloc reserves new arenas
 *   aligned-zero    aligned_alloc / posix_memalign / memalign of 0 bytes
 *                   with an alignment of 2..8 return a 1-byte tiny object
 *                   at any address
 *   efence-usable   debug build, efence=1: malloc_usable_size of a freed
 *                   efence block or an interior pointer returns 0 unreported
 *   large-report    debug build: a bad call on a large block that has left
 *                   the quarantine is reported at the span's start, not at
 *                   the pointer the program passed (16 bytes further)
 */
static bool ignore_realloc_align, ignore_huge_arenas, ignore_aligned_zero, ignore_efence_usable;
static bool ignore_large_report;
/* SA_FUZZ_NO_CHECK_HEAP=1: leave sa_check_heap (the library's own audit)
 * out, to measure what the model alone finds. */
static bool skip_check_heap;

/* The stats class of the block at p, from its span. */
static unsigned stat_class(const void *p, bool *tiny)
{
	heapArena *ha = arena_of((uintptr_t)p);
	mspan *s = ha ? span_of(ha, (uintptr_t)p) : NULL;
	if (!s)
		fuzz_fail("a block just returned (%p) is not on a page of any span", p);
	if (s->spanclass == TINY_SPAN_CLASS) {
		*tiny = true;
		return TINY_SIZE_CLASS;
	}
	*tiny = false;
	return s->spanclass;
}

static size_t natural_align(size_t size)
{
	if (size >= 16)
		return 16;
	if (size == 0)
		return 1;
	size_t low = size & -size;
	return low > 8 ? 8 : low;
}

static bool is_pow2(size_t x) { return x && !(x & (x - 1)); }

/* The usable size a plain malloc(size) must have (production build). */
static size_t expected_usable(size_t size)
{
	if (size <= TINY_MAX && opts.tiny)
		return size ? size : 1;
	if (size <= MAX_SMALL_SIZE)
		return class_to_size[size_to_class(size ? size : 1)];
	return (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

static size_t range_len(const blk *b) { return b->usable ? b->usable : 1; }

/* Record a block the library just returned; fill it unless told not to. */
static blk *model_add(void *p, size_t req, const char *what, bool fill)
{
	if (nlive >= OPS_MAX_LIVE)
		fuzz_fail("model full");
	size_t usable = sa_malloc_usable_size(p);
	if (usable < req)
		fuzz_fail("%s: malloc_usable_size(%p) = %zu < requested %zu", what, p, usable, req);
	blk *b = &live[nlive++];
	b->p = p;
	b->req = req;
	b->usable = usable;
	b->seed = mix64(++next_seed);
	bool tiny;
	b->cls = (uint8_t)stat_class(p, &tiny);
	b->tiny = tiny;
	b->thread = (uint8_t)cur_tid;
	model_cls[b->cls]++;
	ri_insert(&ranges, (uintptr_t)p, (uintptr_t)p + range_len(b), what);
	if (fill)
		pattern_fill(p, req, b->seed);
	return b;
}

/* Forget block i (swap-remove). */
static void model_remove(unsigned i)
{
	blk *b = &live[i];
	ri_remove(&ranges, (uintptr_t)b->p);
	model_cls[b->cls]--;
	if (ngrave < GRAVE)
		grave[ngrave++] = (uintptr_t)b->p;
	else
		grave[b->seed % GRAVE] = (uintptr_t)b->p;
	live[i] = live[--nlive];
}

static bool model_is_live_start(uintptr_t p) { return ri_find(&ranges, p) != NULL; }

static void check_block(const blk *b, const char *what) { pattern_check(b->p, b->req, b->seed, b->req, what); }

static void check_alignment(const void *p, size_t align, const char *what, size_t size)
{
	if ((uintptr_t)p % align)
		fuzz_fail("%s(%zu): %p is not aligned to %zu", what, size, p, align);
}

/* A fresh plain malloc / calloc result. */
static void check_plain(const void *p, size_t size, const blk *b, const char *what)
{
	check_alignment(p, natural_align(size), what, size);
	if (!DEBUG_BUILD) {
		if (b->usable != expected_usable(size))
			fuzz_fail("%s(%zu) = %p: usable size %zu, expected %zu", what, size, p, b->usable,
				  expected_usable(size));
		if (size > MAX_SMALL_SIZE)
			check_alignment(p, PAGE_SIZE, what, size);
	}
}

static void expect_null(void *p, int err, int want, const char *what, size_t a, size_t b)
{
	if (p)
		fuzz_fail("%s(%#zx, %#zx) = %p, expected NULL", what, a, b, p);
	if (err != want)
		fuzz_fail("%s(%#zx, %#zx): errno %d, expected %d", what, a, b, err, want);
}

/* ---- stats ------------------------------------------------------------------------- */

static void read_base(void)
{
	struct sa_memstats m;
	sa_read_memstats(&m);
	base_objects = m.Mallocs - m.Frees;
	for (unsigned c = 0; c < NUM_SIZE_CLASSES; c++)
		base_cls[c] = m.BySize[c].Mallocs - m.BySize[c].Frees;
	base_alloc = m.Alloc;
	prev = m;
}

NOCOV static void check_stats(const char *when)
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
		fuzz_fail("%s: a cumulative counter went down (Mallocs %lu -> %lu, Frees %lu -> %lu, TotalAlloc %lu -> %lu)",
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

static void check_heap(const char *when)
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
				fuzz_fail("class %u: span %p kept by this thread's cache has owner %p, list %u, class %u",
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
NOCOV static void check_central(bool exact, bool empty)
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
					fuzz_fail("central %u: list longer than its count %lu", spc, (unsigned long)l->n);
				if (s->owner != NO_OWNER || s->spanclass != spc || s->list != which)
					fuzz_fail("central %u: span %p on list %d has owner %p, class %u, list %u", spc,
						  (void *)s, which, (void *)s->owner, s->spanclass, s->list);
				unsigned livecount = 0;
				for (size_t w = 0; w < span_bitmap_words(s); w++)
					livecount += (unsigned)__builtin_popcountll(s->gcmarkBits[w] & ~s->remoteBits[w]);
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

/* ---- argument generators ------------------------------------------------------- */

static size_t gen_size_tier(fdp *d, unsigned t)
{
	switch (t) {
	case T_TINY:
		return fdp_u8(d) % 16;
	case T_SMALL_EDGE: {
		unsigned c = 1 + fdp_u8(d) % (NUM_SIZE_CLASSES - 1);
		size_t hi = class_to_size[c], lo = class_to_size[c - 1];
		switch (fdp_u8(d) % 4) {
		case 0:
			return hi;
		case 1:
			return hi - 1 > lo ? hi - 1 : hi;
		case 2:
			return lo + 1;
		default:
			return lo + 1 + fdp_u16(d) % (hi - lo);
		}
	}
	case T_SMALL:
		return 16 + fdp_u16(d) % (MAX_SMALL_SIZE - 15);
	case T_LARGE: {
		size_t maxp = P->max_large / PAGE_SIZE;
		size_t k = 5 + fdp_u16(d) % (maxp > 5 ? maxp - 4 : 1);
		size_t s;
		switch (fdp_u8(d) % 4) {
		case 0:
			s = k * PAGE_SIZE;
			break;
		case 1:
			s = k * PAGE_SIZE + 1;
			break;
		case 2:
			s = k * PAGE_SIZE - 1;
			break;
		default:
			s = k * PAGE_SIZE - fdp_u16(d) % PAGE_SIZE;
			break;
		}
		return s > MAX_SMALL_SIZE ? s : MAX_SMALL_SIZE + 1;
	}
	case T_LARGE_CACHE: {
		size_t k = 5 + fdp_u8(d) % 36;
		bool trim = fdp_u8(d) & 1;
		size_t s = k * PAGE_SIZE - (trim ? fdp_u16(d) % PAGE_SIZE : 0);
		return s > MAX_SMALL_SIZE ? s : MAX_SMALL_SIZE + 1;
	}
	default:
		return 1 + fdp_u16(d) % 1024;
	}
}

static size_t gen_size(fdp *d) { return gen_size_tier(d, tiertable[fdp_u8(d)]); }

/* Mostly valid powers of two, sometimes anything. */
static size_t gen_align(fdp *d)
{
	uint8_t k = fdp_u8(d);
	switch (k % 10) {
	case 7:
		return fdp_u16(d); /* usually not a power of two */
	case 8:
		return 8 * (size_t)(1 + fdp_u8(d) % 64); /* multiples of 8 */
	case 9: {
		static const size_t odd[] = {0, 1, 2, 4, 3, 24, 48, 3u << 20, ARENA_SIZE, ARENA_SIZE / 2,
					     ARENA_SIZE * 2, (size_t)1 << 40, SIZE_MAX, SIZE_MAX / 2 + 1, PAGE_SIZE};
		return odd[fdp_u8(d) % (sizeof odd / sizeof odd[0])];
	}
	default:
		return (size_t)1 << (fdp_u8(d) % (P->max_align_log2 + 1));
	}
}

/* A live block, biased to recent ones; -1 when none. */
static int pick(fdp *d)
{
	if (!nlive)
		return -1;
	uint16_t v = fdp_u16(d);
	if (v & 0x8000)
		return (int)(nlive - 1 - (v & 0x7fff) % MIN(nlive, 8u));
	return (int)(v % nlive);
}

static bool room(unsigned n) { return nlive + n <= P->max_live; }

/* ---- operations --------------------------------------------------------------------- */

static void do_free(unsigned i, const char *what)
{
	blk b = live[i];
	check_block(&b, what);
	model_remove(i);
	fuzz_log("t%d free(%p) [%zu]", cur_tid, (void *)b.p, b.req);
	sa_free(b.p);
}

static void op_malloc(size_t size, bool zero)
{
	if (!room(1))
		return;
	void *p;
	if (zero) {
		/* calloc(n, size / n), or an overflowing product. */
		size_t n = 1 + size % 7, each = size / n;
		p = sa_calloc(n, each);
		fuzz_log("t%d calloc(%zu, %zu) = %p", cur_tid, n, each, p);
		if (!p)
			fuzz_fail("calloc(%zu, %zu) failed: %s", n, each, strerror(errno));
		size = n * each;
		zero_check(p, size, "calloc");
	} else {
		p = sa_malloc(size);
		fuzz_log("t%d malloc(%zu) = %p", cur_tid, size, p);
		if (!p)
			fuzz_fail("malloc(%zu) failed: %s", size, strerror(errno));
	}
	blk *b = model_add(p, size, zero ? "calloc" : "malloc", true);
	check_plain(p, size, b, zero ? "calloc" : "malloc");
}

/* Move block i to size n with realloc (or reallocarray); check and update the model. */
static void do_realloc(unsigned i, size_t size, bool array)
{
	blk b = live[i];
	check_block(&b, "realloc (before)");
	void *q;
	errno = 0;
	if (array) {
		size_t n = size ? 1 + size % 5 : 0, each = n ? size / n : 13;
		q = sa_reallocarray(b.p, n, each);
		size = n * each;
		fuzz_log("t%d reallocarray(%p [%zu], %zu, %zu) = %p", cur_tid, (void *)b.p, b.req, n, each, q);
	} else {
		q = sa_realloc(b.p, size);
		fuzz_log("t%d realloc(%p [%zu], %zu) = %p", cur_tid, (void *)b.p, b.req, size, q);
	}
	if (size == 0) {
		/* glibc's rule: free and return NULL. */
		if (q)
			fuzz_fail("realloc(%p, 0) = %p, expected NULL (the block freed)", (void *)b.p, q);
		model_remove(i);
		return;
	}
	if (!q)
		fuzz_fail("realloc(%p, %zu) failed: %s", (void *)b.p, size, strerror(errno));
	if (!(ignore_realloc_align && q == b.p && b.tiny))
		check_alignment(q, natural_align(size), "realloc", size);
	/* The old contents, up to the smaller size, moved with the block. */
	uint64_t seed = b.seed;
	ri_remove(&ranges, (uintptr_t)b.p);
	model_cls[b.cls]--;
	if (q != b.p && ngrave < GRAVE)
		grave[ngrave++] = (uintptr_t)b.p;
	live[i] = live[--nlive];
	pattern_check(q, b.req, seed, MIN(b.req, size), "realloc (contents after the move)");
	blk *nb = model_add(q, size, "realloc", false);
	nb->seed = seed;
	pattern_fill(q, size, seed);
}

static void op_realloc(fdp *d, bool array)
{
	int i = pick(d);
	uint8_t v = fdp_u8(d);
	if (i < 0 || v % 16 == 15) {
		/* realloc(NULL, n) is malloc(n). */
		size_t size = gen_size(d);
		if (!room(1))
			return;
		void *p = sa_realloc(NULL, size);
		fuzz_log("t%d realloc(NULL, %zu) = %p", cur_tid, size, p);
		if (!p)
			fuzz_fail("realloc(NULL, %zu) failed", size);
		blk *b = model_add(p, size, "realloc(NULL)", true);
		check_plain(p, size, b, "realloc(NULL)");
		return;
	}
	size_t old = live[i].req, size;
	switch (v % 8) {
	case 0:
		size = old + 1 + fdp_u8(d) % 64;
		break;
	case 1:
		size = old / 2;
		break;
	case 2:
		size = old ? old - 1 : 0;
		break;
	case 3:
		size = fdp_u8(d) % 4 == 0 ? 0 : old;
		break;
	case 4:
	case 5:
		size = gen_size(d);
		break;
	case 6:
		size = old * 2 + 1;
		break;
	default:
		size = old + PAGE_SIZE * (1 + fdp_u8(d) % 8);
		break;
	}
	if (size > P->max_large * 2)
		size = P->max_large;
	do_realloc((unsigned)i, size, array);
}

static void op_aligned(fdp *d, enum op which)
{
	if (!room(1))
		return;
	size_t align = which == OP_VALLOC || which == OP_PVALLOC ? 0 : gen_align(d);
	size_t size = gen_size(d);
	void *p = NULL;
	const char *name;
	int saved = 12345, rc = 0;
	errno = saved;
	switch (which) {
	case OP_ALIGNED_ALLOC:
		name = "aligned_alloc";
		p = sa_aligned_alloc(align, size);
		break;
	case OP_MEMALIGN:
		name = "memalign";
		p = sa_memalign(align, size);
		break;
	case OP_POSIX_MEMALIGN: {
		name = "posix_memalign";
		void *sentinel = (void *)0x5a5a5a5a, *out = sentinel;
		rc = sa_posix_memalign(&out, align, size);
		fuzz_log("t%d posix_memalign(%zu, %zu) = %d, %p", cur_tid, align, size, rc, out);
		bool valid = is_pow2(align) && align % sizeof(void *) == 0;
		if (!valid) {
			if (rc != EINVAL || out != sentinel || errno != saved)
				fuzz_fail("posix_memalign(align %zu): returned %d, pointer %p, errno %d; expected EINVAL, "
					  "pointer and errno untouched",
					  align, rc, out, errno);
			return;
		}
		if (rc == ENOMEM && align > ARENA_SIZE) {
			if (out != sentinel || errno != saved)
				fuzz_fail("posix_memalign ENOMEM touched the pointer or errno");
			return;
		}
		if (rc != 0)
			fuzz_fail("posix_memalign(%zu, %zu) = %d", align, size, rc);
		p = out;
		break;
	}
	case OP_VALLOC:
		name = "valloc";
		align = 4096;
		p = sa_valloc(size);
		break;
	default:
		name = "pvalloc";
		align = 4096;
		p = sa_pvalloc(size);
		size = size ? (size + 4095) & ~(size_t)4095 : 4096;
		break;
	}
	if (which != OP_POSIX_MEMALIGN) {
		fuzz_log("t%d %s(%zu, %zu) = %p", cur_tid, name, align, size, p);
		if (!is_pow2(align)) {
			expect_null(p, errno, EINVAL, name, align, size);
			return;
		}
		if (!p && align > ARENA_SIZE) {
			expect_null(p, errno, ENOMEM, name, align, size);
			return;
		}
		if (!p)
			fuzz_fail("%s(%zu, %zu) failed: %s", name, align, size, strerror(errno));
	}
	if (!(ignore_aligned_zero && size == 0))
		check_alignment(p, align, name, size);
	model_add(p, size, name, true);
}

/* Requests that must fail, and leave everything as it was. */
static void op_fail(fdp *d)
{
	uint8_t k = fdp_u8(d);
	size_t a = 0, b = 0;
	void *p = NULL;
	const char *name = "?";
	int want = ENOMEM;
	errno = 0;
	switch (k % 12) {
	case 0:
		name = "malloc";
		a = SIZE_MAX - fdp_u16(d);
		p = sa_malloc(a);
		break;
	case 1:
		name = "malloc";
		a = ((size_t)1 << 47) + 1 + fdp_u32(d);
		p = sa_malloc(a);
		break;
	case 2:
		name = "calloc";
		b = 2 + fdp_u8(d);
		a = SIZE_MAX / b + 1 + fdp_u8(d);
		p = sa_calloc(a, b);
		break;
	case 3:
		name = "calloc";
		a = b = (size_t)1 << 32;
		p = sa_calloc(a, b);
		break;
	case 4:
		name = "aligned_alloc";
		a = ARENA_SIZE << (1 + fdp_u8(d) % 20);
		b = fdp_u8(d);
		p = sa_aligned_alloc(a, b);
		break;
	case 5:
		name = "aligned_alloc";
		a = (size_t)16 << (fdp_u8(d) % 10);
		b = SIZE_MAX - fdp_u8(d);
		p = sa_aligned_alloc(a, b);
		break;
	case 6: {
		name = "posix_memalign";
		a = (size_t)8 << (fdp_u8(d) % 12);
		b = SIZE_MAX / 2 + fdp_u8(d);
		void *sentinel = (void *)0x77, *out = sentinel;
		errno = 4321;
		int rc = sa_posix_memalign(&out, a, b);
		fuzz_log("t%d posix_memalign(%zu, %#zx) = %d", cur_tid, a, b, rc);
		if (rc != ENOMEM || out != sentinel || errno != 4321)
			fuzz_fail("posix_memalign(%zu, %#zx) = %d, pointer %p, errno %d: expected ENOMEM, pointer and "
				  "errno untouched",
				  a, b, rc, out, errno);
		return;
	}
	case 7:
		name = "pvalloc";
		a = SIZE_MAX - fdp_u16(d);
		p = sa_pvalloc(a);
		break;
	case 8:
		name = "valloc";
		a = SIZE_MAX - fdp_u16(d);
		p = sa_valloc(a);
		break;
	case 9:
		name = "memalign";
		want = EINVAL;
		a = 3 + 2 * (size_t)fdp_u16(d);
		b = fdp_u8(d);
		p = sa_memalign(a, b);
		break;
	case 10:
	case 11: {
		/* realloc / reallocarray of a live block to an impossible size. */
		int i = pick(d);
		void *old = i >= 0 ? live[i].p : NULL;
		if (k % 12 == 10) {
			name = "realloc";
			a = SIZE_MAX - fdp_u16(d);
			p = sa_realloc(old, a);
		} else {
			name = "reallocarray";
			b = 2 + fdp_u8(d);
			a = SIZE_MAX / b + 1;
			p = sa_reallocarray(old, a, b);
		}
		int e = errno;
		fuzz_log("t%d %s(%p, %#zx, %#zx) = %p", cur_tid, name, old, a, b, p);
		expect_null(p, e, ENOMEM, name, a, b);
		if (i >= 0) {
			check_block(&live[i], "the block after a failed realloc");
			if (sa_malloc_usable_size(old) != live[i].usable)
				fuzz_fail("a failed realloc changed the usable size of %p", old);
		}
		return;
	}
	}
	int e = errno;
	fuzz_log("t%d %s(%#zx, %#zx) = %p (must fail)", cur_tid, name, a, b, p);
	expect_null(p, e, want, name, a, b);
}

static void op_batch_alloc(fdp *d)
{
	size_t size = gen_size(d);
	unsigned n = 1 + fdp_u16(d) % P->max_batch;
	bool zero = fdp_u8(d) % 4 == 0;
#if DEBUG_BUILD
	if (opts.efence)
		n = n > 4 ? 4 : n; /* efence blocks take pages each, for good */
#endif
	if (size <= MAX_SMALL_SIZE && size >= TINY_SIZE) {
		/* Enough to fill a few spans of the class. */
		unsigned per = class_to_nelems[size_to_class(size)];
		if (n > 3 * per + 1)
			n = 3 * per + 1;
	} else if (size > MAX_SMALL_SIZE && n > 8) {
		n = 8;
	}
	fuzz_log("t%d batch of %u x %zu%s", cur_tid, n, size, zero ? " (calloc)" : "");
	for (unsigned j = 0; j < n && room(1); j++)
		op_malloc(size, zero);
	ops_done += n / 16;
}

static void op_batch_free(fdp *d)
{
	if (!nlive)
		return;
	static unsigned idx[OPS_MAX_LIVE];
	unsigned m = 0;
	uint8_t mode = fdp_u8(d) % 7;
	unsigned k = 1 + fdp_u8(d) % 8;
	const blk *ref = &live[(unsigned)pick(d)];
	uint8_t ref_cls = ref->cls, ref_tiny = ref->tiny;
	uint64_t mask = fdp_u64(d);
	for (unsigned i = 0; i < nlive; i++) {
		bool take;
		switch (mode) {
		case 0:
			take = i % k == 0;
			break;
		case 1:
			take = live[i].cls == ref_cls && live[i].tiny == ref_tiny;
			break;
		case 2:
			take = i + 8 * k >= nlive;
			break;
		case 3:
			take = (mask >> (i % 64)) & 1;
			break;
		case 4:
			take = true;
			break;
		case 5:
			take = live[i].thread != cur_tid;
			break;
		default:
			take = live[i].cls == ref_cls && i % 2 == 0;
			break;
		}
		if (take)
			idx[m++] = i;
	}
	fuzz_log("t%d batch free mode %u: %u blocks", cur_tid, mode, m);
	/* Take them out of the model (descending: swap-removes move only kept
	 * blocks), then free them in the order the input says. */
	static blk out[OPS_MAX_LIVE];
	for (unsigned j = m; j-- > 0;) {
		out[j] = live[idx[j]];
		check_block(&out[j], "batch free");
		model_remove(idx[j]);
	}
	uint8_t order = fdp_u8(d) % 4;
	for (unsigned j = 0; j < m; j++) {
		unsigned x;
		switch (order) {
		case 0: x = j; break;                                  /* allocation order */
		case 1: x = m - 1 - j; break;                          /* reverse */
		case 2: x = j < (m + 1) / 2 ? 2 * j : 2 * (j - (m + 1) / 2) + 1; break; /* evens, then odds */
		default: x = (j * 7919u) % m; break;                   /* scattered */
		}
		if (order == 3 && m % 7919 == 0)
			x = j;
		sa_free(out[x].p);
	}
	ops_done += m / 16;
}

static void op_usable(fdp *d)
{
	int i = pick(d);
	if (sa_malloc_usable_size(NULL) != 0)
		fuzz_fail("malloc_usable_size(NULL) != 0");
	if (i < 0)
		return;
	size_t n = sa_malloc_usable_size(live[i].p);
	fuzz_log("t%d malloc_usable_size(%p) = %zu", cur_tid, (void *)live[i].p, n);
	if (n != live[i].usable)
		fuzz_fail("malloc_usable_size(%p) = %zu, was %zu when allocated", (void *)live[i].p, n, live[i].usable);
	/* The usable bytes past the request are the program's too. */
	if (!DEBUG_BUILD && n > live[i].req) {
		uint8_t *tail = live[i].p + live[i].req;
		size_t t = MIN(n - live[i].req, (size_t)256);
		memset(tail, 0xa5, t);
	}
}

static void op_realloc_chain(fdp *d)
{
	int i = pick(d);
	if (i < 0)
		return;
	unsigned n = 2 + fdp_u8(d) % 30;
	uint8_t style = fdp_u8(d);
	fuzz_log("t%d realloc chain of %u on %p", cur_tid, n, (void *)live[i].p);
	for (unsigned j = 0; j < n && !fdp_done(d); j++) {
		size_t old = live[i].req, size;
		switch ((style >> (j % 4 * 2)) & 3) {
		case 0:
			size = old + 1 + fdp_u8(d) % 128; /* creep up */
			break;
		case 1:
			size = old * 2 + fdp_u8(d); /* double: through the tiers */
			break;
		case 2:
			size = old - old / (2 + fdp_u8(d) % 4); /* shrink a little */
			break;
		default:
			size = gen_size(d);
			break;
		}
		if (size == 0)
			size = 1;
		if (size > P->max_large)
			size = P->max_large - fdp_u8(d);
		do_realloc((unsigned)i, size, false);
		i = (int)nlive - 1; /* model_add appends */
	}
	ops_done += n / 4;
}

/* Take one span of a class from its mcentral and give it back. */
static void op_central_cycle(fdp *d)
{
	if (P->nthreads != 1)
		return;
	mcache *c = cache_current();
	if (!c)
		return;
	unsigned spc = 1 + fdp_u8(d) % (NUM_SPAN_CLASSES - 1);
	mspan *s = central_cache_span(&mcentral_[spc], c);
	fuzz_log("central cycle class %u: span %p", spc, (void *)s);
	if (!s)
		fuzz_fail("central_cache_span(%u) failed", spc);
	if (s->owner != c || s->spanclass != spc)
		fuzz_fail("central_cache_span(%u) gave span %p of class %u owned by %p", spc, (void *)s, s->spanclass,
			  (void *)s->owner);
	unsigned freeobj = 0;
	for (size_t w = 0; w < span_bitmap_words(s); w++)
		freeobj += (unsigned)__builtin_popcountll(~s->allocBits[w]);
	freeobj -= (unsigned)(span_bitmap_words(s) * 64 - s->nelems);
	if (freeobj == 0)
		fuzz_fail("central_cache_span(%u) gave a span with no free object", spc);
	central_uncache_span(&mcentral_[spc], s, false);
}

static void op_scav_ms(fdp *d)
{
	static const int v[] = {-1, 0, 1, 1000};
	opts.scavenge_ms = v[fdp_u8(d) % 4];
	fuzz_log("scavenge_ms=%d", opts.scavenge_ms);
}

/* ---- bad calls (badfree harness) ------------------------------------------------- */

static int global_object;

NOCOV static bool report_ok(const char *out, uintptr_t p, const char *call, char *why, size_t whylen)
{
	const char *h = strstr(out, "== spanalloc: ");
	if (!h) {
		snprintf(why, whylen, "no report");
		return false;
	}
	if (strstr(h + 1, "== spanalloc: ")) {
		snprintf(why, whylen, "more than one report");
		return false;
	}
	if (strstr(out, "spanalloc: corrupt") || strstr(out, "spanalloc: sa_check_heap") ||
	    strstr(out, "internal error")) {
		snprintf(why, whylen, "a report of something else");
		return false;
	}
	h += strlen("== spanalloc: ");
	static const char *const kinds[] = {"double free of ", "invalid free of ", "invalid pointer ",
					    "realloc of freed block ", "malloc_usable_size of freed block "};
	const char *addr = NULL;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (!strncmp(h, kinds[k], strlen(kinds[k])))
			addr = h + strlen(kinds[k]);
	if (!addr) {
		snprintf(why, whylen, "unexpected kind of report");
		return false;
	}
	char want[64];
	snprintf(want, sizeof want, "0x%lx in %s()", (unsigned long)p, call);
	if (DEBUG_BUILD && ignore_large_report && (p & (PAGE_SIZE - 1)) == 16) {
		/* the known debug-build slip: the span's start, 16 bytes before */
		char alt[64];
		snprintf(alt, sizeof alt, "0x%lx in %s()", (unsigned long)(p - 16), call);
		if (!strncmp(addr, alt, strlen(alt)))
			return true;
	}
	if (strncmp(addr, want, strlen(want))) {
		snprintf(why, whylen, "report does not name '%s'", want);
		return false;
	}
	return true;
}

/*
 * One call the program should not make: free, realloc or
 * malloc_usable_size of a pointer that is not a live block start.  It
 * must be reported exactly once, ignored (abort_on_error=0), and change
 * nothing.
 */
static void op_bad(fdp *d)
{
	if (!bad_mode)
		return;
	uintptr_t p = 0;
	uint8_t kind = fdp_u8(d) % 8;
	int local;
	static char *libc_block;
	if (!libc_block)
		libc_block = malloc(64); /* the other allocator's memory */
	switch (kind) {
	case 0: /* double free */
	case 1:
		if (!ngrave)
			return;
		p = grave[fdp_u8(d) % ngrave];
		break;
	case 2: { /* interior pointer */
		int i = pick(d);
		if (i < 0 || live[i].usable < 2)
			return;
		p = (uintptr_t)live[i].p + 1 + fdp_u32(d) % (live[i].usable - 1);
		break;
	}
	case 3: { /* not heap memory */
		uintptr_t outside[] = {(uintptr_t)&local, (uintptr_t)&global_object, (uintptr_t)libc_block, 1, 0x1000,
				       (uintptr_t)-16, (uintptr_t)1 << 47, ((uintptr_t)1 << 47) - PAGE_SIZE,
				       (uintptr_t)&op_bad, (uintptr_t)live};
		p = outside[fdp_u8(d) % (sizeof outside / sizeof outside[0])];
		break;
	}
	case 4: { /* anywhere in an arena */
		lock(&mheap_.lock);
		heapArena *ha = mheap_.arenas;
		for (unsigned j = fdp_u8(d) % 4; j > 0 && ha && ha->next; j--)
			ha = ha->next;
		uintptr_t base = ha ? ha->base : 0;
		unlock(&mheap_.lock);
		if (!base)
			return;
		p = base + (fdp_u32(d) % (ARENA_SIZE / 16)) * 16;
		break;
	}
	case 5: { /* near a live block, any offset */
		int i = pick(d);
		if (i < 0)
			return;
		p = (uintptr_t)live[i].p + (uintptr_t)(intptr_t)(int16_t)fdp_u16(d);
		break;
	}
	case 6: { /* the tail of a span, past its last object */
		int i = pick(d);
		if (i < 0)
			return;
		mspan *s = span_of(arena_of((uintptr_t)live[i].p), (uintptr_t)live[i].p);
		uintptr_t end = s->startAddr + (uintptr_t)s->nelems * s->elemsize;
		if (s->spanclass == 0 || end >= s->startAddr + s->npages * PAGE_SIZE)
			return;
		p = end + fdp_u8(d) % 16;
		break;
	}
	default: { /* a freed block's neighbourhood */
		if (!ngrave)
			return;
		uintptr_t g = grave[fdp_u8(d) % ngrave];
		p = g + (fdp_u8(d) & 1 ? 16 : PAGE_SIZE);
		break;
	}
	}
	if (!p || model_is_live_start(p))
		return; /* that call would be valid */
	uint8_t api = fdp_u8(d) % 4;
	const char *call = api == 1 ? "realloc" : api == 2 ? "malloc_usable_size" : "free";
	if (api == 2 && efence_seen && ignore_efence_usable)
		return; /* (efence spans stay: any pointer may land in one) */
	struct sa_memstats before;
	sa_read_memstats(&before);
	char out[16384];
	capture_begin();
	void *r = NULL;
	size_t n = 0;
	switch (api) {
	case 1:
		errno = 0;
		r = sa_realloc((void *)p, 1 + fdp_u8(d));
		break;
	case 2:
		n = sa_malloc_usable_size((void *)p);
		break;
	default:
		sa_free((void *)p);
		break;
	}
	capture_end(out, sizeof out);
	fuzz_log("t%d bad %s(%#lx) (kind %u) = %p/%zu", cur_tid, call, (unsigned long)p, kind, r, n);
	char why[128];
	if (!report_ok(out, p, call, why, sizeof why))
		fuzz_fail("bad %s(%#lx) (kind %u): %s; stderr was:\n%s", call, (unsigned long)p, kind, why, out);
	reports_seen++;
	if (__atomic_load_n(&reports, __ATOMIC_RELAXED) != reports_seen)
		fuzz_fail("bad %s(%#lx): the library counted %u reports, expected %u", call, (unsigned long)p,
			  __atomic_load_n(&reports, __ATOMIC_RELAXED), reports_seen);
	if (r || n)
		fuzz_fail("bad %s(%#lx) returned %p / %zu", call, (unsigned long)p, r, n);
}

/*
 * fork(): in the child only this thread lives (the other thread's cache is
 * retired by the library's fork handler); the child checks and frees every
 * block, the heap must then check clean, and the parent's heap is
 * untouched.
 */
static void op_fork(fdp *d)
{
	uint8_t how = fdp_u8(d);
	if (nforks++ >= 2)
		return;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		fuzz_log("t%d forked child: freeing %u blocks", cur_tid, nlive);
		if (how & 1)
			sa_free(sa_malloc(how)); /* allocate first, in the fresh child */
		while (nlive > 0) {
			blk b = live[nlive - 1];
			check_block(&b, "in a forked child");
			nlive--;
			sa_free(b.p);
		}
		if (cache_current())
			cache_flush(cache_current(), false);
		size_t bad = skip_check_heap ? 0 : sa_check_heap();
		if (bad)
			fuzz_fail("forked child: sa_check_heap() found %zu problems", bad);
		child_exit(0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	fuzz_log("t%d fork: child %d exited with status %#x", cur_tid, (int)pid, st);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fuzz_fail("forked child failed (status %#x; its report is above)", st);
}

/*
 * A block bigger than an arena (a multi-arena span), checked, freed, and
 * the same size again: the freed arenas must be reused, not new ones
 * reserved (else memory grows with every such malloc).
 */
static void op_huge(fdp *d)
{
	size_t size = ARENA_SIZE + 1 + (size_t)fdp_u16(d) * PAGE_SIZE % (ARENA_SIZE / 2);
	bool zero = fdp_u8(d) & 1;
	if (nhuge++ >= 2)
		return;
	/* While the arena leak is being fixed, a few only: each one leaks arenas. */
	static unsigned leaky;
	if (ignore_huge_arenas && ++leaky > 16)
		return;
	struct sa_memstats m0, m1;
	for (int round = 0; round < 2; round++) {
		sa_read_memstats(&m0);
		uint8_t *p = zero ? sa_calloc(1, size) : sa_malloc(size);
		fuzz_log("t%d %s(%zu) = %p (round %d, %lu arenas before)", cur_tid, zero ? "calloc" : "malloc", size,
			 (void *)p, round, (unsigned long)m0.NumArenas);
		if (!p)
			fuzz_fail("malloc(%zu) (over one arena) failed: %s", size, strerror(errno));
		check_alignment(p, DEBUG_BUILD ? 16 : PAGE_SIZE, "malloc", size);
		size_t usable = sa_malloc_usable_size(p);
		if (usable < size)
			fuzz_fail("malloc(%zu): usable size %zu", size, usable);
		if (zero)
			zero_check(p, size, "calloc (over one arena)");
		blk *b = model_add(p, size, "malloc (over one arena)", true);
		check_block(b, "block over one arena");
		check_stats("holding a block over one arena");
		do_free(nlive - 1, "free (over one arena)");
		sa_read_memstats(&m1);
		if (round == 1 && m1.NumArenas > m0.NumArenas && !ignore_huge_arenas)
			fuzz_fail("malloc(%zu) after freeing a block of the same size reserved %lu new arenas (%lu -> %lu): "
				  "freed multi-arena spans are never reused",
				  size, (unsigned long)(m1.NumArenas - m0.NumArenas), (unsigned long)m0.NumArenas,
				  (unsigned long)m1.NumArenas);
	}
}

/*
 * The debug build's run-time options for the next 1..8 operations: efence
 * (every block on pages of its own, never reused: few, so no batches) and
 * the quarantine size.  No effect on the production build, which has
 * neither.
 */
static void op_debug_mode(fdp *d)
{
	uint8_t v = fdp_u8(d), n = fdp_u8(d);
	if (!DEBUG_BUILD || debug_until > ops_done)
		return;
#if DEBUG_BUILD
	static const int qkb[] = {0, 1, 64, 4096};
	opts.efence = v & 1;
	efence_seen |= opts.efence;
	opts.quarantine_kb = qkb[(v >> 1) & 3];
	debug_until = ops_done + 1 + n % 8;
	fuzz_log("t%d debug mode: efence=%d quarantine_kb=%d for %u operations", cur_tid, opts.efence,
		 opts.quarantine_kb, debug_until - ops_done);
#else
	(void)v, (void)n;
#endif
}

static void debug_mode_end(void)
{
#if DEBUG_BUILD
	opts.efence = opts_saved.efence;
	opts.quarantine_kb = opts_saved.quarantine_kb;
#endif
	debug_until = 0;
}

/*
 * Out of memory, in a forked child whose address space is capped
 * (RLIMIT_AS) a few MiB above what it uses: allocations of every tier
 * until they fail.  Each failure must be NULL with errno ENOMEM (0 and
 * the pointer untouched for posix_memalign), a failed realloc must keep
 * the block, and afterwards every block frees and the heap checks clean.
 * Not under ASan, whose shadow memory cannot live under RLIMIT_AS.
 */
static void op_oom(fdp *d)
{
	uint8_t how = fdp_u8(d), room_mib = fdp_u8(d);
	if (ASAN_BUILD || nooms++ >= 1)
		return;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		static void *held[4096];
		unsigned nheld = 0, fails = 0;
		long pages = 0, pagesz = sysconf(_SC_PAGESIZE);
		FILE *f = fopen("/proc/self/statm", "r");
		if (!f || fscanf(f, "%ld", &pages) != 1)
			child_exit(0);
		fclose(f);
		struct rlimit rl;
		rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)pagesz + ((rlim_t)(room_mib % 32) << 20);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			child_exit(0);
		for (unsigned i = 0; i < 4096 && fails < 64; i++) {
			size_t size;
			switch ((how + i) % 5) {
			case 0: size = 1 + i % 15; break;
			case 1: size = class_to_size[1 + i % (NUM_SIZE_CLASSES - 1)]; break;
			case 2: size = MAX_SMALL_SIZE + 1 + (size_t)(i % 64) * PAGE_SIZE; break;
			case 3: size = ARENA_SIZE + 1; break;
			default: size = (size_t)(1 + i % 8) << 20; break;
			}
			void *p;
			errno = 0;
			int rc = 0, saved = 4242;
			switch (i % 4) {
			case 0: p = sa_malloc(size); break;
			case 1: p = sa_calloc(1, size); break;
			case 2:
				p = (void *)0x5;
				errno = saved;
				rc = sa_posix_memalign(&p, 64, size);
				if (rc) {
					if (rc != ENOMEM || p != (void *)0x5 || errno != saved)
						fuzz_fail("out of memory: posix_memalign = %d, pointer %p, errno %d", rc, p, errno);
					p = NULL;
					errno = ENOMEM;
				}
				break;
			default:
				if (nheld) {
					void *q = sa_realloc(held[nheld - 1], size);
					if (q)
						held[nheld - 1] = q;
					else if (errno != ENOMEM)
						fuzz_fail("out of memory: realloc(%zu) = NULL, errno %d", size, errno);
					else
						fails++;
					continue;
				}
				p = sa_malloc(size);
				break;
			}
			if (!p) {
				if (errno != ENOMEM)
					fuzz_fail("out of memory: allocation of %zu = NULL with errno %d, not ENOMEM", size, errno);
				fails++;
				continue;
			}
			held[nheld++] = p;
		}
		fuzz_log("out of memory: %u blocks held, %u failures", nheld, fails);
		rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
		setrlimit(RLIMIT_AS, &rl);
		while (nheld > 0)
			sa_free(held[--nheld]);
		size_t bad = skip_check_heap ? 0 : sa_check_heap();
		if (bad)
			fuzz_fail("out of memory: sa_check_heap() found %zu problems after freeing everything", bad);
		child_exit(0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	fuzz_log("t%d out-of-memory child %d exited with status %#x", cur_tid, (int)pid, st);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fuzz_fail("out-of-memory child failed (status %#x; its report is above)", st);
}

/*
 * The debug build's own checks, in a forked child that commits one heap
 * bug: a byte written past the requested size (the canary, at free), one
 * before the block (the redzone, at free), a write to a freed block (the
 * free poison, when the slot is handed out again), a write past an efence
 * block (the guard page) and a read of a freed efence block (its pages
 * are gone).  The child must die of SIGABRT with exactly that report,
 * naming the block.  Only in a debug build without ASan: under ASan the
 * debug build leaves the bytes to ASan, which would report first.
 */
#if DEBUG_BUILD && !ASAN_BUILD
#include "debug/debug.h"
#define DEBUG_BUGS 1
#else
#define DEBUG_BUGS 0
#endif

static __attribute__((unused)) void abort_with_profile(int sig)
{
	__llvm_profile_write_file();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void op_debug_bug(fdp *d)
{
	uint8_t kind = fdp_u8(d) % 5;
	uint16_t v = fdp_u16(d);
	if (!DEBUG_BUGS || ndbgbugs++ >= 2)
		return;
#if DEBUG_BUGS
	static const char *const want[] = {"heap buffer overflow past the block at ",
					   "heap buffer underflow before the block at ",
					   "write after free to the block at ", "heap overflow past the block at ",
					   "use after free of the block at "};
	/* Sizes = 1 (mod 16): at least 15 bytes of canary after the block. */
	size_t size = kind >= 3 ? (size_t)16 * (1 + v % 512) : 17 + (size_t)16 * (v % 256);
	int pfd[2];
	if (pipe(pfd) != 0)
		return;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		report_fd = 2;
		opts.abort_on_error = 1;
		opts.quarantine_kb = 0;
		opts.efence = kind >= 3;
		/* The engine's handler would turn the abort into an exit; a
		 * coverage build writes its profile first. */
		signal(SIGABRT, __llvm_profile_write_file ? abort_with_profile : SIG_DFL);
		debug_guard_init();       /* ahead of the engine's SIGSEGV handler */
		volatile uint8_t *p = sa_malloc(size);
		if (!p)
			child_exit(5);
		dprintf(2, "\nspanalloc-fuzz-child: block %#lx\n", (unsigned long)p);
		switch (kind) {
		case 0:
			p[size + v % 15] ^= 0xff;
			sa_free((void *)p);
			break;
		case 1:
			p[-1 - (int)(v % 16)] ^= 0xff;
			sa_free((void *)p);
			break;
		case 2:
			sa_free((void *)p);
			/* Only the first 256 bytes of a freed block hold the poison
			 * (debug.c FREE_FILL_MAX): where stale pointers write. */
			p[v % (size < 256 ? size : 256)] ^= 0xff;
			for (int i = 0; i < 64; i++)
				(void)sa_malloc(size);
			break;
		case 3:
			p[size] = 1;
			break;
		default:
			sa_free((void *)p);
			(void)p[v % size];
			break;
		}
		dprintf(2, "spanalloc-fuzz-child: still alive: not reported\n");
		child_exit(9);
	}
	close(pfd[1]);
	static char out[65536];
	size_t n = 0;
	ssize_t r;
	while ((r = read(pfd[0], out + n, sizeof out - 1 - n)) > 0 || (r < 0 && errno == EINTR))
		n += r > 0 ? (size_t)r : 0;
	out[n] = 0;
	close(pfd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	fuzz_log("t%d debug-build bug %u (%zu bytes): child status %#x", cur_tid, kind, size, st);
	const char *b = strstr(out, "spanalloc-fuzz-child: block ");
	unsigned long blockaddr = b ? strtoul(b + strlen("spanalloc-fuzz-child: block "), NULL, 16) : 0;
	char expect[128];
	snprintf(expect, sizeof expect, "%s%#lx", want[kind], blockaddr);
	const char *h = strstr(out, "== spanalloc: ");
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT || !h || strncmp(h + 14, expect, strlen(expect)) ||
	    strstr(h + 1, "== spanalloc: "))
		fuzz_fail("debug build, %s: expected one report '%s' and SIGABRT; child status %#x, output:\n%.3000s",
			  (const char *[]){"overflow", "underflow", "write after free", "efence overflow",
					   "efence use after free"}[kind],
			  expect, st, out);
#else
	(void)kind, (void)v;
#endif
}

/* ---- the threaded harness's scheduling ---------------------------------------- */

struct bop {
	bool alloc;
	size_t size;
	uint64_t seed;
	void *p; /* free: the block; alloc: the result */
	size_t usable;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int token;
	bool done;
	unsigned burst_gen, burst_acked;
	struct bop plan[2][16];
	unsigned nplan[2];
	fdp *d;
} ts = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, 0, 0, {{{0}}}, {0}, NULL};

static void run_plan(int t)
{
	for (unsigned j = 0; j < ts.nplan[t]; j++) {
		struct bop *o = &ts.plan[t][j];
		if (o->alloc) {
			o->p = sa_malloc(o->size);
			if (!o->p)
				fuzz_fail("burst: malloc(%zu) failed", o->size);
			o->usable = sa_malloc_usable_size(o->p);
			pattern_fill(o->p, o->size, o->seed);
		} else {
			sa_free(o->p);
		}
	}
}

/* Wait for the token; run burst plans meanwhile.  Returns false when the input is done. */
static __thread unsigned my_seen;   /* last burst this thread took part in */
static __thread bool thread_quit;   /* the other thread finished the input */

static bool wait_turn(int me)
{
	pthread_mutex_lock(&ts.mu);
	for (;;) {
		if (ts.done) {
			pthread_mutex_unlock(&ts.mu);
			return false;
		}
		if (ts.token == me) {
			pthread_mutex_unlock(&ts.mu);
			return true;
		}
		if (ts.burst_gen != my_seen) {
			unsigned gen = my_seen = ts.burst_gen;
			pthread_mutex_unlock(&ts.mu);
			run_plan(me);
			pthread_mutex_lock(&ts.mu);
			ts.burst_acked = gen;
			pthread_cond_broadcast(&ts.cv);
			continue;
		}
		pthread_cond_wait(&ts.cv, &ts.mu);
	}
}

/*
 * Both threads at once: each runs a short plan of mallocs and frees of
 * blocks given to it.  The outcome does not depend on the interleaving;
 * the model takes it in afterwards.
 */
static void op_burst(fdp *d)
{
	if (P->nthreads != 2)
		return;
	int me = cur_tid, other = 1 - me;
	for (int t = 0; t < 2; t++) {
		unsigned n = fdp_u8(d) % 17;
		ts.nplan[t] = 0;
		for (unsigned j = 0; j < n; j++) {
			struct bop *o = &ts.plan[t][ts.nplan[t]];
			uint8_t v = fdp_u8(d);
			if (v & 1 && nlive > 0) {
				int i = pick(d);
				check_block(&live[i], "burst free (before)");
				o->alloc = false;
				o->p = live[i].p;
				model_remove((unsigned)i);
			} else if (room(2 * 16)) {
				o->alloc = true;
				o->size = gen_size(d);
				o->seed = mix64(++next_seed);
			} else {
				continue;
			}
			ts.nplan[t]++;
		}
	}
	fuzz_log("t%d burst: %u ops here, %u on t%d", me, ts.nplan[me], ts.nplan[other], other);
	pthread_mutex_lock(&ts.mu);
	unsigned gen = my_seen = ++ts.burst_gen;
	pthread_cond_broadcast(&ts.cv);
	pthread_mutex_unlock(&ts.mu);
	run_plan(me);
	pthread_mutex_lock(&ts.mu);
	while (ts.burst_acked != gen)
		pthread_cond_wait(&ts.cv, &ts.mu);
	pthread_mutex_unlock(&ts.mu);
	for (int t = 0; t < 2; t++)
		for (unsigned j = 0; j < ts.nplan[t]; j++) {
			struct bop *o = &ts.plan[t][j];
			if (!o->alloc)
				continue;
			int saved = cur_tid;
			cur_tid = t;
			blk *b = model_add(o->p, o->size, "burst malloc", false);
			cur_tid = saved;
			b->seed = o->seed;
			if (b->usable != o->usable)
				fuzz_fail("burst: usable size of %p changed from %zu to %zu", o->p, o->usable, b->usable);
			check_block(b, "burst malloc (contents after the burst)");
		}
}

/* ---- the loop ------------------------------------------------------------------------ */

static void build_tables(const ops_profile *pf)
{
	unsigned total = 0, tt = 0;
	for (unsigned i = 0; i < OP_COUNT; i++)
		total += pf->op_weight[i];
	for (unsigned i = 0; i < T_COUNT; i++)
		tt += pf->tier_weight[i];
	if (!total || !tt)
		fuzz_fail("profile %s has no operations or no tiers", pf->name);
	/* Byte b maps to the op whose cumulative weight range holds b. */
	for (unsigned b = 0, op = 0, acc = pf->op_weight[0]; b < 256; b++) {
		while (b * total >= acc * 256u && op + 1 < OP_COUNT)
			acc += pf->op_weight[++op];
		optable[b] = (uint8_t)op;
	}
	for (unsigned b = 0, t = 0, acc = pf->tier_weight[0]; b < 256; b++) {
		while (b * tt >= acc * 256u && t + 1 < T_COUNT)
			acc += pf->tier_weight[++t];
		tiertable[b] = (uint8_t)t;
	}
}

void ops_init(const ops_profile *pf)
{
	static bool done;
	if (done)
		return;
	done = true;
	fuzz_set_name(pf->name);
	trace = getenv("FUZZ_TRACE") != NULL;
	const char *ign = getenv("SA_FUZZ_IGNORE");
	ignore_realloc_align = ign && (strstr(ign, "realloc-align") || !strcmp(ign, "all"));
	ignore_huge_arenas = ign && (strstr(ign, "huge-arenas") || !strcmp(ign, "all"));
	ignore_aligned_zero = ign && (strstr(ign, "aligned-zero") || !strcmp(ign, "all"));
	ignore_efence_usable = ign && (strstr(ign, "efence-usable") || !strcmp(ign, "all"));
	ignore_large_report = ign && (strstr(ign, "large-report") || !strcmp(ign, "all"));
	skip_check_heap = getenv("SA_FUZZ_NO_CHECK_HEAP") != NULL;
	live = xmmap(OPS_MAX_LIVE * sizeof *live);
	ri_init(&ranges, OPS_MAX_LIVE);
	build_tables(pf);
	devnull = fopen("/dev/null", "w");
	/* Start the library; the scavenger runs only when an operation asks. */
	sa_free(sa_malloc(1));
	opts.scavenge_ms = -1;
	if (pf->op_weight[OP_BAD]) {
		capture_init();
		opts.abort_on_error = 0;
		bad_mode = true;
		/* backtrace loads libgcc_s on its first call: not inside a capture. */
		void *p = sa_malloc(24);
		sa_free(p);
		capture_begin();
		sa_free(p);
		char out[8192];
		capture_end(out, sizeof out);
		if (!strstr(out, "double free"))
			fuzz_fail("abort_on_error=0 did not take: %s", out);
	}
	reports_seen = __atomic_load_n(&reports, __ATOMIC_RELAXED);
	opts_saved = opts;
	if (devnull)
		sa_print_stats(devnull);
}

static void one_op(fdp *d)
{
	enum op op = optable[fdp_u8(d)];
	switch (op) {
	case OP_MALLOC:
		op_malloc(gen_size(d), false);
		break;
	case OP_CALLOC:
		op_malloc(gen_size(d), true);
		break;
	case OP_REALLOC:
		op_realloc(d, false);
		break;
	case OP_REALLOCARRAY:
		op_realloc(d, true);
		break;
	case OP_FREE: {
		int i = pick(d);
		if (i >= 0)
			do_free((unsigned)i, "free");
		else
			sa_free(NULL);
		break;
	}
	case OP_ALIGNED_ALLOC:
	case OP_POSIX_MEMALIGN:
	case OP_MEMALIGN:
	case OP_VALLOC:
	case OP_PVALLOC:
		op_aligned(d, op);
		break;
	case OP_USABLE:
		op_usable(d);
		break;
	case OP_STATS:
		if (ops_done >= next_stats) {
			next_stats = ops_done + RATE;
			check_central(P->nthreads == 1, false);
		}
		break;
	case OP_CHECK:
		if (!skip_check_heap && ops_done >= next_check) {
			next_check = ops_done + RATE;
			check_heap("check op");
		}
		break;
	case OP_SWITCH:
		if (P->nthreads == 2) {
			fuzz_log("t%d switch", cur_tid);
			pthread_mutex_lock(&ts.mu);
			ts.token = 1 - cur_tid;
			pthread_cond_broadcast(&ts.cv);
			pthread_mutex_unlock(&ts.mu);
			if (!wait_turn(cur_tid)) {
				thread_quit = true;
				return;
			}
		}
		break;
	case OP_BATCH_ALLOC:
		op_batch_alloc(d);
		break;
	case OP_BATCH_FREE:
		op_batch_free(d);
		break;
	case OP_FLUSH:
		if (cache_current()) {
			fuzz_log("t%d cache_flush", cur_tid);
			cache_flush(cache_current(), false);
		}
		break;
	case OP_SCAVENGE:
		if (ops_done >= next_scav) {
			next_scav = ops_done + RATE;
			fuzz_log("sa_scavenge");
			sa_scavenge();
		}
		break;
	case OP_SCAV_MS:
		op_scav_ms(d);
		break;
	case OP_FAIL:
		op_fail(d);
		break;
	case OP_PRINT_STATS:
		if (devnull && ops_done >= next_print) {
			next_print = ops_done + RATE;
			sa_print_stats(devnull);
		}
		break;
	case OP_CENTRAL_CYCLE:
		op_central_cycle(d);
		break;
	case OP_BURST:
		op_burst(d);
		break;
	case OP_REALLOC_CHAIN:
		op_realloc_chain(d);
		break;
	case OP_BAD:
		op_bad(d);
		break;
	case OP_FORK:
		op_fork(d);
		break;
	case OP_HUGE:
		op_huge(d);
		break;
	case OP_DEBUG_MODE:
		op_debug_mode(d);
		break;
	case OP_OOM:
		op_oom(d);
		break;
	case OP_DEBUG_BUG:
		op_debug_bug(d);
		break;
	case OP_COUNT:
		break;
	}
	if (__atomic_load_n(&reports, __ATOMIC_RELAXED) != reports_seen)
		fuzz_fail("a valid call was reported as a heap bug (stderr has the report)");
	if (debug_until && ops_done + 1 >= debug_until)
		debug_mode_end();
	check_stats("after an operation");
}

/* Free everything (checking contents), then the heap must be as it was. */
static void teardown(void)
{
	debug_mode_end();
	while (nlive > 0)
		do_free(nlive - 1, "final free");
	opts.scavenge_ms = -1;
	if (__atomic_load_n(&reports, __ATOMIC_RELAXED) != reports_seen)
		fuzz_fail("a valid free was reported as a heap bug (stderr has the report)");
}

static void run_loop(fdp *d)
{
	while (!thread_quit && !fdp_done(d) && ops_done < P->max_ops) {
		one_op(d);
		ops_done++;
	}
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	cur_tid = me;
	my_seen = 0;
	thread_quit = false;
	if (!wait_turn(me))
		return NULL;
	run_loop(ts.d);
	if (thread_quit)
		return NULL;
	teardown();
	check_stats("end of input, before the threads exit");
	pthread_mutex_lock(&ts.mu);
	ts.done = true;
	pthread_cond_broadcast(&ts.cv);
	pthread_mutex_unlock(&ts.mu);
	return NULL;
}

int ops_run(const ops_profile *pf, const uint8_t *data, size_t size)
{
	ops_init(pf);
	P = pf;
	fdp d = {data, size};
	nlive = 0;
	ngrave = 0;
	ops_done = 0;
	next_check = next_stats = next_print = next_scav = nforks = nhuge = nooms = ndbgbugs = 0;
	debug_until = 0;
	memset(model_cls, 0, sizeof model_cls);
	ranges.n = 0;
	read_base();
	fuzz_log("---- input of %zu bytes (%lu arenas)", size, (unsigned long)prev.NumArenas);
	if (pf->nthreads == 2) {
		ts.token = 0;
		ts.done = false;
		ts.burst_gen = ts.burst_acked = 0;
		ts.d = &d;
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i))
				fuzz_fail("pthread_create failed");
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		/* Both caches are gone: the counters are exact again. */
		read_base();
		if (base_objects != 0 && !DEBUG_BUILD)
			fuzz_fail("after both threads exited: %lu objects still counted live", (unsigned long)base_objects);
	} else {
		cur_tid = 0;
		run_loop(&d);
		teardown();
		check_stats("end of input");
		if (cache_current())
			cache_flush(cache_current(), false);
	}
	if (!skip_check_heap)
		check_heap("end of input");
	check_central(true, !DEBUG_BUILD);
	check_stats("end of input, after the checks");
	return 0;
}
