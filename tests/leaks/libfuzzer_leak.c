/*
 * A libFuzzer target (clang -fsanitize=fuzzer, no ASan, linked with the
 * debug library) that leaks its copy of every input starting with 'L':
 * the check at exit reports the leaks, allocated from
 * LLVMFuzzerTestOneInput, and the run ends with the leak exit code.
 * (libFuzzer's per-input check, -detect_leaks=1, also needs the malloc
 * hooks, __sanitizer_install_malloc_and_free_hooks, to count mallocs and
 * frees: without them it never calls __lsan_do_recoverable_leak_check.)
 * Built and run by run.sh with the .a only; not a standalone program.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *volatile last_copy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);
	memcpy(p, data, size);
	last_copy = p; /* (so that the compiler keeps the malloc) */
	last_copy = NULL;
	if (size >= 1 && data[0] == 'L')
		return 0; /* leaks p */
	free(p);
	return 0;
}
