/* free of an interior pointer (p + 8) of a 64-byte block. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *p = malloc(64);
	void *volatile bad = p + 8;
	printf("%p\n", bad);
	fflush(stdout);
	free(bad); /* bug */
	free(p);
	return 0;
}
