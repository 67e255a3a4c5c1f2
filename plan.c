/*
 * LF to CRLF and the terminal-safety filter (RFC 1288, 3.3), with no I/O.
 *
 * What comes out is UTF-8 text in which TAB, CR and LF are the only
 * controls and every LF follows a CR.  Removed: the C0 controls, DEL, the
 * C1 controls raw or UTF-8 encoded, and every byte that is not part of a
 * valid UTF-8 sequence.  Valid text passes unchanged.  The filter works on
 * chunks as they are read: a CRLF or a UTF-8 sequence split between two
 * chunks comes out as if it had arrived whole.
 *
 * Growth: a byte of input gives at most two of output (LF becomes CRLF);
 * a chunk may also release the at most three bytes an earlier one held
 * back, hence PLAN_FILTER_BOUND.
 */
#include <string.h>

#include "fingerd.h"

void
plan_filter_init(struct plan_filter *f, bool fields_only)
{
	memset(f, 0, sizeof(*f));
	f->fields_only = fields_only;
}

static size_t
put(struct plan_filter *f, uint8_t *out, uint8_t ch)
{
	*out = ch;
	f->last = ch;
	return 1;
}

static size_t
filter_ascii(struct plan_filter *f, uint8_t ch, uint8_t *out)
{
	size_t n = 0;

	if (ch >= 0x20 && ch != 0x7f)
		return put(f, out, ch);
	if (f->fields_only)
		return 0;
	switch (ch) {
	case '\n':
		if (f->last != '\r')
			n += put(f, out, '\r');
		n += put(f, out + n, '\n');
		break;
	case '\r':
	case '\t':
		n += put(f, out, ch);
		break;
	default:
		break;
	}
	return n;
}

/* Starts a multi-byte sequence; a byte that cannot lead one is dropped. */
static void
sequence_start(struct plan_filter *f, uint8_t ch)
{
	f->next_min = 0x80;
	f->next_max = 0xbf;
	if (ch >= 0xc2 && ch <= 0xdf)
		f->need = 1;
	else if (ch >= 0xe0 && ch <= 0xef)
		f->need = 2;
	else if (ch >= 0xf0 && ch <= 0xf4)
		f->need = 3;
	else
		return;
	if (ch == 0xe0)
		f->next_min = 0xa0;	/* overlong */
	else if (ch == 0xed)
		f->next_max = 0x9f;	/* surrogates */
	else if (ch == 0xf0)
		f->next_min = 0x90;	/* overlong */
	else if (ch == 0xf4)
		f->next_max = 0x8f;	/* past U+10FFFF */
	f->pending[0] = ch;
	f->pending_len = 1;
}

/* Adds a continuation byte; writes the sequence once it is whole. */
static size_t
sequence_continue(struct plan_filter *f, uint8_t ch, uint8_t *out)
{
	size_t i, n = 0;

	f->pending[f->pending_len++] = ch;
	f->next_min = 0x80;
	f->next_max = 0xbf;
	if (--f->need > 0)
		return 0;
	/* U+0080 to U+009F, the C1 controls, encoded */
	if (!(f->pending_len == 2 && f->pending[0] == 0xc2 &&
	    f->pending[1] < 0xa0))
		for (i = 0; i < f->pending_len; i++)
			n += put(f, out + n, f->pending[i]);
	f->pending_len = 0;
	return n;
}

size_t
plan_filter_chunk(struct plan_filter *f, const uint8_t *in, size_t len,
    uint8_t *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		uint8_t ch = in[i];

		if (f->need > 0) {
			if (ch >= f->next_min && ch <= f->next_max) {
				n += sequence_continue(f, ch, out + n);
				continue;
			}
			f->need = 0;	/* cut short: drop what was held */
			f->pending_len = 0;
		}
		if (ch < 0x80)
			n += filter_ascii(f, ch, out + n);
		else
			sequence_start(f, ch);
	}
	return n;
}

/*
 * Ends the text: drops an unfinished sequence and, outside fields, ends
 * the last line with CRLF when the input did not end with a newline.
 */
size_t
plan_filter_finish(struct plan_filter *f, uint8_t *out)
{
	size_t n = 0;

	f->need = 0;
	f->pending_len = 0;
	if (f->fields_only || f->last == 0 || f->last == '\n')
		return 0;
	if (f->last != '\r')
		n += put(f, out, '\r');
	n += put(f, out + n, '\n');
	return n;
}

/*
 * Filters a field of the Login line (a login, a full name) from the user
 * database, where users can write (chfn): at most FIELD_MAX bytes of src,
 * no control characters at all.  out has room for FIELD_MAX + 1 bytes and
 * is terminated.
 */
size_t
plan_filter_field(const char *src, uint8_t *out, size_t size)
{
	struct plan_filter f;
	size_t len = strnlen(src, FIELD_MAX), n;

	if (size < FIELD_MAX + 1)
		return 0;
	plan_filter_init(&f, true);
	n = plan_filter_chunk(&f, (const uint8_t *)src, len, out);
	out[n] = '\0';
	return n;
}

/*
 * The first line of a .project for "Project: ": the bytes of in before
 * its first CR or LF (all len of them when there is none), filtered as a
 * plan is, then CRLF.  out has room for PLAN_FILTER_BOUND(len) + 2
 * bytes; returns what was written.
 */
size_t
plan_first_line(const uint8_t *in, size_t len, uint8_t *out)
{
	struct plan_filter f;
	size_t end = 0, n;

	while (end < len && in[end] != '\n' && in[end] != '\r')
		end++;
	plan_filter_init(&f, false);
	n = plan_filter_chunk(&f, in, end, out);
	out[n++] = '\r';
	out[n++] = '\n';
	return n;
}
