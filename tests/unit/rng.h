/*
 * tests/unit/rng.c: a fixed-seed generator (xorshift64) for the unit tests'
 * random cases, so that a failure can be replayed.
 */
#ifndef RNG_H
#define RNG_H

#include <stddef.h>
#include <stdint.h>

void		 rng_seed(uint64_t);
uint32_t	 rng(void);
size_t		 rng_below(size_t);

#endif /* RNG_H */
