/* A block freed in another thread, then freed again in main after join. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *freer(void *p)
{
	free(p);
	return NULL;
}

int main(void)
{
	void *keep = malloc(48);
	void *volatile p = malloc(48);
	pthread_t t;
	printf("%p\n", p);
	fflush(stdout);
	if (pthread_create(&t, NULL, freer, p) != 0)
		return 2;
	pthread_join(t, NULL);
	free(p);                 /* bug */
	free(keep);
	return 0;
}
