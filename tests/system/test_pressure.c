/*
 * The pressure suite, against the real daemon: each test asserts the
 * bytes clients get, the lines the log holds, and what /proc says the
 * daemon holds.  Its TestSuite is here (a test's descriptors' limit
 * raised; a slowfs mounted ended before its mount point is removed),
 * its tests in test_pressure.c, test_hung_homes.c,
 * test_hung_supervisor.c and test_log_pressure.c.  This file: the
 * listening socket destroyed from outside (ss -K); a thousand silent
 * connections from many addresses; a plan written through a shared
 * mapping; a worker signalled as it starts (tests/tools/slowstart.c).
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define SERVER		"127.0.0.1"

static void
setup(void)
{
	files_limit_raise();
	fixture_setup();
}

static void
teardown(void)
{
	slowfs_end();		/* before its mount point is removed */
	fixture_teardown();
}

TestSuite(pressure, .init = setup, .fini = teardown);
/* ------------------------------------------------------------- ss -K */

/*
 * The listening socket destroyed from outside (ss -K): no busy loop (the
 * daemon's CPU over the next 3 s below 5%, its exit's included; under
 * valgrind, whose leak checks at exit took 0.15 s once, 25%), one line
 * saying so, and the daemon stops with status 69, as fingerd.8 says,
 * for its manager to start it again.
 */
Test(pressure, listening_socket_destroyed)
{
	struct rusage before, after;
	char command[160];
	double cpu;
	pid_t worker;
	int status;

	daemon_start(&fx, "-B", SERVER, NULL);
	worker = daemon_worker(&fx);
	EXPECT("alice\r\n", REPLY_ALICE);
	/* What the daemon spent so far; the rest is counted at its exit. */
	cpu = cpu_seconds(fx.pid) + cpu_seconds(worker);
	cr_assert_eq(getrusage(RUSAGE_CHILDREN, &before), 0);
	snprintf(command, sizeof(command), "ss -K state listening "
	    "'( sport = :%d )' >/dev/null 2>&1", fx.port);
	cr_assert_eq(system(command), 0, "ss -K failed");
	usleep(3000 * 1000);
	status = daemon_wait(&fx, 0);
	cr_assert(status != -1, "the daemon still runs 3 s after ss -K");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 69,
	    "wait status %#x", status);
	cr_assert_eq(getrusage(RUSAGE_CHILDREN, &after), 0);
	cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec +
	    after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
	    (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec +
	    after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6 - cpu;
	/* Under valgrind, its exit's leak checks cost more than 0.15 s. */
	cr_assert_lt(cpu, LATENCY(0.15), "%.2f s of CPU in 3 s", cpu);
	figure("CPU over the 3 s after ss -K", 100 * cpu / 3, "%", "< 5%");
	cr_assert_eq(log_count(&fx, "^fingerd: the listening socket "
	    "127\\.0\\.0\\.1:[0-9]+ no longer listens \\(shut down from "
	    "outside, as by ss -K\\): stopping$"), 1);
	cr_assert_eq(log_count(&fx, "accept"), 0, "accept errors logged");
}

/*
 * The listening socket destroyed while every slot is taken by a silent
 * client: the poll on the listener ends with a hang-up, which is no
 * connection waiting, so no one is evicted for it.  The worker stops as
 * after ss -K, and serves the client it holds: its query, sent after,
 * is answered whole.
 */
Test(pressure, listening_socket_destroyed_evicts_no_one)
{
	char command[160];
	struct buffer b = { 0 };
	int fd, status;

	daemon_start(&fx, "-B", SERVER, "-c", "1", NULL);
	EXPECT("alice\r\n", REPLY_ALICE);
	fd = client_connect(SERVER, fx.port);
	cr_assert_geq(fd, 0);
	/* accepted, and past its grace: it could be evicted */
	usleep((useconds_t)LATENCY(200) * 1000);
	snprintf(command, sizeof(command), "ss -K state listening "
	    "'( sport = :%d )' >/dev/null 2>&1", fx.port);
	cr_assert_eq(system(command), 0, "ss -K failed");
	usleep((useconds_t)LATENCY(300) * 1000);
	client_send(fd, "alice\r\n", 7);
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0,
	    "no reply after ss -K: %s", strerror(errno));
	assert_reply(&b, REPLY_ALICE, "the silent client's query");
	buffer_free(&b);
	close(fd);
	cr_assert_eq(log_count(&fx, "end=evicted"), 0);
	cr_assert(log_wait(&fx, "no longer listens", 1, WAIT_LOG_MS));
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 69,
	    "wait status %#x", status);
}

/* ---------------------------------------------------------- slowloris */

static int
connect_from(const char *source, int port)
{
	return client_connect_blocking(source, port, 0);
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * 1,100 silent connections from 69 addresses, 16 each (within -a): more
 * than -c.  50 probes from another address are then answered exactly,
 * at a p99 under 100 ms: the silent ones are evicted, oldest first.
 */
Test(pressure, a_thousand_silent_connections_from_many_addresses)
{
	enum { SILENT = 1100, ADDRESSES = 69, PROBES = 50 };
	static int held[SILENT];
	double took[PROBES], start;
	struct buffer b;
	char source[32];
	int i, fd;

	daemon_start(&fx, "-B", SERVER, "-t", "30", NULL);
	for (i = 0; i < SILENT; i++) {
		snprintf(source, sizeof(source), "127.0.1.%d",
		    1 + i % ADDRESSES);
		held[i] = connect_from(source, fx.port);
	}
	usleep(300 * 1000);
	for (i = 0; i < PROBES; i++) {
		start = now_seconds();
		fd = connect_from("127.0.2.1", fx.port);
		client_send(fd, "alice\r\n", 7);
		memset(&b, 0, sizeof(b));
		cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0,
		    "probe %d: %s", i, strerror(errno));
		took[i] = now_seconds() - start;
		assert_reply(&b, REPLY_ALICE, "a probe");
		buffer_free(&b);
		close(fd);
	}
	qsort(took, PROBES, sizeof(took[0]), compare_doubles);
	cr_assert_lt(took[PROBES * 99 / 100], LATENCY(0.1),
	    "p99 %.3f s, median %.3f s", took[PROBES * 99 / 100],
	    took[PROBES / 2]);
	figure("probes' p99 among 1,100 silent connections from 69 addresses",
	    took[PROBES * 99 / 100] * 1000, "ms", "< 100 ms");
	figure("probes' median, the same", took[PROBES / 2] * 1000, "ms",
	    "");
	cr_assert(log_wait(&fx, "query=\"alice\" reply=plan end=ok", PROBES,
	    WAIT_LOG_MS), "not every probe logged");
	cr_assert_geq(log_count(&fx, "end=evicted"), PROBES - 1);
	for (i = 0; i < SILENT; i++)
		close(held[i]);
	stopped_cleanly();
}

/*
 * -c 4 held by silent connections, then a flood of silent connections,
 * a new one every millisecond for a second, then a query: it is
 * answered within 100 ms.  A new connection's grace (20 ms for its
 * query) is not given while the worker makes room without a pause:
 * otherwise at most -c connections a grace would get in, and the query
 * would wait for the whole queue (2.5 s measured so).  Under valgrind
 * the worker takes the flood at memcheck's pace, and the query waits for
 * what it has not taken yet (1.25 s once, on a loaded machine): the
 * reply is checked there, not its time.
 */
Test(pressure, a_flood_of_silent_connections_keeps_no_query_waiting)
{
	enum { HELD = 4, FLOOD = 1000 };
	static int held[HELD + FLOOD];
	struct buffer b = { 0 };
	double start;
	int i, fd;

	daemon_start(&fx, "-B", SERVER, "-c", "4", "-a", "2000", "-t", "30",
	    NULL);
	for (i = 0; i < HELD; i++)
		held[i] = connect_from(SERVER, fx.port);
	usleep(100 * 1000);
	for (i = HELD; i < HELD + FLOOD; i++) {
		held[i] = connect_from(SERVER, fx.port);
		usleep(1000);
	}
	start = now_seconds();
	fd = connect_from("127.0.2.1", fx.port);
	client_send(fd, "alice\r\n", 7);
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, REPLY_ALICE, "the query after the flood");
	cr_assert(under_valgrind() ||
	    now_seconds() - start < LATENCY(UNHELD_S),
	    "answered after %.3f s", now_seconds() - start);
	figure("a query after a flood of 1,000 silent connections at -c 4",
	    (now_seconds() - start) * 1000, "ms", "< 100 ms");
	buffer_free(&b);
	close(fd);
	for (i = 0; i < HELD + FLOOD; i++)
		close(held[i]);
	stopped_cleanly();
}

/* ------------------------------------------------ a write through mmap */

/*
 * A plan changed through a shared mapping raises no inotify event, and
 * changes its timestamps only at the first write fault after a
 * writeback: a second write to the same dirty page changes nothing a
 * statx sees.  A cached reply is read again CACHE_TRUSTED_NS (2 s) after
 * it was read, so either is served within two seconds and a bit.
 */
static void
mapped_write(char *map, const char *text, size_t len)
{
	memcpy(map, text, 2);
	cr_assert_eq(msync(map, len, MS_ASYNC), 0);
}

Test(pressure, a_plan_written_through_a_mapping)
{
	size_t len = sizeof(PLAN_ALICE) - 1;
	struct stat before, after;
	char path[256];
	char *map;
	int fd;

	daemon_start(&fx, "-B", SERVER, NULL);
	plan_path(&fx, "alice", path, sizeof(path));
	usleep(2100 * 1000);	/* settled: cached, then watched */
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("alice\r\n", REPLY_ALICE);
	cr_assert((fd = open(path, O_RDWR | O_CLOEXEC)) >= 0);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert(map != MAP_FAILED);
	mapped_write(map, "Up", len);	/* "Down the..." becomes "Upwn..." */
	usleep(2100 * 1000);
	EXPECT("alice\r\n", "Login: alice\tName: Alice Liddell\r\nPlan:\r\n"
	    "Upwn the rabbit hole.\r\nCuriouser and curiouser!\r\n");
	cr_assert_eq(fstat(fd, &before), 0);
	mapped_write(map, "Oh", len);	/* the page is dirty: no fault */
	cr_assert_eq(fstat(fd, &after), 0);
	cr_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
	    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec &&
	    before.st_ctim.tv_nsec == after.st_ctim.tv_nsec,
	    "the second write changed a timestamp: nothing to test");
	usleep(2100 * 1000);
	EXPECT("alice\r\n", "Login: alice\tName: Alice Liddell\r\nPlan:\r\n"
	    "Ohwn the rabbit hole.\r\nCuriouser and curiouser!\r\n");
	munmap(map, len);
	close(fd);
	stopped_cleanly();
}

/* ---------------------------------------- a worker signalled as it starts */

/* A worker of the daemon's other than old, waited for; its pid. */
static pid_t
worker_other_than(pid_t old)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	pid_t pids[8];
	size_t i, n;

	do {
		n = daemon_workers(&fx, pids, 8);
		for (i = 0; i < n && i < 8; i++)
			if (pids[i] != old)
				return pids[i];
		usleep(2000);
	} while (now_seconds() < deadline);
	cr_assert_fail("no worker but %d", (int)old);
	return 0;
}

/*
 * A signal that reaches a worker as it starts, between the supervisor's
 * exec and the worker's signalfd (`pkill -HUP fingerd` from logrotate
 * during a reload, a stop): on a loaded machine that lasts hundreds of
 * milliseconds; here a preloaded library holds each worker 500 ms
 * before main.  The signal waits, blocked, and the worker acts on it as
 * it serves.  SIGHUP sent to a reload's new worker: it serves, and no
 * worker dies; a stop while the next one starts: each worker stops, none
 * ended by the signal.  (Before, only SIGUSR2 stayed blocked across the
 * exec: SIGHUP and SIGTERM ended a starting worker by their default, the
 * first restarted as a worker that died.)
 */
Test(pressure, a_worker_signalled_as_it_starts_acts_once_it_serves)
{
	const char *lib = getenv("SLOWSTART");
	pid_t old, fresh;

	cr_assert(lib != NULL && lib[0] != '\0',
	    "SLOWSTART is not set: run the tests through make");
	cr_assert_eq(setenv("SLOWSTART_MS", "500", 1), 0);
	fx.preload = lib;
	daemon_start(&fx, "-B", SERVER, NULL);
	old = daemon_worker(&fx);

	daemon_signal(&fx, SIGHUP);
	fresh = worker_other_than(old);
	cr_assert_eq(kill(fresh, SIGHUP), 0);
	cr_assert(log_wait(&fx, "event=reload group=finger members=5 "
	    "generation=2 why=sighup$", 1, WAIT_LOG_MS));
	cr_assert_eq(daemon_worker(&fx), fresh, "the new worker is gone");
	EXPECT("alice\r\n", REPLY_ALICE);

	daemon_signal(&fx, SIGHUP);
	(void)worker_other_than(fresh);
	cr_assert_eq(daemon_stop(&fx, SIGTERM), 0, "not a clean stop");
	cr_assert_eq(log_count(&fx, "event=worker-exit"), 0,
	    "a worker ended by a signal as it started");
}
