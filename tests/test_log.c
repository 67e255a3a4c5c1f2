/*
 * log.c: every line is whole and at most PIPE_BUF bytes, so lines of
 * several processes never interleave; an exchange's query is cut in the
 * log to fit, and the cut is marked.  stderr is a pipe the test reads.
 */
#include <arpa/inet.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fingerd.h"

static int pipe_fds[2], saved_stderr;

static void
setup(void)
{
	cr_assert_eq(pipe(pipe_fds), 0);
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_eq(dup2(pipe_fds[1], STDERR_FILENO), STDERR_FILENO);
	log_init("fingerd");
}

static void
teardown(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

TestSuite(log, .init = setup, .fini = teardown);

/* What one write put in the pipe. */
static size_t
one_write(char *buf, size_t size)
{
	ssize_t n = read(pipe_fds[0], buf, size - 1);

	cr_assert(n > 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void
exchange(const char *query, size_t len)
{
	struct exchange_record r = {
		.query = query, .query_len = len, .reply = "invalid",
		.end = E_NONE, .sent = 15, .us = 187,
	};
	struct in6_addr a;

	inet_pton(AF_INET6, "::ffff:192.0.2.1", &a);
	r.address = &a;
	log_exchange(&r);
}

Test(log, a_short_query_whole)
{
	char buf[2 * PIPE_BUF];

	exchange("al\x01ice", 6);
	one_write(buf, sizeof(buf));
	cr_assert_str_eq(buf, "fingerd: client=192.0.2.1 "
	    "query=\"al\\x01ice\" reply=invalid end=ok sent=15 ms=0.187\n");
}

/* 1,023 control bytes would take 4,092 escaped: cut, marked, one write. */
Test(log, a_long_query_cut_to_one_pipe_buf)
{
	char query[QUERY_MAX - 1], buf[2 * PIPE_BUF], *quote;
	size_t n;

	memset(query, 0x01, sizeof(query));
	exchange(query, sizeof(query));
	n = one_write(buf, sizeof(buf));
	cr_assert_leq(n, PIPE_BUF);
	cr_assert_gt(n, PIPE_BUF - 8, "%zu bytes: not cut at the bound", n);
	cr_assert_eq(buf[n - 1], '\n');
	cr_assert_eq(strncmp(buf, "fingerd: client=192.0.2.1 query=\"\\x01",
	    37), 0);
	cr_assert_not_null(quote = strstr(buf, "\"... reply=invalid end=ok "
	    "sent=15 ms=0.187\n"), "%s", buf);
	/* Only whole escapes before the quote. */
	cr_assert_eq((size_t)(quote - (buf + 33)) % 4, 0);
}

Test(log, any_line_at_most_pipe_buf)
{
	char text[3 * PIPE_BUF], buf[2 * PIPE_BUF];
	size_t n;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	log_warnx("%s", text);
	n = one_write(buf, sizeof(buf));
	cr_assert_eq(n, PIPE_BUF);
	cr_assert_eq(buf[n - 1], '\n');
}

/* The cuts of a reply, each marked after its word. */
Test(log, cuts_marked_after_the_reply)
{
	static const struct {
		unsigned	 cut;
		const char	*want;
	} cases[] = {
		{ CUT_PLAN, "reply=plan-cut end=ok" },
		{ CUT_PGPKEY, "reply=plan-key-cut end=ok" },
		{ CUT_PLAN | CUT_PGPKEY, "reply=plan-cut-key-cut end=ok" },
	};
	struct exchange_record r = {
		.query = "/W alice", .query_len = 8, .reply = "plan",
		.end = E_NONE, .sent = 15, .us = 187,
	};
	char buf[2 * PIPE_BUF];
	struct in6_addr a;
	size_t i;

	inet_pton(AF_INET6, "::ffff:192.0.2.1", &a);
	r.address = &a;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.cut = cases[i].cut;
		log_exchange(&r);
		one_write(buf, sizeof(buf));
		cr_assert_not_null(strstr(buf, cases[i].want), "%s", buf);
	}
}
