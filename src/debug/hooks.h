/*
 * The debug layer's hooks in the core tiers (heap.c, cache.c, init.c,
 * central.c, large.c, stats.c, report.c), as src/track.h does for the
 * memory checkers: in the debug build the real functions (debug.h,
 * guarded.h), in the production build static inline no-ops that compile
 * to nothing, so that a core file reads the same in both builds and says
 * only what its tier does.  (internal.h includes this.)
 */
#ifndef SA_DEBUG_HOOKS_H
#define SA_DEBUG_HOOKS_H

#ifdef SA_DEBUG
#include "debug/debug.h"
#include "debug/guarded.h"
#else
static inline void debug_init(void) {}
static inline bool debug_span_alloc(struct mspan *s) { return (void)s, true; }
static inline void debug_span_made(struct mspan *s) { (void)s; }
static inline void debug_span_gone(struct mspan *s) { (void)s; }
static inline bool debug_check_span(struct mspan *s, const char *where) { return (void)s, (void)where, true; }
static inline unsigned debug_report_deferred(void) { return 0; }
static inline void debug_hold_reports(bool hold) { (void)hold; }
static inline void debug_check_blocks(struct mspan *s, bool others) { (void)s, (void)others; }
static inline void debug_thread_flush(struct mcache *c) { (void)c; }
static inline uint64_t debug_quarantined_in(const struct mspan *s, size_t word) { return (void)s, (void)word, 0; }
static inline void debug_large_alloc(struct mspan *s) { (void)s; }
static inline void debug_report_extra(struct mspan *s, uintptr_t p) { (void)s, (void)p; }
static inline void debug_at_exit(void) {}
static inline void debug_fork_prepare(void) {}
static inline void debug_fork_done(void) {}
static inline void stack_warm_unwinder(void) {}
static inline bool san_die(void) { return false; }
static inline bool guarded_describe(strbuf *b, uintptr_t p) { return (void)b, (void)p, false; }
static inline uint64_t guarded_live_in_class(unsigned cls) { return (void)cls, 0; }
static inline size_t guarded_check_live(const char *call) { return (void)call, 0; }
static inline uint64_t guarded_heap_bytes(void) { return 0; }
#endif

#endif
