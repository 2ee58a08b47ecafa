/*
 * A correct threaded program: short-lived threads (their caches and
 * quarantines flushed at exit), blocks allocated by one thread and freed
 * by another (through a queue, and after the allocating thread has
 * exited), realloc of another thread's block, and threads racing on one
 * size class.  It must exit 0 with nothing on stderr.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAVES 20
#define PER_WAVE 4
#define BLOCKS 400

static void *handoff[WAVES][PER_WAVE][BLOCKS]; /* freed by the next wave */

struct job {
	unsigned wave, id;
};

static size_t size_of(unsigned wave, unsigned id, unsigned i)
{
	unsigned x = (wave * 131 + id * 17 + i * 7919) % 1000;
	return x < 30 ? 40000 + x * 100 : x < 300 ? 1 + x % 15 : 16 + x * 3;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	/* The previous wave's blocks (their threads have exited): free some,
	 * realloc others, check their contents. */
	if (j->wave > 0) {
		for (unsigned i = 0; i < BLOCKS; i++) {
			unsigned char *p = handoff[j->wave - 1][j->id][i];
			size_t n = size_of(j->wave - 1, j->id, i);
			if (p[0] != (unsigned char)i || p[n - 1] != (unsigned char)i)
				return (void *)1;
			if (i % 3 == 0) {
				p = realloc(p, n + 100);
				if (!p || p[0] != (unsigned char)i)
					return (void *)1;
			}
			free(p);
		}
	}
	/* Blocks for the next wave. */
	for (unsigned i = 0; i < BLOCKS; i++) {
		size_t n = size_of(j->wave, j->id, i);
		unsigned char *p = malloc(n);
		if (!p)
			return (void *)1;
		memset(p, (int)i, n);
		handoff[j->wave][j->id][i] = p;
	}
	/* Churn of its own, on a class every thread uses. */
	for (unsigned i = 0; i < 2000; i++) {
		char *volatile q = malloc(48);
		if (!q)
			return (void *)1;
		memset((char *)q, 0, 48);
		free(q);
	}
	return NULL;
}

int main(void)
{
	struct job jobs[PER_WAVE];
	for (unsigned w = 0; w < WAVES; w++) {
		pthread_t t[PER_WAVE];
		for (unsigned i = 0; i < PER_WAVE; i++) {
			jobs[i] = (struct job){w, i};
			if (pthread_create(&t[i], NULL, worker, &jobs[i]) != 0)
				return 2;
		}
		for (unsigned i = 0; i < PER_WAVE; i++) {
			void *r;
			pthread_join(t[i], &r);
			if (r)
				return 3;
		}
	}
	/* The last wave's blocks, freed by main. */
	for (unsigned i = 0; i < PER_WAVE; i++)
		for (unsigned k = 0; k < BLOCKS; k++)
			free(handoff[WAVES - 1][i][k]);
	puts("clean");
	return 0;
}
