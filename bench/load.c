/*
 * load: a closed-loop load generator for a server that reads one line,
 * replies and closes, as a finger server does (RFC 1288).  Linux, epoll.
 *
 * N connections are kept busy: each connects, sends the query, reads the
 * reply to EOF, compares it byte for byte with the expected reply and
 * closes, and its slot at once starts the next request.  Every connection
 * comes from its own source address in 127.0.0.0/8, so no 4-tuple is
 * reused within a run and the server's TIME_WAIT sockets (the server
 * closes first) never stand in the way of a new connection.
 *
 * The run is bounded by -d seconds and by -n requests, whichever comes
 * first, and each request by -t: it always stops by itself.  With -H the
 * connections are opened, held without a query for that many seconds,
 * then all queried at once: how a server fares with that many clients.
 *
 * Output: one line of key=value for scripts, then one for people.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define USAGE \
	"usage: load -p port -e expected [-a addr] [-c connections] " \
	"[-d seconds]\n" \
	"            [-n requests] [-t timeout-ms] [-q query] [-H hold-seconds]\n"

#define NS		1000000000ULL
#define EVENTS_MAX	1024
/* Timeouts are looked for this often: a coarse check suffices. */
#define SCAN_NS		(20 * 1000000ULL)
/*
 * Source addresses advance with the wall clock at this rate, so that a run
 * starts past the addresses of the runs before it and meets none of their
 * server-side TIME_WAIT sockets: 2^24 / 65536 gives 256 s of room, four
 * times TIME_WAIT's 60 s, as long as a run makes under 65536 requests/s.
 */
#define SOURCES_PER_SECOND 65536

enum conn_state {
	CONN_IDLE,
	CONN_CONNECTING,
	CONN_HELD,		/* -H: connected, the query not yet sent */
	CONN_READING
};

enum outcome {
	OK,
	MISMATCH,		/* a byte differs, or too many or too few */
	RESET,			/* ECONNRESET or EPIPE */
	TIMEOUT,
	REFUSED,		/* the connect failed */
	OTHER,
	OUTCOMES
};

static const char *const outcome_names[OUTCOMES] = {
	"ok", "mismatch", "reset", "timeout", "refused", "other"
};

/*
 * A connection slot.  The epoll event of its socket carries the slot's
 * index and generation, so an event for a socket already closed (found by
 * the timeout scan) is recognised and dropped.
 */
struct conn {
	int		 fd;		/* -1 when idle */
	uint32_t	 generation;
	enum conn_state	 state;
	size_t		 received;
	uint64_t	 started;	/* ns; the send in -H mode */
};

struct load {
	struct sockaddr_in server;
	unsigned	 nconns;
	uint64_t	 requests_max;	/* 0: no bound by count */
	uint64_t	 duration;	/* ns */
	uint64_t	 timeout;	/* ns, each request */
	uint64_t	 hold;		/* ns; 0 unless -H */
	bool		 holding;	/* -H, before the queries go out */
	char		*query;
	size_t		 query_len;
	uint8_t		*expected;
	size_t		 expected_len;

	int		 epoll_fd;
	struct conn	*conns;
	uint32_t	 source;	/* the next one, 24 bits under 127/8 */
	uint64_t	 begin, stop, end;	/* ns */
	uint64_t	 started;	/* requests begun */
	unsigned	 active;	/* slots not idle */
	unsigned	 held;
	uint64_t	 outcomes[OUTCOMES];
	uint64_t	*latencies;	/* ns, of the OK requests */
	size_t		 latencies_len, latencies_cap;
	uint8_t		 scratch[256 * 1024];
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t
number(int flag, const char *text, uint64_t max)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
	    n > max)
		errx(EX_USAGE, "-%c: '%s' is not a number up to %llu", flag,
		    text, (unsigned long long)max);
	return n;
}

static double
seconds(int flag, const char *text)
{
	char *end;
	double s;

	s = strtod(text, &end);
	if (end == text || *end != '\0' || !(s >= 0 && s <= 86400))
		errx(EX_USAGE, "-%c: '%s' is not a number of seconds", flag,
		    text);
	return s;
}

/* The query with \r, \n and \\ spelled out, as a shell passes it. */
static void
set_query(struct load *l, const char *text)
{
	char *q;

	if ((q = l->query = malloc(strlen(text) + 1)) == NULL)
		err(EX_OSERR, NULL);
	for (; *text != '\0'; text++) {
		if (text[0] == '\\' && text[1] == 'r')
			*q++ = '\r', text++;
		else if (text[0] == '\\' && text[1] == 'n')
			*q++ = '\n', text++;
		else if (text[0] == '\\' && text[1] == '\\')
			*q++ = '\\', text++;
		else
			*q++ = *text;
	}
	l->query_len = (size_t)(q - l->query);
}

static void
parse_options(int argc, char *argv[], struct load *l)
{
	const char *expected = NULL;
	int ch;

	l->server.sin_family = AF_INET;
	l->server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while ((ch = getopt(argc, argv, "a:c:d:e:H:n:p:q:t:")) != -1) {
		switch (ch) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &l->server.sin_addr) !=
			    1)
				errx(EX_USAGE, "-a: '%s' is not an IPv4 "
				    "address", optarg);
			break;
		case 'c':
			l->nconns = (unsigned)number(ch, optarg, 1000000);
			break;
		case 'd':
			l->duration = (uint64_t)(seconds(ch, optarg) * NS);
			break;
		case 'e':
			expected = optarg;
			break;
		case 'H':
			l->hold = (uint64_t)(seconds(ch, optarg) * NS);
			break;
		case 'n':
			l->requests_max = number(ch, optarg, UINT64_MAX);
			break;
		case 'p':
			l->server.sin_port = htons((uint16_t)number(ch, optarg,
			    65535));
			break;
		case 'q':
			free(l->query);
			set_query(l, optarg);
			break;
		case 't':
			l->timeout = number(ch, optarg, 86400000) * 1000000;
			break;
		default:
			fputs(USAGE, stderr);
			exit(EX_USAGE);
		}
	}
	if (optind < argc || expected == NULL || l->server.sin_port == 0 ||
	    l->nconns == 0 || l->timeout == 0) {
		fputs(USAGE, stderr);
		exit(EX_USAGE);
	}
	l->expected = read_whole(expected, &l->expected_len);
}

/* One descriptor a connection, and a few for the rest. */
static void
raise_file_limit(unsigned nconns)
{
	rlim_t need = (rlim_t)nconns + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max < need)
		rl.rlim_max = need;	/* works as root */
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		err(EX_OSERR, "%u connections need %llu descriptors: raise "
		    "the limit (ulimit -n)", nconns, (unsigned long long)need);
}

/*
 * The next source address: 127.a.b.c with c neither 0 nor 255 and
 * outside 127.0.0.0/24, where the server usually is.
 */
static struct in_addr
next_source(struct load *l)
{
	struct in_addr a;
	uint32_t s;

	do {
		s = l->source = (l->source + 1) & 0xffffff;
	} while ((s & 0xff) == 0 || (s & 0xff) == 0xff || s < 0x100);
	a.s_addr = htonl(0x7f000000 | s);
	return a;
}

static void
record_latency(struct load *l, uint64_t ns)
{
	uint64_t *v;
	size_t cap;

	if (l->latencies_len == l->latencies_cap) {
		cap = l->latencies_cap ? 2 * l->latencies_cap : 65536;
		if ((v = realloc(l->latencies, cap * sizeof(*v))) == NULL)
			err(EX_OSERR, NULL);
		l->latencies = v;
		l->latencies_cap = cap;
	}
	l->latencies[l->latencies_len++] = ns;
}

/* The request in slot c is over: count it and free the slot. */
static void
conn_finish(struct load *l, struct conn *c, enum outcome o, uint64_t now)
{
	l->outcomes[o]++;
	if (o == OK)
		record_latency(l, now - c->started);
	if (c->fd >= 0)
		close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
	c->state = CONN_IDLE;
	c->generation++;
	l->active--;
	l->end = now;
}

static enum outcome
errno_outcome(int e)
{
	if (e == ECONNRESET || e == EPIPE)
		return RESET;
	if (e == ECONNREFUSED || e == EADDRNOTAVAIL || e == ENETUNREACH)
		return REFUSED;
	return OTHER;
}

/*
 * Sends the query.  The socket may still be connecting (EAGAIN): then the
 * EPOLLOUT edge of the connection sends it.
 */
static void
conn_send(struct load *l, struct conn *c, uint64_t now)
{
	ssize_t n;

	n = send(c->fd, l->query, l->query_len, MSG_NOSIGNAL);
	if (n == (ssize_t)l->query_len) {
		c->state = CONN_READING;
		return;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	conn_finish(l, c, n < 0 ? errno_outcome(errno) : OTHER, now);
}

static int
conn_socket(struct load *l)
{
	struct sockaddr_in source = { .sin_family = AF_INET };
	int fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		err(EX_OSERR, "socket");
	/* The port is picked at connect, for the whole 4-tuple. */
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
	    sizeof(on)) != 0)
		err(EX_OSERR, "IP_BIND_ADDRESS_NO_PORT");
	source.sin_addr = next_source(l);
	if (bind(fd, (struct sockaddr *)&source, sizeof(source)) != 0)
		err(EX_OSERR, "bind %s", inet_ntoa(source.sin_addr));
	return fd;
}

/*
 * Starts a request in an idle slot.  Edge-triggered events, registered
 * once, tell of the connection (EPOLLOUT) and then of the reply (EPOLLIN)
 * with no epoll_ctl in between.
 */
static void
conn_start(struct load *l, struct conn *c, uint64_t now)
{
	struct epoll_event ev;
	size_t index = (size_t)(c - l->conns);

	c->fd = conn_socket(l);
	c->received = 0;
	c->started = now;
	c->state = CONN_CONNECTING;
	l->active++;
	l->started++;
	if (connect(c->fd, (struct sockaddr *)&l->server,
	    sizeof(l->server)) != 0 && errno != EINPROGRESS) {
		conn_finish(l, c, errno_outcome(errno), now);
		return;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = (uint64_t)c->generation << 32 | index;
	if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		err(EX_OSERR, "epoll_ctl");
	if (!l->holding)
		conn_send(l, c, now);	/* loopback often connects at once */
}

static bool
may_start(const struct load *l, uint64_t now)
{
	return l->hold == 0 && now < l->stop &&
	    (l->requests_max == 0 || l->started < l->requests_max);
}

/*
 * Reads what is there; the reply is whole at EOF, and only then.  Once
 * the server's FIN is in (EPOLLRDHUP), everything it sent before is
 * queued, so a read shorter than asked for has reached the EOF: the read
 * that would return 0 is saved, a tenth of the system calls of a request.
 */
static void
conn_read(struct load *l, struct conn *c, bool fin, uint64_t now)
{
	ssize_t n;

	for (;;) {
		n = read(c->fd, l->scratch, sizeof(l->scratch));
		if (n > 0 && ((size_t)n > l->expected_len - c->received ||
		    memcmp(l->scratch, l->expected + c->received,
		    (size_t)n) != 0)) {
			conn_finish(l, c, MISMATCH, now);
			return;
		}
		if (n > 0)
			c->received += (size_t)n;
		if (n == 0 || (fin && n > 0 && (size_t)n < sizeof(l->scratch)))
			conn_finish(l, c, c->received == l->expected_len ? OK :
			    MISMATCH, now);
		else if (n < 0 && errno != EAGAIN)
			conn_finish(l, c, errno_outcome(errno), now);
		if (n <= 0 || c->state == CONN_IDLE)
			return;
	}
}

/* The connect failed: say why. */
static void
conn_failed(struct load *l, struct conn *c, uint64_t now)
{
	socklen_t len = sizeof(int);
	int e = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		e = errno;
	conn_finish(l, c, errno_outcome(e), now);
}

/* A connection made in -H mode, or one lost while held. */
static void
conn_held_event(struct load *l, struct conn *c, uint32_t events,
    uint64_t now)
{
	if (c->state == CONN_CONNECTING && (events & EPOLLOUT)) {
		c->state = CONN_HELD;
		l->held++;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		if (c->state == CONN_HELD)
			l->held--;
		conn_finish(l, c, RESET, now);	/* the server gave up on it */
	}
}

static void
conn_event(struct load *l, uint64_t data, uint32_t events, uint64_t now)
{
	struct conn *c = &l->conns[(uint32_t)data];

	if (c->state == CONN_IDLE || c->generation != (uint32_t)(data >> 32))
		return;		/* closed since */
	if (c->state == CONN_CONNECTING && (events & EPOLLERR))
		conn_failed(l, c, now);
	else if (l->holding)
		conn_held_event(l, c, events, now);
	else if (c->state == CONN_CONNECTING && (events & EPOLLOUT))
		conn_send(l, c, now);
	if (c->state == CONN_READING &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		conn_read(l, c, (events & EPOLLRDHUP) != 0, now);
	if (c->state == CONN_IDLE && may_start(l, now))
		conn_start(l, c, now);
}

static void
timeouts(struct load *l, uint64_t now)
{
	struct conn *c;
	unsigned i;

	for (i = 0; i < l->nconns; i++) {
		c = &l->conns[i];
		if (c->state == CONN_IDLE || c->state == CONN_HELD ||
		    now - c->started < l->timeout)
			continue;
		conn_finish(l, c, TIMEOUT, now);
		if (may_start(l, now))
			conn_start(l, c, now);
	}
}

/* Waits for events until `until` or until no slot is busy. */
static void
run_until(struct load *l, uint64_t until, bool stop_when_held)
{
	struct epoll_event events[EVENTS_MAX];
	uint64_t now = now_ns(), next_scan = now + SCAN_NS;
	int i, n, wait_ms;

	while (l->active > 0 && now < until &&
	    !(stop_when_held && l->held == l->active)) {
		wait_ms = (int)((next_scan - now) / 1000000) + 1;
		n = epoll_wait(l->epoll_fd, events, EVENTS_MAX, wait_ms);
		if (n < 0 && errno != EINTR)
			err(EX_OSERR, "epoll_wait");
		now = now_ns();
		for (i = 0; i < n; i++)
			conn_event(l, events[i].data.u64, events[i].events,
			    now);
		if (now >= next_scan) {
			timeouts(l, now);
			next_scan = now + SCAN_NS;
		}
	}
}

/*
 * -H: connect them all, hold them, then query them all at once.  A
 * connection that never connects is already counted when the hold starts.
 */
static void
run_hold(struct load *l)
{
	uint64_t now = now_ns();
	unsigned i;

	for (i = 0; i < l->nconns; i++)
		conn_start(l, &l->conns[i], now);
	run_until(l, UINT64_MAX, true);
	fprintf(stderr, "load: held=%u\n", l->held);
	fflush(stderr);
	run_until(l, now_ns() + l->hold, false);
	l->holding = false;
	now = now_ns();
	for (i = 0; i < l->nconns; i++) {
		if (l->conns[i].state != CONN_HELD)
			continue;
		/* as if it had just connected: the timeout runs from here */
		l->conns[i].state = CONN_CONNECTING;
		l->conns[i].started = now;
		conn_send(l, &l->conns[i], now);
	}
	run_until(l, UINT64_MAX, false);
}

static void
run(struct load *l)
{
	unsigned i;

	l->begin = l->end = now_ns();
	l->stop = l->duration ? l->begin + l->duration : UINT64_MAX;
	if (l->hold != 0) {
		l->holding = true;
		run_hold(l);
		return;
	}
	for (i = 0; i < l->nconns && may_start(l, l->begin); i++)
		conn_start(l, &l->conns[i], l->begin);
	run_until(l, UINT64_MAX, false);
}

static int
compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The latency under which a fraction q of the OK requests fell, in µs. */
static double
percentile(const struct load *l, double q)
{
	size_t i;

	if (l->latencies_len == 0)
		return 0;
	i = (size_t)(q * (double)l->latencies_len);
	if (i >= l->latencies_len)
		i = l->latencies_len - 1;
	return (double)l->latencies[i] / 1e3;
}

static void
report(struct load *l)
{
	double elapsed = (double)(l->end - l->begin) / 1e9, rps;
	uint64_t errors = 0;
	int o;

	qsort(l->latencies, l->latencies_len, sizeof(*l->latencies),
	    compare_u64);
	for (o = OK + 1; o < OUTCOMES; o++)
		errors += l->outcomes[o];
	rps = elapsed > 0 ? (double)l->outcomes[OK] / elapsed : 0;
	printf("conns=%u requests=%llu errors=%llu", l->nconns,
	    (unsigned long long)(l->outcomes[OK] + errors),
	    (unsigned long long)errors);
	for (o = OK; o < OUTCOMES; o++)
		printf(" %s=%llu", outcome_names[o],
		    (unsigned long long)l->outcomes[o]);
	printf(" seconds=%.3f rps=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "max_us=%.1f reply_bytes=%zu\n", elapsed, rps, percentile(l, 0.5),
	    percentile(l, 0.99), percentile(l, 0.999), percentile(l, 1),
	    l->expected_len);
	printf("%u connections, %.2f s: %llu replies checked (%.0f/s), "
	    "%llu errors; latency p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n",
	    l->nconns, elapsed, (unsigned long long)l->outcomes[OK], rps,
	    (unsigned long long)errors, percentile(l, 0.5),
	    percentile(l, 0.99), percentile(l, 0.999));
}

int
main(int argc, char *argv[])
{
	struct load *l;
	unsigned i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		err(EX_OSERR, NULL);
	l->nconns = 64;
	l->timeout = 5 * NS;
	set_query(l, "alice\\r\\n");
	parse_options(argc, argv, l);
	if (l->duration == 0 && l->requests_max == 0)
		l->duration = 5 * NS;	/* never unbounded */
	raise_file_limit(l->nconns);
	if ((l->conns = calloc(l->nconns, sizeof(*l->conns))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < l->nconns; i++)
		l->conns[i].fd = -1;
	l->source = (uint32_t)((uint64_t)time(NULL) * SOURCES_PER_SECOND);
	if ((l->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		err(EX_OSERR, "epoll_create1");
	run(l);
	report(l);
	return l->outcomes[OK] > 0 ? EX_OK : EX_UNAVAILABLE;
}
