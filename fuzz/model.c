/*
 * The model: every live block the library handed out, with what it must
 * hold and where its stats count it, and the checks of a fresh block.
 */
#define _GNU_SOURCE
#include <string.h>

#include "engine.h"

blk *live;
unsigned nlive;
range_index ranges;
uint64_t model_cls[NUM_SIZE_CLASSES];
uint64_t next_seed;

uintptr_t grave[GRAVE];
unsigned ngrave;

const ops_profile *P;

__thread int cur_tid;

/* The stats class of the block at p, from its span (or, for a block of
 * the debug build's guarded pool or zero-size region, which has none,
 * from the pool's record: the class the normal debug path would use). */
static unsigned stat_class(const void *p, bool *tiny)
{
#if DEBUG_BUILD
	if (guarded_owns((uintptr_t)p)) {
		int cls = guarded_stats_class((uintptr_t)p);
		if (cls < 0)
			fuzz_fail("a block just returned (%p) is in the guarded pool but not a live block there", p);
		*tiny = false;
		return (unsigned)cls;
	}
#endif
	heapArena *ha = arena_of((uintptr_t)p);
	mspan *s = ha ? span_of(ha, (uintptr_t)p) : NULL;
	if (!s)
		fuzz_fail("a block just returned (%p) is not on a page of any span", p);
	if (s->spanclass == TINY_SPAN_CLASS) {
		*tiny = true;
		return TINY_SIZE_CLASS;
	}
	*tiny = false;
	return s->spanclass;
}

size_t natural_align(size_t size)
{
	if (size >= 16)
		return 16;
	if (size == 0)
		return 1;
	size_t low = size & -size;
	return low > 8 ? 8 : low;
}

/* The usable size a plain malloc(size) must have (production build). */
static size_t expected_usable(size_t size)
{
	if (size <= TINY_MAX && opts.tiny)
		return size ? size : 1;
	if (size <= MAX_SMALL_SIZE)
		return class_to_size[size_to_class(size ? size : 1)];
	return (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

static size_t range_len(const blk *b) { return b->usable ? b->usable : 1; }

blk *model_add(void *p, size_t req, const char *what, bool fill)
{
	if (nlive >= OPS_MAX_LIVE)
		fuzz_fail("model full");
	size_t usable = sa_malloc_usable_size(p);
	if (usable < req)
		fuzz_fail("%s: malloc_usable_size(%p) = %zu < requested %zu", what, p, usable, req);
	blk *b = &live[nlive++];
	b->p = p;
	b->req = req;
	b->usable = usable;
	b->seed = mix64(++next_seed);
	bool tiny;
	b->cls = (uint8_t)stat_class(p, &tiny);
	b->tiny = tiny;
	b->thread = (uint8_t)cur_tid;
	model_cls[b->cls]++;
	ri_insert(&ranges, (uintptr_t)p, (uintptr_t)p + range_len(b), what);
	if (fill)
		pattern_fill(p, req, b->seed);
	return b;
}

void model_remove(unsigned i)
{
	blk *b = &live[i];
	ri_remove(&ranges, (uintptr_t)b->p);
	model_cls[b->cls]--;
	if (ngrave < GRAVE)
		grave[ngrave++] = (uintptr_t)b->p;
	else
		grave[b->seed % GRAVE] = (uintptr_t)b->p;
	live[i] = live[--nlive];
}

bool model_is_live_start(uintptr_t p) { return ri_find(&ranges, p) != NULL; }

void check_block(const blk *b, const char *what) { pattern_check(b->p, b->req, b->seed, b->req, what); }

void check_alignment(const void *p, size_t align, const char *what, size_t size)
{
	if ((uintptr_t)p % align)
		fuzz_fail("%s(%zu): %p is not aligned to %zu", what, size, p, align);
}

void check_plain(const void *p, size_t size, const blk *b, const char *what)
{
	check_alignment(p, natural_align(size), what, size);
	if (!DEBUG_BUILD) {
		if (b->usable != expected_usable(size))
			fuzz_fail("%s(%zu) = %p: usable size %zu, expected %zu", what, size, p, b->usable,
				  expected_usable(size));
		if (size > MAX_SMALL_SIZE)
			check_alignment(p, PAGE_SIZE, what, size);
	}
}

void expect_null(void *p, int err, int want, const char *what, size_t a, size_t b)
{
	if (p)
		fuzz_fail("%s(%#zx, %#zx) = %p, expected NULL", what, a, b, p);
	if (err != want)
		fuzz_fail("%s(%#zx, %#zx): errno %d, expected %d", what, a, b, err, want);
}
