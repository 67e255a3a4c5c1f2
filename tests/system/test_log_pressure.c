/*
 * The pressure suite (its TestSuite in test_pressure.c): the log under
 * pressure.  A file, a slowly read pipe, a stalled FIFO, an O_NONBLOCK
 * pipe and a stalled syslog socket, under a thousand concurrent hostile
 * queries, with one worker or two; a stop with the log stalled counts
 * the lines lost, and is not held.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define SERVER		"127.0.0.1"

/* ------------------------------------------------- the log under pressure */

enum log_kind {
	LOG_FILE, LOG_SLOW_PIPE, LOG_STALLED_FIFO, LOG_NONBLOCK_PIPE,
	LOG_STALLED_SYSLOG		/* -l, a datagram socket not read */
};

#define HOSTILE		1020		/* connections at once */
#define HOSTILE_MAX	2000

struct reader {
	int		 fd;
	enum log_kind	 kind;
	int		 stop;		/* atomically */
	int		 go;		/* a stalled reader reads while set */
	pthread_mutex_t	 lock;		/* on text */
	struct buffer	 text;
};

static void *
reader_run(void *arg)
{
	struct reader *r = arg;
	char chunk[4096];
	ssize_t n;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if ((r->kind == LOG_STALLED_FIFO ||
		    r->kind == LOG_STALLED_SYSLOG) &&
		    !__atomic_load_n(&r->go, __ATOMIC_RELAXED)) {
			usleep(10000);
			continue;
		}
		n = read(r->fd, chunk, r->kind == LOG_SLOW_PIPE ? 1024 :
		    sizeof(chunk));
		if (n > 0) {
			pthread_mutex_lock(&r->lock);
			buffer_append(&r->text, chunk, (size_t)n);
			pthread_mutex_unlock(&r->lock);
		} else if (n == 0)
			break;
		else
			usleep(1000);
		if (r->kind == LOG_SLOW_PIPE)
			usleep(200);
	}
	pthread_mutex_lock(&r->lock);
	while ((n = read(r->fd, chunk, sizeof(chunk))) > 0)
		buffer_append(&r->text, chunk, (size_t)n);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/*
 * The daemon's stderr for this kind of log; the reader's end, or -1 for
 * a file (read from fx.log).
 */
static int
log_open(enum log_kind kind, int *daemon_end)
{
	char fifo[300];
	int fds[2], flags;

	switch (kind) {
	case LOG_FILE:
		*daemon_end = open(fx.log, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0644);
		return -1;
	case LOG_STALLED_SYSLOG:	/* stderr the file, which stays empty */
		*daemon_end = open(fx.log, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0644);
		return syslog_bind(&fx);
	case LOG_STALLED_FIFO:
		snprintf(fifo, sizeof(fifo), "%s/log.fifo", fx.dir);
		cr_assert_eq(mkfifo(fifo, 0600), 0);
		fds[0] = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		fds[1] = open(fifo, O_WRONLY | O_CLOEXEC);
		cr_assert(fds[0] >= 0 && fds[1] >= 0);
		break;
	default:
		cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
		break;
	}
	if (kind == LOG_NONBLOCK_PIPE) {	/* the daemon's open file too */
		flags = fcntl(fds[1], F_GETFL);
		cr_assert_eq(fcntl(fds[1], F_SETFL, flags | O_NONBLOCK), 0);
	} else {
		cr_assert_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	}
	*daemon_end = fds[1];
	return fds[0];
}

/*
 * The port from the log's "event=listen" line, once it serves; a stalled
 * reader stops reading then.
 */
static int
port_from(struct reader *r)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	const char *line;
	int port = 0;

	while (port == 0) {
		cr_assert(now_seconds() < deadline, "the daemon did not start");
		usleep(5000);
		pthread_mutex_lock(&r->lock);
		if (r->fd < 0) {
			buffer_free(&r->text);
			log_read(&fx, &r->text);
		}
		if ((line = strstr(r->text.data, ": event=listen address="
		    "127.0.0.1:")) != NULL && strstr(line, "event=start"))
			port = atoi(line + 33);
		pthread_mutex_unlock(&r->lock);
	}
	if (r->kind == LOG_STALLED_FIFO || r->kind == LOG_STALLED_SYSLOG)
		__atomic_store_n(&r->go, 0, __ATOMIC_RELAXED);
	return port;
}

/*
 * n connections to fx's daemon, into fds, each sending a 1,023-byte line
 * of control bytes: an exchange line of about PIPE_BUF bytes (its query
 * cut) for each.
 */
static void
hostile_send(int *fds, size_t n)
{
	static char query[1023];
	size_t i;

	memset(query, 0x01, sizeof(query) - 1);
	query[sizeof(query) - 1] = '\n';
	for (i = 0; i < n; i++) {
		cr_assert((fds[i] = client_connect(SERVER, fx.port)) >= 0,
		    "connection %zu: %s", i, strerror(errno));
		client_send(fds[i], query, sizeof(query));
	}
}

/* Each of hostile_send()'s n connections served, whole; then closed. */
static void
hostile_served(int *fds, size_t n)
{
	struct buffer b;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&b, 0, sizeof(b));
		cr_assert_eq(client_read_all(fds[i], &b, 2 * WAIT_REPLY_MS), 0,
		    "connection %zu: %s", i, strerror(errno));
		assert_reply(&b, REPLY_INVALID, "a line of control bytes");
		buffer_free(&b);
		close(fds[i]);
	}
}

/*
 * n connections at once (at most HOSTILE_MAX), each a 1,023-byte line of
 * control bytes; a stalled reader reads again stall_ms after they are
 * sent.
 */
static void
hostile_clients(struct reader *r, size_t n, unsigned stall_ms)
{
	static int fds[HOSTILE_MAX];

	cr_assert_leq(n, HOSTILE_MAX);
	hostile_send(fds, n);
	usleep(stall_ms * 1000);
	__atomic_store_n(&r->go, 1, __ATOMIC_RELAXED);	/* a stall ends */
	hostile_served(fds, n);
}

/*
 * Every line of the log whole, at most PIPE_BUF bytes (with syslog, each
 * a datagram of facility daemon), and one exchange line per exchange,
 * each parsing as such; no line lost.
 */
static void
log_checked(const struct buffer *log, size_t exchanges, bool datagrams)
{
	regex_t re, datagram;
	char *copy, *line, *next;
	size_t lines = 0;

	cr_assert_eq(regcomp(&re, "^fingerd(\\[[0-9]+\\])?: client=127\\.0\\.0"
	    "\\.1 query=\"(\\\\x01)+\"(\\.\\.\\.)? reply=invalid end=ok "
	    "sent=15 ms=[0-9]+\\.[0-9]{3}$", REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regcomp(&datagram, "^" SYSLOG_HEAD_RE "fingerd\\[[0-9]+"
	    "\\]: ", REG_EXTENDED | REG_NOSUB), 0);
	cr_assert(log->len > 0 && log->data[log->len - 1] == '\n',
	    "the log ends within a line");
	cr_assert_not_null(copy = strdup(log->data));
	for (line = copy; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		cr_assert_leq((size_t)(next - line), PIPE_BUF,
		    "a line of %zu bytes", (size_t)(next - line));
		cr_assert_null(strstr(line, "lost"), "%s", line);
		cr_assert(!datagrams || regexec(&datagram, line, 0, NULL, 0) ==
		    0, "not a datagram of facility daemon: %.300s", line);
		if (strstr(line, "client=") == NULL)
			continue;
		cr_assert_eq(regexec(&re, log_untimed(line), 0, NULL, 0), 0,
		    "not an exchange's line: %.300s", line);
		lines++;
	}
	free(copy);
	regfree(&re);
	regfree(&datagram);
	cr_assert_eq(lines, exchanges, "%zu exchange lines for %zu exchanges",
	    lines, exchanges);
}

/*
 * The daemon started with its stderr the log of this kind (and the
 * reader's thread started on it), serving.
 */
static void
log_daemon_start(struct reader *r, pthread_t *reader, const char *workers,
    const char *clients, const char *timeout)
{
	int stdio[3], daemon_end;

	pthread_mutex_init(&r->lock, NULL);
	r->go = 1;
	r->fd = log_open(r->kind, &daemon_end);
	buffer_append(&r->text, "", 0);
	cr_assert((stdio[0] = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
	stdio[1] = stdio[0];
	stdio[2] = daemon_end;
	fx.stdio = stdio;
	if (r->kind == LOG_STALLED_SYSLOG)
		daemon_launch(&fx, "-l", "-B", SERVER, "-w", workers, "-c",
		    clients, "-t", timeout, NULL);
	else
		daemon_launch(&fx, "-B", SERVER, "-w", workers, "-c", clients,
		    "-t", timeout, NULL);
	fx.stdio = NULL;
	close(stdio[0]);
	close(daemon_end);
	if (r->fd >= 0)
		cr_assert_eq(pthread_create(reader, NULL, reader_run, r), 0);
	fx.port = port_from(r);
}

/* The daemon has exited: the whole log, once its reader has read it. */
static void
log_reader_end(struct reader *r, pthread_t reader)
{
	if (r->fd >= 0) {
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
		pthread_join(reader, NULL);
		close(r->fd);
	} else {
		buffer_free(&r->text);
		log_read(&fx, &r->text);
	}
}

static void
log_under_pressure_of(enum log_kind kind, const char *workers,
    const char *clients, size_t queries, unsigned stall_ms)
{
	struct reader r = { .kind = kind };
	pthread_t reader;

	log_daemon_start(&r, &reader, workers, clients, "10");
	hostile_clients(&r, queries, stall_ms);
	cr_assert_eq(daemon_stop(&fx, SIGTERM), 0);
	log_reader_end(&r, reader);
	log_checked(&r.text, queries, kind == LOG_STALLED_SYSLOG);
	buffer_free(&r.text);
}

static void
log_under_pressure(enum log_kind kind, const char *workers)
{
	log_under_pressure_of(kind, workers, "1024", HOSTILE, 500);
}

Test(pressure, log_a_file)
{
	log_under_pressure(LOG_FILE, "1");
}

Test(pressure, log_a_file_two_workers)
{
	log_under_pressure(LOG_FILE, "2");
}

Test(pressure, log_a_slow_pipe)
{
	log_under_pressure(LOG_SLOW_PIPE, "1");
}

Test(pressure, log_a_slow_pipe_two_workers)
{
	log_under_pressure(LOG_SLOW_PIPE, "2");
}

Test(pressure, log_a_stalled_fifo)
{
	log_under_pressure(LOG_STALLED_FIFO, "1");
}

Test(pressure, log_a_stalled_fifo_two_workers)
{
	log_under_pressure(LOG_STALLED_FIFO, "2");
}

Test(pressure, log_an_o_nonblock_pipe)
{
	log_under_pressure(LOG_NONBLOCK_PIPE, "1");
}

Test(pressure, log_an_o_nonblock_pipe_two_workers)
{
	log_under_pressure(LOG_NONBLOCK_PIPE, "2");
}

/*
 * Few client slots, so a small queue, and a log that stalls for long: a
 * worker that took a client while no write was in flight, counting the
 * room behind the lines written, then started a write, had no room for
 * that client's line (7 to 22 lines lost).  Every exchange is logged.
 * Long: 1.6 s from the last connection (8 s under valgrind, as before);
 * with that log_room() again, a stall of 0.5 s lost a line as well as
 * one of 8 s did.
 */
Test(pressure, log_stalled_long_with_few_slots)
{
	log_under_pressure_of(LOG_STALLED_FIFO, "3", "16", HOSTILE_MAX,
	    (unsigned)LATENCY(1600));
}

/*
 * -l, syslog's socket not read (its queue full): the workers stop
 * accepting, lose nothing, and catch up once it is read; every line a
 * whole datagram of facility daemon (syslog_read() checks each).
 */
Test(pressure, log_a_stalled_syslog_socket)
{
	log_under_pressure_of(LOG_STALLED_SYSLOG, "2", "16", HOSTILE, 2000);
}

/*
 * SIGTERM while the log is stalled: the connections taken are served
 * (those still waiting, which the log has no room for, are refused),
 * the worker's lines wait the grace and are lost, and the count of them
 * reaches the log once it is read again, as its last line (the
 * supervisor waits a few seconds for it at its exit).  Every line is
 * either in the log or counted: each exchange's, and the worker's
 * stop line.
 */
Test(pressure, a_stop_with_the_log_stalled_counts_the_lines_lost)
{
	static int fds[300];
	struct reader r = { .kind = LOG_STALLED_FIFO };
	struct buffer b;
	pthread_t reader;
	double deadline;
	size_t i, served = 0, exchanges, stops;
	unsigned long lost;
	bool last;
	pid_t worker;

	log_daemon_start(&r, &reader, "1", "16", "2");
	hostile_send(fds, 300);
	usleep(500 * 1000);
	daemon_signal(&fx, SIGTERM);
	for (i = 0; i < 300; i++) {
		memset(&b, 0, sizeof(b));
		(void)client_read_all(fds[i], &b, WAIT_REPLY_MS);
		served += b.len == sizeof(REPLY_INVALID) - 1 &&
		    memcmp(b.data, REPLY_INVALID, b.len) == 0;
		buffer_free(&b);
		close(fds[i]);
	}
	deadline = now_seconds() + WAIT_EXIT_MS / 1000.0;
	while (daemon_workers(&fx, &worker, 1) > 0 && now_seconds() < deadline)
		usleep(10000);
	cr_assert_eq(daemon_workers(&fx, &worker, 1), 0, "the worker stays");
	__atomic_store_n(&r.go, 1, __ATOMIC_RELAXED);
	cr_assert_eq(daemon_stop(&fx, SIGTERM), 0);
	log_reader_end(&r, reader);
	exchanges = log_count_in(&r.text, "client=127\\.0\\.0\\.1 ");
	stops = log_count_in(&r.text, "event=stop signal=SIGTERM in_flight=");
	lost = log_lost_count(&r.text, &last);
	cr_assert(served > 0 && lost > 0, "%zu served, %lu lost", served, lost);
	cr_assert(last, "the count of the lines lost is not the last line:\n"
	    "%s", r.text.data);
	cr_assert_eq(exchanges + stops + lost, served + 1, "%zu exchanges "
	    "served, %zu logged, %zu stop lines, %lu lines lost", served,
	    exchanges, stops, lost);
	buffer_free(&r.text);
}

/*
 * How many of n connections the worker took before it stopped taking
 * any: the listener's queue unchanged for a second (the log stalled,
 * the worker has no room for another client's lines).  Meanwhile the
 * worker waits, and spends no CPU on the listener, which says a
 * connection waits at every look (the epoll engine's is level-triggered
 * while an accept waits): 0.1 s at most in that second (a busy loop
 * spends all of it), scaled as the second is under valgrind.
 */
static size_t
taken_until_stalled(pid_t worker, size_t n)
{
	double deadline = now_seconds() + WAIT_REPLY_MS / 1000.0, since;
	double cpu = cpu_seconds(worker);
	unsigned waiting = backlog_of(fx.port), now;

	for (since = now_seconds(); now_seconds() - since < LATENCY(1.0);) {
		cr_assert(now_seconds() < deadline, "the worker still takes "
		    "connections: %u wait", backlog_of(fx.port));
		usleep(20 * 1000);
		if ((now = backlog_of(fx.port)) != waiting) {
			waiting = now;
			since = now_seconds();
			cpu = cpu_seconds(worker);
		}
	}
	cpu = cpu_seconds(worker) - cpu;
	cr_assert(waiting > 0 && waiting < n, "%u of %zu connections wait",
	    waiting, n);
	cr_assert_eq(kill(worker, 0), 0, "the worker is gone");
	cr_assert_lt(cpu, LATENCY(0.1), "the worker spent %.2f s of CPU "
	    "while it took no connection", cpu);
	return n - waiting;
}

/* Waits, bounded, until worker no longer listens on fx's port. */
static void
listener_closed_by(pid_t worker)
{
	double deadline = now_seconds() + WAIT_EXIT_MS / 1000.0;

	while (listener_held(worker, fx.port) && now_seconds() < deadline)
		usleep(10 * 1000);
	cr_assert(!listener_held(worker, fx.port), "worker %d listens still",
	    (int)worker);
}

/*
 * SIGTERM with the log stalled and the worker's queue of lines full to
 * the room it keeps for its clients' (-c 4: each line about PIPE_BUF
 * bytes, the FIFO and the queue hold about 88), and more connections
 * waiting in the listener's queue: the stop takes none of them, which
 * the log has no room for ("fingerd stops accepting instead", as when
 * no slot is free), and they are refused, without a byte, as the
 * listeners close.  The log read again within the stop's grace (-t 10
 * and a second), every line is written and none is lost: one for each
 * client served, each served before the stop.  (A stop once took every
 * connection waiting while a slot was free, and lost their lines.)
 */
Test(pressure, a_stop_takes_no_connection_the_log_has_no_room_for)
{
	static int fds[150];
	struct reader r = { .kind = LOG_STALLED_FIFO };
	const size_t n = sizeof(fds) / sizeof(fds[0]);
	struct buffer b;
	pthread_t reader;
	size_t i, taken;
	unsigned long lost;
	bool last;
	pid_t worker;
	int status;

	log_daemon_start(&r, &reader, "1", "4", "10");
	worker = daemon_worker(&fx);
	hostile_send(fds, n);
	taken = taken_until_stalled(worker, n);
	daemon_signal(&fx, SIGTERM);
	listener_closed_by(worker);
	__atomic_store_n(&r.go, 1, __ATOMIC_RELAXED);	/* within the grace */
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	log_reader_end(&r, reader);
	cr_assert(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "wait status %#x", status);
	lost = log_lost_count(&r.text, &last);
	cr_assert_eq(lost, 0, "%lu lines lost, %zu taken before the stop",
	    lost, taken);
	cr_assert_eq(log_count_in(&r.text, "client=127\\.0\\.0\\.1 "), taken,
	    "%zu exchange lines for %zu connections taken before the stop",
	    log_count_in(&r.text, "client=127\\.0\\.0\\.1 "), taken);
	cr_assert_eq(log_count_in(&r.text, "^fingerd: event=stop "
	    "signal=SIGTERM in_flight=0$"), 1, "the worker's stop line");
	for (i = 0; i < n; i++) {
		memset(&b, 0, sizeof(b));
		(void)client_read_all(fds[i], &b, WAIT_REPLY_MS);
		if (i < taken)
			assert_reply(&b, REPLY_INVALID, "taken before the stop");
		else
			cr_assert_eq(b.len, 0, "connection %zu of %zu, which "
			    "waited at the stop, got %zu bytes (%zu taken "
			    "before)", i, n, b.len, taken);
		buffer_free(&b);
		close(fds[i]);
	}
	buffer_free(&r.text);
}

/*
 * SIGHUP with the log stalled and the worker's queue of lines full, and
 * more connections waiting than the new generation's worker has room
 * for: the old worker, retiring, takes none of them (no room), and
 * leaves them on the socket the supervisor keeps, where the new worker
 * takes them once the log is read again.  No connection is refused or
 * reset by the reload, and no line is lost: each connection is served
 * and logged once.  (The old worker once took what waited, and lost its
 * lines.)
 */
Test(pressure, a_reload_with_no_log_room_leaves_the_waiting_to_the_next)
{
	static int fds[250];
	const size_t n = sizeof(fds) / sizeof(fds[0]);
	struct reader r = { .kind = LOG_STALLED_FIFO };
	pthread_t reader;
	unsigned long lost;
	bool last;
	pid_t old;

	log_daemon_start(&r, &reader, "1", "4", "10");
	old = daemon_worker(&fx);
	hostile_send(fds, n);
	(void)taken_until_stalled(old, n);
	daemon_signal(&fx, SIGHUP);
	listener_closed_by(old);
	__atomic_store_n(&r.go, 1, __ATOMIC_RELAXED);	/* within the grace */
	hostile_served(fds, n);
	cr_assert_eq(daemon_stop(&fx, SIGTERM), 0);
	log_reader_end(&r, reader);
	lost = log_lost_count(&r.text, &last);
	cr_assert_eq(lost, 0, "%lu lines lost", lost);
	cr_assert_eq(log_count_in(&r.text, "client=127\\.0\\.0\\.1 "), n,
	    "%zu exchange lines for %zu connections",
	    log_count_in(&r.text, "client=127\\.0\\.0\\.1 "), n);
	buffer_free(&r.text);
}

/*
 * Waits, bounded, until the pipe whose reading end is fd takes no more:
 * half full at least (a line of a few KiB takes a page of its own, so a
 * full pipe holds less than its size) and not a byte more for 200 ms
 * (scaled), the daemon having far more to write.
 */
static bool
pipe_stalled(int fd)
{
	double deadline = now_seconds() + WAIT_LOG_MS / 1000.0, since = 0;
	int size = fcntl(fd, F_GETPIPE_SZ), queued, before = -1;

	cr_assert(size > 0);
	while (now_seconds() < deadline &&
	    ioctl(fd, FIONREAD, &queued) == 0) {
		if (queued != before) {
			before = queued;
			since = now_seconds();
		} else if (queued >= size / 2 &&
		    now_seconds() - since >= LATENCY(0.2))
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/*
 * A log that stalls for good: SIGTERM still ends the daemon within -t and
 * the graces, and the lines it could not write are counted, not silently
 * dropped (the count goes where it can: nowhere, here, but the exit is
 * timely).  SIGTERM once the log's pipe takes no more (sent before the
 * worker took the connections, it found nothing to hold it); -t 1, the
 * least: the stop waits it out whole, the log stalled.
 */
Test(pressure, a_stalled_log_does_not_hold_the_stop)
{
	int fds[2], stdio[3], fd, i;
	double start;
	char port[16];
	static char query[1023];

	memset(query, 0x01, sizeof(query) - 1);
	query[sizeof(query) - 1] = '\n';
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	cr_assert((stdio[0] = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
	stdio[1] = stdio[0];
	stdio[2] = fds[1];
	fx.port = free_port();
	snprintf(port, sizeof(port), "%d", fx.port);
	fx.stdio = stdio;
	daemon_launch(&fx, "-B", SERVER, "-t", "1", "-P", port, NULL);
	fx.stdio = NULL;
	close(stdio[0]);
	close(fds[1]);
	cr_assert(accepting(fx.port), "the daemon does not serve");
	for (i = 0; i < 100; i++)	/* 400 KiB of log: more than a pipe */
		if ((fd = client_connect(SERVER, fx.port)) >= 0) {
			client_send(fd, query, sizeof(query));
			close(fd);
		}
	cr_assert(pipe_stalled(fds[0]), "the log's pipe did not fill");
	start = now_seconds();
	daemon_signal(&fx, SIGTERM);
	/*
	 * -t, then a second's grace for the worker and three seconds for
	 * the supervisor to write its last lines and the count of those lost
	 */
	cr_assert_neq(daemon_wait(&fx, (int)(LATENCY(1 + 1 + 3 + 1.5) * 1000)),
	    -1,
	    "not stopped %.1f s after SIGTERM with the log stalled",
	    now_seconds() - start);
	close(fds[0]);
}


/*
 * SIGTERM while zoe's home hangs and the log is stalled: her exchange
 * ends at -t and is logged, but the file system holds its read, so the
 * worker ends past its grace with an exchange still held, and says so.
 * That line, as every other the stalled log did not take, is counted
 * lost (and noted by the supervisor once the log is read again), not
 * written after the count was handed over, with a write that blocked on
 * the stalled log until the supervisor's SIGKILL (-t + 5 s) and was then
 * neither written nor counted.  The log is read again once the worker
 * exits (-t and its grace after the SIGTERM) or, blocked so, is killed:
 * not before, where that write would find room.  Then the file system
 * answers, and the worker, reaped, holds the supervisor's exit no more
 * (the 5 s it waits for a worker that does not end: tested in
 * test_hung_homes.c).
 */
Test(pressure, a_worker_held_at_its_end_counts_its_last_line)
{
	static int fds[40];
	const size_t n = sizeof(fds) / sizeof(fds[0]);
	struct reader r = { .kind = LOG_STALLED_FIFO };
	pthread_t reader;
	unsigned long lost;
	size_t lines;
	bool last;
	double deadline;
	pid_t worker;
	int zoe, status;

	skip_under_valgrind("a worker held by a file system, and 12 s");
	slowfs_mount();
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",zoe");
	log_daemon_start(&r, &reader, "1", "16", "2");
	worker = daemon_worker(&fx);
	write_text(control, "hang");
	cr_assert((zoe = client_connect(SERVER, fx.port)) >= 0);
	client_send(zoe, "zoe\r\n", 5);
	cr_assert(slowfs_holds(1), "zoe's request never reached slowfs: %s",
	    slowfs_describe());
	hostile_send(fds, n);		/* more lines than the FIFO takes */
	hostile_served(fds, n);
	daemon_signal(&fx, SIGTERM);
	/* its SIGKILL comes 2 + 5 s after, the supervisor's exit 5 s later */
	deadline = now_seconds() + 2 + 5 + LATENCY(2.0);
	while (!process_exiting(worker) && now_seconds() < deadline)
		usleep(10 * 1000);
	cr_assert(process_exiting(worker), "the worker neither ended nor was "
	    "killed");
	__atomic_store_n(&r.go, 1, __ATOMIC_RELAXED);
	write_text(control, "");	/* it answers again */
	status = daemon_wait(&fx, WAIT_EXIT_MS);
	log_reader_end(&r, reader);
	close(zoe);
	cr_assert(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "wait status %#x", status);
	lost = log_lost_count(&r.text, &last);
	lines = log_count_in(&r.text, "client=127\\.0\\.0\\.1 ") +
	    log_count_in(&r.text, "^fingerd: event=stop signal=SIGTERM "
	    "in_flight=") +
	    log_count_in(&r.text, "^fingerd: 1 exchange still held by a file "
	    "system at exit$");
	cr_assert_eq(lines + lost, n + 3, "%zu of the worker's %zu lines "
	    "written, %lu counted lost", lines, n + 3, lost);
	buffer_free(&r.text);
}

/*
 * Fills the FIFO at fx.dir/log.fifo until it takes no byte more, through
 * an open file of its own (the daemon's stays blocking): 64-byte lines,
 * then single newlines for what is left of the last page.
 */
static void
fifo_fill(void)
{
	static const char line[] = "filler: the log is full before the "
	    "daemon writes a line: ......\n";
	char fifo[300];
	int fd;

	_Static_assert(sizeof(line) - 1 == 64, "a page holds whole lines");
	snprintf(fifo, sizeof(fifo), "%s/log.fifo", fx.dir);
	cr_assert((fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0);
	while (write(fd, line, sizeof(line) - 1) == sizeof(line) - 1)
		continue;
	cr_assert_eq(errno, EAGAIN);
	while (write(fd, "\n", 1) == 1)
		continue;
	cr_assert_eq(errno, EAGAIN);
	close(fd);
}

/*
 * The daemon started with two workers on a port of the test's (the log
 * says none), its stderr a FIFO already full, which r reads only once
 * r->go is set.
 */
static void
stalled_daemon_start(struct reader *r, pthread_t *reader)
{
	int stdio[3], daemon_end;
	char port[16];

	pthread_mutex_init(&r->lock, NULL);
	r->go = 0;
	r->fd = log_open(r->kind, &daemon_end);
	buffer_append(&r->text, "", 0);
	fifo_fill();
	cr_assert((stdio[0] = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
	stdio[1] = stdio[0];
	stdio[2] = daemon_end;
	fx.port = free_port();
	snprintf(port, sizeof(port), "%d", fx.port);
	fx.stdio = stdio;
	daemon_launch(&fx, "-B", SERVER, "-P", port, "-w", "2", "-c", "16",
	    "-t", "10", NULL);
	fx.stdio = NULL;
	close(stdio[0]);
	close(daemon_end);
	cr_assert_eq(pthread_create(reader, NULL, reader_run, r), 0);
}

/* Waits, bounded, for two workers none of which is in old (two). */
static void
workers_replaced(const pid_t *old, pid_t *now, size_t replaced)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	size_t same;

	for (;;) {
		same = 0;
		if (daemon_workers(&fx, now, 2) == 2)
			same = (now[0] == old[0] || now[0] == old[1]) +
			    (now[1] == old[0] || now[1] == old[1]);
		if (daemon_workers(&fx, now, 2) == 2 && same == 2 - replaced)
			return;
		cr_assert(now_seconds() < deadline, "%zu of the workers not "
		    "replaced with the log stalled", replaced);
		usleep(20 * 1000);
	}
}

/* Waits, bounded, until r has read n lines that match pattern. */
static void
lines_read(struct reader *r, const char *pattern, size_t n)
{
	double deadline = now_seconds() + WAIT_LOG_MS / 1000.0;
	size_t found;

	do {
		cr_assert(now_seconds() < deadline, "not %zu lines %s", n,
		    pattern);
		usleep(20 * 1000);
		pthread_mutex_lock(&r->lock);
		found = log_count_in(&r->text, pattern);
		pthread_mutex_unlock(&r->lock);
	} while (found < n);
}

/* Why a test that waits for a worker's seccomp filter skips valgrind. */
#define NO_FILTER	"fingerd runs no seccomp filter there: a worker's " \
			"confinement is not seen"

/*
 * Waits, bounded, until the two workers are confined (filters seccomp
 * filters each, fingerd's the last): past their first lines, and about
 * to say they serve.
 */
static void
workers_confined(const pid_t *workers, long filters)
{
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	size_t i;

	for (i = 0; i < 2; i++)
		while (status_number(workers[i], "Seccomp_filters") < filters) {
			cr_assert(now_seconds() < deadline, "worker %d is not "
			    "confined", (int)workers[i]);
			usleep(10 * 1000);
		}
}

/*
 * The supervisor's lines (those of "fingerd: "; the workers' are
 * "fingerd[pid]: ") of log, in order, each matching its pattern in want,
 * and no more.
 */
static void
supervisor_lines_are(const struct buffer *log, const char *const *want,
    size_t n)
{
	char *copy, *line, *next;
	const char *text;
	regex_t re;
	size_t i = 0;

	cr_assert_not_null(copy = strdup(log->data));
	for (line = copy; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		text = log_untimed(line);
		if (strncmp(text, "fingerd: ", 9) != 0)
			continue;
		cr_assert_lt(i, n, "a line more than the %zu expected: %s\n"
		    "the log:\n%s", n, text, log->data);
		cr_assert_eq(regcomp(&re, want[i], REG_EXTENDED | REG_NOSUB),
		    0, "%s", want[i]);
		cr_assert_eq(regexec(&re, text, 0, NULL, 0), 0, "line %zu of "
		    "the supervisor's: %s\nexpected: %s\nthe log:\n%s", i,
		    text, want[i], log->data);
		regfree(&re);
		i++;
	}
	free(copy);
	cr_assert_eq(i, n, "%zu of the supervisor's %zu lines\nthe log:\n%s",
	    i, n, log->data);
}

#define ROOTED_WARNING	"^fingerd: member rooted: home \"/\" is not served: " \
			"a worker reads only beneath an absolute home other " \
			"than /$"

/*
 * The log full from the start and read only at the end: the supervisor
 * writes none of its lines then, but keeps them, and supervises all the
 * same: the workers start, SIGHUP starts a new generation (a home's
 * warning, the reload's line), a worker killed is started again, SIGUSR1
 * is answered.  Once the log is read again, every line it kept comes
 * out, whole and in order, after what filled the log, and none is lost
 * (the status line's count, and no count at the exit); the workers'
 * stop lines too.  (The supervisor once wrote its first lines, before its
 * loop, with writes that blocked on the stalled log: it never started a
 * worker, and SIGUSR1 or SIGHUP killed it.)
 */
Test(pressure, the_supervisor_keeps_its_lines_while_the_log_stalls)
{
	static const char *const want[] = {
		"^fingerd: event=listen address=127\\.0\\.0\\.1:[0-9]+$",
		"^fingerd: event=engine engine=",
		ROOTED_WARNING,
		"^fingerd: event=start group=finger members=6 workers=2$",
		ROOTED_WARNING,
		"^fingerd: event=reload group=finger members=6 generation=2 "
		    "why=sighup$",
		"^fingerd: event=worker-exit pid=[0-9]+ signal=SIGKILL "
		    "why=\"Killed\" restart=0s$",
		"^fingerd: status exchanges=0 .* log\\.lost=0 .* "
		    "generation=2 workers=2 members=6 ",
		"^fingerd: event=stop signal=SIGTERM$",
	};
	struct reader r = { .kind = LOG_STALLED_FIFO };
	pthread_t reader;
	pid_t first[2], second[2], third[2];
	unsigned long lost;
	bool last;

	skip_under_valgrind(NO_FILTER);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",rooted");
	stalled_daemon_start(&r, &reader);
	daemon_workers_wait(&fx, first, 2);
	workers_confined(first, 1);
	usleep((useconds_t)(LATENCY(0.2) * 1000000));	/* it serves */
	daemon_signal(&fx, SIGHUP);
	workers_replaced(first, second, 2);
	usleep((useconds_t)(LATENCY(0.1) * 1000000));	/* its line first */
	cr_assert_eq(kill(second[0], SIGKILL), 0);
	workers_replaced(second, third, 1);
	daemon_signal(&fx, SIGUSR1);
	cr_assert(daemon_alive(&fx), "the supervisor ended");
	cr_assert_eq(log_count_in(&r.text, "^fingerd"), 0, "the log was "
	    "stalled:\n%s", r.text.data);
	__atomic_store_n(&r.go, 1, __ATOMIC_RELAXED);
	lines_read(&r, "^fingerd: status ", 1);
	cr_assert_eq(daemon_stop(&fx, SIGTERM), 0);
	log_reader_end(&r, reader);
	cr_assert(strncmp(r.text.data, "filler: ", 8) == 0, "%.300s",
	    r.text.data);
	supervisor_lines_are(&r.text, want, sizeof(want) / sizeof(want[0]));
	cr_assert_eq(log_count_in(&r.text, "^fingerd\\[[0-9]+\\]: event=stop "
	    "signal=SIGTERM in_flight=0$"), 2, "the workers' stop lines:\n%s",
	    r.text.data);
	lost = log_lost_count(&r.text, &last);
	cr_assert_eq(lost, 0, "%lu lines lost", lost);
	buffer_free(&r.text);
}

/*
 * A worker's lines from before it takes a client, the log stalled since
 * the start: here io_uring's warning that the io-wq threads cannot be
 * raised (as on a kernel before 5.15), one a worker.  They wait in the
 * worker's queue and come out once the log is read again; none is lost.
 * (They were written before the queue began, with a write the stalled
 * log refused, and counted lost.)
 */
Test(pressure, a_workers_first_lines_wait_for_a_stalled_log)
{
	struct reader r = { .kind = LOG_STALLED_FIFO };
	pthread_t reader;
	pid_t workers[2];
	unsigned long lost;
	bool last;

	if (engine_epoll())
		cr_skip_test("the io-wq threads are io_uring's");
	skip_under_valgrind(NO_FILTER);
	fx.child_setup = child_block_iowq_max_workers;
	stalled_daemon_start(&r, &reader);
	daemon_workers_wait(&fx, workers, 2);
	workers_confined(workers, 2);	/* fingerd's filter on the test's */
	__atomic_store_n(&r.go, 1, __ATOMIC_RELAXED);
	cr_assert_eq(daemon_stop(&fx, SIGTERM), 0);
	log_reader_end(&r, reader);
	cr_assert_eq(log_count_in(&r.text, "^fingerd\\[[0-9]+\\]: io_uring: "
	    "cannot raise the io-wq threads to 16: Operation not permitted$"),
	    2, "a line a worker:\n%s", r.text.data);
	lost = log_lost_count(&r.text, &last);
	cr_assert_eq(lost, 0, "%lu lines lost:\n%s", lost, r.text.data);
	buffer_free(&r.text);
}

/*
 * A worker that cannot be started (its exec refused) says why, in the
 * log: the child that failed wrote its line through the supervisor's
 * queue, to the descriptor the supervisor writes the log to, which the
 * child had already renumbered (with -w 2 and the log a FIFO, the
 * supervisor's news pipe: the line never reached the log), or wrote
 * again the supervisor's lines still queued.
 */
Test(pressure, a_worker_that_cannot_start_says_why)
{
	struct reader r = { .kind = LOG_STALLED_FIFO };
	pthread_t reader;
	int status;

	/* Its own exec: valgrind emulates execveat with an execve. */
	skip_under_valgrind("the refused execveat is never made");
	fx.child_setup = child_block_execveat;
	stalled_daemon_start(&r, &reader);
	__atomic_store_n(&r.go, 1, __ATOMIC_RELAXED);
	lines_read(&r, "^fingerd: starting a worker: execveat: Operation not "
	    "permitted$", 2);
	lines_read(&r, "^fingerd: event=worker-exit pid=[0-9]+ status=71 "
	    "restart=", 2);
	status = daemon_stop(&fx, SIGTERM);
	log_reader_end(&r, reader);
	/* EX_OSERR: a worker that fails at its start fails the daemon */
	cr_assert_eq(status, 71, "status %d:\n%s", status, r.text.data);
	cr_assert_eq(log_count_in(&r.text, "^fingerd: event=listen "), 1,
	    "the supervisor's lines written twice:\n%s", r.text.data);
	buffer_free(&r.text);
}
