/* Blocks whose only pointers are a shared library's globals: one linked
 * in (libkeep.so, .data and .bss) and one dlopen'ed (the same library
 * loaded again under another name). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "wipe.h"

void lib_stash(void *p, int i);

int main(int argc, char **argv)
{
	(void)argc;
	lib_stash(malloc(1000), -1);
	lib_stash(malloc(2000), 2);
	char path[4096];
	snprintf(path, sizeof path, "%s.dl.so", argv[0]);
	void *h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	void (*stash)(void *, int) = (void (*)(void *, int))dlsym(h, "lib_stash");
	stash(malloc(3000), -1);
	stash(malloc(4000), 1);
	wipe_stack(); /* no stale copy of the pointers: only the root under test holds them */
	return 0;
}
// lib: libkeep.c
// expect-rc: 0
