/*
 * Start-up, fork and exit.  Initialization is lazy (the first malloc may
 * come from ld.so or libc before any constructor has run) and takes one
 * lock; the constructor finishes what needs a running libc.
 */
#include <stdio.h>

#include "internal.h"
#include "spanalloc.h"

int sa_inited;
static mutex init_lock = MUTEX_INIT(LOCK_INIT);

void sa_init_slow(void)
{
	lock(&init_lock);
	if (!sa_inited) {
		options_init();
		heap_init();
		central_init();
		debug_init();
		__atomic_store_n(&sa_inited, 1, __ATOMIC_RELEASE);
	}
	unlock(&init_lock);
}

static void fork_prepare(void)
{
	debug_fork_prepare();
	cache_fork_prepare();
}

static void fork_parent(void)
{
	cache_fork_parent();
	debug_fork_done();
}

static void fork_child(void)
{
	report_fork_child();
	cache_fork_child();
	debug_fork_done();
}

__attribute__((constructor)) static void sa_constructor(void)
{
	sa_ensure_init();
	options_init();
	/*
	 * The first backtrace() loads libgcc_s, which allocates.  The debug
	 * build unwinds inside malloc and reports from sweeps with an
	 * mcentral lock held, so do that first call now, while no lock is.
	 */
	stack_warm_unwinder();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	stats_at_start();
}

__attribute__((destructor)) static void sa_destructor(void)
{
	stats_at_exit();
	debug_at_exit();
}
