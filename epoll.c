/*
 * The epoll engine (engine.h), for where io_uring is refused: containers
 * whose seccomp profile blocks it (Docker, containerd, Podman, CRI-O,
 * Kubernetes' RuntimeDefault), kernels that disable it.  Linux 5.11.
 *
 * It gives the completions io_uring would, with the same results and
 * the same ownership of buffers:
 *
 *   - A request on a socket, a pipe, a signalfd or inotify is tried at
 *     once, as io_uring tries it inline; when it would block, the engine
 *     waits for the descriptor's readiness (EPOLLONESHOT, level
 *     triggered, so that no wakeup is ever lost to another waiter) and
 *     tries again.  Each descriptor has at most one such request waiting.
 *     An accept is not tried at once (nor is io_uring's since Linux
 *     6.10, which polls first): a listening socket stays registered,
 *     level-triggered, from one accept to the next, and an accept waits
 *     with no call until epoll says a connection waits (start(),
 *     wait_ready()).
 *   - A deadline or a timer is a node in one heap (timers.c), and a
 *     timerfd is set no later than the earliest: set again only when an
 *     earlier one comes or it fires (timer_set()), not on every wait, as
 *     a timeout on epoll_wait would be.  A request still waiting at its
 *     deadline completes -ECANCELED.
 *   - A request on a file (statx, openat2, pread, close), which may block
 *     in its file system, runs on a thread of a pool (pool.c), which
 *     says what is done on an eventfd, read here like any other
 *     descriptor.
 *   - Completions queue in a FIFO, taken in batches by
 *     engine_wait(), which first collects every readiness: an inotify
 *     event that came before a query is in the same batch as the query,
 *     and the loop handles it first, as with io_uring.  A batch of calls
 *     that completed as they started and read nothing (a send, a close)
 *     is handed over without that wait (ep_wait()).
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "engine.h"
#include "epoll.h"
#include "fingerd.h"

#define EVENTS_MAX	256
#define UNPOLLED_MAX	8	/* batches in a row handed over unpolled */

/*
 * The completions, a ring in the order they were made, as io_uring's
 * completion queue gives them; it grows when full, as the requests in
 * flight bound it anyway.
 */
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

/* A completion, queued. */
static void
completed(struct epoll_engine *p, uint64_t tag, int res)
{
	if (!fifo_push(&p->done, tag, res))
		fatalx(EX_OSERR, "out of memory for completions");
}

static struct request *
request_new(struct epoll_engine *p, enum kind kind, int fd, uint64_t tag)
{
	struct request *r = p->free;

	if (r != NULL)
		p->free = r->next;
	else if ((r = malloc(sizeof(*r))) == NULL)
		fatalx(EX_OSERR, "out of memory for a request");
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->fd = fd;
	r->tag = tag;
	return r;
}

/*
 * The list a tag's requests are in, for a cancel to find them: the tag
 * hashed (Fibonacci hashing), as the engine never looks inside a tag.
 */
static struct request **
slot_of(struct epoll_engine *p, uint64_t tag)
{
	return &p->slots[(tag * 0x9e3779b97f4a7c15ULL >> 32) % p->nslots];
}

/* r can be found by its tag, to be cancelled. */
static void
slot_add(struct epoll_engine *p, struct request *r)
{
	struct request **head = slot_of(p, r->tag);

	r->slot_prev = NULL;
	if ((r->slot_next = *head) != NULL)
		(*head)->slot_prev = r;
	*head = r;
	r->listed = true;
}

static void
slot_remove(struct epoll_engine *p, struct request *r)
{
	if (!r->listed)
		return;
	if (r->slot_prev != NULL)
		r->slot_prev->slot_next = r->slot_next;
	else
		*slot_of(p, r->tag) = r->slot_next;
	if (r->slot_next != NULL)
		r->slot_next->slot_prev = r->slot_prev;
	r->listed = false;
}

/* r completes with res: out of the heap, its slot, its descriptor. */
void
request_done(struct epoll_engine *p, struct request *r, int res)
{
	completed(p, r->tag, res);
	if (r->timed)
		heap_remove(&p->timers, &r->node);
	slot_remove(p, r);
	if (r->kind != K_TIMER && r->kind != K_FILE && r->fd >= 0 &&
	    (size_t)r->fd < p->nfds && p->fds[r->fd].waiting == r)
		p->fds[r->fd].waiting = NULL;
	r->next = p->free;
	p->free = r;
}

static void
timed(struct epoll_engine *p, struct request *r, int64_t at)
{
	r->node.at = at;
	if (!heap_push(&p->timers, &r->node))
		fatalx(EX_OSERR, "out of memory for a timer");
	r->timed = true;
}

/* A descriptor number is new to the engine: a socket accepted, a file. */
void
descriptor_new(struct epoll_engine *p, int fd, unsigned flags)
{
	if (fd >= 0 && (size_t)fd < p->nfds)
		p->fds[fd] = (struct descriptor){
			.flags = flags, .serial = p->fds[fd].serial + 1,
		};
}

/*
 * Whether fd is a socket (a write takes MSG_DONTWAIT then), asked at each
 * write of the log: a call for a batch of lines (0.03 a request: make
 * bench-trace), not worth keeping the answer.
 */
static bool
is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* One try of a readiness request: its result, or -EAGAIN. */
static int
try_request(struct epoll_engine *p, struct request *r)
{
	ssize_t n;
	int fd;

	switch (r->kind) {
	case K_ACCEPT:
		*r->sslen = sizeof(*r->ss);
		fd = accept4(r->fd, (struct sockaddr *)r->ss, r->sslen,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return -errno;
		descriptor_new(p, fd, 0);
		return fd;
	case K_RECV:
		n = recvfrom(r->fd, r->buf, r->len, MSG_DONTWAIT, NULL, NULL);
		break;
	case K_SEND:
		n = sendto(r->fd, r->data, r->len, MSG_DONTWAIT | MSG_NOSIGNAL,
		    NULL, 0);
		break;
	case K_READ:
		n = read(r->fd, r->buf, r->len);
		break;
	case K_WRITE:
		if (is_socket(r->fd))
			n = sendto(r->fd, r->data, r->len, MSG_DONTWAIT |
			    MSG_NOSIGNAL, NULL, 0);
		else
			n = write(r->fd, r->data, r->len);
		break;
	default:	/* K_POLL: the readiness is the answer */
		return -EAGAIN;
	}
	return n < 0 ? -errno : (int)n;
}

static uint32_t
events_of(const struct request *r)
{
	switch (r->kind) {
	case K_SEND:
	case K_WRITE:
		return EPOLLOUT;
	case K_POLL:
		return (r->events & POLLIN ? EPOLLIN : 0) |
		    (r->events & POLLOUT ? EPOLLOUT : 0);
	default:
		return EPOLLIN;
	}
}

/*
 * Waits for r's descriptor to be ready, once (EPOLLONESHOT).  A listening
 * socket stays registered, level-triggered, from one accept to the next:
 * an accept waits with no call at all, and epoll reports the listener at
 * each wait while a connection waits.  A report that finds no accept
 * waiting (every slot taken, the log full, a pause, a stop) unregisters
 * it (ready()): a worker that takes no connection now is not woken at
 * every wait.  A poll of the listener (a connection waits while every
 * slot is taken) is once, as any other, and the registration is no
 * longer kept.
 *
 * A descriptor closed since it was registered left the set with its
 * file; its number may be a new file's now, which descriptor_new() said,
 * or not: then the MOD fails and it is added again.  A file that another
 * process holds too (the listener, which the supervisor keeps) would stay
 * in the set after its close: the worker has the engine forget it first
 * (ep_forget()), which a kept listener needs (its registration, left
 * behind, would report at every wait while a connection waits, and could
 * no longer be removed by its number); the descriptor's serial, in each
 * registration, tells what a one-shot registration left behind still
 * says from what the number's next file does (ready()).  In a worker
 * that next file is always one the engine made (an accept, an open),
 * which descriptor_new() counts.
 */
static void
wait_ready(struct epoll_engine *p, struct request *r)
{
	struct descriptor *d = &p->fds[r->fd];
	bool kept = r->kind == K_ACCEPT;
	struct epoll_event ev = {
		.events = events_of(r) | (kept ? 0 : EPOLLONESHOT),
		.data.u64 = (uint64_t)d->serial << 32 | (uint32_t)r->fd,
	};

	d->waiting = r;
	if ((d->flags & FD_KEPT) && r->kind == K_ACCEPT)
		return;
	if (!((d->flags & FD_REGISTERED) &&
	    epoll_ctl(p->epfd, EPOLL_CTL_MOD, r->fd, &ev) == 0) &&
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, r->fd, &ev) != 0 &&
	    (errno != EEXIST ||
	    epoll_ctl(p->epfd, EPOLL_CTL_MOD, r->fd, &ev) != 0)) {
		request_done(p, r, -errno);
		return;
	}
	d->flags = (d->flags & ~(unsigned)FD_KEPT) | FD_REGISTERED |
	    (kept ? FD_KEPT : 0);
}

/*
 * fd leaves the epoll set: a listener whose reports no request waits for
 * (every slot taken, the log full) wakes the loop no more; the next
 * accept registers it again.
 */
static void
unregister(struct epoll_engine *p, int fd)
{
	(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
	p->fds[fd].flags &= ~(unsigned)(FD_REGISTERED | FD_KEPT);
}

/*
 * A readiness request: tried now, as io_uring tries a request inline,
 * else when its descriptor is ready, until its deadline.  An accept is
 * tried only once epoll says a connection waits: one that finds none has
 * had a socket and a file made and freed for nothing (the kernel makes
 * them before it looks), 0.84 a request under bench/run's load when each
 * was tried first (make bench-trace: sockets made).  One that must not
 * wait (at a stop) is tried now.
 */
static void
start(struct epoll_engine *p, struct request *r, const int64_t *deadline)
{
	int res;

	if (r->fd < 0 || (size_t)r->fd >= p->nfds) {
		request_done(p, r, -EBADF);
		return;
	}
	if (p->fds[r->fd].waiting != NULL)
		fatalx(EX_SOFTWARE, "two requests wait on descriptor %d",
		    r->fd);
	res = r->kind == K_ACCEPT && !r->once ? -EAGAIN : try_request(p, r);
	if (res != -EAGAIN || (r->kind == K_ACCEPT && r->once)) {
		p->input_done |= r->kind == K_RECV || r->kind == K_READ;
		request_done(p, r, res);
		return;
	}
	if (deadline != NULL)
		timed(p, r, *deadline);
	slot_add(p, r);
	wait_ready(p, r);
}

/*
 * A descriptor registered is ready (or has hung up): the request waiting
 * is tried, or completes with the events (a poll).  A listener kept
 * registered with no accept waiting, as every slot is taken or the
 * worker stops, leaves the set.
 */
static void
ready(struct epoll_engine *p, uint64_t data, uint32_t events)
{
	struct descriptor *d = &p->fds[(uint32_t)data];
	struct request *r = d->waiting;
	int res;

	if (d->serial != data >> 32)
		return;		/* closed since, its file held elsewhere */
	if (r == NULL) {	/* no accept waits; or cancelled, timed out */
		if (d->flags & FD_KEPT)
			unregister(p, (int)(uint32_t)data);
		return;
	}
	if (r->kind == K_POLL)
		res = (events & EPOLLIN ? POLLIN : 0) |
		    (events & EPOLLOUT ? POLLOUT : 0) |
		    (events & EPOLLERR ? POLLERR : 0) |
		    (events & EPOLLHUP ? POLLHUP : 0);
	else if ((res = try_request(p, r)) == -EAGAIN) {
		wait_ready(p, r);	/* another took it: again */
		return;
	}
	request_done(p, r, res);
}

/* ----------------------------------------------------------- the ops */

/*
 * fd made O_NONBLOCK, once: a descriptor the worker made (the listener,
 * its signalfd and inotify) waits in epoll, never in a call.
 */
static void
nonblocking(struct epoll_engine *p, int fd)
{
	int flags;

	if (fd >= 0 && (size_t)fd < p->nfds &&
	    !(p->fds[fd].flags & FD_NONBLOCK) &&
	    (flags = fcntl(fd, F_GETFL)) >= 0 &&
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0)
		p->fds[fd].flags |= FD_NONBLOCK;
}

static void
ep_accept(struct engine *e, int fd, struct sockaddr_storage *ss,
    socklen_t *len, bool once, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_ACCEPT, fd, tag);

	nonblocking(p, fd);	/* it waits in epoll, not in accept */
	r->ss = ss;
	r->sslen = len;
	r->once = once;
	start(p, r, NULL);
}

static void
ep_poll(struct engine *e, int fd, unsigned events, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_POLL, fd, tag);

	r->events = events;
	start(p, r, NULL);
}

static void
ep_recv(struct engine *e, int fd, void *buf, size_t len,
    const int64_t *deadline, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_RECV, fd, tag);

	r->buf = buf;
	r->len = len;
	start(p, r, deadline);
}

static void
ep_send(struct engine *e, int fd, const void *buf, size_t len,
    const int64_t *deadline, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_SEND, fd, tag);

	r->data = buf;
	r->len = len;
	start(p, r, deadline);
}

static void
ep_openat(struct engine *e, const char *path, const struct open_how *how,
    uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_FILE, AT_FDCWD, tag);

	r->op = F_OPENAT;
	r->path = path;
	r->how = how;
	pool_queue(p, r);
}

static void
ep_statx(struct engine *e, int dirfd, const char *path, struct statx *stx,
    uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_FILE, dirfd, tag);

	r->op = F_STATX;
	r->path = path;
	r->stx = stx;
	pool_queue(p, r);
}

/*
 * A read of a file at offset goes to the pool; a stream (the worker's own
 * signalfd and inotify descriptors) is made non-blocking and read when
 * ready.
 */
static void
ep_read(struct engine *e, int fd, void *buf, size_t len, uint64_t offset,
    const int64_t *deadline, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r;

	if (offset != (uint64_t)-1) {
		r = request_new(p, K_FILE, fd, tag);
		r->op = F_PREAD;
		r->buf = buf;
		r->len = len;
		r->offset = offset;
		pool_queue(p, r);
		return;
	}
	nonblocking(p, fd);
	r = request_new(p, K_READ, fd, tag);
	r->buf = buf;
	r->len = len;
	start(p, r, deadline);
}

/*
 * The log: a socket takes MSG_DONTWAIT; a pipe, a FIFO or a terminal is
 * the supervisor's non-blocking open file (log.c); a file never blocks.
 */
static void
ep_write(struct engine *e, int fd, const void *buf, size_t len, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_WRITE, fd, tag);

	r->data = buf;
	r->len = len;
	start(p, r, NULL);
}

/* The caller closes fd (engine.h): it leaves the set before, not after. */
static void
ep_forget(struct engine *e, int fd)
{
	struct epoll_engine *p = EPOLL(e);

	if (fd < 0 || (size_t)fd >= p->nfds)
		return;
	if (p->fds[fd].waiting != NULL)
		fatalx(EX_SOFTWARE, "descriptor %d forgotten with a request "
		    "waiting", fd);
	if (p->fds[fd].flags & FD_REGISTERED)
		unregister(p, fd);
	descriptor_new(p, fd, 0);
}

/* Closes a file on the pool: a flush may wait on its file system. */
static void
ep_close(struct engine *e, int fd, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_FILE, fd, tag);

	r->op = F_CLOSE;
	pool_queue(p, r);
}

/* A socket's close does not wait: made now. */
static void
ep_close_socket(struct engine *e, int fd)
{
	(void)e;
	close(fd);
}

static void
ep_timeout(struct engine *e, int64_t at, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r = request_new(p, K_TIMER, -1, tag);

	timed(p, r, at);
	slot_add(p, r);
}

/*
 * The waiting request or timer tagged target completes -ECANCELED, and
 * the cancel 0; a file request, which a thread runs, cannot be stopped:
 * the cancel completes -ENOENT, as for a tag not in flight.
 */
static void
ep_cancel(struct engine *e, uint64_t target, uint64_t tag)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r;

	for (r = *slot_of(p, target); r != NULL; r = r->slot_next)
		if (r->tag == target)
			break;
	if (r != NULL)
		request_done(p, r, -ECANCELED);
	completed(p, tag, r != NULL ? 0 : -ENOENT);
}

/* Requests and timers whose time has come: the timerfd fired. */
static void
expire(struct epoll_engine *p)
{
	int64_t now = monotonic_ns();
	struct heap_node *n;
	struct request *r;
	uint64_t count;

	(void)!read(p->timerfd, &count, sizeof(count));
	p->timer_at = 0;
	while ((n = heap_top(&p->timers)) != NULL && n->at <= now) {
		r = (struct request *)(void *)n;
		/* a timer fires; a request is cut off at its deadline */
		request_done(p, r, r->kind == K_TIMER ? -ETIME : -ECANCELED);
	}
}

/*
 * The timerfd set no later than the earliest timer.  A timer that ends
 * before its time (a client done) leaves it set: it fires for nothing
 * at most once, and is set for the next then.  Under load the clients'
 * deadlines come in the order they are due: the timer is set about once
 * a -t for them, and once for each of the log's timers (worker.c).  A
 * time already past fires at once.
 */
static void
timer_set(struct epoll_engine *p)
{
	struct heap_node *n = heap_top(&p->timers);
	struct itimerspec its = { 0 };
	int64_t at;

	if (n == NULL)
		return;
	at = n->at > 0 ? n->at : 1;	/* a time of 0 would unset it */
	if (p->timer_at != 0 && p->timer_at <= at)
		return;
	its.it_value.tv_sec = at / NS_PER_SECOND;
	its.it_value.tv_nsec = at % NS_PER_SECOND;
	if (timerfd_settime(p->timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		fatal(EX_OSERR, "timerfd_settime");
	p->timer_at = at;
}

/*
 * Waits for completions: the readiness of every descriptor that has one
 * is taken in, so that a batch holds what io_uring's would.  What is done
 * already, calls made as their requests started (a send, a close), is
 * handed over without asking epoll, as a plain epoll server makes them
 * without a wait between; but never a read done so (a query's batch must
 * hold the inotify events that came before it: worker.c's reap()), and
 * at most UNPOLLED_MAX batches in a row, so that no readiness or timer
 * waits behind such calls.
 */
static size_t
ep_wait(struct engine *e, struct completion *batch, size_t max)
{
	struct epoll_engine *p = EPOLL(e);
	struct epoll_event events[EVENTS_MAX];
	int i, n;

	if (p->done.count > 0 && !p->input_done &&
	    p->unpolled < UNPOLLED_MAX) {
		p->unpolled++;
		return fifo_take(&p->done, batch, max);
	}
	p->input_done = false;
	p->unpolled = 0;
	do {
		timer_set(p);
		n = epoll_wait(p->epfd, events, EVENTS_MAX,
		    p->done.count > 0 ? 0 : -1);
		if (n < 0 && errno != EINTR)
			fatal(EX_OSERR, "epoll_wait");
		for (i = 0; i < n; i++) {
			if (events[i].data.u64 == (uint64_t)p->eventfd)
				pool_collect(p);
			else if (events[i].data.u64 == (uint64_t)p->timerfd)
				expire(p);
			else
				ready(p, events[i].data.u64, events[i].events);
		}
	} while (p->done.count == 0);
	return fifo_take(&p->done, batch, max);
}

/* The requests, the descriptors; the pool frees the rest (pool_leave). */
static void
ep_free(struct engine *e)
{
	struct epoll_engine *p = EPOLL(e);
	struct request *r;
	size_t i;

	for (i = 0; i < p->nslots; i++)		/* waiting, timed */
		while ((r = p->slots[i]) != NULL) {
			p->slots[i] = r->slot_next;
			free(r);
		}
	while ((r = p->free) != NULL) {
		p->free = r->next;
		free(r);
	}
	close(p->epfd);
	close(p->timerfd);
	heap_free(&p->timers);
	fifo_free(&p->done);
	free(p->fds);
	free(p->slots);
	p->fds = NULL;
	p->slots = NULL;
	pool_leave(p);
}

static const struct engine_ops epoll_ops = {
	.free = ep_free,
	.wait = ep_wait,
	.accept = ep_accept,
	.poll = ep_poll,
	.recv = ep_recv,
	.send = ep_send,
	.openat = ep_openat,
	.statx = ep_statx,
	.read = ep_read,
	.write = ep_write,
	.close = ep_close,
	.close_socket = ep_close_socket,
	.forget = ep_forget,
	.timeout = ep_timeout,
	.cancel = ep_cancel,
};

/*
 * Sized from -c and the descriptor limit: an entry a descriptor, a list
 * a client slot, and a thread at most for each client's file request and
 * plan's close.
 */
struct engine *
epoll_engine_open(unsigned clients)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_engine *p = calloc(1, sizeof(*p));
	struct rlimit rl;

	if (p == NULL || getrlimit(RLIMIT_NOFILE, &rl) != 0)
		fatal(EX_OSERR, "the epoll engine");
	p->engine.ops = &epoll_ops;
	p->nfds = rl.rlim_cur > (rlim_t)1 << 20 ? (size_t)1 << 20 :
	    (size_t)rl.rlim_cur;
	p->nslots = clients > 0 ? clients : 1;
	pool_init(p, clients);
	if ((p->fds = calloc(p->nfds, sizeof(*p->fds))) == NULL ||
	    (p->slots = calloc(p->nslots, sizeof(*p->slots))) == NULL ||
	    !heap_init(&p->timers, 2 * (size_t)clients + 16) ||
	    !fifo_init(&p->done, 2 * (size_t)clients + 16))
		fatalx(EX_OSERR, "out of memory for %u clients", clients);
	if ((p->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (p->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (p->timerfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		fatal(EX_OSERR, "the epoll engine");
	ev.data.u64 = (uint64_t)p->eventfd;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->eventfd, &ev) != 0)
		fatal(EX_OSERR, "epoll_ctl");
	ev.data.u64 = (uint64_t)p->timerfd;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->timerfd, &ev) != 0)
		fatal(EX_OSERR, "epoll_ctl");
	return &p->engine;
}
