/*
 * The io_uring engine.  The ring: created after the privilege drop, sized
 * from -c, and restricted to the requests fingerd makes, so that a bug in
 * the loop cannot turn it into a way to do anything else (IORING_
 * REGISTER_RESTRICTIONS needs the ring created disabled; Linux 5.10).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <linux/time_types.h>

#include <liburing.h>

#include "engine.h"
#include "fingerd.h"
#include "uring.h"

static const uint8_t allowed_ops[] = {
	IORING_OP_ACCEPT,
	IORING_OP_TIMEOUT,
	IORING_OP_ASYNC_CANCEL,
	IORING_OP_LINK_TIMEOUT,
	IORING_OP_OPENAT2,
	IORING_OP_STATX,
	IORING_OP_READ,
	IORING_OP_CLOSE,
	IORING_OP_RECV,
	IORING_OP_SEND,
	IORING_OP_WRITE,
	IORING_OP_POLL_ADD,
};

static void
ring_restrict(struct io_uring *ring)
{
	struct io_uring_restriction r[sizeof(allowed_ops) + 1];
	size_t i;
	int ret;

	memset(r, 0, sizeof(r));
	for (i = 0; i < sizeof(allowed_ops); i++) {
		r[i].opcode = IORING_RESTRICTION_SQE_OP;
		r[i].sqe_op = allowed_ops[i];
	}
	r[i].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	r[i].sqe_flags = IOSQE_IO_LINK | (ring->features & IORING_FEAT_CQE_SKIP ?
	    IOSQE_CQE_SKIP_SUCCESS : 0);
	/* Debian's liburing 2.3 lacks the helpers: the raw calls. */
	if ((ret = io_uring_register(ring->ring_fd,
	    IORING_REGISTER_RESTRICTIONS, r, (unsigned)i + 1)) < 0 ||
	    (ret = io_uring_register(ring->ring_fd,
	    IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0) {
		errno = -ret;
		fatal(EX_OSERR, "restricting the ring");
	}
}

/*
 * Requests that block in a file system (statx, open, read and close of a
 * plan on NFS, FUSE, a disk) run on io-wq threads, by default no more
 * than four a CPU: a file system that hangs would hold them all, and the
 * file requests of every other client would wait behind.  With one a
 * client, a hung request holds only its own client.
 */
static void
ring_workers(struct io_uring *ring, unsigned clients)
{
	unsigned workers[2] = { clients < 16 ? 16 : clients, 0 };
	int ret;

	if ((ret = io_uring_register_iowq_max_workers(ring, workers)) < 0) {
		errno = -ret;
		log_warn("io_uring: cannot raise the io-wq threads to %u",
		    clients);
	}
}

/*
 * Sized from -c: a client has two requests in flight most of the time
 * (one and its timeout); what overflows the completion ring the kernel
 * keeps until there is room.  Older kernels
 * without DEFER_TASKRUN get a plainer ring.  Returns 0 or -errno.
 */
static int
ring_create(struct io_uring *ring, unsigned clients)
{
	static const unsigned flags[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0
	};
	struct io_uring_params p;
	unsigned entries = 32, i;
	int ret = -EINVAL;

	while (entries < clients && entries < 4096)
		entries *= 2;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = flags[i] | IORING_SETUP_CQSIZE |
		    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED;
		p.cq_entries = ENGINE_COMPLETIONS(clients);
		ret = io_uring_queue_init_params(entries, ring, &p);
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

void
ring_open(struct io_uring *ring, unsigned clients)
{
	int ret;

	if ((ret = ring_create(ring, clients)) < 0) {
		errno = -ret;
		fatal(EX_OSERR, "io_uring_queue_init");
	}
	/*
	 * Not in the children that open the homes (homes.c): the mapping
	 * of a ring holds it as its descriptor does, and a child held by a
	 * home would keep it past this process's end, with the accept in
	 * flight: the listening socket open after a stop, and the kernel's
	 * wake-up for a connection given to that accept (its wait is
	 * exclusive), never to the accept of the worker that replaced this
	 * one.
	 */
	if ((ret = io_uring_ring_dontfork(ring)) < 0) {
		errno = -ret;
		fatal(EX_OSERR, "io_uring_ring_dontfork");
	}
	ring_workers(ring, clients);
	ring_restrict(ring);
}

/* Whether this process runs under a seccomp filter (/proc/self/status). */
static bool
seccomp_filtered(void)
{
	char line[128];
	int mode = 0;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode == 2;
}

#define DOCKER	"a seccomp profile refuses it with EPERM, as Docker's and " \
		"containerd's default profiles do"
#define PODMAN	"a seccomp profile refuses it with ENOSYS, as Podman's and " \
		"CRI-O's default profiles do"
/* Where kernel.io_uring_disabled cannot be read: /proc/sys hidden. */
#define UNREAD	"this process cannot read kernel.io_uring_disabled to tell " \
		"(/proc/sys is hidden, as by ProcSubset=pid)"
/* Where it is not there: before Linux 6.6, or no io_uring at all. */
#define ABSENT	"kernel.io_uring_disabled is not there to tell (Linux " \
		"before 6.6, or one without io_uring)"

/*
 * Why io_uring_setup failed with error, for a person to act on: from the
 * sysctl kernel.io_uring_disabled (Linux 6.6; absent before), and
 * whether a seccomp filter is on.  Where two causes fit (the sysctl
 * hidden, as by the shipped unit's ProcSubset=pid, or absent), both are
 * named, and why it cannot tell.
 */
static void
refusal(int error, char *why, size_t size)
{
	bool hidden = access("/proc/sys/kernel", F_OK) != 0;
	bool filtered = seccomp_filtered();
	int disabled = -1;
	FILE *f;

	if ((f = fopen("/proc/sys/kernel/io_uring_disabled", "r")) != NULL) {
		if (fscanf(f, "%d", &disabled) != 1)
			disabled = -1;
		fclose(f);
	}
	if (error == EPERM && disabled == 2)
		snprintf(why, size, "the sysctl kernel.io_uring_disabled is 2");
	else if (error == EPERM && disabled == 1)
		snprintf(why, size, "the sysctl kernel.io_uring_disabled is 1 "
		    "and this account is not in kernel.io_uring_group");
	else if (error == EPERM && disabled < 0 && hidden && filtered)
		snprintf(why, size, DOCKER ", or the sysctl "
		    "kernel.io_uring_disabled does; " UNREAD);
	else if (error == EPERM && disabled < 0 && hidden)
		snprintf(why, size, "the sysctl kernel.io_uring_disabled, as no "
		    "seccomp filter is on; " UNREAD);
	else if (error == EPERM)
		snprintf(why, size, DOCKER);
	else if (error == ENOSYS && disabled < 0 && filtered)
		snprintf(why, size, PODMAN ", or the kernel has no io_uring; "
		    "%s", hidden ? UNREAD : ABSENT);
	else if (error == ENOSYS && disabled >= 0)
		snprintf(why, size, PODMAN);
	else if (error == ENOSYS)
		snprintf(why, size, "the kernel has no io_uring "
		    "(CONFIG_IO_URING)");
	else
		snprintf(why, size, "io_uring_setup: %s", strerror(error));
}

/*
 * Whether this process can serve with io_uring: the ring created with
 * the flags fingerd uses, and every opcode it needs there.  When not,
 * why, and the error of io_uring_setup (0: an opcode is missing).
 */
bool
uring_usable(char *why, size_t size, int *error)
{
	struct io_uring_probe *probe;
	struct io_uring ring;
	size_t i;
	int ret;

	*error = 0;
	if ((ret = ring_create(&ring, 1)) < 0) {
		*error = -ret;
		refusal(-ret, why, size);
		return false;
	}
	probe = io_uring_get_probe_ring(&ring);
	for (i = 0; probe != NULL && i < sizeof(allowed_ops); i++)
		if (!io_uring_opcode_supported(probe, allowed_ops[i]))
			break;
	if (probe == NULL)
		snprintf(why, size, "the kernel cannot say which operations "
		    "io_uring has (IORING_REGISTER_PROBE)");
	else if (i < sizeof(allowed_ops))
		snprintf(why, size, "the kernel's io_uring lacks operation %u "
		    "(Linux 6.1 or later has them all)", allowed_ops[i]);
	io_uring_free_probe(probe);
	io_uring_queue_exit(&ring);
	return probe != NULL && i == sizeof(allowed_ops);
}

/*
 * An SQE, with room for need - 1 more after it: when the submission
 * queue is full, what is queued is submitted first.
 */
struct io_uring_sqe *
ring_sqe(struct io_uring *ring, unsigned need)
{
	int ret;

	while (io_uring_sq_space_left(ring) < need) {
		ret = io_uring_submit(ring);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY) {
			errno = -ret;
			fatal(EX_OSERR, "io_uring_submit");
		}
	}
	return io_uring_get_sqe(ring);
}

/*
 * The engine (engine.h) on the ring.  A request with a deadline goes out
 * linked to an IORING_OP_LINK_TIMEOUT holding it.  The timeout's
 * completion is the engine's own (tagged ENGINE_TAG): when it fired, its
 * request completes -ECANCELED, which says all the loop needs.  So the
 * kernel is asked to post none (IOSQE_CQE_SKIP_SUCCESS, Linux 5.17): the
 * -ECANCELED of a timeout disarmed by its request, and the -ETIME of one
 * that fired (or -EALREADY, -ENOENT where its request was past
 * cancelling), are completions the kernel does not count as failed, and
 * are skipped (one that could not be armed, failed, still comes, and is
 * dropped as before).  That is a CQE a request fewer, not the task work
 * that completes the timeout.
 *
 * The kernel reads a timeout's time as its SQE is submitted: each SQE has
 * its time beside it (at()), which stays until the SQE is reused, after
 * the submission.
 */
struct uring {
	struct engine		 engine;	/* first */
	struct io_uring		 ring;
	struct __kernel_timespec *times;	/* one an SQE */
	uint8_t			 skip;	/* IOSQE_CQE_SKIP_SUCCESS, or 0 */
	uint16_t		 poll_first;	/* IORING_ACCEPT_POLL_FIRST, or 0 */
};

#define URING(e)	((struct uring *)(void *)(e))

/* What is queued (a socket's close) is submitted first. */
static void
uring_free(struct engine *e)
{
	(void)io_uring_submit(&URING(e)->ring);
	io_uring_queue_exit(&URING(e)->ring);
	free(URING(e)->times);
	free(e);
}

/* The time for sqe, a timeout's: ns of CLOCK_MONOTONIC as the kernel's. */
static struct __kernel_timespec *
at(struct engine *e, const struct io_uring_sqe *sqe, int64_t ns)
{
	struct __kernel_timespec *ts =
	    &URING(e)->times[sqe - URING(e)->ring.sq.sqes];

	ts->tv_sec = ns / NS_PER_SECOND;
	ts->tv_nsec = ns % NS_PER_SECOND;
	return ts;
}

/* Tags sqe, and links its deadline when it has one. */
static void
submit(struct engine *e, struct io_uring_sqe *sqe, const int64_t *deadline,
    uint64_t tag)
{
	struct io_uring_sqe *timeout;

	io_uring_sqe_set_data64(sqe, tag);
	if (deadline == NULL)
		return;
	sqe->flags |= IOSQE_IO_LINK;
	timeout = io_uring_get_sqe(&URING(e)->ring);	/* reserved by request() */
	io_uring_prep_link_timeout(timeout, at(e, timeout, *deadline),
	    IORING_TIMEOUT_ABS);
	io_uring_sqe_set_data64(timeout, ENGINE_TAG);
	timeout->flags |= URING(e)->skip;
}

/* An SQE, with room after it for the timeout of a deadline. */
static struct io_uring_sqe *
request(struct engine *e, const int64_t *deadline)
{
	return ring_sqe(&URING(e)->ring, deadline != NULL ? 2 : 1);
}

/*
 * Linux 6.10: an accept that completes -EAGAIN rather than wait; one
 * that waits for a connection before it tries.
 */
#ifndef IORING_ACCEPT_DONTWAIT
#define IORING_ACCEPT_DONTWAIT	(1U << 1)
#endif
#ifndef IORING_ACCEPT_POLL_FIRST
#define IORING_ACCEPT_POLL_FIRST	(1U << 2)
#endif

/*
 * Whether the kernel takes IORING_ACCEPT_POLL_FIRST: an accept of no
 * descriptor with it fails -EBADF as it is issued, or, where the flag is
 * unknown (before Linux 6.10), -EINVAL as it is read, before its
 * descriptor is looked at (so since 5.18, which ring_create() needs:
 * IORING_SETUP_SUBMIT_ALL).
 */
static bool
accept_polls_first(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	io_uring_prep_accept(sqe, -1, NULL, NULL, 0);
	sqe->ioprio |= IORING_ACCEPT_POLL_FIRST;
	io_uring_sqe_set_data64(sqe, ENGINE_TAG);
	if (io_uring_submit_and_wait(ring, 1) < 0 ||
	    io_uring_peek_cqe(ring, &cqe) != 0)
		return false;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res == -EBADF;
}

/*
 * An accept; with once, of a connection already waiting, or -EAGAIN.
 * (Before Linux 6.10, such an accept fails -EINVAL.)  The kernel wakes
 * one waiting accept a connection: a worker that stops takes what waits
 * with these, so that none is left for a wakeup that went to it.
 *
 * An accept that finds no connection has had a socket and a file made
 * and freed for nothing (the kernel makes them before it looks), then
 * waits for one (a poll armed) and tries again: 0.9 of them a request
 * under bench/run's load (make bench-trace: sockets made).  So an accept
 * waits first (IORING_ACCEPT_POLL_FIRST, Linux 6.10), and tries only
 * once the poll says a connection waits; the poll sees one that already
 * does as it is armed.  (Where the last accept said more wait, trying at
 * once saves that poll: not measurable here, not done.)
 */
static void
uring_accept(struct engine *e, int fd, struct sockaddr_storage *ss,
    socklen_t *len, bool once, uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_accept(sqe, fd, (struct sockaddr *)ss, len, SOCK_CLOEXEC);
	if (once)
		sqe->ioprio |= IORING_ACCEPT_DONTWAIT;
	else
		sqe->ioprio |= URING(e)->poll_first;
	submit(e, sqe, NULL, tag);
}

/* Completes with the events once fd has one of events (POLLIN...). */
static void
uring_poll(struct engine *e, int fd, unsigned events, uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_poll_add(sqe, fd, events);
	submit(e, sqe, NULL, tag);
}

static void
uring_recv(struct engine *e, int fd, void *buf, size_t len,
    const int64_t *deadline, uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, deadline);

	io_uring_prep_recv(sqe, fd, buf, len, 0);
	submit(e, sqe, deadline, tag);
}

static void
uring_send(struct engine *e, int fd, const void *buf, size_t len,
    const int64_t *deadline, uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, deadline);

	io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
	submit(e, sqe, deadline, tag);
}

static void
uring_openat(struct engine *e, const char *path, const struct open_how *how,
    uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_openat2(sqe, AT_FDCWD, path,
	    (struct open_how *)(uintptr_t)how);
	submit(e, sqe, NULL, tag);
}

/*
 * The statx of path from dirfd, never following a link at it; with path
 * "", of dirfd itself.  It always goes to an io-wq thread.
 */
static void
uring_statx(struct engine *e, int dirfd, const char *path, struct statx *stx,
    uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_statx(sqe, dirfd, path, AT_SYMLINK_NOFOLLOW |
	    (path[0] == '\0' ? AT_EMPTY_PATH : 0), STATX_BASIC_STATS, stx);
	submit(e, sqe, NULL, tag);
}

/*
 * Closes fd.  The kernel runs it inline, or, for a file whose file system
 * flushes at close (FUSE, NFS), on an io-wq thread.
 */
static void
uring_close(struct engine *e, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_close(sqe, fd);
	submit(e, sqe, NULL, tag);
}

/*
 * Closes a socket: inline as it is submitted (a socket has no flush),
 * with no close(2) through the seccomp filter, and no completion unless
 * it failed (the engine's own then, dropped).  Until the ring submits
 * it, at the next wait or at uring_free(), the descriptor stays open.
 */
static void
uring_close_socket(struct engine *e, int fd)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_close(sqe, fd);
	sqe->flags |= URING(e)->skip;
	submit(e, sqe, NULL, ENGINE_TAG);
}

/* A read at offset; (uint64_t)-1: at the file's position (a pipe). */
static void
uring_read(struct engine *e, int fd, void *buf, size_t len, uint64_t offset,
    const int64_t *deadline, uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, deadline);

	io_uring_prep_read(sqe, fd, buf, (unsigned)len, offset);
	submit(e, sqe, deadline, tag);
}

static void
uring_write(struct engine *e, int fd, const void *buf, size_t len,
    uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_write(sqe, fd, buf, (unsigned)len, (uint64_t)-1);
	submit(e, sqe, NULL, tag);
}

/* A timer that completes -ETIME at a time of CLOCK_MONOTONIC. */
static void
uring_timeout(struct engine *e, int64_t ns, uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_timeout(sqe, at(e, sqe, ns), 0, IORING_TIMEOUT_ABS);
	submit(e, sqe, NULL, tag);
}

/* Cancels the requests tagged target; the cancel itself completes tag. */
static void
uring_cancel(struct engine *e, uint64_t target, uint64_t tag)
{
	struct io_uring_sqe *sqe = request(e, NULL);

	io_uring_prep_cancel64(sqe, target, 0);
	submit(e, sqe, NULL, tag);
}

/*
 * Submits what is queued, waits for at least one completion, and copies
 * out those there are (at most max); a deadline's own is not one.
 * Returns how many.
 */
static size_t
uring_wait(struct engine *e, struct completion *batch, size_t max)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	size_t n = 0;
	int ret;

	ret = io_uring_submit_and_wait(&URING(e)->ring, 1);
	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
	    ret != -ETIME) {
		errno = -ret;
		fatal(EX_OSERR, "io_uring_submit_and_wait");
	}
	io_uring_for_each_cqe(&URING(e)->ring, head, cqe) {
		if (n == max)
			break;
		seen++;
		/*
		 * A deadline whose completion was not skipped (one that
		 * failed, or a kernel before 5.17): the request's
		 * completion says all.
		 */
		if (cqe->user_data == ENGINE_TAG)
			continue;
		batch[n].tag = cqe->user_data;
		batch[n++].res = cqe->res;
	}
	io_uring_cq_advance(&URING(e)->ring, seen);
	return n;
}

/* The ring keeps nothing of a descriptor between requests. */
static void
uring_forget(struct engine *e, int fd)
{
	(void)e;
	(void)fd;
}

static const struct engine_ops uring_ops = {
	.free = uring_free,
	.wait = uring_wait,
	.accept = uring_accept,
	.poll = uring_poll,
	.recv = uring_recv,
	.send = uring_send,
	.openat = uring_openat,
	.statx = uring_statx,
	.read = uring_read,
	.write = uring_write,
	.close = uring_close,
	.close_socket = uring_close_socket,
	.forget = uring_forget,
	.timeout = uring_timeout,
	.cancel = uring_cancel,
};

struct engine *
uring_engine_open(unsigned clients)
{
	struct uring *u = calloc(1, sizeof(*u));

	if (u == NULL)
		fatalx(EX_OSERR, "out of memory for the ring");
	u->engine.ops = &uring_ops;
	ring_open(&u->ring, clients);
	if (u->ring.features & IORING_FEAT_CQE_SKIP)
		u->skip = IOSQE_CQE_SKIP_SUCCESS;
	if (accept_polls_first(&u->ring))
		u->poll_first = IORING_ACCEPT_POLL_FIRST;
	if ((u->times = calloc(u->ring.sq.ring_entries,
	    sizeof(*u->times))) == NULL)
		fatalx(EX_OSERR, "out of memory for the ring");
	return &u->engine;
}
