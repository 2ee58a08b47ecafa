/* A correct program through the sa_ API: every tier, calloc, realloc
 * chains, aligned blocks, threads.  ASan must report nothing. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "spanalloc.h"

static void *work(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	unsigned char *slot[64] = {0};
	size_t len[64] = {0};
	for (int i = 0; i < 20000; i++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		unsigned k = (unsigned)(seed >> 33) % 64;
		size_t n = (seed >> 20) % 100 < 3 ? 32769 + (seed >> 40) % 100000 : (seed >> 40) % 3000;
		if (slot[k] && (seed & 3) == 0) {
			unsigned char *q = sa_realloc(slot[k], n);
			if (n && !q)
				return (void *)1;
			size_t keep = len[k] < n ? len[k] : n;
			for (size_t j = 0; j < keep; j++)
				if (q[j] != (unsigned char)k)
					return (void *)1;
			if (n)
				memset(q, (int)k, n);
			slot[k] = n ? q : NULL;
			len[k] = n;
			continue;
		}
		sa_free(slot[k]);
		if (seed & 8) {
			slot[k] = sa_calloc(1, n);
			for (size_t j = 0; j < n; j++)
				if (slot[k][j])
					return (void *)1;
		} else if (seed & 16) {
			void *a = NULL;
			if (sa_posix_memalign(&a, (size_t)16 << (seed >> 60) % 9, n) != 0)
				return (void *)1;
			slot[k] = a;
		} else {
			slot[k] = sa_malloc(n);
		}
		if (!slot[k])
			return (void *)1;
		memset(slot[k], (int)k, n);
		len[k] = n;
	}
	for (int k = 0; k < 64; k++)
		sa_free(slot[k]);
	return NULL;
}

int main(void)
{
	pthread_t t[3];
	for (uintptr_t i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, work, (void *)(i + 1)) != 0)
			return 2;
	void *r = work((void *)7);
	for (int i = 0; i < 3; i++) {
		void *ri;
		pthread_join(t[i], &ri);
		if (ri)
			return 3;
	}
	if (r)
		return 3;
	if (sa_check_heap() != 0)
		return 4;
	puts("clean");
	return 0;
}
