/*
 * A correct program that returns from main while its threads still
 * allocate, free and realloc blocks of every tier (and sa_check_heap runs
 * from one of them, if the library has it): the check at exit and
 * sa_check_heap must not report a block another thread is in the middle
 * of handing out or freeing.  It must exit 0 with nothing on stderr.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 3
#define SLOTS 256

static void *worker(void *arg)
{
	unsigned id = (unsigned)(size_t)arg, x = id * 2654435761u + 1;
	char *slot[SLOTS] = {0};
	size_t (*check)(void) = (size_t(*)(void))dlsym(RTLD_DEFAULT, "sa_check_heap");
	for (unsigned long n = 0;; n++) {
		x = x * 1103515245u + 12345u;
		unsigned i = (x >> 8) % SLOTS, r = x >> 20;
		size_t size = r % 64 == 0 ? 40000 + r % 300000 : r % 4 == 0 ? 1 + r % 15 : 16 + r % 2000;
		if (slot[i] && r % 3 == 0) {
			char *q = realloc(slot[i], size);
			if (q) {
				slot[i] = q;
				memset(q, 'a', size);
			}
		} else {
			free(slot[i]);
			slot[i] = malloc(size);
			if (slot[i])
				memset(slot[i], 'b', size);
		}
		if (check && id == 0 && n % 20000 == 0)
			check();
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	for (unsigned i = 0; i < THREADS; i++)
		if (pthread_create(&t, NULL, worker, (void *)(size_t)i) != 0)
			return 2;
	usleep(300 * 1000);
	return 0; /* exit with the workers running */
}
