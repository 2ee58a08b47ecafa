/*
 * Leak detection of the debug build: Go's mark phase over spanalloc's
 * heap, as LeakSanitizer does it, without recompiling the program.
 *
 * A check (at exit, from sa_check_leaks(), or from the __lsan_* entry
 * points below) runs in five steps:
 *
 *   1. The loader lock is taken (the check runs inside dl_iterate_phdr,
 *      whose lock is recursive) so no library is unloaded under the scan,
 *      and the writable PT_LOAD segments and PT_TLS sizes of every module
 *      are copied out.
 *   2. No debug-layer operation is left half done: the fork protocol of
 *      debug.c (debug_fork_prepare) waits until no thread is inside a
 *      malloc / free / realloc and holds new ones at their door.  Then the
 *      world stops: every other thread of /proc/self/task gets STOP_SIG
 *      (tgkill); its handler saves the interrupted registers and stack
 *      pointer and sleeps on a futex until the check is over.
 *      So a thread "in the middle of a malloc" is either before the
 *      operation (its registers and stack are scanned like any) or spinning
 *      at op_enter; no block's bits are mid-update.  (A thread without an
 *      mcache freeing, or an exiting thread flushing its quarantine, is not
 *      under that protocol: a block it is releasing at that instant may be
 *      counted once as a leak.)  After the stop no allocator lock is taken:
 *      a stopped thread may hold any of them.  Everything the check needs
 *      comes from os_alloc.
 *   3. Mark from the roots: each stopped thread's saved registers, its
 *      stack from the saved stack pointer up, and a window around its
 *      thread pointer (glibc keeps the static TLS blocks and the thread
 *      descriptor there, with the DTV and the thread-specific data); the
 *      writable segments of every module but spanalloc's own (its arena
 *      index and side tables hold no program pointers, and os_alloc'ed
 *      metadata is never scanned); blocks allocated under __lsan_disable()
 *      or passed to __lsan_ignore_object().  A word that points anywhere
 *      into a live block (start or interior, as LeakSanitizer's default)
 *      marks the block in the span's leakBits (a bitmap of the check's
 *      own: gcmarkBits / allocBits / remoteBits, which the free checks rely
 *      on, are only read) and pushes it on the work list (Go's gcWork: an
 *      explicit stack of chunks), which is drained without recursion.
 *      Quarantined blocks are freed, so neither marked nor scanned.
 *   4. Every live block left unmarked is leaked.  A second mark from those
 *      blocks finds the ones reached only from other leaks ("indirect",
 *      the second half of leakBits); the others are "direct".
 *   5. The world resumes; leaks are grouped by allocation stack, largest
 *      first, matched against the suppressions and reported.
 *
 * What it cannot see: pointers held only in floating-point / vector
 * registers, on a signal alternate stack, in memory the program mapped
 * itself (mmap) or in another allocator's heap, or encoded (XOR-linked
 * lists, pointers stored shifted or compressed).  Conservative scanning
 * may keep a leak alive: any word that happens to hold a block's address
 * (a stale stack slot, an integer) counts as a pointer.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "../internal.h"
#include "../track.h"
#include "spanalloc.h"
#include "guarded.h"

#define EXPORT __attribute__((visibility("default")))

__thread unsigned leak_disabled;

/* The program's malloc is ours: a check can see every pointer's home. */
#ifdef SA_NO_STD_NAMES
#define OWN_MALLOC 0
#else
#define OWN_MALLOC 1
#endif

/* ---- the work list (Go's gcWork / gcDrain) ---------------------------------- */

/* Entries are block starts (8 bytes each: the size is looked up again
 * when the block is scanned). */
#define WORK_ENTRIES ((1u << 17) - 2)
struct work_chunk {
	struct work_chunk *prev;
	size_t n;
	uintptr_t e[WORK_ENTRIES];
};

/* The state of one check: only the checking thread touches it. */
struct check {
	struct work_chunk *top, *spare;
	bool oom;      /* a work chunk or a bitmap could not be had */
	mspan **spans; /* in-use spans at the stop */
	size_t nspans;
	uint64_t *bits; /* their leakBits, one allocation */
	size_t nbits;
	uintptr_t *maps; /* readable mappings: lo, hi pairs, address order */
	size_t nmaps, mapcap;
	bool indirect;   /* second pass: marks go to the indirect half */
	uint64_t *gbits; /* the guarded pool's and zero-size blocks' marks: */
	size_t gwords;   /* reachable words, then as many indirect words */
};

static void work_push(struct check *c, uintptr_t p)
{
	struct work_chunk *w = c->top;
	if (UNLIKELY(!w || w->n == WORK_ENTRIES)) {
		w = c->spare ? c->spare : os_alloc(sizeof *w);
		c->spare = NULL;
		if (!w) {
			c->oom = true;
			return;
		}
		w->prev = c->top;
		w->n = 0;
		c->top = w;
	}
	w->e[w->n++] = p;
}

static bool work_pop(struct check *c, uintptr_t *p)
{
	struct work_chunk *w = c->top;
	while (w && w->n == 0) {
		c->top = w->prev;
		if (c->spare)
			os_free(w, sizeof *w);
		else
			c->spare = w;
		w = c->top;
	}
	if (!w)
		return false;
	*p = w->e[--w->n];
	return true;
}

/* ---- blocks ------------------------------------------------------------------ */

static inline bool qbit(const mspan *s, uintptr_t idx)
{
	return (__atomic_load_n(&s->dbg->qbits[idx / 64], __ATOMIC_ACQUIRE) >> (idx % 64)) & 1;
}

/* Object idx of in-use span s is a live block (allocated, not freed). */
static inline bool block_live(const mspan *s, uintptr_t idx)
{
	if (qbit(s, idx))
		return false;  /* in a quarantine: freed */
	if (s->spanclass == 0) /* (a freed large span may wait in a large cache) */
		return span_state(s) == mSpanInUse;
	uint64_t bit = 1ull << (idx % 64);
	return (LOAD_RELAXED(&s->gcmarkBits[idx / 64]) & bit) && !(LOAD_RELAXED(&s->remoteBits[idx / 64]) & bit);
}

/* The program's pointer to object idx (debug.c's user_of). */
static inline uintptr_t block_start(const mspan *s, uintptr_t idx)
{
	return s->startAddr + idx * s->elemsize + s->dbg->obj[idx].offset;
}

static inline size_t span_words(const mspan *s) { return s->spanclass == 0 ? 1 : span_bitmap_words(s); }

/*
 * A block's marks: bit of *reach is "reachable"; the same bit of
 * reach[ind] is "indirect".  In the first pass a mark is "reachable"; in
 * the second, "indirect" (only for blocks the first pass did not reach).
 * A block newly marked is queued for scanning.
 */
static inline void mark(struct check *c, uint64_t *reach, size_t ind, uint64_t bit, uintptr_t beg)
{
	if (*reach & bit)
		return;
	if (c->indirect) {
		if (reach[ind] & bit)
			return;
		reach[ind] |= bit;
	} else {
		*reach |= bit;
	}
	work_push(c, beg);
}

/*
 * A leak block: a live span object or a live entry of the guarded pool or
 * the zero-size region, as every pass of the check sees it.
 */
struct leak_block {
	uintptr_t beg;
	size_t size;     /* requested */
	uint32_t stack;  /* allocation stack */
	bool ignore;     /* __lsan_ignore_object, or allocated under __lsan_disable */
	uint64_t *reach; /* its mark word (reach[ind]: the indirect one) and bit */
	size_t ind;
	uint64_t bit;
};

/* Entry i of the guarded pool's index space, if a live block. */
static bool pool_block(const struct check *c, size_t i, struct leak_block *b)
{
	if (!c->gbits || !guarded_leak_block(i, &b->beg, &b->size, &b->stack, &b->ignore))
		return false;
	b->reach = &c->gbits[i / 64];
	b->ind = c->gwords;
	b->bit = 1ull << (i % 64);
	return true;
}

static size_t span_objects(const mspan *s) { return s->spanclass == 0 ? 1 : s->nelems; }

/* Every live block, the spans' then the pool's:
 *   for (struct leak_iter it = {0}; leak_next(c, &it, &b);) */
struct leak_iter {
	size_t span, obj, pool;
};

static bool leak_next(const struct check *c, struct leak_iter *it, struct leak_block *b)
{
	for (; it->span < c->nspans; it->span++, it->obj = 0) {
		mspan *s = c->spans[it->span];
		while (it->obj < span_objects(s)) {
			uintptr_t j = it->obj++;
			if (!block_live(s, j))
				continue;
			const struct dbg_obj *o = &s->dbg->obj[j];
			b->beg = block_start(s, j);
			b->size = o->reqsize;
			b->stack = o->allocStack;
			b->ignore = o->leakIgnore;
			b->reach = &s->dbg->leakBits[j / 64];
			b->ind = span_words(s);
			b->bit = 1ull << (j % 64);
			return true;
		}
	}
	size_t n = c->gbits ? guarded_leak_count() : 0;
	while (it->pool < n)
		if (pool_block(c, it->pool++, b))
			return true;
	return false;
}

/* w may point into a block of the guarded pool or the zero-size region. */
static NOINLINE void mark_guarded(struct check *c, uintptr_t w)
{
	long i = guarded_leak_index(w);
	struct leak_block b;
	if (i >= 0 && pool_block(c, (size_t)i, &b))
		mark(c, b.reach, b.ind, b.bit, b.beg);
}

/* w may point into a block: mark it. */
static inline void mark_word(struct check *c, uintptr_t w)
{
	if (UNLIKELY(guarded_owns(w))) {
		mark_guarded(c, w);
		return;
	}
	heapArena *ha = arena_of(w);
	if (LIKELY(!ha))
		return;
	mspan *s = span_of(ha, w);
	if (!s || !s->dbg || !s->dbg->leakBits)
		return;
	uintptr_t idx = s->spanclass == 0 ? 0 : span_object_index(s, w);
	if (idx >= (s->spanclass == 0 ? 1u : s->nelems) || !block_live(s, idx))
		return;
	uintptr_t beg = block_start(s, idx);
	size_t size = s->dbg->obj[idx].reqsize;
	if (w < beg || w - beg >= (size ? size : 1))
		return; /* the redzone or the slack: not the block */
	mark(c, &s->dbg->leakBits[idx / 64], span_words(s), 1ull << (idx % 64), beg);
}

static void scan_words(struct check *c, uintptr_t lo, uintptr_t hi)
{
	for (lo = (lo + 7) & ~(uintptr_t)7; lo + 8 <= hi; lo += 8)
		mark_word(c, *(const uintptr_t *)lo);
}

/* The requested size of the live block that starts at p. */
static size_t block_len(uintptr_t p)
{
	if (guarded_owns(p)) {
		long i = guarded_leak_index(p);
		uintptr_t beg;
		size_t size;
		uint32_t stack;
		bool ignore;
		return i >= 0 && guarded_leak_block((size_t)i, &beg, &size, &stack, &ignore) ? size : 0;
	}
	mspan *s = span_of(arena_of(p), p);
	uintptr_t idx = s->spanclass == 0 ? 0 : span_object_index(s, p);
	return s->dbg->obj[idx].reqsize;
}

static void drain(struct check *c)
{
	uintptr_t p;
	while (work_pop(c, &p))
		scan_words(c, p, p + block_len(p));
}

/* The readable mapping holding a, as [*lo, *hi); false if none. */
static bool mapping_of(const struct check *c, uintptr_t a, uintptr_t *lo, uintptr_t *hi)
{
	size_t l = 0, r = c->nmaps;
	while (l < r) {
		size_t m = (l + r) / 2;
		if (a < c->maps[2 * m])
			r = m;
		else if (a >= c->maps[2 * m + 1])
			l = m + 1;
		else {
			*lo = c->maps[2 * m];
			*hi = c->maps[2 * m + 1];
			return true;
		}
	}
	return false;
}

/*
 * A root range: only its readable parts, and never the heap itself (a
 * mapping next to an arena can merge with it; scanning heap memory as a
 * root would keep every block alive).
 */
static void scan_root(struct check *c, uintptr_t lo, uintptr_t hi)
{
	while (lo < hi) {
		uintptr_t mlo, mhi;
		if (!mapping_of(c, lo, &mlo, &mhi)) {
			/* skip to the next mapping */
			size_t i = 0;
			while (i < c->nmaps && c->maps[2 * i + 1] <= lo)
				i++;
			if (i == c->nmaps || c->maps[2 * i] >= hi)
				return;
			lo = c->maps[2 * i];
			continue;
		}
		uintptr_t end = mhi < hi ? mhi : hi;
		while (lo < end) {
			uintptr_t next = ((lo >> ARENA_SHIFT) + 1) << ARENA_SHIFT;
			uintptr_t stop = next < end ? next : end;
			if (!arena_of(lo))
				scan_words(c, lo, stop);
			lo = stop;
		}
	}
}

/* ---- the roots' records -------------------------------------------------------- */

#define MAX_SEGMENTS 4096
struct roots {
	uintptr_t seg[2 * MAX_SEGMENTS]; /* writable segments: lo, hi */
	size_t nseg;
	size_t tls; /* sum of the modules' PT_TLS sizes */
	bool truncated;
	const char *interp;      /* the program's PT_INTERP: the dynamic linker */
	uintptr_t linker[2 * 8]; /* its PT_LOAD segments */
	size_t nlinker;
};

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

/* An address in spanalloc's own code, to find its module. */
static int phdr_collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct roots *r = arg;
	bool ours = false;
	/* spanalloc's own .data / .bss (a shared library of its own): the arena
	 * index (32 MiB) and the side-table pools hold no program pointers.
	 * Linked statically, it shares the program's segments (arena_l2 is cut
	 * out below). */
	uintptr_t self = (uintptr_t)&phdr_collect;
	if (info->dlpi_name && info->dlpi_name[0]) {
		for (int i = 0; i < info->dlpi_phnum; i++) {
			const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
			if (ph->p_type == PT_LOAD && self - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz)
				ours = true;
		}
	}
	bool linker = info->dlpi_name && r->interp && strcmp(base_name(info->dlpi_name), base_name(r->interp)) == 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_INTERP && !r->interp)
			r->interp = (const char *)(info->dlpi_addr + ph->p_vaddr);
		if (ph->p_type == PT_LOAD && linker && r->nlinker < 8) {
			r->linker[2 * r->nlinker] = info->dlpi_addr + ph->p_vaddr;
			r->linker[2 * r->nlinker + 1] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			r->nlinker++;
		}
		if (ph->p_type == PT_TLS)
			r->tls += (ph->p_memsz + ph->p_align) & ~(ph->p_align ? ph->p_align - 1 : 0);
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || ours)
			continue;
		if (r->nseg == MAX_SEGMENTS) {
			r->truncated = true;
			continue;
		}
		r->seg[2 * r->nseg] = info->dlpi_addr + ph->p_vaddr;
		r->seg[2 * r->nseg + 1] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		r->nseg++;
	}
	return 0;
}

/* The readable mappings of /proc/self/maps, read with the world stopped
 * (open and read take no user-space lock). */
static bool read_maps(struct check *c)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t cap = 1 << 16, n = 0;
	c->maps = os_alloc(cap * 2 * sizeof(uintptr_t));
	char buf[8192], line[512];
	size_t ll = 0;
	ssize_t got;
	while (c->maps && (got = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] != '\n') {
				if (ll + 1 < sizeof line)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = 0;
			ll = 0;
			/* "lo-hi perms ..." */
			uintptr_t lo = 0, hi = 0;
			const char *p = line;
			for (; *p && *p != '-'; p++)
				lo = lo * 16 + (uintptr_t)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10);
			for (p += *p == '-'; *p && *p != ' '; p++)
				hi = hi * 16 + (uintptr_t)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10);
			if (p[0] != ' ' || p[1] != 'r')
				continue;
			if (n == cap) {
				uintptr_t *m = os_alloc(cap * 4 * sizeof(uintptr_t));
				if (m)
					memcpy(m, c->maps, cap * 2 * sizeof(uintptr_t));
				os_free(c->maps, cap * 2 * sizeof(uintptr_t));
				c->maps = m;
				cap *= 2;
				if (!m)
					break;
			}
			c->maps[2 * n] = lo;
			c->maps[2 * n + 1] = hi;
			n++;
		}
	}
	close(fd);
	c->nmaps = n;
	c->mapcap = cap;
	return c->maps != NULL;
}

/* ---- stopping the world -------------------------------------------------------- */

#define MAX_THREADS 16384
#ifdef __x86_64__
#define NREGS NGREG
#define UC_SP(uc) ((uintptr_t)(uc)->uc_mcontext.gregs[REG_RSP])
#define UC_REGS(uc) ((const void *)(uc)->uc_mcontext.gregs)
#elif defined(__aarch64__)
#define NREGS 32
#define UC_SP(uc) ((uintptr_t)(uc)->uc_mcontext.sp)
#define UC_REGS(uc) ((const void *)(uc)->uc_mcontext.regs)
#else
#error "leak.c: the stack pointer in a ucontext"
#endif

struct stopped {
	int tid;
	uint32_t state; /* 0 signalled, 1 stopped, 2 gone */
	uintptr_t sp, tp;
	uintptr_t regs[NREGS];
};

static struct stopped *threads; /* MAX_THREADS slots, during a check */
static size_t nthreads;
static uint32_t world_stopped; /* futex: 1 while stopped threads wait */
static uint32_t arrived, left;
static int stop_sig;

static void stop_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	if (si->si_code != SI_TKILL || si->si_pid != getpid() || !__atomic_load_n(&world_stopped, __ATOMIC_ACQUIRE))
		return; /* late or foreign: nothing to do */
	int tid = os_gettid();
	size_t n = __atomic_load_n(&nthreads, __ATOMIC_ACQUIRE);
	struct stopped *t = NULL;
	for (size_t i = 0; i < n; i++)
		if (threads[i].tid == tid)
			t = &threads[i];
	if (!t || __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != 0)
		return;
	const ucontext_t *uc = ucv;
	memcpy(t->regs, UC_REGS(uc), sizeof t->regs);
	t->sp = UC_SP(uc);
	t->tp = (uintptr_t)pthread_self();
	__atomic_store_n(&t->state, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&world_stopped, __ATOMIC_ACQUIRE))
		os_futex_wait(&world_stopped, 1);
	__atomic_add_fetch(&left, 1, __ATOMIC_ACQ_REL);
}

static void resume_world(void)
{
	size_t stopped = 0;
	for (size_t i = 0; i < nthreads; i++)
		stopped += threads[i].state == 1;
	__atomic_store_n(&world_stopped, 0, __ATOMIC_RELEASE);
	os_futex_wake(&world_stopped, 1 << 30);
	/* The slots go away: wait until every handler is out of them. */
	while (__atomic_load_n(&left, __ATOMIC_ACQUIRE) < stopped)
		os_sleep_us(20);
	os_free(threads, MAX_THREADS * sizeof *threads);
	threads = NULL;
	nthreads = 0;
}

static void say(const char *a, const char *b, uint64_t n)
{
	char buf[256];
	strbuf sb = {buf, 0, sizeof buf};
	sb_report_prefix(&sb);
	sb_str(&sb, "leak check: ");
	sb_str(&sb, a);
	if (b) {
		sb_dec(&sb, n);
		sb_str(&sb, b);
	}
	sb_str(&sb, "\n");
	os_write(report_fd, buf, sb.len);
}

static void say_str(const char *a, const char *str)
{
	char buf[512];
	strbuf sb = {buf, 0, sizeof buf};
	sb_report_prefix(&sb);
	sb_str(&sb, a);
	sb_str(&sb, str);
	sb_str(&sb, "\n");
	os_write(report_fd, buf, sb.len);
}

/* Stop every other thread; false (the world running again) on failure. */
static bool stop_world(void)
{
	if (!stop_sig) {
		int sig = SIGRTMAX - 2;
		struct sigaction sa, old;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = stop_handler;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigfillset(&sa.sa_mask);
		if (sigaction(sig, NULL, &old) != 0 || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)) {
			say("the program handles signal SIGRTMAX-2 itself, which the check needs: no check", NULL, 0);
			return false;
		}
		/* Installed for good: a signal that arrives after a check (a
		 * thread that had it blocked) finds a handler that ignores it. */
		sigaction(sig, &sa, NULL);
		stop_sig = sig;
	}
	threads = os_alloc(MAX_THREADS * sizeof *threads);
	if (!threads)
		return false;
	nthreads = 0;
	arrived = left = 0;
	__atomic_store_n(&world_stopped, 1, __ATOMIC_RELEASE);
	int self = os_gettid();
	int tids[1024];
	bool fresh = true;
	while (fresh) {
		fresh = false;
		long n = os_list_threads(tids, sizeof tids / sizeof *tids);
		if (n < 0 || n > (long)(sizeof tids / sizeof *tids)) {
			say(n < 0 ? "cannot read /proc/self/task: no check" : "more than 1024 threads: no check", NULL,
			    0);
			resume_world();
			return false;
		}
		for (long i = 0; i < n; i++) {
			bool known = tids[i] == self;
			for (size_t j = 0; j < nthreads && !known; j++)
				known = threads[j].tid == tids[i];
			if (known)
				continue;
			if (nthreads == MAX_THREADS) {
				say("too many threads: no check", NULL, 0);
				resume_world();
				return false;
			}
			threads[nthreads].tid = tids[i];
			__atomic_store_n(&nthreads, nthreads + 1, __ATOMIC_RELEASE);
			fresh = true;
			if (!os_signal_thread(tids[i], stop_sig))
				threads[nthreads - 1].state = 2;
		}
		/* Wait for every thread signalled to stop (or to be gone): a
		 * running thread may create more, which the next round finds. */
		for (unsigned waited = 0;; waited++) {
			size_t pending = 0;
			for (size_t j = 0; j < nthreads; j++) {
				struct stopped *t = &threads[j];
				if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != 0)
					continue;
				if (waited % 64 == 63 && !os_signal_thread(t->tid, 0)) {
					t->state = 2; /* exited before its handler ran */
					continue;
				}
				pending++;
			}
			if (!pending)
				break;
			if (waited > 100000) { /* ~ 5 s: it blocks the signal */
				for (size_t j = 0; j < nthreads; j++)
					if (threads[j].state == 0)
						say("thread ", " does not take the stop signal (blocked?): no check",
						    (uint64_t)threads[j].tid);
				resume_world();
				return false;
			}
			os_sleep_us(waited < 100 ? 1 : 50);
		}
	}
	return true;
}

/* ---- one check ------------------------------------------------------------------- */

struct group {
	uint32_t stack;
	uint32_t kind; /* 0 empty, 1 direct, 2 indirect */
	uint64_t bytes, count;
};

struct result {
	struct group *g; /* open addressing on (stack, kind) */
	size_t cap, n;
	bool failed;
};

static void group_add(struct result *r, uint32_t stack, uint32_t kind, uint64_t bytes)
{
	if (r->failed)
		return;
	if (2 * (r->n + 1) > r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 1024;
		struct group *g = os_alloc(cap * sizeof *g);
		if (!g) {
			r->failed = true;
			return;
		}
		for (size_t i = 0; i < r->cap; i++) {
			if (!r->g[i].kind)
				continue;
			size_t h = (r->g[i].stack * 2654435761u + r->g[i].kind) & (cap - 1);
			while (g[h].kind)
				h = (h + 1) & (cap - 1);
			g[h] = r->g[i];
		}
		if (r->g)
			os_free(r->g, r->cap * sizeof *g);
		r->g = g;
		r->cap = cap;
	}
	size_t h = (stack * 2654435761u + kind) & (r->cap - 1);
	while (r->g[h].kind && !(r->g[h].stack == stack && r->g[h].kind == kind))
		h = (h + 1) & (r->cap - 1);
	if (!r->g[h].kind) {
		r->g[h].stack = stack;
		r->g[h].kind = kind;
		r->n++;
	}
	r->g[h].bytes += bytes;
	r->g[h].count++;
}

/* Every in-use span gets its leakBits (reachable, then indirect, words). */
static bool make_bits(struct check *c)
{
	size_t n = 0, words = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (heapArena *ha = LOAD_RELAXED(&mheap_.arenas); ha; ha = ha->next) {
			for (size_t pg = 0; pg < ha->commitPages; pg++) {
				mspan *s = ha->spans[pg];
				if (!s || s->startAddr != ha->base + pg * PAGE_SIZE)
					continue;
				pg += s->npages - 1;
				if (span_state(s) != mSpanInUse || !s->dbg)
					continue;
				if (pass == 0) {
					n++;
					words += 2 * span_words(s);
				} else if (c->nspans < n) {
					s->dbg->leakBits = c->bits + words;
					words += 2 * span_words(s);
					c->spans[c->nspans++] = s;
				}
			}
		}
		if (pass == 0) {
			c->spans = os_alloc((n ? n : 1) * sizeof *c->spans);
			c->bits = os_alloc((words ? words : 1) * sizeof *c->bits);
			c->nbits = words;
			c->gwords = (guarded_leak_count() + 63) / 64;
			c->gbits = c->gwords ? os_alloc(2 * c->gwords * sizeof *c->gbits) : NULL;
			if (!c->spans || !c->bits || (c->gwords && !c->gbits))
				return false;
			words = 0;
		}
	}
	return true;
}

struct frame_ctx {
	uintptr_t sp;   /* the checking thread's stack, from its caller */
	ucontext_t *uc; /* and its registers */
	struct result *res;
	bool done;
};

static bool by_linker(const struct roots *r, uint32_t stack)
{
	const uintptr_t *f;
	if (!r->nlinker || !depot_stack(stack, &f))
		return false;
	for (size_t k = 0; k < r->nlinker; k++)
		if (f[0] - r->linker[2 * k] < r->linker[2 * k + 1] - r->linker[2 * k])
			return true;
	return false;
}

/* Steps 2 to 4, inside dl_iterate_phdr (the loader lock held). */
/*
 * Memory the program mapped itself and says holds pointers to blocks
 * (__lsan_register_root_region): scanned as a root, its readable parts
 * outside the heap, as LSan does.  A fixed table, so that registering
 * never allocates; guarded by check_lock (a check reads it under that
 * lock).  A region past ROOT_REGIONS is refused with one notice.
 */
#define ROOT_REGIONS 256
static struct {
	uintptr_t lo, hi;
} root_regions[ROOT_REGIONS];
static unsigned nroot_regions;

static int check_locked(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info;
	(void)size;
	struct frame_ctx *fc = arg;
	if (fc->done)
		return 1;
	fc->done = true;
	struct roots *roots = os_alloc(sizeof *roots);
	struct check c;
	memset(&c, 0, sizeof c);
	if (!roots) {
		fc->res->failed = true;
		return 1;
	}
	dl_iterate_phdr(phdr_collect, roots); /* recursive lock */

	debug_fork_prepare();
	if (!stop_world()) {
		debug_fork_done();
		os_free(roots, sizeof *roots);
		fc->res->failed = true;
		return 1;
	}
	bool ok = read_maps(&c) && make_bits(&c);

	/* Roots: the segments (less the arena index, when linked in). */
	uintptr_t ai = (uintptr_t)&arena_l2, aiend = ai + sizeof arena_l2;
	for (size_t i = 0; ok && i < roots->nseg; i++) {
		uintptr_t lo = roots->seg[2 * i], hi = roots->seg[2 * i + 1];
		if (lo < aiend && ai < hi) {
			scan_root(&c, lo, ai);
			scan_root(&c, aiend, hi);
		} else {
			scan_root(&c, lo, hi);
		}
		drain(&c);
	}
	/* The regions the program registered (__lsan_register_root_region). */
	for (unsigned i = 0; ok && i < nroot_regions; i++) {
		scan_root(&c, root_regions[i].lo, root_regions[i].hi);
		drain(&c);
	}
	/* The threads: registers, stack, static TLS and descriptor. */
	size_t tlswin = roots->tls + 4096;
	for (size_t i = 0; ok && i <= nthreads; i++) {
		uintptr_t sp, tp;
		if (i < nthreads) {
			struct stopped *t = &threads[i];
			if (t->state != 1)
				continue;
			for (unsigned r = 0; r < NREGS; r++)
				mark_word(&c, t->regs[r]);
			sp = t->sp;
			tp = t->tp;
		} else {
			/* The checking thread: the registers a call preserves, at
			 * the check's entry (the others are dead across the call,
			 * and may hold stale addresses: getcontext saves some). */
#ifdef __x86_64__
			static const int callee_saved[] = {REG_RBX, REG_RBP, REG_R12, REG_R13, REG_R14, REG_R15};
			for (unsigned r = 0; r < sizeof callee_saved / sizeof *callee_saved; r++)
				mark_word(&c, (uintptr_t)fc->uc->uc_mcontext.gregs[callee_saved[r]]);
#else
			for (unsigned r = 19; r <= 30; r++)
				mark_word(&c, (uintptr_t)fc->uc->uc_mcontext.regs[r]);
#endif
			sp = fc->sp;
			tp = (uintptr_t)pthread_self();
		}
		uintptr_t lo, hi, top = UINTPTR_MAX;
		if (mapping_of(&c, sp, &lo, &hi)) {
			/* glibc puts a thread's descriptor (under 4 KiB) at the top
			 * of its stack block: stop there, not in a mapping that
			 * merged with the block from above. */
			if (tp > sp && tp < hi)
				top = hi = ((tp + 4096) & ~(uintptr_t)4095) < hi ? (tp + 4096) & ~(uintptr_t)4095 : hi;
			/* (a stopped thread's red zone below sp too) */
			scan_root(&c, i < nthreads && sp > 128 ? sp - 128 : sp, hi);
		}
		/* Static TLS (below the thread pointer on x86-64, above it on
		 * aarch64) and the descriptor (with the DTV pointer and the
		 * thread-specific data), clipped to tp's mapping. */
		if (mapping_of(&c, tp, &lo, &hi)) {
			uintptr_t a = tp - lo > tlswin ? tp - tlswin : lo;
			uintptr_t b = hi - tp > tlswin ? tp + tlswin : hi;
			scan_root(&c, a, b < top ? b : top);
#ifdef __x86_64__
			/* The DTV (tcbhead_t's second word): the dynamic TLS
			 * blocks of dlopen'ed modules, malloc'ed by glibc. */
			uintptr_t dtv = ((const uintptr_t *)tp)[1], dlo, dhi;
			if (mapping_of(&c, dtv, &dlo, &dhi) && dtv - dlo >= 16) {
				uintptr_t len = ((const uintptr_t *)dtv)[-2];
				uintptr_t end = len < 65536 && dhi - dtv > (len + 2) * 16 ? dtv + (len + 2) * 16 : dhi;
				scan_root(&c, dtv - 16, end);
			}
#endif
		}
		drain(&c);
	}
	/*
	 * Blocks the program said are not leaks are roots too, and (as LSan
	 * does) blocks the dynamic linker allocated: the DTVs and dynamic TLS
	 * blocks of threads, which glibc keeps for its cache of thread stacks
	 * where no scan can find them.
	 */
	struct leak_block b;
	for (struct leak_iter it = {0}; ok && leak_next(&c, &it, &b);)
		if ((b.ignore || by_linker(roots, b.stack)) && !(*b.reach & b.bit)) {
			*b.reach |= b.bit;
			work_push(&c, b.beg);
			drain(&c);
		}
	/* Step 4: what leaked blocks reach is indirect.  A direct leak so far
	 * makes what it points to indirect (a cycle of leaks ends up all
	 * indirect, as in LSan). */
	c.indirect = true;
	for (struct leak_iter it = {0}; ok && leak_next(&c, &it, &b);)
		if (!(*b.reach & b.bit) && !(b.reach[b.ind] & b.bit)) {
			scan_words(&c, b.beg, b.beg + b.size);
			drain(&c);
		}
	for (struct leak_iter it = {0}; ok && leak_next(&c, &it, &b);)
		if (!(*b.reach & b.bit))
			group_add(fc->res, b.stack, b.reach[b.ind] & b.bit ? 2 : 1, b.size);
	for (size_t i = 0; i < c.nspans; i++)
		c.spans[i]->dbg->leakBits = NULL;
	resume_world();
	debug_fork_done();

	uintptr_t p;
	while (work_pop(&c, &p))
		;
	if (c.spare)
		os_free(c.spare, sizeof *c.spare);
	if (c.spans)
		os_free(c.spans, c.nspans * sizeof *c.spans);
	if (c.bits)
		os_free(c.bits, (c.nbits ? c.nbits : 1) * sizeof *c.bits);
	if (c.gbits)
		os_free(c.gbits, 2 * c.gwords * sizeof *c.gbits);
	if (c.maps)
		os_free(c.maps, c.mapcap * 2 * sizeof(uintptr_t));
	if (roots->truncated)
		say("more than 4096 writable segments: some were not scanned", NULL, 0);
	os_free(roots, sizeof *roots);
	if (!ok || c.oom) {
		say("out of memory for the mark bits or the work list: no check", NULL, 0);
		fc->res->failed = true;
	}
	return 1;
}

/* ---- suppressions ------------------------------------------------------------------ */

extern const char *__lsan_default_suppressions(void) __attribute__((weak));
extern int __lsan_is_turned_off(void) __attribute__((weak));

static char *supp_text; /* the file, then __lsan_default_suppressions's */
static size_t supp_len;
#define MAX_SUPP 256
static const char *supp[MAX_SUPP]; /* the patterns (NUL-ended, in supp_text) */
static uint64_t supp_hits[MAX_SUPP], supp_bytes[MAX_SUPP];
static unsigned nsupp;
static bool supp_loaded;

static void supp_parse(char *s, size_t n)
{
	char *end = s + n;
	while (s < end) {
		char *eol = memchr(s, '\n', (size_t)(end - s));
		if (!eol)
			eol = end;
		*eol = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		char *e = eol;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = 0;
		if (*s && *s != '#') {
			if (strncmp(s, "leak:", 5) == 0 && s[5] && nsupp < MAX_SUPP)
				supp[nsupp++] = s + 5;
			else if (strncmp(s, "leak:", 5) != 0) {
				say_str("suppressions: not a leak:PATTERN line, ignored: ", s);
			}
		}
		s = eol + 1;
	}
}

static void supp_load(void)
{
	if (supp_loaded)
		return;
	supp_loaded = true;
	size_t cap = 1 << 20;
	const char *def = __lsan_default_suppressions ? __lsan_default_suppressions() : NULL;
	size_t dlen = def ? strlen(def) : 0;
	supp_text = os_alloc(cap + dlen + 2);
	if (!supp_text)
		return;
	if (opts.suppressions[0]) {
		int fd = open(opts.suppressions, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			say_str("cannot open the suppressions file ", opts.suppressions);
		} else {
			ssize_t got;
			while (supp_len < cap && (got = read(fd, supp_text + supp_len, cap - supp_len)) > 0)
				supp_len += (size_t)got;
			close(fd);
		}
	}
	supp_text[supp_len++] = '\n';
	if (def) {
		memcpy(supp_text + supp_len, def, dlen);
		supp_len += dlen;
	}
	supp_parse(supp_text, supp_len);
}

/*
 * LeakSanitizer's template match: '*' is any run of characters; '^' at
 * the start and '$' at the end anchor; otherwise the template may match
 * anywhere in s.
 */
static bool template_match(const char *t, const char *s)
{
	if (!s)
		return false;
	bool start = *t == '^';
	t += start;
	size_t tl = strlen(t);
	bool end = tl && t[tl - 1] == '$';
	tl -= end;
	/* glob with '*', implicit '*' at each unanchored end */
	const char *star_t = start ? NULL : t, *star_s = s;
	size_t ti = 0;
	const char *si = s;
	for (;;) {
		if (ti < tl && t[ti] == '*') {
			star_t = t + ++ti;
			star_s = si;
			continue;
		}
		if (ti == tl && (!end || !*si))
			return true;
		if (ti < tl && *si && t[ti] == *si) {
			ti++;
			si++;
			continue;
		}
		if (!star_t || !*star_s)
			return false;
		ti = (size_t)(star_t - t);
		si = ++star_s;
	}
}

/* A suppression matching a symbolized frame's function or file:line:
 * its index into *(int *)arg. */
static bool supp_match_symbolized(const char *func, const char *file, void *arg)
{
	for (unsigned k = 0; k < nsupp; k++)
		if (template_match(supp[k], func) || template_match(supp[k], file)) {
			*(int *)arg = (int)k;
			return true;
		}
	return false;
}

/*
 * The suppression matching a leak's stack, or -1: as LSan's, a pattern
 * matches a frame's function, module or source file.  dladdr gives the
 * exported functions and the modules at no cost; the others (static
 * functions, file names) take the symbolizer, run only for stacks that
 * dladdr did not match (one run per 8 frames).
 */
static int suppressed(uint32_t stack)
{
	const uintptr_t *f;
	unsigned depth = depot_stack(stack, &f);
	for (unsigned i = 0; i < depth; i++) {
		Dl_info di;
		if (!dladdr((void *)(f[i] - 1), &di))
			continue;
		for (unsigned k = 0; k < nsupp; k++)
			if (template_match(supp[k], di.dli_sname) || template_match(supp[k], di.dli_fname))
				return (int)k;
	}
	int k = -1;
	sa_frames_match(f, depth, supp_match_symbolized, &k);
	return k;
}

/* ---- the report --------------------------------------------------------------------- */

static bool group_before(const struct group *a, const struct group *b)
{
	/* direct leaks first, as LeakSanitizer */
	if (a->kind != b->kind)
		return a->kind < b->kind;
	return a->bytes != b->bytes ? a->bytes > b->bytes : a->count > b->count;
}

/* Shell sort (no qsort: glibc's may allocate): direct, then indirect, largest first. */
static void sort_groups(struct group *g, size_t n)
{
	static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
	for (size_t k = 0; k < sizeof gaps / sizeof *gaps; k++) {
		size_t gap = gaps[k];
		for (size_t i = gap; i < n; i++) {
			struct group t = g[i];
			size_t j = i;
			for (; j >= gap && group_before(&t, &g[j - gap]); j -= gap)
				g[j] = g[j - gap];
			g[j] = t;
		}
	}
}

static void line(strbuf *b)
{
	os_write(report_fd, b->buf, b->len);
	b->len = 0;
}

static mutex check_lock = MUTEX_INIT(LOCK_LEAK_CHECK);

/*
 * A copy of stderr taken at start-up, for the report at exit: programs
 * such as coreutils close stderr in an atexit handler, which runs before
 * the check; the report (and the exit status it sets) would otherwise
 * say nothing.  Taken only when the check at exit will run.
 */
static int leak_fd = -1;

void leak_at_start(void)
{
	if (opts.detect_leaks && OWN_MALLOC && !RUNNING_ON_VALGRIND && !SA_ASAN && report_fd == 2 && leak_fd < 0)
		leak_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
}

/* A check; the leaked blocks reported, or -1 when no check could run. */
static NOINLINE int leak_check_now(void)
{
	ucontext_t uc;
	getcontext(&uc); /* the caller's registers, scanned as a root */
	struct result res;
	memset(&res, 0, sizeof res);
	struct frame_ctx fc = {(uintptr_t)__builtin_frame_address(0), &uc, &res, false};
	/* From inside a malloc of this thread (exit from a signal handler):
	 * the wait for operations in flight would wait for ourselves. */
	mcache *me = cache_current();
	if (me && (__atomic_load_n(&me->dbgBusy, __ATOMIC_ACQUIRE) & 1)) {
		say("called from inside a malloc or free of this thread (a signal handler?): no check", NULL, 0);
		return -1;
	}
	lock(&check_lock);
	dl_iterate_phdr(check_locked, &fc);
	if (res.failed) {
		if (res.g)
			os_free(res.g, res.cap * sizeof *res.g);
		unlock(&check_lock);
		return -1;
	}
	/* stderr closed (not the log file): the copy taken at start-up */
	int saved_fd = report_fd;
	if (report_fd == 2 && leak_fd >= 0 && fcntl(2, F_GETFD) < 0)
		report_fd = leak_fd;
	supp_load();
	/* Compact, sort, filter. */
	size_t n = 0;
	for (size_t i = 0; i < res.cap; i++)
		if (res.g[i].kind)
			res.g[n++] = res.g[i];
	sort_groups(res.g, n);
	uint64_t bytes = 0, blocks = 0, shown = 0;
	char buf[256];
	strbuf b = {buf, 0, sizeof buf};
	for (size_t i = 0; i < n; i++) {
		struct group *g = &res.g[i];
		if (g->kind == 2 && !opts.report_indirect)
			continue;
		int k = nsupp ? suppressed(g->stack) : -1;
		if (k >= 0) {
			supp_hits[k] += g->count;
			supp_bytes[k] += g->bytes;
			continue;
		}
		if (!blocks) {
			sb_str(&b, "\n=================================================================\n");
			sb_report_prefix(&b);
			sb_str(&b, "detected memory leaks\n");
			line(&b);
		}
		bytes += g->bytes;
		blocks += g->count;
		if (opts.max_leaks > 0 && shown >= (uint64_t)opts.max_leaks)
			continue;
		shown++;
		sb_str(&b, g->kind == 1 ? "\nDirect leak of " : "\nIndirect leak of ");
		sb_dec(&b, g->bytes);
		sb_str(&b, " byte(s) in ");
		sb_dec(&b, g->count);
		sb_str(&b, " object(s) allocated from:\n");
		buf[b.len] = 0;
		if (g->stack) {
			print_depot_stack(buf, g->stack);
			b.len = 0;
		} else {
			sb_str(&b, "    (no stack recorded: malloc_context=0)\n");
			line(&b);
		}
	}
	if (blocks && shown < n && opts.max_leaks > 0) {
		sb_str(&b, "\n(max_leaks=");
		sb_dec(&b, (uint64_t)opts.max_leaks);
		sb_str(&b, ": the smaller leak stacks are not shown)\n");
		line(&b);
	}
	bool used = false;
	for (unsigned k = 0; k < nsupp; k++) {
		if (!supp_hits[k])
			continue;
		if (!used) {
			sb_str(&b,
			       "\n-----------------------------------------------------\nSuppressions used:\n  count      bytes template\n");
			line(&b);
			used = true;
		}
		sb_str(&b, "  ");
		sb_dec(&b, supp_hits[k]);
		sb_str(&b, "  ");
		sb_dec(&b, supp_bytes[k]);
		sb_str(&b, " ");
		sb_str(&b, supp[k]);
		sb_str(&b, "\n");
		line(&b);
		supp_hits[k] = supp_bytes[k] = 0;
	}
	if (used) {
		sb_str(&b, "-----------------------------------------------------\n");
		line(&b);
	}
	if (blocks || opts.stats) {
		if (blocks)
			sb_str(&b, "\n");
		sb_report_prefix(&b);
		sb_str(&b, "SUMMARY: ");
		sb_dec(&b, bytes);
		sb_str(&b, " byte(s) leaked in ");
		sb_dec(&b, blocks);
		sb_str(&b, " allocation(s).\n");
		line(&b);
	}
	sa_symbolize_end();
	if (res.g)
		os_free(res.g, res.cap * sizeof *res.g);
	report_fd = saved_fd;
	unlock(&check_lock);
	return blocks > (uint64_t)INT32_MAX ? INT32_MAX : (int)blocks;
}

/*
 * The same with the thread's cancellation off: the check's writes and its
 * waits for the stopped threads are cancellation points, and a thread
 * cancelled in there would leave the others stopped and check_lock held.
 */
static int leak_check(void)
{
	int old;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	int n = leak_check_now();
	pthread_setcancelstate(old, NULL);
	return n;
}

/* Memcheck and ASan find leaks themselves; a harness's own malloc is
 * not ours to scan (SA_NO_STD_NAMES). */
static NOINLINE bool leaks_elsewhere(void) { return RUNNING_ON_VALGRIND || SA_ASAN; }

static bool final_done; /* __lsan_do_leak_check ran: not again at exit */

int leak_at_exit(void)
{
	if (!opts.detect_leaks || !OWN_MALLOC || leaks_elsewhere() || final_done)
		return 0;
	if (__lsan_is_turned_off && __lsan_is_turned_off())
		return 0;
	final_done = true;
	return leak_check();
}

/* Memcheck's own leak check, with its count of lost blocks. */
static NOINLINE int memcheck_leaks(void)
{
	unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed_ = 0;
	VALGRIND_DO_ADDED_LEAK_CHECK;
	VALGRIND_COUNT_LEAK_BLOCKS(leaked, dubious, reachable, suppressed_);
	(void)reachable;
	(void)suppressed_;
	return (int)(leaked + dubious);
}

/*
 * The entry points keep their own frames small: the check scans the
 * caller's stack from just above leak_check's frame, and a big frame of
 * theirs would hold stale words (a block's address left by an earlier
 * malloc at that depth) that keep a leak alive.
 */
EXPORT int sa_check_leaks(void)
{
	sa_ensure_init();
	if (leaks_elsewhere()) {
		if (!SA_ASAN)
			return memcheck_leaks();
		errno = ENOSYS;
		return -1;
	}
	return leak_check();
}

/* ---- LeakSanitizer's interface (sanitizer/lsan_interface.h) ---------------------- */

/*
 * libFuzzer looks these up weakly: with __lsan_enable, __lsan_disable and
 * __lsan_do_recoverable_leak_check present it runs an input that had more
 * mallocs than frees again under __lsan_disable, then checks.  (It counts
 * mallocs and frees through __sanitizer_install_malloc_and_free_hooks:
 * without those hooks it never sees a difference and never checks.)
 * Not defined where a sanitizer runtime brings its own.
 */
#if !SA_ASAN && OWN_MALLOC
#include <sanitizer/lsan_interface.h>

EXPORT void __lsan_disable(void) { leak_disabled++; }

EXPORT void __lsan_enable(void)
{
	if (!leak_disabled) {
		say("__lsan_enable without __lsan_disable", NULL, 0);
		return;
	}
	leak_disabled--;
}

EXPORT void __lsan_ignore_object(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (guarded_owns(a)) {
		guarded_leak_ignore(a);
		return;
	}
	heapArena *ha = arena_of(a);
	mspan *s = ha ? span_of(ha, a) : NULL;
	if (!s || !s->dbg || span_state(s) != mSpanInUse)
		return;
	uintptr_t idx = s->spanclass == 0 ? 0 : span_object_index(s, a);
	if (idx < span_objects(s) && block_live(s, idx) && a - block_start(s, idx) < (s->dbg->obj[idx].reqsize | 1))
		s->dbg->obj[idx].leakIgnore = 1;
}

EXPORT void __lsan_register_root_region(const void *p, size_t size)
{
	uintptr_t lo = (uintptr_t)p, hi = lo + size;
	if (!size || hi < lo)
		return;
	static bool said;
	bool full = false;
	lock(&check_lock);
	if (nroot_regions < ROOT_REGIONS) {
		root_regions[nroot_regions].lo = lo;
		root_regions[nroot_regions].hi = hi;
		nroot_regions++;
	} else if (!said) {
		said = full = true;
	}
	unlock(&check_lock);
	if (full) /* (said with no lock held) */
		say("__lsan_register_root_region: more than 256 regions at once; further ones are not scanned", NULL,
		    0);
}

EXPORT void __lsan_unregister_root_region(const void *p, size_t size)
{
	uintptr_t lo = (uintptr_t)p, hi = lo + size;
	bool found = false;
	lock(&check_lock);
	for (unsigned i = nroot_regions; i-- > 0;) {
		if (root_regions[i].lo == lo && root_regions[i].hi == hi) {
			root_regions[i] = root_regions[--nroot_regions];
			found = true;
			break;
		}
	}
	unlock(&check_lock);
	if (!found) /* LSan's check fails here; a report is enough */
		say("__lsan_unregister_root_region of a region never registered", NULL, 0);
}

EXPORT int __lsan_do_recoverable_leak_check(void)
{
	sa_ensure_init();
	if (!opts.detect_leaks || leaks_elsewhere())
		return 0;
	int n = leak_check();
	return n > 0;
}

EXPORT void __lsan_do_leak_check(void)
{
	sa_ensure_init();
	if (!opts.detect_leaks || leaks_elsewhere() || final_done)
		return;
	final_done = true;
	if (leak_check() > 0 && opts.leak_exitcode) {
		fflush(NULL);
		_exit(opts.leak_exitcode);
	}
}
#endif
