/* free of the address of a stack variable: outside every arena. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char local[64] = {1};
	void *volatile bad = local;
	printf("%p\n", bad);
	fflush(stdout);
	free(bad); /* bug */
	return local[0] == 7;
}
