/* A block freed in another thread, then freed again in main after join. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *freer(void *p)
{
	free(p); /* @free */
	return NULL;
}

int main(void)
{
	void *keep = malloc(48);
	void *volatile p = malloc(48); /* @alloc */
	pthread_t t;
	printf("%p\n", p);
	fflush(stdout);
	if (pthread_create(&t, NULL, freer, p) != 0)
		return 2;
	pthread_join(t, NULL);
	free(p); /* bug */ /* @report */
	free(keep);
	return 0;
}
