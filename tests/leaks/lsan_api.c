/* The LeakSanitizer interface: __lsan_disable/__lsan_enable and
 * __lsan_ignore_object keep blocks out of the report;
 * __lsan_do_recoverable_leak_check reports and returns 1 while a leak
 * exists, 0 once it is gone; __lsan_do_leak_check reports and exits with
 * the leak exit code. */
#include <stdio.h>
#include <stdlib.h>

#include "wipe.h"
#include <sanitizer/lsan_interface.h>
/* weak: the LeakSanitizer runtime or spanalloc, preloaded, defines them */
#pragma weak __lsan_disable
#pragma weak __lsan_enable
#pragma weak __lsan_ignore_object
#pragma weak __lsan_do_leak_check
#pragma weak __lsan_do_recoverable_leak_check

void *volatile sink;

__attribute__((noinline)) void leak_once(size_t n)
{
	sink = malloc(n);
	sink = NULL;
}

int main(void)
{
	__lsan_disable();
	leak_once(111); /* ignored */
	wipe_stack();
	__lsan_enable();
	sink = malloc(222);
	__lsan_ignore_object(sink);
	sink = NULL;
	int r0 = __lsan_do_recoverable_leak_check();
	void *volatile kept = malloc(444);
	leak_once(555);
	wipe_stack();
	int r1 = __lsan_do_recoverable_leak_check();
	printf("recoverable: %d %d\n", r0, r1);
	fflush(stdout);
	(void)kept;
	__lsan_do_leak_check(); /* reports 555 again and exits */
	printf("not reached\n");
	return 0;
}
// expect: Direct 555 1 leak_once
// expect-stdout: recoverable: 0 1
// expect-rc: 23
// reports: 2
