/*
 * Double free of the last live object of a span: after the first free the
 * span may be swept and its pages given back to the heap.  The second free
 * must still be caught (as a double free or an invalid free).
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *volatile p = malloc(5000);
	printf("%p\n", p);
	fflush(stdout);
	free(p);
	for (int i = 0; i < 1000; i++) /* churn other classes, let sweeps happen */
		free(malloc(16 + (size_t)i * 2));
	free(p); /* bug */
	return 0;
}
