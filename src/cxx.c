/*
 * C++: the replaceable allocation functions (operator new / delete, scalar
 * and array, sized, aligned, nothrow; C++17/20), so that a C++ program's
 * allocations reach spanalloc with their family (new, new[]), the size of a
 * sized delete and the alignment of an aligned one.  The debug build records
 * the family and checks every delete against it (debug.c, dbg_delete); the
 * production build checks a sized delete's size against its block's size
 * class (malloc.c, free_impl_sized).
 *
 * Why C, under the Itanium C++ ABI's mangled names (the same on x86-64 and
 * aarch64, where size_t is unsigned long, 'm'), rather than a C++ file:
 * libspanalloc.so and .a must serve C programs too, with no C++ runtime.
 * The operators need that runtime only on their rare paths (the installed
 * new-handler, throwing std::bad_alloc), and every C++ program has it, so
 * they reach it through weak references resolved when the program is
 * loaded: the library gets no DT_NEEDED on libstdc++, a C program links
 * without -lstdc++, and the same code serves libstdc++ and libc++abi (the
 * names used are the Itanium ABI's).  A C++ translation unit would need a
 * C++ compiler to build spanalloc and would make its own strong references
 * to the runtime (personality, catch) that a C program cannot resolve.
 *
 * With -static-libstdc++, a weak reference pulls no archive member: a
 * program that never calls std::set_new_handler has no new-handler to get
 * (right: there is none), and one whose code never throws may have no
 * std::bad_alloc to throw; then a failed operator new says so and aborts.
 *
 * Semantics, as the standard says and libstdc++ does:
 *   - operator new(0) returns a unique pointer (a 1-byte request);
 *   - operator new loops while allocation fails: it calls the installed
 *     new-handler, and throws std::bad_alloc when there is none;
 *   - the nothrow forms return NULL instead (they run the same loop, and a
 *     handler that throws makes them return NULL, as libstdc++'s
 *     catch (...) does);
 *   - an alignment that is not a power of two makes the aligned forms fail
 *     at once (bad_alloc, or NULL for the nothrow ones), as libstdc++;
 *   - every delete of NULL does nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <unwind.h>

#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

/* Referenced by malloc.c, so that a static link always takes this file. */
const char sa_cxx_operators INTERNAL = 1;

/* ---- the C++ runtime, weak ---------------------------------------------- */

typedef void (*new_handler)(void);
/* std::get_new_handler() */
extern new_handler _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void *__cxa_allocate_exception(size_t size) __attribute__((weak));
extern void __cxa_throw(void *obj, void *tinfo, void (*dtor)(void *)) __attribute__((weak, noreturn));
extern void *__cxa_begin_catch(void *exc) __attribute__((weak));
extern void __cxa_end_catch(void) __attribute__((weak));
extern char _ZTISt9bad_alloc[] __attribute__((weak));              /* typeid(std::bad_alloc) */
extern void *_ZTVSt9bad_alloc[] __attribute__((weak));             /* its vtable */
extern void _ZNSt9bad_allocD1Ev(void *self) __attribute__((weak)); /* ~bad_alloc() */

static NOINLINE __attribute__((noreturn)) void throw_bad_alloc(void)
{
	if (!__cxa_allocate_exception || !__cxa_throw || !_ZTISt9bad_alloc || !_ZTVSt9bad_alloc)
		sa_fatal("operator new: out of memory, and no C++ runtime to throw std::bad_alloc with");
	void **e = __cxa_allocate_exception(sizeof(void *));
	/* A std::bad_alloc is its vtable pointer, which points past the
	 * vtable's offset-to-top and typeinfo words (Itanium ABI 2.5). */
	*e = _ZTVSt9bad_alloc + 2;
	__cxa_throw(e, _ZTISt9bad_alloc, _ZNSt9bad_allocD1Ev);
}

/*
 * The nothrow forms must return NULL when the new-handler throws.  C cannot
 * catch, but the unwinder asks each frame's personality routine whether it
 * handles an exception: call_handler_nothrow's frame names this one (the
 * .cfi_personality in it), which takes every exception but a forced unwind
 * (thread cancellation, which must go on), and resumes the frame where the
 * handler would have returned, with the exception in `caught`.  The frame's
 * callee-saved registers are the unwinder's to restore, and after a call
 * the caller relies on no other register, so that is a normal return.
 */
static __thread struct _Unwind_Exception *caught;

static _Unwind_Reason_Code nothrow_personality(int version, _Unwind_Action actions, _Unwind_Exception_Class cls,
					       struct _Unwind_Exception *exc, struct _Unwind_Context *ctx)
{
	(void)cls, (void)ctx;
	if (version != 1 || (actions & _UA_FORCE_UNWIND))
		return _URC_CONTINUE_UNWIND;
	if (actions & _UA_SEARCH_PHASE)
		return _URC_HANDLER_FOUND;
	if (!(actions & _UA_HANDLER_FRAME))
		return _URC_CONTINUE_UNWIND;
	caught = exc;
	return _URC_INSTALL_CONTEXT;
}

/* What .cfi_personality points at (indirect, pc-relative: as GCC's DW.ref). */
__attribute__((used, visibility("hidden"))) void *const sa_nothrow_personality_ref = (void *)nothrow_personality;

/* Call the new-handler h; false when it threw (the exception is destroyed). */
static NOINLINE bool call_handler_nothrow(new_handler h)
{
	__asm__ volatile(".cfi_personality 0x9b, sa_nothrow_personality_ref");
	caught = NULL;
	h();
	struct _Unwind_Exception *e = __atomic_load_n(&caught, __ATOMIC_RELAXED);
	if (!e)
		return true;
	caught = NULL;
	/* What a catch (...) { } does: the runtime destroys the exception. */
	__cxa_begin_catch(e);
	__cxa_end_catch();
	return false;
}

/* ---- the two builds ----------------------------------------------------- */

/* -DSA_NO_STD_NAMES (malloc.c) leaves the operators out too: a program with
 * its own (the fuzz harnesses under ASan) keeps them. */

#ifdef SA_DEBUG
/* The operator's frame, where the debug build's stacks start. */
#define FP ((uintptr_t)__builtin_frame_address(0))
#define NEW(size, align, kind) dbg_new((size), (align), (kind), FP)
#define DELETE(p, size, align, kind) dbg_delete((p), (size), (align), (kind), FP)
#else
#define FP ((uintptr_t)0)
#define KIND_NEW 1
#define KIND_NEW_ARRAY 2
#define DBG_NO_SIZE ((size_t)-1)
#define NEW(size, align, kind) ((align) ? core_new_aligned((align), (size)) : core_new_nothrow(size))
/* Sized: the class check; aligned and sized: its top. */
#define DELETE(p, size, align, kind)                                                                                   \
	((size) == DBG_NO_SIZE ? core_delete(p)                                                                        \
	 : (align)             ? core_delete_aligned_sized((p), (size))                                                \
			       : core_delete_sized((p), (size)))
#endif

/* ---- operator new -------------------------------------------------------- */

/*
 * Allocation failed: call the new-handler until it succeeds; with none,
 * throw std::bad_alloc (NULL for the nothrow forms).
 */
static NOINLINE __attribute__((unused)) /* (SA_NO_STD_NAMES, debug) */
void *
new_retry(size_t size, size_t align, int kind, bool nothrow, uintptr_t fp)
{
	(void)fp, (void)kind;
	for (;;) {
		new_handler h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
		if (!h) {
			if (nothrow)
				return NULL;
			throw_bad_alloc();
		}
		if (nothrow) {
			if (!call_handler_nothrow(h))
				return NULL;
		} else {
			h();
		}
#ifdef SA_DEBUG
		void *p = dbg_new(size, align, kind, fp);
#else
		void *p = NEW(size, align, kind);
#endif
		if (p)
			return p;
	}
}

#ifndef SA_NO_STD_NAMES
static NOINLINE void *bad_alignment(bool nothrow)
{
	if (!nothrow)
		throw_bad_alloc();
	return NULL;
}

static inline bool align_ok(size_t align) { return align && !(align & (align - 1)); }

/* One operator new (aligned: 1 for the align_val_t forms, whose argument
 * is align): the fast path inline, the retry loop out of line. */
#define ALIGN_ARG_0 0
#define ALIGN_ARG_1 align
#define OPERATOR_NEW(name, kind, aligned, nothrow, ...)                                                                \
	EXPORT void *name(size_t size __VA_ARGS__)                                                                     \
	{                                                                                                              \
		size_t al = ALIGN_ARG_##aligned;                                                                       \
		if (aligned && UNLIKELY(!align_ok(al)))                                                                \
			return bad_alignment(nothrow);                                                                 \
		void *p = NEW(size, al, kind);                                                                         \
		return LIKELY(p != NULL) ? p : new_retry(size, al, kind, nothrow, FP);                                 \
	}

/* The Itanium names: n = new, a = array, m = size_t, St11align_val_t, RKSt9nothrow_t. */
void *_Znwm(size_t);
void *_Znam(size_t);
void *_ZnwmRKSt9nothrow_t(size_t, const void *);
void *_ZnamRKSt9nothrow_t(size_t, const void *);
void *_ZnwmSt11align_val_t(size_t, size_t);
void *_ZnamSt11align_val_t(size_t, size_t);
void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t, size_t, const void *);
void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t, size_t, const void *);

#ifdef SA_DEBUG
OPERATOR_NEW(_Znwm, KIND_NEW, 0, false)
OPERATOR_NEW(_Znam, KIND_NEW_ARRAY, 0, false)
#else
/* The hot ones: a jump to malloc.c's fast path, which calls back below. */
EXPORT void *_Znwm(size_t size) { return core_new(size); }
EXPORT void *_Znam(size_t size) { return core_new(size); }
#endif
OPERATOR_NEW(_ZnwmRKSt9nothrow_t, KIND_NEW, 0, true, , const void *nt __attribute__((unused)))
OPERATOR_NEW(_ZnamRKSt9nothrow_t, KIND_NEW_ARRAY, 0, true, , const void *nt __attribute__((unused)))
OPERATOR_NEW(_ZnwmSt11align_val_t, KIND_NEW, 1, false, , size_t align)
OPERATOR_NEW(_ZnamSt11align_val_t, KIND_NEW_ARRAY, 1, false, , size_t align)
OPERATOR_NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, KIND_NEW, 1, true, , size_t align,
	     const void *nt __attribute__((unused)))
OPERATOR_NEW(_ZnamSt11align_val_tRKSt9nothrow_t, KIND_NEW_ARRAY, 1, true, , size_t align,
	     const void *nt __attribute__((unused)))

/* ---- operator delete ------------------------------------------------------ */

#define OPERATOR_DELETE(name, kind, SIZE, ALIGN, ...)                                                                  \
	EXPORT void name(void *p __VA_ARGS__) { DELETE(p, SIZE, ALIGN, kind); }

/* d = delete, l = scalar, a = array, Pv = void *, m = size_t. */
void _ZdlPv(void *);
void _ZdaPv(void *);
void _ZdlPvm(void *, size_t);
void _ZdaPvm(void *, size_t);
void _ZdlPvRKSt9nothrow_t(void *, const void *);
void _ZdaPvRKSt9nothrow_t(void *, const void *);
void _ZdlPvSt11align_val_t(void *, size_t);
void _ZdaPvSt11align_val_t(void *, size_t);
void _ZdlPvmSt11align_val_t(void *, size_t, size_t);
void _ZdaPvmSt11align_val_t(void *, size_t, size_t);
void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *, size_t, const void *);
void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *, size_t, const void *);

#define UNUSED __attribute__((unused))
OPERATOR_DELETE(_ZdlPv, KIND_NEW, DBG_NO_SIZE, 0)
OPERATOR_DELETE(_ZdaPv, KIND_NEW_ARRAY, DBG_NO_SIZE, 0)
OPERATOR_DELETE(_ZdlPvm, KIND_NEW, size, 0, , size_t size)
OPERATOR_DELETE(_ZdaPvm, KIND_NEW_ARRAY, size, 0, , size_t size)
OPERATOR_DELETE(_ZdlPvRKSt9nothrow_t, KIND_NEW, DBG_NO_SIZE, 0, , const void *nt UNUSED)
OPERATOR_DELETE(_ZdaPvRKSt9nothrow_t, KIND_NEW_ARRAY, DBG_NO_SIZE, 0, , const void *nt UNUSED)
OPERATOR_DELETE(_ZdlPvSt11align_val_t, KIND_NEW, DBG_NO_SIZE, align, , size_t align)
OPERATOR_DELETE(_ZdaPvSt11align_val_t, KIND_NEW_ARRAY, DBG_NO_SIZE, align, , size_t align)
OPERATOR_DELETE(_ZdlPvmSt11align_val_t, KIND_NEW, size, align, , size_t size, size_t align)
OPERATOR_DELETE(_ZdaPvmSt11align_val_t, KIND_NEW_ARRAY, size, align, , size_t size, size_t align)
OPERATOR_DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, KIND_NEW, DBG_NO_SIZE, align, , size_t align,
		const void *nt UNUSED)
OPERATOR_DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, KIND_NEW_ARRAY, DBG_NO_SIZE, align, , size_t align,
		const void *nt UNUSED)
#endif /* SA_NO_STD_NAMES */

#ifndef SA_DEBUG
void *cxx_new_failed(size_t size) { return new_retry(size, 0, KIND_NEW, false, 0); }
#endif
