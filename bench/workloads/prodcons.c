/*
 * prodcons: a producer thread allocates blocks (16 B - 1 KiB, skewed toward
 * small) and hands them through a bounded single-producer/single-consumer
 * queue to a consumer thread, which reads and frees them: every free is a
 * free from a thread other than the allocating one.
 *
 * Prints ns per block (malloc in one thread + free in the other).
 */
#include "common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define QCAP 4096 /* power of two */

struct queue {
	_Alignas(64) _Atomic unsigned long head; /* written by consumer */
	_Alignas(64) _Atomic unsigned long tail; /* written by producer */
	_Alignas(64) void *slot[QCAP];
};

static struct queue q;
static long total;

static void backoff(unsigned *spins)
{
	if (++*spins < 64) {
		__asm__ volatile("" ::: "memory");
	} else {
		*spins = 0;
		sched_yield();
	}
}

static void *producer(void *arg)
{
	(void)arg;
	rng_t rng;
	rng_seed(&rng, 7);
	unsigned long tail = 0, head_seen = 0;
	for (long i = 0; i < total; i++) {
		size_t sz = rng_skewed_size(&rng, 4, 10);
		unsigned char *p = xmalloc(sz);
		p[0] = (unsigned char)i;
		touch(p + 1, sz - 1, 0);
		unsigned spins = 0;
		while (tail - head_seen >= QCAP) {
			head_seen = atomic_load_explicit(&q.head, memory_order_acquire);
			if (tail - head_seen >= QCAP)
				backoff(&spins);
		}
		q.slot[tail & (QCAP - 1)] = p;
		tail++;
		atomic_store_explicit(&q.tail, tail, memory_order_release);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	unsigned long head = 0, tail_seen = 0;
	unsigned long check = 0;
	for (long i = 0; i < total; i++) {
		unsigned spins = 0;
		while (head == tail_seen) {
			tail_seen = atomic_load_explicit(&q.tail, memory_order_acquire);
			if (head == tail_seen)
				backoff(&spins);
		}
		unsigned char *p = q.slot[head & (QCAP - 1)];
		if (p[0] != (unsigned char)i) {
			fprintf(stderr, "prodcons: corrupted block %ld\n", i);
			exit(3);
		}
		check += p[0];
		free(p);
		head++;
		atomic_store_explicit(&q.head, head, memory_order_release);
	}
	escape(&check);
	return NULL;
}

int main(void)
{
	total = scaled(4000000, 10000);
	pthread_t pt, ct;
	double t0 = now_sec();
	if (pthread_create(&ct, NULL, consumer, NULL) || pthread_create(&pt, NULL, producer, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 2;
	}
	pthread_join(pt, NULL);
	pthread_join(ct, NULL);
	double secs = now_sec() - t0;
	report("prodcons", secs * 1e9 / (double)total, total, secs);
	return 0;
}
