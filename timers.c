/*
 * The epoll engine's timers, with no I/O: a min-heap of deadlines.  It
 * holds nodes that callers embed in their own structures; a node knows
 * its place, so that one can leave the heap in O(log n) when its request
 * completes before its deadline.
 */
#include <stdlib.h>

#include "timers.h"

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
