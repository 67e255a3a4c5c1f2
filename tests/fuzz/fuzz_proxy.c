/*
 * libFuzzer target for the PROXY protocol header (proxy.c): the input is
 * a connection's first bytes.  Invariants: an answer decided whole is the
 * one decided a byte at a time, at the same byte; a header's length is at
 * most the bytes fed and the cap, and it is decided at its last byte (so
 * nothing after it was read); nothing waits past the cap; and a header
 * accepted says what its bytes say, checked against a second reading
 * written here (inet_ntop's dotted quad is the only spelling v1 takes).
 * Invariants are checked with abort(), not assert(), so that they hold
 * whatever NDEBUG says.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "fingerd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define check(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

static const char *const whys[] = {
	"not-proxy", "v1-syntax", "v1-line-end", "v1-too-long",
	"v1-protocol", "v1-address", "v1-port", "v2-version", "v2-command",
	"v2-family", "v2-not-tcp", "v2-length", "v2-tlv",
};

/* The first len bytes of data, alone in a buffer of their size. */
static enum proxy_status
parse_copy(const uint8_t *data, size_t len, struct proxy_header *h)
{
	uint8_t *copy = malloc(len == 0 ? 1 : len);
	enum proxy_status s;

	if (copy == NULL)
		abort();
	memcpy(copy, data, len);
	memset(h, 0xa5, sizeof(*h));
	s = proxy_header_parse(copy, len, h);
	free(copy);
	return s;
}

static void
check_why(const char *why)
{
	size_t i;

	check(why != NULL);
	for (i = 0; i < sizeof(whys) / sizeof(whys[0]); i++)
		if (strcmp(why, whys[i]) == 0)
			return;
	abort();
}

/* A port field: what %u writes for a number up to 65535. */
static void
check_port(const char *field, size_t len)
{
	char text[8];
	unsigned long n;
	char *end;

	check(len > 0 && len <= 5);
	memcpy(text, field, len);
	text[len] = '\0';
	n = strtoul(text, &end, 10);
	check(*end == '\0' && n <= 65535 && text[0] >= '0' && text[0] <= '9');
	check(len == 1 || text[0] != '0');
}

/* "PROXY TCPx src dst sport dport": six fields, single spaces. */
static void
check_v1_tcp(const char *line, size_t len, const struct proxy_header *h)
{
	const char *field[6], *p = line, *end = line + len, *space;
	size_t flen[6], n = 0;
	char text[INET6_ADDRSTRLEN], shown[INET6_ADDRSTRLEN];
	struct in6_addr a;

	while (n < 6) {
		space = memchr(p, ' ', (size_t)(end - p));
		field[n] = p;
		flen[n] = (size_t)((space != NULL ? space : end) - p);
		check(flen[n] > 0);
		n++;
		if (space == NULL)
			break;
		p = space + 1;
	}
	check(n == 6 && p == field[5] && memchr(p, ' ', (size_t)(end - p)) ==
	    NULL);
	check_port(field[4], flen[4]);
	check_port(field[5], flen[5]);
	check(flen[2] < sizeof(text));
	memcpy(text, field[2], flen[2]);
	text[flen[2]] = '\0';
	if (line[9] == '4') {
		check(IN6_IS_ADDR_V4MAPPED(&h->address));
		check(inet_ntop(AF_INET, &h->address.s6_addr[12], shown,
		    sizeof(shown)) != NULL);
		check(strcmp(shown, text) == 0);
	} else {
		check(inet_pton(AF_INET6, text, &a) == 1);
		check(memcmp(&a, &h->address, sizeof(a)) == 0);
	}
}

static void
check_v1(const uint8_t *data, const struct proxy_header *h)
{
	const char *line = (const char *)data;
	size_t len = h->length - 2;

	check(h->length <= PROXY_V1_MAX);
	check(data[len] == '\r' && data[len + 1] == '\n');
	check(memchr(data, '\n', len) == NULL);
	check(memchr(data, '\r', len) == NULL);
	if (h->local) {
		check(len >= 13 && memcmp(line, "PROXY UNKNOWN", 13) == 0);
		check(len == 13 || line[13] == ' ');
		return;
	}
	check(len > 11 && (memcmp(line, "PROXY TCP4 ", 11) == 0 ||
	    memcmp(line, "PROXY TCP6 ", 11) == 0));
	check_v1_tcp(line, len, h);
}

static void
check_v2(const uint8_t *data, const struct proxy_header *h)
{
	struct in6_addr a;

	check(memcmp(data, "\r\n\r\n\0\r\nQUIT\n", 12) == 0);
	check(h->length == 16 + ((size_t)data[14] << 8 | data[15]));
	if (h->local) {
		check(data[12] == 0x20);
		return;
	}
	check(data[12] == 0x21 && (data[13] == 0x11 || data[13] == 0x21));
	if (data[13] == 0x11) {
		memset(&a, 0, sizeof(a));
		a.s6_addr[10] = a.s6_addr[11] = 0xff;
		memcpy(&a.s6_addr[12], data + 16, 4);
	} else
		memcpy(&a, data + 16, sizeof(a));
	check(memcmp(&a, &h->address, sizeof(a)) == 0);
}

static void
check_done(const uint8_t *data, size_t size, const struct proxy_header *h)
{
	static const struct in6_addr zero;

	check(h->why == NULL);
	check(h->length > 0 && h->length <= size);
	check(h->length <= PROXY_HEADER_MAX);
	if (h->local)
		check(memcmp(&h->address, &zero, sizeof(zero)) == 0);
	if (data[0] == 'P')
		check_v1(data, h);
	else
		check_v2(data, h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header whole, h;
	enum proxy_status ws, s = PROXY_MORE;
	size_t k;

	ws = parse_copy(data, size, &whole);
	check(ws == PROXY_MORE || ws == PROXY_DONE || ws == PROXY_INVALID);
	if (ws == PROXY_MORE)
		check(size < PROXY_HEADER_MAX);
	if (ws == PROXY_INVALID) {
		check_why(whole.why);
		check(whole.length == 0);
	}
	if (ws == PROXY_DONE)
		check_done(data, size, &whole);
	/* A byte at a time: the same answer, at the byte that decides. */
	for (k = 0; k <= size; k++)
		if ((s = parse_copy(data, k, &h)) != PROXY_MORE)
			break;
	check(s == ws);
	if (s == PROXY_MORE)
		return 0;
	check(h.length == whole.length && h.local == whole.local);
	check(memcmp(&h.address, &whole.address, sizeof(h.address)) == 0);
	check(h.why == whole.why);
	if (s == PROXY_DONE)
		check(k == h.length);
	return 0;
}
