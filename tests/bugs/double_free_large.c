/* Double free of a large (100 KiB) block: spanalloc must report and abort. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	void *volatile p = malloc(100 * 1024); /* @alloc */
	printf("%p\n", p);
	fflush(stdout);
	free(p);           /* @free */
	free(p); /* bug */ /* @report */
	return 0;
}
