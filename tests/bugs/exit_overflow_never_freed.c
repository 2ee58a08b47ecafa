/*
 * One byte written past a 100-byte block that is never freed: nothing
 * ever frees, reallocates or sweeps it, so only the check at exit
 * (check_at_exit=1, the default) sees its canary damaged.  The report
 * names the block and its allocation stack.
 */
#include <stdio.h>
#include <stdlib.h>

char *volatile leak;

int main(void)
{
	leak = malloc(100); /* @alloc */
	printf("%p\n", (void *)leak);
	printf("expect: in exit()\n");
	fflush(stdout);
	((volatile char *)leak)[100] = 'x'; /* bug */
	return 0;
}
