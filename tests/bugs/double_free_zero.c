/*
 * Double free of a malloc(0) block: its liveness bit in the zero-size
 * region is clear at the second free.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *volatile p = malloc(0); /* @alloc */
	printf("%p\n", p);
	fflush(stdout);
	free(p);           /* @free */
	free(p); /* bug */ /* @report */
	return 0;
}
