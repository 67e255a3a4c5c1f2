/*
 * Limits that hold under abuse, against the real daemon: a thousand
 * connections held open, a flood of idle connections from one address,
 * resets in the middle of large replies.  Each asserts what the daemon
 * holds afterwards (descriptors in /proc/<pid>/fd, resident memory) as
 * well as what other clients see meanwhile.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define SERVER		"127.0.0.1"
#define OTHER		"127.0.0.2"	/* another client address */
#define HELD		1000
#define FLOOD		200

static void
setup(void)
{
	/* This process holds HELD sockets itself. */
	rlim_t limit = files_limit_raise();

	cr_assert(limit > HELD + 64, "RLIMIT_NOFILE %llu is too low",
	    (unsigned long long)limit);
	fixture_setup();
}

TestSuite(abuse, .init = setup, .fini = fixture_teardown);

/*
 * A connection to the daemon from the local address source, with a
 * receive buffer of rcvbuf bytes (0: the system's).
 */
static int
connect_small_from(const char *source, int rcvbuf)
{
	return client_connect_blocking(source, fx.port, rcvbuf);
}

static int
connect_from(const char *source)
{
	return connect_small_from(source, 0);
}

/* A connection from the IPv6 address source to the daemon at server. */
static int
connect_from6(const char *source, const char *server)
{
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	int fd;

	cr_assert_eq(inet_pton(AF_INET6, source, &from.sin6_addr), 1);
	cr_assert_eq(inet_pton(AF_INET6, server, &to.sin6_addr), 1);
	to.sin6_port = htons((uint16_t)fx.port);
	cr_assert((fd = socket(AF_INET6, SOCK_STREAM, 0)) >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0,
	    "bind %s: %s", source, strerror(errno));
	cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0,
	    "connect from %s: %s", source, strerror(errno));
	return fd;
}

/* Descriptors of the daemon's worker, which serves the clients. */
static size_t
daemon_fds(void)
{
	char path[64];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)daemon_worker(&fx));
	cr_assert_not_null(d = opendir(path), "%s: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* VmRSS of the daemon's worker, in KiB. */
static unsigned long
daemon_rss(void)
{
	char path[64], line[256];
	unsigned long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status",
	    (int)daemon_worker(&fx));
	cr_assert_not_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lu kB", &kib) == 1)
			break;
	fclose(f);
	cr_assert(kib > 0, "no VmRSS in %s", path);
	return kib;
}

/* Waits, bounded, until the daemon holds exactly n descriptors. */
static bool
fds_become(size_t n)
{
	double deadline = now_seconds() + 10;

	while (daemon_fds() != n)
		if (now_seconds() > deadline)
			return false;
		else
			usleep(10000);
	return true;
}

/* One exchange from another address, timed. */
static double
served_from_other(void)
{
	double start = now_seconds();
	struct buffer b = { 0 };
	int fd = connect_from(OTHER);

	client_send(fd, "alice\r\n", 7);
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, REPLY_ALICE, "the client from " OTHER);
	close(fd);
	buffer_free(&b);
	return now_seconds() - start;
}

/*
 * A thousand idle connections, all accepted (-c above them): another
 * client is served at once, and the daemon stays under 32 MiB.
 */
Test(abuse, thousand_held_connections)
{
	static int held[HELD];
	size_t base, i;
	double took;

	daemon_start(&fx, "-B", SERVER, "-c", "1100", "-a", "1000", "-t", "30",
	    NULL);
	base = daemon_fds();
	for (i = 0; i < HELD; i++)
		held[i] = connect_from(SERVER);
	cr_assert(fds_become(base + HELD), "the daemon holds %zu fds, not %zu",
	    daemon_fds(), base + HELD);
	took = served_from_other();
	cr_assert(took < LATENCY(0.5), "served in %.3f s with %d held", took,
	    HELD);
	/* Under valgrind, the RSS is mostly valgrind's own. */
	cr_assert(under_valgrind() ||
	    daemon_rss() < 32 * 1024, "RSS %lu KiB with %d held",
	    daemon_rss(), HELD);
	for (i = 0; i < HELD; i++)
		cr_assert(client_quiet(held[i]), "held connection %zu closed",
		    i);
	for (i = 0; i < HELD; i++)
		close(held[i]);
	cr_assert(fds_become(base), "%zu fds left, %zu before",
	    daemon_fds(), base);
	stopped_cleanly();
}

/*
 * The n connections from one address (or one /64) past -a limit: all but
 * limit turned away, logged so, each with exactly the one line and a
 * close; limit of them held, quiet.
 */
static void
held_or_turned_away(const int *fds, size_t n, size_t limit, const char *what)
{
	struct buffer b = { 0 };
	size_t turned_away = 0, held = 0, i;

	cr_assert(log_wait(&fx, "reply=too-many-from-address", n - limit,
	    WAIT_LOG_MS), "fewer than %zu turned away", n - limit);
	for (i = 0; i < n; i++) {
		if (client_quiet(fds[i])) {
			held++;
			continue;
		}
		cr_assert_eq(client_read_all(fds[i], &b, WAIT_REPLY_MS), 0);
		assert_reply(&b, REPLY_TOO_MANY, what);
		buffer_free(&b);
		turned_away++;
	}
	cr_assert_eq(held, limit, "%zu slots held, not %zu", held, limit);
	cr_assert_eq(turned_away, n - limit);
}

/*
 * Two hundred idle connections from one address: the first 16 (-a) are
 * held, every other gets exactly the one line and is closed, and another
 * address is served meanwhile.
 */
Test(abuse, idle_flood_from_one_address)
{
	static int fds[FLOOD];
	double took;
	size_t i;

	daemon_start(&fx, "-B", SERVER, "-a", "16", "-t", "30", NULL);
	for (i = 0; i < FLOOD; i++)
		fds[i] = connect_from(SERVER);
	took = served_from_other();
	cr_assert(took < LATENCY(0.5), "served in %.3f s during the flood",
	    took);
	held_or_turned_away(fds, FLOOD, 16, "a connection past -a");
	for (i = 0; i < FLOOD; i++)
		close(fds[i]);
	stopped_cleanly();
}

/* Resets after the first bytes of rounds of 8 MiB replies. */
static void
reset_round(int round, int n)
{
	struct buffer b = { 0 };
	char pattern[64];
	int i, fd;

	for (i = 0; i < n; i++) {
		fd = connect_from(SERVER);
		client_send(fd, "alice\r\n", 7);
		cr_assert_eq(client_read(fd, &b, 1, WAIT_REPLY_MS), 1);
		client_reset(fd);
		buffer_free(&b);
	}
	snprintf(pattern, sizeof(pattern), "end=client-gone");
	cr_assert(log_wait(&fx, pattern, (size_t)(round * n), WAIT_LOG_MS),
	    "round %d: fewer than %d resets logged", round, round * n);
}

/*
 * Clients that reset in the middle of a large reply leave no descriptor
 * behind, and a second round of them adds no memory to the first.
 */
Test(abuse, resets_leave_nothing_behind)
{
	char *text = huge_text(8 << 20);
	unsigned long rss1, rss2;
	size_t base;

	plan_write(&fx, "alice", text, 8 << 20);
	free(text);
	daemon_start(&fx, "-B", SERVER, "-m", "16777216", NULL);
	base = daemon_fds();
	reset_round(1, 50);
	cr_assert(fds_become(base), "%zu fds after 50 resets, %zu before",
	    daemon_fds(), base);
	rss1 = daemon_rss();
	reset_round(2, 50);
	cr_assert(fds_become(base), "%zu fds after 100 resets, %zu before",
	    daemon_fds(), base);
	rss2 = daemon_rss();
	cr_assert(rss2 <= rss1 + 256, "RSS grew from %lu to %lu KiB", rss1,
	    rss2);
	stopped_cleanly();
}

/*
 * A load of 64 connections at once, each a thread that fingers alice
 * again and again: every exchange is counted as served exactly, refused,
 * reset, or wrong (any other bytes, or an error).  Each connection waits
 * LOAD_PAUSE_US before it sends its query, so that the workers hold all
 * 64 at any moment, each 10 ms and more, and the load comes at a pace
 * (at most 6,400 a second), not as fast as two cores go: at full speed
 * it made 26,000 exchanges a second, each a log line that every wait of
 * the test read again, and its CPU slowed every reload under it, the
 * more the longer it ran (7 to 57 s under ASan, a reload up to 1.7 s).
 */
struct load {
	int		 port;
	int		 stop;		/* read and set atomically */
	unsigned	 served, refused, reset, wrong;
};

#define LOAD_THREADS	64
#define LOAD_PAUSE_US	10000

static void
count(unsigned *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* One exchange with blocking calls, each bounded by SO_RCVTIMEO. */
static void
load_exchange(struct load *l)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timeval bound = { 10 * wait_scale(), 0 };
	char reply[256];
	size_t got = 0;
	ssize_t n;
	int fd;

	inet_pton(AF_INET, SERVER, &to.sin_addr);
	to.sin_port = htons((uint16_t)l->port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		count(&l->wrong);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		count(errno == ECONNREFUSED ? &l->refused : &l->wrong);
		close(fd);
		return;
	}
	usleep(LOAD_PAUSE_US);
	if (send(fd, "alice\r\n", 7, MSG_NOSIGNAL) != 7) {
		count(errno == ECONNRESET || errno == EPIPE ? &l->reset :
		    &l->wrong);
		close(fd);
		return;
	}
	while ((n = recv(fd, reply + got, sizeof(reply) - got, 0)) > 0)
		got += (size_t)n;
	if (n < 0)
		count(errno == ECONNRESET ? &l->reset : &l->wrong);
	else if (got == sizeof(REPLY_ALICE) - 1 &&
	    memcmp(reply, REPLY_ALICE, got) == 0)
		count(&l->served);
	else
		count(&l->wrong);
	close(fd);
}

static void *
load_thread(void *arg)
{
	struct load *l = arg;

	while (!__atomic_load_n(&l->stop, __ATOMIC_RELAXED))
		load_exchange(l);
	return NULL;
}

/*
 * 50 reloads while 64 connections at once are served by two workers:
 * each reload starts a new generation on the same sockets and retires
 * the old one, and not one exchange is refused, reset or answered wrong.
 * Under valgrind, 10: each generation's workers start under memcheck
 * (seconds each), and ten run the same code, start, drain and retire,
 * as fifty do; the other builds make fifty.
 */
Test(abuse, reloads_under_load_lose_nothing)
{
	struct load l = { 0 };
	pthread_t threads[LOAD_THREADS];
	char pattern[96];
	int i, reloads = under_valgrind() ? 10 : 50;

	/* The deadline scaled as the clients' bound: memcheck is slow. */
	daemon_start(&fx, "-B", SERVER, "-w", "2", "-c", "256", "-a", "256",
	    "-t", seconds_scaled(10), NULL);
	l.port = fx.port;
	for (i = 0; i < LOAD_THREADS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, load_thread,
		    &l), 0);
	for (i = 1; i <= reloads; i++) {
		daemon_signal(&fx, SIGHUP);
		snprintf(pattern, sizeof(pattern), "^fingerd: event=reload "
		    "group=finger members=5 generation=[0-9]+ why=sighup$");
		cr_assert(log_wait(&fx, pattern, (size_t)i, WAIT_START_MS),
		    "reload %d did not serve", i);
	}
	__atomic_store_n(&l.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < LOAD_THREADS; i++)
		pthread_join(threads[i], NULL);
	cr_assert(l.served > 500, "only %u exchanges served", l.served);
	cr_assert(l.refused == 0 && l.reset == 0 && l.wrong == 0,
	    "%u served, %u refused, %u reset, %u wrong", l.served, l.refused,
	    l.reset, l.wrong);
	stopped_cleanly();
}

/* The daemon's log without its exchange lines, for a failure's message. */
static const char *
log_but_exchanges(struct buffer *b)
{
	char *line, *next, *out;

	log_read(&fx, b);
	out = b->data;
	for (line = b->data; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		next = next != NULL ? next + 1 : NULL;
		if (strstr(line, ": client=") != NULL && (next == NULL ||
		    strstr(line, ": client=") < next))
			continue;
		memmove(out, line, next != NULL ? (size_t)(next - line) :
		    strlen(line));
		out += next != NULL ? next - line : (ptrdiff_t)strlen(line);
	}
	*out = '\0';
	return b->data;
}

/* For the child: at most 60 descriptors, hard limit included. */
static void
child_sixty_descriptors(void)
{
	struct rlimit rl = { 60, 60 };

	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		_exit(124);
}

/*
 * ulimit -n 60, -w 40, -c 10: the supervisor holds 40 sockets and a few
 * descriptors more, each worker its own socket and at most 2 a client.
 * 700 clients that never read a large reply hold every slot (and wait
 * in the queues); queries for bob are still answered exactly, nothing
 * runs out of descriptors, and after SIGTERM new connections are refused
 * at once, not left waiting.
 */
Test(abuse, forty_workers_within_sixty_descriptors)
{
	enum { CLIENTS = 700, BOBS = 5 };
	static int held[CLIENTS];
	struct buffer b;
	int fd, bobs[BOBS], status;
	char *text;
	double start;
	size_t i;

	if (under_valgrind())
		cr_skip_test("valgrind needs descriptors of its own in each "
		    "process: 60 cannot hold them");
	text = huge_text(10 << 20);
	plan_write(&fx, "alice", text, 10 << 20);
	free(text);
	fx.child_setup = child_sixty_descriptors;
	daemon_start(&fx, "-B", SERVER, "-w", "40", "-c", "10", "-a", "1000",
	    "-t", "3", NULL);
	for (i = 0; i < CLIENTS; i++) {
		held[i] = client_connect_small(SERVER, fx.port, 4096);
		cr_assert(held[i] >= 0, "connect %zu: %s", i, strerror(errno));
		client_send(held[i], "alice\r\n", 7);
	}
	for (i = 0; i < BOBS; i++) {
		cr_assert((bobs[i] = client_connect(SERVER, fx.port)) >= 0);
		client_send(bobs[i], "bob\r\n", 5);
	}
	for (i = 0; i < BOBS; i++) {
		memset(&b, 0, sizeof(b));
		cr_assert_eq(client_read_all(bobs[i], &b, WAIT_REPLY_MS), 0);
		assert_reply(&b, REPLY_BOB, "bob while 700 are held");
		buffer_free(&b);
		close(bobs[i]);
	}
	cr_assert_eq(log_count(&fx, "Too many open files"), 0,
	    "a process ran out of descriptors");
	cr_assert_eq(log_count(&fx, "query=\"bob\" reply=no-plan"), 0);
	daemon_signal(&fx, SIGTERM);
	cr_assert(log_wait(&fx, "^fingerd: event=stop signal=SIGTERM$",
	    1, WAIT_LOG_MS));
	start = now_seconds();
	while ((fd = client_connect(SERVER, fx.port)) >= 0 &&
	    now_seconds() - start < 3) {
		close(fd);
		usleep(20 * 1000);
	}
	/* (reset: taken by a listener as it closed, of the forty) */
	cr_assert(fd < 0 && (errno == ECONNREFUSED || errno == ECONNRESET),
	    "new connections not refused %.1f s after SIGTERM: %s",
	    now_seconds() - start, fd < 0 ? strerror(errno) : "connected");
	cr_assert_lt(now_seconds() - start, LATENCY(3.0),
	    "refused only after %.1f s", now_seconds() - start);
	for (i = 0; i < CLIENTS; i++)
		close(held[i]);
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	cr_assert_eq(status, 0, "wait status %#x; the log but exchanges:\n%s",
	    status, log_but_exchanges(&b));
	buffer_free(&b);
}

/*
 * fingerd's side of the TCP connections to port (from peer_port, or 0:
 * all), as /proc/net/tcp shows them: the sockets (but the listener and
 * TIME_WAIT's), the bytes they hold unacknowledged (tx_queue), and
 * those of them that fingerd has closed (inode 0) still holding bytes.
 */
struct server_side {
	unsigned	 sockets;
	unsigned long	 queued;
	unsigned	 orphans;	/* closed, holding bytes */
	unsigned long	 orphaned;	/* their bytes */
};

static void
server_side(int port, int peer_port, struct server_side *s)
{
	unsigned local, remote, state;
	unsigned long tx, rx, inode;
	char line[512];
	FILE *f;

	memset(s, 0, sizeof(*s));
	cr_assert_not_null(f = fopen("/proc/net/tcp", "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*u: %*x:%x %*x:%x %x %lx:%lx %*x:%*x %*x "
		    "%*u %*u %lu", &local, &remote, &state, &tx, &rx,
		    &inode) != 6 || (int)local != port ||
		    (peer_port != 0 && (int)remote != peer_port) ||
		    state == 0x0a || state == 0x06)	/* LISTEN, TIME_WAIT */
			continue;
		s->sockets++;
		s->queued += tx;
		if (inode == 0 && tx > 0) {
			s->orphans++;
			s->orphaned += tx;
		}
	}
	fclose(f);
}

/*
 * What the kernel charges to TCP (sockstat's mem, in bytes here) for the
 * sockets of both ends of connections to port, as ss(8) reads it from
 * sock_diag: each socket's receive and send queues, its forward
 * allocation, options and backlog.  Unlike sockstat, it counts no one
 * else's sockets.
 */
static unsigned long
port_memory(int port)
{
	unsigned long r, f, w, o, bl, sum = 0;
	char command[160], line[1024], *p;
	FILE *ss;

	snprintf(command, sizeof(command), "ss -tmnH state all "
	    "'( sport = :%d or dport = :%d )'", port, port);
	cr_assert_not_null(ss = popen(command, "r"), "%s", command);
	while (fgets(line, sizeof(line), ss) != NULL)
		if ((p = strstr(line, "skmem:(")) != NULL &&
		    sscanf(p, "skmem:(r%lu,rb%*u,t%*u,tb%*u,f%lu,w%lu,o%lu,"
		    "bl%lu", &r, &f, &w, &o, &bl) == 5)
			sum += r + f + w + o + bl;
	cr_assert_eq(pclose(ss), 0, "%s failed", command);
	return sum;
}

/* /proc/net/sockstat: TCP's memory, in pages, and its orphans. */
static void
sockstat(long *pages, long *orphans)
{
	char line[256];
	FILE *f;

	*pages = *orphans = -1;
	cr_assert_not_null(f = fopen("/proc/net/sockstat", "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "TCP: inuse %*d orphan %ld tw %*d alloc %*d "
		    "mem %ld", orphans, pages) == 2)
			break;
	fclose(f);
	cr_assert(*pages >= 0, "no TCP line in /proc/net/sockstat");
}

static int
local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/*
 * A client that reads a 4 MiB reply too slowly (a 4 KiB window, 4 KiB
 * every 20 ms): at the deadline (-t 2) its connection is reset, and it
 * receives nothing after, not the rest of the reply; fingerd's side of
 * the connection is gone from the kernel then, not left sending the rest
 * on its own (it once sent all of a 3.87 MB reply, 88 s past a 10 s
 * deadline).
 */
Test(abuse, deadline_resets_a_slow_reader)
{
	enum { PLAN = 4 << 20 };
	char *text = huge_text(PLAN);
	struct buffer b = { 0 };
	struct server_side s;
	double deadline, ended;
	int fd, port, ret, error;

	plan_write(&fx, "alice", text, PLAN);
	free(text);
	daemon_start(&fx, "-B", SERVER, "-t", "2", "-m", "8388608", NULL);
	fd = connect_small_from(SERVER, 4096);
	port = local_port(fd);
	deadline = now_seconds() + 2;
	client_send(fd, "alice\r\n", 7);
	do {
		usleep(20 * 1000);
		ret = client_read(fd, &b, b.len + 4096, 100);
		error = errno;
	} while ((ret == 1 || (ret == -1 && error == ETIMEDOUT)) &&
	    now_seconds() < deadline + LATENCY(3));
	ended = now_seconds();
	server_side(fx.port, port, &s);
	cr_assert(ret == -1 && error == ECONNRESET, "no reset: %s, %zu bytes "
	    "received, %.1f s past the deadline", ret == 1 ? "still reading" :
	    ret == 0 ? "EOF" : strerror(error), b.len, ended - deadline);
	cr_assert(ended > deadline - 0.1 && ended < deadline + LATENCY(1.0),
	    "reset %.2f s past the deadline", ended - deadline);
	cr_assert_lt(b.len, PLAN / 8, "%zu bytes received", b.len);
	cr_assert_eq(s.sockets, 0, "fingerd's side of the connection is "
	    "still there (%lu bytes queued)", s.queued);
	cr_assert(log_wait(&fx, "query=\"alice\" reply=plan end=timeout ", 1,
	    WAIT_LOG_MS));
	close(fd);
	buffer_free(&b);
	stopped_cleanly();
}

/*
 * The most the kernel may hold of a reply for one connection: fingerd's
 * SO_SNDBUF (64 KiB, which the kernel doubles), and one segment of up to
 * 64 KiB that a send may queue past it.
 */
#define HELD_A_CONNECTION	(128 * 1024 + 64 * 1024)

/*
 * 60 clients from one address, one every 50 ms, each asking for a 1 MiB
 * plan (-m's default) through a 4 KiB window and never reading; -a 4,
 * -t 2.  At most 4 of them hold a reply at once (the others get the
 * one line of -a), each until its deadline, then reset: fingerd's side
 * holds at most 4 connections' share, and no connection fingerd has
 * closed holds any; with the clients' own sockets, what the kernel
 * charges for them all stays under 4 connections' share and 60 small
 * receive buffers.  It once handed each whole reply to the kernel at
 * once and left the slot: the kernel held some 1 MiB for each, after
 * fingerd had let them all go (for minutes), and -a bounded nothing.
 * sockstat, which counts the whole machine's sockets, is reported, not
 * asserted: other tests running add thousands of pages to it.
 */
Test(abuse, non_readers_hold_bounded_kernel_memory)
{
	enum { CLIENTS = 60, PLAN = 1 << 20, PER_ADDRESS = 4, RCVBUF = 4096 };
	/* the clients' sockets: twice RCVBUF, and a page of allocation */
	const unsigned long bound = PER_ADDRESS * HELD_A_CONNECTION +
	    CLIENTS * (2 * RCVBUF + 4096);
	long pages0, orphans0, pages, orphans, max_pages = 0, max_orphans = 0;
	unsigned long memory, max_memory = 0;
	static int fds[CLIENTS];
	char *text = huge_text(PLAN);
	struct server_side s, most = { 0 };
	double until;
	size_t i;

	plan_write(&fx, "alice", text, PLAN);
	free(text);
	daemon_start(&fx, "-B", SERVER, "-a", "4", "-t", "2", NULL);
	sockstat(&pages0, &orphans0);
	until = now_seconds();
	for (i = 0; i < CLIENTS || now_seconds() < until; i++) {
		if (i < CLIENTS) {
			fds[i] = connect_small_from(SERVER, RCVBUF);
			client_send(fds[i], "alice\r\n", 7);
			until = now_seconds() + 2 + 1;
		}
		usleep(50 * 1000);
		server_side(fx.port, 0, &s);
		memory = i % 4 == 0 ? port_memory(fx.port) : 0; /* a fork */
		sockstat(&pages, &orphans);
		most.queued = s.queued > most.queued ? s.queued : most.queued;
		most.orphans = s.orphans > most.orphans ? s.orphans :
		    most.orphans;
		most.orphaned = s.orphaned > most.orphaned ? s.orphaned :
		    most.orphaned;
		max_memory = memory > max_memory ? memory : max_memory;
		max_pages = pages - pages0 > max_pages ? pages - pages0 :
		    max_pages;
		max_orphans = orphans - orphans0 > max_orphans ? orphans -
		    orphans0 : max_orphans;
	}
	cr_log_info("fingerd's side: at most %lu bytes queued, %u closed "
	    "connections holding %lu bytes; both ends: at most %lu KiB "
	    "charged (bound %lu KiB); the machine's sockstat: TCP mem "
	    "+%ld pages, orphans +%ld at most", most.queued, most.orphans,
	    most.orphaned, max_memory / 1024, bound / 1024, max_pages,
	    max_orphans);
	figure("kernel memory for 60 non-readers and fingerd, -a 4 -t 2",
	    (double)max_memory / 1024, "KiB", "< 1,488 KiB");
	cr_assert_leq(most.queued, PER_ADDRESS * HELD_A_CONNECTION,
	    "fingerd's side held %lu bytes", most.queued);
	cr_assert_eq(most.orphans, 0, "%u connections fingerd closed held "
	    "%lu bytes", most.orphans, most.orphaned);
	cr_assert_lt(max_memory, bound, "the kernel held %lu KiB for these "
	    "connections", max_memory / 1024);
	server_side(fx.port, 0, &s);
	cr_assert_eq(s.queued, 0, "%lu bytes still queued after every "
	    "deadline", s.queued);
	for (i = 0; i < CLIENTS; i++)
		close(fds[i]);
	stopped_cleanly();
}

/*
 * An IPv6 client counts by its /64 (addresses.c): an attacker rotating
 * through the addresses of one /64 takes -a slots, no more; another /64
 * is served meanwhile.  In a network namespace of the test's own, where
 * lo holds 2001:db8::/64 and 2001:db8:0:1::/64 addresses.
 */
#define ROTATED	12
Test(abuse, ipv6_addresses_of_one_64_share_its_slots)
{
	char source[64], command[256];
	struct buffer b = { 0 };
	int fds[ROTATED], other;
	size_t i;

	cr_assert(fx.own_network, "the machine's network: its lo is not "
	    "this test's to change");
	cr_assert_eq(system("ip -6 addr add 2001:db8::1/64 dev lo nodad && "
	    "ip -6 addr add 2001:db8:0:1::1/64 dev lo nodad"), 0,
	    "ip: could not set up the namespace");
	for (i = 0; i < ROTATED; i++) {
		snprintf(command, sizeof(command), "ip -6 addr add "
		    "2001:db8::%zx:%zx/128 dev lo nodad", i + 1, 7 * i + 3);
		cr_assert_eq(system(command), 0, "%s", command);
	}
	daemon_start(&fx, "-B", "2001:db8::1", "-a", "3", "-t", "20", NULL);
	for (i = 0; i < ROTATED; i++) {
		snprintf(source, sizeof(source), "2001:db8::%zx:%zx", i + 1,
		    7 * i + 3);
		fds[i] = connect_from6(source, "2001:db8::1");
	}
	held_or_turned_away(fds, ROTATED, 3, "a rotated address past -a");
	other = connect_from6("2001:db8:0:1::1", "2001:db8::1");
	client_send(other, "alice\r\n", 7);
	cr_assert_eq(client_read_all(other, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, REPLY_ALICE, "another /64, meanwhile");
	buffer_free(&b);
	close(other);
	cr_assert(log_wait(&fx, "^fingerd: client=2001:db8::c:50 query=\"\" "
	    "reply=too-many-from-address ", 1, WAIT_LOG_MS),
	    "the log names the whole address");
	for (i = 0; i < ROTATED; i++)
		close(fds[i]);
	cr_assert_eq(daemon_stop(&fx, SIGTERM), 0);
}
