/*
 * Write into a freed 100-byte block, run with quarantine_kb=0: the slot is
 * free at once and the next malloc of the size hands it out again (the
 * last freed object of a span is reused first).  The debug build checks
 * the poison when it hands the slot out: reported in malloc().
 */
#include <stdio.h>
#include <stdlib.h>

void *volatile sink;

int main(void)
{
	char *volatile p = malloc(100); /* @alloc */
	printf("%p\n", p);
	printf("expect: freed block modified at offset 10\n");
	printf("expect: in malloc()\n");
	fflush(stdout);
	free(p);                         /* @free */
	p[10] = 'x';                     /* bug */
	for (int i = 0; i < 1000; i++) { /* kept: the slot must come back */
		sink = malloc(100);
		if (!sink)
			return 2;
	}
	return 0;
}
