/*
 * The part of Criterion's API that tests/test_threads.c uses, for its
 * ThreadSanitizer build: Criterion's runner cannot start under TSan (its
 * shared-memory arena wants an address TSan's shadow takes).  Each test
 * runs in a child process of its own, as under Criterion; a failed
 * assertion prints where and why and exits the child with status 1.
 */
#ifndef SA_TSAN_CRITERION_H
#define SA_TSAN_CRITERION_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct tsan_test {
	const char *name;
	void (*fn)(void);
};
static struct tsan_test tsan_tests[64];
static int tsan_ntests;

static inline void tsan_register(const char *name, void (*fn)(void))
{
	if (tsan_ntests == (int)(sizeof tsan_tests / sizeof tsan_tests[0])) {
		fprintf(stderr, "tsan shim: too many tests\n");
		abort();
	}
	tsan_tests[tsan_ntests].name = name;
	tsan_tests[tsan_ntests++].fn = fn;
}

__attribute__((format(printf, 4, 5))) static inline void tsan_fail(const char *file, int line, const char *expr,
								   const char *fmt, ...)
{
	fprintf(stderr, "%s:%d: assertion failed: %s\n  ", file, line, expr);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	_exit(1);
}

/* Test(suite, name, .options...) { body }: the options (timeouts) are ignored. */
#define Test(suite, name, ...)                                                                                         \
	static void suite##_##name(void);                                                                              \
	__attribute__((constructor)) static void suite##_##name##_register(void)                                       \
	{                                                                                                              \
		tsan_register(#suite "::" #name, suite##_##name);                                                      \
	}                                                                                                              \
	static void suite##_##name(void)

/* The message is optional: "" "fmt" is "fmt", and "" alone is empty. */
#define cr_assert(cond, ...) ((cond) ? (void)0 : tsan_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__))
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)

int main(void)
{
	int failed = 0;
	for (int i = 0; i < tsan_ntests; i++) {
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			tsan_tests[i].fn();
			fflush(NULL);
			_exit(0);
		}
		int st = 0;
		while (waitpid(pid, &st, 0) < 0)
			;
		int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		printf("%s %s\n", ok ? "PASS" : "FAIL", tsan_tests[i].name);
		failed += !ok;
	}
	printf("tsan: %d tests, %d failed\n", tsan_ntests, failed);
	return failed != 0;
}

#endif
