/*
 * fuzz_small: every small size class (16 B .. 32 KiB), sizes at the class
 * edges (the class size, one less, one more than the class below), the
 * per-class stats, alignments that pick a larger class, realloc within
 * and across classes.
 */
#include "ops.h"

static const ops_profile profile = {
	.name = "small",
	.op_weight = {[OP_MALLOC] = 40,     [OP_CALLOC] = 8,        [OP_REALLOC] = 12,       [OP_REALLOCARRAY] = 2,
		      [OP_FREE] = 40,       [OP_ALIGNED_ALLOC] = 6, [OP_POSIX_MEMALIGN] = 5, [OP_MEMALIGN] = 2,
		      [OP_VALLOC] = 2,      [OP_PVALLOC] = 1,       [OP_USABLE] = 6,         [OP_STATS] = 3,
		      [OP_CHECK] = 3,       [OP_BATCH_ALLOC] = 5,   [OP_BATCH_FREE] = 5,     [OP_FLUSH] = 3,
		      [OP_SCAVENGE] = 1,    [OP_FAIL] = 2,          [OP_CENTRAL_CYCLE] = 2,  [OP_REALLOC_CHAIN] = 2,
		      [OP_PRINT_STATS] = 1, [OP_FORK] = 1,          [OP_DEBUG_MODE] = 2,     [OP_OOM] = 1,
		      [OP_DEBUG_BUG] = 1},
	.tier_weight = {[T_SMALL_EDGE] = 55, [T_SMALL] = 25, [T_TINY] = 10, [T_MEDIUM] = 10},
	.max_live = 4096,
	.max_ops = 2000,
	.max_batch = 400,
	.nthreads = 1,
	.max_large = 1 << 20,
	.max_align_log2 = 13,
};

FUZZ_OPS_HARNESS(profile)
