/* realloc(p, 0) frees p (glibc's rule); freeing p again is a double free. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *keep = malloc(64);
	void *volatile p = malloc(64);
	printf("%p\n", p);
	fflush(stdout);
	if (realloc(p, 0) != NULL)
		return 3;
	free(p); /* bug */
	free(keep);
	return 0;
}
