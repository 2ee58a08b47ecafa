/*
 * SPANALLOC_OPTIONS: comma-separated key=value pairs, read once at start-up
 * (in the style of ASAN_OPTIONS and GODEBUG).  The list of options is the
 * X-macro SA_OPTIONS in internal.h: type, name, default, documentation.
 * Parsing never allocates, because it runs inside the first malloc.
 * Unknown keys and bad values are reported, never ignored silently.
 */
#define _GNU_SOURCE /* secure_getenv */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

sa_options opts = {
#define X(type, name, def, dbg, doc) .name = def,
	SA_OPTIONS(X)
#undef X
};
bool options_parsed;

static void say(const char *a, const char *b, size_t blen, const char *c)
{
	os_write(2, "spanalloc: SPANALLOC_OPTIONS: ", 30);
	os_write(2, a, strlen(a));
	os_write(2, b, blen);
	os_write(2, c, strlen(c));
}

static bool parse_int(const char *v, size_t n, long min, long max, long *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (v[i] == '-' || v[i] == '+'))
		neg = v[i++] == '-';
	if (i == n)
		return false;
	long x = 0;
	for (; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (max + 9) / 10)
			return false;
		x = x * 10 + (v[i] - '0');
	}
	x = neg ? -x : x;
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

static bool set_bool(bool *dst, const char *v, size_t n)
{
	if ((n == 1 && v[0] == '1') || (n == 4 && !memcmp(v, "true", 4)))
		*dst = true;
	else if ((n == 1 && v[0] == '0') || (n == 5 && !memcmp(v, "false", 5)))
		*dst = false;
	else
		return false;
	return true;
}

static bool set_int(int *dst, const char *v, size_t n)
{
	long x;
	if (!parse_int(v, n, -1, 1000000000, &x))
		return false;
	*dst = (int)x;
	return true;
}

static bool set_path(path *dst, const char *v, size_t n)
{
	if (n >= sizeof *dst)
		return false;
	memcpy(*dst, v, n);
	(*dst)[n] = 0;
	return true;
}

#define KIND_bool "0 or 1"
#define KIND_int "an integer"
#define KIND_path "a file path shorter than 256 bytes"

/* Parse s into o; returns the number of errors (reported if report). */
int options_parse(const char *s, sa_options *o, bool report)
{
	int errors = 0;
	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		if (len == 0) {
			/* empty item: tolerated */
		} else if (!eq) {
			errors++;
			if (report)
				say("expected key=value, got '", s, len, "'\n");
		} else {
			size_t klen = (size_t)(eq - s), vlen = len - klen - 1;
			bool known = false, ok = true, debugonly = false;
			const char *kind = "";
#define X(type, name, def, dbg, doc)                                                                                   \
	if (klen == sizeof #name - 1 && !memcmp(s, #name, klen)) {                                                     \
		known = true;                                                                                          \
		kind = KIND_##type;                                                                                    \
		ok = set_##type(&o->name, eq + 1, vlen);                                                               \
		debugonly = dbg;                                                                                       \
	}
			SA_OPTIONS(X)
#undef X
			if (!known) {
				errors++;
				if (report) {
					say("unknown option '", s, klen, "' (known:");
#define X(type, name, def, dbg, doc) os_write(2, " " #name, sizeof #name);
					SA_OPTIONS(X)
#undef X
					os_write(2, ")\n", 2);
				}
			} else if (!ok) {
				errors++;
				if (report) {
					say("bad value in '", s, len, "': expected ");
					os_write(2, kind, strlen(kind));
					os_write(2, "\n", 1);
				}
			} else if (debugonly && !SA_DEBUG_BUILD && report) {
				say("'", s, klen, "' does nothing in the production build; use libspanalloc-debug\n");
			}
		}
		s = end ? end + 1 : NULL;
	}
	return errors;
}

static void print_help(void)
{
	static const char head[] = "spanalloc options (SPANALLOC_OPTIONS=key=value,...):\n";
	os_write(2, head, sizeof head - 1);
	char buf[256];
#define X(type, name, def, dbg, doc)                                                                                   \
	{                                                                                                              \
		strbuf b = {buf, 0, sizeof buf};                                                                       \
		sb_str(&b, "  " #name "=" #def " (" #type "): " doc);                                                  \
		sb_str(&b, dbg ? " [debug build]\n" : "\n");                                                           \
		os_write(2, b.buf, b.len);                                                                             \
	}
	SA_OPTIONS(X)
#undef X
}

/*
 * Read the environment.  Called at the first allocation; if that comes
 * before libc has set up the environment (from ld.so), from
 * /proc/self/environ, since the debug build lays out its guarded pool by
 * the options at that first allocation; failing that, the constructor
 * calls it again.
 */
extern const char *spanalloc_default_options(void) __attribute__((weak));

void options_init(void)
{
	extern char **environ;
	if (options_parsed)
		return;
	const char *env = NULL;
	if (environ) {
		/* secure_getenv: a set-user-ID program ignores the options. */
		env = secure_getenv("SPANALLOC_OPTIONS");
	} else {
		bool readable;
		env = os_early_getenv("SPANALLOC_OPTIONS", &readable);
		if (!readable)
			return;
	}
	options_parsed = true;
	/* The program's own defaults first (a fuzz target whose runner sets no
	 * environment, OSS-Fuzz's), then the environment's. */
	if (spanalloc_default_options)
		options_parse(spanalloc_default_options(), &opts, true);
	options_parse(env, &opts, true);
	if (opts.help)
		print_help();
}
