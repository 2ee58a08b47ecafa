/*
 * The tiny allocator: requests under 16 bytes are packed into 16-byte
 * blocks, bump-allocated by the thread's mcache, as Go packs small
 * pointer-free objects.  Each sub-object is aligned to the largest power of
 * two dividing its size (up to 8), which is all an object of that size can
 * need; malloc.c routes stricter alignments elsewhere.
 *
 * Unlike Go's, these blocks are freed explicitly, so each block has a mask
 * (in its span's tinyMasks) that makes every tiny free checkable:
 *
 *   bits  0..15  LIVE: a live sub-object starts at this offset
 *   bits 16..31  END: a live sub-object ends at this offset (inclusive)
 *   bits 32..47  FREED: a sub-object that started here was freed
 *   bit  48      HELD: the block is some mcache's current tiny block
 *
 * A block goes back to its span (its gcmarkBit is cleared) when no LIVE
 * bit and no HELD bit is left.  Masks change only by compare-and-swap, so
 * exactly one thread sees that moment.  The mask is reset when its block
 * is handed out as a tiny block again.
 */
#include <string.h>

#include "internal.h"

#define LIVE(off) (1ull << (off))
#define END(off) (1ull << (16 + (off)))
#define FREED(off) (1ull << (32 + (off)))
#define HELD (1ull << 48)
#define LIVE_MASK 0xffffull

static inline uint64_t *tiny_mask(mspan *s, uintptr_t block)
{
	return &s->tinyMasks[(block - s->startAddr) / TINY_SIZE];
}

/* Drop c's hold on its current tiny block; free the block if it is empty. */
void tiny_retire(mcache *c)
{
	if (!c->tiny)
		return;
	uintptr_t block = c->tiny;
	uint64_t old = __atomic_fetch_and(c->tinyMask, ~HELD, __ATOMIC_ACQ_REL);
	c->tiny = 0;
	c->tinyMask = NULL;
	if ((old & (LIVE_MASK | HELD)) == HELD) {
		mspan *s = span_of(arena_of(block), block);
		small_free(c, s, block);
		c->tinyBlocksFree++;
	}
}

void *tiny_alloc(mcache *c, size_t size)
{
	size_t align = size & 7 ? (size & 3 ? (size & 1 ? 1 : 2) : 4) : 8;
	size_t off = (c->tinyoffset + align - 1) & ~(align - 1);
	if (c->tiny && off + size <= TINY_SIZE) {
		__atomic_fetch_or(c->tinyMask, LIVE(off) | END(off + size - 1), __ATOMIC_RELAXED);
		c->tinyoffset = off + size;
		c->tinyAllocs++;
		return (void *)(c->tiny + off);
	}
	uintptr_t block = small_alloc(c, TINY_SPAN_CLASS);
	if (!block)
		return NULL;
	mspan *s = c->alloc[TINY_SPAN_CLASS];
	uint64_t *mask = tiny_mask(s, block);
	__atomic_store_n(mask, HELD | LIVE(0) | END(size - 1), __ATOMIC_RELEASE);
	tiny_retire(c);
	c->tiny = block;
	c->tinyoffset = size;
	c->tinyMask = mask;
	c->tinyBlocks++;
	c->tinyAllocs++;
	return (void *)block;
}

void tiny_free(mcache *c, mspan *s, uintptr_t p)
{
	uintptr_t off = (p - s->startAddr) % TINY_SIZE;
	uintptr_t block = p - off;
	uint64_t *mask = tiny_mask(s, block);
	uint64_t old = __atomic_load_n(mask, __ATOMIC_ACQUIRE), new;
	do {
		if (!(old & LIVE(off))) {
			bool twice = old & FREED(off);
			sa_report(twice ? BUG_DOUBLE_FREE : BUG_INVALID_FREE, "free", p, s,
				  twice ? NULL : "no tiny object starts there");
			return;
		}
		/* Our end is the first END bit at or after our start. */
		uint64_t ends = (old >> 16) & LIVE_MASK & (~0ull << off);
		unsigned end = (unsigned)__builtin_ctzll(ends);
		new = (old & ~(LIVE(off) | END(end))) | FREED(off);
	} while (!__atomic_compare_exchange_n(mask, &old, new, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));

	if (c)
		c->tinyFrees++;
	else
		__atomic_fetch_add(&orphan.tinyFrees, 1, __ATOMIC_RELAXED);
	if ((new & (LIVE_MASK | HELD)) == 0) {
		small_free(c, s, block);
		if (c)
			c->tinyBlocksFree++;
		else
			__atomic_fetch_add(&orphan.tinyBlocksFree, 1, __ATOMIC_RELAXED);
	}
}

/* Bytes from p to the end of its sub-object (0 if p is not one). */
size_t tiny_usable_size(mspan *s, uintptr_t p)
{
	uintptr_t off = (p - s->startAddr) % TINY_SIZE;
	uint64_t m = __atomic_load_n(tiny_mask(s, p - off), __ATOMIC_ACQUIRE);
	if (!(m & LIVE(off)))
		return 0;
	uint64_t ends = (m >> 16) & LIVE_MASK & (~0ull << off);
	return (size_t)__builtin_ctzll(ends) - off + 1;
}
