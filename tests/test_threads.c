/*
 * test_threads: multithreaded stress, cross-thread frees, thread exit with
 * live cached state, reuse of memory freed by another thread, and frees
 * after a thread's cache was retired.
 *
 * Blocks carry a pattern derived from a unique id (tu_fill) that is
 * checked before every free and realloc: a block handed out twice, or two
 * blocks that overlap, show up as a pattern mismatch.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* opts.tiny */
#include "spanalloc.h"
#include "testutil.h"

#define MiB ((uint64_t)1 << 20)

/* glibc's own per-thread allocations (DTV of a new stack, ...) may differ
 * by a few objects between two quiet points; an allocator that loses
 * counts when threads exit is off by thousands. */
#define LIBC_SLACK_OBJECTS 16

static int64_t diff_u64(uint64_t a, uint64_t b) { return (int64_t)(a - b); }

static void xpthread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, NULL, fn, arg);
	cr_assert_eq(rc, 0, "pthread_create: %s", strerror(rc));
}

/* ---- 1. random stress with a shared exchange ------------------------------ */

struct blk {
	void *p;
	size_t len;
	uint64_t id;
};

#define XCHG_SLOTS 1024
static struct blk xchg[XCHG_SLOTS];
static pthread_mutex_t xchg_lock[64];

struct stress_arg {
	unsigned tid;
	unsigned ops;
	uint64_t seed;
	int failed;
	char why[200];
};

#define STRESS_SLOTS 1500

static int check_blk(struct stress_arg *a, const struct blk *b, const char *when)
{
	size_t bad = tu_check(b->p, b->len, b->id);
	if (bad != b->len) {
		snprintf(a->why, sizeof a->why, "thread %u: block id %#" PRIx64 " at %p (%zu B) corrupted at +%zu %s",
			 a->tid, b->id, b->p, b->len, bad, when);
		a->failed = 1;
		return 0;
	}
	return 1;
}

static void *stress_thread(void *arg)
{
	struct stress_arg *a = arg;
	struct blk *slot = calloc(STRESS_SLOTS, sizeof *slot);
	uint64_t rng = a->seed, next_id = ((uint64_t)a->tid << 40) + 1;
	if (!slot) {
		a->failed = 1;
		snprintf(a->why, sizeof a->why, "calloc of the slot table failed");
		return NULL;
	}
	for (unsigned op = 0; op < a->ops && !a->failed; op++) {
		struct blk *b = &slot[tu_rand(&rng) % STRESS_SLOTS];
		unsigned what = (unsigned)(tu_rand(&rng) % 16);
		if (b->p == NULL) {
			b->len = tu_rand_size(&rng);
			b->id = next_id++;
			switch (what % 5) {
			case 0: b->p = calloc(1, b->len); break;
			case 1: b->p = sa_malloc(b->len); break;
			case 2: b->p = aligned_alloc((size_t)16 << (what % 4), b->len); break;
			default: b->p = malloc(b->len); break;
			}
			if (!b->p) {
				a->failed = 1;
				snprintf(a->why, sizeof a->why, "allocation of %zu B failed", b->len);
				break;
			}
			tu_fill(b->p, b->len, b->id);
		} else if (what < 4) {
			if (!check_blk(a, b, "before realloc"))
				break;
			size_t n = tu_rand_size(&rng);
			void *q = (what & 1) ? realloc(b->p, n) : sa_realloc(b->p, n);
			if (!q) {
				a->failed = 1;
				snprintf(a->why, sizeof a->why, "realloc to %zu B failed", n);
				break;
			}
			b->p = q;
			b->len = n < b->len ? n : b->len;
			if (!check_blk(a, b, "after realloc"))
				break;
			b->len = n;
			b->id = next_id++;
			tu_fill(b->p, b->len, b->id);
		} else if (what < 6) {
			/* Swap with the exchange: blocks migrate between threads. */
			if (!check_blk(a, b, "before exchange"))
				break;
			unsigned x = (unsigned)(tu_rand(&rng) % XCHG_SLOTS);
			pthread_mutex_lock(&xchg_lock[x % 64]);
			struct blk t = xchg[x];
			xchg[x] = *b;
			*b = t;
			pthread_mutex_unlock(&xchg_lock[x % 64]);
			if (b->p && !check_blk(a, b, "taken from the exchange"))
				break;
		} else {
			if (!check_blk(a, b, "before free"))
				break;
			if (what & 1)
				free(b->p);
			else
				sa_free(b->p);
			b->p = NULL;
		}
	}
	for (unsigned i = 0; i < STRESS_SLOTS; i++) {
		if (slot[i].p && !a->failed)
			check_blk(a, &slot[i], "at the end");
		free(slot[i].p);
	}
	free(slot);
	return NULL;
}

static void run_stress(unsigned nthreads, unsigned ops, uint64_t seed)
{
	pthread_t t[8];
	struct stress_arg arg[8];
	for (unsigned i = 0; i < 64; i++)
		pthread_mutex_init(&xchg_lock[i], NULL);
	for (unsigned i = 0; i < nthreads; i++) {
		memset(&arg[i], 0, sizeof arg[i]);
		arg[i].tid = i + 1;
		arg[i].ops = ops;
		arg[i].seed = seed * 1000 + i + 1;
		xpthread_create(&t[i], stress_thread, &arg[i]);
	}
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < nthreads; i++)
		cr_assert(!arg[i].failed, "%s", arg[i].why);
	/* Blocks left in the exchange: freed by the main thread. */
	for (unsigned x = 0; x < XCHG_SLOTS; x++) {
		if (xchg[x].p) {
			cr_assert_eq(tu_check(xchg[x].p, xchg[x].len, xchg[x].id), xchg[x].len,
				     "exchange block %u corrupted", x);
			free(xchg[x].p);
			xchg[x].p = NULL;
		}
	}
}

Test(threads, stress_2_threads, .timeout = 300)
{
	run_stress(2, 150000, 1);
	cr_assert_eq(sa_check_heap(), 0);
}

Test(threads, stress_4_threads, .timeout = 300)
{
	run_stress(4, 100000, 2);
	cr_assert_eq(sa_check_heap(), 0);
}

Test(threads, stress_leaves_no_objects, .timeout = 300)
{
	run_stress(3, 20000, 3); /* warm up glibc's stack cache */
	struct sa_memstats m0 = tu_stats();
	run_stress(3, 60000, 4);
	struct sa_memstats m1 = tu_stats();
	cr_assert_leq(llabs(diff_u64(m1.HeapObjects, m0.HeapObjects)), LIBC_SLACK_OBJECTS,
		      "HeapObjects %" PRIu64 " before, %" PRIu64 " after a stress run that freed "
		      "everything",
		      m0.HeapObjects, m1.HeapObjects);
	cr_assert_eq(m1.HeapObjects, m1.Mallocs - m1.Frees);
	cr_assert_eq(sa_check_heap(), 0);
}

/* ---- 2. producer / consumer: every free is a cross-thread free ------------ */

#define RING 1024
struct ring {
	struct blk slot[RING];
	_Atomic uint64_t head; /* written by the producer */
	_Atomic uint64_t tail; /* written by the consumer */
};

struct pc {
	struct ring ring;
	pthread_barrier_t start, end;
	unsigned rounds, per_round;
	_Atomic int failed;
	char why[200];
};

static void *producer(void *arg)
{
	struct pc *pc = arg;
	uint64_t rng = 77, id = 1;
	for (unsigned r = 0; r < pc->rounds; r++) {
		pthread_barrier_wait(&pc->start);
		for (unsigned i = 0; i < pc->per_round; i++) {
			uint64_t h = atomic_load_explicit(&pc->ring.head, memory_order_relaxed);
			while (h - atomic_load_explicit(&pc->ring.tail, memory_order_acquire) >= RING)
				sched_yield();
			struct blk *b = &pc->ring.slot[h % RING];
			b->len = tu_rand_size(&rng);
			b->id = id++;
			b->p = malloc(b->len);
			if (!b->p) {
				atomic_store(&pc->failed, 1);
				snprintf(pc->why, sizeof pc->why, "malloc(%zu) failed", b->len);
				b->len = 0;
			} else {
				tu_fill(b->p, b->len, b->id);
			}
			atomic_store_explicit(&pc->ring.head, h + 1, memory_order_release);
		}
		pthread_barrier_wait(&pc->end);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct pc *pc = arg;
	for (unsigned r = 0; r < pc->rounds; r++) {
		pthread_barrier_wait(&pc->start);
		for (unsigned i = 0; i < pc->per_round; i++) {
			uint64_t t = atomic_load_explicit(&pc->ring.tail, memory_order_relaxed);
			while (atomic_load_explicit(&pc->ring.head, memory_order_acquire) == t)
				sched_yield();
			struct blk *b = &pc->ring.slot[t % RING];
			size_t bad = b->p ? tu_check(b->p, b->len, b->id) : b->len;
			if (bad != b->len && !atomic_load(&pc->failed)) {
				atomic_store(&pc->failed, 1);
				snprintf(pc->why, sizeof pc->why, "block %" PRIu64 " at %p (%zu B) corrupted at +%zu",
					 b->id, b->p, b->len, bad);
			}
			free(b->p);
			atomic_store_explicit(&pc->ring.tail, t + 1, memory_order_release);
		}
		pthread_barrier_wait(&pc->end);
	}
	return NULL;
}

Test(threads, producer_consumer_memory_is_reused, .timeout = 300)
{
	enum { ROUNDS = 10, WARMUP = 3 };
	static struct pc pc;
	pc.rounds = ROUNDS;
	pc.per_round = 40000;
	pthread_barrier_init(&pc.start, NULL, 3);
	pthread_barrier_init(&pc.end, NULL, 3);
	pthread_t tp, tc;
	xpthread_create(&tp, producer, &pc);
	xpthread_create(&tc, consumer, &pc);
	uint64_t heapsys[ROUNDS], sys[ROUNDS], total0 = tu_stats().TotalAlloc;
	for (unsigned r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&pc.start);
		pthread_barrier_wait(&pc.end);
		struct sa_memstats m = tu_stats();
		heapsys[r] = m.HeapSys;
		sys[r] = m.Sys;
	}
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	cr_assert(!atomic_load(&pc.failed), "%s", pc.why);
	uint64_t per_round = (tu_stats().TotalAlloc - total0) / ROUNDS;
	char hist[600] = "";
	for (unsigned r = 0; r < ROUNDS; r++)
		snprintf(hist + strlen(hist), sizeof hist - strlen(hist), " %" PRIu64, heapsys[r] / MiB);
	/* Each round allocates (and frees, in the other thread) hundreds of MiB;
	 * the live set is at most RING blocks.  After the warm-up, the heap must
	 * stop growing. */
	cr_assert_gt(per_round, 64 * MiB, "the rounds are too small to show anything");
	cr_assert_leq(heapsys[ROUNDS - 1], heapsys[WARMUP - 1] + 16 * MiB,
		      "HeapSys keeps growing with cross-thread frees (MiB per round:%s; each "
		      "round allocates %" PRIu64 " MiB)",
		      hist, per_round / MiB);
	cr_assert_leq(sys[ROUNDS - 1], sys[WARMUP - 1] + 24 * MiB, "Sys keeps growing: %" PRIu64 " -> %" PRIu64 " MiB",
		      sys[WARMUP - 1] / MiB, sys[ROUNDS - 1] / MiB);
	cr_assert_eq(sa_check_heap(), 0);
}

/* ---- 3. threads that exit with live cached state -------------------------- */

#define EXIT_BLOCKS 300
struct exit_arg {
	unsigned seed;
	unsigned nkept;
	struct blk kept[EXIT_BLOCKS];
	int failed;
};

static void *exiting_thread(void *arg)
{
	struct exit_arg *a = arg;
	uint64_t rng = a->seed * 2654435761u + 1;
	struct blk b[EXIT_BLOCKS];
	a->nkept = 0;
	for (unsigned i = 0; i < EXIT_BLOCKS; i++) {
		b[i].len = tu_rand_size(&rng);
		if (b[i].len > 32768 && i % 4)
			b[i].len &= 1023;
		b[i].id = ((uint64_t)a->seed << 20) + i;
		b[i].p = malloc(b[i].len);
		if (!b[i].p) {
			a->failed = 1;
			return NULL;
		}
		tu_fill(b[i].p, b[i].len, b[i].id);
	}
	/* Free two thirds (spans partly used), keep the rest for main. */
	for (unsigned i = 0; i < EXIT_BLOCKS; i++) {
		if (tu_check(b[i].p, b[i].len, b[i].id) != b[i].len)
			a->failed = 1;
		if (i % 3)
			free(b[i].p);
		else
			a->kept[a->nkept++] = b[i];
	}
	/* And a few tiny ones so the thread dies with a half-used tiny block. */
	for (unsigned i = 0; i < 3; i++) {
		struct blk *k = &a->kept[a->nkept++];
		k->len = 1 + i;
		k->id = ((uint64_t)a->seed << 20) + 100000 + i;
		k->p = malloc(k->len);
		if (!k->p) {
			a->failed = 1;
			return NULL;
		}
		tu_fill(k->p, k->len, k->id);
	}
	return NULL;
}

static pthread_barrier_t hold;

static void *holding_thread(void *arg)
{
	/* The thread now has a cache. */
	void *p = tu_escape(malloc(64));
	pthread_barrier_wait(&hold);
	pthread_barrier_wait(&hold);
	free(p);
	return arg;
}

Test(threads, exiting_threads_return_their_caches, .timeout = 300)
{
	enum { ITERS = 150, WARM = 15, NT = 4, KEEP_ITERS = 8 };
	static struct exit_arg arg[ITERS][NT];
	struct sa_memstats warm = {0};

	/* First NT + 1 threads alive at once: the most caches the churn below
	 * can ever need at a time (it runs NT threads at once).  Whether dead
	 * threads' caches are freed or pooled for reuse, MCacheInuse must not
	 * go above this peak afterwards; caches that leak push it up with
	 * every dead thread. */
	pthread_t h[NT + 1];
	pthread_barrier_init(&hold, NULL, NT + 2);
	for (unsigned i = 0; i < NT + 1; i++)
		xpthread_create(&h[i], holding_thread, NULL);
	pthread_barrier_wait(&hold);
	struct sa_memstats peak = tu_stats();
	pthread_barrier_wait(&hold);
	for (unsigned i = 0; i < NT + 1; i++)
		pthread_join(h[i], NULL);
	pthread_barrier_destroy(&hold);
	for (unsigned it = 0; it < ITERS; it++) {
		pthread_t t[NT];
		for (unsigned i = 0; i < NT; i++) {
			arg[it][i].seed = it * NT + i + 1;
			xpthread_create(&t[i], exiting_thread, &arg[it][i]);
		}
		for (unsigned i = 0; i < NT; i++)
			pthread_join(t[i], NULL);
		for (unsigned i = 0; i < NT; i++) {
			struct exit_arg *a = &arg[it][i];
			cr_assert(!a->failed, "iteration %u thread %u failed", it, i);
			for (unsigned k = 0; k < a->nkept; k++)
				cr_assert_eq(tu_check(a->kept[k].p, a->kept[k].len, a->kept[k].id), a->kept[k].len,
					     "block %p (%zu B) of a dead thread corrupted", a->kept[k].p,
					     a->kept[k].len);
		}
		/* Free what dead threads left, except the last few iterations'
		 * blocks, which stay live in spans whose owner died. */
		if (it >= KEEP_ITERS) {
			unsigned old = it - KEEP_ITERS;
			for (unsigned i = 0; i < NT; i++) {
				for (unsigned k = 0; k < arg[old][i].nkept; k++)
					free(arg[old][i].kept[k].p);
				arg[old][i].nkept = 0;
			}
		}
		if (it == WARM - 1) {
			cr_assert_eq(sa_check_heap(), 0);
			warm = tu_stats();
		}
	}
	struct sa_memstats end = tu_stats();
	cr_assert_eq(sa_check_heap(), 0, "sa_check_heap with blocks of dead threads live");
	/* The live blocks: KEEP_ITERS iterations' worth, as after the warm-up. */
	cr_assert_leq(llabs(diff_u64(end.HeapObjects, warm.HeapObjects)), LIBC_SLACK_OBJECTS,
		      "HeapObjects %" PRIu64 " after warm-up, %" PRIu64 " at the end (same live set)", warm.HeapObjects,
		      end.HeapObjects);
	cr_assert_eq(end.HeapObjects, end.Mallocs - end.Frees);
	cr_assert_leq(end.MCacheInuse, peak.MCacheInuse,
		      "MCacheInuse %" PRIu64 " B with %d threads alive, %" PRIu64 " B after %d "
		      "threads came and went (at most %d at a time): exited threads' mcaches are "
		      "not returned",
		      peak.MCacheInuse, NT + 2, end.MCacheInuse, ITERS * NT, NT);
	cr_assert_leq(end.MCacheSys, peak.MCacheSys + 256 * 1024, "MCacheSys grew from %" PRIu64 " to %" PRIu64 " B",
		      peak.MCacheSys, end.MCacheSys);
	cr_assert_leq(end.HeapSys, warm.HeapSys + 16 * MiB,
		      "HeapSys grew from %" PRIu64 " to %" PRIu64 " MiB over %d dead threads", warm.HeapSys / MiB,
		      end.HeapSys / MiB, (ITERS - WARM) * NT);
	/* Free the rest: the count returns to the start (minus glibc noise). */
	for (unsigned it = 0; it < ITERS; it++)
		for (unsigned i = 0; i < NT; i++)
			for (unsigned k = 0; k < arg[it][i].nkept; k++)
				free(arg[it][i].kept[k].p);
	cr_assert_eq(sa_check_heap(), 0);
}

/* ---- 4. B frees what A allocated, then A allocates again ------------------ */

struct freer_arg {
	void **p;
	size_t n;
};

static void *freer(void *arg)
{
	struct freer_arg *f = arg;
	for (size_t i = 0; i < f->n; i++)
		free(f->p[i]);
	return NULL;
}

static void remote_free_reuse(size_t size)
{
	enum { ROUNDS = 10 };
	size_t n = (size_t)(8 * MiB) / size;
	if (n < 200)
		n = 200;
	void **p = malloc(n * sizeof *p);
	cr_assert_not_null(p);
	uint64_t heapsys[ROUNDS];
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < n; i++) {
			p[i] = malloc(size);
			cr_assert_not_null(p[i]);
			memset(p[i], (int)(r + 1), size);
		}
		heapsys[r] = tu_stats().HeapSys;
		struct freer_arg f = {p, n};
		pthread_t t;
		xpthread_create(&t, freer, &f);
		pthread_join(t, NULL);
	}
	free(p);
	cr_assert_leq(heapsys[ROUNDS - 1], heapsys[0] + 4 * MiB,
		      "size %zu: HeapSys %" PRIu64 " MiB after round 1, %" PRIu64
		      " MiB after round %d: blocks freed by another thread are not reused "
		      "(each round allocates %zu MiB)",
		      size, heapsys[0] / MiB, heapsys[ROUNDS - 1] / MiB, ROUNDS, n * size / (size_t)MiB);
	cr_assert_eq(sa_check_heap(), 0);
}

Test(threads, remote_free_then_reuse_tiny, .timeout = 120) { remote_free_reuse(8); }
Test(threads, remote_free_then_reuse_48, .timeout = 120) { remote_free_reuse(48); }
Test(threads, remote_free_then_reuse_256, .timeout = 120) { remote_free_reuse(256); }
Test(threads, remote_free_then_reuse_3000, .timeout = 120) { remote_free_reuse(3000); }
Test(threads, remote_free_then_reuse_32k, .timeout = 120) { remote_free_reuse(32768); }
Test(threads, remote_free_then_reuse_large, .timeout = 120) { remote_free_reuse(40000); }

/* Mixed: A keeps allocating while B frees concurrently, many times. */
struct mix {
	void *_Atomic box[4096];
	_Atomic int done;
};

static void *mix_freer(void *arg)
{
	struct mix *m = arg;
	while (!atomic_load(&m->done)) {
		for (unsigned i = 0; i < 4096; i++) {
			void *p = atomic_exchange(&m->box[i], NULL);
			free(p);
		}
	}
	for (unsigned i = 0; i < 4096; i++)
		free(atomic_exchange(&m->box[i], NULL));
	return NULL;
}

Test(threads, concurrent_remote_frees_heap_stable, .timeout = 300)
{
	static struct mix m;
	pthread_t t;
	xpthread_create(&t, mix_freer, &m);
	uint64_t rng = 5, sys_warm = 0;
	const unsigned ROUNDS = 12, WARM = 3, PER = 200000;
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < PER; i++) {
			size_t n = tu_rand_size(&rng);
			if (n > 32768)
				n = 32768 + (n & 0xffff);
			void *p = tu_escape(malloc(n));
			cr_assert_not_null(p);
			memset(p, 0x11, n < 64 ? n : 64);
			free(atomic_exchange(&m.box[tu_rand(&rng) % 4096], p));
		}
		if (r == WARM - 1)
			sys_warm = tu_stats().HeapSys;
	}
	uint64_t sys_end = tu_stats().HeapSys;
	atomic_store(&m.done, 1);
	pthread_join(t, NULL);
	cr_assert_leq(sys_end, sys_warm + 16 * MiB, "HeapSys %" PRIu64 " MiB after warm-up, %" PRIu64 " MiB at the end",
		      sys_warm / MiB, sys_end / MiB);
	cr_assert_eq(sa_check_heap(), 0);
}

/*
 * A remote free of a span's last object, whose span its owner then gives
 * back to the heap, which hands the mspan out again at once (fixalloc
 * reuses the last record freed).  The freer must be done with the span
 * before the release goes on: under ThreadSanitizer the test fails when
 * remote_free touches the span after the OR that publishes the free
 * without the pin that orders those accesses before the release (the
 * block goes to the freer with release and acquire, but the word that
 * tells the owner the free is done is relaxed, which orders nothing).
 * freer_cache: the freer has an mcache of its own before the free (else
 * the production build makes it one at that first free, remote_free, and
 * the debug build frees without one, pinning in orphan_pins).
 */
struct lastfree {
	void *_Atomic block;
	_Atomic int freed, reused;
	bool freer_cache;
};

static void *lastfree_owner(void *arg)
{
	struct lastfree *lf = arg;
	atomic_store_explicit(&lf->block, tu_escape(malloc(20000)), memory_order_release);
	while (!atomic_load_explicit(&lf->freed, memory_order_relaxed))
		sched_yield();
	return NULL; /* the exit flush sweeps the span, finds it empty, releases it */
}

static void *lastfree_freer(void *arg)
{
	struct lastfree *lf = arg;
	if (lf->freer_cache)
		free(tu_escape(malloc(100)));
	void *p;
	while (!(p = atomic_load_explicit(&lf->block, memory_order_acquire)))
		sched_yield();
	free(p);
	atomic_store_explicit(&lf->freed, 1, memory_order_relaxed);
	while (!atomic_load_explicit(&lf->reused, memory_order_relaxed))
		sched_yield();
	return NULL;
}

static void remote_free_last_object(bool freer_cache)
{
	for (int round = 0; round < 20; round++) {
		struct lastfree lf = {.freer_cache = freer_cache};
		pthread_t owner, freer;
		xpthread_create(&freer, lastfree_freer, &lf);
		xpthread_create(&owner, lastfree_owner, &lf);
		pthread_join(owner, NULL);
		/* A new span record: the one just released. */
		void *big = tu_escape(malloc(1 << 20));
		cr_assert_not_null(big);
		memset(big, 0x5a, 4096);
		atomic_store_explicit(&lf.reused, 1, memory_order_relaxed);
		pthread_join(freer, NULL);
		free(big);
	}
	cr_assert_eq(sa_check_heap(), 0);
}

Test(threads, remote_free_of_last_object_then_release, .timeout = 120) { remote_free_last_object(true); }
Test(threads, remote_free_of_last_object_without_cache, .timeout = 120) { remote_free_last_object(false); }

/* ---- 5. allocation from thread-specific-data destructors ----------------- */

/*
 * glibc runs the TSD destructors in key order, up to 4 rounds while values
 * are set again.  Our key is made after spanalloc's, so our destructor
 * runs after the thread's cache was given back: it frees a block of the
 * thread (free without a cache), mallocs (a new cache after the retire)
 * and sets the key again a few times.  None of it may crash, lose a
 * block, or leak a cache per thread.
 */
static pthread_key_t late_key;
static __thread int late_rounds;
static __thread void *late_block;

static void late_destructor(void *v)
{
	if (tu_check(v, 100, 4242) != 100)
		abort();
	free(v);
	if (late_block) {
		free(late_block);
		late_block = NULL;
	}
	if (late_rounds++ < 2) {
		void *p = malloc(100);
		if (!p)
			abort();
		tu_fill(p, 100, 4242);
		pthread_setspecific(late_key, p);
	}
}

static void *late_thread(void *arg)
{
	void *p = malloc(100);
	if (!p)
		return (void *)1;
	tu_fill(p, 100, 4242);
	late_block = tu_escape(malloc(3000));
	pthread_setspecific(late_key, p);
	for (int i = 0; i < 200; i++)
		free(tu_escape(malloc(16 + (size_t)i * 8)));
	return arg;
}

Test(threads, tsd_destructors_that_allocate, .timeout = 120)
{
	enum { ITERS = 300, WARM = 20, NT = 2 };
	free(tu_escape(malloc(1))); /* spanalloc's key exists before ours */
	cr_assert_eq(pthread_key_create(&late_key, late_destructor), 0);
	struct sa_memstats warm = {0};
	for (unsigned it = 0; it < ITERS; it++) {
		pthread_t t[NT];
		for (unsigned i = 0; i < NT; i++)
			xpthread_create(&t[i], late_thread, NULL);
		for (unsigned i = 0; i < NT; i++) {
			void *ret = (void *)1;
			pthread_join(t[i], &ret);
			cr_assert_null(ret);
		}
		if (it == WARM - 1)
			warm = tu_stats();
	}
	struct sa_memstats end = tu_stats();
	cr_assert_eq(sa_check_heap(), 0);
	cr_assert_leq(llabs(diff_u64(end.HeapObjects, warm.HeapObjects)), LIBC_SLACK_OBJECTS,
		      "HeapObjects %" PRIu64 " after warm-up, %" PRIu64 " after %d more threads "
		      "whose TSD destructors allocate and free",
		      warm.HeapObjects, end.HeapObjects, (ITERS - WARM) * NT);
	cr_assert_leq(end.MCacheInuse, warm.MCacheInuse + 2 * (warm.MCacheInuse + 1),
		      "MCacheInuse grew from %" PRIu64 " to %" PRIu64 " B over %d threads: caches "
		      "made in late TSD destructors leak",
		      warm.MCacheInuse, end.MCacheInuse, (ITERS - WARM) * NT);
	cr_assert_leq(end.HeapSys, warm.HeapSys + 8 * MiB,
		      "HeapSys grew from %" PRIu64 " to %" PRIu64 " MiB over %d threads", warm.HeapSys / MiB,
		      end.HeapSys / MiB, (ITERS - WARM) * NT);
	pthread_key_delete(late_key);
}

/* ---- 6. frees without a cache into spans a live thread owns --------------- */

/*
 * A TSD destructor that runs after the thread's cache was retired (our key
 * is made after spanalloc's) frees blocks that another thread, alive and
 * allocating, handed over: small ones in spans that thread's cache owns
 * (remote frees with no cache: the orphan pins, counted in the orphan
 * counters), large ones, and with tiny=1 (production build) tiny ones,
 * whose emptied blocks go back the same way.  The frees must all be
 * counted, the owner must get the blocks back, and the heap must check.
 * The destructor allocates nothing (that would make the thread a new
 * cache) and reports by a string literal.  sa_check_heap cannot compare
 * the bitmaps with the counters here (the owner thread goes on
 * allocating, and in the production build Criterion's own thread has a
 * cache too), hence the checks of the stats and of HeapInuse.
 */
#define ORPHAN_SMALL 400 /* of each size below */
#define ORPHAN_TINY 300
#define ORPHAN_LARGE 2
static const size_t orphan_sizes[] = {208, 1536};
#define ORPHAN_NSIZES (sizeof orphan_sizes / sizeof orphan_sizes[0])
#define ORPHAN_BLOCKS (ORPHAN_NSIZES * ORPHAN_SMALL + ORPHAN_TINY + ORPHAN_LARGE)

struct orphan_batch {
	struct blk b[ORPHAN_BLOCKS];
	unsigned n;
};

struct orphan_owner {
	struct orphan_batch batch;
	_Atomic unsigned phase; /* written by main: which step the owner is to take */
	_Atomic unsigned done;  /* written by the owner: the last step it finished */
	_Atomic int stop;
	unsigned reused[ORPHAN_NSIZES]; /* blocks of the last batch handed out again */
	const char *why;
};

static pthread_key_t orphan_key;
static const char *_Atomic orphan_why;
static _Atomic unsigned orphan_freed;

static void orphan_destructor(void *v)
{
	struct orphan_batch *batch = v;
	for (unsigned i = 0; i < batch->n; i++) {
		struct blk *b = &batch->b[i];
		if (tu_check(b->p, b->len, b->id) != b->len)
			atomic_store(&orphan_why, "a handed-over block was corrupted before its free");
		free(b->p);
		atomic_fetch_add(&orphan_freed, 1);
	}
}

static void *orphan_freer(void *arg)
{
	/* A cache of its own, so that spanalloc's destructor retires it. */
	free(tu_escape(malloc(100)));
	pthread_setspecific(orphan_key, arg);
	return NULL;
}

static size_t orphan_size(unsigned i)
{
	if (i < ORPHAN_NSIZES * ORPHAN_SMALL)
		return orphan_sizes[i / ORPHAN_SMALL];
	if (i < ORPHAN_NSIZES * ORPHAN_SMALL + ORPHAN_TINY)
		return 1 + i % 8;
	return 100000 + (size_t)(i % 2) * 40000;
}

/* Step 2r + 1: the batch to hand over; 2r + 2: the same small sizes again,
 * counting the addresses of the batch handed out again, checked and freed. */
static const char *orphan_step(struct orphan_owner *o, unsigned step, uint64_t *id)
{
	struct orphan_batch *batch = &o->batch;
	if (step % 2) {
		for (unsigned i = 0; i < ORPHAN_BLOCKS; i++) {
			struct blk *b = &batch->b[i];
			b->len = orphan_size(i);
			b->id = (*id)++;
			if (!(b->p = malloc(b->len)))
				return "malloc of the batch failed";
			tu_fill(b->p, b->len, b->id);
		}
		batch->n = ORPHAN_BLOCKS;
		return NULL;
	}
	static struct blk again[ORPHAN_SMALL];
	for (unsigned k = 0; k < ORPHAN_NSIZES; k++) {
		const struct blk *old = &batch->b[k * ORPHAN_SMALL];
		uintptr_t freed[ORPHAN_SMALL];
		for (unsigned i = 0; i < ORPHAN_SMALL; i++)
			freed[i] = (uintptr_t)old[i].p;
		qsort(freed, ORPHAN_SMALL, sizeof freed[0], tu_cmp_ptr);
		o->reused[k] = 0;
		for (unsigned i = 0; i < ORPHAN_SMALL; i++) {
			struct blk *b = &again[i];
			b->len = orphan_sizes[k];
			b->id = (*id)++;
			if (!(b->p = malloc(b->len)))
				return "malloc after the orphan frees failed";
			tu_fill(b->p, b->len, b->id);
			uintptr_t key = (uintptr_t)b->p;
			o->reused[k] += bsearch(&key, freed, ORPHAN_SMALL, sizeof freed[0], tu_cmp_ptr) != NULL;
		}
		for (unsigned i = 0; i < ORPHAN_SMALL; i++) {
			if (tu_check(again[i].p, again[i].len, again[i].id) != again[i].len)
				return "a block allocated after the orphan frees was corrupted";
			free(again[i].p);
		}
	}
	batch->n = 0;
	return NULL;
}

static void *orphan_owner_thread(void *arg)
{
	struct orphan_owner *o = arg;
	uint64_t rng = 99, id = 1, churn_id = (uint64_t)1 << 40;
	struct blk churn[64] = {{0}};
	unsigned last = 0;
	while (!atomic_load(&o->stop)) {
		unsigned step = atomic_load(&o->phase);
		if (step != last) {
			/* None of its own live after an even step, when main reads
			 * the stats. */
			for (unsigned i = 0; i < 64; i++) {
				free(churn[i].p);
				churn[i].p = NULL;
			}
			if ((o->why = orphan_step(o, step, &id)) != NULL)
				break;
			last = step;
			atomic_store(&o->done, step);
			continue;
		}
		if (last % 2 == 0) {
			sched_yield(); /* main reads the stats now and then */
			continue;
		}
		/* While a freer runs: mallocs and frees of its own (other
		 * classes), as its destructor frees into this thread's spans. */
		struct blk *b = &churn[tu_rand(&rng) % 64];
		if (b->p) {
			if (tu_check(b->p, b->len, b->id) != b->len) {
				o->why = "a block of the owner's own was corrupted";
				break;
			}
			free(b->p);
		}
		b->len = 24 + (size_t)(tu_rand(&rng) % 3) * 400;
		b->id = churn_id++;
		if (!(b->p = malloc(b->len))) {
			o->why = "malloc of the owner's own failed";
			break;
		}
		tu_fill(b->p, b->len, b->id);
	}
	for (unsigned i = 0; i < 64; i++)
		free(churn[i].p);
	atomic_store(&o->done, (unsigned)-1);
	return NULL;
}

static void orphan_wait(struct orphan_owner *o, unsigned step)
{
	unsigned d;
	while ((d = atomic_load(&o->done)) != step && d != (unsigned)-1)
		sched_yield();
	cr_assert_eq(d, step, "the owner stopped: %s", o->why ? o->why : "?");
}

Test(threads, tsd_destructor_frees_into_a_live_threads_spans, .timeout = 120)
{
	enum { ROUNDS = 12, WARM = 2 };
	static struct orphan_owner o;
	free(tu_escape(malloc(1))); /* spanalloc's key exists before ours */
	cr_assert_eq(pthread_key_create(&orphan_key, orphan_destructor), 0);
#ifndef SA_DEBUG /* (the debug build packs nothing) */
	opts.tiny = 1;
#endif
	pthread_t owner;
	xpthread_create(&owner, orphan_owner_thread, &o);
	struct sa_memstats warm = {0};
	cache_counters orphan0 = {0};
	unsigned freed0 = 0;
	for (unsigned r = 0; r < ROUNDS; r++) {
		if (r == WARM) {
			warm = tu_stats();
			orphan0 = orphan;
			freed0 = atomic_load(&orphan_freed);
		}
		atomic_store(&o.phase, 2 * r + 1);
		orphan_wait(&o, 2 * r + 1);
		pthread_t freer;
		xpthread_create(&freer, orphan_freer, &o.batch);
		pthread_join(freer, NULL);
		cr_assert_null(atomic_load(&orphan_why), "%s", atomic_load(&orphan_why));
		atomic_store(&o.phase, 2 * r + 2);
		orphan_wait(&o, 2 * r + 2);
#ifndef SA_DEBUG /* (the debug build's quarantine holds freed blocks back) */
		for (unsigned k = 0; k < ORPHAN_NSIZES; k++)
			cr_assert_geq(o.reused[k], ORPHAN_SMALL / 2,
				      "round %u: %u of %d blocks of %zu B freed without a cache came back to "
				      "their owner",
				      r, o.reused[k], ORPHAN_SMALL, orphan_sizes[k]);
#endif
	}
	atomic_store(&o.stop, 1);
	pthread_join(owner, NULL);
	cr_assert_null(o.why, "%s", o.why);
	opts.tiny = 0;
	struct sa_memstats end = tu_stats();
	unsigned freed = atomic_load(&orphan_freed) - freed0;
	cr_assert_eq(freed, (ROUNDS - WARM) * ORPHAN_BLOCKS);
	/* Every class the batch used: as many frees as mallocs since the
	 * warm-up, and the frees include the destructor's. */
	unsigned cls[] = {tu_stats_class(orphan_sizes[0]), tu_stats_class(orphan_sizes[1]), 0,
#ifndef SA_DEBUG
			  tu_stats_class(16)
#endif
	};
	for (unsigned i = 0; i < sizeof cls / sizeof cls[0]; i++) {
		uint64_t m = end.BySize[cls[i]].Mallocs - warm.BySize[cls[i]].Mallocs;
		uint64_t f = end.BySize[cls[i]].Frees - warm.BySize[cls[i]].Frees;
		cr_assert_eq(m, f, "class %u: %" PRIu64 " mallocs and %" PRIu64 " frees since the warm-up", cls[i], m,
			     f);
	}
	cr_assert_leq(llabs(diff_u64(end.HeapObjects, warm.HeapObjects)), LIBC_SLACK_OBJECTS,
		      "HeapObjects %" PRIu64 " after warm-up, %" PRIu64 " after frees without a cache",
		      warm.HeapObjects, end.HeapObjects);
	cr_assert_leq(llabs(diff_u64(end.HeapAlloc, warm.HeapAlloc)), 64 * 1024,
		      "HeapAlloc %" PRIu64 " after warm-up, %" PRIu64 " after frees without a cache", warm.HeapAlloc,
		      end.HeapAlloc);
	/* Each round hands over some 800 KiB: pages that stay in use for them
	 * are frees lost (the debug build's quarantine holds less). */
	cr_assert_leq(end.HeapInuse, warm.HeapInuse + 2 * MiB,
		      "HeapInuse grew from %" PRIu64 " to %" PRIu64 " KiB over %d rounds of frees without a cache",
		      warm.HeapInuse / 1024, end.HeapInuse / 1024, ROUNDS - WARM);
	/* The frees took the path without a cache (counted in orphan). */
	for (unsigned k = 0; k < ORPHAN_NSIZES; k++) {
		unsigned c = tu_stats_class(orphan_sizes[k]);
		cr_assert_geq(orphan.nfree[c] - orphan0.nfree[c], (ROUNDS - WARM) * ORPHAN_SMALL,
			      "class %u: frees without a cache not counted as such", c);
	}
	cr_assert_geq(orphan.nfree[0] - orphan0.nfree[0], (ROUNDS - WARM) * ORPHAN_LARGE);
#ifndef SA_DEBUG
	cr_assert_geq(orphan.tinyFrees - orphan0.tinyFrees, (ROUNDS - WARM) * ORPHAN_TINY);
	cr_assert_gt(orphan.tinyBlocksFree - orphan0.tinyBlocksFree, 0);
#endif
	cr_assert_eq(end.HeapObjects, end.Mallocs - end.Frees);
	cr_assert_eq(sa_check_heap(), 0);
	pthread_key_delete(orphan_key);
}
