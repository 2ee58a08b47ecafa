/*
 * Read of the byte a malloc(0) block does not have.  In the debug build a
 * zero-size block is a unique address in a region that is never
 * accessible, so the read faults at the instruction.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(0); /* @alloc */
	printf("%p\n", p);
	printf("expect: read at %p: 0 bytes past the block of size 0\n", (void *)p);
	fflush(stdout);
	volatile char c = p[0]; /* bug */ /* @report */
	free(p);
	(void)c;
	return 0;
}
