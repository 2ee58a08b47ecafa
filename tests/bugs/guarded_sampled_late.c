/*
 * Read after free of a block sampled late in a run, under the default
 * options: 1,000 long-lived blocks first (as a program's start-up makes),
 * then short-lived 96-byte blocks until one is sampled onto a guarded
 * slot.  A guarded block ends against its slot's guard page, so its end
 * is page-aligned; an ordinary one never is (96 bytes + the 16-byte
 * redzone: 112-byte slots, 73 to an 8 KiB span).  The first blocks take
 * only half the pool, so the long-lived ones cannot pin it all and later
 * blocks are still sampled (one in sample_rate); the read of the sampled
 * block after its free faults.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	static void *keep[1000];
	for (int i = 0; i < 1000; i++)
		keep[i] = malloc(48);
	for (long i = 0; i < 200000; i++) {
		char *volatile p = malloc(96); /* @alloc */
		if (((uintptr_t)p + 96) % 4096) {
			free(p);
			continue;
		}
		p[10] = 'x';
		printf("%p\n", p);
		printf("expect: read at %p: 10 bytes into a freed block of size 96\n", (void *)(p + 10));
		fflush(stdout);
		free(p);                 /* @free */
		volatile char c = p[10]; /* bug */
		(void)c;
		return 0;
	}
	for (int i = 0; i < 1000; i++)
		free(keep[i]);
	/* The production build samples nothing: fine there; the debug build
	 * fails the test for want of the report. */
	printf("no block was sampled in 200,000\n");
	return 0;
}
