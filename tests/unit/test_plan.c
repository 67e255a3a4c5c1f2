/*
 * Unit tests of plan.c: LF to CRLF, the terminal-safety filter (RFC 1288,
 * 3.3), its state across chunk boundaries, its growth bound, and the
 * filter of Login line fields.  The property tests compare the filter with
 * a plain whole-buffer model written here, over fixed-seed random input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fingerd.h"
#include "rng.h"

/* Renders bytes as C escapes for a failure message. */
static const char *
escaped(const uint8_t *s, size_t len)
{
	static char buf[4096];
	size_t i, n = 0;

	for (i = 0; i < len && n + 5 < sizeof(buf); i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			buf[n++] = (char)s[i];
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    "\\x%02x", s[i]);
	}
	buf[n] = '\0';
	return buf;
}

#define assert_bytes(got, got_len, want, want_len) do {		\
	cr_assert_eq((got_len), (want_len),				\
	    "length %zu, want %zu; got \"%s\"", (size_t)(got_len),	\
	    (size_t)(want_len), escaped((got), (got_len)));		\
	cr_assert_eq(memcmp((got), (want), (want_len)), 0,		\
	    "got \"%s\"", escaped((got), (got_len)));			\
} while (0)

/* Output against a literal expectation. */
#define assert_output(got, got_len, lit)				\
	assert_bytes((got), (got_len), (const uint8_t *)(lit), sizeof(lit) - 1)

/*
 * One call of plan_filter_chunk, or of plan_filter_finish when in is
 * NULL, into a buffer of exactly its bound (so that AddressSanitizer sees
 * an overflow); checks the count against the bound and appends the output
 * to out.
 */
static size_t
filter_call(struct plan_filter *f, const uint8_t *in, size_t len,
    uint8_t *out)
{
	size_t bound = in == NULL ? PLAN_FINISH_BOUND : PLAN_FILTER_BOUND(len);
	uint8_t *tmp = malloc(bound);
	size_t n;

	cr_assert_not_null(tmp);
	if (in == NULL)
		n = plan_filter_finish(f, tmp);
	else
		n = plan_filter_chunk(f, in, len, tmp);
	cr_assert_leq(n, bound, "%zu bytes out of a call for %zu", n, len);
	memcpy(out, tmp, n);
	free(tmp);
	return n;
}

/*
 * Filters len bytes in chunks of the given sizes (cycled; no sizes means
 * one chunk) and finishes.  Returns the output, its length in *out_len;
 * the caller frees it.
 */
static uint8_t *
filter_chunked(const uint8_t *in, size_t len, const size_t *sizes,
    size_t nsizes, size_t *out_len)
{
	struct plan_filter f;
	size_t off = 0, k = 0, chunk, total = 0;
	/* No input byte gives more than two bytes, finish included. */
	uint8_t *out = malloc(2 * len + PLAN_FINISH_BOUND + 1);

	cr_assert_not_null(out);
	plan_filter_init(&f, false);
	do {
		chunk = nsizes == 0 ? len - off : sizes[k++ % nsizes];
		if (chunk > len - off)
			chunk = len - off;
		total += filter_call(&f, in + off, chunk, out + total);
		off += chunk;
		cr_assert_leq(total, 2 * off, "%zu bytes out of %zu", total,
		    off);
	} while (off < len);
	*out_len = total + filter_call(&f, NULL, 0, out + total);
	return out;
}

static uint8_t *
filter_whole(const uint8_t *in, size_t len, size_t *out_len)
{
	return filter_chunked(in, len, NULL, 0, out_len);
}

/* Filters a literal in one chunk and checks the output, finish included. */
#define expect_filter(in_lit, want_lit) do {				\
	size_t len_;							\
	uint8_t *got_ = filter_whole((const uint8_t *)(in_lit),	\
	    sizeof(in_lit) - 1, &len_);					\
	assert_output(got_, len_, want_lit);				\
	free(got_);							\
} while (0)

Test(plan, lf_becomes_crlf)
{
	expect_filter("a\nb\n", "a\r\nb\r\n");
	expect_filter("\n", "\r\n");
	expect_filter("\n\n\n", "\r\n\r\n\r\n");
}

Test(plan, crlf_unchanged)
{
	expect_filter("a\r\nb\r\n", "a\r\nb\r\n");
	expect_filter("\r\n\r\n", "\r\n\r\n");
	expect_filter("a\r\n\nb\r\n", "a\r\n\r\nb\r\n");
}

Test(plan, lone_cr_kept)
{
	expect_filter("a\rb\n", "a\rb\r\n");
	expect_filter("a\r\rb\r\n", "a\r\rb\r\n");
}

Test(plan, final_crlf_added)
{
	expect_filter("no newline", "no newline\r\n");
	expect_filter("a\nb", "a\r\nb\r\n");
	expect_filter("x", "x\r\n");
}

Test(plan, final_cr_gets_lf_only)
{
	expect_filter("abc\r", "abc\r\n");
	expect_filter("\r", "\r\n");
}

Test(plan, empty_gives_nothing)
{
	struct plan_filter f;
	uint8_t out[16];

	memset(out, 0xaa, sizeof(out));
	plan_filter_init(&f, false);
	cr_assert_eq(plan_filter_chunk(&f, (const uint8_t *)"", 0, out), 0);
	cr_assert_eq(plan_filter_finish(&f, out), 0);
	cr_assert_eq(out[0], 0xaa);
}

/*
 * The steps' chunks filtered one after the other (NULL: the finish), and
 * after each the output so far is its want (NULL: not looked at).
 */
struct step {
	const char	*in;
	const char	*want;
};

static void
expect_steps(const struct step *steps, size_t n)
{
	struct plan_filter f;
	uint8_t out[64];
	size_t len = 0, i;

	plan_filter_init(&f, false);
	for (i = 0; i < n; i++) {
		if (steps[i].in == NULL)
			len += plan_filter_finish(&f, out + len);
		else
			len += plan_filter_chunk(&f,
			    (const uint8_t *)steps[i].in, strlen(steps[i].in),
			    out + len);
		if (steps[i].want != NULL)
			assert_bytes(out, len, steps[i].want,
			    strlen(steps[i].want));
	}
}

#define EXPECT_STEPS(steps)						\
	expect_steps((steps), sizeof(steps) / sizeof((steps)[0]))

/* Empty chunks between others change nothing. */
Test(plan, empty_chunks_between)
{
	static const struct step steps[] = { { "a\r", NULL }, { "", NULL },
		{ "\nb", NULL }, { "", NULL }, { NULL, "a\r\nb\r\n" } };

	EXPECT_STEPS(steps);
}

Test(plan, tab_kept)
{
	expect_filter("a\tb\n", "a\tb\r\n");
}

Test(plan, every_c0_control)
{
	uint8_t in[] = "a?b\n";
	uint8_t *got;
	unsigned ch;
	size_t len;

	for (ch = 0; ch < 0x20; ch++) {
		in[1] = (uint8_t)ch;
		got = filter_whole(in, 4, &len);
		switch (ch) {
		case '\t':
			assert_output(got, len, "a\tb\r\n");
			break;
		case '\r':
			assert_output(got, len, "a\rb\r\n");
			break;
		case '\n':
			assert_output(got, len, "a\r\nb\r\n");
			break;
		default:
			assert_output(got, len, "ab\r\n");
			break;
		}
		free(got);
	}
}

Test(plan, del_removed)
{
	expect_filter("a\x7f" "b\n", "ab\r\n");
	expect_filter("\x7f\x7f\x7f", "");
}

Test(plan, escape_sequence_removed)
{
	expect_filter("\x1b[2J\x1b]0;title\x07text\n", "[2J]0;titletext\r\n");
}

/* Each byte from first to last at byte at of in (len bytes) is removed. */
static void
expect_each_removed(uint8_t *in, size_t len, size_t at, unsigned first,
    unsigned last)
{
	uint8_t *got;
	size_t got_len;
	unsigned ch;

	for (ch = first; ch <= last; ch++) {
		in[at] = (uint8_t)ch;
		got = filter_whole(in, len, &got_len);
		assert_output(got, got_len, "ab\r\n");
		free(got);
	}
}

Test(plan, raw_c1_removed)
{
	uint8_t in[] = "a?b\n";

	expect_each_removed(in, 4, 1, 0x80, 0x9f);
}

Test(plan, encoded_c1_removed)
{
	uint8_t in[] = "a\xc2?b\n";

	expect_each_removed(in, 5, 2, 0x80, 0x9f);
}

Test(plan, nbsp_kept)
{
	expect_filter("a\xc2\xa0" "b\n", "a\xc2\xa0" "b\r\n");
	expect_filter("\xc2\xbf\xc3\xa9\xdf\xbf\n", "\xc2\xbf\xc3\xa9\xdf\xbf\r\n");
}

Test(plan, multibyte_kept)
{
	/* U+0800, U+20AC, U+FFFD, U+E000 (after the surrogates), U+FFFF */
	expect_filter("\xe0\xa0\x80\xe2\x82\xac\xef\xbf\xbd\xee\x80\x80"
	    "\xef\xbf\xbf\n",
	    "\xe0\xa0\x80\xe2\x82\xac\xef\xbf\xbd\xee\x80\x80"
	    "\xef\xbf\xbf\r\n");
	/* U+10000, U+1F600, U+10FFFF */
	expect_filter("\xf0\x90\x80\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\n",
	    "\xf0\x90\x80\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\r\n");
}

Test(plan, overlong_removed)
{
	expect_filter("a\xc0\x80" "b\n", "ab\r\n");
	expect_filter("a\xc1\xbf" "b\n", "ab\r\n");
	expect_filter("a\xe0\x80\x80" "b\n", "ab\r\n");
	expect_filter("a\xe0\x9f\xbf" "b\n", "ab\r\n");
	expect_filter("a\xf0\x80\x80\x80" "b\n", "ab\r\n");
	expect_filter("a\xf0\x8f\xbf\xbf" "b\n", "ab\r\n");
}

Test(plan, surrogates_removed)
{
	expect_filter("a\xed\xa0\x80" "b\n", "ab\r\n");
	expect_filter("a\xed\xbf\xbf" "b\n", "ab\r\n");
	/* U+D7FF, just before them, stays */
	expect_filter("a\xed\x9f\xbf" "b\n", "a\xed\x9f\xbf" "b\r\n");
}

Test(plan, past_max_code_point_removed)
{
	expect_filter("a\xf4\x90\x80\x80" "b\n", "ab\r\n");
	expect_filter("a\xf5\x80\x80\x80" "b\n", "ab\r\n");
}

Test(plan, bytes_never_in_utf8_removed)
{
	uint8_t in[] = "a?b\n";

	expect_each_removed(in, 4, 1, 0xf5, 0xff);
	expect_filter("\xc0\xc1\xf8\xfe\xff", "");
}

Test(plan, lone_continuation_removed)
{
	expect_filter("a\xa9" "b\n", "ab\r\n");
	expect_filter("\xbf\xbf\xbf\n", "\r\n");
	/* one continuation too many */
	expect_filter("\xc3\xa9\xa9\n", "\xc3\xa9\r\n");
}

Test(plan, truncated_sequence_keeps_next_byte)
{
	expect_filter("a\xc3" "b\n", "ab\r\n");
	expect_filter("a\xe2\x82" "b\n", "ab\r\n");
	expect_filter("a\xf0\x9f\x98" "b\n", "ab\r\n");
	expect_filter("a\xe2\x82\n", "a\r\n");
	/* cut by the lead of a valid sequence: that one stays */
	expect_filter("a\xe2\x82\xc3\xa9\n", "a\xc3\xa9\r\n");
	expect_filter("\xf0\x9f\xf0\x9f\x98\x80\n", "\xf0\x9f\x98\x80\r\n");
}

Test(plan, unfinished_sequence_dropped_at_finish)
{
	static const struct step steps[] = { { "ab\xf0\x9f\x98", "ab" },
		{ NULL, "ab\r\n" } };

	EXPECT_STEPS(steps);
	expect_filter("text\n\xe2\x82", "text\r\n");
	expect_filter("\xc3", "");
}

Test(plan, crlf_split_across_chunks)
{
	static const struct step steps[] = { { "a\r", "a\r" },
		{ "\nb", "a\r\nb" }, { NULL, "a\r\nb\r\n" } };

	EXPECT_STEPS(steps);
}

Test(plan, lf_alone_in_next_chunk)
{
	static const struct step steps[] = { { "a", NULL }, { "\n", "a\r\n" },
		{ NULL, "a\r\n" } };

	EXPECT_STEPS(steps);
}

/* Filters in into want, cut in every way into two and three chunks. */
static void
expect_same_split(const uint8_t *in, size_t len)
{
	uint8_t *want, *got;
	size_t want_len, got_len, i, j, sizes[3];

	want = filter_whole(in, len, &want_len);
	for (i = 0; i <= len; i++)
		for (j = i; j <= len; j++) {
			sizes[0] = i;
			sizes[1] = j - i;
			sizes[2] = len - j;
			got = filter_chunked(in, len, sizes, 3, &got_len);
			cr_assert_eq(got_len, want_len,
			    "cut at %zu and %zu: \"%s\"", i, j,
			    escaped(got, got_len));
			cr_assert_eq(memcmp(got, want, want_len), 0,
			    "cut at %zu and %zu: \"%s\"", i, j,
			    escaped(got, got_len));
			free(got);
		}
	free(want);
}

#define EXPECT_SAME_SPLIT(lit)						\
	expect_same_split((const uint8_t *)(lit), sizeof(lit) - 1)

Test(plan, utf8_split_anywhere)
{
	EXPECT_SAME_SPLIT("x\xc3\xa9y");
	EXPECT_SAME_SPLIT("x\xe2\x82\xacy");
	EXPECT_SAME_SPLIT("x\xf0\x9f\x98\x80y");
	EXPECT_SAME_SPLIT("\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80\n");
	EXPECT_SAME_SPLIT("x\xc2\x85y\xc2\xa0z");
	EXPECT_SAME_SPLIT("x\xe0\x80\x80y\xed\xa0\x80z\xf4\x90\x80\x80");
	EXPECT_SAME_SPLIT("x\xe2\x82" "y\xf0\x9f\x98\n");
	EXPECT_SAME_SPLIT("a\r\n\r\rb\n\n");
}

/* And the exact output of a split sequence, byte by byte. */
Test(plan, utf8_one_byte_chunks)
{
	static const uint8_t in[] = "\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\n";
	static const size_t one = 1;
	uint8_t *got;
	size_t len;

	got = filter_chunked(in, sizeof(in) - 1, &one, 1, &len);
	assert_output(got, len, "\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\r\n");
	free(got);
}

static const char realistic[] =
    "Plan for the week\n"
    "=================\r\n"
    "\n"
    "\t- Caf\xc3\xa9 with Jos\xc3\xa9 at 10\xe2\x80\x93" "11 \xe2\x82\xac" "5\n"
    "\t- Review \xf0\x9f\x98\x80 patches\r\n"
    "\x1b[31mred\x1b[0m and a bell\x07 and DEL\x7f\n"
    "raw C1 \x9b" "31m and encoded \xc2\x9b" "31m\r\r\n"
    "bad: \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xff \xe2\x82 end\n"
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xc2\xa0text\r"
    "last line with no newline \xf0\x9f\x8d";

Test(plan, realistic_text_split_anywhere)
{
	const uint8_t *in = (const uint8_t *)realistic;
	const size_t len = sizeof(realistic) - 1;
	uint8_t *want, *got;
	size_t want_len, got_len, i, sizes[2];

	want = filter_whole(in, len, &want_len);
	for (i = 0; i <= len; i++) {
		sizes[0] = i;
		sizes[1] = len - i;
		got = filter_chunked(in, len, sizes, 2, &got_len);
		assert_bytes(got, got_len, want, want_len);
		free(got);
	}
	for (i = 1; i <= 7; i++) {
		got = filter_chunked(in, len, &i, 1, &got_len);
		assert_bytes(got, got_len, want, want_len);
		free(got);
	}
	free(want);
}

/* The whole-buffer output of the text above, by hand. */
Test(plan, realistic_text_exact)
{
	size_t len;
	uint8_t *got = filter_whole((const uint8_t *)realistic,
	    sizeof(realistic) - 1, &len);

	assert_output(got, len,
	    "Plan for the week\r\n"
	    "=================\r\n"
	    "\r\n"
	    "\t- Caf\xc3\xa9 with Jos\xc3\xa9 at 10\xe2\x80\x93" "11 \xe2\x82\xac"
	    "5\r\n"
	    "\t- Review \xf0\x9f\x98\x80 patches\r\n"
	    "[31mred[0m and a bell and DEL\r\n"
	    "raw C1 31m and encoded 31m\r\r\n"
	    "bad:" " " " " " " " " " " " end\r\n"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xc2\xa0text\r"
	    "last line with no newline \r\n");
	free(got);
}

Test(plan, all_lf_doubles_exactly)
{
	static uint8_t in[4096], out[PLAN_FILTER_BOUND(4096)];
	struct plan_filter f;
	size_t n, sizes[] = { 1, 2, 3, 17, 100, 4096 }, i;

	memset(in, '\n', sizeof(in));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		plan_filter_init(&f, false);
		n = plan_filter_chunk(&f, in, sizes[i], out);
		cr_assert_eq(n, 2 * sizes[i]);
		cr_assert_leq(n, PLAN_FILTER_BOUND(sizes[i]));
		/* a second chunk of LFs after the first: the same */
		n = plan_filter_chunk(&f, in, sizes[i], out);
		cr_assert_eq(n, 2 * sizes[i]);
		cr_assert_eq(plan_filter_finish(&f, out), 0);
	}
}

/* The most one call writes: a held 4-byte sequence, then LFs. */
Test(plan, bound_held_sequence_then_lf)
{
	static const uint8_t head[] = "\xf0\x9f\x98";
	static uint8_t in[64], out[PLAN_FILTER_BOUND(64)];
	struct plan_filter f;
	size_t n;

	in[0] = 0x80;
	memset(in + 1, '\n', sizeof(in) - 1);
	plan_filter_init(&f, false);
	cr_assert_eq(plan_filter_chunk(&f, head, 3, out), 0);
	n = plan_filter_chunk(&f, in, sizeof(in), out);
	cr_assert_eq(n, 4 + 2 * (sizeof(in) - 1));
	cr_assert_leq(n, PLAN_FILTER_BOUND(sizeof(in)));
	cr_assert_eq(memcmp(out, "\xf0\x9f\x98\x80\r\n\r\n", 8), 0);
}

/* Random bytes, many of them the ones the filter must care about. */
static uint8_t
interesting_byte(void)
{
	static const uint8_t pick[] = {
		'\n', '\r', '\t', 0x1b, 0x7f, 0x00, 0x07, 0xc2, 0xc3, 0xdf,
		0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xc0, 0xc1,
		0x80, 0x85, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 'a', ' '
	};

	switch (rng_below(4)) {
	case 0:
		return (uint8_t)rng();
	case 1:
		return (uint8_t)(0x80 + rng_below(0x40));	/* continuation */
	default:
		return pick[rng_below(sizeof(pick))];
	}
}

static void
random_bytes(uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = interesting_byte();
}

/* Fills sizes with a random chunking; returns how many. */
static size_t
random_chunking(size_t *sizes, size_t max)
{
	size_t i, n = 1 + rng_below(max);

	/* Some empty chunks, but never all: each round must make progress. */
	sizes[0] = 1 + rng_below(40);
	for (i = 1; i < n; i++)
		sizes[i] = rng_below(4) == 0 ? rng_below(3) : 1 + rng_below(40);
	return n;
}

Test(plan, growth_bound_random)
{
	static uint8_t in[2048];
	size_t sizes[16], nsizes, len, out_len, round;
	uint8_t *out;

	rng_seed(0x9e3779b97f4a7c15ULL);
	for (round = 0; round < 3000; round++) {
		len = rng_below(round < 2000 ? 64 : sizeof(in));
		random_bytes(in, len);
		nsizes = random_chunking(sizes, 16);
		out = filter_chunked(in, len, sizes, nsizes, &out_len);
		cr_assert_leq(out_len, 2 * len + PLAN_FINISH_BOUND);
		free(out);
	}
}

/*
 * The model: what the filter must do to a whole buffer, written plainly.
 * At each position, a valid UTF-8 sequence is kept unless it is a control;
 * any other byte is dropped alone (a continuation byte after it is then
 * dropped alone too).  LF becomes CRLF unless a CR came out just before.
 */
static size_t
model_sequence(const uint8_t *s, size_t len, uint32_t *cp)
{
	size_t need, i;

	*cp = s[0];
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
	*cp &= 0x3f >> need;		/* the lead's payload bits */
	if (len < need + 1)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 2 && *cp < 0x800) || (need == 3 && *cp < 0x10000) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff) || *cp > 0x10ffff)
		return 0;
	return need + 1;
}

static bool
model_is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t' && cp != '\r' && cp != '\n') ||
	    (cp >= 0x7f && cp <= 0x9f);
}

static size_t
model_filter(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i = 0, n = 0, k;
	uint8_t last = 0;
	uint32_t cp;

	while (i < len) {
		if ((k = model_sequence(in + i, len - i, &cp)) == 0) {
			i++;
			continue;
		}
		if (!model_is_control(cp)) {
			if (cp == '\n' && last != '\r')
				out[n++] = '\r';
			memcpy(out + n, in + i, k);
			n += k;
			last = in[i + k - 1];
		}
		i += k;
	}
	if (last != 0 && last != '\n') {
		if (last != '\r')
			out[n++] = '\r';
		out[n++] = '\n';
	}
	return n;
}

/* What must hold of any output, whatever the input. */
static void
assert_safe(const uint8_t *s, size_t len)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < len) {
		k = model_sequence(s + i, len - i, &cp);
		cr_assert_neq(k, 0, "invalid UTF-8 at %zu: \"%s\"", i,
		    escaped(s, len));
		cr_assert_not(model_is_control(cp),
		    "control U+%04X at %zu: \"%s\"", cp, i, escaped(s, len));
		if (cp == '\n')
			cr_assert(i > 0 && s[i - 1] == '\r',
			    "bare LF at %zu: \"%s\"", i, escaped(s, len));
		i += k;
	}
	if (len > 0)
		cr_assert_eq(s[len - 1], '\n', "no final newline: \"%s\"",
		    escaped(s, len));
}

Test(plan, property_random_bytes)
{
	static uint8_t in[1024], want[3 * 1024];
	size_t sizes[16], nsizes, len, got_len, want_len, round;
	uint8_t *got;

	rng_seed(0x2545f4914f6cdd1dULL);
	for (round = 0; round < 5000; round++) {
		len = rng_below(round < 4000 ? 48 : sizeof(in));
		random_bytes(in, len);
		nsizes = random_chunking(sizes, 16);
		got = filter_chunked(in, len, sizes, nsizes, &got_len);
		assert_safe(got, got_len);
		want_len = model_filter(in, len, want);
		cr_assert_eq(got_len, want_len,
		    "round %zu: length %zu, model %zu", round, got_len,
		    want_len);
		cr_assert_eq(memcmp(got, want, want_len), 0,
		    "round %zu: \"%s\"", round, escaped(got, got_len));
		free(got);
	}
}

/* Appends one random code point that is text, not a control. */
static size_t
random_text_char(uint8_t *s)
{
	uint32_t cp;

	switch (rng_below(5)) {
	case 0:
		cp = 0x20 + rng_below(0x7f - 0x20);
		break;
	case 1:
		cp = 0xa0 + rng_below(0x800 - 0xa0);
		break;
	case 2:
		do
			cp = 0x800 + rng_below(0x10000 - 0x800);
		while (cp >= 0xd800 && cp <= 0xdfff);
		break;
	case 3:
		cp = 0x10000 + rng_below(0x110000 - 0x10000);
		break;
	default:
		return (size_t)snprintf((char *)s, 3, "%s",
		    rng_below(3) == 0 ? "\r\n" : rng_below(2) ? "\t" : " ");
	}
	if (cp < 0x80) {
		s[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (uint8_t)(0xc0 | cp >> 6);
		s[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (uint8_t)(0xe0 | cp >> 12);
		s[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	s[0] = (uint8_t)(0xf0 | cp >> 18);
	s[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	s[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	s[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

Test(plan, property_valid_text_unchanged)
{
	static uint8_t in[4096 + 8];
	size_t sizes[16], nsizes, len, got_len, round, chars, i;
	uint8_t *got;

	rng_seed(0xd1b54a32d192ed03ULL);
	for (round = 0; round < 2000; round++) {
		chars = rng_below(round < 1500 ? 40 : 1000);
		for (len = 0, i = 0; i < chars; i++)
			len += random_text_char(in + len);
		memcpy(in + len, "\r\n", 2);
		len += 2;
		nsizes = random_chunking(sizes, 16);
		got = filter_chunked(in, len, sizes, nsizes, &got_len);
		assert_bytes(got, got_len, in, len);
		free(got);
	}
}

static size_t
field(const char *src, uint8_t *out)
{
	size_t n;

	memset(out, 0xaa, FIELD_MAX + 1);
	n = plan_filter_field(src, out, FIELD_MAX + 1);
	cr_assert_leq(n, FIELD_MAX);
	cr_assert_eq(out[n], '\0', "field not terminated");
	return n;
}

Test(plan_field, plain_unchanged)
{
	uint8_t out[FIELD_MAX + 1];
	size_t n = field("Alice Liddell", out);

	assert_output(out, n, "Alice Liddell");
	n = field("", out);
	assert_output(out, n, "");
	n = field("Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", out);
	assert_output(out, n, "Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

Test(plan_field, drops_tab_cr_lf)
{
	uint8_t out[FIELD_MAX + 1];
	size_t n = field("Alice\tLid\r\ndell\n", out);

	assert_output(out, n, "AliceLiddell");
}

Test(plan_field, drops_every_control)
{
	uint8_t out[FIELD_MAX + 1];
	char src[] = "a?b";
	unsigned ch;
	size_t n;

	for (ch = 1; ch < 0x20; ch++) {
		src[1] = (char)ch;
		n = field(src, out);
		assert_output(out, n, "ab");
	}
	n = field("a\x7f" "b\x1b[1mc\xc2\x85" "d\x9b" "e\xc2\xa0", out);
	assert_output(out, n, "ab[1mcde\xc2\xa0");
}

Test(plan_field, drops_invalid_utf8)
{
	uint8_t out[FIELD_MAX + 1];
	size_t n = field("a\xc0\x80" "b\xed\xa0\x80" "c\xff" "d\xc3", out);

	assert_output(out, n, "abcd");
}

/* Cuts src at FIELD_MAX bytes; a sequence across the cut goes whole. */
static void
expect_field_cut(size_t ascii, const char *tail, size_t want_len)
{
	char src[FIELD_MAX + 16];
	uint8_t out[FIELD_MAX + 1];
	size_t n;

	memset(src, 'a', ascii);
	strcpy(src + ascii, tail);
	n = field(src, out);
	cr_assert_eq(n, want_len, "%zu ASCII + \"%s\": length %zu, want %zu",
	    ascii, escaped((const uint8_t *)tail, strlen(tail)), n, want_len);
	cr_assert_eq(memcmp(out, src, want_len), 0);
}

Test(plan_field, cut_at_field_max)
{
	expect_field_cut(FIELD_MAX + 10, "", FIELD_MAX);
	expect_field_cut(FIELD_MAX, "b", FIELD_MAX);
	expect_field_cut(FIELD_MAX - 1, "b", FIELD_MAX);
	expect_field_cut(FIELD_MAX - 2, "\xc3\xa9", FIELD_MAX);
	expect_field_cut(FIELD_MAX - 1, "\xc3\xa9", FIELD_MAX - 1);
	expect_field_cut(FIELD_MAX - 3, "\xe2\x82\xac", FIELD_MAX);
	expect_field_cut(FIELD_MAX - 2, "\xe2\x82\xac", FIELD_MAX - 2);
	expect_field_cut(FIELD_MAX - 1, "\xe2\x82\xac", FIELD_MAX - 1);
	expect_field_cut(FIELD_MAX - 4, "\xf0\x9f\x98\x80", FIELD_MAX);
	expect_field_cut(FIELD_MAX - 3, "\xf0\x9f\x98\x80", FIELD_MAX - 3);
	expect_field_cut(FIELD_MAX - 2, "\xf0\x9f\x98\x80", FIELD_MAX - 2);
	expect_field_cut(FIELD_MAX - 1, "\xf0\x9f\x98\x80", FIELD_MAX - 1);
}

/* A field of only multi-byte text, cut: still valid UTF-8. */
Test(plan_field, cut_multibyte_is_valid)
{
	char src[3 * FIELD_MAX + 1];
	uint8_t out[FIELD_MAX + 1];
	size_t i, n, k;
	uint32_t cp;

	for (i = 0; i < FIELD_MAX; i++)
		memcpy(src + 3 * i, "\xe2\x82\xac", 3);
	src[3 * FIELD_MAX] = '\0';
	n = field(src, out);
	cr_assert_eq(n, FIELD_MAX / 3 * 3);
	for (i = 0; i < n; i += k) {
		k = model_sequence(out + i, n - i, &cp);
		cr_assert_eq(k, 3);
		cr_assert_eq(cp, 0x20ac);
	}
}

/* .project: the first line, as plan_first_line gives it for "Project: ". */
static void
expect_first_line(const char *in, size_t len, const char *want)
{
	uint8_t *out = malloc(PLAN_FILTER_BOUND(len) + 2);
	size_t n;

	cr_assert_not_null(out);
	n = plan_first_line((const uint8_t *)in, len, out);
	cr_assert_leq(n, PLAN_FILTER_BOUND(len) + 2);
	assert_bytes(out, n, (const uint8_t *)want, strlen(want));
	free(out);
}

#define expect_first(in_lit, want) \
	expect_first_line((in_lit), sizeof(in_lit) - 1, (want))

Test(plan, first_line_only)
{
	expect_first("fingerd\nsecond line\n", "fingerd\r\n");
	expect_first("fingerd\r\nsecond\r\n", "fingerd\r\n");
	expect_first("one\rtwo", "one\r\n");
	expect_first("no newline", "no newline\r\n");
	expect_first("\nsecond", "\r\n");
	expect_first("", "\r\n");
	expect_first("tab\tkept\n", "tab\tkept\r\n");
}

Test(plan, first_line_filtered)
{
	expect_first("a\x1b[2Jb\x07\x7f" "c\n", "a[2Jbc\r\n");
	expect_first("\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\n", "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\r\n");
	expect_first("bad\xff\xfe utf\xc3\n", "bad utf\r\n");
	expect_first("c1 \xc2\x9b" "x\n", "c1 x\r\n");
	/* cut in the middle of a sequence (the read stopped there) */
	expect_first("cut \xe6\x97", "cut \r\n");
}
