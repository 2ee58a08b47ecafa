/*
 * whichmalloc: print the file of the shared object whose malloc this
 * process calls, so the runner can check that an LD_PRELOAD took effect
 * (and that the library loads and survives a few calls at all).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	void *(*volatile fn)(size_t) = malloc;
	Dl_info info;
	char *p = fn(100);
	if (!p)
		return 1;
	memset(p, 1, 100);
	p = realloc(p, 100000);
	if (!p)
		return 1;
	free(p);
	if (!dladdr((void *)fn, &info) || !info.dli_fname) {
		fprintf(stderr, "whichmalloc: dladdr failed\n");
		return 1;
	}
	printf("%s\n", info.dli_fname);
	return 0;
}
