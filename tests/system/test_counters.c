/*
 * The counters (counters.c) against the real binary: SIGUSR1's status
 * line counts exactly the exchanges sent, by reply and by end, across
 * two workers, a reload and a worker killed, and kills no process; -M's
 * file says the same, parsed by Prometheus's own parser (Debian's
 * python3-prometheus-client), is never seen half-written while it is
 * replaced, and is written again unasked within 10 s.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

/* Not anchored: a line may begin with its time. */
#define EXCHANGE_LINE	" client=127\\.0\\.0\\.1 query="
#define STATUS_LINE	"fingerd: status exchanges="

TestSuite(counters, .init = fixture_setup, .fini = fixture_teardown);

static void
exchanges_wait(size_t n)
{
	cr_assert(log_wait(&fx, EXCHANGE_LINE, n, WAIT_LOG_MS),
	    "%zu exchange lines, not %zu", log_count(&fx, EXCHANGE_LINE), n);
}

/*
 * Eleven exchanges, each ending ok: 3 plan, 2 no-plan, 2 no-such-user,
 * 1 each of list, forwarding-denied, invalid and too-long.
 */
#define BATCH		11
static void
batch(void)
{
	char too_long[2000];
	int i;

	for (i = 0; i < 3; i++)
		EXPECT("alice\r\n", REPLY_ALICE);
	for (i = 0; i < 2; i++)
		EXPECT("carol\r\n", REPLY_CAROL);
	for (i = 0; i < 2; i++)
		EXPECT("mallory\r\n", REPLY_NO_SUCH_USER);
	EXPECT("\r\n", REPLY_LIST);
	EXPECT("alice@example.org\r\n", REPLY_FORWARDING);
	EXPECT("al\x01ice\r\n", REPLY_INVALID);
	memset(too_long, 'x', sizeof(too_long));
	too_long[sizeof(too_long) - 1] = '\n';
	expect_reply_at(LOCAL, too_long, sizeof(too_long), REPLY_TOO_LONG,
	    sizeof(REPLY_TOO_LONG) - 1);
}

/* A connection that sends nothing, reset at the deadline (-t). */
static void
timed_out(void)
{
	struct buffer b = { 0 };
	int fd = client_connect(LOCAL, fx.port);

	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	cr_assert(client_read_all(fd, &b, WAIT_REPLY_MS) == -1 &&
	    errno == ECONNRESET, "not reset at the deadline");
	assert_reply(&b, "", "to the silent client");
	close(fd);
	buffer_free(&b);
}

/* A connection closed at once: reply=none end=no-query. */
static void
no_query(void)
{
	struct buffer b = { 0 };
	int fd = client_connect(LOCAL, fx.port);

	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	client_half_close(fd);
	cr_assert_eq(client_read_all(fd, &b, WAIT_REPLY_MS), 0);
	assert_reply(&b, "", "to the client that sent nothing");
	close(fd);
	buffer_free(&b);
}

/* The last status line once there are n, into line. */
static void
status_line(size_t n, struct buffer *line)
{
	struct buffer b;
	char *p, *last = NULL;

	cr_assert(log_wait(&fx, STATUS_LINE, n, WAIT_LOG_MS),
	    "%zu status lines, not %zu", log_count(&fx, STATUS_LINE), n);
	log_read(&fx, &b);
	for (p = b.data; (p = strstr(p, STATUS_LINE)) != NULL; p++)
		last = p;
	memset(line, 0, sizeof(*line));
	buffer_append(line, last, strcspn(last, "\n"));
	buffer_free(&b);
}

/* The number after " key=" in a status line. */
static unsigned long long
status_value(const struct buffer *line, const char *key)
{
	char word[64];
	const char *p;
	char *end;
	unsigned long long v;

	snprintf(word, sizeof(word), " %s=", key);
	p = strstr(line->data, word);
	cr_assert_not_null(p, "no %s in %s", word, line->data);
	v = strtoull(p + strlen(word), &end, 10);
	cr_assert(end > p + strlen(word) && (*end == ' ' || *end == '\0'),
	    "%s is not a number in %s", word, line->data);
	return v;
}

#define STATUS_IS(line, key, want) \
	cr_assert_eq(status_value(line, key), (unsigned long long)(want), \
	    "%s=%llu, not %llu: %s", key, status_value(line, key), \
	    (unsigned long long)(want), (line)->data)

static void
engine_is(const struct buffer *line)
{
	const char *want = engine_epoll() ? " engine=epoll " :
	    " engine=io_uring ";

	cr_assert_not_null(strstr(line->data, want), "not%s: %s", want,
	    line->data);
}

static int
pid_compare(const void *a, const void *b)
{
	const pid_t *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* The two workers, sorted. */
static void
two_workers(pid_t *pids)
{
	daemon_workers_wait(&fx, pids, 2);
	qsort(pids, 2, sizeof(*pids), pid_compare);
}

/*
 * -w 2, three rounds of known queries: before a SIGHUP, after it (the
 * second generation), and after one of its workers is killed with
 * SIGKILL (and started again).  SIGUSR1 then gives a status line whose
 * counts are exactly what was sent, summed over the five workers, with
 * as many exchanges as the log has exchange lines; the supervisor and
 * its workers are the same processes after it, and after a SIGUSR1 to
 * each worker.
 */
Test(counters, status_counts_every_exchange_across_generations_and_deaths)
{
	const size_t total = 3 * BATCH + 2;
	double started = now_seconds();
	struct buffer line;
	pid_t workers[2], after[2];
	char killed[64];

	daemon_start(&fx, "-B", LOCAL, "-w", "2", "-t", seconds_scaled(2),
	    NULL);
	batch();
	timed_out();
	no_query();
	exchanges_wait(BATCH + 2);
	daemon_signal(&fx, SIGHUP);
	cr_assert(log_wait(&fx, "fingerd: event=reload group=finger members=5 .* why=sighup$",
	    1, WAIT_LOG_MS), "no reload");
	two_workers(workers);
	batch();
	exchanges_wait(2 * BATCH + 2);		/* each line written */
	cr_assert_eq(kill(workers[0], SIGKILL), 0);
	snprintf(killed, sizeof(killed), "event=worker-exit pid=%d "
	    "signal=SIGKILL ", (int)workers[0]);
	cr_assert(log_wait(&fx, killed, 1, WAIT_LOG_MS), "no restart");
	two_workers(workers);
	batch();
	exchanges_wait(total);

	daemon_signal(&fx, SIGUSR1);
	status_line(1, &line);
	STATUS_IS(&line, "exchanges", total);
	STATUS_IS(&line, "exchanges", log_count(&fx, EXCHANGE_LINE));
	STATUS_IS(&line, "reply.plan", 9);
	STATUS_IS(&line, "reply.no-plan", 6);
	STATUS_IS(&line, "reply.no-such-user", 6);
	STATUS_IS(&line, "reply.list", 3);
	STATUS_IS(&line, "reply.forwarding-denied", 3);
	STATUS_IS(&line, "reply.invalid", 3);
	STATUS_IS(&line, "reply.too-long", 3);
	STATUS_IS(&line, "reply.none", 2);
	STATUS_IS(&line, "reply.list-denied", 0);
	STATUS_IS(&line, "reply.too-many-from-address", 0);
	STATUS_IS(&line, "end.ok", 3 * BATCH);
	STATUS_IS(&line, "end.timeout", 1);
	STATUS_IS(&line, "end.no-query", 1);
	STATUS_IS(&line, "end.client-gone", 0);
	STATUS_IS(&line, "end.server-error", 0);
	STATUS_IS(&line, "end.evicted", 0);
	STATUS_IS(&line, "evicted", 0);
	STATUS_IS(&line, "log.lost", 0);
	/* Only alice has a file: each of her 9 replies, a hit or a miss. */
	STATUS_IS(&line, "cache.hits", 9 - status_value(&line, "cache.misses"));
	cr_assert_geq(status_value(&line, "cache.misses"), 1);
	STATUS_IS(&line, "generation", 2);
	STATUS_IS(&line, "workers", 2);
	STATUS_IS(&line, "members", 5);
	cr_assert_leq(status_value(&line, "uptime"),
	    now_seconds() - started + 1);
	engine_is(&line);
	buffer_free(&line);

	cr_assert(daemon_alive(&fx), "the supervisor died of SIGUSR1");
	two_workers(after);
	cr_assert(after[0] == workers[0] && after[1] == workers[1],
	    "the workers are not the same processes");
	cr_assert_eq(kill(workers[0], SIGUSR1), 0);
	cr_assert_eq(kill(workers[1], SIGUSR1), 0);
	EXPECT("alice\r\n", REPLY_ALICE);
	exchanges_wait(total + 1);
	daemon_signal(&fx, SIGUSR1);
	status_line(2, &line);
	STATUS_IS(&line, "exchanges", total + 1);
	STATUS_IS(&line, "exchanges", log_count(&fx, EXCHANGE_LINE));
	STATUS_IS(&line, "reply.plan", 10);
	STATUS_IS(&line, "workers", 2);
	buffer_free(&line);
	two_workers(after);
	cr_assert(after[0] == workers[0] && after[1] == workers[1],
	    "a worker died of SIGUSR1");
	cr_assert_eq(log_count(&fx, "event=worker-exit "), 1);
	daemon_stopped_cleanly(&fx);
}

/* How many lines of /proc/<pid>/maps name the memfd of counters. */
static size_t
counter_pages(pid_t pid)
{
	struct buffer b;
	char path[64];
	const char *p;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	read_file(path, &b);
	for (p = b.data; (p = strstr(p, "/memfd:fingerd-counters")) != NULL;
	    p++)
		n++;
	buffer_free(&b);
	return n;
}

/* Whether pid holds a descriptor of the memfd of counters. */
static bool
counters_descriptor(pid_t pid)
{
	char path[64], target[256];
	ssize_t len;
	int fd;

	for (fd = 0; fd < 64; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if ((len = readlink(path, target, sizeof(target) - 1)) < 0)
			continue;
		target[len] = '\0';
		if (strstr(target, "memfd:fingerd-counters") != NULL)
			return true;
	}
	return false;
}

/*
 * SIGUSR1 to the supervisor, then to the worker: the status line of a
 * daemon that served nothing yet, and both processes still there.
 * (Before the counters, SIGUSR1 killed the supervisor.)  The worker
 * and the supervisor each map the worker's page of counters once, and
 * neither keeps a descriptor of it.
 */
Test(counters, sigusr1_kills_neither_supervisor_nor_worker)
{
	struct buffer line;
	pid_t worker;

	daemon_start(&fx, "-B", LOCAL, NULL);
	worker = daemon_worker(&fx);
	cr_assert_eq(counter_pages(worker), 1);
	cr_assert_eq(counter_pages(fx.pid), 1);
	cr_assert_not(counters_descriptor(worker));
	cr_assert_not(counters_descriptor(fx.pid));
	daemon_signal(&fx, SIGUSR1);
	status_line(1, &line);
	cr_assert(daemon_alive(&fx), "the supervisor died of SIGUSR1");
	STATUS_IS(&line, "exchanges", 0);
	STATUS_IS(&line, "generation", 1);
	STATUS_IS(&line, "workers", 1);
	STATUS_IS(&line, "members", 5);
	engine_is(&line);
	buffer_free(&line);
	cr_assert_eq(kill(worker, SIGUSR1), 0);
	EXPECT("alice\r\n", REPLY_ALICE);
	cr_assert_eq(daemon_worker(&fx), worker, "the worker was replaced");
	cr_assert_eq(log_count(&fx, "event=worker-exit "), 0);
	daemon_stopped_cleanly(&fx);
}

/*
 * Reads the metrics file reads times, each parsed whole by Prometheus's
 * parser; every read must hold every family and, uptime aside, the
 * same values as the first.  Prints the first's samples, sorted, then
 * how many files (inodes) the reads saw.
 */
static const char parse_script[] =
"import os, sys, time\n"
"from prometheus_client.parser import text_string_to_metric_families\n"
"path, reads = sys.argv[1], int(sys.argv[2])\n"
"want = {'fingerd_exchanges', 'fingerd_evicted', 'fingerd_log_lines_lost',\n"
"        'fingerd_cache_hits', 'fingerd_cache_misses', 'fingerd_engine_info',\n"
"        'fingerd_generation', 'fingerd_workers', 'fingerd_members',\n"
"        'fingerd_uptime_seconds'}\n"
"first, inodes, i, end = None, set(), 0, time.monotonic() + 10\n"
"while i < reads or (len(inodes) < 2 and time.monotonic() < end):\n"
"    with open(path) as f:\n"
"        inodes.add(os.fstat(f.fileno()).st_ino)\n"
"        text = f.read()\n"
"    if not text.endswith('\\n'):\n"
"        sys.exit('read %d: cut: %r' % (i, text[-80:]))\n"
"    samples, families = {}, set()\n"
"    for family in text_string_to_metric_families(text):\n"
"        families.add(family.name)\n"
"        for s in family.samples:\n"
"            labels = ','.join('%s=%s' % l for l in sorted(s.labels.items()))\n"
"            samples['%s{%s}' % (s.name, labels)] = s.value\n"
"    if families != want:\n"
"        sys.exit('read %d: families %s' % (i, sorted(families)))\n"
"    del samples['fingerd_uptime_seconds{}']\n"
"    if first is None:\n"
"        first = samples\n"
"    elif samples != first:\n"
"        sys.exit('read %d: %s, not %s' % (i, samples, first))\n"
"    i += 1\n"
"for name in sorted(first):\n"
"    print(name, int(first[name]))\n"
"print('inodes', len(inodes))\n";

/* Sends SIGUSR1 to pid every millisecond, for at most 20 s. */
static pid_t
signaller_start(pid_t pid)
{
	struct timespec ms = { 0, 1000 * 1000 };
	pid_t child = fork();
	int i;

	cr_assert(child >= 0);
	if (child == 0) {
		for (i = 0; i < 20000 && kill(pid, SIGUSR1) == 0; i++)
			nanosleep(&ms, NULL);
		_exit(0);
	}
	return child;
}

static void
signaller_stop(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

/*
 * The script's output on the metrics file at path, read reads times, and
 * on until it has seen two files, for 10 s at most (on a loaded machine
 * the reads may all come before the first rename).
 */
static void
metrics_parsed(const char *path, int reads, struct buffer *out)
{
	char script[128], command[512], chunk[4096];
	size_t n;
	FILE *p;

	snprintf(script, sizeof(script), "%s/parse.py", fx.dir);
	{
		FILE *f = fopen(script, "w");

		cr_assert_not_null(f);
		fputs(parse_script, f);
		cr_assert_eq(fclose(f), 0);
	}
	snprintf(command, sizeof(command), "/usr/bin/python3 %s %s %d 2>&1",
	    script, path, reads);
	cr_assert_not_null(p = popen(command, "r"));
	memset(out, 0, sizeof(*out));
	buffer_append(out, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buffer_append(out, chunk, n);
	cr_assert_eq(pclose(p), 0, "the parser failed: %s", out->data);
}

/* A umask that would keep the metrics from their collector. */
static void
umask_strict(void)
{
	umask(077);
}

/*
 * -M, -c 1: an eviction and four more exchanges.  The file is readable
 * by everyone, whatever the umask (systemd's unit sets 0077).  The file,
 * read and parsed 1,000 times and more, until it has been replaced once
 * at least, while SIGUSR1 comes every millisecond (each a new file,
 * renamed over the old), is whole every time, and says exactly
 * what the status line says; with no signal, it is written again, with
 * a new exchange, within 10 s.
 */
Test(counters, metrics_file_whole_exact_and_rewritten_unasked)
{
	char dir[128], path[160], want[1024], plan4[128];
	struct buffer line, out, b = { 0 };
	unsigned long long hits, misses;
	unsigned long inodes;
	size_t statuses;
	const char *p;
	double stopped;
	pid_t signaller;
	struct stat st;
	int fd;

	snprintf(dir, sizeof(dir), "%s/metrics", fx.dir);
	cr_assert_eq(mkdir(dir, 0777), 0);
	cr_assert_eq(chmod(dir, 0777), 0);	/* the -u account writes */
	snprintf(path, sizeof(path), "%s/fingerd.prom", dir);
	fx.child_setup = umask_strict;
	daemon_start(&fx, "-B", LOCAL, "-c", "1", "-M", path, NULL);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644, "mode %o",
	    (unsigned)(st.st_mode & 07777));
	fd = client_connect(LOCAL, fx.port);
	cr_assert(fd >= 0);
	usleep(100 * 1000);		/* accepted, in the slot */
	EXPECT("bob\r\n", REPLY_BOB);
	cr_assert(client_read_all(fd, &b, WAIT_REPLY_MS) == -1 &&
	    errno == ECONNRESET, "the evicted client not reset");
	close(fd);
	buffer_free(&b);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("alice\r\n", REPLY_ALICE);
	EXPECT("mallory\r\n", REPLY_NO_SUCH_USER);
	exchanges_wait(5);

	daemon_signal(&fx, SIGUSR1);
	status_line(1, &line);
	STATUS_IS(&line, "exchanges", 5);
	STATUS_IS(&line, "reply.plan", 3);
	STATUS_IS(&line, "reply.no-such-user", 1);
	STATUS_IS(&line, "reply.none", 1);
	STATUS_IS(&line, "end.ok", 4);
	STATUS_IS(&line, "end.evicted", 1);
	STATUS_IS(&line, "evicted", 1);
	STATUS_IS(&line, "log.lost", 0);
	hits = status_value(&line, "cache.hits");
	misses = status_value(&line, "cache.misses");
	cr_assert_eq(hits + misses, 3, "%s", line.data);
	STATUS_IS(&line, "generation", 1);
	STATUS_IS(&line, "workers", 1);
	STATUS_IS(&line, "members", 5);
	buffer_free(&line);

	signaller = signaller_start(fx.pid);
	metrics_parsed(path, 1000, &out);
	signaller_stop(signaller);
	stopped = now_seconds();
	snprintf(want, sizeof(want),
	    "fingerd_cache_hits_total{} %llu\n"
	    "fingerd_cache_misses_total{} %llu\n"
	    "fingerd_engine_info{engine=%s} 1\n"
	    "fingerd_evicted_total{} 1\n"
	    "fingerd_exchanges_total{end=evicted,reply=none} 1\n"
	    "fingerd_exchanges_total{end=ok,reply=no-such-user} 1\n"
	    "fingerd_exchanges_total{end=ok,reply=plan} 3\n"
	    "fingerd_generation{} 1\n"
	    "fingerd_log_lines_lost_total{} 0\n"
	    "fingerd_members{} 5\n"
	    "fingerd_workers{} 1\n"
	    "inodes ", hits, misses, engine_epoll() ? "epoll" : "io_uring");
	cr_assert_eq(strncmp(out.data, want, strlen(want)), 0,
	    "the metrics:\n%s\nnot:\n%s", out.data, want);
	inodes = strtoul(out.data + strlen(want), NULL, 10);
	cr_assert_geq(inodes, 2, "the file was not replaced while read");
	buffer_free(&out);
	cr_assert(daemon_alive(&fx));

	/* No signal now: the next write comes by itself. */
	usleep(100 * 1000 * wait_scale());	/* a SIGUSR1 in flight */
	statuses = log_count(&fx, STATUS_LINE);
	EXPECT("alice\r\n", REPLY_ALICE);
	snprintf(plan4, sizeof(plan4),
	    "fingerd_exchanges_total{reply=\"plan\",end=\"ok\"} 4\n");
	do {
		read_file(path, &b);
		p = strstr(b.data, plan4);
		buffer_free(&b);
		if (p == NULL)
			usleep(100 * 1000);
	} while (p == NULL && now_seconds() - stopped < 10 + LATENCY(2));
	cr_assert_not_null(p, "not written again within %.1f s",
	    now_seconds() - stopped);
	cr_assert_leq(now_seconds() - stopped, 10 + LATENCY(1),
	    "written again after %.1f s", now_seconds() - stopped);
	cr_assert_eq(log_count(&fx, STATUS_LINE), statuses,
	    "a SIGUSR1 came meanwhile");
	daemon_stopped_cleanly(&fx);
}

#define CANNOT_WRITE	"fingerd: -M .*/metrics/fingerd\\.prom: cannot write " \
			"it \\(the directory must be writable by the account " \
			"fingerd runs as\\); trying again every 10 s: " \
			"Permission denied$"

/*
 * -M in a directory the -u account cannot write: one line and
 * EX_CANTCREAT at start.  Once started, a directory that turns
 * read-only costs one warning, however many writes fail, and the
 * daemon serves on; once writable again, the file is written, and the
 * log says so.  (A child writes the file: its failure is logged after
 * the status line of the SIGUSR1 that asked for it.)
 */
Test(counters, metrics_directory_not_writable)
{
	char dir[128], path[160];
	struct buffer b, line;
	double deadline;
	bool counted;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/metrics", fx.dir);
	cr_assert_eq(mkdir(dir, 0555), 0);
	cr_assert_eq(chmod(dir, 0555), 0);
	snprintf(path, sizeof(path), "%s/fingerd.prom", dir);
	if (access(dir, W_OK) == 0 && geteuid() != 0)
		cr_skip_test("a directory 0555 is writable here");
	cr_assert_eq(daemon_run(&fx, "-B", LOCAL, "-P", "0", "-M", path,
	    NULL), 73, "not EX_CANTCREAT");
	log_read(&fx, &b);
	cr_assert_eq(log_count(&fx, "fingerd: -M .*/metrics/fingerd\\.prom: "
	    "cannot write it as [^ ]+ \\(make its directory writable by "
	    "[^ ]+, or name another file\\): Permission denied$"), 1,
	    "%s", b.data);
	cr_assert_eq(log_count(&fx, "serving group"), 0, "%s", b.data);
	buffer_free(&b);

	cr_assert_eq(chmod(dir, 0777), 0);
	daemon_start(&fx, "-B", LOCAL, "-M", path, NULL);
	cr_assert_eq(chmod(dir, 0555), 0);
	for (i = 1; i <= 3; i++) {
		daemon_signal(&fx, SIGUSR1);
		status_line(i, &line);
		buffer_free(&line);
	}
	cr_assert(log_wait(&fx, CANNOT_WRITE, 1, WAIT_LOG_MS));
	EXPECT("alice\r\n", REPLY_ALICE);
	exchanges_wait(1);
	cr_assert_eq(chmod(dir, 0777), 0);
	daemon_signal(&fx, SIGUSR1);
	cr_assert(log_wait(&fx, "fingerd: -M .*/metrics/fingerd\\.prom: "
	    "written again$", 1, WAIT_LOG_MS));
	/*
	 * The writes are one at a time: every failed one has been heard.
	 * The one that succeeded may be a write asked for before the
	 * SIGUSR1, made as the last failed one ended: the SIGUSR1's comes
	 * after it, with the exchange.
	 */
	cr_assert_eq(log_count(&fx, CANNOT_WRITE), 1);
	deadline = now_seconds() + WAIT_LOG_MS / 1000.0;
	do {
		read_file(path, &b);
		counted = strstr(b.data, "fingerd_exchanges_total"
		    "{reply=\"plan\",end=\"ok\"} 1\n") != NULL;
		if (!counted && now_seconds() < deadline)
			buffer_free(&b);
	} while (!counted && now_seconds() < deadline && usleep(20000) == 0);
	cr_assert(counted, "%s", b.data);
	buffer_free(&b);
	daemon_stopped_cleanly(&fx);
}
