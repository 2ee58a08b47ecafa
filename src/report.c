/*
 * Reports of heap bugs and internal failures.  Everything here formats
 * into a stack buffer and writes with write(2): a report can come from
 * inside malloc, so it must not allocate before it has printed.
 */
#include <execinfo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void sb_str(strbuf *b, const char *s)
{
	while (*s && b->len + 1 < b->cap)
		b->buf[b->len++] = *s++;
}

void sb_dec(strbuf *b, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0 && b->len + 1 < b->cap)
		b->buf[b->len++] = tmp[--n];
}

void sb_hex(strbuf *b, uint64_t v)
{
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	sb_str(b, "0x");
	while (n > 0 && b->len + 1 < b->cap)
		b->buf[b->len++] = tmp[--n];
}

static NOINLINE void print_stack(void)
{
	/* backtrace may load libgcc_s and allocate the first time: no lock
	 * is held here, and the heap is consistent. */
	void *frames[32];
	int n = backtrace(frames, 32);
	if (n > 1) /* from the caller of print_stack: sa_report, then the API */
		backtrace_symbols_fd(frames + 1, n - 1, report_fd);
}

int report_fd = 2;
unsigned reports;

void sa_report(enum sa_bug bug, const char *call, uintptr_t p, mspan *s, const char *detail)
{
	__atomic_fetch_add(&reports, 1, __ATOMIC_RELAXED);
	char buf[1024];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, "==");
	sb_dec(&b, (uint64_t)getpid());
	sb_str(&b, "== spanalloc: ");
	/* The headline: "<bug> of <address> in <call>()". */
	switch (bug) {
	case BUG_DOUBLE_FREE:
		sb_str(&b, "double free of ");
		break;
	case BUG_INVALID_FREE:
		sb_str(&b, call[0] == 'f' ? "invalid free of " : "invalid pointer ");
		break;
	case BUG_REALLOC_FREED:
		sb_str(&b, call);
		sb_str(&b, " of freed block ");
		break;
	case BUG_CORRUPT:
		sb_str(&b, "heap corruption at ");
		break;
	case BUG_OVERFLOW:
		sb_str(&b, "heap buffer overflow past the block at ");
		break;
	case BUG_UNDERFLOW:
		sb_str(&b, "heap buffer underflow before the block at ");
		break;
	case BUG_WRITE_AFTER_FREE:
		sb_str(&b, "write after free to the block at ");
		break;
	case BUG_GUARD:
		sb_str(&b, "heap overflow past the block at ");
		break;
	case BUG_USE_AFTER_FREE:
		sb_str(&b, "use after free of the block at ");
		break;
	}
	sb_hex(&b, p);
	if (strcmp(call, "memory access") == 0) {
		sb_str(&b, " (bad memory access)");
	} else {
		sb_str(&b, " in ");
		sb_str(&b, call);
		sb_str(&b, "()");
	}
	sb_str(&b, "\n");
	if (s && s->spanclass == 0) {
		sb_str(&b, "    large object, size class 0 (");
		sb_dec(&b, s->npages);
		sb_str(&b, " pages at ");
		sb_hex(&b, s->startAddr);
		sb_str(&b, ", offset ");
		sb_dec(&b, p - s->startAddr);
		sb_str(&b, ")");
	} else if (s) {
		unsigned cls = s->spanclass == TINY_SPAN_CLASS ? TINY_SIZE_CLASS : s->spanclass;
		uintptr_t idx = span_object_index(s, p);
		sb_str(&b, s->spanclass == TINY_SPAN_CLASS ? "    tiny block in size class " : "    size class ");
		sb_dec(&b, cls);
		sb_str(&b, " (");
		sb_dec(&b, s->elemsize);
		sb_str(&b, "-byte objects), span ");
		sb_hex(&b, s->startAddr);
		sb_str(&b, " (");
		sb_dec(&b, s->npages);
		sb_str(&b, s->npages == 1 ? " page), object " : " pages), object ");
		sb_dec(&b, idx);
		sb_str(&b, " of ");
		sb_dec(&b, s->nelems);
		if (p - s->startAddr != idx * s->elemsize) {
			sb_str(&b, ", offset ");
			sb_dec(&b, p - s->startAddr - idx * s->elemsize);
		}
	} else {
		sb_str(&b, "    size class unknown");
	}
	if (detail) {
		sb_str(&b, ": ");
		sb_str(&b, detail);
	}
	sb_str(&b, "\n    stack of the bad call:\n");
	os_write(report_fd, b.buf, b.len);
	print_stack();
#ifdef SA_DEBUG
	if (s)
		debug_report_extra(s, p);
#endif
	if (opts.abort_on_error) {
		static const char msg[] = "spanalloc: aborting (SPANALLOC_OPTIONS=abort_on_error=0 reports and goes on)\n";
		os_write(report_fd, msg, sizeof msg - 1);
#ifdef SA_DEBUG
		san_die();
#endif
		abort();
	}
}

void sa_fatal(const char *msg)
{
	char buf[512];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, "spanalloc: fatal: ");
	sb_str(&b, msg);
	sb_str(&b, "\n");
	os_write(2, b.buf, b.len);
	abort();
}

void sa_fatal_internal(const char *file, int line, const char *what)
{
	char buf[512];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, "spanalloc: internal error at ");
	sb_str(&b, file);
	sb_str(&b, ":");
	sb_dec(&b, (uint64_t)line);
	sb_str(&b, ": check failed: ");
	sb_str(&b, what);
	sb_str(&b, "\n");
	os_write(2, b.buf, b.len);
	abort();
}
