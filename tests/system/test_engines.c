/*
 * The daemon suite (its TestSuite in test_options.c), the engines and the
 * confinement: -E, io_uring refused as container runtimes' profiles
 * refuse it (a fallback to epoll, or exit 69), openat2 refused, the
 * engine named in the log; privileges dropped, capset not needed, the
 * ASan build's leak check at exit; a worker killed by its seccomp filter;
 * workers that sleep through the connections they cannot take.
 */
#include <sys/mount.h>
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

/*
 * The engines (fingerd.8, ENGINES).  What the daemon must say when
 * io_uring_setup fails with error, from the sysctl it reads: the cause,
 * as a regular expression.
 */
static const char *
refusal_expected(int error)
{
	FILE *fp = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int disabled = -1;

	if (fp != NULL) {
		if (fscanf(fp, "%d", &disabled) != 1)
			disabled = -1;
		fclose(fp);
	}
	cr_assert(disabled == 0 || disabled == -1, "these tests expect "
	    "io_uring enabled on the machine (kernel.io_uring_disabled %d)",
	    disabled);
	if (error == EPERM)
		return "a seccomp profile refuses it with EPERM, as Docker's "
		    "and containerd's default profiles do";
	/* The profile is a seccomp filter: without the sysctl, it may be
	 * the kernel's lack of io_uring (Linux before 6.6 lacks both). */
	return disabled == 0 ? "a seccomp profile refuses it with ENOSYS, as "
	    "Podman's and CRI-O's default profiles do" :
	    "a seccomp profile refuses it with ENOSYS, as Podman's and "
	    "CRI-O's default profiles do, or the kernel has no io_uring; "
	    "kernel\\.io_uring_disabled is not there to tell \\(Linux before "
	    "6\\.6, or one without io_uring\\)";
}

/*
 * Under -E auto, a profile that refuses io_uring: fingerd serves with
 * epoll, byte for byte, and its log says why (cause, a regular
 * expression), once, after the line that says where it listens.
 */
static void
falls_back_saying(void (*profile)(void), const char *cause)
{
	char pattern[512];
	struct buffer log;

	fx.child_setup = profile;
	daemon_start(&fx, "-B", LOCAL, "-E", "auto", NULL);
	snprintf(pattern, sizeof(pattern), "^fingerd: event=engine engine=epoll "
	    "why=\"io_uring is refused: %s\"$", cause);
	log_read(&fx, &log);
	cr_assert_eq(log_count(&fx, pattern), 1, "no line %s:\n%s", pattern,
	    log.data);
	cr_assert(strstr(log.data, "event=listen") < strstr(log.data,
	    "event=engine"), "the engine's line before where:\n%s",
	    log.data);
	buffer_free(&log);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("\r\n", REPLY_LIST);
	EXPECT("nobody\r\n", REPLY_NO_SUCH_USER);
	stopped_cleanly();
}

static void
falls_back(void (*profile)(void), int error)
{
	falls_back_saying(profile, refusal_expected(error));
}

/* The test's own mounts (mounts_of_its_own), which need root. */
static void
own_mounts(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: a mount namespace");
	mounts_of_its_own();
}

/*
 * /proc/sys hidden, as fingerd.service's ProcSubset=pid hides it, in a
 * mount namespace of the test's own: kernel.io_uring_disabled cannot be
 * read, so a refusal names both causes that fit, and says why.
 */
static void
proc_sys_hidden(void)
{
	own_mounts();
	cr_assert_eq(mount("none", "/proc/sys", "tmpfs", MS_RDONLY, NULL), 0,
	    "mount: %s", strerror(errno));
}

#define UNREAD	"; this process cannot read kernel\\.io_uring_disabled to " \
		"tell \\(/proc/sys is hidden, as by ProcSubset=pid\\)"

Test(daemon, engine_refused_where_proc_sys_is_hidden_names_both_causes)
{
	proc_sys_hidden();
	falls_back_saying(child_block_io_uring, "a seccomp profile refuses it "
	    "with EPERM, as Docker's and containerd's default profiles do, "
	    "or the sysctl kernel\\.io_uring_disabled does" UNREAD);
}

Test(daemon, engine_refused_with_enosys_where_proc_sys_is_hidden)
{
	proc_sys_hidden();
	falls_back_saying(child_block_io_uring_enosys, "a seccomp profile "
	    "refuses it with ENOSYS, as Podman's and CRI-O's default profiles "
	    "do, or the kernel has no io_uring" UNREAD);
}

/*
 * kernel.io_uring_disabled not there, as before Linux 6.6 (check-arm64's
 * 6.1), or made so (an empty file bound over it, in the test's mount
 * namespace): ENOSYS under a filter names both causes, and why it
 * cannot tell.
 */
Test(daemon, engine_refused_with_enosys_where_the_sysctl_is_absent)
{
	static const char sysctl[] = "/proc/sys/kernel/io_uring_disabled";

	own_mounts();
	if (access(sysctl, F_OK) == 0)
		cr_assert_eq(mount("/dev/null", sysctl, NULL, MS_BIND, NULL), 0,
		    "mount: %s", strerror(errno));
	falls_back_saying(child_block_io_uring_enosys, "a seccomp profile "
	    "refuses it with ENOSYS, as Podman's and CRI-O's default profiles "
	    "do, or the kernel has no io_uring; kernel\\.io_uring_disabled is "
	    "not there to tell \\(Linux before 6\\.6, or one without "
	    "io_uring\\)");
}

Test(daemon, engine_falls_back_under_dockers_profile)
{
	falls_back(child_block_io_uring, EPERM);
}

Test(daemon, engine_falls_back_under_podmans_profile)
{
	falls_back(child_block_io_uring_enosys, ENOSYS);
}

/* -E io_uring where it is refused: 69, one line, the cause, the way out. */
static void
demanded(void (*profile)(void), int error)
{
	char pattern[512];
	int status;

	fx.child_setup = profile;
	status = daemon_run(&fx, "-P", "0", "-B", LOCAL, "-E", "io_uring",
	    NULL);
	cr_assert_eq(status, 69, "status %d", status);
	snprintf(pattern, sizeof(pattern), "^fingerd: -E io_uring: io_uring "
	    "is refused: %s; serve with -E epoll or -E auto, or allow "
	    "io_uring$", refusal_expected(error));
	one_line_checked(pattern);
}

Test(daemon, engine_io_uring_demanded_under_dockers_profile)
{
	demanded(child_block_io_uring, EPERM);
}

Test(daemon, engine_io_uring_demanded_under_podmans_profile)
{
	demanded(child_block_io_uring_enosys, ENOSYS);
}

/* Where nothing refuses it, auto is io_uring; -E epoll is epoll. */
Test(daemon, engine_named_in_the_log)
{
	daemon_start(&fx, "-B", LOCAL, "-E", "auto", NULL);
	EXPECT_LOG("^fingerd: event=engine engine=io_uring$");
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
	daemon_start(&fx, "-B", LOCAL, "-E", "epoll", NULL);
	EXPECT_LOG("^fingerd: event=engine engine=epoll why=\"-E epoll\"$");
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * openat2 refused with EPERM (profile as a seccomp profile older than it
 * refuses it): every member's files are still opened and served byte for
 * byte, and the log says once that openat serves instead, under epoll.
 * The ring's openat2 passes no seccomp filter: with io_uring, no line.
 */
static void
openat2_refused(void (*profile)(void), const char *engine,
    const char *engine_line, size_t refused_lines)
{
	struct buffer log;

	/* valgrind makes calls of its own under the profile's filter. */
	skip_under_valgrind("a seccomp profile is the kernel's, tested "
	    "without it");
	fx.child_setup = profile;
	daemon_start(&fx, "-B", LOCAL, "-E", engine, NULL);
	EXPECT_LOG(engine_line);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("dan\r\n", REPLY_DAN);
	EXPECT("/W bob\r\n", REPLY_W_BOB);
	EXPECT("carol\r\n", REPLY_CAROL);
	cr_assert(log_wait(&fx, " query=", 4, WAIT_LOG_MS));
	log_read(&fx, &log);
	cr_assert_eq(log_count(&fx, "^fingerd: openat2 refused \\(EPERM\\): "
	    "using openat$"), refused_lines, "log:\n%s", log.data);
	cr_assert_eq(log_count(&fx, "reply=no-plan"), 1, "log:\n%s",
	    log.data);		/* carol's, who has no plan */
	buffer_free(&log);
	stopped_cleanly();
}

Test(daemon, openat2_refused_under_epoll)
{
	openat2_refused(child_block_openat2, "epoll",
	    "^fingerd: event=engine engine=epoll why=\"-E epoll\"$", 1);
}

Test(daemon, openat2_refused_under_auto)
{
	openat2_refused(child_block_openat2, "auto",
	    "^fingerd: event=engine engine=io_uring$", 0);
}

Test(daemon, openat2_and_io_uring_refused_under_auto)
{
	openat2_refused(child_block_io_uring_and_openat2, "auto",
	    "^fingerd: event=engine engine=epoll why=\"io_uring is refused: ",
	    1);
}

Test(daemon, engine_unknown)
{
	int status = daemon_run(&fx, "-P", "0", "-E", "kqueue", NULL);

	cr_assert_eq(status, 64, "status %d", status);
	one_line_checked("^fingerd: -E: 'kqueue' is not an engine: auto, "
	    "io_uring or epoll; see fingerd -h$");
}

#define EXPECT_STATUS(pid, name, want) do { \
	char value_[256]; \
	status_field((pid), name, value_, sizeof(value_)); \
	cr_assert_str_eq(value_, name ":\t" want, "/proc/%d/status", \
	    (int)(pid)); \
} while (0)

/* No capability in the sets a process uses, and no_new_privs. */
static void
no_capability_checked(pid_t pid)
{
	EXPECT_STATUS(pid, "CapInh", "0000000000000000");
	EXPECT_STATUS(pid, "CapPrm", "0000000000000000");
	EXPECT_STATUS(pid, "CapEff", "0000000000000000");
	EXPECT_STATUS(pid, "CapAmb", "0000000000000000");
	EXPECT_STATUS(pid, "NoNewPrivs", "1");
}

static void
privileges_checked(pid_t pid)
{
	EXPECT_STATUS(pid, "Uid", "65534\t65534\t65534\t65534");
	EXPECT_STATUS(pid, "Gid", "65534\t65534\t65534\t65534");
	EXPECT_STATUS(pid, "Groups", "");
	EXPECT_STATUS(pid, "CapBnd", "0000000000000000");
	no_capability_checked(pid);
}

/*
 * Started as root with groups and capabilities: all gone once it serves,
 * in the supervisor and in the worker, which is also under its seccomp
 * filter (the supervisor is not: it reads the user database, whatever
 * its NSS modules call).
 */
Test(daemon, privileges_dropped)
{
	pid_t worker;

	if (geteuid() != 0)
		cr_skip_test("started as root only; these tests are not root");
	fx.child_setup = child_add_privileges;
	daemon_start(&fx, "-B", LOCAL, NULL);
	worker = daemon_worker(&fx);
	privileges_checked(fx.pid);
	privileges_checked(worker);
	if (!under_valgrind())		/* which runs no seccomp filter */
		EXPECT_STATUS(worker, "Seccomp", "2");
	EXPECT_STATUS(fx.pid, "Seccomp", "0");
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * Started with no capability (as fingerd.service is), it makes no
 * privileged call: with capset refused, it starts, keeps nothing, sets
 * no_new_privs and serves.
 */
Test(daemon, unprivileged_needs_no_capset)
{
	pid_t worker;

	fx.child_setup = child_unprivileged_no_capset;
	daemon_start(&fx, "-B", LOCAL, NULL);
	worker = daemon_worker(&fx);
	no_capability_checked(fx.pid);
	no_capability_checked(worker);
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * The ASan build's leak check at exit must be able to run (the Makefile
 * turns it off for the other tests).  A build without ASan ignores it.
 */
Test(daemon, leak_check_at_exit)
{
	static char options[] =
	    "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1";

	fx.asan_options = options;
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("\r\n", REPLY_LIST);
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("^fingerd: event=reload group=finger members=5 generation=[0-9]+ why=sighup$");
	EXPECT("carol\r\n", REPLY_CAROL);
	stopped_cleanly();
	cr_assert_eq(log_count(&fx, "Sanitizer"), 0, "a sanitizer spoke");
}

/* How often pid has slept and been woken (voluntary context switches). */
static long
wakeups(pid_t pid)
{
	char value[256];
	long n = -1;

	status_field(pid, "voluntary_ctxt_switches", value, sizeof(value));
	cr_assert_eq(sscanf(value, "voluntary_ctxt_switches: %ld", &n), 1,
	    "/proc/%d/status: %s", (int)pid, value);
	return n;
}

/*
 * A worker that listens no more sleeps through the connections of the
 * generation after it: the old worker, draining a silent client after
 * SIGHUP, while the new one serves 200 exchanges on the listener the
 * supervisor keeps.  (The epoll engine's registration of that listener
 * outlived the old worker's close: every connection woke it.)
 */
Test(daemon, a_worker_that_listens_no_more_sleeps_through_connections)
{
	pid_t old;
	long before, woken;
	int silent, i;

	daemon_start(&fx, "-B", LOCAL, "-t", seconds_scaled(20), NULL);
	old = daemon_worker(&fx);
	cr_assert((silent = client_connect(LOCAL, fx.port)) >= 0);
	EXPECT("alice\r\n", REPLY_ALICE);	/* the silent one is in */
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("^fingerd: event=reload group=finger members=5 generation=[0-9]+ why=sighup$");
	before = wakeups(old);
	for (i = 0; i < 200; i++)
		EXPECT("alice\r\n", REPLY_ALICE);
	woken = wakeups(old) - before;
	cr_assert_lt(woken, 20, "the old worker was woken %ld times by 200 "
	    "connections it does not take", woken);
	close(silent);
	stopped_cleanly();
}

/*
 * A worker killed by SIGSYS, as its seccomp filter kills it for a call
 * its C library makes that the list lacks (another architecture, another
 * C library): the supervisor's line says where that call is named, it
 * starts another worker at once, and the daemon serves.
 */
Test(daemon, a_worker_killed_by_its_filter_is_explained)
{
	pid_t worker;

	if (under_valgrind())
		cr_skip_test("valgrind reports a killed worker as its own "
		    "fatal signal");
	daemon_start(&fx, "-B", LOCAL, NULL);
	worker = daemon_worker(&fx);
	cr_assert_eq(kill(worker, SIGSYS), 0);
	EXPECT_LOG("^fingerd: event=worker-exit pid=[0-9]+ signal=SIGSYS why=\"Bad "
	    "system call: a system call outside its seccomp allow-list, which "
	    "the kernel\'s audit log names \\(type=1326\\)\" restart=0s$");
	EXPECT("alice\r\n", REPLY_ALICE);
	cr_assert_neq(daemon_worker(&fx), worker);
	daemon_signal(&fx, SIGTERM);
	cr_assert_eq(daemon_wait(&fx, WAIT_EXIT_MS), 70 << 8,
	    "a worker's crash is the daemon's exit status 70");
}

/*
 * A worker whose one slot (-c 1) a reader of nothing holds, mid-reply
 * and so not evictable, sleeps through the connections that queue
 * meanwhile; once the slot is free they are served.
 */
Test(daemon, a_worker_with_every_slot_taken_sleeps_through_connections)
{
	enum { PLAN = 1 << 20, QUEUED = 100 };
	char *text = huge_text(PLAN);
	struct buffer b = { 0 };
	int held, queued[QUEUED], i;
	long before, woken;
	pid_t worker;

	plan_write(&fx, "alice", text, PLAN);
	free(text);
	daemon_start(&fx, "-B", LOCAL, "-c", "1", "-m", "2097152", NULL);
	worker = daemon_worker(&fx);
	held = client_connect_small(LOCAL, fx.port, 4096);
	cr_assert(held >= 0);
	client_send(held, "alice\r\n", 7);
	cr_assert_eq(client_read(held, &b, 1000, WAIT_REPLY_MS), 1);
	before = wakeups(worker);
	for (i = 0; i < QUEUED; i++)
		cr_assert((queued[i] = client_connect(LOCAL, fx.port)) >= 0);
	usleep(300 * 1000);
	woken = wakeups(worker) - before;
	cr_assert_lt(woken, 20, "the worker was woken %ld times by %d "
	    "connections it cannot take", woken, QUEUED);
	client_reset(held);
	client_send(queued[QUEUED - 1], "bob\r\n", 5);
	buffer_free(&b);
	cr_assert_eq(client_read_all(queued[QUEUED - 1], &b, WAIT_REPLY_MS),
	    0);
	cr_assert(b.len > 0 && memcmp(b.data, "Login: bob\t", 11) == 0,
	    "the last connection queued: %zu bytes", b.len);
	for (i = 0; i < QUEUED; i++)
		close(queued[i]);
	buffer_free(&b);
	stopped_cleanly();
}
