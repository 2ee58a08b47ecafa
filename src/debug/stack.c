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
 *   0  .eh_frame: complete stacks whatever the program was built with,
 *      by the cached rules of each return address (capture_cfi, x86-64),
 *      else through glibc's backtrace() (libgcc_s's _Unwind_Backtrace,
 *      ten times slower); the README's "Stacks" has the costs.
 *
 * All run inside malloc, so none may allocate or take a lock that a
 * nested malloc needs.  The frame walk and capture_cfi do neither (their
 * cache is lock-free).  backtrace()
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
static mutex depot_lock = MUTEX_INIT(LOCK_DEPOT);

/*
 * The entries found last, by hash: a lookup of a stack seen lately reads
 * this 32 KiB table and the entry (both in cache when the stack is hot)
 * instead of the 512 KiB bucket array and a chain, whose cache misses
 * were half of stack_here's time in a fuzz target (two stacks a block).
 * Shared and lock-free: a slot holds NULL or an entry, which is never
 * freed, and a hit is checked against the frames like a chain's.
 */
#define DEPOT_HOT (1u << 12)
static struct depot_entry *depot_hot[DEPOT_HOT];

static bool depot_match(const struct depot_entry *e, uint32_t h, const uintptr_t *frames, unsigned depth)
{
	if (e->hash != h || e->depth != depth)
		return false;
	for (unsigned i = 0; i < depth; i++) /* (a few words: no call to memcmp) */
		if (e->frames[i] != frames[i])
			return false;
	return true;
}

/* The id of this stack in the depot (0: none), adding it if new. */
static uint32_t depot_put(const uintptr_t *frames, unsigned depth)
{
	if (!depth || !depot_table)
		return 0;
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < depth; i++)
		h = (h ^ (uint32_t)(frames[i] ^ (frames[i] >> 32))) * 16777619u;
	struct depot_entry **hot = &depot_hot[(h ^ h >> 16) & (DEPOT_HOT - 1)];
	struct depot_entry *e = __atomic_load_n(hot, __ATOMIC_ACQUIRE);
	if (e && depot_match(e, h, frames, depth))
		return e->id;
	struct depot_entry **bucket = &depot_table[h & (DEPOT_BUCKETS - 1)];
	/* Chains only grow at the head, so they can be read without the lock. */
	for (e = __atomic_load_n(bucket, __ATOMIC_ACQUIRE); e; e = e->next)
		if (depot_match(e, h, frames, depth)) {
			__atomic_store_n(hot, e, __ATOMIC_RELEASE);
			return e->id;
		}
	size_t size = sizeof(struct depot_entry) + depth * sizeof *frames;
	lock(&depot_lock);
	uint32_t id = 0;
	for (e = *bucket; e; e = e->next)
		if (depot_match(e, h, frames, depth))
			id = e->id;
	if (!id && depot_n < DEPOT_MAX) {
		if (depot_left < size) {
			depot_chunk = os_alloc(DEPOT_CHUNK);
			depot_left = depot_chunk ? DEPOT_CHUNK : 0;
		}
		if (depot_left >= size) {
			e = (struct depot_entry *)depot_chunk;
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
			__atomic_store_n(hot, e, __ATOMIC_RELEASE);
		}
	}
	unlock(&depot_lock);
	return id;
}

/* ---- frame pointers ---------------------------------------------------------- */

static __thread uintptr_t stack_top;
static pthread_t main_thread;

/*
 * An address above every frame of this thread's stack (the walk's upper
 * bound), or 0 when unknown: the main thread's stack end, else the
 * thread pointer (os.c says why not pthread_getattr_np).
 */
static uintptr_t thread_stack_top(void)
{
	if (!stack_top)
		stack_top = pthread_equal(pthread_self(), main_thread) ? (uintptr_t)__libc_stack_end
								       : os_thread_stack_bound();
	return stack_top;
}

/*
 * While a fuzzing engine runs an input on this thread, the frame of the
 * call that started it (stack_input_begin), else UINTPTR_MAX.  Stacks
 * taken in the input end at the engine's frame that called the fuzz
 * target (libFuzzer's ExecuteCallback): the frames below it (RunOne,
 * MutateAndTestOne, Loop, FuzzerDriver, main, libc's) are the same for
 * every block of every input and were half of each stack's frames, and
 * of its cost, in the fuzz targets of bench/fuzz-compare.sh.
 */
static __thread uintptr_t input_frame = UINTPTR_MAX;

void stack_input_begin(uintptr_t frame) { input_frame = frame; }
void stack_input_end(void) { input_frame = UINTPTR_MAX; }

/*
 * Whether ra can be a return address found past the first frame: a
 * function built without frame pointers may keep anything in rbp, and
 * one that keeps the address of its own locals there passes the chain's
 * checks; its "frames" are then the words of those locals (a report's
 * allocation stack showed a heap block's address as the caller of main,
 * "<unknown module>").  Code is never on this stack, in the heap's
 * arenas or in the guarded pool, nor in the first page.
 */
static bool code_address(uintptr_t ra, uintptr_t start, uintptr_t top)
{
	if (ra < 4096 || (ra >= start && ra < top))
		return false;
	return !arena_of(ra) && !guarded_owns(ra);
}

/*
 * Walk the frame-pointer chain from fp (an API function's frame).  The
 * first frame, the caller of malloc/free, is always right; the walk goes
 * further only through code built with frame pointers, and stops at the
 * first frame that does not lie above the last one on this stack or
 * whose return address cannot be code (code_address), or after the
 * return address into the engine (input_frame; one set above
 * the walk's start is stale, from a hook called deeper, as libFuzzer's
 * crash handler does, and is not heeded).
 */
static unsigned capture_fp(uintptr_t fp, uintptr_t *out, unsigned max)
{
	uintptr_t top = thread_stack_top(), limit = input_frame, start = fp;
	if (fp >= limit)
		limit = UINTPTR_MAX;
	unsigned n = 0;
	while (n < max && (fp & 7) == 0 && (n == 0 || (top && fp + 16 <= top))) {
		uintptr_t *f = (uintptr_t *)fp;
		if (!f[1] || (n > 0 && !code_address(f[1], start, top)))
			break;
		out[n++] = f[1];
		if (n == max || fp >= limit)
			break;
		uintptr_t next = f[0];
		if (next <= fp || next - fp > ((uintptr_t)1 << 22))
			break;
		fp = next;
	}
	return n;
}

/* ---- .eh_frame, by the rules of each return address (x86-64) --------------------- */

/*
 * libgcc's unwinder finds and interprets the FDE of every frame of every
 * stack: tens of microseconds a stack.  A program's allocations come from
 * few call sites, so here each return address's rule (the CFA from rsp or
 * rbp plus an offset; the return address at CFA-8; rbp saved at CFA-k or
 * kept) is worked out from .eh_frame once (_dl_find_object: no lock, no
 * allocation) and cached; a stack is then a few loads a frame, as with
 * frame pointers.  Rules this does not handle (CFA expressions, as in PLT
 * stubs; signal frames; registers saved in registers) make the whole
 * stack come from libgcc instead.
 */
#if defined(__x86_64__) && defined(__GLIBC__) && __GLIBC_PREREQ(2, 35)
#include <dlfcn.h>
#define CFI_UNWIND 1

#define RULE_CACHE (1u << 14)
/* A rule, packed with a hash of its pc (so that a torn pair of words,
 * written by two threads at once, does not match). */
struct rule_slot {
	uintptr_t pc, rule;
};
static struct rule_slot rule_cache[RULE_CACHE];
#define R_CFA_RBP 1u      /* CFA = rbp + off, else rsp + off */
#define R_RBP_SAVED 2u    /* rbp saved at CFA - rbpoff */
#define R_END 4u          /* the return address is undefined: the outermost frame */
#define R_OFF_SHIFT 3     /* 20 bits of CFA offset */
#define R_RBPOFF_SHIFT 23 /* 12 bits */
#define R_HASH_SHIFT 40

static uintptr_t pc_hash(uintptr_t pc) { return ((pc * 0x9e3779b97f4a7c15ull) >> 40) | 1; }

static uint64_t uleb(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	unsigned sh = 0;
	while (*p < end) {
		uint8_t b = *(*p)++;
		if (sh < 64)
			v |= (uint64_t)(b & 0x7f) << sh;
		sh += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static int64_t sleb(const uint8_t **p, const uint8_t *end)
{
	int64_t v = 0;
	unsigned sh = 0;
	uint8_t b = 0;
	while (*p < end) {
		b = *(*p)++;
		if (sh < 64)
			v |= (int64_t)(b & 0x7f) << sh;
		sh += 7;
		if (!(b & 0x80))
			break;
	}
	if (sh < 64 && (b & 0x40))
		v |= -((int64_t)1 << sh);
	return v;
}

/* A pointer in encoding enc (the forms GCC and clang emit); false if not. */
static bool read_ptr(const uint8_t **p, uint8_t enc, uintptr_t *out)
{
	const uint8_t *q = *p;
	uintptr_t base = (enc & 0x70) == 0x10 ? (uintptr_t)q : 0; /* pcrel */
	if ((enc & 0x70) != 0 && (enc & 0x70) != 0x10)
		return false;
	unsigned n; /* bytes; the 0x08 bit: signed */
	switch (enc & 0x0f) {
	case 0x02:
	case 0x0a: n = 2; break;
	case 0x03:
	case 0x0b: n = 4; break;
	case 0x00:
	case 0x04:
	case 0x0c: n = 8; break;
	default: return false;
	}
	uint64_t v = 0;
	memcpy(&v, q, n); /* (little-endian, as the unwinder's x86-64) */
	if ((enc & 0x08) && n < 8)
		v = (uint64_t)((int64_t)(v << (64 - 8 * n)) >> (64 - 8 * n));
	*p += n;
	*out = base + (uintptr_t)v;
	return true;
}

struct cfa_state {
	int64_t cfa_off, rbp_off;
	uint8_t cfa_reg, rbp_saved, ra_undefined, ra_ok;
};

/* Run CFA instructions [p, end) from loc while loc <= pc.  False for
 * what this unwinder does not do. */
static bool run_cfa(const uint8_t *p, const uint8_t *end, uintptr_t loc, uintptr_t pc, uint64_t calign, int64_t dalign,
		    struct cfa_state *st, const struct cfa_state *initial)
{
	struct cfa_state saved[4];
	unsigned nsaved = 0;
	while (p < end) {
		uint8_t op = *p++;
		uint64_t reg, off;
		switch (op & 0xc0) {
		case 0x40:
			loc += (op & 0x3f) * calign;
			if (loc > pc)
				return true;
			continue;
		case 0x80:
			reg = op & 0x3f;
			off = uleb(&p, end);
			if (reg == 6) {
				st->rbp_saved = 1;
				st->rbp_off = (int64_t)off * dalign;
			} else if (reg == 16) {
				st->ra_ok = (int64_t)off * dalign == -8;
			}
			continue;
		case 0xc0:
			reg = op & 0x3f;
			if (reg == 6) {
				st->rbp_saved = initial->rbp_saved;
				st->rbp_off = initial->rbp_off;
			} else if (reg == 16) {
				st->ra_ok = initial->ra_ok;
			}
			continue;
		}
		switch (op) {
		case 0x00: break;
		case 0x02:
		case 0x03:
		case 0x04: {
			uint32_t d = 0;
			unsigned n = op == 0x02 ? 1 : op == 0x03 ? 2 : 4;
			if (p + n > end)
				return false;
			memcpy(&d, p, n); /* (little-endian) */
			p += n;
			loc += d * calign;
			if (loc > pc)
				return true;
			break;
		}
		case 0x05: /* offset_extended */
		case 0x11: /* offset_extended_sf */
			reg = uleb(&p, end);
			{
				int64_t o = op == 0x05 ? (int64_t)uleb(&p, end) : sleb(&p, end);
				if (reg == 6) {
					st->rbp_saved = 1;
					st->rbp_off = o * dalign;
				} else if (reg == 16) {
					st->ra_ok = o * dalign == -8;
				}
			}
			break;
		case 0x06: /* restore_extended */
		case 0x08: /* same_value */
			reg = uleb(&p, end);
			if (reg == 6) {
				st->rbp_saved = op == 0x06 ? initial->rbp_saved : 0;
				st->rbp_off = op == 0x06 ? initial->rbp_off : 0;
			} else if (reg == 16) {
				return false;
			}
			break;
		case 0x07: /* undefined */
			if (uleb(&p, end) == 16)
				st->ra_undefined = 1;
			break;
		case 0x09: /* register */
			reg = uleb(&p, end);
			uleb(&p, end);
			if (reg == 6 || reg == 16)
				return false;
			break;
		case 0x0a:
			if (nsaved == 4)
				return false;
			saved[nsaved++] = *st;
			break;
		case 0x0b:
			if (!nsaved)
				return false;
			*st = saved[--nsaved];
			break;
		case 0x0c: /* def_cfa */
			st->cfa_reg = (uint8_t)uleb(&p, end);
			st->cfa_off = (int64_t)uleb(&p, end);
			break;
		case 0x0d: st->cfa_reg = (uint8_t)uleb(&p, end); break;
		case 0x0e: st->cfa_off = (int64_t)uleb(&p, end); break;
		case 0x12: /* def_cfa_sf */
			st->cfa_reg = (uint8_t)uleb(&p, end);
			st->cfa_off = sleb(&p, end) * dalign;
			break;
		case 0x13: st->cfa_off = sleb(&p, end) * dalign; break;
		case 0x10: /* expression */
		case 0x14: /* val_offset */
		case 0x15: /* val_offset_sf */
		case 0x16: /* val_expression */
			reg = uleb(&p, end);
			if (reg == 6 || reg == 16)
				return false;
			if (op == 0x10 || op == 0x16) {
				off = uleb(&p, end);
				p += off;
			} else {
				uleb(&p, end);
			}
			break;
		case 0x2e: /* GNU_args_size */ uleb(&p, end); break;
		default: /* set_loc, def_cfa_expression, ... */ return false;
		}
	}
	return true;
}

/* The rule of the frame whose code is at pc, packed; 0 if not known. */
static uintptr_t find_rule(uintptr_t pc)
{
	struct dl_find_object fo;
	if (_dl_find_object((void *)pc, &fo) != 0 || !fo.dlfo_eh_frame)
		return 0;
	/* .eh_frame_hdr: version 1, a sorted table of datarel sdata4 pairs */
	const uint8_t *hdr = fo.dlfo_eh_frame, *p = hdr + 4;
	if (hdr[0] != 1 || hdr[3] != 0x3b)
		return 0;
	uintptr_t ehframe, count;
	if (!read_ptr(&p, hdr[1], &ehframe) || !read_ptr(&p, hdr[2], &count) || !count)
		return 0;
	const int32_t *tab = (const int32_t *)(const void *)p;
	size_t lo = 0, hi = count;
	if (pc < (uintptr_t)hdr + tab[0])
		return 0;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if ((uintptr_t)hdr + tab[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	const uint8_t *fde = hdr + tab[2 * lo + 1];
	uint32_t flen, cieoff;
	memcpy(&flen, fde, 4);
	memcpy(&cieoff, fde + 4, 4);
	if (flen == 0xffffffffu || !cieoff)
		return 0;
	const uint8_t *fend = fde + 4 + flen, *cie = fde + 4 - cieoff;
	uint32_t clen;
	memcpy(&clen, cie, 4);
	if (clen == 0xffffffffu)
		return 0;
	const uint8_t *cend = cie + 4 + clen, *c = cie + 8;
	uint8_t version = *c++;
	const char *aug = (const char *)c;
	c += strlen(aug) + 1;
	if (aug[0] && aug[0] != 'z')
		return 0;
	uint64_t calign = uleb(&c, cend);
	int64_t dalign = sleb(&c, cend);
	if (version == 1)
		c++;
	else
		uleb(&c, cend);
	uint8_t fenc = 0;
	if (aug[0] == 'z') {
		uint64_t alen = uleb(&c, cend);
		const uint8_t *a = c;
		for (const char *k = aug + 1; *k; k++) {
			uintptr_t dummy;
			if (*k == 'R')
				fenc = *a++;
			else if (*k == 'L')
				a++;
			else if (*k == 'P') {
				uint8_t penc = *a++;
				if (!read_ptr(&a, penc & 0x0f, &dummy))
					return 0;
			} else
				return 0; /* 'S' (a signal frame), or unknown */
		}
		c += alen;
	}
	const uint8_t *f = fde + 8;
	uintptr_t start, range;
	if (!read_ptr(&f, fenc, &start) || !read_ptr(&f, fenc & 0x0f, &range))
		return 0;
	if (pc < start || pc >= start + range)
		return 0;
	if (aug[0] == 'z') {
		uint64_t alen = uleb(&f, fend);
		f += alen;
	}
	struct cfa_state st = {.cfa_reg = 7, .cfa_off = 8, .ra_ok = 1}, initial;
	if (!run_cfa(c, cend, start, (uintptr_t)-1, calign, dalign, &st, &st))
		return 0;
	initial = st;
	if (!run_cfa(f, fend, start, pc, calign, dalign, &st, &initial))
		return 0;
	if (st.ra_undefined)
		return R_END;
	if (!st.ra_ok || (st.cfa_reg != 7 && st.cfa_reg != 6) || st.cfa_off < 0 || st.cfa_off >= (1 << 20) ||
	    (st.rbp_saved && (st.rbp_off >= 0 || -st.rbp_off >= (1 << 12))))
		return 0;
	return (st.cfa_reg == 6 ? R_CFA_RBP : 0) | (st.rbp_saved ? R_RBP_SAVED : 0) |
	       ((uintptr_t)st.cfa_off << R_OFF_SHIFT) | ((uintptr_t)-st.rbp_off << R_RBPOFF_SHIFT);
}

static uintptr_t rule_of(uintptr_t pc)
{
	struct rule_slot *e = &rule_cache[(pc ^ (pc >> 14)) & (RULE_CACHE - 1)];
	uintptr_t h = pc_hash(pc) << R_HASH_SHIFT;
	uintptr_t r = __atomic_load_n(&e->rule, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&e->pc, __ATOMIC_RELAXED) == pc && (r & ~(((uintptr_t)1 << R_HASH_SHIFT) - 1)) == h)
		return r & (((uintptr_t)1 << R_HASH_SHIFT) - 1);
	r = find_rule(pc);
	if (r) {
		__atomic_store_n(&e->pc, pc, __ATOMIC_RELAXED);
		__atomic_store_n(&e->rule, r | h, __ATOMIC_RELEASE);
	}
	return r;
}

/*
 * The stack from the caller of the API function whose frame is fp, by
 * the cached rules; 0 if a frame has a rule this does not follow (then
 * libgcc unwinds).
 */
static unsigned capture_cfi(uintptr_t fp, uintptr_t *out, unsigned max)
{
	uintptr_t top = thread_stack_top();
	if (!top || (fp & 7))
		return 0;
	const uintptr_t *f = (const uintptr_t *)fp;
	uintptr_t pc = f[1], sp = fp + 16, rbp = f[0];
	unsigned n = 0;
	while (n < max && pc) {
		out[n++] = pc;
		uintptr_t r = rule_of(pc - 1);
		if (!r)
			return 0;
		if (r == R_END)
			break;
		uintptr_t cfa = ((r & R_CFA_RBP) ? rbp : sp) + ((r >> R_OFF_SHIFT) & ((1u << 20) - 1));
		if (cfa < sp + 8 || cfa > top || (cfa & 7))
			break;
		pc = ((const uintptr_t *)cfa)[-1];
		if (r & R_RBP_SAVED) {
			uintptr_t at = cfa - ((r >> R_RBPOFF_SHIFT) & ((1u << 12) - 1));
			if (at < sp)
				break;
			rbp = *(const uintptr_t *)at;
		}
		sp = cfa;
	}
	return n;
}
#else
#define CFI_UNWIND 0
static unsigned capture_cfi(uintptr_t fp, uintptr_t *out, unsigned max)
{
	(void)fp, (void)out, (void)max;
	return 0;
}
#endif

/* ---- .eh_frame, by libgcc --------------------------------------------------------- */

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
	if (max > 1 && !opts.fast_unwind) {
		n = capture_cfi(fp, frames, max);
		if (!n && !unwinding && __atomic_load_n(&unwinder_ready, __ATOMIC_ACQUIRE))
			n = capture_eh(fp, frames, max);
	}
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

unsigned depot_stack(uint32_t id, const uintptr_t **frames)
{
	if (!id || id > __atomic_load_n(&depot_n, __ATOMIC_ACQUIRE))
		return 0;
	*frames = depot_by_id[id - 1]->frames;
	return depot_by_id[id - 1]->depth;
}

void stack_init(void)
{
	main_thread = pthread_self();
	depot_table = os_alloc(DEPOT_BUCKETS * sizeof *depot_table);
	depot_by_id = os_alloc(DEPOT_MAX * sizeof *depot_by_id);
}
