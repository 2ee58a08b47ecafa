/*
 * Regression tests of the debug build's bookkeeping (issue 8): blocks
 * over 4 GiB keep their size, exited threads give their quarantine ring
 * back, reports are printed with no allocator lock held, and
 * sa_check_heap checks the blocks of every thread's spans.  The first two
 * run against the production build too (what they test holds there).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#ifdef SA_DEBUG
#include "debug/guarded.h"
#endif
#include "spanalloc.h"

/* ---- blocks over 4 GiB (only a few pages are touched) ---------------------- */

Test(debug, usable_size_and_realloc_of_a_block_over_4gib)
{
	size_t n = (5ull << 30) + 4096; /* 5 GiB: 1 GiB + 4 KiB in 32 bits */
	unsigned char *p = malloc(n);
	cr_assert_not_null(p, "malloc(5 GiB) (needs overcommit)");
	size_t u = malloc_usable_size(p);
	if (SA_DEBUG_BUILD)
		cr_assert_eq(u, n, "malloc_usable_size %zu, want the requested %zu", u, n);
	else
		cr_assert_geq(u, n);
	p[0] = 'a';
	p[(1u << 30) + 4096] = 'b'; /* past the size cut to 32 bits */
	p[(2u << 20) - 1] = 'c';
	p[n - 1] = 'z';
	/* Shrink to 2 MiB: all of it must be copied (a size cut to 32 bits
	 * would copy 1 GiB + 4 KiB... and fail the canary check). */
	unsigned char *q = realloc(p, 2u << 20);
	cr_assert_not_null(q);
	cr_assert_eq(q[0], 'a');
	cr_assert_eq(q[(2u << 20) - 1], 'c', "realloc lost the end of the copied bytes");
	free(q);

	/* 4 GiB + 4 KiB: 4 KiB in 32 bits.  realloc to 1 MiB must copy 1 MiB. */
	n = (4ull << 30) + 4096;
	p = malloc(n);
	cr_assert_not_null(p);
	if (SA_DEBUG_BUILD)
		cr_assert_eq(malloc_usable_size(p), n);
	p[0] = 'A';
	p[(1u << 20) - 1] = 'Z';
	p[n - 1] = 'E';
	q = realloc(p, 1u << 20);
	cr_assert_not_null(q);
	cr_assert_eq(q[0], 'A');
	cr_assert_eq(q[(1u << 20) - 1], 'Z', "realloc copied only part of the block");
	free(q);
}

/* ---- exited threads give back their quarantine ring ------------------------ */

static size_t vm_size_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void *volatile sink;

static void *short_lived(void *arg)
{
	(void)arg;
	sink = malloc(64);
	free(sink); /* the free makes the thread's quarantine */
	sink = malloc(100000);
	free(sink);
	return NULL;
}

static void run_threads(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		cr_assert_eq(pthread_create(&t, NULL, short_lived, NULL), 0);
		pthread_join(t, NULL);
	}
}

Test(debug, thousands_of_short_threads_keep_the_address_space_bounded)
{
	run_threads(100); /* warm up: stacks cached, metadata chunks made */
	size_t before = vm_size_kb();
	cr_assert_gt(before, 0);
	run_threads(3000);
	size_t after = vm_size_kb();
	/* A leaked 512 KiB ring per thread would be 1.5 GiB. */
	cr_assert_lt(after, before + 128 * 1024, "VmSize grew from %zu kB to %zu kB over 3000 threads", before, after);
}

#ifdef SA_DEBUG

/* ---- no lock is held while a report is printed ----------------------------- */

/*
 * The reports go to a pipe nobody reads, filled up first: the thread that
 * reports blocks in write(2), in the middle of printing its report.  Then
 * every allocator lock must be free.
 */
static int pipefd[2];

static void block_reports(void)
{
	opts.abort_on_error = 0;
	opts.quarantine_kb = 0;
	opts.guarded_slots = 0; /* the bugs below must reach the quarantine, not fault */
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe(pipefd), 0);
	fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
	char junk[4096] = {0};
	while (write(pipefd[1], junk, sizeof junk) > 0) {
	}
	fcntl(pipefd[1], F_SETFL, 0);
	report_fd = pipefd[1];
}

/* (nothing here allocates before the pipe is closed: a lock held by the
 * reporter would deadlock the test instead of failing it) */
static void assert_no_lock_while_reporting(unsigned before, pthread_t reporter)
{
	for (int i = 0; i < 10000 && __atomic_load_n(&reports, __ATOMIC_ACQUIRE) == before; i++)
		usleep(1000);
	bool reported = __atomic_load_n(&reports, __ATOMIC_ACQUIRE) > before;
	usleep(50 * 1000); /* the reporter is blocked in write(2) */
	uint32_t held[NUM_SPAN_CLASSES + 1];
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++)
		held[i] = __atomic_load_n(&mcentral_[i].lock.state, __ATOMIC_ACQUIRE);
	held[NUM_SPAN_CLASSES] = __atomic_load_n(&mheap_.lock.state, __ATOMIC_ACQUIRE);
	close(pipefd[0]); /* the reporter's write fails (EPIPE) and it goes on */
	pthread_join(reporter, NULL);
	cr_assert(reported, "nothing was reported");
	unsigned first = 0, n = 0;
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++)
		if (held[i] && !n++)
			first = i;
	cr_expect_eq(n, 0, "%u class locks (the first: class %u) were held while a report was printed", n, first);
	cr_expect_eq(held[NUM_SPAN_CLASSES], 0, "the heap lock was held while a report was printed");
}

/* A write after free found when the exiting thread's spans go back to
 * their mcentral (a transfer, under the class lock). */
static void *free_then_write_and_exit(void *arg)
{
	(void)arg;
	static char *volatile p;
	p = malloc(100);
	free(p);
	((volatile char *)p)[10] = 'x'; /* bug */
	return NULL;
}

/* Run reporter in a thread of its own, its report blocked in write(2). */
static void no_lock_while(void *(*reporter)(void *))
{
	free(malloc(1));
	block_reports();
	unsigned before = reports;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, reporter, NULL), 0);
	assert_no_lock_while_reporting(before, t);
}

Test(debug, no_lock_held_while_a_transfer_reports) { no_lock_while(free_then_write_and_exit); }

static void *overflow_then_check_heap(void *arg)
{
	(void)arg;
	char *volatile p = malloc(100);
	((volatile char *)p)[100] = 'x'; /* bug: one byte past the block, into its canary */
	sa_check_heap();
	p[100] = (char)CANARY;
	free(p);
	return NULL;
}

Test(debug, no_lock_held_while_sa_check_heap_reports) { no_lock_while(overflow_then_check_heap); }

/* Reports go to a new unlinked file from now on; its descriptor. */
static int reports_to_file(void)
{
	char name[] = "/tmp/spanalloc-test-debug.XXXXXX";
	int fd = mkstemp(name);
	cr_assert_geq(fd, 0);
	unlink(name);
	report_fd = fd;
	return fd;
}

/* What the reports wrote to fd so far, NUL-terminated in buf. */
static void read_reports(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = 0;
}

/* ---- sa_check_heap sees the blocks of other threads' spans ------------------ */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;
static char *volatile freed_by_other;

static void *free_and_wait(void *arg)
{
	(void)arg;
	freed_by_other = malloc(200);
	free(freed_by_other); /* into this thread's quarantine, in this thread's span */
	pthread_mutex_lock(&mu);
	stage = 1;
	pthread_cond_broadcast(&cv);
	while (stage != 2)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

Test(debug, sa_check_heap_checks_blocks_of_other_threads)
{
	opts.abort_on_error = 0;
	opts.guarded_slots = 0; /* the write after free must not fault */
	int fd = reports_to_file();
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, free_and_wait, NULL), 0);
	pthread_mutex_lock(&mu);
	while (stage != 1)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	((volatile char *)freed_by_other)[20] = 'x'; /* bug: a write after free, the block never reused */
	size_t bad = sa_check_heap();
	freed_by_other[20] = (char)FREE_POISON;
	pthread_mutex_lock(&mu);
	stage = 2;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);

	char buf[8192];
	read_reports(fd, buf, sizeof buf);
	char want[128];
	snprintf(want, sizeof want, "write after free to the block at %p in sa_check_heap()", (void *)freed_by_other);
	cr_assert_geq(bad, 1, "sa_check_heap found nothing");
	cr_assert(strstr(buf, want), "the report lacks \"%s\":\n%s", want, buf);
	cr_assert(strstr(buf, "freed at:"), "the report lacks the free stack:\n%s", buf);
}

/* ---- sa_check_heap reads the guarded blocks' canaries ------------------------ */

Test(debug, sa_check_heap_checks_guarded_blocks_canaries)
{
	opts.abort_on_error = 0;
	int fd = reports_to_file();
	guarded_countdown = 1; /* this thread's next block is sampled */
	/* 16-byte aligned against the guard page: 15 bytes of slack, canary. */
	char *volatile p = malloc(17);
	cr_assert(guarded_owns((uintptr_t)p), "the block did not go to the guarded pool");
	cr_assert_eq(sa_check_heap(), 0, "sa_check_heap found a problem in a correct heap");
	((volatile char *)p)[17] = 'x'; /* bug: one byte past the block, into the slack */
	size_t bad = sa_check_heap();
	p[17] = (char)CANARY;
	free(p);
	char buf[8192];
	read_reports(fd, buf, sizeof buf);
	char want[128];
	snprintf(want, sizeof want, "heap buffer overflow past the block at %p in sa_check_heap()", (void *)p);
	cr_assert_geq(bad, 1, "sa_check_heap found nothing");
	cr_assert(strstr(buf, want), "the report lacks \"%s\":\n%s", want, buf);
}

#endif

/* ---- lock ranks (debug build: debug/lockrank.c) ---------------------------- */

#ifdef SA_DEBUG
#include <sys/wait.h>

/*
 * Run bad() in a child with stderr to a pipe: it must die by SIGABRT with
 * a report saying want1 and want2 (for a lock order: naming both locks).
 * (Delete the check in lockrank_acquire and the child deadlocks or exits:
 * the test fails.)
 */
static void expect_fatal(void (*bad)(void), const char *want1, const char *want2)
{
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fd[1], 2);
		alarm(10); /* a deadlock instead of a report: SIGALRM */
		bad();
		_exit(0);
	}
	close(fd[1]);
	char out[1024];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof out - 1 && (r = read(fd[0], out + n, sizeof out - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(fd[0]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "child did not abort (status %#x): %s", st, out);
	cr_assert(strstr(out, want1) && strstr(out, want2), "the report does not say \"%s\" and \"%s\": %s", want1,
		  want2, out);
}

static void heap_then_central(void)
{
	lock(&mheap_.lock);
	lock(&mcentral_[1].lock); /* out of order: the heap lock is innermost */
}

static void centrals_backwards(void)
{
	lock(&mcentral_[5].lock);
	lock(&mcentral_[2].lock); /* several centrals only in class order */
}

Test(debug, lock_taken_out_of_order_is_reported)
{
	free(malloc(1)); /* initialized */
	expect_fatal(heap_then_central, "lock order: taking mcentral.lock", "holding mheap.lock");
	expect_fatal(centrals_backwards, "lock order: taking mcentral.lock (central.c) of class 2",
		     "holding mcentral.lock (central.c) of class 5");
}

/* What the fork handler and sa_check_heap hold: every central, then the
 * heap lock.  Each one is known held until it is released. */
Test(debug, every_central_held_at_once_is_known_held)
{
	free(malloc(1));
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++)
		lock(&mcentral_[i].lock);
	lock(&mheap_.lock);
	for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++)
		cr_assert(lock_held(&mcentral_[i].lock), "class %u's lock not known held among all", i);
	unlock(&mheap_.lock);
	for (unsigned i = NUM_SPAN_CLASSES; i-- > 0;) {
		unlock(&mcentral_[i].lock);
		cr_assert(!lock_held(&mcentral_[i].lock), "class %u's lock known held once released", i);
		cr_assert(i == 0 || lock_held(&mcentral_[i - 1].lock), "class %u's lock forgotten", i - 1);
	}
	cr_assert(no_lock_held());
}

static void central_released_unheld(void)
{
	lock(&mcentral_[2].lock);
	lock(&mcentral_[4].lock);
	unlock(&mcentral_[4].lock);
	unlock(&mcentral_[3].lock); /* never taken */
}

/* A span's bitmaps are its owner's or, under its class lock, anyone's:
 * sweeping a span one neither owns nor has the class lock of is a bug. */
static void sweep_without_the_class_lock(void)
{
	mspan *s = heap_alloc_span(1, 1, 4); /* owned by nobody yet */
	span_sweep(s);
}

Test(debug, central_lock_rules_are_checked)
{
	free(malloc(1));
	expect_fatal(central_released_unheld, "releasing a lock not held", "mcentral.lock (central.c) of class 3");
	expect_fatal(sweep_without_the_class_lock, "internal error", "span_owned(s)");
}

Test(debug, locks_in_order_pass_and_are_held)
{
	free(malloc(1));
	lock(&mcentral_[1].lock);
	lock(&mcentral_[3].lock);
	lock(&mheap_.lock);
	cr_assert(lock_held(&mheap_.lock) && lock_held(&mcentral_[3].lock));
	unlock(&mheap_.lock);
	unlock(&mcentral_[3].lock);
	unlock(&mcentral_[1].lock);
	cr_assert(!lock_held(&mheap_.lock));
}
#endif
