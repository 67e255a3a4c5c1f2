/*
 * The harness's daemon (see harness.h): started on the fixture with the
 * suites' engine, as inetd runs it, or with exactly the flags a test
 * gives; its workers found in /proc; stopped, waited for, and killed
 * with the fixture by a watchdog should the test die first.  And what a
 * test may do in the daemon's process before the exec: seccomp filters
 * that refuse io_uring, openat2, Landlock, inotify or capset, and
 * privileges for it to drop.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
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
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
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
	cr_assert(asprintf(&env[kept++], "LD_PRELOAD=%s%s%s", lib,
	    f->preload != NULL ? " " : "",
	    f->preload != NULL ? f->preload : "") > 0);
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
	inetd_release(f);
	return status;
}

/*
 * The copy of an -i connection that the test holds (inetd_spawn) is
 * closed, as systemd's PID 1 closes its own once the service exited: at
 * the reaping of the daemon, or at the fixture's end.
 */
void
inetd_release(struct fixture *f)
{
	if (f->inetd_hold && f->inetd_held >= 0)
		close(f->inetd_held);
	f->inetd_held = -1;
}

bool
daemon_alive(struct fixture *f)
{
	return f->pid > 0 && daemon_wait(f, 0) == -1;
}

/* At most size bytes of /proc/pid/name into text: how many, or -1. */
static ssize_t
proc_read(pid_t pid, const char *name, char *text, size_t size)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, text, size);
		close(fd);
	}
	return n;
}

/*
 * /proc/pid/stat into text: its fields after the command's name (which
 * may hold spaces and parentheses), from the state on; NULL: gone.
 */
static const char *
proc_stat(pid_t pid, char *text, size_t size)
{
	ssize_t n = proc_read(pid, "stat", text, size - 1);
	char *name_end;

	if (n <= 0)
		return NULL;
	text[n] = '\0';
	return (name_end = strrchr(text, ')')) != NULL && name_end[1] == ' ' ?
	    name_end + 2 : NULL;
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
	ssize_t n = proc_read(pid, "cmdline", text, sizeof(text));
	ssize_t m = proc_read(supervisor, "cmdline", own, sizeof(own));

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

/*
 * The line of /proc/pid/status for field name ("Tgid", "CapEff"), its
 * trailing blanks cut, into value; "" when there is none (the process
 * gone, which a test looking at other processes' threads must expect).
 */
void
status_field(pid_t pid, const char *name, char *value, size_t size)
{
	char path[64], line[256];
	size_t n = strlen(name);
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	value[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, name, n) != 0 || line[n] != ':')
			continue;
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
			line[--n] = '\0';
		snprintf(value, size, "%s", line);
		break;
	}
	fclose(fp);
}

/* The number of field name ("Tgid", "PPid", "Uid"), or -1. */
long
status_number(pid_t pid, const char *name)
{
	char value[256];

	status_field(pid, name, value, sizeof(value));
	return value[0] == '\0' ? -1 :
	    strtol(value + strlen(name) + 1, NULL, 10);
}

/*
 * Whether process pid has begun to exit, by itself or killed (though a
 * thread that a file system holds keeps it from being reaped), or is
 * gone: its main thread's flags in /proc/pid/stat, PF_POSTCOREDUMP (set
 * first in do_exit, since Linux 5.17) or PF_EXITING (set only once
 * io_uring's requests are cancelled, which one held never is).
 */
bool
process_exiting(pid_t pid)
{
	const char *fields;
	char text[1024];
	unsigned long flags;

	/* after the name: state, ppid, pgrp, session, tty, tpgid, flags */
	if ((fields = proc_stat(pid, text, sizeof(text))) == NULL ||
	    sscanf(fields, "%*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return true;
	return (flags & (0x8 | 0x4)) != 0;	/* PF_POSTCOREDUMP, PF_EXITING */
}

/* The one worker of a daemon started without -w; waits for it, bounded. */
pid_t
daemon_worker(const struct fixture *f)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	pid_t pid = 0;
	size_t n;

	while ((n = daemon_workers(f, &pid, 1)) != 1 &&
	    now_seconds() < deadline)
		nanosleep(&pause, NULL);
	cr_assert(n == 1, "the daemon has %zu workers, not one", n);
	return pid;
}

/* The CPU process pid has used, user and system, in seconds; 0: gone. */
double
cpu_seconds(pid_t pid)
{
	unsigned long utime = 0, stime = 0;
	const char *fields;
	char text[1024];

	if ((fields = proc_stat(pid, text, sizeof(text))) != NULL)
		sscanf(fields, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%lu %lu", &utime, &stime);
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Where process pid waits in the kernel (/proc/pid/wchan), or "". */
static void
wait_channel(pid_t pid, char *wchan, size_t size)
{
	ssize_t n = proc_read(pid, "wchan", wchan, size - 1);

	wchan[n > 0 ? n : 0] = '\0';
}

/*
 * The one worker, once it waits for events in its loop (its accept in
 * flight): a connection made then is one its accept waits for.
 */
pid_t
daemon_worker_waiting(const struct fixture *f)
{
	double end = now_seconds() + WAIT_START_MS / 1000.0;
	char wchan[64];
	pid_t pid;

	do {
		pid = daemon_worker(f);
		wait_channel(pid, wchan, sizeof(wchan));
		/* Linux 6.1 on arm64 names the system call only. */
		if (strstr(wchan, "io_cqring_wait") != NULL ||
		    strstr(wchan, "io_uring_enter") != NULL ||
		    strstr(wchan, "epoll_wait") != NULL ||
		    strstr(wchan, "epoll_pwait") != NULL)
			return pid;
		usleep(10 * 1000);
	} while (now_seconds() < end);
	cr_assert_fail("worker %d never waits in its loop (it waits in %s)",
	    (int)pid, wchan);
	return -1;
}

/* Exactly n workers (into pids), waited for, bounded. */
void
daemon_workers_wait(const struct fixture *f, pid_t *pids, size_t n)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	size_t seen;

	while ((seen = daemon_workers(f, pids, n)) != n &&
	    now_seconds() < deadline)
		nanosleep(&pause, NULL);
	cr_assert_eq(seen, n, "%zu workers, not %zu", seen, n);
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

/* One line of process pid for daemon_describe(): its state and wait. */
static void
process_describe(struct buffer *out, pid_t pid, const char *what)
{
	char state[64], wchan[64], line[256], *at;
	int n;

	status_field(pid, "State", state, sizeof(state));
	at = state + strcspn(state, "\t");	/* "State:\tS (sleeping)" */
	at += strspn(at, "\t");
	wait_channel(pid, wchan, sizeof(wchan));
	n = snprintf(line, sizeof(line), "  %s %d: %s, waits in %s\n", what,
	    (int)pid, at[0] != '\0' ? at : "gone",
	    wchan[0] != '\0' ? wchan : "-");
	buffer_append(out, line, (size_t)n);
}

/*
 * For a failure's message: the daemon's processes (the supervisor, its
 * workers and its homes' children: the state of each and where it
 * waits) and the end of its log.  Malloc'd; errno kept.
 */
char *
daemon_describe(const struct fixture *f)
{
	struct buffer out = { 0 }, log;
	char path[64];
	int saved = errno;	/* a caller's, for its message */
	long pid;
	FILE *fp;

	if (f->pid > 0) {
		process_describe(&out, f->pid, "supervisor");
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
		    (int)f->pid, (int)f->pid);
		if ((fp = fopen(path, "r")) != NULL) {
			while (fscanf(fp, "%ld", &pid) == 1)
				process_describe(&out, (pid_t)pid,
				    is_worker((pid_t)pid, f->pid) ? "worker" :
				    "child");
			fclose(fp);
		}
	}
	log_read(f, &log);
	buffer_append(&out, "  log", 5);
	if (log.len > LOG_SHOWN)
		buffer_append(&out, "'s end", 6);
	buffer_append(&out, ":\n", 2);
	buffer_append(&out, log.len > LOG_SHOWN ?
	    log.data + log.len - LOG_SHOWN : log.data,
	    log.len > LOG_SHOWN ? LOG_SHOWN : log.len);
	buffer_free(&log);
	errno = saved;
	return out.data;
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
	va_list ap;

	va_start(ap, f);
	daemon_spawn(f, true, ap);
	va_end(ap);
	daemon_started(f);
}

/* Waits until the daemon launched serves, and takes its port. */
void
daemon_started(struct fixture *f)
{
	struct buffer b;

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
 * fingerd -i as inetd starts it, on one connection from 127.0.0.1 that
 * sent query: the socket its stdin and stdout, its log the fixture's.
 * With f->inetd_hold, the test keeps its copy of the connection (in
 * f->inetd_held, until inetd_release), as systemd's PID 1 does with
 * Accept=yes until the service exits: no close of fingerd's ends it,
 * and a test sees the FIN of a whole reply only once it has reaped the
 * daemon (daemon_wait).
 * The flags must hold -i.  Returns the client's end of the connection,
 * the daemon running; *start is when it was started.
 */
static int
inetd_spawn(struct fixture *f, const char *query, double *start,
    va_list ap)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int listener, client, served, stdio[3];

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
	*start = now_seconds();
	daemon_spawn(f, false, ap);
	if (f->inetd_hold)
		f->inetd_held = served;
	else
		close(served);
	close(stdio[2]);
	f->stdio = NULL;
	return client;
}

/* The same, for a test that reads the reply as it comes. */
int
inetd_start(struct fixture *f, const char *query, ...)
{
	double start;
	va_list ap;
	int client;

	va_start(ap, query);
	client = inetd_spawn(f, query, &start, ap);
	va_end(ap);
	return client;
}

/*
 * fingerd -i run to its exit (inetd_spawn).  Returns the exit status as
 * daemon_run() does, the reply in *reply and the time from the start to
 * the exit in *took.
 */
int
inetd_finger(struct fixture *f, const char *query, struct buffer *reply,
    double *took, ...)
{
	int client, status;
	double start;
	va_list ap;

	va_start(ap, took);
	client = inetd_spawn(f, query, &start, ap);
	va_end(ap);
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

/* execveat refused: the supervisor cannot start a worker. */
void
child_block_execveat(void)
{
	const struct call_range execveat_call = { __NR_execveat, 1 };

	child_block(&execveat_call, 1, EPERM);
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

/* Landlock there, but each rule refused (EPERM): its path is logged. */
void
child_block_landlock_add_rule(void)
{
	const struct call_range add_rule = { __NR_landlock_add_rule, 1 };

	child_block(&add_rule, 1, EPERM);
}

/*
 * io_uring_register's IORING_REGISTER_IOWQ_MAX_WORKERS (19) refused
 * (EPERM), as on a kernel before 5.15, which lacks it: the worker warns
 * (uring.c, ring_workers) before it takes a client.  Its other
 * operations pass.
 */
void
child_block_iowq_max_workers(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register,
		    0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 19, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = {
		.len = sizeof(code) / sizeof(code[0]), .filter = code,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
		_exit(125);
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
