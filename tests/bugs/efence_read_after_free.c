/*
 * Read of a freed block in efence mode (run with efence=1): every block
 * has pages of its own, made inaccessible at free and never reused, so
 * the read faults at once and spanalloc's SIGSEGV handler names the block.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(100);         /* @alloc */
	for (int i = 0; i < 100; i++)
		p[i] = (char)i;
	printf("%p\n", p);
	printf("expect: in freed pages\n");
	fflush(stdout);
	free(p);                                /* @free */
	volatile char c = p[10];                /* bug: faults in efence mode */
	return c == 10 ? 0 : 1;
}
