/*
 * log.c: every line is whole and at most PIPE_BUF bytes, so lines of
 * several processes never interleave; an exchange's query is cut in the
 * log to fit, and the cut is marked.  stderr is a pipe the test reads.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fingerd.h"
#include "rng.h"

#define TIME_LEN	(sizeof("2026-12-06T19:37:41.123Z ") - 1)

static int pipe_fds[2], saved_stderr;

/*
 * Checks that each line of text begins with its time, within a second
 * of now, and takes the times out.
 */
static void
untimed(char *text)
{
	regex_t re;
	struct tm tm = { 0 };
	char *line;
	time_t now = time(NULL), t;

	cr_assert_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z $", REG_EXTENDED | REG_NOSUB), 0);
	for (line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
		char time[TIME_LEN + 1];

		memcpy(time, line, TIME_LEN);
		time[TIME_LEN] = '\0';
		cr_assert_eq(regexec(&re, time, 0, NULL, 0), 0, "%s", line);
		cr_assert_not_null(strptime(time, "%Y-%m-%dT%H:%M:%S", &tm));
		t = timegm(&tm);
		/* time() is the coarse clock: up to a tick behind. */
		cr_assert(t >= now - 1 && t <= now + 1, "%s: not now", time);
		memmove(line, line + TIME_LEN, strlen(line + TIME_LEN) + 1);
		cr_assert_not_null(strchr(line, '\n'));
	}
	regfree(&re);
}

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

/*
 * What one write put in the pipe, and its length (a pipe is neither the
 * journal nor a socket: each line begins with its time, RFC 3339 in UTC,
 * which is checked and left out of buf).
 */
static size_t
one_write(char *buf, size_t size)
{
	ssize_t n = read(pipe_fds[0], buf, size - 1);

	cr_assert(n > 0 && (size_t)n > TIME_LEN);
	buf[n] = '\0';
	untimed(buf);
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

/*
 * stderr the journal's stream (JOURNAL_STREAM names it), a worker of
 * several: its level, then which worker, no name, no time.
 */
Test(log, a_workers_line_in_the_journal)
{
	char stream[64], want[128], buf[2 * PIPE_BUF];
	struct stat st;
	ssize_t n;

	cr_assert_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(stream, sizeof(stream), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	cr_assert_eq(setenv("JOURNAL_STREAM", stream, 1), 0);
	log_init("fingerd[7]");
	unsetenv("JOURNAL_STREAM");
	exchange("alice", 5);
	cr_assert_gt(n = read(pipe_fds[0], buf, sizeof(buf) - 1), 0);
	buf[n] = '\0';
	snprintf(want, sizeof(want), "<6>worker=%d client=192.0.2.1 "
	    "query=\"alice\" reply=invalid end=ok sent=15 ms=0.187\n",
	    (int)getpid());
	cr_assert_str_eq(buf, want);
}

/*
 * stderr a datagram socket, as syslog's: each line one datagram, its
 * facility and level, the local time, the name with the process, the
 * line (with its newline).
 */
Test(log, a_line_to_syslog)
{
	char head[128], buf[2 * PIPE_BUF];
	const char *rest;
	regex_t re;
	int sv[2];
	ssize_t n;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(dup2(sv[1], STDERR_FILENO), STDERR_FILENO);
	log_init("fingerd");
	exchange("alice", 5);
	cr_assert_gt(n = recv(sv[0], buf, sizeof(buf) - 1, MSG_DONTWAIT), 0);
	buf[n] = '\0';
	snprintf(head, sizeof(head), "^<30>[A-Z][a-z]{2} [ 1-3][0-9] "
	    "[0-9]{2}:[0-9]{2}:[0-9]{2} fingerd\\[%d\\]: ", (int)getpid());
	cr_assert_eq(regcomp(&re, head, REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regexec(&re, buf, 0, NULL, 0), 0, "%s", buf);
	regfree(&re);
	cr_assert_not_null(rest = strstr(buf, "]: "));
	cr_assert_str_eq(rest + 3, "client=192.0.2.1 query=\"alice\" "
	    "reply=invalid end=ok sent=15 ms=0.187\n");
	cr_assert(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT) == -1 &&
	    errno == EAGAIN, "more than one datagram");
	close(sv[0]);
	close(sv[1]);
}

/* An exchange's line with these numbers, as printf would write them. */
static void
expect_numbers(uint64_t sent, uint64_t us)
{
	struct exchange_record r = {
		.query = "alice", .query_len = 5, .reply = "plan",
		.end = E_NONE, .sent = sent, .us = us,
	};
	char buf[2 * PIPE_BUF], want[256];
	struct in6_addr a;

	inet_pton(AF_INET6, "::ffff:192.0.2.1", &a);
	r.address = &a;
	log_exchange(&r);
	one_write(buf, sizeof(buf));
	snprintf(want, sizeof(want), "fingerd: client=192.0.2.1 "
	    "query=\"alice\" reply=plan end=ok sent=%" PRIu64 " ms=%" PRIu64
	    ".%03" PRIu64 "\n", sent, us / 1000, us % 1000);
	cr_assert_str_eq(buf, want);
}

/*
 * The line's numbers, written by hand, against printf's: each of the
 * milliseconds' 1,000 fractions, and each power of ten with its
 * neighbours, up to UINT64_MAX.
 */
Test(log, numbers_as_printf_writes_them)
{
	uint64_t v, power = 1;
	int i;

	for (v = 0; v < 1000; v++)
		expect_numbers(v, v);
	for (i = 0; i < 20; i++, power *= 10) {
		expect_numbers(power - 1, power - 1);
		expect_numbers(power, power);
		expect_numbers(power + 1, power + 1);
	}
	expect_numbers(UINT64_MAX, UINT64_MAX);
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
	cr_assert_eq(buf[n - TIME_LEN - 1], '\n');
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
	cr_assert_eq(buf[n - TIME_LEN - 1], '\n');
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

/* A line of the longest kind the queue tests use: 4,010 bytes. */
static void
long_line(void)
{
	static char text[4001];

	memset(text, 'a', sizeof(text) - 1);
	log_info("%s", text);
}

/* Writes what is due, as a worker's ring would, until nothing is. */
static void
queue_drain(void)
{
	const void *data;
	size_t len;

	while (log_next(&data, &len))
		cr_assert(log_wrote((int)len));
}

/*
 * The room log_room() promises stays there whatever comes first: asked
 * while no write is in flight and lines are written behind, then a
 * write starts before the lines come.  The room behind the lines
 * written counted, the last lines were lost (issue 20).
 */
Test(log, the_room_promised_holds_when_a_write_starts_first)
{
	const void *data;
	size_t len, i, n;

	cr_assert(log_queue_start(2));		/* 66 lines of PIPE_BUF */
	for (i = 0; i < 60; i++)
		long_line();
	for (i = 0; i < 10; i++) {
		cr_assert(log_next(&data, &len));
		cr_assert(log_wrote((int)len));
	}
	for (n = 0; log_room(n + 1); n++)
		continue;
	cr_assert_gt(n, 0);
	cr_assert(log_next(&data, &len));	/* in flight: no moving */
	for (i = 0; i < n; i++)
		long_line();
	cr_assert(log_room(0), "the spare taken, with room for %zu", n);
	cr_assert(log_wrote((int)len));
	cr_assert_eq(log_lost_take(), 0, "lines lost with room for %zu", n);
	queue_drain();
	log_queue_stop(0);
}

/* A line of PIPE_BUF bytes, its newline too: the longest there is. */
static void
longest_line(void)
{
	static char text[PIPE_BUF + 1];

	memset(text, 'b', sizeof(text) - 1);
	log_info("%s", text);
}

/*
 * What is queued, written as a worker's ring would once it is due (a
 * short line waits LOG_DELAY_NS for others), into all; its length.
 */
static size_t
queue_drain_into(char *all, size_t size)
{
	const void *data;
	size_t len, n = 0;
	int64_t due;

	while ((due = log_due()) >= 0) {
		nanosleep(&(struct timespec){ .tv_nsec = due }, NULL);
		cr_assert(log_next(&data, &len));
		cr_assert_lt(n + len, size);
		memcpy(all + n, data, len);
		n += len;
		cr_assert(log_wrote((int)len));
	}
	all[n] = '\0';
	return n;
}

/*
 * A worker's own lines (a stop's, an accept error's, the exchanges held
 * at its exit) have room kept for them, which its clients cannot take:
 * with the log stalled and the queue as full of the longest clients'
 * lines as log_room() lets a worker take clients, a worker's line is
 * queued, after them, not lost.  (The clients' lines could fill the
 * queue, the spare too, and the stop's line was lost, counted.)
 */
Test(log, room_is_kept_for_a_workers_own_lines)
{
	static char all[128 * PIPE_BUF];
	const char *line, *last = NULL;
	size_t clients = 0, lines = 0, i;

	cr_assert(log_queue_start(2 * 4));	/* -c 4 */
	while (log_room(2)) {		/* a client, two of the longest lines */
		longest_line();
		longest_line();
		clients++;
	}
	log_info("event=stop signal=SIGTERM in_flight=0");
	cr_assert_eq(log_lost(), 0, "lines lost after %zu clients", clients);
	queue_drain_into(all, sizeof(all));
	for (line = all; *line != '\0'; line = strchr(line, '\n') + 1) {
		last = line;
		lines++;
		if (lines > 2 * clients)
			continue;
		cr_assert_eq(strchr(line, '\n') - line + 1, PIPE_BUF,
		    "line %zu", lines);
		for (i = TIME_LEN + sizeof("fingerd: ") - 1; line[i] != '\n';
		    i++)
			cr_assert_eq(line[i], 'b', "line %zu", lines);
	}
	cr_assert_eq(lines, 2 * clients + 1, "%zu lines for %zu clients",
	    lines, clients);
	cr_assert_str_eq(last + TIME_LEN,
	    "fingerd: event=stop signal=SIGTERM in_flight=0\n");
	log_queue_stop(0);
}

#define NOTE	"log lines lost: the log took no more\n"

/* The next write due is one that ends with end (what: which it is). */
static size_t
next_write_ends(const char *end, const char *what)
{
	const void *data;
	size_t len, n = strlen(end);

	cr_assert(log_next(&data, &len), "no write due: %s expected", what);
	cr_assert(len >= n && memcmp((const char *)data + len - n, end, n) == 0,
	    "%s expected, got \"%.*s\"", what, (int)len, (const char *)data);
	return len;
}

/*
 * Lines another process lost, counted while this one's lines wait for
 * the log: the note of them follows those lines, which were timed
 * before it (the supervisor's "event=stop" came after a worker's note
 * once, under valgrind).
 */
Test(log, a_count_handed_over_is_noted_after_the_lines_queued)
{
	const void *data;
	size_t len;

	cr_assert(log_queue_start(1));
	log_info("before");
	log_lost_add(3);
	nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	/* due: queued 10 ms ago */
	cr_assert(log_wrote((int)next_write_ends(" before\n",
	    "the queued line first")));
	cr_assert(log_wrote((int)next_write_ends(NOTE, "then the note")));
	cr_assert_not(log_next(&data, &len));
	log_queue_stop(0);
}

/*
 * At the end, the lines queued are written first, then the count of
 * those lost (a worker's, added), once; a note the log would not take
 * (EAGAIN) before does not count as written.
 */
Test(log, the_end_writes_the_lines_then_the_count_lost)
{
	static const char want[] = "fingerd: after\n"
	    "fingerd: 5 log lines lost: the log took no more\n";
	const void *data;
	char buf[PIPE_BUF + 1], all[2 * PIPE_BUF];
	size_t len, n = 0;

	cr_assert(log_queue_start(1));
	log_lost_add(5);
	cr_assert(log_next(&data, &len));
	cr_assert_eq(len, TIME_LEN + sizeof(want) - sizeof("fingerd: after\n"));
	cr_assert_not(log_wrote(-EAGAIN));
	log_info("after");
	log_end(0);
	close(pipe_fds[1]);
	dup2(saved_stderr, STDERR_FILENO);
	while ((len = (size_t)read(pipe_fds[0], buf, sizeof(buf))) > 0 &&
	    len <= sizeof(buf) && n + len < sizeof(all)) {
		memcpy(all + n, buf, len);
		n += len;
	}
	all[n] = '\0';
	untimed(all);
	cr_assert_str_eq(all, want);
}

/*
 * The same with two writes' worth of lines queued before the count: the
 * note follows both, not the first write.
 */
Test(log, a_count_handed_over_waits_for_every_line_queued_before_it)
{
	cr_assert(log_queue_start(4));
	long_line();
	long_line();			/* two writes: > PIPE_BUF together */
	log_lost_add(3);
	/* due: over LOG_WRITE_MAX */
	cr_assert(log_wrote((int)next_write_ends("a\n", "the first line")));
	nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	cr_assert(log_wrote((int)next_write_ends("a\n",
	    "the second line queued before the count")));
	cr_assert(log_wrote((int)next_write_ends(NOTE, "then the note")));
	log_queue_stop(0);
}

/*
 * The lines queued before a count was handed over fail to be written
 * (EPIPE): the note is due at once, not held until some later line is
 * written, which in the supervisor may be hours away.
 */
Test(log, a_count_handed_over_is_noted_when_the_lines_before_it_fail)
{
	cr_assert(log_queue_start(4));
	log_info("before");
	log_lost_add(3);
	nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	next_write_ends(" before\n", "the queued line");
	cr_assert(log_wrote(-EPIPE));		/* that line lost */
	cr_assert(log_wrote((int)next_write_ends(NOTE,
	    "the note at once, not after a line that may never come")));
	log_queue_stop(0);
}

/* What log_shell_operand writes of src, in full, into buf. */
static const char *
operand(char *buf, size_t size, const char *src)
{
	size_t n = log_shell_operand(buf, size, src, strlen(src));

	if (n == 0)
		return NULL;
	cr_assert_lt(n, size, "%s: %zu bytes", src, n);
	cr_assert_eq(strlen(buf), n, "%s: the length said", src);
	return buf;
}

/*
 * A path a shell takes as it is stays so (the warnings' lines that
 * name one do not change); any other goes in single quotes, a ' in it
 * as '\'', and a '"' raw; one that begins with a '-' after ./.
 */
Test(log_operand, as_it_is_else_in_single_quotes)
{
	char buf[64];

	cr_assert_str_eq(operand(buf, sizeof(buf), "/home/alice"),
	    "/home/alice");
	cr_assert_str_eq(operand(buf, sizeof(buf), "/h/plain_1.2+@,:=-"),
	    "/h/plain_1.2+@,:=-");
	cr_assert_str_eq(operand(buf, sizeof(buf), "/h/sp ace"),
	    "'/h/sp ace'");
	cr_assert_str_eq(operand(buf, sizeof(buf), "/h/$(rm x);`y` *~#"),
	    "'/h/$(rm x);`y` *~#'");
	cr_assert_str_eq(operand(buf, sizeof(buf), "/h/it's"),
	    "'/h/it'\\''s'");
	cr_assert_str_eq(operand(buf, sizeof(buf), "''"), "''\\'''\\'''");
	cr_assert_str_eq(operand(buf, sizeof(buf), "/h/say \"hi\""),
	    "'/h/say \"hi\"'");
	cr_assert_str_eq(operand(buf, sizeof(buf), "-R"), "./-R");
	cr_assert_str_eq(operand(buf, sizeof(buf), "-R a+w ."),
	    "./'-R a+w .'");
	cr_assert_str_eq(operand(buf, sizeof(buf), ""), "''");
}

/*
 * None for a path with a byte the log escapes: its escape pasted would
 * name another file (a backslash, a control character, DEL, UTF-8).
 */
Test(log_operand, none_where_the_log_escapes_a_byte)
{
	static const char *const escaped[] = {
		"/h/back\\slash", "/h/\\x41", "/h/e\x1bsc", "/h/t\tab",
		"/h/del\x7f", "/h/caf\xc3\xa9", "/h/new\nline",
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(escaped) / sizeof(escaped[0]); i++)
		cr_assert_null(operand(buf, sizeof(buf), escaped[i]), "%s",
		    escaped[i]);
}

/* A dst too small: the length it needs, as snprintf, and nothing written. */
Test(log_operand, a_dst_too_small_gets_the_length_and_nothing)
{
	char buf[16];

	memset(buf, '#', sizeof(buf));
	cr_assert_eq(log_shell_operand(buf, 12, "/h/it's", 7), 12);
	cr_assert_eq(buf[0], '#');
	cr_assert_eq(log_shell_operand(buf, 13, "/h/it's", 7), 12);
	cr_assert_str_eq(buf, "'/h/it'\\''s'");
}

/*
 * Pasted: printf %s with the operand, run by /bin/sh -c, prints src
 * exactly (after ./ where it begins with a '-'), for names of the bytes
 * the log writes as it is, drawn at random (a fixed seed), half of them
 * of the bytes a shell reads specially.
 */
Test(log_operand, sh_passes_exactly_the_path)
{
	static const char special[] = " '\"$`;&|<>()*?[]{}!#~=%^-";
	char src[128], command[sizeof("printf %s ") + 4 * sizeof(src)];
	char out[sizeof(src) + 3], want[sizeof(out)];
	size_t i, k, len, n;
	FILE *sh;

	rng_seed(1288);
	for (k = 0; k < 200; k++) {
		len = rng_below(sizeof(src) - 1);
		for (i = 0; i < len; i++)
			do
				src[i] = rng_below(2) ?
				    special[rng_below(sizeof(special) - 1)] :
				    (char)(0x20 + rng_below(0x5f));
			while (src[i] == '\\');
		src[len] = '\0';
		snprintf(want, sizeof(want), "%s%s", src[0] == '-' ? "./" : "",
		    src);
		n = strlen("printf %s ");
		memcpy(command, "printf %s ", n);
		cr_assert_gt(log_shell_operand(command + n,
		    sizeof(command) - n, src, len), 0, "%s", src);
		cr_assert_not_null(sh = popen(command, "r"));
		n = fread(out, 1, sizeof(out) - 1, sh);
		out[n] = '\0';
		cr_assert_eq(pclose(sh), 0, "%s", command);
		cr_assert_str_eq(out, want, "%s", command);
	}
}
