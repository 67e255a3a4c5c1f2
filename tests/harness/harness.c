/*
 * The system tests' harness (see harness.h).  Failures in the fixture or
 * the client are reported with Criterion's assertions, which end the test
 * at once; the daemon's own behaviour is left to the tests to judge.
 */
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define MAX_FLAGS	32
#define LOG_SHOWN	4096	/* bytes of a log in a failure's message */

extern char **environ;

static const char *const fixture_plans[][2] = {
	{ "alice", PLAN_ALICE },
	{ "bob", PLAN_BOB },
	{ "dan", PLAN_DAN },
	{ "mallory", PLAN_MALLORY },
	{ "zoe", PLAN_ZOE },
};

/* The files /W shows: login, name, content. */
static const char *const fixture_extras[][3] = {
	{ "bob", ".project", PROJECT_BOB },
	{ "bob", ".pgpkey", PGPKEY_BOB },
	{ "dan", ".project", PROJECT_DAN },
	{ "carol", ".pgpkey", PGPKEY_CAROL },
};

/* Where an account's home is under the fixture: zoe's is apart. */
static const char *
home_dir(const char *login)
{
	return strcmp(login, "zoe") == 0 ? "srv" : "home";
}

/*
 * A measured figure, as a row of the Markdown table in the file that
 * FINGERD_FIGURES names (make pressure: bench/results/pressure.md), with
 * the engine it ran under and the bound its test asserts.
 */
void
figure(const char *what, double value, const char *unit, const char *bound)
{
	const char *path = getenv("FINGERD_FIGURES");
	const char *engine = getenv("FINGERD_ENGINE");
	FILE *fp;

	if (path == NULL || path[0] == '\0' || (fp = fopen(path, "a")) == NULL)
		return;
	fprintf(fp, "| %s | %s | %.3f %s | %s |\n", what,
	    engine != NULL && engine[0] != '\0' ? engine : "auto", value, unit,
	    bound);
	fclose(fp);
}

double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The daemon runs under valgrind (make check-valgrind): its process is
 * valgrind's, with valgrind's descriptors, limits and system calls, and
 * no seccomp filter or Landlock domain (valgrind runs neither).  What
 * /proc shows of descriptors, memory and confinement is then not the
 * daemon's own, and the tests that read it check it in the other builds.
 */
bool
under_valgrind(void)
{
	return getenv("FINGERD_VALGRIND") != NULL;
}

/* Whether the suites run the daemon with the epoll engine (-E epoll). */
bool
engine_epoll(void)
{
	const char *engine = getenv("FINGERD_ENGINE");

	return engine != NULL && strcmp(engine, "epoll") == 0;
}

int
wait_scale(void)
{
	const char *scale = getenv("FINGERD_WAIT_SCALE");
	int n = scale != NULL ? atoi(scale) : 1;

	return n > 0 ? n : 1;
}

/* Milliseconds left before deadline (from now_seconds), at least 0. */
static int
ms_left(double deadline)
{
	double left = deadline - now_seconds();

	return left > 0 ? (int)(left * 1000) + 1 : 0;
}

void
buffer_append(struct buffer *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->size) {
		b->size = 2 * (b->len + len + 1);
		b->data = realloc(b->data, b->size);
		cr_assert_not_null(b->data, "out of memory");
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buffer_free(struct buffer *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *p = data;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(fd >= 0, "fixture: open %s: %s", path, strerror(errno));
	while (len > 0) {
		n = write(fd, p, len);
		cr_assert(n > 0, "fixture: write %s: %s", path,
		    strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	cr_assert(fchmod(fd, mode) == 0 && close(fd) == 0,
	    "fixture: %s: %s", path, strerror(errno));
}

/* A whole file into b; empty when it cannot be opened. */
void
read_file(const char *path, struct buffer *b)
{
	char chunk[65536];
	ssize_t n;
	int fd;

	memset(b, 0, sizeof(*b));
	buffer_append(b, "", 0);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buffer_append(b, chunk, (size_t)n);
	close(fd);
}

static void
fixture_file(const struct fixture *f, const char *name, char *path,
    size_t size)
{
	int n = snprintf(path, size, "%s/%s", f->dir, name);

	cr_assert(n > 0 && (size_t)n < size, "fixture: path too long");
}

static void
home_path(const struct fixture *f, const char *login, char *path, size_t size)
{
	int n = snprintf(path, size, "%s/%s/%s", f->dir, home_dir(login),
	    login);

	cr_assert(n > 0 && (size_t)n < size, "fixture: path too long");
}

void
home_file_path(const struct fixture *f, const char *login, const char *name,
    char *path, size_t size)
{
	int n = snprintf(path, size, "%s/%s/%s/%s", f->dir, home_dir(login),
	    login, name);

	cr_assert(n > 0 && (size_t)n < size, "fixture: path too long");
}

void
plan_path(const struct fixture *f, const char *login, char *path,
    size_t size)
{
	home_file_path(f, login, ".plan", path, size);
}

/* The accounts, unsorted; a home is under the fixture when named. */
static void
fixture_passwd(struct fixture *f)
{
	static const char *const accounts[][2] = {
		{ "root:x:0:0:root:/root", NULL },
		{ "nobody:x:65534:65534:nobody:/nonexistent", NULL },
		{ "erin:x:1005:1005:Erin Unsafe,,,:", "erin" },
		{ "bob:x:1002:79:Bob Builder:", "bob" },
		{ "mallory:x:1006:100:Mallory Outsider:", "mallory" },
		{ "zoe:x:1007:1007:Zoe Elsewhere:", "zoe" },
		{ "rooted:x:1008:1008:Rooted At Slash:/", NULL },
		{ "alice:x:1001:1001:Alice Liddell,Room 1,555-0101,:", "alice" },
		{ "dan:x:1004:1004:Dan Noeol:", "dan" },
		{ "carol:x:1003:1003:Carol Noplan:", "carol" },
	};
	char text[4096], home[256];
	size_t i, n = 0;

	for (i = 0; i < sizeof(accounts) / sizeof(accounts[0]); i++) {
		home[0] = '\0';
		if (accounts[i][1] != NULL)
			home_path(f, accounts[i][1], home, sizeof(home));
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "%s%s:/bin/sh\n", accounts[i][0], home);
		cr_assert(n < sizeof(text), "fixture: passwd too long");
	}
	write_file(f->passwd, text, n, 0644);
}

/*
 * Rewritten in place, as the daemon may be allowed (Landlock) to read
 * that file and not a new one renamed over it.  nss_wrapper reloads only
 * when the mtime, in seconds, has changed: it is moved a second on.
 */
void
fixture_group_rewrite(struct fixture *f, const char *members)
{
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	struct stat st;
	bool existed = stat(f->group, &st) == 0;
	char text[512];

	snprintf(text, sizeof(text), "root:x:0:\nusers:x:100:\n"
	    "finger:x:%d:%s\nnogroup:x:65534:\n", FIXTURE_GID, members);
	write_file(f->group, text, strlen(text), 0644);
	if (!existed)
		return;
	times[1].tv_sec = st.st_mtim.tv_sec + 1;
	cr_assert(utimensat(AT_FDCWD, f->group, times, 0) == 0,
	    "fixture: utimensat: %s", strerror(errno));
}

static void
fixture_homes(struct fixture *f)
{
	static const char *const logins[] = {
		"alice", "bob", "carol", "dan", "erin", "mallory", "zoe"
	};
	char path[256];
	size_t i;

	fixture_file(f, "home", path, sizeof(path));
	cr_assert(mkdir(path, 0755) == 0, "fixture: mkdir: %s",
	    strerror(errno));
	fixture_file(f, "srv", path, sizeof(path));
	cr_assert(mkdir(path, 0755) == 0 && chmod(path, 0755) == 0,
	    "fixture: mkdir: %s", strerror(errno));
	for (i = 0; i < sizeof(logins) / sizeof(logins[0]); i++) {
		home_path(f, logins[i], path, sizeof(path));
		cr_assert(mkdir(path, 0755) == 0 && chmod(path, 0755) == 0,
		    "fixture: mkdir %s: %s", path, strerror(errno));
	}
	for (i = 0; i < sizeof(fixture_plans) / sizeof(fixture_plans[0]); i++)
		plan_write(f, fixture_plans[i][0], fixture_plans[i][1],
		    strlen(fixture_plans[i][1]));
	plan_write(f, "erin", PLAN_ERIN, sizeof(PLAN_ERIN) - 1);
	for (i = 0; i < sizeof(fixture_extras) / sizeof(fixture_extras[0]);
	    i++)
		home_file_write(f, fixture_extras[i][0], fixture_extras[i][1],
		    fixture_extras[i][2], strlen(fixture_extras[i][2]));
}

/*
 * A world-readable directory: started as root, the daemon reads the
 * homes and the user database as nobody.
 */
void
fixture_create(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->pidfd = -1;
	strcpy(f->dir, "/tmp/fingerd-test.XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir), "fixture: mkdtemp: %s",
	    strerror(errno));
	cr_assert(chmod(f->dir, 0755) == 0);
	fixture_file(f, "passwd", f->passwd, sizeof(f->passwd));
	fixture_file(f, "group", f->group, sizeof(f->group));
	fixture_file(f, "fingerd.log", f->log, sizeof(f->log));
	fixture_file(f, "fingerd.out", f->out, sizeof(f->out));
	fixture_passwd(f);
	fixture_group_rewrite(f, FIXTURE_MEMBERS);
	fixture_homes(f);
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Ends the daemon if it still runs and removes the directory. */
void
fixture_destroy(struct fixture *f)
{
	if (f->pid > 0 && daemon_stop(f, SIGTERM) == -1)
		cr_log_error("fixture: the daemon did not stop on SIGTERM");
	if (f->pidfd >= 0)
		close(f->pidfd);
	f->pidfd = -1;
	if (f->dir[0] != '\0')
		nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	f->dir[0] = '\0';
}

/* Whatever is at ~/name goes: a file, a link, a FIFO, a directory. */
static void
file_clear(struct fixture *f, const char *login, const char *name)
{
	struct stat st;
	char path[256];
	int ret;

	home_file_path(f, login, name, path, sizeof(path));
	if (lstat(path, &st) != 0)
		return;
	ret = S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path);
	cr_assert(ret == 0, "fixture: remove %s: %s", path, strerror(errno));
}

/* Writes ~/name through a new file, so a FIFO or a link in the way goes. */
void
home_file_write(struct fixture *f, const char *login, const char *name,
    const void *data, size_t len)
{
	char path[256];

	file_clear(f, login, name);
	home_file_path(f, login, name, path, sizeof(path));
	write_file(path, data, len, 0644);
}

/* An account appended to the fixture's passwd, named login, its home at home. */
void
passwd_append(struct fixture *f, const char *login, unsigned uid,
    const char *home)
{
	char line[512];
	FILE *fp;

	snprintf(line, sizeof(line), "%s:x:%u:%u:%s:%s:/bin/sh\n", login, uid,
	    uid, login, home);
	cr_assert((fp = fopen(f->passwd, "a")) != NULL);
	cr_assert(fputs(line, fp) >= 0 && fclose(fp) == 0);
}

void
home_file_remove(struct fixture *f, const char *login, const char *name)
{
	file_clear(f, login, name);
}

void
home_file_symlink(struct fixture *f, const char *login, const char *name,
    const char *target)
{
	char path[256];

	file_clear(f, login, name);
	home_file_path(f, login, name, path, sizeof(path));
	cr_assert(symlink(target, path) == 0, "fixture: symlink: %s",
	    strerror(errno));
}

void
home_file_fifo(struct fixture *f, const char *login, const char *name)
{
	char path[256];

	file_clear(f, login, name);
	home_file_path(f, login, name, path, sizeof(path));
	cr_assert(mkfifo(path, 0644) == 0 && chmod(path, 0644) == 0,
	    "fixture: mkfifo: %s", strerror(errno));
}

void
plan_write(struct fixture *f, const char *login, const void *data,
    size_t len)
{
	home_file_write(f, login, ".plan", data, len);
}

void
plan_remove(struct fixture *f, const char *login)
{
	file_clear(f, login, ".plan");
}

void
plan_symlink(struct fixture *f, const char *login, const char *target)
{
	home_file_symlink(f, login, ".plan", target);
}

void
plan_fifo(struct fixture *f, const char *login)
{
	home_file_fifo(f, login, ".plan");
}

void
plan_directory(struct fixture *f, const char *login)
{
	char path[256];

	file_clear(f, login, ".plan");
	plan_path(f, login, path, sizeof(path));
	cr_assert(mkdir(path, 0755) == 0 && chmod(path, 0755) == 0,
	    "fixture: mkdir: %s", strerror(errno));
}

/*
 * size bytes of printable ASCII in 64-byte lines ending in a bare LF,
 * each numbered, so a misplaced byte shows where it came from.
 */
char *
huge_text(size_t size)
{
	static const char letters[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char *text = malloc(size + 1), line[65];
	size_t i, n;

	cr_assert_not_null(text, "out of memory");
	for (i = 0; i < size; i += n) {
		snprintf(line, sizeof(line), "%010u %s\n",
		    (unsigned)(i / 64 % 1000000000), letters);
		n = size - i < 64 ? size - i : 64;
		memcpy(text + i, line, n);
	}
	text[size] = '\0';
	return text;
}

/*
 * The reference conversion for text without unsafe bytes: every bare LF
 * as CRLF, and a CRLF at the end when the text does not end with LF.
 */
char *
crlf_convert(const char *text, size_t len, size_t *out_len)
{
	char *out = malloc(2 * len + 3);
	size_t i, n = 0;

	cr_assert_not_null(out, "out of memory");
	for (i = 0; i < len; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = text[i];
	}
	if (len > 0 && text[len - 1] != '\n') {
		if (text[len - 1] != '\r')
			out[n++] = '\r';
		out[n++] = '\n';
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

/*
 * The daemon's environment: ours (ASAN_OPTIONS, UBSAN_OPTIONS and the
 * rest), with nss_wrapper pointed at the fixture and no socket passed.
 */
static char **
daemon_environment(const struct fixture *f)
{
	const char *lib = getenv("NSS_WRAPPER_LIB");
	size_t n = 0, i, kept = 0;
	char **env;

	cr_assert(lib != NULL && lib[0] != '\0',
	    "NSS_WRAPPER_LIB is not set: run the tests through make");
	while (environ[n] != NULL)
		n++;
	env = calloc(n + 5, sizeof(*env));
	cr_assert_not_null(env, "out of memory");
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "NSS_WRAPPER_", 12) != 0 &&
		    strncmp(environ[i], "LISTEN_", 7) != 0 &&
		    (f->asan_options == NULL ||
		    strncmp(environ[i], "ASAN_OPTIONS=", 13) != 0))
			env[kept++] = environ[i];
	if (f->asan_options != NULL)
		env[kept++] = f->asan_options;
	cr_assert(asprintf(&env[kept++], "LD_PRELOAD=%s", lib) > 0);
	cr_assert(asprintf(&env[kept++], "NSS_WRAPPER_PASSWD=%s",
	    f->passwd) > 0);
	cr_assert(asprintf(&env[kept++], "NSS_WRAPPER_GROUP=%s",
	    f->group) > 0);
	return env;
}

/* Frees what daemon_environment() made: the array and its last three. */
static void
environment_free(char **env)
{
	size_t n = 0;

	while (env[n] != NULL)
		n++;
	free(env[n - 1]);
	free(env[n - 2]);
	free(env[n - 3]);
	free(env);
}

/*
 * In the child: stdin from /dev/null, stdout and stderr to files, or the
 * descriptors the test gave.
 */
static void __attribute__((noreturn))
child_exec(const struct fixture *f, char *const argv[], char *const env[])
{
	int fds[3], i;

	fds[0] = f->stdio ? f->stdio[0] : open("/dev/null", O_RDONLY);
	fds[1] = f->stdio ? f->stdio[1] : open(f->out, O_WRONLY | O_APPEND);
	fds[2] = f->stdio ? f->stdio[2] : open(f->log, O_WRONLY | O_APPEND);
	for (i = 0; i < 3; i++)		/* above 2, then in place */
		if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD, 3)) < 0)
			_exit(126);
	for (i = 0; i < 3; i++)		/* -1 in stdio: left closed */
		if (fds[i] >= 0 ? dup2(fds[i], i) < 0 : close(i) < 0 &&
		    errno != EBADF)
			_exit(126);
	/* Criterion's pipes and our sockets stay out of the daemon. */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	/*
	 * Should Criterion kill this test at its timeout, the daemon goes
	 * too; a daemon that changes its uid loses this, as it should.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (f->child_setup != NULL)
		f->child_setup();
	execve(argv[0], argv, env);
	_exit(127);
}

/*
 * Should the test die first (Criterion kills it at its timeout, and a
 * daemon that changed its uid has lost its PDEATHSIG), a watchdog kills
 * the daemon and removes the fixture.  It waits on a pipe: the harness
 * writes a byte once it has reaped the daemon; EOF alone means the test
 * is gone.  The pidfd it inherits names the daemon even after a reap.
 */
static void
watchdog_start(struct fixture *f)
{
	int fds[2];
	char byte;

	cr_assert(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	f->watchdog = fork();
	cr_assert(f->watchdog >= 0, "fork: %s", strerror(errno));
	if (f->watchdog == 0) {
		/* It holds nothing of the test's: a pipe's reader above all. */
		dup2(fds[0], 0);
		dup2(f->pidfd, 1);
		syscall(SYS_close_range, 2U, ~0U, 0U);
		if (read(0, &byte, 1) != 1) {
			syscall(SYS_pidfd_send_signal, 1, SIGKILL, NULL, 0);
			nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		}
		_exit(0);
	}
	close(fds[0]);
	f->watchdog_fd = fds[1];
}

static void
watchdog_stop(struct fixture *f)
{
	if (f->watchdog <= 0)
		return;
	if (write(f->watchdog_fd, "", 1) != 1)
		cr_log_error("watchdog: write: %s", strerror(errno));
	close(f->watchdog_fd);
	waitpid(f->watchdog, NULL, 0);
	f->watchdog = 0;
}

static void
daemon_spawn(struct fixture *f, bool listen_anywhere, va_list ap)
{
	const char *flag, *path = getenv("FINGERD");
	const char *engine = getenv("FINGERD_ENGINE");
	char *argv[MAX_FLAGS + 6], **env;
	size_t n = 0, i;

	cr_assert(f->pid == 0, "harness: a daemon already runs");
	if (f->pidfd >= 0)
		close(f->pidfd);
	f->pidfd = -1;
	argv[n++] = strdup(path != NULL && path[0] != '\0' ? path :
	    "./fingerd");
	/* The suites' engine (make check runs them under each): a test's
	 * own -E, later, wins. */
	if (engine != NULL && engine[0] != '\0') {
		argv[n++] = strdup("-E");
		argv[n++] = strdup(engine);
	}
	if (listen_anywhere) {
		argv[n++] = strdup("-P");
		argv[n++] = strdup("0");
	}
	while ((flag = va_arg(ap, const char *)) != NULL) {
		cr_assert(n < MAX_FLAGS, "harness: too many flags");
		argv[n++] = strdup(flag);
	}
	argv[n] = NULL;
	/* There before the child runs, for log_wait()'s inotify watch. */
	write_file(f->log, "", 0, 0644);
	write_file(f->out, "", 0, 0644);
	env = daemon_environment(f);
	f->pid = fork();
	cr_assert(f->pid >= 0, "fork: %s", strerror(errno));
	if (f->pid == 0)
		child_exec(f, argv, env);
	environment_free(env);
	for (i = 0; i < n; i++)
		free(argv[i]);
	f->pidfd = (int)syscall(SYS_pidfd_open, f->pid, 0);
	cr_assert(f->pidfd >= 0, "pidfd_open: %s", strerror(errno));
	watchdog_start(f);
}

/* Waits, at most timeout_ms, for the daemon to exit; its status or -1. */
int
daemon_wait(struct fixture *f, int timeout_ms)
{
	struct pollfd pfd = { .fd = f->pidfd, .events = POLLIN };
	int status;

	if (f->pid == 0)
		return f->status;
	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	cr_assert(waitpid(f->pid, &status, 0) == f->pid, "waitpid: %s",
	    strerror(errno));
	f->pid = 0;
	watchdog_stop(f);
	f->status = status;
	return status;
}

bool
daemon_alive(struct fixture *f)
{
	return f->pid > 0 && daemon_wait(f, 0) == -1;
}

/*
 * Whether pid is a worker, by its title: the supervisor's other children
 * (homes.c: those that open the members' homes, some held by one that
 * hangs) are not.
 */
static ssize_t
cmdline_read(pid_t pid, char *text, size_t size)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, text, size);
		close(fd);
	}
	return n;
}

/*
 * A worker is exec'd, the supervisor's other children are forks: a
 * child whose command line is the supervisor's own is not a worker.
 * (Under valgrind a worker's title is not in its command line.)
 */
static bool
is_worker(pid_t pid, pid_t supervisor)
{
	char text[4096], own[4096];
	ssize_t n = cmdline_read(pid, text, sizeof(text));
	ssize_t m = cmdline_read(supervisor, own, sizeof(own));

	return n > 0 && (n != m || memcmp(text, own, (size_t)n) != 0);
}

/*
 * The supervisor's children, the workers (at most n into pids); how many
 * there are.
 */
size_t
daemon_workers(const struct fixture *f, pid_t *pids, size_t n)
{
	char path[64];
	size_t count = 0;
	long pid;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)f->pid,
	    (int)f->pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fscanf(fp, "%ld", &pid) == 1) {
		if (!is_worker((pid_t)pid, f->pid))
			continue;
		if (count < n)
			pids[count] = (pid_t)pid;
		count++;
	}
	fclose(fp);
	return count;
}

/* The one worker of a daemon started without -w; waits for it, bounded. */
pid_t
daemon_worker(const struct fixture *f)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	pid_t pid = 0;

	while (daemon_workers(f, &pid, 1) != 1 && now_seconds() < deadline)
		nanosleep(&pause, NULL);
	cr_assert(daemon_workers(f, &pid, 1) == 1,
	    "the daemon has %zu workers, not one", daemon_workers(f, &pid, 1));
	return pid;
}

/* Exactly n workers (into pids), waited for, bounded. */
void
daemon_workers_wait(const struct fixture *f, pid_t *pids, size_t n)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	while (daemon_workers(f, pids, n) != n && now_seconds() < deadline)
		nanosleep(&pause, NULL);
	cr_assert_eq(daemon_workers(f, pids, n), n, "not %zu workers", n);
}

void
daemon_signal(struct fixture *f, int sig)
{
	cr_assert(f->pid > 0, "harness: no daemon to signal");
	cr_assert(kill(f->pid, sig) == 0, "kill: %s", strerror(errno));
}

/*
 * Sends sig and waits for the exit.  Returns the exit status, 128 + the
 * signal that killed it, or -1 when it had to be killed after
 * WAIT_EXIT_MS.
 */
int
daemon_stop(struct fixture *f, int sig)
{
	int status;

	pid_t workers[64];
	size_t i, n;

	if (f->pid > 0)
		kill(f->pid, sig);
	if ((status = daemon_wait(f, WAIT_EXIT_MS)) == -1) {
		/* Its workers too, which a stuck supervisor would orphan. */
		n = daemon_workers(f, workers, 64);
		kill(f->pid, SIGKILL);
		for (i = 0; i < n && i < 64; i++)
			kill(workers[i], SIGKILL);
		daemon_wait(f, WAIT_EXIT_MS);
		return -1;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The port of the "event=listen" line, or -1. */
int
log_port(const struct fixture *f)
{
	struct buffer b;
	char *line, *colon;
	int port = -1;

	log_read(f, &b);
	if ((line = strstr(b.data, "event=listen address=")) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((colon = strrchr(line, ':')) != NULL)
			port = atoi(colon + 1);
	}
	buffer_free(&b);
	return port;
}

/*
 * Starts the daemon on a free port ("-P 0" comes before the flags) and
 * waits until it serves.
 */
void
daemon_start(struct fixture *f, ...)
{
	struct buffer b;
	va_list ap;

	va_start(ap, f);
	daemon_spawn(f, true, ap);
	va_end(ap);
	if (!log_wait(f, "^fingerd: event=start group=", 1, WAIT_START_MS)) {
		log_read(f, &b);
		cr_assert_fail("the daemon did not start; its log:\n%s",
		    b.data);
	}
	f->port = log_port(f);
	cr_assert(f->port > 0 && f->port < 65536,
	    "no port in the \"event=listen\" line");
}

/* Starts the daemon on a free port ("-P 0" first) and does not wait. */
void
daemon_launch(struct fixture *f, ...)
{
	va_list ap;

	va_start(ap, f);
	daemon_spawn(f, true, ap);
	va_end(ap);
}

/*
 * Runs the daemon with exactly these flags until it exits (bounded);
 * returns what daemon_stop() returns.
 */
int
daemon_run(struct fixture *f, ...)
{
	va_list ap;
	int status;

	va_start(ap, f);
	daemon_spawn(f, false, ap);
	va_end(ap);
	if ((status = daemon_wait(f, WAIT_EXIT_MS)) == -1) {
		daemon_stop(f, SIGKILL);
		return -1;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* System calls from nr to nr + count - 1, for child_block(). */
struct call_range {
	int		 nr;
	unsigned	 count;
};

#define RANGES_MAX	4

/*
 * fingerd -i as inetd runs it, on one connection from 127.0.0.1 that
 * sent query: the socket its stdin and stdout, its log the fixture's.
 * The flags (a NULL-terminated list) must hold -i.  Returns the exit
 * status as daemon_run() does, the reply in *reply and the time from
 * the start to the exit in *took.
 */
int
inetd_finger(struct fixture *f, const char *query, struct buffer *reply,
    double *took, ...)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int listener, client, served, stdio[3], status;
	double start;
	va_list ap;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert((listener = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	cr_assert_eq(bind(listener, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(listener, 1), 0);
	cr_assert_eq(getsockname(listener, (struct sockaddr *)&sin, &len), 0);
	cr_assert((client = client_connect("127.0.0.1",
	    ntohs(sin.sin_port))) >= 0);
	cr_assert((served = accept(listener, NULL, NULL)) >= 0);
	close(listener);
	stdio[0] = stdio[1] = served;
	cr_assert((stdio[2] = open(f->log, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0644)) >= 0);
	f->stdio = stdio;
	client_send(client, query, strlen(query));
	start = now_seconds();
	va_start(ap, took);
	daemon_spawn(f, false, ap);
	va_end(ap);
	close(served);
	close(stdio[2]);
	f->stdio = NULL;
	if ((status = daemon_wait(f, WAIT_EXIT_MS)) == -1)
		daemon_stop(f, SIGKILL);
	else
		status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
		    WEXITSTATUS(status);
	*took = now_seconds() - start;
	memset(reply, 0, sizeof(*reply));
	if (client_read_all(client, reply, WAIT_REPLY_MS) != 0)
		status = status == 0 ? -1 : status;
	close(client);
	return status;
}

/*
 * For the child: a seccomp filter that fails the system calls in the n
 * ranges with error, three instructions a range.
 */
static void
child_block(const struct call_range *ranges, size_t n, int error)
{
	struct sock_filter code[1 + 3 * RANGES_MAX + 1];
	struct sock_fprog program = { .filter = code };
	size_t i, len = 0;

	if (n > RANGES_MAX)
		_exit(125);
	code[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	for (i = 0; i < n; i++) {
		code[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE |
		    BPF_K, (unsigned)ranges[i].nr, 0, 2);
		code[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE |
		    BPF_K, (unsigned)ranges[i].nr + ranges[i].count, 1, 0);
		code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		    SECCOMP_RET_ERRNO | ((unsigned)error & SECCOMP_RET_DATA));
	}
	code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW);
	program.len = (unsigned short)len;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
		_exit(125);
}

/*
 * io_uring refused as container runtimes' default profiles refuse it:
 * io_uring_setup, io_uring_enter and io_uring_register (425 to 427),
 * with EPERM as Docker's and containerd's, with ENOSYS as Podman's and
 * CRI-O's.  No architecture check: it only has to stop the native calls
 * of the daemon the tests built.
 */
static const struct call_range io_uring_calls = { __NR_io_uring_setup, 3 };
static const struct call_range openat2_call = { __NR_openat2, 1 };

void
child_block_io_uring(void)
{
	child_block(&io_uring_calls, 1, EPERM);
}

void
child_block_io_uring_enosys(void)
{
	child_block(&io_uring_calls, 1, ENOSYS);
}

/*
 * openat2 refused with EPERM, as profiles older than it refuse what they
 * do not list (Docker's before 20.10); alone, or with io_uring too.
 */
void
child_block_openat2(void)
{
	child_block(&openat2_call, 1, EPERM);
}

void
child_block_io_uring_and_openat2(void)
{
	const struct call_range both[] = { io_uring_calls, openat2_call };

	child_block(both, 2, EPERM);
}

/* Landlock absent, as on a kernel built without it (ENOSYS). */
void
child_block_landlock(void)
{
	const struct call_range landlock = { __NR_landlock_create_ruleset, 3 };

	child_block(&landlock, 1, ENOSYS);
}

/* inotify_init1 refused, as when the account has used up its instances. */
void
child_block_inotify(void)
{
	const struct call_range inotify = { __NR_inotify_init1, 1 };

	child_block(&inotify, 1, EPERM);
}

/*
 * For the child: started as nobody with no capability, under a filter
 * that refuses capset, as systemd's SystemCallFilter=~@privileged does.
 * A test run as root becomes nobody here (no capability survives the
 * switch); one run as anyone else already holds none.
 */
void
child_unprivileged_no_capset(void)
{
	const struct call_range capset = { __NR_capset, 1 };
	gid_t gid = 65534;
	uid_t uid = 65534;

	if (geteuid() == 0 && (setgroups(0, NULL) != 0 ||
	    setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0))
		_exit(124);
	child_block(&capset, 1, EPERM);
}

/*
 * For the child, started as root: supplementary groups and an inheritable
 * and ambient capability, so that the daemon has something to drop.
 */
void
child_add_privileges(void)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3
	};
	struct __user_cap_data_struct data[2];
	gid_t groups[] = { 0, FIXTURE_GID, 100 };

	if (setgroups(3, groups) != 0 ||
	    syscall(SYS_capget, &header, data) != 0)
		_exit(124);
	data[0].inheritable |= 1U << CAP_NET_BIND_SERVICE;
	if (syscall(SYS_capset, &header, data) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE,
	    0, 0) != 0)
		_exit(124);
}

void
log_read(const struct fixture *f, struct buffer *b)
{
	read_file(f->log, b);
}

void
out_read(const struct fixture *f, struct buffer *b)
{
	read_file(f->out, b);
}

size_t
log_lines(const struct fixture *f)
{
	struct buffer b;
	size_t i, n = 0;

	log_read(f, &b);
	for (i = 0; i < b.len; i++)
		n += b.data[i] == '\n';
	buffer_free(&b);
	return n;
}

/*
 * A line of a log file without the time it begins with (RFC 3339, UTC,
 * in milliseconds: "2026-12-06T19:37:41.123Z "), or a syslog datagram
 * without its priority and time ("<30>Dec  6 19:37:41 "), which the
 * patterns of the tests leave out; a line without one (the journal's)
 * as it is.
 */
const char *
log_untimed(const char *line)
{
	static regex_t re, syslog;
	static bool compiled;
	regmatch_t m;

	if (!compiled) {
		cr_assert(regcomp(&re, "^" LOG_TIME_RE " ", REG_EXTENDED) == 0);
		cr_assert(regcomp(&syslog, "^" SYSLOG_HEAD_RE, REG_EXTENDED) ==
		    0);
		compiled = true;
	}
	if (regexec(&re, line, 1, &m, 0) == 0 ||
	    regexec(&syslog, line, 1, &m, 0) == 0)
		return line + m.rm_eo;
	return line;
}

/*
 * The log lines lost that the daemon's notes ("N log lines lost: ...")
 * count in a log, summed; *last says whether a note is its last line.
 */
unsigned long
log_lost_count(const struct buffer *log, bool *last)
{
	struct buffer copy = { 0 };
	regex_t re;
	regmatch_t m[3];
	char *line, *next;
	unsigned long lost = 0;

	cr_assert_eq(regcomp(&re, "^fingerd(\\[[0-9]+\\])?: ([0-9]+) log "
	    "lines? lost: ", REG_EXTENDED), 0);
	buffer_append(&copy, log->data, log->len);
	*last = false;
	for (line = copy.data; *line != '\0'; line = next) {
		const char *text;

		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		text = log_untimed(line);
		*last = regexec(&re, text, 3, m, 0) == 0;
		if (*last)
			lost += strtoul(text + m[2].rm_so, NULL, 10);
	}
	regfree(&re);
	buffer_free(&copy);
	return lost;
}

/*
 * A datagram socket for -l at a path in the fixture's directory, which
 * FINGERD_SYSLOG_PATH now names for the daemons this test starts;
 * non-blocking.
 */
int
syslog_bind(const struct fixture *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log.socket", f->dir);
	unlink(sun.sun_path);
	cr_assert((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "bind %s: %s", sun.sun_path, strerror(errno));
	/* as /dev/log is: the daemon's -u account connects again */
	cr_assert_eq(chmod(sun.sun_path, 0666), 0);
	cr_assert_eq(setenv("FINGERD_SYSLOG_PATH", sun.sun_path, 1), 0);
	return fd;
}

/*
 * The datagrams waiting on a syslog_bind() socket, appended to log; each
 * must be one whole line at most PIPE_BUF bytes, of facility daemon,
 * from fingerd[pid].  How many there were.
 */
size_t
syslog_read(int fd, struct buffer *log)
{
	static regex_t re;
	static bool compiled;
	char datagram[2 * 4096 + 1];
	size_t n = 0;
	ssize_t len;

	if (!compiled) {
		cr_assert(regcomp(&re, "^" SYSLOG_HEAD_RE "fingerd\\[[0-9]+\\]: "
		    "[^\n]*\n$", REG_EXTENDED | REG_NOSUB) == 0);
		compiled = true;
	}
	while ((len = recv(fd, datagram, sizeof(datagram) - 1, 0)) > 0) {
		datagram[len] = '\0';
		cr_assert_leq((size_t)len, 4096, "a datagram of %zd bytes", len);
		cr_assert_eq(regexec(&re, datagram, 0, NULL, 0), 0,
		    "not one syslog line of facility daemon: %.300s",
		    datagram);
		buffer_append(log, datagram, (size_t)len);
		n++;
	}
	return n;
}

/*
 * Waits, at most timeout_ms, until count datagrams match the pattern
 * (matched as log_count() does), reading them into log.
 */
bool
syslog_wait(int fd, struct buffer *log, const char *pattern, size_t count,
    int timeout_ms)
{
	double deadline = now_seconds() + timeout_ms / 1000.0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (log->data == NULL)
		buffer_append(log, "", 0);
	for (;;) {
		syslog_read(fd, log);
		if (log_count_in(log, pattern) >= count)
			return true;
		if (now_seconds() >= deadline)
			return false;
		(void)poll(&pfd, 1, 20);
	}
}

/*
 * Counts the whole lines of a log's text (changed) that match the
 * extended regular expression, the time they begin with left out;
 * match(line, arg), when given, sees the first of them.
 */
static size_t
text_scan(char *text, const char *pattern,
    void (*match)(const char *, void *), void *arg)
{
	regex_t re;
	char *line, *next;
	size_t n = 0;

	cr_assert(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0,
	    "bad pattern %s", pattern);
	for (line = text; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\n')
			break;		/* a line still being written */
		*next++ = '\0';
		if (regexec(&re, log_untimed(line), 0, NULL, 0) != 0)
			continue;
		if (n++ == 0 && match != NULL)
			match(log_untimed(line), arg);
	}
	regfree(&re);
	return n;
}

static size_t
log_scan(const struct fixture *f, const char *pattern,
    void (*match)(const char *, void *), void *arg)
{
	struct buffer b;
	size_t n;

	log_read(f, &b);
	n = text_scan(b.data, pattern, match, arg);
	buffer_free(&b);
	return n;
}

/* The whole lines of a log read elsewhere (a pipe) that match. */
size_t
log_count_in(const struct buffer *log, const char *pattern)
{
	struct buffer copy = { 0 };
	size_t n;

	buffer_append(&copy, log->data, log->len);
	n = text_scan(copy.data, pattern, NULL, NULL);
	buffer_free(&copy);
	return n;
}

size_t
log_count(const struct fixture *f, const char *pattern)
{
	return log_scan(f, pattern, NULL, NULL);
}

static void
line_copy(const char *line, void *arg)
{
	buffer_append(arg, line, strlen(line));
}

/* The first line that matches, in line; false when there is none. */
bool
log_find(const struct fixture *f, const char *pattern, struct buffer *line)
{
	memset(line, 0, sizeof(*line));
	buffer_append(line, "", 0);
	return log_scan(f, pattern, line_copy, line) > 0;
}

/*
 * Waits until at least count lines match, at most timeout_ms, woken by
 * inotify when the log grows; gives up early if the daemon exits.
 */
bool
log_wait(struct fixture *f, const char *pattern, size_t count,
    int timeout_ms)
{
	double deadline = now_seconds() + timeout_ms / 1000.0;
	struct pollfd pfd[2];
	char events[4096];
	bool found;
	int fd;

	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	cr_assert(fd >= 0, "inotify: %s", strerror(errno));
	cr_assert(inotify_add_watch(fd, f->log, IN_MODIFY) >= 0,
	    "inotify %s: %s", f->log, strerror(errno));
	pfd[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = f->pidfd, .events = POLLIN };
	while (!(found = log_count(f, pattern) >= count)) {
		if (ms_left(deadline) == 0 || !daemon_alive(f))
			break;
		poll(pfd, f->pid > 0 ? 2 : 1, ms_left(deadline));
		while (read(fd, events, sizeof(events)) > 0)
			;
	}
	close(fd);
	return found || log_count(f, pattern) >= count;
}

static bool
wait_for(int fd, short events, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, ms_left(deadline));
	} while (n < 0 && errno == EINTR);
	return n == 1;
}

static int
connect_to_from(const char *source, const char *host, int port, int rcvbuf)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV }, *ai, *from;
	double deadline = now_seconds() + WAIT_CONNECT_MS / 1000.0;
	char service[16];
	socklen_t len = sizeof(int);
	int fd, error = 0;

	snprintf(service, sizeof(service), "%d", port);
	cr_assert(getaddrinfo(host, service, &hints, &ai) == 0,
	    "cannot resolve %s", host);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (source != NULL) {
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
		cr_assert(getaddrinfo(source, NULL, &hints, &from) == 0,
		    "cannot resolve %s", source);
		cr_assert(bind(fd, from->ai_addr, from->ai_addrlen) == 0,
		    "bind %s: %s", source, strerror(errno));
		freeaddrinfo(from);
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		error = errno;
		if (error == EINPROGRESS) {
			error = ETIMEDOUT;
			if (wait_for(fd, POLLOUT, deadline))
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &error,
				    &len);
		}
	}
	freeaddrinfo(ai);
	if (error != 0) {
		close(fd);
		errno = error;
		return -1;
	}
	return fd;
}

static int
connect_to(const char *host, int port, int rcvbuf)
{
	return connect_to_from(NULL, host, port, rcvbuf);
}

/* A connected socket, or -1 with errno (ECONNREFUSED, ETIMEDOUT). */
int
client_connect(const char *host, int port)
{
	return connect_to(host, port, 0);
}

/* The same from the local address source (127.0.0.2, say). */
int
client_connect_from(const char *source, const char *host, int port)
{
	return connect_to_from(source, host, port, 0);
}

/*
 * Sends SIGTERM: the daemon must exit 0.  If not, the log's end is shown:
 * no more, for Criterion's runner hangs on an assertion's message of
 * megabytes (the log of 50 reloads under load).
 */
void
daemon_stopped_cleanly(struct fixture *f)
{
	struct buffer b;
	int status = daemon_stop(f, SIGTERM);

	log_read(f, &b);
	cr_assert_eq(status, 0, "exit status %d after SIGTERM; log%s:\n%s",
	    status, b.len > LOG_SHOWN ? "'s end" : "",
	    b.len > LOG_SHOWN ? b.data + b.len - LOG_SHOWN : b.data);
	buffer_free(&b);
}

/* The same with a small receive buffer, for a reply that must stall. */
int
client_connect_small(const char *host, int port, int rcvbuf)
{
	return connect_to(host, port, rcvbuf);
}

void
client_send(int fd, const void *data, size_t len)
{
	double deadline = now_seconds() + WAIT_REPLY_MS / 1000.0;
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			cr_assert(wait_for(fd, POLLOUT, deadline),
			    "client: send timed out");
			continue;
		}
		cr_assert(n > 0, "client: send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Reads until b holds at least want bytes or the peer closes, at most
 * timeout_ms.  Returns 0 at EOF, 1 with want bytes and the connection
 * open, -1 with errno: ETIMEDOUT, ECONNRESET...
 */
int
client_read(int fd, struct buffer *b, size_t want, int timeout_ms)
{
	double deadline = now_seconds() + timeout_ms / 1000.0;
	char chunk[65536];
	ssize_t n;

	buffer_append(b, "", 0);
	while (b->len < want) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			buffer_append(b, chunk, (size_t)n);
		} else if (n == 0) {
			return 0;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (!wait_for(fd, POLLIN, deadline)) {
				errno = ETIMEDOUT;
				return -1;
			}
		} else {
			return -1;
		}
	}
	return 1;
}

/* Everything until the peer closes; 0, or -1 with errno. */
int
client_read_all(int fd, struct buffer *b, int timeout_ms)
{
	return client_read(fd, b, (size_t)-1, timeout_ms);
}

void
client_half_close(int fd)
{
	cr_assert(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
}

/* Closes with a RST instead of a FIN. */
void
client_reset(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	cr_assert(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == 0);
	close(fd);
}

/* True when nothing came and the server has not closed. */
bool
client_quiet(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 0;
}

/*
 * One exchange: sends the query as given (its line end included) and
 * reads the reply until the server closes.  Returns what client_read_all
 * returns.
 */
int
finger(const char *host, int port, const void *query, size_t len,
    struct buffer *reply)
{
	int fd, ret, saved;

	memset(reply, 0, sizeof(*reply));
	fd = client_connect(host, port);
	cr_assert(fd >= 0, "connect to %s port %d: %s", host, port,
	    strerror(errno));
	client_send(fd, query, len);
	ret = client_read_all(fd, reply, WAIT_REPLY_MS);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

/* At most 400 bytes around offset, escaped, for a failure message. */
static char *
escape(const char *data, size_t len, size_t offset)
{
	size_t start = offset > 200 ? offset - 200 : 0, i, n = 0;
	char *out = malloc(4 * 400 + 16);

	cr_assert_not_null(out, "out of memory");
	if (start > 0)
		n += (size_t)sprintf(out, "...");
	for (i = start; i < len && i < start + 400; i++) {
		unsigned char ch = (unsigned char)data[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[n++] = (char)ch;
		else
			n += (size_t)sprintf(out + n, "\\x%02x", ch);
	}
	if (i < len)
		n += (size_t)sprintf(out + n, "...");
	out[n] = '\0';
	return out;
}

void
assert_bytes(const struct buffer *b, const void *want, size_t len,
    const char *what)
{
	size_t i = 0;
	char *got_text, *want_text;

	while (i < b->len && i < len && b->data[i] == ((const char *)want)[i])
		i++;
	if (i == len && b->len == len)
		return;
	got_text = escape(b->data, b->len, i);
	want_text = escape(want, len, i);
	cr_assert_fail("%s: %zu bytes received, %zu expected, first "
	    "difference at byte %zu\n  received: \"%s\"\n  expected: \"%s\"",
	    what, b->len, len, i, got_text, want_text);
}

/* ------------------------------------------- a .nofinger under a load */

#define HIDING_THREADS	4
#define HIDING_REPLIES	(1 << 18)

/*
 * Clients that ask for one member again and again, each reply noted with
 * when it was asked and which of the two it is: shown (0), hidden (1),
 * or neither (-1: other bytes, or no whole reply).
 */
struct hiding {
	const char	*host;
	int		 port;
	const char	*query;
	const char	*want[2];
	int		 stop;		/* read and set atomically */
	pthread_mutex_t	 lock;
	size_t		 count;
	bool		 full;		/* more replies than noted */
	struct {
		double	 asked;
		int	 which;
	}		 v[HIDING_REPLIES];
};

/* One exchange with blocking calls, each bounded by SO_RCVTIMEO. */
static int
hiding_exchange(const struct hiding *h)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timeval bound = { 10, 0 };
	char reply[1024];
	size_t got = 0, len = strlen(h->query);
	ssize_t n = -1;
	int fd, i;

	inet_pton(AF_INET, h->host, &to.sin_addr);
	to.sin_port = htons((uint16_t)h->port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 &&
	    send(fd, h->query, len, MSG_NOSIGNAL) == (ssize_t)len)
		while (got < sizeof(reply) &&
		    (n = recv(fd, reply + got, sizeof(reply) - got, 0)) > 0)
			got += (size_t)n;
	close(fd);
	for (i = 0; i < 2 && n == 0; i++)
		if (got == strlen(h->want[i]) &&
		    memcmp(reply, h->want[i], got) == 0)
			return i;
	return -1;
}

static void *
hiding_thread(void *arg)
{
	struct hiding *h = arg;
	double asked;
	int which;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		asked = now_seconds();
		which = hiding_exchange(h);
		pthread_mutex_lock(&h->lock);
		if (h->count < HIDING_REPLIES) {
			h->v[h->count].asked = asked;
			h->v[h->count++].which = which;
		} else {
			h->full = true;
		}
		pthread_mutex_unlock(&h->lock);
		usleep(1000);	/* a load, not a flood */
	}
	return NULL;
}

/*
 * Of the replies asked in [from, to): how many, and how many were not
 * want (which).
 */
static size_t
hiding_others(struct hiding *h, double from, double to, int want,
    size_t *asked)
{
	size_t i, others = 0;

	*asked = 0;
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->count; i++)
		if (h->v[i].asked >= from && h->v[i].asked < to) {
			(*asked)++;
			others += h->v[i].which != want;
		}
	pthread_mutex_unlock(&h->lock);
	return others;
}

/* The list, byte for byte. */
static void
hiding_list(const struct hiding *h, const char *want, const char *what)
{
	struct buffer b;

	cr_assert_eq(finger(h->host, h->port, "\r\n", 2, &b), 0);
	assert_bytes(&b, want, strlen(want), what);
	buffer_free(&b);
}

/*
 * A member hides under load (issue 21, 3): clients ask for them
 * continuously (query) while the file nofinger is created, then
 * removed.  Every reply is shown or hidden byte for byte; every reply
 * asked 2 s (scaled) after the creation is hidden, and the list is then
 * list_hidden; every one asked 2 s after the removal is shown, and the
 * list is list_shown.  The daemon is f's, listening on host.
 */
void
nofinger_under_load(struct fixture *f, const char *host, const char *query,
    const char *nofinger, const char *shown, const char *hidden,
    const char *list_shown, const char *list_hidden)
{
	struct hiding *h = calloc(1, sizeof(*h));
	pthread_t threads[HIDING_THREADS];
	double start, created, removed, end, settle = 2.0 * wait_scale();
	size_t asked, others;
	int i;

	cr_assert_not_null(h);
	*h = (struct hiding){ .host = host, .port = f->port, .query = query,
	    .want = { shown, hidden } };
	pthread_mutex_init(&h->lock, NULL);
	start = now_seconds();
	for (i = 0; i < HIDING_THREADS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, hiding_thread,
		    h), 0);
	usleep(500 * 1000);
	created = now_seconds();
	write_file(nofinger, "", 0, 0644);
	usleep((useconds_t)(settle * 1e6) + 200 * 1000);
	hiding_list(h, list_hidden, "the list, .nofinger there");
	usleep(1000 * 1000);
	removed = now_seconds();
	cr_assert_eq(unlink(nofinger), 0, "%s: %s", nofinger, strerror(errno));
	usleep((useconds_t)(settle * 1e6) + 200 * 1000);
	hiding_list(h, list_shown, "the list, .nofinger gone");
	usleep(1000 * 1000);
	end = now_seconds();
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < HIDING_THREADS; i++)
		pthread_join(threads[i], NULL);
	cr_assert(!h->full, "more than %d replies", HIDING_REPLIES);
	others = hiding_others(h, start, created, 0, &asked);
	cr_assert(asked > 0 && others == 0, "before: %zu of %zu replies not "
	    "the member's", others, asked);
	others = hiding_others(h, created + settle, removed, 1, &asked);
	cr_assert(asked > 0 && others == 0, "%zu of %zu replies asked %.1f s "
	    "or more after .nofinger was made not the non-member's", others,
	    asked, settle);
	others = hiding_others(h, removed + settle, end, 0, &asked);
	cr_assert(asked > 0 && others == 0, "%zu of %zu replies asked %.1f s "
	    "or more after .nofinger was removed not the member's", others,
	    asked, settle);
	for (i = 0; i < (int)h->count; i++)
		cr_assert_neq(h->v[i].which, -1, "a reply asked %.3f s after "
		    "the start neither the member's nor the non-member's",
		    h->v[i].asked - start);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
