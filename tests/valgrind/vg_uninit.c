/* A branch on heap memory malloc never initialised: "Conditional jump or
 * move depends on uninitialised value(s)", the value created by a heap
 * allocation at the malloc's line (the runner passes --track-origins). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	int *v = malloc(10 * sizeof *v); /* @alloc */
	v[0] = 1;
	if (v[5] > 0) /* @bug */
		puts("positive");
	else
		puts("not positive");
	free(v);
	return 0;
}
