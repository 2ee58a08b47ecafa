/*
 * AFL++ driver for the LLVMFuzzerTestOneInput harnesses: persistent mode
 * with the test case in shared memory (__AFL_FUZZ_TESTCASE_BUF), deferred
 * fork server after LLVMFuzzerInitialize.  Built with afl-clang-fast /
 * afl-clang-lto, which define the __AFL_* macros; without them (or when
 * given file arguments) it runs the files given, like replay_main.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT();
#endif

#define MAX_INPUT (1 << 20)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	uint8_t *buf = malloc(MAX_INPUT);
	size_t n = buf ? fread(buf, 1, MAX_INPUT, f) : 0;
	fclose(f);
	uint8_t *copy = malloc(n ? n : 1);
	if (n)
		memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		int bad = 0;
		for (int i = 1; i < argc; i++)
			bad |= run_file(argv[i]);
		return bad;
	}
#ifdef __AFL_FUZZ_TESTCASE_LEN
	__AFL_INIT();
	unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(100000)) {
		int len = __AFL_FUZZ_TESTCASE_LEN;
		/* An exact-size copy, so that ASan sees reads past the end. */
		uint8_t *copy = malloc(len > 0 ? (size_t)len : 1);
		memcpy(copy, buf, (size_t)len);
		LLVMFuzzerTestOneInput(copy, (size_t)len);
		free(copy);
	}
	return 0;
#else
	/* No AFL: one input on stdin. */
	uint8_t *in = malloc(MAX_INPUT);
	size_t n = fread(in, 1, MAX_INPUT, stdin);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	return 0;
#endif
}
