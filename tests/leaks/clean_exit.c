/* Everything freed; stdio, getenv, threads used: no report, status 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *work(void *arg)
{
	char *p = malloc(100);
	strcpy(p, arg);
	free(p);
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, work, "hello");
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	void *v[100];
	for (int i = 0; i < 100; i++)
		v[i] = malloc((size_t)i * 100);
	for (int i = 0; i < 100; i++)
		free(v[i]);
	printf("done\n");
	return 0;
}
// expect-rc: 0
