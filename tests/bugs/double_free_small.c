/* Double free of a small (64-byte) block: spanalloc must report and abort. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *keep = malloc(64);       /* the span stays in use */
	void *volatile p = malloc(64); /* @alloc */
	printf("%p\n", p);
	fflush(stdout);
	free(p);           /* @free */
	free(p); /* bug */ /* @report */
	free(keep);
	return 0;
}
