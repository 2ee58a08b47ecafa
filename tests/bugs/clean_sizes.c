/*
 * A correct program over every size class and tier: each size from 0 to
 * 40000 (and some large ones) written over its whole malloc_usable_size,
 * calloc'd blocks zero even in reused slots, realloc chains that keep the
 * contents, and every alignment from 8 to 64 KiB.  It must exit 0 with
 * nothing on stderr (also in efence mode).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, size_t n)
{
	printf("FAILED: %s (size %zu)\n", what, n);
	return 1;
}

/* malloc and calloc of size bytes, used over their whole usable size. */
static int one_size(size_t size)
{
	unsigned char *p = malloc(size);
	if (!p)
		return fail("malloc", size);
	size_t u = malloc_usable_size(p);
	if (u < size)
		return fail("malloc_usable_size below the request", size);
	memset(p, 0xa5, u); /* the whole usable size is ours */
	free(p);
	/* calloc, likely in the slot just dirtied: zero all the same */
	unsigned char *z = calloc(1, size);
	if (!z)
		return fail("calloc", size);
	for (size_t i = 0; i < size; i++)
		if (z[i])
			return fail("calloc not zero", size);
	free(z);
	return 0;
}

int main(void)
{
	static const size_t big[] = {32769, 65536, 100000, 1 << 20, 3 << 20, 8 << 20};
	for (size_t n = 0; n <= 40000; n += n < 600 ? 1 : n < 4096 ? 7 : 97)
		if (one_size(n))
			return 1;
	for (size_t i = 0; i < sizeof big / sizeof *big; i++)
		if (one_size(big[i]))
			return 1;
	/* realloc chains: grow 1 -> 1 MiB, then shrink, contents kept */
	unsigned char *r = NULL;
	size_t have = 0;
	for (size_t size = 1; size <= (1 << 20); size = size * 3 / 2 + 1) {
		unsigned char *q = realloc(r, size);
		if (!q)
			return fail("realloc up", size);
		for (size_t i = 0; i < have; i++)
			if (q[i] != (unsigned char)i)
				return fail("realloc lost contents", size);
		for (size_t i = have; i < size; i++)
			q[i] = (unsigned char)i;
		r = q;
		have = size;
	}
	for (size_t size = have; size > 0; size /= 3) {
		unsigned char *q = realloc(r, size);
		if (!q)
			return fail("realloc down", size);
		for (size_t i = 0; i < size; i++)
			if (q[i] != (unsigned char)i)
				return fail("realloc down lost contents", size);
		r = q;
	}
	free(r);
	volatile size_t huge = SIZE_MAX / 2; /* (volatile: no compile-time warning) */
	if (reallocarray(NULL, huge, 3) != NULL || errno != ENOMEM)
		return fail("reallocarray overflow", 0);
	/* every alignment */
	for (size_t al = 8; al <= 65536; al *= 2) {
		for (size_t size = 1; size < 200000; size = size * 5 + 3) {
			void *a = NULL;
			if (posix_memalign(&a, al, size) != 0 || ((uintptr_t)a & (al - 1)))
				return fail("posix_memalign", size);
			memset(a, 1, size);
			void *b = aligned_alloc(al, size);
			void *c = memalign(al, size);
			if (!b || !c || ((uintptr_t)b & (al - 1)) || ((uintptr_t)c & (al - 1)))
				return fail("aligned_alloc/memalign", size);
			memset(b, 2, size);
			memset(c, 3, size);
			free(a);
			free(b);
			free(c);
		}
	}
	void *v = valloc(100), *pv = pvalloc(5000);
	if (!v || !pv || ((uintptr_t)v & 4095) || ((uintptr_t)pv & 4095))
		return fail("valloc/pvalloc", 100);
	memset(pv, 0, 8192);
	free(v);
	free(pv);
	puts("clean");
	return 0;
}
