/*
 * fuzz_realloc: realloc chains: one block walked through many reallocs
 * (creeping up a byte at a time, doubling through the tiers, shrinking),
 * reallocarray and its overflow, realloc to zero and from NULL, and the
 * contents carried over every move.
 */
#include "ops.h"

static const ops_profile profile = {
	.name = "realloc",
	.op_weight = {[OP_MALLOC] = 15,
		      [OP_CALLOC] = 4,
		      [OP_REALLOC] = 35,
		      [OP_REALLOCARRAY] = 8,
		      [OP_FREE] = 15,
		      [OP_ALIGNED_ALLOC] = 3,
		      [OP_POSIX_MEMALIGN] = 2,
		      [OP_USABLE] = 5,
		      [OP_STATS] = 1,
		      [OP_CHECK] = 2,
		      [OP_FLUSH] = 2,
		      [OP_SCAVENGE] = 1,
		      [OP_FAIL] = 4,
		      [OP_REALLOC_CHAIN] = 20,
		      [OP_DEBUG_MODE] = 2},
	.tier_weight =
		{[T_TINY] = 20, [T_SMALL_EDGE] = 20, [T_SMALL] = 15, [T_LARGE] = 10, [T_LARGE_CACHE] = 15, [T_MEDIUM] = 20},
	.max_live = 512,
	.max_ops = 800,
	.max_batch = 64,
	.nthreads = 1,
	.max_large = 2 << 20,
	.max_align_log2 = 16,
};

FUZZ_OPS_HARNESS(profile)
