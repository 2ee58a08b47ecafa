// The standard's operator new semantics, through spanalloc's operators:
// std::bad_alloc for an impossible request, NULL from the nothrow forms,
// the new-handler loop (called until it frees enough, or uninstalls
// itself), a handler that throws under a nothrow new, invalid alignments,
// and unique pointers for new(0).  Prints one line per check; exits 1 on a
// failed check.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const size_t impossible = SIZE_MAX / 2 + 1; // over PTRDIFF_MAX: never satisfiable
static volatile size_t huge = impossible;
static int failures;

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                    \
			failures++;                                                                                    \
		}                                                                                                      \
	} while (0)

static int calls;
static char *reserve;
static void handler_gives_up() // called twice, then uninstalls itself
{
	if (++calls == 2)
		std::set_new_handler(nullptr);
}
static void handler_throws()
{
	calls++;
	throw std::bad_alloc();
}
static void handler_frees() // gives the reserve back: the retry fits
{
	calls++;
	delete[] reserve;
	reserve = nullptr;
}

// Address space in use now, in bytes (/proc/self/statm: pages).
static size_t vm_size()
{
	unsigned long pages = 0;
	FILE *f = std::fopen("/proc/self/statm", "r");
	if (f) {
		if (std::fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		std::fclose(f);
	}
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

int main()
{
	bool thrown = false;
	try {
		char *p = new char[huge];
		std::printf("not thrown: %p\n", (void *)p);
	} catch (const std::bad_alloc &e) {
		thrown = true;
	}
	CHECK(thrown);
	std::printf("bad_alloc thrown: %d\n", thrown);

	thrown = false;
	try {
		void *p = ::operator new(huge, std::align_val_t(64));
		std::printf("not thrown: %p\n", p);
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	CHECK(thrown);

	CHECK(new (std::nothrow) char[huge] == nullptr);
	CHECK(::operator new(huge, std::nothrow) == nullptr);
	CHECK(::operator new[](huge, std::align_val_t(4096), std::nothrow) == nullptr);
	std::printf("nothrow NULL: ok\n");

	// Alignments that are not a power of two: bad_alloc, or NULL (libstdc++).
	thrown = false;
	try {
		void *p = ::operator new(64, std::align_val_t(48));
		std::printf("not thrown: %p\n", p);
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	CHECK(thrown);
	CHECK(::operator new(64, std::align_val_t(0), std::nothrow) == nullptr);

	// The new-handler loop: called until it uninstalls itself, then bad_alloc.
	calls = 0;
	std::set_new_handler(handler_gives_up);
	thrown = false;
	try {
		void *p = ::operator new(huge);
		std::printf("not thrown: %p\n", p);
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	CHECK(thrown && calls == 2);
	std::printf("handler calls before bad_alloc: %d\n", calls);

	// A handler that throws: the nothrow forms return NULL.
	calls = 0;
	std::set_new_handler(handler_throws);
	CHECK(::operator new(huge, std::nothrow) == nullptr);
	CHECK(::operator new[](huge, std::align_val_t(128), std::nothrow) == nullptr);
	CHECK(calls == 2);
	thrown = false;
	try {
		(void)::operator new(huge);
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	CHECK(thrown && calls == 3);
	std::printf("throwing handler under nothrow: NULL, calls %d\n", calls);

	// A handler that frees memory: the retry succeeds (throwing and nothrow).
	// Under an address-space limit that leaves room for the 256 MiB
	// reserve or the 192 MiB request, not both.
	const size_t mib = (size_t)1 << 20;
	// (Each in a child of its own: freed address space stays reserved by
	// the allocator, and would hold the next round's request.)
	for (int nothrow = 0; nothrow < 2; nothrow++) {
		std::fflush(stdout);
		pid_t pid = fork();
		if (pid > 0) {
			int st = 0;
			waitpid(pid, &st, 0);
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			continue;
		}
		reserve = new char[256 * mib];
		std::memset(reserve, 1, mib);
		struct rlimit old, lim;
		getrlimit(RLIMIT_AS, &old);
		lim = old;
		lim.rlim_cur = vm_size() + 128 * mib;
		CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
		calls = 0;
		std::set_new_handler(handler_frees);
		size_t n = 192 * mib;
		char *p = nothrow ? (char *)::operator new(n, std::nothrow) : (char *)::operator new(n);
		CHECK(p != nullptr && calls == 1 && reserve == nullptr);
		if (!p || calls != 1)
			std::printf("nothrow %d: %p after %d handler calls\n", nothrow, (void *)p, calls);
		if (p)
			std::memset(p, 1, n);
		::operator delete(p);
		std::fflush(stdout);
		_exit(failures);
	}
	std::printf("handler that frees: retry succeeded\n");

	// new(0): a unique pointer each time, in every form.
	void *a = ::operator new(0), *b = ::operator new(0);
	char *c = new char[0], *d = new char[0];
	void *e = ::operator new(0, std::align_val_t(64)), *f = ::operator new[](0, std::align_val_t(64));
	CHECK(a && b && a != b && c && d && c != d && e && f && e != f);
	CHECK(((uintptr_t)e & 63) == 0 && ((uintptr_t)f & 63) == 0);
	::operator delete(a, (size_t)0);
	::operator delete(b);
	delete[] c;
	delete[] d;
	::operator delete(e, (size_t)0, std::align_val_t(64));
	::operator delete[](f, std::align_val_t(64));
	std::printf("new(0) unique: ok\n");
	// Deletes of NULL do nothing.
	::operator delete(nullptr);
	::operator delete[](nullptr, (size_t)8);
	::operator delete(nullptr, std::align_val_t(64));
	return failures ? 1 : 0;
}
