/*
 * -M: the metrics file (its text is counters.c's), for node_exporter's
 * textfile collector.  Each is written whole under a temporary name in
 * its directory, then renamed over the old one, so that a reader sees
 * either the old file or the new, never half of one.
 *
 * The supervisor never touches the directory itself: a short-lived
 * child writes each file, its text formatted before the fork, and says
 * on a pipe how that went.  A directory on a file system that
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
 * sleeps (in a file system's wait), in one stretch; a child that runs
 * or waits for a CPU is only slow, on a loaded machine, and is waited
 * for, up to METRICS_SLOW_NS in all.
 */
#define METRICS_ANSWER_NS	NS_PER_SECOND
#define METRICS_SLOW_NS		(10LL * NS_PER_SECOND)
#define METRICS_SAMPLE_NS	(10LL * 1000000)

/* What the log said last of the file: nothing wrong, or what was. */
enum metrics_said { SAID_NOTHING, SAID_HUNG, SAID_FAILED };

static struct {
	const char	*path;		/* as given, for the log; NULL: no -M */
	char		 dir[PATH_MAX];	/* absolute, looked up at each write */
	char		 name[NAME_MAX + 1];
	char		 temporary[NAME_MAX + 1];
	int64_t		 due;		/* the next write, monotonic ns */
	pid_t		 writer;	/* the child writing it, or 0 */
	int		 result;	/* the pipe its errno comes on */
	int64_t		 started;	/* when the writer was */
	bool		 again;		/* a write was asked while it ran */
	bool		 written;	/* once at least */
	enum metrics_said said;
} metrics = { .result = -1 };

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

/*
 * The writer: it dies with the supervisor (a write held past a daemon's
 * end would put its counts over those of the next), holds no descriptor
 * but its pipe (and /dev/null as 0 to 2: child_alone), and says its
 * errno there: the exit status is not the program's alone (valgrind's,
 * a signal's).
 */
static void __attribute__((noreturn))
writer(pid_t parent, int pipe, const char *text, size_t len)
{
	int error;

	child_alone(parent, pipe);
	error = metrics_replace(text, len);
	(void)write(pipe, &error, sizeof(error));
	_exit(0);
}

/* A child that writes the file with these counts; false, errno set. */
static bool
writer_start(const uint64_t *sum, const struct daemon_status *d)
{
	pid_t parent = getpid(), pid;
	char *text = NULL;
	int pipes[2];
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return false;
	counters_metrics_format(f, sum, d);
	if (fclose(f) != 0) {
		free(text);
		return false;
	}
	if (pipe2(pipes, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(text);
		return false;
	}
	if ((pid = fork()) == 0)
		writer(parent, pipes[1], text, len);
	free(text);
	close(pipes[1]);
	if (pid < 0) {
		close(pipes[0]);
		return false;
	}
	metrics.writer = pid;
	metrics.result = pipes[0];
	metrics.started = monotonic_ns();
	return true;
}

/*
 * What a writer that ended said: 0, its errno, or -1, none (killed, by
 * status).  Its pipe closed.
 */
static int
writer_heard(void)
{
	int error = -1;

	if (read(metrics.result, &error, sizeof(error)) != sizeof(error))
		error = -1;
	close(metrics.result);
	metrics.result = -1;
	metrics.writer = 0;
	return error;
}

/* What a write that ended says, in the log when that changed. */
static void
written(int error, int status)
{
	if (error == 0) {
		if (metrics.said != SAID_NOTHING)
			log_info("-M %s: written%s", metrics.path,
			    metrics.written ? " again" : "");
		metrics.said = SAID_NOTHING;
		metrics.written = true;
		return;
	}
	if (metrics.said == SAID_FAILED)
		return;
	metrics.said = SAID_FAILED;
	if (error < 0 && WIFSIGNALED(status)) {
		log_warnx("-M %s: not written: the process writing it was "
		    "killed (%s)", metrics.path, strsignal(WTERMSIG(status)));
		return;
	}
	errno = error < 0 ? EIO : error;
	log_warn("-M %s: cannot write it (the directory must be writable by "
	    "the account fingerd runs as); trying again every %d s",
	    metrics.path, (int)(METRICS_PERIOD_NS / NS_PER_SECOND));
}

/*
 * Whether the writer has ended: then reaped, what it said in *error
 * and its wait status in *status.
 */
static bool
writer_ended(int *error, int *status)
{
	if (waitpid(metrics.writer, status, WNOHANG) != metrics.writer)
		return false;
	*error = writer_heard();
	return true;
}

/*
 * Waits for the writer to end while it answers: true once it has (as
 * writer_ended), false when it has slept METRICS_ANSWER_NS in one
 * stretch (held by its file system) or run METRICS_SLOW_NS in all.
 */
static bool
writer_wait(int *error, int *status)
{
	int64_t now = monotonic_ns(), asleep = now + METRICS_ANSWER_NS,
	    last = now + METRICS_SLOW_NS;

	while (!writer_ended(error, status)) {
		now = monotonic_ns();
		if (process_runnable(metrics.writer))
			asleep = now + METRICS_ANSWER_NS;
		else if (now >= asleep)		/* it may have just ended */
			return writer_ended(error, status);
		if (now >= last)
			return false;
		(void)poll(NULL, 0, (int)(METRICS_SAMPLE_NS / 1000000));
	}
	return true;
}

/*
 * The file's directory (made absolute: no chdir moves it), name and
 * temporary name from path; false, errno set, for a path that names no
 * file.
 */
static bool
metrics_names(const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX], cwd[PATH_MAX];

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
		return false;
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) ||
	    snprintf(base, sizeof(base), "%s", path) >= (int)sizeof(base) ||
	    snprintf(metrics.dir, sizeof(metrics.dir), "%s%s%s",
	    path[0] == '/' ? "" : cwd, path[0] == '/' ? "" : "/",
	    dirname(dir)) >= (int)sizeof(metrics.dir) ||
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

/* The write in flight held: said once, until one ends. */
static void
writer_held(const char *what, const char *then)
{
	if (metrics.said == SAID_HUNG)
		return;
	log_warnx("-M %s: %sthe write has waited %.1f s (does its file system "
	    "answer?); %s", metrics.path, what,
	    (double)(monotonic_ns() - metrics.started) / NS_PER_SECOND, then);
	metrics.said = SAID_HUNG;
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
	int error, status;

	if (!metrics_names(path))
		metrics_refused(path);
	metrics.path = path;
	if (!writer_start(sum, d))
		fatal(EX_OSERR, "-M %s: no process to write it", path);
	metrics.due = monotonic_ns() + METRICS_PERIOD_NS;
	if (!writer_wait(&error, &status)) {
		writer_held("not written at the start: ", "serving without it "
		    "until it ends");
		return;
	}
	if (error != 0 && !(error < 0 && WIFSIGNALED(status))) {
		errno = error < 0 ? EIO : error;
		metrics_refused(path);
	}
	written(error, status);
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
	int error, status;

	if (metrics.path == NULL)
		return;
	metrics.due = now + METRICS_PERIOD_NS;
	/* Its SIGCHLD may wait behind the signal that asks (signalfd). */
	if (metrics.writer != 0 && writer_ended(&error, &status))
		written(error, status);
	if (metrics.writer != 0) {
		metrics.again = true;
		if (now - metrics.started >= METRICS_ANSWER_NS &&
		    !process_runnable(metrics.writer))
			writer_held("", "the next is made once it ends");
		return;
	}
	metrics.again = false;
	if (!writer_start(sum, d) && metrics.said != SAID_FAILED) {
		log_warn("-M %s: not written: no process to write it",
		    metrics.path);
		metrics.said = SAID_FAILED;
	}
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
	written(writer_heard(), status);
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
	int error, status;

	if (metrics.path == NULL)
		return;
	if (metrics.writer != 0 && writer_wait(&error, &status))
		written(error, status);
	if (metrics.writer == 0) {
		if (!writer_start(sum, d)) {
			log_warn("-M %s: the last counts not written: no "
			    "process to write them", metrics.path);
			return;
		}
		if (writer_wait(&error, &status)) {
			written(error, status);
			return;
		}
	}
	log_warnx("-M %s: the last counts not written: a write has waited "
	    "%.1f s (does its file system answer?)", metrics.path,
	    (double)(monotonic_ns() - metrics.started) / NS_PER_SECOND);
	(void)kill(metrics.writer, SIGKILL);
}
