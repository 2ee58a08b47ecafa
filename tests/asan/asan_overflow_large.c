/* Read one byte past a 100000-byte block (a large span; the read lands in
 * its last page's slack): ASan reports a use-after-poison. */
#include <stdio.h>
#include <string.h>

#include "spanalloc.h"

int main(void)
{
	char *p = sa_malloc(100000);
	memset(p, 1, 100000);
	printf("%p\n", (void *)p);
	fflush(stdout);
	volatile char c = p[100000]; /* @bug */
	sa_free(p);
	return c;
}
