/*
 * -w: a parent that starts the workers and watches them.  Each worker is
 * one single-threaded loop with its own ring (see serve()) and its own
 * listening socket, SO_REUSEPORT spreading the connections among them.
 * The parent serves nothing: it forwards SIGTERM, SIGINT and SIGHUP,
 * reports a worker that dies and starts another in its place, on the same
 * socket, so no queued connection is lost.  It already runs as -u: a
 * worker is a fork, never an exec.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "fingerd.h"

/* A worker that dies sooner than this after its start waits to restart. */
#define RESTART_DELAY	1

struct worker {
	pid_t	 pid;		/* 0 while not running */
	int	 listen_fd;
	int64_t	 started;	/* monotonic seconds */
};

static void
worker_start(const struct options *o, struct members *members,
    struct worker *all, struct worker *w)
{
	static char name[32];
	unsigned i;
	pid_t pid;

	if ((pid = fork()) < 0) {
		log_warn("fork");
		return;
	}
	if (pid > 0) {
		w->pid = pid;
		w->started = monotonic_ns() / NS_PER_SECOND;
		return;
	}
	for (i = 0; i < o->workers; i++)
		if (all[i].listen_fd != w->listen_fd)
			close(all[i].listen_fd);
	snprintf(name, sizeof(name), "fingerd[%d]", (int)getpid());
	log_init(name);
	_exit(serve(o, members, w->listen_fd));
}

static void
report(const struct worker *w, int status, bool stopping)
{
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 && stopping))
		return;
	if (WIFEXITED(status))
		log_warnx("worker %d exited with status %d%s", (int)w->pid,
		    WEXITSTATUS(status), stopping ? "" : "; starting another");
	else
		log_warnx("worker %d killed by signal %d (%s)%s", (int)w->pid,
		    WTERMSIG(status),
		    strsignal(WTERMSIG(status)),
		    stopping ? "" : "; starting another");
}

/* Collects the workers that ended; returns how many still run. */
static unsigned
reap(struct worker *workers, unsigned n, bool stopping)
{
	unsigned i, running = 0;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < n; i++)
			if (workers[i].pid == pid) {
				report(&workers[i], status, stopping);
				workers[i].pid = 0;
			}
	for (i = 0; i < n; i++)
		running += workers[i].pid != 0;
	return running;
}

static void
forward(const struct worker *workers, unsigned n, int signo)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (workers[i].pid != 0)
			kill(workers[i].pid, signo);
}

/* The workers log the reload; the parent keeps it for the next one. */
static struct members *
reload_quietly(const char *group, struct members *members)
{
	struct members *t;
	const char *why;

	if ((t = members_load(group, &why)) == NULL)
		return members;
	members_release(members);
	return t;
}

static void
restart(const struct options *o, struct members *members,
    struct worker *workers)
{
	unsigned i;

	for (i = 0; i < o->workers; i++)
		if (workers[i].pid == 0 &&
		    monotonic_ns() / NS_PER_SECOND - workers[i].started >= RESTART_DELAY)
			worker_start(o, members, workers, &workers[i]);
}

int
workers_run(const struct options *o, struct members *members, const int *fds)
{
	struct worker workers[WORKERS_MAX];
	struct timespec tick = { 1, 0 };
	bool stopping = false;
	sigset_t set;
	unsigned i;
	int signo;

	signals_block(&set, true);
	ring_check();
	memset(workers, 0, sizeof(workers));
	for (i = 0; i < o->workers; i++) {
		workers[i].listen_fd = fds[i];
		worker_start(o, members, workers, &workers[i]);
	}
	log_info("started %u workers", o->workers);
	for (;;) {
		signo = sigtimedwait(&set, NULL, &tick);
		if ((signo == SIGTERM || signo == SIGINT) && !stopping) {
			stopping = true;
			log_info("%s: stopping the workers", strsignal(signo));
		}
		if (signo == SIGHUP)
			members = reload_quietly(o->group, members);
		if (signo == SIGTERM || signo == SIGINT || signo == SIGHUP)
			forward(workers, o->workers, signo);
		if (reap(workers, o->workers, stopping) == 0 && stopping)
			break;
		if (!stopping)
			restart(o, members, workers);
	}
	members_release(members);
	return EX_OK;
}
