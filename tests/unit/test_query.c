/*
 * Unit tests of query.c: the RFC 1288 (section 2.3) query grammar and the
 * search for the end of the query line.  Pure code, no I/O.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "fingerd.h"
#include "rng.h"

/* Parses a string literal that may hold NUL bytes, its size known. */
#define PARSE(lit, q)	query_parse((lit), sizeof(lit) - 1, (q))

/*
 * The parse of the line's len bytes must succeed with this kind and
 * verbose flag, and the user must be exactly want, in the line: where it
 * begins there.
 */
static size_t
expect_query(const char *line, size_t len, enum query_kind kind,
    bool verbose, const char *want)
{
	size_t want_len = strlen(want);
	struct query q;

	cr_assert_eq(query_parse(line, len, &q), E_NONE);
	cr_assert_eq(q.kind, kind);
	cr_assert_eq(q.verbose, verbose);
	cr_assert_eq(q.user_len, want_len, "user_len %zu, want %zu", q.user_len,
	    want_len);
	cr_assert_eq(memcmp(q.user, want, want_len), 0);
	cr_assert(q.user >= line && q.user <= line + len,
	    "user does not point into the line");
	return (size_t)(q.user - line);
}

#define EXPECT_QUERY(lit, kind, verbose, want)				\
	expect_query((lit), sizeof(lit) - 1, (kind), (verbose), (want))

static void
expect_error(const char *line, size_t len, enum fingerd_error want)
{
	struct query q;
	enum fingerd_error e = query_parse(line, len, &q);

	cr_assert_eq(e, want, "query of %zu bytes: error %d (%s), want %d (%s)",
	    len, e, error_name(e), want, error_name(want));
}

#define EXPECT_ERROR(lit, want)	expect_error((lit), sizeof(lit) - 1, (want))

Test(query, empty_lists_members)
{
	EXPECT_QUERY("", QUERY_LIST, false, "");
}

Test(query, blanks_only_lists_members)
{
	EXPECT_QUERY(" \t  ", QUERY_LIST, false, "");
}

Test(query, slash_w_alone_lists_verbose)
{
	EXPECT_QUERY("/W", QUERY_LIST, true, "");
	EXPECT_QUERY("/w", QUERY_LIST, true, "");
	EXPECT_QUERY(" /W \t", QUERY_LIST, true, "");
}

Test(query, user)
{
	cr_assert_eq(EXPECT_QUERY("alice", QUERY_USER, false, "alice"), 0);
}

Test(query, user_with_blanks_around)
{
	cr_assert_eq(EXPECT_QUERY(" \t alice\t  ", QUERY_USER, false, "alice"),
	    3);
}

Test(query, slash_w_space_user)
{
	cr_assert_eq(EXPECT_QUERY("/W alice", QUERY_USER, true, "alice"), 3);
}

Test(query, slash_lower_w_user)
{
	EXPECT_QUERY("/w alice", QUERY_USER, true, "alice");
}

Test(query, slash_w_glued_to_user)
{
	cr_assert_eq(EXPECT_QUERY("/Walice", QUERY_USER, true, "alice"), 2);
}

Test(query, slash_w_tabs_and_spaces_user)
{
	cr_assert_eq(EXPECT_QUERY("/W\t \talice", QUERY_USER, true, "alice"),
	    5);
}

Test(query, slash_w_user_blanks_around)
{
	EXPECT_QUERY("  /W  alice \t", QUERY_USER, true, "alice");
}

/* The grammar has /W only before the name: a second one is a name. */
Test(query, slash_w_twice_is_a_name)
{
	EXPECT_QUERY("/W /W", QUERY_USER, true, "/W");
}

/* Only the len bytes given count: a user ends at len, not at a NUL. */
Test(query, user_ends_at_len)
{
	expect_query("alicebob", 5, QUERY_USER, false, "alice");
}

Test(query, inner_blank_is_invalid)
{
	EXPECT_ERROR("alice bob", E_QUERY_INVALID);
	EXPECT_ERROR("alice\tbob", E_QUERY_INVALID);
	EXPECT_ERROR("/W alice bob", E_QUERY_INVALID);
	EXPECT_ERROR(" alice  bob ", E_QUERY_INVALID);
}

Test(query, at_sign_is_forwarding)
{
	EXPECT_ERROR("@host", E_FORWARDING_DENIED);
	EXPECT_ERROR("alice@host", E_FORWARDING_DENIED);
	EXPECT_ERROR("/W alice@host", E_FORWARDING_DENIED);
	EXPECT_ERROR("/W @host", E_FORWARDING_DENIED);
	EXPECT_ERROR("alice@", E_FORWARDING_DENIED);
	EXPECT_ERROR("@", E_FORWARDING_DENIED);
	EXPECT_ERROR("alice@host1@host2", E_FORWARDING_DENIED);
	EXPECT_ERROR("  @host  ", E_FORWARDING_DENIED);
}

Test(query, nul_byte_is_invalid)
{
	EXPECT_ERROR("ali\0ce", E_QUERY_INVALID);
	EXPECT_ERROR("\0", E_QUERY_INVALID);
	EXPECT_ERROR("alice\0", E_QUERY_INVALID);
}

Test(query, control_bytes_are_invalid)
{
	EXPECT_ERROR("ali\x1b[2Jce", E_QUERY_INVALID);
	EXPECT_ERROR("alice\x7f", E_QUERY_INVALID);
	EXPECT_ERROR("ali\rce", E_QUERY_INVALID);
	EXPECT_ERROR("alice\r", E_QUERY_INVALID);
	EXPECT_ERROR("ali\nce", E_QUERY_INVALID);
	EXPECT_ERROR("\x1b", E_QUERY_INVALID);
}

/* Every C0 control but TAB, in the middle of a name. */
Test(query, every_c0_control_is_invalid)
{
	char line[] = "ab?cd";
	unsigned ch;

	for (ch = 0; ch < 0x20; ch++) {
		if (ch == '\t')
			continue;
		line[2] = (char)ch;
		expect_error(line, 5, E_QUERY_INVALID);
	}
}

/*
 * The definition of text: what the plan filter passes unchanged, with no
 * CR.  query.c answers printable ASCII without the filter.
 */
static bool
filter_keeps(const char *line, size_t len)
{
	uint8_t out[PLAN_FILTER_BOUND(64)];
	struct plan_filter f;

	cr_assert_leq(len, 64);
	plan_filter_init(&f, false);
	return memchr(line, '\r', len) == NULL &&
	    plan_filter_chunk(&f, (const uint8_t *)line, len, out) == len &&
	    memcmp(out, line, len) == 0;
}

/* A line of no blank and no @ is a user's name exactly when it is text. */
static void
expect_text_as_the_filter_says(const char *line, size_t len)
{
	struct query q;
	enum fingerd_error e = query_parse(line, len, &q);

	if (filter_keeps(line, len))
		cr_assert(e == E_NONE && q.user_len == len,
		    "text of %zu bytes refused: %s", len, error_name(e));
	else
		cr_assert_eq(e, E_QUERY_INVALID, "not text, taken: %s",
		    error_name(e));
}

/*
 * The parse's verdict on text against the filter's: each byte but the
 * blanks and @ between two letters, and 100,000 lines at random of
 * ASCII, controls, DEL and bytes above it (UTF-8 whole, cut or wrong).
 */
Test(query, text_as_the_filter_says)
{
	static const char pool[] = "aZ~!/\x01\x1b\r\n\x7f\x80\xa9\xbf\xc2\xc3"
	    "\xe2\x82\xac\xed\xf0\x9f\x98\xf4\x8f\xff";
	char line[16];
	unsigned ch;
	size_t len, i;
	int n;

	for (ch = 0; ch < 256; ch++) {
		if (ch == ' ' || ch == '\t' || ch == '@')
			continue;
		memcpy(line, "ab?cd", 5);
		line[2] = (char)ch;
		expect_text_as_the_filter_says(line, 5);
	}
	for (n = 0; n < 100000; n++) {
		len = rng_below(sizeof(line) + 1);
		for (i = 0; i < len; i++)
			line[i] = pool[rng_below(sizeof(pool) - 1)];
		expect_text_as_the_filter_says(line, len);
	}
}

Test(query, invalid_utf8_is_invalid)
{
	EXPECT_ERROR("ali\x80" "ce", E_QUERY_INVALID);	/* stray continuation */
	EXPECT_ERROR("\xbf", E_QUERY_INVALID);
	EXPECT_ERROR("\xc0\x80", E_QUERY_INVALID);	/* overlong NUL */
	EXPECT_ERROR("\xc1\xbf", E_QUERY_INVALID);	/* overlong */
	EXPECT_ERROR("\xe0\x80\x80", E_QUERY_INVALID);	/* overlong */
	EXPECT_ERROR("\xe0\x9f\xbf", E_QUERY_INVALID);	/* overlong */
	EXPECT_ERROR("\xf0\x8f\xbf\xbf", E_QUERY_INVALID); /* overlong */
	EXPECT_ERROR("\xed\xa0\x80", E_QUERY_INVALID);	/* surrogate */
	EXPECT_ERROR("\xed\xbf\xbf", E_QUERY_INVALID);	/* surrogate */
	EXPECT_ERROR("\xf4\x90\x80\x80", E_QUERY_INVALID); /* > U+10FFFF */
	EXPECT_ERROR("\xf5\x80\x80\x80", E_QUERY_INVALID);
	EXPECT_ERROR("\xff", E_QUERY_INVALID);
	EXPECT_ERROR("\xfe", E_QUERY_INVALID);
	EXPECT_ERROR("jos\xc3", E_QUERY_INVALID);	/* truncated at end */
	EXPECT_ERROR("jos\xc3x", E_QUERY_INVALID);	/* cut by ASCII */
	EXPECT_ERROR("\xe2\x82", E_QUERY_INVALID);
	EXPECT_ERROR("\xf0\x9f\x98", E_QUERY_INVALID);
	EXPECT_ERROR("\xe2\x82 x", E_QUERY_INVALID);
}

/* A truncated sequence at the end of len, even if more bytes follow it. */
Test(query, sequence_cut_by_len_is_invalid)
{
	expect_error("jos\xc3\xa9", 4, E_QUERY_INVALID);
}

Test(query, encoded_c1_is_invalid)
{
	EXPECT_ERROR("ali\xc2\x85" "ce", E_QUERY_INVALID);
	EXPECT_ERROR("\xc2\x80", E_QUERY_INVALID);
	EXPECT_ERROR("\xc2\x9b", E_QUERY_INVALID);
	EXPECT_ERROR("\xc2\x9f", E_QUERY_INVALID);
}

/* Invalid bytes are refused before the @ is seen. */
Test(query, invalid_before_forwarding)
{
	EXPECT_ERROR("alice@host\x1b", E_QUERY_INVALID);
	EXPECT_ERROR("alice@\xff", E_QUERY_INVALID);
}

Test(query, valid_utf8_user)
{
	EXPECT_QUERY("jos\xc3\xa9", QUERY_USER, false, "jos\xc3\xa9");
	/* U+00A0 is not C1 */
	EXPECT_QUERY("\xc2\xa0" "x", QUERY_USER, false, "\xc2\xa0" "x");
	/* U+20AC */
	EXPECT_QUERY("/W \xe2\x82\xac", QUERY_USER, true, "\xe2\x82\xac");
	/* U+1F600 */
	EXPECT_QUERY("\xf0\x9f\x98\x80z", QUERY_USER, false,
	    "\xf0\x9f\x98\x80z");
	/* U+10FFFF */
	EXPECT_QUERY("\xf4\x8f\xbf\xbf", QUERY_USER, false, "\xf4\x8f\xbf\xbf");
}

Test(query, longest_line_accepted)
{
	static char line[QUERY_MAX + 1];
	struct query q;

	memset(line, 'a', sizeof(line));
	cr_assert_eq(query_parse(line, QUERY_MAX - 1, &q), E_NONE);
	cr_assert_eq(q.kind, QUERY_USER);
	cr_assert_eq(q.verbose, false);
	cr_assert_eq(q.user, line);
	cr_assert_eq(q.user_len, QUERY_MAX - 1);
}

Test(query, too_long_line)
{
	static char line[2 * QUERY_MAX];

	memset(line, 'a', sizeof(line));
	expect_error(line, QUERY_MAX, E_QUERY_TOO_LONG);
	expect_error(line, QUERY_MAX + 1, E_QUERY_TOO_LONG);
	expect_error(line, sizeof(line), E_QUERY_TOO_LONG);
}

/* Length is checked first: a long line of anything is too long. */
Test(query, too_long_before_other_errors)
{
	static char line[QUERY_MAX];

	memset(line, '@', sizeof(line));
	expect_error(line, sizeof(line), E_QUERY_TOO_LONG);
	memset(line, 0x1b, sizeof(line));
	expect_error(line, sizeof(line), E_QUERY_TOO_LONG);
}

static void
expect_line(const char *buf, size_t len, size_t want)
{
	size_t got = (size_t)-1;

	cr_assert(query_line_end(buf, len, &got), "no line end found");
	cr_assert_eq(got, want, "line length %zu, want %zu", got, want);
}

#define EXPECT_LINE(lit, want)	expect_line((lit), sizeof(lit) - 1, (want))

Test(query_line_end, lf)
{
	EXPECT_LINE("alice\n", 5);
	EXPECT_LINE("\n", 0);
	EXPECT_LINE("/W alice\n", 8);
}

Test(query_line_end, crlf)
{
	EXPECT_LINE("alice\r\n", 5);
	EXPECT_LINE("\r\n", 0);
}

/* A CR is part of the terminator only right before the LF. */
Test(query_line_end, lone_cr_stays)
{
	EXPECT_LINE("ali\rce\n", 6);
	EXPECT_LINE("\ralice\n", 6);
	EXPECT_LINE("alice\r\r\n", 6);
}

Test(query_line_end, first_lf_ends)
{
	EXPECT_LINE("alice\nbob\n", 5);
	EXPECT_LINE("alice\r\nbob\r\n", 5);
}

Test(query_line_end, no_lf_yet)
{
	size_t got = 12345;

	cr_assert_not(query_line_end("alice", 5, &got));
	cr_assert_not(query_line_end("alice\r", 6, &got));
	cr_assert_not(query_line_end("", 0, &got));
	/* The LF past len is not seen. */
	cr_assert_not(query_line_end("alice\n", 5, &got));
	cr_assert_eq(got, 12345, "line_len written without a line");
}

Test(query_line_end, nul_before_lf)
{
	EXPECT_LINE("ali\0ce\r\n", 6);
}

/* What a client sends, from the bytes to the parsed query. */
Test(query_line_end, then_parse)
{
	const char buf[] = "/W alice\r\n";
	size_t len;

	cr_assert(query_line_end(buf, sizeof(buf) - 1, &len));
	expect_query(buf, len, QUERY_USER, true, "alice");

	cr_assert(query_line_end("ali\rce\n", 7, &len));
	expect_error("ali\rce\n", len, E_QUERY_INVALID);

	cr_assert(query_line_end("\r\n", 2, &len));
	expect_query("\r\n", len, QUERY_LIST, false, "");
}
