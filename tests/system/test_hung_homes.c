/*
 * The pressure suite (its TestSuite in test_pressure.c): a member's home
 * on a file system that hangs (tests/tools/slowfs.c, FUSE, in a mount
 * namespace of the test's own; the harness's fuse.c mounts it), asked
 * for once and over and over.  The worker's turns keep a hung home to
 * its own client and a quarter of the slots, keep no one else out and
 * hold no stop; a home that answers again serves those waiting; a read
 * error is not cached.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define SERVER		"127.0.0.1"

/* ------------------------------------------------ a file system that hangs */

static size_t
fds_of(pid_t pid)
{
	char path[64];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	cr_assert_not_null(d = opendir(path), "%s", path);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * What the worker holds between exchanges: its count of descriptors once
 * it has not changed for 200 ms (a client sees its reply end before the
 * worker has closed its socket).
 */
static size_t
fds_idle(pid_t pid)
{
	double deadline = now_seconds() + WAIT_LOG_MS / 1000.0;
	size_t n = fds_of(pid), before;

	do {
		before = n;
		usleep(200 * 1000);
		n = fds_of(pid);
	} while (n != before && now_seconds() < deadline);
	return n;
}

/* Waits, bounded, until the worker holds n descriptors. */
static bool
fds_become(pid_t pid, size_t n)
{
	double deadline = now_seconds() + WAIT_LOG_MS / 1000.0;

	while (fds_of(pid) != n && now_seconds() < deadline)
		usleep(10000);
	return fds_of(pid) == n;
}

/*
 * zoe's home stops answering (getattr, open and read hang) while her
 * query is in flight: alice is answered at once all the same; zoe's
 * connection is reset at -t, with nothing sent; once the file system
 * answers, the worker holds no more than before, and zoe is served.
 */
Test(pressure, a_home_that_hangs_holds_only_its_own_client)
{
	struct buffer b = { 0 };
	double start, took;
	size_t base;
	pid_t worker;
	int fd, ret;

	if (under_valgrind() && engine_epoll())
		cr_skip_test("valgrind runs one thread at a time and keeps it "
		    "through a statx, which it does not count as blocking: "
		    "one held by a file system holds every thread");
	slowfs_mount();
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, "-B", SERVER, "-t", "3", NULL);
	worker = daemon_worker(&fx);
	EXPECT("zoe\r\n", REPLY_ZOE);
	EXPECT("alice\r\n", REPLY_ALICE);
	base = fds_idle(worker);
	write_text(control, "hang");
	start = now_seconds();
	cr_assert((fd = client_connect(SERVER, fx.port)) >= 0);
	client_send(fd, "zoe\r\n", 5);
	cr_assert(slowfs_holds(1), "zoe's request never reached slowfs: %s",
	    slowfs_describe());
	took = now_seconds();
	EXPECT("alice\r\n", REPLY_ALICE);
	took = now_seconds() - took;
	cr_assert_lt(took, LATENCY(UNHELD_S), "alice waited %.3f s", took);
	figure("alice's reply while zoe's home hangs", took * 1000, "ms",
	    "< 100 ms");
	if ((ret = client_read_all(fd, &b, WAIT_REPLY_MS)) != -1 ||
	    errno != ECONNRESET) {
		struct buffer log;

		log_read(&fx, &log);
		cr_assert_fail("zoe's connection not reset: %s; log:\n%s",
		    ret == 0 ? "EOF" : strerror(errno), log.data);
	}
	took = now_seconds() - start;
	assert_reply(&b, "", "to zoe while her home hangs");
	buffer_free(&b);
	cr_assert(took >= 2.9 && took < 3.0 + LATENCY(0.5),
	    "zoe's connection reset after %.2f s, -t is 3", took);
	figure("zoe's connection reset, her home hung, -t 3", took, "s",
	    "2.9 to 3.5 s");
	cr_assert(log_wait(&fx, "query=\"zoe\" reply=none end=timeout ", 1,
	    WAIT_LOG_MS), "zoe's exchange not logged at its deadline");
	close(fd);
	write_text(control, "");	/* it answers again */
	cr_assert(fds_become(worker, base), "the worker holds %zu descriptors, "
	    "%zu before", fds_of(worker), base);
	EXPECT("zoe\r\n", REPLY_ZOE);
	cr_assert(log_wait(&fx, "query=\"zoe\"", 3, WAIT_LOG_MS));
	usleep(100 * 1000);
	cr_assert_eq(log_count(&fx, "query=\"zoe\""), 3,
	    "an exchange logged twice");
	stopped_cleanly();
	slowfs_end();
}

/*
 * slowfs mounted over zoe's home, the group's members rewritten.  Not
 * under valgrind's epoll engine, as for a_home_that_hangs...
 */
static void
on_slowfs(const char *members)
{
	if (under_valgrind() && engine_epoll())
		cr_skip_test("valgrind: as for a_home_that_hangs...");
	slowfs_mount();
	fixture_group_rewrite(&fx, members);
}

/*
 * SIGTERM while zoe's home hangs: her worker ends its exchange at -t and
 * exits, but a thread of it stays held in the kernel by the file system
 * (FUSE does not let go of a request it was sent), so the process is
 * never reaped, and SIGKILL, sent 5 s after -t, cannot end it either.
 * The supervisor says so once and exits 0 5 s after the kill, not
 * waiting for it for ever; once the file system answers, it is gone.
 * (-t 1, the least: the stop takes -t and 10 s.)
 */
Test(pressure, a_worker_held_by_a_file_system_does_not_hold_the_stop)
{
	double start, took;
	char path[64];
	pid_t worker;
	int status, fd;

	on_slowfs(FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, "-B", SERVER, "-t", "1", NULL);
	worker = daemon_worker(&fx);
	write_text(control, "hang");
	cr_assert((fd = client_connect(SERVER, fx.port)) >= 0);
	client_send(fd, "zoe\r\n", 5);
	cr_assert(slowfs_holds(1), "zoe's request never reached slowfs: %s",
	    slowfs_describe());
	start = now_seconds();
	daemon_signal(&fx, SIGTERM);
	status = daemon_wait(&fx, (int)(LATENCY(1 + 5 + 5 + 3) * 1000));
	took = now_seconds() - start;
	cr_assert_neq(status, -1, "still running %.1f s after SIGTERM", took);
	cr_assert_eq(status, 0, "exit status %#x", status);
	cr_assert(took >= 1 + 5 + 5 - 0.5, "exited after %.1f s", took);
	cr_assert_eq(log_count(&fx, "has not stopped after -t: killed$"), 1);
	cr_assert_eq(log_count(&fx, "does not end: held in the kernel"), 1);
	close(fd);
	write_text(control, "");	/* it answers again */
	snprintf(path, sizeof(path), "/proc/%d", (int)worker);
	start = now_seconds();
	while (access(path, F_OK) == 0 &&
	    now_seconds() - start < WAIT_LOG_MS / 1000.0)
		usleep(10 * 1000);
	cr_assert_neq(access(path, F_OK), 0, "the worker outlived its file "
	    "system's answer");
	slowfs_end();
}

/* n connections, each sending query, into fds. */
static void
queries_send(int *fds, size_t n, const char *query)
{
	size_t i;

	for (i = 0; i < n; i++) {
		cr_assert((fds[i] = client_connect(SERVER, fx.port)) >= 0);
		client_send(fds[i], query, strlen(query));
	}
}

/* Each of the n connections at fds gets want, then its end; closed. */
static void
replies_expect(const int *fds, size_t n, const char *want, const char *what)
{
	struct buffer b = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		b.len = 0;
		cr_assert_eq(client_read_all(fds[i], &b, WAIT_REPLY_MS), 0,
		    "connection %zu not ended (%s)", i, what);
		assert_bytes(&b, want, strlen(want), what);
		close(fds[i]);
	}
	free(b.data);
}

/*
 * Each of the n connections at fds is reset, with nothing sent (a FIN
 * would say the reply was whole); closed.
 */
static void
resets_expect(const int *fds, size_t n, const char *what)
{
	struct buffer b = { 0 };
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		b.len = 0;
		ret = client_read_all(fds[i], &b, WAIT_REPLY_MS);
		cr_assert(ret == -1 && errno == ECONNRESET, "connection %zu "
		    "not reset (%s): %s", i, what, ret == 0 ? "EOF" :
		    strerror(errno));
		assert_bytes(&b, "", 0, what);
		close(fds[i]);
	}
	free(b.data);
}

/*
 * The n connections at fds, whose queries came while a file system hung,
 * are reset at -t with nothing sent, each logged; held of them keep
 * their requests, and their slots, until it answers: slowfs holds that
 * many, but their sockets are closed, and the worker holds base
 * descriptors.  alice, on another file system, is answered at once all
 * the while.  Then the file system answers, and the worker holds base
 * still.
 */
static void
hung_queries_end(const int *fds, size_t n, unsigned held, pid_t worker,
    size_t base, const char *what)
{
	unsigned received, now_held;
	double took;

	resets_expect(fds, n, "while the file system hangs");
	cr_assert(log_wait(&fx, "reply=none end=timeout ", n, WAIT_LOG_MS),
	    "the exchanges not logged at their deadline");
	slowfs_count(&received, &now_held);
	cr_assert_eq(now_held, held, "slowfs holds %u requests, not %u",
	    now_held, held);
	cr_assert(fds_become(worker, base), "the worker holds %zu "
	    "descriptors, %zu before, its %u held requests' sockets closed",
	    fds_of(worker), base, held);
	took = now_seconds();
	EXPECT("alice\r\n", REPLY_ALICE);
	took = now_seconds() - took;
	cr_assert_lt(took, LATENCY(UNHELD_S), "alice waited %.3f s", took);
	figure(what, took * 1000, "ms", "< 100 ms");
	write_text(control, "");	/* it answers again */
	cr_assert(fds_become(worker, base), "the worker holds %zu descriptors, "
	    "%zu before", fds_of(worker), base);
}

/*
 * zoe's home hangs and zoe is asked for again and again, as an attacker
 * would: her requests take turns (one at once under -c 4), so one slot
 * stays held until the file system answers and the others leave theirs
 * at -t; alice, on another file system, is answered at once; once zoe's
 * home answers, the worker holds what it held before.
 */
Test(pressure, a_hung_home_holds_one_turn_of_slots)
{
	int fds[4];
	size_t base;
	pid_t worker;

	on_slowfs(FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, "-B", SERVER, "-t", "2", "-c", "4", NULL);
	worker = daemon_worker(&fx);
	EXPECT("zoe\r\n", REPLY_ZOE);
	EXPECT("alice\r\n", REPLY_ALICE);
	base = fds_idle(worker);
	write_text(control, "hang");
	queries_send(fds, 4, "zoe\r\n");
	hung_queries_end(fds, 4, 1, worker, base, "alice's reply, zoe's home "
	    "hung and asked for 4 times, -c 4");
	EXPECT("zoe\r\n", REPLY_ZOE);
	stopped_cleanly();
	slowfs_end();
}

/*
 * zoe's home hangs and 40 queries for her come at once under -c 16, as
 * an attacker would send them: two hold her turns, the rest wait for
 * one.  A query for alice that comes after them, once her home has
 * given nothing back for a second, is answered at once: the queries
 * waiting longest for its turns are evicted to make room for
 * connections that wait (before, they kept every slot until -t).  Each
 * of zoe's connections, evicted or at -t, is reset with nothing sent,
 * and is logged once.
 */
Test(pressure, queries_waiting_for_a_hung_home_keep_no_one_out)
{
	enum { ZOES = 40 };
	int fds[ZOES];
	double took;

	on_slowfs(FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, "-B", SERVER, "-t", "3", "-c", "16", "-a", "100",
	    NULL);
	EXPECT("zoe\r\n", REPLY_ZOE);
	write_text(control, "hang");
	queries_send(fds, ZOES, "zoe\r\n");
	cr_assert(slowfs_holds(2), "zoe's requests never reached slowfs: "
	    "%s", slowfs_describe());
	usleep(1100 * 1000);	/* a second with no request back: hung */
	took = now_seconds();
	EXPECT("alice\r\n", REPLY_ALICE);
	took = now_seconds() - took;
	cr_assert_lt(took, LATENCY(UNHELD_S), "alice waited %.3f s", took);
	figure("alice's reply after 40 queries for zoe's hung home, -c 16",
	    took * 1000, "ms", "< 100 ms");
	resets_expect(fds, ZOES, "to zoe while her home hangs");
	write_text(control, "");	/* it answers again */
	cr_assert(log_wait(&fx, "query=\"zoe\" reply=none end=", ZOES,
	    WAIT_LOG_MS), "not every query for zoe logged");
	cr_assert_geq(log_count(&fx, "query=\"zoe\" reply=none "
	    "end=evicted "), 1);
	EXPECT("zoe\r\n", REPLY_ZOE);
	stopped_cleanly();
	slowfs_end();
}

/*
 * zoe's home is slow but works (each request held 30 ms), and 12 queries
 * for her come at once under -c 4: they take her one turn in order, the
 * rest waiting in a slot or in the backlog, and each gets its reply
 * whole; none is evicted for the connections that wait, as her home
 * gives requests back.
 */
Test(pressure, queries_for_a_slow_home_wait_their_turns)
{
	enum { ZOES = 12 };
	int fds[ZOES];

	on_slowfs(FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, "-B", SERVER, "-t", "10", "-c", "4", NULL);
	write_text(control, "30");
	queries_send(fds, ZOES, "zoe\r\n");
	replies_expect(fds, ZOES, REPLY_ZOE, "to zoe from her slow home");
	cr_assert(log_wait(&fx, "query=\"zoe\" reply=plan end=ok ", ZOES,
	    WAIT_LOG_MS), "not every query for zoe logged");
	cr_assert_eq(log_count(&fx, "end=evicted"), 0);
	stopped_cleanly();
	slowfs_end();
}

/*
 * Another member with a home on slowfs's file system, as zoe: her home
 * in the backing directory, her account appended to the fixture's passwd
 * (read when the daemon starts).
 */
static void
slowfs_member_add(const char *login, unsigned uid)
{
	char home[300], plan[320], line[512];
	FILE *f;

	snprintf(home, sizeof(home), "%s/srv-backing/%s", fx.dir, login);
	snprintf(plan, sizeof(plan), "%s/.plan", home);
	cr_assert(mkdir(home, 0755) == 0 && chmod(home, 0755) == 0);
	write_text(plan, "Far away.\n");
	snprintf(line, sizeof(line), "%s:x:%u:%u:%s:%s/srv/%s:/bin/sh\n",
	    login, uid, uid, login, fx.dir, login);
	cr_assert((f = fopen(fx.passwd, "a")) != NULL);
	cr_assert(fputs(line, f) >= 0 && fclose(f) == 0);
}

/*
 * zoe, yan and xia, their homes on slowfs's mount, in the group: the
 * daemon started with -t deadline and -c 8 (a turn a home, two a mount).
 */
static void
started_with_three_homes_on_slowfs(const char *deadline)
{
	on_slowfs(FIXTURE_MEMBERS ",zoe,yan,xia");
	slowfs_member_add("yan", 1011);
	slowfs_member_add("xia", 1012);
	daemon_start(&fx, "-B", SERVER, "-t", deadline, "-c", "8", NULL);
}

/*
 * Three members' homes hang at once, as on one NFS server: under -c 8
 * (a turn a home, two a mount) two requests reach the file system and
 * keep their slots; the third query waits and leaves at -t; alice, on
 * another file system, is answered at once, her plan looked at again.
 */
Test(pressure, homes_that_hang_together_keep_a_quarter_of_the_slots)
{
	static const char *const queries[] = {
		"zoe\r\n", "yan\r\n", "xia\r\n"
	};
	int fds[3];
	size_t base, i;
	pid_t worker;

	started_with_three_homes_on_slowfs("2");
	worker = daemon_worker(&fx);
	EXPECT("alice\r\n", REPLY_ALICE);
	base = fds_idle(worker);
	write_text(control, "hang");
	for (i = 0; i < 3; i++) {
		cr_assert((fds[i] = client_connect(SERVER, fx.port)) >= 0);
		client_send(fds[i], queries[i], strlen(queries[i]));
		if (i < 2)
			cr_assert(slowfs_holds((unsigned)i + 1),
			    "%s's request never reached slowfs: %s",
			    queries[i], slowfs_describe());
	}
	hung_queries_end(fds, 3, 2, worker, base, "alice's reply, the mount "
	    "of 3 homes hung, -c 8");
	EXPECT("zoe\r\n", REPLY_ZOE);
	EXPECT("yan\r\n", "Login: yan\tName: yan\r\nPlan:\r\nFar away.\r\n");
	stopped_cleanly();
	slowfs_end();
}

/*
 * The mount's turns handed round: two queries each for zoe, yan and xia
 * wait while their mount hangs (a turn a home, two for the mount under
 * -c 8); it answers within their deadline, and each gets its reply.
 */
Test(pressure, a_mount_that_answers_again_serves_every_home)
{
	static const char *const logins[] = { "zoe", "yan", "xia" };
	char query[16], want[128];
	struct buffer b = { 0 };
	int fds[6];
	size_t i;

	started_with_three_homes_on_slowfs("10");
	write_text(control, "hang");
	for (i = 0; i < 6; i++) {
		snprintf(query, sizeof(query), "%s\r\n", logins[i % 3]);
		cr_assert((fds[i] = client_connect(SERVER, fx.port)) >= 0);
		client_send(fds[i], query, strlen(query));
	}
	cr_assert(slowfs_holds(2), "the mount's two turns never taken: %s",
	    slowfs_describe());
	usleep(300 * 1000);
	write_text(control, "");	/* it answers again */
	for (i = 0; i < 6; i++) {
		if (i % 3 == 0)
			snprintf(want, sizeof(want), "%s", REPLY_ZOE);
		else
			snprintf(want, sizeof(want), "Login: %s\tName: %s\r\n"
			    "Plan:\r\nFar away.\r\n", logins[i % 3],
			    logins[i % 3]);
		b.len = 0;
		cr_assert_eq(client_read_all(fds[i], &b, WAIT_REPLY_MS), 0,
		    "%s's reply not ended", logins[i % 3]);
		assert_bytes(&b, want, strlen(want), "once the mount answers");
		close(fds[i]);
	}
	free(b.data);
	stopped_cleanly();
	slowfs_end();
}

/*
 * The turns handed on: four /W queries for zoe (a statx, an open, a
 * statx and reads each, in turn) wait while her home hangs; it answers
 * within their deadline, and each gets its whole reply.
 */
Test(pressure, a_home_that_answers_again_serves_those_waiting)
{
	int fds[4];

	on_slowfs(FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, "-B", SERVER, "-t", "10", "-c", "4", NULL);
	write_text(control, "hang");
	queries_send(fds, 4, "/W zoe\r\n");
	cr_assert(slowfs_holds(1), "zoe's request never reached slowfs: %s",
	    slowfs_describe());
	usleep(300 * 1000);
	write_text(control, "");	/* it answers again */
	replies_expect(fds, 4, REPLY_ZOE, "to zoe, once her home answers");
	stopped_cleanly();
	slowfs_end();
}

/*
 * zoe's home errs (EIO on every read) once her plan is old enough to be
 * kept: the reply, cut where the read failed, is sent and the error
 * logged, but it is not kept; once the file system reads again, the
 * next query gets the whole plan, though the file did not change.
 */
Test(pressure, a_read_error_is_not_cached)
{
	slowfs_mount();
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, "-B", SERVER, NULL);
	usleep(2100 * 1000);		/* settled: a reply would be kept */
	write_text(control, "eio");
	EXPECT("zoe\r\n", "Login: zoe\tName: Zoe Elsewhere\r\nPlan:\r\n");
	cr_assert(log_wait(&fx, "reading .*/zoe/\\.plan: Input/output error",
	    1, WAIT_LOG_MS), "the read error is not logged");
	write_text(control, "");
	EXPECT("zoe\r\n", REPLY_ZOE);
	EXPECT("zoe\r\n", REPLY_ZOE);
	stopped_cleanly();
	slowfs_end();
}

/* zoe's plan of three MiB, on slowfs; the reply to her, in *len. */
#define LOGIN_ZOE	"Login: zoe\tName: Zoe Elsewhere\r\n"
#define ZOE_PLAN_LONG	(3 << 20)

static char *
zoe_plan_long(size_t *len)
{
	static const char head[] = LOGIN_ZOE "Plan:\r\n";
	char path[300], *text = huge_text(ZOE_PLAN_LONG), *body, *reply;
	size_t n;

	snprintf(path, sizeof(path), "%s/srv-backing/zoe/.plan", fx.dir);
	write_text(path, text);
	body = crlf_convert(text, ZOE_PLAN_LONG, &n);
	cr_assert_not_null(reply = malloc(sizeof(head) + n));
	memcpy(reply, head, sizeof(head) - 1);
	memcpy(reply + sizeof(head) - 1, body, n + 1);
	*len = sizeof(head) - 1 + n;
	free(text);
	free(body);
	return reply;
}

/*
 * The reply to zoe's query on fd (sent at start, her plan zoe_plan_long's,
 * want) stalls in a send, and her home hangs once its first bytes came:
 * the chunks read before come, then at -t 3 (at most late seconds after)
 * a reset, never an EOF.  The bytes that came: the Login and Plan lines
 * and whole chunks of 16,640 bytes (huge_text's 64-byte lines, 16 KiB
 * read at once, converted), as the log line says; the read is held
 * still.
 */
static void
plan_cut_reset(int fd, double start, double late, const char *want,
    size_t want_len)
{
	const size_t head = sizeof(LOGIN_ZOE "Plan:\r\n") - 1;
	struct buffer b = { 0 };
	char pattern[256];
	double took;
	int ret, error;

	cr_assert_eq(client_read(fd, &b, 1, WAIT_REPLY_MS), 1,
	    "no byte of zoe's reply");
	write_text(control, "hang");
	ret = client_read_all(fd, &b, WAIT_REPLY_MS);
	error = errno;
	took = now_seconds() - start;
	cr_assert(ret == -1 && error == ECONNRESET, "zoe's connection not "
	    "reset: %s after %.2f s, %zu bytes received", ret == 0 ? "EOF" :
	    strerror(error), took, b.len);
	cr_assert(took >= 2.9 && took < 3.0 + late,
	    "zoe's connection reset after %.2f s, -t is 3", took);
	cr_assert(b.len > head && b.len < want_len &&
	    (b.len - head) % 16640 == 0, "%zu bytes received: not the Login "
	    "and Plan lines and whole chunks", b.len);
	assert_bytes(&b, want, b.len, "the part of zoe's plan sent");
	cr_assert_eq(slowfs_held(true), 1, "zoe's read not held");
	snprintf(pattern, sizeof(pattern), "^fingerd: client=127\\.0\\.0\\.1 "
	    "query=\"zoe\" reply=plan end=timeout sent=%zu "
	    "ms=[0-9]+\\.[0-9]{3}$", b.len);
	cr_assert(log_wait(&fx, pattern, 1, WAIT_LOG_MS), "no line %s",
	    pattern);
	buffer_free(&b);
}

/*
 * A plan too long for the cache to keep (an entry is at most an eighth
 * of it, 4 MiB, and three MiB converted may take twice that; -m 8 MiB,
 * as the default would cut it to one) is streamed: a chunk read, then
 * sent, then the next read.  zoe's home hangs in the middle of it, a
 * read held: at -t her connection is reset after the chunks sent before
 * the hang (plan_cut_reset), and never ended by a FIN, which would make
 * the part look like her whole plan.  Once her home answers, her next
 * query gets her whole plan.
 */
Test(pressure, a_plan_cut_by_a_hung_home_is_reset_at_the_deadline)
{
	struct buffer whole;
	size_t want_len;
	double start;
	char *want;
	int fd;

	on_slowfs(FIXTURE_MEMBERS ",zoe");
	want = zoe_plan_long(&want_len);
	daemon_start(&fx, "-B", SERVER, "-t", "3", "-m", "8388608", NULL);
	/* a small window: the reply stalls in a send, the file not read */
	cr_assert((fd = client_connect_small(SERVER, fx.port, 4096)) >= 0);
	start = now_seconds();
	client_send(fd, "zoe\r\n", 5);
	plan_cut_reset(fd, start, LATENCY(0.5), want, want_len);
	close(fd);
	write_text(control, "");	/* it answers again */
	cr_assert_eq(finger(SERVER, fx.port, "zoe\r\n", 5, &whole), 0);
	assert_bytes(&whole, want, want_len, "zoe's plan, her home answering");
	cr_assert(log_wait(&fx, "query=\"zoe\"", 2, WAIT_LOG_MS));
	usleep(100 * 1000);
	cr_assert_eq(log_count(&fx, "query=\"zoe\""), 2,
	    "an exchange logged twice");
	buffer_free(&whole);
	free(want);
	stopped_cleanly();
	slowfs_end();
}

/*
 * The same with -i, the connection its stdin and stdout as inetd gives
 * it: reset at -t all the same, though the process, a thread of it held
 * by the file system, cannot exit until it answers; then it exits 0.
 * held: the test keeps a copy of the connection, as systemd's PID 1 does
 * (Accept=yes), so that no close of fingerd's can end it.  The time runs
 * from before the exec, and -t from fingerd's start, which the
 * sanitizers' runtime delays (under ASan, -E epoll, a reset at 3.80 s):
 * 1.5 s past -t, as the deadline tests of test_clients.c allow.
 */
static void
inetd_plan_cut_reset(bool held)
{
	size_t want_len;
	double start;
	char *want;
	int fd, status;

	on_slowfs(FIXTURE_MEMBERS ",zoe");
	want = zoe_plan_long(&want_len);
	fx.inetd_hold = held;
	start = now_seconds();
	fd = inetd_start(&fx, "zoe\r\n", "-i", "-t", "3", "-m", "8388608",
	    NULL);
	plan_cut_reset(fd, start, LATENCY(1.5), want, want_len);
	close(fd);
	write_text(control, "");	/* it answers again */
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	cr_assert(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "fingerd -i: status %#x", status);
	free(want);
	slowfs_end();
}

Test(pressure, inetd_resets_a_plan_cut_by_a_hung_home)
{
	inetd_plan_cut_reset(false);
}

Test(pressure, inetd_resets_a_plan_cut_by_a_hung_home_under_systemd)
{
	inetd_plan_cut_reset(true);
}
