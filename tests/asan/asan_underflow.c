/* Write one byte before a 64-byte block (the redzone before it): ASan
 * reports a use-after-poison. */
#include <stdio.h>

#include "spanalloc.h"

int main(void)
{
	char *p = sa_malloc(64);
	printf("%p\n", (void *)p);
	fflush(stdout);
	p[-1] = 'x'; /* @bug */
	sa_free(p);
	return 0;
}
