/*
 * A correct multithreaded program for memcheck: every tier (tiny, small,
 * large), calloc, realloc chains, aligned allocations, cross-thread frees
 * through a producer/consumer queue, and thread exit with live caches.
 * Under memcheck it must produce no error at all and leak nothing.
 * Every byte it reads was written or calloc'd, so an "uninitialised"
 * report here is a false positive of the allocator's annotations.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 4000
#define QLEN 64

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static void *queue[QLEN];
static unsigned qhead, qn, producers_left;

static uint64_t next(uint64_t *s)
{
	*s = *s * 6364136223846793005u + 1442695040888963407u;
	return *s >> 33;
}

static size_t pick_size(uint64_t *s)
{
	uint64_t r = next(s) % 100;
	if (r < 30)
		return 1 + next(s) % 15; /* tiny */
	if (r < 95)
		return 16 + next(s) % 4000; /* small */
	return 32769 + next(s) % 100000;    /* large */
}

static unsigned checksum(const unsigned char *p, size_t n)
{
	unsigned h = 0;
	for (size_t i = 0; i < n; i++)
		h = h * 31 + p[i];
	return h;
}

static void push(void *p)
{
	pthread_mutex_lock(&qlock);
	while (qn == QLEN)
		pthread_cond_wait(&qcond, &qlock);
	queue[(qhead + qn++) % QLEN] = p;
	pthread_cond_broadcast(&qcond);
	pthread_mutex_unlock(&qlock);
}

/* A block from another thread, or NULL when every producer is done. */
static void *pop(void)
{
	pthread_mutex_lock(&qlock);
	while (qn == 0 && producers_left)
		pthread_cond_wait(&qcond, &qlock);
	void *p = NULL;
	if (qn) {
		p = queue[qhead];
		qhead = (qhead + 1) % QLEN;
		qn--;
		pthread_cond_broadcast(&qcond);
	}
	pthread_mutex_unlock(&qlock);
	return p;
}

static void *producer(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	void *slot[32] = {0};
	size_t len[32] = {0};
	unsigned sum = 0;
	for (unsigned i = 0; i < ROUNDS; i++) {
		unsigned k = next(&seed) % 32;
		size_t n = pick_size(&seed);
		switch (next(&seed) % 6) {
		case 0: /* realloc chain: grow or shrink, keep the contents */
			if (slot[k]) {
				unsigned char *q = realloc(slot[k], n);
				if (!q)
					abort();
				size_t keep = len[k] < n ? len[k] : n;
				sum += checksum(q, keep);
				memset(q + keep, (int)i, n - keep);
				slot[k] = q;
				len[k] = n;
				break;
			}
			/* fall through */
		case 1:
			free(slot[k]);
			slot[k] = calloc(1, n);
			len[k] = n;
			if (!slot[k])
				abort();
			sum += checksum(slot[k], n); /* calloc'd: defined zeros */
			break;
		case 2: { /* hand a block to the consumer, which frees it */
			char *q = malloc(n);
			if (!q)
				abort();
			memset(q, 'q', n);
			push(q);
			break;
		}
		case 3: {
			void *q = NULL;
			size_t al = (size_t)16 << (next(&seed) % 9); /* 16 .. 4096 */
			if (posix_memalign(&q, al, n) != 0 || ((uintptr_t)q & (al - 1)))
				abort();
			memset(q, 'a', n);
			free(q);
			break;
		}
		default:
			free(slot[k]);
			slot[k] = malloc(n);
			len[k] = n;
			if (!slot[k])
				abort();
			memset(slot[k], (int)k, n);
			sum += checksum(slot[k], n < 64 ? n : 64);
		}
	}
	for (unsigned k = 0; k < 32; k++)
		free(slot[k]);
	pthread_mutex_lock(&qlock);
	producers_left--;
	pthread_cond_broadcast(&qcond);
	pthread_mutex_unlock(&qlock);
	return (void *)(uintptr_t)(sum | 1);
}

static void *consumer(void *arg)
{
	(void)arg;
	unsigned long n = 0;
	void *p;
	while ((p = pop()) != NULL) {
		if (((char *)p)[0] != 'q')
			abort();
		free(p);
		n++;
	}
	return (void *)n;
}

int main(void)
{
	pthread_t prod[THREADS - 1], cons;
	producers_left = THREADS - 1;
	if (pthread_create(&cons, NULL, consumer, NULL) != 0)
		return 2;
	for (uintptr_t i = 0; i < THREADS - 1; i++)
		if (pthread_create(&prod[i], NULL, producer, (void *)(i + 1)) != 0)
			return 2;
	for (int i = 0; i < THREADS - 1; i++) {
		void *r;
		pthread_join(prod[i], &r);
		if (!r)
			return 3;
	}
	void *consumed;
	pthread_join(cons, &consumed);
	char *s = strdup("stress done");
	void *a = aligned_alloc(64, 640);
	void *m = memalign(8192, 100);
	if (!s || !a || !m || malloc_usable_size(s) < 12)
		return 4;
	printf("%s, %lu blocks freed across threads\n", s, (unsigned long)(uintptr_t)consumed);
	free(s);
	free(a);
	free(m);
	return 0;
}
