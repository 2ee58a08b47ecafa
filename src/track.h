/*
 * Hooks that tell memory checkers about blocks, in the shape of
 * mimalloc's track.h.  The production build compiles them to nothing.
 * The debug build maps them to Valgrind client requests (no-ops unless
 * the program runs under valgrind), and, when compiled with
 * -fsanitize=address, to AddressSanitizer poisoning as well.
 *
 *   SA_TRACK_MALLOC(p, size, zero)   a block of size bytes now lives at p
 *   SA_TRACK_FREE(p, size)           the block of size bytes at p is gone
 *   SA_TRACK_NOACCESS(p, n)          heap memory nobody may touch
 */
#ifndef SA_TRACK_H
#define SA_TRACK_H

#if defined(__SANITIZE_ADDRESS__)
#define SA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SA_ASAN 1
#endif
#endif
#ifndef SA_ASAN
#define SA_ASAN 0
#endif

#ifdef SA_DEBUG
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#if SA_ASAN
#include <sanitizer/asan_interface.h>
#define SA_ASAN_POISON(p, n) ASAN_POISON_MEMORY_REGION((void *)(p), (n))
#define SA_ASAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((void *)(p), (n))
#else
#define SA_ASAN_POISON(p, n) ((void)(p), (void)(n))
#define SA_ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#define SA_TRACK_MALLOC(p, size, zero)                                                                                 \
	do {                                                                                                           \
		SA_ASAN_UNPOISON(p, size);                                                                             \
		VALGRIND_MALLOCLIKE_BLOCK((void *)(p), (size), 0, (zero));                                             \
	} while (0)
#define SA_TRACK_FREE(p, size)                                                                                         \
	do {                                                                                                           \
		VALGRIND_FREELIKE_BLOCK((void *)(p), 0);                                                               \
		SA_ASAN_POISON(p, size);                                                                               \
	} while (0)
#define SA_TRACK_NOACCESS(p, n)                                                                                        \
	do {                                                                                                           \
		VALGRIND_MAKE_MEM_NOACCESS((void *)(p), (n));                                                          \
		SA_ASAN_POISON(p, n);                                                                                  \
	} while (0)
/* Under a checker, the checker watches user memory better than patterns. */
#define SA_UNDER_TOOL() (SA_ASAN || RUNNING_ON_VALGRIND)
#else
#define SA_TRACK_MALLOC(p, size, zero) ((void)(p), (void)(size), (void)(zero))
#define SA_TRACK_FREE(p, size) ((void)(p), (void)(size))
#define SA_TRACK_NOACCESS(p, n) ((void)(p), (void)(n))
#define SA_UNDER_TOOL() 0
#endif

#endif
