/*
 * libFuzzer target for the query grammar: query_line_end() on the bytes
 * received, then query_parse() on the line it finds and on the whole
 * input.  Invariants are checked with abort(), not assert(), so that they
 * hold whatever NDEBUG says.
 */
#include <stdlib.h>
#include <string.h>

#include "fingerd.h"
#include "oracle.h"

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
