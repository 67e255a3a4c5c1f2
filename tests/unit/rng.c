/* A fixed-seed generator for the unit tests (see rng.h). */
#include "rng.h"

static uint64_t rng_state = 0x853c49e6748fea9bULL;

void
rng_seed(uint64_t seed)
{
	rng_state = seed;
}

uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

size_t
rng_below(size_t n)
{
	return rng() % n;
}
