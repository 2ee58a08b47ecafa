/*
 * One byte written before a large (100 KiB) block, p[-1], with another
 * large block right before it in the heap.  The debug build must name p,
 * the block written before, not its neighbour.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile neighbour = malloc(100 * 1024);
	char *volatile p = malloc(100 * 1024); /* @alloc */
	printf("%p\n", p);
	fflush(stdout);
	p[-1] = 'x'; /* bug */
	free(p);
	free(neighbour);
	return 0;
}
