/*
 * engine.h: the seam between fingerd's state machines (client.c, the
 * loop in worker.c) and the kernel interface that runs their requests:
 * io_uring (uring.c), or epoll (epoll.c) where io_uring is refused.  Like
 * Redis's ae.h with ae_epoll.c: a handful of calls, and the state
 * machines never see which engine runs them.
 *
 * A request is started with a tag and completes exactly once, with that
 * tag and a result: a byte count, a descriptor or 0, or -errno.  A tag is
 * the loop's (loop.h): the engine only hands it back, save one value,
 * ENGINE_TAG, which is the engine's own and no request's.  A request's
 * buffers, and the strings and structures it points to, are the kernel's
 * until it completes.
 *
 * A time is a count of nanoseconds of CLOCK_MONOTONIC, as monotonic_ns()
 * gives it.  A request on a socket may have a deadline: still pending
 * then, it completes with -ECANCELED.  A request on a file (open, stat,
 * read, close) that a file system holds cannot be interrupted, and takes
 * no deadline: it completes when the file system answers.  A client that
 * waits on one sets a timer at its own deadline (engine_timeout), so that
 * its connection can end on time, and cancels it as it leaves.  (io_uring's
 * linked timeout does not fire while an io-wq thread is held in a file
 * system: measured on Linux 6.18 with a FUSE statx held for 4 s and a
 * linked timeout of 1 s, which completed -ECANCELED at 4 s.)
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <sys/socket.h>
#include <sys/types.h>

#include <linux/openat2.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct statx;

struct completion {
	uint64_t	 tag;
	int		 res;
};

/* The engine's own tag (engine.h's first comment): no request has it. */
#define ENGINE_TAG	UINT64_MAX

/*
 * The completions a batch takes: a client has two requests in flight
 * most of the time (one and its timeout, whose completion a kernel
 * before 5.17 cannot skip; a leaving one may have a few more for a
 * moment, which the kernel keeps until the next batch).
 */
#define ENGINE_COMPLETIONS(clients)	(2 * (clients) + 16)

struct engine;

/* What an engine does; each call below is one of these. */
struct engine_ops {
	void	(*free)(struct engine *);
	size_t	(*wait)(struct engine *, struct completion *, size_t);
	void	(*accept)(struct engine *, int, struct sockaddr_storage *,
		    socklen_t *, bool, uint64_t);
	void	(*poll)(struct engine *, int, unsigned, uint64_t);
	void	(*recv)(struct engine *, int, void *, size_t,
		    const int64_t *, uint64_t);
	void	(*send)(struct engine *, int, const void *, size_t,
		    const int64_t *, uint64_t);
	void	(*openat)(struct engine *, const char *,
		    const struct open_how *, uint64_t);
	void	(*statx)(struct engine *, int, const char *, struct statx *,
		    uint64_t);
	void	(*read)(struct engine *, int, void *, size_t, uint64_t,
		    const int64_t *, uint64_t);
	void	(*write)(struct engine *, int, const void *, size_t, uint64_t);
	void	(*close)(struct engine *, int, uint64_t);
	void	(*close_socket)(struct engine *, int);
	void	(*forget)(struct engine *, int);
	void	(*timeout)(struct engine *, int64_t, uint64_t);
	void	(*cancel)(struct engine *, uint64_t, uint64_t);
};

/* Each engine's own structure starts with this. */
struct engine {
	const struct engine_ops	*ops;
};

static inline void
engine_free(struct engine *e)
{
	e->ops->free(e);
}

/*
 * Waits for completions and copies out at most max; 0 when only the
 * engine's own came (a linked timeout's).
 */
static inline size_t
engine_wait(struct engine *e, struct completion *batch, size_t max)
{
	return e->ops->wait(e, batch, max);
}

/*
 * An accept; with once, of a connection already waiting, or -EAGAIN (an
 * engine that cannot tell may complete -EINVAL).
 */
static inline void
engine_accept(struct engine *e, int fd, struct sockaddr_storage *ss,
    socklen_t *len, bool once, uint64_t tag)
{
	e->ops->accept(e, fd, ss, len, once, tag);
}

/* Completes with the events once fd has one of events (POLLIN...). */
static inline void
engine_poll(struct engine *e, int fd, unsigned events, uint64_t tag)
{
	e->ops->poll(e, fd, events, tag);
}

/* A deadline, where a request takes one, is NULL: none. */
static inline void
engine_recv(struct engine *e, int fd, void *buf, size_t len,
    const int64_t *deadline, uint64_t tag)
{
	e->ops->recv(e, fd, buf, len, deadline, tag);
}

static inline void
engine_send(struct engine *e, int fd, const void *buf, size_t len,
    const int64_t *deadline, uint64_t tag)
{
	e->ops->send(e, fd, buf, len, deadline, tag);
}

/* openat2(2) from the working directory: a descriptor, or -errno. */
static inline void
engine_openat(struct engine *e, const char *path, const struct open_how *how,
    uint64_t tag)
{
	e->ops->openat(e, path, how, tag);
}

/*
 * The statx of path from dirfd, never following a link at it; with path
 * "", of dirfd itself.
 */
static inline void
engine_statx(struct engine *e, int dirfd, const char *path, struct statx *stx,
    uint64_t tag)
{
	e->ops->statx(e, dirfd, path, stx, tag);
}

/*
 * A read: of a file at offset (a plan: no deadline), or, with offset
 * (uint64_t)-1, of a stream (a signalfd, inotify) as it comes.
 */
static inline void
engine_read(struct engine *e, int fd, void *buf, size_t len, uint64_t offset,
    const int64_t *deadline, uint64_t tag)
{
	e->ops->read(e, fd, buf, len, offset, deadline, tag);
}

/* A write at the end of the log. */
static inline void
engine_write(struct engine *e, int fd, const void *buf, size_t len,
    uint64_t tag)
{
	e->ops->write(e, fd, buf, len, tag);
}

/* Closes a file's descriptor (a flush may wait on its file system). */
static inline void
engine_close(struct engine *e, int fd, uint64_t tag)
{
	e->ops->close(e, fd, tag);
}

/*
 * Closes a socket no request waits on, with no completion.  Its number
 * stays taken until the close is made, so nothing opened meanwhile gets
 * it: what held fd may be reused at once.
 */
static inline void
engine_close_socket(struct engine *e, int fd)
{
	e->ops->close_socket(e, fd);
}

/*
 * Before the caller closes fd itself: the engine lets go of what it keeps
 * of it, which could outlive the close where another process holds the
 * file too (the listener, which the supervisor keeps).  No request may
 * wait on fd.
 */
static inline void
engine_forget(struct engine *e, int fd)
{
	e->ops->forget(e, fd);
}

/* A timer that completes -ETIME at a time (a time past: at once). */
static inline void
engine_timeout(struct engine *e, int64_t at, uint64_t tag)
{
	e->ops->timeout(e, at, tag);
}

/*
 * Cancels the request or timer tagged target, which completes -ECANCELED
 * if it could be; the cancel itself completes with tag: 0, or -ENOENT
 * (none such in flight) or -EALREADY (running: it completes as it will).
 */
static inline void
engine_cancel(struct engine *e, uint64_t target, uint64_t tag)
{
	e->ops->cancel(e, target, tag);
}

#endif /* ENGINE_H */
