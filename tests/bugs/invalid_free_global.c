/* free of the address of a global variable: outside every arena. */
#include <stdio.h>
#include <stdlib.h>

char global_buf[64];

int main(void)
{
	void *volatile bad = global_buf;
	printf("%p\n", bad);
	fflush(stdout);
	free(bad); /* bug */
	return 0;
}
