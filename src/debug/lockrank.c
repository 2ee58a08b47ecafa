/*
 * Lock ranking, debug build (Go's runtime/lockrank_on.go): each thread
 * records the locks it holds; taking a lock whose rank is not above every
 * held one (internal.h, enum lock_rank) is a bug in spanalloc, reported
 * with both locks' names before the thread could deadlock.  The mcentral
 * locks share a rank and may nest in class (address) order.
 */
#include "internal.h"

#define MAX_HELD 8 /* the fork handler holds the most: caches, the centrals' last, heap */

static const char *const rank_names[LOCK_NRANKS] = {
	[LOCK_UNRANKED] = "an unranked lock",
	[LOCK_INIT] = "init_lock (init.c)",
	[LOCK_LEAK_CHECK] = "check_lock (debug/leak.c)",
	[LOCK_CACHES] = "caches_lock (cache.c)",
	[LOCK_CENTRAL] = "mcentral.lock (central.c)",
	[LOCK_HEAP] = "mheap.lock (heap.c)",
	[LOCK_POOL] = "pool_lock (debug/guarded.c)",
	[LOCK_ZERO_REGION] = "zlock (debug/guarded.c)",
	[LOCK_DEPOT] = "depot_lock (debug/stack.c)",
	[LOCK_PENDING] = "pending_lock (debug/debug.c)",
};

/* The locks this thread holds, in acquire order, but for the centrals
 * (the fork handler holds them all): only the last one taken counts. */
static __thread const mutex *held[MAX_HELD];
static __thread unsigned nheld;

static __attribute__((noreturn)) void lock_order_fatal(const mutex *m, const mutex *h, const char *why)
{
	char buf[256];
	strbuf b = {buf, 0, sizeof buf - 1};
	sb_str(&b, "lock order: ");
	sb_str(&b, why);
	sb_str(&b, " ");
	sb_str(&b, rank_names[m->rank < LOCK_NRANKS ? m->rank : 0]);
	sb_str(&b, " (rank ");
	sb_dec(&b, m->rank);
	if (h) {
		sb_str(&b, ") while holding ");
		sb_str(&b, rank_names[h->rank < LOCK_NRANKS ? h->rank : 0]);
		sb_str(&b, " (rank ");
		sb_dec(&b, h->rank);
	}
	sb_str(&b, ")");
	buf[b.len] = 0;
	sa_fatal(buf);
}

void lockrank_acquire(const mutex *m)
{
	if (m->rank == LOCK_UNRANKED || m->rank >= LOCK_NRANKS)
		lock_order_fatal(m, NULL, "taking");
	for (unsigned i = 0; i < nheld; i++) {
		const mutex *h = held[i];
		if (h == m)
			lock_order_fatal(m, h, "taking again");
		if (h->rank > m->rank || (h->rank == m->rank && (m->rank != LOCK_CENTRAL || h > m)))
			lock_order_fatal(m, h, "taking");
	}
	if (m->rank == LOCK_CENTRAL && nheld > 0 && held[nheld - 1]->rank == LOCK_CENTRAL) {
		held[nheld - 1] = m; /* the centrals below it stay held, in order */
		return;
	}
	if (nheld == MAX_HELD)
		lock_order_fatal(m, held[nheld - 1], "too many locks held taking");
	held[nheld++] = m;
}

void lockrank_forget(const mutex *m)
{
	for (unsigned i = 0; i < nheld; i++) {
		if (held[i] == m) {
			for (unsigned j = i + 1; j < nheld; j++)
				held[j - 1] = held[j];
			nheld--;
			return;
		}
	}
}

void lockrank_release(const mutex *m)
{
	if (m->rank == LOCK_CENTRAL) {
		/* Of several centrals held, only the last is recorded. */
		lockrank_forget(m);
		return;
	}
	unsigned before = nheld;
	lockrank_forget(m);
	if (nheld == before)
		lock_order_fatal(m, NULL, "releasing a lock not held:");
}

bool lockrank_held(const mutex *m)
{
	for (unsigned i = 0; i < nheld; i++)
		if (held[i] == m)
			return true;
	return false;
}
