/*
 * The guarded pool and the zero-size region of the debug build
 * (guarded.c): blocks on pages of their own, made inaccessible at free,
 * so that a stale read or write, or one past the block, faults at the
 * instruction.  debug.c calls these at the top of its API operations.
 */
#ifndef SA_GUARDED_H
#define SA_GUARDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../internal.h"

/* [lo, hi) of the pool and of the zero-size region: fixed after start-up. */
extern uintptr_t guarded_lo INTERNAL, guarded_hi INTERNAL;

/*
 * Allocations left before this thread samples the next one.  1 while the
 * pool has slots never used (every allocation is sampled then), rate
 * afterwards, UINT32_MAX when the pool is off.
 */
extern __thread uint32_t guarded_countdown INTERNAL __attribute__((tls_model("initial-exec")));

void guarded_init(void) INTERNAL;

/* Is p in the pool or the zero-size region (live, freed or neither)? */
static inline bool guarded_owns(uintptr_t p) { return p - guarded_lo < guarded_hi - guarded_lo; }

/* Should this allocation go to the pool?  (The common answer is one
 * decrement of a thread-local counter.) */
bool guarded_sample_slow(void) INTERNAL;
static inline bool guarded_sample(void)
{
	if (LIKELY(guarded_countdown > 1)) {
		guarded_countdown--;
		return false;
	}
	return guarded_sample_slow();
}

/* The fuzzing preset: a fuzzing engine starts and ends one input
 * (libFuzzer, through sanitizer.c); only then are blocks sampled. */
void guarded_input_begin(void) INTERNAL;
void guarded_input_end(void) INTERNAL;

/* libFuzzer's copy of an input (guarded.c, copy_first): set on its
 * thread between inputs, when an operator new[] may be that copy. */
extern __thread bool guarded_copy_watch INTERNAL __attribute__((tls_model("initial-exec")));
/* The copy's block, ending at a guard page, or NULL (then allocate
 * normally). */
void *guarded_copy_alloc(size_t size, uintptr_t fp) INTERNAL;
/* libFuzzer set its death callback (sanitizer.c): its thread starts
 * watching. */
void guarded_engine_started(void) INTERNAL;

/* A guarded block, or NULL when the pool cannot take it (the caller then
 * allocates normally).  size > 0. */
void *guarded_alloc(size_t size, size_t align, bool zero, uintptr_t fp) INTERNAL;
/* A block of malloc(0): a unique address no byte of which is accessible,
 * or NULL when the region is off or full. */
void *guarded_zero_alloc(uintptr_t fp) INTERNAL;
/* free of an owned pointer: checks it and reports a bad one. */
void guarded_free(uintptr_t p, uintptr_t fp, const char *call) INTERNAL;
/* The requested size of the live owned block p, or false after reporting
 * bug_freed (a freed block) or an invalid pointer in call. */
bool guarded_size(uintptr_t p, const char *call, enum sa_bug bug_freed, size_t *size) INTERNAL;

/* Reports: the line naming the block (report.c), its stacks (debug.c),
 * and the fault handler's (guard.c) classification of a fault at a. */
bool guarded_describe(strbuf *b, uintptr_t p) INTERNAL;
bool guarded_report_extra(uintptr_t p) INTERNAL;
bool guarded_fault(uintptr_t a, const char *access) INTERNAL;

/* Check the canaries of every live guarded block (only when no other
 * thread can free one: its pages would go under the reader); reports,
 * returns the number of blocks found overwritten. */
size_t guarded_check_live(const char *call) INTERNAL;

/* The C++ family byte (struct dbg_obj's kind) and requested size of the
 * live guarded block starting at p; false for any other pointer. */
bool guarded_kind(uintptr_t p, uint8_t **kind, size_t *size) INTERNAL;

/*
 * The leak check's view (leak.c; the world stopped): guarded and
 * zero-size blocks by index, 0 .. guarded_leak_count()-1.  The live block
 * i (start, requested size, allocation stack, ignored), and the index of
 * the live block a word points into, or -1.
 */
size_t guarded_leak_count(void) INTERNAL;
bool guarded_leak_block(size_t i, uintptr_t *beg, size_t *size, uint32_t *stack, bool *ignore) INTERNAL;
long guarded_leak_index(uintptr_t w) INTERNAL;
void guarded_leak_ignore(uintptr_t p) INTERNAL; /* __lsan_ignore_object */

/* Live guarded and zero-size blocks counted in class cls (sa_check_heap). */
uint64_t guarded_live_in_class(unsigned cls) INTERNAL;
/* The bytes they count for in HeapAlloc (their classes' sizes), which
 * sa_read_memstats adds to HeapInuse and HeapSys: they are heap objects
 * in no span. */
uint64_t guarded_heap_bytes(void) INTERNAL;
/* The size class the statistics count the live owned block starting at p
 * in (the class the normal debug path would have used), or -1: the fuzz
 * model's view of a block that has no span. */
int guarded_stats_class(uintptr_t p) INTERNAL;

#endif
