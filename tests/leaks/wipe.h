/*
 * Conservative scanning (spanalloc's and LeakSanitizer's alike) takes any
 * word that holds a block's address for a pointer, stale stack slots
 * included.  The leaky programs overwrite the stack below them after
 * losing their blocks, so that both tools see the same thing.
 */
#include <string.h>

__attribute__((noinline)) static void wipe_stack(void)
{
	volatile char buf[32768];
	memset((char *)buf, 0, sizeof buf);
	__asm__ volatile("" : : "r"(buf) : "memory");
}
