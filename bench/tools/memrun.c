/*
 * memrun: run one command and report its wall time and peak RSS.
 *
 *   memrun [-p PRELOAD] -r RESULT_FILE -- COMMAND [ARGS...]
 *
 * Why not measure from the Python runner directly: Linux folds the RSS of
 * the process image that exec replaces into the child's ru_maxrss, so a
 * child forked from a 20 MB Python process reports at least 20 MB.  This
 * launcher is tiny, so the floor it leaves is well under any workload's.
 *
 * PRELOAD, when given, is set as LD_PRELOAD for the command only (the
 * launcher itself runs with the allocator it was started with: the system
 * one).  RESULT_FILE receives "wall_ns N\nmaxrss_kb N\nstatus N\n" where
 * status is the exit code, or 128+signal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: memrun [-p PRELOAD] -r RESULT_FILE -- COMMAND [ARGS...]\n");
	exit(125);
}

int main(int argc, char **argv)
{
	const char *preload = NULL, *result = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			preload = argv[++i];
		} else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			result = argv[++i];
		} else {
			usage();
		}
	}
	if (!result || i >= argc)
		usage();

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("memrun: fork");
		return 125;
	}
	if (pid == 0) {
		if (preload && *preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		execvp(argv[i], argv + i);
		fprintf(stderr, "memrun: exec %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("memrun: wait4");
			return 125;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	FILE *f = fopen(result, "w");
	if (!f) {
		perror("memrun: result file");
		return 125;
	}
	fprintf(f, "wall_ns %lld\nmaxrss_kb %ld\nstatus %d\nuser_s %.6f\nsys_s %.6f\n", ns, ru.ru_maxrss, status,
		(double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6,
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6);
	fclose(f);
	return status;
}
