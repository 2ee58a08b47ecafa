/*
 * fuzz_fixalloc: the fixed-size metadata allocator, through its internal
 * API (fixalloc_init / fixalloc_alloc / fixalloc_free, mheap.lock held).
 *
 * A pool of allocators of assorted sizes (the real metadata sizes among
 * them, from 8 bytes to a whole 256 KiB chunk) lives for the whole
 * process, because fixalloc never gives chunks back; every input frees
 * all it took.  Checked: blocks come back zeroed, 16-byte aligned, never
 * overlapping any live block of any pool; a freed block is the next one
 * handed out (LIFO free list); contents survive until free; inuse is the
 * live count times the rounded size; sys is whole chunks and covers inuse.
 */
#include <string.h>

#include "internal.h"
#include "ops.h"
#include "spanalloc.h"

#define CHUNK (256 * 1024)
#define MAX_BLOCKS 4096
#define MAX_BYTES (8u << 20) /* live bytes per input */

static const size_t sizes[] = {8,
			       16,
			       24,
			       40,
			       48,
			       64,
			       100,
			       128,
			       200,
			       256,
			       1000,
			       4096,
			       4104,
			       8192,
			       65536,
			       100000,
			       CHUNK,
			       sizeof(mspan),
			       sizeof(mcache),
			       3 * (MAX_OBJS_PER_SPAN / 64) * sizeof(uint64_t)};
#define NPOOL (sizeof sizes / sizeof sizes[0])

static fixalloc pool[NPOOL];
static uint64_t nlive_in[NPOOL];
static void *last_freed[NPOOL];

struct fb {
	uint8_t *p;
	unsigned pool;
	uint64_t seed;
};
static struct fb blocks[MAX_BLOCKS];
static unsigned nblocks;
static size_t live_bytes;
static range_index ranges;
static uint64_t seeds;

/* Only the size the pool was made with is filled (the rounding is the pool's). */
static size_t fill_len(unsigned i) { return sizes[i] < 512 ? sizes[i] : 512; }

NOCOV static void check_pool(unsigned i, const char *when)
{
	fixalloc *f = &pool[i];
	if (f->size != ((sizes[i] + 15) & ~(size_t)15))
		fuzz_fail("%s: pool of %zu-byte blocks has size %zu", when, sizes[i], f->size);
	if (f->inuse != nlive_in[i] * f->size)
		fuzz_fail("%s: pool of %zu: inuse %lu, %lu blocks live", when, sizes[i], (unsigned long)f->inuse,
			  (unsigned long)nlive_in[i]);
	if (f->sys % CHUNK || f->sys < f->inuse)
		fuzz_fail("%s: pool of %zu: sys %lu (inuse %lu)", when, sizes[i], (unsigned long)f->sys,
			  (unsigned long)f->inuse);
}

static void do_alloc(unsigned i)
{
	fixalloc *f = &pool[i];
	if (nblocks == MAX_BLOCKS || live_bytes + f->size > MAX_BYTES)
		return;
	lock(&mheap_.lock);
	uint8_t *p = fixalloc_alloc(f);
	unlock(&mheap_.lock);
	fuzz_log("fixalloc_alloc(pool %zu) = %p", sizes[i], (void *)p);
	if (!p)
		fuzz_fail("fixalloc_alloc(%zu) failed", sizes[i]);
	if ((uintptr_t)p % 16)
		fuzz_fail("fixalloc block %p not 16-byte aligned", (void *)p);
	if (last_freed[i] && p != last_freed[i])
		fuzz_fail("fixalloc_alloc(%zu) = %p, but %p was freed last (the free list is LIFO)", sizes[i],
			  (void *)p, last_freed[i]);
	last_freed[i] = NULL;
	ri_insert(&ranges, (uintptr_t)p, (uintptr_t)p + f->size, "fixalloc_alloc");
	zero_check(p, f->size, "fixalloc block (blocks come back zeroed)");
	struct fb *b = &blocks[nblocks++];
	b->p = p;
	b->pool = i;
	b->seed = ++seeds * 0x9e3779b97f4a7c15ull;
	pattern_fill(p, fill_len(i), b->seed);
	/* The rest of the block is the caller's too. */
	size_t tail = f->size - 16 > fill_len(i) ? f->size - 16 : fill_len(i);
	memset(p + tail, 0xee, f->size - tail);
	nlive_in[i]++;
	live_bytes += f->size;
}

static void do_free(unsigned k)
{
	struct fb b = blocks[k];
	fixalloc *f = &pool[b.pool];
	pattern_check(b.p, fill_len(b.pool), b.seed, fill_len(b.pool), "fixalloc block at free");
	blocks[k] = blocks[--nblocks];
	ri_remove(&ranges, (uintptr_t)b.p);
	fuzz_log("fixalloc_free(pool %zu, %p)", sizes[b.pool], (void *)b.p);
	lock(&mheap_.lock);
	fixalloc_free(f, b.p);
	unlock(&mheap_.lock);
	nlive_in[b.pool]--;
	live_bytes -= f->size;
	last_freed[b.pool] = b.p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_set_name("fixalloc");
	sa_ensure_init();
	for (unsigned i = 0; i < NPOOL; i++)
		fixalloc_init(&pool[i], sizes[i]);
	ri_init(&ranges, MAX_BLOCKS);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init_once();
	fdp d = {data, size};
	unsigned ops = 0;
	fuzz_log("---- input of %zu bytes", size);
	for (unsigned i = 0; i < NPOOL; i++)
		last_freed[i] = NULL;
	while (!fdp_done(&d) && ops++ < 2000) {
		uint8_t op = fdp_u8(&d);
		unsigned i = fdp_u8(&d) % NPOOL;
		switch (op % 8) {
		case 0:
		case 1:
		case 2: do_alloc(i); break;
		case 3: { /* a run from one pool */
			unsigned n = 1 + fdp_u8(&d) % 64;
			for (unsigned k = 0; k < n; k++)
				do_alloc(i);
			break;
		}
		case 4:
		case 5:
			if (nblocks)
				do_free(fdp_u16(&d) % nblocks);
			break;
		case 6: /* the newest blocks, LIFO */
			for (unsigned n = 1 + fdp_u8(&d) % 16; n > 0 && nblocks; n--)
				do_free(nblocks - 1);
			break;
		default: /* every block of one pool */
			for (unsigned k = nblocks; k-- > 0;)
				if (blocks[k].pool == i)
					do_free(k);
			break;
		}
		check_pool(i, "after an operation");
	}
	while (nblocks)
		do_free(nblocks - 1);
	for (unsigned i = 0; i < NPOOL; i++)
		check_pool(i, "end of input");
	return 0;
}
