// target.c's parser in C++: "key=value;" records, each a `new Rec` with a
// malloc'd key and a `new char[]` value.  One planted bug, -DBUG=n (none by
// default), on a record whose key starts with '!':
//   1 new vs free      the record (operator new) is released with free()
//   2 new[] vs delete  its value (operator new[]) is released with delete
// Built by run.sh as a user builds a libFuzzer target: clang++
// -fsanitize=fuzzer, then libspanalloc-debug.a.  The driver puts libFuzzer
// and -lstdc++ before the archive on the link line, so these mismatches
// are reported only if the link still takes spanalloc's operators
// (src/cxx.c, pulled in by malloc.c): with libstdc++'s, new is malloc and
// delete is free, and both bugs go unseen.  The key is malloc's, as in C
// and C++ code mixed, because that reference is what takes malloc.o from
// the archive at all: libFuzzer and libstdc++ define new and delete before
// the archive is searched, so a target naming no malloc-family function
// links none of spanalloc, not even its malloc.  -DNEW_ONLY makes the keys
// new[]'s too: a target that names no malloc-family function, which takes
// the archive only as the README links it (-Wl,-u,malloc).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#ifndef BUG
#define BUG 0
#endif
#ifdef NEW_ONLY
static const bool new_only = true;
#else
static const bool new_only = false;
#endif

struct Rec {
	char *key, *val;
	Rec *next;
};

static volatile int sink;

// A copy of d[0, n) as a string, of new[] or of malloc.
static char *dup(const uint8_t *d, size_t n, bool c)
{
	char *s = c && !new_only ? (char *)std::malloc(n + 1) : new char[n + 1];
	std::memcpy(s, d, n);
	s[n] = 0;
	return s;
}

static Rec *parse(const uint8_t *d, size_t n)
{
	Rec *head = nullptr;
	size_t i = 0;
	while (i < n) {
		size_t k = i;
		while (k < n && d[k] != '=' && d[k] != ';')
			k++;
		if (k >= n || d[k] != '=')
			break;
		size_t e = k + 1;
		while (e < n && d[e] != ';')
			e++;
		Rec *r = new Rec;
		r->key = dup(d + i, k - i, true);
		r->val = dup(d + k + 1, e - k - 1, false);
		r->next = head;
		head = r;
		i = e + 1;
	}
	return head;
}

static void release(Rec *r)
{
	while (r) {
		Rec *next = r->next;
		bool planted = r->key[0] == '!';
		if (new_only)
			delete[] r->key;
		else
			std::free(r->key);
		if (BUG == 2 && planted)
			delete r->val; // new[] vs delete
		else
			delete[] r->val;
		if (BUG == 1 && planted)
			std::free(r); // new vs free
		else
			delete r;
		r = next;
	}
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Rec *r = parse(data, size);
	for (Rec *p = r; p; p = p->next)
		sink += (int)std::strlen(p->val);
	release(r);
	return 0;
}
