/* A realloc'ed buffer lost: one leak of the new size, allocated from the
 * realloc's caller; the old block was freed, so it is not a leak. */
#include <stdlib.h>

#include "wipe.h"

__attribute__((noinline)) char *grow_buffer(void)
{
	char *p = malloc(40);
	p[0] = 1;
	return realloc(p, 7000);
}

int main(void)
{
	char *volatile p = grow_buffer();
	p = NULL;
	wipe_stack();
	return 0;
}
// expect: Direct 7000 1 grow_buffer
// expect-rc: 23
