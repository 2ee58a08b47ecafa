/*
 * Under an address-space limit (ulimit -v) the heap runs out: malloc
 * returns NULL with ENOMEM, the program goes on, and spanalloc says once,
 * on one line, that the OS refused it memory and what the limit is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_BLOCKS (1 << 20)

static size_t vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * 4096;
}

int main(void)
{
	static void *blocks[MAX_BLOCKS];
	void *first = malloc(1000);
	struct rlimit lim;
	getrlimit(RLIMIT_AS, &lim);
	lim.rlim_cur = vm_bytes() + (32u << 20);
	if (setrlimit(RLIMIT_AS, &lim) != 0)
		return 2;
	size_t n = 0;
	while (n < MAX_BLOCKS && (blocks[n] = malloc(1000)) != NULL)
		n++;
	int err = errno;
	/* A second refusal is not said again. */
	void *again = malloc(1000);
	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
	free(again);
	free(first);
	if (n == MAX_BLOCKS) {
		printf("the limit was never reached\n");
		return 3;
	}
	if (err != ENOMEM) {
		printf("errno %d (%s), want ENOMEM\n", err, strerror(err));
		return 4;
	}
	printf("%zu blocks before NULL\n", n);
	return 0;
}
