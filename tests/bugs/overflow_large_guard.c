/*
 * A linear overflow off the end of a large (128 KiB) block: a loop that
 * writes two pages too far.  In the debug build a PROT_NONE guard page
 * follows every large block, so the write faults as soon as it reaches it
 * and spanalloc's SIGSEGV handler names the block.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	size_t n = 128 * 1024;
	char *volatile p = malloc(n); /* @alloc */
	printf("%p\n", p);
	printf("expect: write at \n");
	printf("expect: bytes past the block of size 131072\n");
	fflush(stdout);
	for (size_t i = 0; i < n + 2 * 8192; i++) /* bug */
		p[i] = 'x';
	free(p);
	return 0;
}
