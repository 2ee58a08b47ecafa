/*
 * An address-ordered index of the live blocks' ranges: a block that
 * overlaps a live one is caught when it is handed out.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "engine.h"

void *xmmap(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fuzz_fail("mmap of %zu bytes for the model failed", n);
	return p;
}

void ri_init(range_index *ri, size_t cap)
{
	ri->r = xmmap(cap * sizeof *ri->r);
	ri->n = 0;
	ri->cap = cap;
}

NOCOV static size_t ri_lower(const range_index *ri, uintptr_t a)
{
	size_t lo = 0, hi = ri->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ri->r[mid].a < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

NOCOV void ri_insert(range_index *ri, uintptr_t a, uintptr_t e, const char *what)
{
	size_t i = ri_lower(ri, a);
	if (i > 0 && ri->r[i - 1].e > a)
		fuzz_fail("%s: new block [%#lx, %#lx) overlaps the live block [%#lx, %#lx)", what, (unsigned long)a,
			  (unsigned long)e, (unsigned long)ri->r[i - 1].a, (unsigned long)ri->r[i - 1].e);
	if (i < ri->n && ri->r[i].a < e)
		fuzz_fail("%s: new block [%#lx, %#lx) overlaps the live block [%#lx, %#lx)", what, (unsigned long)a,
			  (unsigned long)e, (unsigned long)ri->r[i].a, (unsigned long)ri->r[i].e);
	if (ri->n == ri->cap)
		fuzz_fail("range index full");
	memmove(&ri->r[i + 1], &ri->r[i], (ri->n - i) * sizeof *ri->r);
	ri->r[i].a = a;
	ri->r[i].e = e;
	ri->n++;
}

NOCOV void ri_remove(range_index *ri, uintptr_t a)
{
	size_t i = ri_lower(ri, a);
	if (i >= ri->n || ri->r[i].a != a)
		fuzz_fail("model: no range at %#lx", (unsigned long)a);
	memmove(&ri->r[i], &ri->r[i + 1], (ri->n - i - 1) * sizeof *ri->r);
	ri->n--;
}

NOCOV const struct range *ri_find(const range_index *ri, uintptr_t a)
{
	size_t i = ri_lower(ri, a);
	return i < ri->n && ri->r[i].a == a ? &ri->r[i] : NULL;
}
