/*
 * Double free of an 8 MiB block: after the first free its pages may be
 * back in the page heap, not cached; the second free must still be caught
 * (as a double free or an invalid free).
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *volatile p = malloc(8 << 20);
	printf("%p\n", p);
	fflush(stdout);
	free(p);
	free(malloc(100));
	free(p); /* bug */
	return 0;
}
