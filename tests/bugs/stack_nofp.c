/*
 * Stacks of a program built as most are (-O2 -g, no frame pointers):
 * main -> make -> malloc, main -> drop -> free, then a double free.  The
 * report's allocation and free stacks go through the helper and main,
 * symbolized to function and line, and the bad call's stack starts at the
 * program's frame, not spanalloc's.
 */
/* build: -O2 -fomit-frame-pointer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* (The empty asm after each call keeps it from being a tail call, which
 * would take the helper's frame off the stack.) */
__attribute__((noinline)) char *make(size_t n)
{
	char *p = malloc(n); /* @alloc make */
	__asm__ volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void drop(char *p)
{
	free(p); /* @free drop */
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void drop_again(char *p)
{
	free(p); /* @report drop_again */
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	char *p = make(40); /* @alloc.1 main */
	memset(p, 1, 40);
	printf("%p\n", (void *)p);
	fflush(stdout);
	drop(p);       /* @free.1 main */
	drop_again(p); /* @report.1 main */
	return 0;
}
