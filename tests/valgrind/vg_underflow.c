/* Write one byte before a 64-byte block (into the redzone before it):
 * "Invalid write of size 1", described by memcheck against the nearest
 * block. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile keep = malloc(64);
	char *volatile p = malloc(64);
	p[-1] = 'x'; /* @bug */
	puts("written");
	free(p);
	free(keep);
	return 0;
}
