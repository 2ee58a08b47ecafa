/* The library of clean_lib.c: its globals hold the only pointers (one in
 * .data, one in .bss; hidden, so that the dlopen'ed copy has its own). */
#include <stdlib.h>

__attribute__((visibility("hidden"))) void *lib_in_data = &lib_in_data;
__attribute__((visibility("hidden"))) void *lib_in_bss[4];

void lib_stash(void *p, int i)
{
	if (i < 0)
		lib_in_data = p;
	else
		lib_in_bss[i & 3] = p;
}

void *lib_get(int i) { return i < 0 ? lib_in_data : lib_in_bss[i & 3]; }
