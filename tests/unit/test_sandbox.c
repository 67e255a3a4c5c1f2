/*
 * A worker's confinement, tried from inside as a worker has it.
 *
 * landlock_restrict(): afterwards the process reads beneath each
 * member's home and nowhere else: not the directory that holds the homes,
 * not a non-member's home, not the user database, /etc/shadow, /var/tmp
 * or /run, even when a member's home is at the top of the tree (/root) or
 * is / itself.  It writes, creates and connects nothing.
 *
 * seccomp_restrict(): afterwards a call outside the worker's list
 * (execve, socket, connect but to AF_UNSPEC, ptrace, openat; the other
 * engine's calls; a new process) kills the process with SIGSYS; the
 * calls of the loop still work, with the epoll engine the threads of its
 * file requests too, and a connect to AF_UNSPEC, which disconnects.
 *
 * Each check runs in a child that confines itself, so the test can
 * remove its files afterwards.
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fingerd.h"

static char served[PATH_MAX], elsewhere[PATH_MAX];

static void
write_file(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	cr_assert_eq(write(fd, "plan\n", 5), 5);
	close(fd);
}

static void
make_home(const char *login)
{
	char home[PATH_MAX + 16];

	snprintf(home, sizeof(home), "%s/home/%s", served, login);
	cr_assert_eq(mkdir(home, 0755), 0);
	write_file(home, ".plan");
}

/*
 * served/home/alice/.plan is a member's, served/home/mallory/.plan a
 * non-member's, served/home/notes a file beside the homes;
 * elsewhere/secret is nobody's.
 */
static void
setup(void)
{
	char home[PATH_MAX + 16];

	strcpy(served, "/tmp/fingerd-sandbox-XXXXXX");
	strcpy(elsewhere, "/tmp/fingerd-elsewhere-XXXXXX");
	cr_assert_not_null(mkdtemp(served));
	cr_assert_not_null(mkdtemp(elsewhere));
	snprintf(home, sizeof(home), "%s/home", served);
	cr_assert_eq(mkdir(home, 0755), 0);
	write_file(home, "notes");
	make_home("alice");
	make_home("mallory");
	write_file(elsewhere, "secret");
}

static void
teardown(void)
{
	char command[2 * PATH_MAX + 16];

	snprintf(command, sizeof(command), "rm -rf '%s' '%s'", served,
	    elsewhere);
	cr_assert_eq(system(command), 0);
}

TestSuite(sandbox, .init = setup, .fini = teardown);

/*
 * The members: alice, whose home is in served/home, and two whose homes
 * are at the top of the tree, /root and /, as system accounts' may be.
 */
static struct members *
members(void)
{
	static char home[PATH_MAX + 16], gecos[] = "A", alice[] = "alice",
	    root[] = "root", slash[] = "slash", root_home[] = "/root",
	    slash_home[] = "/";
	struct account a[] = {
		{ .login = alice, .gecos = gecos, .home = home, .gid = 79 },
		{ .login = root, .gecos = gecos, .home = root_home, .gid = 79 },
		{ .login = slash, .gecos = gecos, .home = slash_home,
		    .gid = 79 },
	};

	snprintf(home, sizeof(home), "%s/home/alice", served);
	return members_build(79, NULL, a, 3);
}

/* No seccomp filter: Landlock alone. */
#define LANDLOCK_ONLY	(-1)

/*
 * Runs check in a child confined as a worker: Landlock, and the seccomp
 * filter of an engine unless LANDLOCK_ONLY.  Returns its wait status.
 */
static int
confined(int (*check)(void), int engine)
{
	struct members *t;
	int status;
	pid_t pid;

	cr_assert((pid = fork()) >= 0);
	if (pid == 0) {
		if ((t = members()) == NULL ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(255);
		landlock_restrict(t);
		members_release(t);
		if (engine != LANDLOCK_ONLY)
			seccomp_restrict((enum engine_kind)engine);
		_exit(check());
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* 0 when check held in a child under Landlock, else the failed line. */
static int
restricted(int (*check)(void))
{
	int status = confined(check, LANDLOCK_ONLY);

	cr_assert(WIFEXITED(status), "wait status %#x", status);
	return WEXITSTATUS(status);
}

#define EXPECT(cond)	do { if (!(cond)) return __LINE__ % 250 + 1; } while (0)

static int
open_errno(const char *dir, const char *name, int flags)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, flags, 0644)) < 0)
		return errno;
	close(fd);
	return 0;
}

static int
reads_served(void)
{
	EXPECT(open_errno(served, "home/alice/.plan", O_RDONLY) == 0);
	EXPECT(open_errno(served, "home/alice", O_RDONLY | O_DIRECTORY) == 0);
	return 0;
}

static int
reads_nothing_else(void)
{
	EXPECT(open_errno(elsewhere, "secret", O_RDONLY) == EACCES);
	EXPECT(open_errno(served, ".", O_RDONLY | O_DIRECTORY) == EACCES);
	EXPECT(open_errno(served, "home", O_RDONLY | O_DIRECTORY) == EACCES);
	EXPECT(open_errno(served, "home/notes", O_RDONLY) == EACCES);
	EXPECT(open_errno(served, "home/mallory/.plan", O_RDONLY) == EACCES);
	EXPECT(open_errno("/etc", "passwd", O_RDONLY) == EACCES);
	EXPECT(open_errno("/etc", "shadow", O_RDONLY) == EACCES);
	EXPECT(open_errno("/var", "tmp", O_RDONLY | O_DIRECTORY) == EACCES);
	EXPECT(open_errno("/", "run", O_RDONLY | O_DIRECTORY) == EACCES);
	EXPECT(open_errno("/", ".", O_RDONLY | O_DIRECTORY) == EACCES);
	return 0;
}

static int
writes_nothing(void)
{
	EXPECT(open_errno(served, "home/alice/.plan", O_WRONLY) == EACCES);
	EXPECT(open_errno(served, "home/alice/new", O_WRONLY | O_CREAT) ==
	    EACCES);
	EXPECT(open_errno(elsewhere, "new", O_WRONLY | O_CREAT) == EACCES);
	return 0;
}

static int
connects_nothing(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(9) };
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	EXPECT(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1);
	EXPECT(errno == EACCES);
	return 0;
}

Test(sandbox, reads_the_members_homes)
{
	cr_assert_eq(restricted(reads_served), 0);
}

Test(sandbox, reads_nothing_else_not_even_with_a_home_at_the_top)
{
	cr_assert_eq(restricted(reads_nothing_else), 0);
}

Test(sandbox, writes_and_creates_nothing)
{
	cr_assert_eq(restricted(writes_nothing), 0);
}

Test(sandbox, connects_no_tcp_socket)
{
	cr_assert_eq(restricted(connects_nothing), 0);
}

/* Without the restriction the same checks fail: they can fail. */
Test(sandbox, checks_fail_unrestricted)
{
	cr_assert_neq(reads_nothing_else(), 0);
	cr_assert_neq(writes_nothing(), 0);
}

Test(sandbox, a_home_at_the_top_or_slash)
{
	cr_assert(landlock_home_servable("/root"));
	cr_assert(landlock_home_servable("/home/alice"));
	cr_assert_not(landlock_home_servable("/"));
	cr_assert_not(landlock_home_servable("//"));
	cr_assert_not(landlock_home_servable(""));
	cr_assert_not(landlock_home_servable("home/alice"));
}

/*
 * alice, and three members whose homes lead to / without being spelled
 * so (issue 20, 7): "/.", "/usr/..", and a symbolic link to /.
 */
static struct members *
members_rooted(void)
{
	static char home[PATH_MAX + 16], link[PATH_MAX + 16], gecos[] = "A",
	    alice[] = "alice", dot[] = "dot", up[] = "up", linked[] = "linked",
	    dot_home[] = "/.", up_home[] = "/usr/..";
	struct account a[] = {
		{ .login = alice, .gecos = gecos, .home = home, .gid = 79 },
		{ .login = dot, .gecos = gecos, .home = dot_home, .gid = 79 },
		{ .login = up, .gecos = gecos, .home = up_home, .gid = 79 },
		{ .login = linked, .gecos = gecos, .home = link, .gid = 79 },
	};

	snprintf(home, sizeof(home), "%s/home/alice", served);
	snprintf(link, sizeof(link), "%s/to-root", served);
	return members_build(79, NULL, a, 4);
}

/* check under Landlock with members_rooted(), stderr into log. */
static int
rooted_restricted(int (*check)(void), const char *log)
{
	struct members *t;
	int status, fd;
	pid_t pid;

	cr_assert((pid = fork()) >= 0);
	if (pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
		    dup2(fd, STDERR_FILENO) < 0 || (t = members_rooted()) == NULL ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(255);
		landlock_restrict(t);
		members_release(t);
		_exit(check());
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "wait status %#x", status);
	return WEXITSTATUS(status);
}

/* How many lines of the file at path hold text. */
static size_t
lines_with(const char *path, const char *text)
{
	char line[1024];
	size_t n = 0;
	FILE *f;

	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

/*
 * A home that opens to / is not allowed, however it is spelled, and
 * each is logged: the worker reads no more than with the others.
 */
Test(sandbox, a_home_that_leads_to_slash_is_not_allowed)
{
	char link[PATH_MAX + 16], log[PATH_MAX + 16];

	snprintf(link, sizeof(link), "%s/to-root", served);
	snprintf(log, sizeof(log), "%s/log", elsewhere);
	cr_assert_eq(symlink("/", link), 0);
	cr_assert_eq(rooted_restricted(reads_nothing_else, log), 0);
	cr_assert_eq(lines_with(log, "is not served: it is the root "
	    "directory"), 3);
	cr_assert_eq(lines_with(log, "member dot: home \"/.\" is not served"),
	    1);
	cr_assert_eq(lines_with(log, "member up: home \"/usr/..\" is not "
	    "served"), 1);
	cr_assert_eq(rooted_restricted(reads_served, log), 0);
}

/* Under seccomp: what the loop does works, and exits 0. */
static int
loop_calls(void)
{
	char byte = 'x';

	EXPECT(write(STDERR_FILENO, "", 0) == 0);
	EXPECT(getpid() > 0);
	EXPECT(write(-1, &byte, 1) == -1 && errno == EBADF);
	EXPECT(close(-1) == -1 && errno == EBADF);
	EXPECT(shutdown(-1, SHUT_RDWR) == -1 && errno == EBADF);
	EXPECT(malloc(1 << 20) != NULL);
	return 0;
}

static int
calls_execve(void)
{
	char *argv[] = { "/bin/true", NULL };

	syscall(SYS_execve, "/bin/true", argv, NULL);
	return 1;
}

static int
calls_socket(void)
{
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return 1;
}

/* An address a connect could reach: AF_INET's 16 bytes. */
static int
calls_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	syscall(SYS_connect, -1, &sin, sizeof(sin));
	return 1;
}

/* A connect that names no address, only AF_UNSPEC: a disconnect. */
static int
disconnects(void)
{
	const struct sockaddr dissolve = { .sa_family = AF_UNSPEC };

	EXPECT(connect(-1, &dissolve, sizeof(dissolve.sa_family)) == -1 &&
	    errno == EBADF);
	return 0;
}

static int
calls_ptrace(void)
{
	syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
	return 1;
}

static int
calls_openat(void)
{
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
	return 1;
}

/* The calls of the epoll engine, its threads' among them. */
static void *
file_thread(void *arg)
{
	struct statx stx;

	(void)arg;
	return statx(AT_FDCWD, "/", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
	    &stx) == 0 ? arg : NULL;
}

static int
epoll_calls(void)
{
	struct epoll_event ev;
	static int token;
	pthread_t thread;
	void *ret = NULL;
	char byte;

	EXPECT(loop_calls() == 0);
	EXPECT(epoll_wait(-1, &ev, 1, 0) == -1 && errno == EBADF);
	EXPECT(epoll_ctl(-1, EPOLL_CTL_ADD, 0, &ev) == -1 && errno == EBADF);
	EXPECT(accept4(-1, NULL, NULL, 0) == -1 && errno == EBADF);
	EXPECT(recv(-1, &byte, 1, MSG_DONTWAIT) == -1 && errno == EBADF);
	EXPECT(send(-1, &byte, 1, MSG_DONTWAIT) == -1 && errno == EBADF);
	EXPECT(pread(-1, &byte, 1, 0) == -1 && errno == EBADF);
	EXPECT(fcntl(-1, F_GETFL) == -1 && errno == EBADF);
	EXPECT(pthread_create(&thread, NULL, file_thread, &token) == 0);
	EXPECT(pthread_join(thread, &ret) == 0 && ret == &token);
#if !defined(__SANITIZE_ADDRESS__)	/* whose list allows clone3 */
	/* clone3 is told ENOSYS, for glibc to fall back to clone. */
	EXPECT(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
#endif
	return 0;
}

/* A new process: clone without CLONE_THREAD. */
static int
calls_fork(void)
{
	syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	return 1;
}

static int
calls_io_uring_setup(void)
{
	syscall(__NR_io_uring_setup, 1, NULL);
	return 1;
}

static int
calls_epoll_wait(void)
{
	struct epoll_event ev;

	epoll_wait(-1, &ev, 1, 0);
	return 1;
}

static void
killed_by_seccomp(int (*check)(void), enum engine_kind engine,
    const char *what)
{
	int status = confined(check, (int)engine);

	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "%s under %s's filter: wait status %#x, not SIGSYS", what,
	    engine_name(engine), status);
}

static void
allowed(int (*check)(void), enum engine_kind engine)
{
	int status = confined(check, (int)engine);

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "under %s's filter: wait status %#x", engine_name(engine),
	    status);
}

Test(sandbox, seccomp_allows_the_loop)
{
	allowed(loop_calls, ENGINE_URING);
	allowed(epoll_calls, ENGINE_EPOLL);
}

/* connect only to dissolve a connection (client.c's socket_close). */
Test(sandbox, seccomp_allows_connect_only_to_disconnect)
{
	static const enum engine_kind engines[] = {
		ENGINE_URING, ENGINE_EPOLL,
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		allowed(disconnects, engines[i]);
		killed_by_seccomp(calls_connect, engines[i],
		    "connect to AF_INET");
	}
}

Test(sandbox, seccomp_refuses_the_rest)
{
	static const enum engine_kind engines[] = {
		ENGINE_URING, ENGINE_EPOLL,
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		killed_by_seccomp(calls_execve, engines[i], "execve");
		killed_by_seccomp(calls_socket, engines[i], "socket");
		killed_by_seccomp(calls_io_uring_setup, engines[i],
		    "io_uring_setup");
#if !defined(__SANITIZE_ADDRESS__)
		/* LeakSanitizer needs these at exit: ASan allows them. */
		killed_by_seccomp(calls_ptrace, engines[i], "ptrace");
		killed_by_seccomp(calls_fork, engines[i], "clone (fork)");
#else
		(void)calls_ptrace;
		(void)calls_openat;
		(void)calls_fork;
#endif
	}
	killed_by_seccomp(calls_epoll_wait, ENGINE_URING, "epoll_wait");
#if !defined(__SANITIZE_ADDRESS__)
	/* The epoll engine's threads fall back to openat without openat2. */
	killed_by_seccomp(calls_openat, ENGINE_URING, "openat");
#endif
}
