/*
 * One byte written past a 20-byte block (into its slot's slack).  The
 * debug build fills the slack with a canary and checks it at free.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(20); /* @alloc */
	printf("%p\n", p);
	printf("expect: first at offset 20\n");
	printf("expect-debug: requested size 20\n");
	fflush(stdout);
	p[20] = 'x'; /* bug */
	free(p);     /* @report */
	return 0;
}
