/*
 * A byte 32 bytes before a 256 KiB block changed (XOR, so it always
 * changes), then the block freed.  Large blocks have at least 1 KiB of
 * canary before them in the debug build: the free reports the underflow
 * against the block.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	size_t n = 256 * 1024;
	char *volatile p = malloc(n); /* @alloc */
	printf("%p\n", (void *)p);
	printf("expect: bytes before the block overwritten, from offset -32\n");
	fflush(stdout);
	((volatile char *)p)[-32] ^= 'A'; /* bug */
	free(p);                          /* @report */
	return 0;
}
