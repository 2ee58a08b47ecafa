/* Exit 0 when spanalloc's sa_ symbols are visible in the process. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int main(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "sa_read_memstats");
	printf("%s\n", sym ? "spanalloc" : "not spanalloc");
	return sym ? 0 : 3;
}
