/*
 * fuzz_central: the mcentrals: batches of one class big enough to fill
 * several spans, freed in patterns (every k-th, all of a class, reversed,
 * scattered), the thread's spans flushed back so that frees land in spans
 * the mcentral holds (full -> partial), spans taken and returned directly,
 * empty spans going back to the mheap; the central lists are checked
 * (a full span has no free object, a partial span has one).
 */
#include "ops.h"

static const ops_profile profile = {
	.name = "central",
	.op_weight = {[OP_BATCH_ALLOC] = 25,
		      [OP_BATCH_FREE] = 25,
		      [OP_MALLOC] = 10,
		      [OP_FREE] = 10,
		      [OP_FLUSH] = 10,
		      [OP_CENTRAL_CYCLE] = 8,
		      [OP_STATS] = 8,
		      [OP_CHECK] = 4,
		      [OP_CALLOC] = 2,
		      [OP_REALLOC] = 2,
		      [OP_SCAVENGE] = 1,
		      [OP_USABLE] = 1},
	.tier_weight = {[T_SMALL_EDGE] = 60, [T_SMALL] = 15, [T_TINY] = 25},
	.max_live = 8192,
	.max_ops = 600,
	.max_batch = 1600,
	.nthreads = 1,
	.max_large = 1 << 20,
	.max_align_log2 = 6,
};

FUZZ_OPS_HARNESS(profile)
