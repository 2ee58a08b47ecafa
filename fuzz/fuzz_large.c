/*
 * fuzz_large: large objects (over 32 KiB, up to 4 MiB): page-multiple
 * sizes and their neighbours, the per-thread cache of freed large spans
 * (up to 32 pages), alignments up to 2 MiB (and the odd 64 MiB), realloc
 * growing in place into free pages and shrinking, calloc of recycled
 * (dirty) and scavenged (zero) pages.
 */
#include "ops.h"

static const ops_profile profile = {
	.name = "large",
	.op_weight = {[OP_MALLOC] = 30,     [OP_CALLOC] = 10,       [OP_REALLOC] = 16,       [OP_REALLOCARRAY] = 2,
		      [OP_FREE] = 35,       [OP_ALIGNED_ALLOC] = 6, [OP_POSIX_MEMALIGN] = 6, [OP_MEMALIGN] = 2,
		      [OP_VALLOC] = 2,      [OP_PVALLOC] = 2,       [OP_USABLE] = 5,         [OP_STATS] = 2,
		      [OP_CHECK] = 4,       [OP_BATCH_ALLOC] = 3,   [OP_BATCH_FREE] = 3,     [OP_FLUSH] = 3,
		      [OP_SCAVENGE] = 3,    [OP_SCAV_MS] = 2,       [OP_FAIL] = 3,           [OP_REALLOC_CHAIN] = 3,
		      [OP_PRINT_STATS] = 1, [OP_HUGE] = 1,          [OP_DEBUG_MODE] = 1,     [OP_OOM] = 1},
	.tier_weight = {[T_LARGE] = 50, [T_LARGE_CACHE] = 35, [T_SMALL] = 10, [T_TINY] = 5},
	.max_live = 48,
	.max_ops = 400,
	.max_batch = 8,
	.nthreads = 1,
	.max_large = 4 << 20,
	.max_align_log2 = 21,
};

FUZZ_OPS_HARNESS(profile)
