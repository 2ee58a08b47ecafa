/* A large block (a span of its own) whose only pointer is dropped:
 * "definitely lost", as for a small block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

static void leak(void)
{
	char *p = malloc(100000); /* @alloc */
	memset(p, 'x', 100000);
	sink = p;
	sink = NULL; /* the only pointer is gone */
}

int main(void)
{
	leak();
	puts("done");
	return 0;
}
