/*
 * spanalloc — a malloc replacement built on the Go runtime's allocator
 * (size classes, mheap / heapArena / mspan / mcentral / mcache, tiny
 * allocator, large objects), with every free checked.
 *
 * Linking or preloading libspanalloc replaces the standard family
 * (malloc, free, calloc, realloc, reallocarray, aligned_alloc,
 * posix_memalign, memalign, valloc, pvalloc, malloc_usable_size).  The same
 * functions are available under the sa_ prefix for programs and harnesses
 * that want to call spanalloc directly, next to whatever malloc the program
 * otherwise uses.
 *
 * Error rules are C's and POSIX's: NULL with errno = ENOMEM when memory is
 * exhausted or a size overflows, EINVAL (returned, not set) from
 * posix_memalign for an alignment that is not a power of two multiple of
 * sizeof(void *), NULL with errno = EINVAL from aligned_alloc / memalign for
 * an alignment that is not a power of two.  A double free or an invalid free
 * is a bug in the program: spanalloc reports it on stderr and aborts.
 */
#ifndef SPANALLOC_H
#define SPANALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPANALLOC_VERSION_MAJOR 0
#define SPANALLOC_VERSION_MINOR 1
#define SPANALLOC_VERSION_PATCH 0
#define SPANALLOC_VERSION "0.1.0"

/* Number of size classes, class 0 (large objects) included. */
#define SA_NUM_SIZE_CLASSES 67

void *sa_malloc(size_t size);
void *sa_calloc(size_t nmemb, size_t size);
void *sa_realloc(void *ptr, size_t size);
void *sa_reallocarray(void *ptr, size_t nmemb, size_t size);
void sa_free(void *ptr);
void *sa_aligned_alloc(size_t alignment, size_t size);
int sa_posix_memalign(void **memptr, size_t alignment, size_t size);
void *sa_memalign(size_t alignment, size_t size);
void *sa_valloc(size_t size);
void *sa_pvalloc(size_t size);
size_t sa_malloc_usable_size(const void *ptr);

/*
 * The fields of Go's runtime.MemStats that apply to a C heap.  All byte
 * counts are bytes; all counts are cumulative since the process started
 * unless the comment says otherwise.
 */
struct sa_memstats {
	uint64_t Alloc;        /* bytes of allocated heap objects (= HeapAlloc) */
	uint64_t TotalAlloc;   /* cumulative bytes allocated */
	uint64_t Sys;          /* bytes obtained from the OS (heap + metadata) */
	uint64_t Mallocs;      /* cumulative count of objects allocated */
	uint64_t Frees;        /* cumulative count of objects freed */
	uint64_t HeapAlloc;    /* bytes of allocated heap objects */
	uint64_t HeapSys;      /* bytes of heap address space made usable */
	uint64_t HeapIdle;     /* bytes in idle (free) pages */
	uint64_t HeapInuse;    /* bytes in in-use spans */
	uint64_t HeapReleased; /* idle bytes returned to the OS */
	uint64_t HeapObjects;  /* live objects (Mallocs - Frees) */
	uint64_t MSpanInuse;   /* bytes of mspan structures in use */
	uint64_t MSpanSys;     /* bytes obtained for mspan structures */
	uint64_t MCacheInuse;  /* bytes of mcache structures in use */
	uint64_t MCacheSys;    /* bytes obtained for mcache structures */
	uint64_t NumArenas;    /* heapArenas reserved (64 MiB each) */
	/*
	 * Per size class: BySize[0] is class 0 (large objects, Size 0),
	 * BySize[c] the class of Size bytes.  Tiny allocations count in
	 * the 16-byte class, as in Go.
	 */
	struct {
		uint32_t Size;
		uint64_t Mallocs;
		uint64_t Frees;
	} BySize[SA_NUM_SIZE_CLASSES];
};

/* Fill *m with the current statistics.  Safe to call from any thread. */
void sa_read_memstats(struct sa_memstats *m);

/* Print the statistics as a readable table to f (stderr when f is NULL). */
void sa_print_stats(FILE *f);

/*
 * Check the heap's metadata (span bitmaps, counts, page map) and return the
 * number of problems found; each one is reported on stderr.  0 means the
 * heap is consistent.
 */
size_t sa_check_heap(void);

/*
 * Look for leaks now (the debug build): a conservative mark from the
 * roots (every thread's registers, stack and TLS, the writable data of
 * the program and its libraries) finds the blocks no pointer reaches;
 * they are reported on stderr as at exit (SPANALLOC_OPTIONS
 * suppressions, max_leaks, report_indirect apply), and the number of
 * leaked blocks is returned (0: none).  Other threads are stopped while
 * the mark runs.  Under valgrind it runs memcheck's leak check and returns
 * its count of definitely and possibly lost blocks.  Returns -1 with
 * errno = ENOSYS in the production build (it keeps no allocation stacks)
 * and under AddressSanitizer; -1 also when the check could not run (said
 * on stderr).
 */
int sa_check_leaks(void);

/*
 * Define this in the program for options that hold unless SPANALLOC_OPTIONS
 * says otherwise (a fuzz target whose runner sets no environment):
 *   const char *spanalloc_default_options(void) { return "malloc_limit_mb=2048"; }
 */
const char *spanalloc_default_options(void);

/* Release idle pages to the OS now, whatever their age. */
void sa_scavenge(void);

#ifdef __cplusplus
}
#endif

#endif /* SPANALLOC_H */
