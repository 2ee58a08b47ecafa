/* realloc of a block that was already freed. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *keep = malloc(64);
	void *volatile p = malloc(64); /* @alloc */
	printf("%p\n", p);
	fflush(stdout);
	free(p);                             /* @free */
	void *q = realloc(p, 128); /* bug */ /* @report */
	printf("realloc returned %p\n", q);
	free(keep);
	return 0;
}
