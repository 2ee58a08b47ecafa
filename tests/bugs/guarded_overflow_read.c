/*
 * Read one byte past a 20-byte block under the default options.  A
 * sampled block is placed against the guard page after its slot (right-
 * aligned to its natural alignment, here 4), so the first byte past it is
 * inaccessible and the read faults at the instruction, where the canary
 * after an unsampled block can only catch writes, at free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *volatile p = malloc(20);          /* @alloc */
	memset(p, 'b', 20);
	printf("%p\n", p);
	printf("expect: read at %p: 0 bytes past the block of size 20\n", (void *)(p + 20));
	fflush(stdout);
	volatile char c = p[20];                /* bug */ /* @report */
	free(p);
	(void)c;
	return 0;
}
