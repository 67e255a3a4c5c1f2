/*
 * The fuzzers' oracle: a UTF-8 decoder written apart from plan.c, on
 * purpose, so that the filter and the parser are checked against an
 * independent definition of valid UTF-8.
 */
#include "oracle.h"

/*
 * Decodes the UTF-8 sequence at s (len bytes left) into *cp; returns its
 * length, or 0 when it is not valid UTF-8 (overlong, surrogate, past
 * U+10FFFF, cut short).
 */
size_t
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
