/*
 * What every system suite shares (see harness.h): the fixture of the test
 * that runs, made and removed by a suite's .init and .fini, and the
 * checks the suites make of its daemon.  Criterion runs each test in a
 * process of its own: one fixture a process.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

struct fixture fx;

void
fixture_setup(void)
{
	fixture_create(&fx);
}

void
fixture_teardown(void)
{
	fixture_destroy(&fx);
}

/* For a test that holds many sockets itself: the soft limit at the hard. */
rlim_t
files_limit_raise(void)
{
	struct rlimit rl;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	return rl.rlim_cur;
}

/* The daemon's reply at host to query (len bytes) is exactly want. */
void
expect_reply_at(const char *host, const void *query, size_t len,
    const void *want, size_t want_len)
{
	struct buffer b;

	if (finger(host, fx.port, query, len, &b) != 0)
		cr_assert_fail("query %.*s to %s: no close from the server: "
		    "%s\n%s", (int)(len < 40 ? len : 40), (const char *)query,
		    host, strerror(errno), daemon_describe(&fx));
	assert_bytes(&b, want, want_len, query);
	buffer_free(&b);
}

void
expect_at(const char *host, const char *query, const void *want,
    size_t want_len)
{
	expect_reply_at(host, query, strlen(query), want, want_len);
}

/*
 * The first time (seconds, of now_seconds()) fx's daemon at LOCAL replies
 * want to query, asking every poll_ms for up to seconds; -1 if never.
 */
double
served_at(const char *query, const char *want, double seconds, int poll_ms)
{
	double end = now_seconds() + seconds;
	struct timespec pause = { poll_ms / 1000, poll_ms % 1000 * 1000000L };
	struct buffer b;
	bool same;

	do {
		if (finger(LOCAL, fx.port, query, strlen(query), &b) != 0)
			cr_assert_fail("query %s: no close from the server: "
			    "%s\n%s", query, strerror(errno),
			    daemon_describe(&fx));
		same = b.len == strlen(want) && memcmp(b.data, want, b.len) == 0;
		buffer_free(&b);
		if (same)
			return now_seconds();
		nanosleep(&pause, NULL);
	} while (now_seconds() < end);
	return -1;
}

/* SIGTERM: exit 0, which a sanitizer changes when it finds an error. */
void
stopped_cleanly(void)
{
	daemon_stopped_cleanly(&fx);
}

/* The reason a test cannot run under valgrind, said when it skips. */
void
skip_under_valgrind(const char *why)
{
	if (under_valgrind())
		cr_skip_test("valgrind: %s", why);
}

/*
 * A blocking connection from the IPv4 address source (127.0.0.2, say) to
 * port at LOCAL, with a receive buffer of rcvbuf bytes (0: the system's).
 */
int
client_connect_blocking(const char *source, int port, int rcvbuf)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd;

	inet_pton(AF_INET, source, &from.sin_addr);
	inet_pton(AF_INET, LOCAL, &to.sin_addr);
	to.sin_port = htons((uint16_t)port);
	cr_assert((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	if (rcvbuf > 0)
		cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf)), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0,
	    "bind %s: %s", source, strerror(errno));
	cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0,
	    "connect from %s: %s", source, strerror(errno));
	return fd;
}

/* A port nothing listens on now. */
int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd, port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Waits, bounded, until the port accepts connections at LOCAL. */
bool
accepting(int port)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int fd;

	while (now_seconds() < deadline) {
		if ((fd = client_connect(LOCAL, port)) >= 0) {
			close(fd);
			return true;
		}
		nanosleep(&pause, NULL);
	}
	return false;
}

/* Exactly one line on stderr, matching pattern; nothing on stdout. */
void
one_line_checked(const char *pattern)
{
	struct buffer log, out;

	log_read(&fx, &log);
	out_read(&fx, &out);
	cr_assert_eq(log_lines(&fx), 1, "stderr:\n%s", log.data);
	cr_assert_eq(log_count(&fx, pattern), 1, "stderr:\n%s", log.data);
	assert_reply(&out, "", "stdout");
	buffer_free(&log);
	buffer_free(&out);
}
