/*
 * The soak: the real daemon (-w 2 -t 2 -c 128) for SOAK_SECONDS (60 by
 * default) under a random mix of clients, reloaded every few seconds
 * and now and then losing a worker to SIGKILL.  Then, from what the
 * clients saw, the log and /proc:
 *
 *	- every reply was exact, unless a killed worker cut it;
 *	- every exchange was logged once, but for the few lines a kill may
 *	  have taken with it, counted apart;
 *	- the status line (SIGUSR1) counts every exchange line, and at most
 *	  the lines a kill took besides;
 *	- the supervisor's descriptors did not grow, the workers' are back
 *	  to their idle count, and no worker's memory grew once warm.
 *
 * Each exchange comes from an address of its own: kind k uses 127.x.y.z
 * with x from 32(k+1) to 32(k+1)+31, its n-th exchange the n-th address
 * of that range (modulo 2^21), so the log line of an exchange is found by
 * its client= field alone and checked against its kind.
 *
 * The clients are CLIENTS threads, each with one connection at a time
 * and blocking calls bounded by poll() and SO_SNDTIMEO; the main thread
 * sends the signals and samples /proc every second.  Only the main
 * thread asserts: the clients record what they saw.  The choices are
 * random from a seed that is printed (SOAK_SEED replays them; the timing,
 * and with it what a kill cuts, differs from run to run).  SOAK_RESULTS
 * names a file for the summary, in Markdown.
 *
 * This file runs it: the daemon, the signals (chaos()), the samples of
 * /proc, the wait for the last generation, the test.  The clients are
 * soak_clients.c's, the verdict and the summary soak_checks.c's, what
 * they share soak.h's.
 */
#include <sys/types.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "soak.h"

struct soak_state soak = { .lock = PTHREAD_MUTEX_INITIALIZER };

TestSuite(soak, .init = fixture_setup, .fini = fixture_teardown);

/*
 * /proc: descriptors, resident memory, and which generation a worker is
 * of (its title, "fingerd: worker 1/2, generation 3").
 */

static bool
proc_fds(pid_t pid, unsigned *n)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return false;
	*n = 0;
	while ((e = readdir(d)) != NULL)
		*n += e->d_name[0] != '.';
	closedir(d);
	return true;
}

static bool
proc_rss(pid_t pid, unsigned long *kib)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	*kib = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lu kB", kib) == 1)
			break;
	fclose(f);
	return *kib > 0;
}

/* A worker's generation; false for a child not yet a worker, or gone. */
static bool
worker_generation(pid_t pid, unsigned *generation)
{
	char path[64], title[128];
	unsigned slot, of;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(title, 1, sizeof(title) - 1, f);
	fclose(f);
	title[n] = '\0';
	return sscanf(title, "fingerd: worker %u/%u, generation %u", &slot,
	    &of, generation) == 3;
}

/* The workers now (children that are workers), at most max. */
static size_t
workers_now(pid_t *pids, unsigned *generations, size_t max)
{
	pid_t children[64];
	size_t n, i, found = 0;

	n = daemon_workers(&fx, children, 64);
	for (i = 0; i < n && i < 64 && found < max; i++)
		if (worker_generation(children[i], &generations[found]))
			pids[found++] = children[i];
	return found;
}

static void
sample_add(double t, pid_t pid, unsigned generation)
{
	struct sample s = { .t = t, .pid = pid, .generation = generation };

	if (!proc_fds(pid, &s.fds) || !proc_rss(pid, &s.rss))
		return;		/* gone meanwhile */
	soak.samples = grow(soak.samples, &soak.samples_size, soak.nsamples,
	    sizeof(*soak.samples));
	soak.samples[soak.nsamples++] = s;
}

static void
sample_all(double t)
{
	unsigned generations[64];
	pid_t pids[64];
	size_t n, i;

	sample_add(t, fx.pid, 0);
	n = workers_now(pids, generations, 64);
	for (i = 0; i < n; i++)
		sample_add(t, pids[i], generations[i]);
}

/*
 * The chaos, in the main thread: SIGHUP every HUP_MIN to HUP_MAX
 * seconds, SIGKILL of a worker every KILL_MIN to KILL_MAX, a sample of
 * /proc every second.
 */

static void
kill_worker(uint64_t *rng)
{
	unsigned generations[64];
	pid_t pids[64];
	size_t n;
	double t;

	if ((n = workers_now(pids, generations, 64)) == 0)
		return;
	n = random_below(rng, n);
	t = now_seconds();
	if (kill(pids[n], SIGKILL) != 0)
		return;
	soak.kills = grow(soak.kills, &soak.kills_size, soak.nkills,
	    sizeof(*soak.kills));
	soak.kills[soak.nkills++] = t;
}

static void
chaos(uint64_t *rng, double end)
{
	double now = now_seconds(), next_sample = now;
	double next_hup = now + random_between(rng, HUP_MIN, HUP_MAX);
	double next_kill = now + random_between(rng, KILL_MIN, KILL_MAX);
	double next;

	while ((now = now_seconds()) < end) {
		if (now >= next_sample) {
			sample_all(now);
			next_sample += 1.0;
		}
		if (now >= next_hup) {
			daemon_signal(&fx, SIGHUP);
			soak.hups++;
			next_hup = now + random_between(rng, HUP_MIN, HUP_MAX);
		}
		if (now >= next_kill) {
			kill_worker(rng);
			next_kill = now + random_between(rng, KILL_MIN,
			    KILL_MAX);
		}
		next = next_sample < next_hup ? next_sample : next_hup;
		next = next < next_kill ? next : next_kill;
		next = next < end ? next : end;
		if ((next -= now_seconds()) > 0)
			usleep((useconds_t)(next * 1e6) + 1000);
	}
}

/*
 * The start: zoe joins the group with an 8 MiB plan, the daemon starts,
 * and each worker's idle descriptors are counted.
 */
static void
start(void)
{
	unsigned generations[WORKERS], fds;
	pid_t pids[WORKERS];
	double deadline = now_seconds() + WAIT_START_MS / 1000.0;
	char *text = huge_text(BIG_PLAN), *reply;
	size_t i, len;

	plan_write(&fx, "zoe", text, BIG_PLAN);
	reply = crlf_convert(text, BIG_PLAN, &len);
	free(text);
	cr_assert(asprintf(&soak.big, "%sPlan:\r\n%s", LOGIN_ZOE, reply) > 0);
	soak.big_len = strlen(soak.big);
	free(reply);
	fixture_group_rewrite(&fx, FIXTURE_MEMBERS ",zoe");
	daemon_start(&fx, FLAGS, NULL);
	while (workers_now(pids, generations, WORKERS) < WORKERS &&
	    now_seconds() < deadline)
		usleep(20 * 1000);
	cr_assert_eq(workers_now(pids, generations, WORKERS), WORKERS,
	    "not %d workers", WORKERS);
	usleep(200 * 1000);
	for (i = 0; i < WORKERS; i++) {
		cr_assert(proc_fds(pids[i], &fds));
		cr_assert(i == 0 || fds == soak.idle_fds,
		    "idle workers with %u and %u descriptors", soak.idle_fds,
		    fds);
		soak.idle_fds = fds;
	}
}

/*
 * The end, once the clients are joined: WORKERS workers of the last
 * generation (a killed one may be due to start again after its back-off),
 * each back to its idle descriptors (bounded; what they hold is kept).
 */
static void
settle(void)
{
	unsigned generations[64];
	pid_t pids[64], children[64];
	double deadline = now_seconds() + SETTLE_BOUND;
	size_t n = 0, i, idle;

	soak.generation = soak.hups + 1;
	while (now_seconds() < deadline) {
		n = workers_now(pids, generations, 64);
		for (i = 0; i < n && generations[i] == soak.generation; i++)
			;
		if ((soak.settled = n == WORKERS && i == n &&
		    daemon_workers(&fx, children, 64) == WORKERS))
			break;
		usleep(50 * 1000);
	}
	soak.end_workers = n;
	deadline = now_seconds() + IDLE_BOUND;
	do {
		for (i = 0, idle = 0; i < n && i < WORKERS; i++)
			if (proc_fds(pids[i], &soak.end_fds[i]))
				idle += soak.end_fds[i] == soak.idle_fds;
		if (idle == n)
			break;
		usleep(50 * 1000);
	} while (now_seconds() < deadline);
	usleep(100 * 1000);	/* the last lines: 10 ms at most */
	sample_all(now_seconds());
}

static void
clients_run(void)
{
	size_t i;

	for (i = 0; i < CLIENTS; i++) {
		soak.clients[i].rng = soak.seed ^
		    (0x9e3779b97f4a7c15ULL * (i + 1));
		if (soak.clients[i].rng == 0)
			soak.clients[i].rng = 1;
		cr_assert_eq(pthread_create(&soak.clients[i].thread, NULL,
		    client_main, &soak.clients[i]), 0);
	}
}

static void
clients_stop(void)
{
	size_t i;

	__atomic_store_n(&soak.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < CLIENTS; i++)
		pthread_join(soak.clients[i].thread, NULL);
}
static void
soak_free(void)
{
	size_t i;

	for (i = 0; i < KINDS; i++)
		free(soak.addresses[i]);
	for (i = 0; i < CLIENTS; i++)
		free(soak.clients[i].records);
	free(soak.samples);
	free(soak.kills);
	free(soak.big);
}

Test(soak, mixed_clients_reloads_and_kills)
{
	struct verdict *v = calloc(1, sizeof(*v));
	struct memory m = { 0 };
	const char *seed = getenv("SOAK_SEED");
	uint64_t rng;
	int status;

	cr_assert_not_null(v, "out of memory");
	soak.seconds = env_number("SOAK_SECONDS", 60);
	soak.seconds = soak.seconds >= 1 ? soak.seconds : 1;
	soak.seed = seed != NULL && seed[0] != '\0' ?
	    strtoull(seed, NULL, 0) :
	    (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	printf("soak: %.0f s, seed %llu (SOAK_SEED replays its choices)\n",
	    soak.seconds, (unsigned long long)soak.seed);
	fflush(stdout);
	rng = soak.seed != 0 ? soak.seed : 1;
	start();
	soak.t0 = now_seconds();
	clients_run();
	chaos(&rng, soak.t0 + soak.seconds);
	clients_stop();
	settle();
	daemon_signal(&fx, SIGUSR1);
	log_wait(&fx, "fingerd: status exchanges=", 1, WAIT_LOG_MS);
	status = daemon_stop(&fx, SIGTERM);
	verdict_make(v);
	supervisor_memory(&m);
	worker_memory(&m);
	summary(v, &m);
	verdict_assert(v, &m, status);
	soak_free();
	free(v);
}
