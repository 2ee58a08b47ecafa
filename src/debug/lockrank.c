/*
 * Lock ranking, debug build (Go's runtime/lockrank_on.go): each thread
 * records every lock it holds; taking a lock whose rank is not above every
 * held one (internal.h, enum lock_rank) is a bug in spanalloc, reported
 * with both locks' names before the thread could deadlock.  The mcentral
 * locks share a rank and may nest in class (address) order: the fork
 * handler and sa_check_heap hold all of them at once.
 */
#include "internal.h"

#define MAX_HELD 8 /* locks of other ranks held at once: at most one a rank */
#define CENTRAL_WORDS ((NUM_SPAN_CLASSES + 63) / 64)

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

/*
 * What this thread holds: the mcentral locks as a set over the classes
 * (centrals[], ncentral of them, the highest class topcentral), every
 * other lock in held[], in acquire order.
 */
static __thread const mutex *held[MAX_HELD];
static __thread unsigned nheld;
static __thread uint64_t centrals[CENTRAL_WORDS];
static __thread unsigned ncentral, topcentral;

/* "name (rank r)", and an mcentral's class. */
static void name_lock(strbuf *b, const mutex *m)
{
	sb_str(b, rank_names[m->rank < LOCK_NRANKS ? m->rank : 0]);
	uintptr_t off = (uintptr_t)m - (uintptr_t)&mcentral_[0].lock;
	if (m->rank == LOCK_CENTRAL && (uintptr_t)m >= (uintptr_t)&mcentral_[0].lock &&
	    off / sizeof(mcentral) < NUM_SPAN_CLASSES) {
		sb_str(b, " of class ");
		sb_dec(b, off / sizeof(mcentral));
	}
	sb_str(b, " (rank ");
	sb_dec(b, m->rank);
	sb_str(b, ")");
}

static __attribute__((noreturn)) void lock_order_fatal(const mutex *m, const mutex *h, const char *why)
{
	char buf[256];
	strbuf b = {buf, 0, sizeof buf - 1};
	sb_str(&b, "lock order: ");
	sb_str(&b, why);
	sb_str(&b, " ");
	name_lock(&b, m);
	if (h) {
		sb_str(&b, " while holding ");
		name_lock(&b, h);
	}
	buf[b.len] = 0;
	sa_fatal(buf);
}

/* The class of a central lock (fatal for a lock of that rank that is no
 * mcentral's). */
static unsigned central_class(const mutex *m)
{
	uintptr_t off = (uintptr_t)m - (uintptr_t)&mcentral_[0].lock;
	if ((uintptr_t)m < (uintptr_t)&mcentral_[0].lock || off % sizeof(mcentral) != 0 ||
	    off / sizeof(mcentral) >= NUM_SPAN_CLASSES)
		lock_order_fatal(m, NULL, "a lock ranked as an mcentral's is none:");
	return (unsigned)(off / sizeof(mcentral));
}

static bool central_in_set(unsigned i) { return (centrals[i / 64] >> (i % 64)) & 1; }

static void acquire_central(const mutex *m)
{
	unsigned i = central_class(m);
	if (central_in_set(i))
		lock_order_fatal(m, m, "taking again");
	if (ncentral > 0 && topcentral > i)
		lock_order_fatal(m, &mcentral_[topcentral].lock, "taking");
	for (unsigned j = 0; j < nheld; j++)
		if (held[j]->rank > LOCK_CENTRAL)
			lock_order_fatal(m, held[j], "taking");
	centrals[i / 64] |= 1ull << (i % 64);
	ncentral++;
	topcentral = i;
}

void lockrank_acquire(const mutex *m)
{
	if (m->rank == LOCK_UNRANKED || m->rank >= LOCK_NRANKS)
		lock_order_fatal(m, NULL, "taking");
	if (m->rank == LOCK_CENTRAL) {
		acquire_central(m);
		return;
	}
	if (ncentral > 0 && m->rank < LOCK_CENTRAL)
		lock_order_fatal(m, &mcentral_[topcentral].lock, "taking");
	for (unsigned i = 0; i < nheld; i++) {
		const mutex *h = held[i];
		if (h == m)
			lock_order_fatal(m, h, "taking again");
		if (h->rank >= m->rank)
			lock_order_fatal(m, h, "taking");
	}
	if (nheld == MAX_HELD)
		lock_order_fatal(m, held[nheld - 1], "too many locks held taking");
	held[nheld++] = m;
}

/* Drop m from the record; false if it was not in it. */
static bool forget(const mutex *m)
{
	if (m->rank == LOCK_CENTRAL) {
		unsigned i = central_class(m);
		if (!central_in_set(i))
			return false;
		centrals[i / 64] &= ~(1ull << (i % 64));
		if (--ncentral > 0 && i == topcentral)
			while (!central_in_set(topcentral))
				topcentral--;
		return true;
	}
	for (unsigned i = 0; i < nheld; i++) {
		if (held[i] == m) {
			for (unsigned j = i + 1; j < nheld; j++)
				held[j - 1] = held[j];
			nheld--;
			return true;
		}
	}
	return false;
}

void lockrank_forget(const mutex *m) { (void)forget(m); }

void lockrank_release(const mutex *m)
{
	if (!forget(m))
		lock_order_fatal(m, NULL, "releasing a lock not held:");
}

bool lockrank_held(const mutex *m)
{
	if (m->rank == LOCK_CENTRAL)
		return central_in_set(central_class(m));
	for (unsigned i = 0; i < nheld; i++)
		if (held[i] == m)
			return true;
	return false;
}

bool lockrank_none_held(void) { return nheld == 0 && ncentral == 0; }
