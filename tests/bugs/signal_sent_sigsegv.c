/*
 * A SIGSEGV the program sends itself, as Python's faulthandler does: its
 * handler prints its report, puts back the handler it replaced and
 * raises the signal again, so that the process dies of it.  The debug
 * build's fault handler (the one replaced) must pass such a signal on to
 * the default action: the process dies of SIGSEGV (status 139) with no
 * spanalloc report, and never prints "survived".  A debug build that
 * took the raised signal for a fault and returned, waiting for it to
 * come again, let the program run on and exit 0.
 *
 * The large blocks allocated after the handler is installed make the
 * debug build put its own handler back in front of it, chaining to it;
 * the program's handler then restores the one it replaced, which is the
 * debug build's, and that must not hand the signal back to the
 * program's: the two went round for ever (Python's faulthandler printed
 * its traceback until the alternate stack overflowed into a guard page).
 * The handler runs once, or the program exits 3.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sigaction replaced;

static void fatal(int sig)
{
	static const char msg[] = "fatal signal: re-raising\n";
	static volatile sig_atomic_t entered;
	if (entered++)
		_exit(3);
	if (write(1, msg, sizeof msg - 1) < 0)
		_exit(2);
	sigaction(sig, &replaced, NULL);
	raise(sig);
}

int main(void)
{
	/* Blocks of every kind first, so that the allocator's handler is
	 * installed (the debug build puts it in place for guarded and large
	 * blocks). */
	void *p[64];
	for (int i = 0; i < 64; i++)
		p[i] = malloc(i < 60 ? 16 + (size_t)i * 40 : 100000);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fatal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	if (sigaction(SIGSEGV, &sa, &replaced) != 0)
		return 2;
	void *big[4];
	for (int i = 0; i < 4; i++)
		big[i] = malloc(200000);
	raise(SIGSEGV);
	printf("survived\n");
	for (int i = 0; i < 64; i++)
		free(p[i]);
	for (int i = 0; i < 4; i++)
		free(big[i]);
	return 0;
}
