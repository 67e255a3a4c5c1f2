/* bench/common.c: what the load generator and the ceilings share. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

uint8_t	*read_whole(const char *, size_t *);
int	 listen_on(const char *, const char *, int);

#endif /* BENCH_COMMON_H */
