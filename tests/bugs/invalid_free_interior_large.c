/* free of an interior pointer (p + 16) of a large (100 KiB) block. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *p = malloc(100 * 1024);
	void *volatile bad = p + 16;
	printf("%p\n", bad);
	fflush(stdout);
	free(bad); /* bug */
	free(p);
	return 0;
}
