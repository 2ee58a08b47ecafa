/*
 * fixalloc: Go's allocator for fixed-size runtime metadata (mspans,
 * mcaches, bitmaps).  Blocks are carved from 256 KiB chunks of OS memory
 * and recycled through a free list; chunks are never returned.  All calls
 * hold mheap.lock.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define FIXALLOC_CHUNK (256 * 1024)

void fixalloc_init(fixalloc *f, size_t size)
{
	CHECK(size >= sizeof(void *) && size <= FIXALLOC_CHUNK);
	f->size = (size + 15) & ~(size_t)15;
	f->list = NULL;
	f->chunk = NULL;
	f->nchunk = 0;
	f->inuse = 0;
	f->sys = 0;
}

void *fixalloc_alloc(fixalloc *f)
{
	void *p;
	if (f->list) {
		p = f->list;
		f->list = *(void **)p;
		memset(p, 0, f->size);
	} else {
		if (f->nchunk < f->size) {
			f->chunk = os_alloc(FIXALLOC_CHUNK);
			if (!f->chunk) {
				os_say_refused("the heap's metadata", FIXALLOC_CHUNK, errno);
				f->nchunk = 0;
				return NULL;
			}
			f->nchunk = FIXALLOC_CHUNK;
			f->sys += FIXALLOC_CHUNK;
		}
		p = f->chunk; /* fresh from the OS: already zero */
		f->chunk += f->size;
		f->nchunk -= f->size;
	}
	f->inuse += f->size;
	return p;
}

void fixalloc_free(fixalloc *f, void *p)
{
	*(void **)p = f->list;
	f->list = p;
	f->inuse -= f->size;
}
