/*
 * Four threads free their blocks twice at the same moment.  Each report
 * must come out whole: the reports are printed one at a time, and with
 * abort_on_error=1 the run's output is the first report alone (the
 * others' threads wait for the abort).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4

static pthread_barrier_t go;

static void *twice(void *arg)
{
	void *volatile p = arg; /* (volatile: gcc sees the bug otherwise) */
	free(p);
	pthread_barrier_wait(&go);
	free(p); /* bug */
	return NULL;
}

int main(void)
{
	void *keep = malloc(48);
	void *blocks[THREADS];
	pthread_t t[THREADS];
	pthread_barrier_init(&go, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		blocks[i] = malloc(48 + 64 * i); /* four size classes */
		printf("%p\n", blocks[i]);
	}
	fflush(stdout);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, twice, blocks[i]) != 0)
			return 2;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	free(keep);
	printf("continued\n");
	return 0;
}
