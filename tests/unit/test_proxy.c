/*
 * Unit tests of proxy.c: the -p prefixes and HAProxy's PROXY protocol
 * header, v1 and v2, byte for byte.  Every header is parsed whole and as
 * it would arrive a byte at a time, each prefix in a buffer of exactly
 * its size (so that ASan sees a read past it), with a query after it
 * that the parser must not read.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fingerd.h"

/* What follows a header: the query, never part of it. */
#define QUERY	"alice\r\n"

/* 192.0.2.1 as fingerd holds it: v4-mapped. */
static struct in6_addr
address(const char *text)
{
	struct in6_addr a;
	char mapped[64];

	if (strchr(text, ':') == NULL) {
		snprintf(mapped, sizeof(mapped), "::ffff:%s", text);
		text = mapped;
	}
	cr_assert_eq(inet_pton(AF_INET6, text, &a), 1, "%s", text);
	return a;
}

static const char *
address_text(const struct in6_addr *a)
{
	static char buf[INET6_ADDRSTRLEN];

	address_format(a, buf, sizeof(buf));
	return buf;
}

/* The first len bytes of buf, alone in a buffer of their size. */
static enum proxy_status
parse_copy(const void *buf, size_t len, struct proxy_header *h)
{
	void *copy = malloc(len == 0 ? 1 : len);
	enum proxy_status s;

	cr_assert_not_null(copy);
	memcpy(copy, buf, len);
	s = proxy_header_parse(copy, len, h);
	free(copy);
	return s;
}

/*
 * Feeds buf as a byte at a time would: PROXY_MORE until the byte that
 * decides, whose count is returned, with the answer in *s and *h.
 */
static size_t
parse_bytewise(const void *buf, size_t len, enum proxy_status *s,
    struct proxy_header *h)
{
	size_t k;

	for (k = 0; k <= len; k++)
		if ((*s = parse_copy(buf, k, h)) != PROXY_MORE)
			return k;
	return len;
}

/* Both ways the same: status, length, local, address, why. */
static size_t
parse_both(const void *buf, size_t len, enum proxy_status *s,
    struct proxy_header *h)
{
	struct proxy_header whole;
	enum proxy_status ws = parse_copy(buf, len, &whole);
	size_t decided = parse_bytewise(buf, len, s, h);

	cr_assert_eq(*s, ws, "byte by byte: status %d, whole: %d", *s, ws);
	cr_assert_eq(h->length, whole.length);
	cr_assert_eq(h->local, whole.local);
	cr_assert_eq(memcmp(&h->address, &whole.address, sizeof(h->address)),
	    0);
	cr_assert_eq(h->why, whole.why);
	return decided;
}

/*
 * A header of length bytes at the start of buf (len bytes, the query
 * after it): PROXY_MORE for every shorter prefix, then done, naming want
 * (NULL: local).
 */
static void
expect_done(const void *buf, size_t len, size_t length, const char *want)
{
	struct proxy_header h;
	enum proxy_status s;
	struct in6_addr a;
	size_t decided = parse_both(buf, len, &s, &h);

	cr_assert_eq(s, PROXY_DONE, "status %d (%s)", s,
	    h.why != NULL ? h.why : "");
	cr_assert_eq(decided, length, "decided at %zu bytes, want %zu",
	    decided, length);
	cr_assert_eq(h.length, length, "length %zu, want %zu", h.length,
	    length);
	cr_assert_eq(h.why, NULL);
	cr_assert_eq(h.local, want == NULL);
	if (want == NULL)
		return;
	a = address(want);
	cr_assert_eq(memcmp(&h.address, &a, sizeof(a)), 0,
	    "address %s, want %s", address_text(&h.address), want);
}

#define EXPECT_DONE(lit, length, want)					\
	expect_done((lit), sizeof(lit) - 1, (length), (want))

/* A v1 header line and the query after it. */
#define EXPECT_V1(line, want)						\
	EXPECT_DONE(line QUERY, sizeof(line) - 1, (want))

/* Invalid once decided bytes have come, for why, either way. */
static void
expect_invalid_at(const void *buf, size_t len, size_t at, const char *why)
{
	struct proxy_header h;
	enum proxy_status s;
	size_t decided = parse_both(buf, len, &s, &h);

	cr_assert_eq(s, PROXY_INVALID, "status %d, want invalid (%s)", s, why);
	cr_assert_str_eq(h.why, why);
	cr_assert_eq(h.length, 0);
	if (at > 0)
		cr_assert_eq(decided, at, "decided at %zu bytes, want %zu",
		    decided, at);
}

#define EXPECT_INVALID(lit, why)					\
	expect_invalid_at((lit), sizeof(lit) - 1, 0, (why))
#define EXPECT_INVALID_AT(lit, at, why)					\
	expect_invalid_at((lit), sizeof(lit) - 1, (at), (why))

/* v1 */

Test(proxy_v1, tcp4)
{
	EXPECT_V1("PROXY TCP4 192.0.2.1 198.51.100.7 56324 79\r\n",
	    "192.0.2.1");
	EXPECT_V1("PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", "0.0.0.0");
}

Test(proxy_v1, tcp6)
{
	EXPECT_V1("PROXY TCP6 2001:db8::1 2001:db8::2 56324 79\r\n",
	    "2001:db8::1");
	EXPECT_V1("PROXY TCP6 2001:DB8:0:0:0:0:0:FFFF :: 65535 1\r\n",
	    "2001:db8::ffff");
	/* inet_ntop's form of a v4-mapped peer: the IPv4 client. */
	EXPECT_V1("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n", "192.0.2.1");
}

/* The protocol's worst cases: 56, 104 and 107 bytes. */
Test(proxy_v1, longest)
{
	const char tcp4[] =
	    "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
	const char tcp6[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	const char unknown[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";

	cr_assert_eq(sizeof(tcp4) - 1, 56);
	cr_assert_eq(sizeof(tcp6) - 1, 104);
	cr_assert_eq(sizeof(unknown) - 1, PROXY_V1_MAX);
	EXPECT_DONE(tcp4, 56, "255.255.255.255");
	EXPECT_DONE(tcp6, 104, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	EXPECT_DONE(unknown, PROXY_V1_MAX, NULL);
}

/* UNKNOWN: the connection's own address; the rest of the line ignored. */
Test(proxy_v1, unknown)
{
	EXPECT_V1("PROXY UNKNOWN\r\n", NULL);
	EXPECT_V1("PROXY UNKNOWN \r\n", NULL);
	EXPECT_V1("PROXY UNKNOWN 192.0.2.1 198.51.100.7 56324 79\r\n", NULL);
	EXPECT_V1("PROXY UNKNOWN  not  an address\t\x01\r\n", NULL);
	EXPECT_INVALID("PROXY UNKNOWNX\r\n", "v1-protocol");
	EXPECT_INVALID("PROXY UNKNOWN\r \r\n", "v1-line-end");
	EXPECT_INVALID("PROXY UNKNOWN \n", "v1-line-end");
}

/* 108 bytes with no CRLF: invalid at the 107th, not waiting for more. */
Test(proxy_v1, too_long)
{
	char line[200];

	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	expect_invalid_at(line, 108, PROXY_V1_MAX, "v1-too-long");
	/* The CRLF one byte too late. */
	memcpy(line + 106, "\r\n", 2);
	expect_invalid_at(line, 108, PROXY_V1_MAX, "v1-too-long");
	memcpy(line + 105, "\r\n", 2);
	EXPECT_DONE(line, PROXY_V1_MAX, NULL);
}

Test(proxy_v1, bad_addresses)
{
	EXPECT_INVALID("PROXY TCP4 192.0.2.01 198.51.100.7 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP4 256.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP4 192.0.2 198.51.100.7 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1.5 198.51.100.7 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.07 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP4 2001:db8::1 198.51.100.7 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP4 ::ffff:192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP6 2001:db8::1 192.0.2.1 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP6 1::2::3 2001:db8::2 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP6 12345::1 2001:db8::2 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP6 ::ffff:01.2.3.4 ::1 1 2\r\n", "v1-address");
	EXPECT_INVALID("PROXY TCP6 [::1] ::1 1 2\r\n", "v1-address");
	EXPECT_INVALID("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "v1-address");
}

Test(proxy_v1, bad_ports)
{
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 079 79\r\n",
	    "v1-port");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 00 79\r\n",
	    "v1-port");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 65536 79\r\n",
	    "v1-port");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 123456 79\r\n",
	    "v1-port");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 -1 79\r\n",
	    "v1-port");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 +1 79\r\n",
	    "v1-port");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 1 7a\r\n",
	    "v1-port");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 1 99999\r\n",
	    "v1-port");
}

/* Exactly one space between fields: none more, none at the ends. */
Test(proxy_v1, spaces)
{
	EXPECT_INVALID("PROXY  TCP4 192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-protocol");
	EXPECT_INVALID("PROXY TCP4  192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-syntax");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1  198.51.100.7 1 2\r\n",
	    "v1-syntax");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 1 2 \r\n",
	    "v1-syntax");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 1\r\n",
	    "v1-syntax");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 1 2 3\r\n",
	    "v1-syntax");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1\t198.51.100.7 1 2\r\n",
	    "v1-syntax");
	EXPECT_INVALID("PROXY\tTCP4 192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-syntax");
	EXPECT_INVALID("PROXY TCP4\r\n", "v1-syntax");
	EXPECT_INVALID("PROXY \r\n", "v1-protocol");
}

/* A NUL inside a field is not the field's end (found by fuzz_proxy). */
Test(proxy_v1, nul_in_field)
{
	EXPECT_INVALID("PROXY TCP4 192.0.2.1 198.51.100.7 63\0x5 79\r\n",
	    "v1-port");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1\0x 198.51.100.7 1 2\r\n",
	    "v1-address");
	EXPECT_INVALID("PROXY TCP6 ::1 ::1\0 1 2\r\n", "v1-address");
	EXPECT_INVALID("PROXY TCP4\0x 192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-protocol");
	EXPECT_INVALID("PROXY UNKNOWN\0\r\n", "v1-protocol");
	EXPECT_V1("PROXY UNKNOWN \0\r\n", NULL);
}

Test(proxy_v1, protocols)
{
	EXPECT_INVALID("PROXY TCP5 192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-protocol");
	EXPECT_INVALID("PROXY tcp4 192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-protocol");
	EXPECT_INVALID("PROXY UDP4 192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-protocol");
	EXPECT_INVALID("PROXY TCP4X 192.0.2.1 198.51.100.7 1 2\r\n",
	    "v1-protocol");
}

/* CRLF and nothing else ends the line, decided at the offending byte. */
Test(proxy_v1, line_ends)
{
	static const char lf[] = "PROXY TCP4 192.0.2.1 198.51.100.7 1 2\n";
	static const char cr[] = "PROXY TCP4 192.0.2.1 198.51.100.7 1 2\rX\n";
	static const char crcr[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.7 1 2\r\r\n";

	expect_invalid_at(lf, sizeof(lf) - 1, sizeof(lf) - 1, "v1-line-end");
	expect_invalid_at(cr, sizeof(cr) - 1, sizeof(cr) - 2, "v1-line-end");
	expect_invalid_at(crcr, sizeof(crcr) - 1, sizeof(crcr) - 2,
	    "v1-line-end");
	EXPECT_INVALID("PROXY TCP4 192.0.2.1\r\n198.51.100.7 1 2\r\n",
	    "v1-syntax");
}

/* Whatever does not begin a header is refused at its first byte off. */
Test(proxy_header, not_proxy)
{
	expect_invalid_at(QUERY, sizeof(QUERY) - 1, 1, "not-proxy");
	expect_invalid_at("PROXZ", 5, 5, "not-proxy");
	expect_invalid_at("proxy TCP4", 10, 1, "not-proxy");
	expect_invalid_at("PROXY_TCP4", 10, 6, "v1-syntax");
	expect_invalid_at("\r\nalice\r\n", 9, 3, "not-proxy");
	expect_invalid_at("\x16\x03\x01", 3, 1, "not-proxy");
}

Test(proxy_header, nothing_yet)
{
	struct proxy_header h;

	cr_assert_eq(proxy_header_parse("", 0, &h), PROXY_MORE);
	cr_assert_eq(proxy_header_parse("PROXY TCP4 1", 12, &h), PROXY_MORE);
	cr_assert_eq(proxy_header_parse("\r\n\r\n\0\r\nQUIT\n!", 13, &h),
	    PROXY_MORE);
}

/* v2 */

#define SIG	"\r\n\r\n\0\r\nQUIT\n"

/* TCP over IPv4: 192.0.2.1:56324 to 198.51.100.7:79. */
#define V2_TCP4 SIG "\x21\x11\x00\x0c"					\
	"\xc0\x00\x02\x01" "\xc6\x33\x64\x07" "\xdc\x04" "\x00\x4f"

/* TCP over IPv6: 2001:db8::1 to 2001:db8::2. */
#define V2_TCP6 SIG "\x21\x21\x00\x24"					\
	"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"			\
	"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"			\
	"\xdc\x04" "\x00\x4f"

Test(proxy_v2, tcp4)
{
	EXPECT_DONE(V2_TCP4 QUERY, 28, "192.0.2.1");
}

Test(proxy_v2, tcp6)
{
	EXPECT_DONE(V2_TCP6 QUERY, 52, "2001:db8::1");
}

/* TLVs are skipped, counted in the length: ALPN, AUTHORITY, NOOP. */
Test(proxy_v2, tlvs)
{
	static const char v4[] = SIG "\x21\x11\x00\x27"
	    "\xc0\x00\x02\x01" "\xc6\x33\x64\x07" "\xdc\x04" "\x00\x4f"
	    "\x01\x00\x06" "finger"
	    "\x02\x00\x0c" "host.example"
	    "\x04\x00\x00" QUERY;
	static const char v6[] = SIG "\x21\x21\x00\x2b"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"
	    "\xdc\x04" "\x00\x4f" "\x05\x00\x04" "id-1" QUERY;

	EXPECT_DONE(v4, 55, "192.0.2.1");
	EXPECT_DONE(v6, 59, "2001:db8::1");
}

/* LOCAL: the connection's own address, whatever block follows. */
Test(proxy_v2, local)
{
	uint8_t unix_block[16 + 216 + 7];

	EXPECT_DONE(SIG "\x20\x00\x00\x00" QUERY, 16, NULL);
	EXPECT_DONE(SIG "\x20\x11\x00\x0c" "\xc0\x00\x02\x01"
	    "\xc6\x33\x64\x07" "\xdc\x04" "\x00\x4f" QUERY, 28, NULL);
	/* Not TLVs after a LOCAL's family: its bytes are not looked at. */
	EXPECT_DONE(SIG "\x20\x00\x00\x02" "\xff\xff" QUERY, 18, NULL);
	memset(unix_block, 'u', sizeof(unix_block));
	memcpy(unix_block, SIG "\x20\x31\x00\xd8", 16);
	memcpy(unix_block + 16 + 216, QUERY, 7);
	expect_done(unix_block, sizeof(unix_block), 16 + 216, NULL);
}

/* The cap: 520 bytes after the first 16, 536 whole. */
Test(proxy_v2, cap)
{
	uint8_t b[PROXY_HEADER_MAX + 8];
	size_t tlv = PROXY_V2_LENGTH_MAX - 12 - 3;

	memset(b, 0, sizeof(b));
	memcpy(b, V2_TCP4, 28);
	b[14] = PROXY_V2_LENGTH_MAX >> 8;
	b[15] = PROXY_V2_LENGTH_MAX & 0xff;
	b[28] = 0x04;			/* NOOP, up to the cap */
	b[29] = (uint8_t)(tlv >> 8);
	b[30] = (uint8_t)tlv;
	expect_done(b, sizeof(b), PROXY_HEADER_MAX, "192.0.2.1");
	/* One more: refused once the length field is in. */
	b[15]++;
	b[30]++;
	expect_invalid_at(b, sizeof(b), 16, "v2-length");
	b[14] = b[15] = 0xff;
	expect_invalid_at(b, sizeof(b), 16, "v2-length");
}

/* A byte of v2's first 16 changed: refused at that byte. */
static void
expect_v2_byte(size_t at, uint8_t byte, const char *why)
{
	uint8_t b[sizeof(V2_TCP4 QUERY) - 1];

	memcpy(b, V2_TCP4 QUERY, sizeof(b));
	b[at] = byte;
	expect_invalid_at(b, sizeof(b), at + 1, why);
}

Test(proxy_v2, signature)
{
	size_t i;

	for (i = 0; i < 12; i++)
		expect_v2_byte(i, (uint8_t)~(SIG)[i], "not-proxy");
}

/* Each of the bytes at byte at: refused for why. */
static void
expect_v2_bytes(size_t at, const char *why, const uint8_t *bytes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect_v2_byte(at, bytes[i], why);
}

#define EXPECT_V2_BYTES(at, why, ...)					\
	expect_v2_bytes((at), (why), (const uint8_t[]){ __VA_ARGS__ },	\
	    sizeof((const uint8_t[]){ __VA_ARGS__ }))

Test(proxy_v2, version)
{
	EXPECT_V2_BYTES(12, "v2-version", 0x11, 0x31, 0x01);
}

Test(proxy_v2, command)
{
	EXPECT_V2_BYTES(12, "v2-command", 0x22, 0x2f);
}

Test(proxy_v2, family)
{
	EXPECT_V2_BYTES(13, "v2-family", 0x10, 0x13, 0x41, 0x01, 0xff);
}

/* PROXY over UDP, UNIX sockets or an unspecified family: not TCP. */
Test(proxy_v2, not_tcp)
{
	EXPECT_V2_BYTES(13, "v2-not-tcp", 0x00, 0x12, 0x22, 0x31, 0x32);
}

/* A length that cannot hold the family's addresses. */
Test(proxy_v2, length_short)
{
	EXPECT_INVALID_AT(SIG "\x21\x11\x00\x0b" "\xc0\x00\x02\x01"
	    "\xc6\x33\x64\x07" "\xdc\x04" "\x00" QUERY, 16, "v2-length");
	EXPECT_INVALID_AT(SIG "\x21\x11\x00\x00" QUERY, 16, "v2-length");
	EXPECT_INVALID_AT(SIG "\x21\x21\x00\x0c" "\xc0\x00\x02\x01"
	    "\xc6\x33\x64\x07" "\xdc\x04" "\x00\x4f" QUERY, 16,
	    "v2-length");
}

/* TLVs must fill the rest exactly: a cut header or value is refused. */
Test(proxy_v2, bad_tlvs)
{
	EXPECT_INVALID_AT(SIG "\x21\x11\x00\x0e" "\xc0\x00\x02\x01"
	    "\xc6\x33\x64\x07" "\xdc\x04" "\x00\x4f" "\x04\x00" QUERY,
	    30, "v2-tlv");
	EXPECT_INVALID_AT(SIG "\x21\x11\x00\x11" "\xc0\x00\x02\x01"
	    "\xc6\x33\x64\x07" "\xdc\x04" "\x00\x4f" "\x04\x00\x03" "ab"
	    QUERY, 33, "v2-tlv");
	EXPECT_INVALID_AT(SIG "\x21\x11\x00\x12" "\xc0\x00\x02\x01"
	    "\xc6\x33\x64\x07" "\xdc\x04" "\x00\x4f" "\x04\x00\x00"
	    "\x04\x00\x01" QUERY, 34, "v2-tlv");
}

/* Every header, cut short at every length, waits for more. */
Test(proxy_header, truncated)
{
#define HEADER(lit)	{ (lit), sizeof(lit) - 1 }
	static const struct {
		const char	*bytes;
		size_t		 len;
	} headers[] = {
		HEADER(V2_TCP4),
		HEADER(V2_TCP6),
		HEADER(SIG "\x20\x00\x00\x00"),
		HEADER("PROXY TCP4 192.0.2.1 198.51.100.7 56324 79\r\n"),
		HEADER("PROXY TCP6 2001:db8::1 2001:db8::2 56324 79\r\n"),
		HEADER("PROXY UNKNOWN\r\n"),
	};
	struct proxy_header h;
	size_t i, k;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		for (k = 0; k < headers[i].len; k++)
			cr_assert_eq(parse_copy(headers[i].bytes, k, &h),
			    PROXY_MORE, "header %zu cut at %zu", i, k);
		cr_assert_eq(parse_copy(headers[i].bytes, k, &h),
		    PROXY_DONE, "header %zu whole", i);
		cr_assert_eq(h.length, headers[i].len);
	}
}

/* A second header after the first is the query: never part of it. */
Test(proxy_header, second_header)
{
	EXPECT_DONE(V2_TCP4 "PROXY TCP4 203.0.113.9 198.51.100.7 1 2\r\n",
	    28, "192.0.2.1");
	EXPECT_DONE("PROXY TCP4 192.0.2.1 198.51.100.7 56324 79\r\n" V2_TCP6,
	    44, "192.0.2.1");
	EXPECT_DONE("PROXY UNKNOWN\r\nPROXY TCP4 203.0.113.9 198.51.100.7 1 "
	    "2\r\n", 15, NULL);
}

/* Prefixes */

static struct proxy_table table;

static void
add(const char *text)
{
	const char *why = proxy_table_add(&table, text);

	cr_assert_null(why, "%s: %s", text, why);
}

static void
expect_listed(const char *text, bool want)
{
	struct in6_addr a = address(text);

	cr_assert_eq(proxy_listed(&table, &a), want, "%s: %s, want %s", text,
	    want ? "not listed" : "listed", want ? "listed" : "not");
}

static void
expect_refused(const char *text, const char *why)
{
	unsigned count = table.count;
	const char *got = proxy_table_add(&table, text);

	cr_assert_not_null(got, "'%s' was taken", text);
	cr_assert_str_eq(got, why, "'%s'", text);
	cr_assert_eq(table.count, count);
}

static void
clear(void)
{
	memset(&table, 0, sizeof(table));
}

TestSuite(proxy_prefix, .init = clear);

Test(proxy_prefix, empty_lists_nothing)
{
	expect_listed("192.0.2.1", false);
	expect_listed("::", false);
}

Test(proxy_prefix, ipv4_matches_v4_mapped)
{
	add("10.0.0.0/8");
	expect_listed("10.0.0.0", true);
	expect_listed("10.255.255.255", true);
	expect_listed("11.0.0.0", false);
	expect_listed("9.255.255.255", false);
	/* The same bits elsewhere in an IPv6 address are not IPv4. */
	expect_listed("::a00:1", false);
	expect_listed("a00::", false);
}

Test(proxy_prefix, ipv4_address_is_32)
{
	add("192.0.2.7");
	expect_listed("192.0.2.7", true);
	expect_listed("192.0.2.6", false);
	expect_listed("192.0.2.8", false);
	clear();
	add("192.0.2.7/32");
	expect_listed("192.0.2.7", true);
	expect_listed("192.0.2.70", false);
}

Test(proxy_prefix, unaligned)
{
	add("192.0.2.128/25");
	expect_listed("192.0.2.128", true);
	expect_listed("192.0.2.255", true);
	expect_listed("192.0.2.127", false);
	add("2001:db8:8000::/33");
	expect_listed("2001:db8:8000::1", true);
	expect_listed("2001:db8:ffff:ffff::", true);
	expect_listed("2001:db8:7fff::", false);
}

Test(proxy_prefix, zero)
{
	add("0.0.0.0/0");
	expect_listed("0.0.0.0", true);
	expect_listed("255.255.255.255", true);
	expect_listed("::1", false);
	expect_listed("2001:db8::1", false);
	clear();
	add("::/0");
	expect_listed("::1", true);
	expect_listed("ffff::", true);
	expect_listed("192.0.2.1", true);
}

Test(proxy_prefix, ipv6)
{
	add("2001:db8::/32");
	expect_listed("2001:db8::", true);
	expect_listed("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true);
	expect_listed("2001:db9::", false);
	expect_listed("2001:db7:ffff::", false);
}

Test(proxy_prefix, ipv6_address_is_128)
{
	add("::1");
	expect_listed("::1", true);
	expect_listed("::2", false);
	expect_listed("127.0.0.1", false);
	clear();
	add("2001:db8::1/128");
	expect_listed("2001:db8::1", true);
	expect_listed("2001:db8::", false);
}

Test(proxy_prefix, v4_mapped_written_as_ipv6)
{
	add("::ffff:10.0.0.0/104");
	expect_listed("10.1.2.3", true);
	expect_listed("11.1.2.3", false);
}

Test(proxy_prefix, several)
{
	add("192.0.2.7");
	add("2001:db8::/32");
	add("198.51.100.0/24");
	expect_listed("192.0.2.7", true);
	expect_listed("198.51.100.99", true);
	expect_listed("2001:db8::5", true);
	expect_listed("203.0.113.1", false);
}

Test(proxy_prefix, refused)
{
	const char *bad = "is not an IPv4 or IPv6 address or prefix";
	const char *v4 = "has a prefix length that is not 0 to 32";
	const char *v6 = "has a prefix length that is not 0 to 128";

	expect_refused("", bad);
	expect_refused("/8", bad);
	expect_refused("host.example", bad);
	expect_refused("010.0.0.0/8", bad);
	expect_refused("10.0.0", bad);
	expect_refused("10.0.0.0 /8", bad);
	expect_refused("[::1]", bad);
	expect_refused("0000:0000:0000:0000:0000:0000:0000:0000:0000/8", bad);
	expect_refused("10.0.0.0/", v4);
	expect_refused("10.0.0.0/33", v4);
	expect_refused("10.0.0.0/-1", v4);
	expect_refused("10.0.0.0/+8", v4);
	expect_refused("10.0.0.0/08", v4);
	expect_refused("10.0.0.0/ 8", v4);
	expect_refused("10.0.0.0/8/8", v4);
	expect_refused("10.0.0.0/1000", v4);
	expect_refused("::/129", v6);
	expect_refused("::/0x10", v6);
	expect_refused("10.0.0.1/8", "has bits set past its prefix length");
	expect_refused("192.0.2.128/24",
	    "has bits set past its prefix length");
	expect_refused("2001:db8::1/32",
	    "has bits set past its prefix length");
	expect_refused("::1/127", "has bits set past its prefix length");
	add("0.0.0.0/0");
	add("::/0");
	add("10.0.0.0/32");
}

Test(proxy_prefix, at_most_64)
{
	char text[32];
	unsigned i;

	for (i = 0; i < PROXY_PREFIXES_MAX; i++) {
		snprintf(text, sizeof(text), "10.0.%u.0/24", i);
		add(text);
	}
	cr_assert_eq(table.count, 64);
	expect_refused("192.0.2.1", "is one too many: at most 64 prefixes");
	expect_listed("10.0.63.1", true);
	expect_listed("10.0.64.1", false);
}
