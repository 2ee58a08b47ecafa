/*
 * The platform layer: the only file that maps, protects or releases
 * memory.  OS memory moves through Go's states (mem.go):
 *
 *   None --os_reserve--> Reserved (PROT_NONE, no memory)
 *   Reserved --os_commit--> Ready (read/write; memory on first touch)
 *   Ready --os_release--> Ready but empty (MADV_DONTNEED: reads zero)
 *
 * Metadata comes from os_alloc / os_free.  Nothing here takes a lock or
 * knows about spans.  os_run_read runs a symbolizer for reports.
 */
#define _GNU_SOURCE /* pipe2, vfork */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/auxv.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/*
 * [a - guard, a + size) reserved PROT_NONE, a a multiple of align.  The
 * kernel's place for the length alone is tried first, then the aligned
 * address just below it (mmap places top-down, so the range below is
 * most likely free), and only then length + align, trimmed: that one
 * takes twice a 64 MiB arena's address space for a moment, which under a
 * ulimit -v of 150 MiB was the difference between a heap and none.
 */
static void *reserve(size_t size, size_t align, size_t guard)
{
	const int prot = PROT_NONE, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	size_t len = size + guard;
	if (len < size)
		return NULL;
	char *p = mmap(NULL, len, prot, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = (uintptr_t)p + guard;
	if ((a & (align - 1)) == 0)
		return (void *)a;
	munmap(p, len);
#ifdef MAP_FIXED_NOREPLACE
	uintptr_t b = (a & ~(uintptr_t)(align - 1)) - guard;
	if (b < a) {
		char *q = mmap((void *)b, len, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
		if (q == (char *)b)
			return (void *)(b + guard);
		if (q != MAP_FAILED)
			munmap(q, len); /* a kernel before 4.17 took b as a hint */
	}
#endif
	size_t full = len + align;
	if (full < len)
		return NULL;
	p = mmap(NULL, full, prot, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + guard + align - 1) & ~(uintptr_t)(align - 1);
	/* Trim the misaligned head (but the guard) and the tail. */
	if (a - guard > (uintptr_t)p)
		munmap(p, a - guard - (uintptr_t)p);
	uintptr_t end = (uintptr_t)p + full;
	if (end > a + size)
		munmap((void *)(a + size), end - (a + size));
	return (void *)a;
}

void *os_reserve(size_t size, size_t align) { return reserve(size, align, 0); }

/* Like os_reserve, but the guard bytes below the result stay reserved. */
void *os_reserve_guarded(size_t size, size_t align, size_t guard) { return reserve(size, align, guard); }

bool os_protect(void *p, size_t size) { return mprotect(p, size, PROT_NONE) == 0; }

bool os_commit(void *p, size_t size) { return mprotect(p, size, PROT_READ | PROT_WRITE) == 0; }

/*
 * Reserved [p, p+size) becomes a mapping of its own (PROT_NONE, or read/write
 * when rw: the commit in the same call; without MAP_NORESERVE, so that it
 * never merges with the reservation around it):
 * an os_commit or os_protect of exactly it then changes one mapping's
 * protection, where one of a part of a mapping splits it (and the reverse
 * merges it back), twice the kernel's time.
 */
bool os_own_mapping(void *p, size_t size, bool rw)
{
	int prot = rw ? PROT_READ | PROT_WRITE : PROT_NONE;
	return mmap(p, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p;
}

void os_release(void *p, size_t size)
{
	int saved = errno;
	(void)madvise(p, size, MADV_DONTNEED);
	errno = saved;
}

void *os_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void os_free(void *p, size_t size) { munmap(p, size); }

/* RLIMIT_AS (ulimit -v) in bytes, or 0 when there is none. */
uint64_t os_address_space_limit(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY)
		return 0;
	return (uint64_t)r.rlim_cur;
}

/*
 * The OS refused the allocator memory it needs for ordinary requests
 * (an arena, the heap's fixalloc metadata; the callers whose failure
 * malloc returns as NULL, not those of the debug build's tables, which
 * do without): malloc returns NULL (ENOMEM) while it does, as C
 * says, and the first time it is said on stderr (or the log), with the
 * address-space limit when one is set, the usual cause (ulimit -v).  A
 * single huge request the OS cannot back is an ordinary NULL: not said.
 */
void os_say_refused(const char *what, size_t bytes, int err)
{
	static int said;
	if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	char buf[256];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, "spanalloc: the OS refused ");
	bool mib = bytes >= (1u << 20);
	sb_dec(&b, (bytes + (mib ? (1u << 20) : 1024u) - 1) >> (mib ? 20 : 10));
	sb_str(&b, mib ? " MiB for " : " KiB for ");
	sb_str(&b, what);
	if (err == ENOMEM) {
		sb_str(&b, " (ENOMEM");
	} else {
		sb_str(&b, " (errno ");
		sb_dec(&b, (uint64_t)err);
	}
	uint64_t lim = os_address_space_limit();
	if (lim) {
		sb_str(&b, "; ulimit -v, RLIMIT_AS, is ");
		sb_dec(&b, lim >> 20);
		sb_str(&b, " MiB");
	}
	sb_str(&b, "): malloc returns NULL while it does\n");
	os_write(report_fd, b.buf, b.len);
}

/* RAM + swap: no single request beyond it can be backed. */
uint64_t os_memory_limit(void)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return UINT64_MAX;
	return ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
}

size_t os_page_size(void)
{
	long v = sysconf(_SC_PAGESIZE);
	return v > 0 ? (size_t)v : 4096;
}

/* The kernel's limit on a process's mappings (vm.max_map_count), or -1. */
long os_max_map_count(void)
{
	static long cached;
	if (cached)
		return cached;
	int saved = errno;
	long v = -1;
	int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[32];
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			v = 0;
			for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
				v = v * 10 + (buf[i] - '0');
			if (v == 0)
				v = -1;
		}
	}
	errno = saved;
	cached = v;
	return v;
}

/*
 * The environment variable name before libc has set up environ: the
 * first malloc of a program may come from ld.so running a sanitizer
 * runtime's .preinit_array (every clang -fsanitize=fuzzer target), and
 * the options decide how the debug build lays out its pools then.  From
 * /proc/self/environ (the environment the process started with); NULL
 * when unreadable, absent, or the program is set-user-ID (as
 * secure_getenv).  The value lives in a static buffer: called once.
 */
const char *os_early_getenv(const char *name, bool *readable)
{
	static char buf[65536];
	*readable = false;
	if (getauxval(AT_SECURE))
		return NULL;
	int saved = errno;
	int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	if (fd >= 0) {
		ssize_t r;
		while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
			n += (size_t)r;
		close(fd);
		*readable = true;
	}
	errno = saved;
	buf[n] = 0;
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
		if (!strncmp(buf + i, name, len) && buf[i + len] == '=')
			return buf + i + len + 1;
	return NULL;
}

/*
 * glibc puts a thread's descriptor and its static TLS at the top of the
 * stack it allocates for the thread (or of the one pthread_attr_setstack
 * gave it), and the thread pointer points there (x86-64: at the
 * descriptor, the TLS below it; AArch64: just past it, the TLS above), so
 * every frame of the thread lies below it.  pthread_getattr_np would say
 * more, but it takes the thread's lock and then calls realloc: from
 * inside malloc, on a thread that is itself in pthread_getattr_np (Ruby's
 * threads call it first thing), it waits for ever on its own lock.
 */
uintptr_t os_thread_stack_bound(void)
{
	uintptr_t tp;
#if defined(__x86_64__)
	__asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
#else
	tp = 0;
#endif
	return tp;
}

uint64_t os_nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void os_write(int fd, const char *s, size_t n)
{
	int saved = errno;
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		s += w;
		n -= (size_t)w;
	}
	errno = saved;
}

void os_futex_wait(uint32_t *addr, uint32_t val)
{
	int saved = errno;
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
	errno = saved;
}

void os_futex_wake(uint32_t *addr, int n)
{
	int saved = errno;
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
	errno = saved;
}

/* The contended half of lock(): spin a little, then sleep in the kernel. */
void lock_slow(mutex *m)
{
	for (int i = 0; i < 100; i++) {
		uint32_t c = 0;
		if (__atomic_load_n(&m->state, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&m->state, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ volatile("yield");
#endif
	}
	while (__atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE) != 0)
		os_futex_wait(&m->state, 2);
}

/*
 * Start prog with in, out and err as its descriptors 0, 1 and 2; its pid,
 * or -1.  For reports, which may come from inside malloc or a signal
 * handler: nothing here allocates, and vfork runs no pthread_atfork handler
 * (the debug build's waits for the operations in flight, this report's
 * among them) and copies nothing.  The child only moves descriptors and
 * execs.
 */
static pid_t spawn(const char *prog, char *const argv[], char *const envp[], int in, int out, int err)
{
	/* No signal handler may run in the child, on the parent's stack and
	 * memory: signals stay blocked until the exec (and in the symbolizer,
	 * which needs none; SIGKILL cannot be blocked). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = vfork();
	if (pid == 0) {
		/* POSIX allows only _exit and exec here; dup2 is a plain system
		 * call that touches no memory of the parent, as glibc's own
		 * posix_spawn does in its CLONE_VM child. */
		// NOLINTNEXTLINE(clang-analyzer-unix.Vfork)
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(127);
		execve(prog, argv, envp);
		_exit(127);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/*
 * Run the program prog (argv and envp built by the caller, in its own
 * buffers) with stdin and stderr on /dev/null, and read what it writes to
 * stdout into buf (at most cap bytes, more is read and dropped), for at
 * most timeout_ms.  Returns the bytes read, or -1 if it did not run or
 * did not exit 0.  Spawned by spawn(), for reports.
 */
long os_run_read(const char *prog, char *const argv[], char *const envp[], char *buf, size_t cap, int timeout_ms)
{
	int saved = errno, fds[2], st = 0;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || pipe2(fds, O_CLOEXEC) != 0) {
		if (null >= 0)
			close(null);
		errno = saved;
		return -1;
	}
	pid_t pid = spawn(prog, argv, envp, null, fds[1], null);
	close(fds[1]);
	close(null);
	size_t len = 0;
	while (pid > 0) {
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) { /* timed out: the output so far is not trusted */
			kill(pid, SIGKILL);
			len = 0;
			st = -1;
			break;
		}
		char drop[256];
		char *to = len < cap ? buf + len : drop;
		size_t room = len < cap ? cap - len : sizeof drop;
		ssize_t n = read(fds[0], to, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (to != drop)
			len += (size_t)n;
	}
	close(fds[0]);
	if (pid > 0) {
		int ws = 0;
		pid_t w;
		do
			w = waitpid(pid, &ws, 0);
		while (w < 0 && errno == EINTR);
		/* (ECHILD: SIGCHLD ignored, or the program reaped it; the
		 * output then tells.) */
		if (w == pid && !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0))
			st = -1;
	}
	errno = saved;
	return pid > 0 && st == 0 ? (long)len : -1;
}

/*
 * A long-lived helper process for reports that print many stacks (the leak
 * check's): prog runs with one end of a socketpair as its stdin and stdout
 * (stderr on /dev/null), *fd gets the other end.  A socket, not pipes, so
 * that a write to a helper that died is EPIPE under MSG_NOSIGNAL, never a
 * SIGPIPE that would kill the program.  Spawned by spawn(), as
 * os_run_read's are.  Returns its pid, or -1.
 */
int os_spawn_duplex(const char *prog, char *const argv[], char *const envp[], int *fd)
{
	int saved = errno, sv[2];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		if (null >= 0)
			close(null);
		errno = saved;
		return -1;
	}
	pid_t pid = spawn(prog, argv, envp, sv[1], sv[1], null);
	close(sv[1]);
	close(null);
	if (pid < 0) {
		close(sv[0]);
		errno = saved;
		return -1;
	}
	*fd = sv[0];
	errno = saved;
	return (int)pid;
}

/* Send all of buf on the helper's socket; false if it is gone. */
bool os_send_all(int fd, const char *buf, size_t len)
{
	int saved = errno;
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = saved;
			return false;
		}
		buf += n;
		len -= (size_t)n;
	}
	errno = saved;
	return true;
}

/* What the helper has written, waiting up to timeout_ms for some: the
 * bytes read, 0 at its end, -1 on a time-out or error. */
long os_recv_some(int fd, char *buf, size_t cap, int timeout_ms)
{
	int saved = errno;
	long r = -1;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int k = poll(&pfd, 1, timeout_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		ssize_t n = read(fd, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		r = n < 0 ? -1 : (long)n;
		break;
	}
	errno = saved;
	return r;
}

/* End the helper: its socket closed (it reads the end of its input and
 * exits), then reaped; killed first when kill is set (it stopped
 * answering). */
void os_end_duplex(int pid, int fd, bool kill_it)
{
	int saved = errno;
	if (kill_it)
		kill(pid, SIGKILL);
	close(fd);
	pid_t w;
	do
		w = waitpid(pid, NULL, 0);
	while (w < 0 && errno == EINTR);
	errno = saved;
}

/* ---- threads, for the debug build's stop-the-world leak check ------------ */

int os_gettid(void) { return (int)syscall(SYS_gettid); }

/* Send sig to thread tid of this process; false when it has gone. */
bool os_signal_thread(int tid, int sig)
{
	int saved = errno;
	bool ok = syscall(SYS_tgkill, (int)getpid(), tid, sig) == 0;
	errno = saved;
	return ok;
}

/*
 * The ids of this process's threads (/proc/self/task, read with getdents64:
 * opendir would allocate), at most max of them.  Returns how many there
 * are (possibly more than max), or -1 when /proc cannot be read.
 */
long os_list_threads(int *out, size_t max)
{
	int saved = errno;
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	long n = 0;
	char buf[4096];
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (got <= 0)
			break;
		for (long off = 0; off < got;) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, sizeof reclen);
			const char *name = buf + off + 19;
			if (name[0] >= '0' && name[0] <= '9') {
				int tid = 0;
				for (const char *c = name; *c >= '0' && *c <= '9'; c++)
					tid = tid * 10 + (*c - '0');
				if ((size_t)n < max)
					out[n] = tid;
				n++;
			}
			off += reclen;
		}
	}
	close(fd);
	errno = saved;
	return n;
}

void os_sleep_us(unsigned us)
{
	int saved = errno;
	struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
	/* (the system call itself: libc's nanosleep is a cancellation point,
	 * and a thread cancelled in one of the allocator's waits would leave
	 * it half done, a lock held) */
	syscall(SYS_nanosleep, &ts, NULL);
	errno = saved;
}
