/* A block whose only pointer is dropped: "definitely lost". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

static void leak(void)
{
	char *p = malloc(4000); /* @alloc */
	memset(p, 'x', 4000);
	sink = p;
	sink = NULL; /* the only pointer is gone */
}

int main(void)
{
	leak();
	puts("done");
	return 0;
}
