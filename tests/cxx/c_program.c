/* A C program under spanalloc: no C++ runtime anywhere (cxx tests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* spanalloc's own entry point: present iff spanalloc is the allocator. */
extern void *sa_malloc(size_t size) __attribute__((weak));

int main(void)
{
	if (!sa_malloc) {
		fprintf(stderr, "c_program: spanalloc is not the allocator\n");
		return 1;
	}
	char *v[1000];
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 1000; i++) {
			v[i] = malloc((size_t)(i * 37 % 5000));
			memset(v[i], i, (size_t)(i * 37 % 5000));
		}
		for (int i = 0; i < 1000; i++)
			free(v[i]);
	}
	return 0;
}
