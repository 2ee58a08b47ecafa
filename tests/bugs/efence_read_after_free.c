/*
 * Read of a freed block in efence mode (run with efence=1), after 1,000
 * live blocks: past the default pool's first slots, so only efence, which
 * puts every block on pages of its own while the mapping budget allows,
 * guards it.  The freed block's pages are made inaccessible at free and
 * stay so in the FIFO of freed slots, so the read faults at once and
 * spanalloc's SIGSEGV handler names the block.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	static void *keep[1000];
	for (int i = 0; i < 1000; i++)
		keep[i] = malloc(48);
	char *volatile p = malloc(100); /* @alloc */
	for (int i = 0; i < 100; i++)
		p[i] = (char)i;
	printf("%p\n", p);
	printf("expect: read at %p: 10 bytes into a freed block of size 100\n", (void *)(p + 10));
	fflush(stdout);
	free(p);                 /* @free */
	volatile char c = p[10]; /* bug: faults in efence mode */
	for (int i = 0; i < 1000; i++)
		free(keep[i]);
	return c == 10 ? 0 : 1;
}
