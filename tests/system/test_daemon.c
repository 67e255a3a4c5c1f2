/*
 * The daemon's lifecycle and the hostile cases, against the real binary:
 * each test has its own fixture (see harness.h) and its own daemon on a
 * free port.  Plans that are links, FIFOs or huge; clients that never
 * send, never read, reset or half-close; binding, signals, limits, the
 * log, the exit statuses and the privileges it keeps.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define LOCAL6		"::1"

/* A plan larger than the daemon's socket buffer can hold (4 MiB). */
#define HUGE_PLAN	(8 * 1024 * 1024)
#define HUGE_MAX	"16777216"

/* Skipped under valgrind: no Landlock nor seccomp (warnings), slow windows. */
#define LOG_EXACT	"the log's exact lines and timing"

TestSuite(daemon, .init = fixture_setup, .fini = fixture_teardown);

/* Appends what the non-blocking pipe holds now. */
static void
log_pipe_read(int fd, struct buffer *log)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buffer_append(log, chunk, (size_t)n);
}

/* The reply to alice whose plan is text: Login, Plan and text in CRLF. */
static char *
plan_reply(const char *text, size_t len, size_t *reply_len)
{
	static const char head[] = LOGIN_ALICE "Plan:\r\n";
	size_t n;
	char *body = crlf_convert(text, len, &n), *reply;

	reply = malloc(sizeof(head) + n);
	cr_assert_not_null(reply);
	memcpy(reply, head, sizeof(head) - 1);
	memcpy(reply + sizeof(head) - 1, body, n + 1);
	free(body);
	*reply_len = sizeof(head) - 1 + n;
	return reply;
}

/* The number after sent= in the first log line that matches. */
static unsigned long long
log_sent(const char *pattern)
{
	struct buffer line;
	unsigned long long sent;
	char *p;

	cr_assert(log_find(&fx, pattern, &line), "no log line matches %s",
	    pattern);
	p = strstr(line.data, " sent=");
	cr_assert_not_null(p, "no sent= in %s", line.data);
	sent = strtoull(p + 6, NULL, 10);
	buffer_free(&line);
	return sent;
}

/* Gives alice a HUGE_PLAN plan; the whole reply to her is *reply. */
static void
huge_reply(char **reply, size_t *len)
{
	char *text = huge_text(HUGE_PLAN);

	plan_write(&fx, "alice", text, HUGE_PLAN);
	*reply = plan_reply(text, HUGE_PLAN, len);
	free(text);
}

Test(daemon, plan_symlink_not_followed)
{
	char target[256], path[256];

	snprintf(target, sizeof(target), "%s/home/alice/real-plan", fx.dir);
	plan_path(&fx, "alice", path, sizeof(path));
	cr_assert(rename(path, target) == 0);
	plan_symlink(&fx, "alice", target);
	plan_symlink(&fx, "dan", "../alice/real-plan");
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT("dan\r\n", "Login: dan\tName: Dan Noeol\r\n" NO_PLAN);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=symlink end=ok ");
	stopped_cleanly();
}

/* A FIFO with no writer: answered at once, and nobody waits for it. */
Test(daemon, plan_fifo_not_blocking)
{
	struct buffer b = { 0 };
	double start;
	int fd;

	plan_fifo(&fx, "alice");
	daemon_start(&fx, "-B", LOCAL, "-t", "8", NULL);
	start = now_seconds();
	fd = client_connect(LOCAL, fx.port);
	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	client_send(fd, "alice\r\n", 7);
	EXPECT("bob\r\n", REPLY_BOB);
	cr_assert_eq(client_read_all(fd, &b, 3000 * wait_scale()), 0,
	    "the FIFO plan was not answered within 3 s: %s", strerror(errno));
	assert_reply(&b, LOGIN_ALICE NO_PLAN, "alice with a FIFO plan");
	cr_assert(now_seconds() - start < LATENCY(3.0));
	close(fd);
	buffer_free(&b);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=not-a-file end=ok ");
	stopped_cleanly();
}

Test(daemon, plan_directory)
{
	plan_directory(&fx, "alice");
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=not-a-file end=ok ");
	stopped_cleanly();
}

Test(daemon, plan_missing)
{
	plan_remove(&fx, "alice");
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT("carol\r\n", REPLY_CAROL);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=missing end=ok ");
	EXPECT_LOG("query=\"carol\" reply=no-plan why=missing end=ok sent=43 ");
	stopped_cleanly();
}

Test(daemon, plan_unreadable)
{
	char path[256];

	plan_path(&fx, "alice", path, sizeof(path));
	cr_assert(chmod(path, 0) == 0);
	/* Root reads anything: the daemon must run as nobody for this. */
	if (geteuid() != 0 && access(path, R_OK) == 0)
		cr_skip_test("this user can read a file of mode 0000");
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=denied end=ok ");
	stopped_cleanly();
}

/*
 * A home of mode 0700, as Debian 12's adduser makes them: the -u account
 * cannot search it.  The client gets "No Plan."; the log says why.
 */
Test(daemon, plan_in_a_home_nobody_may_search)
{
	char path[256];

	home_file_path(&fx, "alice", "", path, sizeof(path));
	cr_assert(chmod(path, 0700) == 0);
	if (geteuid() != 0)
		cr_skip_test("the daemon must run as nobody for this");
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=denied end=ok ");
	stopped_cleanly();
}

/* A 5 MiB plan and -m 100000: the first 100000 bytes, then a CRLF. */
Test(daemon, plan_cut_at_max)
{
	char *text = huge_text(5 * 1024 * 1024), *want, pattern[200];
	struct buffer b;
	size_t len;

	plan_write(&fx, "alice", text, 5 * 1024 * 1024);
	want = plan_reply(text, 100000, &len);
	daemon_start(&fx, "-B", LOCAL, "-m", "100000", NULL);
	cr_assert_eq(finger(LOCAL, fx.port, "alice\r\n", 7, &b), 0);
	assert_bytes(&b, want, len, "alice, cut at 100000 bytes");
	snprintf(pattern, sizeof(pattern), "^fingerd: client=127\\.0\\.0\\.1 "
	    "query=\"alice\" reply=plan-cut end=ok sent=%zu ms=", len);
	EXPECT_LOG(pattern);
	buffer_free(&b);
	free(want);
	free(text);
	stopped_cleanly();
}

/* The default -m is 1048576. */
Test(daemon, plan_cut_at_default_max)
{
	char *text = huge_text(5 * 1024 * 1024), *want, pattern[200];
	struct buffer b;
	size_t len;

	plan_write(&fx, "alice", text, 5 * 1024 * 1024);
	want = plan_reply(text, 1048576, &len);
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(finger(LOCAL, fx.port, "alice\r\n", 7, &b), 0);
	assert_bytes(&b, want, len, "alice, cut at 1048576 bytes");
	snprintf(pattern, sizeof(pattern),
	    "query=\"alice\" reply=plan-cut end=ok sent=%zu ms=", len);
	EXPECT_LOG(pattern);
	buffer_free(&b);
	free(want);
	free(text);
	stopped_cleanly();
}

/* A plan of exactly -m bytes is whole: not cut, nothing added. */
Test(daemon, plan_of_exactly_max_not_cut)
{
	char *text = huge_text(100000), *want, pattern[200];
	struct buffer b;
	size_t len;

	plan_write(&fx, "alice", text, 100000);
	want = plan_reply(text, 100000, &len);
	daemon_start(&fx, "-B", LOCAL, "-m", "100000", NULL);
	cr_assert_eq(finger(LOCAL, fx.port, "alice\r\n", 7, &b), 0);
	assert_bytes(&b, want, len, "alice, 100000 bytes");
	snprintf(pattern, sizeof(pattern),
	    "query=\"alice\" reply=plan end=ok sent=%zu ms=", len);
	EXPECT_LOG(pattern);
	buffer_free(&b);
	free(want);
	free(text);
	stopped_cleanly();
}

/*
 * The daemon reads 16 KiB at a time: a CRLF whose CR ends a chunk must
 * not become CR CR LF.
 */
Test(daemon, plan_crlf_across_read_chunks)
{
	char *text = huge_text(40000), *want;
	struct buffer b;
	size_t len;

	text[16383] = '\r';
	text[16384] = '\n';
	text[32767] = '\r';
	text[32768] = '\n';
	plan_write(&fx, "alice", text, 40000);
	want = plan_reply(text, 40000, &len);
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(finger(LOCAL, fx.port, "alice\r\n", 7, &b), 0);
	assert_bytes(&b, want, len, "CRLF at 16383 and 32767");
	buffer_free(&b);
	free(want);
	free(text);
	stopped_cleanly();
}

/*
 * UTF-8 sequences cut by the 16 KiB chunks come out whole, and an
 * encoded C1 control cut in two is still removed.
 */
Test(daemon, plan_utf8_across_read_chunks)
{
	char *text = huge_text(60000), *want;
	struct buffer b;
	size_t len;

	memcpy(text + 16382, "\xf0\x9f\x98\x80", 4);	/* 2 + 2 */
	memcpy(text + 32767, "\xe2\x82\xac", 3);	/* 1 + 2 */
	memcpy(text + 49151, "\xc2\x85", 2);		/* 1 + 1 */
	plan_write(&fx, "alice", text, 60000);
	memmove(text + 49151, text + 49153, 60000 - 49153);
	want = plan_reply(text, 60000 - 2, &len);
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(finger(LOCAL, fx.port, "alice\r\n", 7, &b), 0);
	assert_bytes(&b, want, len, "UTF-8 across 16384, 32768, 49152");
	buffer_free(&b);
	free(want);
	free(text);
	stopped_cleanly();
}

/* A client that never sends: reset at the deadline, others served. */
Test(daemon, silent_client_timed_out)
{
	struct buffer b = { 0 };
	double start, took;
	int fd;

	daemon_start(&fx, "-B", LOCAL, "-t", "1", NULL);
	start = now_seconds();	/* the deadline runs from the accept */
	fd = client_connect(LOCAL, fx.port);
	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	EXPECT("alice\r\n", REPLY_ALICE);
	cr_assert(now_seconds() - start < LATENCY(0.8),
	    "another client waited %.2f s", now_seconds() - start);
	cr_assert(client_quiet(fd), "closed before the deadline");
	cr_assert_eq(client_read_all(fd, &b, 4000 * wait_scale()), -1,
	    "not reset within 4 s");
	cr_assert_eq(errno, ECONNRESET, "not reset within 4 s: %s",
	    strerror(errno));
	took = now_seconds() - start;
	assert_reply(&b, "", "to the silent client");
	cr_assert(took >= 0.9 && took <= 1.0 + LATENCY(1.5),
	    "closed after %.2f s", took);
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"\" reply=none "
	    "end=timeout sent=0 ms=[0-9]+\\.[0-9]{3}$");
	close(fd);
	buffer_free(&b);
	stopped_cleanly();
}

/*
 * A query cut off by the deadline, its line unfinished: logged as far as
 * it came, and the connection reset.
 */
Test(daemon, query_cut_off_by_the_deadline_logged)
{
	struct buffer b = { 0 };
	int fd;

	daemon_start(&fx, "-B", LOCAL, "-t", "1", NULL);
	fd = client_connect(LOCAL, fx.port);
	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	client_send(fd, "alic", 4);
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"alic\" reply=none "
	    "end=timeout sent=0 ms=[0-9]+\\.[0-9]{3}$");
	cr_assert_eq(client_read_all(fd, &b, 4000 * wait_scale()), -1,
	    "not reset within 4 s");
	cr_assert_eq(errno, ECONNRESET, "not reset within 4 s: %s",
	    strerror(errno));
	assert_reply(&b, "", "to the client cut off");
	close(fd);
	buffer_free(&b);
	stopped_cleanly();
}

/*
 * A client that never reads a reply bigger than the socket buffers:
 * reset at the deadline; what had come before is the reply's start.
 */
Test(daemon, non_reading_client_timed_out)
{
	struct buffer b = { 0 };
	double start, took;
	unsigned long long sent;
	char *want;
	size_t len;
	int fd;

	huge_reply(&want, &len);
	daemon_start(&fx, "-B", LOCAL, "-t", "1", "-m", HUGE_MAX, NULL);
	start = now_seconds();
	fd = client_connect_small(LOCAL, fx.port, 4096);
	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	client_send(fd, "alice\r\n", 7);
	EXPECT("bob\r\n", REPLY_BOB);
	cr_assert(now_seconds() - start < LATENCY(0.8),
	    "another client waited %.2f s", now_seconds() - start);
	EXPECT_LOG("query=\"alice\" reply=plan end=timeout ");
	took = now_seconds() - start;
	cr_assert(took >= 0.9 && took <= 1.0 + LATENCY(1.5),
	    "closed after %.2f s", took);
	sent = log_sent("query=\"alice\" reply=plan end=timeout ");
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), -1,
	    "no reset after the deadline");
	cr_assert_eq(errno, ECONNRESET, "no reset after the deadline: %s",
	    strerror(errno));
	cr_assert(b.len < len, "the whole reply came (%zu bytes)", b.len);
	cr_assert(b.len <= sent, "%zu bytes received, the log says %llu",
	    b.len, sent);
	cr_assert(memcmp(b.data, want, b.len) == 0,
	    "the bytes received are not the start of the reply");
	close(fd);
	buffer_free(&b);
	free(want);
	stopped_cleanly();
}

/*
 * Sends query (len bytes, maybe none), half-closes, and checks the
 * whole reply and the log line of the exchange.
 */
static void
half_closed_exchange(const char *query, size_t len, const char *want,
    size_t want_len, const char *log_pattern)
{
	struct buffer b = { 0 };
	int fd;

	daemon_start(&fx, "-B", LOCAL, NULL);
	fd = client_connect(LOCAL, fx.port);
	cr_assert(fd >= 0);
	client_send(fd, query, len);
	client_half_close(fd);
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0);
	assert_bytes(&b, want, want_len, query);
	EXPECT_LOG(log_pattern);
	close(fd);
	buffer_free(&b);
}

Test(daemon, half_close_after_query)
{
	half_closed_exchange("alice\r\n", 7, REPLY_ALICE,
	    sizeof(REPLY_ALICE) - 1, "query=\"alice\" reply=plan end=ok ");
	stopped_cleanly();
}

/* A query ended by EOF instead of a newline is answered. */
Test(daemon, half_close_without_newline)
{
	half_closed_exchange("alice", 5, REPLY_ALICE, sizeof(REPLY_ALICE) - 1,
	    "query=\"alice\" reply=plan end=ok ");
	stopped_cleanly();
}

/* EOF before any byte: nothing is sent, the log says no-query. */
Test(daemon, half_close_without_query)
{
	half_closed_exchange("", 0, "", 0,
	    "query=\"\" reply=none end=no-query sent=0 ");
}

/*
 * A client that reads its reply as it comes gets all of it and a FIN,
 * never a reset: a 1 KiB plan, 200 times, and a 512 KiB one (more than
 * the kernel may hold for a client at once) read 4 KiB at a time through
 * a small window, logged end=ok.
 */
Test(daemon, a_client_that_reads_gets_a_clean_close)
{
	char *text = huge_text(1024), *want;
	struct buffer b = { 0 };
	size_t len, i;
	int fd, ret;

	plan_write(&fx, "alice", text, 1024);
	want = plan_reply(text, 1024, &len);
	daemon_start(&fx, "-B", LOCAL, NULL);
	for (i = 0; i < 200; i++) {
		cr_assert_eq(finger(LOCAL, fx.port, "alice\r\n", 7, &b), 0,
		    "exchange %zu: %s", i, strerror(errno));
		assert_bytes(&b, want, len, "the 1 KiB plan");
		buffer_free(&b);
	}
	free(text);
	free(want);
	text = huge_text(512 * 1024);
	plan_write(&fx, "alice", text, 512 * 1024);
	want = plan_reply(text, 512 * 1024, &len);
	fd = client_connect_small(LOCAL, fx.port, 4096);
	cr_assert(fd >= 0);
	client_send(fd, "alice\r\n", 7);
	while ((ret = client_read(fd, &b, b.len + 4096, WAIT_REPLY_MS)) == 1)
		usleep(1000);
	cr_assert_eq(ret, 0, "%zu bytes of %zu, then %s", b.len, len,
	    strerror(errno));
	assert_bytes(&b, want, len, "the 512 KiB plan");
	close(fd);
	cr_assert(log_wait(&fx, "query=\"alice\" reply=plan end=ok sent=", 201,
	    WAIT_LOG_MS), "%zu of 201 exchanges logged end=ok",
	    log_count(&fx, "end=ok"));
	cr_assert_eq(log_count(&fx, " query="), 201);
	buffer_free(&b);
	free(text);
	free(want);
	stopped_cleanly();
}

/*
 * A client that reads the whole of a reply larger than the kernel may
 * hold for it at once (so fingerd, the reply sent, waits for its EOF),
 * then keeps the connection open, as nc(1) may: at the deadline (-t 3)
 * the exchange is logged end=ok, the reply being all acknowledged, not
 * as a client too slow.
 */
Test(daemon, a_client_that_reads_all_but_stays_is_logged_ok)
{
	char *text = huge_text(512 * 1024), *want;
	struct buffer b = { 0 };
	double start;
	size_t len;
	int fd, ret;

	skip_under_valgrind("512 KiB read within -t");	/* -t not scaled */
	plan_write(&fx, "alice", text, 512 * 1024);
	want = plan_reply(text, 512 * 1024, &len);
	daemon_start(&fx, "-B", LOCAL, "-t", "3", NULL);
	start = now_seconds();
	fd = client_connect_small(LOCAL, fx.port, 4096);
	cr_assert(fd >= 0);
	client_send(fd, "alice\r\n", 7);
	while ((ret = client_read(fd, &b, b.len + 4096, WAIT_REPLY_MS)) == 1)
		usleep(1000);
	cr_assert_eq(ret, 0, "%zu bytes of %zu, then %s", b.len, len,
	    strerror(errno));
	assert_bytes(&b, want, len, "the 512 KiB plan");
	EXPECT_LOG("query=\"alice\" reply=plan end=ok sent=532521 ");
	cr_assert_gt(now_seconds() - start, 2.9, "logged before the deadline: "
	    "fingerd did not wait for the client's EOF");
	close(fd);
	buffer_free(&b);
	free(text);
	free(want);
	stopped_cleanly();
}

/*
 * alice's huge reply (*want, *len), on its way to a client with a small
 * window that has read its first 10,000 bytes into b: the client's socket.
 */
static int
huge_reply_streaming(char **want, size_t *len, struct buffer *b)
{
	int fd;

	huge_reply(want, len);
	daemon_start(&fx, "-B", LOCAL, "-m", HUGE_MAX, NULL);
	fd = client_connect_small(LOCAL, fx.port, 4096);
	cr_assert(fd >= 0);
	client_send(fd, "alice\r\n", 7);
	cr_assert_eq(client_read(fd, b, 10000, WAIT_REPLY_MS), 1);
	return fd;
}

/* A client that resets in the middle of a reply: the daemon goes on. */
Test(daemon, client_reset_mid_reply)
{
	struct buffer b = { 0 };
	char *want;
	size_t len;
	int fd;

	fd = huge_reply_streaming(&want, &len, &b);
	cr_assert(memcmp(b.data, want, b.len) == 0);
	client_reset(fd);
	EXPECT_LOG("query=\"alice\" reply=plan end=client-gone ");
	cr_assert(daemon_alive(&fx), "the daemon died");
	EXPECT("bob\r\n", REPLY_BOB);
	buffer_free(&b);
	free(want);
	stopped_cleanly();
}

/*
 * A query line that ends on the last byte of the query buffer (1,024),
 * more bytes after it in the same write: the reply (an 8 MiB plan) comes
 * whole, not cut by a reset for input left unread.
 */
Test(daemon, bytes_past_a_full_query_buffer_do_not_reset_the_reply)
{
	enum { QUERY_MAX = 1024 };	/* fingerd's query buffer */
	char line[QUERY_MAX + 10];
	struct buffer b = { 0 };
	char *want;
	size_t len;
	int fd;

	huge_reply(&want, &len);
	memset(line, ' ', sizeof(line));
	memcpy(line, "alice", 5);
	memcpy(line + QUERY_MAX - 2, "\r\nXXXXXXXXXX", 12);
	daemon_start(&fx, "-B", LOCAL, "-m", HUGE_MAX, NULL);
	cr_assert((fd = client_connect(LOCAL, fx.port)) >= 0);
	client_send(fd, line, sizeof(line));
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0, "%s",
	    strerror(errno));
	cr_assert_eq(b.len, len, "%zu bytes of %zu", b.len, len);
	cr_assert(memcmp(b.data, want, len) == 0);
	close(fd);		/* the end of the input it drains */
	EXPECT_LOG("query=\"alice +\" reply=plan end=ok ");
	buffer_free(&b);
	free(want);
	stopped_cleanly();
}

/*
 * Bytes a client sends while its reply (an 8 MiB plan) streams, its window
 * small: the reply still comes whole, not cut by the reset that a close
 * with input unread makes.
 */
Test(daemon, bytes_sent_while_the_reply_streams_do_not_reset_it)
{
	struct buffer b = { 0 };
	char *want;
	size_t len;
	int fd;

	fd = huge_reply_streaming(&want, &len, &b);
	client_send(fd, "and bob\r\n", 9);
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0, "%s after "
	    "%zu bytes of %zu", strerror(errno), b.len, len);
	cr_assert_eq(b.len, len, "%zu bytes of %zu", b.len, len);
	cr_assert(memcmp(b.data, want, len) == 0);
	close(fd);
	EXPECT_LOG("query=\"alice\" reply=plan end=ok ");
	buffer_free(&b);
	free(want);
	stopped_cleanly();
}

/* Without -B: one dual-stack socket, for IPv4 and IPv6 clients. */
Test(daemon, dual_stack_by_default)
{
	char pattern[64];

	daemon_start(&fx, NULL);
	snprintf(pattern, sizeof(pattern), "^fingerd: event=listen address="
	    "\\[::\\]:%d$", fx.port);
	cr_assert_eq(log_count(&fx, pattern), 1, "no line %s", pattern);
	expect_at(LOCAL, "alice\r\n", REPLY_ALICE, sizeof(REPLY_ALICE) - 1);
	expect_at(LOCAL6, "alice\r\n", REPLY_ALICE, sizeof(REPLY_ALICE) - 1);
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"alice\" ");
	EXPECT_LOG("^fingerd: client=::1 query=\"alice\" ");
	stopped_cleanly();
}

Test(daemon, bind_ipv4_refuses_ipv6)
{
	char pattern[64];

	daemon_start(&fx, "-B", LOCAL, NULL);
	snprintf(pattern, sizeof(pattern), "^fingerd: event=listen address="
	    "127\\.0\\.0\\.1:%d$", fx.port);
	cr_assert_eq(log_count(&fx, pattern), 1, "no line %s", pattern);
	cr_assert_eq(client_connect(LOCAL6, fx.port), -1,
	    "::1 accepted with -B 127.0.0.1");
	cr_assert_eq(errno, ECONNREFUSED, "::1: %s", strerror(errno));
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

Test(daemon, bind_ipv6_refuses_ipv4)
{
	char pattern[64];

	daemon_start(&fx, "-B", LOCAL6, NULL);
	snprintf(pattern, sizeof(pattern), "^fingerd: event=listen address="
	    "\\[::1\\]:%d$", fx.port);
	cr_assert_eq(log_count(&fx, pattern), 1, "no line %s", pattern);
	cr_assert_eq(client_connect(LOCAL, fx.port), -1,
	    "127.0.0.1 accepted with -B ::1");
	cr_assert_eq(errno, ECONNREFUSED, "127.0.0.1: %s", strerror(errno));
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

/*
 * A new connection until one is refused, at most 3 s: the listener
 * closes as the stop's cancellation completes, just after its log line.
 */
static bool
refused_soon(const char *host, int port)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	double deadline = now_seconds() + 3;
	int fd;

	while (now_seconds() < deadline) {
		if ((fd = client_connect(host, port)) < 0)
			return errno == ECONNREFUSED;
		close(fd);
		nanosleep(&pause, NULL);
	}
	return false;
}

/*
 * SIGTERM while a reply bigger than the socket buffers is in flight: no
 * new connection, but that reply goes out whole, then, once the client
 * has closed, exit 0.
 */
Test(daemon, sigterm_finishes_transfer_in_flight)
{
	struct buffer b = { 0 };
	char *want;
	size_t len;
	int fd, status, big = 1 << 20;

	huge_reply(&want, &len);
	daemon_start(&fx, "-B", LOCAL, "-t", "25", "-m", HUGE_MAX, NULL);
	fd = client_connect_small(LOCAL, fx.port, 4096);
	cr_assert(fd >= 0);
	client_send(fd, "alice\r\n", 7);
	cr_assert_eq(client_read(fd, &b, 10000, WAIT_REPLY_MS), 1);
	daemon_signal(&fx, SIGTERM);
	EXPECT_LOG("^fingerd: event=stop signal=SIGTERM in_flight=1$");
	cr_assert(refused_soon(LOCAL, fx.port),
	    "connections still accepted after SIGTERM");
	cr_assert(daemon_alive(&fx), "exited with the reply in flight");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	cr_assert_eq(client_read_all(fd, &b, 20000 * wait_scale()), 0,
	    "the reply did not end: %s", strerror(errno));
	assert_bytes(&b, want, len, "the reply in flight at SIGTERM");
	close(fd);		/* its EOF, which fingerd waits for */
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	cr_assert(status != -1, "no exit after the last reply");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "wait status %#x", status);
	buffer_free(&b);
	free(want);
}

/*
 * SIGTERM with every slot taken (-c 2, two replies in flight) and more
 * connections waiting in the queue: the waiting ones cannot be taken, and
 * are refused as the listener closes; the two in flight end at their
 * deadline; exit 0.  (A stop once took what waited without a slot for
 * it, and the worker died on the null slot.)
 */
Test(daemon, sigterm_with_every_slot_taken)
{
	struct buffer b = { 0 };
	int held[2], waiting[3], status;
	char *text = huge_text(HUGE_PLAN);
	size_t i;

	plan_write(&fx, "alice", text, HUGE_PLAN);
	free(text);
	daemon_start(&fx, "-B", LOCAL, "-c", "2", "-t", "2", "-m", HUGE_MAX,
	    NULL);
	for (i = 0; i < 2; i++) {
		cr_assert((held[i] = client_connect_small(LOCAL, fx.port,
		    4096)) >= 0);
		client_send(held[i], "alice\r\n", 7);
		cr_assert_eq(client_read(held[i], &b, 1000, WAIT_REPLY_MS), 1);
		buffer_free(&b);
	}
	for (i = 0; i < 3; i++) {
		cr_assert((waiting[i] = client_connect(LOCAL, fx.port)) >= 0);
		client_send(waiting[i], "bob\r\n", 5);
	}
	daemon_signal(&fx, SIGTERM);
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	log_read(&fx, &b);
	cr_assert(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "wait status %#x; log:\n%s", status,
	    b.data);
	cr_assert_eq(log_count(&fx, "query=\"alice\" reply=plan end=timeout "),
	    2, "log:\n%s", b.data);
	buffer_free(&b);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(client_read_all(waiting[i], &b, WAIT_REPLY_MS), -1,
		    "a connection that waited got a reply: %s", b.data);
		buffer_free(&b);
		close(waiting[i]);
	}
	close(held[0]);
	close(held[1]);
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

/*
 * The connections in the listening sockets' queues on port at 127.0.0.1,
 * made but not accepted: a listening row of /proc/net/tcp gives its
 * accept queue's length as rx_queue.
 */
static unsigned
backlog_of(int port)
{
	char line[512], local[32], want[32];
	unsigned state, tx, rx, total = 0;
	FILE *f;

	snprintf(want, sizeof(want), "0100007F:%04X", (unsigned)port);
	cr_assert((f = fopen("/proc/net/tcp", "r")) != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*u: %31s %*s %x %x:%x", local, &state, &tx,
		    &rx) == 4 && state == 0x0A && strcmp(local, want) == 0)
			total += rx;
	fclose(f);
	return total;
}

/*
 * -c 1: while the one slot sends a reply, the clients that come after it
 * wait in the backlog, connected and not accepted (the listener's queue
 * holds all three), and none is reset: once the slot is free each is
 * served, whole, in the order it came.  (A slot that has sent no query
 * would be evicted instead: see silent_client_evicted.)
 */
Test(daemon, clients_limit_queues)
{
	static const char *const query[] = { "bob\r\n", "carol\r\n",
	    "dan\r\n" };
	static const char *const reply[] = { REPLY_BOB, REPLY_CAROL,
	    REPLY_DAN };
	struct buffer b = { 0 };
	const char *at, *seen = NULL;
	char *want, pattern[64];
	size_t len, i;
	int fd1, fd[3];

	huge_reply(&want, &len);
	daemon_start(&fx, "-B", LOCAL, "-c", "1", "-m", HUGE_MAX, NULL);
	fd1 = client_connect_small(LOCAL, fx.port, 4096);
	cr_assert(fd1 >= 0);
	client_send(fd1, "alice\r\n", 7);
	cr_assert_eq(client_read(fd1, &b, 1, WAIT_REPLY_MS), 1);
	for (i = 0; i < 3; i++) {
		cr_assert((fd[i] = client_connect(LOCAL, fx.port)) >= 0);
		client_send(fd[i], query[i], strlen(query[i]));
	}
	buffer_free(&b);
	cr_assert_eq(client_read(fd[0], &b, 1, 300), -1,
	    "served past -c 1: %s", b.data);
	cr_assert_eq(errno, ETIMEDOUT, "the second client: %s",
	    strerror(errno));
	cr_assert_eq(backlog_of(fx.port), 3, "%u connections wait in the "
	    "backlog, not 3: accepted past -c 1", backlog_of(fx.port));
	buffer_free(&b);
	client_reset(fd1);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(client_read_all(fd[i], &b, WAIT_REPLY_MS), 0,
		    "client %zu that waited: %s", i + 1, strerror(errno));
		assert_bytes(&b, reply[i], strlen(reply[i]),
		    "a client that waited");
		close(fd[i]);
		buffer_free(&b);
	}
	EXPECT_LOG("query=\"dan\" reply=plan end=ok ");
	log_read(&fx, &b);
	for (i = 0; i < 3; i++) {
		snprintf(pattern, sizeof(pattern), "query=\"%.*s\" ",
		    (int)strcspn(query[i], "\r"), query[i]);
		cr_assert((at = strstr(b.data, pattern)) != NULL &&
		    (seen == NULL || at > seen),
		    "%s served out of the order the clients came", pattern);
		seen = at;
	}
	buffer_free(&b);
	free(want);
	stopped_cleanly();
}

/*
 * -c 1 held by a client that says nothing: the next connection evicts
 * it, and is served at once; the evicted one is closed, logged so.
 */
Test(daemon, silent_client_evicted)
{
	struct buffer b = { 0 };
	double start;
	int fd1;

	daemon_start(&fx, "-B", LOCAL, "-c", "1", NULL);
	fd1 = client_connect(LOCAL, fx.port);
	cr_assert(fd1 >= 0);
	usleep(100 * 1000);		/* accepted, in the slot */
	start = now_seconds();
	EXPECT("bob\r\n", REPLY_BOB);
	cr_assert_lt(now_seconds() - start, LATENCY(0.5),
	    "served after %.2f s", now_seconds() - start);
	cr_assert_eq(client_read_all(fd1, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, "", "to the evicted client");
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"\" reply=none "
	    "end=evicted sent=0 ms=[0-9]+\\.[0-9]{3}$");
	close(fd1);
	buffer_free(&b);
	stopped_cleanly();
}

/*
 * -c 1: a connection is accepted before its query arrives (the
 * handshake's last packet and the query travel apart), and another
 * waits at once.  The first is not evicted in its first moment: its
 * query, 2 ms late, is answered, then the second's.  A trial whose
 * query left later than 10 ms after its connection (a busy machine)
 * says nothing of the grace (20 ms): it is tried again, once the worker
 * is calm (no eviction in the last grace).
 */
Test(daemon, a_new_connection_has_time_for_its_query)
{
	struct buffer b = { 0 };
	size_t trial, evicted = 0;
	int fd1, fd2, told = 0;
	double connected;

	daemon_start(&fx, "-B", LOCAL, "-c", "1", NULL);
	for (trial = 0; trial < 5 && told == 0; trial++) {
		cr_assert((fd1 = client_connect(LOCAL, fx.port)) >= 0);
		connected = now_seconds();
		cr_assert((fd2 = client_connect(LOCAL, fx.port)) >= 0);
		usleep(2 * 1000);
		client_send(fd1, "bob\r\n", 5);
		told = now_seconds() - connected < 0.010;
		cr_assert_eq(client_read_all(fd1, &b, WAIT_REPLY_MS), 0);
		if (told)
			assert_reply(&b, REPLY_BOB, "to the first connection");
		else
			evicted += b.len == 0;
		buffer_free(&b);
		client_send(fd2, "alice\r\n", 7);
		cr_assert_eq(client_read_all(fd2, &b, WAIT_REPLY_MS), 0);
		assert_reply(&b, REPLY_ALICE, "to the one that waited");
		buffer_free(&b);
		close(fd1);
		close(fd2);
		usleep(50 * 1000);	/* calm: no eviction in the grace */
	}
	cr_assert(told, "no query left within 10 ms of its connection");
	cr_assert(log_wait(&fx, "query=\"alice\"", trial, WAIT_LOG_MS));
	cr_assert_eq(log_count(&fx, "end=evicted"), evicted);
	stopped_cleanly();
}

/* -a 2: the third connection at once from 127.0.0.1 gets one line. */
Test(daemon, per_address_limit)
{
	struct buffer b = { 0 };
	int fd1, fd2, fd3;

	daemon_start(&fx, "-B", LOCAL, "-a", "2", NULL);
	fd1 = client_connect(LOCAL, fx.port);
	fd2 = client_connect(LOCAL, fx.port);
	fd3 = client_connect(LOCAL, fx.port);
	cr_assert(fd1 >= 0 && fd2 >= 0 && fd3 >= 0);
	cr_assert_eq(client_read_all(fd3, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, REPLY_TOO_MANY, "the third connection");
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"\" "
	    "reply=too-many-from-address end=ok sent=40 ms=");
	buffer_free(&b);
	client_send(fd1, "alice\r\n", 7);
	cr_assert_eq(client_read_all(fd1, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, REPLY_ALICE, "the first connection");
	buffer_free(&b);
	client_send(fd2, "bob\r\n", 5);
	cr_assert_eq(client_read_all(fd2, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, REPLY_BOB, "the second connection");
	buffer_free(&b);
	close(fd1);
	close(fd2);
	close(fd3);
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/* The exact log line of an exchange. */
Test(daemon, log_line_format)
{
	char pattern[200];

	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", REPLY_ALICE);
	snprintf(pattern, sizeof(pattern), "^fingerd: client=127\\.0\\.0\\.1 "
	    "query=\"alice\" reply=plan end=ok sent=%zu ms=[0-9]+\\.[0-9]{3}$",
	    sizeof(REPLY_ALICE) - 1);
	EXPECT_LOG(pattern);
	EXPECT("\r\n", REPLY_LIST);
	EXPECT_LOG("query=\"\" reply=list end=ok ");
	EXPECT("nosuchuser\n", REPLY_NO_SUCH_USER);
	EXPECT_LOG("query=\"nosuchuser\" reply=no-such-user end=ok sent=14 ");
	EXPECT("a@b\n", REPLY_FORWARDING);
	EXPECT_LOG("query=\"a@b\" reply=forwarding-denied end=ok sent=34 ");
	EXPECT("carol\n", REPLY_CAROL);
	EXPECT_LOG("query=\"carol\" reply=no-plan why=missing end=ok ");
	cr_assert_eq(log_count(&fx, "^fingerd: client="), 5,
	    "not one log line per exchange");
	stopped_cleanly();
}

/* Control bytes, quotes and backslashes in a query are logged as \xHH. */
Test(daemon, log_escapes_query)
{
	struct buffer b;
	size_t i;

	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("al\x1bice\r\n", REPLY_INVALID);
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"al\\\\x1bice\" "
	    "reply=invalid end=ok sent=15 ms=[0-9]+\\.[0-9]{3}$");
	EXPECT("x\ry\n", REPLY_INVALID);
	EXPECT_LOG("query=\"x\\\\x0dy\" reply=invalid ");
	EXPECT("fake\r\nfingerd: forged\n", REPLY_NO_SUCH_USER);
	EXPECT_LOG("query=\"fake\" reply=no-such-user ");
	EXPECT("a\"b\\c\r\n", REPLY_NO_SUCH_USER);
	EXPECT_LOG("query=\"a\\\\x22b\\\\x5cc\" reply=no-such-user ");
	EXPECT("caf\xc3\xa9\r\n", REPLY_NO_SUCH_USER);
	EXPECT_LOG("query=\"caf\\\\xc3\\\\xa9\" reply=no-such-user ");
	EXPECT("\x7f\x9b\n", REPLY_INVALID);
	EXPECT_LOG("query=\"\\\\x7f\\\\x9b\" reply=invalid ");
	cr_assert_eq(log_count(&fx, "forged"), 0, "a query forged a line");
	log_read(&fx, &b);
	for (i = 0; i < b.len; i++)
		cr_assert(b.data[i] == '\n' ||
		    (b.data[i] >= 0x20 && b.data[i] < 0x7f),
		    "byte %#x at %zu in the log", (unsigned char)b.data[i], i);
	buffer_free(&b);
	stopped_cleanly();
}

/*
 * Under systemd, JOURNAL_STREAM names stderr when it is the journal: each
 * line then starts with its syslog level, which journald keeps as the
 * entry's priority (info for the exchanges, warning when a reload fails).
 * Naming another stream changes nothing.
 */
Test(daemon, log_levels_for_the_journal)
{
	struct timespec later[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	char stream[64];
	struct stat st;
	FILE *group;

	close(open(fx.log, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	cr_assert(stat(fx.log, &st) == 0);
	snprintf(stream, sizeof(stream), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	cr_assert(setenv("JOURNAL_STREAM", stream, 1) == 0);
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"alice\" ");
	stopped_cleanly();
	cr_assert_eq(log_count(&fx, "^<"), 0, "a level for another stream");

	snprintf(stream, sizeof(stream), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	cr_assert(setenv("JOURNAL_STREAM", stream, 1) == 0);
	daemon_launch(&fx, "-B", LOCAL, NULL);
	unsetenv("JOURNAL_STREAM");
	cr_assert(log_wait(&fx, "^<6>event=start group=finger ", 1,
	    WAIT_START_MS), "no serving line at level 6");
	fx.port = log_port(&fx);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT_LOG("^<6>client=127\\.0\\.0\\.1 query=\"alice\" ");
	/* A group file without the group: the reload fails, a warning. */
	cr_assert(stat(fx.group, &st) == 0);
	cr_assert_not_null(group = fopen(fx.group, "w"));
	fputs("root:x:0:\n", group);
	fclose(group);
	later[1].tv_sec = st.st_mtim.tv_sec + 1;
	cr_assert(utimensat(AT_FDCWD, fx.group, later, 0) == 0);
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("^<4>reload \\(sighup\\): group finger: ");
	stopped_cleanly();
	cr_assert_eq(log_count(&fx, "^<[0-7]>"), log_count(&fx, ""),
	    "a line without its level");
	cr_assert_eq(log_count(&fx, "fingerd"), 0, "the name the journal "
	    "shows, in a line");
	cr_assert_eq(log_count(&fx, LOG_TIME_RE), 0, "a time in a line");
}

/*
 * The daemon with stderr a pipe that the test reads only when it chooses,
 * as a journal that stalls: fills *log_fd (non-blocking) and fx.port.
 */
static void
launch_with_log_pipe(int *log_fd, struct buffer *log, const char *clients)
{
	int fds[2], stdio[3];
	const char *line;
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;

	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	cr_assert((stdio[0] = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
	stdio[1] = stdio[0];
	stdio[2] = fds[1];
	fx.stdio = stdio;
	daemon_launch(&fx, "-B", LOCAL, "-c", clients, NULL);
	fx.stdio = NULL;
	close(stdio[0]);
	close(fds[1]);
	*log_fd = fds[0];
	cr_assert_eq(fcntl(*log_fd, F_SETFL, O_NONBLOCK), 0);
	memset(log, 0, sizeof(*log));
	buffer_append(log, "", 0);
	while (strstr(log->data, "fingerd: event=start ") == NULL) {
		cr_assert(now_seconds() < deadline, "the daemon did not start; "
		    "its log:\n%s", log->data);
		log_pipe_read(*log_fd, log);
		usleep(1000);
	}
	line = strstr(log->data, "fingerd: event=listen address=127.0.0.1:");
	cr_assert_not_null(line, "no listening line in:\n%s", log->data);
	fx.port = atoi(line + strlen("fingerd: event=listen "
	    "address=127.0.0.1:"));
}

/* SIGTERM, reading the log meanwhile: the daemon writes it before exit. */
static void
stop_reading_log_pipe(int log_fd, struct buffer *log)
{
	double deadline = now_seconds() + WAIT_EXIT_MS / 1000.0;
	int status;

	daemon_signal(&fx, SIGTERM);
	while ((status = daemon_wait(&fx, 10)) == -1) {
		cr_assert(now_seconds() < deadline, "no exit after SIGTERM");
		log_pipe_read(log_fd, log);
	}
	log_pipe_read(log_fd, log);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "wait status %#x after SIGTERM", status);
	close(log_fd);
}

/* How many lines of the log are exchange lines; asserts each is whole. */
static size_t
exchange_lines(const struct buffer *log, const char *pattern)
{
	size_t n = 0;
	char *copy = strdup(log->data), *line, *next;
	const char *text;

	cr_assert_not_null(copy);
	cr_assert(log->len > 0 && log->data[log->len - 1] == '\n',
	    "the log ends in the middle of a line");
	for (line = copy; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		text = log_untimed(line);
		if (strncmp(text, "fingerd: client=", 16) != 0)
			continue;
		cr_assert(strstr(text, pattern) == text + 16 &&
		    strstr(text, " ms=") != NULL, "not a whole line: %.200s",
		    text);
		n++;
	}
	free(copy);
	return n;
}

/*
 * A log reader that stalls stalls no exchange: with nobody reading stderr
 * the exchanges go on (their lines would fill the pipe twice over), and
 * once it is read every line is there, whole and once.
 */
Test(daemon, log_reader_stalled)
{
	enum { EXCHANGES = 1500 };
	struct buffer log;
	double deadline;
	int log_fd, i;

	launch_with_log_pipe(&log_fd, &log, "1024");
	cr_assert_gt(EXCHANGES * 90, fcntl(log_fd, F_GETPIPE_SZ) * 2);
	for (i = 0; i < EXCHANGES; i++)
		EXPECT("alice\r\n", REPLY_ALICE);
	deadline = now_seconds() + WAIT_LOG_MS / 1000.0;
	while (exchange_lines(&log, "127.0.0.1 query=\"alice\" reply=plan "
	    "end=ok sent=") < EXCHANGES && now_seconds() < deadline) {
		log_pipe_read(log_fd, &log);
		usleep(1000);
	}
	cr_assert_eq(exchange_lines(&log, "127.0.0.1 query=\"alice\" "
	    "reply=plan end=ok sent="), EXCHANGES);
	stop_reading_log_pipe(log_fd, &log);
	cr_assert_eq(exchange_lines(&log, "127.0.0.1 "), EXCHANGES);
	buffer_free(&log);
}

/*
 * The daemon takes no new client unless its log queue has room for the
 * lines of every client it serves (2 each, of at most PIPE_BUF bytes):
 * the log is never dropped and never blocks the loop.  With -c 8 the
 * queue holds (2 x 8 + 64) lines; queries of 1021 control bytes make
 * lines of 4 KiB, so about 78 fill it, with some more in the pipe.  Once
 * the log is read, the client that waited is served.
 */
Test(daemon, log_backed_up_pauses_accepting)
{
	char query[1023];
	struct buffer log, reply = { 0 };
	double deadline;
	int log_fd, fd = -1, i, pipe_lines;

	memset(query, 0x01, sizeof(query) - 2);
	memcpy(query + sizeof(query) - 2, "\r\n", 2);
	launch_with_log_pipe(&log_fd, &log, "8");
	pipe_lines = fcntl(log_fd, F_GETPIPE_SZ) / 4096;
	for (i = 0; i < 400; i++) {
		cr_assert((fd = client_connect(LOCAL, fx.port)) >= 0);
		client_send(fd, query, sizeof(query));
		if (client_read_all(fd, &reply, 1000 * wait_scale()) != 0)
			break;		/* not served: waits in the backlog */
		assert_reply(&reply, REPLY_INVALID, "a query of control bytes");
		buffer_free(&reply);
		close(fd);
		fd = -1;
	}
	cr_assert(i >= 80 - 4 && i <= 80 + pipe_lines + 2,
	    "%d clients served before the pause (%d lines in the pipe)", i,
	    pipe_lines);
	deadline = now_seconds() + WAIT_REPLY_MS / 1000.0;
	while (client_read(fd, &reply, (size_t)-1, 10) != 0) {
		cr_assert(now_seconds() < deadline, "not served after the "
		    "log was read");
		log_pipe_read(log_fd, &log);
	}
	assert_reply(&reply, REPLY_INVALID, "the client that waited");
	close(fd);
	stop_reading_log_pipe(log_fd, &log);
	cr_assert_eq(exchange_lines(&log, "127.0.0.1 query=\"\\x01\\x01"),
	    (size_t)i + 1);
	buffer_free(&reply);
	buffer_free(&log);
}

/*
 * Two workers sharing stderr, a file a shell opened without O_APPEND
 * (2>file): fingerd makes it O_APPEND, or the ring's writes, made at the
 * file position without write(2)'s lock on it, would overwrite lines of
 * the other worker.  Every exchange's line is there, whole.
 */
Test(daemon, log_file_shared_by_workers)
{
	enum { EXCHANGES = 400 };
	char path[64], fdinfo[256];
	int stdio[3], i;
	unsigned flags = 0;
	FILE *f;

	cr_assert((stdio[0] = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
	cr_assert((stdio[2] = open(fx.log, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) >= 0);
	stdio[1] = stdio[0];
	fx.stdio = stdio;
	daemon_launch(&fx, "-B", LOCAL, "-w", "2", NULL);
	fx.stdio = NULL;
	close(stdio[0]);
	close(stdio[2]);
	cr_assert(log_wait(&fx, "^fingerd: event=start group=", 1, WAIT_START_MS),
	    "two workers did not start");
	cr_assert((fx.port = log_port(&fx)) > 0, "no listening line");
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/2", (int)fx.pid);
	cr_assert_not_null(f = fopen(path, "r"));
	while (fgets(fdinfo, sizeof(fdinfo), f) != NULL)
		sscanf(fdinfo, "flags: %o", &flags);
	fclose(f);
	cr_assert(flags & O_APPEND, "stderr not made O_APPEND: %o", flags);
	for (i = 0; i < EXCHANGES; i++)
		EXPECT("alice\r\n", REPLY_ALICE);
	cr_assert(log_wait(&fx, "^fingerd\\[[0-9]+\\]: client=127\\.0\\.0\\.1 "
	    "query=\"alice\" reply=plan end=ok sent=[0-9]+ ms=[0-9.]+$",
	    EXCHANGES, WAIT_LOG_MS), "%zu of %d exchange lines whole",
	    log_count(&fx, "client="), EXCHANGES);
	cr_assert_eq(log_count(&fx, "client="), EXCHANGES);
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

/* Exactly one line on stderr, matching pattern; nothing on stdout. */
static void
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

/*
 * The engines (fingerd.8, ENGINES).  What the daemon must say when
 * io_uring_setup fails with error, from the sysctl it reads: the cause,
 * as a regular expression.
 */
static const char *
refusal_expected(int error)
{
	FILE *fp = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int disabled = -1;

	if (fp != NULL) {
		if (fscanf(fp, "%d", &disabled) != 1)
			disabled = -1;
		fclose(fp);
	}
	cr_assert(disabled == 0 || disabled == -1, "these tests expect "
	    "io_uring enabled on the machine (kernel.io_uring_disabled %d)",
	    disabled);
	if (error == EPERM)
		return "a seccomp profile refuses it with EPERM, as Docker's "
		    "and containerd's default profiles do";
	return disabled == 0 ? "a seccomp profile refuses it with ENOSYS, as "
	    "Podman's and CRI-O's default profiles do" :
	    "the kernel has no io_uring \\(CONFIG_IO_URING\\)";
}

/*
 * Under -E auto, a profile that refuses io_uring: fingerd serves with
 * epoll, byte for byte, and its log says why, once, after the line that
 * says where it listens.
 */
static void
falls_back(void (*profile)(void), int error)
{
	char pattern[256];
	struct buffer log;

	fx.child_setup = profile;
	daemon_start(&fx, "-B", LOCAL, "-E", "auto", NULL);
	snprintf(pattern, sizeof(pattern), "^fingerd: event=engine engine=epoll "
	    "why=\"io_uring is refused: %s\"$", refusal_expected(error));
	log_read(&fx, &log);
	cr_assert_eq(log_count(&fx, pattern), 1, "no line %s:\n%s", pattern,
	    log.data);
	cr_assert(strstr(log.data, "event=listen") < strstr(log.data,
	    "event=engine"), "the engine's line before where:\n%s",
	    log.data);
	buffer_free(&log);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("\r\n", REPLY_LIST);
	EXPECT("nobody\r\n", REPLY_NO_SUCH_USER);
	stopped_cleanly();
}

Test(daemon, engine_falls_back_under_dockers_profile)
{
	falls_back(child_block_io_uring, EPERM);
}

Test(daemon, engine_falls_back_under_podmans_profile)
{
	falls_back(child_block_io_uring_enosys, ENOSYS);
}

/* -E io_uring where it is refused: 69, one line, the cause, the way out. */
static void
demanded(void (*profile)(void), int error)
{
	char pattern[512];
	int status;

	fx.child_setup = profile;
	status = daemon_run(&fx, "-P", "0", "-B", LOCAL, "-E", "io_uring",
	    NULL);
	cr_assert_eq(status, 69, "status %d", status);
	snprintf(pattern, sizeof(pattern), "^fingerd: -E io_uring: io_uring "
	    "is refused: %s; serve with -E epoll or -E auto, or allow "
	    "io_uring$", refusal_expected(error));
	one_line_checked(pattern);
}

Test(daemon, engine_io_uring_demanded_under_dockers_profile)
{
	demanded(child_block_io_uring, EPERM);
}

Test(daemon, engine_io_uring_demanded_under_podmans_profile)
{
	demanded(child_block_io_uring_enosys, ENOSYS);
}

/* Where nothing refuses it, auto is io_uring; -E epoll is epoll. */
Test(daemon, engine_named_in_the_log)
{
	daemon_start(&fx, "-B", LOCAL, "-E", "auto", NULL);
	EXPECT_LOG("^fingerd: event=engine engine=io_uring$");
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
	daemon_start(&fx, "-B", LOCAL, "-E", "epoll", NULL);
	EXPECT_LOG("^fingerd: event=engine engine=epoll why=\"-E epoll\"$");
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * openat2 refused with EPERM (profile as a seccomp profile older than it
 * refuses it): every member's files are still opened and served byte for
 * byte, and the log says once that openat serves instead, under epoll.
 * The ring's openat2 passes no seccomp filter: with io_uring, no line.
 */
static void
openat2_refused(void (*profile)(void), const char *engine,
    const char *engine_line, size_t refused_lines)
{
	struct buffer log;

	/* valgrind makes calls of its own under the profile's filter. */
	skip_under_valgrind("a seccomp profile is the kernel's, tested "
	    "without it");
	fx.child_setup = profile;
	daemon_start(&fx, "-B", LOCAL, "-E", engine, NULL);
	EXPECT_LOG(engine_line);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("dan\r\n", REPLY_DAN);
	EXPECT("/W bob\r\n", REPLY_W_BOB);
	EXPECT("carol\r\n", REPLY_CAROL);
	cr_assert(log_wait(&fx, " query=", 4, WAIT_LOG_MS));
	log_read(&fx, &log);
	cr_assert_eq(log_count(&fx, "^fingerd: openat2 refused \\(EPERM\\): "
	    "using openat$"), refused_lines, "log:\n%s", log.data);
	cr_assert_eq(log_count(&fx, "reply=no-plan"), 1, "log:\n%s",
	    log.data);		/* carol's, who has no plan */
	buffer_free(&log);
	stopped_cleanly();
}

Test(daemon, openat2_refused_under_epoll)
{
	openat2_refused(child_block_openat2, "epoll",
	    "^fingerd: event=engine engine=epoll why=\"-E epoll\"$", 1);
}

Test(daemon, openat2_refused_under_auto)
{
	openat2_refused(child_block_openat2, "auto",
	    "^fingerd: event=engine engine=io_uring$", 0);
}

Test(daemon, openat2_and_io_uring_refused_under_auto)
{
	openat2_refused(child_block_io_uring_and_openat2, "auto",
	    "^fingerd: event=engine engine=epoll why=\"io_uring is refused: ",
	    1);
}

Test(daemon, engine_unknown)
{
	int status = daemon_run(&fx, "-P", "0", "-E", "kqueue", NULL);

	cr_assert_eq(status, 64, "status %d", status);
	one_line_checked("^fingerd: -E: 'kqueue' is not an engine: auto, "
	    "io_uring or epoll; see fingerd -h$");
}

/* The line of /proc/<pid>/status that starts with name, trailing blanks cut. */
static void
status_field(pid_t pid, const char *name, char *value, size_t size)
{
	char path[64], line[256];
	size_t n = strlen(name);
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	cr_assert_not_null(fp = fopen(path, "r"));
	value[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, name, n) != 0 || line[n] != ':')
			continue;
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
			line[--n] = '\0';
		snprintf(value, size, "%s", line);
		break;
	}
	fclose(fp);
}

#define EXPECT_STATUS(pid, name, want) do { \
	char value_[256]; \
	status_field((pid), name, value_, sizeof(value_)); \
	cr_assert_str_eq(value_, name ":\t" want, "/proc/%d/status", \
	    (int)(pid)); \
} while (0)

/* No capability in the sets a process uses, and no_new_privs. */
static void
no_capability_checked(pid_t pid)
{
	EXPECT_STATUS(pid, "CapInh", "0000000000000000");
	EXPECT_STATUS(pid, "CapPrm", "0000000000000000");
	EXPECT_STATUS(pid, "CapEff", "0000000000000000");
	EXPECT_STATUS(pid, "CapAmb", "0000000000000000");
	EXPECT_STATUS(pid, "NoNewPrivs", "1");
}

static void
privileges_checked(pid_t pid)
{
	EXPECT_STATUS(pid, "Uid", "65534\t65534\t65534\t65534");
	EXPECT_STATUS(pid, "Gid", "65534\t65534\t65534\t65534");
	EXPECT_STATUS(pid, "Groups", "");
	EXPECT_STATUS(pid, "CapBnd", "0000000000000000");
	no_capability_checked(pid);
}

/*
 * Started as root with groups and capabilities: all gone once it serves,
 * in the supervisor and in the worker, which is also under its seccomp
 * filter (the supervisor is not: it reads the user database, whatever
 * its NSS modules call).
 */
Test(daemon, privileges_dropped)
{
	pid_t worker;

	if (geteuid() != 0)
		cr_skip_test("started as root only; these tests are not root");
	fx.child_setup = child_add_privileges;
	daemon_start(&fx, "-B", LOCAL, NULL);
	worker = daemon_worker(&fx);
	privileges_checked(fx.pid);
	privileges_checked(worker);
	if (!under_valgrind())		/* which runs no seccomp filter */
		EXPECT_STATUS(worker, "Seccomp", "2");
	EXPECT_STATUS(fx.pid, "Seccomp", "0");
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * Started with no capability (as fingerd.service is), it makes no
 * privileged call: with capset refused, it starts, keeps nothing, sets
 * no_new_privs and serves.
 */
Test(daemon, unprivileged_needs_no_capset)
{
	pid_t worker;

	fx.child_setup = child_unprivileged_no_capset;
	daemon_start(&fx, "-B", LOCAL, NULL);
	worker = daemon_worker(&fx);
	no_capability_checked(fx.pid);
	no_capability_checked(worker);
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * The ASan build's leak check at exit must be able to run (the Makefile
 * turns it off for the other tests).  A build without ASan ignores it.
 */
Test(daemon, leak_check_at_exit)
{
	static char options[] =
	    "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1";

	fx.asan_options = options;
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("\r\n", REPLY_LIST);
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("^fingerd: event=reload group=finger members=5 generation=[0-9]+ why=sighup$");
	EXPECT("carol\r\n", REPLY_CAROL);
	stopped_cleanly();
	cr_assert_eq(log_count(&fx, "Sanitizer"), 0, "a sanitizer spoke");
}

/*
 * -i, as inetd runs it: a connected socket is stdin and stdout.  Runs
 * fingerd -i on one for "alice", stderr being that socket too or another
 * one; returns what the client and what stderr received.
 */
static void
inetd_exchange(bool stderr_is_connection, struct buffer *reply,
    struct buffer *log, const char *engine)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int listener, client, served, errs[2], stdio[3];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert((listener = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	cr_assert_eq(bind(listener, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(listener, 1), 0);
	cr_assert_eq(getsockname(listener, (struct sockaddr *)&sin, &len), 0);
	cr_assert((client = client_connect(LOCAL, ntohs(sin.sin_port))) >= 0);
	cr_assert((served = accept(listener, NULL, NULL)) >= 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, errs), 0);
	stdio[0] = stdio[1] = served;
	stdio[2] = stderr_is_connection ? served : errs[1];
	fx.stdio = stdio;
	client_send(client, "alice\r\n", 7);
	cr_assert_eq(engine != NULL ? daemon_run(&fx, "-i", "-E", engine, NULL) :
	    daemon_run(&fx, "-i", NULL), 0, "fingerd -i failed");
	close(served);
	close(errs[1]);
	close(listener);
	cr_assert_eq(client_read_all(client, reply, WAIT_REPLY_MS), 0);
	cr_assert_eq(client_read_all(errs[0], log, WAIT_REPLY_MS), 0);
	close(client);
	close(errs[0]);
}

Test(daemon, inetd_log_never_reaches_the_client)
{
	struct buffer reply = { 0 }, log = { 0 };

	inetd_exchange(true, &reply, &log, NULL);
	assert_reply(&reply, REPLY_ALICE, "-i, stderr the connection");
	cr_assert_eq(log.len, 0);
	buffer_free(&reply);
	buffer_free(&log);
}

/*
 * inetd hands the connection over as stderr too: the log goes to syslog
 * by default (FINGERD_SYSLOG_PATH stands for /dev/log), not to /dev/null
 * (no log at all), and never to the client.
 */
Test(daemon, inetd_logs_to_syslog_when_stderr_is_the_connection)
{
	struct buffer reply = { 0 }, log = { 0 }, datagrams = { 0 };
	int fd = syslog_bind(&fx);

	inetd_exchange(true, &reply, &log, NULL);
	assert_reply(&reply, REPLY_ALICE, "-i, stderr the connection");
	cr_assert_eq(log.len, 0);
	cr_assert(syslog_wait(fd, &datagrams, "^fingerd\\[[0-9]+\\]: "
	    "client=127\\.0\\.0\\.1 query=\"alice\" reply=plan end=ok ", 1,
	    WAIT_LOG_MS), "no exchange line in syslog: %s", datagrams.data);
	close(fd);
	buffer_free(&reply);
	buffer_free(&log);
	buffer_free(&datagrams);
}

/* Under systemd (Accept=yes), stderr is the journal's socket: kept. */
Test(daemon, inetd_logs_to_another_socket)
{
	struct buffer reply = { 0 }, log = { 0 };

	inetd_exchange(false, &reply, &log, NULL);
	assert_reply(&reply, REPLY_ALICE, "-i, stderr another socket");
	cr_assert(log.data != NULL && strstr(log.data,
	    "fingerd: client=127.0.0.1 query=\"alice\" "
	    "reply=plan end=ok sent=") != NULL, "log: %s", log.data);
	buffer_free(&reply);
	buffer_free(&log);
}

/* inetd in a container: -i falls back to epoll too, and says nothing. */
Test(daemon, inetd_falls_back_to_epoll)
{
	struct buffer reply = { 0 }, log = { 0 };

	fx.child_setup = child_block_io_uring;
	inetd_exchange(false, &reply, &log, "auto");
	assert_reply(&reply, REPLY_ALICE, "-i, io_uring refused");
	cr_assert(log.data != NULL && strstr(log.data,
	    "fingerd: client=127.0.0.1 query=\"alice\" reply=plan end=ok "
	    "sent=") != NULL && strstr(log.data, "engine") == NULL &&
	    strstr(log.data, "io_uring") == NULL, "log: %s", log.data);
	buffer_free(&reply);
	buffer_free(&log);
}

static int
fd_write_all(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	return close(fd);
}

/*
 * The reply cache (cache.c) keeps only plans that have not changed for a
 * second; waits until alice's has, then has her reply built and cached,
 * and checks the cached reply is the same as the first.
 */
static void
alice_cached(void)
{
	usleep(2100 * 1000);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("alice\r\n", REPLY_ALICE);
}

/* The hardest change for a cache: same inode, same size, new bytes. */
Test(daemon, cache_sees_a_change_in_place)
{
	char path[256];
	int fd;

	daemon_start(&fx, "-B", LOCAL, NULL);
	alice_cached();
	plan_path(&fx, "alice", path, sizeof(path));
	cr_assert((fd = open(path, O_WRONLY)) >= 0);
	cr_assert_eq(pwrite(fd, "T", 1, 0), 1);	/* "Down" -> "Town" */
	close(fd);
	EXPECT("alice\r\n", LOGIN_ALICE "Plan:\r\n"
	    "Town the rabbit hole.\r\nCuriouser and curiouser!\r\n");
	stopped_cleanly();
}

Test(daemon, cache_sees_a_replaced_plan)
{
	char path[256], fresh[300];

	daemon_start(&fx, "-B", LOCAL, NULL);
	alice_cached();
	plan_path(&fx, "alice", path, sizeof(path));
	snprintf(fresh, sizeof(fresh), "%s.new", path);
	cr_assert((fd_write_all(fresh, "Replaced.\n")) == 0);
	cr_assert_eq(rename(fresh, path), 0);
	EXPECT("alice\r\n", LOGIN_ALICE "Plan:\r\nReplaced.\r\n");
	stopped_cleanly();
}

/*
 * Without inotify (the account's instances used up), a warning, and every
 * query looks the plan up with statx: a change is seen all the same.
 */
Test(daemon, cache_without_inotify)
{
	char path[256];
	int fd;

	fx.child_setup = child_block_inotify;
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT_LOG("^fingerd: inotify_init1: plans are looked at on every "
	    "query: Operation not permitted$");
	alice_cached();
	plan_path(&fx, "alice", path, sizeof(path));
	cr_assert((fd = open(path, O_WRONLY)) >= 0);
	cr_assert_eq(pwrite(fd, "T", 1, 0), 1);
	close(fd);
	EXPECT("alice\r\n", LOGIN_ALICE "Plan:\r\n"
	    "Town the rabbit hole.\r\nCuriouser and curiouser!\r\n");
	stopped_cleanly();
}

Test(daemon, cache_sees_a_plan_become_a_link)
{
	char path[256], target[300];

	daemon_start(&fx, "-B", LOCAL, NULL);
	alice_cached();
	plan_path(&fx, "alice", path, sizeof(path));
	snprintf(target, sizeof(target), "%s.real", path);
	cr_assert_eq(rename(path, target), 0);
	cr_assert_eq(symlink(target, path), 0);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	stopped_cleanly();
}

/* Made private: the daemon, now nobody, may not read it, cached or not. */
Test(daemon, cache_sees_a_plan_made_private)
{
	char path[256];

	if (geteuid() != 0)
		cr_skip_test("needs root: the daemon must run as another user");
	daemon_start(&fx, "-B", LOCAL, NULL);
	alice_cached();
	plan_path(&fx, "alice", path, sizeof(path));
	cr_assert_eq(chmod(path, 0600), 0);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	stopped_cleanly();
}

/* Its home closed to others: statx, as open, can no longer reach it. */
Test(daemon, cache_sees_a_home_closed)
{
	char home[256];

	if (geteuid() != 0)
		cr_skip_test("needs root: the daemon must run as another user");
	daemon_start(&fx, "-B", LOCAL, NULL);
	alice_cached();
	snprintf(home, sizeof(home), "%s/home/alice", fx.dir);
	cr_assert_eq(chmod(home, 0700), 0);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	stopped_cleanly();
}

/*
 * Alice's home made 0700 (root only: the daemon then runs as another
 * user): its path into home, the warning expected into pattern.
 */
static void
alice_home_closed(char *home, size_t home_size, char *pattern,
    size_t pattern_size)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: the daemon must run as another user");
	snprintf(home, home_size, "%s/home/alice", fx.dir);
	cr_assert_eq(chmod(home, 0700), 0);
	snprintf(pattern, pattern_size, "member alice: plan \"%s/\\.plan\" "
	    "is out of reach of fingerd's account: its home is not "
	    "searchable; to serve it: chmod o\\+x %s$", home, home);
}

/*
 * A home the daemon's account cannot search (Debian 12's adduser makes
 * them 0700): at the start and at each reading of the group, one warning
 * that names the login, the plan and the command that opens it (issue 21).
 */
Test(daemon, a_home_out_of_reach_is_logged_with_its_fix)
{
	char home[256], pattern[1024];

	alice_home_closed(home, sizeof(home), pattern, sizeof(pattern));
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(log_count(&fx, pattern), 1, "no warning, or not once");
	cr_assert_eq(log_count(&fx, "out of reach"), 1);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	daemon_signal(&fx, SIGHUP);
	cr_assert(log_wait(&fx, "event=reload group=finger members=5 .* why=sighup$", 1,
	    WAIT_LOG_MS));
	cr_assert_eq(log_count(&fx, pattern), 2,
	    "not warned again at the reload");
	cr_assert_eq(chmod(home, 0755), 0);
	daemon_signal(&fx, SIGHUP);
	cr_assert(log_wait(&fx, "event=reload group=finger members=5 .* why=sighup$", 2,
	    WAIT_LOG_MS));
	cr_assert_eq(log_count(&fx, "out of reach"), 2);
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * The same under -i (issue 21, 1), which never surveyed the homes: one
 * warning, with the path and the command that fixes it, at each start
 * (each exchange; the log begins anew at each here); none once fixed.
 */
Test(daemon, inetd_warns_of_a_home_out_of_reach)
{
	char home[256], pattern[1024];
	struct buffer reply;
	double took;

	alice_home_closed(home, sizeof(home), pattern, sizeof(pattern));
	cr_assert_eq(inetd_finger(&fx, "alice\r\n", &reply, &took, "-i",
	    NULL), 0);
	assert_reply(&reply, LOGIN_ALICE NO_PLAN, "-i, alice's home 0700");
	buffer_free(&reply);
	cr_assert_eq(log_count(&fx, pattern), 1, "no warning, or not once");
	cr_assert_eq(log_count(&fx, "out of reach"), 1);
	cr_assert_eq(chmod(home, 0755), 0);
	cr_assert_eq(inetd_finger(&fx, "alice\r\n", &reply, &took, "-i",
	    NULL), 0);
	assert_reply(&reply, REPLY_ALICE, "-i, alice's home 0755");
	buffer_free(&reply);
	cr_assert_eq(log_count(&fx, "out of reach"), 0);
}

/*
 * Homes that lead to / without being spelled so (issue 20, 7): not
 * served, each one logged at the start; the others are.
 */
Test(daemon, a_home_that_leads_to_slash_is_not_served)
{
	char link[256];

	snprintf(link, sizeof(link), "%s/to-root", fx.dir);
	cr_assert_eq(symlink("/", link), 0);
	passwd_append(&fx, "dot", 1021, "/.");
	passwd_append(&fx, "up", 1022, "/usr/..");
	passwd_append(&fx, "linked", 1023, link);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",dot,up,linked");
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(log_count(&fx, "is not served: it is the root "
	    "directory$"), 3);
	cr_assert_eq(log_count(&fx, "member dot: home \"/\\.\" is not "
	    "served"), 1);
	cr_assert_eq(log_count(&fx, "member up: home \"/usr/\\.\\.\" is not "
	    "served"), 1);
	cr_assert_eq(log_count(&fx, "member linked: home \".*/to-root\" is "
	    "not served"), 1);
	EXPECT("dot\r\n", "Login: dot\tName: dot\r\n" NO_PLAN);
	EXPECT("linked\r\n", "Login: linked\tName: linked\r\n" NO_PLAN);
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/* ---------------------------------------------------------------- /W */

#define PROJECT_LINE(text)	"Project: " text "\r\n"
#define KEY_PART(text)		"PGP key:\r\n" text
#define PLAN_PART_ALICE		"Plan:\r\nDown the rabbit hole.\r\n" \
				"Curiouser and curiouser!\r\n"

/* Each file alone, then both; a plain query never shows either. */
Test(daemon, verbose_each_file_alone)
{
	daemon_start(&fx, "-B", LOCAL, NULL);
	home_file_write(&fx, "alice", ".project", "Tea party\n", 10);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("Tea party")
	    PLAN_PART_ALICE);
	home_file_remove(&fx, "alice", ".project");
	home_file_write(&fx, "alice", ".pgpkey", "k1\nk2", 5);
	EXPECT("/W alice\r\n", LOGIN_ALICE KEY_PART("k1\r\nk2\r\n")
	    PLAN_PART_ALICE);
	home_file_write(&fx, "alice", ".project", "", 0);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("")
	    KEY_PART("k1\r\nk2\r\n") PLAN_PART_ALICE);
	home_file_write(&fx, "alice", ".pgpkey", "", 0);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("") KEY_PART("")
	    PLAN_PART_ALICE);
	EXPECT("alice\r\n", REPLY_ALICE);
	plan_remove(&fx, "alice");
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("") KEY_PART("")
	    NO_PLAN);
	stopped_cleanly();
}

/*
 * A .project or .pgpkey that is a link (even to a readable file), a FIFO
 * (no writer: an open that waited would hang), a directory: left out, at
 * once, as the plan is.
 */
Test(daemon, verbose_links_fifos_and_directories_left_out)
{
	char target[256];
	double start;

	home_file_path(&fx, "alice", "readable", target, sizeof(target));
	home_file_write(&fx, "alice", "readable", "secret project\n", 15);
	home_file_symlink(&fx, "alice", ".project", target);
	home_file_fifo(&fx, "alice", ".pgpkey");
	home_file_fifo(&fx, "bob", ".project");
	home_file_symlink(&fx, "bob", ".pgpkey", target);
	home_file_write(&fx, "dan", ".pgpkey", "", 0);
	home_file_remove(&fx, "dan", ".pgpkey");
	{
		char path[256];

		home_file_path(&fx, "dan", ".pgpkey", path, sizeof(path));
		cr_assert_eq(mkdir(path, 0755), 0);
	}
	daemon_start(&fx, "-B", LOCAL, NULL);
	start = now_seconds();
	EXPECT("/W alice\r\n", REPLY_ALICE);
	EXPECT("/W bob\r\n", "Login: bob\tName: Bob Builder\r\n"
	    "Plan:\r\nCan we fix it?\r\nYes we can!\r\n");
	EXPECT("/W dan\r\n", REPLY_W_DAN);
	cr_assert_lt(now_seconds() - start, LATENCY(1.0),
	    "the replies waited on a FIFO: %.2f s", now_seconds() - start);
	stopped_cleanly();
}

/* A 1 MiB .pgpkey: its first 64 KiB, converted; the cut is logged. */
Test(daemon, verbose_key_cut_at_64_kib)
{
	char *text = huge_text(1 << 20), *key, *want;
	size_t key_len;

	home_file_write(&fx, "bob", ".pgpkey", text, 1 << 20);
	key = crlf_convert(text, 65536, &key_len);
	cr_assert(asprintf(&want, "Login: bob\tName: Bob Builder\r\n"
	    "Project: Building things\r\nPGP key:\r\n%.*s"
	    "Plan:\r\nCan we fix it?\r\nYes we can!\r\n", (int)key_len,
	    key) > 0);
	daemon_start(&fx, "-B", LOCAL, NULL);
	expect_at(LOCAL, "/W bob\r\n", want, strlen(want));
	EXPECT_LOG("query=\"/W bob\" reply=plan-key-cut end=ok ");
	expect_at(LOCAL, "/W bob\r\n", want, strlen(want));
	EXPECT("bob\r\n", REPLY_BOB);
	EXPECT_LOG("query=\"bob\" reply=plan end=ok ");
	stopped_cleanly();
	free(text);
	free(key);
	free(want);
}

/*
 * A .project changed between two queries: the second has its new line,
 * whether the first reply was cached or not, the change in place and of
 * the same size included.
 */
Test(daemon, verbose_sees_a_changed_project)
{
	char path[256];

	home_file_path(&fx, "alice", ".project", path, sizeof(path));
	cr_assert_eq(fd_write_all(path, "one\n"), 0);
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("one")
	    PLAN_PART_ALICE);
	cr_assert_eq(fd_write_all(path, "two\n"), 0);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("two")
	    PLAN_PART_ALICE);
	usleep(2100 * 1000);		/* settled: the reply is cached */
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("two")
	    PLAN_PART_ALICE);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("two")
	    PLAN_PART_ALICE);
	cr_assert_eq(fd_write_all(path, "owt\nand more\n"), 0);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("owt")
	    PLAN_PART_ALICE);
	home_file_remove(&fx, "alice", ".project");
	EXPECT("/W alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * The list with logins of 1, 8 and 32 bytes and names of multi-byte
 * characters: the names start in one column, 32 + 2 from the left.
 */
Test(daemon, list_columns_of_long_and_short_logins)
{
	FILE *fp;
	char want[1024];
	const char *pad = "                                  ";

	cr_assert_not_null(fp = fopen(fx.passwd, "a"));
	fprintf(fp, "z:x:2001:79:Z\xc3\xa9\xc3\xa9:/nonexistent:/bin/sh\n"
	    "eightchr:x:2002:79:\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e:"
	    "/nonexistent:/bin/sh\n"
	    "a23456789012345678901234567890bc:x:2003:79:Thirty Two:"
	    "/nonexistent:/bin/sh\n");
	fclose(fp);
	daemon_start(&fx, "-B", LOCAL, NULL);
	snprintf(want, sizeof(want), "Login%.*sName\r\n"
	    "a23456789012345678901234567890bc  Thirty Two\r\n"
	    "alice%.*sAlice Liddell\r\n"
	    "bob%.*sBob Builder\r\n"
	    "carol%.*sCarol Noplan\r\n"
	    "dan%.*sDan Noeol\r\n"
	    "eightchr%.*s\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e\r\n"
	    "erin%.*sErin Unsafe\r\n"
	    "z%.*sZ\xc3\xa9\xc3\xa9\r\n",
	    29, pad, 29, pad, 31, pad, 29, pad, 31, pad, 26, pad, 30, pad,
	    33, pad);
	expect_at(LOCAL, "\r\n", want, strlen(want));
	stopped_cleanly();
}

/* How often pid has slept and been woken (voluntary context switches). */
static long
wakeups(pid_t pid)
{
	char value[256];
	long n = -1;

	status_field(pid, "voluntary_ctxt_switches", value, sizeof(value));
	cr_assert_eq(sscanf(value, "voluntary_ctxt_switches: %ld", &n), 1,
	    "/proc/%d/status: %s", (int)pid, value);
	return n;
}

/*
 * A worker that listens no more sleeps through the connections of the
 * generation after it: the old worker, draining a silent client after
 * SIGHUP, while the new one serves 200 exchanges on the listener the
 * supervisor keeps.  (The epoll engine's registration of that listener
 * outlived the old worker's close: every connection woke it.)
 */
Test(daemon, a_worker_that_listens_no_more_sleeps_through_connections)
{
	pid_t old;
	long before, woken;
	int silent, i;

	daemon_start(&fx, "-B", LOCAL, "-t", "20", NULL);
	old = daemon_worker(&fx);
	cr_assert((silent = client_connect(LOCAL, fx.port)) >= 0);
	EXPECT("alice\r\n", REPLY_ALICE);	/* the silent one is in */
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("^fingerd: event=reload group=finger members=5 generation=[0-9]+ why=sighup$");
	before = wakeups(old);
	for (i = 0; i < 200; i++)
		EXPECT("alice\r\n", REPLY_ALICE);
	woken = wakeups(old) - before;
	cr_assert_lt(woken, 20, "the old worker was woken %ld times by 200 "
	    "connections it does not take", woken);
	close(silent);
	stopped_cleanly();
}

/*
 * A worker killed by SIGSYS, as its seccomp filter kills it for a call
 * its C library makes that the list lacks (another architecture, another
 * C library): the supervisor's line says where that call is named, it
 * starts another worker at once, and the daemon serves.
 */
Test(daemon, a_worker_killed_by_its_filter_is_explained)
{
	pid_t worker;

	if (under_valgrind())
		cr_skip_test("valgrind reports a killed worker as its own "
		    "fatal signal");
	daemon_start(&fx, "-B", LOCAL, NULL);
	worker = daemon_worker(&fx);
	cr_assert_eq(kill(worker, SIGSYS), 0);
	EXPECT_LOG("^fingerd: event=worker-exit pid=[0-9]+ signal=SIGSYS why=\"Bad "
	    "system call: a system call outside its seccomp allow-list, which "
	    "the kernel\'s audit log names \\(type=1326\\)\" restart=0s$");
	EXPECT("alice\r\n", REPLY_ALICE);
	cr_assert_neq(daemon_worker(&fx), worker);
	daemon_signal(&fx, SIGTERM);
	cr_assert_eq(daemon_wait(&fx, WAIT_EXIT_MS), 70 << 8,
	    "a worker's crash is the daemon's exit status 70");
}

/*
 * A worker whose one slot (-c 1) a reader of nothing holds, mid-reply
 * and so not evictable, sleeps through the connections that queue
 * meanwhile; once the slot is free they are served.
 */
Test(daemon, a_worker_with_every_slot_taken_sleeps_through_connections)
{
	enum { PLAN = 1 << 20, QUEUED = 100 };
	char *text = huge_text(PLAN);
	struct buffer b = { 0 };
	int held, queued[QUEUED], i;
	long before, woken;
	pid_t worker;

	plan_write(&fx, "alice", text, PLAN);
	free(text);
	daemon_start(&fx, "-B", LOCAL, "-c", "1", "-m", "2097152", NULL);
	worker = daemon_worker(&fx);
	held = client_connect_small(LOCAL, fx.port, 4096);
	cr_assert(held >= 0);
	client_send(held, "alice\r\n", 7);
	cr_assert_eq(client_read(held, &b, 1000, WAIT_REPLY_MS), 1);
	before = wakeups(worker);
	for (i = 0; i < QUEUED; i++)
		cr_assert((queued[i] = client_connect(LOCAL, fx.port)) >= 0);
	usleep(300 * 1000);
	woken = wakeups(worker) - before;
	cr_assert_lt(woken, 20, "the worker was woken %ld times by %d "
	    "connections it cannot take", woken, QUEUED);
	client_reset(held);
	client_send(queued[QUEUED - 1], "bob\r\n", 5);
	buffer_free(&b);
	cr_assert_eq(client_read_all(queued[QUEUED - 1], &b, WAIT_REPLY_MS),
	    0);
	cr_assert(b.len > 0 && memcmp(b.data, "Login: bob\t", 11) == 0,
	    "the last connection queued: %zu bytes", b.len);
	for (i = 0; i < QUEUED; i++)
		close(queued[i]);
	buffer_free(&b);
	stopped_cleanly();
}

/*
 * A log in a file (or a terminal, or a pipe): each line begins with its
 * time, RFC 3339 in UTC with milliseconds, then the line as before.
 */
Test(daemon, log_file_lines_begin_with_their_time)
{
	struct buffer b;
	struct tm tm = { 0 };
	char *line, *next;
	time_t start = time(NULL), t;
	regex_t re;
	size_t lines = 0;

	cr_assert_eq(regcomp(&re, "^" LOG_TIME_RE " fingerd: [^ ]", REG_EXTENDED |
	    REG_NOSUB), 0);
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT_LOG("^fingerd: client=127\\.0\\.0\\.1 query=\"alice\" ");
	stopped_cleanly();
	log_read(&fx, &b);
	for (line = b.data; *line != '\0'; line = next, lines++) {
		cr_assert_not_null(next = strchr(line, '\n'));
		*next++ = '\0';
		cr_assert_eq(regexec(&re, line, 0, NULL, 0), 0, "%s", line);
		cr_assert_not_null(strptime(line, "%Y-%m-%dT%H:%M:%S", &tm));
		t = timegm(&tm);
		cr_assert(t >= start && t <= time(NULL), "%s: not UTC now",
		    line);
	}
	cr_assert_geq(lines, 5, "%zu lines", lines);
	regfree(&re);
	buffer_free(&b);
}

/* The port from a syslog "event=listen" line, once the daemon serves. */
static int
syslog_port(int fd, struct buffer *log)
{
	const char *line;

	cr_assert(syslog_wait(fd, log, "^fingerd\\[[0-9]+\\]: event=start "
	    "group=finger ", 1, WAIT_START_MS), "not serving; syslog: %s",
	    log->data != NULL ? log->data : "");
	cr_assert_not_null(line = strstr(log->data, "]: event=listen "
	    "address=127.0.0.1:"));
	return atoi(line + sizeof("]: event=listen address=127.0.0.1:") - 1);
}

/*
 * -l: every line goes to syslog (FINGERD_SYSLOG_PATH stands for
 * /dev/log), the supervisor's and each worker's, a whole datagram each
 * (syslog_read() checks them) of facility daemon at its level; none to
 * stderr.
 */
Test(daemon, syslog_lines_are_datagrams)
{
	struct buffer log = { 0 }, err;
	int fd = syslog_bind(&fx);

	skip_under_valgrind(LOG_EXACT);

	daemon_launch(&fx, "-l", "-B", LOCAL, "-w", "2", NULL);
	fx.port = syslog_port(fd, &log);
	cr_assert_eq(strncmp(log.data, "<30>", 4), 0, "%s", log.data);
	EXPECT("alice\r\n", REPLY_ALICE);
	cr_assert(syslog_wait(fd, &log, "^fingerd\\[[0-9]+\\]: client=127\\."
	    "0\\.0\\.1 query=\"alice\" reply=plan end=ok sent=[0-9]+ "
	    "ms=[0-9]+\\.[0-9]{3}$", 1, WAIT_LOG_MS), "%s", log.data);
	stopped_cleanly();
	syslog_read(fd, &log);
	cr_assert_eq(log_count_in(&log, "^fingerd\\[[0-9]+\\]: event=stop "
	    "signal=SIGTERM in_flight=0$"), 2, "%s", log.data);
	cr_assert_null(strstr(log.data, "\n<2"), "not info: %s", log.data);
	log_read(&fx, &err);
	cr_assert_eq(err.len, 0, "on stderr: %s", err.data);
	buffer_free(&err);
	buffer_free(&log);
	close(fd);
}

/* -l, and no syslog to reach: one clear line at start, and no start. */
Test(daemon, syslog_unreachable_at_start)
{
	int fd = syslog_bind(&fx);

	close(fd);
	cr_assert_eq(daemon_run(&fx, "-l", "-B", LOCAL, NULL), EX_UNAVAILABLE);
	cr_assert_eq(log_count(&fx, "^fingerd: -l: cannot reach syslog at "
	    ".*/log\\.socket \\(is a syslog daemon running\\?\\): "), 1);
}

/*
 * Syslog's socket gone (its daemon stopped): the lines are lost,
 * counted; once a socket is there again the count reaches it, exactly.
 */
Test(daemon, syslog_gone_loses_lines_counted)
{
	struct buffer log = { 0 };
	int fd = syslog_bind(&fx), i;
	unsigned long lost;
	bool last;

	skip_under_valgrind(LOG_EXACT);

	daemon_launch(&fx, "-l", "-B", LOCAL, NULL);
	fx.port = syslog_port(fd, &log);
	close(fd);
	for (i = 0; i < 5; i++)
		EXPECT("alice\r\n", REPLY_ALICE);
	usleep(200 * 1000);	/* their lines tried, 10 ms after */
	fd = syslog_bind(&fx);
	stopped_cleanly();
	syslog_read(fd, &log);
	cr_assert_eq(log_count_in(&log, "client="), 0, "%s", log.data);
	cr_assert_eq(log_count_in(&log, "^fingerd\\[[0-9]+\\]: event=stop "
	    "signal=SIGTERM in_flight=0$"), 1, "%s", log.data);
	lost = log_lost_count(&log, &last);
	cr_assert_eq(lost, 5, "%lu lines counted lost: %s", lost, log.data);
	buffer_free(&log);
	close(fd);
}

/*
 * The daemon's own events (where it listens, the engine, the start, a
 * reload, a worker's end and its restart, the stops) are key=value
 * lines, as the exchanges' are: every line of such a life parses so.
 */
Test(daemon, own_events_are_key_value_lines)
{
	static const char *const events[] = {
		"^fingerd: event=listen address=127\\.0\\.0\\.1:[0-9]+$",
		"^fingerd: event=engine engine=",
		"^fingerd: event=start group=finger members=5 workers=2$",
		"^fingerd: event=reload group=finger members=5 generation=2 why=sighup$",
		"^fingerd: event=worker-exit pid=[0-9]+ signal=SIGKILL "
		    "why=\"Killed\" restart=0s$",
		"^fingerd: event=stop signal=SIGTERM$",
		"^fingerd\\[[0-9]+\\]: event=stop signal=SIGTERM in_flight=0$",
	};
	pid_t workers[4];
	double deadline;
	size_t i;

	skip_under_valgrind(LOG_EXACT);

	daemon_start(&fx, "-B", LOCAL, "-w", "2", NULL);
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG(events[3]);
	deadline = now_seconds() + WAIT_EXIT_MS / 1000.0;
	while (daemon_workers(&fx, workers, 4) != 2 && now_seconds() < deadline)
		usleep(10000);	/* the old generation leaves */
	cr_assert_eq(daemon_workers(&fx, workers, 4), 2);
	cr_assert_eq(kill(workers[0], SIGKILL), 0);
	EXPECT_LOG(events[4]);
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		cr_assert_geq(log_count(&fx, events[i]), 1, "no line %s",
		    events[i]);
	cr_assert_eq(log_count(&fx, "^fingerd(\\[[0-9]+\\])?: (event=[a-z-]+|"
	    "client=[^ ]+)( [a-z_]+=(\"[^\"]*\"|[^ \"]*)(\\.\\.\\.)?)*$"),
	    log_count(&fx, ""), "a line that is not key=value");
}

/*
 * Syslog restarted (its socket gone, then a new one): the workers' lines
 * reach the new one without waiting for the supervisor to log anything,
 * as it connects the socket they share again when they say it refuses
 * their lines; every exchange is then logged or counted lost.
 */
Test(daemon, syslog_back_after_a_restart)
{
	struct buffer log = { 0 };
	double deadline;
	int fd = syslog_bind(&fx), i;
	size_t served = 0, logged;
	unsigned long lost;
	bool last;

	skip_under_valgrind(LOG_EXACT);

	daemon_launch(&fx, "-l", "-B", LOCAL, NULL);
	fx.port = syslog_port(fd, &log);
	close(fd);
	for (i = 0; i < 5; i++, served++)
		EXPECT("alice\r\n", REPLY_ALICE);
	usleep(200 * 1000);
	fd = syslog_bind(&fx);
	deadline = now_seconds() + WAIT_LOG_MS / 1000.0;
	while (log_count_in(&log, "client=") == 0) {
		cr_assert(now_seconds() < deadline, "no exchange line after "
		    "%zu queries: %s", served, log.data);
		EXPECT("alice\r\n", REPLY_ALICE);
		served++;
		usleep(100 * 1000);
		syslog_read(fd, &log);
	}
	stopped_cleanly();
	syslog_read(fd, &log);
	logged = log_count_in(&log, "client=");
	lost = log_lost_count(&log, &last);
	cr_assert(lost >= 5 && logged + lost == served, "%zu exchanges, %zu "
	    "logged, %lu counted lost: %s", served, logged, lost, log.data);
	buffer_free(&log);
	close(fd);
}
