/*
 * larson: a server-style mix after Larson and Krishnan's benchmark.
 * THREADS threads (default 4) each work on a table of slots holding live
 * blocks of random sizes (16 B - 2 KiB, skewed toward small): pick a random
 * slot, free its block, allocate a new one there.  Between rounds the
 * tables rotate among the threads, so most blocks are freed by a thread
 * other than the one that allocated them, as when a server hands requests
 * from thread to thread.
 *
 *   larson [THREADS]
 *
 * Prints ns per free+malloc (wall time over all threads).
 */
#include "common.h"

#include <pthread.h>

#define SLOTS 4000

static int nthreads;
static long rounds, ops_per_round;
static void ***tables; /* [nthreads][SLOTS] */
static pthread_barrier_t barrier;

static void *worker(void *arg)
{
	long id = (long)(intptr_t)arg;
	rng_t rng;
	rng_seed(&rng, 1000 + (uint64_t)id);
	for (long r = 0; r < rounds; r++) {
		void **t = tables[(id + r) % nthreads];
		for (long i = 0; i < ops_per_round; i++) {
			size_t k = (size_t)rng_below(&rng, SLOTS);
			free(t[k]);
			size_t sz = rng_skewed_size(&rng, 4, 11);
			t[k] = xmalloc(sz);
			touch(t[k], sz, 0);
		}
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	nthreads = argc > 1 ? atoi(argv[1]) : 4;
	if (nthreads < 1 || nthreads > 256) {
		fprintf(stderr, "usage: %s [THREADS]\n", argv[0]);
		return 2;
	}
	ops_per_round = 20000;
	rounds = scaled(4 * 4000000L / (nthreads * ops_per_round), 4);

	rng_t rng;
	rng_seed(&rng, 99);
	tables = xmalloc((size_t)nthreads * sizeof *tables);
	for (int t = 0; t < nthreads; t++) {
		tables[t] = xmalloc(SLOTS * sizeof(void *));
		for (int i = 0; i < SLOTS; i++) {
			size_t sz = rng_skewed_size(&rng, 4, 11);
			tables[t][i] = xmalloc(sz);
			touch(tables[t][i], sz, 0);
		}
	}
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	pthread_t *th = xmalloc((size_t)nthreads * sizeof *th);

	double t0 = now_sec();
	for (int t = 0; t < nthreads; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t)) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	double secs = now_sec() - t0;

	for (int t = 0; t < nthreads; t++) {
		for (int i = 0; i < SLOTS; i++)
			free(tables[t][i]);
		free(tables[t]);
	}
	free(tables);
	free(th);
	pthread_barrier_destroy(&barrier);
	long ops = rounds * ops_per_round * nthreads;
	printf("threads %d\n", nthreads);
	report("larson", secs * 1e9 / (double)ops, ops, secs);
	return 0;
}
