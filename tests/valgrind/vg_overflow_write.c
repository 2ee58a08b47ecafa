/* Write one byte past a 32-byte block: "Invalid write of size 1", 0 bytes
 * after a block of size 32 alloc'd. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(32); /* @alloc */
	p[32] = 'x';                   /* @bug */
	puts("written");
	free(p);
	return 0;
}
