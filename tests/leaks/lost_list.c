/* A linked list of 10 nodes whose head pointer is lost: 1 direct leak
 * (the head, 32 bytes) and 9 indirect ones (288 bytes). */
#include <stdlib.h>

#include "wipe.h"

struct node {
	struct node *next;
	char payload[24];
};

__attribute__((noinline)) struct node *make_list(int n)
{
	struct node *head = NULL;
	for (int i = 0; i < n; i++) {
		struct node *e = malloc(sizeof *e);
		e->next = head;
		head = e;
	}
	return head;
}

int main(void)
{
	struct node *volatile head = make_list(10);
	head = NULL;
	wipe_stack();
	return 0;
}
// expect: Direct 32 1 make_list
// expect: Indirect 288 9 make_list
// expect-rc: 23
