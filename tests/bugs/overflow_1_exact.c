/*
 * One byte written past a 32-byte block whose slot has no slack (in the
 * debug build 32 bytes plus the 16-byte redzone fill a 48-byte slot): the
 * byte lands in the next slot, here the redzone before the next block, q.
 * The damage continues the block p, so the debug build reports an
 * overflow of p, with p's stacks, when q is freed (not an underflow of
 * q).  The production build does not see it.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile keep = malloc(32);
	char *volatile p = malloc(32); /* @alloc */
	char *volatile q = malloc(32);
	printf("%p\n", (void *)p);
	printf("%p\n", (void *)q);
	fflush(stdout);
	((volatile char *)p)[32] = 'x'; /* bug */
	free(q);
	free(p);
	free(keep);
	return 0;
}
