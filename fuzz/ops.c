/*
 * The fuzz engine's main loop: the operation table, one input from start
 * to teardown.  See ops.h for the input format and what is checked, and
 * engine.h for how the engine is split into files.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

unsigned ops_done;
unsigned nforks, nhuge, nooms, ndbgbugs;
unsigned debug_until;
sa_options opts_saved;
bool bad_mode;
unsigned reports_seen;

static FILE *devnull;
static uint8_t optable[256]; /* input byte -> operation, from the profile's weights */
static unsigned next_check, next_stats, next_print, next_scav;

static void build_tables(const ops_profile *pf)
{
	unsigned total = 0, tt = 0;
	for (unsigned i = 0; i < OP_COUNT; i++)
		total += pf->op_weight[i];
	for (unsigned i = 0; i < T_COUNT; i++)
		tt += pf->tier_weight[i];
	if (!total || !tt)
		fuzz_fail("profile %s has no operations or no tiers", pf->name);
	/* Byte b maps to the op whose cumulative weight range holds b. */
	for (unsigned b = 0, op = 0, acc = pf->op_weight[0]; b < 256; b++) {
		while (b * total >= acc * 256u && op + 1 < OP_COUNT)
			acc += pf->op_weight[++op];
		optable[b] = (uint8_t)op;
	}
	for (unsigned b = 0, t = 0, acc = pf->tier_weight[0]; b < 256; b++) {
		while (b * tt >= acc * 256u && t + 1 < T_COUNT)
			acc += pf->tier_weight[++t];
		tiertable[b] = (uint8_t)t;
	}
}

void ops_init(const ops_profile *pf)
{
	static bool done;
	if (done)
		return;
	done = true;
	fuzz_set_name(pf->name);
	trace = getenv("FUZZ_TRACE") != NULL;
	skip_check_heap = getenv("SA_FUZZ_NO_CHECK_HEAP") != NULL;
	live = xmmap(OPS_MAX_LIVE * sizeof *live);
	ri_init(&ranges, OPS_MAX_LIVE);
	build_tables(pf);
	devnull = fopen("/dev/null", "w");
	/* Start the library; the scavenger runs only when an operation asks. */
	sa_free(sa_malloc(1));
	opts.scavenge_ms = -1;
	if (pf->op_weight[OP_BAD]) {
		capture_init();
		opts.abort_on_error = 0;
		bad_mode = true;
		/* backtrace loads libgcc_s on its first call: not inside a capture. */
		void *p = sa_malloc(24);
		sa_free(p);
		capture_begin();
		sa_free(p);
		char out[8192];
		capture_end(out, sizeof out);
		if (!strstr(out, "double free"))
			fuzz_fail("abort_on_error=0 did not take: %s", out);
	}
	reports_seen = __atomic_load_n(&reports, __ATOMIC_RELAXED);
	opts_saved = opts;
	if (devnull)
		sa_print_stats(devnull);
}

/* The operations that only pace an existing call: at most every RATE operations. */
static void op_stats(fdp *d)
{
	(void)d;
	if (ops_done >= next_stats) {
		next_stats = ops_done + RATE;
		check_central(P->nthreads == 1, false);
	}
}

static void op_check(fdp *d)
{
	(void)d;
	if (!skip_check_heap && ops_done >= next_check) {
		next_check = ops_done + RATE;
		check_heap("check op");
	}
}

static void op_scavenge(fdp *d)
{
	(void)d;
	if (ops_done >= next_scav) {
		next_scav = ops_done + RATE;
		fuzz_log("sa_scavenge");
		sa_scavenge();
	}
}

static void op_print_stats(fdp *d)
{
	(void)d;
	if (devnull && ops_done >= next_print) {
		next_print = ops_done + RATE;
		sa_print_stats(devnull);
	}
}

static void op_flush(fdp *d)
{
	(void)d;
	if (cache_current()) {
		fuzz_log("t%d cache_flush", cur_tid);
		cache_flush(cache_current(), false);
	}
}

/* What each operation of ops.h does (enum op). */
static op_fn *const op_table[OP_COUNT] = {
	[OP_MALLOC] = op_malloc,
	[OP_CALLOC] = op_calloc,
	[OP_REALLOC] = op_realloc,
	[OP_REALLOCARRAY] = op_reallocarray,
	[OP_FREE] = op_free,
	[OP_ALIGNED_ALLOC] = op_aligned_alloc,
	[OP_POSIX_MEMALIGN] = op_posix_memalign,
	[OP_MEMALIGN] = op_memalign,
	[OP_VALLOC] = op_valloc,
	[OP_PVALLOC] = op_pvalloc,
	[OP_USABLE] = op_usable,
	[OP_STATS] = op_stats,
	[OP_CHECK] = op_check,
	[OP_SWITCH] = op_switch,
	[OP_BATCH_ALLOC] = op_batch_alloc,
	[OP_BATCH_FREE] = op_batch_free,
	[OP_FLUSH] = op_flush,
	[OP_SCAVENGE] = op_scavenge,
	[OP_SCAV_MS] = op_scav_ms,
	[OP_FAIL] = op_fail,
	[OP_PRINT_STATS] = op_print_stats,
	[OP_CENTRAL_CYCLE] = op_central_cycle,
	[OP_BURST] = op_burst,
	[OP_REALLOC_CHAIN] = op_realloc_chain,
	[OP_BAD] = op_bad,
	[OP_FORK] = op_fork,
	[OP_HUGE] = op_huge,
	[OP_DEBUG_MODE] = op_debug_mode,
	[OP_OOM] = op_oom,
	[OP_DEBUG_BUG] = op_debug_bug,
};

/* One operation, then the checks every operation must pass. */
static void one_op(fdp *d)
{
	op_table[optable[fdp_u8(d)]](d);
	if (thread_quit)
		return; /* the other thread ended the input while this one waited */
	if (__atomic_load_n(&reports, __ATOMIC_RELAXED) != reports_seen)
		fuzz_fail("a valid call was reported as a heap bug (stderr has the report)");
	if (debug_until && ops_done + 1 >= debug_until)
		debug_mode_end();
	check_stats("after an operation");
}

/* Free everything (checking contents), then the heap must be as it was. */
void teardown(void)
{
	debug_mode_end();
	while (nlive > 0)
		do_free(nlive - 1, "final free");
	opts.scavenge_ms = -1;
	if (__atomic_load_n(&reports, __ATOMIC_RELAXED) != reports_seen)
		fuzz_fail("a valid free was reported as a heap bug (stderr has the report)");
}

void run_loop(fdp *d)
{
	while (!thread_quit && !fdp_done(d) && ops_done < P->max_ops) {
		one_op(d);
		ops_done++;
	}
}

int ops_run(const ops_profile *pf, const uint8_t *data, size_t size)
{
	ops_init(pf);
	P = pf;
	fdp d = {data, size};
	nlive = 0;
	ngrave = 0;
	ops_done = 0;
	next_check = next_stats = next_print = next_scav = nforks = nhuge = nooms = ndbgbugs = 0;
	debug_until = 0;
	memset(model_cls, 0, sizeof model_cls);
	ranges.n = 0;
	read_base();
	fuzz_log("---- input of %zu bytes (%lu arenas)", size, (unsigned long)prev.NumArenas);
	if (pf->nthreads == 2) {
		sched_run(&d);
		/* Both caches are gone: the counters are exact again. */
		read_base();
		if (base_objects != 0 && !DEBUG_BUILD)
			fuzz_fail("after both threads exited: %lu objects still counted live",
				  (unsigned long)base_objects);
	} else {
		cur_tid = 0;
		run_loop(&d);
		teardown();
		check_stats("end of input");
		if (cache_current())
			cache_flush(cache_current(), false);
	}
	if (!skip_check_heap)
		check_heap("end of input");
	check_central(true, !DEBUG_BUILD);
	check_stats("end of input, after the checks");
	return 0;
}
