/*
 * test_stats: sa_read_memstats, sa_check_heap, sa_scavenge and
 * sa_print_stats.
 *
 * Criterion's worker process has a helper thread of its own that may
 * allocate now and then; the exact-count checks therefore retry a few
 * times and pass when one attempt sees exactly the expected deltas (an
 * allocator that miscounts does so on every attempt).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spanalloc.h"
#include "testutil.h"

#define ATTEMPTS 5
#define MiB ((uint64_t)1 << 20)

static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;

Test(stats, bysize_sizes_are_the_class_table)
{
	struct sa_memstats m = tu_stats();
	for (unsigned c = 0; c < SA_NUM_SIZE_CLASSES; c++)
		cr_assert_eq(m.BySize[c].Size, tu_class_size[c], "BySize[%u].Size = %u, want %u", c, m.BySize[c].Size,
			     tu_class_size[c]);
}

/*
 * N mallocs of n bytes, then N frees: Mallocs, Frees, HeapObjects and the
 * BySize row of n's class move by exactly N; Alloc and TotalAlloc by at
 * least N * n.
 */
static void check_counts(size_t n, unsigned N)
{
	unsigned cls = tu_stats_class(n);
	/* Tiny objects share 16-byte blocks: allow one block of rounding. */
	uint64_t slack = n < 16 ? 16 : 0;
	void **p = calloc(N, sizeof *p);
	cr_assert_not_null(p);
	char why[256] = "";
	int ok = 0;
	for (int attempt = 0; attempt < ATTEMPTS && !ok; attempt++) {
		struct sa_memstats s0 = tu_stats();
		for (unsigned i = 0; i < N; i++)
			p[i] = do_malloc(n);
		struct sa_memstats s1 = tu_stats();
		for (unsigned i = 0; i < N; i++)
			do_free(p[i]);
		struct sa_memstats s2 = tu_stats();
		for (unsigned i = 0; i < N; i++)
			cr_assert_not_null(p[i]);

		ok = 1;
#define WANT(cond, ...)                                                                                                \
	do {                                                                                                           \
		if (ok && !(cond)) {                                                                                   \
			ok = 0;                                                                                        \
			snprintf(why, sizeof why, __VA_ARGS__);                                                        \
		}                                                                                                      \
	} while (0)
		WANT(s1.Mallocs - s0.Mallocs == N, "Mallocs +%" PRIu64 " after %u malloc(%zu)", s1.Mallocs - s0.Mallocs,
		     N, n);
		WANT(s1.Frees == s0.Frees, "Frees +%" PRIu64 " with no free", s1.Frees - s0.Frees);
		WANT(s1.BySize[cls].Mallocs - s0.BySize[cls].Mallocs == N,
		     "BySize[%u] (%u B).Mallocs +%" PRIu64 " after %u malloc(%zu)", cls, s1.BySize[cls].Size,
		     s1.BySize[cls].Mallocs - s0.BySize[cls].Mallocs, N, n);
		WANT(s1.HeapObjects - s0.HeapObjects == N, "HeapObjects +%" PRIu64 ", want +%u",
		     s1.HeapObjects - s0.HeapObjects, N);
		WANT(s1.Alloc + slack >= s0.Alloc + (uint64_t)N * n, "Alloc grew by %" PRId64 " after %u malloc(%zu)",
		     (int64_t)(s1.Alloc - s0.Alloc), N, n);
		WANT(s1.TotalAlloc + slack >= s0.TotalAlloc + (uint64_t)N * n,
		     "TotalAlloc grew by %" PRIu64 " after %u malloc(%zu)", s1.TotalAlloc - s0.TotalAlloc, N, n);
		WANT(s2.Frees - s1.Frees == N, "Frees +%" PRIu64 " after %u free of %zu B", s2.Frees - s1.Frees, N, n);
		WANT(s2.Mallocs == s1.Mallocs, "Mallocs +%" PRIu64 " with no malloc", s2.Mallocs - s1.Mallocs);
		WANT(s2.BySize[cls].Frees - s1.BySize[cls].Frees == N,
		     "BySize[%u].Frees +%" PRIu64 " after %u free of %zu B", cls,
		     s2.BySize[cls].Frees - s1.BySize[cls].Frees, N, n);
		WANT(s2.HeapObjects == s0.HeapObjects, "HeapObjects %" PRIu64 " after freeing all, was %" PRIu64,
		     s2.HeapObjects, s0.HeapObjects);
		WANT(s2.Alloc + (uint64_t)N * n <= s1.Alloc + slack,
		     "Alloc fell by %" PRId64 " after freeing %u x %zu B", (int64_t)(s1.Alloc - s2.Alloc), N, n);
		WANT(s2.TotalAlloc == s1.TotalAlloc, "TotalAlloc moved on free");
#undef WANT
	}
	free(p);
	cr_assert(ok, "%s (size %zu)", why, n);
}

Test(stats, counts_small_64) { check_counts(64, 1000); }
Test(stats, counts_small_100) { check_counts(100, 1000); }
Test(stats, counts_small_1000) { check_counts(1000, 500); }
Test(stats, counts_small_20000) { check_counts(20000, 100); }
Test(stats, counts_small_32768) { check_counts(32768, 50); }
Test(stats, counts_tiny_8) { check_counts(8, 1000); }
Test(stats, counts_tiny_1) { check_counts(1, 1000); }
Test(stats, counts_large_40000) { check_counts(40000, 50); }
Test(stats, counts_large_1MiB) { check_counts(1 << 20, 20); }

/* The 64-byte request's class is the row that counts it. */
Test(stats, malloc64_counts_in_64_byte_class)
{
	unsigned c = tu_size_class(64);
	cr_assert_eq(tu_class_size[c], 64);
	struct sa_memstats m = tu_stats();
	cr_assert_eq(m.BySize[c].Size, 64);
	check_counts(64, 777);
}

static void check_invariants(const struct sa_memstats *m, const char *when)
{
	cr_assert_eq(m->HeapObjects, m->Mallocs - m->Frees,
		     "%s: HeapObjects %" PRIu64 " != Mallocs %" PRIu64 " - Frees %" PRIu64, when, m->HeapObjects,
		     m->Mallocs, m->Frees);
	cr_assert_eq(m->Alloc, m->HeapAlloc, "%s: Alloc != HeapAlloc", when);
	cr_assert_geq(m->HeapSys, m->HeapInuse, "%s: HeapSys %" PRIu64 " < HeapInuse %" PRIu64, when, m->HeapSys,
		      m->HeapInuse);
	cr_assert_geq(m->Sys, m->HeapSys, "%s: Sys %" PRIu64 " < HeapSys %" PRIu64, when, m->Sys, m->HeapSys);
	cr_assert_geq(m->HeapInuse, m->HeapAlloc, "%s: HeapInuse %" PRIu64 " < HeapAlloc %" PRIu64, when, m->HeapInuse,
		      m->HeapAlloc);
	cr_assert_geq(m->TotalAlloc, m->Alloc, "%s: TotalAlloc < Alloc", when);
	cr_assert_geq(m->Mallocs, m->Frees, "%s: Frees > Mallocs", when);
	cr_assert_geq(m->HeapIdle, m->HeapReleased, "%s: HeapReleased %" PRIu64 " > HeapIdle %" PRIu64, when,
		      m->HeapReleased, m->HeapIdle);
	cr_assert_geq(m->MSpanSys, m->MSpanInuse, "%s: MSpanInuse > MSpanSys", when);
	cr_assert_geq(m->MCacheSys, m->MCacheInuse, "%s: MCacheInuse > MCacheSys", when);
	cr_assert_geq(m->Sys, m->HeapSys + m->MSpanSys + m->MCacheSys,
		      "%s: Sys %" PRIu64 " < HeapSys + MSpanSys + MCacheSys", when, m->Sys);
	cr_assert_geq(m->NumArenas, 1, "%s: NumArenas 0 with a heap in use", when);
	cr_assert_leq(m->HeapSys, m->NumArenas * 64 * MiB, "%s: HeapSys %" PRIu64 " > NumArenas %" PRIu64 " x 64 MiB",
		      when, m->HeapSys, m->NumArenas);
	cr_assert_gt(m->MSpanInuse, 0, "%s: MSpanInuse 0 with spans in use", when);
	cr_assert_gt(m->MCacheInuse, 0, "%s: MCacheInuse 0 with a thread allocating", when);
	uint64_t bm = 0, bf = 0;
	for (unsigned c = 0; c < SA_NUM_SIZE_CLASSES; c++) {
		bm += m->BySize[c].Mallocs;
		bf += m->BySize[c].Frees;
		cr_assert_geq(m->BySize[c].Mallocs, m->BySize[c].Frees, "%s: BySize[%u] Frees > Mallocs", when, c);
	}
	cr_assert_eq(bm, m->Mallocs, "%s: sum of BySize Mallocs %" PRIu64 " != Mallocs %" PRIu64, when, bm, m->Mallocs);
	cr_assert_eq(bf, m->Frees, "%s: sum of BySize Frees %" PRIu64 " != Frees %" PRIu64, when, bf, m->Frees);
}

/* Go's identity: HeapSys = HeapIdle + HeapInuse. */
static void check_go_identity(const struct sa_memstats *m, const char *when)
{
	cr_assert_eq(m->HeapIdle + m->HeapInuse, m->HeapSys,
		     "%s: HeapIdle %" PRIu64 " + HeapInuse %" PRIu64 " != HeapSys %" PRIu64, when, m->HeapIdle,
		     m->HeapInuse, m->HeapSys);
}

/* A snapshot with nothing else going on (retried for Criterion's thread). */
static struct sa_memstats quiet_stats(void)
{
	struct sa_memstats m = tu_stats();
	for (int i = 0; i < ATTEMPTS; i++) {
		struct sa_memstats again = tu_stats();
		if (memcmp(&again, &m, sizeof m) == 0)
			break;
		m = again;
	}
	return m;
}

Test(stats, invariants_hold)
{
	enum { N = 3000 };
	static void *p[N];
	uint64_t rng = 3;
	struct sa_memstats m = quiet_stats();
	check_invariants(&m, "start");
	for (int i = 0; i < N; i++) {
		p[i] = do_malloc(tu_rand_size(&rng));
		cr_assert_not_null(p[i]);
	}
	m = quiet_stats();
	check_invariants(&m, "after mallocs");
	for (int i = 0; i < N; i += 2)
		do_free(p[i]);
	m = quiet_stats();
	check_invariants(&m, "after half the frees");
	for (int i = 1; i < N; i += 2)
		do_free(p[i]);
	m = quiet_stats();
	check_invariants(&m, "after all frees");
}

Test(stats, go_identity_heapsys_is_idle_plus_inuse)
{
	enum { N = 3000 };
	static void *p[N];
	uint64_t rng = 4;
	struct sa_memstats m = quiet_stats();
	check_go_identity(&m, "start");
	for (int i = 0; i < N; i++)
		p[i] = do_malloc(tu_rand_size(&rng));
	m = quiet_stats();
	check_go_identity(&m, "after mallocs");
	for (int i = 0; i < N; i++)
		do_free(p[i]);
	m = quiet_stats();
	check_go_identity(&m, "after frees");
	sa_scavenge();
	m = quiet_stats();
	check_go_identity(&m, "after sa_scavenge");
}

Test(stats, large_counts_in_class0_and_alloc)
{
	enum { N = 8 };
	void *p[N];
	int ok = 0;
	char why[200] = "";
	for (int attempt = 0; attempt < ATTEMPTS && !ok; attempt++) {
		struct sa_memstats s0 = tu_stats();
		for (int i = 0; i < N; i++)
			p[i] = do_malloc(1 << 20);
		struct sa_memstats s1 = tu_stats();
		for (int i = 0; i < N; i++)
			cr_assert_not_null(p[i]);
		ok = s1.BySize[0].Mallocs - s0.BySize[0].Mallocs == N && s1.Alloc - s0.Alloc >= N * MiB &&
		     s1.HeapInuse - s0.HeapInuse >= N * MiB && s1.HeapSys >= s1.HeapInuse;
		snprintf(why, sizeof why, "BySize[0].Mallocs +%" PRIu64 ", Alloc +%" PRId64 ", HeapInuse +%" PRId64,
			 s1.BySize[0].Mallocs - s0.BySize[0].Mallocs, (int64_t)(s1.Alloc - s0.Alloc),
			 (int64_t)(s1.HeapInuse - s0.HeapInuse));
		for (int i = 0; i < N; i++)
			do_free(p[i]);
		struct sa_memstats s2 = tu_stats();
		ok = ok && s2.BySize[0].Frees - s1.BySize[0].Frees == N && s1.Alloc - s2.Alloc >= N * MiB;
		if (ok)
			break;
		snprintf(why + strlen(why), sizeof why - strlen(why),
			 "; after free: BySize[0].Frees +%" PRIu64 ", Alloc -%" PRId64,
			 s2.BySize[0].Frees - s1.BySize[0].Frees, (int64_t)(s1.Alloc - s2.Alloc));
	}
	cr_assert(ok, "%d x 1 MiB: %s", N, why);
}

/* Freed pages are released by sa_scavenge and reused afterwards. */
Test(stats, scavenge_releases_idle_pages)
{
	size_t n = (size_t)32 << 20;
	char *p = do_malloc(n);
	cr_assert_not_null(p);
	memset(tu_escape(p), 1, n);
	do_free(p);
	struct sa_memstats before = quiet_stats();
	sa_scavenge();
	struct sa_memstats after = quiet_stats();
	cr_assert_geq(after.HeapReleased, before.HeapReleased, "HeapReleased fell on sa_scavenge");
	cr_assert_geq(after.HeapReleased, 32 * MiB, "HeapReleased %" PRIu64 " after freeing 32 MiB and sa_scavenge",
		      after.HeapReleased);
	cr_assert_geq(after.HeapIdle, after.HeapReleased);
	/* Released memory comes back usable (and zero-safe for calloc). */
	char *q = calloc(1, n);
	cr_assert_not_null(q);
	for (size_t i = 0; i < n; i += 4096)
		cr_assert_eq(q[i], 0, "calloc after scavenge: byte %zu not zero", i);
	memset(tu_escape(q), 2, n);
	free(q);
	cr_assert_eq(sa_check_heap(), 0);
}

/* Alloc tracks the live bytes: it comes back to where it was. */
Test(stats, alloc_returns_to_baseline)
{
	enum { N = 2000 };
	static void *p[N];
	uint64_t rng = 11;
	int ok = 0;
	uint64_t a0 = 0, a2 = 0;
	for (int attempt = 0; attempt < ATTEMPTS && !ok; attempt++) {
		a0 = tu_stats().Alloc;
		for (int i = 0; i < N; i++)
			p[i] = do_malloc(tu_rand_size(&rng));
		for (int i = 0; i < N; i++)
			do_free(p[i]);
		a2 = tu_stats().Alloc;
		ok = a0 == a2;
	}
	cr_assert(ok, "Alloc %" PRIu64 " before, %" PRIu64 " after freeing everything", a0, a2);
}

/* sa_check_heap: 0 on a healthy heap after lots of random activity. */
Test(stats, check_heap_after_random_activity, .timeout = 120)
{
	enum { SLOTS = 4096, OPS = 200000 };
	static void *slot[SLOTS];
	static size_t len[SLOTS];
	uint64_t rng = 12345;
	cr_assert_eq(sa_check_heap(), 0, "sa_check_heap on a fresh heap");
	for (int op = 0; op < OPS; op++) {
		unsigned i = (unsigned)(tu_rand(&rng) % SLOTS);
		unsigned what = (unsigned)(tu_rand(&rng) % 10);
		if (slot[i] == NULL) {
			len[i] = tu_rand_size(&rng);
			switch (what % 4) {
			case 0: slot[i] = calloc(1, len[i]); break;
			case 1: slot[i] = aligned_alloc(64, len[i]); break;
			default: slot[i] = malloc(len[i]); break;
			}
			cr_assert_not_null(slot[i]);
			tu_fill(slot[i], len[i], i);
		} else if (what < 3) {
			size_t n = tu_rand_size(&rng);
			cr_assert_eq(tu_check(slot[i], len[i], i), len[i], "block %u corrupted", i);
			void *q = realloc(slot[i], n);
			cr_assert_not_null(q);
			size_t keep = n < len[i] ? n : len[i];
			cr_assert_eq(tu_check(q, keep, i), keep, "realloc lost contents");
			slot[i] = q;
			len[i] = n;
			tu_fill(q, n, i);
		} else {
			cr_assert_eq(tu_check(slot[i], len[i], i), len[i], "block %u corrupted", i);
			free(slot[i]);
			slot[i] = NULL;
		}
		if (op % 50000 == 49999)
			cr_assert_eq(sa_check_heap(), 0, "sa_check_heap after %d ops", op + 1);
	}
	cr_assert_eq(sa_check_heap(), 0, "sa_check_heap with live blocks");
	for (unsigned i = 0; i < SLOTS; i++) {
		free(slot[i]);
		slot[i] = NULL;
	}
	cr_assert_eq(sa_check_heap(), 0, "sa_check_heap after freeing everything");
	sa_scavenge();
	cr_assert_eq(sa_check_heap(), 0, "sa_check_heap after sa_scavenge");
}

static char *slurp(FILE *f)
{
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	return buf;
}

Test(stats, print_stats_to_file)
{
	void *p = tu_escape(malloc(64)), *q = tu_escape(malloc(1 << 20));
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	sa_print_stats(f);
	fclose(f);
	cr_assert_gt(len, 0, "sa_print_stats wrote nothing");
	static const char *const want[] = {"HeapAlloc", "Mallocs", "Frees", "HeapSys", "Sys"};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_assert_not_null(strstr(text, want[i]), "sa_print_stats output lacks \"%s\":\n%s", want[i], text);
	int lines = 0;
	for (char *s = text; *s; s++)
		lines += *s == '\n';
	cr_assert_geq(lines, 5, "sa_print_stats: %d lines is not a table:\n%s", lines, text);
	free(text);

	/* tmpfile as well (a real FILE with a descriptor) */
	f = tmpfile();
	cr_assert_not_null(f);
	sa_print_stats(f);
	fflush(f);
	rewind(f);
	char *s = slurp(f);
	fclose(f);
	cr_assert_not_null(strstr(s, "HeapAlloc"), "tmpfile output lacks HeapAlloc:\n%s", s);
	free(p);
	free(q);
}

/* sa_print_stats(NULL) prints to stderr. */
Test(stats, print_stats_null_is_stderr)
{
	FILE *f = tmpfile();
	cr_assert_not_null(f);
	fflush(stderr);
	int saved = dup(2);
	cr_assert_geq(saved, 0);
	cr_assert_geq(dup2(fileno(f), 2), 0);
	sa_print_stats(NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	char *s = slurp(f);
	fclose(f);
	cr_assert_not_null(strstr(s, "HeapAlloc"), "sa_print_stats(NULL) wrote to stderr:\n%s", s);
	cr_assert_not_null(strstr(s, "Mallocs"));
}
