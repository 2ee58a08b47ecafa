/*
 * Hooks that tell memory checkers about blocks, in the shape of
 * mimalloc's track.h.  The production build compiles them to nothing;
 * the debug build (src/debug/) maps them to Valgrind client requests or
 * AddressSanitizer poisoning.
 *
 *   SA_TRACK_MALLOC(p, size, zero)   a block of size bytes now lives at p
 *   SA_TRACK_FREE(p)                 the block at p is gone
 *   SA_TRACK_RESIZE(p, old, new)     the block at p changed size in place
 */
#ifndef SA_TRACK_H
#define SA_TRACK_H

#if defined(SA_DEBUG) && defined(SA_TRACK_IMPL)
#include SA_TRACK_IMPL
#else
#define SA_TRACK_MALLOC(p, size, zero) ((void)(p), (void)(size), (void)(zero))
#define SA_TRACK_FREE(p) ((void)(p))
#define SA_TRACK_RESIZE(p, oldsize, newsize) ((void)(p), (void)(oldsize), (void)(newsize))
#endif

#endif
