/*
 * batch: allocate a batch of same-size objects, then free them all, many
 * times over.  Default 10000 objects of 64 bytes; the frees run in
 * allocation order.
 *
 *   batch [SIZE [BATCH]]
 *
 * Prints ns per malloc+free (one allocation and its free count as one op).
 */
#include "common.h"

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	long batch = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
	if (size == 0 || batch <= 0) {
		fprintf(stderr, "usage: %s [SIZE [BATCH]]\n", argv[0]);
		return 2;
	}
	long rounds = scaled(1200, 5);
	void **v = xmalloc((size_t)batch * sizeof *v);

	double t0 = now_sec();
	for (long r = 0; r < rounds; r++) {
		for (long i = 0; i < batch; i++) {
			v[i] = malloc(size);
			if (!v[i]) {
				fprintf(stderr, "malloc failed\n");
				return 2;
			}
			touch(v[i], size, 0);
		}
		for (long i = 0; i < batch; i++)
			free(v[i]);
	}
	double secs = now_sec() - t0;
	long ops = rounds * batch;
	free(v);
	printf("size %zu\nbatch %ld\n", size, batch);
	report("batch", secs * 1e9 / (double)ops, ops, secs);
	return 0;
}
