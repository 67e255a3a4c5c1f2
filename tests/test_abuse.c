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

static size_t
daemon_fds(void)
{
	char path[64];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)fx.pid);
	cr_assert_not_null(d = opendir(path), "%s: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* VmRSS of the daemon, in KiB. */
static unsigned long
daemon_rss(void)
{
	char path[64], line[256];
	unsigned long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)fx.pid);
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
	cr_assert(getenv("FINGERD_VALGRIND") != NULL ||
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
