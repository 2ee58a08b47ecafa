/*
 * A one-byte overflow in a forked child (of a parent with one thread),
 * caught when the child frees the block: a child reports like any
 * process (the fork handlers leave no report held back).  The parent
 * dies of the child's signal, so the status is the child's.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	char *volatile warm = malloc(100);
	free(warm);
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		char *volatile p = malloc(40); /* @alloc */
		printf("%p\n", (void *)p);
		fflush(stdout);
		((volatile char *)p)[40] = 'x'; /* bug */
		free(p);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return 2;
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		raise(WTERMSIG(st));
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
