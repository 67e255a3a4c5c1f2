/*
 * The system tests' harness (see harness.h): what its parts share (the
 * clock, the waits' scale, buffers, files) and the fixture directory (the
 * accounts for nss_wrapper, their homes, plans and files).  The daemon is
 * daemon.c's, its log logs.c's, the client clients.c's.  Failures in the
 * fixture or the client are reported with Criterion's assertions, which
 * end the test at once; the daemon's own behaviour is left to the tests
 * to judge.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

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

/*
 * An option's seconds (-t) scaled as the harness's waits, as its text:
 * a deadline a daemon under valgrind keeps (memcheck is slow), where
 * a test's outcome would change if the daemon met it.  Four buffers
 * in turn: one daemon_start may take a few.
 */
const char *
seconds_scaled(unsigned seconds)
{
	static char text[4][16];
	static unsigned next;
	char *t = text[next++ % 4];

	snprintf(t, sizeof(text[0]), "%u", seconds * (unsigned)wait_scale());
	return t;
}

/* Milliseconds left before deadline (from now_seconds), at least 0. */
int
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

void
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
static void
group_write(struct fixture *f, const char *text)
{
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	struct stat st;
	bool existed = stat(f->group, &st) == 0;

	write_file(f->group, text, strlen(text), 0644);
	if (!existed)
		return;
	times[1].tv_sec = st.st_mtim.tv_sec + 1;
	cr_assert(utimensat(AT_FDCWD, f->group, times, 0) == 0,
	    "fixture: utimensat: %s", strerror(errno));
}

void
fixture_group_rewrite(struct fixture *f, const char *members)
{
	char text[512];

	snprintf(text, sizeof(text), "root:x:0:\nusers:x:100:\n"
	    "finger:x:%d:%s\nnogroup:x:65534:\n", FIXTURE_GID, members);
	group_write(f, text);
}

/* The group finger gone: the daemon cannot read it until rewritten. */
void
fixture_group_drop(struct fixture *f)
{
	group_write(f, "root:x:0:\nusers:x:100:\nnogroup:x:65534:\n");
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
 * The test's own network namespace, its loopback up: what the test and
 * its daemon do to the network (ports bound, thousands of connections
 * left in TIME-WAIT by a load) is theirs alone, gone with the test, and
 * no test shares a port, a connection table or /proc/net/tcp with
 * another that runs at the same time or just before.  Where it may not
 * (not root: no CAP_SYS_ADMIN), the machine's, said once a test.
 */
static void
network_private(struct fixture *f)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET) != 0) {
		cr_assert_eq(errno, EPERM, "fixture: unshare: %s",
		    strerror(errno));
		cr_log_warn("fixture: no network namespace of its own (not "
		    "root): the machine's loopback");
		return;
	}
	cr_assert((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0,
	    "fixture: socket: %s", strerror(errno));
	cr_assert_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0, "fixture: lo: %s",
	    strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0, "fixture: lo up: %s",
	    strerror(errno));
	close(fd);
	f->own_network = true;
}

/*
 * A world-readable directory: started as root, the daemon reads the
 * homes and the user database as nobody.  The test runs in a network
 * namespace of its own where it may.
 */
void
fixture_create(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	network_private(f);
	f->pidfd = -1;
	f->inetd_held = -1;
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

int
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
	inetd_release(f);
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
	FILE *fp;

	/* Whole: a home may be as long as PATH_MAX allows. */
	cr_assert((fp = fopen(f->passwd, "a")) != NULL);
	cr_assert(fprintf(fp, "%s:x:%u:%u:%s:%s:/bin/sh\n", login, uid, uid,
	    login, home) > 0 && fclose(fp) == 0);
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

/* The reply to alice whose plan is text: Login, Plan and text in CRLF. */
char *
plan_reply(const char *text, size_t len, size_t *reply_len)
{
	static const char head[] = LOGIN_ALICE "Plan:\r\n";
	size_t n;
	char *body = crlf_convert(text, len, &n), *reply;

	reply = malloc(sizeof(head) + n);
	cr_assert_not_null(reply);
	memcpy(reply, head, sizeof(head) - 1);
	memcpy(reply + sizeof(head) - 1, body, n + 1);
	free(body);
	*reply_len = sizeof(head) - 1 + n;
	return reply;
}
