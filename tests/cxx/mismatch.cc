// One C++ heap bug per argument; prints the block's address (%p) on the
// first line, then makes the bad call.  run.sh says what each build must
// report.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

struct Base {
	long a;
};
struct Derived : Base {
	long more[7];
};

static void show(const void *p)
{
	std::printf("%p\n", p);
	std::fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	if (!std::strcmp(what, "new_free")) {
		long *q = new long(1);
		show(q);
		std::free(q);
	} else if (!std::strcmp(what, "newarray_free")) {
		char *p = new char[40];
		show(p);
		std::free(p);
	} else if (!std::strcmp(what, "malloc_delete")) {
		long *p = (long *)std::malloc(sizeof(long));
		show(p);
		delete p;
	} else if (!std::strcmp(what, "newarray_delete")) {
		Base *p = new Base[4];
		show(p);
		delete p;
	} else if (!std::strcmp(what, "new_deletearray")) {
		Derived *p = new Derived;
		show(p);
		delete[] p;
	} else if (!std::strcmp(what, "sized_small")) {
		// Deleted through a base without a virtual destructor: size 8 given,
		// 64 allocated.
		Base *p = new Derived;
		show(p);
		delete p;
	} else if (!std::strcmp(what, "sized_near")) {
		// 48 given for a 40-byte block: the same size class (48).
		void *p = ::operator new(40);
		show(p);
		::operator delete(p, 48);
	} else if (!std::strcmp(what, "sized_tiny")) {
		void *p = ::operator new(10);
		show(p);
		::operator delete(p, 100);
	} else if (!std::strcmp(what, "sized_large")) {
		void *p = ::operator new(1 << 20);
		show(p);
		::operator delete(p, 1 << 19);
	} else if (!std::strcmp(what, "sized_array")) {
		char *p = new char[1000];
		show(p);
		::operator delete[](p, 100);
	} else if (!std::strcmp(what, "sized_aligned")) {
		void *p = ::operator new(100, std::align_val_t(64));
		show(p);
		::operator delete(p, 5000, std::align_val_t(64));
	} else if (!std::strcmp(what, "aligned_wrong")) {
		void *p = ::operator new(256, std::align_val_t(128));
		show(p);
		::operator delete(p, std::align_val_t(64));
	} else if (!std::strcmp(what, "aligned_unaligned_delete")) {
		void *p = ::operator new(256, std::align_val_t(128));
		show(p);
		::operator delete(p);
	} else if (!std::strcmp(what, "double_delete")) {
		long *p = new long(1);
		show(p);
		delete p;
		delete p;
	} else if (!std::strcmp(what, "realloc_new")) {
		char *p = new char[24];
		show(p);
		p = (char *)std::realloc(p, 48);
		std::free(p);
	} else {
		std::fprintf(stderr, "usage: %s BUG\n", argv[0]);
		return 2;
	}
	return 0;
}
