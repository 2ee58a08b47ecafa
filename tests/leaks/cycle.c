/* Two blocks pointing at each other, lost together: no block points at
 * the pair from outside, so (as LeakSanitizer says) both are indirect. */
#include <stdlib.h>

#include "wipe.h"

__attribute__((noinline)) void **make_pair(void)
{
	void **a = malloc(2 * sizeof *a), **b = malloc(2 * sizeof *b);
	a[0] = b;
	b[0] = a;
	a[1] = b[1] = NULL;
	return a;
}

int main(void)
{
	void **volatile p = make_pair();
	p = NULL;
	wipe_stack();
	return 0;
}
// expect: Indirect 32 2 make_pair
// expect-rc: 23
