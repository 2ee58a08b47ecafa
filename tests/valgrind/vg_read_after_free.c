/* Read of a freed block: memcheck reports "Invalid read" inside a block
 * of size 100 free'd, with the free's stack. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *p = malloc(100); /* @alloc */
	for (int i = 0; i < 100; i++)
		p[i] = (char)i;
	free(p);                 /* @free */
	volatile char c = p[10]; /* @bug */
	printf("%d\n", c == 10);
	return 0;
}
