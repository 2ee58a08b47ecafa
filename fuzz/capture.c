/*
 * What the library writes to stderr between capture_begin and capture_end
 * (the badfree and options harnesses check the reports' text).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

static int cap_pipe[2] = {-1, -1};
static bool capturing;

/* The sanitizers' reports keep going to the real stderr while fd 2 is a pipe. */
extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

void capture_init(void)
{
	if (cap_pipe[0] >= 0)
		return;
	if (pipe2(cap_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		fuzz_fail("pipe2: %s", strerror(errno));
	(void)fcntl(cap_pipe[1], F_SETPIPE_SZ, 1 << 20);
	real_stderr = fcntl(2, F_DUPFD_CLOEXEC, 100);
	if (real_stderr < 0)
		fuzz_fail("dup of stderr: %s", strerror(errno));
	if (__sanitizer_set_report_fd)
		__sanitizer_set_report_fd((void *)(intptr_t)real_stderr);
}

void capture_begin(void)
{
	fflush(stderr);
	if (dup2(cap_pipe[1], 2) < 0)
		fuzz_fail("dup2: %s", strerror(errno));
	capturing = true;
}

size_t capture_end(char *buf, size_t cap)
{
	fflush(stderr);
	dup2(real_stderr, 2);
	capturing = false;
	size_t n = 0;
	for (;;) {
		char tmp[4096];
		ssize_t r = read(cap_pipe[0], tmp, sizeof tmp);
		if (r <= 0)
			break;
		size_t k = MIN((size_t)r, cap - 1 - n);
		memcpy(buf + n, tmp, k);
		n += k;
	}
	buf[n] = 0;
	return n;
}
