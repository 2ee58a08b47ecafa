/* A block whose only pointer is on the stack of a thread still alive
 * (blocked in read) at exit: not a leak. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "wipe.h"
#include <string.h>
#include <unistd.h>

static int ready[2], never[2];

/* 64 KiB down the thread's stack, far from its TLS and descriptor at the
 * top (which the check scans too). */
__attribute__((noinline)) static void hold(void)
{
	char *volatile mine = malloc(4000);
	memset(mine, 1, 4000);
	char c = 1;
	if (write(ready[1], &c, 1) != 1)
		abort();
	if (read(never[0], &c, 1) < 0) /* blocks until exit */
		abort();
	free(mine);
}

__attribute__((noinline)) static void *worker(void *arg)
{
	volatile char pad[65536];
	pad[0] = (char)(uintptr_t)arg;
	hold();
	return (void *)(uintptr_t)pad[0];
}

int main(void)
{
	if (pipe(ready) || pipe(never))
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	char c;
	if (read(ready[0], &c, 1) != 1)
		return 1;
	wipe_stack(); /* no stale copy of the pointers: only the root under test holds them */
	return 0;
}
// expect-rc: 0
