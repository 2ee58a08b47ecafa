/*
 * fuzz_options: the SPANALLOC_OPTIONS parser (options_parse), against a
 * reference parser written from the option table.
 *
 * Input: one flag byte (bit 0: report errors on stderr; bit 1: go through
 * the environment and options_init, as at start-up, help included), then
 * the option string (up to the first NUL).  The parser must not crash or read past
 * the string (ASan), must count the same errors as the reference (items
 * without '=', unknown keys, values that are not 0/1/true/false for a
 * bool, not an integer in [-1, 1e9] for an int, too long for a path), must
 * leave the options as the reference does (the last valid item of a key
 * wins, a bad value changes nothing), and when reporting must print one
 * line per error (and per debug-only option in the production build).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ops.h"

/*
 * SA_OPTIONS(X) rows are X(type, name, default, doc), or with a
 * debug-only flag X(type, name, default, debug, doc): take what is needed
 * from either shape.
 */
#define OPT_PICK6(a, b, c, d, e, f, ...) f
#define OPT_DBG(...) OPT_PICK6(__VA_ARGS__, OPT_DBG5, OPT_DBG4, ~)(__VA_ARGS__)
#define OPT_DBG5(type, name, def, dbg, doc) (dbg)
#define OPT_DBG4(type, name, def, doc) 0

#ifdef SA_DEBUG
#define DEBUG_BUILD 1
#else
#define DEBUG_BUILD 0
#endif

static const sa_options defaults = {
#define X(type, name, def, ...) .name = def,
	SA_OPTIONS(X)
#undef X
};

struct optdesc {
	const char *name;
	const char *type;
	size_t off, size;
	int dbg;
};

static const struct optdesc table[] = {
#define X(type, name, ...)                                                                                             \
	{#name, #type, offsetof(sa_options, name), sizeof(((sa_options *)0)->name), OPT_DBG(type, name, __VA_ARGS__)},
	SA_OPTIONS(X)
#undef X
};
#define NOPT (sizeof table / sizeof table[0])

/* ---- the reference --------------------------------------------------------------------- */

static bool ref_int(const char *v, size_t n, int *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (v[i] == '-' || v[i] == '+'))
		neg = v[i++] == '-';
	if (i == n)
		return false;
	long long x = 0;
	for (; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
		if (x > 2000000000LL)
			x = 2000000000LL; /* saturate: out of range either way */
	}
	x = neg ? -x : x;
	if (x < -1 || x > 1000000000LL)
		return false;
	*out = (int)x;
	return true;
}

static bool ref_set(const struct optdesc *o, sa_options *opt, const char *v, size_t n)
{
	char *field = (char *)opt + o->off;
	if (!strcmp(o->type, "bool")) {
		bool b;
		if ((n == 1 && v[0] == '1') || (n == 4 && !memcmp(v, "true", 4)))
			b = true;
		else if ((n == 1 && v[0] == '0') || (n == 5 && !memcmp(v, "false", 5)))
			b = false;
		else
			return false;
		memcpy(field, &b, sizeof b);
		return true;
	}
	if (!strcmp(o->type, "int")) {
		int x;
		if (!ref_int(v, n, &x))
			return false;
		memcpy(field, &x, sizeof x);
		return true;
	}
	if (!strcmp(o->type, "path")) {
		if (n >= o->size)
			return false;
		memcpy(field, v, n);
		field[n] = 0;
		return true;
	}
	fuzz_fail("option %s has a type (%s) this harness does not know", o->name, o->type);
}

/* Returns errors; *lines: what a reporting parse prints. */
static int ref_parse(const char *s, sa_options *opt, int *lines)
{
	int errors = 0;
	*lines = 0;
	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		if (len == 0) {
			/* empty item: fine */
		} else if (!eq) {
			errors++;
		} else {
			size_t klen = (size_t)(eq - s);
			const struct optdesc *o = NULL;
			for (size_t i = 0; i < NOPT; i++)
				if (strlen(table[i].name) == klen && !memcmp(table[i].name, s, klen))
					o = &table[i];
			if (!o || !ref_set(o, opt, eq + 1, len - klen - 1))
				errors++;
			else if (o->dbg && !DEBUG_BUILD)
				(*lines)++; /* "does nothing in the production build" */
		}
		s = end ? end + 1 : NULL;
	}
	*lines += errors;
	return errors;
}

static void compare(const sa_options *got, const sa_options *want, const char *input)
{
	for (size_t i = 0; i < NOPT; i++) {
		const struct optdesc *o = &table[i];
		const char *g = (const char *)got + o->off, *w = (const char *)want + o->off;
		bool same = !strcmp(o->type, "path") ? strncmp(g, w, o->size) == 0 : memcmp(g, w, o->size) == 0;
		if (!same)
			fuzz_fail("options_parse(\"%.300s\"): option %s differs from the reference", input, o->name);
	}
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static size_t n_errors_said(const char *out) { return count(out, "spanalloc: SPANALLOC_OPTIONS: "); }

/* SPANALLOC_OPTIONS=s and options_init(), as the library does at start-up. */
static void through_env(const char *s)
{
	static char out[1 << 20];
	sa_options saved = opts, want = opts;
	int lines;
	int werr = ref_parse(s, &want, &lines);
	setenv("SPANALLOC_OPTIONS", s, 1);
	options_parsed = false;
	capture_begin();
	options_init();
	capture_end(out, sizeof out);
	fuzz_log("options_init with SPANALLOC_OPTIONS=\"%.120s\" (reference: %d errors)", s, werr);
	if (!options_parsed)
		fuzz_fail("options_init did not read the environment");
	compare(&opts, &want, s);
	if (want.help && !strstr(out, "SPANALLOC_OPTIONS"))
		fuzz_fail("help=1: options_init printed no help:\n%.2000s", out);
	if (!want.help && !strstr(s, "spanalloc") && n_errors_said(out) != (size_t)lines && strlen(s) <= 2048)
		fuzz_fail("options_init(\"%.300s\") printed %zu messages for %d errors and warnings", s,
			  n_errors_said(out), lines);
	opts = saved;
	unsetenv("SPANALLOC_OPTIONS");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_set_name("options");
	capture_init();
	sa_options o = defaults;
	if (options_parse(NULL, &o, true) != 0 || options_parse("", &o, true) != 0)
		fuzz_fail("options_parse of nothing reported errors");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init_once();
	if (size == 0)
		return 0;
	bool report = data[0] & 1;
	size_t n = strnlen((const char *)data + 1, size - 1);
	/* An exact-size copy: ASan catches a read past the terminator. */
	char *s = malloc(n + 1);
	memcpy(s, data + 1, n);
	s[n] = 0;

	if (data[0] & 2) {
		through_env(s);
		free(s);
		return 0;
	}
	sa_options got = defaults, want = defaults;
	int lines;
	int werr = ref_parse(s, &want, &lines);
	static char out[1 << 20];
	if (report)
		capture_begin();
	int gerr = options_parse(s, &got, report);
	if (report)
		capture_end(out, sizeof out);
	fuzz_log("options_parse(\"%.120s\", report %d) = %d (reference %d)", s, report, gerr, werr);
	if (gerr != werr)
		fuzz_fail("options_parse(\"%.300s\") = %d errors, the reference counts %d", s, gerr, werr);
	compare(&got, &want, s);
	if (report) {
		size_t said = n_errors_said(out);
		/* (An input that itself holds the prefix would confuse the count;
		 * a huge one could overflow the pipe.) */
		if (!strstr(s, "spanalloc") && said != (size_t)lines && n <= 2048)
			fuzz_fail("options_parse(\"%.300s\") printed %zu messages for %d errors and warnings:\n%s", s,
				  said, lines, out);
	} else {
		(void)lines;
	}
	free(s);
	return 0;
}
