/*
 * Read one byte past a 128-byte block in efence mode (run with efence=1):
 * the block ends right against a guard page, so the read faults at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *volatile p = malloc(128); /* @alloc */
	memset(p, 1, 128);
	printf("%p\n", p);
	printf("expect: read at %p: 0 bytes past the block of size 128\n", (void *)(p + 128));
	fflush(stdout);
	volatile char c = p[128]; /* bug: faults in efence mode */
	free(p);
	return c;
}
