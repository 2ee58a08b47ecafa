/* free of an interior pointer (p + 8) of a 64-byte block already freed. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *keep = malloc(64);
	char *p = malloc(64);
	void *volatile bad = p + 8;
	free(p);
	printf("%p\n", bad);
	fflush(stdout);
	free(bad); /* bug */
	free(keep);
	return 0;
}
