/*
 * fuzz_threads: two threads on one input.  The threads take turns (a
 * switch operation hands over), so the run is deterministic given the
 * input, and either frees and reallocs the other's blocks (remote frees
 * into spans the other thread caches, full spans coming back through
 * needsweep).  A burst operation runs both at once on disjoint blocks.
 * Double frees across threads must be reported (abort_on_error=0), and a
 * fork leaves the child a heap it can free and check.
 * At the end both threads exit (their caches flushed) and the bitmaps
 * must match the counters exactly.
 */
#include "ops.h"

static const ops_profile profile = {
	.name = "threads",
	.op_weight = {[OP_MALLOC] = 25,
		      [OP_FREE] = 25,
		      [OP_SWITCH] = 18,
		      [OP_BURST] = 5,
		      [OP_REALLOC] = 8,
		      [OP_CALLOC] = 3,
		      [OP_ALIGNED_ALLOC] = 2,
		      [OP_POSIX_MEMALIGN] = 1,
		      [OP_BATCH_ALLOC] = 5,
		      [OP_BATCH_FREE] = 5,
		      [OP_CHECK] = 2,
		      [OP_FLUSH] = 2,
		      [OP_USABLE] = 2,
		      [OP_STATS] = 1,
		      [OP_FAIL] = 1,
		      [OP_REALLOC_CHAIN] = 1,
		      [OP_FORK] = 1,
		      [OP_BAD] = 3},
	.tier_weight =
		{[T_TINY] = 25, [T_SMALL_EDGE] = 30, [T_SMALL] = 15, [T_LARGE_CACHE] = 10, [T_LARGE] = 5, [T_MEDIUM] = 15},
	.max_live = 2048,
	.max_ops = 800,
	.max_batch = 300,
	.nthreads = 2,
	.max_large = 1 << 20,
	.max_align_log2 = 12,
};

FUZZ_OPS_HARNESS(profile)
