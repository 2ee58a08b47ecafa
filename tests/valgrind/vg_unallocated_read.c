/* A wild read 4000 bytes past a 100-byte block: heap memory no malloc
 * handed out (a slot never allocated, in the same span).  memcheck must
 * flag it as invalid: the allocator marks its unallocated memory
 * no-access. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(100); /* @alloc */
	memset(p, 1, 100);
	volatile char c = p[4000]; /* @bug */
	printf("%d\n", c);
	free(p);
	return 0;
}
