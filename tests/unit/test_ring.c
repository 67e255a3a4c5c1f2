/*
 * The ring fingerd creates takes only the requests the loop makes: any
 * other opcode, any SQE flag but IOSQE_IO_LINK, and every register
 * operation are refused.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <liburing.h>

#include "fingerd.h"
#include "uring.h"

static struct io_uring ring;
static int pipe_fds[2];

static void
setup(void)
{
	ring_open(&ring, 4);
	cr_assert_eq(pipe(pipe_fds), 0);
	cr_assert_eq(write(pipe_fds[1], "finger", 6), 6);
}

static void
teardown(void)
{
	io_uring_queue_exit(&ring);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

TestSuite(ring, .init = setup, .fini = teardown);

static int
complete(struct io_uring_sqe *sqe)
{
	struct io_uring_cqe *cqe;
	int res;

	io_uring_sqe_set_data64(sqe, 42);
	cr_assert_eq(io_uring_submit_and_wait(&ring, 1), 1);
	cr_assert_eq(io_uring_peek_cqe(&ring, &cqe), 0);
	cr_assert_eq(cqe->user_data, 42);
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return res;
}

Test(ring, allows_a_read)
{
	struct io_uring_sqe *sqe = ring_sqe(&ring, 1);
	char buf[16];

	io_uring_prep_read(sqe, pipe_fds[0], buf, sizeof(buf), 0);
	cr_assert_eq(complete(sqe), 6);
	cr_assert_eq(memcmp(buf, "finger", 6), 0);
}

Test(ring, refuses_an_opcode_outside_the_set)
{
	struct io_uring_sqe *sqe = ring_sqe(&ring, 1);

	io_uring_prep_nop(sqe);
	cr_assert_eq(complete(sqe), -EACCES);
	sqe = ring_sqe(&ring, 1);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	cr_assert_eq(complete(sqe), -EACCES);
	sqe = ring_sqe(&ring, 1);
	io_uring_prep_unlinkat(sqe, AT_FDCWD, "/tmp/fingerd-never", 0);
	cr_assert_eq(complete(sqe), -EACCES);
	sqe = ring_sqe(&ring, 1);
	io_uring_prep_rw(IORING_OP_SOCKET, sqe, AF_INET, NULL, SOCK_STREAM, 0);
	cr_assert_eq(complete(sqe), -EACCES);
}

/* A statx and a close, which the plans need, are in the set. */
Test(ring, allows_a_statx_and_a_close)
{
	struct io_uring_sqe *sqe = ring_sqe(&ring, 1);
	struct statx stx;

	io_uring_prep_statx(sqe, pipe_fds[0], "", AT_EMPTY_PATH,
	    STATX_BASIC_STATS, &stx);
	cr_assert_eq(complete(sqe), 0);
	cr_assert(S_ISFIFO(stx.stx_mode));
	sqe = ring_sqe(&ring, 1);
	io_uring_prep_close(sqe, pipe_fds[1]);
	cr_assert_eq(complete(sqe), 0);
	cr_assert_eq(fcntl(pipe_fds[1], F_GETFD), -1);
	pipe_fds[1] = -1;
}

Test(ring, allows_a_write)
{
	struct io_uring_sqe *sqe = ring_sqe(&ring, 1);
	char buf[16];

	io_uring_prep_write(sqe, pipe_fds[1], "x", 1, (uint64_t)-1);
	cr_assert_eq(complete(sqe), 1);
	cr_assert_eq(read(pipe_fds[0], buf, sizeof(buf)), 7);
	cr_assert_eq(memcmp(buf, "fingerx", 7), 0);
}

Test(ring, refuses_a_flag_outside_the_set)
{
	struct io_uring_sqe *sqe = ring_sqe(&ring, 1);
	char buf[16];

	io_uring_prep_read(sqe, pipe_fds[0], buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_ASYNC;
	cr_assert_eq(complete(sqe), -EACCES);
}

Test(ring, refuses_registering)
{
	int fd = pipe_fds[0];

	cr_assert_eq(io_uring_register_files(&ring, &fd, 1), -EACCES);
}
