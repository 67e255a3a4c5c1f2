/*
 * What the load generator and the two ceiling servers share: reading a
 * reply file whole, and a listening socket on an IPv4 address; and what
 * the two ceilings do at start.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "common.h"

/* The whole file at path, in memory; exits when it cannot be read. */
uint8_t *
read_whole(const char *path, size_t *len)
{
	struct stat st;
	size_t got = 0;
	uint8_t *data;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0)
		err(EX_NOINPUT, "%s", path);
	*len = (size_t)st.st_size;
	if ((data = malloc(*len + 1)) == NULL)
		err(EX_OSERR, NULL);
	while (got < *len && (n = read(fd, data + got, *len - got)) > 0)
		got += (size_t)n;
	if (got != *len)
		err(EX_IOERR, "%s", path);
	close(fd);
	return data;
}

/* A listening TCP socket; flags are added to socket(2)'s type. */
int
listen_on(const char *address, const char *port, int flags)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, on = 1;

	if (inet_pton(AF_INET, address, &sin.sin_addr) != 1)
		errx(EX_USAGE, "-B: '%s' is not an IPv4 address", address);
	sin.sin_port = htons((uint16_t)strtoul(port, NULL, 10));
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0)) < 0)
		err(EX_OSERR, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
		err(EX_OSERR, "setsockopt");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		err(EX_UNAVAILABLE, "bind %s:%s", address, port);
	if (listen(fd, SOMAXCONN) != 0)
		err(EX_OSERR, "listen");
	return fd;
}

volatile sig_atomic_t ceiling_stop;

static void
on_signal(int signo)
{
	(void)signo;
	ceiling_stop = 1;
}

/*
 * A ceiling's start, from its command line (-P port -r reply-file
 * [-B addr]): the reply read whole, SIGTERM and SIGINT setting
 * ceiling_stop, SIGPIPE ignored; returns the listening socket, made with
 * socket_flags.
 */
int
ceiling_start(int argc, char *argv[], const char *usage, int socket_flags,
    uint8_t **reply, size_t *reply_len)
{
	const char *address = "127.0.0.1", *port = NULL, *path = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "B:P:r:")) != -1) {
		switch (ch) {
		case 'B':
			address = optarg;
			break;
		case 'P':
			port = optarg;
			break;
		case 'r':
			path = optarg;
			break;
		default:
			fputs(usage, stderr);
			exit(EX_USAGE);
		}
	}
	if (port == NULL || path == NULL || optind < argc) {
		fputs(usage, stderr);
		exit(EX_USAGE);
	}
	*reply = read_whole(path, reply_len);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	return listen_on(address, port, socket_flags);
}

/* A slot for every descriptor the process may have. */
size_t
descriptor_slots(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		err(EX_OSERR, "getrlimit");
	return (size_t)rl.rlim_cur;
}
