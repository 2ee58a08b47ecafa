/* Double free of a tiny (8-byte) block: spanalloc must report and abort. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *keep = malloc(4);  /* a neighbour in the same 16-byte tiny block */
	void *volatile p = malloc(8);
	printf("%p\n", p);
	fflush(stdout);
	free(p);
	free(p);                 /* bug */
	free(keep);
	return 0;
}
