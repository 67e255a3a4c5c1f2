/*
 * The log: one line for each exchange and for each event worth an
 * operator's eye, on stderr, each line whole, in writes of at most
 * PIPE_BUF bytes, so that lines from several workers never interleave.
 * While an event loop runs they queue here and the loop writes them
 * through its ring (log_next, log_wrote), a PIPE_BUF at a time or
 * LOG_DELAY_NS after the first: one write for many exchanges, and a log
 * reader that stalls never stalls an exchange.  Otherwise each line is
 * one write(2).  The functions keep errno intact, as OpenBSD's log.c.
 *
 * When stderr is the journal's stream (JOURNAL_STREAM names it), each
 * line starts with its syslog level, <6> info, <4> warning, <3> error,
 * which journald takes off and keeps as the entry's priority.
 */
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fingerd.h"

#define LOG_LINE_MAX	PIPE_BUF	/* a whole line, its newline too */
#define LOG_QUEUE_BYTES	(1024 * 1024)
#define LOG_WRITE_MAX	PIPE_BUF
#define LOG_DELAY_NS	10000000	/* the longest a line waits */

static const char *progname = "fingerd";
static size_t progname_len = sizeof("fingerd") - 1;
static bool journal;		/* lines start with their level */

/* Lines not yet written; the kernel reads [start, start + writing). */
static struct {
	char		*buf;
	size_t		 start;
	size_t		 end;
	size_t		 writing;
	int64_t		 since;		/* when start was queued */
	unsigned long	 dropped;	/* lines that found it full */
} queue;

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

void
log_init(const char *name)
{
	progname = name;
	progname_len = strlen(name);
	journal = stderr_is_journal();
}

static void
write_all(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(STDERR_FILENO, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
enqueue(const char *line, size_t n)
{
	if (queue.end + n > LOG_QUEUE_BYTES && queue.writing == 0) {
		memmove(queue.buf, queue.buf + queue.start,
		    queue.end - queue.start);
		queue.end -= queue.start;
		queue.start = 0;
	}
	if (queue.end + n > LOG_QUEUE_BYTES) {
		queue.dropped++;
		return;
	}
	if (queue.end == queue.start)
		queue.since = monotonic_ns();
	memcpy(queue.buf + queue.end, line, n);
	queue.end += n;
}

/*
 * Writes one whole line at a syslog level; a line that does not fit is
 * cut, never split.
 */
static void
log_line(int level, const char *line)
{
	int saved = errno;
	char buf[LOG_LINE_MAX];
	size_t len = strlen(line), n = 0;

	if (journal) {
		buf[n++] = '<';
		buf[n++] = (char)('0' + level);
		buf[n++] = '>';
	}
	if (n + progname_len + 2 + len + 1 > sizeof(buf))
		len = sizeof(buf) - n - progname_len - 3;
	memcpy(buf + n, progname, progname_len);
	n += progname_len;
	memcpy(buf + n, ": ", 2);
	memcpy(buf + n + 2, line, len);
	n += 2 + len;
	buf[n++] = '\n';
	if (queue.buf != NULL)
		enqueue(buf, n);
	else
		write_all(buf, n);
	errno = saved;
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

/* From now on lines queue for log_next(); false when out of memory. */
bool
log_queue_start(void)
{
	return (queue.buf = malloc(LOG_QUEUE_BYTES)) != NULL;
}

/*
 * Writes what is queued and not in flight with write(2); no more queuing.
 * A queue the kernel may still read from (fatal() in the middle of a
 * write) is left to the exit.
 */
void
log_queue_stop(void)
{
	char *buf = queue.buf;

	if (buf == NULL)
		return;
	queue.buf = NULL;
	write_all(buf + queue.start + queue.writing,
	    queue.end - queue.start - queue.writing);
	if (queue.writing == 0)
		free(buf);
	memset(&queue, 0, sizeof(queue));
}

/* Too much queued: the loop takes no new client until it is written. */
bool
log_backed_up(void)
{
	return queue.end - queue.start > LOG_QUEUE_BYTES / 2;
}

/*
 * Nanoseconds until the lines queued are due to be written (0: now), or -1
 * when there are none or a write is in flight.
 */
int64_t
log_due(void)
{
	int64_t left;

	if (queue.buf == NULL || queue.writing > 0 || queue.end == queue.start)
		return -1;
	if (queue.end - queue.start >= LOG_WRITE_MAX)
		return 0;
	left = queue.since + LOG_DELAY_NS - monotonic_ns();
	return left > 0 ? left : 0;
}

/*
 * The next write to make when it is due: whole lines, at most PIPE_BUF
 * bytes unless one line is longer.
 */
bool
log_next(const void **data, size_t *len)
{
	const char *p = queue.buf + queue.start, *nl;
	size_t n = queue.end - queue.start;

	if (log_due() != 0)
		return false;
	if (n > LOG_WRITE_MAX) {	/* no line is longer */
		nl = memrchr(p, '\n', LOG_WRITE_MAX);
		n = (size_t)(nl - p) + 1;
	}
	queue.writing = n;
	*data = p;
	*len = n;
	return true;
}

/* The write from log_next() wrote res bytes; an error loses its lines. */
void
log_wrote(int res)
{
	char note[64];

	queue.start += res > 0 ? (size_t)res : queue.writing;
	queue.writing = 0;
	if (queue.start < queue.end) {
		queue.since = monotonic_ns();
		return;
	}
	queue.start = queue.end = 0;
	if (queue.dropped > 0) {
		snprintf(note, sizeof(note), "%lu log lines lost: stderr "
		    "was not keeping up", queue.dropped);
		queue.dropped = 0;
		log_line(LOG_WARNING, note);
	}
}

static void __attribute__((format(printf, 3, 0)))
log_vformat(int level, const char *reason, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= 0 && reason != NULL && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", reason);
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

void
fatal(int status, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_ERR, strerror(saved), fmt, ap);
	va_end(ap);
	log_queue_stop();
	exit(status);
}

void
fatalx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	log_queue_stop();
	exit(status);
}

/*
 * The exchange's line, built by hand: it is made once a request, and
 * snprintf with its floating-point milliseconds stood out in a profile
 * (with the log written through the ring: 0.97x the CPU per request).
 */
struct line {
	char	*p;
	char	*end;		/* room for the terminating NUL beyond */
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (n > (size_t)(l->end - l->p))
		n = (size_t)(l->end - l->p);
	memcpy(l->p, s, n);
	l->p += n;
}

static void
put_string(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* v in decimal, with at least width digits. */
static void
put_number(struct line *l, uint64_t v, int width)
{
	char digits[20], *d = digits + sizeof(digits);

	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 || digits + sizeof(digits) - d < width);
	put(l, d, (size_t)(digits + sizeof(digits) - d));
}

/* The bytes of a line's text that fit in LOG_LINE_MAX with the rest. */
static size_t
line_room(void)
{
	return LOG_LINE_MAX - (journal ? 3 : 0) - progname_len - 2 - 1;
}

/* How long log_escape() makes these bytes. */
static size_t
escaped_length(const char *src, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += (unsigned char)src[i] >= 0x20 &&
		    (unsigned char)src[i] < 0x7f && src[i] != '"' &&
		    src[i] != '\\' ? 1 : 4;
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
	size_t room;

	put_string(&t, " reply=");
	put_string(&t, r->reply != NULL ? r->reply : "none");
	put_string(&t, r->cut ? "-cut end=" : " end=");
	put_string(&t, error_name(r->end));
	put_string(&t, " sent=");
	put_number(&t, r->sent, 1);
	put_string(&t, " ms=");
	put_number(&t, r->us / 1000, 1);
	put_string(&t, ".");
	put_number(&t, r->us % 1000, 3);
	put_string(&l, "client=");
	address_format(r->address, l.p, (size_t)(l.end - l.p));
	l.p += strlen(l.p);
	put_string(&l, " query=\"");
	room = line_room() - (size_t)(l.p - text) - (size_t)(t.p - tail) -
	    sizeof("\"...") + 1;
	if (escaped_length(r->query, r->query_len) <= room) {
		l.p += log_escape(l.p, room + 1, r->query, r->query_len);
		put_string(&l, "\"");
	} else {
		l.p += log_escape(l.p, room + 1, r->query, r->query_len);
		put_string(&l, "\"...");
	}
	put(&l, tail, (size_t)(t.p - tail));
	*l.p = '\0';
	log_line(LOG_INFO, text);
}

/*
 * Copies len bytes of untrusted text into dst for a log line: printable
 * ASCII stays, everything else (and the quote and the backslash) becomes
 * \xHH.  Always terminates dst; returns the length written.
 */
size_t
log_escape(char *dst, size_t size, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	if (size == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)src[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
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
	dst[n] = '\0';
	return n;
}
