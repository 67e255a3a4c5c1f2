/*
 * epoll.h: the epoll engine's own, shared by its files (epoll.c: from
 * readiness to completions; timers.c: the heap of deadlines; pool.c: the
 * threads of the file requests), engine.c and its unit tests.  The loop
 * sees none of it.
 */
#ifndef EPOLL_H
#define EPOLL_H

#include <sys/socket.h>

#include <linux/openat2.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "timers.h"

struct statx;

struct engine	*epoll_engine_open(unsigned);
int		 openat2_refusal(void);

/* epoll.c */
struct fifo {
	struct completion *v;
	size_t		 head, count, size;
};

enum kind {
	K_ACCEPT,
	K_RECV,
	K_SEND,
	K_READ,		/* a stream: signalfd, inotify */
	K_WRITE,	/* the log */
	K_POLL,
	K_TIMER,
	K_FILE		/* on the pool */
};

enum file_op {
	F_OPENAT,
	F_STATX,
	F_PREAD,
	F_CLOSE
};

struct request {
	struct heap_node	 node;		/* first: its deadline */
	struct request		*next;		/* free list, the pool's queues */
	struct request		*slot_prev;	/* the waiting and timed ones */
	struct request		*slot_next;	/* of its tag's slot */
	uint64_t		 tag;
	enum kind		 kind;
	bool			 timed;		/* in the heap */
	bool			 listed;	/* in its slot's list */
	bool			 once;		/* an accept that never waits */
	int			 fd;
	void			*buf;
	const void		*data;
	size_t			 len;
	unsigned		 events;	/* K_POLL */
	struct sockaddr_storage	*ss;
	socklen_t		*sslen;
	enum file_op		 op;		/* K_FILE */
	const char		*path;
	const struct open_how	*how;
	struct statx		*stx;
	uint64_t		 offset;
	int			 res;		/* the pool's answer */
};

/* What the engine knows of a descriptor. */
enum {
	FD_REGISTERED = 1 << 0,	/* in the epoll set */
	FD_NONBLOCK = 1 << 1,	/* made O_NONBLOCK by the engine */
	FD_KEPT = 1 << 2	/* level-triggered, kept between accepts */
};

struct descriptor {
	struct request		*waiting;	/* for readiness, at most one */
	unsigned		 flags;
	uint32_t		 serial;	/* the files it has had */
};

struct epoll_engine {
	struct engine		 engine;	/* first */
	int			 epfd;
	int			 eventfd;	/* the pool's */
	int			 timerfd;
	int64_t			 timer_at;	/* when it fires; 0: not set */
	size_t			 nfds;
	struct descriptor	*fds;
	size_t			 nslots;
	struct request		**slots;	/* by slot_of(): cancellable */
	struct request		*free;
	struct heap		 timers;
	struct fifo		 done;
	bool			 pool_warned;
	bool			 openat2;	/* not refused (file_open()) */
	bool			 input_done;	/* a read done as it started */
	unsigned		 unpolled;	/* batches since the last poll */
	/* the pool, under lock */
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;
	bool			 freed;		/* the last thread frees it */
	struct request		*todo, *todo_last;
	unsigned		 queued;	/* in todo */
	struct request		*finished, *finished_last;
	unsigned		 threads, idle, threads_max;
};

#define EPOLL(e)	((struct epoll_engine *)(void *)(e))

bool		 fifo_init(struct fifo *, size_t);
void		 fifo_free(struct fifo *);
bool		 fifo_push(struct fifo *, uint64_t, int);
size_t		 fifo_take(struct fifo *, struct completion *, size_t);
void		 request_done(struct epoll_engine *, struct request *, int);
void		 descriptor_new(struct epoll_engine *, int, unsigned);

/* pool.c */
void		 pool_init(struct epoll_engine *, unsigned);
void		 pool_queue(struct epoll_engine *, struct request *);
void		 pool_collect(struct epoll_engine *);
void		 pool_leave(struct epoll_engine *);

#endif /* EPOLL_H */
