/*
 * engine.h: the seam between fingerd's state machines (client.c, the
 * loop in worker.c) and the kernel interface that runs their requests,
 * io_uring (uring.c).  Like Redis's ae.h with ae_epoll.c: a handful of
 * calls, and the state machines never see which engine runs them.
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

struct engine;
struct statx;

struct completion {
	uint64_t	 tag;
	int		 res;
};

typedef struct __kernel_timespec deadline_t;

struct engine	*engine_open(unsigned);
void		 engine_free(struct engine *);
size_t		 engine_wait(struct engine *, struct completion *, size_t);

void	 engine_accept(struct engine *, int, struct sockaddr_storage *,
	    socklen_t *, bool, uint64_t);
void	 engine_poll(struct engine *, int, unsigned, uint64_t);
void	 engine_recv(struct engine *, int, void *, size_t, const deadline_t *,
	    uint64_t);
void	 engine_send(struct engine *, int, const void *, size_t,
	    const deadline_t *, uint64_t);
void	 engine_openat(struct engine *, const char *, const struct open_how *,
	    uint64_t);
void	 engine_statx(struct engine *, int, const char *, struct statx *,
	    uint64_t);
void	 engine_read(struct engine *, int, void *, size_t, uint64_t,
	    const deadline_t *, uint64_t);
void	 engine_close(struct engine *, int, uint64_t);
void	 engine_write(struct engine *, int, const void *, size_t, uint64_t);
void	 engine_timeout(struct engine *, const deadline_t *, uint64_t);
void	 engine_cancel(struct engine *, uint64_t);

#endif /* ENGINE_H */
