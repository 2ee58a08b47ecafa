/*
 * Write into a freed block in efence mode (run with efence=1): the freed
 * block's pages are inaccessible, so the write faults at once, where the
 * default debug build would only see it later, when it checks the poison.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(100); /* @alloc */
	printf("%p\n", p);
	printf("expect: write at %p: 10 bytes into a freed block of size 100\n", (void *)(p + 10));
	fflush(stdout);
	free(p);     /* @free */
	p[10] = 'x'; /* bug: faults in efence mode */
	puts("not reached in efence mode");
	return 0;
}
