/*
 * The fuzz engine's failure reports and its log of recent operations.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

static const char *fuzz_name = "spanalloc";
int real_stderr = 2; /* fd 2 before any capture */
bool trace;

#define LOG_LINES 48
#define LOG_WIDTH 176
static char oplog[LOG_LINES][LOG_WIDTH];
static unsigned oplog_next;
static pthread_mutex_t oplog_lock = PTHREAD_MUTEX_INITIALIZER;

void fuzz_set_name(const char *name)
{
	fuzz_name = name;
	trace = getenv("FUZZ_TRACE") != NULL;
}

void fuzz_log(const char *fmt, ...)
{
	char line[LOG_WIDTH];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&oplog_lock);
	memcpy(oplog[oplog_next++ % LOG_LINES], line, sizeof line);
	pthread_mutex_unlock(&oplog_lock);
	if (trace)
		dprintf(real_stderr, "  op: %s\n", line);
}

void fuzz_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(real_stderr, "\nspanalloc-fuzz: %s: FAIL: %s\n", fuzz_name, msg);
	unsigned n = oplog_next < LOG_LINES ? oplog_next : LOG_LINES;
	if (n) {
		dprintf(real_stderr, "spanalloc-fuzz: the last %u operations (oldest first):\n", n);
		for (unsigned i = oplog_next - n; i != oplog_next; i++)
			dprintf(real_stderr, "    %s\n", oplog[i % LOG_LINES]);
	}
	abort();
}

void child_exit(int code)
{
	if (__llvm_profile_write_file)
		__llvm_profile_write_file();
	_exit(code);
}

void fuzz_init_once(void)
{
	static bool done;
	if (!done) {
		done = true;
		LLVMFuzzerInitialize(NULL, NULL);
	}
}
