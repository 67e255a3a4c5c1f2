/*
 * The log: one line for each exchange and for each event worth an
 * operator's eye, on stderr, each line whole and at most PIPE_BUF bytes,
 * written in writes of at most PIPE_BUF bytes, so that lines of several
 * processes never interleave.  The functions keep errno intact, as
 * OpenBSD's log.c.
 *
 * Lines queue here and are written by their process's loop: a worker's
 * through its engine (log_next, log_wrote), a PIPE_BUF at a time or
 * LOG_DELAY_NS after the first, one write for many exchanges; the
 * supervisor's at once, on a descriptor that never blocks
 * (log_nonblocking, log_flush).  A log reader that stalls stalls neither:
 * a write that would block waits for the log to be writable, and a
 * worker takes no new client unless the queue has room for the lines of
 * every client it serves and for its own (log_room), so no line is ever
 * dropped for want of room.  Lines that cannot be written at all (the
 * log closed, or the end of a stop's grace) are counted, and the count
 * is logged as soon as the log takes lines again, and at exit: a worker
 * hands its count to the supervisor (log_lost_take), which adds it to
 * its own (log_lost_add) and waits a few seconds at its exit for the
 * log to take the note (log_end).
 *
 * Where the lines go decides how they begin (enum sink):
 *
 *	a file, a pipe, a terminal	2026-12-06T19:37:41.123Z fingerd: ...
 *	the journal's stream		<6>...
 *	syslog (-l), a datagram each	<30>Dec  6 19:37:41 fingerd[812]: ...
 *	another socket			fingerd: ...
 *
 * The journal (stderr is the stream JOURNAL_STREAM names) takes the
 * syslog level off, <6> info, <4> warning, <3> error, and shows the
 * program's name itself.  Syslog's datagrams go to /dev/log (or, for the
 * tests, FINGERD_SYSLOG_PATH) on a socket the supervisor connects before
 * anything is confined, which becomes stderr, the workers' too; each
 * datagram is one line, sent without blocking through the same queue
 * as any log, with the same rules: a socket whose reader stalls stalls
 * the accepting, one that is gone loses its lines, counted (and the
 * supervisor connects it again, for everyone).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "fingerd.h"

#define LOG_LINE_MAX	PIPE_BUF	/* a whole line, its newline too */
#define LOG_WRITE_MAX	PIPE_BUF
#define LOG_DELAY_NS	10000000	/* the longest a line waits */
#define LOG_SPARE_LINES	64		/* beyond what log_room() reserves */
/*
 * Beyond those, kept by log_room() for a worker's own lines: a stop's,
 * an accept error's (at most one an accept, which asks for room), the
 * exchanges held at its exit, a failed watch's.
 */
#define LOG_OWN_LINES	8

#define SYSLOG_PATH	"/dev/log"
#define SYSLOG_PATH_ENV	"FINGERD_SYSLOG_PATH"	/* for the tests */

static const char *progname = "fingerd";
static size_t progname_len = sizeof("fingerd") - 1;
static pid_t log_pid;

/* Where the lines go, which decides how they begin. */
static enum sink {
	SINK_FILE,		/* the time, then the name */
	SINK_SOCKET,		/* the name */
	SINK_JOURNAL,		/* the level */
	SINK_SYSLOG		/* the priority, the time, the name and pid */
} sink;
static size_t header_max;	/* the longest a line's beginning is */

/* The second the time of the last line began with, formatted for sink. */
static struct {
	time_t		 second;
	enum sink	 sink;
	char		 text[32];
	size_t		 len;
} clock_cache = { .second = -1 };

/*
 * Lines not yet written; the kernel may read [start, start + writing).
 * A note of the lines lost, when one is due, is written before them.
 */
static struct {
	char		*buf;
	size_t		 size;
	size_t		 start;
	size_t		 end;
	size_t		 writing;
	int64_t		 since;		/* when start was queued */
	unsigned long	 lost;		/* lines not written, not yet noted */
	uint64_t	 noted;		/* lost lines whose note was written */
	uint64_t	 given;		/* lost lines handed to another */
	uint64_t	 received;	/* lost lines another handed over */
	unsigned long	 noting;	/* the lost lines of the note in flight */
	size_t		 note_after;	/* bytes queued before a count came */
	bool		 note_due;	/* the log takes lines again */
	bool		 ending;	/* log_queue_stop: the note comes last */
	char		 note[LOG_LINE_MAX];
	size_t		 note_len;
} queue;

/* The supervisor's writer: a descriptor that never blocks. */
static int nonblocking_fd = -1;
static bool nonblocking_send;		/* a socket: send(MSG_DONTWAIT) */

/*
 * -l: the standard error syslog took the place of, kept until the start
 * is over for the line that ends a start (fatal): the admin who typed
 * the command reads it there, as SPEC asks ("one clear line on stderr").
 * Not kept when it is the journal, which is where syslog goes.
 */
static struct {
	int		 fd;
	enum sink	 sink;
} start_stderr = { .fd = -1 };

/* Whether stderr is the stream JOURNAL_STREAM ("device:inode") names. */
static bool
stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return stream != NULL &&
	    sscanf(stream, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* Whether stderr is a datagram socket: syslog's (log_syslog()). */
static bool
stderr_is_datagram(void)
{
	int type = 0;
	socklen_t len = sizeof(type);

	return getsockopt(STDERR_FILENO, SOL_SOCKET, SO_TYPE, &type,
	    &len) == 0 && type == SOCK_DGRAM;
}

static enum sink
sink_of_stderr(void)
{
	struct stat st;

	if (stderr_is_datagram())
		return SINK_SYSLOG;
	if (stderr_is_journal())
		return SINK_JOURNAL;
	if (fstat(STDERR_FILENO, &st) == 0 && S_ISSOCK(st.st_mode))
		return SINK_SOCKET;
	return SINK_FILE;
}

static size_t	header_put(char *, enum sink, int);

/*
 * The log of this process, named name ("fingerd", or "fingerd[pid]" for
 * a worker of several), wherever stderr goes.  The time zone is read
 * now, before any confinement, for syslog's local time stamps.
 */
void
log_init(const char *name)
{
	char header[LOG_LINE_MAX];

	progname = name;
	progname_len = strlen(name);
	log_pid = getpid();
	sink = sink_of_stderr();
	clock_cache.second = -1;
	tzset();
	header_max = header_put(header, sink, LOG_ERR);
}

/* Where syslog's socket is: /dev/log, or the tests' own. */
static const char *
syslog_path(void)
{
	const char *path = getenv(SYSLOG_PATH_ENV);

	return path != NULL && *path != '\0' ? path : SYSLOG_PATH;
}

static int
syslog_connect(int fd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = syslog_path();

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	return connect(fd, (struct sockaddr *)&sun, sizeof(sun));
}

/*
 * -l: the log goes to syslog from now on, on a datagram socket connected
 * to it, which takes stderr's place (the workers inherit it as theirs).
 * False when syslog cannot be reached (errno says why): stderr is then
 * left as it was, unless replace, when the socket takes its place all
 * the same (its lines are counted lost until it can be reached).
 */
bool
log_syslog(bool replace)
{
	int fd, saved;
	bool connected;

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	connected = syslog_connect(fd) == 0;
	saved = errno;
	if ((connected || replace) && dup2(fd, STDERR_FILENO) < 0)
		connected = false;
	close(fd);
	if (stderr_is_datagram())
		log_init(progname);
	errno = saved;
	return connected;
}

/*
 * Before log_syslog(): stderr kept for the start's last word (fatal)
 * until log_start_over(), unless it is the journal or syslog already.
 */
void
log_start_keep(void)
{
	start_stderr.sink = sink_of_stderr();
	if (start_stderr.sink == SINK_FILE || start_stderr.sink == SINK_SOCKET)
		start_stderr.fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
}

/* The start is over (or this is a child): the kept stderr closed. */
void
log_start_over(void)
{
	if (start_stderr.fd >= 0)
		close(start_stderr.fd);
	start_stderr.fd = -1;
}

/* The path log_syslog() sends to, for a message. */
const char *
log_syslog_path(void)
{
	return syslog_path();
}

/* How many lines the len bytes at p hold. */
static unsigned long
lines_in(const char *p, size_t len)
{
	unsigned long n = 0;
	const char *end = p + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * Moves what waits to the front of the buffer, when the kernel reads none
 * of it.  The room behind start is reachable only so, and no longer once
 * a write is in flight: log_room() does not count it.
 */
static void
compact(void)
{
	if (queue.writing > 0 || queue.start == 0)
		return;
	memmove(queue.buf, queue.buf + queue.start, queue.end - queue.start);
	queue.end -= queue.start;
	queue.start = 0;
}

static void
enqueue(const char *line, size_t n)
{
	if (queue.end + n > queue.size)
		compact();
	if (queue.end + n > queue.size) {
		queue.lost++;	/* a line beyond what log_room() kept room for */
		return;
	}
	if (queue.end == queue.start)
		queue.since = monotonic_ns();
	memcpy(queue.buf + queue.end, line, n);
	queue.end += n;
}

/*
 * Syslog's socket connected again, when a worker says it refuses lines
 * (a syslog daemon restarted): the workers share it, and cannot connect
 * it themselves once confined.
 */
void
log_reconnect(void)
{
	if (sink == SINK_SYSLOG && nonblocking_fd >= 0)
		(void)syslog_connect(nonblocking_fd);
}

/*
 * One write on the nonblocking descriptor: what the ring would return.
 * Syslog's socket, when its reader is gone (a syslog daemon restarted
 * makes a new one), is connected again and the line sent again: the
 * socket is the workers' too, whose lines then go again as well.
 */
static int
write_nonblocking(const void *data, size_t len)
{
	ssize_t n;

	if (!nonblocking_send)
		n = write(nonblocking_fd, data, len);
	else if ((n = send(nonblocking_fd, data, len, MSG_DONTWAIT |
	    MSG_NOSIGNAL)) < 0 && sink == SINK_SYSLOG &&
	    (errno == ECONNREFUSED || errno == ENOTCONN) &&
	    syslog_connect(nonblocking_fd) == 0)
		n = send(nonblocking_fd, data, len, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
	return n < 0 ? -errno : (int)n;
}

/*
 * Writes, without blocking, what is due; returns false when the log
 * cannot take more now (poll log_fd() for POLLOUT).
 */
bool
log_flush(void)
{
	const void *data;
	size_t len;

	while (nonblocking_fd >= 0 && log_next(&data, &len))
		if (!log_wrote(write_nonblocking(data, len)))
			return false;
	return true;
}

/*
 * A line built by hand, as the exchange's is made once a request:
 * snprintf stood out in profiles, for the exchange's text with its
 * floating-point milliseconds (0.97x the CPU per request without it),
 * and for a file's time stamp's milliseconds (~800 instructions a line
 * by callgrind, of a request's ~4,900 in user space).
 */
struct line {
	char	*p;
	char	*end;		/* room for the terminating NUL beyond */
};

/*
 * The n bytes at s, or as many as fit.  What fits (every piece of the
 * lines built here, in practice) is copied with the n it came with:
 * inlined, with a literal's n, that is a move or two.  Cutting n first
 * made every copy a loop a byte (150 instructions a request by
 * callgrind); "inline" keeps put_string()'s strlen of a literal a
 * constant too.
 */
static inline void
put(struct line *l, const char *s, size_t n)
{
	size_t room = (size_t)(l->end - l->p);

	if (n <= room) {
		memcpy(l->p, s, n);
		l->p += n;
	} else {
		memcpy(l->p, s, room);
		l->p = l->end;
	}
}

static inline void
put_string(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* v in decimal. */
static void
put_number(struct line *l, uint64_t v)
{
	char digits[20], *d = digits + sizeof(digits);

	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put(l, d, (size_t)(digits + sizeof(digits) - d));
}

/*
 * The three digits of milliseconds, v below 1000: "007".  A copy of a
 * known size, not put_number()'s loop and copy (130 instructions a
 * request for the two of a line).
 */
static void
put_milliseconds(struct line *l, unsigned v)
{
	char digits[3] = {
		(char)('0' + v / 100), (char)('0' + v / 10 % 10),
		(char)('0' + v % 10)
	};

	put(l, digits, sizeof(digits));
}

/* A syslog priority, as the journal and syslog(3) read it: "<30>". */
static void
priority_put(struct line *l, int priority)
{
	put(l, "<", 1);
	put_number(l, (uint64_t)priority);
	put(l, ">", 1);
}

/* The time now, formatted for a sink, the second's part cached. */
static size_t
time_put(char *buf, enum sink to)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != clock_cache.second || to != clock_cache.sink) {
		if (to == SINK_SYSLOG) {	/* RFC 3164, local time */
			localtime_r(&now.tv_sec, &tm);
			clock_cache.len = (size_t)snprintf(clock_cache.text,
			    sizeof(clock_cache.text), "%.3s %2d %02d:%02d:%02d",
			    months + 3 * (tm.tm_mon % 12), tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_sec);
		} else {			/* RFC 3339, UTC */
			gmtime_r(&now.tv_sec, &tm);
			clock_cache.len = strftime(clock_cache.text,
			    sizeof(clock_cache.text), "%Y-%m-%dT%H:%M:%S", &tm);
		}
		clock_cache.second = now.tv_sec;
		clock_cache.sink = to;
	}
	memcpy(buf, clock_cache.text, clock_cache.len);
	n = clock_cache.len;
	if (to == SINK_FILE) {
		struct line l = { buf + n, buf + n + sizeof(".123Z") - 1 };

		put(&l, ".", 1);
		put_milliseconds(&l, (unsigned)(now.tv_nsec / 1000000));
		put(&l, "Z", 1);
		n = (size_t)(l.p - buf);
	}
	return n;
}

/*
 * How a line at this syslog level begins, for the sink, into buf (at
 * least LOG_LINE_MAX bytes); its length.
 */
static size_t
header_put(char *buf, enum sink to, int level)
{
	struct line l = { buf, buf + LOG_LINE_MAX - 1 };

	switch (to) {
	case SINK_JOURNAL:	/* a worker of several says which */
		priority_put(&l, level);
		if (progname[progname_len - 1] == ']') {
			put_string(&l, "worker=");
			put_number(&l, (uint64_t)log_pid);
			put(&l, " ", 1);
		}
		return (size_t)(l.p - buf);
	case SINK_SYSLOG:
		priority_put(&l, LOG_DAEMON | level);
		l.p += time_put(l.p, to);
		put_string(&l, " fingerd[");
		put_number(&l, (uint64_t)log_pid);
		put_string(&l, "]: ");
		return (size_t)(l.p - buf);
	case SINK_FILE:
		l.p += time_put(l.p, to);
		put(&l, " ", 1);
		break;
	case SINK_SOCKET:
		break;
	}
	put(&l, progname, progname_len);
	put(&l, ": ", 2);
	return (size_t)(l.p - buf);
}

/*
 * The line of len bytes at a syslog level as it goes to a sink, in buf
 * (LOG_LINE_MAX bytes); its length.  One that does not fit is cut.
 */
static size_t
line_put(char *buf, enum sink to, int level, const char *line, size_t len)
{
	size_t n = header_put(buf, to, level);

	if (n + len + 1 > LOG_LINE_MAX)
		len = LOG_LINE_MAX - n - 1;
	memcpy(buf + n, line, len);
	n += len;
	buf[n++] = '\n';
	return n;
}

/*
 * Writes one whole line of len bytes at a syslog level; a line that does
 * not fit is cut, never split.
 */
static void
log_text(int level, const char *line, size_t len)
{
	int saved = errno;
	char buf[LOG_LINE_MAX];
	size_t n = line_put(buf, sink, level, line, len);

	if (queue.buf != NULL) {
		enqueue(buf, n);
		log_flush();
	} else if (write(STDERR_FILENO, buf, n) != (ssize_t)n) {
		queue.lost++;
	}
	errno = saved;
}

static void
log_line(int level, const char *line)
{
	log_text(level, line, strlen(line));
}

/*
 * A log file is written at its end by every writer.  The ring writes at
 * the file position without the lock write(2) takes on it, so workers
 * sharing one open file (a shell's 2>file) would write over each other's
 * lines; O_APPEND makes the kernel take the end for each write.
 */
void
log_file_append(void)
{
	struct stat st;
	int flags;

	if (fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (flags = fcntl(STDERR_FILENO, F_GETFL)) >= 0 &&
	    !(flags & O_APPEND))
		(void)fcntl(STDERR_FILENO, F_SETFL, flags | O_APPEND);
}

/*
 * From now on lines queue, room for lines of them at the most, besides a
 * few spare; false when out of memory.
 */
bool
log_queue_start(size_t lines)
{
	queue.size = (lines + LOG_SPARE_LINES + LOG_OWN_LINES) * LOG_LINE_MAX;
	return (queue.buf = malloc(queue.size)) != NULL;
}

/*
 * The supervisor writes its lines as they come, without blocking: a
 * pipe, a FIFO or a terminal is opened again, a new open file whose
 * O_NONBLOCK is its own (setting it on stderr would change it for every
 * process that shares it, the shell that started fingerd too); a socket
 * takes MSG_DONTWAIT; a file never blocks.  Called before the switch to
 * -u, which may not open the pipe again.  A pipe that cannot be opened
 * again (no /proc) is made O_NONBLOCK itself: the workers' engines wait
 * for it to be writable.
 */
static int
stderr_nonblocking(void)
{
	struct stat st;
	int fd, flags;

	if (fstat(STDERR_FILENO, &st) != 0)
		return STDERR_FILENO;
	if (S_ISSOCK(st.st_mode)) {
		nonblocking_send = true;
	} else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_APPEND |
		    O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (S_ISFIFO(st.st_mode) &&
		    (flags = fcntl(STDERR_FILENO, F_GETFL)) >= 0)
			(void)fcntl(STDERR_FILENO, F_SETFL, flags | O_NONBLOCK);
	}
	return STDERR_FILENO;
}

/*
 * The supervisor's log, from its first line on: a descriptor that never
 * blocks, and a queue of lines lines (and the spare) for what the log
 * does not take at once, written as its loop finds the log writable;
 * what does not fit is counted lost.  Before it, a line was written with
 * a write that blocked on a stalled log, before any worker started or
 * any signal was taken.  False when out of memory.
 */
bool
log_nonblocking(size_t lines)
{
	nonblocking_fd = stderr_nonblocking();
	return log_queue_start(lines);
}

/*
 * In a child forked by a process with a queue (the supervisor's, about to
 * execute a worker): the lines queued are the parent's to write, and the
 * descriptor it writes them to is one the child renumbers.  The child's
 * own line (why it could not start a worker) is written to its stderr
 * at once, and the child exits.
 */
void
log_forked(void)
{
	queue.buf = NULL;	/* the parent's: the exit frees the copy */
	nonblocking_fd = -1;
}

/*
 * With -i the one process writes its log through its engine, which must
 * not block either: the new open file takes stderr's place.
 */
void
log_stderr_nonblocking(void)
{
	int fd = stderr_nonblocking();

	if (fd != STDERR_FILENO) {
		if (dup3(fd, STDERR_FILENO, 0) < 0)
			fatal(EX_OSERR, "the log");
		close(fd);
	}
}

/* The descriptor log_flush() writes to, to poll for POLLOUT; or -1. */
int
log_fd(void)
{
	return nonblocking_fd;
}

/* The descriptor the end of the log writes to, without the ring. */
static int
log_out(void)
{
	return nonblocking_fd >= 0 ? nonblocking_fd : STDERR_FILENO;
}

/* One write at the end, once log_writable(): its result, or -errno. */
static int
write_end(const void *data, size_t len)
{
	ssize_t n;

	if (nonblocking_fd >= 0)
		return write_nonblocking(data, len);
	n = write(STDERR_FILENO, data, len);
	return n < 0 ? -errno : (int)n;
}

/*
 * Whether the log takes a write (of at most PIPE_BUF bytes, without
 * blocking) now or before deadline, in monotonic ns.
 */
static bool
log_writable(int64_t deadline)
{
	struct pollfd pfd = { .fd = log_out(), .events = POLLOUT };
	int64_t left = deadline - monotonic_ns();

	return poll(&pfd, 1, left > 0 ? (int)(left / 1000000) + 1 : 0) == 1 &&
	    (pfd.revents & POLLOUT);
}

/*
 * The end: what is queued and not in flight is written, within the
 * grace, as the log takes it (a reader that is gone or stalled takes
 * nothing, and costs no more than the grace); what remains is counted
 * lost.  The note of the lines lost is left to log_lost_note(), after
 * the last line.  A queue the kernel may still read from (fatal() in
 * the middle of a write) is left to the exit.
 */
void
log_queue_stop(int64_t grace_ns)
{
	int64_t deadline = monotonic_ns() + grace_ns;
	const void *data;
	size_t len;

	if (queue.buf == NULL)
		return;
	queue.since = 0;		/* everything is due */
	queue.ending = true;
	queue.note_due = false;
	queue.note_after = 0;
	while (queue.writing == 0 && log_next(&data, &len)) {
		if (!log_writable(deadline)) {
			queue.writing = 0;
			break;
		}
		log_wrote(write_end(data, len));
	}
	if (queue.writing == 0) {
		queue.lost += lines_in(queue.buf + queue.start,
		    queue.end - queue.start);
		free(queue.buf);
	}
	queue.buf = NULL;
}

/* The lines lost and not yet noted, which the caller now answers for. */
unsigned long
log_lost_take(void)
{
	unsigned long lost = queue.lost;

	queue.lost = 0;
	queue.given += lost;
	return lost;
}

/*
 * Lines another process lost (a worker's, at its exit): noted with this
 * process's own, as soon as the log takes lines: at once when none of
 * this process's are queued, else once every byte queued before the
 * count came has been written or lost (log_wrote), so that those lines,
 * timed before the note, are not written after it; lines queued later
 * do not hold it back.
 */
void
log_lost_add(unsigned long lost)
{
	queue.lost += lost;
	queue.received += lost;
	if (queue.lost == 0 || queue.ending)
		return;
	if (queue.start == queue.end)
		queue.note_due = true;
	else
		queue.note_after = queue.end - queue.start;
}

/* The note of lost lines, as it is written. */
static size_t
note_format(unsigned long lost)
{
	char text[128];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "%lu log line%s lost: the "
	    "log took no more\n", lost, plural(lost));
	n = n < sizeof(text) ? n : sizeof(text) - 1;
	queue.note_len = header_put(queue.note, sink, LOG_WARNING);
	memcpy(queue.note + queue.note_len, text, n);
	queue.note_len += n;
	return queue.note_len;
}

/*
 * After log_queue_stop(): the count of the lines lost, if any, as the
 * last line, once the log takes it, waiting at most grace_ns for it.
 */
void
log_lost_note(int64_t grace_ns)
{
	int64_t deadline = monotonic_ns() + grace_ns;
	size_t len;

	if (queue.lost == 0)
		return;
	len = note_format(queue.lost);
	if (log_writable(deadline) &&
	    write_end(queue.note, len) == (int)len)
		queue.lost = 0;
}

/*
 * The end of the log of a process: the queue written, then the count of
 * what was lost, waiting for the log at most grace_ns in all.
 */
void
log_end(int64_t grace_ns)
{
	int64_t deadline = monotonic_ns() + grace_ns;

	log_queue_stop(grace_ns);
	log_lost_note(deadline - monotonic_ns());
}

/*
 * Room for lines more lines of any length, and for the worker's own
 * (LOG_OWN_LINES) besides: the loop takes a client only when the lines
 * of every client it serves, that one included, fit, and its own few
 * after them.  Only the room after the queued lines counts: the room
 * before them is out of reach while a write is in flight, and one may
 * start before the lines come (log_wrote() moves them to the front when
 * it can).
 */
bool
log_room(size_t lines)
{
	return queue.buf == NULL || queue.size - queue.end >=
	    (lines + LOG_OWN_LINES) * LOG_LINE_MAX;
}

/*
 * Nanoseconds until the lines queued are due to be written (0: now), or -1
 * when there are none or a write is in flight.
 */
int64_t
log_due(void)
{
	int64_t left;

	if (queue.buf == NULL || queue.writing > 0)
		return -1;
	if (queue.note_due)
		return 0;
	if (queue.end == queue.start)
		return -1;
	if (queue.end - queue.start >= LOG_WRITE_MAX || nonblocking_fd >= 0)
		return 0;	/* the supervisor's lines go at once */
	left = queue.since + LOG_DELAY_NS - monotonic_ns();
	return left > 0 ? left : 0;
}

/*
 * The next write to make when it is due: the note of lines lost, or
 * whole lines, at most PIPE_BUF bytes (no line is longer).
 */
bool
log_next(const void **data, size_t *len)
{
	const char *p = queue.buf + queue.start, *nl;
	size_t n = queue.end - queue.start;

	if (log_due() != 0)
		return false;
	if (queue.note_due) {
		queue.noting = queue.lost;
		queue.note_len = note_format(queue.lost);
		queue.writing = queue.note_len;
		*data = queue.note;
		*len = queue.note_len;
		return true;
	}
	if (sink == SINK_SYSLOG) {		/* a datagram a line */
		nl = memchr(p, '\n', n);
		n = (size_t)(nl - p) + 1;
	} else if (n > LOG_WRITE_MAX) {
		nl = memrchr(p, '\n', LOG_WRITE_MAX);
		n = (size_t)(nl - p) + 1;
	}
	queue.writing = n;
	*data = p;
	*len = n;
	return true;
}

/*
 * The write from log_next() returned res.  -EAGAIN: nothing was written
 * and the writer must wait for the log to be writable (returns false).
 * Another error loses the lines of that write, counted (and a note that
 * fails waits for a write that takes lines).  A write that takes lines
 * after a loss makes the note of it due.
 *
 * What waits moves to the front as soon as a third of it is behind:
 * each byte moved is paid for by a byte written since the last move
 * (three at most), and the room left behind, which log_room() does
 * not count, stays under a third of what waits.
 */
bool
log_wrote(int res)
{
	unsigned long noted = queue.noting;
	size_t n = queue.writing, done;
	bool handed;

	queue.writing = 0;
	queue.noting = 0;
	if (res == -EAGAIN || res == -EINTR)
		return false;
	if (noted > 0) {
		if (res > 0) {
			queue.noted += noted;
			queue.lost -= noted;
		}
		queue.note_due = false;
		return true;
	}
	done = res < 0 ? n : (size_t)res;
	handed = queue.note_after > 0 && queue.note_after <= done;
	queue.note_after -= queue.note_after < done ? queue.note_after : done;
	if (res < 0) {
		queue.lost += lines_in(queue.buf + queue.start, n);
		queue.note_due = handed && !queue.ending;
		res = (int)n;
	} else if (queue.lost > 0 && !queue.ending && queue.note_after == 0) {
		queue.note_due = true;
	}
	queue.start += (size_t)res;
	if (queue.start == queue.end)
		queue.start = queue.end = 0;
	else if (3 * queue.start >= queue.end - queue.start)
		compact();
	if (queue.start < queue.end)
		queue.since = monotonic_ns();
	return true;
}

/* A line's text, in buf (LOG_LINE_MAX bytes): fmt's, then the reason. */
static void __attribute__((format(printf, 3, 0)))
text_format(char *buf, const char *reason, const char *fmt, va_list ap)
{
	int n;

	n = vsnprintf(buf, LOG_LINE_MAX, fmt, ap);
	if (n >= 0 && reason != NULL && n < LOG_LINE_MAX)
		snprintf(buf + n, LOG_LINE_MAX - (size_t)n, ": %s", reason);
}

static void __attribute__((format(printf, 3, 0)))
log_vformat(int level, const char *reason, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];

	text_format(buf, reason, fmt, ap);
	log_line(level, buf);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_WARNING, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

/*
 * The last line, text, logged, and on the standard error the start had
 * when it is still kept (log_start_keep); then the exit.
 */
static void __attribute__((noreturn))
log_fatal(int status, const char *text)
{
	char buf[LOG_LINE_MAX];
	size_t n;

	log_line(LOG_ERR, text);
	if (start_stderr.fd >= 0) {
		n = line_put(buf, start_stderr.sink, LOG_ERR, text,
		    strlen(text));
		(void)write(start_stderr.fd, buf, n);
	}
	log_end(LOG_GRACE_NS);
	exit(status);
}

void
fatal(int status, const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	text_format(text, strerror(saved), fmt, ap);
	va_end(ap);
	log_fatal(status, text);
}

void
fatalx(int status, const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	text_format(text, NULL, fmt, ap);
	va_end(ap);
	log_fatal(status, text);
}

/* The bytes of a line's text that fit in LOG_LINE_MAX with the rest. */
static size_t
line_room(void)
{
	return LOG_LINE_MAX - header_max - 1;
}

/* Whether a line of len bytes of text is written whole, not cut. */
bool
log_whole(size_t len)
{
	return len <= line_room();
}

/*
 * Whether the log writes ch as it is outside a quoted field (inside
 * one, not a '"' either): printable ASCII but the backslash, which
 * begins an escape.
 */
static bool
plain(unsigned char ch)
{
	return ch >= 0x20 && ch < 0x7f && ch != '\\';
}

/*
 * log_escape() (below), saying in *taken how many bytes of src it
 * copied: all len of them, or those before the first that did not fit.
 */
static size_t
escape(char *dst, size_t size, const char *src, size_t len, size_t *taken)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	*taken = 0;
	if (size == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)src[i];

		if (plain(ch) && ch != '"') {
			if (n + 1 >= size)
				break;
			dst[n++] = (char)ch;
			continue;
		}
		if (n + 4 >= size)
			break;
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[ch >> 4];
		dst[n++] = hex[ch & 0xf];
	}
	*taken = i;
	dst[n] = '\0';
	return n;
}

/*
 * The exchange's line.  It is one write of at most PIPE_BUF bytes, so
 * the query is cut when its escaped text would not fit, and the cut is
 * marked with "..." after the closing quote:
 *
 *	client=192.0.2.1 query="\x01\x01"... reply=invalid end=ok ...
 */
void
log_exchange(const struct exchange_record *r)
{
	char text[LOG_LINE_MAX], tail[128];
	struct line l = { text, text + sizeof(text) - 1 };
	struct line t = { tail, tail + sizeof(tail) - 1 };
	size_t room, taken;

	put_string(&t, " reply=");
	put_string(&t, r->reply != NULL ? r->reply : "none");
	if (r->cut & CUT_PLAN)
		put_string(&t, "-cut");
	if (r->cut & CUT_PGPKEY)
		put_string(&t, "-key-cut");
	if (r->why != NULL) {
		put_string(&t, " why=");
		put_string(&t, r->why);
	}
	put_string(&t, " end=");
	put_string(&t, error_name(r->end));
	put_string(&t, " sent=");
	put_number(&t, r->sent);
	put_string(&t, " ms=");
	put_number(&t, r->us / 1000);
	put_string(&t, ".");
	put_milliseconds(&t, (unsigned)(r->us % 1000));
	put_string(&l, "client=");
	l.p += address_format(r->address, l.p, (size_t)(l.end - l.p) + 1);
	put_string(&l, " query=\"");
	room = line_room() - (size_t)(l.p - text) - (size_t)(t.p - tail) -
	    sizeof("\"...") + 1;
	l.p += escape(l.p, room + 1, r->query, r->query_len, &taken);
	put_string(&l, taken == r->query_len ? "\"" : "\"...");
	put(&l, tail, (size_t)(t.p - tail));
	log_text(LOG_INFO, text, (size_t)(l.p - text));
}

/*
 * The lines this process could not write, since start (counters.c):
 * those another handed over (a worker's, at its exit) are the other's
 * count, and those handed over stay this one's.
 */
uint64_t
log_lost(void)
{
	return queue.noted + queue.lost + queue.given - queue.received;
}

/*
 * Copies len bytes of untrusted text into dst for a log line: printable
 * ASCII stays, everything else (and the quote and the backslash) becomes
 * \xHH.  Always terminates dst; returns the length written.
 */
size_t
log_escape(char *dst, size_t size, const char *src, size_t len)
{
	size_t taken;

	return escape(dst, size, src, len, &taken);
}

/*
 * The length of src (len bytes) as log_shell_operand() writes it, 0
 * where a byte of it is one the log escapes; *quote says whether it
 * goes in single quotes (a byte a shell would not take as it is).
 */
static size_t
operand_length(const char *src, size_t len, bool *quote)
{
	static const char literal[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789/._+@,:=-";
	size_t i, n = len > 0 && src[0] == '-' ? sizeof("./") - 1 : 0;

	*quote = len == 0;
	for (i = 0; i < len; i++) {
		if (!plain((unsigned char)src[i]))
			return 0;
		if (memchr(literal, src[i], sizeof(literal) - 1) == NULL)
			*quote = true;
		n += src[i] == '\'' ? sizeof("'\\''") - 1 : 1;
	}
	return *quote ? n + 2 : n;
}

/*
 * src (len bytes) as one operand of a command that a log line gives to
 * paste into a POSIX shell, which passes it as exactly src and runs
 * nothing else: as it is where a shell takes it so (letters, digits,
 * /._+@,:=-), else in single quotes, a ' in it as '\'' (a backslash
 * never before an x: no escape's beginning) and a '"' as it is (the
 * command is no quoted field); after ./ where it begins with a '-', an
 * option's beginning.  Into dst (size bytes, terminated); returns its
 * length, as snprintf(3) does where dst is too small (nothing written
 * then), or 0 where there is none: a byte the log escapes (a control
 * character, a backslash, one past ASCII) would be pasted as its escape
 * and name another file.
 */
size_t
log_shell_operand(char *dst, size_t size, const char *src, size_t len)
{
	struct line l;
	size_t i, n;
	bool quote;

	if ((n = operand_length(src, len, &quote)) == 0 || n >= size)
		return n;
	l = (struct line){ dst, dst + size - 1 };
	if (len > 0 && src[0] == '-')
		put_string(&l, "./");
	if (quote)
		put_string(&l, "'");
	for (i = 0; i < len; i++)
		if (src[i] == '\'')
			put_string(&l, "'\\''");
		else
			put(&l, src + i, 1);
	if (quote)
		put_string(&l, "'");
	*l.p = '\0';
	return n;
}
