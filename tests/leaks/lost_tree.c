/* A binary tree of 15 nodes (depth 4) whose root is lost: the root is a
 * direct leak, the 14 nodes below it indirect ones. */
#include <stdlib.h>

#include "wipe.h"

struct tree {
	struct tree *left, *right;
	long key;
};

__attribute__((noinline)) struct tree *grow(int depth)
{
	if (!depth)
		return NULL;
	struct tree *t = calloc(1, sizeof *t);
	t->left = grow(depth - 1);
	t->right = grow(depth - 1);
	return t;
}

int main(void)
{
	struct tree *volatile root = grow(4);
	root = NULL;
	wipe_stack();
	return 0;
}
// expect: Direct 24 1 grow
// expect: Indirect 336 14 grow
// expect-rc: 23
