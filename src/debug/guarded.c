/*
 * The guarded pool and the zero-size region: the debug build's way of
 * catching a bad read or write at the instruction, after the design of
 * GWP-ASan (scudo, tcmalloc).
 *
 * One reservation, PROT_NONE except for the pages of live guarded blocks:
 *
 *   [zero-size region][g][slot 0][g][slot 1][g] ... [slot n-1][g]
 *
 * Zero-size region: ZERO_SLOTS addresses ZERO_STRIDE bytes apart, never
 * accessible.  malloc(0) gets one of them (a bit in zbits says which are
 * live), so its pointer is unique and any read or write through it
 * faults; free, realloc and malloc_usable_size of it are checked against
 * the bitmap.  A freed address is handed out again only when the next-fit
 * cursor has gone round the whole region.
 *
 * Slots: slot_bytes (MAX_SMALL_SIZE rounded up to OS pages) each, a guard
 * page g after each one.  A block is placed against the right guard,
 * rounded down to its alignment: for malloc, 16 from 16 bytes on (as
 * glibc and every other spanalloc block), 8 from 8 bytes on, the largest
 * power of two dividing the size below.  So a block whose size is a
 * multiple of 16 (or 8 bytes, or under 8) ends exactly at the guard and a
 * read or write even one byte past it faults; other sizes, and explicit
 * alignments, leave up to alignment - 1 bytes of slack.  The pages of the slot from the block's first
 * one are read/write; the pages before it stay PROT_NONE.  What the guard
 * cannot see: the slack between the block's end and the guard (aligned
 * requests only) and the bytes of the block's first page before it; both
 * hold CANARY, checked at free, as the other debug blocks' redzones.  At
 * free the slot's pages are made PROT_NONE, and the slot joins a FIFO of
 * freed slots: a stale read or write faults until the slot is the oldest
 * freed one and a new sampled block takes it.  A sampled slot keeps its
 * pages, the block's bytes overwritten with CANARY (so the next block
 * rewrites only what differs: one mprotect per allocation and one per
 * free, no page fault); efence's slots, blocks of more than half a slot
 * and slots whose canaries were damaged are returned (os_release).
 *
 * Which allocations come here (guarded_sample): every allocation while
 * the first half of the slots was never used (the first guarded_slots / 2
 * blocks of a process, which catches the bugs of small programs and of the
 * start-up code of big ones), then one in sample_rate (a per-thread
 * countdown with jitter, so that the sampled blocks do not follow the
 * program's allocation pattern), into the other half and then into the
 * oldest freed slot.  The halves matter: a program's first blocks are
 * often its longest-lived (Lua's state, CPython's interned strings), and
 * if they held every slot, no later block could be sampled.  (Under a
 * fuzzing engine the rate is fuzz_sample_rate, and under libFuzzer there
 * is no fill: see fuzz_mode.)  efence=1: every allocation, with as many slots as the
 * mapping budget allows; when all of them hold live blocks, further blocks
 * get the normal debug checks, and that is said once on stderr.
 *
 * Mappings: each live slot splits the reservation into at most two more
 * mappings (its pages, the PROT_NONE run after them); freed and unused
 * slots are PROT_NONE like the guards and merge with them.  The pool
 * therefore has at most 2 * slots + 1 mappings, and the slot count is
 * capped at max_map_count / 8, so that they take at most a quarter of the
 * kernel's limit.  Sampled slots (not efence's) make the last page of the
 * slot a mapping of its own when first used (os_own_mapping): a block of
 * up to a page, nearly every sampled one, then costs two mprotects of a
 * whole mapping, half the kernel's time of splitting the reservation and
 * merging it back; a bigger block adds one mapping while live (at most
 * 3 * slots + 1 then).
 *
 * Lock rules: pool_lock guards the unused cursor and the FIFO; a slot's
 * fields belong to whoever moved its state (UNUSED/FREED -> TAKEN ->
 * LIVE by the allocator, LIVE -> FREEING -> FREED by the freer, the
 * latter with a compare-and-swap so that a double free is seen).  No
 * system call and no report is made under the lock.  zlock guards the
 * zero-size cursor; the bits themselves are atomic.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../internal.h"
#include "../track.h"
#include "guarded.h"

uintptr_t guarded_lo, guarded_hi;
__thread uint32_t guarded_countdown __attribute__((tls_model("initial-exec")));

static size_t pg; /* the OS page size */

/* Defined when the program is a libFuzzer target (or any engine's). */
extern int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) __attribute__((weak));

/* ---- slots ------------------------------------------------------------- */

enum { SLOT_UNUSED, SLOT_TAKEN, SLOT_LIVE, SLOT_FREEING, SLOT_FREED };

struct gslot {
	uintptr_t ptr;       /* the block */
	uintptr_t first;     /* its first page: [first, slot end) was read/write */
	uintptr_t clean;     /* freed, pages kept: [clean, slot end) holds CANARY; 0: the pages read zero */
	size_t size;         /* requested */
	uint32_t allocStack; /* stack depot ids */
	uint32_t freeStack;
	uint32_t state;     /* SLOT_*, atomic */
	uint8_t cls;        /* the size class it counts in */
	uint8_t leakIgnore; /* leak.c: never a leak, and a root */
	uint8_t kind;       /* debug.c: the C++ family (struct dbg_obj's kind) */
};

static uintptr_t pool; /* slot 0 */
static uint32_t nslots;
static uint32_t fill_limit; /* slots the first blocks may take; the rest are for sampled ones */
static size_t slot_bytes, stride;
static struct gslot *slots;
static uint32_t rate; /* one in rate after the fill; 0: none */
static bool efence_mode;

/*
 * libFuzzer's input copy.  libFuzzer copies each input into a block of
 * exactly its size, new uint8_t[Size] in Fuzzer::ExecuteCallback, so
 * that a read past the input's end lands outside it.  That block is
 * allocated before the input starts (guarded_input_begin), so sampling
 * never guards it, and the normal debug block's slack after it reads as
 * canary: the read most often made past an input's end went unseen.  So
 * the last COPY_SLOTS slots of the pool are kept for it: under libFuzzer,
 * an operator new[] (not malloc, not new: libFuzzer's own vectors and
 * corpus units are those) made on the fuzzing thread between inputs, or
 * from libFuzzer's constructor to the first input (guarded_engine_started),
 * takes a free one.  The block is placed against the guard with no slack
 * at all (its start not aligned: a byte buffer; libdislocator does the
 * same), so the first byte past the input faults.  (The target's code
 * runs on that thread between inputs only as a custom mutator, whose
 * new[] may then get an unaligned start: README, Limitations.)  These
 * slots stay read/write from their first use, a free only marks them
 * free: no system call per input, where a sampled block costs two.  So a read of the copy
 * after its free is not seen (a stale pointer into the last input reads
 * the next one), nor an underflow past the first page before it.
 * Several slots, because libFuzzer's other new[] between inputs could
 * take one: the current unit's buffer (new uint8_t[MaxLen], before the
 * first input, kept for the whole run), DirName's temporary while it
 * writes a file, TracePC's counters at start-up.
 */
#define COPY_SLOTS 4
static uint32_t copy_first = UINT32_MAX; /* the copy slots: [copy_first, nslots); UINT32_MAX: none */
static uint32_t npool;                   /* slots guarded_alloc takes fresh: [0, npool), before the copy slots */
__thread bool guarded_copy_watch __attribute__((tls_model("initial-exec")));

/*
 * The fuzzing preset (opts.fuzz): a campaign runs many small inputs, and
 * a read after free in one of them is caught only if the block was
 * guarded.  So the rate is fuzz_sample_rate (one in a few) instead of
 * sample_rate, and under libFuzzer, which says where each input starts
 * and ends (guarded_input_begin/end, from sanitizer.c), blocks are
 * sampled only while an input runs: the engine's own start-up and corpus
 * blocks, which live as long as the process, would pin the slots, and
 * there is no start-up fill either.  Under afl-fuzz (or fuzz=1 without
 * such calls) the whole run is the input: the fill, then the rate.
 */
static bool fuzz_mode;
static bool engine_inputs; /* the engine says where inputs start and end */
static int input_running;  /* atomic: between guarded_input_begin and _end */

static mutex pool_lock = MUTEX_INIT(LOCK_POOL);
static uint32_t next_unused; /* slots [0, next_unused) were used; atomic reads */
static uint32_t *fifo;       /* freed slots, oldest at fifo_head */
static uint32_t fifo_head, fifo_n;
static bool said_full, said_commit;

static uint64_t live_cls[NUM_SIZE_CLASSES]; /* atomic */

/* ---- the zero-size region ---------------------------------------------- */

#define ZERO_SLOTS (1u << 20)
#define ZERO_STRIDE 16
static uintptr_t zlo, zhi;
static uint64_t *zbits;        /* live zero-size blocks, atomic */
static uint32_t (*zstacks)[2]; /* allocation and free stack of each */
static mutex zlock = MUTEX_INIT(LOCK_ZERO_REGION);
static uint32_t zcursor;
static bool said_zero_full;
static unsigned zcls; /* the class a malloc(0) counts in */

/* The size class the normal debug path would count this request in, so
 * that the statistics do not depend on which blocks were sampled. */
static unsigned stats_class(size_t size, size_t align)
{
	if (!align)
		return size_to_class(size <= MAX_SMALL_SIZE - 16 ? size + 16 : size);
	size_t natural = size >= 16 ? 16 : 8;
	if (align <= natural || (align <= 16 && size >= 16))
		return size_to_class(size);
	unsigned cls = size_to_class(size < 16 ? 16 : size);
	while (cls + 1 < NUM_SIZE_CLASSES && class_to_size[cls] % align)
		cls++;
	return cls;
}

static void count(unsigned cls, bool alloc)
{
	mcache *c = cache_current();
	if (alloc)
		CACHE_COUNTER_ADD(c, nmalloc[cls], 1);
	else
		CACHE_COUNTER_ADD(c, nfree[cls], 1);
	__atomic_fetch_add(&live_cls[cls], alloc ? 1 : (uint64_t)-1, __ATOMIC_RELAXED);
}

uint64_t guarded_live_in_class(unsigned cls) { return __atomic_load_n(&live_cls[cls], __ATOMIC_RELAXED); }

uint64_t guarded_heap_bytes(void)
{
	uint64_t n = 0;
	for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++)
		n += guarded_live_in_class(c) * class_to_size[c];
	return n;
}

static bool zero_live(uint32_t idx);
static struct gslot *slot_at(uintptr_t a, uint32_t *ip);

int guarded_stats_class(uintptr_t p)
{
	uint32_t i;
	struct gslot *g;
	if (zlo && p >= zlo && p < zhi && (p - zlo) % ZERO_STRIDE == 0)
		return zero_live((uint32_t)((p - zlo) / ZERO_STRIDE)) ? (int)zcls : -1;
	if ((g = slot_at(p, &i)) && p == g->ptr && __atomic_load_n(&g->state, __ATOMIC_ACQUIRE) == SLOT_LIVE)
		return g->cls;
	return -1;
}

static void say(const char *a, uint64_t n, const char *b, uint64_t m, const char *c)
{
	char buf[512];
	strbuf s = {buf, 0, sizeof buf};
	sb_str(&s, a);
	sb_dec(&s, n);
	sb_str(&s, b);
	sb_dec(&s, m);
	sb_str(&s, c);
	os_write(2, s.buf, s.len); /* a notice, not a report: stderr */
}

void guarded_init(void)
{
	pg = os_page_size();
	long maps = os_max_map_count();
	uint64_t budget = maps > 0 ? (uint64_t)maps / 8 : 8192;
	uint64_t want = opts.efence ? budget : (uint64_t)(opts.guarded_slots > 0 ? opts.guarded_slots : 0);
	if (want > budget)
		want = budget;
	if (want > (1u << 16))
		want = 1u << 16;
	slot_bytes = (MAX_SMALL_SIZE + pg - 1) & ~(pg - 1);
	stride = slot_bytes + pg;
	size_t zbytes = (size_t)ZERO_SLOTS * ZERO_STRIDE;
	size_t total = zbytes + pg + (size_t)want * stride;
	uintptr_t base = (uintptr_t)os_reserve(total, pg);
	if (!base)
		return; /* no pool, no zero-size region: the normal debug blocks */
	if (want) {
		slots = os_alloc((size_t)want * sizeof *slots);
		fifo = os_alloc((size_t)want * sizeof *fifo);
		if (!slots || !fifo)
			want = 0;
	}
	zbits = os_alloc(ZERO_SLOTS / 8);
	zstacks = os_alloc((size_t)ZERO_SLOTS * sizeof *zstacks);
	if (opts.guard_zero && zbits && zstacks) {
		zlo = base;
		zhi = base + zbytes;
	}
	zcls = stats_class(0, 0);
	pool = base + zbytes + pg;
	nslots = (uint32_t)want;
	/* The first blocks of a process are often its longest-lived: they may
	 * take half of the pool, so that they cannot pin all of it. */
	fill_limit = opts.efence ? nslots : nslots / 2;
	efence_mode = opts.efence;
	rate = efence_mode ? 1 : opts.sample_rate > 0 ? (uint32_t)opts.sample_rate : 0;
	fuzz_mode = !efence_mode &&
		    (opts.fuzz > 0 || (opts.fuzz < 0 && (LLVMFuzzerTestOneInput || getenv("__AFL_SHM_ID"))));
	if (fuzz_mode) {
		rate = opts.fuzz_sample_rate > 0 ? (uint32_t)opts.fuzz_sample_rate : 0;
		if (LLVMFuzzerTestOneInput) {
			engine_inputs = true; /* libFuzzer: its inputs only */
			fill_limit = 0;
		}
	}
	if (fuzz_mode && engine_inputs && opts.guard_input && nslots > 2 * COPY_SLOTS) {
		copy_first = nslots - COPY_SLOTS;
	}
	npool = copy_first < nslots ? copy_first : nslots;
	guarded_lo = base;
	guarded_hi = pool + (uintptr_t)nslots * stride;
}

/* ---- sampling ---------------------------------------------------------- */

static __thread uint32_t rnd;

/* The countdown ran out: sample this allocation?  Sets the next countdown. */
bool guarded_sample_slow(void)
{
	/* (guarded_slots=0 set after start-up, as test_debug.c does, stops
	 * the sampling of every thread whose countdown runs out.) */
	if (!nslots || (!efence_mode && opts.guarded_slots <= 0)) {
		guarded_countdown = UINT32_MAX;
		return false;
	}
	if (engine_inputs && !__atomic_load_n(&input_running, __ATOMIC_RELAXED)) {
		guarded_countdown = rate ? rate : UINT32_MAX; /* the engine's own block: look again later */
		return false;
	}
	if (__atomic_load_n(&next_unused, __ATOMIC_RELAXED) < fill_limit || rate == 1) {
		guarded_countdown = 1;
		return true;
	}
	if (!rate) {
		guarded_countdown = UINT32_MAX;
		return false;
	}
	/* rate/2 + 1 .. rate*3/2: one in rate on average (xorshift32). */
	uint32_t x = rnd ? rnd : (uint32_t)(uintptr_t)&rnd | 1;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rnd = x;
	/* A new thread's first allocation only starts its countdown. */
	bool first = guarded_countdown == 0;
	guarded_countdown = rate / 2 + 1 + x % rate;
	return !first;
}

void guarded_input_begin(void)
{
	if (!fuzz_mode || !nslots)
		return;
	if (!engine_inputs) { /* fuzz=1 and an engine we did not see at start-up */
		fill_limit = 0;
		engine_inputs = true;
	}
	/* (The countdown runs on across inputs: were the first allocation of
	 * every input sampled, its two mprotects and a page fault would cost
	 * more than the rest of a small input's run.) */
	__atomic_store_n(&input_running, 1, __ATOMIC_RELAXED);
	guarded_copy_watch = false;
}

/*
 * libFuzzer's Fuzzer constructor calls __sanitizer_set_death_callback on
 * its main thread: from there to the first input only libFuzzer runs on
 * it (the target's constructors and LLVMFuzzerInitialize came before), so
 * its new[] may be the first input's copy, and a crash file run alone is
 * guarded too.  Not from start-up: a target's own new[] (new double[n])
 * must keep its alignment.  (AFL++'s driver sets no death callback and
 * says nothing of inputs: no watch there.)
 */
void guarded_engine_started(void) { guarded_copy_watch = copy_first != UINT32_MAX; }

void guarded_input_end(void)
{
	if (engine_inputs)
		__atomic_store_n(&input_running, 0, __ATOMIC_RELAXED);
	guarded_engine_started(); /* between inputs: watch again */
}

/* ---- guarded blocks ------------------------------------------------------ */

static uintptr_t slot_start(uint32_t i) { return pool + (uintptr_t)i * stride; }

/* The slot whose data pages or following guard hold a, or NULL. */
static struct gslot *slot_at(uintptr_t a, uint32_t *ip)
{
	if (!nslots || a < pool || a >= pool + (uintptr_t)nslots * stride)
		return NULL;
	*ip = (uint32_t)((a - pool) / stride);
	return &slots[*ip];
}

/* The first bytes of a block that get a pattern (FILL_MAX in debug.c). */
static size_t fill_len(size_t n) { return n < 4096 ? n : 4096; }

static void put_freed(uint32_t i)
{
	lock(&pool_lock);
	fifo[(fifo_head + fifo_n) % nslots] = i;
	fifo_n++;
	unlock(&pool_lock);
}

/* What slot g records of the block p it now holds (guarded_alloc and
 * guarded_copy_alloc; the slot is TAKEN, so the fields are the caller's). */
static void slot_record(struct gslot *g, uintptr_t p, uintptr_t first, size_t size, unsigned cls, uintptr_t fp)
{
	g->ptr = p;
	g->first = first;
	g->size = size;
	g->cls = (uint8_t)cls;
	g->allocStack = stack_here(fp);
	g->freeStack = 0;
	g->leakIgnore = leak_disabled != 0;
	g->kind = 0; /* KIND_MALLOC: dbg_new sets its own */
}

void *guarded_alloc(size_t size, size_t align, bool zero, uintptr_t fp)
{
	debug_guard_ensure();
	/* Malloc alignment, as every spanalloc block has it (tests/test_api.c):
	 * 16 from 16 bytes on, as glibc's; 8 from 8 bytes on (programs keep
	 * tags in their pointers' low bits: CPython's GC does); below that the
	 * largest power of two dividing the size; more if the call asks. */
	size_t a = size >= 16 ? 16 : size >= 8 ? 8 : (size & -size);
	if (align > a)
		a = align;
	if (!nslots || a > pg || size > slot_bytes || size + a - 1 > slot_bytes)
		return NULL;
	uint32_t i = UINT32_MAX;
	bool full = false;
	lock(&pool_lock);
#if SA_FAULT == 5
	static uint32_t planted;
	uint32_t taken = ++planted % 16 != 0; /* planted bug 5: the slot is not taken */
#else
	const uint32_t taken = 1;
#endif
	bool fresh = false;
	if (next_unused < npool) {
		i = next_unused;
		fresh = true;
		__atomic_store_n(&next_unused, i + taken, __ATOMIC_RELAXED);
	} else if (fifo_n) {
		i = fifo[fifo_head];
		fifo_head = (fifo_head + taken) % nslots;
		fifo_n -= taken;
	} else if (efence_mode && !said_full) {
		said_full = full = true;
	}
	unlock(&pool_lock);
	if (full)
		say("spanalloc: efence: all ", nslots,
		    " guarded slots hold live blocks (an eighth of vm.max_map_count = ", (uint64_t)os_max_map_count(),
		    ": their mappings take up to a quarter of it); further blocks get the normal debug checks (canaries, poison, quarantine) "
		    "until some are freed\n");
	if (i == UINT32_MAX)
		return NULL;
	struct gslot *g = &slots[i];
	__atomic_store_n(&g->state, SLOT_TAKEN, __ATOMIC_RELAXED);
	uintptr_t end = slot_start(i) + slot_bytes;
	uintptr_t p = (end - size) & ~(uintptr_t)(a - 1);
	uintptr_t first = p & ~(uintptr_t)(pg - 1);
	/* A fresh sampled slot's last page becomes a mapping of its own (if
	 * refused: a split at each commit, as before); for a block of up to a
	 * page, read/write in the same call. */
	bool committed = false;
	if (fresh && !efence_mode)
		committed = os_own_mapping((void *)(end - pg), pg, first == end - pg) && first == end - pg;
	if (!committed && !os_commit((void *)first, end - first)) {
		/* The kernel refused (out of mappings after all): the slot goes
		 * back to the FIFO, the block to the normal debug path. */
		__atomic_store_n(&g->state, SLOT_FREED, __ATOMIC_RELAXED);
		put_freed(i);
		if (!__atomic_exchange_n(&said_commit, true, __ATOMIC_RELAXED))
			say("spanalloc: guarded pool: mprotect failed with ", nslots, " slots (vm.max_map_count ",
			    (uint64_t)os_max_map_count(), "); blocks it cannot guard get the normal debug checks\n");
		return NULL;
	}
	slot_record(g, p, first, size, stats_class(size, align), fp);
	uintptr_t clean = g->clean;
	if (!clean) {
		/* The pages are new or were released: they read zero already. */
		memset((void *)first, CANARY, p - first);
		memset((void *)(p + size), CANARY, end - (p + size));
	} else {
		/* The pages of the last block, all CANARY from clean on. */
		if (first < clean)
			memset((void *)first, CANARY, (p < clean ? p : clean) - first);
		if (p + size < clean)
			memset((void *)(p + size), CANARY, clean - (p + size));
		if (zero)
			memset((void *)p, 0, size);
	}
	if (!zero)
		memset((void *)p, ALLOC_POISON, fill_len(size));
	count(g->cls, true);
	__atomic_store_n(&g->state, SLOT_LIVE, __ATOMIC_RELEASE);
	return (void *)p;
}

/* The input copy (see copy_first): a free copy slot for it, or NULL. */
void *guarded_copy_alloc(size_t size, uintptr_t fp)
{
	if (copy_first == UINT32_MAX || size == 0 || size > slot_bytes)
		return NULL;
	uint32_t i = copy_first;
	for (; i < nslots; i++) {
		uint32_t st = __atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE);
		if ((st == SLOT_UNUSED || st == SLOT_FREED) &&
		    __atomic_compare_exchange_n(&slots[i].state, &st, SLOT_TAKEN, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			break;
	}
	if (i == nslots)
		return NULL;
	struct gslot *g = &slots[i];
	uintptr_t start = slot_start(i), end = start + slot_bytes;
	if (!g->clean) { /* its first use: the whole slot read/write for good */
		debug_guard_ensure();
		if (!os_commit((void *)start, slot_bytes)) {
			__atomic_store_n(&g->state, SLOT_UNUSED, __ATOMIC_RELEASE);
			return NULL;
		}
		g->clean = start;
	}
	uintptr_t p = end - size;
	slot_record(g, p, p & ~(uintptr_t)(pg - 1), size, stats_class(size, 0), fp);
	memset((void *)g->first, CANARY, p - g->first);
	memset((void *)p, ALLOC_POISON, fill_len(size));
	count(g->cls, true);
	__atomic_store_n(&g->state, SLOT_LIVE, __ATOMIC_RELEASE);
	return (void *)p;
}

static void report_at(enum sa_bug bug, const char *call, uintptr_t p, const char *what, size_t n)
{
	char buf[160];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, what);
	sb_dec(&b, n);
	buf[b.len] = 0;
	sa_report(bug, call, p, NULL, buf);
}

/* The first byte of [q, end) that is not CANARY, or end: 64 bytes at a time
 * (the bytes before a small block are most of a page, checked at every
 * free, which the fuzzing preset makes frequent). */
static uintptr_t first_not_canary(uintptr_t q, uintptr_t end)
{
	const uint64_t w = 0x0101010101010101ull * CANARY;
	for (; q < end && (q & 7); q++)
		if (*(uint8_t *)q != CANARY)
			return q;
	/* 64 bytes a step, eight independent compares, and the lines 512 bytes
	 * on fetched meanwhile: the bytes before the block are most of a page
	 * nothing else touched since the slot's last block, read at every
	 * sampled free (a compare and a branch a word, each line a miss in
	 * turn, took 2.5% of json-c's fuzz target); then the word that differs */
	for (; q + 64 <= end; q += 64) {
		const uint64_t *v = (const uint64_t *)q;
		__builtin_prefetch((const void *)(q + 512), 0, 0);
		if (((v[0] ^ w) | (v[1] ^ w) | (v[2] ^ w) | (v[3] ^ w) | (v[4] ^ w) | (v[5] ^ w) | (v[6] ^ w) |
		     (v[7] ^ w)) != 0)
			break;
	}
	for (; q + 8 <= end && *(const uint64_t *)q == w; q += 8)
		;
	for (; q < end; q++)
		if (*(uint8_t *)q != CANARY)
			return q;
	return end;
}

/* The canaries of slot i around its block, unchanged? */
static bool canaries_intact(const struct gslot *g, uint32_t i)
{
	uintptr_t end = slot_start(i) + slot_bytes;
	return first_not_canary(g->first, g->ptr) == g->ptr && first_not_canary(g->ptr + g->size, end) == end;
}

/* The canaries of slot i around its block.  Reports; true if one was
 * overwritten. */
static bool check_canaries(struct gslot *g, uint32_t i, const char *call)
{
	uintptr_t end = slot_start(i) + slot_bytes, q;
	bool bad = false;
	if ((q = first_not_canary(g->first, g->ptr)) != g->ptr) {
		report_at(BUG_UNDERFLOW, call, g->ptr, "bytes before the block overwritten, from offset -", g->ptr - q);
		bad = true;
	}
	if ((q = first_not_canary(g->ptr + g->size, end)) != end) {
		report_at(BUG_OVERFLOW, call, g->ptr, "bytes after the requested size overwritten, first at offset ",
			  q - g->ptr);
		bad = true;
	}
	return bad;
}

/*
 * The leak check (leak.c) sees the pool and the zero-size region as one
 * array of blocks: slots 0 .. nslots-1, then one entry per zero-size
 * address.  It runs with the world stopped and no operation in flight,
 * so the states read here do not change under it.
 */
/* __lsan_ignore_object of a pointer into a live guarded block. */
void guarded_leak_ignore(uintptr_t p)
{
	uint32_t i;
	struct gslot *g = slot_at(p, &i);
	if (g && __atomic_load_n(&g->state, __ATOMIC_ACQUIRE) == SLOT_LIVE && p >= g->ptr &&
	    p - g->ptr < (g->size ? g->size : 1))
		g->leakIgnore = 1;
}

/* The family record and requested size of the live guarded block that
 * starts at p (not a zero-size one: those keep no family). */
bool guarded_kind(uintptr_t p, uint8_t **kind, size_t *size)
{
	uint32_t i;
	struct gslot *g = slot_at(p, &i);
	if (!g || p != g->ptr || __atomic_load_n(&g->state, __ATOMIC_ACQUIRE) != SLOT_LIVE)
		return false;
	*kind = &g->kind;
	*size = g->size;
	return true;
}

size_t guarded_leak_count(void) { return nslots + (zlo ? ZERO_SLOTS : 0); }

bool guarded_leak_block(size_t i, uintptr_t *beg, size_t *size, uint32_t *stack, bool *ignore)
{
	if (i < nslots) {
		struct gslot *g = &slots[i];
		if (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) != SLOT_LIVE)
			return false;
		*beg = g->ptr;
		*size = g->size;
		*stack = g->allocStack;
		*ignore = g->leakIgnore;
		return true;
	}
	uint32_t z = (uint32_t)(i - nslots);
	if (!zlo || z >= ZERO_SLOTS || !zero_live(z))
		return false;
	*beg = zlo + (uintptr_t)z * ZERO_STRIDE;
	*size = 0;
	*stack = zstacks[z][0];
	*ignore = false;
	return true;
}

long guarded_leak_index(uintptr_t w)
{
	uint32_t i;
	struct gslot *g = slot_at(w, &i);
	if (g) {
		if (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) != SLOT_LIVE || w < g->ptr ||
		    w - g->ptr >= (g->size ? g->size : 1))
			return -1; /* slack, canaries, or not a live block */
		return (long)i;
	}
	if (zlo && w >= zlo && w < zhi && (w - zlo) % ZERO_STRIDE == 0) {
		uint32_t z = (uint32_t)((w - zlo) / ZERO_STRIDE);
		return zero_live(z) ? (long)(nslots + z) : -1;
	}
	return -1;
}

/*
 * The canaries of every live guarded block (the exit check and
 * sa_check_heap).  A free that another thread makes meanwhile must not
 * make the pages inaccessible under the reader: checkers counts the
 * readers, and guarded_free waits for none before it protects (the
 * reader announces itself before it reads a state, the freer moves the
 * state before it reads checkers, both sequentially consistent: one of
 * them sees the other).  The reports come after, with no free held up
 * (a report may free).
 */
static uint32_t checkers;

size_t guarded_check_live(const char *call)
{
	uint32_t bad[64], n = 0;
	__atomic_fetch_add(&checkers, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < nslots && n < 64; i++)
		if (__atomic_load_n(&slots[i].state, __ATOMIC_SEQ_CST) == SLOT_LIVE && !canaries_intact(&slots[i], i))
			bad[n++] = i;
	if (__atomic_sub_fetch(&checkers, 1, __ATOMIC_SEQ_CST) == 0)
		os_futex_wake(&checkers, INT32_MAX);
	for (uint32_t k = 0; k < n; k++)
		check_canaries(&slots[bad[k]], bad[k], call);
	return n;
}

static void zero_free(uintptr_t p, uintptr_t fp, const char *call);

void guarded_free(uintptr_t p, uintptr_t fp, const char *call)
{
	if (p < zhi) {
		zero_free(p, fp, call);
		return;
	}
	uint32_t i;
	struct gslot *g = slot_at(p, &i);
	uint32_t st = g ? __atomic_load_n(&g->state, __ATOMIC_ACQUIRE) : SLOT_UNUSED;
	if (!g || p != g->ptr || st == SLOT_UNUSED || st == SLOT_TAKEN) {
		sa_report(BUG_INVALID_FREE, call, p, NULL, "not the start of a guarded block");
		return;
	}
	if (st != SLOT_LIVE ||
	    !__atomic_compare_exchange_n(&g->state, &st, SLOT_FREEING, false, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE)) {
		sa_report(BUG_DOUBLE_FREE, call, p, NULL, NULL);
		return;
	}
	bool damaged = check_canaries(g, i, call);
	g->freeStack = stack_here(fp);
	for (uint32_t v; (v = __atomic_load_n(&checkers, __ATOMIC_SEQ_CST));)
		os_futex_wait(&checkers, v); /* guarded_check_live is reading */
	uintptr_t end = slot_start(i) + slot_bytes;
	if (i >= copy_first) { /* an input copy's: its pages stay (copy_first) */
		memset((void *)g->ptr, CANARY, fill_len(g->size));
		count(g->cls, false);
		__atomic_store_n(&g->state, SLOT_FREED, __ATOMIC_RELEASE);
		return;
	}
	/*
	 * Sampled slots keep their pages (at most guarded_slots of them):
	 * then the next block in the slot costs one mprotect and no page
	 * fault, and rewrites only the bytes this block had, which become
	 * CANARY again here.  efence's thousands of slots give theirs back.
	 */
	if (efence_mode || damaged || g->size > slot_bytes / 2) {
		os_release((void *)g->first, end - g->first);
		g->clean = 0;
	} else {
		memset((void *)g->ptr, CANARY, g->size);
		g->clean = g->first;
	}
	os_protect((void *)g->first, end - g->first);
	count(g->cls, false);
	__atomic_store_n(&g->state, SLOT_FREED, __ATOMIC_RELEASE);
	put_freed(i);
}

/* ---- zero-size blocks ------------------------------------------------------ */

void *guarded_zero_alloc(uintptr_t fp)
{
	if (!zlo)
		return NULL;
	debug_guard_ensure();
	uint32_t idx = UINT32_MAX;
	lock(&zlock);
	for (uint32_t n = 0, w = zcursor / 64; n <= ZERO_SLOTS / 64; n++, w = (w + 1) % (ZERO_SLOTS / 64)) {
		uint64_t v = __atomic_load_n(&zbits[w], __ATOMIC_RELAXED);
		/* From the cursor on in its own word, anywhere in the others. */
		uint64_t free_bits = ~v & (n == 0 ? ~0ull << (zcursor % 64) : ~0ull);
		if (free_bits) {
			idx = w * 64 + (uint32_t)__builtin_ctzll(free_bits);
			__atomic_fetch_or(&zbits[w], 1ull << (idx % 64), __ATOMIC_ACQ_REL);
			zcursor = (idx + 1) % ZERO_SLOTS;
			break;
		}
	}
	bool full = idx == UINT32_MAX && !said_zero_full;
	if (full)
		said_zero_full = true;
	unlock(&zlock);
	if (full)
		say("spanalloc: ", ZERO_SLOTS, " zero-size blocks are live at once; further malloc(0) get a ", 1,
		    "-byte block with the normal debug checks\n");
	if (idx == UINT32_MAX)
		return NULL;
	zstacks[idx][0] = stack_here(fp);
	zstacks[idx][1] = 0;
	count(zcls, true);
	return (void *)(zlo + (uintptr_t)idx * ZERO_STRIDE);
}

static bool zero_live(uint32_t idx) { return (__atomic_load_n(&zbits[idx / 64], __ATOMIC_ACQUIRE) >> (idx % 64)) & 1; }

static void zero_free(uintptr_t p, uintptr_t fp, const char *call)
{
	uintptr_t off = p - zlo;
	uint32_t idx = (uint32_t)(off / ZERO_STRIDE);
	if (off % ZERO_STRIDE) {
		sa_report(BUG_INVALID_FREE, call, p, NULL, "not the start of a zero-size block");
		return;
	}
	if (!zero_live(idx)) {
		if (zstacks[idx][1])
			sa_report(BUG_DOUBLE_FREE, call, p, NULL, NULL);
		else
			sa_report(BUG_INVALID_FREE, call, p, NULL, "not a zero-size block handed out");
		return;
	}
	zstacks[idx][1] = stack_here(fp);
	uint64_t bit = 1ull << (idx % 64);
	if (!(__atomic_fetch_and(&zbits[idx / 64], ~bit, __ATOMIC_ACQ_REL) & bit)) {
		sa_report(BUG_DOUBLE_FREE, call, p, NULL, NULL);
		return;
	}
	count(zcls, false);
}

bool guarded_size(uintptr_t p, const char *call, enum sa_bug bug_freed, size_t *size)
{
	if (p < zhi) {
		uintptr_t off = p - zlo;
		uint32_t idx = (uint32_t)(off / ZERO_STRIDE);
		if (off % ZERO_STRIDE == 0 && zero_live(idx)) {
			*size = 0;
			return true;
		}
		if (off % ZERO_STRIDE == 0 && zstacks[idx][1])
			sa_report(bug_freed, call, p, NULL, NULL);
		else
			sa_report(BUG_INVALID_FREE, call, p, NULL, "not the start of a zero-size block");
		return false;
	}
	uint32_t i;
	struct gslot *g = slot_at(p, &i);
	uint32_t st = g ? __atomic_load_n(&g->state, __ATOMIC_ACQUIRE) : SLOT_UNUSED;
	if (g && p == g->ptr && st == SLOT_LIVE) {
		*size = g->size;
		return true;
	}
	if (g && p == g->ptr && (st == SLOT_FREED || st == SLOT_FREEING))
		sa_report(bug_freed, call, p, NULL, NULL);
	else
		sa_report(BUG_INVALID_FREE, call, p, NULL, "not the start of a guarded block");
	return false;
}

/* ---- reports ------------------------------------------------------------------ */

/* The line after a report's headline for an owned address (report.c). */
bool guarded_describe(strbuf *b, uintptr_t p)
{
	if (!guarded_owns(p))
		return false;
	uint32_t i;
	if (p < zhi) {
		sb_str(b, "    zero-size block (no accessible byte), size class ");
		sb_dec(b, zcls);
		sb_str(b, " in the statistics");
		return true;
	}
	struct gslot *g = slot_at(p, &i);
	sb_str(b, "    guarded block (pages of its own), slot ");
	sb_dec(b, g ? i : 0);
	sb_str(b, " of ");
	sb_dec(b, nslots);
	if (g && i >= copy_first)
		sb_str(b, " (kept for libFuzzer's input copy)");
	if (g && g->ptr) {
		sb_str(b, ", size class ");
		sb_dec(b, g->cls);
		sb_str(b, " in the statistics");
	}
	return true;
}

/* The block and its stacks, after the stack of the bad call (debug.c). */
bool guarded_report_extra(uintptr_t p)
{
	if (!guarded_owns(p))
		return false;
	uintptr_t block;
	size_t size;
	uint32_t alloc, freed, i;
	if (p < zhi) {
		uint32_t idx = (uint32_t)((p - zlo) / ZERO_STRIDE);
		block = zlo + (uintptr_t)idx * ZERO_STRIDE;
		size = 0;
		alloc = zstacks[idx][0];
		freed = zero_live(idx) ? 0 : zstacks[idx][1];
	} else {
		struct gslot *g = slot_at(p, &i);
		if (!g || !g->ptr)
			return true;
		block = g->ptr;
		size = g->size;
		alloc = g->allocStack;
		freed = __atomic_load_n(&g->state, __ATOMIC_ACQUIRE) == SLOT_LIVE ? 0 : g->freeStack;
	}
	debug_print_block(block, size, freed, alloc);
	return true;
}

/* A fault at a, against the block of size size at block.  Reports. */
static void fault_report(enum sa_bug bug, uintptr_t block, const char *access, uintptr_t a, bool freed, size_t size)
{
	char buf[192];
	debug_describe_access(buf, sizeof buf, access, a, block, size, freed);
	sa_report(bug, "memory access", block, NULL, buf);
}

static bool slot_freed(const struct gslot *g)
{
	uint32_t st = __atomic_load_n(&g->state, __ATOMIC_ACQUIRE);
	return st == SLOT_FREED || st == SLOT_FREEING;
}

/*
 * A fault at a, an owned address.  The bug is named after the block the
 * program used: the freed block a lies in, else the nearer of the block
 * that ends before a (an overflow) and the one that starts after it (an
 * underflow).  Reports (and aborts).
 */
bool guarded_fault(uintptr_t a, const char *access)
{
	if (!guarded_owns(a))
		return false;
	if (a < zhi) {
		uint32_t idx = (uint32_t)((a - zlo) / ZERO_STRIDE);
		uintptr_t block = zlo + (uintptr_t)idx * ZERO_STRIDE;
		bool freed = !zero_live(idx) && zstacks[idx][1];
		fault_report(freed ? BUG_USE_AFTER_FREE : BUG_GUARD, block, access, a, freed, 0);
		return true;
	}
	struct gslot *before = NULL, *after = NULL;
	uint32_t i = 0;
	if (a >= pool) {
		struct gslot *g = slot_at(a, &i);
		if (!g)
			return false;
		uintptr_t end = slot_start(i) + slot_bytes;
		if (a >= end) { /* the guard page after slot i */
			before = g;
			after = i + 1 < nslots ? &slots[i + 1] : NULL;
		} else if (g->ptr && slot_freed(g) && a >= g->first) {
			fault_report(BUG_USE_AFTER_FREE, g->ptr, access, a, true, g->size);
			return true;
		} else {
			before = i > 0 ? &slots[i - 1] : NULL;
			after = g;
		}
	} else {
		after = nslots ? &slots[0] : NULL; /* the guard page before slot 0 */
	}
	if (before && !before->ptr)
		before = NULL;
	if (after && (!after->ptr || after->ptr < a))
		after = NULL;
	if (before && after && after->ptr - a < a - (before->ptr + before->size))
		before = NULL;
	if (before) {
		bool freed = slot_freed(before);
		fault_report(freed ? BUG_USE_AFTER_FREE : BUG_GUARD, before->ptr, access, a, freed, before->size);
	} else if (after) {
		bool freed = slot_freed(after);
		fault_report(freed ? BUG_USE_AFTER_FREE : BUG_UNDERFLOW, after->ptr, access, a, freed, after->size);
	} else {
		char buf[96];
		strbuf b = {buf, 0, sizeof buf};
		sb_str(&b, access);
		sb_str(&b, " in the guarded pool, in no block's pages");
		buf[b.len] = 0;
		sa_report(BUG_GUARD, "memory access", a, NULL, buf);
	}
	return true;
}
