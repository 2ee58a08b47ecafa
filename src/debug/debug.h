/*
 * The debug build (libspanalloc-debug): what only it compiles.  The core
 * calls these hooks under #ifdef SA_DEBUG; see SECURITY.md for what each
 * check catches.
 *
 * Per-span side table (struct span_debug, from fixalloc pools, heap lock):
 * for each object its requested size, its offset in the slot, the stack
 * ids of its last allocation and free, its C++ family and the leak
 * check's ignore flag; a bitmap of objects sitting in a quarantine.
 *
 * Invariants (on top of internal.h's):
 *   - a quarantined object is still live in gcmarkBits (so nothing hands
 *     it out) and has its qbit set; unless a memory checker runs, it holds
 *     FREE_POISON over the program's first FREE_FILL_MAX bytes, its
 *     redzone and slack keep their CANARY (debug.c has the layout);
 *   - a free object never handed out since its span was made holds
 *     FREE_POISON too (the span is filled when it is made);
 *   - a live object holds CANARY in the redzone before it and in
 *     [offset + reqsize, elemsize) after it (debug.c has the layout).
 */
#ifndef SA_DEBUG_H
#define SA_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mspan;
struct mcache;

#define FREE_POISON 0xdd  /* freed memory */
#define ALLOC_POISON 0xbe /* new memory (not calloc) */
#define CANARY 0xca       /* slack after the requested size */
#define STACK_DEPTH 64    /* the most frames malloc_context can keep */

struct dbg_obj {
	size_t reqsize;      /* bytes the program asked for (a large block may pass 4 GiB) */
	uint32_t allocStack; /* stack depot ids, 0: none */
	uint32_t freeStack;
	uint16_t offset;    /* the block's start in its slot (the redzone) */
	uint8_t leakIgnore; /* leak.c: never a leak, and a root (__lsan_disable, __lsan_ignore_object) */
	uint8_t kind;       /* how it was allocated: enum dbg_kind, and above KIND_ALIGN_SHIFT */
};

/* The family a block was allocated by (C++: cxx.c), in dbg_obj.kind. */
enum dbg_kind { KIND_MALLOC = 0, KIND_NEW = 1, KIND_NEW_ARRAY = 2 };
#define KIND_MASK 3
#define KIND_ALIGN_SHIFT 2       /* above: 1 + log2 of an aligned new's alignment, 0: none */
#define DBG_NO_SIZE ((size_t)-1) /* an unsized delete */

struct span_debug {
	uint64_t qbits[MAX_OBJS_PER_SPAN / 64]; /* quarantined objects (atomic) */
	uint8_t guard;                          /* large span: its last page is PROT_NONE */
	uint64_t *leakBits;                     /* leak.c: mark bits during a leak check, else NULL */
	struct dbg_obj obj[];                   /* nelems entries */
};

/* Per-thread quarantine ring, in the mcache. */
struct quarantine {
	uintptr_t *ring;
	uint32_t cap, head, n;
	uint64_t bytes;
};

void debug_init(void);
bool debug_span_alloc(struct mspan *s); /* heap lock held */
void debug_span_made(struct mspan *s);  /* heap lock held */
void debug_span_gone(struct mspan *s);  /* heap lock held */
bool debug_check_span(struct mspan *s, const char *where);
/*
 * Reports found by checks that run under a lock wait in a pending list
 * (debug.c); whoever released the lock prints them.  A thread that holds
 * a lock around code that checks (thread exit, under caches_lock) holds
 * the reports back too.  Returns the reports printed.
 */
unsigned debug_report_deferred(void);
void debug_hold_reports(bool hold);
/* sa_check_heap: the blocks of a span that another thread may be using. */
void debug_check_blocks(struct mspan *s, bool others);
/* A large span handed out: its last page becomes a guard page (once). */
void debug_large_alloc(struct mspan *s);
void debug_thread_flush(struct mcache *c);
uint64_t debug_quarantined_in(const struct mspan *s, size_t word);

/* The API layer of the debug build (malloc.c calls these). */
void *dbg_alloc(size_t size, size_t align, bool zero, uintptr_t fp);
void dbg_free(void *p, uintptr_t fp, const char *call);
void *dbg_realloc(void *p, size_t size, uintptr_t fp);
size_t dbg_usable_size(const void *p);
void debug_report_extra(struct mspan *s, uintptr_t p);
void debug_print_block(uintptr_t user, size_t reqsize, uint32_t freeStack, uint32_t allocStack);
/* C++ (cxx.c): align 0 for the forms without std::align_val_t. */
void *dbg_new(size_t size, size_t align, enum dbg_kind kind, uintptr_t fp);
void dbg_delete(void *p, size_t size, size_t align, enum dbg_kind kind, uintptr_t fp);
void debug_guard_init(void);
void debug_guard_ensure(void); /* our SIGSEGV handler first again, if another took it */
/* A fault's report text, "<access> at <a>: N bytes before / into / past
 * the block of size M" (or "a freed block"), into buf (guard.c, guarded.c). */
void debug_describe_access(char *buf, size_t cap, const char *access, uintptr_t a, uintptr_t block, size_t size,
			   bool freed);
bool debug_report_to_log(const char *buf, size_t n);
void debug_at_exit(void);
void debug_fork_prepare(void);
void debug_fork_done(void);

/*
 * Stacks (stack.c): the allocation and free stacks of every block, kept
 * in a depot that stores each distinct stack once.  fp is the frame of
 * the API function (malloc, free, ...): a stack starts at its caller.
 */
void stack_init(void);
void stack_warm_unwinder(void);    /* constructor: backtrace()'s first call */
uint32_t stack_here(uintptr_t fp); /* depot id, 0: none */
/* A fuzzing engine starts and ends an input on this thread (sanitizer.c):
 * stacks taken meanwhile end at the engine's frame.  frame: that of the
 * hook the engine called, from the function that calls the fuzz target
 * (so it lies where the target's frame will, or below it). */
void stack_input_begin(uintptr_t frame);
void stack_input_end(void);
void print_depot_stack(const char *title, uint32_t id);      /* symbolized, to report_fd */
unsigned depot_stack(uint32_t id, const uintptr_t **frames); /* depth, 0: none */

/* The sanitizer allocator interface and malloc_limit_mb (sanitizer.c). */
extern unsigned san_nhooks; /* engine hooks installed */
void san_malloc_hooks(const void *p, size_t size);
void san_free_hooks(const void *p);
/* The engine's death callback, before an abort.  True when an earlier
 * report is already aborting (libFuzzer's SIGABRT handler writing its
 * crash file frees blocks, and a second bug seen then must not abort
 * before the file is written): the caller goes on as if abort_on_error=0. */
bool san_die(void);
__attribute__((noreturn)) void san_over_limit(size_t size, const char *call);

/* Leak detection (leak.c). */
extern __thread unsigned leak_disabled; /* __lsan_disable depth of this thread */
void leak_at_start(void);
int leak_at_exit(void); /* leaked blocks reported (the caller sets the exit status) */

#endif
