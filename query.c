/*
 * The RFC 1288 query grammar (section 2.3), with no I/O:
 *
 *	{Q1} ::= [{W}|{W}{S}{U}|{U}]{C}
 *	{Q2} ::= [{W}{S}][{U}]{H}{C}
 *
 * Q2, forwarding, is always refused.  The line must be UTF-8 text without
 * control characters (TAB excepted, as white space); a user name is one
 * word.  /W may be followed directly by the name, as many clients send it.
 */
#include <string.h>

#include "fingerd.h"

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * Returns the length of the valid UTF-8 sequence at s (at most len bytes),
 * or 0 when it is invalid: overlong, a surrogate, past U+10FFFF, cut short.
 */
static size_t
utf8_sequence(const unsigned char *s, size_t len)
{
	unsigned char min = 0x80, max = 0xbf;
	size_t need, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 2;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 3;
	else
		return 0;
	if (s[0] == 0xe0)
		min = 0xa0;
	else if (s[0] == 0xed)
		max = 0x9f;
	else if (s[0] == 0xf0)
		min = 0x90;
	else if (s[0] == 0xf4)
		max = 0x8f;
	if (len < need + 1)
		return 0;
	for (i = 1; i <= need; i++) {
		if (s[i] < min || s[i] > max)
			return 0;
		min = 0x80;
		max = 0xbf;
	}
	return need + 1;
}

/* Control characters (TAB excepted), DEL, C1 controls and bad UTF-8. */
static bool
is_text(const char *line, size_t len)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i = 0, n;

	while (i < len) {
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return false;
		if ((n = utf8_sequence(s + i, len - i)) == 0)
			return false;
		if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			return false;
		i += n;
	}
	return true;
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
