/*
 * The soak: the real daemon (-w 2 -t 2 -c 128) for SOAK_SECONDS (60 by
 * default) under a random mix of clients, reloaded every few seconds
 * and now and then losing a worker to SIGKILL.  Then, from what the
 * clients saw, the log and /proc:
 *
 *	- every reply was exact, unless a killed worker cut it;
 *	- every exchange was logged once, but for the few lines a kill may
 *	  have taken with it, counted apart;
 *	- the status line (SIGUSR1) counts every exchange line, and at most
 *	  the lines a kill took besides;
 *	- the supervisor's descriptors did not grow, the workers' are back
 *	  to their idle count, and no worker's memory grew once warm.
 *
 * Each exchange comes from an address of its own: kind k uses 127.x.y.z
 * with x from 32(k+1) to 32(k+1)+31, its n-th exchange the n-th address
 * of that range (modulo 2^21), so the log line of an exchange is found by
 * its client= field alone and checked against its kind.
 *
 * The clients are CLIENTS threads, each with one connection at a time
 * and blocking calls bounded by poll() and SO_SNDTIMEO; the main thread
 * sends the signals and samples /proc every second.  Only the main
 * thread asserts: the clients record what they saw.  The choices are
 * random from a seed that is printed (SOAK_SEED replays them; the timing,
 * and with it what a kill cuts, differs from run to run).  SOAK_RESULTS
 * names a file for the summary, in Markdown.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define SERVER		"127.0.0.1"
#define WORKERS		2
#define DEADLINE	2		/* -t, in seconds */
/*
 * -c: with CLIENTS clients spread over WORKERS workers, no slot is ever
 * wanting, and no client is evicted; below CLIENTS / WORKERS, the silent
 * ones take slots that others wait for, and are evicted.
 */
#define SLOTS		"128"
#define FLAGS		"-B", SERVER, "-w", "2", "-t", "2", "-c", SLOTS, \
			"-m", "16777216"
#define FLAGS_TEXT	"-w 2 -t 2 -c " SLOTS
#define CLIENTS		48		/* threads, a connection each */
#define SILENT_MAX	12		/* silent clients at once, at most */
#define BIG_PLAN	(8 << 20)	/* zoe's, for the resetting clients */
#define RESET_READ_MAX	65536		/* they read 1 to this many bytes */
#define RESET_RCVBUF	4096		/* so the reply cannot all be sent */
/* How long a client waits for an exchange, and for connect() or send(). */
#define EXCHANGE_BOUND	(DEADLINE + 10.0 * wait_scale())
#define SEND_BOUND	(5 * wait_scale())
#define HUP_MIN		2.0		/* seconds between reloads */
#define HUP_MAX		6.0
#define KILL_MIN	6.0		/* seconds between kills */
#define KILL_MAX	14.0
/*
 * A kill may take the lines of exchanges that ended up to LOST_BEFORE
 * before it (its worker writes them within 10 ms; the client may see the
 * end later than the worker), and cuts the ones in flight, which their
 * clients see end up to CUT_AFTER after it.
 */
#define LOST_BEFORE	0.2
#define CUT_AFTER	0.5
/*
 * Memory: a worker is warm WARM seconds after it is first seen; then it
 * must not grow by more than RSS_GROWTH.  Nothing it holds grows with
 * the exchanges it has served: the client slots and the plan buffers are
 * pools sized by the clients at once (at most CLIENTS; zoe's 8 MiB is
 * above the cache's largest entry, so it is streamed through them), the
 * cache holds five small replies, the log queue is one fixed block.  A
 * generation lives HUP_MIN to HUP_MAX seconds, some 10,000 to 30,000
 * exchanges a worker: 2 MiB is a leak of about 100 bytes an exchange,
 * and some ten times what a warm worker was seen to vary by.
 */
#define WARM		2.0
#define RSS_GROWTH	2048		/* KiB */
#define SETTLE_BOUND	65.0		/* a restart backs off a minute */
#define IDLE_BOUND	5.0
#define KIND_BITS	21
#define KIND_SPACE	(1U << KIND_BITS)

#define LOGIN_ZOE	"Login: zoe\tName: Zoe Elsewhere\r\n"

enum kind {
	NORMAL,		/* a member's reply, read whole */
	CONTROL,	/* a 1,023-byte line of control bytes */
	FORWARDING,	/* a query with '@' */
	OVERLONG,	/* more than 1,024 bytes without a LF */
	SILENT,		/* sends nothing */
	RESETTING,	/* reads a little of zoe's 8 MiB, then RST */
	KINDS
};

enum outcome {
	EXACT,		/* what the kind expects */
	CUT,		/* closed early: a part, or a silent one before -t */
	RESET,		/* ECONNRESET or EPIPE */
	WRONG,		/* other bytes */
	STALLED,	/* no end within EXCHANGE_BOUND */
	UNCONNECTED,	/* connect() failed */
	OUTCOMES
};

/* The end= words, a bit each. */
enum {
	END_OK = 1, END_TIMEOUT = 2, END_GONE = 4, END_EVICTED = 8,
	END_OTHER = 16
};

static const struct {
	const char	*name;
	unsigned	 weight;	/* of 100 */
	const char	*reply;		/* the error line, for the hostile */
	const char	*word;		/* its reply= */
} kinds[KINDS] = {
	[NORMAL] =	{ "normal",	54, NULL, NULL },
	[CONTROL] =	{ "control",	5, REPLY_INVALID, "invalid" },
	[FORWARDING] =	{ "forwarding",	8, REPLY_FORWARDING,
			  "forwarding-denied" },
	[OVERLONG] =	{ "overlong",	5, REPLY_TOO_LONG, "too-long" },
	[SILENT] =	{ "silent",	8, NULL, "none" },
	[RESETTING] =	{ "resetting",	20, NULL, "plan" },
};

static const char *const outcome_names[OUTCOMES] = {
	"exact", "cut", "reset", "wrong", "stalled", "unconnected"
};

/* What the normal clients ask, as sent and as logged, and the reply. */
static const struct {
	const char	*line;
	const char	*query;
	const char	*reply;
	const char	*word;
} normals[] = {
	{ "alice\r\n",	"alice",	REPLY_ALICE,	"plan" },
	{ "bob\r\n",	"bob",		REPLY_BOB,	"plan" },
	{ "carol\r\n",	"carol",	REPLY_CAROL,	"no-plan" },
	{ "dan\n",	"dan",		REPLY_DAN,	"plan" },
	{ "erin\r\n",	"erin",		REPLY_ERIN,	"plan" },
	{ "\r\n",	"",		REPLY_LIST LIST_ZOE, "list" },
};
#define NORMALS	(sizeof(normals) / sizeof(normals[0]))

static const char *const forwardings[] = {
	"alice@example.org\r\n", "@\r\n", "bob@127.0.0.1\n",
	"/W carol@a@b\r\n", "@localhost\r\n",
};
#define FORWARDINGS	(sizeof(forwardings) / sizeof(forwardings[0]))

/* One exchange, as its client saw it. */
struct record {
	double		 start;
	double		 end;
	uint32_t	 seq;		/* its address in its kind's range */
	uint8_t		 kind;
	uint8_t		 outcome;
	uint16_t	 error;		/* errno, for UNCONNECTED */
};

struct client {
	pthread_t	 thread;
	uint64_t	 rng;
	struct record	*records;
	size_t		 n;
	size_t		 size;
	char		 buf[RESET_READ_MAX];	/* a resetting one's */
};

/* One reading of /proc: the supervisor (generation 0) or a worker. */
struct sample {
	double		 t;
	pid_t		 pid;
	unsigned	 generation;
	unsigned	 fds;
	unsigned long	 rss;		/* KiB */
};

/* Per client address: what its exchanges let the log hold. */
struct address {
	uint16_t	 sure;		/* exchanges whose line must be there */
	uint16_t	 maybe;		/* whose line a kill may have taken */
	uint16_t	 logged;
	uint8_t		 ends;		/* END_* of its lines */
};

/* What the end finds: counts, and a line for each failure. */
struct verdict {
	size_t		 outcomes[KINDS][OUTCOMES];
	size_t		 excused[KINDS];	/* cut or reset by a kill */
	size_t		 evicted[KINDS];
	size_t		 failed[KINDS];
	size_t		 lines[KINDS];
	size_t		 sure, maybe, logged, missing, extra, bad;
	size_t		 unlogged;	/* near a kill: excused */
	size_t		 announced, killed_lines;
	unsigned long	 lost;		/* lines the daemon says it lost */
	unsigned long long status;	/* its status line's exchanges= */
	size_t		 status_lines;
	double		 longest[KINDS];	/* seconds */
	double		 latest_cut;	/* after its kill, seconds */
	double		 latest_close;	/* a silent one's, after -t */
	size_t		 failures;
	char		 shown[20][256];	/* the first failures */
	size_t		 nshown;
};

static struct {
	double		 seconds;
	uint64_t	 seed;
	char		*big;		/* zoe's reply */
	size_t		 big_len;
	int		 stop;		/* atomic */
	int		 silent;	/* atomic: silent clients now */
	uint32_t	 seq[KINDS];	/* atomic */
	double		 t0;		/* the clients' start */
	double		*kills;
	size_t		 nkills;
	size_t		 kills_size;
	pthread_mutex_t	 lock;		/* wrong, nwrong */
	char		 wrong[3][256];	/* the first wrong replies */
	size_t		 nwrong;
	unsigned	 hups;
	unsigned	 idle_fds;	/* a worker's, before any client */
	unsigned	 generation;	/* the workers', at the end */
	unsigned	 end_fds[WORKERS];
	size_t		 end_workers;
	bool		 settled;	/* WORKERS of the last generation */
	struct sample	*samples;
	size_t		 nsamples;
	size_t		 samples_size;
	struct client	 clients[CLIENTS];
	struct address	*addresses[KINDS];
	size_t		 used[KINDS];	/* addresses used, of KIND_SPACE */
} soak = { .lock = PTHREAD_MUTEX_INITIALIZER };

TestSuite(soak, .init = fixture_setup, .fini = fixture_teardown);

/* xorshift64: one generator a thread. */
static uint64_t
random_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static size_t
random_below(uint64_t *state, size_t n)
{
	return (size_t)(random_next(state) % n);
}

static double
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

static void *
grow(void *v, size_t *size, size_t n, size_t elem)
{
	if (n < *size)
		return v;
	*size = *size ? 2 * *size : 1024;
	v = reallocarray(v, *size, elem);
	cr_assert_not_null(v, "out of memory");
	return v;
}

static double
env_number(const char *name, double fallback)
{
	const char *s = getenv(name);

	return s != NULL && s[0] != '\0' ? strtod(s, NULL) : fallback;
}

/*
 * The clients.  They run while soak.stop is 0, each exchange from the
 * next address of its kind.
 */

static in_addr_t
address_of(enum kind k, uint32_t seq)
{
	return htonl((127U << 24) | ((uint32_t)(k + 1) << KIND_BITS) |
	    (seq % KIND_SPACE));
}

/* The kind and the index in its range of a client address, or false. */
static bool
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

/* The whole reply, until the close, against want. */
static enum outcome
expect_reply(int fd, enum kind k, const char *want, size_t len,
    double deadline)
{
	char buf[1024];
	enum read_end end;
	size_t got;

	if (len >= sizeof(buf))
		abort();	/* not an assertion: not our thread */
	end = read_some(fd, buf, len + 1, &got, deadline);
	if (got > len || memcmp(buf, want, got) != 0) {
		wrong_note(k, buf, got);
		return WRONG;
	}
	if (end == READ_RESET)
		return RESET;
	if (end == READ_TIMEOUT)
		return STALLED;
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
	char *p = c->buf;
	enum outcome failed;
	enum read_end end;

	if (!send_all(fd, "zoe\r\n", 5, &failed))
		return failed;
	end = read_some(fd, p, want, &got, deadline);
	if (memcmp(p, soak.big, got) != 0) {
		wrong_note(RESETTING, p, got);
		return WRONG;
	}
	if (end == READ_RESET)
		return RESET;
	if (end == READ_TIMEOUT)
		return STALLED;
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

static void *
client_main(void *arg)
{
	struct client *c = arg;

	while (!__atomic_load_n(&soak.stop, __ATOMIC_RELAXED))
		exchange(c, kind_draw(c));
	return NULL;
}

/*
 * /proc: descriptors, resident memory, and which generation a worker is
 * of (its title, "fingerd: worker 1/2, generation 3").
 */

static bool
proc_fds(pid_t pid, unsigned *n)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return false;
	*n = 0;
	while ((e = readdir(d)) != NULL)
		*n += e->d_name[0] != '.';
	closedir(d);
	return true;
}

static bool
proc_rss(pid_t pid, unsigned long *kib)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	*kib = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lu kB", kib) == 1)
			break;
	fclose(f);
	return *kib > 0;
}

/* A worker's generation; false for a child not yet a worker, or gone. */
static bool
worker_generation(pid_t pid, unsigned *generation)
{
	char path[64], title[128];
	unsigned slot, of;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(title, 1, sizeof(title) - 1, f);
	fclose(f);
	title[n] = '\0';
	return sscanf(title, "fingerd: worker %u/%u, generation %u", &slot,
	    &of, generation) == 3;
}

/* The workers now (children that are workers), at most max. */
static size_t
workers_now(pid_t *pids, unsigned *generations, size_t max)
{
	pid_t children[64];
	size_t n, i, found = 0;

	n = daemon_workers(&fx, children, 64);
	for (i = 0; i < n && i < 64 && found < max; i++)
		if (worker_generation(children[i], &generations[found]))
			pids[found++] = children[i];
	return found;
}

static void
sample_add(double t, pid_t pid, unsigned generation)
{
	struct sample s = { .t = t, .pid = pid, .generation = generation };

	if (!proc_fds(pid, &s.fds) || !proc_rss(pid, &s.rss))
		return;		/* gone meanwhile */
	soak.samples = grow(soak.samples, &soak.samples_size, soak.nsamples,
	    sizeof(*soak.samples));
	soak.samples[soak.nsamples++] = s;
}

static void
sample_all(double t)
{
	unsigned generations[64];
	pid_t pids[64];
	size_t n, i;

	sample_add(t, fx.pid, 0);
	n = workers_now(pids, generations, 64);
	for (i = 0; i < n; i++)
		sample_add(t, pids[i], generations[i]);
}

/*
 * The chaos, in the main thread: SIGHUP every HUP_MIN to HUP_MAX
 * seconds, SIGKILL of a worker every KILL_MIN to KILL_MAX, a sample of
 * /proc every second.
 */

static void
kill_worker(uint64_t *rng)
{
	unsigned generations[64];
	pid_t pids[64];
	size_t n;
	double t;

	if ((n = workers_now(pids, generations, 64)) == 0)
		return;
	n = random_below(rng, n);
	t = now_seconds();
	if (kill(pids[n], SIGKILL) != 0)
		return;
	soak.kills = grow(soak.kills, &soak.kills_size, soak.nkills,
	    sizeof(*soak.kills));
	soak.kills[soak.nkills++] = t;
}

static void
chaos(uint64_t *rng, double end)
{
	double now = now_seconds(), next_sample = now;
	double next_hup = now + random_between(rng, HUP_MIN, HUP_MAX);
	double next_kill = now + random_between(rng, KILL_MIN, KILL_MAX);
	double next;

	while ((now = now_seconds()) < end) {
		if (now >= next_sample) {
			sample_all(now);
			next_sample += 1.0;
		}
		if (now >= next_hup) {
			daemon_signal(&fx, SIGHUP);
			soak.hups++;
			next_hup = now + random_between(rng, HUP_MIN, HUP_MAX);
		}
		if (now >= next_kill) {
			kill_worker(rng);
			next_kill = now + random_between(rng, KILL_MIN,
			    KILL_MAX);
		}
		next = next_sample < next_hup ? next_sample : next_hup;
		next = next < next_kill ? next : next_kill;
		next = next < end ? next : end;
		if ((next -= now_seconds()) > 0)
			usleep((useconds_t)(next * 1e6) + 1000);
	}
}

/*
 * The start: zoe joins the group with an 8 MiB plan, the daemon starts,
 * and each worker's idle descriptors are counted.
 */
static void
start(void)
{
	unsigned generations[WORKERS], fds;
	pid_t pids[WORKERS];
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	char *text = huge_text(BIG_PLAN), *reply;
	size_t i, len;

	plan_write(&fx, "zoe", text, BIG_PLAN);
	reply = crlf_convert(text, BIG_PLAN, &len);
	free(text);
	cr_assert(asprintf(&soak.big, "%sPlan:\r\n%s", LOGIN_ZOE, reply) > 0);
	soak.big_len = strlen(soak.big);
	free(reply);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, FLAGS, NULL);
	while (workers_now(pids, generations, WORKERS) < WORKERS &&
	    now_seconds() < deadline)
		usleep(20 * 1000);
	cr_assert_eq(workers_now(pids, generations, WORKERS), WORKERS,
	    "not %d workers", WORKERS);
	usleep(200 * 1000);
	for (i = 0; i < WORKERS; i++) {
		cr_assert(proc_fds(pids[i], &fds));
		cr_assert(i == 0 || fds == soak.idle_fds,
		    "idle workers with %u and %u descriptors", soak.idle_fds,
		    fds);
		soak.idle_fds = fds;
	}
}

/*
 * The end, once the clients are joined: WORKERS workers of the last
 * generation (a killed one may be due to start again after its back-off),
 * each back to its idle descriptors (bounded; what they hold is kept).
 */
static void
settle(void)
{
	unsigned generations[64];
	pid_t pids[64], children[64];
	double deadline = now_seconds() + SETTLE_BOUND;
	size_t n = 0, i, idle;

	soak.generation = soak.hups + 1;
	while (now_seconds() < deadline) {
		n = workers_now(pids, generations, 64);
		for (i = 0; i < n && generations[i] == soak.generation; i++)
			;
		if ((soak.settled = n == WORKERS && i == n &&
		    daemon_workers(&fx, children, 64) == WORKERS))
			break;
		usleep(50 * 1000);
	}
	soak.end_workers = n;
	deadline = now_seconds() + IDLE_BOUND;
	do {
		for (i = 0, idle = 0; i < n && i < WORKERS; i++)
			if (proc_fds(pids[i], &soak.end_fds[i]))
				idle += soak.end_fds[i] == soak.idle_fds;
		if (idle == n)
			break;
		usleep(50 * 1000);
	} while (now_seconds() < deadline);
	usleep(100 * 1000);	/* the last lines: 10 ms at most */
	sample_all(now_seconds());
}

/*
 * The verdict.  First each address's log lines, then each exchange
 * against them, then each address's count.
 */

static void __attribute__((format(printf, 2, 3)))
fail(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	v->failures++;
	if (v->nshown >= sizeof(v->shown) / sizeof(v->shown[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(v->shown[v->nshown++], sizeof(v->shown[0]), fmt, ap);
	va_end(ap);
}

static unsigned
end_bit(const char *word)
{
	if (strcmp(word, "ok") == 0)
		return END_OK;
	if (strcmp(word, "timeout") == 0)
		return END_TIMEOUT;
	if (strcmp(word, "client-gone") == 0)
		return END_GONE;
	if (strcmp(word, "evicted") == 0)
		return END_EVICTED;
	return END_OTHER;
}

/* What the line of an exchange of kind k must say. */
static bool
line_fits(enum kind k, const char *query, const char *reply,
    unsigned end, unsigned long long sent)
{
	size_t i;

	switch (k) {
	case NORMAL:
		for (i = 0; i < NORMALS; i++)
			if (strcmp(query, normals[i].query) == 0)
				return strcmp(reply, normals[i].word) == 0 &&
				    end == END_OK &&
				    sent == strlen(normals[i].reply);
		return false;
	case SILENT:
		return query[0] == '\0' && strcmp(reply, "none") == 0 &&
		    (end == END_TIMEOUT || end == END_EVICTED) && sent == 0;
	case RESETTING:
		return strcmp(query, "zoe") == 0 &&
		    strcmp(reply, "plan") == 0 && end == END_GONE &&
		    sent < soak.big_len;
	default:
		return strcmp(reply, kinds[k].word) == 0 && end == END_OK &&
		    sent == strlen(kinds[k].reply);
	}
}

/*
 * An exchange's line: "fingerd[PID]: client=A query="Q"[...] reply=W
 * [why=W] end=W sent=N ms=T".  False for another line.
 */
static bool
exchange_line(struct verdict *v, char *line)
{
	char *client = strstr(line, ": client="), *query, *quote, *rest;
	char reply[32], end[32];
	unsigned long long sent;
	struct in_addr a;
	uint32_t index;
	enum kind k;

	if (client == NULL)
		return false;
	client += strlen(": client=");
	if ((query = strstr(client, " query=\"")) == NULL ||
	    (quote = strchr(query + 8, '"')) == NULL ||
	    (rest = strstr(quote, " reply=")) == NULL ||
	    sscanf(rest, " reply=%31s", reply) != 1 ||
	    (rest = strstr(rest, " end=")) == NULL ||
	    sscanf(rest, " end=%31s sent=%llu", end, &sent) != 2) {
		fail(v, "log: not an exchange's line: %.120s", line);
		return true;
	}
	*query = '\0';
	*quote = '\0';
	if (inet_pton(AF_INET, client, &a) != 1 ||
	    !address_kind(a.s_addr, &k, &index) || index >= soak.used[k]) {
		fail(v, "log: a line for no client of ours: %.120s", line);
		return true;
	}
	v->lines[k]++;
	soak.addresses[k][index].logged++;
	soak.addresses[k][index].ends |= (uint8_t)end_bit(end);
	if (!line_fits(k, query + 8, reply, end_bit(end), sent)) {
		v->bad++;
		fail(v, "log: a %s client's line says query=\"%.40s\" "
		    "reply=%s end=%s sent=%llu", kinds[k].name, query + 8,
		    reply, end, sent);
	}
	return true;
}

/* The daemon's own lines: those a soak expects, or a failure. */
static void
other_line(struct verdict *v, const char *line)
{
	static const char *const expected[] = {
		"event=listen ", "event=start group=finger members=6 ",
		"event=stop signal=SIGTERM", ": event=engine engine=io_uring",
		": event=engine engine=epoll why=\"-E epoll\"",
	};
	const char *p;
	unsigned long n;
	size_t i;

	if ((p = strstr(line, ": ")) != NULL && strstr(p, " lost") != NULL &&
	    sscanf(p, ": %lu log line", &n) == 1) {
		v->lost += n;
		fail(v, "log: %.200s", line);
		return;
	}
	if (strstr(line, "event=reload group=finger members=6 ") != NULL) {
		v->announced++;
		return;
	}
	if (strstr(line, "event=worker-exit pid=") != NULL &&
	    strstr(line, " signal=SIGKILL ") != NULL) {
		v->killed_lines++;
		return;
	}
	if ((p = strstr(line, ": status exchanges=")) != NULL &&
	    sscanf(p, ": status exchanges=%llu", &v->status) == 1) {
		v->status_lines++;
		return;
	}
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (strstr(line, expected[i]) != NULL)
			return;
	fail(v, "log: unexpected line: %.200s", line);
}

static void
log_check(struct verdict *v)
{
	struct buffer b;
	char *line, *next;
	size_t k;

	for (k = 0; k < KINDS; k++) {
		soak.used[k] = soak.seq[k] < KIND_SPACE ? soak.seq[k] :
		    KIND_SPACE;
		soak.addresses[k] = calloc(soak.used[k] + 1,
		    sizeof(*soak.addresses[k]));
		cr_assert_not_null(soak.addresses[k], "out of memory");
	}
	log_read(&fx, &b);
	for (line = b.data; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		if (!exchange_line(v, line))
			other_line(v, line);
	}
	buffer_free(&b);
}

/* How long after a kill t is; -1 when it is outside every kill's window. */
static double
after_kill(double t)
{
	size_t i;

	for (i = 0; i < soak.nkills; i++)
		if (t >= soak.kills[i] - LOST_BEFORE &&
		    t <= soak.kills[i] + CUT_AFTER)
			return t > soak.kills[i] ? t - soak.kills[i] : 0;
	return -1;
}

/* The address of an exchange, dotted. */
static void
address_text(enum kind k, uint32_t index, char *buf, size_t size)
{
	struct in_addr a = { .s_addr = address_of(k, index) };

	inet_ntop(AF_INET, &a, buf, (socklen_t)size);
}

/*
 * One exchange: its outcome, excused or not, and whether its line must
 * be in the log (sure) or may have gone with a killed worker (maybe).
 * A client that could not connect has no line; one that stalled is a
 * failure already, line or not.
 */
static void
record_check(struct verdict *v, const struct record *r)
{
	struct address *a = &soak.addresses[r->kind][r->seq % KIND_SPACE];
	double since = after_kill(r->end);
	char from[INET_ADDRSTRLEN];

	v->outcomes[r->kind][r->outcome]++;
	if (r->end - r->start > v->longest[r->kind])
		v->longest[r->kind] = r->end - r->start;
	if (since >= 0 || r->outcome == STALLED)
		a->maybe++;
	else if (r->outcome != UNCONNECTED)
		a->sure++;
	if (r->kind == SILENT && r->outcome == EXACT &&
	    r->end - r->start - DEADLINE > v->latest_close)
		v->latest_close = r->end - r->start - DEADLINE;
	if (r->outcome == EXACT)
		return;
	if ((r->outcome == CUT || r->outcome == RESET) && since >= 0) {
		v->excused[r->kind]++;
		v->latest_cut = since > v->latest_cut ? since : v->latest_cut;
		return;
	}
	if ((r->outcome == CUT || r->outcome == RESET) &&
	    (a->ends & END_EVICTED)) {
		v->evicted[r->kind]++;
		return;
	}
	v->failed[r->kind]++;
	address_text(r->kind, r->seq, from, sizeof(from));
	if (r->outcome == UNCONNECTED)
		fail(v, "a %s client from %s could not connect: %s",
		    kinds[r->kind].name, from, strerror(r->error));
	else
		fail(v, "a %s exchange from %s was %s, at %.3f s, %.3f s "
		    "long, no kill near", kinds[r->kind].name, from,
		    outcome_names[r->outcome], r->start - soak.t0,
		    r->end - r->start);
}

/*
 * An address's lines: at least its sure exchanges', at most all of
 * them; the difference is lines a kill took, excused.
 */
static void
address_check(struct verdict *v, enum kind k, uint32_t i)
{
	const struct address *a = &soak.addresses[k][i];
	char from[INET_ADDRSTRLEN];

	v->sure += a->sure;
	v->maybe += a->maybe;
	v->logged += a->logged;
	if (a->logged >= a->sure && a->logged <= a->sure + a->maybe) {
		v->unlogged += a->sure + a->maybe - a->logged;
		return;
	}
	address_text(k, i, from, sizeof(from));
	if (a->logged < a->sure) {
		v->missing += a->sure - a->logged;
		fail(v, "log: %u line%s for the %u exchange%s of the %s "
		    "client %s, none near a kill", a->logged,
		    a->logged == 1 ? "" : "s", a->sure,
		    a->sure == 1 ? "" : "s", kinds[k].name, from);
	} else {
		v->extra += a->logged - a->sure - a->maybe;
		fail(v, "log: %u lines for the %u exchange%s of the %s "
		    "client %s", a->logged, a->sure + a->maybe,
		    a->sure + a->maybe == 1 ? "" : "s", kinds[k].name, from);
	}
}

static void
verdict_make(struct verdict *v)
{
	const struct client *c;
	size_t i, j;
	uint32_t a;
	int k;

	memset(v, 0, sizeof(*v));
	log_check(v);
	for (i = 0; i < CLIENTS; i++)
		for (c = &soak.clients[i], j = 0; j < c->n; j++)
			record_check(v, &c->records[j]);
	for (k = 0; k < KINDS; k++)
		for (a = 0; a < soak.used[k]; a++)
			address_check(v, (enum kind)k, a);
}

/*
 * Memory and descriptors, from the samples.  A worker's growth is from
 * its first warm sample to its largest; a generation's peak is its
 * workers' largest, and the median of the last third of generations is
 * compared with the first third's (a median, as one generation may have
 * built zoe's 8 MiB twice at once).
 */
struct memory {
	unsigned long	 sup_rss_min, sup_rss_max, sup_rss_first, sup_rss_last;
	unsigned	 sup_fds_min, sup_fds_max, sup_fds_first, sup_fds_last;
	unsigned long	 rss_min, rss_max;
	unsigned	 fds_max;
	unsigned long	 growth;	/* the largest of a warm worker */
	pid_t		 growth_pid;
	unsigned long	 early, late;	/* median generation peaks */
	size_t		 generations;
};

static int
compare_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static unsigned long
median(unsigned long *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), compare_ulong);
	return v[n / 2];
}

static void
supervisor_memory(struct memory *m)
{
	const struct sample *s;
	size_t i;
	bool first = true;

	for (i = 0; i < soak.nsamples; i++) {
		if ((s = &soak.samples[i])->generation != 0)
			continue;
		if (first) {
			m->sup_rss_min = m->sup_rss_max = m->sup_rss_first =
			    s->rss;
			m->sup_fds_min = m->sup_fds_max = m->sup_fds_first =
			    s->fds;
			first = false;
		}
		m->sup_rss_min = s->rss < m->sup_rss_min ? s->rss :
		    m->sup_rss_min;
		m->sup_rss_max = s->rss > m->sup_rss_max ? s->rss :
		    m->sup_rss_max;
		m->sup_fds_min = s->fds < m->sup_fds_min ? s->fds :
		    m->sup_fds_min;
		m->sup_fds_max = s->fds > m->sup_fds_max ? s->fds :
		    m->sup_fds_max;
		m->sup_rss_last = s->rss;
		m->sup_fds_last = s->fds;
	}
}

/* One worker's growth once warm: its samples are in time order. */
static unsigned long
worker_growth(pid_t pid)
{
	const struct sample *s;
	double seen = -1;
	unsigned long warm = 0, top = 0;
	size_t i;

	for (i = 0; i < soak.nsamples; i++) {
		if ((s = &soak.samples[i])->pid != pid ||
		    s->generation == 0)
			continue;
		if (seen < 0)
			seen = s->t;
		if (s->t - seen < WARM)
			continue;
		if (warm == 0)
			warm = s->rss;
		top = s->rss > top ? s->rss : top;
	}
	return top > warm ? top - warm : 0;
}

static void
worker_memory(struct memory *m)
{
	unsigned long *peaks = calloc(soak.hups + 2, sizeof(*peaks)), g;
	const struct sample *s;
	size_t i, third;

	cr_assert_not_null(peaks, "out of memory");
	m->rss_min = (unsigned long)-1;
	for (i = 0; i < soak.nsamples; i++) {
		if ((s = &soak.samples[i])->generation == 0 ||
		    s->generation > soak.hups + 1)
			continue;
		m->rss_min = s->rss < m->rss_min ? s->rss : m->rss_min;
		m->rss_max = s->rss > m->rss_max ? s->rss : m->rss_max;
		m->fds_max = s->fds > m->fds_max ? s->fds : m->fds_max;
		if (s->rss > peaks[s->generation])
			peaks[s->generation] = s->rss;
		if ((g = worker_growth(s->pid)) > m->growth) {
			m->growth = g;
			m->growth_pid = s->pid;
		}
	}
	for (i = 1, m->generations = 0; i <= soak.hups + 1; i++)
		if (peaks[i] > 0)
			peaks[m->generations++] = peaks[i];
	third = m->generations / 3;
	m->early = median(peaks, third);
	m->late = median(peaks + m->generations - third, third);
	free(peaks);
}

/* The summary, in Markdown: on stdout, and in SOAK_RESULTS if set. */
static void
summary_write(FILE *f, const struct verdict *v, const struct memory *m)
{
	size_t k, total = 0;

	fprintf(f, "# fingerd soak: %.0f s, seed %llu\n\n", soak.seconds,
	    (unsigned long long)soak.seed);
	fprintf(f, "`fingerd %s`, %d clients at once; %u reloads, %zu "
	    "kills.\n\n", FLAGS_TEXT, CLIENTS, soak.hups, soak.nkills);
	fprintf(f, "| kind | exchanges | exact | cut | reset | cut by a "
	    "kill | evicted | failed | log lines | longest ms |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (k = 0; k < KINDS; k++) {
		fprintf(f, "| %s | %u | %zu | %zu | %zu | %zu | %zu | %zu | "
		    "%zu | %.0f |\n", kinds[k].name, soak.seq[k],
		    v->outcomes[k][EXACT], v->outcomes[k][CUT],
		    v->outcomes[k][RESET], v->excused[k], v->evicted[k],
		    v->failed[k], v->lines[k], v->longest[k] * 1000);
		total += soak.seq[k];
	}
	fprintf(f, "\n- exchanges: %zu (%.0f/s), %zu of them certain to be "
	    "logged, %zu near a kill; log lines: %zu, of which %zu not as "
	    "their kind expects; not logged: %zu near a kill (excused), %zu "
	    "others; logged too often: %zu; lost by the daemon's own "
	    "count: %lu\n", total, (double)total / soak.seconds, v->sure,
	    v->maybe, v->logged, v->bad, v->unlogged, v->missing, v->extra,
	    v->lost);
	fprintf(f, "- reloads: %u sent, %zu announced, last generation %u; "
	    "kills: %zu, %zu logged; latest cut %.0f ms after its kill\n",
	    soak.hups, v->announced, soak.generation, soak.nkills,
	    v->killed_lines, v->latest_cut * 1000);
	fprintf(f, "- supervisor: fds %u..%u (start %u, end %u); RSS "
	    "%lu..%lu KiB (start %lu, end %lu)\n", m->sup_fds_min,
	    m->sup_fds_max, m->sup_fds_first, m->sup_fds_last,
	    m->sup_rss_min, m->sup_rss_max, m->sup_rss_first, m->sup_rss_last);
	fprintf(f, "- workers: fds idle %u, at most %u, at the end %u and %u "
	    "(%zu workers); RSS %lu..%lu KiB; %zu generations, median peak "
	    "%lu KiB in the first third, %lu in the last; largest growth "
	    "once warm %lu KiB\n", soak.idle_fds, m->fds_max, soak.end_fds[0],
	    soak.end_fds[1], soak.end_workers, m->rss_min, m->rss_max,
	    m->generations, m->early, m->late, m->growth);
	fprintf(f, "- silent clients closed at most %.0f ms after -t\n",
	    v->latest_close * 1000);
	fprintf(f, "- the status line (SIGUSR1): exchanges=%llu\n",
	    v->status);
	fprintf(f, "- failures: %zu\n", v->failures);
	for (k = 0; k < v->nshown; k++)
		fprintf(f, "  - %s\n", v->shown[k]);
	if (v->failures > v->nshown)
		fprintf(f, "  - and %zu more\n", v->failures - v->nshown);
	for (k = 0; k < soak.nwrong; k++)
		fprintf(f, "  - wrong reply: %s\n", soak.wrong[k]);
}

static void
summary(const struct verdict *v, const struct memory *m)
{
	const char *path = getenv("SOAK_RESULTS");
	FILE *f;

	summary_write(stdout, v, m);
	fflush(stdout);
	if (path == NULL || path[0] == '\0')
		return;
	cr_assert_not_null(f = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	summary_write(f, v, m);
	cr_assert_eq(fclose(f), 0, "%s: %s", path, strerror(errno));
}

static void
clients_run(void)
{
	size_t i;

	for (i = 0; i < CLIENTS; i++) {
		soak.clients[i].rng = soak.seed ^
		    (0x9e3779b97f4a7c15ULL * (i + 1));
		if (soak.clients[i].rng == 0)
			soak.clients[i].rng = 1;
		cr_assert_eq(pthread_create(&soak.clients[i].thread, NULL,
		    client_main, &soak.clients[i]), 0);
	}
}

static void
clients_stop(void)
{
	size_t i;

	__atomic_store_n(&soak.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < CLIENTS; i++)
		pthread_join(soak.clients[i].thread, NULL);
}

/*
 * What /proc shows is valgrind's under memcheck (see under_valgrind()):
 * the descriptors and the memory are then only reported.
 */
static void
verdict_assert(const struct verdict *v, const struct memory *m, int status)
{
	size_t i;

	cr_expect_eq(status, 0, "exit status %d after SIGTERM", status);
	cr_expect_eq(v->failures, 0, "%zu failures (listed above)",
	    v->failures);
	cr_expect(soak.settled, "not %d workers of generation %u (%zu "
	    "workers) %.0f s after the clients", WORKERS, soak.generation,
	    soak.end_workers, SETTLE_BOUND);
	cr_expect_leq(v->killed_lines, soak.nkills, "%zu kills logged, %zu "
	    "made", v->killed_lines, soak.nkills);
	/* Counted as its line is made: a kill may take it unwritten. */
	cr_expect_eq(v->status_lines, 1, "%zu status lines", v->status_lines);
	cr_expect(v->status >= v->logged &&
	    v->status <= v->logged + v->unlogged + v->lost, "exchanges=%llu "
	    "in the status line, for %zu exchange lines, %zu not logged near "
	    "a kill and %lu lost", v->status, v->logged, v->unlogged, v->lost);
	if (under_valgrind())
		return;
	for (i = 0; i < soak.end_workers && i < WORKERS; i++)
		cr_expect_eq(soak.end_fds[i], soak.idle_fds, "a worker holds "
		    "%u descriptors at the end, %u idle", soak.end_fds[i],
		    soak.idle_fds);
	cr_expect_eq(m->sup_fds_last, m->sup_fds_first, "the supervisor's "
	    "descriptors went from %u to %u", m->sup_fds_first,
	    m->sup_fds_last);
	/* A reload opens the new table before it closes the old one. */
	cr_expect_leq(m->sup_fds_max, m->sup_fds_first + 1, "the supervisor "
	    "held %u descriptors, %u at the start", m->sup_fds_max,
	    m->sup_fds_first);
	cr_expect_leq(m->growth, RSS_GROWTH, "worker %d grew by %lu KiB once "
	    "warm", (int)m->growth_pid, m->growth);
	cr_expect(m->generations < 6 || m->late <= m->early + RSS_GROWTH,
	    "workers' peaks grew from %lu to %lu KiB over the run", m->early,
	    m->late);
}

static void
soak_free(void)
{
	size_t i;

	for (i = 0; i < KINDS; i++)
		free(soak.addresses[i]);
	for (i = 0; i < CLIENTS; i++)
		free(soak.clients[i].records);
	free(soak.samples);
	free(soak.kills);
	free(soak.big);
}

Test(soak, mixed_clients_reloads_and_kills)
{
	struct verdict *v = calloc(1, sizeof(*v));
	struct memory m = { 0 };
	const char *seed = getenv("SOAK_SEED");
	uint64_t rng;
	int status;

	cr_assert_not_null(v, "out of memory");
	soak.seconds = env_number("SOAK_SECONDS", 60);
	soak.seconds = soak.seconds >= 1 ? soak.seconds : 1;
	soak.seed = seed != NULL && seed[0] != '\0' ?
	    strtoull(seed, NULL, 0) :
	    (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	printf("soak: %.0f s, seed %llu (SOAK_SEED replays its choices)\n",
	    soak.seconds, (unsigned long long)soak.seed);
	fflush(stdout);
	rng = soak.seed != 0 ? soak.seed : 1;
	start();
	soak.t0 = now_seconds();
	clients_run();
	chaos(&rng, soak.t0 + soak.seconds);
	clients_stop();
	settle();
	daemon_signal(&fx, SIGUSR1);
	log_wait(&fx, "fingerd: status exchanges=", 1, WAIT_LOG_MS);
	status = daemon_stop(&fx, SIGTERM);
	verdict_make(v);
	supervisor_memory(&m);
	worker_memory(&m);
	summary(v, &m);
	verdict_assert(v, &m, status);
	soak_free();
	free(v);
}
