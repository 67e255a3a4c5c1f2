/*
 * The harness's reading of the daemon's log (see harness.h): its file
 * and stdout read whole, lines counted, found and waited for (woken by
 * inotify) without the time they begin with, the notes of lines lost
 * summed, and -l's syslog datagrams received on a socket of the test's.
 */
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

void
log_read(const struct fixture *f, struct buffer *b)
{
	read_file(f->log, b);
}

void
out_read(const struct fixture *f, struct buffer *b)
{
	read_file(f->out, b);
}

size_t
log_lines(const struct fixture *f)
{
	struct buffer b;
	size_t i, n = 0;

	log_read(f, &b);
	for (i = 0; i < b.len; i++)
		n += b.data[i] == '\n';
	buffer_free(&b);
	return n;
}

/*
 * A line of a log file without the time it begins with (RFC 3339, UTC,
 * in milliseconds: "2026-12-06T19:37:41.123Z "), or a syslog datagram
 * without its priority and time ("<30>Dec  6 19:37:41 "), which the
 * patterns of the tests leave out; a line without one (the journal's)
 * as it is.
 */
const char *
log_untimed(const char *line)
{
	static regex_t re, syslog;
	static bool compiled;
	regmatch_t m;

	if (!compiled) {
		cr_assert(regcomp(&re, "^" LOG_TIME_RE " ", REG_EXTENDED) == 0);
		cr_assert(regcomp(&syslog, "^" SYSLOG_HEAD_RE, REG_EXTENDED) ==
		    0);
		compiled = true;
	}
	if (regexec(&re, line, 1, &m, 0) == 0 ||
	    regexec(&syslog, line, 1, &m, 0) == 0)
		return line + m.rm_eo;
	return line;
}

/*
 * The log lines lost that the daemon's notes ("N log lines lost: ...")
 * count in a log, summed; *last says whether a note is its last line.
 */
unsigned long
log_lost_count(const struct buffer *log, bool *last)
{
	struct buffer copy = { 0 };
	regex_t re;
	regmatch_t m[3];
	char *line, *next;
	unsigned long lost = 0;

	cr_assert_eq(regcomp(&re, "^fingerd(\\[[0-9]+\\])?: ([0-9]+) log "
	    "lines? lost: ", REG_EXTENDED), 0);
	buffer_append(&copy, log->data, log->len);
	*last = false;
	for (line = copy.data; *line != '\0'; line = next) {
		const char *text;

		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		text = log_untimed(line);
		*last = regexec(&re, text, 3, m, 0) == 0;
		if (*last)
			lost += strtoul(text + m[2].rm_so, NULL, 10);
	}
	regfree(&re);
	buffer_free(&copy);
	return lost;
}

/*
 * A datagram socket for -l at a path in the fixture's directory, which
 * FINGERD_SYSLOG_PATH now names for the daemons this test starts;
 * non-blocking.
 */
int
syslog_bind(const struct fixture *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log.socket", f->dir);
	unlink(sun.sun_path);
	cr_assert((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "bind %s: %s", sun.sun_path, strerror(errno));
	/* as /dev/log is: the daemon's -u account connects again */
	cr_assert_eq(chmod(sun.sun_path, 0666), 0);
	cr_assert_eq(setenv("FINGERD_SYSLOG_PATH", sun.sun_path, 1), 0);
	return fd;
}

/*
 * The datagrams waiting on a syslog_bind() socket, appended to log; each
 * must be one whole line at most PIPE_BUF bytes, of facility daemon,
 * from fingerd[pid].  How many there were.
 */
size_t
syslog_read(int fd, struct buffer *log)
{
	static regex_t re;
	static bool compiled;
	char datagram[2 * 4096 + 1];
	size_t n = 0;
	ssize_t len;

	if (!compiled) {
		cr_assert(regcomp(&re, "^" SYSLOG_HEAD_RE "fingerd\\[[0-9]+\\]: "
		    "[^\n]*\n$", REG_EXTENDED | REG_NOSUB) == 0);
		compiled = true;
	}
	while ((len = recv(fd, datagram, sizeof(datagram) - 1, 0)) > 0) {
		datagram[len] = '\0';
		cr_assert_leq((size_t)len, 4096, "a datagram of %zd bytes", len);
		cr_assert_eq(regexec(&re, datagram, 0, NULL, 0), 0,
		    "not one syslog line of facility daemon: %.300s",
		    datagram);
		buffer_append(log, datagram, (size_t)len);
		n++;
	}
	return n;
}

/*
 * Waits, at most timeout_ms, until count datagrams match the pattern
 * (matched as log_count() does), reading them into log.
 */
bool
syslog_wait(int fd, struct buffer *log, const char *pattern, size_t count,
    int timeout_ms)
{
	double deadline = now_seconds() + timeout_ms / 1000.0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (log->data == NULL)
		buffer_append(log, "", 0);
	for (;;) {
		syslog_read(fd, log);
		if (log_count_in(log, pattern) >= count)
			return true;
		if (now_seconds() >= deadline)
			return false;
		(void)poll(&pfd, 1, 20);
	}
}

/*
 * Counts the whole lines of a log's text (changed) that match the
 * extended regular expression, the time they begin with left out;
 * match(line, arg), when given, sees the first of them.
 */
static size_t
text_scan(char *text, const char *pattern,
    void (*match)(const char *, void *), void *arg)
{
	regex_t re;
	char *line, *next;
	size_t n = 0;

	cr_assert(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0,
	    "bad pattern %s", pattern);
	for (line = text; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\n')
			break;		/* a line still being written */
		*next++ = '\0';
		if (regexec(&re, log_untimed(line), 0, NULL, 0) != 0)
			continue;
		if (n++ == 0 && match != NULL)
			match(log_untimed(line), arg);
	}
	regfree(&re);
	return n;
}

static size_t
log_scan(const struct fixture *f, const char *pattern,
    void (*match)(const char *, void *), void *arg)
{
	struct buffer b;
	size_t n;

	log_read(f, &b);
	n = text_scan(b.data, pattern, match, arg);
	buffer_free(&b);
	return n;
}

/* The whole lines of a log read elsewhere (a pipe) that match. */
size_t
log_count_in(const struct buffer *log, const char *pattern)
{
	struct buffer copy = { 0 };
	size_t n;

	buffer_append(&copy, log->data, log->len);
	n = text_scan(copy.data, pattern, NULL, NULL);
	buffer_free(&copy);
	return n;
}

size_t
log_count(const struct fixture *f, const char *pattern)
{
	return log_scan(f, pattern, NULL, NULL);
}

static void
line_copy(const char *line, void *arg)
{
	buffer_append(arg, line, strlen(line));
}

/*
 * Warnings, which each reading of the group logs again: a loaded machine
 * may read it more than once before a test counts them (a look for
 * .nofinger held for 3 s asks for a reading).  Asserts that the lines
 * matching pattern are n for each reading the log shows, one (a warning
 * every reading logs once) counting the readings; a reading still being
 * logged is waited for, up to WAIT_LOG_MS.  Returns the readings.
 */
size_t
log_warnings_each_reading(const struct fixture *f, const char *pattern,
    size_t n, const char *one)
{
	double deadline = now_seconds() + WAIT_LOG_MS / 1000.0;
	struct buffer log;
	size_t all, readings;

	for (;;) {
		log_read(f, &log);
		all = log_count_in(&log, pattern);
		readings = log_count_in(&log, one);
		if ((readings > 0 && all == n * readings) ||
		    now_seconds() >= deadline)
			break;
		buffer_free(&log);
		usleep(50 * 1000);
	}
	cr_assert(readings > 0 && all == n * readings, "%zu lines match %s, "
	    "not %zu for each of %zu readings (lines matching %s):\n%s", all,
	    pattern, n, readings, one, log.data);
	buffer_free(&log);
	return readings;
}

/* The first line that matches, in line; false when there is none. */
bool
log_find(const struct fixture *f, const char *pattern, struct buffer *line)
{
	memset(line, 0, sizeof(*line));
	buffer_append(line, "", 0);
	return log_scan(f, pattern, line_copy, line) > 0;
}

/*
 * Waits until at least count lines match, at most timeout_ms, woken by
 * inotify when the log grows; gives up early if the daemon exits.
 */
bool
log_wait(struct fixture *f, const char *pattern, size_t count,
    int timeout_ms)
{
	double deadline = now_seconds() + timeout_ms / 1000.0;
	struct pollfd pfd[2];
	char events[4096];
	bool found;
	int fd;

	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	cr_assert(fd >= 0, "inotify: %s", strerror(errno));
	cr_assert(inotify_add_watch(fd, f->log, IN_MODIFY) >= 0,
	    "inotify %s: %s", f->log, strerror(errno));
	pfd[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = f->pidfd, .events = POLLIN };
	while (!(found = log_count(f, pattern) >= count)) {
		if (ms_left(deadline) == 0 || !daemon_alive(f))
			break;
		poll(pfd, f->pid > 0 ? 2 : 1, ms_left(deadline));
		while (read(fd, events, sizeof(events)) > 0)
			;
	}
	close(fd);
	return found || log_count(f, pattern) >= count;
}

/*
 * How many of patterns (up to a NULL) the log's lines match in that
 * order, each in a line after the one that matched the pattern before
 * it: all of them when the log tells those events in that order.
 */
size_t
log_in_order(const struct fixture *f, const char *const *patterns)
{
	struct buffer b;
	bool compiled = false;
	regex_t re;
	char *line, *next;
	size_t n = 0;

	log_read(f, &b);
	for (line = b.data; patterns[n] != NULL && *line != '\0';
	    line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\n')
			break;		/* a line still being written */
		*next++ = '\0';
		if (!compiled)
			cr_assert(regcomp(&re, patterns[n], REG_EXTENDED |
			    REG_NOSUB) == 0, "bad pattern %s", patterns[n]);
		compiled = true;
		if (regexec(&re, log_untimed(line), 0, NULL, 0) == 0) {
			regfree(&re);
			compiled = false;
			n++;
		}
	}
	if (compiled)
		regfree(&re);
	buffer_free(&b);
	return n;
}
