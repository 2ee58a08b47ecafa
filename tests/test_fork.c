/*
 * test_fork: fork in a multithreaded program leaves a usable heap in the
 * child (locks held by other threads at the fork are not left locked).
 *
 * Busy threads allocate and free all the time; the main thread (or another
 * thread) forks many times.  Each child allocates and frees a lot in every
 * tier, frees blocks inherited from the parent, starts a thread of its
 * own, checks the heap and exits 0.  A child that deadlocks is killed by
 * alarm() and shows up as a signal.  Children leave with _exit so that no
 * atexit handler of the test framework runs in them.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spanalloc.h"
#include "testutil.h"

static _Atomic int stop_busy;

/* Allocate and free all the time, in every tier, with a few live blocks. */
static void *busy(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 7919 + 1;
	void *live[64] = {0};
	while (!atomic_load_explicit(&stop_busy, memory_order_relaxed)) {
		unsigned i = (unsigned)(tu_rand(&rng) % 64);
		free(live[i]);
		size_t n = tu_rand_size(&rng);
		live[i] = tu_escape(malloc(n));
		if (live[i])
			memset(live[i], 0x77, n < 128 ? n : 128);
		if (tu_rand(&rng) % 64 == 0) {
			void *q = tu_escape(calloc(1, 70000));
			free(q);
		}
	}
	for (unsigned i = 0; i < 64; i++)
		free(live[i]);
	return NULL;
}

static void *child_thread(void *arg)
{
	uint64_t rng = (uintptr_t)arg;
	for (int i = 0; i < 2000; i++) {
		size_t n = tu_rand_size(&rng);
		void *p = tu_escape(malloc(n));
		if (!p)
			return (void *)1;
		memset(p, 1, n);
		free(p);
	}
	return NULL;
}

/* Inherited from the parent: allocated before fork, freed by the child. */
#define INHERIT 256
static struct {
	void *p;
	size_t len;
} inherited[INHERIT];

/* The child's work: returns the exit code (0 = fine). */
static int child_work(unsigned seed)
{
	alarm(60); /* a deadlocked child dies of SIGALRM */
	uint64_t rng = seed * 1000003ULL + 17;
	for (unsigned i = 0; i < INHERIT; i++) {
		if (tu_check(inherited[i].p, inherited[i].len, i) != inherited[i].len)
			return 10;
		free(inherited[i].p);
	}
	enum { SLOTS = 512 };
	static void *slot[SLOTS];
	static size_t len[SLOTS];
	for (int op = 0; op < 8000; op++) {
		unsigned i = (unsigned)(tu_rand(&rng) % SLOTS);
		if (slot[i]) {
			if (tu_check(slot[i], len[i], i) != len[i])
				return 11;
			free(slot[i]);
			slot[i] = NULL;
		} else {
			len[i] = tu_rand_size(&rng);
			slot[i] = (op & 1) ? malloc(len[i]) : sa_calloc(1, len[i]);
			if (!slot[i])
				return 12;
			tu_fill(slot[i], len[i], i);
		}
	}
	/* aligned, huge-aligned and large allocations */
	for (size_t al = 8; al <= ((size_t)2 << 20); al <<= 1) {
		void *p = NULL;
		if (posix_memalign(&p, al, 100) != 0 || (uintptr_t)p % al)
			return 13;
		tu_escape(p);
		free(p);
	}
	void *big = tu_escape(malloc((size_t)8 << 20));
	if (!big)
		return 14;
	memset(big, 3, (size_t)8 << 20);
	free(big);
	/* a thread of the child's own */
	pthread_t t;
	void *ret = (void *)1;
	if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)(seed + 1)) != 0)
		return 15;
	pthread_join(t, &ret);
	if (ret != NULL)
		return 16;
	for (unsigned i = 0; i < SLOTS; i++) {
		free(slot[i]);
		slot[i] = NULL;
	}
	if (sa_check_heap() != 0)
		return 17;
	struct sa_memstats m;
	sa_read_memstats(&m);
	if (m.HeapObjects != m.Mallocs - m.Frees)
		return 18;
	return 0;
}

static void check_child(pid_t pid, int k)
{
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		cr_assert_fail("fork %d: child killed by signal %d (%s)%s", k, WTERMSIG(status),
			       strsignal(WTERMSIG(status)),
			       WTERMSIG(status) == SIGALRM ? ": deadlocked after fork" : "");
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "fork %d: child failed with code %d", k, WEXITSTATUS(status));
}

static void make_inherited(void)
{
	uint64_t rng = 99;
	for (unsigned i = 0; i < INHERIT; i++) {
		inherited[i].len = tu_rand_size(&rng);
		inherited[i].p = malloc(inherited[i].len);
		cr_assert_not_null(inherited[i].p);
		tu_fill(inherited[i].p, inherited[i].len, i);
	}
}

static void free_inherited(void)
{
	for (unsigned i = 0; i < INHERIT; i++) {
		cr_assert_eq(tu_check(inherited[i].p, inherited[i].len, i), inherited[i].len,
			     "parent's block changed by a child");
		free(inherited[i].p);
	}
}

#define NBUSY 2

static void start_busy(pthread_t *t)
{
	atomic_store(&stop_busy, 0);
	for (uintptr_t i = 0; i < NBUSY; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, busy, (void *)(i + 1)), 0);
}

static void stop_busy_threads(pthread_t *t)
{
	atomic_store(&stop_busy, 1);
	for (unsigned i = 0; i < NBUSY; i++)
		pthread_join(t[i], NULL);
}

Test(fork, child_of_busy_multithreaded_parent, .timeout = 300)
{
	pthread_t t[NBUSY];
	make_inherited();
	start_busy(t);
	for (int k = 0; k < 30; k++) {
		/* let the busy threads get into the allocator */
		for (volatile int spin = 0; spin < 20000 * (k % 7); spin++)
			;
		pid_t pid = fork();
		cr_assert_neq(pid, -1, "fork failed");
		if (pid == 0)
			_exit(child_work((unsigned)k));
		check_child(pid, k);
	}
	stop_busy_threads(t);
	free_inherited();
	cr_assert_eq(sa_check_heap(), 0, "parent heap after the forks");
}

/* fork from a thread other than main, while main and others allocate. */
struct forker {
	int nforks;
	int failed_at;
	int status;
};

static void *forker_thread(void *arg)
{
	struct forker *f = arg;
	for (int k = 0; k < f->nforks; k++) {
		pid_t pid = fork();
		if (pid < 0) {
			f->failed_at = k;
			f->status = -1;
			return NULL;
		}
		if (pid == 0)
			_exit(child_work((unsigned)k + 100));
		int status = 0;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			f->failed_at = k;
			f->status = status;
			return NULL;
		}
	}
	f->failed_at = -1;
	return NULL;
}

Test(fork, fork_from_a_thread, .timeout = 300)
{
	pthread_t t[NBUSY], ft;
	make_inherited();
	start_busy(t);
	struct forker f = {20, -1, 0};
	cr_assert_eq(pthread_create(&ft, NULL, forker_thread, &f), 0);
	/* main allocates too while the forker forks */
	uint64_t rng = 3;
	for (int i = 0; i < 100000; i++) {
		void *p = tu_escape(malloc(tu_rand_size(&rng)));
		cr_assert_not_null(p);
		free(p);
	}
	pthread_join(ft, NULL);
	stop_busy_threads(t);
	if (f.failed_at >= 0) {
		if (f.status != -1 && WIFSIGNALED(f.status))
			cr_assert_fail("fork %d from a thread: child killed by signal %d (%s)", f.failed_at,
				       WTERMSIG(f.status), strsignal(WTERMSIG(f.status)));
		cr_assert_fail("fork %d from a thread: child status %#x", f.failed_at, f.status);
	}
	free_inherited();
	cr_assert_eq(sa_check_heap(), 0);
}

/* A child that forks again (grandchild) while its own threads allocate. */
Test(fork, nested_fork, .timeout = 300)
{
	pthread_t t[NBUSY];
	make_inherited();
	start_busy(t);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		alarm(120);
		/* only this thread survived: start busy threads again and fork */
		pthread_t t2[NBUSY];
		atomic_store(&stop_busy, 0);
		for (uintptr_t i = 0; i < NBUSY; i++)
			if (pthread_create(&t2[i], NULL, busy, (void *)(i + 10)) != 0)
				_exit(20);
		int rc = 0;
		for (int k = 0; k < 10 && rc == 0; k++) {
			pid_t g = fork();
			if (g < 0)
				_exit(21);
			if (g == 0) {
				/* the grandchild does not free the inherited blocks twice:
				 * child_work frees them in this process image only */
				_exit(child_work((unsigned)k + 200));
			}
			int st = 0;
			if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
				rc = 22;
		}
		atomic_store(&stop_busy, 1);
		for (unsigned i = 0; i < NBUSY; i++)
			pthread_join(t2[i], NULL);
		if (rc == 0)
			rc = child_work(300);
		_exit(rc);
	}
	check_child(pid, 0);
	stop_busy_threads(t);
	free_inherited();
	cr_assert_eq(sa_check_heap(), 0);
}
