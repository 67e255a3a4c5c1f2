/*
 * Connections at once per client address, for -a.  An open-addressing
 * table with linear probing and backward-shift deletion, sized at start
 * for the most clients served at once, so it never grows and never fills.
 *
 * An IPv6 client counts by its /64: a site or a host is given a whole
 * /64 (RFC 6177; SLAAC and privacy addresses live in one), so one
 * attacker can rotate through 2^64 addresses of it, each a new "client".
 * IPv4 (v4-mapped) and link-local addresses count one by one: a /64 of
 * link-local addresses is every host on the link.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerd.h"

struct address_count {
	struct in6_addr	 address;
	unsigned	 count;		/* 0: the slot is free */
};

struct address_counts {
	struct address_count	*v;
	size_t			 mask;
	uint64_t		 key[2];	/* random: no chosen collisions */
};

struct address_counts *
address_counts_new(size_t clients)
{
	struct address_counts *t;
	size_t size = 16;

	while (size < 2 * clients)
		size *= 2;
	if ((t = malloc(sizeof(*t))) == NULL)
		return NULL;
	if ((t->v = calloc(size, sizeof(*t->v))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = size - 1;
	if (getrandom(t->key, sizeof(t->key), 0) != sizeof(t->key)) {
		address_counts_free(t);
		return NULL;
	}
	return t;
}

void
address_counts_free(struct address_counts *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t);
}

/* Both halves of the address, keyed, mixed (splitmix64's finalizer). */
static size_t
address_hash(const struct address_counts *t, const struct in6_addr *a)
{
	uint64_t hi, lo, h;

	memcpy(&hi, a->s6_addr, sizeof(hi));
	memcpy(&lo, a->s6_addr + sizeof(hi), sizeof(lo));
	h = (hi ^ t->key[0]) * 0x9e3779b97f4a7c15ULL ^ (lo ^ t->key[1]);
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return (size_t)(h ^ (h >> 31));
}

static size_t
address_slot(const struct address_counts *t, const struct in6_addr *a)
{
	size_t i = address_hash(t, a) & t->mask;

	while (t->v[i].count > 0 &&
	    memcmp(&t->v[i].address, a, sizeof(*a)) != 0)
		i = (i + 1) & t->mask;
	return i;
}

/* RFC 6052's well-known prefix, 64:ff9b::/96: NAT64, an IPv4 client. */
static bool
is_nat64(const struct in6_addr *a)
{
	static const uint8_t prefix[12] = { 0x00, 0x64, 0xff, 0x9b };

	return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

/*
 * Teredo (RFC 4380), 2001::/32: the /64 is the Teredo server's, shared by
 * all its clients; the client is in the other half.
 */
static bool
is_teredo(const struct in6_addr *a)
{
	return a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x01 &&
	    a->s6_addr[2] == 0 && a->s6_addr[3] == 0;
}

/*
 * What a's connections count under: its /64 (a site is given a /64 at
 * least, so rotating through its addresses gains nothing), or itself
 * (IPv4, link-local, loopback, Teredo); a client behind NAT64 counts as
 * the IPv4 address it comes from.
 */
void
address_limit_key(const struct in6_addr *a, struct in6_addr *key)
{
	*key = *a;
	if (is_nat64(a)) {
		memset(key->s6_addr, 0, 10);
		key->s6_addr[10] = key->s6_addr[11] = 0xff;
	} else if (!IN6_IS_ADDR_V4MAPPED(a) && !IN6_IS_ADDR_LINKLOCAL(a) &&
	    !IN6_IS_ADDR_LOOPBACK(a) && !is_teredo(a))
		memset(&key->s6_addr[8], 0, 8);
}

/*
 * Counts one more connection from a (under its limit key); returns how
 * many there are now.
 */
unsigned
address_counts_add(struct address_counts *t, const struct in6_addr *a)
{
	struct address_count *e;
	struct in6_addr key;

	address_limit_key(a, &key);
	e = &t->v[address_slot(t, &key)];
	e->address = key;
	return ++e->count;
}

void
address_counts_remove(struct address_counts *t, const struct in6_addr *a)
{
	struct in6_addr key;
	size_t hole, i, home;

	address_limit_key(a, &key);
	hole = address_slot(t, &key);

	if (t->v[hole].count == 0 || --t->v[hole].count > 0)
		return;
	/* Move back every entry that probed past the new hole. */
	for (i = (hole + 1) & t->mask; t->v[i].count > 0;
	    i = (i + 1) & t->mask) {
		home = address_hash(t, &t->v[i].address) & t->mask;
		if (((i - home) & t->mask) >= ((i - hole) & t->mask)) {
			t->v[hole] = t->v[i];
			t->v[i].count = 0;
			hole = i;
		}
	}
}

/* The client's address as IPv6, IPv4 as v4-mapped, so both count alike. */
void
address_normalize(const struct sockaddr_storage *ss, struct in6_addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

	if (ss->ss_family == AF_INET6) {
		*a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		return;
	}
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = 0xff;
	a->s6_addr[11] = 0xff;
	if (ss->ss_family == AF_INET)
		memcpy(&a->s6_addr[12], &sin->sin_addr, 4);
}

/*
 * The decimal text of each octet, for the dotted form: its digits, then
 * room to the fourth byte, so that an octet's copy is four bytes of a
 * known size.  Known at compile time (O(v) is v's digits as written
 * here, #v), so that no thread ever sees it partly filled.
 */
#define O(v)	{ #v, sizeof(#v) - 1 }
static const struct {
	char	 text[4];
	uint8_t	 len;
} octets[256] = {
	O(0), O(1), O(2), O(3), O(4), O(5), O(6), O(7),
	O(8), O(9), O(10), O(11), O(12), O(13), O(14), O(15),
	O(16), O(17), O(18), O(19), O(20), O(21), O(22), O(23),
	O(24), O(25), O(26), O(27), O(28), O(29), O(30), O(31),
	O(32), O(33), O(34), O(35), O(36), O(37), O(38), O(39),
	O(40), O(41), O(42), O(43), O(44), O(45), O(46), O(47),
	O(48), O(49), O(50), O(51), O(52), O(53), O(54), O(55),
	O(56), O(57), O(58), O(59), O(60), O(61), O(62), O(63),
	O(64), O(65), O(66), O(67), O(68), O(69), O(70), O(71),
	O(72), O(73), O(74), O(75), O(76), O(77), O(78), O(79),
	O(80), O(81), O(82), O(83), O(84), O(85), O(86), O(87),
	O(88), O(89), O(90), O(91), O(92), O(93), O(94), O(95),
	O(96), O(97), O(98), O(99), O(100), O(101), O(102), O(103),
	O(104), O(105), O(106), O(107), O(108), O(109), O(110), O(111),
	O(112), O(113), O(114), O(115), O(116), O(117), O(118), O(119),
	O(120), O(121), O(122), O(123), O(124), O(125), O(126), O(127),
	O(128), O(129), O(130), O(131), O(132), O(133), O(134), O(135),
	O(136), O(137), O(138), O(139), O(140), O(141), O(142), O(143),
	O(144), O(145), O(146), O(147), O(148), O(149), O(150), O(151),
	O(152), O(153), O(154), O(155), O(156), O(157), O(158), O(159),
	O(160), O(161), O(162), O(163), O(164), O(165), O(166), O(167),
	O(168), O(169), O(170), O(171), O(172), O(173), O(174), O(175),
	O(176), O(177), O(178), O(179), O(180), O(181), O(182), O(183),
	O(184), O(185), O(186), O(187), O(188), O(189), O(190), O(191),
	O(192), O(193), O(194), O(195), O(196), O(197), O(198), O(199),
	O(200), O(201), O(202), O(203), O(204), O(205), O(206), O(207),
	O(208), O(209), O(210), O(211), O(212), O(213), O(214), O(215),
	O(216), O(217), O(218), O(219), O(220), O(221), O(222), O(223),
	O(224), O(225), O(226), O(227), O(228), O(229), O(230), O(231),
	O(232), O(233), O(234), O(235), O(236), O(237), O(238), O(239),
	O(240), O(241), O(242), O(243), O(244), O(245), O(246), O(247),
	O(248), O(249), O(250), O(251), O(252), O(253), O(254), O(255),
};
#undef O

/* An IPv4 address's dotted form at p, as inet_ntop writes it; its end. */
static char *
dotted_put(char *p, const uint8_t *v4)
{
	int i;

	for (i = 0; i < 4; i++) {
		memcpy(p, octets[v4[i]].text, 4);
		p += octets[v4[i]].len;
		*p++ = '.';
	}
	return p - 1;
}

/* A group of an IPv6 address in hex, without leading zeros. */
static char *
group_put(char *p, unsigned group)
{
	static const char hex[] = "0123456789abcdef";

	if (group >= 0x1000)
		*p++ = hex[group >> 12];
	if (group >= 0x100)
		*p++ = hex[group >> 8 & 0xf];
	if (group >= 0x10)
		*p++ = hex[group >> 4 & 0xf];
	*p++ = hex[group & 0xf];
	return p;
}

/*
 * The groups that "::" stands for (RFC 5952): the longest run of zero
 * groups, the first of the longest, if two or more long; else len 0.
 */
static void
zero_run(const unsigned *groups, int *first, int *len)
{
	int i, n = 0;

	*first = -1;
	*len = 0;
	for (i = 0; i < 8; i++) {
		n = groups[i] == 0 ? n + 1 : 0;
		if (n > *len) {
			*first = i - n + 1;
			*len = n;
		}
	}
	if (*len < 2) {
		*first = -1;
		*len = 0;
	}
}

/*
 * An IPv6 address's text at p, as glibc's inet_ntop writes it; its end.
 * That is RFC 5952's form, but for an address whose first 96 bits are
 * zero and whose seventh group is not (an IPv4-compatible address,
 * RFC 4291), which it writes as "::" and the dotted form.
 */
static char *
ipv6_put(char *p, const struct in6_addr *a)
{
	unsigned groups[8];
	int i, first, len;

	for (i = 0; i < 8; i++)
		groups[i] = (unsigned)a->s6_addr[2 * i] << 8 |
		    a->s6_addr[2 * i + 1];
	zero_run(groups, &first, &len);
	for (i = 0; i < 8; i++) {
		if (len > 0 && i >= first && i < first + len) {
			if (i == first)
				*p++ = ':';
			continue;
		}
		if (i > 0)
			*p++ = ':';
		if (i == 6 && first == 0 && len == 6)
			return dotted_put(p, &a->s6_addr[12]);
		p = group_put(p, groups[i]);
	}
	if (len > 0 && first + len == 8)
		*p++ = ':';
	return p;
}

/*
 * Writes a as text, a v4-mapped address in dotted IPv4 form, and returns
 * its length; a buffer too small gets "" (inet_ntop's ENOSPC).  By hand,
 * as inet_ntop writes it: it is in every exchange's log line, and
 * inet_ntop makes it with sprintf (callgrind: a quarter of a request's
 * instructions in user space for an IPv4 client, -E epoll; 4,400 for an
 * IPv6 address).  No text is longer than INET6_ADDRSTRLEN bytes with
 * its NUL, dotted_put()'s four-byte copies included.
 */
size_t
address_format(const struct in6_addr *a, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	char *p = size >= sizeof(text) ? buf : text, *end;

	if (IN6_IS_ADDR_V4MAPPED(a))
		end = dotted_put(p, &a->s6_addr[12]);
	else
		end = ipv6_put(p, a);
	*end = '\0';
	if (p == buf)
		return (size_t)(end - p);
	if (size > (size_t)(end - p)) {
		memcpy(buf, text, (size_t)(end - p) + 1);
		return (size_t)(end - p);
	}
	if (size > 0)
		buf[0] = '\0';
	return 0;
}

/* An address and port as text: 192.0.2.1:79, [2001:db8::1]:79. */
void
socket_address_format(const struct sockaddr_storage *ss, char *buf,
    size_t size)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
		return;
	}
	address_normalize(ss, &a);
	address_format(&a, host, sizeof(host));
	snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
}
