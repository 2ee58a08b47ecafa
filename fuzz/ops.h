/*
 * The operation language of the spanalloc fuzz harnesses, and the model
 * that shadows the heap.
 *
 * An input is a byte string read front to back by a data provider (fdp):
 * one byte picks an operation through the harness's weight table, the
 * next bytes its arguments (a size from the harness's tier mix, an
 * alignment, which live block).  Running out of bytes ends the input;
 * then every live block is freed, and the stats and sa_check_heap() must
 * show an empty, consistent heap.
 *
 * The model keeps every live block: address, requested and usable size,
 * a seed from which its contents are derived, the size class it is
 * counted in, the thread that allocated it.  Contents are written at
 * allocation and checked at free and realloc, so two blocks that overlap,
 * or a block handed out twice, show up as a pattern mismatch; an
 * address-ordered index catches overlapping ranges at allocation time.
 * After every operation the memstats must agree with the model.
 *
 * Any mismatch calls fuzz_fail(), which prints what went wrong and the
 * last operations, then abort()s: libFuzzer and AFL++ see a crash.
 *
 * The harnesses call the sa_ API only (the library is built with
 * -DSA_NO_STD_NAMES so that the sanitizer's malloc stays the process's),
 * plus the internal API of the tier they drive (internal.h).
 */
#ifndef SA_FUZZ_OPS_H
#define SA_FUZZ_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The model's checks loop over pages, bytes and blocks: instrumenting them
 * for coverage would slow every input and feed the engines meaningless
 * features.  (AFL++ builds leave them out with fuzz/afl-denylist.txt.)
 */
#if defined(__clang__) && __clang_major__ >= 13
#define NOCOV __attribute__((no_sanitize("coverage")))
#else
#define NOCOV
#endif

/* ---- input ------------------------------------------------------------------ */

typedef struct fdp {
	const uint8_t *p;
	size_t n;
} fdp;

static inline bool fdp_done(const fdp *d) { return d->n == 0; }

static inline uint8_t fdp_u8(fdp *d)
{
	if (!d->n)
		return 0;
	d->n--;
	return *d->p++;
}

static inline uint16_t fdp_u16(fdp *d)
{
	uint16_t v = fdp_u8(d);
	return (uint16_t)(v | (uint16_t)fdp_u8(d) << 8);
}

static inline uint32_t fdp_u32(fdp *d)
{
	uint32_t v = fdp_u16(d);
	return v | (uint32_t)fdp_u16(d) << 16;
}

static inline uint64_t fdp_u64(fdp *d)
{
	uint64_t v = fdp_u32(d);
	return v | (uint64_t)fdp_u32(d) << 32;
}

/* ---- operations ------------------------------------------------------------- */

enum op {
	OP_MALLOC,
	OP_CALLOC,
	OP_REALLOC,
	OP_REALLOCARRAY,
	OP_FREE,
	OP_ALIGNED_ALLOC,
	OP_POSIX_MEMALIGN,
	OP_MEMALIGN,
	OP_VALLOC,
	OP_PVALLOC,
	OP_USABLE,        /* malloc_usable_size of a live block */
	OP_STATS,         /* sa_read_memstats, per-class counts, central lists */
	OP_CHECK,         /* sa_check_heap() == 0 */
	OP_SWITCH,        /* threaded harness: the other thread runs next */
	OP_BATCH_ALLOC,   /* many blocks of one size (cycles spans) */
	OP_BATCH_FREE,    /* many blocks in a pattern */
	OP_FLUSH,         /* cache_flush: the thread's spans back to the mcentrals */
	OP_SCAVENGE,      /* sa_scavenge() */
	OP_SCAV_MS,       /* opts.scavenge_ms = -1, 0, 1 or 1000 */
	OP_FAIL,          /* requests that must fail (ENOMEM, EINVAL, overflow) */
	OP_PRINT_STATS,   /* sa_print_stats to /dev/null */
	OP_CENTRAL_CYCLE, /* central_cache_span + central_uncache_span */
	OP_BURST,         /* threaded harness: both threads at once */
	OP_REALLOC_CHAIN, /* one block through many reallocs */
	OP_BAD,           /* badfree harness: one bad free / realloc / usable_size */
	OP_FORK,          /* fork: the child frees everything and checks the heap */
	OP_HUGE,          /* a block over one arena (64 MiB), freed and allocated again */
	OP_DEBUG_MODE,    /* debug build: efence / quarantine size for the next few operations */
	OP_OOM,           /* fork: the child allocates under RLIMIT_AS until ENOMEM (no ASan) */
	OP_DEBUG_BUG,     /* debug build without ASan, fork: the child commits one heap bug */
	OP_COUNT
};

/* Size tiers a harness mixes. */
enum tier {
	T_TINY,        /* 0 .. 15 */
	T_SMALL_EDGE,  /* a class's size, one less, one more than the class below */
	T_SMALL,       /* 16 .. 32 KiB, uniform */
	T_LARGE,       /* 32 KiB + 1 .. max_large, near page multiples */
	T_LARGE_CACHE, /* 5 .. 40 pages: around the per-thread large cache limit */
	T_MEDIUM,      /* 1 .. 1 KiB */
	T_COUNT
};

typedef struct ops_profile {
	const char *name;
	uint8_t op_weight[OP_COUNT];
	uint8_t tier_weight[T_COUNT];
	unsigned max_live;       /* cap on live blocks (<= OPS_MAX_LIVE) */
	unsigned max_ops;        /* cap on operations per input */
	unsigned max_batch;      /* cap on blocks per batch operation */
	unsigned nthreads;       /* 1, or 2 for the threaded harness */
	size_t max_large;        /* bound on large sizes */
	unsigned max_align_log2; /* bound on the usual power-of-two alignments */
} ops_profile;

#define OPS_MAX_LIVE 16384

/* Once per process (LLVMFuzzerInitialize or the first input). */
void ops_init(const ops_profile *pf);
/* One input; always returns 0 (failures abort). */
int ops_run(const ops_profile *pf, const uint8_t *data, size_t size);

/*
 * The engines' entry points of a harness that is a profile of the operation
 * language (fuzz_tiny.c and the like): FUZZ_OPS_HARNESS(profile) after it.
 * The debug build's guarded pool and zero-size region are on, as in any
 * program: the model knows their blocks (model.c), which have no span.
 */
#define FUZZ_OPS_HARNESS(pf)                                                                                           \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                                                              \
	{                                                                                                              \
		(void)argc, (void)argv;                                                                                \
		ops_init(&(pf));                                                                                       \
		return 0;                                                                                              \
	}                                                                                                              \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ops_run(&(pf), data, size); }

/* ---- helpers shared with the harnesses that have their own engine ------------ */

/* Print "spanalloc-fuzz: <harness>: FAIL: ...", the recent operations, abort. */
__attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...);
/* The harness's LLVMFuzzerInitialize, once, for an engine that does not call it. */
void fuzz_init_once(void);
/* Name printed by fuzz_fail. */
void fuzz_set_name(const char *name);
/* Recent-operation log printed by fuzz_fail (and traced when FUZZ_TRACE=1). */
__attribute__((format(printf, 1, 2))) void fuzz_log(const char *fmt, ...);

/* Contents derived from a seed: byte i of a block is a function of (seed, i). */
void pattern_fill(void *p, size_t size, uint64_t seed);
void pattern_check(const void *p, size_t size, uint64_t seed, size_t upto, const char *what);
/* Checks only the regions pattern_fill writes for this size (big blocks are sampled). */
void zero_check(const void *p, size_t size, const char *what);

/* An address-ordered set of disjoint ranges [a, e). */
typedef struct range_index {
	struct range {
		uintptr_t a, e;
	} * r;
	size_t n, cap;
} range_index;
void ri_init(range_index *ri, size_t cap);
/* Insert [a, e); fuzz_fail if it overlaps a range already there. */
void ri_insert(range_index *ri, uintptr_t a, uintptr_t e, const char *what);
void ri_remove(range_index *ri, uintptr_t a);
/* The range starting exactly at a, or NULL. */
const struct range *ri_find(const range_index *ri, uintptr_t a);

/* The engines' entry points, defined by every harness. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Capture what the library writes to fd 2 between begin and end. */
void capture_init(void);
void capture_begin(void);
size_t capture_end(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
