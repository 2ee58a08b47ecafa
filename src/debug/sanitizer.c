/*
 * The sanitizer allocator interface a fuzzing engine looks for
 * (sanitizer/allocator_interface.h, common_interface_defs.h), so that a
 * libFuzzer target built without ASan (-fsanitize=fuzzer plus
 * libspanalloc-debug.a) keeps the engine's own memory features:
 *
 *   __sanitizer_install_malloc_and_free_hooks  libFuzzer installs its hooks
 *       when -detect_leaks=1 (its default): they count mallocs and frees
 *       per input (an input with more mallocs than frees gets a leak check,
 *       the __lsan_* entry points of leak.c), crash on one malloc of
 *       -malloc_limit_mb or more ("out-of-memory (malloc(N))", an oom-*
 *       file), and print every call under -trace_malloc=1|2;
 *   __sanitizer_print_stack_trace  the stack under those reports and under
 *       libFuzzer's "deadly signal" (our abort());
 *   __sanitizer_set_death_callback  run before a report aborts (libFuzzer
 *       saves its crash-* input there, as it does under ASan);
 *   __sanitizer_get_allocated_size, __sanitizer_get_ownership.
 *
 * Hooks run outside every allocator lock and after the debug layer is done
 * with the block (a hook may itself malloc, as libFuzzer's does when it
 * writes the oom-* file): a malloc hook after the block is made, a free
 * hook before it is freed, a realloc as a malloc of the new block and a
 * free of the old, as ASan does.  With no hook installed the cost is one
 * load and a predicted branch per call.
 *
 * Also here: the malloc_limit_mb option, checked before a request is
 * served (a fuzzing engine without hooks, AFL++, gets the crash too).
 */
#include <execinfo.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "debug.h"
#include "guarded.h"

#define EXPORT __attribute__((visibility("default")))
#define WEAK_EXPORT __attribute__((weak, visibility("default")))
#define MAX_HOOKS 4

typedef void (*malloc_hook_fn)(const volatile void *, size_t);
typedef void (*free_hook_fn)(const volatile void *);

static struct {
	malloc_hook_fn malloc_hook;
	free_hook_fn free_hook;
} hooks[MAX_HOOKS];

/* Hooks to run (a slot is filled before the count covers it; RUNTIME_HOOKS:
 * the sanitizer runtime's table, see below). */
unsigned san_nhooks;
#define RUNTIME_HOOKS 0x80000000u

static void (*death_callback)(void);

/*
 * Our definitions are weak: clang -fsanitize=fuzzer links a sanitizer
 * runtime of its own into every target (ubsan_standalone, whole-archive,
 * for its coverage callbacks), and that runtime defines these interface
 * functions too, with a hook table only its own allocator runs, and it has
 * none.  When its definitions win, we run its table through its
 * RunMallocHooks/RunFreeHooks (the C++ names of LLVM up to 15 and from
 * 16).  Our own table serves an engine linked without a runtime
 * (-fsanitize=fuzzer-no-link plus libFuzzer.a, or another engine).
 */
extern void rt_malloc_hooks_a(const void *, size_t) __asm__("_ZN11__sanitizer14RunMallocHooksEPKvm")
	__attribute__((weak));
extern void rt_malloc_hooks_b(void *, size_t) __asm__("_ZN11__sanitizer14RunMallocHooksEPvm") __attribute__((weak));
extern void rt_free_hooks_a(const void *) __asm__("_ZN11__sanitizer12RunFreeHooksEPKv") __attribute__((weak));
extern void rt_free_hooks_b(void *) __asm__("_ZN11__sanitizer12RunFreeHooksEPv") __attribute__((weak));

static int install_hooks(malloc_hook_fn m, free_hook_fn f)
{
	static int lock;
	int ok = 0;
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		;
	unsigned n = __atomic_load_n(&san_nhooks, __ATOMIC_RELAXED);
	if (n < MAX_HOOKS && (m || f)) {
		hooks[n].malloc_hook = m;
		hooks[n].free_hook = f;
		__atomic_store_n(&san_nhooks, n + 1, __ATOMIC_RELEASE);
		ok = (int)n + 1;
	}
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	return ok;
}

WEAK_EXPORT int __sanitizer_install_malloc_and_free_hooks(malloc_hook_fn m, free_hook_fn f)
	__attribute__((alias("install_hooks")));

/* Before main, long before an engine installs hooks. */
__attribute__((constructor)) static void san_at_start(void)
{
	if ((void *)__sanitizer_install_malloc_and_free_hooks != (void *)install_hooks &&
	    (rt_malloc_hooks_a || rt_malloc_hooks_b) && (rt_free_hooks_a || rt_free_hooks_b))
		__atomic_store_n(&san_nhooks, RUNTIME_HOOKS, __ATOMIC_RELEASE);
}

void san_malloc_hooks(const void *p, size_t size)
{
	unsigned n = __atomic_load_n(&san_nhooks, __ATOMIC_ACQUIRE);
	if (n == RUNTIME_HOOKS) {
		if (rt_malloc_hooks_a)
			rt_malloc_hooks_a(p, size);
		else
			rt_malloc_hooks_b((void *)p, size);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		if (hooks[i].malloc_hook)
			hooks[i].malloc_hook(p, size);
}

void san_free_hooks(const void *p)
{
	unsigned n = __atomic_load_n(&san_nhooks, __ATOMIC_ACQUIRE);
	if (n == RUNTIME_HOOKS) {
		if (rt_free_hooks_a)
			rt_free_hooks_a(p);
		else
			rt_free_hooks_b((void *)p);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		if (hooks[i].free_hook)
			hooks[i].free_hook(p);
}

WEAK_EXPORT void __sanitizer_print_stack_trace(void);
WEAK_EXPORT NOINLINE void __sanitizer_print_stack_trace(void)
{
	void *frames[64];
	int n = backtrace(frames, 64);
	if (n > 1) /* from our caller */
		backtrace_symbols_fd(frames + 1, n - 1, report_fd);
}

WEAK_EXPORT void __sanitizer_set_death_callback(void (*callback)(void));
WEAK_EXPORT void __sanitizer_set_death_callback(void (*callback)(void))
{
	__atomic_store_n(&death_callback, callback, __ATOMIC_RELEASE);
	guarded_engine_started(); /* libFuzzer's Fuzzer constructor, on its thread */
}

static NOINLINE void print_stack_here(void)
{
	void *frames[64];
	int n = backtrace(frames, 64);
	if (n > 1)
		backtrace_symbols_fd(frames + 1, n - 1, report_fd);
}

static int dying; /* atomic: a report has decided to abort */

bool san_die(void)
{
	/* The abort that follows runs the engine's SIGABRT handler (libFuzzer's
	 * "deadly signal", which writes the crash file): its frees may find
	 * another damaged block, whose report must not abort again in there. */
	if (__atomic_exchange_n(&dying, 1, __ATOMIC_ACQ_REL))
		return true;
	/* Once: the callback may itself fail. */
	void (*cb)(void) = __atomic_exchange_n(&death_callback, NULL, __ATOMIC_ACQ_REL);
	if (cb)
		cb();
	return false;
}

/*
 * libFuzzer calls these around every input it runs (its
 * ScopedEnableMsanInterceptorChecks, meant for MSan, which no target
 * linked with spanalloc has): the only per-input calls it makes, so the
 * guarded pool's fuzzing preset hears from them when an input runs, and
 * the stacks taken meanwhile end at the frame that calls the target
 * (ExecuteCallback's, where this hook's frame lies: stack.c).
 * (libFuzzer also calls the pair the other way round while it writes a
 * crash file, inside an input: the input is then over anyway.)
 */
WEAK_EXPORT void __msan_scoped_enable_interceptor_checks(void);
WEAK_EXPORT void __msan_scoped_enable_interceptor_checks(void)
{
	guarded_input_begin();
	stack_input_begin((uintptr_t)__builtin_frame_address(0));
}
WEAK_EXPORT void __msan_scoped_disable_interceptor_checks(void);
WEAK_EXPORT void __msan_scoped_disable_interceptor_checks(void)
{
	guarded_input_end();
	stack_input_end();
}

WEAK_EXPORT size_t __sanitizer_get_allocated_size(const volatile void *p);
WEAK_EXPORT size_t __sanitizer_get_allocated_size(const volatile void *p)
{
	return p ? dbg_usable_size((const void *)p) : 0;
}

WEAK_EXPORT int __sanitizer_get_ownership(const volatile void *p);
WEAK_EXPORT int __sanitizer_get_ownership(const volatile void *p)
{
	uintptr_t a = (uintptr_t)p;
	heapArena *ha = arena_of(a);
	return ha && span_of(ha, a) != NULL;
}

/*
 * malloc_limit_mb: one request of that many MiB or more is a bug, said
 * and aborted on whatever abort_on_error says (a fuzzing engine keeps it
 * as a crash, where a NULL would send the target down its out-of-memory
 * path, or a huge block would swap).
 */
void san_over_limit(size_t size, const char *call)
{
	char buf[256];
	strbuf b = {buf, 0, sizeof buf};
	sb_report_prefix(&b);
	sb_str(&b, call);
	sb_str(&b, "(");
	sb_dec(&b, size);
	sb_str(&b, ") exceeds malloc_limit_mb=");
	sb_dec(&b, (uint64_t)opts.malloc_limit_mb);
	sb_str(&b, " (out-of-memory)\n    stack of the bad call:\n");
	os_write(report_fd, b.buf, b.len);
	print_stack_here();
	static const char msg[] = "spanalloc: aborting (SPANALLOC_OPTIONS=malloc_limit_mb=0 lifts the limit)\n";
	os_write(report_fd, msg, sizeof msg - 1);
	san_die();
	abort();
}
