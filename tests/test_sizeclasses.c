/*
 * The generated size-class table against Go's documented table (the one in
 * the design notes: class, bytes/obj, bytes/span, objects, tail waste, max
 * waste), with spanalloc's one departure from it (larger spans for classes
 * of few objects, below), and the lookup tables and magic divisors derived
 * from it.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "internal.h"

static const struct {
	int cls, size, span, objects, tail;
	double maxwaste;
} go_table[] = {
	{1, 8, 8192, 1024, 0, 87.50},      {2, 16, 8192, 512, 0, 43.75},     {3, 32, 8192, 256, 0, 46.88},
	{4, 48, 8192, 170, 32, 31.52},     {5, 64, 8192, 128, 0, 23.44},     {6, 80, 8192, 102, 32, 19.07},
	{7, 96, 8192, 85, 32, 15.95},      {8, 112, 8192, 73, 16, 13.56},    {9, 128, 8192, 64, 0, 11.72},
	{10, 144, 8192, 56, 128, 11.82},   {11, 160, 8192, 51, 32, 9.73},    {12, 176, 8192, 46, 96, 9.59},
	{13, 192, 8192, 42, 128, 9.25},    {14, 208, 8192, 39, 80, 8.12},    {15, 224, 8192, 36, 128, 8.15},
	{16, 240, 8192, 34, 32, 6.62},     {17, 256, 8192, 32, 0, 5.86},     {18, 288, 8192, 28, 128, 12.16},
	{19, 320, 8192, 25, 192, 11.80},   {20, 352, 8192, 23, 96, 9.88},    {21, 384, 8192, 21, 128, 9.51},
	{22, 416, 8192, 19, 288, 10.71},   {23, 448, 8192, 18, 128, 8.37},   {24, 480, 8192, 17, 32, 6.82},
	{25, 512, 8192, 16, 0, 6.05},      {26, 576, 8192, 14, 128, 12.33},  {27, 640, 8192, 12, 512, 15.48},
	{28, 704, 8192, 11, 448, 13.93},   {29, 768, 8192, 10, 512, 13.94},  {30, 896, 8192, 9, 128, 15.52},
	{31, 1024, 8192, 8, 0, 12.40},     {32, 1152, 8192, 7, 128, 12.41},  {33, 1280, 8192, 6, 512, 15.55},
	{34, 1408, 16384, 11, 896, 14.00}, {35, 1536, 8192, 5, 512, 14.00},  {36, 1792, 16384, 9, 256, 15.57},
	{37, 2048, 8192, 4, 0, 12.45},     {38, 2304, 16384, 7, 256, 12.46}, {39, 2688, 8192, 3, 128, 15.59},
	{40, 3072, 24576, 8, 0, 12.47},    {41, 3200, 16384, 5, 384, 6.22},  {42, 3456, 24576, 7, 384, 8.83},
	{43, 4096, 8192, 2, 0, 15.60},     {44, 4864, 24576, 5, 256, 16.65}, {45, 5376, 16384, 3, 256, 10.92},
	{46, 6144, 24576, 4, 0, 12.48},    {47, 6528, 32768, 5, 128, 6.23},  {48, 6784, 40960, 6, 256, 4.36},
	{49, 6912, 49152, 7, 768, 3.37},   {50, 8192, 8192, 1, 0, 15.61},    {51, 9472, 57344, 6, 512, 14.28},
	{52, 9728, 49152, 5, 512, 3.64},   {53, 10240, 40960, 4, 0, 4.99},   {54, 10880, 32768, 3, 128, 6.24},
	{55, 12288, 24576, 2, 0, 11.45},   {56, 13568, 40960, 3, 256, 9.99}, {57, 14336, 57344, 4, 0, 5.35},
	{58, 16384, 16384, 1, 0, 12.49},   {59, 18432, 73728, 4, 0, 11.11},  {60, 19072, 57344, 3, 128, 3.57},
	{61, 20480, 40960, 2, 0, 6.87},    {62, 21760, 65536, 3, 256, 6.25}, {63, 24576, 24576, 1, 0, 11.45},
	{64, 27264, 81920, 3, 128, 10.00}, {65, 28672, 57344, 2, 0, 4.91},   {66, 32768, 32768, 1, 0, 12.50},
};

/*
 * spanalloc's spans: Go's, times the smallest k that gives at least 32
 * objects, as long as k times Go's span stays within 32 KiB
 * (tools/mksizeclasses.c says why).
 */
static int spanalloc_span(int size, int gospan)
{
	int k = 1;
	while (k * gospan / size < 32 && (k + 1) * gospan <= 32768)
		k++;
	return k * gospan;
}

Test(sizeclasses, matches_go_table)
{
	cr_assert_eq(sizeof go_table / sizeof go_table[0], NUM_SIZE_CLASSES - 1);
	int prev = 0;
	for (size_t i = 0; i < sizeof go_table / sizeof go_table[0]; i++) {
		int c = go_table[i].cls;
		cr_assert_eq(c, (int)i + 1);
		cr_assert_eq(class_to_size[c], go_table[i].size, "class %d size", c);
		int span = class_to_allocnpages[c] * (int)PAGE_SIZE, size = go_table[i].size;
		cr_assert_eq(span, spanalloc_span(size, go_table[i].span), "class %d span", c);
		cr_assert_eq(class_to_nelems[c], span / size, "class %d objects", c);
		cr_assert_leq(span - class_to_nelems[c] * size, span / 8, "class %d tail waste over 1/8", c);
		/* Go's own columns, at Go's span. */
		cr_assert_eq(go_table[i].span / size, go_table[i].objects, "class %d objects (Go)", c);
		cr_assert_eq(go_table[i].span - go_table[i].objects * size, go_table[i].tail, "class %d tail (Go)", c);
		double maxwaste = 100.0 * ((go_table[i].size - prev - 1) * go_table[i].objects + go_table[i].tail) /
				  go_table[i].span;
		char got[16], want[16];
		snprintf(got, sizeof got, "%.2f", maxwaste);
		snprintf(want, sizeof want, "%.2f", go_table[i].maxwaste);
		cr_assert_str_eq(got, want, "class %d max waste", c);
		prev = go_table[i].size;
	}
}

Test(sizeclasses, aligned_16_from_16)
{
	for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
		if (class_to_size[c] >= 16)
			cr_assert_eq(class_to_size[c] % 16, 0, "class %d (%d B) is not 16-byte aligned", c,
				     class_to_size[c]);
		else
			cr_assert_eq(class_to_size[c] % 8, 0);
	}
}

Test(sizeclasses, lookup_is_smallest_fitting_class)
{
	for (size_t size = 1; size <= MAX_SMALL_SIZE; size++) {
		unsigned c = size_to_class(size);
		cr_assert(c >= 1 && c < NUM_SIZE_CLASSES);
		cr_assert_geq(class_to_size[c], size, "size %zu -> class %u too small", size, c);
		cr_assert(c == 1 || class_to_size[c - 1] < size, "size %zu -> class %u not the smallest", size, c);
	}
}

/* free's index and object-start test (span_object_index_start) over every
 * offset of every class's span; and an object start in a span's tail
 * (index nelems, which free lets through to the live check) is still in
 * the bitmap words. */
Test(sizeclasses, magic_division_is_exact)
{
	for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
		uint32_t span = class_to_allocnpages[c] * (uint32_t)PAGE_SIZE;
		for (uint32_t off = 0; off < span; off++) {
			unsigned __int128 m = (unsigned __int128)off * class_to_divmagic[c];
			uint32_t q = (uint32_t)(m >> 64);
			if (q != off / class_to_size[c])
				cr_assert_fail("class %d offset %u: %u != %u", c, off, q, off / class_to_size[c]);
			if (((uint64_t)m < class_to_divmagic[c]) != (off % class_to_size[c] == 0))
				cr_assert_fail("class %d offset %u: object-start test wrong", c, off);
		}
		if (span % class_to_size[c])
			cr_assert_lt(class_to_nelems[c] / 64, (class_to_nelems[c] + 63) / 64, "class %d", c);
	}
}
