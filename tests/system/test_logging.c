/*
 * The daemon suite (its TestSuite in test_options.c), the log: an
 * exchange's exact line, its escapes, the levels for the journal; a log
 * pipe that stalls or backs up; a file shared by the workers; the time a
 * line in a file begins with; -l's syslog datagrams, unreachable at the
 * start, gone and back; the daemon's own events as key=value lines.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

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

/* Skipped under valgrind: no Landlock nor seccomp (warnings), slow windows. */
#define LOG_EXACT	"the log's exact lines and timing"

/* Appends what the non-blocking pipe holds now. */
static void
log_pipe_read(int fd, struct buffer *log)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buffer_append(log, chunk, (size_t)n);
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
 * -l, and a start that fails once syslog is reached (an unknown group):
 * its one line goes to syslog, and to stderr too, as a file's line, where
 * the admin who typed the command reads it; the rest of the start is
 * syslog's alone.  With -i, stderr (the client's socket, maybe) gets
 * nothing.  (Once the daemon serves, stderr gets nothing at all:
 * syslog_lines_are_datagrams.)
 */
Test(daemon, syslog_start_failure_is_said_on_stderr_too)
{
	static const char said[] = "group nosuchgroup: no such group: "
	    "create it \\(groupadd nosuchgroup\\)";
	struct buffer log = { 0 }, err;
	char pattern[160];
	int fd = syslog_bind(&fx);

	cr_assert_eq(daemon_run(&fx, "-l", "-g", "nosuchgroup", "-B", LOCAL,
	    NULL), EX_NOUSER);
	log_read(&fx, &err);
	snprintf(pattern, sizeof(pattern), "^fingerd: %s", said);
	cr_assert(log_lines(&fx) == 1 && log_count(&fx, pattern) == 1 &&
	    err.data[LOG_TIME_LEN - 1] == 'Z', "on stderr: %s", err.data);
	buffer_free(&err);
	syslog_read(fd, &log);
	snprintf(pattern, sizeof(pattern), "^fingerd\\[[0-9]+\\]: %s", said);
	cr_assert_eq(log_count_in(&log, pattern), 1, "%s", log.data);
	cr_assert_eq(strncmp(log.data, "<27>", 4), 0, "not an error: %s",
	    log.data);		/* the first: the group is read first */
	cr_assert_eq(daemon_run(&fx, "-i", "-l", "-g", "nosuchgroup", NULL),
	    EX_NOUSER);
	log_read(&fx, &err);
	cr_assert_eq(err.len, 0, "-i's stderr got a line: %s", err.data);
	buffer_free(&err);
	syslog_read(fd, &log);
	cr_assert_eq(log_count_in(&log, pattern), 2, "%s", log.data);
	buffer_free(&log);
	close(fd);
}

/*
 * The daemon started with -l, syslog's socket gone (its daemon stopped)
 * while alice is served five times, then there again: its socket.  log
 * holds what the first socket got.
 */
static int
syslog_gone_for_five_exchanges(struct buffer *log)
{
	int fd, i;

	skip_under_valgrind(LOG_EXACT);
	fd = syslog_bind(&fx);
	daemon_launch(&fx, "-l", "-B", LOCAL, NULL);
	fx.port = syslog_port(fd, log);
	close(fd);
	for (i = 0; i < 5; i++)
		EXPECT("alice\r\n", REPLY_ALICE);
	usleep(200 * 1000);	/* their lines tried, 10 ms after */
	return syslog_bind(&fx);
}

/*
 * Syslog's socket gone: the lines are lost, counted; once a socket is
 * there again the count reaches it, exactly.
 */
Test(daemon, syslog_gone_loses_lines_counted)
{
	struct buffer log = { 0 };
	unsigned long lost;
	bool last;
	int fd;

	fd = syslog_gone_for_five_exchanges(&log);
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
	size_t served = 5, logged;
	unsigned long lost;
	double deadline;
	bool last;
	int fd;

	fd = syslog_gone_for_five_exchanges(&log);
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
