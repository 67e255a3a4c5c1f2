/*
 * The RFC 1288 query grammar (section 2.3), with no I/O:
 *
 *	{Q1} ::= [{W}|{W}{S}{U}|{U}]{C}
 *	{Q2} ::= [{W}{S}][{U}]{H}{C}
 *
 * Q2, forwarding, is always refused.  The line must be text as the plan
 * filter defines it (TAB counts as white space); a user name is one word.
 * /W may be followed directly by the name, as many clients send it.
 */
#include <string.h>

#include "fingerd.h"

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * Whether the line is printable ASCII and TAB alone, which the filter
 * passes as they are: most queries, answered without the filter (by
 * callgrind, is_text() took 185 of a request's ~3,600 instructions in
 * user space for "alice" through it, 86 without).
 */
static bool
is_printable_ascii(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < 0x20 && ch != '\t') || ch >= 0x7f)
			return false;
	}
	return true;
}

/*
 * Text is what the terminal-safety filter leaves as it is: UTF-8 without
 * control characters (TAB excepted), DEL or C1 controls; and no CR,
 * which the filter keeps but a query line cannot hold.
 */
static bool
is_text(const char *line, size_t len)
{
	uint8_t out[PLAN_FILTER_BOUND(QUERY_MAX)];
	struct plan_filter f;

	if (len >= QUERY_MAX)
		return false;
	if (is_printable_ascii(line, len))
		return true;
	if (memchr(line, '\r', len) != NULL)
		return false;
	plan_filter_init(&f, false);
	return plan_filter_chunk(&f, (const uint8_t *)line, len, out) == len &&
	    memcmp(out, line, len) == 0;
}

/*
 * Finds the end of the query line in the len bytes received so far.  On
 * true, *line_len is the length of the line without its LF or CRLF.
 */
bool
query_line_end(const char *buf, size_t len, size_t *line_len)
{
	const char *lf = memchr(buf, '\n', len);
	size_t n;

	if (lf == NULL)
		return false;
	n = (size_t)(lf - buf);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	*line_len = n;
	return true;
}

/*
 * Parses one query line, its terminator already removed.  On E_NONE, q
 * says what was asked; q->user points into line.
 */
enum fingerd_error
query_parse(const char *line, size_t len, struct query *q)
{
	size_t i = 0, end = len, j;

	if (len >= QUERY_MAX)
		return E_QUERY_TOO_LONG;
	if (!is_text(line, len))
		return E_QUERY_INVALID;
	if (memchr(line, '@', len) != NULL)
		return E_FORWARDING_DENIED;
	while (i < end && is_blank(line[i]))
		i++;
	while (end > i && is_blank(line[end - 1]))
		end--;
	q->verbose = false;
	if (end - i >= 2 && line[i] == '/' && (line[i + 1] | 0x20) == 'w') {
		q->verbose = true;
		for (i += 2; i < end && is_blank(line[i]); i++)
			;
	}
	q->user = line + i;
	q->user_len = end - i;
	q->kind = q->user_len == 0 ? QUERY_LIST : QUERY_USER;
	for (j = i; j < end; j++)
		if (is_blank(line[j]))
			return E_QUERY_INVALID;
	return E_NONE;
}
