/* free of a pointer 2 bytes into an 8-byte tiny object: not an object start. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *p = malloc(8);
	void *volatile bad = p + 2;
	printf("%p\n", bad);
	fflush(stdout);
	free(bad); /* bug */
	free(p);
	return 0;
}
