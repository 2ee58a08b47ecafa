/* realloc grows a block: the new bytes past the old size are
 * uninitialised, the old ones keep their contents.  A branch on the new
 * tail is reported, one on the copied head is not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(40);
	memset(p, 7, 40);
	char *q = realloc(p, 4000); /* @alloc */
	if (q[39] != 7)             /* copied: defined */
		return 1;
	if (q[100] == 7) /* @bug */
		puts("seven");
	free(q);
	return 0;
}
