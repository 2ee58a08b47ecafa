/*
 * Read of a freed large (100 KiB) block.  In the debug build a freed large
 * block's pages are inaccessible while it sits in the quarantine, so the
 * read faults at once and spanalloc's SIGSEGV handler names the block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *volatile p = malloc(100 * 1024); /* @alloc */
	memset(p, 7, 100 * 1024);
	printf("%p\n", p);
	printf("expect: read at %p: 50 bytes into a freed block of size 102400\n", (void *)(p + 50));
	fflush(stdout);
	free(p);                 /* @free */
	volatile char c = p[50]; /* bug: faults in the debug build */
	return c == 7 ? 0 : 1;
}
