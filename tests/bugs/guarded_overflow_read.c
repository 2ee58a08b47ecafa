/*
 * Read one byte past a 24-byte block under the default options.  A
 * sampled block is placed against the guard page after its slot (right-
 * aligned to its natural alignment, here 8), so the first byte past it is
 * inaccessible and the read faults at the instruction, where the canary
 * after an unsampled block can only catch writes, at free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *volatile p = malloc(24);          /* @alloc */
	memset(p, 'b', 24);
	printf("%p\n", p);
	printf("expect: read at %p: 0 bytes past the block of size 24\n", (void *)(p + 24));
	fflush(stdout);
	volatile char c = p[24];                /* bug */ /* @report */
	free(p);
	(void)c;
	return 0;
}
