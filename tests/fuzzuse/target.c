/*
 * A tiny fuzz target: "key=value;" records, each copied to the heap.  One
 * heap bug is planted by -DBUG=n (none by default), on a record whose key
 * starts with '!':
 *   1 overflow        the value is copied one byte past its block
 *   2 read after free the record is freed, then its value read
 *   3 write after free the record is freed, then written
 *   4 double free     the record is freed twice
 *   5 leak            the record is never freed
 *   6 big malloc      a value of digits N asks for N MiB
 *   7 many writes after free  blocks of every size up to 16 KiB are
 *                     freed and written, then one is asked for again:
 *                     the first report is the target's, and the engine's
 *                     own mallocs as it saves the crash find the others
 *   8 read past the input  one byte past the end of the input is read
 * Built three ways: a libFuzzer target (LLVMFuzzerTestOneInput), and with
 * -DAFL_MAIN a program reading its input on stdin, in persistent mode
 * (__AFL_LOOP) when afl-clang-fast built it (unless -DNO_PERSIST: the fork
 * server alone), once per process otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BUG
#define BUG 0
#endif

struct rec {
	char *key, *val;
	struct rec *next;
};

static volatile int sink;

static struct rec *parse(const uint8_t *d, size_t n)
{
	struct rec *head = NULL;
	size_t i = 0;
	while (i < n) {
		size_t k = i;
		while (k < n && d[k] != '=' && d[k] != ';')
			k++;
		if (k >= n || d[k] != '=')
			break;
		size_t v = k + 1, e = v;
		while (e < n && d[e] != ';')
			e++;
		struct rec *r = malloc(sizeof *r);
		r->key = malloc(k - i + 1);
		memcpy(r->key, d + i, k - i);
		r->key[k - i] = 0;
		size_t vl = e - v;
		int planted = r->key[0] == '!';
		if (BUG == 8 && planted)
			sink = d[n]; /* one past the input's last byte */
		if (BUG == 6 && planted && vl > 0 && vl < 6) {
			size_t mb = (size_t)atoi((const char *)d + v) & 0xffff; /* digits then ';' */
			r->val = malloc(mb << 20);
			if (r->val && mb)
				r->val[0] = 1;
			free(r->val);
		}
		r->val = malloc(vl + 1);
		memcpy(r->val, d + v, vl);
		r->val[vl] = 0;
		if (BUG == 1 && planted)
			r->val[vl + 1] = 'X'; /* one past the NUL */
		r->next = head;
		head = r;
		i = e + 1;
	}
	return head;
}

static void release(struct rec *r)
{
	while (r) {
		struct rec *next = r->next;
		int planted = r->key[0] == '!';
		free(r->key);
		free(r->val);
		if (BUG == 2 && planted)
			sink = r->val[0]; /* read after free */
		if (BUG == 3 && planted)
			r->val[0] = 'W'; /* write after free */
		if (BUG == 4 && planted)
			free(r->val); /* double free */
		if (BUG == 7 && planted) {
			enum { N = 1024 };
			static char *q[N];
			for (int k = 0; k < N; k++)
				q[k] = malloc((size_t)(k % 512 + 1) * 32);
			for (int k = 0; k < N; k++)
				free(q[k]);
			for (int k = 0; k < N; k++)
				((volatile char *)q[k])[0] = 'W'; /* writes after free */
			free(malloc(32));                         /* the slot of one of them */
		}
		if (!(BUG == 5 && planted))
			free(r);
		r = next;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec *r = parse(data, size);
	for (struct rec *p = r; p; p = p->next)
		sink += (int)strlen(p->val);
	release(r);
	return 0;
}

#ifdef AFL_MAIN
#if !defined(__AFL_LOOP) || defined(NO_PERSIST)
#undef __AFL_LOOP
#define __AFL_LOOP(n) (runs_++ == 0)
static int runs_;
#endif
int main(void)
{
	static uint8_t buf[1 << 16];
	while (__AFL_LOOP(10000)) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0)
			n = 0;
		LLVMFuzzerTestOneInput(buf, (size_t)n);
	}
	return 0;
}
#endif
