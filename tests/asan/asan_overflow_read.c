/* Read one byte past a 100-byte block (its slot's slack): ASan reports a
 * use-after-poison. */
#include <stdio.h>
#include <string.h>

#include "spanalloc.h"

int main(void)
{
	char *p = sa_malloc(100);
	memset(p, 1, 100);
	printf("%p\n", (void *)p);
	fflush(stdout);
	volatile char c = p[100]; /* @bug */
	sa_free(p);
	return c;
}
