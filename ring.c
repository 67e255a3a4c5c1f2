/*
 * The ring: created after the privilege drop, sized from -c, and
 * restricted to the requests fingerd makes, so that a bug in the loop
 * cannot turn it into a way to do anything else (IORING_REGISTER_
 * RESTRICTIONS needs the ring created disabled; Linux 5.10).
 */
#include <errno.h>
#include <string.h>
#include <sysexits.h>

#include <liburing.h>

#include "fingerd.h"

static const uint8_t allowed_ops[] = {
	IORING_OP_ACCEPT,
	IORING_OP_TIMEOUT,
	IORING_OP_ASYNC_CANCEL,
	IORING_OP_LINK_TIMEOUT,
	IORING_OP_OPENAT2,
	IORING_OP_READ,
	IORING_OP_RECV,
	IORING_OP_SEND,
	IORING_OP_WRITE,
};

static void
ring_refused(int error)
{
	errno = error;
	if (error == EPERM)
		fatal(EX_UNAVAILABLE, "io_uring refused: allow it with "
		    "'sysctl kernel.io_uring_disabled=0', and outside a "
		    "seccomp profile that blocks it (such as Docker's default)");
	if (error == ENOSYS)
		fatal(EX_UNAVAILABLE, "io_uring missing: fingerd needs "
		    "Linux 6.1 or later built with CONFIG_IO_URING");
	fatal(EX_OSERR, "io_uring_queue_init");
}

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
	r[i].sqe_flags = IOSQE_IO_LINK;
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
 * Sized from -c: a client has at most two requests in flight (one and
 * its timeout), so the completion ring holds them all.  Older kernels
 * without DEFER_TASKRUN get a plainer ring.
 */
void
ring_open(struct io_uring *ring, unsigned clients)
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
		p.cq_entries = RING_CQ_ENTRIES(clients);
		ret = io_uring_queue_init_params(entries, ring, &p);
		if (ret != -EINVAL)
			break;
	}
	if (ret < 0)
		ring_refused(-ret);
	ring_restrict(ring);
}

/*
 * Fails at start, with the line ring_open() gives, where the kernel
 * refuses io_uring: for a parent whose workers would only die of it.
 */
void
ring_check(void)
{
	struct io_uring ring;

	ring_open(&ring, 1);
	io_uring_queue_exit(&ring);
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
