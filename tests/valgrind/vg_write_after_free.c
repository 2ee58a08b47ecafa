/* Write into a freed block: "Invalid write of size 1", 3 bytes inside a
 * block of size 24 free'd, with the free's stack. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(24); /* @alloc */
	free(p);                       /* @free */
	p[3] = 'x';                    /* @bug */
	puts("written");
	return 0;
}
