/*
 * The tiny allocator, with tiny=1 only: requests of 1..8 bytes are packed
 * into 16-byte blocks, bump-allocated by the thread's mcache, as Go packs
 * small pointer-free objects.
 *
 * It is off by default because frees are explicit here: every tiny free is
 * a compare-and-swap on the block's record, a block comes back only when
 * all its sub-objects are freed (random-order frees leave it half used),
 * and the records cost 8 bytes per 16-byte block, so two 8-byte objects
 * take 24 bytes where the 8-byte class takes 16.  On mimalloc-bench's
 * alloc-test (half its requests are 5..8 bytes, freed in random order)
 * the 8-byte class runs in 0.7x the time and less peak RSS.  Each sub-object is aligned to the largest power of
 * two dividing its size (up to 8), which is all an object of that size can
 * need; malloc.c routes stricter alignments elsewhere.
 *
 * Unlike Go's, these blocks are freed explicitly, so each block has a
 * record (in its span's tinyMasks) that makes every tiny free checkable:
 *
 *   live   bits  0..15  a sub-object was allocated at this offset
 *          bits 16..31  a sub-object ends at this offset (inclusive)
 *          Written only by the mcache whose current tiny block it is, with
 *          plain stores: a tiny malloc takes no atomic.
 *   state  bits  0..15  FREED: the sub-object at this offset was freed
 *          bits 16..31  count: while the block is some mcache's current
 *          block, HOLD minus the sub-objects freed so far (the owner's
 *          allocations are not counted there, only in its tinyCount);
 *          once retired, the sub-objects not yet freed
 *          Changed by compare-and-swap (a free), or one atomic subtraction
 *          (the owner retiring the block subtracts HOLD - tinyCount).
 *
 * A sub-object is live when its live bit is set and its FREED bit clear.
 * The block goes back to its span (its gcmarkBit is cleared) when count
 * reaches 0; exactly one thread sees that.  Both words are reset when the
 * block is handed out as a tiny block again.
 */
#include <string.h>

#include "internal.h"

#define START(off) (1u << (off))
#define END(off) (1u << (16 + (off)))
#define FREED(off) (1u << (off))
#define COUNT_ONE (1u << 16)
#define HOLD 1024u /* more than a block can ever hold */

static inline tinyrec *tiny_rec(mspan *s, uintptr_t block) { return &s->tinyMasks[(block - s->startAddr) / TINY_SIZE]; }

/* Drop c's hold on its current tiny block; free the block if it is empty. */
void tiny_retire(mcache *c)
{
	if (!c->tiny)
		return;
	uintptr_t block = c->tiny;
	uint32_t drop = (HOLD - c->tinyCount) * COUNT_ONE;
	uint32_t old = __atomic_fetch_sub(&c->tinyRec->state, drop, __ATOMIC_ACQ_REL);
	c->tiny = 0;
	c->tinyRec = NULL;
	if ((old >> 16) == HOLD - c->tinyCount) {
		mspan *s = span_of(arena_of(block), block);
		small_free(c, s, block);
		COUNTER_ADD(&c->st.tinyBlocksFree, 1);
	}
}

void *tiny_alloc(mcache *c, size_t size)
{
	size_t align = tiny_align(size);
	size_t off = (c->tinyoffset + align - 1) & ~(align - 1);
	if (c->tiny && off + size <= TINY_SIZE) {
		tinyrec *r = c->tinyRec;
		STORE_RELAXED(&r->live, r->live | START(off) | END(off + size - 1));
		c->tinyoffset = off + size;
		c->tinyCount++;
		COUNTER_ADD(&c->st.tinyAllocs, 1);
		return (void *)(c->tiny + off);
	}
	uintptr_t block = small_alloc(c, TINY_SPAN_CLASS);
	if (!block)
		return NULL;
	mspan *s = c->alloc[TINY_SPAN_CLASS];
	tinyrec *r = tiny_rec(s, block);
	STORE_RELAXED(&r->live, START(0) | END(size - 1));
	__atomic_store_n(&r->state, HOLD * COUNT_ONE, __ATOMIC_RELEASE);
	tiny_retire(c);
	c->tiny = block;
	c->tinyoffset = size;
	c->tinyRec = r;
	c->tinyCount = 1;
	COUNTER_ADD(&c->st.tinyBlocks, 1);
	COUNTER_ADD(&c->st.tinyAllocs, 1);
	return (void *)block;
}

void tiny_free(mcache *c, mspan *s, uintptr_t p)
{
	uintptr_t off = (p - s->startAddr) % TINY_SIZE;
	uintptr_t block = p - off;
	tinyrec *r = tiny_rec(s, block);
	if (!(LOAD_RELAXED(&r->live) & START(off))) {
		sa_report(BUG_INVALID_FREE, "free", p, s, "no tiny object starts there");
		return;
	}
	/*
	 * The compare-and-swap publishes the free, but unlike remote_free's
	 * OR it needs no pin (malloc.c): the block stays live in its span's
	 * gcmarkBits until the one thread whose swap takes count to 0 frees
	 * it (small_free, itself pinned when remote), so until then no sweep
	 * can find the span empty and give it back to the heap.  A freer
	 * whose swap leaves count above 0 must touch neither s nor r after
	 * it (another freer may bring count to 0 and the span be released
	 * meanwhile): only its own cache's counters below.  Before the swap,
	 * r and s are safe to read: this sub-object, not yet freed, holds
	 * count above 0 (a double free racing with the block's release is
	 * the program's bug; the report reads the span as any double free's).
	 */
	uint32_t old = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE), new;
	do {
		if (old & FREED(off)) {
			sa_report(BUG_DOUBLE_FREE, "free", p, s, NULL);
			return;
		}
		new = (old | FREED(off)) - COUNT_ONE;
	} while (!__atomic_compare_exchange_n(&r->state, &old, new, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));

	CACHE_COUNTER_ADD(c, tinyFrees, 1);
	if ((new >> 16) == 0) {
		small_free(c, s, block);
		CACHE_COUNTER_ADD(c, tinyBlocksFree, 1);
	}
}

/* Bytes from p to the end of its sub-object (0 if p is not a live one). */
size_t tiny_usable_size(mspan *s, uintptr_t p)
{
	uintptr_t off = (p - s->startAddr) % TINY_SIZE;
	tinyrec *r = tiny_rec(s, p - off);
	uint32_t live = LOAD_RELAXED(&r->live);
	if (!(live & START(off)) || (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) & FREED(off)))
		return 0;
	uint32_t ends = (live >> 16) & (0xffffu << off);
	return (size_t)__builtin_ctz(ends) - off + 1;
}

/* Live sub-objects in the block at p (for sa_check_heap). */
unsigned tiny_live(mspan *s, uintptr_t block)
{
	tinyrec *r = tiny_rec(s, block);
	uint32_t starts = LOAD_RELAXED(&r->live) & 0xffffu;
	return (unsigned)__builtin_popcount(starts & ~(__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) & 0xffffu));
}
