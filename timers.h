/*
 * timers.h: the epoll engine's heap of deadlines (timers.c), which knows
 * nothing of the engine: pure, like the files of the Makefile's PURE.
 */
#ifndef TIMERS_H
#define TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct heap_node {
	int64_t		 at;		/* monotonic ns */
	size_t		 pos;		/* in the heap's array */
};

struct heap {
	struct heap_node **v;
	size_t		 count, size;
};

bool		 heap_init(struct heap *, size_t);
void		 heap_free(struct heap *);
bool		 heap_push(struct heap *, struct heap_node *);
struct heap_node *heap_top(const struct heap *);
void		 heap_remove(struct heap *, struct heap_node *);

#endif /* TIMERS_H */
