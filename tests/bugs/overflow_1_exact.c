/*
 * One byte written past a 32-byte block whose slot has no slack (in the
 * debug build 32 bytes plus the 16-byte redzone fill a 48-byte slot): the
 * byte lands in the next slot, here the redzone before the next block, q.
 * The debug build must report it, naming p (overflow) or q (underflow),
 * at the latest when q is freed.  The production build does not see it.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile keep = malloc(32);
	char *volatile p = malloc(32);
	char *volatile q = malloc(32);
	printf("%p\n", p);
	printf("%p\n", q);
	fflush(stdout);
	p[32] = 'x';                            /* bug */
	free(q);
	free(p);
	free(keep);
	return 0;
}
