/*
 * large: objects from 64 KiB to 4 MiB (log-uniform), 16 live at once; each
 * step frees a random one and allocates a new one in its place, writing one
 * byte per 4 KiB page, as a program filling a buffer would.  This is where
 * an allocator that returns every large block to the OS pays page faults.
 *
 * Prints ns per malloc+free.
 */
#include "common.h"

#define LIVE 16

static size_t large_size(rng_t *rng)
{
	/* log-uniform in [64 KiB, 4 MiB]: bucket 2^16 .. 2^21, uniform inside */
	unsigned b = 16 + (unsigned)rng_below(rng, 6);
	size_t lo = (size_t)1 << b;
	return rng_range(rng, lo, 2 * lo);
}

int main(void)
{
	long steps = scaled(20000, 100);
	rng_t rng;
	rng_seed(&rng, 4242);
	void *v[LIVE];
	for (int i = 0; i < LIVE; i++) {
		size_t sz = large_size(&rng);
		v[i] = xmalloc(sz);
		touch(v[i], sz, 1);
	}
	double t0 = now_sec();
	for (long s = 0; s < steps; s++) {
		int i = (int)rng_below(&rng, LIVE);
		free(v[i]);
		size_t sz = large_size(&rng);
		v[i] = xmalloc(sz);
		touch(v[i], sz, 1);
	}
	double secs = now_sec() - t0;
	for (int i = 0; i < LIVE; i++)
		free(v[i]);
	report("large", secs * 1e9 / (double)steps, steps, secs);
	return 0;
}
