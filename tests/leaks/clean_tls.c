/* Blocks whose only pointers are __thread variables: the main thread's
 * and a live thread's (static TLS). */
#include <pthread.h>
#include <stdlib.h>

#include "wipe.h"
#include <unistd.h>

/* (not static: the stores must not be optimised away) */
__thread void *tls_keep;
static int ready[2], never[2];

static void *worker(void *arg)
{
	(void)arg;
	tls_keep = malloc(333);
	char c = 1;
	if (write(ready[1], &c, 1) != 1)
		abort();
	if (read(never[0], &c, 1) < 0)
		abort();
	return NULL;
}

int main(void)
{
	if (pipe(ready) || pipe(never))
		return 1;
	tls_keep = malloc(222);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	char c;
	if (read(ready[0], &c, 1) != 1)
		return 1;
	wipe_stack(); /* no stale copy of the pointers: only the root under test holds them */
	return 0;
}
// expect-rc: 0
