/*
 * heapArena and the arena index.
 *
 * The heap is made of 64 MiB arenas reserved from the OS.  Each has a
 * heapArena record outside it (page map and page bitmaps) so that the
 * arena holds user memory only and guard pages can sit right against it.
 * The index (Go's mheap.arenas[l1][l2]) maps any address to its
 * heapArena: see arena_of in internal.h.  With more L1 bits, an L2 array
 * is mapped the first time an arena lands in its region.
 */
#include "internal.h"

#if ARENA_L1_BITS == 0
heapArena *arena_l2[1u << ARENA_L2_BITS];
#else
heapArena **arena_l1[1u << ARENA_L1_BITS];
#endif

/* A heapArena record for the reserved range at base.  Heap lock held. */
heapArena *arena_new(uintptr_t base)
{
	DCHECK(lock_held(&mheap_.lock));
	heapArena *ha = fixalloc_alloc(&mheap_.arenaalloc);
	if (!ha)
		return NULL;
	ha->base = base;
	ha->commitPages = 0;
	ha->searchHint = 0;
	ha->nfree = PAGES_PER_ARENA;
	for (size_t i = 0; i < ARENA_BITMAP_WORDS; i++)
		ha->scavBits[i] = ~0ull; /* reserved: free and empty */
	return ha;
}

/* Make ha reachable through arena_of and the heap's arena list. */
bool arena_register(heapArena *ha)
{
	DCHECK(lock_held(&mheap_.lock));
	uintptr_t base = ha->base;
	/* base != 0: free's fast path finds NULL's arena NULL (arena_of). */
	CHECK((base & (ARENA_SIZE - 1)) == 0 && (base >> HEAP_ADDR_BITS) == 0 && base != 0);
	size_t i2 = (base >> ARENA_SHIFT) & ((1u << ARENA_L2_BITS) - 1);
#if ARENA_L1_BITS == 0
	heapArena **l2 = arena_l2;
#else
	size_t i1 = base >> (ARENA_SHIFT + ARENA_L2_BITS);
	heapArena **l2 = arena_l1[i1];
	if (!l2) {
		l2 = os_alloc(sizeof(heapArena *) << ARENA_L2_BITS);
		if (!l2)
			return false;
		__atomic_store_n(&arena_l1[i1], l2, __ATOMIC_RELEASE);
	}
#endif
	CHECK(l2[i2] == NULL);
	__atomic_store_n(&l2[i2], ha, __ATOMIC_RELEASE);

	heapArena **pp = &mheap_.arenas;
	while (*pp && (*pp)->base < base)
		pp = &(*pp)->next;
	ha->next = *pp;
	*pp = ha;
	mheap_.narenas++;
	return true;
}
