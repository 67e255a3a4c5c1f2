/*
 * The epoll engine's file requests (statx, openat2, pread, close), which
 * may block in their file system: each runs on a thread of a pool that
 * grows on demand, one thread for each such request in flight at most,
 * and is never cancelled (engine.h).  The threads say what is done on an
 * eventfd, which the loop reads like any other descriptor (epoll.c).
 *
 * The threads are created as needed after the worker confined itself:
 * they are under its seccomp filter and Landlock domain.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "epoll.h"
#include "fingerd.h"

#define THREAD_STACK	(256 * 1024)
#define THREAD_IDLE_NS	NS_PER_SECOND	/* then an idle thread exits */

/*
 * The pool's part of the engine, and the engine: no thread is left.  The
 * requests done and never collected (the engine freed first: a worker's
 * end while a plan's close ran) go with it.
 */
static void
pool_free(struct epoll_engine *p)
{
	struct request *r;

	while ((r = p->finished) != NULL) {
		p->finished = r->next;
		free(r);
	}
	while ((r = p->todo) != NULL) {
		p->todo = r->next;
		free(r);
	}
	close(p->eventfd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	free(p);
}

/* The pool of an engine for this many clients: no thread yet. */
void
pool_init(struct epoll_engine *p, unsigned clients)
{
	pthread_condattr_t monotonic;

	p->threads_max = 2 * clients + 16;
	p->openat2 = openat2_refusal() == 0;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&p->work, &monotonic);
	pthread_condattr_destroy(&monotonic);
}

/*
 * Whether openat2 is refused, and how: 0 when it is there, else EPERM (a
 * container's seccomp profile older than it: Docker's before 20.10
 * refuses what it does not list with EPERM) or ENOSYS (valgrind, a
 * kernel before 5.6, a profile that says so).  Asked with a size too
 * small for any open_how, which the kernel refuses with EINVAL before
 * it looks at anything else: nothing is opened.
 */
int
openat2_refusal(void)
{
	if (syscall(SYS_openat2, AT_FDCWD, "", NULL, (size_t)0) == 0 ||
	    (errno != EPERM && errno != ENOSYS))
		return 0;
	return errno;
}

/*
 * Without openat2: openat, with the same flags, whose O_NOFOLLOW refuses
 * a link at the plan; what RESOLVE_NO_MAGICLINKS refuses, a magic link,
 * lives in /proc, which Landlock keeps out.
 */
static int
file_open(const struct request *r, bool openat2)
{
	if (openat2)
		return (int)syscall(SYS_openat2, AT_FDCWD, r->path, r->how,
		    sizeof(*r->how));
	return openat(AT_FDCWD, r->path, (int)r->how->flags);
}

static int
file_call(struct request *r, bool openat2)
{
	ssize_t n;
	int ret;

	switch (r->op) {
	case F_OPENAT:
		ret = file_open(r, openat2);
		break;
	case F_STATX:
		ret = statx(r->fd, r->path, AT_SYMLINK_NOFOLLOW |
		    (r->path[0] == '\0' ? AT_EMPTY_PATH : 0),
		    STATX_BASIC_STATS, r->stx);
		break;
	case F_PREAD:
		n = pread(r->fd, r->buf, r->len, (off_t)r->offset);
		ret = n < 0 ? -1 : (int)n;
		break;
	default:
		ret = close(r->fd);
		break;
	}
	return ret < 0 ? -errno : ret;
}

/*
 * Waits for a request, at most THREAD_IDLE_NS; NULL when none came.
 * Called and returns with the lock held.
 */
static struct request *
pool_next(struct epoll_engine *p)
{
	struct timespec until;
	int64_t at = monotonic_ns() + THREAD_IDLE_NS;
	int ret = 0;

	until.tv_sec = at / NS_PER_SECOND;
	until.tv_nsec = at % NS_PER_SECOND;
	while (p->todo == NULL && ret != ETIMEDOUT) {
		p->idle++;
		ret = pthread_cond_timedwait(&p->work, &p->lock, &until);
		p->idle--;
	}
	return p->todo;
}

/*
 * A thread of the pool: takes the oldest request, makes its call, queues
 * it as finished and says so on the eventfd.  Idle for a second, it
 * exits: a process of one thread shares its descriptor table with no
 * other, and the kernel looks a descriptor up for a socket call without
 * an atomic reference then (fdget), which a busy loop of socket calls
 * feels.
 */
static void *
pool_thread(void *arg)
{
	struct epoll_engine *p = arg;
	const uint64_t one = 1;
	struct request *r;
	bool last;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if ((r = pool_next(p)) == NULL) {
			last = --p->threads == 0 && p->freed;
			pthread_mutex_unlock(&p->lock);
			if (last)
				pool_free(p);
			return NULL;
		}
		if ((p->todo = r->next) == NULL)
			p->todo_last = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		r->res = file_call(r, p->openat2);
		pthread_mutex_lock(&p->lock);
		r->next = NULL;
		if (p->finished_last != NULL)
			p->finished_last->next = r;
		else
			p->finished = r;
		p->finished_last = r;
		/* Cannot fail: the count would have to reach 2^64 - 1. */
		(void)!write(p->eventfd, &one, sizeof(one));
	}
	return NULL;
}

/*
 * Queues a file request for the pool, with a thread more when more are
 * queued than threads are idle (an idle thread signalled may not have
 * taken its request yet): one a request in flight, so that a file system
 * that hangs holds its own requests only.  Past the most threads (two a
 * client), or when the system refuses one more, the request waits for a
 * thread.
 */
void
pool_queue(struct epoll_engine *p, struct request *r)
{
	pthread_attr_t attr;
	pthread_t thread;
	unsigned threads;
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	r->next = NULL;
	if (p->todo_last != NULL)
		p->todo_last->next = r;
	else
		p->todo = r;
	p->todo_last = r;
	p->queued++;
	if (p->queued > p->idle && p->threads < p->threads_max) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, THREAD_STACK);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if ((ret = pthread_create(&thread, &attr, pool_thread, p)) == 0)
			p->threads++;
		pthread_attr_destroy(&attr);
	}
	if (p->idle > 0)
		pthread_cond_signal(&p->work);
	threads = p->threads;
	pthread_mutex_unlock(&p->lock);
	if (ret == 0)
		return;
	errno = ret;
	if (threads == 0)
		fatal(EX_OSERR, "a thread for the file requests");
	if (!p->pool_warned)
		log_warn("a thread for the file requests (%u running): "
		    "requests wait for one", threads);
	p->pool_warned = true;
}

/* What the pool has done, into the completions, in the order it was. */
void
pool_collect(struct epoll_engine *p)
{
	struct request *r, *next;
	uint64_t count;

	(void)!read(p->eventfd, &count, sizeof(count));
	pthread_mutex_lock(&p->lock);
	r = p->finished;
	p->finished = p->finished_last = NULL;
	pthread_mutex_unlock(&p->lock);
	for (; r != NULL; r = next) {
		next = r->next;
		if (r->op == F_OPENAT)
			descriptor_new(p, r->res, 0);
		request_done(p, r, r->res);
	}
}

/*
 * The pool's threads live on, idle or held by a file system: the
 * structure they share stays with them, and the last to end frees it.
 */
void
pool_leave(struct epoll_engine *p)
{
	unsigned threads;

	pthread_mutex_lock(&p->lock);	/* a thread may be retiring */
	threads = p->threads;
	p->freed = true;
	pthread_mutex_unlock(&p->lock);
	if (threads == 0)
		pool_free(p);
}
