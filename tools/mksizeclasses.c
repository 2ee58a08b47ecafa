/*
 * mksizeclasses: generate src/sizeclasses.c, spanalloc's size-class table.
 *
 * This is the algorithm of the Go runtime's mksizeclasses.go at the version
 * whose table is in the design notes (66 classes, 8 B .. 32 KiB, 8 KiB
 * pages, 16-byte alignment from 16 B up):
 *
 *   - sizes grow by an alignment step that is bumped at every power of two:
 *     16 from 16 B, size/8 from 128 B, 256 from 2 KiB;
 *   - each class gets the smallest span (a whole number of 8 KiB pages)
 *     whose tail waste is at most 1/8 of the span;
 *   - a size that would fit the same number of objects in the same span as
 *     the previous class replaces it (no point in two classes);
 *   - finally each size is raised to the largest that still fits as many
 *     objects in its span (kept a multiple of 128 so that the size -> class
 *     lookup stays exact).
 *
 * spanalloc departs from it in one rule, applied last (the classes and
 * their sizes stay Go's): a span of fewer than minObjects objects is made
 * k times Go's span, the smallest k that gives minObjects, as long as the
 * span stays within maxScaledSpan.  Go's collector sweeps spans in bulk;
 * spanalloc's mcache changes span every time one runs out of objects
 * worth allocating (cache.c's reuse threshold), a few hundred
 * instructions each time, and with Go's spans of 8 to 16 objects for
 * 512 B .. 1 KiB that was every 4 to 8 mallocs (mimalloc-bench larson:
 * refills on 11.5% of its mallocs).  The tail waste stays under 1/8: k
 * spans' tail is at most k times one span's.
 *
 * For each class it also computes divMagic = 2^64 / size (rounded up),
 * the magic divisor of Lemire, Kaser and Kurz ("Faster remainder by direct
 * computation", 2019): one 64x64->128-bit multiply of an offset in a span
 * gives the object index in its high half, and its low half is below
 * divMagic exactly when the offset is a multiple of the size (an object
 * start).  The generator checks both for every offset in the span and
 * refuses to write a wrong table.
 *
 * Usage: mksizeclasses [-o FILE]   (stdout by default)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	pageShift = 13,
	pageSize = 1 << pageShift,
	maxSmallSize = 32768,
	minObjects = 32,
	maxScaledSpan = 32768,
	smallSizeDiv = 8,
	smallSizeMax = 1024,
	largeSizeDiv = 128,
	numClassesExpected = 67, /* class 0 included */
};

struct sclass {
	int size;
	int npages;
	uint64_t divMagic;
};

static struct sclass classes[128];
static int nclasses;

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

static void die(const char *msg, int a)
{
	fprintf(stderr, "mksizeclasses: %s (%d)\n", msg, a);
	exit(1);
}

static void make_classes(void)
{
	nclasses = 1; /* class 0: large objects */
	int align = 8;
	for (int size = align; size <= maxSmallSize; size += align) {
		if (is_pow2(size)) {
			if (size >= 2048)
				align = 256;
			else if (size >= 128)
				align = size / 8;
			else if (size >= 16)
				align = 16;
		}
		if (!is_pow2(align))
			die("incorrect alignment", align);

		/* Smallest span with tail waste at most 1/8 of it. */
		int allocsize = pageSize;
		while (allocsize % size > allocsize / 8)
			allocsize += pageSize;
		int npages = allocsize / pageSize;

		struct sclass *prev = &classes[nclasses - 1];
		if (nclasses > 1 && npages == prev->npages && allocsize / size == allocsize / prev->size) {
			prev->size = size;
			continue;
		}
		classes[nclasses].size = size;
		classes[nclasses].npages = npages;
		nclasses++;
	}

	/* Raise each size to the largest with the same object count. */
	for (int i = 1; i < nclasses; i++) {
		struct sclass *c = &classes[i];
		int psize = c->npages * pageSize;
		int newsize = (psize / (psize / c->size)) & ~(largeSizeDiv - 1);
		if (newsize > c->size)
			c->size = newsize;
	}
	/* spanalloc's rule: spans of at least minObjects objects, up to
	 * maxScaledSpan bytes (above). */
	for (int i = 1; i < nclasses; i++) {
		struct sclass *c = &classes[i];
		int k = 1;
		while (k * c->npages * pageSize / c->size < minObjects &&
		       (k + 1) * c->npages * pageSize <= maxScaledSpan)
			k++;
		c->npages *= k;
	}
	if (nclasses != numClassesExpected)
		die("number of size classes changed", nclasses);

	for (int i = 1; i < nclasses; i++) {
		struct sclass *c = &classes[i];
		c->divMagic = UINT64_MAX / (uint64_t)c->size + 1;
		int span = c->npages * pageSize;
		/* free's fast path does not compare the index with nelems: an
		 * object start in the span's tail (index nelems) must still have
		 * its bit in the bitmap words (where it is never set). */
		int nelems = span / c->size;
		if (span % c->size != 0 && nelems % 64 == 0)
			die("the tail's index is past the bitmap words for class", i);
		/* The quotient and the object-start test must be exact over the
		 * whole span. */
		for (int off = 0; off < span; off++) {
			unsigned __int128 m = (unsigned __int128)(uint64_t)off * c->divMagic;
			if ((int)(uint64_t)(m >> 64) != off / c->size)
				die("divMagic's quotient is not exact for class", i);
			if (((uint64_t)m < c->divMagic) != (off % c->size == 0))
				die("divMagic's object-start test is not exact for class", i);
		}
	}
}

static int size_to_class(int size)
{
	for (int i = 1; i < nclasses; i++)
		if (classes[i].size >= size)
			return i;
	return 0;
}

int main(int argc, char **argv)
{
	FILE *out = stdout;
	if (argc == 3 && strcmp(argv[1], "-o") == 0) {
		out = fopen(argv[2], "w");
		if (!out) {
			perror(argv[2]);
			return 1;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: mksizeclasses [-o FILE]\n");
		return 2;
	}
	make_classes();

	fprintf(out, "// Code generated by tools/mksizeclasses.c; DO NOT EDIT.\n");
	fprintf(out, "// Regenerate with `make sizeclasses`; CI regenerates and diffs.\n//\n");
	fprintf(out, "// %5s  %9s  %10s  %7s  %10s  %9s  %9s\n", "class", "bytes/obj", "bytes/span", "objects",
		"tail waste", "max waste", "min align");
	int prev = 0;
	for (int i = 1; i < nclasses; i++) {
		struct sclass *c = &classes[i];
		int span = c->npages * pageSize;
		int objects = span / c->size;
		int tail = span - c->size * objects;
		double maxwaste = (double)((c->size - prev - 1) * objects + tail) / span;
		int minalign = c->size & -c->size;
		if (minalign > pageSize)
			minalign = pageSize;
		fprintf(out, "// %5d  %9d  %10d  %7d  %10d  %8.2f%%  %9d\n", i, c->size, span, objects, tail,
			100 * maxwaste, minalign);
		prev = c->size;
	}
	fprintf(out, "\n#include \"sizeclasses.h\"\n\n");

	fprintf(out, "const uint16_t class_to_size[NUM_SIZE_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		fprintf(out, "%s%d", i == 0 ? "\n\t" : i % 12 ? ", " : ",\n\t", classes[i].size);
	fprintf(out, ",\n};\n\n");

	fprintf(out, "const uint8_t class_to_allocnpages[NUM_SIZE_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		fprintf(out, "%s%d", i == 0 ? "\n\t" : i % 16 ? ", " : ",\n\t", classes[i].npages);
	fprintf(out, ",\n};\n\n");

	fprintf(out, "const uint16_t class_to_nelems[NUM_SIZE_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		fprintf(out, "%s%d",
			i == 0   ? "\n\t"
			: i % 12 ? ", "
				 : ",\n\t",
			i ? classes[i].npages * pageSize / classes[i].size : 0);
	fprintf(out, ",\n};\n\n");

	fprintf(out, "const uint64_t class_to_divmagic[NUM_SIZE_CLASSES] = {");
	for (int i = 0; i < nclasses; i++)
		fprintf(out, "%s%#llx",
			i == 0  ? "\n\t"
			: i % 4 ? ", "
				: ",\n\t",
			(unsigned long long)classes[i].divMagic);
	fprintf(out, ",\n};\n\n");

	/*
	 * size_to_class8[(size + 7) / 8] for every small size: one table of
	 * MAX_SMALL_SIZE / 8 + 1 bytes (4 KiB) instead of Go's two
	 * (size_to_class8 to smallSizeMax, size_to_class128 beyond), so that
	 * malloc's fast path is one load and no compare.  Exact: every class
	 * size is a multiple of 8.  Entry 0 (size 0) is class 1.
	 */
	for (int i = 1; i < nclasses; i++)
		if (classes[i].size % smallSizeDiv != 0)
			die("a class size is no multiple of smallSizeDiv", i);
	fprintf(out, "const uint8_t size_to_class8[MAX_SMALL_SIZE / SMALL_SIZE_DIV + 1] = {");
	for (int i = 0; i <= maxSmallSize / smallSizeDiv; i++)
		fprintf(out, "%s%d", i == 0 ? "\n\t" : i % 16 ? ", " : ",\n\t", size_to_class(i * smallSizeDiv));
	fprintf(out, ",\n};\n");
	if (out != stdout && fclose(out) != 0) {
		perror("close");
		return 1;
	}
	return 0;
}
