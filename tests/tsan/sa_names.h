/*
 * Force-included (-include) into a test built for ThreadSanitizer: the
 * library is built with -DSA_NO_STD_NAMES there (TSan's runtime keeps its
 * own malloc, which it must intercept), so the test's calls of the
 * standard names go to spanalloc's sa_ names instead.
 */
#include <stddef.h>
#define malloc sa_malloc
#define free sa_free
#define calloc sa_calloc
#define realloc sa_realloc
#define aligned_alloc sa_aligned_alloc
#define posix_memalign sa_posix_memalign
#define memalign sa_memalign
#define malloc_usable_size sa_malloc_usable_size
