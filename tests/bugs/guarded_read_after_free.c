/*
 * Read of a freed small block under the default options.  The first
 * blocks of a process go to the guarded pool: pages of their own, made
 * inaccessible at free and kept so while the slot waits in the FIFO of
 * freed slots, so the read faults at the instruction and the report names
 * the block, its allocation and its free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *volatile p = malloc(24); /* @alloc */
	memset(p, 'a', 24);
	printf("%p\n", p);
	printf("expect: read at %p: 8 bytes into a freed block of size 24\n", (void *)(p + 8));
	printf("expect-debug: guarded block\n");
	fflush(stdout);
	free(p);                          /* @free */
	volatile char c = p[8]; /* bug */ /* @report */
	(void)c;
	return 0;
}
