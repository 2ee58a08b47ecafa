/*
 * Is spanalloc the malloc this process really uses?  Under memcheck
 * without --soname-synonyms=somalloc=nouserintercepts, memcheck replaces
 * every exported malloc, a preloaded spanalloc's included, and the debug
 * build's client requests then announce nothing.  Two independent signs:
 *
 *   1. spanalloc's own counter (sa_read_memstats().Mallocs) moves by the
 *      number of blocks this program allocates;
 *   2. with valgrind's --alignment=4096 (which only memcheck's malloc
 *      honours), not every small block is page-aligned.
 *
 * Prints "spanalloc in place" and exits 0, or says why not and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "spanalloc.h"

/* Weak: resolved against the preloaded library, or linked in. */
extern void sa_read_memstats(struct sa_memstats *m) __attribute__((weak));

#define N 32

int main(void)
{
	if (!sa_read_memstats) {
		puts("not spanalloc: sa_read_memstats is not defined in this process");
		return 1;
	}
	static struct sa_memstats before, after;
	void *p[N];
	sa_read_memstats(&before);
	unsigned aligned = 0;
	for (int i = 0; i < N; i++) {
		p[i] = malloc(i % 2 ? 10 : 100);
		if (!p[i])
			return 2;
		aligned += ((uintptr_t)p[i] & 4095) == 0;
	}
	sa_read_memstats(&after);
	for (int i = 0; i < N; i++)
		free(p[i]);
	uint64_t moved = after.Mallocs - before.Mallocs;
	if (moved < N || aligned == N) {
		printf("not spanalloc: Mallocs moved by %llu for %d mallocs, %u of %d blocks page-aligned\n",
		       (unsigned long long)moved, N, aligned, N);
		return 1;
	}
	printf("spanalloc in place: Mallocs moved by %llu for %d mallocs, %u of %d blocks page-aligned\n",
	       (unsigned long long)moved, N, aligned, N);
	return 0;
}
