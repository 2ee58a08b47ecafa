/*
 * malloc(0) as C and POSIX say, in every build: a unique non-NULL pointer
 * per call (malloc_usable_size 0 in the debug build, whose zero-size
 * blocks have no byte: zero_size_*.c), realloc from it keeps working, realloc to 0 and
 * free of it are fine, the statistics count it once, and the heap check
 * finds nothing.  Exit 0, nothing on stderr.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* spanalloc's heap check, when spanalloc is there (weak: also under glibc). */
extern size_t sa_check_heap(void) __attribute__((weak));

#define N 3000

static int fail(const char *what)
{
	printf("FAILED: %s\n", what);
	return 1;
}

int main(void)
{
	static char *z[N];
	for (int i = 0; i < N; i++) {
		z[i] = malloc(0);
		if (!z[i])
			return fail("malloc(0) returned NULL");
	}
	for (int i = 1; i < N; i++)
		if (z[i] == z[i - 1])
			return fail("two live malloc(0) blocks share an address");
	/* 0 in the debug build; the production build's tiny block may say 1. */
	if (malloc_usable_size(z[0]) > 16)
		return fail("malloc_usable_size of a malloc(0) block above 16");
	/* realloc from a zero-size block: the new block holds what is written. */
	for (int i = 0; i < N; i += 2) {
		char *p = realloc(z[i], 40);
		if (!p)
			return fail("realloc of a malloc(0) block");
		memset(p, 'r', 40);
		z[i] = p;
	}
	for (int i = 0; i < N; i += 2)
		for (int j = 0; j < 40; j++)
			if (z[i][j] != 'r')
				return fail("a block realloc'd from malloc(0) lost its contents");
	/* calloc(0, n), aligned zero-size blocks, realloc to zero-size. */
	void *c = calloc(0, 8), *a = aligned_alloc(64, 0), *r = realloc(malloc(8), 0);
	if (!c || !a || ((size_t)a & 63))
		return fail("calloc(0, 8) or aligned_alloc(64, 0)");
	free(c);
	free(a);
	free(r);
	for (int i = 0; i < N; i++)
		free(z[i]);
	if (sa_check_heap && sa_check_heap() != 0)
		return fail("sa_check_heap found problems");
	return 0;
}
