/* Double free of an 8-byte block (with tiny=1, a tiny one sharing its 16-byte
 * block with a neighbour): spanalloc must report and abort. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *keep = malloc(4); /* with tiny=1, a neighbour in the same 16-byte block */
	void *volatile p = malloc(8);
	printf("%p\n", p);
	fflush(stdout);
	free(p);
	free(p); /* bug */
	free(keep);
	return 0;
}
