/*
 * mixed_batch: batches of objects of mixed sizes (8 B - 4 KiB, skewed
 * toward small, as real programs ask), allocated then freed in a shuffled
 * order, many times over.
 *
 * Prints ns per malloc+free.
 */
#include "common.h"

#define BATCH 10000

int main(void)
{
	long rounds = scaled(600, 3);
	rng_t rng;
	rng_seed(&rng, 42);

	/* Precompute sizes and a free order per variant, so the PRNG is not
	 * on the timed path. */
	enum { VARIANTS = 8 };
	static unsigned sizes[VARIANTS][BATCH];
	static unsigned order[VARIANTS][BATCH];
	for (int k = 0; k < VARIANTS; k++) {
		for (int i = 0; i < BATCH; i++) {
			sizes[k][i] = (unsigned)rng_skewed_size(&rng, 3, 12);
			order[k][i] = (unsigned)i;
		}
		for (int i = BATCH - 1; i > 0; i--) {
			unsigned j = (unsigned)rng_below(&rng, (uint64_t)i + 1);
			unsigned t = order[k][i];
			order[k][i] = order[k][j];
			order[k][j] = t;
		}
	}
	static void *v[BATCH];

	double t0 = now_sec();
	for (long r = 0; r < rounds; r++) {
		int k = (int)(r % VARIANTS);
		for (int i = 0; i < BATCH; i++) {
			v[i] = malloc(sizes[k][i]);
			if (!v[i]) {
				fprintf(stderr, "malloc failed\n");
				return 2;
			}
			touch(v[i], sizes[k][i], 0);
		}
		for (int i = 0; i < BATCH; i++)
			free(v[order[k][i]]);
	}
	double secs = now_sec() - t0;
	long ops = rounds * BATCH;
	report("mixed_batch", secs * 1e9 / (double)ops, ops, secs);
	return 0;
}
