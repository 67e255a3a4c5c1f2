/*
 * epoll.h: the epoll engine's own (epoll.c, pending.c), for engine.c and
 * its unit tests; the loop sees none of it.
 */
#ifndef EPOLL_H
#define EPOLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct completion;
struct engine;

struct engine	*epoll_engine_open(unsigned);
int		 openat2_refusal(void);

/* pending.c: the epoll engine's deadlines and completions, no I/O. */
struct heap_node {
	int64_t		 at;		/* monotonic ns */
	size_t		 pos;		/* in the heap's array */
};

struct heap {
	struct heap_node **v;
	size_t		 count, size;
};

struct fifo {
	struct completion *v;
	size_t		 head, count, size;
};

bool		 heap_init(struct heap *, size_t);
void		 heap_free(struct heap *);
bool		 heap_push(struct heap *, struct heap_node *);
struct heap_node *heap_top(const struct heap *);
void		 heap_remove(struct heap *, struct heap_node *);
bool		 fifo_init(struct fifo *, size_t);
void		 fifo_free(struct fifo *);
bool		 fifo_push(struct fifo *, uint64_t, int);
size_t		 fifo_take(struct fifo *, struct completion *, size_t);


#endif /* EPOLL_H */
