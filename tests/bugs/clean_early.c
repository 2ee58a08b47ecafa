/*
 * Allocation before any constructor has run (.preinit_array runs before the
 * initializers of every shared object, spanalloc's included), from an early
 * constructor, and from a destructor and an atexit handler at the end.
 * A correct program: it must exit 0 with nothing on stderr.
 */
#include <stdlib.h>
#include <string.h>

static char *early;

static void preinit(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	early = malloc(100);
	if (early)
		memset(early, 'e', 100);
	free(strdup("preinit"));
}
__attribute__((section(".preinit_array"), used)) static void (*const preinit_entry)(int, char **, char **) = preinit;

__attribute__((constructor(101))) static void early_ctor(void) { free(calloc(10, 10)); }

__attribute__((destructor)) static void late_dtor(void) { free(realloc(malloc(50), 5000)); }

static void at_exit(void) { free(malloc(70000)); }

int main(void)
{
	if (!early)
		return 1;
	for (int i = 0; i < 100; i++)
		if (early[i] != 'e')
			return 2;
	free(early);
	atexit(at_exit);
	return 0;
}
