/*
 * uring.h: the io_uring engine (uring.c), for engine.c and the ring's
 * unit tests.
 */
#ifndef URING_H
#define URING_H

#include <stdbool.h>
#include <stddef.h>

struct engine;
struct io_uring;
struct io_uring_sqe;

struct engine		*uring_engine_open(unsigned);
bool			 uring_usable(char *, size_t, int *);
void			 ring_open(struct io_uring *, unsigned);
struct io_uring_sqe	*ring_sqe(struct io_uring *, unsigned);

#endif /* URING_H */
