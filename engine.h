/*
 * engine.h: the seam between fingerd's state machines (client.c, the
 * loop in worker.c) and the kernel interface that runs their requests:
 * io_uring (uring.c), or epoll (epoll.c) where io_uring is refused.  Like
 * Redis's ae.h with ae_epoll.c: a handful of calls, and the state
 * machines never see which engine runs them.
 *
 * A request is started with a tag and completes exactly once, with that
 * tag and a result: a byte count, a descriptor or 0, or -errno.  Its
 * buffers, and the strings and structures it points to, are the
 * kernel's until then.
 *
 * A request on a socket may have a deadline (absolute, CLOCK_MONOTONIC),
 * which must stay where it is until the request completes: still pending
 * then, it completes with -ECANCELED.  A request on a file (open, stat,
 * read, close) that a file system holds cannot be interrupted, and takes
 * no deadline: it completes when the file system answers.  A client that
 * waits on one sets a timer at its own deadline (engine_timeout, tagged
 * OP_DEADLINE with its slot and serial), so that its connection can end
 * on time, and cancels it as it leaves.  (io_uring's linked timeout does
 * not fire while an io-wq thread is held in a file system: measured on
 * Linux 6.18 with a FUSE statx held for 4 s and a linked timeout of 1 s,
 * which completed -ECANCELED at 4 s.)
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <sys/socket.h>
#include <sys/types.h>

#include <linux/openat2.h>
#include <linux/time_types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A tag: the operation, the client's slot and the client's serial (its
 * number among the clients that slot has had), so that a notice meant
 * for an earlier client of the slot is known for what it is.  The loop's
 * own requests use slot 0 and serial 0.
 */
enum op {
	OP_ACCEPT = 1,
	OP_ACCEPT_LAST,		/* at a stop: what waits, without waiting */
	OP_ACCEPT_PAUSE,	/* a timeout: accept again after an error */
	OP_LISTEN_POLL,		/* a connection waits, the slots are full */
	OP_EVICT_WAIT,		/* a timeout: the oldest silent may go */
	OP_STOP_TIMER,		/* the end of a stop's grace */
	OP_LOG_POLL,		/* the log can be written again */
	OP_SIGNAL,
	OP_CANCEL,
	OP_LOG,			/* a write of queued log lines */
	OP_LOG_TIMER,		/* a timeout: queued log lines are due */
	OP_WATCH,		/* a read of inotify events */
	OP_DEADLINE,		/* a client's deadline passed */
	OP_CLOSE,		/* a plan's descriptor closed */
	OP_RECV_QUERY,
	OP_STAT_PLAN,
	OP_OPEN_PLAN,
	OP_STAT_OPENED,
	OP_READ_PLAN,
	OP_SEND,
	OP_DRAIN
};

#define TAG(op, index, serial)	((uint64_t)(serial) << 32 | \
				 (uint64_t)(index) << 8 | (op))
#define TAG_OP(t)		((enum op)((t) & 0xff))
#define TAG_INDEX(t)		((size_t)(((t) >> 8) & 0xffffff))
#define TAG_SERIAL(t)		((uint32_t)((t) >> 32))

struct statx;

struct completion {
	uint64_t	 tag;
	int		 res;
};

typedef struct __kernel_timespec deadline_t;

/* A deadline in nanoseconds of CLOCK_MONOTONIC, as monotonic_ns() counts. */
static inline int64_t
deadline_ns(const deadline_t *d)
{
	return (int64_t)d->tv_sec * 1000000000 + d->tv_nsec;
}

/*
 * The engines: io_uring where the kernel and the seccomp profile allow
 * it (engine.c probes), else epoll.  Every worker of a daemon runs the
 * one the supervisor chose.
 */
enum engine_kind {
	ENGINE_AUTO,
	ENGINE_URING,
	ENGINE_EPOLL
};

struct engine;

/* What an engine does; each call below is one of these. */
struct engine_ops {
	void	(*free)(struct engine *);
	size_t	(*wait)(struct engine *, struct completion *, size_t);
	void	(*accept)(struct engine *, int, struct sockaddr_storage *,
		    socklen_t *, bool, uint64_t);
	void	(*poll)(struct engine *, int, unsigned, uint64_t);
	void	(*recv)(struct engine *, int, void *, size_t,
		    const deadline_t *, uint64_t);
	void	(*send)(struct engine *, int, const void *, size_t,
		    const deadline_t *, uint64_t);
	void	(*openat)(struct engine *, const char *,
		    const struct open_how *, uint64_t);
	void	(*statx)(struct engine *, int, const char *, struct statx *,
		    uint64_t);
	void	(*read)(struct engine *, int, void *, size_t, uint64_t,
		    const deadline_t *, uint64_t);
	void	(*write)(struct engine *, int, const void *, size_t, uint64_t);
	void	(*close)(struct engine *, int, uint64_t);
	void	(*forget)(struct engine *, int);
	void	(*timeout)(struct engine *, const deadline_t *, uint64_t);
	void	(*cancel)(struct engine *, uint64_t);
};

/* Each engine's own structure starts with this. */
struct engine {
	const struct engine_ops	*ops;
};

/* engine.c */
const char	*engine_name(enum engine_kind);
enum engine_kind engine_choose(enum engine_kind, char *, size_t);
struct engine	*engine_open(enum engine_kind, unsigned);
void		 engine_log(enum engine_kind, const char *);

/* uring.c and epoll.c */
struct engine	*uring_engine_open(unsigned);
bool		 uring_usable(char *, size_t, int *);
struct engine	*epoll_engine_open(unsigned);
int		 openat2_refusal(void);

static inline void
engine_free(struct engine *e)
{
	e->ops->free(e);
}

/* Waits for completions, at least one, and copies out at most max. */
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

static inline void
engine_recv(struct engine *e, int fd, void *buf, size_t len,
    const deadline_t *deadline, uint64_t tag)
{
	e->ops->recv(e, fd, buf, len, deadline, tag);
}

static inline void
engine_send(struct engine *e, int fd, const void *buf, size_t len,
    const deadline_t *deadline, uint64_t tag)
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
    const deadline_t *deadline, uint64_t tag)
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

/* A timer that completes -ETIME at an absolute CLOCK_MONOTONIC time. */
static inline void
engine_timeout(struct engine *e, const deadline_t *at, uint64_t tag)
{
	e->ops->timeout(e, at, tag);
}

/*
 * Cancels the request of this tag, which completes -ECANCELED if it
 * could be; the cancel itself completes as OP_CANCEL.
 */
static inline void
engine_cancel(struct engine *e, uint64_t tag)
{
	e->ops->cancel(e, tag);
}

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

#endif /* ENGINE_H */
