/*
 * The threaded harness's scheduling: two threads take turns on one input
 * (OP_SWITCH), or run short plans at once (OP_BURST).
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "engine.h"

struct bop {
	bool alloc;
	size_t size;
	uint64_t seed;
	void *p; /* free: the block; alloc: the result */
	size_t usable;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int token;
	bool done;
	unsigned burst_gen, burst_acked;
	struct bop plan[2][16];
	unsigned nplan[2];
	fdp *d;
} ts = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, 0, 0, {{{0}}}, {0}, NULL};

static void run_plan(int t)
{
	for (unsigned j = 0; j < ts.nplan[t]; j++) {
		struct bop *o = &ts.plan[t][j];
		if (o->alloc) {
			o->p = sa_malloc(o->size);
			if (!o->p)
				fuzz_fail("burst: malloc(%zu) failed", o->size);
			o->usable = sa_malloc_usable_size(o->p);
			pattern_fill(o->p, o->size, o->seed);
		} else {
			sa_free(o->p);
		}
	}
}

/* Wait for the token; run burst plans meanwhile.  Returns false when the input is done. */
static __thread unsigned my_seen; /* last burst this thread took part in */
__thread bool thread_quit;        /* the other thread finished the input */

static bool wait_turn(int me)
{
	pthread_mutex_lock(&ts.mu);
	for (;;) {
		if (ts.done) {
			pthread_mutex_unlock(&ts.mu);
			return false;
		}
		if (ts.token == me) {
			pthread_mutex_unlock(&ts.mu);
			return true;
		}
		if (ts.burst_gen != my_seen) {
			unsigned gen = my_seen = ts.burst_gen;
			pthread_mutex_unlock(&ts.mu);
			run_plan(me);
			pthread_mutex_lock(&ts.mu);
			ts.burst_acked = gen;
			pthread_cond_broadcast(&ts.cv);
			continue;
		}
		pthread_cond_wait(&ts.cv, &ts.mu);
	}
}

/* The other thread runs next (and this one waits for its turn). */
void op_switch(fdp *d)
{
	(void)d;
	if (P->nthreads != 2)
		return;
	fuzz_log("t%d switch", cur_tid);
	pthread_mutex_lock(&ts.mu);
	ts.token = 1 - cur_tid;
	pthread_cond_broadcast(&ts.cv);
	pthread_mutex_unlock(&ts.mu);
	if (!wait_turn(cur_tid))
		thread_quit = true;
}

/*
 * Both threads at once: each runs a short plan of mallocs and frees of
 * blocks given to it.  The outcome does not depend on the interleaving;
 * the model takes it in afterwards.
 */
void op_burst(fdp *d)
{
	if (P->nthreads != 2)
		return;
	int me = cur_tid, other = 1 - me;
	for (int t = 0; t < 2; t++) {
		unsigned n = fdp_u8(d) % 17;
		ts.nplan[t] = 0;
		for (unsigned j = 0; j < n; j++) {
			struct bop *o = &ts.plan[t][ts.nplan[t]];
			uint8_t v = fdp_u8(d);
			if (v & 1 && nlive > 0) {
				int i = pick(d);
				check_block(&live[i], "burst free (before)");
				o->alloc = false;
				o->p = live[i].p;
				model_remove((unsigned)i);
			} else if (room(2 * 16)) {
				o->alloc = true;
				o->size = gen_size(d);
				o->seed = mix64(++next_seed);
			} else {
				continue;
			}
			ts.nplan[t]++;
		}
	}
	fuzz_log("t%d burst: %u ops here, %u on t%d", me, ts.nplan[me], ts.nplan[other], other);
	pthread_mutex_lock(&ts.mu);
	unsigned gen = my_seen = ++ts.burst_gen;
	pthread_cond_broadcast(&ts.cv);
	pthread_mutex_unlock(&ts.mu);
	run_plan(me);
	pthread_mutex_lock(&ts.mu);
	while (ts.burst_acked != gen)
		pthread_cond_wait(&ts.cv, &ts.mu);
	pthread_mutex_unlock(&ts.mu);
	for (int t = 0; t < 2; t++)
		for (unsigned j = 0; j < ts.nplan[t]; j++) {
			struct bop *o = &ts.plan[t][j];
			if (!o->alloc)
				continue;
			int saved = cur_tid;
			cur_tid = t;
			blk *b = model_add(o->p, o->size, "burst malloc", false);
			cur_tid = saved;
			b->seed = o->seed;
			if (b->usable != o->usable)
				fuzz_fail("burst: usable size of %p changed from %zu to %zu", o->p, o->usable,
					  b->usable);
			check_block(b, "burst malloc (contents after the burst)");
		}
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	cur_tid = me;
	my_seen = 0;
	thread_quit = false;
	if (!wait_turn(me))
		return NULL;
	run_loop(ts.d);
	if (thread_quit)
		return NULL;
	teardown();
	check_stats("end of input, before the threads exit");
	pthread_mutex_lock(&ts.mu);
	ts.done = true;
	pthread_cond_broadcast(&ts.cv);
	pthread_mutex_unlock(&ts.mu);
	return NULL;
}

void sched_run(fdp *d)
{
	ts.token = 0;
	ts.done = false;
	ts.burst_gen = ts.burst_acked = 0;
	ts.d = d;
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i))
			fuzz_fail("pthread_create failed");
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}
