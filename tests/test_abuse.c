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

static struct fixture fx;

static void
setup(void)
{
	struct rlimit rl;

	/* This process holds HELD sockets itself. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert(rl.rlim_cur > HELD + 64, "RLIMIT_NOFILE %llu is too low",
	    (unsigned long long)rl.rlim_cur);
	fixture_create(&fx);
}

static void
teardown(void)
{
	fixture_destroy(&fx);
}

TestSuite(abuse, .init = setup, .fini = teardown);

/* A connection to the daemon from the local address source. */
static int
connect_from(const char *source)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd;

	inet_pton(AF_INET, source, &from.sin_addr);
	inet_pton(AF_INET, SERVER, &to.sin_addr);
	to.sin_port = htons((uint16_t)fx.port);
	cr_assert((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
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

static void
stopped_cleanly(void)
{
	int status = daemon_stop(&fx, SIGTERM);

	cr_assert_eq(status, 0, "exit status %d after SIGTERM", status);
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
 * Two hundred idle connections from one address: the first 16 (-a) are
 * held, every other gets exactly the one line and is closed, and another
 * address is served meanwhile.
 */
Test(abuse, idle_flood_from_one_address)
{
	static int fds[FLOOD];
	struct buffer b = { 0 };
	size_t turned_away = 0, held = 0, i;
	double took;

	daemon_start(&fx, "-B", SERVER, "-a", "16", "-t", "30", NULL);
	for (i = 0; i < FLOOD; i++)
		fds[i] = connect_from(SERVER);
	took = served_from_other();
	cr_assert(took < LATENCY(0.5), "served in %.3f s during the flood",
	    took);
	cr_assert(log_wait(&fx, "reply=too-many-from-address", FLOOD - 16,
	    WAIT_LOG_MS), "fewer than %d turned away", FLOOD - 16);
	for (i = 0; i < FLOOD; i++) {
		if (client_quiet(fds[i])) {
			held++;
			continue;
		}
		cr_assert_eq(client_read_all(fds[i], &b, WAIT_REPLY_MS), 0);
		assert_reply(&b, REPLY_TOO_MANY, "a connection past -a");
		buffer_free(&b);
		turned_away++;
	}
	cr_assert_eq(held, 16);
	cr_assert_eq(turned_away, FLOOD - 16);
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
 * reset, or wrong (any other bytes, or an error).
 */
struct load {
	int		 port;
	int		 stop;		/* read and set atomically */
	unsigned	 served, refused, reset, wrong;
};

#define LOAD_THREADS	64

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
	struct timeval bound = { 10, 0 };
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
 */
Test(abuse, reloads_under_load_lose_nothing)
{
	struct load l = { 0 };
	pthread_t threads[LOAD_THREADS];
	char pattern[96];
	int i;

	daemon_start(&fx, "-B", SERVER, "-w", "2", "-c", "256", "-a", "256",
	    NULL);
	l.port = fx.port;
	for (i = 0; i < LOAD_THREADS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, load_thread,
		    &l), 0);
	for (i = 1; i <= 50; i++) {
		daemon_signal(&fx, SIGHUP);
		snprintf(pattern, sizeof(pattern), "^fingerd: event=reload "
		    "group=finger members=5 generation=[0-9]+$");
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
	cr_assert(fd < 0 && errno == ECONNREFUSED,
	    "new connections not refused %.1f s after SIGTERM",
	    now_seconds() - start);
	cr_assert_lt(now_seconds() - start, LATENCY(3.0),
	    "refused only after %.1f s", now_seconds() - start);
	for (i = 0; i < CLIENTS; i++)
		close(held[i]);
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	cr_assert_eq(status, 0, "wait status %#x; the log but exchanges:\n%s",
	    status, log_but_exchanges(&b));
	buffer_free(&b);
}
