/* Blocks reached only through interior pointers: a global pointing 10
 * bytes into one block, and one pointing into the middle of a block that
 * realloc moved. */
#include <stdlib.h>

#include "wipe.h"
#include <string.h>

char *volatile inside;
char *volatile middle;

int main(void)
{
	char *p = malloc(100);
	inside = p + 10;
	p = NULL;
	char *q = malloc(50);
	memset(q, 'x', 50);
	q = realloc(q, 5000);
	middle = q + 2500;
	q = NULL;
	wipe_stack(); /* no stale copy of the pointers: only the root under test holds them */
	return 0;
}
// expect-rc: 0
