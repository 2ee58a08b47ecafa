/*
 * The platform layer: the only file that maps, protects or releases
 * memory.  OS memory moves through Go's states (mem.go):
 *
 *   None --os_reserve--> Reserved (PROT_NONE, no memory)
 *   Reserved --os_commit--> Ready (read/write; memory on first touch)
 *   Ready --os_release--> Ready but empty (MADV_DONTNEED: reads zero)
 *
 * Metadata comes from os_alloc / os_free.  Nothing here takes a lock or
 * knows about spans.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void *os_reserve(size_t size, size_t align)
{
	size_t len = size + align;
	if (len < size)
		return NULL;
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	/* Trim the misaligned head and the tail. */
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	uintptr_t end = (uintptr_t)p + len;
	if (end > a + size)
		munmap((void *)(a + size), end - (a + size));
	return (void *)a;
}

/* Like os_reserve, but the guard bytes below the result stay reserved. */
void *os_reserve_guarded(size_t size, size_t align, size_t guard)
{
	char *p = os_reserve(size + guard + align, 1);
	if (!p)
		return NULL;
	uintptr_t a = ((uintptr_t)p + guard + align - 1) & ~(uintptr_t)(align - 1);
	uintptr_t end = (uintptr_t)p + size + guard + align;
	if (a - guard > (uintptr_t)p)
		munmap(p, a - guard - (uintptr_t)p);
	if (end > a + size)
		munmap((void *)(a + size), end - (a + size));
	return (void *)a;
}

bool os_protect(void *p, size_t size)
{
	return mprotect(p, size, PROT_NONE) == 0;
}

bool os_commit(void *p, size_t size)
{
	return mprotect(p, size, PROT_READ | PROT_WRITE) == 0;
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

void os_free(void *p, size_t size)
{
	munmap(p, size);
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
