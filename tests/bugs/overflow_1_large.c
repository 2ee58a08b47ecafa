/*
 * One byte written past a 1 MiB block (mimalloc-bench's security suite
 * writes so, then frees).  A large block ends right at its guard page in
 * the debug build, so the write faults at the instruction and the
 * SIGSEGV handler names the block.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	size_t n = 1024 * 1024;
	char *volatile p = malloc(n); /* @alloc */
	printf("%p\n", (void *)p);
	printf("expect: write at \n");
	printf("expect: 0 bytes past the block of size 1048576\n");
	fflush(stdout);
	((volatile char *)p)[n] = 'x'; /* bug */
	free(p);
	return 0;
}
