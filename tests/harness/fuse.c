/*
 * The harness's file system that hangs (see harness.h): tests/tools/
 * slowfs.c mounted over zoe's home directory in a mount namespace of the
 * test's own, made to hang, slow down or fail through its control file
 * (control), and what it holds counted: the requests it received, and
 * those the daemon's workers or the supervisor's other children hold now.
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define FUSE_SUPER_MAGIC	0x65735546

static pid_t slowfs;		/* a FUSE daemon of the test's, or 0 */
char control[256];		/* what it reads to know what to hang */

void
write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/*
 * Whether thread tid is of one of the daemon's workers (fingerd -i: of
 * the daemon itself, which looks at no home as a supervisor), or, not
 * workers, of the supervisor's other children: its looks at the homes.
 */
static bool
daemons(pid_t tid, bool workers)
{
	pid_t pids[16], process = (pid_t)status_number(tid, "Tgid");
	size_t i, n = daemon_workers(&fx, pids, 16);

	if (process == fx.pid)
		return workers;
	for (i = 0; i < n && i < 16; i++)
		if (pids[i] == process)
			return workers;
	return !workers && status_number(process, "PPid") == fx.pid;
}

/*
 * Requests slowfs holds now (its count file names the threads): those
 * of the daemon's workers, or those of the supervisor's other children.
 */
unsigned
slowfs_held(bool workers)
{
	char path[300];
	unsigned received, all, held = 0;
	long tid;
	FILE *f;

	snprintf(path, sizeof(path), "%s.count", control);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%u %u", &received, &all) == 2)
		while (fscanf(f, "%ld", &tid) == 1)
			held += daemons((pid_t)tid, workers);
	fclose(f);
	return held;
}

/*
 * The worker whose child (the one that opens the homes as the worker
 * confines itself) slowfs holds a request of now, or 0.
 */
pid_t
slowfs_held_worker(void)
{
	char path[300];
	unsigned received, all;
	pid_t worker = 0;
	long tid, parent;
	FILE *f;

	snprintf(path, sizeof(path), "%s.count", control);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%u %u", &received, &all) == 2)
		while (worker == 0 && fscanf(f, "%ld", &tid) == 1) {
			parent = status_number((pid_t)status_number((pid_t)tid,
			    "Tgid"), "PPid");
			if (parent > 0 && parent != fx.pid &&
			    status_number((pid_t)parent, "PPid") == fx.pid)
				worker = (pid_t)parent;
		}
	fclose(f);
	return worker;
}

/* slowfs's count: requests received, and those the workers hold now. */
void
slowfs_count(unsigned *received, unsigned *held)
{
	char path[300];
	unsigned all;
	FILE *f;

	snprintf(path, sizeof(path), "%s.count", control);
	*received = 0;
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%u %u", received, &all) != 2)
			*received = 0;
		fclose(f);
	}
	*held = slowfs_held(true);
}

bool
slowfs_holds(unsigned n)
{
	double deadline = now_seconds() + WAIT_REPLY_MS / 1000.0;
	unsigned received, held;

	do {
		slowfs_count(&received, &held);
		if (held >= n)
			return true;
		usleep(5000);
	} while (now_seconds() < deadline);
	return false;
}

/*
 * For a failure's message: slowfs's count file (the requests it holds,
 * each with the thread that asked), then the daemon's processes and
 * where each waits (daemon_describe).  Malloc'd.
 */
char *
slowfs_describe(void)
{
	struct buffer b = { 0 };
	char path[300], *daemon = daemon_describe(&fx);

	snprintf(path, sizeof(path), "%s.count", control);
	buffer_append(&b, "slowfs's count: ", 16);
	if (access(path, F_OK) == 0) {
		struct buffer count;

		read_file(path, &count);
		buffer_append(&b, count.data, count.len);
		buffer_free(&count);
	}
	buffer_append(&b, "\n", 1);
	buffer_append(&b, daemon, strlen(daemon) + 1);
	free(daemon);
	return b.data;
}

/*
 * The test's own mount namespace, its mounts private: what it mounts
 * (and the daemon it starts sees) is gone with it, and the machine's
 * own mounts never change.
 */
void
mounts_of_its_own(void)
{
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
}

/*
 * zoe's home directory, fx.dir/srv, becomes a slowfs mount of a backing
 * directory holding her home, in a mount namespace of this test's own
 * (the daemon, started after, is in it too).
 */
void
slowfs_mount(void)
{
	const char *bin = getenv("SLOWFS");
	char backing[256], home[300], mountpoint[256], plan[320];
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	struct statfs sfs;

	cr_assert(bin != NULL && bin[0] != '\0',
	    "SLOWFS is not set: run the tests through make");
	mounts_of_its_own();
	snprintf(backing, sizeof(backing), "%s/srv-backing", fx.dir);
	snprintf(home, sizeof(home), "%s/zoe", backing);
	snprintf(plan, sizeof(plan), "%s/.plan", home);
	snprintf(mountpoint, sizeof(mountpoint), "%s/srv", fx.dir);
	snprintf(control, sizeof(control), "%s/slowfs.control", fx.dir);
	cr_assert(mkdir(backing, 0755) == 0 && mkdir(home, 0755) == 0);
	cr_assert(chmod(backing, 0755) == 0 && chmod(home, 0755) == 0);
	write_text(plan, PLAN_ZOE);
	write_text(control, "");
	cr_assert((slowfs = fork()) >= 0);
	if (slowfs == 0) {
		/* Should the test die, slowfs unmounts and goes too. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(bin, bin, backing, mountpoint, control, (char *)NULL);
		_exit(127);
	}
	while (statfs(mountpoint, &sfs) != 0 ||
	    sfs.f_type != FUSE_SUPER_MAGIC)
		cr_assert(now_seconds() < deadline, "slowfs did not mount");
}

void
slowfs_end(void)
{
	if (slowfs <= 0)
		return;
	write_text(control, "");
	kill(slowfs, SIGTERM);
	waitpid(slowfs, NULL, 0);
	slowfs = 0;
}

