/*
 * Argument generators: sizes from the harness's tier mix, alignments,
 * which live block.
 */
#define _GNU_SOURCE

#include "engine.h"

uint8_t tiertable[256]; /* input byte -> tier (ops.c builds it from the profile) */

size_t gen_size_tier(fdp *d, unsigned t)
{
	switch (t) {
	case T_TINY: return fdp_u8(d) % 16;
	case T_SMALL_EDGE: {
		unsigned c = 1 + fdp_u8(d) % (NUM_SIZE_CLASSES - 1);
		size_t hi = class_to_size[c], lo = class_to_size[c - 1];
		switch (fdp_u8(d) % 4) {
		case 0: return hi;
		case 1: return hi - 1 > lo ? hi - 1 : hi;
		case 2: return lo + 1;
		default: return lo + 1 + fdp_u16(d) % (hi - lo);
		}
	}
	case T_SMALL: return 16 + fdp_u16(d) % (MAX_SMALL_SIZE - 15);
	case T_LARGE: {
		size_t maxp = P->max_large / PAGE_SIZE;
		size_t k = 5 + fdp_u16(d) % (maxp > 5 ? maxp - 4 : 1);
		size_t s;
		switch (fdp_u8(d) % 4) {
		case 0: s = k * PAGE_SIZE; break;
		case 1: s = k * PAGE_SIZE + 1; break;
		case 2: s = k * PAGE_SIZE - 1; break;
		default: s = k * PAGE_SIZE - fdp_u16(d) % PAGE_SIZE; break;
		}
		return s > MAX_SMALL_SIZE ? s : MAX_SMALL_SIZE + 1;
	}
	case T_LARGE_CACHE: {
		size_t k = 5 + fdp_u8(d) % 36;
		bool trim = fdp_u8(d) & 1;
		size_t s = k * PAGE_SIZE - (trim ? fdp_u16(d) % PAGE_SIZE : 0);
		return s > MAX_SMALL_SIZE ? s : MAX_SMALL_SIZE + 1;
	}
	default: return 1 + fdp_u16(d) % 1024;
	}
}

size_t gen_size(fdp *d) { return gen_size_tier(d, tiertable[fdp_u8(d)]); }

/* Mostly valid powers of two, sometimes anything. */
size_t gen_align(fdp *d)
{
	uint8_t k = fdp_u8(d);
	switch (k % 10) {
	case 7: return fdp_u16(d);                       /* usually not a power of two */
	case 8: return 8 * (size_t)(1 + fdp_u8(d) % 64); /* multiples of 8 */
	case 9: {
		static const size_t odd[] = {0,
					     1,
					     2,
					     4,
					     3,
					     24,
					     48,
					     3u << 20,
					     ARENA_SIZE,
					     ARENA_SIZE / 2,
					     ARENA_SIZE * 2,
					     (size_t)1 << 40,
					     SIZE_MAX,
					     SIZE_MAX / 2 + 1,
					     PAGE_SIZE};
		return odd[fdp_u8(d) % (sizeof odd / sizeof odd[0])];
	}
	default: return (size_t)1 << (fdp_u8(d) % (P->max_align_log2 + 1));
	}
}

int pick(fdp *d)
{
	if (!nlive)
		return -1;
	uint16_t v = fdp_u16(d);
	if (v & 0x8000)
		return (int)(nlive - 1 - (v & 0x7fff) % MIN(nlive, 8u));
	return (int)(v % nlive);
}

bool room(unsigned n) { return nlive + n <= P->max_live; }
