/*
 * ceiling_epoll: the simplest epoll server that a finger client cannot
 * tell from a finger server.  One loop: accept, read a line, write a fixed
 * reply, close.  No lookup, no file, no deadline, no log: what is left is
 * the kernel's TCP connect/accept/close path and the fewest system calls
 * around it, the limit a real server is measured against.  Linux 2.6.27.
 *
 *	ceiling_epoll -P port -r reply-file [-B addr]
 *
 * The reply's bytes are read from the file at start.  A reply larger than
 * the socket buffer is written as the socket drains (EPOLLOUT).  Runs
 * until SIGTERM or SIGINT.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common.h"

#define USAGE		"usage: ceiling_epoll -P port -r reply-file [-B addr]\n"
#define EVENTS_MAX	256
#define LINE_MAX_BYTES	1024

/* A connection, indexed by its descriptor. */
struct conn {
	size_t	line_len;	/* bytes of the query read */
	size_t	sent;		/* bytes of the reply written */
	bool	replying;
};

static struct conn *conns;
static size_t nconns;
static uint8_t *reply;
static size_t reply_len;

/* Every descriptor the process may have gets a slot. */
static void
conns_init(void)
{
	nconns = descriptor_slots();
	if ((conns = calloc(nconns, sizeof(*conns))) == NULL)
		err(EX_OSERR, NULL);
}

static void
conn_close(int fd)
{
	memset(&conns[fd], 0, sizeof(conns[fd]));
	close(fd);	/* also leaves the epoll set */
}

/* Writes what the socket takes; the rest waits for EPOLLOUT. */
static void
conn_write(int epoll_fd, int fd)
{
	struct conn *c = &conns[fd];
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };
	ssize_t n;

	while (c->sent < reply_len) {
		n = send(fd, reply + c->sent, reply_len - c->sent,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			if (!c->replying &&
			    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0)
				err(EX_OSERR, "epoll_ctl");
			c->replying = true;
			return;
		}
		if (n < 0)
			break;
		c->sent += (size_t)n;
	}
	conn_close(fd);
}

/* Reads until the line's LF; what follows it is not read. */
static void
conn_read(int epoll_fd, int fd)
{
	struct conn *c = &conns[fd];
	char line[LINE_MAX_BYTES];
	ssize_t n;

	n = recv(fd, line, sizeof(line), 0);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			conn_close(fd);
		return;
	}
	c->line_len += (size_t)n;
	if (memchr(line, '\n', (size_t)n) != NULL ||
	    c->line_len >= LINE_MAX_BYTES)
		conn_write(epoll_fd, fd);
}

static void
accept_all(int epoll_fd, int listen_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	while ((fd = accept4(listen_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if ((size_t)fd >= nconns) {
			close(fd);
			continue;
		}
		ev.data.fd = fd;
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
			err(EX_OSERR, "epoll_ctl");
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		warn("accept4");
}

static void
loop(int epoll_fd, int listen_fd)
{
	struct epoll_event events[EVENTS_MAX];
	int i, n, fd;

	while (!ceiling_stop) {
		n = epoll_wait(epoll_fd, events, EVENTS_MAX, -1);
		if (n < 0 && errno != EINTR)
			err(EX_OSERR, "epoll_wait");
		for (i = 0; i < n; i++) {
			fd = events[i].data.fd;
			if (fd == listen_fd)
				accept_all(epoll_fd, listen_fd);
			else if (conns[fd].replying)
				conn_write(epoll_fd, fd);
			else
				conn_read(epoll_fd, fd);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct epoll_event ev = { .events = EPOLLIN };
	int epoll_fd, listen_fd;

	listen_fd = ceiling_start(argc, argv, USAGE, SOCK_NONBLOCK, &reply,
	    &reply_len);
	conns_init();
	if ((epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		err(EX_OSERR, "epoll_create1");
	ev.data.fd = listen_fd;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev) != 0)
		err(EX_OSERR, "epoll_ctl");
	loop(epoll_fd, listen_fd);
	return EX_OK;
}
