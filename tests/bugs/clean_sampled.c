/*
 * A correct program with many allocations (400,000, of 1 to 5,000 bytes,
 * and aligned ones), a quarter of them kept live at any time: each block
 * is stamped with its own pattern over its whole requested size and
 * checked before it is freed or realloc'd.  Under the default options its
 * first blocks and then one in sample_rate go to the guarded pool; with
 * sample_rate=1 (the @every_block variant) every allocation does while a
 * slot is free, so freed slots are reused as fast as they come back.  It
 * must exit 0 with nothing on stderr: sampling changes where a block
 * lives, never what the program sees.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* spanalloc's heap check, when spanalloc is there (weak: also under glibc). */
extern size_t sa_check_heap(void) __attribute__((weak));

#define LIVE 4096
#define ROUNDS 400000

static uint32_t rnd = 12345;
static uint32_t next(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 17;
	rnd ^= rnd << 5;
	return rnd;
}

struct blk {
	unsigned char *p;
	size_t n;
	unsigned char stamp;
};

static int fail(const char *what, size_t n)
{
	printf("FAILED: %s (size %zu)\n", what, n);
	return 1;
}

static int check(const struct blk *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->p[i] != (unsigned char)(b->stamp + i))
			return fail("a block's contents changed", b->n);
	return 0;
}

static void stamp(struct blk *b)
{
	for (size_t i = 0; i < b->n; i++)
		b->p[i] = (unsigned char)(b->stamp + i);
}

int main(void)
{
	static struct blk live[LIVE];
	for (long r = 0; r < ROUNDS; r++) {
		struct blk *b = &live[next() % LIVE];
		if (b->p) {
			if (check(b))
				return 1;
			if (next() % 4 == 0) { /* realloc keeps the prefix */
				size_t n = 1 + next() % 5000;
				unsigned char *q = realloc(b->p, n);
				if (!q)
					return fail("realloc", n);
				size_t keep = n < b->n ? n : b->n;
				for (size_t i = 0; i < keep; i++)
					if (q[i] != (unsigned char)(b->stamp + i))
						return fail("realloc lost the contents", n);
				b->p = q;
				b->n = n;
				stamp(b);
				continue;
			}
			free(b->p);
			b->p = NULL;
			continue;
		}
		size_t n = 1 + next() % (next() % 8 ? 300 : 5000);
		switch (next() % 8) {
		case 0:
			b->p = calloc(1, n);
			if (!b->p)
				return fail("calloc", n);
			for (size_t i = 0; i < n; i++)
				if (b->p[i])
					return fail("calloc'd block not zero", n);
			break;
		case 1: {
			size_t a = (size_t)1 << (3 + next() % 10); /* 8 .. 4096 */
			if (posix_memalign((void **)&b->p, a, n) || ((uintptr_t)b->p & (a - 1)))
				return fail("posix_memalign", n);
			break;
		}
		default:
			b->p = malloc(n);
			if (!b->p)
				return fail("malloc", n);
		}
		if (malloc_usable_size(b->p) < n)
			return fail("malloc_usable_size below the request", n);
		/* malloc's alignment (tests/test_api.c): 16 from 16 bytes on,
		 * the largest power of two dividing the size (up to 8) below. */
		size_t want = n >= 16 ? 16 : (n & -n) > 8 ? 8 : (n & -n);
		if ((uintptr_t)b->p & (want - 1))
			return fail("block not aligned for its size", n);
		b->n = n;
		b->stamp = (unsigned char)next();
		stamp(b);
	}
	for (int i = 0; i < LIVE; i++) {
		if (live[i].p && check(&live[i]))
			return 1;
		free(live[i].p);
	}
	if (sa_check_heap && sa_check_heap() != 0)
		return fail("sa_check_heap found problems", 0);
	return 0;
}
