/*
 * Sixteen bytes written past a 1000-byte block (a string copied one field
 * too far, say).  Caught by the canary after the block at free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *volatile p = malloc(1000); /* @alloc */
	printf("%p\n", p);
	printf("expect: first at offset 1000\n");
	printf("expect-debug: requested size 1000\n");
	fflush(stdout);
	memset(p, 'a', 1000);
	memcpy(p + 1000, "sixteen bytes!!", 16); /* bug */
	free(p);                                 /* @report */
	return 0;
}
