/* Read one byte past a 100000-byte block (a large span of whole pages,
 * the read lands in its last page's slack): "0 bytes after a block of
 * size 100000 alloc'd". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(100000); /* @alloc */
	memset(p, 1, 100000);
	volatile char c = p[100000]; /* @bug */
	printf("%d\n", c);
	free(p);
	return 0;
}
