/*
 * landlock_restrict(): afterwards the process reads the directories that
 * hold the members' homes and the user database, and nothing else; it
 * writes, creates and connects nothing.  Each check runs in a child
 * that restricts itself, so the test can remove its files afterwards.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* served/home/alice/.plan is a member's; elsewhere/secret is not. */
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
	snprintf(home, sizeof(home), "%s/home/alice", served);
	cr_assert_eq(mkdir(home, 0755), 0);
	write_file(home, ".plan");
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
 * Runs check in a child restricted to the fixture's member; returns 0
 * when every expectation held, else the line of the first that did not.
 */
static int
restricted(int (*check)(void))
{
	char home[PATH_MAX + 16], gecos[] = "Alice", login[] = "alice";
	struct account a = { .login = login, .gecos = gecos, .home = home,
	    .gid = 79 };
	struct members *t;
	int status;
	pid_t pid;

	snprintf(home, sizeof(home), "%s/home/alice", served);
	cr_assert((pid = fork()) >= 0);
	if (pid == 0) {
		if ((t = members_build(79, NULL, &a, 1)) == NULL ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(255);
		landlock_restrict(t);
		members_release(t);
		_exit(check());
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
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
	EXPECT(open_errno("/etc", "passwd", O_RDONLY) == 0);
	EXPECT(open_errno(served, "home", O_RDONLY | O_DIRECTORY) == 0);
	return 0;
}

static int
reads_nothing_else(void)
{
	EXPECT(open_errno(elsewhere, "secret", O_RDONLY) == EACCES);
	EXPECT(open_errno(served, ".", O_RDONLY | O_DIRECTORY) == EACCES);
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

Test(sandbox, reads_the_members_homes_and_the_user_database)
{
	cr_assert_eq(restricted(reads_served), 0);
}

Test(sandbox, reads_nothing_else)
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
