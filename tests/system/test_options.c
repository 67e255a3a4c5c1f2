/*
 * The daemon suite: each test has its own fixture (see harness.h) and its
 * own daemon on a free port.  Its TestSuite is here, its tests in
 * test_options.c, test_clients.c, test_plans.c, test_logging.c,
 * test_engines.c and test_inetd.c.  This file: the command line and the
 * signals: binding (dual stack by default, -B), SIGHUP's reload, -n, the
 * usage errors and exit statuses, -g, -p, -u, a port in use, -h and -V.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define LOCAL6		"::1"

TestSuite(daemon, .init = fixture_setup, .fini = fixture_teardown);

/* The log says once that the daemon listens on address (a pattern). */
static void
listening_logged(const char *address)
{
	char pattern[128];

	snprintf(pattern, sizeof(pattern), "^fingerd: event=listen address="
	    "%s:%d$", address, fx.port);
	cr_assert_eq(log_count(&fx, pattern), 1, "no line %s", pattern);
}

/* Bound to the other family's loopback (bound): address is refused. */
static void
refused_at(const char *address, const char *bound)
{
	cr_assert_eq(client_connect(address, fx.port), -1,
	    "%s accepted with -B %s", address, bound);
	cr_assert_eq(errno, ECONNREFUSED, "%s: %s", address, strerror(errno));
}

/* Without -B: one dual-stack socket, for IPv4 and IPv6 clients. */
Test(daemon, dual_stack_by_default)
{
	daemon_start(&fx, NULL);
	listening_logged("\\[::\\]");
	expect_at(LOCAL, "alice\r\n", REPLY_ALICE, sizeof(REPLY_ALICE) - 1);
	expect_at(LOCAL6, "alice\r\n", REPLY_ALICE, sizeof(REPLY_ALICE) - 1);
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"alice\" ");
	EXPECT_LOG("^fingerd: client=::1 query=\"alice\" ");
	stopped_cleanly();
}

Test(daemon, bind_ipv4_refuses_ipv6)
{
	daemon_start(&fx, "-B", LOCAL, NULL);
	listening_logged("127\\.0\\.0\\.1");
	refused_at(LOCAL6, LOCAL);
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

Test(daemon, bind_ipv6_refuses_ipv4)
{
	daemon_start(&fx, "-B", LOCAL6, NULL);
	listening_logged("\\[::1\\]");
	refused_at(LOCAL, LOCAL6);
	expect_at(LOCAL6, "alice\r\n", REPLY_ALICE, sizeof(REPLY_ALICE) - 1);
	stopped_cleanly();
}

/* SIGHUP reads the group again: a member comes, another goes. */
Test(daemon, sighup_reloads_group)
{
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(log_count(&fx, "^fingerd: event=start group=finger "
	    "members=5 workers=[0-9]+$"), 1);
	EXPECT("mallory\r\n", REPLY_NO_SUCH_USER);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",mallory");
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("^fingerd: event=reload group=finger members=6 generation=[0-9]+ why=sighup$");
	EXPECT("mallory\r\n", REPLY_MALLORY);
	EXPECT("\r\n", REPLY_LIST LIST_MALLORY);
	fixture_group_rewrite(&fx, "erin,carol,dan,mallory");
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("^fingerd: event=reload group=finger members=5 generation=[0-9]+ why=sighup$");
	EXPECT("alice\r\n", REPLY_NO_SUCH_USER);
	EXPECT("mallory\r\n", REPLY_MALLORY);
	stopped_cleanly();
	/* the generations replaced said nothing of a stop: only the last */
	cr_assert_eq(log_count(&fx, "stop"), 2, "a reload logged as a "
	    "stop: %zu stop lines", log_count(&fx, "stop"));
	cr_assert_eq(log_count(&fx, "^fingerd: event=stop signal=SIGTERM "
	    "in_flight=0$"), 1);
}

Test(daemon, refuse_list)
{
	daemon_start(&fx, "-B", LOCAL, "-n", NULL);
	EXPECT("\r\n", REPLY_LIST_DENIED);
	EXPECT("/W\r\n", REPLY_LIST_DENIED);
	EXPECT("/w \t\n", REPLY_LIST_DENIED);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT_LOG("query=\"\" reply=list-denied end=ok sent=32 ");
	stopped_cleanly();
}

/* A bad command line: status 64 and one line on stderr, nothing more. */
static void
usage_error_checked(int status, const char *what)
{
	struct buffer log, out;

	log_read(&fx, &log);
	out_read(&fx, &out);
	cr_assert_eq(status, 64, "%s: status %d; stderr:\n%s", what, status,
	    log.data);
	cr_assert_eq(log_lines(&fx), 1, "%s: stderr:\n%s", what, log.data);
	cr_assert_eq(log_count(&fx, "^fingerd: .*; see fingerd -h$"), 1,
	    "%s: stderr:\n%s", what, log.data);
	assert_reply(&out, "", "stdout");
	buffer_free(&log);
	buffer_free(&out);
}

#define USAGE_ERROR(name, ...) \
	Test(daemon, usage_error_##name) \
	{ \
		usage_error_checked(daemon_run(&fx, __VA_ARGS__, NULL), \
		    #__VA_ARGS__); \
	}

USAGE_ERROR(t_zero, "-P", "0", "-t", "0")
USAGE_ERROR(t_not_a_number, "-P", "0", "-t", "abc")
USAGE_ERROR(t_negative, "-P", "0", "-t", "-1")
USAGE_ERROR(t_without_value, "-P", "0", "-t")
USAGE_ERROR(port_too_big, "-P", "70000")
USAGE_ERROR(port_empty, "-P", "")
USAGE_ERROR(unknown_flag, "-P", "0", "-x")
USAGE_ERROR(extra_argument, "-P", "0", "extra")
USAGE_ERROR(bind_garbage, "-P", "0", "-B", "garbage")
USAGE_ERROR(clients_zero, "-P", "0", "-c", "0")
USAGE_ERROR(per_address_zero, "-P", "0", "-a", "0")
USAGE_ERROR(max_trailing_garbage, "-P", "0", "-m", "100k")

Test(daemon, unknown_group)
{
	int status = daemon_run(&fx, "-P", "0", "-g", "nosuchgroup", NULL);

	cr_assert_eq(status, 67, "status %d", status);
	one_line_checked("^fingerd: .*nosuchgroup");
}

/* An empty -g or -u names nothing: a usage error, not a missing group. */
Test(daemon, empty_names_refused)
{
	int status = daemon_run(&fx, "-P", "0", "-g", "", NULL);

	cr_assert_eq(status, 64, "status %d", status);
	one_line_checked("^fingerd: -g: the name is empty; see fingerd -h$");
	status = daemon_run(&fx, "-P", "0", "-u", "", NULL);
	cr_assert_eq(status, 64, "status %d", status);
	one_line_checked("^fingerd: -u: the name is empty; see fingerd -h$");
}

/* A -p that is not an address or prefix says so (NULL: -p last, bare). */
Test(daemon, proxy_prefixes_refused)
{
	static const struct {
		const char	*prefix;
		const char	*line;
	} cases[] = {
		{ "garbage", "^fingerd: -p: 'garbage' is not an IPv4 or IPv6 "
		    "address or prefix; see fingerd -h$" },
		{ "10.0.0.1/8", "^fingerd: -p: '10\\.0\\.0\\.1/8' has bits "
		    "set past its prefix length; see fingerd -h$" },
		{ "::/129", "^fingerd: -p: '::/129' has a prefix length that "
		    "is not 0 to 128; see fingerd -h$" },
		{ NULL, "^fingerd: -p needs a value; see fingerd -h$" },
	};
	size_t i;
	int status;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		status = daemon_run(&fx, "-P", "0", "-p", cases[i].prefix,
		    NULL);
		cr_assert_eq(status, 64, "%s: status %d", cases[i].line,
		    status);
		one_line_checked(cases[i].line);
	}
}

/*
 * -p lists proxies; a client not listed is served as it was, and a PROXY
 * line from it is its query line, with the reply such a line gets.
 */
Test(daemon, proxy_unlisted_client)
{
	daemon_start(&fx, "-B", LOCAL, "-p", "10.0.0.0/8", "-p",
	    "2001:db8::/32", "-p", "::1", NULL);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("PROXY TCP4 192.0.2.1 127.0.0.1 56324 79\r\nalice\r\n",
	    REPLY_INVALID);
	EXPECT_LOG("client=127\\.0\\.0\\.1 query=\"PROXY TCP4 192\\.0\\.2\\.1 "
	    "127\\.0\\.0\\.1 56324 79\" reply=invalid end=ok ");
	stopped_cleanly();
}

/* A count of one is singular in the log. */
Test(daemon, one_member_is_singular)
{
	fixture_group_rewrite(&fx, "alice");
	daemon_start(&fx, "-B", LOCAL, "-g", "users", NULL);
	cr_assert_eq(log_count(&fx, "^fingerd: event=start group=users "
	    "members=1 workers=[0-9]+$"), 1, "mallory's primary group");
	stopped_cleanly();
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(log_count(&fx, "^fingerd: event=start group=finger "
	    "members=2 workers=[0-9]+$"), 1);
	fixture_group_rewrite(&fx, "");
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("^fingerd: event=reload group=finger members=1 generation=[0-9]+ why=sighup$");
	stopped_cleanly();
}

Test(daemon, unknown_user)
{
	int status;

	if (geteuid() != 0)
		cr_skip_test("-u is used only when started as root; not root");
	status = daemon_run(&fx, "-P", "0", "-u", "nosuchuser", NULL);
	cr_assert_eq(status, 67, "status %d", status);
	one_line_checked("^fingerd: .*nosuchuser");
}

Test(daemon, port_in_use)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char port[16];
	int fd, status;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sin, len) == 0 &&
	    listen(fd, 1) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	snprintf(port, sizeof(port), "%d", ntohs(sin.sin_port));
	status = daemon_run(&fx, "-B", LOCAL, "-P", port, NULL);
	close(fd);
	cr_assert_eq(status, 69, "status %d", status);
	one_line_checked("^fingerd: cannot bind 127\\.0\\.0\\.1:[0-9]+: ");
}

Test(daemon, help_and_version)
{
	struct buffer out;
	int status;

	status = daemon_run(&fx, "-h", NULL);
	cr_assert_eq(status, 0, "-h: status %d", status);
	cr_assert_eq(log_lines(&fx), 0, "-h wrote on stderr");
	out_read(&fx, &out);
	cr_assert(strncmp(out.data, "usage: fingerd ", 15) == 0,
	    "-h: %s", out.data);
	buffer_free(&out);
	status = daemon_run(&fx, "-V", NULL);
	cr_assert_eq(status, 0, "-V: status %d", status);
	cr_assert_eq(log_lines(&fx), 0, "-V wrote on stderr");
	out_read(&fx, &out);
	cr_assert(strncmp(out.data, "fingerd ", 8) == 0 &&
	    strchr(out.data, '\n') == out.data + out.len - 1,
	    "-V: %s", out.data);
	buffer_free(&out);
}
