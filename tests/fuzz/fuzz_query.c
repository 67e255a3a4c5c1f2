/*
 * libFuzzer target for the query grammar: query_line_end() on the bytes
 * received, then query_parse() on the line it finds and on the whole
 * input.  Invariants are checked with abort(), not assert(), so that they
 * hold whatever NDEBUG says.
 */
#include <stdlib.h>
#include <string.h>

#include "fingerd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define check(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* The first LF ends the line; a CR just before it is not part of it. */
static size_t
expected_line_len(const char *buf, size_t size)
{
	size_t lf = (size_t)((const char *)memchr(buf, '\n', size) - buf);

	return lf > 0 && buf[lf - 1] == '\r' ? lf - 1 : lf;
}

/*
 * Decodes the UTF-8 sequence at s (len bytes left) into *cp; returns its
 * length, or 0 when it is not valid UTF-8 (overlong, surrogate, past
 * U+10FFFF, cut short).  Written apart from query.c on purpose.
 */
static size_t
utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
	size_t need, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		need = 1;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 2;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 3;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len <= need)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((need == 1 && c < 0x80) || (need == 2 && c < 0x800) ||
	    (need == 3 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return need + 1;
}

/*
 * The user name: valid UTF-8 with no blank, no '@', no control (C0, DEL,
 * C1).
 */
static void
check_user(const struct query *q)
{
	const uint8_t *u = (const uint8_t *)q->user;
	size_t i = 0, n;
	uint32_t cp;

	while (i < q->user_len) {
		n = utf8_decode(u + i, q->user_len - i, &cp);
		check(n > 0);
		check(cp != ' ' && cp != '\t' && cp != '@');
		check(cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f));
		i += n;
	}
}

/* An accepted line: valid UTF-8, no control but TAB. */
static void
check_text(const char *line, size_t len)
{
	const uint8_t *s = (const uint8_t *)line;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		check(n > 0);
		check(cp == '\t' || (cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f)));
		i += n;
	}
}

static void
check_parse(const char *line, size_t len)
{
	struct query q;
	enum fingerd_error e;
	uintptr_t start, user;

	memset(&q, 0xa5, sizeof(q));
	e = query_parse(line, len, &q);
	check(e == E_NONE || e == E_QUERY_TOO_LONG || e == E_QUERY_INVALID ||
	    e == E_FORWARDING_DENIED);
	if (len >= QUERY_MAX)
		check(e == E_QUERY_TOO_LONG);
	if (e != E_NONE)
		return;
	start = (uintptr_t)line;
	user = (uintptr_t)q.user;
	check(user >= start && user <= start + len);
	check(q.user_len <= start + len - user);
	check((q.kind == QUERY_LIST) == (q.user_len == 0));
	check(q.kind == QUERY_LIST || q.kind == QUERY_USER);
	check(memchr(line, '@', len) == NULL);
	check_text(line, len);
	check_user(&q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so that a read past it is caught. */
	char *buf = malloc(size == 0 ? 1 : size);
	size_t line_len = (size_t)-1;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	if (query_line_end(buf, size, &line_len)) {
		check(line_len < size);
		check(line_len == expected_line_len(buf, size));
		check_parse(buf, line_len);
	} else
		check(memchr(buf, '\n', size) == NULL);
	check_parse(buf, size);
	free(buf);
	return 0;
}
