/* __lsan_register_root_region: a block whose only pointer sits in memory
 * the program mapped itself is kept alive by registering that memory as
 * a root; the same in an unregistered mapping (or one registered, then
 * unregistered) is a leak. */
#include <stdlib.h>
#include <sys/mman.h>

#include <sanitizer/lsan_interface.h>
/* weak: the LeakSanitizer runtime or spanalloc, preloaded, defines them */
#pragma weak __lsan_register_root_region
#pragma weak __lsan_unregister_root_region

#include "wipe.h"

__attribute__((noinline)) void *kept(void) { return malloc(48); }
__attribute__((noinline)) void *lost(void) { return malloc(80); }
__attribute__((noinline)) void *dropped(void) { return malloc(112); }

int main(void)
{
	void **a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void **b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void **c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED || c == MAP_FAILED)
		return 1;
	__lsan_register_root_region(a, 4096);
	__lsan_register_root_region(c, 4096);
	a[100] = kept();
	b[200] = lost();
	c[300] = dropped();
	__lsan_unregister_root_region(c, 4096);
	wipe_stack();
	return 0;
}
// expect: Direct 80 1 lost
// expect: Direct 112 1 dropped
// expect-rc: 23
