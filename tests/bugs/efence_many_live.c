/*
 * 100,000 live blocks under efence=1: more than the mapping budget lets
 * efence guard (an eighth of vm.max_map_count in slots, each live guarded
 * block splitting off up to two mappings).  The blocks beyond it get the normal debug
 * checks: every malloc succeeds, the contents hold, the process stays
 * under half of vm.max_map_count, and spanalloc says so once on stderr (run.sh's "notice" kind).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 100000

int main(void)
{
	static char *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = malloc(32);
		if (!p[i]) {
			printf("FAILED: malloc returned NULL at block %d\n", i);
			return 1;
		}
		memset(p[i], (char)i, 32);
	}
	/* Well below the kernel's limit on mappings: under half of it. */
	long limit = 0, maps = 0;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	if (f && fscanf(f, "%ld", &limit) != 1)
		limit = 0;
	if (f)
		fclose(f);
	f = fopen("/proc/self/maps", "r");
	for (int ch; f && (ch = getc(f)) != EOF;)
		maps += ch == '\n';
	if (f)
		fclose(f);
	if (limit > 0 && maps >= limit / 2) {
		printf("FAILED: %ld mappings with 100,000 live blocks, vm.max_map_count is %ld\n", maps, limit);
		return 1;
	}
	for (int i = 0; i < N; i++)
		if (p[i][31] != (char)i) {
			printf("FAILED: block %d lost its contents\n", i);
			return 1;
		}
	for (int i = 0; i < N; i++)
		free(p[i]);
	return 0;
}
