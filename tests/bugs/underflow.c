/*
 * One byte written before a 64-byte block (p[-1], an index off by one
 * downwards).  The debug build keeps a 16-byte redzone before each small
 * block and checks it at free.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile keep = malloc(64); /* p is not its span's first */
	char *volatile p = malloc(64);    /* @alloc */
	printf("%p\n", p);
	printf("expect-debug: requested size 64\n");
	fflush(stdout);
	p[-1] = 'x'; /* bug */
	free(p);     /* @report */
	free(keep);
	return 0;
}
