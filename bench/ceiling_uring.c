/*
 * ceiling_uring: the barest io_uring server that a finger client cannot
 * tell from a finger server.  A multishot accept; then, per connection, a
 * recv until the line's LF, a send of a fixed reply, a close, each one
 * request on the ring.  No lookup, no file, no deadline, no log.  The ring
 * is SINGLE_ISSUER|DEFER_TASKRUN, so completions are run in our own
 * io_uring_enter, one submit-and-wait per loop turn.  Linux 6.1,
 * liburing 2.3.
 *
 *	ceiling_uring -P port -r reply-file [-B addr]
 *
 * The reply's bytes are read from the file at start.  Runs until SIGTERM
 * or SIGINT.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <liburing.h>

#include "common.h"

#define USAGE		"usage: ceiling_uring -P port -r reply-file [-B addr]\n"
#define SQ_ENTRIES	4096
#define CQ_ENTRIES	65536
#define LINE_CHUNK	64
#define LINE_MAX_BYTES	1024

/* user_data: the operation in the high 32 bits, the descriptor below. */
enum op { OP_ACCEPT, OP_RECV, OP_SEND, OP_CLOSE };
#define USER_DATA(fd, op)	((uint64_t)(op) << 32 | (uint32_t)(fd))
#define USER_DATA_FD(u)		((int)(uint32_t)(u))
#define USER_DATA_OP(u)		((enum op)((u) >> 32))

/*
 * A connection, indexed by its descriptor.  The kernel writes into line
 * while a recv is in flight, so it is the connection's own.
 */
struct conn {
	size_t	line_len;
	size_t	sent;
	char	line[LINE_CHUNK];
};

static struct io_uring ring;
static struct conn *conns;
static size_t nconns;
static uint8_t *reply;
static size_t reply_len;
static int listen_fd;

static void
conns_init(void)
{
	nconns = descriptor_slots();
	if ((conns = calloc(nconns, sizeof(*conns))) == NULL)
		err(EX_OSERR, NULL);
}

static void
ring_init(void)
{
	struct io_uring_params p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
	    IORING_SETUP_CQSIZE;
	p.cq_entries = CQ_ENTRIES;
	if ((ret = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p)) < 0)
		errx(EX_OSERR, "io_uring_queue_init: %s", strerror(-ret));
}

/* An SQE; when the submission queue is full, what is queued goes first. */
static struct io_uring_sqe *
get_sqe(void)
{
	struct io_uring_sqe *sqe;
	int ret;

	while ((sqe = io_uring_get_sqe(&ring)) == NULL)
		if ((ret = io_uring_submit(&ring)) < 0 && ret != -EINTR &&
		    ret != -EAGAIN && ret != -EBUSY)
			errx(EX_OSERR, "io_uring_submit: %s", strerror(-ret));
	return sqe;
}

static void
accept_arm(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL,
	    SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, USER_DATA(listen_fd, OP_ACCEPT));
}

static void
recv_arm(int fd)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_recv(sqe, fd, conns[fd].line, sizeof(conns[fd].line), 0);
	io_uring_sqe_set_data64(sqe, USER_DATA(fd, OP_RECV));
}

static void
send_arm(int fd)
{
	struct io_uring_sqe *sqe = get_sqe();
	struct conn *c = &conns[fd];

	io_uring_prep_send(sqe, fd, reply + c->sent, reply_len - c->sent,
	    MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, USER_DATA(fd, OP_SEND));
}

static void
close_arm(int fd)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_close(sqe, fd);
	io_uring_sqe_set_data64(sqe, USER_DATA(fd, OP_CLOSE));
}

static void
handle_accept(int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		accept_arm();	/* the multishot ended: one more */
	if (res < 0) {
		if (res != -EINTR && res != -ECONNABORTED)
			warnx("accept: %s", strerror(-res));
		return;
	}
	if ((size_t)res >= nconns) {
		close(res);
		return;
	}
	memset(&conns[res], 0, offsetof(struct conn, line));
	recv_arm(res);
}

static void
handle_recv(int fd, int res)
{
	struct conn *c = &conns[fd];

	if (res <= 0) {
		close_arm(fd);
		return;
	}
	c->line_len += (size_t)res;
	if (memchr(c->line, '\n', (size_t)res) != NULL ||
	    c->line_len >= LINE_MAX_BYTES)
		send_arm(fd);
	else
		recv_arm(fd);
}

static void
handle_send(int fd, int res)
{
	struct conn *c = &conns[fd];

	if (res > 0)
		c->sent += (size_t)res;
	if (res > 0 && c->sent < reply_len)
		send_arm(fd);	/* a short send: the rest */
	else
		close_arm(fd);
}

static void
dispatch(uint64_t user_data, int res, unsigned flags)
{
	int fd = USER_DATA_FD(user_data);

	switch (USER_DATA_OP(user_data)) {
	case OP_ACCEPT:
		handle_accept(res, flags);
		break;
	case OP_RECV:
		handle_recv(fd, res);
		break;
	case OP_SEND:
		handle_send(fd, res);
		break;
	case OP_CLOSE:
		break;
	}
}

static void
loop(void)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen;
	int ret;

	while (!ceiling_stop) {
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY)
			errx(EX_OSERR, "io_uring_submit_and_wait: %s",
			    strerror(-ret));
		seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			dispatch(cqe->user_data, cqe->res, cqe->flags);
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
	}
}

int
main(int argc, char *argv[])
{
	listen_fd = ceiling_start(argc, argv, USAGE, 0, &reply, &reply_len);
	conns_init();
	ring_init();
	accept_arm();
	loop();
	io_uring_queue_exit(&ring);
	return EX_OK;
}
