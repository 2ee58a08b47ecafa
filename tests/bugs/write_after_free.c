/*
 * Write into a freed 100-byte block, then go on allocating and freeing
 * blocks of that size, as a program does: the freed block waits in the
 * thread's quarantine (4 MiB by default), then leaves it and its slot is
 * handed out again.  The debug build checks the freed block's poison on
 * the way (when its span is swept or when its slot is handed out) and
 * reports the write.  The production build
 * keeps no poison: the program runs to the end.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(100); /* @alloc */
	printf("%p\n", p);
	printf("expect: freed block modified at offset 10\n");
	printf("expect-debug: requested size 100\n");
	fflush(stdout);
	free(p);                                /* @free */
	p[10] = 'x';                            /* bug */
	for (int i = 0; i < 100000; i++) {      /* 10 MiB through the quarantine */
		char *volatile q = malloc(100); /* volatile: no malloc/free elision */
		q[0] = 1;
		free(q);
	}
	return 0;
}
