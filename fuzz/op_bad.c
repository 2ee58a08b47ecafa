/*
 * Bad calls (the badfree harness): a free, realloc or malloc_usable_size
 * of a pointer that is not a live block must be reported once and change
 * nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static int global_object;

NOCOV static bool report_ok(const char *out, uintptr_t p, const char *call, char *why, size_t whylen)
{
	const char *h = strstr(out, "== spanalloc: ");
	if (!h) {
		snprintf(why, whylen, "no report");
		return false;
	}
	if (strstr(h + 1, "== spanalloc: ")) {
		snprintf(why, whylen, "more than one report");
		return false;
	}
	if (strstr(out, "spanalloc: corrupt") || strstr(out, "spanalloc: sa_check_heap") ||
	    strstr(out, "internal error")) {
		snprintf(why, whylen, "a report of something else");
		return false;
	}
	h += strlen("== spanalloc: ");
	static const char *const kinds[] = {"double free of ", "invalid free of ", "invalid pointer ",
					    "realloc of freed block ", "malloc_usable_size of freed block "};
	const char *addr = NULL;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (!strncmp(h, kinds[k], strlen(kinds[k])))
			addr = h + strlen(kinds[k]);
	if (!addr) {
		snprintf(why, whylen, "unexpected kind of report");
		return false;
	}
	char want[64];
	snprintf(want, sizeof want, "0x%lx in %s()", (unsigned long)p, call);
	if (strncmp(addr, want, strlen(want))) {
		snprintf(why, whylen, "report does not name '%s'", want);
		return false;
	}
	return true;
}

/*
 * One call the program should not make: free, realloc or
 * malloc_usable_size of a pointer that is not a live block start.  It
 * must be reported exactly once, ignored (abort_on_error=0), and change
 * nothing.
 */
void op_bad(fdp *d)
{
	if (!bad_mode)
		return;
	uintptr_t p = 0;
	uint8_t kind = fdp_u8(d) % 8;
	int local;
	static char *libc_block;
	if (!libc_block)
		libc_block = malloc(64); /* the other allocator's memory */
	switch (kind) {
	case 0: /* double free */
	case 1:
		if (!ngrave)
			return;
		p = grave[fdp_u8(d) % ngrave];
		break;
	case 2: { /* interior pointer */
		int i = pick(d);
		if (i < 0 || live[i].usable < 2)
			return;
		p = (uintptr_t)live[i].p + 1 + fdp_u32(d) % (live[i].usable - 1);
		break;
	}
	case 3: { /* not heap memory */
		uintptr_t outside[] = {(uintptr_t)&local,
				       (uintptr_t)&global_object,
				       (uintptr_t)libc_block,
				       1,
				       0x1000,
				       (uintptr_t)-16,
				       (uintptr_t)1 << 47,
				       ((uintptr_t)1 << 47) - PAGE_SIZE,
				       (uintptr_t)&op_bad,
				       (uintptr_t)live};
		p = outside[fdp_u8(d) % (sizeof outside / sizeof outside[0])];
		break;
	}
	case 4: { /* anywhere in an arena */
		lock(&mheap_.lock);
		heapArena *ha = mheap_.arenas;
		for (unsigned j = fdp_u8(d) % 4; j > 0 && ha && ha->next; j--)
			ha = ha->next;
		uintptr_t base = ha ? ha->base : 0;
		unlock(&mheap_.lock);
		if (!base)
			return;
		p = base + (fdp_u32(d) % (ARENA_SIZE / 16)) * 16;
		break;
	}
	case 5: { /* near a live block, any offset */
		int i = pick(d);
		if (i < 0)
			return;
		p = (uintptr_t)live[i].p + (uintptr_t)(intptr_t)(int16_t)fdp_u16(d);
		break;
	}
	case 6: { /* the tail of a span, past its last object */
		int i = pick(d);
		if (i < 0)
			return;
		heapArena *ha = arena_of((uintptr_t)live[i].p);
		if (!ha)
			return; /* a guarded or zero-size block: in no span */
		mspan *s = span_of(ha, (uintptr_t)live[i].p);
		uintptr_t end = s->startAddr + (uintptr_t)s->nelems * s->elemsize;
		if (s->spanclass == 0 || end >= s->startAddr + s->npages * PAGE_SIZE)
			return;
		p = end + fdp_u8(d) % 16;
		break;
	}
	default: { /* a freed block's neighbourhood */
		if (!ngrave)
			return;
		uintptr_t g = grave[fdp_u8(d) % ngrave];
		p = g + (fdp_u8(d) & 1 ? 16 : PAGE_SIZE);
		break;
	}
	}
	if (!p || model_is_live_start(p))
		return; /* that call would be valid */
	uint8_t api = fdp_u8(d) % 4;
	const char *call = api == 1 ? "realloc" : api == 2 ? "malloc_usable_size" : "free";
	struct sa_memstats before;
	sa_read_memstats(&before);
	char out[16384];
	capture_begin();
	void *r = NULL;
	size_t n = 0;
	switch (api) {
	case 1:
		errno = 0;
		r = sa_realloc((void *)p, 1 + fdp_u8(d));
		break;
	case 2: n = sa_malloc_usable_size((void *)p); break;
	default: sa_free((void *)p); break;
	}
	capture_end(out, sizeof out);
	fuzz_log("t%d bad %s(%#lx) (kind %u) = %p/%zu", cur_tid, call, (unsigned long)p, kind, r, n);
	char why[128];
	if (!report_ok(out, p, call, why, sizeof why))
		fuzz_fail("bad %s(%#lx) (kind %u): %s; stderr was:\n%s", call, (unsigned long)p, kind, why, out);
	reports_seen++;
	if (__atomic_load_n(&reports, __ATOMIC_RELAXED) != reports_seen)
		fuzz_fail("bad %s(%#lx): the library counted %u reports, expected %u", call, (unsigned long)p,
			  __atomic_load_n(&reports, __ATOMIC_RELAXED), reports_seen);
	if (r || n)
		fuzz_fail("bad %s(%#lx) returned %p / %zu", call, (unsigned long)p, r, n);
}
