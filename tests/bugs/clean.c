/*
 * A correct program: every tier, threads, realloc, aligned allocations.
 * It must exit 0 with nothing at all on stderr.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *work(void *arg)
{
	uintptr_t seed = (uintptr_t)arg;
	void *slot[256] = {0};
	for (unsigned i = 0; i < 200000; i++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		unsigned k = (unsigned)(seed >> 33) % 256;
		size_t n = (seed >> 20) % 100 < 3 ? 32769 + (seed >> 40) % 200000 : 1 + (seed >> 40) % 2000;
		if (slot[k] && (seed & 3) == 0) {
			void *q = realloc(slot[k], n);
			if (!q)
				return (void *)1;
			slot[k] = q;
		} else {
			free(slot[k]);
			slot[k] = (seed & 8) ? calloc(1, n) : malloc(n);
			if (!slot[k])
				return (void *)1;
		}
		memset(slot[k], 0x42, n < 64 ? n : 64);
	}
	for (unsigned k = 0; k < 256; k++)
		free(slot[k]);
	return NULL;
}

int main(void)
{
	pthread_t t[3];
	for (uintptr_t i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, work, (void *)(i + 1)) != 0)
			return 2;
	void *r = work((void *)99);
	for (int i = 0; i < 3; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		if (ret)
			return 3;
	}
	void *a = NULL;
	if (posix_memalign(&a, 4096, 10000) != 0)
		return 4;
	free(a);
	free(aligned_alloc(64, 640));
	free(memalign(1 << 20, 100));
	free(valloc(5000));
	free(malloc(0));
	free(NULL);
	char *s = strdup("clean");
	if (malloc_usable_size(s) < 6)
		return 5;
	printf("%s\n", s);
	free(s);
	return r != NULL;
}
