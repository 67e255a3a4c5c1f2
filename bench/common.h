/* bench/common.c: what the load generator and the ceilings share. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <signal.h>

uint8_t	*read_whole(const char *, size_t *);
int	 listen_on(const char *, const char *, int);

/* The ceilings' start: options, reply, signals, socket; stop on a signal. */
extern volatile sig_atomic_t ceiling_stop;

int	 ceiling_start(int, char *[], const char *, int, uint8_t **, size_t *);
size_t	 descriptor_slots(void);

#endif /* BENCH_COMMON_H */
