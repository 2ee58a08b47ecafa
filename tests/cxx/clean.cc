// A correct C++ program that churns the heap through every operator form
// (std::vector, std::string, std::map, shared_ptr, over-aligned types,
// sized and aligned deletes of every size class, tiny and large blocks,
// threads): no report from either build, exit 0.
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

struct alignas(64) Line {
	char b[64];
};
struct alignas(4096) Page {
	char b[100];
};
struct Base {
	virtual ~Base() = default;
	long a = 0;
};
struct Derived : Base {
	long more[9] = {};
};

static unsigned long sum;
static void *volatile sink;

static void churn(unsigned seed)
{
	std::map<std::string, std::vector<int>> m;
	for (unsigned i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		std::string k = "key-" + std::to_string(seed % 997) + std::string(seed % 40, 'x');
		m[k].push_back((int)i);
		if (seed % 7 == 0)
			m.erase(m.begin());
	}
	for (auto &kv : m)
		sum += kv.second.size();
	std::vector<std::unique_ptr<Base>> v;
	for (int i = 0; i < 1000; i++)
		v.emplace_back(i % 2 ? new Derived : new Base); // sized delete, virtual
	auto lines = std::make_unique<Line[]>(33);
	auto page = std::make_unique<Page>();
	sum += (uintptr_t)lines.get() % 64 + (uintptr_t)page.get() % 4096;
	auto sp = std::make_shared<std::vector<std::string>>(100, "shared");
	sum += sp->size();
}

int main()
{
	// Every size of every kind, deleted with its exact size.
	static const size_t aligns[] = {16, 32, 64, 256, 4096, 65536};
	for (size_t n = 0; n <= 300000; n = n < 600 ? n + 1 : n * 9 / 8) {
		void *a = ::operator new(n);
		::operator delete(a, n);
		char *b = new char[n];
		::operator delete[](b, n);
		for (size_t al : aligns) {
			void *c = ::operator new(n, std::align_val_t(al));
			if ((uintptr_t)c % al)
				std::printf("misaligned %p for %zu\n", c, al);
			::operator delete(c, n, std::align_val_t(al));
			void *d = ::operator new[](n, std::align_val_t(al), std::nothrow);
			::operator delete[](d, std::align_val_t(al), std::nothrow);
		}
		void *e = ::operator new(n, std::nothrow);
		::operator delete(e, std::nothrow);
	}
	// C and C++ blocks through the same slots (after the debug build's
	// quarantine lets them go): each block is judged by its own family.
	for (int i = 0; i < 200000; i++) {
		char *a = new char[48];
		void *m = std::malloc(48);
		sink = a; // (else g++ -O2 drops the pairs)
		sink = m;
		delete[] a;
		std::free(m);
	}
	std::vector<std::thread> ts;
	for (unsigned t = 0; t < 4; t++)
		ts.emplace_back(churn, t + 1);
	for (auto &t : ts)
		t.join();
	churn(99);
	return sum ? 0 : 1;
}
