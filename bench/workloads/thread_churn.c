/*
 * thread_churn: many short-lived threads.  Each round starts THREADS
 * threads (default 4); each allocates 2000 blocks (16 B - 2 KiB, skewed
 * toward small), frees them in a scrambled order, and exits, so per-thread
 * caches are set up and torn down over and over.
 *
 *   thread_churn [THREADS]
 *
 * Prints ns per malloc+free (wall time, all threads).
 */
#include "common.h"

#include <pthread.h>

#define PER_THREAD 2000

static void *worker(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg;
	rng_t rng;
	rng_seed(&rng, seed);
	void *v[PER_THREAD];
	for (int i = 0; i < PER_THREAD; i++) {
		size_t sz = rng_skewed_size(&rng, 4, 11);
		v[i] = xmalloc(sz);
		touch(v[i], sz, 0);
	}
	/* free in a scrambled order: stride coprime with PER_THREAD */
	for (int i = 0; i < PER_THREAD; i++)
		free(v[(i * 7) % PER_THREAD]);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 4;
	if (nthreads < 1 || nthreads > 256) {
		fprintf(stderr, "usage: %s [THREADS]\n", argv[0]);
		return 2;
	}
	long rounds = scaled(800, 5);
	pthread_t th[256];
	double t0 = now_sec();
	for (long r = 0; r < rounds; r++) {
		for (int t = 0; t < nthreads; t++)
			if (pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)(r * nthreads + t + 1))) {
				fprintf(stderr, "pthread_create failed\n");
				return 2;
			}
		for (int t = 0; t < nthreads; t++)
			pthread_join(th[t], NULL);
	}
	double secs = now_sec() - t0;
	long ops = rounds * nthreads * PER_THREAD;
	printf("threads %d\nrounds %ld\n", nthreads, rounds);
	report("thread_churn", secs * 1e9 / (double)ops, ops, secs);
	return 0;
}
