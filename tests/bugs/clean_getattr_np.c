/*
 * Threads whose first call into the allocator comes from inside glibc's
 * pthread_getattr_np, which holds the thread's lock while it reallocs
 * (Ruby's threads, Rust's thread start): the allocation's stack must not
 * ask pthread_getattr_np for the thread's stack again (it waited for
 * ever on its own lock).  Must exit 0 with nothing on stderr.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *start(void *arg)
{
	(void)arg;
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return (void *)1;
	void *addr;
	size_t size;
	int bad = pthread_attr_getstack(&a, &addr, &size) != 0 || !size;
	pthread_attr_destroy(&a);
	void *volatile p = malloc(100);
	free(p);
	return bad ? (void *)1 : NULL;
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, start, NULL) != 0)
			return 2;
	int bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad |= r != NULL;
	}
	return bad;
}
