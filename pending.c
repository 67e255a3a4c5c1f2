/*
 * The epoll engine's bookkeeping, with no I/O: a min-heap of deadlines
 * and a FIFO of completions.
 *
 * The heap holds nodes that callers embed in their own structures; a
 * node knows its place, so that one can leave the heap in O(log n) when
 * its request completes before its deadline.  The FIFO is a ring of
 * completions, in the order they were made, as io_uring's completion
 * queue gives them; it grows when full, as the requests in flight bound
 * it anyway.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "epoll.h"

bool
heap_init(struct heap *h, size_t size)
{
	h->count = 0;
	h->size = size > 0 ? size : 16;
	return (h->v = calloc(h->size, sizeof(*h->v))) != NULL;
}

void
heap_free(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->count = h->size = 0;
}

static void
place(struct heap *h, size_t i, struct heap_node *n)
{
	h->v[i] = n;
	n->pos = i;
}

static void
sift_up(struct heap *h, size_t i)
{
	struct heap_node *n = h->v[i];
	size_t parent;

	while (i > 0 && h->v[parent = (i - 1) / 2]->at > n->at) {
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, n);
}

static void
sift_down(struct heap *h, size_t i)
{
	struct heap_node *n = h->v[i];
	size_t child;

	while ((child = 2 * i + 1) < h->count) {
		if (child + 1 < h->count && h->v[child + 1]->at < h->v[child]->at)
			child++;
		if (h->v[child]->at >= n->at)
			break;
		place(h, i, h->v[child]);
		i = child;
	}
	place(h, i, n);
}

/* Adds n, its deadline in n->at; false when out of memory. */
bool
heap_push(struct heap *h, struct heap_node *n)
{
	struct heap_node **v;

	if (h->count == h->size) {
		if ((v = reallocarray(h->v, 2 * h->size, sizeof(*v))) == NULL)
			return false;
		h->v = v;
		h->size *= 2;
	}
	place(h, h->count++, n);
	sift_up(h, n->pos);
	return true;
}

/* The earliest deadline's node, or NULL. */
struct heap_node *
heap_top(const struct heap *h)
{
	return h->count > 0 ? h->v[0] : NULL;
}

/* Takes n, which is in h, out of it. */
void
heap_remove(struct heap *h, struct heap_node *n)
{
	size_t i = n->pos;
	struct heap_node *last = h->v[--h->count];

	if (last == n)
		return;
	place(h, i, last);
	if (i > 0 && h->v[(i - 1) / 2]->at > last->at)
		sift_up(h, i);
	else
		sift_down(h, i);
}

bool
fifo_init(struct fifo *f, size_t size)
{
	f->head = f->count = 0;
	f->size = size > 0 ? size : 16;
	return (f->v = calloc(f->size, sizeof(*f->v))) != NULL;
}

void
fifo_free(struct fifo *f)
{
	free(f->v);
	f->v = NULL;
	f->head = f->count = f->size = 0;
}

/* Adds a completion at the end; false when out of memory. */
bool
fifo_push(struct fifo *f, uint64_t tag, int res)
{
	struct completion *v;
	size_t i, n;

	if (f->count == f->size) {
		n = 2 * f->size;
		if ((v = calloc(n, sizeof(*v))) == NULL)
			return false;
		for (i = 0; i < f->count; i++)
			v[i] = f->v[(f->head + i) % f->size];
		free(f->v);
		f->v = v;
		f->size = n;
		f->head = 0;
	}
	f->v[(f->head + f->count++) % f->size] = (struct completion){
		.tag = tag, .res = res,
	};
	return true;
}

/* Moves at most max completions, oldest first, into out; how many. */
size_t
fifo_take(struct fifo *f, struct completion *out, size_t max)
{
	size_t n = 0;

	while (n < max && f->count > 0) {
		out[n++] = f->v[f->head];
		f->head = (f->head + 1) % f->size;
		f->count--;
	}
	return n;
}
