/*
 * Stacks of the debug build: the allocation and free stack of every block,
 * and the depot that keeps each distinct stack once.
 *
 * Two unwinders (SPANALLOC_OPTIONS=fast_unwind):
 *
 *   1  frame pointers (ASan's fast unwinder): a few loads a frame, but
 *      the walk stops at the first function built without
 *      -fno-omit-frame-pointer, so in most builds a stack is the caller
 *      of malloc/free and nothing more;
 *   0  .eh_frame, through glibc's backtrace() (libgcc_s's
 *      _Unwind_Backtrace): complete stacks whatever the program was built
 *      with, at a cost per frame (README, "Stacks").
 *
 * Both run inside malloc, so neither may allocate or take a lock that a
 * nested malloc needs.  The frame walk does neither.  backtrace()
 * allocates once, when it loads libgcc_s: the constructor makes that
 * first call (stack_warm_unwinder), and until it has, stacks come from
 * frame pointers.  After that libgcc's unwinder finds a frame's FDE with
 * _dl_find_object (glibc 2.35, no lock) and takes a lock of its own only
 * for code registered at run time with __register_frame (JIT compilers),
 * whose first lookup may allocate: a malloc from there, on the same
 * thread, finds `unwinding` set and walks frame pointers instead.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <pthread.h>
#include <string.h>

#include "../internal.h"
#include "../track.h"

extern void *__libc_stack_end;

/* ---- the depot ------------------------------------------------------------ */

/*
 * Stacks are stored once each, in 1 MiB chunks from os_alloc, found by a
 * hash of their frames; a block keeps the 32-bit id of its stacks.
 * Entries are never freed, and DEPOT_MAX of them at most are kept (a
 * stack seen after that is not recorded: its report says nothing of it).
 */
#define DEPOT_BUCKETS (1u << 16)
#define DEPOT_MAX (1u << 20)
#define DEPOT_CHUNK (1u << 20)
struct depot_entry {
	struct depot_entry *next;
	uint32_t hash, depth, id;
	uintptr_t frames[]; /* depth return addresses, the caller of the API first */
};

static struct depot_entry **depot_table; /* DEPOT_BUCKETS chains */
static struct depot_entry **depot_by_id; /* id - 1 -> entry */
static uint32_t depot_n;
static char *depot_chunk;
static size_t depot_left;
static mutex depot_lock = MUTEX_INIT;

static bool depot_match(const struct depot_entry *e, uint32_t h, const uintptr_t *frames, unsigned depth)
{
	return e->hash == h && e->depth == depth && !memcmp(e->frames, frames, depth * sizeof *frames);
}

/* The id of this stack in the depot (0: none), adding it if new. */
static uint32_t depot_put(const uintptr_t *frames, unsigned depth)
{
	if (!depth || !depot_table)
		return 0;
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < depth; i++)
		h = (h ^ (uint32_t)(frames[i] ^ (frames[i] >> 32))) * 16777619u;
	struct depot_entry **bucket = &depot_table[h & (DEPOT_BUCKETS - 1)];
	/* Chains only grow at the head, so they can be read without the lock. */
	for (struct depot_entry *e = __atomic_load_n(bucket, __ATOMIC_ACQUIRE); e; e = e->next)
		if (depot_match(e, h, frames, depth))
			return e->id;
	size_t size = sizeof(struct depot_entry) + depth * sizeof *frames;
	lock(&depot_lock);
	uint32_t id = 0;
	for (struct depot_entry *e = *bucket; e; e = e->next)
		if (depot_match(e, h, frames, depth))
			id = e->id;
	if (!id && depot_n < DEPOT_MAX) {
		if (depot_left < size) {
			depot_chunk = os_alloc(DEPOT_CHUNK);
			depot_left = depot_chunk ? DEPOT_CHUNK : 0;
		}
		if (depot_left >= size) {
			struct depot_entry *e = (struct depot_entry *)depot_chunk;
			depot_chunk += size;
			depot_left -= size;
			e->hash = h;
			e->depth = depth;
			memcpy(e->frames, frames, depth * sizeof *frames);
			e->id = id = depot_n + 1;
			depot_by_id[id - 1] = e;
			__atomic_store_n(&depot_n, id, __ATOMIC_RELEASE);
			e->next = *bucket;
			__atomic_store_n(bucket, e, __ATOMIC_RELEASE);
		}
	}
	unlock(&depot_lock);
	return id;
}

/* ---- frame pointers ---------------------------------------------------------- */

static __thread uintptr_t stack_top;
static __thread bool finding_top;
static pthread_t main_thread;

/* The top of this thread's stack, or 0 when unknown. */
static uintptr_t thread_stack_top(void)
{
	if (stack_top || finding_top)
		return stack_top;
	finding_top = true; /* pthread_getattr_np may allocate */
	if (pthread_equal(pthread_self(), main_thread)) {
		stack_top = (uintptr_t)__libc_stack_end;
	} else {
		pthread_attr_t a;
		void *addr;
		size_t size;
		if (pthread_getattr_np(pthread_self(), &a) == 0) {
			if (pthread_attr_getstack(&a, &addr, &size) == 0)
				stack_top = (uintptr_t)addr + size;
			pthread_attr_destroy(&a);
		}
	}
	finding_top = false;
	return stack_top;
}

/*
 * Walk the frame-pointer chain from fp (an API function's frame).  The
 * first frame, the caller of malloc/free, is always right; the walk goes
 * further only through code built with frame pointers, and stops at the
 * first frame that does not lie above the last one on this stack.
 */
static unsigned capture_fp(uintptr_t fp, uintptr_t *out, unsigned max)
{
	uintptr_t top = thread_stack_top();
	unsigned n = 0;
	while (n < max && (fp & 7) == 0 && (n == 0 || (top && fp + 16 <= top))) {
		uintptr_t *f = (uintptr_t *)fp;
		if (!f[1])
			break;
		out[n++] = f[1];
		if (n == max)
			break;
		uintptr_t next = f[0];
		if (next <= fp || next - fp > ((uintptr_t)1 << 22))
			break;
		fp = next;
	}
	return n;
}

/* ---- .eh_frame ------------------------------------------------------------------ */

static bool unwinder_ready;     /* backtrace() has loaded libgcc_s */
static __thread bool unwinding; /* this thread is in backtrace() */

/* spanalloc's own frames above the caller of the API, at most (this
 * function, stack_here, the debug layer, the API function; realloc and
 * efence add a few). */
#define OWN_FRAMES_MAX 12

/*
 * The stack from the caller of the API function whose frame is fp, by
 * .eh_frame; 0 if that caller is not among the frames found (then the
 * frame-pointer walk takes over).
 */
static NOINLINE unsigned capture_eh(uintptr_t fp, uintptr_t *out, unsigned max)
{
	void *pcs[STACK_DEPTH + OWN_FRAMES_MAX];
	/* The API function was built with a frame pointer (DEBUGFLAGS): its
	 * return address is known; the user's stack starts there. */
	uintptr_t ra = ((const uintptr_t *)fp)[1];
	unwinding = true;
	int n = backtrace(pcs, (int)(max + OWN_FRAMES_MAX));
	unwinding = false;
	for (int i = 0; i < n && i < OWN_FRAMES_MAX; i++) {
		if ((uintptr_t)pcs[i] != ra)
			continue;
		unsigned k = (unsigned)(n - i) < max ? (unsigned)(n - i) : max;
		for (unsigned j = 0; j < k; j++)
			out[j] = (uintptr_t)pcs[i + j];
		return k;
	}
	return 0;
}

void stack_warm_unwinder(void)
{
	void *frame;
	backtrace(&frame, 1);
	__atomic_store_n(&unwinder_ready, true, __ATOMIC_RELEASE);
}

/* ---- the interface -------------------------------------------------------------- */

uint32_t stack_here(uintptr_t fp)
{
	uintptr_t frames[STACK_DEPTH];
	unsigned max = opts.malloc_context < STACK_DEPTH ? (unsigned)opts.malloc_context : STACK_DEPTH;
	/* Memcheck keeps its own stacks, and frames without a frame pointer
	 * hold words it rightly calls uninitialised: only the caller then. */
	if (max > 1 && RUNNING_ON_VALGRIND)
		max = 1;
	if (!max)
		return 0;
	unsigned n = 0;
	if (max > 1 && !opts.fast_unwind && !unwinding && __atomic_load_n(&unwinder_ready, __ATOMIC_ACQUIRE))
		n = capture_eh(fp, frames, max);
	if (!n)
		n = capture_fp(fp, frames, max);
	return depot_put(frames, n);
}

void print_depot_stack(const char *title, uint32_t id)
{
	if (!id || id > __atomic_load_n(&depot_n, __ATOMIC_ACQUIRE))
		return;
	struct depot_entry *e = depot_by_id[id - 1];
	os_write(report_fd, title, strlen(title));
	sa_print_frames(e->frames, e->depth, false);
}

void stack_init(void)
{
	main_thread = pthread_self();
	depot_table = os_alloc(DEPOT_BUCKETS * sizeof *depot_table);
	depot_by_id = os_alloc(DEPOT_MAX * sizeof *depot_by_id);
}
