/*
 * The allocation operations: malloc, calloc, realloc, the aligned family,
 * calls that must fail, batches, usable size, the tiers' internal calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "engine.h"

void do_free(unsigned i, const char *what)
{
	blk b = live[i];
	check_block(&b, what);
	model_remove(i);
	fuzz_log("t%d free(%p) [%zu]", cur_tid, (void *)b.p, b.req);
	sa_free(b.p);
}

static void alloc_one(size_t size, bool zero)
{
	if (!room(1))
		return;
	void *p;
	if (zero) {
		/* calloc(n, size / n), or an overflowing product. */
		size_t n = 1 + size % 7, each = size / n;
		p = sa_calloc(n, each);
		fuzz_log("t%d calloc(%zu, %zu) = %p", cur_tid, n, each, p);
		if (!p)
			fuzz_fail("calloc(%zu, %zu) failed: %s", n, each, strerror(errno));
		size = n * each;
		zero_check(p, size, "calloc");
	} else {
		p = sa_malloc(size);
		fuzz_log("t%d malloc(%zu) = %p", cur_tid, size, p);
		if (!p)
			fuzz_fail("malloc(%zu) failed: %s", size, strerror(errno));
	}
	blk *b = model_add(p, size, zero ? "calloc" : "malloc", true);
	check_plain(p, size, b, zero ? "calloc" : "malloc");
}

void op_malloc(fdp *d) { alloc_one(gen_size(d), false); }

void op_calloc(fdp *d) { alloc_one(gen_size(d), true); }

/* A live block, or free(NULL) when there is none. */
void op_free(fdp *d)
{
	int i = pick(d);
	if (i >= 0)
		do_free((unsigned)i, "free");
	else
		sa_free(NULL);
}

/* Move block i to size n with realloc (or reallocarray); check and update the model. */
static void do_realloc(unsigned i, size_t size, bool array)
{
	blk b = live[i];
	check_block(&b, "realloc (before)");
	void *q;
	errno = 0;
	if (array) {
		size_t n = size ? 1 + size % 5 : 0, each = n ? size / n : 13;
		q = sa_reallocarray(b.p, n, each);
		size = n * each;
		fuzz_log("t%d reallocarray(%p [%zu], %zu, %zu) = %p", cur_tid, (void *)b.p, b.req, n, each, q);
	} else {
		q = sa_realloc(b.p, size);
		fuzz_log("t%d realloc(%p [%zu], %zu) = %p", cur_tid, (void *)b.p, b.req, size, q);
	}
	if (size == 0) {
		/* glibc's rule: free and return NULL. */
		if (q)
			fuzz_fail("realloc(%p, 0) = %p, expected NULL (the block freed)", (void *)b.p, q);
		model_remove(i);
		return;
	}
	if (!q)
		fuzz_fail("realloc(%p, %zu) failed: %s", (void *)b.p, size, strerror(errno));
	check_alignment(q, natural_align(size), "realloc", size);
	/* The old contents, up to the smaller size, moved with the block. */
	uint64_t seed = b.seed;
	ri_remove(&ranges, (uintptr_t)b.p);
	model_cls[b.cls]--;
	if (q != b.p && ngrave < GRAVE)
		grave[ngrave++] = (uintptr_t)b.p;
	live[i] = live[--nlive];
	pattern_check(q, b.req, seed, MIN(b.req, size), "realloc (contents after the move)");
	blk *nb = model_add(q, size, "realloc", false);
	nb->seed = seed;
	pattern_fill(q, size, seed);
}

static void realloc_op(fdp *d, bool array)
{
	int i = pick(d);
	uint8_t v = fdp_u8(d);
	if (i < 0 || v % 16 == 15) {
		/* realloc(NULL, n) is malloc(n). */
		size_t size = gen_size(d);
		if (!room(1))
			return;
		void *p = sa_realloc(NULL, size);
		fuzz_log("t%d realloc(NULL, %zu) = %p", cur_tid, size, p);
		if (!p)
			fuzz_fail("realloc(NULL, %zu) failed", size);
		blk *b = model_add(p, size, "realloc(NULL)", true);
		check_plain(p, size, b, "realloc(NULL)");
		return;
	}
	size_t old = live[i].req, size;
	switch (v % 8) {
	case 0: size = old + 1 + fdp_u8(d) % 64; break;
	case 1: size = old / 2; break;
	case 2: size = old ? old - 1 : 0; break;
	case 3: size = fdp_u8(d) % 4 == 0 ? 0 : old; break;
	case 4:
	case 5: size = gen_size(d); break;
	case 6: size = old * 2 + 1; break;
	default: size = old + PAGE_SIZE * (1 + fdp_u8(d) % 8); break;
	}
	if (size > P->max_large * 2)
		size = P->max_large;
	do_realloc((unsigned)i, size, array);
}

static void aligned_op(fdp *d, enum op which)
{
	if (!room(1))
		return;
	size_t align = which == OP_VALLOC || which == OP_PVALLOC ? 0 : gen_align(d);
	size_t size = gen_size(d);
	void *p = NULL;
	const char *name;
	int saved = 12345, rc = 0;
	errno = saved;
	switch (which) {
	case OP_ALIGNED_ALLOC:
		name = "aligned_alloc";
		p = sa_aligned_alloc(align, size);
		break;
	case OP_MEMALIGN:
		name = "memalign";
		p = sa_memalign(align, size);
		break;
	case OP_POSIX_MEMALIGN: {
		name = "posix_memalign";
		void *sentinel = (void *)0x5a5a5a5a, *out = sentinel;
		rc = sa_posix_memalign(&out, align, size);
		fuzz_log("t%d posix_memalign(%zu, %zu) = %d, %p", cur_tid, align, size, rc, out);
		bool valid = is_pow2(align) && align % sizeof(void *) == 0;
		if (!valid) {
			if (rc != EINVAL || out != sentinel || errno != saved)
				fuzz_fail(
					"posix_memalign(align %zu): returned %d, pointer %p, errno %d; expected EINVAL, "
					"pointer and errno untouched",
					align, rc, out, errno);
			return;
		}
		if (rc == ENOMEM && align > ARENA_SIZE) {
			if (out != sentinel || errno != saved)
				fuzz_fail("posix_memalign ENOMEM touched the pointer or errno");
			return;
		}
		if (rc != 0)
			fuzz_fail("posix_memalign(%zu, %zu) = %d", align, size, rc);
		p = out;
		break;
	}
	case OP_VALLOC:
		name = "valloc";
		align = 4096;
		p = sa_valloc(size);
		break;
	default:
		name = "pvalloc";
		align = 4096;
		p = sa_pvalloc(size);
		size = size ? (size + 4095) & ~(size_t)4095 : 4096;
		break;
	}
	if (which != OP_POSIX_MEMALIGN) {
		fuzz_log("t%d %s(%zu, %zu) = %p", cur_tid, name, align, size, p);
		if (!is_pow2(align)) {
			expect_null(p, errno, EINVAL, name, align, size);
			return;
		}
		if (!p && align > ARENA_SIZE) {
			expect_null(p, errno, ENOMEM, name, align, size);
			return;
		}
		if (!p)
			fuzz_fail("%s(%zu, %zu) failed: %s", name, align, size, strerror(errno));
	}
	check_alignment(p, align, name, size);
	model_add(p, size, name, true);
}

void op_realloc(fdp *d) { realloc_op(d, false); }

void op_reallocarray(fdp *d) { realloc_op(d, true); }

void op_aligned_alloc(fdp *d) { aligned_op(d, OP_ALIGNED_ALLOC); }

void op_posix_memalign(fdp *d) { aligned_op(d, OP_POSIX_MEMALIGN); }

void op_memalign(fdp *d) { aligned_op(d, OP_MEMALIGN); }

void op_valloc(fdp *d) { aligned_op(d, OP_VALLOC); }

void op_pvalloc(fdp *d) { aligned_op(d, OP_PVALLOC); }

/* Requests that must fail, and leave everything as it was. */
void op_fail(fdp *d)
{
	uint8_t k = fdp_u8(d);
	size_t a = 0, b = 0;
	void *p = NULL;
	const char *name = "?";
	int want = ENOMEM;
	errno = 0;
	switch (k % 12) {
	case 0: /* sizes near SIZE_MAX, to each call that takes only a size */
	case 7:
	case 8: {
		static const struct {
			const char *name;
			void *(*call)(size_t);
		} one[] = {{"malloc", sa_malloc}, {"pvalloc", sa_pvalloc}, {"valloc", sa_valloc}};
		unsigned c = k % 12 == 0 ? 0 : k % 12 - 6;
		name = one[c].name;
		a = SIZE_MAX - fdp_u16(d);
		p = one[c].call(a);
		break;
	}
	case 1:
		name = "malloc";
		a = ((size_t)1 << 47) + 1 + fdp_u32(d);
		p = sa_malloc(a);
		break;
	case 2:
		name = "calloc";
		b = 2 + fdp_u8(d);
		a = SIZE_MAX / b + 1 + fdp_u8(d);
		p = sa_calloc(a, b);
		break;
	case 3:
		name = "calloc";
		a = b = (size_t)1 << 32;
		p = sa_calloc(a, b);
		break;
	case 4: /* an alignment past any arena, or a size near SIZE_MAX */
	case 5:
		name = "aligned_alloc";
		if (k % 12 == 4) {
			a = ARENA_SIZE << (1 + fdp_u8(d) % 20);
			b = fdp_u8(d);
		} else {
			a = (size_t)16 << (fdp_u8(d) % 10);
			b = SIZE_MAX - fdp_u8(d);
		}
		p = sa_aligned_alloc(a, b);
		break;
	case 6: {
		name = "posix_memalign";
		a = (size_t)8 << (fdp_u8(d) % 12);
		b = SIZE_MAX / 2 + fdp_u8(d);
		void *sentinel = (void *)0x77, *out = sentinel;
		errno = 4321;
		int rc = sa_posix_memalign(&out, a, b);
		fuzz_log("t%d posix_memalign(%zu, %#zx) = %d", cur_tid, a, b, rc);
		if (rc != ENOMEM || out != sentinel || errno != 4321)
			fuzz_fail("posix_memalign(%zu, %#zx) = %d, pointer %p, errno %d: expected ENOMEM, pointer and "
				  "errno untouched",
				  a, b, rc, out, errno);
		return;
	}
	case 9:
		name = "memalign";
		want = EINVAL;
		a = 3 + 2 * (size_t)fdp_u16(d);
		b = fdp_u8(d);
		p = sa_memalign(a, b);
		break;
	case 10:
	case 11: {
		/* realloc / reallocarray of a live block to an impossible size. */
		int i = pick(d);
		void *old = i >= 0 ? live[i].p : NULL;
		if (k % 12 == 10) {
			name = "realloc";
			a = SIZE_MAX - fdp_u16(d);
			p = sa_realloc(old, a);
		} else {
			name = "reallocarray";
			b = 2 + fdp_u8(d);
			a = SIZE_MAX / b + 1;
			p = sa_reallocarray(old, a, b);
		}
		int e = errno;
		fuzz_log("t%d %s(%p, %#zx, %#zx) = %p", cur_tid, name, old, a, b, p);
		expect_null(p, e, ENOMEM, name, a, b);
		if (i >= 0) {
			check_block(&live[i], "the block after a failed realloc");
			if (sa_malloc_usable_size(old) != live[i].usable)
				fuzz_fail("a failed realloc changed the usable size of %p", old);
		}
		return;
	}
	}
	int e = errno;
	fuzz_log("t%d %s(%#zx, %#zx) = %p (must fail)", cur_tid, name, a, b, p);
	expect_null(p, e, want, name, a, b);
}

void op_batch_alloc(fdp *d)
{
	size_t size = gen_size(d);
	unsigned n = 1 + fdp_u16(d) % P->max_batch;
	bool zero = fdp_u8(d) % 4 == 0;
#if DEBUG_BUILD
	if (opts.efence)
		n = n > 4 ? 4 : n; /* efence blocks take pages each, for good */
#endif
	if (size <= MAX_SMALL_SIZE && size >= TINY_SIZE) {
		/* Enough to fill a few spans of the class. */
		unsigned per = class_to_nelems[size_to_class(size)];
		if (n > 3 * per + 1)
			n = 3 * per + 1;
	} else if (size > MAX_SMALL_SIZE && n > 8) {
		n = 8;
	}
	fuzz_log("t%d batch of %u x %zu%s", cur_tid, n, size, zero ? " (calloc)" : "");
	for (unsigned j = 0; j < n && room(1); j++)
		alloc_one(size, zero);
	ops_done += n / 16;
}

void op_batch_free(fdp *d)
{
	if (!nlive)
		return;
	static unsigned idx[OPS_MAX_LIVE];
	unsigned m = 0;
	uint8_t mode = fdp_u8(d) % 7;
	unsigned k = 1 + fdp_u8(d) % 8;
	const blk *ref = &live[(unsigned)pick(d)];
	uint8_t ref_cls = ref->cls, ref_tiny = ref->tiny;
	uint64_t mask = fdp_u64(d);
	for (unsigned i = 0; i < nlive; i++) {
		bool take;
		switch (mode) {
		case 0: take = i % k == 0; break;
		case 1: take = live[i].cls == ref_cls && live[i].tiny == ref_tiny; break;
		case 2: take = i + 8 * k >= nlive; break;
		case 3: take = (mask >> (i % 64)) & 1; break;
		case 4: take = true; break;
		case 5: take = live[i].thread != cur_tid; break;
		default: take = live[i].cls == ref_cls && i % 2 == 0; break;
		}
		if (take)
			idx[m++] = i;
	}
	fuzz_log("t%d batch free mode %u: %u blocks", cur_tid, mode, m);
	/* Take them out of the model (descending: swap-removes move only kept
	 * blocks), then free them in the order the input says. */
	static blk out[OPS_MAX_LIVE];
	for (unsigned j = m; j-- > 0;) {
		out[j] = live[idx[j]];
		check_block(&out[j], "batch free");
		model_remove(idx[j]);
	}
	uint8_t order = fdp_u8(d) % 4;
	for (unsigned j = 0; j < m; j++) {
		unsigned x;
		switch (order) {
		case 0: x = j; break;                                                   /* allocation order */
		case 1: x = m - 1 - j; break;                                           /* reverse */
		case 2: x = j < (m + 1) / 2 ? 2 * j : 2 * (j - (m + 1) / 2) + 1; break; /* evens, then odds */
		default: x = (j * 7919u) % m; break;                                    /* scattered */
		}
		if (order == 3 && m % 7919 == 0)
			x = j;
		sa_free(out[x].p);
	}
	ops_done += m / 16;
}

void op_usable(fdp *d)
{
	int i = pick(d);
	if (sa_malloc_usable_size(NULL) != 0)
		fuzz_fail("malloc_usable_size(NULL) != 0");
	if (i < 0)
		return;
	size_t n = sa_malloc_usable_size(live[i].p);
	fuzz_log("t%d malloc_usable_size(%p) = %zu", cur_tid, (void *)live[i].p, n);
	if (n != live[i].usable)
		fuzz_fail("malloc_usable_size(%p) = %zu, was %zu when allocated", (void *)live[i].p, n, live[i].usable);
	/* The usable bytes past the request are the program's too. */
	if (!DEBUG_BUILD && n > live[i].req) {
		uint8_t *tail = live[i].p + live[i].req;
		size_t t = MIN(n - live[i].req, (size_t)256);
		memset(tail, 0xa5, t);
	}
}

void op_realloc_chain(fdp *d)
{
	int i = pick(d);
	if (i < 0)
		return;
	unsigned n = 2 + fdp_u8(d) % 30;
	uint8_t style = fdp_u8(d);
	fuzz_log("t%d realloc chain of %u on %p", cur_tid, n, (void *)live[i].p);
	for (unsigned j = 0; j < n && !fdp_done(d); j++) {
		size_t old = live[i].req, size;
		switch ((style >> (j % 4 * 2)) & 3) {
		case 0:
			size = old + 1 + fdp_u8(d) % 128; /* creep up */
			break;
		case 1:
			size = old * 2 + fdp_u8(d); /* double: through the tiers */
			break;
		case 2:
			size = old - old / (2 + fdp_u8(d) % 4); /* shrink a little */
			break;
		default: size = gen_size(d); break;
		}
		if (size == 0)
			size = 1;
		if (size > P->max_large)
			size = P->max_large - fdp_u8(d);
		do_realloc((unsigned)i, size, false);
		i = (int)nlive - 1; /* model_add appends */
	}
	ops_done += n / 4;
}

/* Take one span of a class from its mcentral and give it back. */
void op_central_cycle(fdp *d)
{
	if (P->nthreads != 1)
		return;
	mcache *c = cache_current();
	if (!c)
		return;
	unsigned spc = 1 + fdp_u8(d) % (NUM_SPAN_CLASSES - 1);
	mspan *s = central_cache_span(&mcentral_[spc], c);
	fuzz_log("central cycle class %u: span %p", spc, (void *)s);
	if (!s)
		fuzz_fail("central_cache_span(%u) failed", spc);
	if (s->owner != c || s->spanclass != spc)
		fuzz_fail("central_cache_span(%u) gave span %p of class %u owned by %p", spc, (void *)s, s->spanclass,
			  (void *)s->owner);
	unsigned freeobj = 0;
	for (size_t w = 0; w < span_bitmap_words(s); w++)
		freeobj += (unsigned)__builtin_popcountll(~s->allocBits[w]);
	freeobj -= (unsigned)(span_bitmap_words(s) * 64 - s->nelems);
	if (freeobj == 0)
		fuzz_fail("central_cache_span(%u) gave a span with no free object", spc);
	central_uncache_span(&mcentral_[spc], s, false);
}

void op_scav_ms(fdp *d)
{
	static const int v[] = {-1, 0, 1, 1000};
	opts.scavenge_ms = v[fdp_u8(d) % 4];
	fuzz_log("scavenge_ms=%d", opts.scavenge_ms);
}

/*
 * A block bigger than an arena (a multi-arena span), checked, freed, and
 * the same size again: the freed arenas must be reused, not new ones
 * reserved (else memory grows with every such malloc).
 */
void op_huge(fdp *d)
{
	size_t size = ARENA_SIZE + 1 + (size_t)fdp_u16(d) * PAGE_SIZE % (ARENA_SIZE / 2);
	bool zero = fdp_u8(d) & 1;
	if (nhuge++ >= 2)
		return;
	struct sa_memstats m0, m1;
	for (int round = 0; round < 2; round++) {
		sa_read_memstats(&m0);
		uint8_t *p = zero ? sa_calloc(1, size) : sa_malloc(size);
		fuzz_log("t%d %s(%zu) = %p (round %d, %lu arenas before)", cur_tid, zero ? "calloc" : "malloc", size,
			 (void *)p, round, (unsigned long)m0.NumArenas);
		if (!p)
			fuzz_fail("malloc(%zu) (over one arena) failed: %s", size, strerror(errno));
		check_alignment(p, DEBUG_BUILD ? 16 : PAGE_SIZE, "malloc", size);
		size_t usable = sa_malloc_usable_size(p);
		if (usable < size)
			fuzz_fail("malloc(%zu): usable size %zu", size, usable);
		if (zero)
			zero_check(p, size, "calloc (over one arena)");
		blk *b = model_add(p, size, "malloc (over one arena)", true);
		check_block(b, "block over one arena");
		check_stats("holding a block over one arena");
		do_free(nlive - 1, "free (over one arena)");
		sa_read_memstats(&m1);
		if (round == 1 && m1.NumArenas > m0.NumArenas)
			fuzz_fail(
				"malloc(%zu) after freeing a block of the same size reserved %lu new arenas (%lu -> %lu): "
				"freed multi-arena spans are never reused",
				size, (unsigned long)(m1.NumArenas - m0.NumArenas), (unsigned long)m0.NumArenas,
				(unsigned long)m1.NumArenas);
	}
}

/*
 * The debug build's run-time options for the next 1..8 operations: efence
 * (every block on pages of its own, never reused: few, so no batches) and
 * the quarantine size.  No effect on the production build, which has
 * neither.
 */
void op_debug_mode(fdp *d)
{
	uint8_t v = fdp_u8(d), n = fdp_u8(d);
	if (!DEBUG_BUILD || debug_until > ops_done)
		return;
#if DEBUG_BUILD
	static const int qkb[] = {0, 1, 64, 4096};
	opts.efence = v & 1;
	opts.quarantine_kb = qkb[(v >> 1) & 3];
	debug_until = ops_done + 1 + n % 8;
	fuzz_log("t%d debug mode: efence=%d quarantine_kb=%d for %u operations", cur_tid, opts.efence,
		 opts.quarantine_kb, debug_until - ops_done);
#else
	(void)v, (void)n;
#endif
}

void debug_mode_end(void)
{
#if DEBUG_BUILD
	opts.efence = opts_saved.efence;
	opts.quarantine_kb = opts_saved.quarantine_kb;
#endif
	debug_until = 0;
}
