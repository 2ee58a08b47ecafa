/* A leaked block in a slot that was used and freed before (the common
 * case in a long-running program): "definitely lost", as for a fresh one.
 * Nothing the allocator keeps about the slot's past (a quarantine entry,
 * a free list) may count as a pointer to the new block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

static void churn(void)
{
	/* 8 MiB of 100-byte blocks through the quarantine and back. */
	for (int i = 0; i < 80000; i++) {
		char *q = malloc(100);
		q[0] = 1;
		free(q);
	}
}

static void leak(void)
{
	char *p = malloc(100); /* @alloc */
	memset(p, 'x', 100);
	sink = p;
	sink = NULL; /* the only pointer is gone */
}

int main(void)
{
	churn();
	leak();
	puts("done");
	return 0;
}
