/*
 * A thread with a cancel pending frees a block twice: the report's writes
 * are cancellation points, and a thread cancelled there left the reports
 * owned by no live thread, so main's report after it waited for ever (and
 * before reports were serialized, the first report was cut short).  Run
 * with abort_on_error=0: both reports whole, the thread cancelled after
 * its report (at its own pthread_testcancel), and main goes on.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int cancelled;

static void *twice(void *arg)
{
	void *volatile p = arg;
	while (!__atomic_load_n(&cancelled, __ATOMIC_ACQUIRE))
		; /* (no cancellation point until the cancel is pending) */
	free(p);
	free(p); /* bug */
	pthread_testcancel();
	return NULL;
}

int main(void)
{
	void *a = malloc(48), *volatile b = malloc(112);
	printf("%p\n%p\n", a, b);
	fflush(stdout);
	pthread_t t;
	if (pthread_create(&t, NULL, twice, a) != 0)
		return 2;
	pthread_cancel(t);
	__atomic_store_n(&cancelled, 1, __ATOMIC_RELEASE);
	void *r;
	pthread_join(t, &r);
	if (r != PTHREAD_CANCELED)
		printf("not cancelled\n");
	free(b);
	free(b); /* bug */
	printf("continued\n");
	return 0;
}
