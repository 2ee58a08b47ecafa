/*
 * Operations in forked children: fork itself, out of memory under
 * RLIMIT_AS, and the debug build's own checks catching a planted heap bug.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"

/* Wait for the forked child pid (what names it in the log); its status. */
static int wait_child(pid_t pid, const char *what)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	fuzz_log("t%d %s %d exited with status %#x", cur_tid, what, (int)pid, st);
	return st;
}

/* Wait for the forked child pid, which must exit with status 0. */
static void wait_child_ok(pid_t pid, const char *what)
{
	int st = wait_child(pid, what);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fuzz_fail("%s failed (status %#x; its report is above)", what, st);
}

/*
 * Run body(arg) in a forked child, which exits with status 0 when body
 * returns (stdio is flushed first, so that the child does not write the
 * engine's buffered output again).  The child's pid, or -1 when fork
 * failed: the case is skipped.
 */
static pid_t fork_child(void (*body)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		body(arg);
		child_exit(0);
	}
	return pid;
}

/* fork_child, and the child must exit with status 0. */
static void run_child_ok(void (*body)(void *), void *arg, const char *what)
{
	pid_t pid = fork_child(body, arg);
	if (pid >= 0)
		wait_child_ok(pid, what);
}

/*
 * fork(): in the child only this thread lives (the other thread's cache is
 * retired by the library's fork handler); the child checks and frees every
 * block, the heap must then check clean, and the parent's heap is
 * untouched.
 */
static void free_all_in_child(void *arg)
{
	uint8_t how = *(const uint8_t *)arg;
	fuzz_log("t%d forked child: freeing %u blocks", cur_tid, nlive);
	if (how & 1)
		sa_free(sa_malloc(how)); /* allocate first, in the fresh child */
	while (nlive > 0) {
		blk b = live[nlive - 1];
		check_block(&b, "in a forked child");
		nlive--;
		sa_free(b.p);
	}
	if (cache_current())
		cache_flush(cache_current(), false);
	size_t bad = skip_check_heap ? 0 : sa_check_heap();
	if (bad)
		fuzz_fail("forked child: sa_check_heap() found %zu problems", bad);
}

void op_fork(fdp *d)
{
	uint8_t how = fdp_u8(d);
	if (nforks++ >= 2)
		return;
	run_child_ok(free_all_in_child, &how, "forked child");
}

/*
 * Out of memory, in a forked child whose address space is capped
 * (RLIMIT_AS) a few MiB above what it uses: allocations of every tier
 * until they fail.  Each failure must be NULL with errno ENOMEM (0 and
 * the pointer untouched for posix_memalign), a failed realloc must keep
 * the block, and afterwards every block frees and the heap checks clean.
 * Not under ASan, whose shadow memory cannot live under RLIMIT_AS.
 */
static void exhaust_memory_in_child(void *arg)
{
	const uint8_t *a = arg;
	uint8_t how = a[0], room_mib = a[1];
	static void *held[4096];
	unsigned nheld = 0, fails = 0;
	long pages = 0, pagesz = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld", &pages) != 1)
		child_exit(0);
	fclose(f);
	struct rlimit rl;
	rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)pagesz + ((rlim_t)(room_mib % 32) << 20);
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		child_exit(0);
	for (unsigned i = 0; i < 4096 && fails < 64; i++) {
		size_t size;
		switch ((how + i) % 5) {
		case 0: size = 1 + i % 15; break;
		case 1: size = class_to_size[1 + i % (NUM_SIZE_CLASSES - 1)]; break;
		case 2: size = MAX_SMALL_SIZE + 1 + (size_t)(i % 64) * PAGE_SIZE; break;
		case 3: size = ARENA_SIZE + 1; break;
		default: size = (size_t)(1 + i % 8) << 20; break;
		}
		void *p;
		errno = 0;
		int rc = 0, saved = 4242;
		switch (i % 4) {
		case 0: p = sa_malloc(size); break;
		case 1: p = sa_calloc(1, size); break;
		case 2:
			p = (void *)0x5;
			errno = saved;
			rc = sa_posix_memalign(&p, 64, size);
			if (rc) {
				if (rc != ENOMEM || p != (void *)0x5 || errno != saved)
					fuzz_fail("out of memory: posix_memalign = %d, pointer %p, errno %d", rc, p,
						  errno);
				p = NULL;
				errno = ENOMEM;
			}
			break;
		default:
			if (nheld) {
				void *q = sa_realloc(held[nheld - 1], size);
				if (q)
					held[nheld - 1] = q;
				else if (errno != ENOMEM)
					fuzz_fail("out of memory: realloc(%zu) = NULL, errno %d", size, errno);
				else
					fails++;
				continue;
			}
			p = sa_malloc(size);
			break;
		}
		if (!p) {
			if (errno != ENOMEM)
				fuzz_fail("out of memory: allocation of %zu = NULL with errno %d, not ENOMEM", size,
					  errno);
			fails++;
			continue;
		}
		held[nheld++] = p;
	}
	fuzz_log("out of memory: %u blocks held, %u failures", nheld, fails);
	rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
	setrlimit(RLIMIT_AS, &rl);
	while (nheld > 0)
		sa_free(held[--nheld]);
	size_t bad = skip_check_heap ? 0 : sa_check_heap();
	if (bad)
		fuzz_fail("out of memory: sa_check_heap() found %zu problems after freeing everything", bad);
}

void op_oom(fdp *d)
{
	uint8_t a[2];
	a[0] = fdp_u8(d);
	a[1] = fdp_u8(d);
	if (ASAN_BUILD || nooms++ >= 1)
		return;
	run_child_ok(exhaust_memory_in_child, a, "out-of-memory child");
}

/*
 * The debug build's own checks, in a forked child that commits one heap
 * bug: a byte written past the requested size (the canary, at free), one
 * before the block (the redzone, at free), a write to a freed block (the
 * free poison, when the slot is handed out again), a write past a
 * guarded block (the guard page) and a read of a freed one (its pages
 * are gone).  The child must die of SIGABRT with exactly that report,
 * naming the block.  Only in a debug build without ASan: under ASan the
 * debug build leaves the bytes to ASan, which would report first.
 */
#if DEBUG_BUILD && !ASAN_BUILD
#include "debug/debug.h"
#define DEBUG_BUGS 1
#define CHILD_POOL_FULL 7
#else
#define DEBUG_BUGS 0
#endif

static __attribute__((unused)) void abort_with_profile(int sig)
{
	__llvm_profile_write_file();
	signal(sig, SIG_DFL);
	raise(sig);
}

#if DEBUG_BUGS
struct bug_child {
	uint8_t kind;
	uint16_t v;
	size_t size;
	int pfd[2];
};

/* The child of op_debug_bug: commit bug c->kind, which must kill it. */
static void commit_bug_in_child(void *arg)
{
	const struct bug_child *c = arg;
	uint8_t kind = c->kind;
	uint16_t v = c->v;
	size_t size = c->size;
	dup2(c->pfd[1], 2);
	close(c->pfd[0]);
	close(c->pfd[1]);
	report_fd = 2;
	opts.abort_on_error = 1;
	opts.quarantine_kb = 0;
	/* The engine's handler would turn the abort into an exit; a
	 * coverage build writes its profile first. */
	signal(SIGABRT, __llvm_profile_write_file ? abort_with_profile : SIG_DFL);
	debug_guard_init(); /* ahead of the engine's SIGSEGV handler */
	/* Kinds 0-2 test the span blocks' canaries and poison, 3 and 4
	 * the guarded pool: this thread's next blocks are sampled or not. */
	guarded_countdown = kind >= 3 ? 1 : UINT32_MAX;
	volatile uint8_t *p = sa_malloc(size);
	if (!p)
		child_exit(5);
	if (kind >= 3 && !guarded_owns((uintptr_t)p))
		child_exit(CHILD_POOL_FULL); /* every slot holds a live block */
	dprintf(2, "\nspanalloc-fuzz-child: block %#lx\n", (unsigned long)p);
	switch (kind) {
	case 0:
		p[size + v % 15] ^= 0xff;
		sa_free((void *)p);
		break;
	case 1:
		p[-1 - (int)(v % 16)] ^= 0xff;
		sa_free((void *)p);
		break;
	case 2:
		sa_free((void *)p);
		/* Only the first 256 bytes of a freed block hold the poison
		 * (debug.c FREE_FILL_MAX): where stale pointers write. */
		p[v % (size < 256 ? size : 256)] ^= 0xff;
		for (int i = 0; i < 64; i++)
			(void)sa_malloc(size);
		break;
	case 3: p[size] = 1; break;
	default:
		sa_free((void *)p);
		(void)p[v % size];
		break;
	}
	dprintf(2, "spanalloc-fuzz-child: still alive: not reported\n");
	child_exit(9);
}
#endif

void op_debug_bug(fdp *d)
{
	uint8_t kind = fdp_u8(d) % 5;
	uint16_t v = fdp_u16(d);
	if (!DEBUG_BUGS || ndbgbugs++ >= 2)
		return;
#if DEBUG_BUGS
	static const char *const want[] = {"heap buffer overflow past the block at ",
					   "heap buffer underflow before the block at ",
					   "write after free to the block at ", "heap overflow past the block at ",
					   "use after free of the block at "};
	/* Sizes = 1 (mod 16): at least 15 bytes of canary after the block. */
	size_t size = kind >= 3 ? (size_t)16 * (1 + v % 512) : 17 + (size_t)16 * (v % 256);
	/* Kinds 3 and 4 need the guarded pool (guarded.c, made at start-up):
	 * not when the run turned it off. */
	if (kind >= 3 && ((opts.guarded_slots <= 0 && !opts.efence) || opts.sample_rate <= 0))
		return;
	int pfd[2];
	if (pipe(pfd) != 0)
		return;
	struct bug_child c = {kind, v, size, {pfd[0], pfd[1]}};
	pid_t pid = fork_child(commit_bug_in_child, &c);
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	close(pfd[1]);
	static char out[65536];
	size_t n = 0;
	ssize_t r;
	while ((r = read(pfd[0], out + n, sizeof out - 1 - n)) > 0 || (r < 0 && errno == EINTR))
		n += r > 0 ? (size_t)r : 0;
	out[n] = 0;
	close(pfd[0]);
	int st = wait_child(pid, "debug-build bug child");
	fuzz_log("t%d debug-build bug %u (%zu bytes): child status %#x", cur_tid, kind, size, st);
	if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_POOL_FULL)
		return; /* (the model's live blocks hold every slot) */
	const char *b = strstr(out, "spanalloc-fuzz-child: block ");
	unsigned long blockaddr = b ? strtoul(b + strlen("spanalloc-fuzz-child: block "), NULL, 16) : 0;
	char expect[128];
	snprintf(expect, sizeof expect, "%s%#lx", want[kind], blockaddr);
	const char *h = strstr(out, "== spanalloc: ");
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT || !h || strncmp(h + 14, expect, strlen(expect)) ||
	    strstr(h + 1, "== spanalloc: "))
		fuzz_fail("debug build, %s: expected one report '%s' and SIGABRT; child status %#x, output:\n%.3000s",
			  (const char *[]){"overflow", "underflow", "write after free", "efence overflow",
					   "efence use after free"}[kind],
			  expect, st, out);
#else
	(void)kind, (void)v;
#endif
}
