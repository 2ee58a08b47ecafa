/* Read of a freed block (waiting in the quarantine): ASan reports a
 * use-after-poison inside spanalloc's heap. */
#include <stdio.h>

#include "spanalloc.h"

int main(void)
{
	char *p = sa_malloc(100);
	for (int i = 0; i < 100; i++)
		p[i] = (char)i;
	printf("%p\n", (void *)p);
	fflush(stdout);
	sa_free(p);
	volatile char c = p[10]; /* @bug */
	return c;
}
