/*
 * pairs: single-thread malloc+free pairs of one size.
 *
 *   pairs SIZE [ITERATIONS [baseline]]
 *
 * Without ITERATIONS the count depends on the size and BENCH_SCALE (about
 * 0.2-1 s on a 2-core machine).  With ITERATIONS the count is exact, which
 * the callgrind cost model uses: (Ir(2N) - Ir(N)) / N instructions per pair.
 * With "baseline" the loop is the same but writes to a static buffer instead
 * of calling malloc and free: its instruction count is the loop's own cost,
 * which the cost model subtracts.  Prints ns per malloc+free pair.
 */
#include "common.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SIZE [ITERATIONS]\n", argv[0]);
		return 2;
	}
	size_t size = strtoul(argv[1], NULL, 10);
	if (size == 0) {
		fprintf(stderr, "pairs: SIZE must be > 0\n");
		return 2;
	}
	long iters;
	if (argc >= 3)
		iters = strtol(argv[2], NULL, 10);
	else
		iters = scaled(size <= 4096 ? 20000000L : 2000000L, 1000);
	if (iters <= 0) {
		fprintf(stderr, "pairs: ITERATIONS must be > 0\n");
		return 2;
	}

	if (argc >= 4 && !strcmp(argv[3], "baseline")) {
		static unsigned char buf[1 << 16];
		void *volatile src = buf;
		double t0 = now_sec();
		for (long i = 0; i < iters; i++) {
			void *p = src;
			touch(p, size, 0);
		}
		double secs = now_sec() - t0;
		printf("size %zu\n", size);
		report("pairs-baseline", secs * 1e9 / (double)iters, iters, secs);
		return 0;
	}

	/* Warm up: the first calls set up thread caches and spans. */
	for (int i = 0; i < 1000; i++) {
		void *p = xmalloc(size);
		touch(p, size, 0);
		free(p);
	}

	double t0 = now_sec();
	for (long i = 0; i < iters; i++) {
		void *p = malloc(size);
		if (!p) {
			fprintf(stderr, "malloc(%zu) failed\n", size);
			return 2;
		}
		touch(p, size, 0);
		free(p);
	}
	double secs = now_sec() - t0;
	printf("size %zu\n", size);
	report("pairs", secs * 1e9 / (double)iters, iters, secs);
	return 0;
}
