/*
 * libFuzzer target for the plan filter (plan_filter_chunk/finish, in plan
 * and in field mode), plan_filter_field(), plan_first_line() (the
 * "Project:" line of /W) and log_escape().
 *
 * Input: the low three bits of the first byte say how many chunk sizes
 * follow (0: the plan in one chunk); its high five bits size a log_escape()
 * buffer.  Each chunk size is one byte, used in turn; 0 means an empty
 * call and then one byte.  The rest is the plan.
 *
 * Every call writes into a heap buffer of exactly its documented bound, so
 * that AddressSanitizer catches an overflow.  Invariants are checked with
 * abort(), not assert(), so that they hold whatever NDEBUG says.
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

struct input {
	const uint8_t	*sizes;
	size_t		 sizes_len;
	const uint8_t	*plan;
	size_t		 plan_len;
	size_t		 log_size;
};

struct output {
	uint8_t		*v;
	size_t		 len;
};


static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/*
 * Terminal safety: valid UTF-8; no control but TAB, CR, LF (none at all
 * in field mode); every LF after a CR.
 */
static void
check_safe(const uint8_t *s, size_t len, bool fields_only)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		check(n > 0);
		if (fields_only)
			check(!is_control(cp));
		else
			check(!is_control(cp) || cp == '\t' || cp == '\r' ||
			    cp == '\n');
		if (cp == '\n')
			check(i > 0 && s[i - 1] == '\r');
		i += n;
	}
}

/*
 * Valid UTF-8 whose only controls are TAB, LF, and CR just before an LF:
 * text the filter must pass unchanged but for the line ends.
 */
static bool
is_plain_text(const uint8_t *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0)
			return false;
		if (cp == '\r' && !(i + 1 < len && s[i + 1] == '\n'))
			return false;
		if (is_control(cp) && cp != '\t' && cp != '\r' && cp != '\n')
			return false;
		i += n;
	}
	return true;
}

/*
 * What the filter must make of plain text: a bare LF becomes CRLF and a
 * last line without one gets it; in field mode TAB, CR and LF go.
 */
static size_t
plain_expected(const uint8_t *s, size_t len, bool fields_only, uint8_t *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (fields_only) {
			if (s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
				out[n++] = s[i];
			continue;
		}
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = s[i];
	}
	if (!fields_only && len > 0 && s[len - 1] != '\n') {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	return n;
}

/* One plan_filter_chunk() call into a buffer of exactly its bound. */
static void
filter_chunk(struct plan_filter *f, const uint8_t *in, size_t len,
    struct output *out)
{
	size_t bound = PLAN_FILTER_BOUND(len), n;
	uint8_t *tmp = malloc(bound);
	uint8_t *copy = malloc(len == 0 ? 1 : len);

	check(tmp != NULL && copy != NULL);
	memcpy(copy, in, len);
	n = plan_filter_chunk(f, copy, len, tmp);
	check(n <= bound);
	memcpy(out->v + out->len, tmp, n);
	out->len += n;
	free(copy);
	free(tmp);
}

static void
filter_finish(struct plan_filter *f, struct output *out)
{
	uint8_t *tmp = malloc(PLAN_FINISH_BOUND);
	size_t n;

	check(tmp != NULL);
	n = plan_filter_finish(f, tmp);
	check(n <= PLAN_FINISH_BOUND);
	memcpy(out->v + out->len, tmp, n);
	out->len += n;
	free(tmp);
}

/*
 * Room for the sum of every call's bound, whatever the calls write within
 * it: 2 per byte, and 4 per call, with at most 2n + 1 chunk calls.
 */
static void
output_alloc(struct output *out, size_t plan_len)
{
	out->len = 0;
	out->v = malloc(2 * plan_len + 4 * (2 * plan_len + 1) +
	    PLAN_FINISH_BOUND);
	check(out->v != NULL);
}

/* The plan through one filter, cut at the sizes the input chose. */
static void
filter_chunked(const struct input *in, bool fields_only, struct output *out)
{
	struct plan_filter f;
	size_t done = 0, k = 0, len;

	output_alloc(out, in->plan_len);
	plan_filter_init(&f, fields_only);
	while (done < in->plan_len) {
		len = in->plan_len - done;
		if (in->sizes_len > 0) {
			len = in->sizes[k++ % in->sizes_len];
			if (len == 0) {
				filter_chunk(&f, in->plan + done, 0, out);
				len = 1;
			}
			if (len > in->plan_len - done)
				len = in->plan_len - done;
		}
		filter_chunk(&f, in->plan + done, len, out);
		done += len;
	}
	filter_finish(&f, out);
}

static void
filter_whole(const struct input *in, bool fields_only, struct output *out)
{
	struct plan_filter f;

	output_alloc(out, in->plan_len);
	plan_filter_init(&f, fields_only);
	filter_chunk(&f, in->plan, in->plan_len, out);
	filter_finish(&f, out);
}

static void
check_filter(const struct input *in, bool fields_only)
{
	struct output whole, chunked;
	uint8_t *want;
	size_t want_len;

	filter_whole(in, fields_only, &whole);
	filter_chunked(in, fields_only, &chunked);
	check_safe(whole.v, whole.len, fields_only);
	check(chunked.len == whole.len);
	check(memcmp(chunked.v, whole.v, whole.len) == 0);
	if (is_plain_text(in->plan, in->plan_len)) {
		want = malloc(2 * in->plan_len + 2);
		check(want != NULL);
		want_len = plain_expected(in->plan, in->plan_len, fields_only,
		    want);
		check(whole.len == want_len);
		check(memcmp(whole.v, want, want_len) == 0);
		free(want);
	}
	free(whole.v);
	free(chunked.v);
}

/*
 * plan_filter_field(): terminated, at most FIELD_MAX bytes, no control,
 * the same as the field-mode filter over the first FIELD_MAX bytes.
 */
static void
check_field(const struct input *in)
{
	char *src = malloc(in->plan_len + 1);
	uint8_t *out = malloc(FIELD_MAX + 1), *small = malloc(FIELD_MAX);
	struct input cut = *in;
	struct output want;
	size_t n;

	check(src != NULL && out != NULL && small != NULL);
	memcpy(src, in->plan, in->plan_len);
	src[in->plan_len] = '\0';
	n = plan_filter_field(src, out, FIELD_MAX + 1);
	check(n <= FIELD_MAX);
	check(out[n] == '\0');
	check(memchr(out, '\0', n) == NULL);
	check_safe(out, n, true);
	cut.plan_len = strnlen(src, FIELD_MAX);
	filter_whole(&cut, true, &want);
	check(n == want.len && memcmp(out, want.v, n) == 0);
	check(plan_filter_field(src, small, FIELD_MAX) == 0);
	free(want.v);
	free(small);
	free(out);
	free(src);
}

static int
hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/*
 * One log_escape() into a buffer of exactly size bytes: printable ASCII,
 * no quote, a backslash only in \xHH, terminated, shorter than the
 * buffer, and it decodes to a prefix of src (all of it when it fits).
 */
static void
check_escape(const uint8_t *src, size_t len, size_t size)
{
	char *dst = malloc(size == 0 ? 1 : size);
	size_t n, i, j = 0;
	int hi, lo;

	check(dst != NULL);
	n = log_escape(dst, size, (const char *)src, len);
	if (size == 0) {
		check(n == 0);
		free(dst);
		return;
	}
	check(n < size && dst[n] == '\0' && strlen(dst) == n);
	for (i = 0; i < n; i++, j++) {
		check(dst[i] >= 0x20 && dst[i] < 0x7f && dst[i] != '"');
		check(j < len);
		if (dst[i] != '\\') {
			check((uint8_t)dst[i] == src[j]);
			continue;
		}
		check(i + 3 < n && dst[i + 1] == 'x');
		hi = hex_value(dst[i + 2]);
		lo = hex_value(dst[i + 3]);
		check(hi >= 0 && lo >= 0 && (hi << 4 | lo) == src[j]);
		i += 3;
	}
	if (size > 4 * len)
		check(j == len);
	free(dst);
}

/*
 * plan_first_line(): within its bound, one line (a single CRLF, at the
 * end), terminal-safe, and exactly the plan filter over the bytes before
 * the input's first CR or LF, with CRLF for the filter's own line end.
 */
static void
check_first_line(const struct input *in)
{
	size_t bound = PLAN_FILTER_BOUND(in->plan_len) + 2, n, end = 0;
	uint8_t *out = malloc(bound);
	struct input line = *in;
	struct output want;
	struct plan_filter f;

	check(out != NULL);
	n = plan_first_line(in->plan, in->plan_len, out);
	check(n >= 2 && n <= bound);
	check(out[n - 2] == '\r' && out[n - 1] == '\n');
	check(memchr(out, '\n', n - 1) == NULL);
	check(memchr(out, '\r', n - 2) == NULL);
	check_safe(out, n, false);
	while (end < in->plan_len && in->plan[end] != '\n' &&
	    in->plan[end] != '\r')
		end++;
	line.plan_len = end;
	output_alloc(&want, end);
	plan_filter_init(&f, false);
	filter_chunk(&f, line.plan, end, &want);
	check(n == want.len + 2 && memcmp(out, want.v, want.len) == 0);
	free(want.v);
	free(out);
}

static void
check_log_escape(const struct input *in)
{
	static const size_t sizes[] = { 0, 1, 2, 4, 5 };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_escape(in->plan, in->plan_len, sizes[i]);
	check_escape(in->plan, in->plan_len, in->log_size);
	check_escape(in->plan, in->plan_len, 4 * in->plan_len + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;

	if (size == 0)
		return 0;
	in.sizes_len = data[0] & 7;
	in.log_size = data[0] >> 3;
	if (size - 1 < in.sizes_len)
		return 0;
	in.sizes = data + 1;
	in.plan = data + 1 + in.sizes_len;
	in.plan_len = size - 1 - in.sizes_len;
	check_filter(&in, false);
	check_filter(&in, true);
	check_field(&in);
	check_first_line(&in);
	check_log_escape(&in);
	return 0;
}
