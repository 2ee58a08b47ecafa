/*
 * The leak check's cost on a big heap: MiB mebibytes of SIZE-byte blocks
 * (default 1024 MiB of 64-byte blocks), one block in 1000 left out
 * (leaked), the others held either in a linked list from a global (SHAPE
 * "list": a deep graph) or by one big array of pointers (SHAPE "array": a
 * wide one, the work list's worst case); then one on-demand check
 * (__lsan_do_recoverable_leak_check: spanalloc's debug build or
 * LeakSanitizer, whichever is loaded) is timed, with the peak RSS it adds.
 *
 *   cc -O2 -o leakcheck_heap bench/leakcheck_heap.c
 *   LD_PRELOAD=build/libspanalloc-debug.so ./leakcheck_heap [MiB [SIZE [SHAPE]]]
 *   LD_PRELOAD=$(gcc -print-file-name=liblsan.so) ./leakcheck_heap [MiB [SIZE [SHAPE]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

void **volatile head;
void **volatile array;

static long maxrss_mib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	size_t size = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
	int wide = argc > 3 && strcmp(argv[3], "array") == 0;
	size_t n = (mib << 20) / size, leaked = 0;
	if (wide)
		array = calloc(n, sizeof *array);
	double t0 = now();
	for (size_t i = 0; i < n; i++) {
		void **b = malloc(size);
		if (!b)
			return 1;
		if (i % 1000 == 999) {
			b[0] = NULL;
			leaked++;
			continue;
		}
		if (wide) {
			b[0] = NULL;
			array[i] = b;
		} else {
			b[0] = (void *)head;
			head = b;
		}
	}
	double t1 = now();
	if (!__lsan_do_recoverable_leak_check) {
		fprintf(stderr, "no leak checker loaded\n");
		return 2;
	}
	long rss0 = maxrss_mib();
	int r = __lsan_do_recoverable_leak_check();
	double t2 = now();
	printf("%s: blocks %zu of %zu bytes, leaked %zu: allocation %.2f s, check %.3f s (returned %d), "
	       "peak RSS %ld MiB, +%ld MiB in the check\n",
	       wide ? "array" : "list", n, size, leaked, t1 - t0, t2 - t1, r, maxrss_mib(), maxrss_mib() - rss0);
	fflush(stdout);
	_exit(0);
}
