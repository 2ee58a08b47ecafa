/*
 * Stacks in reports, symbolized at report time as ASan does it: by an
 * external symbolizer, run for the report and fed module offsets.
 *
 *   #2 0x55d0c5a6e1d2 in helper /src/prog.c:12:5 (/src/prog+0x11d2)
 *
 * The symbolizer is external_symbolizer_path, else llvm-symbolizer, else
 * addr2line, the first found on PATH (none in a set-user-ID program: its
 * PATH is the caller's).  llvm-symbolizer takes "module offset" pairs: one
 * kept running for the report (sa_symbolize_end ends it) serves all its
 * frames; addr2line takes one module a run.
 * Without a symbolizer (or with symbolize=0) a frame is "#N 0xPC
 * (module+0xoffset)", which `addr2line -e module offset` resolves.
 *
 * A report may come from inside malloc, from a sweep with a lock held,
 * or from the SIGSEGV handler, so nothing here allocates: module names
 * come from dladdr1's link_map (no allocation), arguments and the
 * environment are built in stack buffers, and os_run_read spawns the
 * symbolizer with vfork (no atfork handler: the debug build's waits for
 * the operations in flight, this one among them).  The symbolizer runs
 * without LD_PRELOAD and SPANALLOC_OPTIONS: not under spanalloc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "internal.h"
#include "track.h"

#ifdef SA_DEBUG
#define UNDER_VALGRIND RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND 0 /* (the production build does not run under memcheck) */
#endif

#define BATCH 8          /* frames a symbolizer run */
#define INLINE_MAX 6     /* entries a frame (the function and those inlined into it) */
#define OUT_MAX 8192     /* a run's output */
#define ARGS_MAX 4096    /* its arguments */
#define ENV_MAX 160      /* its environment, in entries */
#define TIMEOUT_MS 10000 /* a symbolizer that takes longer is killed */

struct frame {
	uintptr_t pc;       /* the call (return address - 1) or the faulting instruction */
	const char *module; /* its file, or NULL */
	uintptr_t off;      /* pc - the module's load bias: what symbolizers take */
	unsigned n;         /* entries found (0: not symbolized) */
	const char *func[INLINE_MAX], *file[INLINE_MAX];
};

/* ---- modules ------------------------------------------------------------ */

/* (Two threads reporting at once may both fill these: with the same bytes.) */
static char exe_path[512];

static const char *module_of(uintptr_t pc, uintptr_t *off)
{
	Dl_info info;
	struct link_map *lm = NULL;
	if (!dladdr1((void *)pc, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return NULL;
	*off = pc - lm->l_addr;
	if (lm->l_name && lm->l_name[0])
		return lm->l_name;
	/* The executable (a static link's spanalloc too): its name in the
	 * link map is "", and argv[0] may be relative to another cwd. */
	if (!exe_path[0]) {
		ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
		if (n <= 0)
			return info.dli_fname;
		exe_path[n] = 0;
	}
	return exe_path;
}

/* ---- which symbolizer ---------------------------------------------------- */

enum { SYM_UNKNOWN, SYM_NONE, SYM_LLVM, SYM_ADDR2LINE };
static int sym_kind;
static char sym_path[256];

static bool executable(const char *dir, size_t dlen, const char *name)
{
	strbuf b = {sym_path, 0, sizeof sym_path};
	if (dlen + 1 + strlen(name) + 1 > sizeof sym_path)
		return false;
	memcpy(sym_path, dir, dlen);
	b.len = dlen;
	if (dlen)
		sb_str(&b, "/");
	sb_str(&b, name);
	sym_path[b.len] = 0;
	return access(sym_path, X_OK) == 0;
}

static bool on_path(const char *name)
{
	const char *p = getenv("PATH");
	for (p = p ? p : "/usr/bin:/bin"; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n && executable(p, n, name))
			return true;
		p += n + (e != NULL);
	}
	return false;
}

static void note(const char *a, const char *b, const char *c)
{
	char buf[400];
	strbuf s = {buf, 0, sizeof buf};
	sb_str(&s, a);
	sb_str(&s, b);
	sb_str(&s, c);
	os_write(report_fd, s.buf, s.len);
}

static int symbolizer(void)
{
	int k = __atomic_load_n(&sym_kind, __ATOMIC_ACQUIRE);
	if (k != SYM_UNKNOWN)
		return k;
	const char *given = opts.external_symbolizer_path;
	if (getauxval(AT_SECURE)) {
		k = SYM_NONE; /* set-user-ID: PATH and the options are the caller's */
	} else if (given[0]) {
		k = executable("", 0, given) ? (strstr(given, "addr2line") ? SYM_ADDR2LINE : SYM_LLVM) : SYM_NONE;
		if (k == SYM_NONE)
			note("    (external_symbolizer_path=", given,
			     " is not an executable file: frames not symbolized)\n");
	} else if (on_path("llvm-symbolizer")) {
		k = SYM_LLVM;
	} else if (on_path("addr2line")) {
		k = SYM_ADDR2LINE;
	} else {
		k = SYM_NONE;
		note("    (no llvm-symbolizer or addr2line on PATH: frames not symbolized;",
		     " SPANALLOC_OPTIONS=external_symbolizer_path=... names one)\n", "");
	}
	__atomic_store_n(&sym_kind, k, __ATOMIC_RELEASE);
	return k;
}

/* ---- running it ------------------------------------------------------------ */

/* The environment without what would put the symbolizer under spanalloc. */
static void child_env(char **envp)
{
	extern char **environ;
	unsigned k = 0;
	for (char **e = environ; e && *e && k < ENV_MAX - 1; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0 && strncmp(*e, "SPANALLOC_OPTIONS=", 18) != 0)
			envp[k++] = *e;
	envp[k] = NULL;
}

/* The next line of out (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **cur, char *end)
{
	char *s = *cur;
	if (s >= end)
		return NULL;
	char *nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		nl = end;
	*nl = 0;
	*cur = nl + 1;
	return s;
}

static bool unknown(const char *func, const char *file) { return !strcmp(func, "??") && !strncmp(file, "??", 2); }

static void add_entry(struct frame *f, char *func, char *file)
{
	char *d = strstr(file, " (discriminator");
	if (d)
		*d = 0;
	if (f->n < INLINE_MAX && !unknown(func, file)) {
		f->func[f->n] = func;
		f->file[f->n] = file;
		f->n++;
	}
}

/* Append "0x<v>", or '"module" 0x<v>', as the next argument, in b. */
static bool arg_hex(char **argv, unsigned *argc, strbuf *b, const char *module, uintptr_t v)
{
	size_t start = b->len;
	if (module) {
		sb_str(b, "\"");
		sb_str(b, module);
		sb_str(b, "\" ");
	}
	sb_hex(b, v);
	if (b->len + 1 >= b->cap)
		return false;
	b->buf[b->len++] = 0;
	argv[(*argc)++] = b->buf + start;
	return true;
}

/* llvm-symbolizer's answer in out[0, len) for the frames idx[0, m) of f:
 * per frame, pairs of lines (function, file:line:column) for it and what
 * is inlined into it, then an empty line. */
static void parse_llvm(struct frame *f, const unsigned *idx, unsigned m, char *out, long len)
{
	char *cur = out, *end = out + len, *func, *file;
	for (unsigned j = 0; j < m; j++) {
		while ((func = next_line(&cur, end)) && func[0] && (file = next_line(&cur, end)))
			add_entry(&f[idx[j]], func, file);
		if (!func)
			break;
	}
}

/* ---- the long-lived llvm-symbolizer of a report ------------------------------- */

/*
 * A report that prints many stacks (the leak check's: hundreds of groups
 * for a large test program) would start a symbolizer per batch of frames,
 * each loading the program's debug information again: minutes, where
 * LSan takes seconds.  So within a report one llvm-symbolizer is kept
 * running and fed "module offset" lines on its stdin (it answers each with
 * its lines and an empty line, and flushes), as the sanitizers' symbolizer
 * does.  sa_symbolize_end, at the end of the report, ends it: no child of
 * ours outlives the report, since a program that waits for all its
 * children (a shell, make) would wait for it too.
 *
 * One thread at a time talks to it (sess_busy, taken with a compare and
 * swap, never waited for: a second thread reporting at once, or a report
 * from a signal handler that interrupted the first, runs llvm-symbolizer
 * per batch as before).  A fork child inherits the socket but not the
 * process: sess_owner (the pid that started it) tells, and the child
 * starts its own.
 */
static int sess_pid = -1, sess_fd = -1, sess_owner;
static uint32_t sess_busy;

static bool sess_start(char **envp)
{
	int me = (int)getpid();
	if (sess_pid > 0 && sess_owner == me)
		return true;
	if (sess_pid > 0) /* a fork child: the parent's; our copy of its end goes */
		close(sess_fd);
	char *argv[] = {sym_path, "--inlining", "--demangle", NULL};
	sess_pid = os_spawn_duplex(sym_path, argv, envp, &sess_fd);
	sess_owner = me;
	return sess_pid > 0;
}

static void sess_stop(bool kill_it)
{
	if (sess_pid > 0 && sess_owner == (int)getpid())
		os_end_duplex(sess_pid, sess_fd, kill_it);
	sess_pid = sess_fd = -1;
}

/* One request of the session: false when it failed (the session is then
 * ended; the frames stay unsymbolized). */
static bool sess_ask(struct frame *f, const unsigned *idx, unsigned m, char *out, char **envp)
{
	if (!sess_start(envp))
		return false;
	char req[ARGS_MAX];
	strbuf b = {req, 0, sizeof req};
	for (unsigned j = 0; j < m; j++) {
		sb_str(&b, "\"");
		sb_str(&b, f[idx[j]].module);
		sb_str(&b, "\" ");
		sb_hex(&b, f[idx[j]].off);
		sb_str(&b, "\n");
	}
	if (b.len >= b.cap - 1 || !os_send_all(sess_fd, req, b.len)) {
		sess_stop(true);
		return false;
	}
	/* Read until the m-th empty line; what does not fit in out is read
	 * and dropped (its frames keep the entries that fitted). */
	size_t len = 0;
	unsigned ends = 0;
	char prev = 0, drop[512];
	while (ends < m) {
		char *to = len < OUT_MAX - 1 ? out + len : drop;
		size_t room = len < OUT_MAX - 1 ? OUT_MAX - 1 - len : sizeof drop;
		long n = os_recv_some(sess_fd, to, room, TIMEOUT_MS);
		if (n <= 0) {
			sess_stop(true);
			return false;
		}
		for (long i = 0; i < n; i++) {
			if (to[i] == '\n' && prev == '\n')
				ends++;
			prev = to[i];
		}
		if (to != drop)
			len += (size_t)n;
	}
	parse_llvm(f, idx, m, out, (long)len);
	return true;
}

void sa_symbolize_end(void)
{
	if (__atomic_load_n(&sess_pid, __ATOMIC_RELAXED) <= 0 || __atomic_exchange_n(&sess_busy, 1, __ATOMIC_ACQUIRE))
		return;
	sess_stop(false);
	__atomic_store_n(&sess_busy, 0, __ATOMIC_RELEASE);
}

/* llvm-symbolizer: the report's long-lived one when this thread can have
 * it, else one run for the batch. */
static void run_llvm(struct frame *f, unsigned n, char *out, char **envp)
{
	unsigned idx[BATCH], m = 0;
	for (unsigned i = 0; i < n; i++)
		if (f[i].module)
			idx[m++] = i;
	if (!m)
		return;
	if (!__atomic_exchange_n(&sess_busy, 1, __ATOMIC_ACQUIRE)) {
		bool ok = sess_ask(f, idx, m, out, envp);
		__atomic_store_n(&sess_busy, 0, __ATOMIC_RELEASE);
		if (ok)
			return;
	}
	char args[ARGS_MAX];
	strbuf b = {args, 0, sizeof args};
	char *argv[BATCH + 8];
	unsigned argc = 0, k = 0;
	argv[argc++] = sym_path;
	argv[argc++] = "--inlining";
	argv[argc++] = "--demangle";
	for (unsigned j = 0; j < m; j++)
		if (arg_hex(argv, &argc, &b, f[idx[j]].module, f[idx[j]].off))
			idx[k++] = idx[j];
	argv[argc] = NULL;
	long len = os_run_read(sym_path, argv, envp, out, OUT_MAX - 1, TIMEOUT_MS);
	if (len > 0)
		parse_llvm(f, idx, k, out, len);
}

/* addr2line -f -i: one run a module; "0" after each address prints
 * "??" / "??:0", which ends the frames of the address before it.  The
 * runs share out (the entries point into it). */
static void run_addr2line(struct frame *f, unsigned n, char *out, char **envp)
{
	bool done[BATCH] = {false};
	size_t used = 0;
	for (unsigned i = 0; i < n; i++) {
		if (done[i] || !f[i].module)
			continue;
		char args[ARGS_MAX];
		strbuf b = {args, 0, sizeof args};
		char *argv[2 * BATCH + 8];
		unsigned argc = 0, idx[BATCH], m = 0;
		argv[argc++] = sym_path;
		argv[argc++] = "-f";
		argv[argc++] = "-C";
		argv[argc++] = "-i";
		argv[argc++] = "-e";
		argv[argc++] = (char *)f[i].module;
		for (unsigned j = i; j < n; j++) {
			if (done[j] || !f[j].module || strcmp(f[j].module, f[i].module) != 0)
				continue;
			done[j] = true;
			if (arg_hex(argv, &argc, &b, NULL, f[j].off)) {
				argv[argc++] = "0";
				idx[m++] = j;
			}
		}
		argv[argc] = NULL;
		if (used + 1 >= OUT_MAX)
			break;
		long len = os_run_read(sym_path, argv, envp, out + used, OUT_MAX - 1 - used, TIMEOUT_MS);
		if (len <= 0)
			continue;
		char *cur = out + used, *end = out + used + len, *func, *file;
		used += (size_t)len + 1;
		for (unsigned k = 0; k < m; k++) {
			/* The address's own entry, those inlined, then the "0". */
			bool first = true;
			while ((func = next_line(&cur, end)) && (file = next_line(&cur, end))) {
				if (!first && unknown(func, file))
					break;
				add_entry(&f[idx[k]], func, file);
				first = false;
			}
			if (!func)
				break;
		}
	}
}

/* ---- printing -------------------------------------------------------------------- */

static void print_line(unsigned num, const struct frame *f, const char *func, const char *file)
{
	char buf[1024];
	strbuf b = {buf, 0, sizeof buf};
	sb_str(&b, "    #");
	sb_dec(&b, num);
	sb_str(&b, " ");
	sb_hex(&b, f->pc);
	if (func && strcmp(func, "??") != 0) {
		sb_str(&b, " in ");
		sb_str(&b, func);
	}
	if (file && strncmp(file, "??", 2) != 0) {
		sb_str(&b, " ");
		sb_str(&b, file);
	}
	sb_str(&b, " (");
	if (f->module) {
		sb_str(&b, f->module);
		sb_str(&b, "+");
		sb_hex(&b, f->off);
	} else {
		sb_str(&b, "<unknown module>");
	}
	/* (a line that did not fit still ends) */
	if (b.len > sizeof buf - 3)
		b.len = sizeof buf - 3;
	sb_str(&b, ")\n");
	os_write(report_fd, b.buf, b.len);
}

/* Frames i .. i+m-1 of pcs into f, symbolized by a run of kind. */
static void symbolize_batch(const uintptr_t *pcs, unsigned i, unsigned m, bool exact0, int kind, char **envp,
			    struct frame *f, char *out)
{
	for (unsigned j = 0; j < m; j++) {
		/* A return address is the instruction after the call. */
		f[j].pc = pcs[i + j] - (i + j == 0 && exact0 ? 0 : 1);
		f[j].off = 0;
		f[j].module = module_of(f[j].pc, &f[j].off);
		f[j].n = 0;
	}
	if (kind == SYM_LLVM)
		run_llvm(f, m, out, envp);
	else if (kind == SYM_ADDR2LINE)
		run_addr2line(f, m, out, envp);
}

/* Under valgrind, no symbolizer: a fork there is a whole valgrind, with a
 * log of its own (the bad call's stack is memcheck's). */
static int symbolizer_kind(void) { return opts.symbolize && !UNDER_VALGRIND ? symbolizer() : SYM_NONE; }

void sa_print_frames(const uintptr_t *pcs, unsigned n, bool exact0)
{
	int kind = symbolizer_kind();
	char *envp[ENV_MAX];
	if (kind != SYM_NONE)
		child_env(envp);
	unsigned num = 0;
	for (unsigned i = 0; i < n; i += BATCH) {
		struct frame f[BATCH];
		char out[OUT_MAX];
		unsigned m = n - i < BATCH ? n - i : BATCH;
		symbolize_batch(pcs, i, m, exact0, kind, envp, f, out);
		for (unsigned j = 0; j < m; j++) {
			if (!f[j].n)
				print_line(num++, &f[j], NULL, NULL);
			for (unsigned k = 0; k < f[j].n; k++)
				print_line(num++, &f[j], f[j].func[k], f[j].file[k]);
		}
	}
}

bool sa_frames_match(const uintptr_t *pcs, unsigned n, bool (*match)(const char *func, const char *file, void *arg),
		     void *arg)
{
	int kind = symbolizer_kind();
	if (kind == SYM_NONE)
		return false;
	char *envp[ENV_MAX];
	child_env(envp);
	for (unsigned i = 0; i < n; i += BATCH) {
		struct frame f[BATCH];
		char out[OUT_MAX];
		unsigned m = n - i < BATCH ? n - i : BATCH;
		symbolize_batch(pcs, i, m, false, kind, envp, f, out);
		for (unsigned j = 0; j < m; j++)
			for (unsigned k = 0; k < f[j].n; k++)
				if (match(f[j].func[k], f[j].file[k], arg))
					return true;
	}
	return false;
}
