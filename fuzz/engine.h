/*
 * The fuzz engine's internals, shared by its files (ops.h is the interface
 * the harnesses see).  One file per concern:
 *
 *   log.c          failure reports, the recent-operation log, child_exit
 *   pattern.c      block contents derived from a seed
 *   range_index.c  the address-ordered index of live ranges
 *   capture.c      what the library writes to stderr, captured
 *   model.c        the live blocks, the checks of a fresh block
 *   checks.c       memstats, sa_check_heap and the mcentral lists against
 *                  the model
 *   gen.c          argument generators (sizes, alignments, which block)
 *   op_alloc.c     the allocation operations
 *   op_bad.c       bad calls (the badfree harness)
 *   op_fork.c      operations in forked children (fork, out of memory, the
 *                  debug build's own checks)
 *   sched.c        the threaded harness's scheduling
 *   ops.c          the operation table and the main loop
 *
 * An operation is a function of the input, one per enum op of ops.h
 * (op_fn, the table in ops.c).  Most read their argument bytes whether or
 * not they run, so that an input means much the same thing whatever state
 * it meets.
 */
#ifndef SA_FUZZ_ENGINE_H
#define SA_FUZZ_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "internal.h"
#include "ops.h"
#include "spanalloc.h"

#ifdef SA_DEBUG
#define DEBUG_BUILD 1
#include "debug/guarded.h" /* blocks in no span: the guarded pool, the zero-size region */
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

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- log.c ------------------------------------------------------------------------ */

extern int real_stderr; /* fd 2 before any capture */
extern bool trace;      /* FUZZ_TRACE: every logged operation to stderr */

/* A forked child's coverage (clang -fprofile-instr-generate): _exit skips
 * the atexit hook that would write it. */
extern int __llvm_profile_write_file(void) __attribute__((weak));
/* End a forked child, writing its coverage first. */
__attribute__((noreturn)) void child_exit(int code);

/* ---- pattern.c, range_index.c ------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Anonymous memory for the model (never from the allocator under test). */
void *xmmap(size_t n);

/* ---- model.c ------------------------------------------------------------------------ */

typedef struct blk {
	uint8_t *p;
	size_t req;     /* requested size */
	size_t usable;  /* malloc_usable_size at allocation (or realloc) */
	uint64_t seed;  /* contents */
	uint8_t cls;    /* size class its stats count in (tiny: the 16-byte class) */
	uint8_t tiny;   /* a tiny sub-object */
	uint8_t thread; /* allocating thread */
} blk;

extern blk *live;
extern unsigned nlive;
extern range_index ranges;
extern uint64_t model_cls[NUM_SIZE_CLASSES];
extern uint64_t next_seed;

/* Freed addresses, for the badfree harness. */
#define GRAVE 256
extern uintptr_t grave[GRAVE];
extern unsigned ngrave;

extern const ops_profile *P; /* the harness's profile */
extern __thread int cur_tid; /* 0, or 1 for the second thread */

static inline bool is_pow2(size_t x) { return x && !(x & (x - 1)); }
size_t natural_align(size_t size);
/* Record a block the library just returned; fill it unless told not to. */
blk *model_add(void *p, size_t req, const char *what, bool fill);
/* Forget block i (swap-remove), remembering its address in the grave. */
void model_remove(unsigned i);
bool model_is_live_start(uintptr_t p);
void check_block(const blk *b, const char *what);
void check_alignment(const void *p, size_t align, const char *what, size_t size);
/* A fresh plain malloc / calloc result. */
void check_plain(const void *p, size_t size, const blk *b, const char *what);
void expect_null(void *p, int err, int want, const char *what, size_t a, size_t b);

/* ---- checks.c ----------------------------------------------------------------------- */

/* At the start of the input. */
extern uint64_t base_objects;
extern struct sa_memstats prev;
extern bool skip_check_heap; /* SA_FUZZ_NO_CHECK_HEAP: the model alone */

void read_base(void);
void check_stats(const char *when);
void check_heap(const char *when);
void check_central(bool exact, bool empty);

/* ---- gen.c -------------------------------------------------------------------------- */

extern uint8_t tiertable[256];
size_t gen_size_tier(fdp *d, unsigned t);
size_t gen_size(fdp *d);
size_t gen_align(fdp *d);
/* A live block, biased to recent ones; -1 when none. */
int pick(fdp *d);
bool room(unsigned n);

/* ---- the state of the current input (ops.c) ------------------------------------------ */

extern unsigned ops_done;
/*
 * Expensive operations run at most every RATE operations (and fork and
 * huge blocks twice an input): a fuzzer's repeated bytes would otherwise
 * make an input of nothing but heap audits.  Their argument bytes are
 * read either way, so that an input means the same thing.
 */
#define RATE 16
extern unsigned nforks, nhuge, nooms, ndbgbugs;
/* OP_DEBUG_MODE: the debug options in force until operation debug_until. */
extern unsigned debug_until;
extern bool efence_seen; /* efence was on at some point in this process */
extern sa_options opts_saved;
extern bool bad_mode;         /* bad calls: abort_on_error=0, their reports captured */
extern unsigned reports_seen; /* the library's report count, as it must be */

/* ---- the operations ----------------------------------------------------------------- */

typedef void op_fn(fdp *d);

/* op_alloc.c */
void do_free(unsigned i, const char *what);
op_fn op_malloc, op_calloc, op_realloc, op_reallocarray, op_aligned_alloc, op_posix_memalign, op_memalign, op_valloc,
	op_pvalloc, op_free, op_fail, op_batch_alloc, op_batch_free, op_usable, op_realloc_chain, op_central_cycle,
	op_scav_ms, op_huge, op_debug_mode;
void debug_mode_end(void);
/* op_bad.c, op_fork.c */
op_fn op_bad, op_fork, op_oom, op_debug_bug;
/* sched.c */
op_fn op_switch, op_burst;

/* ---- sched.c and the loop ----------------------------------------------------------- */

extern __thread bool thread_quit; /* the other thread finished the input */
/* The threaded harness: both threads through the input, then their exit. */
void sched_run(fdp *d);
/* The loop of one thread, and the end of the input (ops.c). */
void run_loop(fdp *d);
void teardown(void);

#endif
