/*
 * realloc_chain: growth chains, as string builders and growing arrays make
 * them.  64 buffers live at once; each step picks one and grows it, either
 * by appending 1-64 bytes (realloc to the exact new length) or, for every
 * fourth buffer, by half its size again (a vector doubling policy).  A
 * buffer that reaches its target length (256 B - 256 KiB, skewed toward
 * small) is freed and a new chain starts in its place.  The new bytes are
 * written and the first byte is checked to survive every move.
 *
 * Prints ns per realloc.
 */
#include "common.h"

#define LIVE 64

struct chain {
	unsigned char *p;
	size_t len, target;
	int geometric;
	unsigned char tag;
};

static void start(struct chain *c, rng_t *rng, int idx)
{
	c->len = rng_range(rng, 1, 32);
	c->target = rng_skewed_size(rng, 8, 18);
	c->geometric = (idx % 4) == 0;
	c->tag = (unsigned char)rng_next(rng);
	c->p = xmalloc(c->len);
	memset(c->p, c->tag, c->len);
}

int main(void)
{
	long steps = scaled(3000000, 10000);
	rng_t rng;
	rng_seed(&rng, 1234);
	struct chain ch[LIVE];
	for (int i = 0; i < LIVE; i++)
		start(&ch[i], &rng, i);

	long reallocs = 0;
	double t0 = now_sec();
	for (long s = 0; s < steps; s++) {
		int i = (int)rng_below(&rng, LIVE);
		struct chain *c = &ch[i];
		size_t add = c->geometric ? c->len / 2 + 1 : rng_range(&rng, 1, 64);
		size_t nlen = c->len + add;
		unsigned char *np = realloc(c->p, nlen);
		if (!np) {
			fprintf(stderr, "realloc(%zu) failed\n", nlen);
			return 2;
		}
		if (np[0] != c->tag) {
			fprintf(stderr, "realloc_chain: contents lost\n");
			return 3;
		}
		memset(np + c->len, c->tag, add < 64 ? add : 64);
		c->p = np;
		c->len = nlen;
		reallocs++;
		if (c->len >= c->target) {
			free(c->p);
			start(c, &rng, i);
		}
	}
	double secs = now_sec() - t0;
	for (int i = 0; i < LIVE; i++)
		free(ch[i].p);
	report("realloc_chain", secs * 1e9 / (double)reallocs, reallocs, secs);
	return 0;
}
