/*
 * Write into a malloc(0) block, 5 bytes in (the debug build: a fault at
 * the write, its zero-size blocks having no accessible byte).
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(0); /* @alloc */
	printf("%p\n", p);
	printf("expect: write at %p: 5 bytes past the block of size 0\n", (void *)(p + 5));
	fflush(stdout);
	p[5] = 1; /* bug */ /* @report */
	free(p);
	return 0;
}
