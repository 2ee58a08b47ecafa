/* realloc moved the block (64 B -> 100 KiB), then the old pointer is freed. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *keep = malloc(64);
	void *volatile p = malloc(64);
	void *q = realloc(p, 100 * 1024);
	if (q == p)
		return 3; /* did not move: the test cannot run */
	printf("%p\n", p);
	fflush(stdout);
	free(p); /* bug: realloc freed it */
	free(q);
	free(keep);
	return 0;
}
