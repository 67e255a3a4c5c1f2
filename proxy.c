/*
 * HAProxy's PROXY protocol, versions 1 and 2 (haproxy's
 * doc/proxy-protocol.txt), with no I/O: which client addresses are
 * proxies (-p), and the header a proxy sends before the query.
 *
 * The header parser is given every byte received so far, from the
 * connection's first, and reads them again from the start at each call
 * (a header is at most PROXY_HEADER_MAX bytes).  Its answer depends only
 * on the bytes up to the one that decides it, so a header that arrives a
 * byte at a time gets the answer it gets whole.  It never reads past the
 * header it parses (v1: its LF; v2: the length its first 16 bytes give):
 * what follows is the query line, even if it is another header.
 *
 * Strict, as the protocol asks: any deviation is invalid, and the
 * connection is closed.  Accepted: v1 TCP4 and TCP6, and UNKNOWN (the
 * connection's own address); v2 PROXY over TCP (families 0x11 and 0x21)
 * with any well-formed TLVs, skipped; v2 LOCAL with any defined family,
 * its address block and TLVs skipped.  A v2 PROXY for UDP, a UNIX socket
 * or an unspecified family is invalid: fingerd serves TCP, and a proxy
 * that relays anything else to it is misconfigured (the protocol lets a
 * receiver refuse those).  TLVs are not interpreted: no CRC32C check.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "fingerd.h"

/*
 * The v2 cap: a whole header of 536 bytes, the smallest TCP segment every
 * host must take, which the protocol is designed to fit in.  That is
 * room for the largest address block (AF_UNIX, 216 bytes) and 304 bytes
 * of TLVs; after IPv6's 36 bytes, 484 bytes: a server name (AUTHORITY),
 * ALPN, CRC32C, a UNIQUE_ID and a cloud's endpoint ID together.  It also
 * leaves the receive buffer room for the query after the header.
 */
_Static_assert(PROXY_HEADER_MAX == 536, "the v2 cap is 536 bytes whole");
_Static_assert(PROXY_HEADER_MAX < QUERY_MAX,
    "a header must fit the query's receive buffer, with room to spare");

#define STRING(x)	#x
#define NUMBER(x)	STRING(x)

static const uint8_t v2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* v2's 13th byte: the version (high nibble) and the command. */
#define V2_VERSION	0x2
#define V2_LOCAL	0x0
#define V2_PROXY	0x1

/* v2's 14th byte: the family (high nibble) and the transport. */
#define V2_TCP4		0x11
#define V2_TCP6		0x21

#define V1_START	"PROXY "

static void
v4_mapped(struct in6_addr *a, const void *v4)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = 0xff;
	a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], v4, 4);
}

/* The prefix's length: decimal without a leading zero, at most max. */
static bool
prefix_length(const char *text, unsigned max, unsigned *bits)
{
	size_t i;

	*bits = 0;
	if (text[0] == '\0' || (text[0] == '0' && text[1] != '\0'))
		return false;
	for (i = 0; text[i] != '\0'; i++) {
		if (i == 3 || text[i] < '0' || text[i] > '9')
			return false;
		*bits = *bits * 10 + (unsigned)(text[i] - '0');
	}
	return *bits <= max;
}

static bool
bits_set_past(const struct in6_addr *a, unsigned length)
{
	unsigned i;

	for (i = length; i < 128; i++)
		if (a->s6_addr[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

/*
 * Adds the address or prefix text (10.0.0.0/8, 192.0.2.7, 2001:db8::/32,
 * ::1) to t.  Returns NULL, or why it cannot, to follow the quoted text
 * in a usage error.  A prefix with bits set past its length is refused:
 * 10.0.0.1/8 is more likely a mistake than a way to say 10.0.0.0/8.
 */
const char *
proxy_table_add(struct proxy_table *t, const char *text)
{
	const char *slash = strchr(text, '/');
	size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);
	char address[INET6_ADDRSTRLEN];
	struct proxy_prefix p;
	struct in_addr v4;
	unsigned max = 128, bits;

	if (t->count == PROXY_PREFIXES_MAX)
		return "is one too many: at most " NUMBER(PROXY_PREFIXES_MAX)
		    " prefixes";
	if (len >= sizeof(address))
		return "is not an IPv4 or IPv6 address or prefix";
	memcpy(address, text, len);
	address[len] = '\0';
	if (inet_pton(AF_INET, address, &v4) == 1) {
		v4_mapped(&p.address, &v4);
		max = 32;
	} else if (inet_pton(AF_INET6, address, &p.address) != 1)
		return "is not an IPv4 or IPv6 address or prefix";
	bits = max;
	if (slash != NULL && !prefix_length(slash + 1, max, &bits))
		return max == 32 ? "has a prefix length that is not 0 to 32" :
		    "has a prefix length that is not 0 to 128";
	p.length = (uint8_t)(128 - max + bits);
	if (bits_set_past(&p.address, p.length))
		return "has bits set past its prefix length";
	t->v[t->count++] = p;
	return NULL;
}

static bool
prefix_match(const struct proxy_prefix *p, const struct in6_addr *a)
{
	size_t whole = p->length / 8;
	unsigned rest = p->length % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	if (memcmp(p->address.s6_addr, a->s6_addr, whole) != 0)
		return false;
	return rest == 0 ||
	    ((p->address.s6_addr[whole] ^ a->s6_addr[whole]) & mask) == 0;
}

/* Whether a, an IPv6 or v4-mapped address, is in one of t's prefixes. */
bool
proxy_listed(const struct proxy_table *t, const struct in6_addr *a)
{
	unsigned i;

	for (i = 0; i < t->count; i++)
		if (prefix_match(&t->v[i], a))
			return true;
	return false;
}

static enum proxy_status
invalid(struct proxy_header *h, const char *why)
{
	h->why = why;
	return PROXY_INVALID;
}

/*
 * The next field of a v1 line, up to a space or the line's end, copied
 * into out and terminated; the space after it is passed.  False if it is
 * empty, does not fit, or holds a NUL, which would end it early for
 * inet_pton and strcmp ("63\0x" read as port 63).
 */
static bool
v1_field(const char **p, const char *end, char *out, size_t size)
{
	const char *space = memchr(*p, ' ', (size_t)(end - *p));
	size_t n = (size_t)((space != NULL ? space : end) - *p);

	if (n == 0 || n >= size || memchr(*p, '\0', n) != NULL)
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n + (space != NULL);
	return true;
}

/* A port: 0 to 65535 in decimal, no leading zero. */
static bool
v1_port(const char *text)
{
	unsigned long n = 0;
	size_t i;

	if (strlen(text) > 5 || (text[0] == '0' && text[1] != '\0'))
		return false;
	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		n = n * 10 + (unsigned long)(text[i] - '0');
	}
	return n <= 65535;
}

static size_t
spaces(const char *p, const char *end)
{
	size_t n = 0;

	for (; p < end; p++)
		n += *p == ' ';
	return n;
}

/*
 * "TCP4 src dst sport dport" or its TCP6 form, the protocol's field
 * read: single spaces, addresses of the family named (as inet_pton reads
 * them: dotted quads without leading zeros; IPv6 text).
 */
static enum proxy_status
v1_tcp(const char *p, const char *end, int family, struct proxy_header *h)
{
	char field[INET6_ADDRSTRLEN];
	union {
		struct in_addr	 v4;
		struct in6_addr	 v6;
	} source, destination;

	if (spaces(p, end) != 3)
		return invalid(h, "v1-syntax");
	if (!v1_field(&p, end, field, sizeof(field)) ||
	    inet_pton(family, field, &source) != 1 ||
	    !v1_field(&p, end, field, sizeof(field)) ||
	    inet_pton(family, field, &destination) != 1)
		return invalid(h, "v1-address");
	if (!v1_field(&p, end, field, sizeof(field)) || !v1_port(field) ||
	    !v1_field(&p, end, field, sizeof(field)) || !v1_port(field))
		return invalid(h, "v1-port");
	if (family == AF_INET)
		v4_mapped(&h->address, &source.v4);
	else
		h->address = source.v6;
	return PROXY_DONE;
}

/*
 * A whole v1 line, without its CRLF, "PROXY " already matched.  After
 * UNKNOWN, anything up to the CRLF is ignored, as the protocol says.
 */
static enum proxy_status
v1_line(const char *line, size_t len, struct proxy_header *h)
{
	const char *p = line + sizeof(V1_START) - 1, *end = line + len;
	char protocol[8];
	bool spaced;

	if (!v1_field(&p, end, protocol, sizeof(protocol)))
		return invalid(h, "v1-protocol");
	spaced = p[-1] == ' ';
	if (strcmp(protocol, "UNKNOWN") == 0) {
		h->local = true;
		return PROXY_DONE;
	}
	if (!spaced || (strcmp(protocol, "TCP4") != 0 &&
	    strcmp(protocol, "TCP6") != 0))
		return invalid(h, spaced ? "v1-protocol" : "v1-syntax");
	return v1_tcp(p, end, protocol[3] == '4' ? AF_INET : AF_INET6, h);
}

/*
 * v1: the bytes are read in order, and the first that decides, decides:
 * a byte of "PROXY " that differs, a CR not followed by LF, an LF not
 * after a CR, 107 bytes with no line end (the 108th is not awaited), or
 * the line's LF.
 */
static enum proxy_status
v1_parse(const uint8_t *b, size_t len, struct proxy_header *h)
{
	size_t n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX, i;
	enum proxy_status s;

	for (i = 0; i < n; i++) {
		if (i < sizeof(V1_START) - 1 && b[i] != V1_START[i])
			return invalid(h, i < 5 ? "not-proxy" : "v1-syntax");
		if (i > 0 && b[i - 1] == '\r' && b[i] != '\n')
			return invalid(h, "v1-line-end");
		if (b[i] != '\n')
			continue;
		if (b[i - 1] != '\r')
			return invalid(h, "v1-line-end");
		if ((s = v1_line((const char *)b, i - 1, h)) == PROXY_DONE)
			h->length = i + 1;
		return s;
	}
	return len >= PROXY_V1_MAX ? invalid(h, "v1-too-long") : PROXY_MORE;
}

/* The address block's size for v2's 14th byte, or -1 if undefined. */
static int
v2_address_size(uint8_t family)
{
	switch (family) {
	case 0x00:
		return 0;
	case 0x11:
	case 0x12:
		return 12;
	case 0x21:
	case 0x22:
		return 36;
	case 0x31:
	case 0x32:
		return 216;
	default:
		return -1;
	}
}

/* The TLVs must tile the bytes after the addresses exactly. */
static bool
v2_tlvs_valid(const uint8_t *p, size_t len)
{
	size_t value;

	while (len > 0) {
		if (len < 3)
			return false;
		value = (size_t)p[1] << 8 | p[2];
		if (value > len - 3)
			return false;
		p += 3 + value;
		len -= 3 + value;
	}
	return true;
}

/*
 * v2's first 16 bytes, as far as they have come: each is checked as soon
 * as it is there.  PROXY_DONE when all 16 have, and *length is the
 * length field.
 */
static enum proxy_status
v2_fixed(const uint8_t *b, size_t len, struct proxy_header *h,
    size_t *length)
{
	size_t i;

	for (i = 0; i < len && i < sizeof(v2_signature); i++)
		if (b[i] != v2_signature[i])
			return invalid(h, "not-proxy");
	if (len > 12 && b[12] >> 4 != V2_VERSION)
		return invalid(h, "v2-version");
	if (len > 12 && (b[12] & 0x0f) != V2_LOCAL &&
	    (b[12] & 0x0f) != V2_PROXY)
		return invalid(h, "v2-command");
	if (len > 13 && v2_address_size(b[13]) < 0)
		return invalid(h, "v2-family");
	if (len > 13 && (b[12] & 0x0f) == V2_PROXY && b[13] != V2_TCP4 &&
	    b[13] != V2_TCP6)
		return invalid(h, "v2-not-tcp");
	if (len < 16)
		return PROXY_MORE;
	*length = (size_t)b[14] << 8 | b[15];
	if (*length > PROXY_V2_LENGTH_MAX ||
	    ((b[12] & 0x0f) == V2_PROXY &&
	    *length < (size_t)v2_address_size(b[13])))
		return invalid(h, "v2-length");
	return PROXY_DONE;
}

/* LOCAL: the address block and TLVs are skipped, not looked at. */
static enum proxy_status
v2_parse(const uint8_t *b, size_t len, struct proxy_header *h)
{
	enum proxy_status s;
	size_t length = 0, addresses;

	if ((s = v2_fixed(b, len, h, &length)) != PROXY_DONE)
		return s;
	if (len < 16 + length)
		return PROXY_MORE;
	if ((b[12] & 0x0f) == V2_PROXY) {
		addresses = (size_t)v2_address_size(b[13]);
		if (!v2_tlvs_valid(b + 16 + addresses, length - addresses))
			return invalid(h, "v2-tlv");
		if (b[13] == V2_TCP4)
			v4_mapped(&h->address, b + 16);
		else
			memcpy(&h->address, b + 16, sizeof(h->address));
	} else
		h->local = true;
	h->length = 16 + length;
	return PROXY_DONE;
}

/*
 * Parses the PROXY header at the start of the len bytes received so far.
 * PROXY_MORE: a valid beginning, receive more; PROXY_DONE: h->length
 * bytes are the header, to drop from the front, and h->address is the
 * client (h->local: the connection's own address is); PROXY_INVALID:
 * h->why says why, in a word for the log.
 */
enum proxy_status
proxy_header_parse(const void *buf, size_t len, struct proxy_header *h)
{
	const uint8_t *b = buf;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return PROXY_MORE;
	if (b[0] == V1_START[0])
		return v1_parse(b, len, h);
	if (b[0] == v2_signature[0])
		return v2_parse(b, len, h);
	return invalid(h, "not-proxy");
}
