/*
 * Statistics (the fields of Go's runtime.MemStats that apply), the stats
 * table, and the on-demand heap check.
 *
 * Counters live in each mcache and are summed on demand, so the fast
 * paths only bump a thread-local counter.  Without a stop-the-world, a
 * reading taken while other threads allocate is a consistent total of
 * each counter, not of all counters at one instant.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "spanalloc.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void sa_read_memstats(struct sa_memstats *m)
{
	sa_ensure_init();
	cache_counters t;
	cache_sum_counters(&t);
	memset(m, 0, sizeof *m);

	uint64_t alloc = 0, total = 0;
	for (unsigned i = 0; i < NUM_SIZE_CLASSES; i++) {
		m->BySize[i].Size = class_to_size[i];
		m->BySize[i].Mallocs = t.nmalloc[i];
		m->BySize[i].Frees = t.nfree[i];
		m->Mallocs += t.nmalloc[i];
		m->Frees += t.nfree[i];
		if (i > 0) {
			alloc += (t.nmalloc[i] - t.nfree[i]) * class_to_size[i];
			total += t.nmalloc[i] * class_to_size[i];
		}
	}
	/* Tiny objects count in the 16-byte class, their bytes as blocks. */
	m->BySize[TINY_SIZE_CLASS].Mallocs += t.tinyAllocs;
	m->BySize[TINY_SIZE_CLASS].Frees += t.tinyFrees;
	m->Mallocs += t.tinyAllocs;
	m->Frees += t.tinyFrees;
	alloc += (t.tinyBlocks - t.tinyBlocksFree) * TINY_SIZE + (t.largeAlloc - t.largeFree);
	total += t.tinyBlocks * TINY_SIZE + t.largeAlloc;

	m->Alloc = m->HeapAlloc = alloc;
	m->TotalAlloc = total;
	m->HeapObjects = m->Mallocs - m->Frees;

	lock(&mheap_.lock);
	m->HeapSys = mheap_.pagesCommitted * PAGE_SIZE;
	m->HeapInuse = mheap_.pagesInUse * PAGE_SIZE;
	m->HeapIdle = m->HeapSys - m->HeapInuse;
	m->HeapReleased = mheap_.pagesScav * PAGE_SIZE;
	m->MSpanInuse = mheap_.spanalloc.inuse + mheap_.bitsalloc.inuse + mheap_.tinyalloc.inuse;
	m->MSpanSys = mheap_.spanalloc.sys + mheap_.bitsalloc.sys + mheap_.tinyalloc.sys;
	m->MCacheInuse = mheap_.cachealloc.inuse;
	m->MCacheSys = mheap_.cachealloc.sys;
	m->NumArenas = mheap_.narenas;
	/* Guarded and zero-size blocks (debug build) are heap objects in no
	 * span: they count as their classes' bytes here as in HeapAlloc, so
	 * that the statistics do not depend on which blocks were sampled. */
	uint64_t guarded = guarded_heap_bytes();
	m->HeapSys += guarded;
	m->HeapInuse += guarded;
	m->Sys = m->HeapSys + m->MSpanSys + m->MCacheSys + mheap_.arenaalloc.sys;
	unlock(&mheap_.lock);
}

static void human(char *buf, size_t n, uint64_t v)
{
	if (v >= 10ull << 30)
		snprintf(buf, n, "%.1f GiB", (double)v / (1 << 30));
	else if (v >= 10ull << 20)
		snprintf(buf, n, "%.1f MiB", (double)v / (1 << 20));
	else if (v >= 10ull << 10)
		snprintf(buf, n, "%.1f KiB", (double)v / (1 << 10));
	else
		snprintf(buf, n, "%llu B", (unsigned long long)v);
}

/* Append to a fixed buffer (reports and stats never allocate). */
static void put(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

/* The stats table, as text, into b. */
static void format_stats(strbuf *b)
{
	struct sa_memstats m;
	sa_read_memstats(&m);
	char h[32];
	extern char *program_invocation_short_name;
	put(b, "spanalloc %s heap statistics of %s (pid %d)\n", SPANALLOC_VERSION,
	    program_invocation_short_name ? program_invocation_short_name : "?", (int)getpid());
#define ROW(name, v, doc)                                                                                              \
	do {                                                                                                           \
		human(h, sizeof h, v);                                                                                 \
		put(b, "  %-13s %14llu  %10s  %s\n", name, (unsigned long long)(v), h, doc);                           \
	} while (0)
#define COUNT(name, v, doc) put(b, "  %-13s %14llu  %10s  %s\n", name, (unsigned long long)(v), "", doc)
	ROW("Alloc", m.Alloc, "bytes of live objects");
	ROW("TotalAlloc", m.TotalAlloc, "bytes allocated in all");
	ROW("Sys", m.Sys, "bytes obtained from the OS");
	COUNT("Mallocs", m.Mallocs, "objects allocated");
	COUNT("Frees", m.Frees, "objects freed");
	COUNT("HeapObjects", m.HeapObjects, "live objects");
	ROW("HeapAlloc", m.HeapAlloc, "bytes of live objects");
	ROW("HeapSys", m.HeapSys, "heap bytes made usable");
	ROW("HeapIdle", m.HeapIdle, "bytes in free pages");
	ROW("HeapInuse", m.HeapInuse, "bytes in in-use spans");
	ROW("HeapReleased", m.HeapReleased, "free bytes returned to the OS");
	ROW("MSpanInuse", m.MSpanInuse, "span metadata in use");
	ROW("MSpanSys", m.MSpanSys, "span metadata from the OS");
	ROW("MCacheInuse", m.MCacheInuse, "thread caches (live and reusable)");
	ROW("MCacheSys", m.MCacheSys, "thread caches from the OS");
	COUNT("NumArenas", m.NumArenas, "64 MiB arenas reserved");
#undef ROW
#undef COUNT
	put(b, "  %5s  %9s  %12s  %12s  %12s\n", "class", "size", "mallocs", "frees", "live");
	for (unsigned i = 0; i < SA_NUM_SIZE_CLASSES; i++) {
		if (!m.BySize[i].Mallocs)
			continue;
		char size[16];
		if (i == 0)
			snprintf(size, sizeof size, "large");
		else
			snprintf(size, sizeof size, "%u", m.BySize[i].Size);
		put(b, "  %5u  %9s  %12llu  %12llu  %12llu\n", i, size, (unsigned long long)m.BySize[i].Mallocs,
		    (unsigned long long)m.BySize[i].Frees,
		    (unsigned long long)(m.BySize[i].Mallocs - m.BySize[i].Frees));
	}
}

EXPORT void sa_print_stats(FILE *f)
{
	char buf[8192];
	strbuf b = {buf, 0, sizeof buf};
	format_stats(&b);
	buf[b.len] = 0;
	fputs(buf, f ? f : stderr);
	fflush(f ? f : stderr);
}

/*
 * stats=1: the table at exit, on a copy of stderr taken at start-up
 * (programs such as coreutils close stderr in an atexit handler, which
 * runs before our destructor).
 */
static int stats_fd = -1;

void stats_at_start(void)
{
	if (opts.stats && stats_fd < 0)
		stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
}

void stats_at_exit(void)
{
	if (!opts.stats)
		return;
	char buf[8192];
	strbuf b = {buf, 0, sizeof buf};
	format_stats(&b);
	os_write(stats_fd >= 0 ? stats_fd : 2, buf, b.len);
}

/* ---- sa_check_heap -------------------------------------------------------- */

static size_t heap_problem(const char *what, uintptr_t a, uint64_t b)
{
	char buf[256];
	strbuf sb = {buf, 0, sizeof buf};
	sb_fmt(&sb, "spanalloc: sa_check_heap: %s (%p, %llu)\n", what, (void *)a, (unsigned long long)b);
	os_write(2, sb.buf, sb.len);
	return 1;
}

/* One of c's lists (c's lock held). */
static size_t check_list(mcentral *c, spanlist *l, uint8_t which)
{
	DCHECK(lock_held(&c->lock));
	size_t bad = 0, n = 0;
	for (mspan *s = l->first; s; s = s->next, n++) {
		if (s->list != which || s->owner != NO_OWNER || s->spanclass != c->spanclass)
			bad += heap_problem("span on a central list with the wrong list, owner or class", (uintptr_t)s,
					    which);
		if (n > l->n)
			return bad + heap_problem("central list longer than its count (a cycle?)", (uintptr_t)c, l->n);
	}
	if (n != l->n)
		bad += heap_problem("central list count is wrong", (uintptr_t)c, n);
	return bad;
}

/* Add s's live objects to live[class] (tiny sub-objects to *tiny). */
static void count_live(const mspan *s, uint64_t *live, uint64_t *tiny)
{
	if (s->spanclass == 0) {
		bool held = false;
		held = debug_quarantined_in(s, 0) & 1;
		live[0] += span_state(s) == mSpanInUse && !held;
		return;
	}
	unsigned cls = s->spanclass == TINY_SPAN_CLASS ? TINY_SIZE_CLASS : s->spanclass;
	for (size_t i = 0; i < span_bitmap_words(s); i++) {
		uint64_t m = LOAD_RELAXED(&s->gcmarkBits[i]) & ~LOAD_RELAXED(&s->remoteBits[i]);
		m &= ~debug_quarantined_in(s, i); /* freed, counted, held back */
		if (s->spanclass != TINY_SPAN_CLASS) {
			live[cls] += (uint64_t)__builtin_popcountll(m);
			continue;
		}
		for (; m; m &= m - 1) {
			size_t blk = i * 64 + (size_t)__builtin_ctzll(m);
			*tiny += tiny_live((mspan *)s, s->startAddr + blk * TINY_SIZE);
		}
	}
}

/*
 * Check every span in the heap: the page map and bitmaps of every span,
 * the bitmaps in full for spans that no other thread is using right now,
 * the central lists, and the heap's page counts.
 */
EXPORT size_t sa_check_heap(void)
{
	sa_ensure_init();
	size_t bad = 0;
	mcache *self = cache_current();
	bool alone = false; /* (the debug build's block checks) */
	bool busy = false;
	uint64_t ops = 0; /* the debug build: did another thread's operation run meanwhile? */
	if (SA_DEBUG_BUILD) {
		cache_counters before;
		cache_sum_counters(&before);
		alone = before.ncaches == 0 || (before.ncaches == 1 && self);
		ops = cache_debug_ops(self, &busy);
	}
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++)
		lock(&mcentral_[i].lock);
	lock(&mheap_.lock);
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++) {
		bad += check_list(&mcentral_[i], &mcentral_[i].partial, LIST_PARTIAL);
		bad += check_list(&mcentral_[i], &mcentral_[i].full, LIST_FULL);
	}
	uint64_t inuse = 0, committed = 0;
	uint64_t live[NUM_SIZE_CLASSES] = {0}, tinyLive = 0;
	for (heapArena *ha = mheap_.arenas; ha; ha = ha->next) {
		committed += ha->commitPages;
		uint32_t nfree = 0;
		for (size_t pg = 0; pg < PAGES_PER_ARENA; pg++) {
			bool used = (ha->pallocBits[pg / 64] >> (pg % 64)) & 1;
			mspan *s = ha->spans[pg];
			nfree += !used;
			if (used != (s != NULL)) {
				bad += heap_problem("page bitmap and page map disagree at page",
						    ha->base + pg * PAGE_SIZE, used);
				continue;
			}
			if (!s)
				continue;
			inuse++;
			if (ha->base + pg * PAGE_SIZE != s->startAddr)
				continue; /* not the span's first page */
			mcache *owner = LOAD_RELAXED(&s->owner);
			/* Every block's canaries and poison (reported below, once
			 * the locks are released); those of spans another thread
			 * may be using are verified first. */
			debug_check_blocks(s, !alone && (s->spanclass == 0 || (owner != NO_OWNER && owner != self)));
			if (owner == NO_OWNER || owner == self)
				bad += span_validate(s, false, "sa_check_heap");
			else if (span_state(s) == mSpanDead)
				bad += heap_problem("span in the page map is not in use", (uintptr_t)s, span_state(s));
			count_live(s, live, &tinyLive);
		}
		if (nfree != ha->nfree)
			bad += heap_problem("arena free page count is wrong", ha->base, nfree);
		for (size_t pg = 0; pg < ha->searchHint; pg++)
			if (!((ha->pallocBits[pg / 64] >> (pg % 64)) & 1)) {
				bad += heap_problem("free page below the arena's search hint", ha->base, pg);
				break;
			}
	}
	if (inuse != mheap_.pagesInUse)
		bad += heap_problem("heap in-use page count is wrong", inuse, mheap_.pagesInUse);
	if (committed != mheap_.pagesCommitted)
		bad += heap_problem("heap committed page count is wrong", committed, mheap_.pagesCommitted);
	unlock(&mheap_.lock);
	for (unsigned i = NUM_SPAN_CLASSES; i-- > 0;)
		unlock(&mcentral_[i].lock);
	bad += debug_report_deferred();
	/* The guarded blocks' canaries (the slack before the guard page and
	 * the first page's bytes before the block). */
	bad += guarded_check_live("sa_check_heap");

	/*
	 * With at most one thread cache (ours), nothing moves: the objects
	 * the bitmaps say are live must be exactly those the counters say
	 * were allocated and not freed.  Nor when the debug build saw no
	 * other thread inside an operation at the start or the end and none
	 * ran in between (its operations bracket the bitmap and the counter
	 * updates): so the check also runs with idle threads about, as in a
	 * test runner's process.
	 */
	cache_counters t;
	cache_sum_counters(&t);
	bool quiet = false;
	if (SA_DEBUG_BUILD && !busy) {
		bool busy_after;
		quiet = cache_debug_ops(self, &busy_after) == ops && !busy_after;
	}
	if (counters_exact && (t.ncaches == 0 || (t.ncaches == 1 && self) || quiet)) {
		for (unsigned i = 0; SA_DEBUG_BUILD && i < NUM_SIZE_CLASSES; i++)
			live[i] += guarded_live_in_class(i); /* blocks in no span */
		for (unsigned i = 0; i < NUM_SIZE_CLASSES; i++)
			if (live[i] != t.nmalloc[i] - t.nfree[i])
				bad += heap_problem("live objects in the bitmaps differ from the counters, class", i,
						    live[i]);
		if (tinyLive != t.tinyAllocs - t.tinyFrees)
			bad += heap_problem("live tiny objects in the masks differ from the counters", tinyLive,
					    t.tinyAllocs - t.tinyFrees);
	}
	return bad;
}

#ifndef SA_DEBUG /* (stays: the API tier; the debug build exports its own) */
/* Leak detection is the debug build's (debug/leak.c). */
EXPORT int sa_check_leaks(void)
{
	errno = ENOSYS;
	return -1;
}
#endif

EXPORT void sa_scavenge(void)
{
	sa_ensure_init();
	heap_scavenge(true);
}
