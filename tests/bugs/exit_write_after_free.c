/*
 * A write into a freed 200-byte block that is never handed out again and
 * whose span is never swept: the program allocates nothing afterwards.
 * With the default quarantine the block waits in it until exit; with
 * quarantine_kb=0 it is free in its span at once.  Either way only the
 * check at exit sees the poison damaged, and names the block with its
 * allocation and free stacks.
 */
#include <stdio.h>
#include <stdlib.h>

char *volatile p;

int main(void)
{
	p = malloc(200); /* @alloc */
	printf("%p\n", (void *)p);
	printf("expect: freed block modified at offset 24\n");
	printf("expect: in exit()\n");
	fflush(stdout);
	free(p);                        /* @free */
	((volatile char *)p)[24] = 'x'; /* bug */
	return 0;
}
