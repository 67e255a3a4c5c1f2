/*
 * The soak's load generator (see soak.c): CLIENTS threads, each with one
 * connection at a time from an address of its kind's range, drawing a
 * kind at random (a member's reply, a line of control bytes, a
 * forwarding, an overlong line, a silent client, a resetting one) and
 * recording what it saw of each exchange.  Only the main thread asserts.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "soak.h"

static const char *const forwardings[] = {
	"alice@example.org\r\n", "@\r\n", "bob@127.0.0.1\n",
	"/W carol@a@b\r\n", "@localhost\r\n",
};
#define FORWARDINGS	(sizeof(forwardings) / sizeof(forwardings[0]))

/* xorshift64: one generator a thread. */
static uint64_t
random_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

size_t
random_below(uint64_t *state, size_t n)
{
	return (size_t)(random_next(state) % n);
}

double
random_between(uint64_t *state, double low, double high)
{
	return low + (high - low) * (double)(random_next(state) >> 11) /
	    9007199254740992.0;
}

/* Milliseconds left before deadline, at least 0. */
static int
ms_until(double deadline)
{
	double left = deadline - now_seconds();

	return left > 0 ? (int)(left * 1000) + 1 : 0;
}

void *
grow(void *v, size_t *size, size_t n, size_t elem)
{
	if (n < *size)
		return v;
	*size = *size ? 2 * *size : 1024;
	v = reallocarray(v, *size, elem);
	cr_assert_not_null(v, "out of memory");
	return v;
}

double
env_number(const char *name, double fallback)
{
	const char *s = getenv(name);

	return s != NULL && s[0] != '\0' ? strtod(s, NULL) : fallback;
}

/*
 * The clients.  They run while soak.stop is 0, each exchange from the
 * next address of its kind.
 */

in_addr_t
address_of(enum kind k, uint32_t seq)
{
	return htonl((127U << 24) | ((uint32_t)(k + 1) << KIND_BITS) |
	    (seq % KIND_SPACE));
}

/* The kind and the index in its range of a client address, or false. */
bool
address_kind(in_addr_t addr, enum kind *k, uint32_t *index)
{
	uint32_t a = ntohl(addr);
	uint32_t range = (a >> KIND_BITS) & 7;

	if (a >> 24 != 127 || range == 0 || range > KINDS)
		return false;
	*k = (enum kind)(range - 1);
	*index = a & (KIND_SPACE - 1);
	return true;
}

/* A blocking socket from source, connected (bounded); -1 with errno. */
static int
connect_from(in_addr_t source, int rcvbuf)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timeval bound = { SEND_BOUND, 0 };
	int fd, one = 1, saved;

	from.sin_addr.s_addr = source;
	to.sin_addr.s_addr = inet_addr(SERVER);
	to.sin_port = htons((uint16_t)fx.port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof(bound));
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Sends it all (bounded by SO_SNDTIMEO); an outcome if it fails. */
static bool
send_all(int fd, const char *p, size_t len, enum outcome *failed)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*failed = errno == ECONNRESET || errno == EPIPE ?
			    RESET : STALLED;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

enum read_end { READ_EOF, READ_FULL, READ_RESET, READ_TIMEOUT };

/*
 * Reads into buf until the server closes or cap bytes are in, at most
 * until deadline; *got is how many came.
 */
static enum read_end
read_some(int fd, char *buf, size_t cap, size_t *got, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int ms;

	*got = 0;
	while (*got < cap) {
		n = recv(fd, buf + *got, cap - *got, MSG_DONTWAIT);
		if (n > 0) {
			*got += (size_t)n;
			continue;
		}
		if (n == 0)
			return READ_EOF;
		if (errno != EAGAIN && errno != EINTR)
			return READ_RESET;	/* ECONNRESET, in practice */
		if ((ms = ms_until(deadline)) == 0)
			return READ_TIMEOUT;
		poll(&pfd, 1, ms);
	}
	return READ_FULL;
}

/* Keeps the first wrong replies, escaped, for the summary. */
static void
wrong_note(enum kind k, const char *got, size_t len)
{
	const size_t size = sizeof(soak.wrong[0]);
	unsigned char ch;
	size_t i, n;
	char *out;

	pthread_mutex_lock(&soak.lock);
	if (soak.nwrong < sizeof(soak.wrong) / sizeof(soak.wrong[0])) {
		out = soak.wrong[soak.nwrong++];
		n = (size_t)snprintf(out, size, "%s, %zu bytes: \"",
		    kinds[k].name, len);
		for (i = 0; i < len && n < size - 8; i++) {
			ch = (unsigned char)got[i];
			n += (size_t)snprintf(out + n, size - n,
			    ch >= 0x20 && ch < 0x7f && ch != '\\' ? "%c" :
			    "\\x%02x", ch);
		}
		snprintf(out + n, size - n, "\"");
	}
	pthread_mutex_unlock(&soak.lock);
}

/*
 * What a read that ended with end says so far: WRONG (the got bytes in
 * buf noted for kind k) unless they are right, RESET, STALLED, or EXACT
 * for the caller to go on.
 */
static enum outcome
read_outcome(enum kind k, const char *buf, size_t got, bool right,
    enum read_end end)
{
	if (!right) {
		wrong_note(k, buf, got);
		return WRONG;
	}
	if (end == READ_RESET)
		return RESET;
	if (end == READ_TIMEOUT)
		return STALLED;
	return EXACT;
}

/* The whole reply, until the close, against want. */
static enum outcome
expect_reply(int fd, enum kind k, const char *want, size_t len,
    double deadline)
{
	enum outcome so_far;
	char buf[1024];
	enum read_end end;
	size_t got;

	if (len >= sizeof(buf))
		abort();	/* not an assertion: not our thread */
	end = read_some(fd, buf, len + 1, &got, deadline);
	so_far = read_outcome(k, buf, got,
	    got <= len && memcmp(buf, want, got) == 0, end);
	if (so_far != EXACT)
		return so_far;
	return got == len ? EXACT : CUT;
}

static enum outcome
run_normal(struct client *c, int fd, double deadline)
{
	size_t i = random_below(&c->rng, NORMALS);
	enum outcome failed;

	if (!send_all(fd, normals[i].line, strlen(normals[i].line), &failed))
		return failed;
	return expect_reply(fd, NORMAL, normals[i].reply,
	    strlen(normals[i].reply), deadline);
}

/*
 * The hostile: 1,023 control bytes (anything below 0x20 but LF) and a
 * LF, the longest line there is; a query with '@'; or 1,024 to 3,071
 * printable bytes, then a line end or not.  Each gets its one line, then
 * the close once this side has closed too.
 */
static enum outcome
run_hostile(struct client *c, int fd, enum kind k, double deadline)
{
	char line[3072 + 2];
	enum outcome failed;
	size_t len = 0, i;

	if (k == CONTROL) {
		for (len = 0; len < 1023; len++) {
			line[len] = (char)random_below(&c->rng, 0x1f);
			line[len] += line[len] >= '\n';	/* not LF */
		}
		line[len++] = '\n';
	} else if (k == FORWARDING) {
		i = random_below(&c->rng, FORWARDINGS);
		len = strlen(forwardings[i]);
		memcpy(line, forwardings[i], len);
	} else {
		len = 1024 + random_below(&c->rng, 2048);
		for (i = 0; i < len; i++)
			line[i] = (char)('a' + random_below(&c->rng, 26));
		if (random_below(&c->rng, 2))
			line[len++] = '\n';
	}
	if (!send_all(fd, line, len, &failed))
		return failed;
	return expect_reply(fd, k, kinds[k].reply, strlen(kinds[k].reply),
	    deadline);
}

/*
 * Nothing sent: the server resets it at -t (the deadline holds in the
 * kernel too), or evicts it before (a reset as well).  A close before
 * -t, or a reset before it with no eviction near, is not what it must
 * be.
 */
static enum outcome
run_silent(int fd, double start, double deadline)
{
	enum read_end end;
	char byte;
	size_t got;

	end = read_some(fd, &byte, 1, &got, deadline);
	if (got > 0) {
		wrong_note(SILENT, &byte, got);
		return WRONG;
	}
	if (end == READ_TIMEOUT)
		return STALLED;
	if (now_seconds() - start < DEADLINE - 0.01)
		return end == READ_RESET ? RESET : CUT;
	return EXACT;
}

/* A little of zoe's 8 MiB, then a reset (SO_LINGER 0). */
static enum outcome
run_resetting(struct client *c, int fd, double deadline)
{
	size_t want = 1 + random_below(&c->rng, RESET_READ_MAX), got;
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	enum outcome failed, so_far;
	char *p = c->buf;
	enum read_end end;

	if (!send_all(fd, "zoe\r\n", 5, &failed))
		return failed;
	end = read_some(fd, p, want, &got, deadline);
	so_far = read_outcome(RESETTING, p, got,
	    memcmp(p, soak.big, got) == 0, end);
	if (so_far != EXACT)
		return so_far;
	if (end == READ_EOF)
		return CUT;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	return EXACT;
}

/* A kind by its weight; a normal one when SILENT_MAX are silent. */
static enum kind
kind_draw(struct client *c)
{
	unsigned roll = (unsigned)random_below(&c->rng, 100), sum;
	enum kind k;

	for (k = NORMAL, sum = kinds[k].weight; roll >= sum;)
		sum += kinds[++k].weight;
	if (k != SILENT)
		return k;
	if (__atomic_add_fetch(&soak.silent, 1, __ATOMIC_RELAXED) <=
	    SILENT_MAX)
		return k;
	__atomic_sub_fetch(&soak.silent, 1, __ATOMIC_RELAXED);
	return NORMAL;
}

static void
record_add(struct client *c, const struct record *r)
{
	if (c->n == c->size) {
		c->size = c->size ? 2 * c->size : 4096;
		c->records = reallocarray(c->records, c->size,
		    sizeof(*c->records));
		if (c->records == NULL)
			abort();	/* not an assertion: not our thread */
	}
	c->records[c->n++] = *r;
}

static void
exchange(struct client *c, enum kind k)
{
	struct record r = { .kind = (uint8_t)k };
	double deadline;
	int fd;

	r.seq = __atomic_fetch_add(&soak.seq[k], 1, __ATOMIC_RELAXED);
	r.start = now_seconds();
	deadline = r.start + EXCHANGE_BOUND;
	fd = connect_from(address_of(k, r.seq),
	    k == RESETTING ? RESET_RCVBUF : 0);
	if (fd < 0) {
		r.outcome = UNCONNECTED;
		r.error = (uint16_t)errno;
	} else if (k == NORMAL) {
		r.outcome = (uint8_t)run_normal(c, fd, deadline);
	} else if (k == SILENT) {
		r.outcome = (uint8_t)run_silent(fd, r.start, deadline);
	} else if (k == RESETTING) {
		r.outcome = (uint8_t)run_resetting(c, fd, deadline);
	} else {
		r.outcome = (uint8_t)run_hostile(c, fd, k, deadline);
	}
	r.end = now_seconds();
	if (fd >= 0)
		close(fd);
	if (k == SILENT)
		__atomic_sub_fetch(&soak.silent, 1, __ATOMIC_RELAXED);
	record_add(c, &r);
}

void *
client_main(void *arg)
{
	struct client *c = arg;

	while (!__atomic_load_n(&soak.stop, __ATOMIC_RELAXED))
		exchange(c, kind_draw(c));
	return NULL;
}
