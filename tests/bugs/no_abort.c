/*
 * A double free, run with abort_on_error=0: spanalloc reports it and the
 * program goes on (the second free does nothing) to a normal exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	void *keep = malloc(64);
	void *volatile p = malloc(64);
	printf("%p\n", p);
	fflush(stdout);
	free(p);
	free(p); /* bug: reported, then ignored */
	/* The heap is still usable. */
	for (int i = 0; i < 1000; i++) {
		char *volatile q = malloc(64);
		memset(q, 1, 64);
		free(q);
	}
	free(keep);
	printf("continued\n");
	return 0;
}
