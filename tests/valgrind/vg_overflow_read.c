/* Read one byte past a 100-byte block (in its size class's slack):
 * memcheck reports "0 bytes after a block of size 100 alloc'd". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(100); /* @alloc */
	memset(p, 1, 100);
	volatile char c = p[100]; /* @bug */
	printf("%d\n", c);
	free(p);
	return 0;
}
