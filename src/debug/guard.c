/*
 * Guard pages and the fault handler of the debug build.
 *
 * PROT_NONE pages sit below every arena (os_reserve_guarded), after the
 * used range of every arena (its uncommitted rest), after every large
 * block, over every large block in the quarantine, and everywhere in the
 * guarded pool and the zero-size region (guarded.c) but the pages of its
 * live blocks.  When the program touches one, the SIGSEGV handler names
 * the block, says whether the access was a read or a write and where it
 * was against the block; a fault that is not spanalloc's goes on to the
 * handler that was installed before.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#if defined(__aarch64__)
#include <asm/sigcontext.h>
#endif

#include "../internal.h"
#include "guarded.h"

static struct sigaction previous;
/*
 * This thread is in the call to the previous handler (on_fault).  A
 * signal sent while it is has come from that handler: it put back the
 * handler it replaced, which is ours when debug_guard_ensure had put
 * ours back in front of it, and raised the signal again to end the
 * process (Python's faulthandler).  Handing it to that handler again
 * would go round for ever (each printing its report, until the stacks
 * overflow), so it takes the default action.  (Not cleared when the
 * handler leaves by siglongjmp: a later sent SIGSEGV in that thread then
 * takes the default action too; faults are passed on as before.)
 */
static __thread bool in_previous;

/* Read or write, from the fault's context; "access" when it cannot tell. */
static const char *access_kind(const void *uctx)
{
#if defined(__x86_64__)
	/* The page-fault error code: bit 1 is set for a write. */
	const ucontext_t *uc = uctx;
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) ? "write" : "read";
#elif defined(__aarch64__) && defined(ESR_MAGIC)
	/* The kernel saves the ESR of a data abort in the context's
	 * records; WnR (bit 6) is set for a write. */
	const ucontext_t *uc = uctx;
	const unsigned char *r = (const unsigned char *)uc->uc_mcontext.__reserved;
	const unsigned char *end = r + sizeof uc->uc_mcontext.__reserved;
	while (r + sizeof(struct _aarch64_ctx) <= end) {
		const struct _aarch64_ctx *h = (const struct _aarch64_ctx *)(const void *)r;
		if (h->magic == 0 || h->size == 0)
			break;
		if (h->magic == ESR_MAGIC)
			return (((const struct esr_context *)(const void *)h)->esr >> 6) & 1 ? "write" : "read";
		r += h->size;
	}
	return "access";
#else
	(void)uctx;
	return "access";
#endif
}

void debug_describe_access(char *buf, size_t cap, const char *access, uintptr_t a, uintptr_t block, size_t size,
			   bool freed)
{
	strbuf b = {buf, 0, cap};
	sb_str(&b, access);
	sb_str(&b, " at ");
	sb_hex(&b, a);
	sb_str(&b, ": ");
	size_t n = a < block ? block - a : a < block + size ? a - block : a - block - size;
	sb_dec(&b, n);
	sb_str(&b, n == 1 ? " byte " : " bytes ");
	sb_str(&b, a < block ? "before" : a < block + size ? "into" : "past");
	sb_str(&b, freed ? " a freed block of size " : " the block of size ");
	sb_dec(&b, size);
	buf[b.len] = 0;
}

/* A fault of ours: report it; there is no going on from it. */
static void fault_report(enum sa_bug bug, uintptr_t block, mspan *s, const char *what)
{
	opts.abort_on_error = 1;
	sa_report(bug, "memory access", block, s, what);
}

/*
 * A SIGSEGV sent by kill, raise or sigqueue (si_code <= 0) is no access:
 * si_addr is not an address then, and returning from the handler does
 * not bring the signal back as a faulting instruction does.  Python's
 * faulthandler, for one, puts the handler it replaced (ours) back and
 * raises the signal again to end the process.
 */
static bool signal_sent(const siginfo_t *info) { return info->si_code <= 0; }

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
	bool sent = signal_sent(info);
	uintptr_t a = sent ? 0 : (uintptr_t)info->si_addr;
	const char *access = access_kind(uctx);
	char buf[192];
	strbuf b = {buf, 0, sizeof buf};
	heapArena *ha = sent || guarded_owns(a) ? NULL : arena_of(a);
	if (sent) {
		/* nothing of ours to report */
	} else if (guarded_owns(a)) {
		opts.abort_on_error = 1;  /* there is no going on from a fault of ours */
		guarded_fault(a, access); /* reports, aborts */
	} else if (!ha) {
		/* The guard page right below an arena. */
		uintptr_t up = (a + PAGE_SIZE) & ~(ARENA_SIZE - 1);
		if (up - a <= PAGE_SIZE && arena_of(up)) {
			sb_str(&b, access);
			sb_str(&b, " below the heap's first arena hit a guard page");
			buf[b.len] = 0;
			fault_report(BUG_GUARD, up, NULL, buf);
		}
	} else if (((a - ha->base) >> PAGE_SHIFT) >= ha->commitPages) {
		sb_str(&b, access);
		sb_str(&b, " at ");
		sb_hex(&b, a);
		sb_str(&b, " past the end of the heap's used range hit a guard page");
		buf[b.len] = 0;
		fault_report(BUG_GUARD, ha->base + (uintptr_t)ha->commitPages * PAGE_SIZE, NULL, buf);
	} else {
		/* A large span: its guard page, or its pages in the quarantine. */
		mspan *s = span_of(ha, a);
		if (s && s->dbg && s->spanclass == 0) {
			uintptr_t block = s->startAddr + s->dbg->obj[0].offset;
			bool in_guard = s->dbg->guard && a >= s->startAddr + (s->npages - 1) * PAGE_SIZE;
			bool freed = !in_guard && (debug_quarantined_in(s, 0) & 1);
			if (in_guard || freed) {
				debug_describe_access(buf, sizeof buf, access, a, block, s->dbg->obj[0].reqsize, freed);
				fault_report(freed ? BUG_USE_AFTER_FREE : BUG_GUARD, block, s, buf);
			}
		}
	}
	/* Not ours: hand it to whoever handled SIGSEGV before us. */
	if (sent && in_previous) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGSEGV, &dfl, NULL);
		raise(sig);
		return;
	}
	if ((previous.sa_flags & SA_SIGINFO) ? previous.sa_sigaction != NULL
					     : previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		in_previous = true;
		if (previous.sa_flags & SA_SIGINFO)
			previous.sa_sigaction(sig, info, uctx);
		else
			previous.sa_handler(sig);
		in_previous = false;
		return;
	}
	/*
	 * Default action (or ignore): restore it, and let the access fault
	 * again, or send a sent signal again, which the handler it now has
	 * takes at once (SA_NODEFER: SIGSEGV is not blocked in here).
	 */
	sigaction(SIGSEGV, &previous, NULL);
	if (sent)
		raise(sig);
}

void debug_guard_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	/* SA_ONSTACK: a program that handles stack overflows on an
	 * alternate stack (Rust's std, Python's faulthandler) keeps it when
	 * debug_guard_ensure puts us in front of its handler. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &previous);
}

/*
 * A runtime that starts after us can take SIGSEGV over: the UBSan runtime
 * that clang -fsanitize=fuzzer links in does, and libFuzzer's own
 * SetSignalHandler after it, which would print their own "SEGV" for a
 * fault in a guard page and exit without a crash file.  So before handing
 * out a block whose pages can fault (a guarded or large one), put our
 * handler back in front, chaining to the new one for faults that are not
 * ours.  Asking the kernel is a system call, so it is asked on each of the
 * first GUARD_EARLY such blocks (start-up, when runtimes install their
 * handlers: libFuzzer's comes after about 20 in tests/fuzzuse's target),
 * then on one in GUARD_EVERY: a handler installed later is in front of
 * ours until the next check (most chain to the one they replaced, which
 * is us).
 */
#define GUARD_EARLY 1024
#define GUARD_EVERY 64
static uint32_t ensures; /* atomic */

void debug_guard_ensure(void)
{
	uint32_t n = __atomic_fetch_add(&ensures, 1, __ATOMIC_RELAXED);
	if (LIKELY(n >= GUARD_EARLY && n % GUARD_EVERY))
		return;
	struct sigaction cur;
	if (sigaction(SIGSEGV, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault)
		return;
	debug_guard_init();
}
