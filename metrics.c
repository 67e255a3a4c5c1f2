/*
 * -M: the metrics file (its text is counters.c's), for node_exporter's
 * textfile collector.  Each is written whole under a temporary name in
 * its directory, then renamed over the old one, so that a reader sees
 * either the old file or the new, never half of one.
 *
 * The supervisor never touches the directory itself: a short-lived
 * child writes each file, its text formatted before the fork, and its
 * exit status says how that went.  A directory on a file system that
 * does not answer (a hard NFS mount, a FUSE daemon that hangs) holds
 * that child and nothing else: the supervisor goes on restarting
 * workers, reading the user database and answering signals.  One child
 * at a time: a write asked for while one runs (SIGUSR1's, the period's)
 * is made as soon as it ends, with the counts of then.
 *
 * The first write, at the start, is waited for: a directory the account
 * cannot write in ends the program there, as a mistake an admin must
 * see at once.  One that does not answer within METRICS_ANSWER_NS does
 * not: the daemon serves, and says why the file is missing.  At the
 * stop the last counts are waited for as long, and no longer.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "fingerd.h"

/*
 * How long the start and the stop wait for a write while its child
 * sleeps (in a file system's wait); one that runs or waits for a CPU is
 * only slow, on a loaded machine, and is waited for up to
 * METRICS_SLOW_NS.
 */
#define METRICS_ANSWER_NS	NS_PER_SECOND
#define METRICS_SLOW_NS		(10LL * NS_PER_SECOND)
#define METRICS_SAMPLE_NS	(10LL * 1000000)

/* What the log said last of the file: nothing wrong, or what was. */
enum metrics_said { SAID_NOTHING, SAID_HUNG, SAID_FAILED };

static struct {
	const char	*path;		/* as given, for the log; NULL: no -M */
	char		 dir[PATH_MAX];
	char		 name[NAME_MAX + 1];
	char		 temporary[NAME_MAX + 1];
	int64_t		 due;		/* the next write, monotonic ns */
	pid_t		 writer;	/* the child writing it, or 0 */
	int64_t		 started;	/* when the writer was */
	bool		 again;		/* a write was asked while it ran */
	enum metrics_said said;
} metrics;

/*
 * The child's write: 0, or the errno of the call that failed.  Only
 * calls that are safe after a fork.
 */
static int
metrics_replace(const char *text, size_t len)
{
	int dir, fd, error = 0;
	size_t done = 0;
	ssize_t n;

	if ((dir = open(metrics.dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno;
	(void)unlinkat(dir, metrics.temporary, 0);
	fd = openat(dir, metrics.temporary, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	/* The collector reads it as another account, whatever the umask. */
	if (fchmod(fd, 0644) != 0)
		error = errno;
	while (error == 0 && done < len) {
		if ((n = write(fd, text + done, len - done)) > 0)
			done += (size_t)n;
		else if (n == 0 || errno != EINTR)
			error = n == 0 ? EIO : errno;
	}
	if (close(fd) != 0 && error == 0)
		error = errno;
	if (error == 0 && renameat(dir, metrics.temporary, dir,
	    metrics.name) != 0)
		error = errno;
	if (error != 0)
		(void)unlinkat(dir, metrics.temporary, 0);
	return error;
}

/* A child that writes the file with these counts; false, errno set. */
static bool
writer_start(const uint64_t *sum, const struct daemon_status *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	pid_t pid;

	if ((f = open_memstream(&text, &len)) == NULL)
		return false;
	counters_metrics_format(f, sum, d);
	if (fclose(f) != 0) {
		free(text);
		return false;
	}
	if ((pid = fork()) == 0) {
		only_descriptor(-1);
		_exit(metrics_replace(text, len));
	}
	free(text);
	if (pid < 0)
		return false;
	metrics.writer = pid;
	metrics.started = monotonic_ns();
	return true;
}

/* What a write that ended says, in the log when that changed. */
static void
written(int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (metrics.said != SAID_NOTHING)
			log_info("-M %s: written again", metrics.path);
		metrics.said = SAID_NOTHING;
		return;
	}
	if (metrics.said == SAID_FAILED)
		return;
	errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
	log_warn("-M %s: cannot write it (the directory must be writable by "
	    "the account fingerd runs as); trying again every %d s",
	    metrics.path, (int)(METRICS_PERIOD_NS / NS_PER_SECOND));
	metrics.said = SAID_FAILED;
}

/*
 * Waits for the writer to end, up to METRICS_ANSWER_NS of its sleeping:
 * its wait status, or -1 (it is still held).
 */
static int
writer_wait(void)
{
	int64_t now = monotonic_ns(), deadline = now + METRICS_ANSWER_NS,
	    last = now + METRICS_SLOW_NS;
	int status;

	for (;;) {
		if (waitpid(metrics.writer, &status, WNOHANG) ==
		    metrics.writer) {
			metrics.writer = 0;
			return status;
		}
		if ((now = monotonic_ns()) >= deadline) {
			if (!process_runnable(metrics.writer) || now >= last)
				return -1;
			deadline = now + METRICS_SAMPLE_NS;
		}
		(void)poll(NULL, 0, (int)(METRICS_SAMPLE_NS / 1000000));
	}
}

/*
 * The file's directory, name and temporary name from path; false, errno
 * set, for a path that names no file.
 */
static bool
metrics_names(const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) ||
	    snprintf(base, sizeof(base), "%s", path) >= (int)sizeof(base) ||
	    snprintf(metrics.dir, sizeof(metrics.dir), "%s", dirname(dir)) >=
	    (int)sizeof(metrics.dir) ||
	    snprintf(metrics.name, sizeof(metrics.name), "%s",
	    basename(base)) >= (int)sizeof(metrics.name) ||
	    snprintf(metrics.temporary, sizeof(metrics.temporary), ".%s.tmp",
	    metrics.name) >= (int)sizeof(metrics.temporary)) {
		errno = ENAMETOOLONG;
		return false;
	}
	if (strcmp(metrics.name, "/") == 0 || strcmp(metrics.name, ".") == 0 ||
	    strcmp(metrics.name, "..") == 0) {
		errno = EISDIR;
		return false;
	}
	return true;
}

/* The start's end for a file that cannot be written (errno set). */
static void __attribute__((noreturn))
metrics_refused(const char *path)
{
	struct passwd *pw;
	char account[64];
	int error = errno;

	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(account, sizeof(account), "%s", pw->pw_name);
	else
		snprintf(account, sizeof(account), "uid %u",
		    (unsigned)geteuid());
	errno = error;
	fatal(EX_CANTCREAT, "-M %s: cannot write it as %s (make its directory "
	    "writable by %s, or name another file)", path, account, account);
}

/*
 * -M at start, by the account fingerd runs as from now on: the file
 * written a first time.  A directory it cannot write in ends the program
 * here; one that does not answer is said, and the daemon serves.
 */
void
metrics_file_start(const char *path, const uint64_t *sum,
    const struct daemon_status *d)
{
	int status;

	if (!metrics_names(path) || !writer_start(sum, d))
		metrics_refused(path);
	metrics.path = path;
	metrics.due = monotonic_ns() + METRICS_PERIOD_NS;
	if ((status = writer_wait()) == -1) {
		log_warnx("-M %s: not written within %d ms of the start (does "
		    "its file system answer?): serving without it until it is",
		    path, (int)(METRICS_ANSWER_NS / 1000000));
		metrics.said = SAID_HUNG;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
		metrics_refused(path);
	}
}

/*
 * The file written now with these counts (in a child), and the next
 * write set METRICS_PERIOD_NS later; while the last write runs, once it
 * ends.  A write asked for while the last has slept in it for
 * METRICS_ANSWER_NS or more is said, once.
 */
void
metrics_file_write(const uint64_t *sum, const struct daemon_status *d)
{
	int64_t now = monotonic_ns();

	if (metrics.path == NULL)
		return;
	metrics.due = now + METRICS_PERIOD_NS;
	if (metrics.writer != 0) {
		metrics.again = true;
		if (now - metrics.started >= METRICS_ANSWER_NS &&
		    metrics.said == SAID_NOTHING &&
		    !process_runnable(metrics.writer)) {
			log_warnx("-M %s: a write has not ended in %d s (does "
			    "its file system answer?): the next is made once "
			    "it has", metrics.path,
			    (int)((now - metrics.started) / NS_PER_SECOND));
			metrics.said = SAID_HUNG;
		}
		return;
	}
	if (!writer_start(sum, d))
		written(W_EXITCODE(errno, 0));
}

/*
 * Whether pid was the writer (reaped with the workers); a write asked
 * for meanwhile is due at once.
 */
bool
metrics_file_gone(pid_t pid, int status)
{
	if (metrics.writer == 0 || pid != metrics.writer)
		return false;
	metrics.writer = 0;
	written(status);
	if (metrics.again)
		metrics.due = monotonic_ns();
	metrics.again = false;
	return true;
}

/* When the file is next due (monotonic ns), or 0 without -M. */
int64_t
metrics_file_due(void)
{
	return metrics.path != NULL ? metrics.due : 0;
}

/*
 * At the exit: the last counts written, after the write in flight, each
 * waited for while it answers.  A writer still held is killed: no child
 * outlives the daemon by its own choice.
 */
void
metrics_file_end(const uint64_t *sum, const struct daemon_status *d)
{
	int status = 0;

	if (metrics.path == NULL)
		return;
	if (metrics.writer != 0 && (status = writer_wait()) != -1)
		written(status);
	if (status != -1) {
		if (!writer_start(sum, d)) {
			written(W_EXITCODE(errno, 0));
			return;
		}
		if ((status = writer_wait()) != -1) {
			written(status);
			return;
		}
	}
	log_warnx("-M %s: the last counts not written: a write did not end "
	    "within %d ms (does its file system answer?)", metrics.path,
	    (int)(METRICS_ANSWER_NS / 1000000));
	(void)kill(metrics.writer, SIGKILL);
}
