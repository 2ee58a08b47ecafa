/*
 * Bad calls spanalloc itself catches, under memcheck, run with
 * abort_on_error=0: a double free (small and large), a free of an interior
 * pointer and a realloc of a freed block.  Each is reported by spanalloc
 * (on stderr) and refused; memcheck must see no error of its own, neither
 * in the program nor in spanalloc's reporting.  Prints the four addresses.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile keep = malloc(64);
	char *volatile a = malloc(64);
	char *volatile b = malloc(100000);
	char *volatile c = malloc(200);
	char *volatile d = malloc(48);
	printf("%p\n%p\n%p\n%p\n", (void *)a, (void *)b, (void *)(c + 8), (void *)d);
	fflush(stdout);
	free(a);
	free(a); /* double free, small */ /* @report */
	free(b);
	free(b);     /* double free, large */
	free(c + 8); /* interior pointer */
	free(d);
	void *r = realloc(d, 100); /* realloc of a freed block */
	free(c);
	free(keep);
	puts(r ? "realloc returned a block" : "done");
	return 0;
}
