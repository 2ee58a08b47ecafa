/*
 * heapArena and the arena index.
 *
 * The heap is made of 64 MiB arenas reserved from the OS.  Each has a
 * heapArena record outside it (page map and page bitmaps) so that the
 * arena holds user memory only and guard pages can sit right against it.
 * The two-level index arena_l1[l1][l2] (Go's mheap.arenas) maps any
 * address to its heapArena in two loads: l1 is address bits 42..47, l2
 * bits 26..41; an L2 array (512 KiB, demand-zero) is mapped the first
 * time an arena lands in its 4 TiB region.
 */
#include "internal.h"

heapArena **arena_l1[1 << ARENA_L1_BITS];

/* A heapArena record for the reserved range at base.  Heap lock held. */
heapArena *arena_new(uintptr_t base)
{
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
	uintptr_t base = ha->base;
	CHECK((base & (ARENA_SIZE - 1)) == 0 && (base >> HEAP_ADDR_BITS) == 0);
	size_t i1 = base >> (ARENA_SHIFT + ARENA_L2_BITS);
	size_t i2 = (base >> ARENA_SHIFT) & ((1u << ARENA_L2_BITS) - 1);
	heapArena **l2 = arena_l1[i1];
	if (!l2) {
		l2 = os_alloc(sizeof(heapArena *) << ARENA_L2_BITS);
		if (!l2)
			return false;
		__atomic_store_n(&arena_l1[i1], l2, __ATOMIC_RELEASE);
	}
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
