/*
 * The harness's finger client (see harness.h): non-blocking sockets,
 * every connect, send and read bounded; one whole exchange; assert_bytes,
 * which shows where a reply differs; and nofinger_under_load, clients
 * that ask for one member while her .nofinger comes and goes.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static bool
wait_for(int fd, short events, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, ms_left(deadline));
	} while (n < 0 && errno == EINTR);
	return n == 1;
}

static int
connect_to_from(const char *source, const char *host, int port, int rcvbuf)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV }, *ai, *from;
	double deadline = now_seconds() + WAIT_CONNECT_MS / 1000.0;
	char service[16];
	socklen_t len = sizeof(int);
	int fd, error = 0;

	snprintf(service, sizeof(service), "%d", port);
	cr_assert(getaddrinfo(host, service, &hints, &ai) == 0,
	    "cannot resolve %s", host);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (source != NULL) {
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
		cr_assert(getaddrinfo(source, NULL, &hints, &from) == 0,
		    "cannot resolve %s", source);
		cr_assert(bind(fd, from->ai_addr, from->ai_addrlen) == 0,
		    "bind %s: %s", source, strerror(errno));
		freeaddrinfo(from);
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		error = errno;
		if (error == EINPROGRESS) {
			error = ETIMEDOUT;
			if (wait_for(fd, POLLOUT, deadline))
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &error,
				    &len);
		}
	}
	freeaddrinfo(ai);
	if (error != 0) {
		close(fd);
		errno = error;
		return -1;
	}
	return fd;
}

static int
connect_to(const char *host, int port, int rcvbuf)
{
	return connect_to_from(NULL, host, port, rcvbuf);
}

/* A connected socket, or -1 with errno (ECONNREFUSED, ETIMEDOUT). */
int
client_connect(const char *host, int port)
{
	return connect_to(host, port, 0);
}

/* The same from the local address source (127.0.0.2, say). */
int
client_connect_from(const char *source, const char *host, int port)
{
	return connect_to_from(source, host, port, 0);
}

/* The same with a small receive buffer, for a reply that must stall. */
int
client_connect_small(const char *host, int port, int rcvbuf)
{
	return connect_to(host, port, rcvbuf);
}

void
client_send(int fd, const void *data, size_t len)
{
	double deadline = now_seconds() + WAIT_REPLY_MS / 1000.0;
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			cr_assert(wait_for(fd, POLLOUT, deadline),
			    "client: send timed out");
			continue;
		}
		cr_assert(n > 0, "client: send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Reads until b holds at least want bytes or the peer closes, at most
 * timeout_ms.  Returns 0 at EOF, 1 with want bytes and the connection
 * open, -1 with errno: ETIMEDOUT, ECONNRESET...
 */
int
client_read(int fd, struct buffer *b, size_t want, int timeout_ms)
{
	double deadline = now_seconds() + timeout_ms / 1000.0;
	char chunk[65536];
	ssize_t n;

	buffer_append(b, "", 0);
	while (b->len < want) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			buffer_append(b, chunk, (size_t)n);
		} else if (n == 0) {
			return 0;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (!wait_for(fd, POLLIN, deadline)) {
				errno = ETIMEDOUT;
				return -1;
			}
		} else {
			return -1;
		}
	}
	return 1;
}

/* Everything until the peer closes; 0, or -1 with errno. */
int
client_read_all(int fd, struct buffer *b, int timeout_ms)
{
	return client_read(fd, b, (size_t)-1, timeout_ms);
}

void
client_half_close(int fd)
{
	cr_assert(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
}

/* Closes with a RST instead of a FIN. */
void
client_reset(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	cr_assert(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == 0);
	close(fd);
}

/*
 * The listening sockets on port at 127.0.0.1, as the rows of
 * /proc/net/tcp (this test's network namespace) show them: each one's
 * accept queue (rx_queue, the connections made and not yet accepted)
 * and inode, at most n of them; how many there are.
 */
static size_t
listeners_at(int port, unsigned *backlogs, unsigned long *inodes, size_t n)
{
	char line[512], local[32], want[32];
	unsigned state, tx, rx;
	unsigned long inode;
	size_t count = 0;
	FILE *f;

	snprintf(want, sizeof(want), "0100007F:%04X", (unsigned)port);
	cr_assert((f = fopen("/proc/net/tcp", "r")) != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*u: %31s %*s %x %x:%x %*x:%*x %*x %*u %*u "
		    "%lu", local, &state, &tx, &rx, &inode) != 5 ||
		    state != 0x0A || strcmp(local, want) != 0)
			continue;
		if (count < n) {
			backlogs[count] = rx;
			inodes[count] = inode;
		}
		count++;
	}
	fclose(f);
	return count;
}

#define LISTENERS_MAX	64

/* The connections made to port at 127.0.0.1 and not accepted. */
unsigned
backlog_of(int port)
{
	unsigned backlogs[LISTENERS_MAX], total = 0;
	unsigned long inodes[LISTENERS_MAX];
	size_t i, n;

	n = listeners_at(port, backlogs, inodes, LISTENERS_MAX);
	for (i = 0; i < n && i < LISTENERS_MAX; i++)
		total += backlogs[i];
	return total;
}

/* Whether process pid holds a listening socket on port at 127.0.0.1. */
bool
listener_held(pid_t pid, int port)
{
	unsigned backlogs[LISTENERS_MAX];
	unsigned long inodes[LISTENERS_MAX];
	char path[320], link[64], want[64];
	struct dirent *e;
	size_t i, n;
	bool held = false;
	ssize_t len;
	DIR *d;

	n = listeners_at(port, backlogs, inodes, LISTENERS_MAX);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return false;
	while (!held && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
		    e->d_name);
		if ((len = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[len] = '\0';
		for (i = 0; i < n && i < LISTENERS_MAX && !held; i++) {
			snprintf(want, sizeof(want), "socket:[%lu]", inodes[i]);
			held = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return held;
}

/* True when nothing came and the server has not closed. */
bool
client_quiet(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 0;
}

/*
 * One exchange: sends the query as given (its line end included) and
 * reads the reply until the server closes.  Returns what client_read_all
 * returns.
 */
int
finger(const char *host, int port, const void *query, size_t len,
    struct buffer *reply)
{
	int fd, ret, saved;

	memset(reply, 0, sizeof(*reply));
	fd = client_connect(host, port);
	cr_assert(fd >= 0, "connect to %s port %d: %s", host, port,
	    strerror(errno));
	client_send(fd, query, len);
	ret = client_read_all(fd, reply, WAIT_REPLY_MS);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

/* At most 400 bytes around offset, escaped, for a failure message. */
static char *
escape(const char *data, size_t len, size_t offset)
{
	size_t start = offset > 200 ? offset - 200 : 0, i, n = 0;
	char *out = malloc(4 * 400 + 16);

	cr_assert_not_null(out, "out of memory");
	if (start > 0)
		n += (size_t)sprintf(out, "...");
	for (i = start; i < len && i < start + 400; i++) {
		unsigned char ch = (unsigned char)data[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[n++] = (char)ch;
		else
			n += (size_t)sprintf(out + n, "\\x%02x", ch);
	}
	if (i < len)
		n += (size_t)sprintf(out + n, "...");
	out[n] = '\0';
	return out;
}

void
assert_bytes(const struct buffer *b, const void *want, size_t len,
    const char *what)
{
	size_t i = 0;
	char *got_text, *want_text;

	while (i < b->len && i < len && b->data[i] == ((const char *)want)[i])
		i++;
	if (i == len && b->len == len)
		return;
	got_text = escape(b->data, b->len, i);
	want_text = escape(want, len, i);
	cr_assert_fail("%s: %zu bytes received, %zu expected, first "
	    "difference at byte %zu\n  received: \"%s\"\n  expected: \"%s\"",
	    what, b->len, len, i, got_text, want_text);
}

/* ------------------------------------------- a .nofinger under a load */

#define HIDING_THREADS	4
#define HIDING_REPLIES	(1 << 18)

/*
 * Clients that ask for one member again and again, each reply noted with
 * when it was asked and which of the two it is: shown (0), hidden (1),
 * or neither (-1: other bytes, or no whole reply).
 */
struct hiding {
	const char	*host;
	int		 port;
	const char	*query;
	const char	*want[2];
	int		 stop;		/* read and set atomically */
	pthread_mutex_t	 lock;
	size_t		 count;
	bool		 full;		/* more replies than noted */
	struct {
		double	 asked;
		int	 which;
	}		 v[HIDING_REPLIES];
};

/* One exchange with blocking calls, each bounded by SO_RCVTIMEO. */
static int
hiding_exchange(const struct hiding *h)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timeval bound = { 10, 0 };
	char reply[1024];
	size_t got = 0, len = strlen(h->query);
	ssize_t n = -1;
	int fd, i;

	inet_pton(AF_INET, h->host, &to.sin_addr);
	to.sin_port = htons((uint16_t)h->port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 &&
	    send(fd, h->query, len, MSG_NOSIGNAL) == (ssize_t)len)
		while (got < sizeof(reply) &&
		    (n = recv(fd, reply + got, sizeof(reply) - got, 0)) > 0)
			got += (size_t)n;
	close(fd);
	for (i = 0; i < 2 && n == 0; i++)
		if (got == strlen(h->want[i]) &&
		    memcmp(reply, h->want[i], got) == 0)
			return i;
	return -1;
}

static void *
hiding_thread(void *arg)
{
	struct hiding *h = arg;
	double asked;
	int which;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		asked = now_seconds();
		which = hiding_exchange(h);
		pthread_mutex_lock(&h->lock);
		if (h->count < HIDING_REPLIES) {
			h->v[h->count].asked = asked;
			h->v[h->count++].which = which;
		} else {
			h->full = true;
		}
		pthread_mutex_unlock(&h->lock);
		usleep(1000);	/* a load, not a flood */
	}
	return NULL;
}

/*
 * Of the replies asked in [from, to): how many, and how many were not
 * want (which).
 */
static size_t
hiding_others(struct hiding *h, double from, double to, int want,
    size_t *asked)
{
	size_t i, others = 0;

	*asked = 0;
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->count; i++)
		if (h->v[i].asked >= from && h->v[i].asked < to) {
			(*asked)++;
			others += h->v[i].which != want;
		}
	pthread_mutex_unlock(&h->lock);
	return others;
}

/* The list, byte for byte. */
static void
hiding_list(const struct hiding *h, const char *want, const char *what)
{
	struct buffer b;

	cr_assert_eq(finger(h->host, h->port, "\r\n", 2, &b), 0);
	assert_bytes(&b, want, strlen(want), what);
	buffer_free(&b);
}

/*
 * A member hides under load (issue 21, 3): clients ask for them
 * continuously (query) while the file nofinger is created, then
 * removed.  Every reply is shown or hidden byte for byte; every reply
 * asked 2 s (scaled) after the creation is hidden, and the list is then
 * list_hidden; every one asked 2 s after the removal is shown, and the
 * list is list_shown.  The daemon is f's, listening on host.
 */
void
nofinger_under_load(struct fixture *f, const char *host, const char *query,
    const char *nofinger, const char *shown, const char *hidden,
    const char *list_shown, const char *list_hidden)
{
	struct hiding *h = calloc(1, sizeof(*h));
	pthread_t threads[HIDING_THREADS];
	double start, created, removed, end, settle = 2.0 * wait_scale();
	size_t asked, others;
	int i;

	cr_assert_not_null(h);
	*h = (struct hiding){ .host = host, .port = f->port, .query = query,
	    .want = { shown, hidden } };
	pthread_mutex_init(&h->lock, NULL);
	start = now_seconds();
	for (i = 0; i < HIDING_THREADS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, hiding_thread,
		    h), 0);
	usleep(500 * 1000);
	created = now_seconds();
	write_file(nofinger, "", 0, 0644);
	usleep((useconds_t)(settle * 1e6) + 200 * 1000);
	hiding_list(h, list_hidden, "the list, .nofinger there");
	usleep(1000 * 1000);
	removed = now_seconds();
	cr_assert_eq(unlink(nofinger), 0, "%s: %s", nofinger, strerror(errno));
	usleep((useconds_t)(settle * 1e6) + 200 * 1000);
	hiding_list(h, list_shown, "the list, .nofinger gone");
	usleep(1000 * 1000);
	end = now_seconds();
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < HIDING_THREADS; i++)
		pthread_join(threads[i], NULL);
	cr_assert(!h->full, "more than %d replies", HIDING_REPLIES);
	others = hiding_others(h, start, created, 0, &asked);
	cr_assert(asked > 0 && others == 0, "before: %zu of %zu replies not "
	    "the member's", others, asked);
	others = hiding_others(h, created + settle, removed, 1, &asked);
	cr_assert(asked > 0 && others == 0, "%zu of %zu replies asked %.1f s "
	    "or more after .nofinger was made not the non-member's", others,
	    asked, settle);
	others = hiding_others(h, removed + settle, end, 0, &asked);
	cr_assert(asked > 0 && others == 0, "%zu of %zu replies asked %.1f s "
	    "or more after .nofinger was removed not the member's", others,
	    asked, settle);
	for (i = 0; i < (int)h->count; i++)
		cr_assert_neq(h->v[i].which, -1, "a reply asked %.3f s after "
		    "the start neither the member's nor the non-member's",
		    h->v[i].asked - start);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
