/*
 * Reports of heap bugs and internal failures.  Everything here formats
 * into a stack buffer and writes with write(2): a report can come from
 * inside malloc, so it must not allocate before it has printed.
 */
#include <execinfo.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "track.h"

void sb_str(strbuf *b, const char *s)
{
	while (*s && b->len + 1 < b->cap)
		b->buf[b->len++] = *s++;
}

void sb_dec(strbuf *b, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0 && b->len + 1 < b->cap)
		b->buf[b->len++] = tmp[--n];
}

void sb_hex(strbuf *b, uint64_t v)
{
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	sb_str(b, "0x");
	while (n > 0 && b->len + 1 < b->cap)
		b->buf[b->len++] = tmp[--n];
}

void sb_fmt(strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (const char *f = fmt; *f && b->len + 1 < b->cap; f++) {
		if (*f != '%') {
			b->buf[b->len++] = *f;
			continue;
		}
		int longs = 0;
		bool size = false;
		for (f++; *f == 'l' || *f == 'z'; f++)
			*f == 'z' ? (void)(size = true) : (void)longs++;
		switch (*f) {
		case 's': sb_str(b, va_arg(ap, const char *)); break;
		case 'u':
			sb_dec(b, size         ? va_arg(ap, size_t)
				  : longs == 2 ? va_arg(ap, unsigned long long)
				  : longs == 1 ? va_arg(ap, unsigned long)
					       : va_arg(ap, unsigned));
			break;
		case 'p': sb_hex(b, (uintptr_t)va_arg(ap, void *)); break;
		case '%': b->buf[b->len++] = '%'; break;
		default: /* (none other is written) */ va_end(ap); return;
		}
	}
	va_end(ap);
}

/* ---- the stack of the bad call ------------------------------------------- */

#define BAD_CALL_FRAMES 64

/* The stack of the bad call, from the program's frame on. */
struct bad_stack {
	void *pcs[BAD_CALL_FRAMES];
	int n, first; /* pcs[first] is the program's frame */
	bool exact;   /* pcs[first] is a faulting instruction */
};

static bool own_code(uintptr_t pc) { return pc >= (uintptr_t)__start_sa_text && pc < (uintptr_t)__stop_sa_text; }

/* x86-64 and aarch64 Linux's rt_sigreturn trampoline, as libgcc knows it:
 * the frame below a signal handler's. */
static bool signal_trampoline(uintptr_t pc)
{
#if defined(__x86_64__)
	static const unsigned char code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
	return !memcmp((const void *)pc, code, sizeof code);
#elif defined(__aarch64__)
	static const unsigned char code[] = {0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4};
	return !memcmp((const void *)pc, code, sizeof code);
#else
	(void)pc;
	return false;
#endif
}

/*
 * Unwind (backtrace: .eh_frame, whatever the program was built with) and
 * cut spanalloc's own frames: the program's frame is the first one after
 * them that is not in spanalloc's code, or the one after the signal
 * trampoline for a fault (the SIGSEGV handler's report).
 */
static NOINLINE void bad_stack_here(struct bad_stack *st)
{
	/* backtrace may load libgcc_s and allocate the first time: the
	 * debug build has made that call in its constructor, and the
	 * production build reports with no lock held. */
	st->n = backtrace(st->pcs, BAD_CALL_FRAMES);
	st->exact = false;
	int i = 0;
	/* (pcs[0] is in this function: in spanalloc's code unless the build
	 * did not put that in sa_text; then the stack starts at the caller
	 * of sa_report) */
	if (st->n && own_code((uintptr_t)st->pcs[0]))
		while (i < st->n && own_code((uintptr_t)st->pcs[i] - 1))
			i++;
	else
		i = st->n < 2 ? st->n : 2;
	if (i < st->n && signal_trampoline((uintptr_t)st->pcs[i])) {
		i++;
		st->exact = true;
	}
	st->first = i;
}

static void print_bad_stack(const struct bad_stack *st)
{
#ifdef SA_DEBUG /* (stays: track.h has the client requests in the debug build only) */
	/* Memcheck unwinds and symbolizes as in its own reports. */
	if (RUNNING_ON_VALGRIND) {
		VALGRIND_PRINTF_BACKTRACE("spanalloc: the stack of the bad call, from valgrind:\n");
		return;
	}
#endif
	uintptr_t pcs[BAD_CALL_FRAMES];
	unsigned n = 0;
	for (int i = st->first; i < st->n; i++)
		pcs[n++] = (uintptr_t)st->pcs[i];
	sa_print_frames(pcs, n, st->exact);
}

/*
 * What found a bug when the call that did is not one the program made
 * (the debug build's checks at sweeps and at the quarantine's end): said
 * after the detail instead of "in <call>()" in the headline.
 */
static const char *found_when(const char *call)
{
	if (!strcmp(call, "sweep"))
		return "found when its span was checked";
	if (!strcmp(call, "thread exit"))
		return "found when its thread exited";
	return NULL;
}

/* "==PID== spanalloc: ", the start of every report line that names one. */
void sb_report_prefix(strbuf *b)
{
	sb_str(b, "==");
	sb_dec(b, (uint64_t)getpid());
	sb_str(b, "== spanalloc: ");
}

int report_fd = 2;
unsigned reports;

/*
 * One report at a time.  A report is many writes (its lines, then each
 * stack as the symbolizer answers), and two threads that hit bugs at once
 * printed into each other's reports, and the first to abort cut the other
 * short (mimalloc-bench's cache-scratch under the debug build: two
 * threads' alloc-dealloc-mismatches, one report without its stacks).  The
 * owner is the reporting thread, named by the address of a thread-local
 * byte.  A report the owner itself starts while it reports (a bug found
 * in there, or the SIGSEGV handler on its thread) nests.  Another thread
 * waits, holding no allocator lock (sa_report is called with none): until
 * the report ends, or for ever when abort_on_error aborts, so that the
 * run's output is the first report whole, as ASan's is.  A fork child
 * starts with no owner (report_fork_child): the owner's thread is not in
 * it.
 */
static __thread char report_self;
static __thread int report_cancel; /* the thread's cancel state before its report */
static char *report_owner;         /* atomic */
static unsigned report_depth;      /* the owner's nesting */

static void report_begin(void)
{
	char *me = &report_self;
	if (__atomic_load_n(&report_owner, __ATOMIC_ACQUIRE) == me) {
		report_depth++;
		return;
	}
	/*
	 * No cancellation in a report: its writes, the symbolizer's pipe and
	 * the wait here are cancellation points, and a thread cancelled in
	 * there (a cancel pending when it hit the bug) left the reports owned
	 * by no live thread: every later report waited for ever.  A pending
	 * cancel acts at the thread's next cancellation point after it.
	 */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &report_cancel);
	for (;;) {
		char *none = NULL;
		if (__atomic_compare_exchange_n(&report_owner, &none, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		os_sleep_us(200);
	}
	report_depth = 1;
}

static void report_end(void)
{
	if (--report_depth == 0) {
		__atomic_store_n(&report_owner, NULL, __ATOMIC_RELEASE);
		pthread_setcancelstate(report_cancel, NULL);
	}
}

void report_fork_child(void)
{
	report_owner = NULL;
	report_depth = 0;
}

void sa_report(enum sa_bug bug, const char *call, uintptr_t p, mspan *s, const char *detail)
{
	DCHECK(no_lock_held()); /* internal.h: no lock is held while a report is printed */
	report_begin();
	__atomic_fetch_add(&reports, 1, __ATOMIC_RELAXED);
	char buf[1024];
	strbuf b = {buf, 0, sizeof buf};
	sb_report_prefix(&b);
	/* The headline: "<bug> of <address> in <call>()". */
	switch (bug) {
	case BUG_DOUBLE_FREE: sb_str(&b, "double free of "); break;
	case BUG_INVALID_FREE:
		sb_str(&b, call[0] == 'f' || strncmp(call, "operator delete", 15) == 0 ? "invalid free of "
										       : "invalid pointer ");
		break;
	case BUG_REALLOC_FREED:
		sb_str(&b, call);
		sb_str(&b, " of freed block ");
		break;
	case BUG_CORRUPT: sb_str(&b, "heap corruption at "); break;
	case BUG_OVERFLOW: sb_str(&b, "heap buffer overflow past the block at "); break;
	case BUG_UNDERFLOW: sb_str(&b, "heap buffer underflow before the block at "); break;
	case BUG_WRITE_AFTER_FREE: sb_str(&b, "write after free to the block at "); break;
	case BUG_GUARD: sb_str(&b, "heap overflow past the block at "); break;
	case BUG_USE_AFTER_FREE: sb_str(&b, "use after free of the block at "); break;
	case BUG_MISMATCH_MALLOC:
	case BUG_MISMATCH_NEW:
	case BUG_MISMATCH_NEW_ARRAY: /* ASan's words: "(operator new vs free)" */
		sb_str(&b, "alloc-dealloc-mismatch (");
		sb_str(&b, bug == BUG_MISMATCH_MALLOC ? "malloc"
			   : bug == BUG_MISMATCH_NEW  ? "operator new"
						      : "operator new[]");
		sb_str(&b, " vs ");
		sb_str(&b, call);
		sb_str(&b, ") of the block at ");
		break;
	case BUG_SIZED_DELETE: sb_str(&b, "new-delete-type-mismatch (size) of the block at "); break;
	case BUG_ALIGNED_DELETE: sb_str(&b, "new-delete-type-mismatch (alignment) of the block at "); break;
	}
	sb_hex(&b, p);
	/* " in <call>()": the function the program called; a check that
	 * found the bug on the way says so in the detail. */
	struct bad_stack st;
	bad_stack_here(&st);
	const char *found = found_when(call);
	if (strcmp(call, "memory access") == 0) {
		sb_str(&b, " (bad memory access)");
	} else if (!found) {
		sb_str(&b, " in ");
		sb_str(&b, call);
		sb_str(&b, "()");
	}
	sb_str(&b, "\n");
	if (s && s->spanclass == 0) {
		sb_str(&b, "    large object, size class 0 (");
		sb_dec(&b, s->npages);
		sb_str(&b, " pages at ");
		sb_hex(&b, s->startAddr);
		sb_str(&b, ", offset ");
		sb_dec(&b, p - s->startAddr);
		sb_str(&b, ")");
	} else if (s) {
		unsigned cls = s->spanclass == TINY_SPAN_CLASS ? TINY_SIZE_CLASS : s->spanclass;
		uintptr_t idx = span_object_index(s, p);
		sb_str(&b, s->spanclass == TINY_SPAN_CLASS ? "    tiny block in size class " : "    size class ");
		sb_dec(&b, cls);
		sb_str(&b, " (");
		sb_dec(&b, s->elemsize);
		sb_str(&b, "-byte objects), span ");
		sb_hex(&b, s->startAddr);
		sb_str(&b, " (");
		sb_dec(&b, s->npages);
		sb_str(&b, s->npages == 1 ? " page), object " : " pages), object ");
		sb_dec(&b, idx);
		sb_str(&b, " of ");
		sb_dec(&b, s->nelems);
		if (p - s->startAddr != idx * s->elemsize) {
			sb_str(&b, ", offset ");
			sb_dec(&b, p - s->startAddr - idx * s->elemsize);
		}
	} else {
		if (!guarded_describe(&b, p))
			sb_str(&b, "    size class unknown");
	}
	if (detail) {
		sb_str(&b, ": ");
		sb_str(&b, detail);
	}
	if (found) {
		sb_str(&b, " (");
		sb_str(&b, found);
		sb_str(&b, ")");
	}
	sb_str(&b, "\n    stack of the bad call:\n");
	os_write(report_fd, b.buf, b.len);
	print_bad_stack(&st);
	debug_report_extra(s, p);
	sa_symbolize_end();
	if (opts.abort_on_error) {
		static const char msg[] =
			"spanalloc: aborting (SPANALLOC_OPTIONS=abort_on_error=0 reports and goes on)\n";
		os_write(report_fd, msg, sizeof msg - 1);
		if (san_die()) {
			report_end();
			return; /* an earlier report is aborting: it ends the run */
		}
		abort(); /* (owning the reports: the others wait for the end) */
	}
	report_end();
}

void sa_fatal(const char *msg)
{
	char buf[512];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, "spanalloc: fatal: ");
	sb_str(&b, msg);
	sb_str(&b, "\n");
	os_write(2, b.buf, b.len);
	abort();
}

void sa_fatal_internal(const char *file, int line, const char *what)
{
	char buf[512];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, "spanalloc: internal error at ");
	sb_str(&b, file);
	sb_str(&b, ":");
	sb_dec(&b, (uint64_t)line);
	sb_str(&b, ": check failed: ");
	sb_str(&b, what);
	sb_str(&b, "\n");
	os_write(2, b.buf, b.len);
	abort();
}
