/*
 * frag: fragmentation under phase changes.  Eight phases, each with its
 * own size range (small, medium, large, then mixes).  A phase fills the
 * heap to 48 MiB of live objects, churns (frees random objects and
 * allocates new ones of the phase's sizes), then frees everything it
 * allocated except its survivors: one object in 32, kept to the end of the
 * run, scattered among the freed ones.  An allocator that cannot reuse the
 * memory around the survivors for the next phase's sizes, or return it to
 * the OS, shows a peak RSS far above the live bytes (printed as
 * peak_live_bytes; the runner measures peak RSS).  Objects are written in
 * full, so every byte a program would use is resident.
 *
 * BENCH_SCALE scales the churn only: the memory shape is the same in the
 * quick mode.  Prints ns per malloc+free.
 */
#include "common.h"

#define PHASES 8
#define LIVE_TARGET (48u << 20)
#define MAX_OBJS (1u << 22)

struct obj {
	void *p;
	unsigned size;
	unsigned survivor;
};

static const struct {
	unsigned lo_shift, hi_shift;
} phase_sizes[PHASES] = {
	{4, 8},   /* 16 B - 256 B */
	{8, 12},  /* 256 B - 4 KiB */
	{12, 15}, /* 4 KiB - 32 KiB */
	{15, 18}, /* 32 KiB - 256 KiB */
	{4, 6},   /* 16 B - 64 B */
	{10, 14}, /* 1 KiB - 16 KiB */
	{6, 10},  /* 64 B - 1 KiB */
	{4, 15},  /* everything small, skewed */
};

static struct obj *objs;
static size_t nobjs;
static size_t live_bytes, peak_live;
static long ops;

static void alloc_into(struct obj *o, rng_t *rng, int ph)
{
	size_t sz = rng_skewed_size(rng, phase_sizes[ph].lo_shift, phase_sizes[ph].hi_shift);
	o->p = xmalloc(sz);
	memset(o->p, 0x5a, sz);
	o->size = (unsigned)sz;
	o->survivor = rng_below(rng, 32) == 0;
	live_bytes += sz;
	if (live_bytes > peak_live)
		peak_live = live_bytes;
	ops++;
}

int main(void)
{
	long churn = scaled(100000, 1000);
	rng_t rng;
	rng_seed(&rng, 777);
	objs = xmalloc(MAX_OBJS * sizeof *objs);
	size_t survivors = 0;

	double t0 = now_sec();
	for (int ph = 0; ph < PHASES; ph++) {
		size_t first = nobjs;
		size_t phase_bytes = 0;
		/* fill */
		while (phase_bytes < LIVE_TARGET && nobjs < MAX_OBJS) {
			alloc_into(&objs[nobjs], &rng, ph);
			phase_bytes += objs[nobjs].size;
			nobjs++;
		}
		size_t count = nobjs - first;
		/* churn: replace random non-survivors */
		for (long c = 0; c < churn; c++) {
			struct obj *o = &objs[first + rng_below(&rng, count)];
			if (o->survivor)
				continue;
			free(o->p);
			live_bytes -= o->size;
			alloc_into(o, &rng, ph);
		}
		/* free all but the survivors, compacting the survivors down */
		size_t keep = first;
		for (size_t i = first; i < nobjs; i++) {
			if (objs[i].survivor) {
				objs[keep++] = objs[i];
			} else {
				free(objs[i].p);
				live_bytes -= objs[i].size;
			}
		}
		nobjs = keep;
		survivors = keep;
	}
	double secs = now_sec() - t0;
	size_t surv_bytes = live_bytes;
	for (size_t i = 0; i < nobjs; i++)
		free(objs[i].p);
	free(objs);
	printf("peak_live_bytes %zu\nsurvivors %zu\nsurvivor_bytes %zu\n", peak_live, survivors, surv_bytes);
	report("frag", secs * 1e9 / (double)ops, ops, secs);
	return 0;
}
