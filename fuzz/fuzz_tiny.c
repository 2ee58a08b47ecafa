/*
 * fuzz_tiny: the tiny allocator (requests under 16 bytes packed into 16-byte
 * blocks): mostly sizes 0..15 with the odd small one, frees in every
 * order so blocks are released with sub-objects still live, realloc in
 * place and out, alignments a tiny block cannot give.
 */
#include "ops.h"

static const ops_profile profile = {
	.name = "tiny",
	.op_weight = {[OP_MALLOC] = 40,
		      [OP_CALLOC] = 6,
		      [OP_REALLOC] = 10,
		      [OP_REALLOCARRAY] = 2,
		      [OP_FREE] = 40,
		      [OP_ALIGNED_ALLOC] = 4,
		      [OP_POSIX_MEMALIGN] = 3,
		      [OP_MEMALIGN] = 2,
		      [OP_USABLE] = 6,
		      [OP_STATS] = 2,
		      [OP_CHECK] = 3,
		      [OP_BATCH_ALLOC] = 4,
		      [OP_BATCH_FREE] = 4,
		      [OP_FLUSH] = 3,
		      [OP_FAIL] = 1,
		      [OP_CENTRAL_CYCLE] = 1,
		      [OP_REALLOC_CHAIN] = 2,
		      [OP_PRINT_STATS] = 1},
	.tier_weight = {[T_TINY] = 85, [T_SMALL_EDGE] = 8, [T_MEDIUM] = 7},
	.max_live = 4096,
	.max_ops = 3000,
	.max_batch = 1100,
	.nthreads = 1,
	.max_large = 1 << 20,
	.max_align_log2 = 5,
};

FUZZ_OPS_HARNESS(profile)
