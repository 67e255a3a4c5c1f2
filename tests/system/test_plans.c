/*
 * The daemon suite (its TestSuite in test_options.c), what a reply is
 * made of: plans that are links, FIFOs, directories, missing, unreadable
 * or huge, cut at -m, CRLF and UTF-8 across read chunks; the reply cache
 * that sees every change; homes out of the daemon's reach or leading to
 * /; /W's .project and .pgpkey; the list's columns.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

/* A plan no worker reads, said at each reading of the group (surveyed). */
#define PLAN_LINK	"is not served: it is a symbolic link, which fingerd " \
			"never follows$"
#define PLAN_NOT_FILE	"is not served: it is not a regular file \\(a FIFO, a " \
			"socket, a device or a directory: fingerd reads " \
			"none\\)$"
/* One this account cannot read: its member's to open, not root's. */
#define PLAN_DENIED	"is out of reach of fingerd's account: it cannot " \
			"read the file; to serve it, its owner makes it " \
			"readable by others \\(o\\+r\\)$"

/*
 * login's warnings, each reading's: one, matching pattern (a regular
 * expression), after "member login: plan "<its home>/.plan" ".
 */
static void
plan_warned(const char *login, const char *pattern)
{
	char one[1024], member[64];

	snprintf(one, sizeof(one), "^fingerd: member %s: plan \"%s/home/%s/"
	    "\\.plan\" %s", login, fx.dir, login, pattern);
	snprintf(member, sizeof(member), "member %s: ", login);
	log_warnings_each_reading(&fx, member, 1, one);
}

Test(daemon, plan_symlink_not_followed)
{
	char target[256], path[256];

	snprintf(target, sizeof(target), "%s/home/alice/real-plan", fx.dir);
	plan_path(&fx, "alice", path, sizeof(path));
	cr_assert(rename(path, target) == 0);
	plan_symlink(&fx, "alice", target);
	plan_symlink(&fx, "dan", "../alice/real-plan");
	daemon_start(&fx, "-B", LOCAL, NULL);
	plan_warned("alice", PLAN_LINK);
	plan_warned("dan", PLAN_LINK);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT("dan\r\n", "Login: dan\tName: Dan Noeol\r\n" NO_PLAN);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=symlink end=ok ");
	stopped_cleanly();
}

/* A FIFO with no writer: answered at once, and nobody waits for it. */
Test(daemon, plan_fifo_not_blocking)
{
	struct buffer b = { 0 };
	double start;
	int fd;

	plan_fifo(&fx, "alice");
	daemon_start(&fx, "-B", LOCAL, "-t", "8", NULL);
	plan_warned("alice", PLAN_NOT_FILE);
	start = now_seconds();
	fd = client_connect(LOCAL, fx.port);
	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	client_send(fd, "alice\r\n", 7);
	EXPECT("bob\r\n", REPLY_BOB);
	cr_assert_eq(client_read_all(fd, &b, 3000 * wait_scale()), 0,
	    "the FIFO plan was not answered within 3 s: %s", strerror(errno));
	assert_reply(&b, LOGIN_ALICE NO_PLAN, "alice with a FIFO plan");
	cr_assert(now_seconds() - start < LATENCY(3.0));
	close(fd);
	buffer_free(&b);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=not-a-file end=ok ");
	stopped_cleanly();
}

/* The daemon runs as another user only when the tests run as root. */
static void
skip_unless_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: the daemon must run as another user");
}

/*
 * The daemon started, alice's plan is not served: "No Plan.", logged
 * with why, and warned of at the start (plan_warned: warning).
 */
static void
alice_has_no_plan(const char *why, const char *warning)
{
	char pattern[128];

	snprintf(pattern, sizeof(pattern), "query=\"alice\" reply=no-plan "
	    "why=%s end=ok ", why);
	daemon_start(&fx, "-B", LOCAL, NULL);
	plan_warned("alice", warning);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT_LOG(pattern);
	stopped_cleanly();
}

Test(daemon, plan_directory)
{
	plan_directory(&fx, "alice");
	alice_has_no_plan("not-a-file", PLAN_NOT_FILE);
}

Test(daemon, plan_missing)
{
	plan_remove(&fx, "alice");
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT("carol\r\n", REPLY_CAROL);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=missing end=ok ");
	EXPECT_LOG("query=\"carol\" reply=no-plan why=missing end=ok sent=43 ");
	stopped_cleanly();
}

Test(daemon, plan_unreadable)
{
	char path[256];

	plan_path(&fx, "alice", path, sizeof(path));
	cr_assert(chmod(path, 0) == 0);
	/* Root reads anything: the daemon must run as nobody for this. */
	if (geteuid() != 0 && access(path, R_OK) == 0)
		cr_skip_test("this user can read a file of mode 0000");
	alice_has_no_plan("denied", PLAN_DENIED);
}

/*
 * A home of mode 0700, as Debian 12's adduser makes them: the -u account
 * cannot search it.  The client gets "No Plan."; the log says why.
 */
Test(daemon, plan_in_a_home_nobody_may_search)
{
	char path[256];

	home_file_path(&fx, "alice", "", path, sizeof(path));
	cr_assert(chmod(path, 0700) == 0);
	skip_unless_root();
	alice_has_no_plan("denied", "is out of reach of fingerd's account: "
	    "its home is not searchable; to serve it: chmod o\\+x ");
}

/*
 * alice's plan, the size bytes of text (freed here), served under -m max
 * (NULL: the default): the first kept bytes of it come, logged as logged
 * up to the bytes sent (NULL: the log not looked at).
 */
static void
alice_plan_served(char *text, size_t size, const char *max, size_t kept,
    const char *what, const char *logged)
{
	char *want, pattern[200];
	struct buffer b;
	size_t len;

	plan_write(&fx, "alice", text, size);
	want = plan_reply(text, kept, &len);
	if (max != NULL)
		daemon_start(&fx, "-B", LOCAL, "-m", max, NULL);
	else
		daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(finger(LOCAL, fx.port, "alice\r\n", 7, &b), 0);
	assert_bytes(&b, want, len, what);
	if (logged != NULL) {
		snprintf(pattern, sizeof(pattern), "%ssent=%zu ms=", logged,
		    len);
		EXPECT_LOG(pattern);
	}
	buffer_free(&b);
	free(want);
	free(text);
	stopped_cleanly();
}

/* A 5 MiB plan and -m 100000: the first 100000 bytes, then a CRLF. */
Test(daemon, plan_cut_at_max)
{
	alice_plan_served(huge_text(5 * 1024 * 1024), 5 * 1024 * 1024,
	    "100000", 100000, "alice, cut at 100000 bytes",
	    "^fingerd: client=127\\.0\\.0\\.1 query=\"alice\" reply=plan-cut "
	    "end=ok ");
}

/* The default -m is 1048576. */
Test(daemon, plan_cut_at_default_max)
{
	alice_plan_served(huge_text(5 * 1024 * 1024), 5 * 1024 * 1024, NULL,
	    1048576, "alice, cut at 1048576 bytes",
	    "query=\"alice\" reply=plan-cut end=ok ");
}

/* A plan of exactly -m bytes is whole: not cut, nothing added. */
Test(daemon, plan_of_exactly_max_not_cut)
{
	alice_plan_served(huge_text(100000), 100000, "100000", 100000,
	    "alice, 100000 bytes", "query=\"alice\" reply=plan end=ok ");
}

/*
 * The daemon reads 16 KiB at a time: a CRLF whose CR ends a chunk must
 * not become CR CR LF.
 */
Test(daemon, plan_crlf_across_read_chunks)
{
	char *text = huge_text(40000);

	text[16383] = '\r';
	text[16384] = '\n';
	text[32767] = '\r';
	text[32768] = '\n';
	alice_plan_served(text, 40000, NULL, 40000, "CRLF at 16383 and 32767",
	    NULL);
}

/*
 * UTF-8 sequences cut by the 16 KiB chunks come out whole, and an
 * encoded C1 control cut in two is still removed.
 */
Test(daemon, plan_utf8_across_read_chunks)
{
	char *text = huge_text(60000), *want;
	struct buffer b;
	size_t len;

	memcpy(text + 16382, "\xf0\x9f\x98\x80", 4);	/* 2 + 2 */
	memcpy(text + 32767, "\xe2\x82\xac", 3);	/* 1 + 2 */
	memcpy(text + 49151, "\xc2\x85", 2);		/* 1 + 1 */
	plan_write(&fx, "alice", text, 60000);
	memmove(text + 49151, text + 49153, 60000 - 49153);
	want = plan_reply(text, 60000 - 2, &len);
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(finger(LOCAL, fx.port, "alice\r\n", 7, &b), 0);
	assert_bytes(&b, want, len, "UTF-8 across 16384, 32768, 49152");
	buffer_free(&b);
	free(want);
	free(text);
	stopped_cleanly();
}

static int
fd_write_all(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	return close(fd);
}

/*
 * The reply cache (cache.c) keeps only plans that have not changed for a
 * second: the daemon started, waits until alice's has, then has her reply
 * built and cached, and checks the cached reply is the same as the first.
 */
static void
started_with_alice_cached(void)
{
	daemon_start(&fx, "-B", LOCAL, NULL);
	usleep(2100 * 1000);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("alice\r\n", REPLY_ALICE);
}

/*
 * The hardest change for a cache: same inode, same size, new bytes
 * ("Down" becomes "Town"); alice's reply says so.
 */
static void
alice_plan_changed_in_place(void)
{
	char path[256];
	int fd;

	plan_path(&fx, "alice", path, sizeof(path));
	cr_assert((fd = open(path, O_WRONLY)) >= 0);
	cr_assert_eq(pwrite(fd, "T", 1, 0), 1);
	close(fd);
	EXPECT("alice\r\n", LOGIN_ALICE "Plan:\r\n"
	    "Town the rabbit hole.\r\nCuriouser and curiouser!\r\n");
}

Test(daemon, cache_sees_a_change_in_place)
{
	started_with_alice_cached();
	alice_plan_changed_in_place();
	stopped_cleanly();
}

Test(daemon, cache_sees_a_replaced_plan)
{
	char path[256], fresh[300];

	started_with_alice_cached();
	plan_path(&fx, "alice", path, sizeof(path));
	snprintf(fresh, sizeof(fresh), "%s.new", path);
	cr_assert((fd_write_all(fresh, "Replaced.\n")) == 0);
	cr_assert_eq(rename(fresh, path), 0);
	EXPECT("alice\r\n", LOGIN_ALICE "Plan:\r\nReplaced.\r\n");
	stopped_cleanly();
}

/*
 * Without inotify (the account's instances used up), a warning, and every
 * query looks the plan up with statx: a change is seen all the same.
 */
Test(daemon, cache_without_inotify)
{
	fx.child_setup = child_block_inotify;
	started_with_alice_cached();
	EXPECT_LOG("^fingerd: inotify_init1: plans are looked at on every "
	    "query: Operation not permitted$");
	alice_plan_changed_in_place();
	stopped_cleanly();
}

Test(daemon, cache_sees_a_plan_become_a_link)
{
	char path[256], target[300];

	started_with_alice_cached();
	plan_path(&fx, "alice", path, sizeof(path));
	snprintf(target, sizeof(target), "%s.real", path);
	cr_assert_eq(rename(path, target), 0);
	cr_assert_eq(symlink(target, path), 0);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	stopped_cleanly();
}

/*
 * path (alice's plan or home) made mode: the daemon, now nobody, may not
 * read her plan, cached or not.
 */
static void
alice_hidden_by_chmod(const char *path, mode_t mode)
{
	skip_unless_root();
	started_with_alice_cached();
	cr_assert_eq(chmod(path, mode), 0);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	stopped_cleanly();
}

/* Made private. */
Test(daemon, cache_sees_a_plan_made_private)
{
	char path[256];

	plan_path(&fx, "alice", path, sizeof(path));
	alice_hidden_by_chmod(path, 0600);
}

/* Its home closed to others: statx, as open, can no longer reach it. */
Test(daemon, cache_sees_a_home_closed)
{
	char home[256];

	snprintf(home, sizeof(home), "%s/home/alice", fx.dir);
	alice_hidden_by_chmod(home, 0700);
}

/*
 * Alice's home made 0700 (root only: the daemon then runs as another
 * user): its path into home, the warning expected into pattern.
 */
static void
alice_home_closed(char *home, size_t home_size, char *pattern,
    size_t pattern_size)
{
	skip_unless_root();
	snprintf(home, home_size, "%s/home/alice", fx.dir);
	cr_assert_eq(chmod(home, 0700), 0);
	snprintf(pattern, pattern_size, "member alice: plan \"%s/\\.plan\" "
	    "is out of reach of fingerd's account: its home is not "
	    "searchable; to serve it: chmod o\\+x %s$", home, home);
}

/*
 * A home the daemon's account cannot search (Debian 12's adduser makes
 * them 0700): at the start and at each reading of the group, one warning
 * that names the login, the plan and the command that opens it (issue 21).
 */
Test(daemon, a_home_out_of_reach_is_logged_with_its_fix)
{
	char home[256], pattern[1024];

	alice_home_closed(home, sizeof(home), pattern, sizeof(pattern));
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(log_count(&fx, pattern), 1, "no warning, or not once");
	cr_assert_eq(log_count(&fx, "out of reach"), 1);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	daemon_signal(&fx, SIGHUP);
	cr_assert(log_wait(&fx, "event=reload group=finger members=5 .* why=sighup$", 1,
	    WAIT_LOG_MS));
	cr_assert_eq(log_count(&fx, pattern), 2,
	    "not warned again at the reload");
	cr_assert_eq(chmod(home, 0755), 0);
	daemon_signal(&fx, SIGHUP);
	cr_assert(log_wait(&fx, "event=reload group=finger members=5 .* why=sighup$", 2,
	    WAIT_LOG_MS));
	cr_assert_eq(log_count(&fx, "out of reach"), 2);
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * A warning's command, taken as an admin should: after the first "to
 * serve it: " that follows the quoted fields (the plan, the directory).
 * What the user database says is in them, escaped, no '"' in it; the
 * login before them is escaped too; the command after them may hold a
 * '"' of its own, in single quotes, and "to serve it: " as well.  NULL
 * where there is none.
 */
static const char *
warning_command(const char *line)
{
	const char *p = line, *open, *marker;

	while ((open = strchr(p, '"')) != NULL &&
	    (p = strchr(open + 1, '"')) != NULL) {
		p++;
		marker = strstr(p, "to serve it: ");
		open = strchr(p, '"');
		if (marker != NULL && (open == NULL || marker < open))
			return marker + strlen("to serve it: ");
	}
	return NULL;
}

/*
 * A home beneath a directory the daemon's account cannot search (its
 * open fails, EACCES): one warning at the start that names the
 * directory and the command that opens it, and the exchange logged
 * why=denied, not why=missing with no warning.  A home reached through a
 * symbolic link whose target is beneath it: the warning names the link,
 * and no command (a chmod of the link would change its target), in words
 * an admin does not take for one (warning_command).  Once the
 * directory is opened, a new generation finds the homes within the
 * probes' two seconds and serves them.
 */
Test(daemon, a_home_beneath_a_closed_directory_is_logged_with_its_fix)
{
	char closed[128], home[192], plan[256], via[128], pattern[1024];
	struct buffer line;

	skip_unless_root();
	snprintf(closed, sizeof(closed), "%s/closed", fx.dir);
	snprintf(home, sizeof(home), "%s/deep", closed);
	snprintf(via, sizeof(via), "%s/via", fx.dir);
	cr_assert(mkdir(closed, 0700) == 0 && chmod(closed, 0700) == 0);
	cr_assert(mkdir(home, 0755) == 0 && chmod(home, 0755) == 0);
	cr_assert_eq(symlink(home, via), 0);
	snprintf(plan, sizeof(plan), "%s/.plan", home);
	write_text(plan, "Deep down.\n");
	passwd_append(&fx, "deep", 1024, home);
	passwd_append(&fx, "viadeep", 1025, via);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",deep,viadeep");
	daemon_start(&fx, "-B", LOCAL, NULL);
	snprintf(pattern, sizeof(pattern), "member deep: plan \"%s/\\.plan\" "
	    "is out of reach of fingerd's account: \"%s\" is not searchable; "
	    "to serve it: chmod o\\+x %s$", home, closed, closed);
	cr_assert_eq(log_count(&fx, pattern), 1, "no warning, or not once");
	snprintf(pattern, sizeof(pattern), "member viadeep: plan \"%s/\\.plan\" "
	    "is out of reach of fingerd's account: the symbolic link \"%s\" "
	    "leads through a directory it cannot search; to serve it, make "
	    "that directory searchable by others \\(o\\+x; it is on the "
	    "path the link leads to\\)$", via, via);
	cr_assert_eq(log_count(&fx, pattern), 1, "the link's warning, or not "
	    "once");
	cr_assert(log_find(&fx, "member viadeep: ", &line));
	cr_assert_null(warning_command(line.data), "%s", line.data);
	buffer_free(&line);
	EXPECT("deep\r\n", "Login: deep\tName: deep\r\n" NO_PLAN);
	EXPECT_LOG("query=\"deep\" reply=no-plan why=denied end=ok ");
	EXPECT("viadeep\r\n", "Login: viadeep\tName: viadeep\r\n" NO_PLAN);
	EXPECT_LOG("query=\"viadeep\" reply=no-plan why=denied end=ok ");
	cr_assert_eq(chmod(closed, 0755), 0);
	cr_assert(log_wait(&fx, "event=reload group=finger members=7 "
	    "generation=[0-9]+ why=home-answered$", 1, WAIT_LOG_MS),
	    "the home opened was not found");
	EXPECT("deep\r\n", "Login: deep\tName: deep\r\nPlan:\r\n"
	    "Deep down.\r\n");
	EXPECT("viadeep\r\n", "Login: viadeep\tName: viadeep\r\nPlan:\r\n"
	    "Deep down.\r\n");
	stopped_cleanly();
}

/* A closed directory's warning where the log escapes its name. */
#define NO_COMMAND	"to serve it, make that directory searchable by " \
			"others (o+x; its name has a byte the log escapes)"
/* One where a member could change what its path leads to. */
#define NOT_FIRM	"to serve it, make that directory searchable by " \
			"others (o+x; its path has a symbolic link, or a " \
			"directory not root's alone)"

/*
 * A login and a home with control characters (an NSS entry is not ours
 * to trust; a newline cannot be in a passwd line, an ESC, a TAB or a DEL
 * can): the warning escapes each as the exchange's line escapes a query,
 * wherever it names them, and no raw byte reaches the log.
 */
Test(daemon, a_warning_escapes_what_the_user_database_says)
{
	char closed[128], home[192], want[1024];
	struct buffer line;

	skip_unless_root();
	snprintf(closed, sizeof(closed), "%s/clo\x1bsed", fx.dir);
	snprintf(home, sizeof(home), "%s/t\tab", closed);
	cr_assert(mkdir(closed, 0700) == 0 && chmod(closed, 0700) == 0);
	cr_assert(mkdir(home, 0755) == 0 && chmod(home, 0755) == 0);
	passwd_append(&fx, "de\x7fl", 1024, home);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",de\x7fl");
	daemon_start(&fx, "-B", LOCAL, NULL);
	log_warnings_each_reading(&fx, "out of reach", 1,
	    "member de\\\\x7fl: plan ");
	cr_assert(log_find(&fx, "out of reach", &line));
	snprintf(want, sizeof(want), "member de\\x7fl: plan "
	    "\"%s/clo\\x1bsed/t\\x09ab/.plan\" is out of reach of fingerd's "
	    "account: \"%s/clo\\x1bsed\" is not searchable; %s", fx.dir, fx.dir,
	    NO_COMMAND);
	cr_assert_str_eq(strstr(line.data, "member "), want);
	buffer_free(&line);
	stopped_cleanly();
}

/*
 * Closed directories whose names a shell does not take as written (a
 * space, a ';', a command substitution, a backtick, quotes of both
 * kinds): the warning's command names each in single quotes, a ' as
 * '\''.  One whose name a shell takes literally (letters, digits and
 * /._+@,:=-) is named as it is; one with a byte the log escapes (a
 * backslash) gets no command, but what to do.
 */
Test(daemon, a_warning_quotes_a_name_a_shell_would_not_take_literally)
{
	static const struct {
		const char	*name, *logged;
		const char	*open, *tail;	/* the command's operand: open,
						   fx.dir, tail; NULL: none */
	} odd[] = {
		{ "sp ace", "sp ace", "'", "/sp ace'" },
		{ "semi;colon", "semi;colon", "'", "/semi;colon'" },
		{ "$(touch x)", "$(touch x)", "'", "/$(touch x)'" },
		{ "back`tick`", "back`tick`", "'", "/back`tick`'" },
		{ "quo\"te", "quo\\x22te", "'", "/quo\"te'" },
		{ "it's", "it's", "'", "/it'\\''s'" },
		{ "back\\slash", "back\\x5cslash", NULL, NULL },
		{ "plain_1.2+@,=-", "plain_1.2+@,=-", "", "/plain_1.2+@,=-" },
						/* (a ':' cannot be in passwd) */
	};
	char closed[128], home[192], want[1024], login[16];
	struct buffer line;
	size_t i, n = sizeof(odd) / sizeof(odd[0]);

	skip_unless_root();
	for (i = 0; i < n; i++) {
		snprintf(closed, sizeof(closed), "%s/%s", fx.dir, odd[i].name);
		snprintf(home, sizeof(home), "%s/home", closed);
		cr_assert(mkdir(closed, 0700) == 0 && chmod(closed, 0700) == 0);
		cr_assert(mkdir(home, 0755) == 0 && chmod(home, 0755) == 0);
		snprintf(login, sizeof(login), "odd%zu", i);
		passwd_append(&fx, login, 1024 + (unsigned)i, home);
	}
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",odd0,odd1,odd2,odd3,odd4,"
	    "odd5,odd6,odd7");
	daemon_start(&fx, "-B", LOCAL, NULL);
	log_warnings_each_reading(&fx, "out of reach", n, "member odd0: ");
	for (i = 0; i < n; i++) {
		snprintf(closed, sizeof(closed), "%s/%s", fx.dir, odd[i].logged);
		snprintf(want, sizeof(want), "member odd%zu: plan \"%s/home/"
		    ".plan\" is out of reach of fingerd's account: \"%s\" is not "
		    "searchable; ", i, closed, closed);
		if (odd[i].tail == NULL)
			strcat(want, NO_COMMAND);
		else
			snprintf(want + strlen(want), sizeof(want) - strlen(want),
			    "to serve it: chmod o+x %s%s%s", odd[i].open, fx.dir,
			    odd[i].tail);
		snprintf(login, sizeof(login), "member odd%zu: ", i);
		cr_assert(log_find(&fx, login, &line));
		cr_assert_str_eq(strstr(line.data, "member "), want);
		buffer_free(&line);
	}
	stopped_cleanly();
}

/* The permission bits of path itself. */
static mode_t
mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

/* How many entries dir holds, but . and .. */
static size_t
entries_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* command run as /bin/sh -c runs it, in dir; its exit status. */
static int
shell_run(const char *dir, const char *command)
{
	pid_t pid = fork();
	int status;

	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (chdir(dir) == 0)
			execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Pasted: the command of each warning whose directory's name a shell
 * would read otherwise (a space, a ';', $(...), backticks, quotes of
 * both kinds, a glob that matches a sibling too, a leading '-', a
 * redirection, and a name NAME_MAX long of them), taken from the line
 * and run by /bin/sh -c in a directory of its own, changes the mode of
 * that directory (0700 to 0701) and of no other, and runs or makes
 * nothing else (the directory it ran in stays empty, the directories'
 * parent holds what it held).
 */
Test(daemon, a_warnings_command_pasted_into_sh_opens_that_directory_only)
{
	static const char pattern[] = "'$(touch ran)`touch ran`;touch ran;\"";
	const char *name[] = {
		"sp ace", "semi;touch ran", "$(touch ran)", "back`touch ran`",
		"it's; touch ran; '", "say \"hi\"; touch ran", "st*r",
		"-R a+w .", "re>direct", NULL,
	};
	char parent[128], scratch[128], star[192], login[16];
	char longest[NAME_MAX + 1], home[528];
	char closed[sizeof(name) / sizeof(name[0])][512];
	char members[256] = FIXTURE_MEMBERS;
	struct buffer line;
	const char *command;
	size_t i, j, n = sizeof(name) / sizeof(name[0]);

	skip_unless_root();
	for (i = 0; i < NAME_MAX; i++)
		longest[i] = pattern[i % (sizeof(pattern) - 1)];
	longest[NAME_MAX] = '\0';
	name[n - 1] = longest;
	snprintf(parent, sizeof(parent), "%s/closed", fx.dir);
	snprintf(scratch, sizeof(scratch), "%s/scratch", fx.dir);
	snprintf(star, sizeof(star), "%s/star", parent);	/* st*r's */
	cr_assert(mkdir(parent, 0755) == 0 && mkdir(scratch, 0700) == 0);
	cr_assert(mkdir(star, 0700) == 0 && chmod(star, 0700) == 0);
	for (i = 0; i < n; i++) {
		snprintf(closed[i], sizeof(closed[i]), "%s/%s", parent, name[i]);
		snprintf(home, sizeof(home), "%s/%s/home", parent, name[i]);
		cr_assert(mkdir(closed[i], 0700) == 0 &&
		    chmod(closed[i], 0700) == 0, "%s", closed[i]);
		cr_assert(mkdir(home, 0755) == 0 && chmod(home, 0755) == 0);
		snprintf(login, sizeof(login), "paste%zu", i);
		passwd_append(&fx, login, 1024 + (unsigned)i, home);
		strcat(strcat(members, ","), login);
	}
	fixture_group_rewrite(&fx, members);
	daemon_start(&fx, "-B", LOCAL, NULL);
	log_warnings_each_reading(&fx, "out of reach", n, "member paste0: ");
	for (i = 0; i < n; i++) {
		snprintf(login, sizeof(login), "member paste%zu: ", i);
		cr_assert(log_find(&fx, login, &line));
		command = warning_command(line.data);
		cr_assert_not_null(command, "no command: %s", line.data);
		cr_assert_eq(strncmp(command, "chmod o+x ", 10), 0, "%s",
		    command);
		cr_assert_eq(shell_run(scratch, command), 0, "%s", command);
		for (j = 0; j < n; j++)
			cr_assert_eq(mode_of(closed[j]), j <= i ? 0701 : 0700,
			    "%s: %s", command, closed[j]);
		cr_assert_eq(mode_of(star), 0700, "%s", command);
		cr_assert_eq(mode_of(scratch), 0700, "%s", command);
		cr_assert_eq(entries_count(scratch), 0, "%s", command);
		cr_assert_eq(entries_count(parent), n + 1, "%s", command);
		buffer_free(&line);
	}
	stopped_cleanly();
}

/*
 * login's warning, exact: want after "member ", and its command as an
 * admin takes it (warning_command), or none (command NULL).
 */
static void
warned_exactly(const char *login, const char *want, const char *command)
{
	char pattern[64];
	struct buffer line;
	const char *got;

	snprintf(pattern, sizeof(pattern), "member %s: plan", login);
	cr_assert(log_find(&fx, pattern, &line), "%s: no warning", login);
	cr_assert_str_eq(strstr(line.data, "member "), want);
	got = warning_command(line.data);
	if (command == NULL)
		cr_assert_null(got, "%s: a command: %s", login, got);
	else
		cr_assert_str_eq(got, command);
	buffer_free(&line);
}

/*
 * Homes where a root shell's chmod of the directory named would change
 * another (it follows a symbolic link): a symbolic link as the home
 * (symhome: public, to a directory of root's, 0700), one earlier on the
 * path (linkhome: link, to the test's directory, and the closed
 * directory through it), a closed home whose parent its member owns
 * (ownedhome: she may put a link in its place), a closed directory in
 * it (owneddeep), a member's own home in a sticky directory
 * (stickyhome: she may rename it).  Each warning names no command, and
 * says why.  alice's, 0700 in a home/ that root alone writes (beneath
 * /tmp's sticky bit: the test's directory is root's), keeps hers.
 */
Test(daemon, a_home_a_member_can_redirect_is_warned_of_without_a_command)
{
	static const char *const logins[] = {
		"symhome", "linkhome", "ownedhome", "owneddeep", "stickyhome"
	};
	char secret[128], mallory[128], owned[128], sticky[128];
	char home[5][256], want[1024], command[256];
	size_t i;

	skip_unless_root();
	snprintf(secret, sizeof(secret), "%s/secret", fx.dir);
	snprintf(mallory, sizeof(mallory), "%s/home/mallory", fx.dir);
	snprintf(owned, sizeof(owned), "%s/owned", fx.dir);
	snprintf(sticky, sizeof(sticky), "%s/sticky", fx.dir);
	snprintf(home[0], sizeof(home[0]), "%s/public", mallory);
	snprintf(home[1], sizeof(home[1]), "%s/link/secret/x", mallory);
	snprintf(home[2], sizeof(home[2]), "%s/home", owned);
	snprintf(home[3], sizeof(home[3]), "%s/closed/home", owned);
	snprintf(home[4], sizeof(home[4]), "%s/hers", sticky);
	cr_assert(mkdir(secret, 0700) == 0 && chmod(secret, 0700) == 0);
	snprintf(want, sizeof(want), "%s/x", secret);
	cr_assert(mkdir(want, 0755) == 0 && chmod(want, 0755) == 0);
	cr_assert(symlink(secret, home[0]) == 0);
	snprintf(want, sizeof(want), "%s/link", mallory);
	cr_assert(symlink(fx.dir, want) == 0);
	cr_assert(mkdir(owned, 0755) == 0 && chown(owned, 1026, 1026) == 0);
	cr_assert(mkdir(home[2], 0700) == 0 && chmod(home[2], 0700) == 0);
	snprintf(want, sizeof(want), "%s/closed", owned);
	cr_assert(mkdir(want, 0700) == 0 && chmod(want, 0700) == 0);
	cr_assert(mkdir(home[3], 0755) == 0 && chmod(home[3], 0755) == 0);
	cr_assert(mkdir(sticky, 0755) == 0 && chmod(sticky, 01777) == 0);
	cr_assert(mkdir(home[4], 0700) == 0 && chmod(home[4], 0700) == 0 &&
	    chown(home[4], 1028, 1028) == 0);
	for (i = 0; i < 5; i++)
		passwd_append(&fx, logins[i], 1024 + (unsigned)i, home[i]);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",symhome,linkhome,"
	    "ownedhome,owneddeep,stickyhome");
	snprintf(want, sizeof(want), "%s/home/alice", fx.dir);
	cr_assert_eq(chmod(want, 0700), 0);
	daemon_start(&fx, "-B", LOCAL, NULL);
	log_warnings_each_reading(&fx, "out of reach", 6,
	    "member alice: plan ");
	for (i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "member %s: plan \"%s/.plan\" is "
		    "out of reach of fingerd's account: ", logins[i], home[i]);
		if (i == 1 || i == 3)
			snprintf(want + strlen(want), sizeof(want) - strlen(want),
			    "\"%.*s\" is not searchable; " NOT_FIRM,
			    (int)(strrchr(home[i], '/') - home[i]), home[i]);
		else
			strcat(want, "its home is not searchable; " NOT_FIRM);
		warned_exactly(logins[i], want, NULL);
	}
	snprintf(command, sizeof(command), "chmod o+x %s/home/alice", fx.dir);
	snprintf(want, sizeof(want), "member alice: plan \"%s/home/alice/"
	    ".plan\" is out of reach of fingerd's account: its home is not "
	    "searchable; to serve it: %s", fx.dir, command);
	warned_exactly("alice", want, command);
	stopped_cleanly();
}

/*
 * A plan the daemon's account cannot read (0600, as a umask of 077
 * makes it), alice's in her home: warned of with what opens it, in
 * words (a root shell's chmod would follow a symbolic link she put in
 * its place), and no command.  Once she opens it, it is served, and
 * the next reading of the group warns of it no more.
 */
Test(daemon, a_plan_it_cannot_read_is_warned_of_until_it_can)
{
	char home[256], plan[300], want[1024];
	size_t warned;

	skip_unless_root();
	snprintf(home, sizeof(home), "%s/home/alice", fx.dir);
	plan_path(&fx, "alice", plan, sizeof(plan));
	cr_assert(chown(home, 1001, 1001) == 0 &&
	    chown(plan, 1001, 1001) == 0 && chmod(plan, 0600) == 0);
	daemon_start(&fx, "-B", LOCAL, NULL);
	snprintf(want, sizeof(want), "member alice: plan \"%s\" is out of "
	    "reach of fingerd's account: it cannot read the file; to serve "
	    "it, its owner makes it readable by others (o+r)", plan);
	warned_exactly("alice", want, NULL);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	cr_assert_eq(chmod(plan, 0604), 0);
	cr_assert(served_at("alice\r\n", REPLY_ALICE, LATENCY(3), 50) > 0,
	    "not served once readable");
	warned = log_count(&fx, "member alice: ");	/* a reading each */
	daemon_signal(&fx, SIGHUP);
	EXPECT_LOG("event=reload group=finger members=5 .* why=sighup$");
	cr_assert_eq(log_count(&fx, "member alice: "), warned, "warned again");
	stopped_cleanly();
}

/*
 * A plan whose mode lets others read it, which an ACL denies the
 * daemon's account (user:nobody:---, written as setfacl(1) would): the
 * warning says so, and asks for no o+r, which is there.
 */
Test(daemon, a_plan_an_acl_denies_is_warned_of_as_such)
{
	const struct {
		uint16_t	 tag, perm;
		uint32_t	 id;
	} acl[] = {
		{ 0x01, 6, UINT32_MAX }, { 0x02, 0, 65534 },	/* nobody */
		{ 0x04, 4, UINT32_MAX }, { 0x10, 4, UINT32_MAX },
		{ 0x20, 4, UINT32_MAX },
	};
	char xattr[4 + sizeof(acl)], plan[300], want[1024];
	const uint32_t version = 2;

	skip_unless_root();
	plan_path(&fx, "alice", plan, sizeof(plan));
	memcpy(xattr, &version, 4);
	memcpy(xattr + 4, acl, sizeof(acl));
	if (setxattr(plan, "system.posix_acl_access", xattr, sizeof(xattr),
	    0) != 0)
		cr_skip_test("no POSIX ACL here: %s", strerror(errno));
	cr_assert_eq(mode_of(plan), 0644);
	daemon_start(&fx, "-B", LOCAL, NULL);
	snprintf(want, sizeof(want), "member alice: plan \"%s\" is out of "
	    "reach of fingerd's account: it cannot read the file, though its "
	    "mode lets it (an ACL, a security module, or the file system's own "
	    "options deny it)", plan);
	warned_exactly("alice", want, NULL);
	EXPECT("alice\r\n", LOGIN_ALICE NO_PLAN);
	EXPECT_LOG("query=\"alice\" reply=no-plan why=denied end=ok ");
	stopped_cleanly();
}

/*
 * A home whose path holds what looks like a command (an NSS source such
 * as LDAP may hold a ':' too, passwd not): the directory the warning
 * names is quoted as the plan is, so that the forged words sit within a
 * quoted field, before the real command; that command, taken as an
 * admin should and pasted, opens that directory (0700 to 0701).
 */
Test(daemon, a_home_path_that_forges_a_command_stays_within_its_quotes)
{
	char base[192], closed[256], home[320], want[1024], command[320];

	skip_unless_root();
	snprintf(base, sizeof(base), "%s/x; to serve it; chmod o+x ", fx.dir);
	snprintf(closed, sizeof(closed), "%s/root #", base);
	snprintf(home, sizeof(home), "%s/home", closed);
	cr_assert(mkdir(base, 0755) == 0 && chmod(base, 0755) == 0);
	cr_assert(mkdir(closed, 0700) == 0 && chmod(closed, 0700) == 0);
	cr_assert(mkdir(home, 0755) == 0 && chmod(home, 0755) == 0);
	passwd_append(&fx, "forged", 1024, home);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",forged");
	daemon_start(&fx, "-B", LOCAL, NULL);
	snprintf(command, sizeof(command), "chmod o+x '%s'", closed);
	snprintf(want, sizeof(want), "member forged: plan \"%s/.plan\" is out "
	    "of reach of fingerd's account: \"%s\" is not searchable; to "
	    "serve it: %s", home, closed, command);
	warned_exactly("forged", want, command);
	cr_assert_eq(shell_run(fx.dir, command), 0, "%s", command);
	cr_assert_eq(mode_of(closed), 0701);
	cr_assert_eq(mode_of(base), 0755);
	stopped_cleanly();
}

/*
 * Directories made beneath path (its own length len) until it is size
 * bytes long, each name up to 200 bytes.
 */
static void
directories_deepen(char *path, size_t len, size_t size)
{
	size_t name;

	while (len < size) {
		name = size - len - 1 < 200 ? size - len - 1 : 200;
		path[len++] = '/';
		memset(path + len, 'd', name);
		len += name;
		path[len] = '\0';
		cr_assert(mkdir(path, 0755) == 0 && chmod(path, 0755) == 0,
		    "mkdir: %s", strerror(errno));
	}
}

/*
 * login's warning, exact: home beneath closed, which is not searchable,
 * and the command that serves it too long for the line.
 */
static void
too_long_warned(const char *login, const char *home, const char *closed)
{
	char pattern[64], want[2 * PATH_MAX + 256];
	struct buffer line;

	snprintf(pattern, sizeof(pattern), "member %s: plan", login);
	cr_assert(log_find(&fx, pattern, &line), "%s: no warning", login);
	snprintf(want, sizeof(want), "member %s: plan \"%s/.plan\" is out of "
	    "reach of fingerd's account: \"%s\" is not searchable; the command "
	    "that serves it is too long for a line of the log", login, home,
	    closed);
	cr_assert_str_eq(strstr(line.data, "member "), want);
	buffer_free(&line);
}

/*
 * Homes beneath a closed directory whose path makes the line too long
 * for the log (PIPE_BUF) with the command: the warning says so and names
 * no command, never a chmod of a path cut short (a parent directory).
 * longdeep's line, its directory 1,400 bytes long, fits without the
 * command: exact.  deepest's, its home near PATH_MAX, cannot fit: cut,
 * it names no command either.
 */
Test(daemon, a_home_too_long_for_its_command_is_warned_of_without_one)
{
	char closed[PATH_MAX], home[PATH_MAX], deepest[PATH_MAX];
	struct buffer line;

	skip_unless_root();
	snprintf(closed, sizeof(closed), "%s/closed", fx.dir);
	cr_assert(mkdir(closed, 0755) == 0);
	directories_deepen(closed, strlen(closed), 1400);
	memcpy(home, closed, sizeof(closed));
	directories_deepen(home, strlen(home), 1450);
	memcpy(deepest, home, sizeof(home));
	directories_deepen(deepest, strlen(deepest), PATH_MAX - 100);
	cr_assert_eq(chmod(closed, 0700), 0);
	passwd_append(&fx, "longdeep", 1024, home);
	passwd_append(&fx, "deepest", 1025, deepest);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",longdeep,deepest");
	daemon_start(&fx, "-B", LOCAL, NULL);
	too_long_warned("longdeep", home, closed);
	cr_assert(log_find(&fx, "member deepest: plan", &line));
	cr_assert_null(strstr(line.data, "chmod"), "%s", line.data);
	buffer_free(&line);
	EXPECT("longdeep\r\n", "Login: longdeep\tName: longdeep\r\n" NO_PLAN);
	EXPECT_LOG("query=\"longdeep\" reply=no-plan why=denied end=ok ");
	stopped_cleanly();
}

/*
 * A closed directory of three names of 255 quotes: the line fits whole
 * with its path as it is (799 bytes), but not with the command, each '
 * quoted as '\'' (3,097 bytes): it says the command is too long, and
 * never writes one cut short.
 */
Test(daemon, a_command_its_quoting_makes_too_long_is_not_given)
{
	char quotes[NAME_MAX + 1], closed[PATH_MAX], home[PATH_MAX + 8];
	int i;

	skip_unless_root();
	memset(quotes, '\'', NAME_MAX);
	quotes[NAME_MAX] = '\0';
	snprintf(closed, sizeof(closed), "%s/closed", fx.dir);
	cr_assert(mkdir(closed, 0755) == 0);
	for (i = 0; i < 3; i++) {
		strcat(strcat(closed, "/"), quotes);
		cr_assert(mkdir(closed, 0755) == 0, "%s", strerror(errno));
	}
	snprintf(home, sizeof(home), "%s/home", closed);
	cr_assert(mkdir(home, 0755) == 0 && chmod(home, 0755) == 0);
	cr_assert_eq(chmod(closed, 0700), 0);
	passwd_append(&fx, "quoted", 1024, home);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",quoted");
	daemon_start(&fx, "-B", LOCAL, NULL);
	too_long_warned("quoted", home, closed);
	stopped_cleanly();
}

/*
 * The same under -i (issue 21, 1), which never surveyed the homes: one
 * warning, with the path and the command that fixes it, at each start
 * (each exchange; the log begins anew at each here); none once fixed.
 */
Test(daemon, inetd_warns_of_a_home_out_of_reach)
{
	char home[256], pattern[1024];
	struct buffer reply;
	double took;

	alice_home_closed(home, sizeof(home), pattern, sizeof(pattern));
	cr_assert_eq(inetd_finger(&fx, "alice\r\n", &reply, &took, "-i",
	    NULL), 0);
	assert_reply(&reply, LOGIN_ALICE NO_PLAN, "-i, alice's home 0700");
	buffer_free(&reply);
	cr_assert_eq(log_count(&fx, pattern), 1, "no warning, or not once");
	cr_assert_eq(log_count(&fx, "out of reach"), 1);
	cr_assert_eq(chmod(home, 0755), 0);
	cr_assert_eq(inetd_finger(&fx, "alice\r\n", &reply, &took, "-i",
	    NULL), 0);
	assert_reply(&reply, REPLY_ALICE, "-i, alice's home 0755");
	buffer_free(&reply);
	cr_assert_eq(log_count(&fx, "out of reach"), 0);
}

/*
 * Homes that lead to / without being spelled so (issue 20, 7): not
 * served, each one logged at the start; the others are.
 */
Test(daemon, a_home_that_leads_to_slash_is_not_served)
{
	char link[256];

	snprintf(link, sizeof(link), "%s/to-root", fx.dir);
	cr_assert_eq(symlink("/", link), 0);
	passwd_append(&fx, "dot", 1021, "/.");
	passwd_append(&fx, "up", 1022, "/usr/..");
	passwd_append(&fx, "linked", 1023, link);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",dot,up,linked");
	daemon_start(&fx, "-B", LOCAL, NULL);
	cr_assert_eq(log_count(&fx, "is not served: it is the root "
	    "directory$"), 3);
	cr_assert_eq(log_count(&fx, "member dot: home \"/\\.\" is not "
	    "served"), 1);
	cr_assert_eq(log_count(&fx, "member up: home \"/usr/\\.\\.\" is not "
	    "served"), 1);
	cr_assert_eq(log_count(&fx, "member linked: home \".*/to-root\" is "
	    "not served"), 1);
	EXPECT("dot\r\n", "Login: dot\tName: dot\r\n" NO_PLAN);
	EXPECT("linked\r\n", "Login: linked\tName: linked\r\n" NO_PLAN);
	EXPECT_LOG("query=\"dot\" reply=no-plan why=denied end=ok ");
	EXPECT_LOG("query=\"linked\" reply=no-plan why=denied end=ok ");
	EXPECT("alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/* ---------------------------------------------------------------- /W */

#define PROJECT_LINE(text)	"Project: " text "\r\n"
#define KEY_PART(text)		"PGP key:\r\n" text
#define PLAN_PART_ALICE		"Plan:\r\nDown the rabbit hole.\r\n" \
				"Curiouser and curiouser!\r\n"

/* Each file alone, then both; a plain query never shows either. */
Test(daemon, verbose_each_file_alone)
{
	daemon_start(&fx, "-B", LOCAL, NULL);
	home_file_write(&fx, "alice", ".project", "Tea party\n", 10);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("Tea party")
	    PLAN_PART_ALICE);
	home_file_remove(&fx, "alice", ".project");
	home_file_write(&fx, "alice", ".pgpkey", "k1\nk2", 5);
	EXPECT("/W alice\r\n", LOGIN_ALICE KEY_PART("k1\r\nk2\r\n")
	    PLAN_PART_ALICE);
	home_file_write(&fx, "alice", ".project", "", 0);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("")
	    KEY_PART("k1\r\nk2\r\n") PLAN_PART_ALICE);
	home_file_write(&fx, "alice", ".pgpkey", "", 0);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("") KEY_PART("")
	    PLAN_PART_ALICE);
	EXPECT("alice\r\n", REPLY_ALICE);
	plan_remove(&fx, "alice");
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("") KEY_PART("")
	    NO_PLAN);
	stopped_cleanly();
}

/*
 * A .project or .pgpkey that is a link (even to a readable file), a FIFO
 * (no writer: an open that waited would hang), a directory: left out, at
 * once, as the plan is.
 */
Test(daemon, verbose_links_fifos_and_directories_left_out)
{
	char target[256];
	double start;

	home_file_path(&fx, "alice", "readable", target, sizeof(target));
	home_file_write(&fx, "alice", "readable", "secret project\n", 15);
	home_file_symlink(&fx, "alice", ".project", target);
	home_file_fifo(&fx, "alice", ".pgpkey");
	home_file_fifo(&fx, "bob", ".project");
	home_file_symlink(&fx, "bob", ".pgpkey", target);
	home_file_write(&fx, "dan", ".pgpkey", "", 0);
	home_file_remove(&fx, "dan", ".pgpkey");
	{
		char path[256];

		home_file_path(&fx, "dan", ".pgpkey", path, sizeof(path));
		cr_assert_eq(mkdir(path, 0755), 0);
	}
	daemon_start(&fx, "-B", LOCAL, NULL);
	start = now_seconds();
	EXPECT("/W alice\r\n", REPLY_ALICE);
	EXPECT("/W bob\r\n", "Login: bob\tName: Bob Builder\r\n"
	    "Plan:\r\nCan we fix it?\r\nYes we can!\r\n");
	EXPECT("/W dan\r\n", REPLY_W_DAN);
	cr_assert_lt(now_seconds() - start, LATENCY(1.0),
	    "the replies waited on a FIFO: %.2f s", now_seconds() - start);
	stopped_cleanly();
}

/* A 1 MiB .pgpkey: its first 64 KiB, converted; the cut is logged. */
Test(daemon, verbose_key_cut_at_64_kib)
{
	char *text = huge_text(1 << 20), *key, *want;
	size_t key_len;

	home_file_write(&fx, "bob", ".pgpkey", text, 1 << 20);
	key = crlf_convert(text, 65536, &key_len);
	cr_assert(asprintf(&want, "Login: bob\tName: Bob Builder\r\n"
	    "Project: Building things\r\nPGP key:\r\n%.*s"
	    "Plan:\r\nCan we fix it?\r\nYes we can!\r\n", (int)key_len,
	    key) > 0);
	daemon_start(&fx, "-B", LOCAL, NULL);
	expect_at(LOCAL, "/W bob\r\n", want, strlen(want));
	EXPECT_LOG("query=\"/W bob\" reply=plan-key-cut end=ok ");
	expect_at(LOCAL, "/W bob\r\n", want, strlen(want));
	EXPECT("bob\r\n", REPLY_BOB);
	EXPECT_LOG("query=\"bob\" reply=plan end=ok ");
	stopped_cleanly();
	free(text);
	free(key);
	free(want);
}

/*
 * A .project changed between two queries: the second has its new line,
 * whether the first reply was cached or not, the change in place and of
 * the same size included.
 */
Test(daemon, verbose_sees_a_changed_project)
{
	char path[256];

	home_file_path(&fx, "alice", ".project", path, sizeof(path));
	cr_assert_eq(fd_write_all(path, "one\n"), 0);
	daemon_start(&fx, "-B", LOCAL, NULL);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("one")
	    PLAN_PART_ALICE);
	cr_assert_eq(fd_write_all(path, "two\n"), 0);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("two")
	    PLAN_PART_ALICE);
	usleep(2100 * 1000);		/* settled: the reply is cached */
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("two")
	    PLAN_PART_ALICE);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("two")
	    PLAN_PART_ALICE);
	cr_assert_eq(fd_write_all(path, "owt\nand more\n"), 0);
	EXPECT("/W alice\r\n", LOGIN_ALICE PROJECT_LINE("owt")
	    PLAN_PART_ALICE);
	home_file_remove(&fx, "alice", ".project");
	EXPECT("/W alice\r\n", REPLY_ALICE);
	stopped_cleanly();
}

/*
 * The list with logins of 1, 8 and 32 bytes and names of multi-byte
 * characters: the names start in one column, 32 + 2 from the left.
 */
Test(daemon, list_columns_of_long_and_short_logins)
{
	FILE *fp;
	char want[1024];
	const char *pad = "                                  ";

	cr_assert_not_null(fp = fopen(fx.passwd, "a"));
	fprintf(fp, "z:x:2001:79:Z\xc3\xa9\xc3\xa9:/nonexistent:/bin/sh\n"
	    "eightchr:x:2002:79:\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e:"
	    "/nonexistent:/bin/sh\n"
	    "a23456789012345678901234567890bc:x:2003:79:Thirty Two:"
	    "/nonexistent:/bin/sh\n");
	fclose(fp);
	daemon_start(&fx, "-B", LOCAL, NULL);
	snprintf(want, sizeof(want), "Login%.*sName\r\n"
	    "a23456789012345678901234567890bc  Thirty Two\r\n"
	    "alice%.*sAlice Liddell\r\n"
	    "bob%.*sBob Builder\r\n"
	    "carol%.*sCarol Noplan\r\n"
	    "dan%.*sDan Noeol\r\n"
	    "eightchr%.*s\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e\r\n"
	    "erin%.*sErin Unsafe\r\n"
	    "z%.*sZ\xc3\xa9\xc3\xa9\r\n",
	    29, pad, 29, pad, 31, pad, 29, pad, 31, pad, 26, pad, 30, pad,
	    33, pad);
	expect_at(LOCAL, "\r\n", want, strlen(want));
	stopped_cleanly();
}
