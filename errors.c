/*
 * The error set and logging.  Every line goes to stderr in one write(2),
 * so that lines from several workers never interleave.  The log functions
 * keep errno intact.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fingerd.h"

#define LOG_LINE_MAX	8192

static const struct {
	const char	*name;
	const char	*reply;
} errors[] = {
	[E_NONE]		= { "ok",		NULL },
	[E_QUERY_TOO_LONG]	= { "too-long",		"Query too long\r\n" },
	[E_QUERY_INVALID]	= { "invalid",		"Invalid query\r\n" },
	[E_FORWARDING_DENIED]	= { "forwarding-denied",
				    "Finger forwarding service denied\r\n" },
	[E_LIST_DENIED]		= { "list-denied",
				    "Finger online user list denied\r\n" },
	[E_NO_SUCH_USER]	= { "no-such-user",	"No such user\r\n" },
	[E_TOO_MANY_FROM_ADDRESS] = { "too-many-from-address",
				    "Too many connections from your address\r\n" },
	[E_TIMEOUT]		= { "timeout",		NULL },
	[E_CLIENT_GONE]		= { "client-gone",	NULL },
	[E_NO_QUERY]		= { "no-query",		NULL },
	[E_SERVER]		= { "server-error",	NULL },
};

static const char *progname = "fingerd";

/* The line sent to the client for this error, or NULL: only logged. */
const char *
error_reply(enum fingerd_error e)
{
	return errors[e].reply;
}

const char *
error_name(enum fingerd_error e)
{
	return errors[e].name;
}

void
log_init(const char *name)
{
	progname = name;
}

/* Writes one whole line; a line that does not fit is cut, never split. */
void
log_line(const char *line)
{
	int saved = errno;
	char buf[LOG_LINE_MAX];
	int n;

	n = snprintf(buf, sizeof(buf), "%s: %s\n", progname, line);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	while (write(STDERR_FILENO, buf, (size_t)n) < 0 && errno == EINTR)
		;
	errno = saved;
}

static void __attribute__((format(printf, 2, 0)))
log_vformat(const char *reason, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= 0 && reason != NULL && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", reason);
	log_line(buf);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(NULL, fmt, ap);
	va_end(ap);
}

void
fatal(int status, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vformat(strerror(saved), fmt, ap);
	va_end(ap);
	exit(status);
}

void
fatalx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(NULL, fmt, ap);
	va_end(ap);
	exit(status);
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
