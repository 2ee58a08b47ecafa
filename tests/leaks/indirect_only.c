/* Blocks reachable only from another leaked block: a table (direct)
 * holding 4 strings made elsewhere (indirect, stack new_string), and a
 * large buffer (100000 bytes, a large span) held by the table too. */
#include <stdlib.h>

#include "wipe.h"
#include <string.h>

__attribute__((noinline)) char *new_string(const char *s)
{
	char *p = malloc(strlen(s) + 1);
	strcpy(p, s);
	return p;
}

__attribute__((noinline)) void **new_table(void)
{
	void **t = malloc(6 * sizeof *t);
	t[0] = new_string("alpha");
	t[1] = new_string("bravo");
	t[2] = new_string("charl");
	t[3] = new_string("delta");
	t[4] = malloc(100000);
	t[5] = NULL;
	return t;
}

int main(void)
{
	void **volatile t = new_table();
	t = NULL;
	wipe_stack();
	return 0;
}
// expect: Direct 48 1 new_table
// expect: Indirect 100000 1 new_table
// expect: Indirect 24 4 new_string
// expect-rc: 23
