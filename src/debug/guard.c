/*
 * Guard pages and the fault handler of the debug build.
 *
 * PROT_NONE pages sit below every arena (os_reserve_guarded), after the
 * used range of every arena (its uncommitted rest), after every large
 * block, and over every freed efence block and every large block in the
 * quarantine.  When the program touches one, the SIGSEGV handler names the
 * block instead of leaving a bare crash; a fault that is not spanalloc's
 * goes on to the handler that was installed before.
 */
#include <signal.h>
#include <string.h>

#include "../internal.h"

static struct sigaction previous;

/* The large or efence span whose guard or freed pages hold a, if any. */
static enum sa_bug classify(uintptr_t a, mspan **sp, uintptr_t *block)
{
	*sp = NULL;
	*block = a;
	heapArena *ha = arena_of(a);
	if (!ha) {
		/* The guard page right below an arena. */
		uintptr_t up = (a + PAGE_SIZE) & ~(ARENA_SIZE - 1);
		if (up - a <= PAGE_SIZE && arena_of(up)) {
			*block = up;
			return BUG_GUARD;
		}
		return BUG_CORRUPT; /* not ours */
	}
	size_t pg = (a - ha->base) >> PAGE_SHIFT;
	if (pg >= ha->commitPages) {
		*block = ha->base + (uintptr_t)ha->commitPages * PAGE_SIZE;
		return BUG_GUARD; /* past the end of the heap's used range */
	}
	mspan *s = span_of(ha, a);
	if (!s || !s->dbg || s->spanclass != 0)
		return BUG_CORRUPT;
	*sp = s;
	*block = s->dbg->efence ? s->dbg->efencePtr : s->startAddr + s->dbg->obj[0].offset;
	bool in_guard = s->dbg->guard && a >= s->startAddr + (s->npages - 1) * PAGE_SIZE;
	if (s->dbg->efenceFreed || (!in_guard && (debug_quarantined_in(s, 0) & 1)))
		return BUG_USE_AFTER_FREE;
	return in_guard ? BUG_GUARD : BUG_CORRUPT;
}

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
	uintptr_t a = (uintptr_t)info->si_addr, block;
	mspan *s;
	enum sa_bug bug = classify(a, &s, &block);
	if (bug != BUG_CORRUPT) {
		char buf[96];
		strbuf b = {buf, 0, sizeof buf};
		sb_str(&b, "access at ");
		sb_hex(&b, a);
		sb_str(&b, bug == BUG_GUARD ? " hit a guard page" : " in freed pages");
		buf[b.len] = 0;
		opts.abort_on_error = 1; /* there is no going on from here */
		sa_report(bug, "memory access", block, s, buf);
	}
	/* Not ours: hand it to whoever handled SIGSEGV before us. */
	if (previous.sa_flags & SA_SIGINFO) {
		if (previous.sa_sigaction) {
			previous.sa_sigaction(sig, info, uctx);
			return;
		}
	} else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	/* Default action: restore it and let the access fault again. */
	sigaction(SIGSEGV, &previous, NULL);
}

void debug_guard_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &previous);
}
