/*
 * Read of a large (100 KiB) block that another thread freed, a thread
 * whose first heap call that free was: it had no cache, so the debug
 * build released the block at once instead of holding it in a
 * quarantine, and the read went through unseen.  The freeing thread
 * stays alive (its exit would empty its quarantine) until the read.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile p;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int freed, done;

static void *freer(void *arg)
{
	(void)arg;
	free(p); /* @free */
	pthread_mutex_lock(&mu);
	freed = 1;
	pthread_cond_broadcast(&cv);
	while (!done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	p = malloc(100 * 1024); /* @alloc */
	memset(p, 7, 100 * 1024);
	printf("%p\n", (void *)p);
	printf("expect: read at %p: 50 bytes into a freed block of size 102400\n", (void *)(p + 50));
	fflush(stdout);
	pthread_t t;
	if (pthread_create(&t, NULL, freer, NULL) != 0)
		return 2;
	pthread_mutex_lock(&mu);
	while (!freed)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	volatile char c = p[50]; /* bug: faults in the debug build */
	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	return c == 7 ? 0 : 1;
}
