/*
 * The black-box conformance suite: one test per rule of "The exchange" in
 * fingerd.8, each asserting the exact bytes a client receives.
 *
 * With FINGERD_HOST and FINGERD_PORT set it tests that server (and
 * FINGERD_TIMEOUT, default 10, says its -t); without them it starts
 * $FINGERD (default ./fingerd) on a fixture of its own, one per test.
 * A server under test must serve this fixture:
 *
 *	group finger, gid 79, members "erin,carol,alice,dan"
 *	alice	gecos "Alice Liddell,Room 1,555-0101,", listed
 *		.plan "Down the rabbit hole.\nCuriouser and curiouser!\n"
 *	bob	gecos "Bob Builder", primary gid 79, not listed
 *		.plan "Can we fix it?\r\nYes we can!\r\n"
 *		.project PROJECT_BOB, .pgpkey PGPKEY_BOB (harness.h)
 *	carol	gecos "Carol Noplan", listed, no .plan, .pgpkey "KEYONLY"
 *	dan	gecos "Dan Noeol", listed
 *		.plan "Ends with LF\nmixed\r\nno newline at the end"
 *		.project PROJECT_DAN (controls, bad UTF-8, a second line)
 *	erin	gecos "Erin Unsafe,,,", listed
 *		.plan PLAN_ERIN in harness.h (ESC, DEL, C0 and C1 controls,
 *		bad UTF-8, and valid UTF-8 text)
 *	mallory	gecos "Mallory Outsider", gid 100, not a member
 *		.plan "I am not a member.\n"
 *	root, nobody: the usual accounts; no account is named nosuchuser.
 *
 * Every reply expected here is spelled out in harness.h.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static const char *host;
static int port;
static int deadline_seconds;
static bool external;

/* -t of the daemon started here: short, for the deadline test. */
#define OWN_TIMEOUT	"2"

static void
setup(void)
{
	const char *h = getenv("FINGERD_HOST"), *p = getenv("FINGERD_PORT");
	const char *t = getenv("FINGERD_TIMEOUT");

	if (h != NULL && p != NULL) {
		external = true;
		host = h;
		port = atoi(p);
		deadline_seconds = t != NULL ? atoi(t) : 10;
		cr_assert(port > 0 && port < 65536, "FINGERD_PORT: %s", p);
		return;
	}
	fixture_create(&fx);
	daemon_start(&fx, "-B", "127.0.0.1", "-t", OWN_TIMEOUT, NULL);
	host = "127.0.0.1";
	port = fx.port;
	deadline_seconds = atoi(OWN_TIMEOUT);
}

static void
teardown(void)
{
	if (!external)
		fixture_destroy(&fx);
}

TestSuite(exchange, .init = setup, .fini = teardown);

/* The query, escaped, for messages. */
static const char *
shown(const char *query, size_t len)
{
	static char text[128];
	size_t i, n = 0;

	for (i = 0; i < len && n + 8 < sizeof(text); i++) {
		unsigned char ch = (unsigned char)query[i];

		if (ch >= 0x20 && ch < 0x7f)
			text[n++] = (char)ch;
		else
			n += (size_t)snprintf(text + n, sizeof(text) - n,
			    "\\x%02x", ch);
	}
	snprintf(text + n, sizeof(text) - n, "%s", i < len ? "..." : "");
	return text;
}

/* One exchange: exactly want comes back, then the server closes. */
static void
expect(const char *query, size_t qlen, const char *want, size_t wlen)
{
	struct buffer b;
	char what[200];

	snprintf(what, sizeof(what), "query \"%s\"", shown(query, qlen));
	cr_assert_eq(finger(host, port, query, qlen, &b), 0,
	    "%s: no close from the server: %s", what, strerror(errno));
	assert_bytes(&b, want, wlen, what);
	buffer_free(&b);
}

/* Not the harness's EXPECT: the server under test may be another. */
#undef EXPECT
#define EXPECT(query, want) \
	expect(query, sizeof(query) - 1, want, sizeof(want) - 1)

/*
 * The daemon started here must have kept running and must stop cleanly:
 * under the sanitizers an error or a leak changes the exit status.
 */
static void
served_cleanly(void)
{
	struct buffer b;
	int status;

	if (external)
		return;
	status = daemon_stop(&fx, SIGTERM);
	log_read(&fx, &b);
	cr_assert_eq(status, 0, "exit status %d after SIGTERM; log:\n%s",
	    status, b.data);
	buffer_free(&b);
}

static char *
repeated(char ch, size_t n, const char *end)
{
	char *s = malloc(n + strlen(end) + 1);

	cr_assert_not_null(s);
	memset(s, ch, n);
	strcpy(s + n, end);
	return s;
}

/* "The client sends one query line ending in CRLF or a bare LF." */
Test(exchange, query_ends_in_crlf)
{
	EXPECT("alice\r\n", REPLY_ALICE);
	served_cleanly();
}

Test(exchange, query_ends_in_bare_lf)
{
	EXPECT("alice\n", REPLY_ALICE);
	EXPECT("\n", REPLY_LIST);
	served_cleanly();
}

/* "The longest line accepted is 1024 bytes" (its LF included). */
Test(exchange, query_of_1024_bytes_is_accepted)
{
	char *q = repeated('x', 1023, "\n");

	expect(q, 1024, REPLY_NO_SUCH_USER, sizeof(REPLY_NO_SUCH_USER) - 1);
	free(q);
	served_cleanly();
}

/* "...a longer one gets an error line." */
Test(exchange, query_longer_than_1024_bytes_is_refused)
{
	char *no_end = repeated('x', 1024, "");
	char *crlf = repeated('x', 1023, "\r\n");
	char *long_line = repeated('x', 4000, "\r\n");
	struct buffer b = { 0 };
	int fd;

	/* 1024 bytes and no LF: refused without waiting for more. */
	fd = client_connect(host, port);
	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	client_send(fd, no_end, 1024);
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0,
	    "no close after 1024 bytes without LF: %s", strerror(errno));
	assert_reply(&b, REPLY_TOO_LONG, "1024 bytes without LF");
	close(fd);
	buffer_free(&b);
	expect(crlf, 1025, REPLY_TOO_LONG, sizeof(REPLY_TOO_LONG) - 1);
	expect(long_line, 4002, REPLY_TOO_LONG, sizeof(REPLY_TOO_LONG) - 1);
	free(no_end);
	free(crlf);
	free(long_line);
	served_cleanly();
}

/* "/W or /w before the user name, followed by optional spaces or tabs" */
Test(exchange, verbose_prefix_with_blanks)
{
	EXPECT("/W alice\r\n", REPLY_ALICE);
	EXPECT("/w alice\r\n", REPLY_ALICE);
	EXPECT("/W\talice\r\n", REPLY_ALICE);
	EXPECT("/w \t \talice\n", REPLY_ALICE);
	EXPECT("/Walice\r\n", REPLY_ALICE);
	EXPECT("/W bob\r\n", REPLY_W_BOB);
	EXPECT("/W mallory\r\n", REPLY_NO_SUCH_USER);
	served_cleanly();
}

/* "Only members of the group are found" (listed or by primary group). */
Test(exchange, member_listed_in_group)
{
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("dan\r\n", REPLY_DAN);
	served_cleanly();
}

Test(exchange, member_by_primary_group)
{
	EXPECT("bob\r\n", REPLY_BOB);
	served_cleanly();
}

/* "...every other name, existing or not, gets the same reply" */
Test(exchange, non_member_and_unknown_name_identical)
{
	static const char *const names[] = {
		"mallory\r\n", "nosuchuser\r\n", "root\r\n", "nobody\r\n",
		"ALICE\r\n", "alic\r\n", "alicex\r\n", "finger\r\n"
	};
	struct buffer first, b;
	size_t i;

	cr_assert_eq(finger(host, port, names[0], strlen(names[0]), &first),
	    0);
	assert_reply(&first, REPLY_NO_SUCH_USER, "mallory (not a member)");
	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_eq(finger(host, port, names[i], strlen(names[i]),
		    &b), 0);
		assert_bytes(&b, first.data, first.len, names[i]);
		buffer_free(&b);
	}
	buffer_free(&first);
	served_cleanly();
}

/* "A query containing @ asks for forwarding: refused" */
Test(exchange, forwarding_denied)
{
	EXPECT("alice@example.org\r\n", REPLY_FORWARDING);
	EXPECT("@example.org\r\n", REPLY_FORWARDING);
	EXPECT("@\r\n", REPLY_FORWARDING);
	EXPECT("alice@host1@host2\n", REPLY_FORWARDING);
	EXPECT("/W alice@example.org\r\n", REPLY_FORWARDING);
	EXPECT("/W @example.org\r\n", REPLY_FORWARDING);
	EXPECT("mallory@localhost\r\n", REPLY_FORWARDING);
	served_cleanly();
}

/* "An empty query (or /W alone) lists the members ... sorted by login" */
Test(exchange, empty_query_lists_members_sorted)
{
	EXPECT("\r\n", REPLY_LIST);
	EXPECT("\n", REPLY_LIST);
	served_cleanly();
}

Test(exchange, verbose_alone_lists_members)
{
	EXPECT("/W\r\n", REPLY_LIST);
	EXPECT("/w\r\n", REPLY_LIST);
	EXPECT("/W \t \r\n", REPLY_LIST);
	served_cleanly();
}

/*
 * "With /W, two more parts come between the Login line and the plan,
 * each only when its file is there": Project (the first line of
 * ~/.project) and PGP key (~/.pgpkey), filtered as the plan.
 */
Test(exchange, verbose_shows_project_and_key_before_the_plan)
{
	EXPECT("/W bob\r\n", REPLY_W_BOB);
	EXPECT("/w bob\r\n", REPLY_W_BOB);
	EXPECT("/Wbob\r\n", REPLY_W_BOB);
	EXPECT("/W \t bob\n", REPLY_W_BOB);
	served_cleanly();
}

Test(exchange, verbose_project_first_line_filtered)
{
	EXPECT("/W dan\r\n", REPLY_W_DAN);
	served_cleanly();
}

Test(exchange, verbose_key_without_plan)
{
	EXPECT("/W carol\r\n", REPLY_W_CAROL);
	served_cleanly();
}

/* Neither file: /W gives what the plain query gives. */
Test(exchange, verbose_without_project_or_key_is_the_plain_reply)
{
	EXPECT("/W alice\r\n", REPLY_ALICE);
	EXPECT("/W erin\r\n", REPLY_ERIN);
	served_cleanly();
}

/* "A plain query's reply does not change by one byte." */
Test(exchange, plain_query_shows_neither)
{
	EXPECT("bob\r\n", REPLY_BOB);
	EXPECT("dan\r\n", REPLY_DAN);
	EXPECT("carol\r\n", REPLY_CAROL);
	EXPECT("/W bob\r\n", REPLY_W_BOB);	/* and neither cache the other */
	EXPECT("bob\r\n", REPLY_BOB);
	served_cleanly();
}

/* "The reply to a member is, byte for byte:" ... "every bare LF as CRLF" */
Test(exchange, plan_bare_lf_sent_as_crlf)
{
	EXPECT("alice\r\n", REPLY_ALICE);
	served_cleanly();
}

Test(exchange, plan_crlf_kept)
{
	EXPECT("bob\r\n", REPLY_BOB);
	served_cleanly();
}

/* "...and a final CRLF added when the file does not end in a newline" */
Test(exchange, plan_final_crlf_added)
{
	EXPECT("dan\r\n", REPLY_DAN);
	served_cleanly();
}

/* "A member whose .plan is missing ... gets ... No Plan." */
Test(exchange, member_without_plan)
{
	EXPECT("carol\r\n", REPLY_CAROL);
	served_cleanly();
}

/* "Terminal safety": C0 but TAB CR LF, DEL, C1 raw or encoded removed. */
Test(exchange, plan_terminal_unsafe_bytes_removed)
{
	EXPECT("erin\r\n", REPLY_ERIN);
	served_cleanly();
}

/* "Every error reply is one line ending in CRLF; then ... closed." */
Test(exchange, error_replies_are_one_line)
{
	char *too_long = repeated('x', 2000, "\n");

	expect(too_long, 2001, REPLY_TOO_LONG, sizeof(REPLY_TOO_LONG) - 1);
	EXPECT("al\x01ice\r\n", REPLY_INVALID);
	EXPECT("alice@host\r\n", REPLY_FORWARDING);
	EXPECT("nosuchuser\r\n", REPLY_NO_SUCH_USER);
	free(too_long);
	served_cleanly();
}

/* Control characters, NUL, bad UTF-8, a blank in a name: one error. */
Test(exchange, invalid_query)
{
	static const struct {
		const char	*query;
		size_t		 len;
	} queries[] = {
#define Q(s)	{ s, sizeof(s) - 1 }
		Q("al\x01ice\r\n"),
		Q("al\x1b[2Jice\r\n"),
		Q("alice\x00\r\n"),
		Q("\x00\r\n"),
		Q("ali\x7f" "ce\r\n"),
		Q("alice\rfoo\r\n"),
		Q("al\xffice\r\n"),
		Q("al\xc3(ice\r\n"),
		Q("al\xc0\xafice\r\n"),
		Q("al\xed\xa0\x80ice\r\n"),
		Q("al\xc2\x85ice\r\n"),
		Q("al\x9bice\r\n"),
		Q("alice\xc3\r\n"),
		Q("alice bob\r\n"),
		Q("alice\tbob\r\n"),
		Q("/W alice bob\r\n"),
#undef Q
	};
	size_t i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		expect(queries[i].query, queries[i].len, REPLY_INVALID,
		    sizeof(REPLY_INVALID) - 1);
	served_cleanly();
}

/*
 * "The server always closes the connection after its reply": the client
 * keeps its side open, and a second query on the line is not answered.
 */
Test(exchange, server_closes_after_every_reply)
{
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("carol\r\n", REPLY_CAROL);
	EXPECT("\r\n", REPLY_LIST);
	EXPECT("mallory\r\n", REPLY_NO_SUCH_USER);
	EXPECT("alice\r\nbob\r\n", REPLY_ALICE);
	EXPECT("\r\nalice\r\n", REPLY_LIST);
	EXPECT("nosuchuser\r\nalice\r\n", REPLY_NO_SUCH_USER);
	served_cleanly();
}

/*
 * Reads until the server ends the connection, closed or reset (as
 * fingerd resets a connection at its deadline): 0, or -1 with errno.
 */
static int
read_to_the_end(int fd, struct buffer *b, int timeout_ms)
{
	int ret = client_read_all(fd, b, timeout_ms);

	return ret == -1 && errno == ECONNRESET ? 0 : ret;
}

/*
 * "a client that is too slow to send its query ... is disconnected":
 * one sends nothing, one half a query; both are disconnected (closed or
 * reset) at the deadline with nothing sent, and a third is served
 * meanwhile.
 */
Test(exchange, deadline_disconnects_slow_client)
{
	struct buffer silent = { 0 }, partial = { 0 }, b;
	int fd1, fd2, bound = (deadline_seconds + 3) * 1000;
	double start = now_seconds(), took;

	fd1 = client_connect(host, port);
	fd2 = client_connect(host, port);
	cr_assert(fd1 >= 0 && fd2 >= 0, "connect: %s", strerror(errno));
	client_send(fd2, "ali", 3);
	EXPECT("alice\r\n", REPLY_ALICE);
	cr_assert(client_quiet(fd1) && client_quiet(fd2),
	    "a slow client was closed before its deadline");
	cr_assert_eq(read_to_the_end(fd1, &silent, bound), 0,
	    "the silent client was not disconnected: %s", strerror(errno));
	cr_assert_eq(read_to_the_end(fd2, &partial, bound), 0,
	    "the partial client was not disconnected: %s", strerror(errno));
	took = now_seconds() - start;
	assert_reply(&silent, "", "to the silent client");
	assert_reply(&partial, "", "to the client that sent \"ali\"");
	buffer_free(&silent);
	buffer_free(&partial);
	cr_assert(took >= deadline_seconds - 0.2,
	    "closed after %.2f s, before the %d s deadline", took,
	    deadline_seconds);
	close(fd1);
	close(fd2);
	cr_assert_eq(finger(host, port, "bob\r\n", 5, &b), 0);
	assert_reply(&b, REPLY_BOB, "after the deadline");
	buffer_free(&b);
	served_cleanly();
}
