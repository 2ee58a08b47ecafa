/*
 * Read one byte past a 32-byte block under the default options.  A
 * sampled block is placed against the guard page after its slot (right-
 * aligned to malloc's 16 bytes), so the first byte past it is
 * inaccessible and the read faults at the instruction, where the canary
 * after an unsampled block can only catch writes, at free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *volatile p = malloc(32); /* @alloc */
	memset(p, 'b', 32);
	printf("%p\n", p);
	printf("expect: read at %p: 0 bytes past the block of size 32\n", (void *)(p + 32));
	fflush(stdout);
	volatile char c = p[32]; /* bug */ /* @report */
	free(p);
	(void)c;
	return 0;
}
