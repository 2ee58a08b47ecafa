/*
 * fuzz_badfree: calls a program must not make, among valid ones: double
 * frees of tiny, small and large blocks (in the thread cache, in the large
 * cache, back in the mheap, reused by another size), interior pointers,
 * the tail of a span, pointers into free pages, pointers that are not heap
 * memory at all, realloc and malloc_usable_size of freed blocks.  Run
 * with abort_on_error=0: every bad call must be reported once, naming the
 * address and the call, be ignored, and change nothing; valid calls must
 * print nothing.
 */
#include "ops.h"

static const ops_profile profile = {
	.name = "badfree",
	.op_weight = {[OP_BAD] = 30,
		      [OP_MALLOC] = 20,
		      [OP_FREE] = 18,
		      [OP_REALLOC] = 6,
		      [OP_CALLOC] = 3,
		      [OP_ALIGNED_ALLOC] = 2,
		      [OP_BATCH_ALLOC] = 2,
		      [OP_BATCH_FREE] = 2,
		      [OP_FLUSH] = 3,
		      [OP_CHECK] = 3,
		      [OP_USABLE] = 2,
		      [OP_SCAVENGE] = 1,
		      [OP_DEBUG_MODE] = 2,
		      [OP_DEBUG_BUG] = 2},
	.tier_weight = {[T_TINY] = 30, [T_SMALL_EDGE] = 30, [T_SMALL] = 10, [T_LARGE_CACHE] = 20, [T_LARGE] = 10},
	.max_live = 1024,
	.max_ops = 600,
	.max_batch = 200,
	.nthreads = 1,
	.max_large = 1 << 20,
	.max_align_log2 = 12,
};

FUZZ_OPS_HARNESS(profile)
