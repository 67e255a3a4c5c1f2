/*
 * The supervisor (every mode but -i): it holds the listening sockets for
 * the life of the daemon, reads the user database, starts the workers
 * (worker.c) and watches them; it serves no client.  Its model is
 * OpenBSD's privilege-separated daemons and nginx's master process.
 *
 * A generation is a table of members and the workers that serve it, one
 * a listening socket (-w).  SIGHUP reads the group again and starts a new
 * generation on the same sockets; each new worker says when it serves,
 * and only then is the worker it replaces told to stop (SIGTERM): it
 * stops accepting, finishes its exchanges and exits.  As the sockets
 * never close, no connection waiting in a queue is reset, and none is
 * refused.  A worker that dies is started again on its socket, at once
 * when its slot had no death in the last ten seconds, else after a delay
 * that doubles up to a minute.  SIGTERM and SIGINT stop the workers and
 * close the sockets, so new connections are refused while the exchanges
 * in flight finish.
 *
 * A worker is a fork and an exec of this very binary (the file opened at
 * start, so an upgrade in place cannot mix versions): it starts from a
 * fresh image, with a new address layout and nothing of this process's
 * memory, where the user database was read.  Its descriptors are laid
 * out as WORKER_FD_* say and it holds no other.  The table is handed
 * over in a memfd sealed against any change: each worker of a generation
 * maps the same pages read-only, nothing is copied or parsed twice, and
 * neither side can change what the other reads.  (A socketpair would
 * copy the table into each worker and need a protocol; a sealed memfd
 * is the table itself.)  One pipe, for the life of the supervisor,
 * carries what workers tell it (struct worker_news): that one serves,
 * that it closed its listener, the log lines it lost at its exit; the
 * supervisor holds one descriptor a socket and a few more, whatever -w.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "fingerd.h"

/*
 * A worker that dies is started again at once, unless its slot's last
 * worker died less than this before: then after a delay that doubles.
 */
#define CALM_NS			(10LL * NS_PER_SECOND)
#define RESTART_DELAY_NS	NS_PER_SECOND
#define RESTART_DELAY_MAX_NS	(60LL * NS_PER_SECOND)
/*
 * A delay this long or longer is not waited out in the socket: it stops
 * listening meanwhile (slot_pause).  A shorter one is, as the
 * connections in its queue would be reset.
 */
#define PAUSE_DELAY_NS		(4LL * NS_PER_SECOND)
/* After -t, a worker that has not stopped is killed. */
#define STOP_GRACE_NS		(5LL * NS_PER_SECOND)
/*
 * A change to the user database's files is read this long after its
 * first event, so that a tool's writes (passwd, then group) come as one.
 */
#define USERDB_SETTLE_NS	(200LL * 1000000)
/*
 * A home that answers a probe (homes.c) starts a new generation, at
 * most one every RELOAD_SPACING_NS for that.
 */
#define RELOAD_SPACING_NS	(3 * NS_PER_SECOND)
/* A .nofinger change after this long since the last is read at once. */
#define HIDDEN_CALM_NS		(10 * NS_PER_SECOND)
#define RELOAD_SPACING_MAX_NS	(60 * NS_PER_SECOND)

extern char **environ;

/*
 * Why the group is read again: the log names it (event=reload why=, and
 * a reading that failed).  Each reason's name is in reload_names.
 */
enum reload_why {
	RELOAD_SIGHUP,
	RELOAD_USERDB_CHANGED,	/* its files, followed */
	RELOAD_USERDB_REREAD,	/* -R */
	RELOAD_NOFINGER,	/* a .nofinger came or went */
	RELOAD_HOME_ANSWERED,	/* a probe saw a home answer */
	RELOAD_HOME_MISSED,	/* a worker missed a home the table has */
	RELOAD_HOME_HUNG	/* a look for .nofinger was held by a home */
};

static const char *const reload_names[] = {
	[RELOAD_SIGHUP] = "sighup",
	[RELOAD_USERDB_CHANGED] = "userdb-changed",
	[RELOAD_USERDB_REREAD] = "userdb-reread",
	[RELOAD_NOFINGER] = "nofinger",
	[RELOAD_HOME_ANSWERED] = "home-answered",
	[RELOAD_HOME_MISSED] = "home-missed",
	[RELOAD_HOME_HUNG] = "home-hung",
};

/*
 * Whether the reading tries again the homes found hung in the last
 * (homes_check with no before): only once a probe saw one answer, as
 * each try leaves a child held by a home still hung.  A reload due for
 * another reason takes this one when it comes (reload_due).
 */
static bool
reload_tries_hung(enum reload_why why)
{
	return why == RELOAD_HOME_ANSWERED;
}

/* What a reading of the group came to (reload). */
enum reading {
	READING_FAILED,		/* the group not read, or its table not made */
	READING_SAME,		/* what the workers serve: no generation */
	READING_STARTED		/* a new generation */
};

/*
 * A reading of the group asked for (reload): why, for the log; whether
 * a new generation starts even for the same table (SIGHUP, a worker's
 * miss); and whether it is the reload a home made due (due_reload).
 * For that one, as its reading starts: whether a miss forces it, the
 * miss it spent, and the homes unreached then (reading_next).
 */
struct reload_ask {
	bool		 asked;
	enum reload_why	 why;		/* for the log */
	bool		 tries_hung;	/* one of them reload_tries_hung */
	bool		 forced;
	bool		 due;
	bool		 due_forced;
	bool		 missed;
	size_t		 unreached;
};

struct supervisor;
static void		stop(struct supervisor *, int);
static void		reload(struct supervisor *, const struct reload_ask *);
static void		reading_done(struct supervisor *, struct members *,
			    const char *);
static void		reading_next(struct supervisor *);

enum worker_state {
	WORKER_STARTING,	/* has not said it serves */
	WORKER_SERVING,
	WORKER_RETIRING		/* told to stop */
};

struct worker {
	pid_t			 pid;		/* 0: the record is free */
	unsigned		 slot;		/* its listening socket */
	unsigned		 generation;
	enum worker_state	 state;
	bool			 listening;	/* ready, its listener not closed */
	bool			 killed;	/* at a stop, after -t */
	bool			 left;		/* and still there: not waited for */
	int64_t			 started;	/* monotonic ns */
	struct counters		*counters;	/* its page (counters.c) */
};

/* A listening socket, and when its worker is due to start again. */
struct slot {
	int		 listen_fd;
	int64_t		 restart_at;	/* monotonic ns; 0: none due */
	struct backoff	 deaths;	/* its workers' */
	bool		 paused;	/* not listening until it starts one */
};

struct supervisor {
	const struct options	*options;
	struct slot		 slots[WORKERS_MAX];
	struct worker		*workers;
	size_t			 workers_size;
	int			 setup_fd;	/* the current generation's */
	void			*packed;	/* what it serves, packed */
	size_t			 packed_len;
	struct userdb_watch	*userdb;	/* NULL: not watched */
	int64_t			 reread_at;	/* monotonic ns; 0: none due */
	int64_t			 periodic_at;	/* the next -R; 0: none */
	enum reload_why		 reload_why;	/* for the log */
	unsigned		 generation;
	size_t			 members;	/* of the current generation */
	bool			 announced;	/* the log says it serves */
	bool			 served;	/* and said so once */
	int			 signal_fd;
	int			 ready[2];	/* workers write their pid */
	int			 exe_fd;
	int			 null_fd;
	bool			 stopping;
	int64_t			 stop_deadline;
	int			 status;	/* the exit status */
	struct members		*table;		/* the current generation's */
	struct home_probes	 probes;	/* homes.c */
	struct backoff		 hidden_reloads;	/* for a .nofinger */
	int64_t			 reload_at;	/* a home answered; 0: none due */
	struct backoff		 reloads;	/* for a home */
	enum reload_why		 due_why;	/* reload_at's (reload_due) */
	bool			 due_forced;	/* a worker missed a home */
	unsigned		 missed_generation; /* the last a miss forced */
	bool			 same_table;	/* the last generation's was */
	struct userdb_reading	 reading;	/* the group's, in a child */
	struct reload_ask	 reading_for;	/* what it was asked for */
	struct reload_ask	 next;		/* asked for while it runs */
	bool			 due_again;	/* reload_due while one ran */
};

/*
 * The setup of a generation: the options and the packed table, in a
 * memfd sealed against any change; -1 on failure (logged).
 */
static int
setup_publish(const struct options *o, const void *table, size_t len)
{
	const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE;
	struct worker_setup setup;
	int fd;

	worker_setup_from(&setup, o);
	fd = memfd_create("fingerd-setup", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, &setup, sizeof(setup)) != sizeof(setup) ||
	    write(fd, table, len) != (ssize_t)len ||
	    fcntl(fd, F_ADD_SEALS, seals) != 0) {
		log_warn("the workers' setup (memfd)");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * The workers' table of these members, what is known of their homes
 * included (homes_check: before, the table served, or NULL).
 */
static void *
table_pack(struct members *members, const struct members *before,
    const struct members *served, size_t *len)
{
	void *table = NULL;

	homes_check(members, before);
	members_hidden_keep(members, served);
	if (!members_render_list(members) ||
	    (table = members_pack(members, len)) == NULL)
		log_warnx("out of memory for the workers' table");
	return table;
}

/* A free worker record; the table grows as retiring workers pile up. */
static struct worker *
worker_record(struct supervisor *s)
{
	struct worker *v;
	size_t i, n;

	for (i = 0; i < s->workers_size; i++)
		if (s->workers[i].pid == 0)
			return &s->workers[i];
	n = s->workers_size ? 2 * s->workers_size : 2 * WORKERS_MAX;
	if ((v = reallocarray(s->workers, n, sizeof(*v))) == NULL)
		return NULL;
	memset(v + s->workers_size, 0, (n - s->workers_size) * sizeof(*v));
	s->workers = v;
	s->workers_size = n;
	return &s->workers[i];
}

static void __attribute__((noreturn))
worker_exec_failed(const char *what)
{
	log_warn("starting a worker: %s", what);
	_exit(EX_OSERR);
}

/*
 * In the child: its descriptors where worker.c expects them and no
 * other, the signals it reads blocked, then the exec.  Returns only on
 * failure, which the parent hears of as an exit status.
 */
static void __attribute__((noreturn))
worker_exec(const struct supervisor *s, unsigned slot, int counters_fd)
{
	/* The layout, then the binary to execute (closed by the exec). */
	const int from[] = {
		s->null_fd, s->null_fd, log_fd(), s->slots[slot].listen_fd,
		s->setup_fd, s->ready[1],
		counters_fd >= 0 ? counters_fd : s->null_fd, s->exe_fd,
	};
	const unsigned n = sizeof(from) / sizeof(from[0]), exe = n - 1;
	int fds[sizeof(from) / sizeof(from[0])];
	char title[64];
	char *argv[] = { title, NULL };
	sigset_t worker;
	unsigned i;

	log_forked();
	/*
	 * The other workers' sockets go first: with -w 40 under a low
	 * RLIMIT_NOFILE, the copies below need the room they take.
	 */
	for (i = 0; i < s->options->workers; i++)
		if (s->slots[i].listen_fd != s->slots[slot].listen_fd)
			close(s->slots[i].listen_fd);
	/* Above the layout first, so that no dup3 closes a source. */
	for (i = 0; i < n; i++)
		if ((fds[i] = fcntl(from[i], F_DUPFD_CLOEXEC, (int)n)) < 0)
			worker_exec_failed("descriptors");
	for (i = 0; i < n; i++)
		if (dup3(fds[i], (int)i, i == exe ? O_CLOEXEC : 0) != (int)i)
			worker_exec_failed("descriptors");
	syscall(SYS_close_range, n, ~0U, 0U);
	/*
	 * SIGUSR1 is the supervisor's; `pkill -USR1 fingerd` reaches the
	 * workers too, which ignore it from before the exec on.
	 */
	signal(SIGUSR1, SIG_IGN);
	/*
	 * The signals a worker reads from its signalfd (SIGTERM and SIGINT:
	 * stop; SIGUSR2: retire, a newer generation serves; SIGHUP, which
	 * `pkill -HUP fingerd` sends every fingerd process) stay blocked
	 * across the exec, to wait for it: one sent while the worker starts
	 * (hundreds of milliseconds on a loaded machine) would otherwise end
	 * it by its default.
	 */
	sigemptyset(&worker);
	sigaddset(&worker, SIGTERM);
	sigaddset(&worker, SIGINT);
	sigaddset(&worker, SIGUSR2);
	sigaddset(&worker, SIGHUP);
	sigprocmask(SIG_SETMASK, &worker, NULL);
	snprintf(title, sizeof(title), "fingerd: worker %u/%u, generation %u",
	    slot + 1, s->options->workers, s->generation);
	if (setenv(WORKER_ENVIRONMENT, "1", 1) != 0)
		worker_exec_failed("setenv");
	syscall(SYS_execveat, (int)exe, "", argv, environ, AT_EMPTY_PATH);
	worker_exec_failed("execveat");
}

static struct worker *
worker_find(struct supervisor *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->workers_size; i++)
		if (s->workers[i].pid == pid)
			return &s->workers[i];
	return NULL;
}

/* Starts a worker of the current generation on its slot. */
static void
worker_start(struct supervisor *s, unsigned slot)
{
	struct worker *w = worker_record(s);
	struct counters *page;
	int counters_fd = counters_page_new(&page);
	pid_t pid;

	s->slots[slot].restart_at = 0;
	if (s->slots[slot].paused) {
		if (listen(s->slots[slot].listen_fd, SOMAXCONN) != 0) {
			log_warn("worker %u: listening again (retried in a "
			    "second)", slot + 1);
			s->slots[slot].restart_at = monotonic_ns() +
			    RESTART_DELAY_NS;
			return;
		}
		s->slots[slot].paused = false;
	}
	if (w == NULL || (pid = fork()) < 0) {
		log_warn("cannot start a worker");
		s->slots[slot].restart_at = monotonic_ns() + RESTART_DELAY_NS;
		counters_fold(page);
		if (counters_fd >= 0)
			close(counters_fd);
		return;
	}
	if (pid == 0)
		worker_exec(s, slot, counters_fd);
	if (counters_fd >= 0)
		close(counters_fd);
	*w = (struct worker){
		.pid = pid, .slot = slot, .generation = s->generation,
		.state = WORKER_STARTING, .started = monotonic_ns(),
		.counters = page,
	};
}

static void
generation_start(struct supervisor *s)
{
	unsigned i;

	for (i = 0; i < s->options->workers; i++)
		worker_start(s, i);
}

/*
 * A worker is told to stop with SIGTERM when the daemon stops, and with
 * SIGUSR2 when a newer generation replaces it (a reload, which its log
 * must not call a stop).
 */
static void
worker_stop(struct worker *w, int signo)
{
	w->state = WORKER_RETIRING;
	kill(w->pid, signo);
}

static bool
generation_serves(const struct supervisor *s)
{
	size_t i;
	unsigned serving = 0;

	for (i = 0; i < s->workers_size; i++)
		serving += s->workers[i].pid != 0 &&
		    s->workers[i].generation == s->generation &&
		    s->workers[i].state == WORKER_SERVING;
	return serving == s->options->workers;
}

/* Whether a worker of an older generation may still take a connection. */
static bool
older_listening(const struct supervisor *s)
{
	size_t i;

	for (i = 0; i < s->workers_size; i++)
		if (s->workers[i].pid != 0 && s->workers[i].listening &&
		    s->workers[i].generation < s->generation)
			return true;
	return false;
}

/*
 * The log says the generation serves once every worker of it does and
 * no older one listens any more (each says so when it closes its
 * listener, or by its exit): from that line on, every connection gets
 * the new table.
 */
static void
announce(struct supervisor *s)
{
	if (s->announced || !generation_serves(s) || older_listening(s))
		return;
	s->announced = true;
	/* A reload before the first generation served: the start's line. */
	if (!s->served)
		log_info("event=start group=%s members=%zu workers=%u",
		    s->options->group, s->members, s->options->workers);
	else
		log_info("event=reload group=%s members=%zu generation=%u "
		    "why=%s", s->options->group, s->members, s->generation,
		    reload_names[s->reload_why]);
	s->served = true;
}

/*
 * A worker serves: the ones it replaces, on its socket and of an older
 * generation, are told to stop.
 */
static void
worker_ready(struct supervisor *s, struct worker *w)
{
	struct worker *old;
	size_t i;

	w->state = WORKER_SERVING;
	w->listening = true;
	for (i = 0; i < s->workers_size; i++) {
		old = &s->workers[i];
		if (old->pid != 0 && old->slot == w->slot &&
		    old->generation < w->generation &&
		    old->state != WORKER_RETIRING)
			worker_stop(old, SIGUSR2);
	}
	announce(s);
}

/* Signals whose death is a crash, not an order. */
static bool
crash_signal(int signo)
{
	return signo == SIGSEGV || signo == SIGBUS || signo == SIGILL ||
	    signo == SIGFPE || signo == SIGABRT || signo == SIGSYS;
}

/*
 * The first worker that failed decides the exit status: its own exit
 * status (a sanitizer's, a fatal error's), or EX_SOFTWARE for a crash.
 */
static void
worker_failed(struct supervisor *s, int status)
{
	if (s->status != EX_OK)
		return;
	if (WIFEXITED(status))
		s->status = WEXITSTATUS(status);
	else if (crash_signal(WTERMSIG(status)))
		s->status = EX_SOFTWARE;
}

/*
 * A worker's end.  SIGSYS is its seccomp filter's (seccomp.c): a call
 * its C library made that the list lacks, which the kernel's audit log
 * names (an architecture or a C library the tests never ran on).
 */
static void
worker_report(const struct worker *w, int status, const char *then)
{
	int signo = WTERMSIG(status);

	if (WIFEXITED(status))
		log_warnx("event=worker-exit pid=%d status=%d%s", (int)w->pid,
		    WEXITSTATUS(status), then);
	else
		log_warnx("event=worker-exit pid=%d signal=SIG%s why=\"%s%s\"%s",
		    (int)w->pid, sigabbrev_np(signo) != NULL ?
		    sigabbrev_np(signo) : "?", strsignal(signo),
		    signo == SIGSYS ? ": a system call outside its seccomp "
		    "allow-list, which the kernel's audit log names "
		    "(type=1326)" : "", then);
}

/*
 * While a slot waits PAUSE_DELAY_NS or more to start its worker again,
 * the kernel would still give its socket a share of the connections
 * (SO_REUSEPORT), to wait there for seconds: the socket stops listening
 * meanwhile, which resets those that wait in it (or, with
 * net.ipv4.tcp_migrate_req, moves them to another worker's socket) and
 * sends the new ones to the others; worker_start() listens again.  Not
 * a socket another process listens on: systemd's, shared by every
 * worker, or one an older generation still accepts from.
 */
static void
slot_pause(struct supervisor *s, const struct worker *dead)
{
	struct slot *slot = &s->slots[dead->slot];
	unsigned i;

	for (i = 0; i < s->options->workers; i++)
		if (i != dead->slot && s->slots[i].listen_fd == slot->listen_fd)
			return;
	for (i = 0; i < s->workers_size; i++)
		if (s->workers[i].pid != 0 && &s->workers[i] != dead &&
		    s->workers[i].slot == dead->slot)
			return;
	if (s->options->workers == 1 || shutdown(slot->listen_fd, SHUT_RD) != 0)
		return;
	slot->paused = true;
}

/* When a worker of this slot that died is started again. */
static void
restart_schedule(struct supervisor *s, const struct worker *w, int status)
{
	struct slot *slot = &s->slots[w->slot];
	int64_t now = monotonic_ns();
	char then[64];

	/*
	 * Connections wait in the socket meanwhile: the first death in a
	 * while is answered at once, only a worker that keeps dying waits.
	 */
	backoff_step(&slot->deaths, now, backoff_calm(&slot->deaths, now,
	    CALM_NS));
	slot->restart_at = backoff_due(&slot->deaths, now);
	if (slot->deaths.spacing >= PAUSE_DELAY_NS)
		slot_pause(s, w);
	snprintf(then, sizeof(then), " restart=%llds",
	    (long long)(slot->deaths.spacing / NS_PER_SECOND));
	worker_report(w, status, then);
}

/*
 * A worker exits EX_UNAVAILABLE when its listening socket stopped
 * listening.  The supervisor holds the same socket: when it no longer
 * listens (shut down from outside, as ss -K does), nothing can serve
 * again without binding anew, so the daemon stops, and its manager
 * (systemd's Restart=on-failure) starts it again.
 */
static bool
listener_gone(struct supervisor *s, const struct worker *w, int status)
{
	int listening = 1;
	socklen_t len = sizeof(listening);
	char where[INET6_ADDRSTRLEN + 16];
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int fd = s->slots[w->slot].listen_fd;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != EX_UNAVAILABLE ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
	    listening)
		return false;
	where[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		socket_address_format(&ss, where, sizeof(where));
	log_warnx("the listening socket %s no longer listens (shut down from "
	    "outside, as by ss -K): stopping", where);
	s->status = EX_UNAVAILABLE;
	return true;
}

static void
worker_gone(struct supervisor *s, struct worker *w, int status)
{
	bool expected = w->state == WORKER_RETIRING && WIFEXITED(status) &&
	    WEXITSTATUS(status) == EX_OK;

	counters_fold(w->counters);	/* its final counts */
	if (listener_gone(s, w, status)) {
		memset(w, 0, sizeof(*w));
		stop(s, 0);
		return;
	}
	if (!expected && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		worker_failed(s, status);
	if (!expected && (s->stopping || w->state == WORKER_RETIRING ||
	    w->generation != s->generation))
		worker_report(w, status, "");
	else if (!expected)
		restart_schedule(s, w, status);
	memset(w, 0, sizeof(*w));
}

/*
 * A new generation for what the homes answer now, spaced out: a probe
 * found one answering, a look for .nofinger was held by a home that
 * answered the last reading, or a worker did not find one that the
 * survey did (missed: hung since, or only slow, which the survey tells;
 * or no room for its descriptor).  A miss forces the reload whichever
 * reason came first: the log names that one, or the one whose reading
 * tries the homes found hung again (reload_tries_hung), whenever it came.
 */
static void
reload_due(struct supervisor *s, enum reload_why why, bool missed)
{
	s->due_forced |= missed;
	if (s->next.due) {		/* its reading has not started */
		s->next.tries_hung |= reload_tries_hung(why);
		if (!s->next.forced && reload_tries_hung(why))
			s->next.why = why;
		return;
	}
	if (s->reading.fd >= 0 && s->reading_for.due) {
		/* armed at its end, once the backoff has stepped */
		if (!s->due_again || reload_tries_hung(why))
			s->due_why = why;
		s->due_again = true;
		return;
	}
	if (s->reload_at != 0) {
		if (reload_tries_hung(why))
			s->due_why = why;
		return;
	}
	s->reload_at = backoff_due(&s->reloads, monotonic_ns());
	s->due_why = why;
}

/*
 * The reload due, forced where a worker missed a home the table has (it
 * serves less than the table), but once a table: a worker that misses
 * it every time (a home that answers the survey but never a worker, a
 * limit on descriptors) would get a new generation for good, each
 * restarting every worker.  The generation a miss forced (the table
 * unchanged: a changed one starts one anyway) serves that table; a miss
 * there waits for another (a change, SIGHUP).  A miss counts only from a
 * worker of the newest generation: any new one opens every home again.
 */
static void
due_reload(struct supervisor *s)
{
	reload(s, &(struct reload_ask){ .why = s->due_why, .due = true });
}

/*
 * The end of the reading due_reload asked for.  One that failed (the
 * group cannot be read for now) leaves the reload due again, spaced out,
 * its force and its why kept; as does one asked for meanwhile.
 */
static void
due_read(struct supervisor *s, const struct reload_ask *a, enum reading r)
{
	int64_t now = monotonic_ns();

	/*
	 * A home that answers a probe but not the survey in time (slow, not
	 * hung) would start a generation every few seconds.
	 */
	backoff_step(&s->reloads, now, homes_unreached(s->table) <
	    a->unreached);
	if (r == READING_FAILED) {
		s->due_forced |= a->missed;
		if (!s->due_again || reload_tries_hung(a->why))
			s->due_why = a->why;
	} else if (r == READING_STARTED && a->due_forced && s->same_table) {
		s->missed_generation = s->generation;
	}
	if ((r == READING_FAILED || s->due_again) && s->reload_at == 0)
		s->reload_at = backoff_due(&s->reloads, now);
	s->due_again = false;
}

/*
 * A .nofinger came or went: the group again, at once the first time in
 * a while, then with a delay that doubles up to a minute, so that a
 * member who toggles it (or a user database that cannot be read) cannot
 * start a generation every second.  Never while stopping.
 */
static void
hidden_reload(struct supervisor *s)
{
	int64_t now = monotonic_ns();

	if (s->stopping || now < backoff_due(&s->hidden_reloads, now))
		return;		/* the next probe asks again */
	reload(s, &(struct reload_ask){ .why = RELOAD_NOFINGER });
	backoff_step(&s->hidden_reloads, now,
	    backoff_calm(&s->hidden_reloads, now, HIDDEN_CALM_NS));
}

/*
 * The probes due (homes.c), and a new generation when one is: a
 * home answered, or the look for .nofinger was held by a home (not
 * forced: the reading finds it hung, a new table, unless it answers
 * again).  A reading that failed is tried again, spaced out the same.
 */
static void
homes_due(struct supervisor *s)
{
	int64_t now = monotonic_ns();

	if (s->stopping)
		return;
	if (s->reload_at != 0 && s->reload_at <= now) {
		s->reload_at = 0;
		due_reload(s);
	}
	if (homes_probes_due(&s->probes, s->table, now))
		reload_due(s, RELOAD_HOME_HUNG, false);
}

/* A probe says a home answers now, or its .nofinger came or went. */
static void
probe_read(struct supervisor *s)
{
	bool answered, hidden;

	homes_probes_read(&s->probes, s->table, &answered, &hidden);
	if (answered)
		reload_due(s, RELOAD_HOME_ANSWERED, false);
	if (hidden)
		hidden_reload(s);
}

static void
reap_workers(struct supervisor *s)
{
	struct worker *w;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((w = worker_find(s, pid)) != NULL)
			worker_gone(s, w, status);
		else if (!homes_probes_gone(&s->probes, pid))
			(void)metrics_file_gone(pid, status);
	announce(s);
}

/* The workers a stop waits for. */
static size_t
workers_alive(const struct supervisor *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->workers_size; i++)
		n += s->workers[i].pid != 0 && !s->workers[i].left;
	return n;
}

/* Whether the packed table is the one the workers serve now. */
static bool
table_served(const struct supervisor *s, const void *table, size_t len)
{
	return s->packed != NULL && s->packed_len == len &&
	    memcmp(s->packed, table, len) == 0;
}

/*
 * A new generation serves t (packed, its setup in fd), replacing the
 * current one: the workers still starting with the older table are told
 * to stop at once.
 */
static void
generation_replace(struct supervisor *s, struct members *t, void *packed,
    size_t len, int fd, enum reload_why why)
{
	size_t i;

	s->same_table = table_served(s, packed, len);
	close(s->setup_fd);
	s->setup_fd = fd;
	free(s->packed);
	s->packed = packed;
	s->packed_len = len;
	s->generation++;
	s->due_forced = false;	/* its workers open every home again */
	s->members = t->count;
	s->reload_why = why;
	s->announced = false;	/* once the new workers serve */
	members_release(s->table);
	s->table = t;
	homes_probes_table(&s->probes, s->table);
	for (i = 0; i < s->workers_size; i++)
		if (s->workers[i].pid != 0 &&
		    s->workers[i].state == WORKER_STARTING)
			worker_stop(&s->workers[i], SIGUSR2);
	generation_start(s);
}

/*
 * The group read (t, or NULL: failed is why) for a, in a new generation:
 * always when forced (SIGHUP, a worker that missed a home: due_reload),
 * otherwise only when what the workers serve changed, so that a reading
 * that finds nothing new costs no worker.
 */
static enum reading
reload_table(struct supervisor *s, const struct reload_ask *a,
    struct members *t, const char *failed)
{
	enum reading r = READING_FAILED;
	void *packed;
	size_t len;
	int fd;

	if (t == NULL) {
		log_warnx("reload (%s): group %s: %s; keeping the %zu member%s "
		    "loaded before", reload_names[a->why], s->options->group,
		    failed, s->members, plural(s->members));
		return READING_FAILED;
	}
	if ((packed = table_pack(t, a->tries_hung ? NULL :
	    s->table, s->table, &len)) == NULL)
		goto unused;
	if (table_served(s, packed, len) && !a->forced)
		r = READING_SAME;
	else if ((fd = setup_publish(s->options, packed, len)) >= 0) {
		generation_replace(s, t, packed, len, fd, a->why);
		return READING_STARTED;
	}
	free(packed);
unused:
	members_release(t);
	return r;
}

/*
 * The reading asked for next, when one is and none runs; a due reload's
 * force, the miss it spends and the homes unreached taken now.
 */
static void
reading_next(struct supervisor *s)
{
	struct reload_ask *a = &s->reading_for;
	int sockets[WORKERS_MAX];
	unsigned i;

	if (!s->next.asked || s->reading.fd >= 0 || s->stopping)
		return;
	*a = s->next;
	memset(&s->next, 0, sizeof(s->next));
	if (a->due) {
		a->missed = s->due_forced;
		a->due_forced = a->missed &&
		    s->missed_generation != s->generation;
		a->forced |= a->due_forced;
		a->unreached = homes_unreached(s->table);
		s->due_forced = false;
	}
	for (i = 0; i < s->options->workers; i++)
		sockets[i] = s->slots[i].listen_fd;
	if (!userdb_reading_start(&s->reading, s->options->group, sockets,
	    s->options->workers))
		reading_done(s, NULL, strerror(errno));
}

/* The end of the reading in flight: t, or NULL (failed is why). */
static void
reading_done(struct supervisor *s, struct members *t, const char *failed)
{
	struct reload_ask a = s->reading_for;
	enum reading r = reload_table(s, &a, t, failed);

	if (a.due)
		due_read(s, &a, r);
	reading_next(s);
}

/* Which why a merged reading logs: a forced one's, then a retrying one's. */
static int
why_rank(enum reload_why why, bool forced)
{
	return forced ? 2 : reload_tries_hung(why);
}

/*
 * The group again (a: why, and how), read by a child of this process's
 * (userdb.c) while it goes on supervising; asked for while one runs, it
 * is read once that ends (asks that come meanwhile are one: forced if
 * one is, retrying the hung homes if one does, the log naming the last
 * forced one, else the last retrying one, else the last).
 */
static void
reload(struct supervisor *s, const struct reload_ask *a)
{
	struct reload_ask *n = &s->next;

	if (!n->asked ||
	    why_rank(a->why, a->forced) >= why_rank(n->why, n->forced))
		n->why = a->why;
	n->asked = true;
	n->tries_hung |= reload_tries_hung(a->why);
	n->forced |= a->forced;
	n->due |= a->due;
	reading_next(s);
}

/* What the reading's child sent; its end, when it came. */
static void
reading_read(struct supervisor *s)
{
	struct members *t;
	const char *why;

	if (userdb_reading_read(&s->reading, &t, &why) == 1)
		reading_done(s, t, why);
}

/*
 * A reading that has sent nothing for USERDB_STALL_NS: said, once; it
 * goes on, and the readings asked for meanwhile wait for it.
 */
static void
reading_stalled(struct supervisor *s)
{
	if (!userdb_reading_stalled(&s->reading))
		return;
	log_warnx("reload (%s): group %s: the user database has not answered "
	    "in %d s; serving the %zu member%s loaded before until it does",
	    reload_names[s->reading_for.why], s->options->group,
	    (int)(USERDB_STALL_NS / NS_PER_SECOND), s->members,
	    plural(s->members));
}

/*
 * Reads the user database again when it is due: after its files changed
 * (USERDB_SETTLE_NS after the first event), and every -R seconds.
 */
static void
rereads_due(struct supervisor *s)
{
	int64_t now = monotonic_ns();
	enum reload_why why;

	if (s->stopping)
		return;
	if (s->periodic_at != 0 && s->periodic_at <= now) {
		s->periodic_at = now +
		    (int64_t)s->options->reread * NS_PER_SECOND;
		why = s->reread_at != 0 ? RELOAD_USERDB_CHANGED :
		    RELOAD_USERDB_REREAD;
		s->reread_at = 0;
		reload(s, &(struct reload_ask){ .why = why });
	}
	if (s->reread_at != 0 && s->reread_at <= now) {
		s->reread_at = 0;
		reload(s, &(struct reload_ask){ .why = RELOAD_USERDB_CHANGED });
	}
}

static void
userdb_read(struct supervisor *s)
{
	if (userdb_watch_changed(s->userdb) && s->reread_at == 0)
		s->reread_at = monotonic_ns() + USERDB_SETTLE_NS;
}

/*
 * SIGTERM, SIGINT: the sockets close here; each worker stops accepting,
 * closes its own and finishes its exchanges, so new connections are
 * refused from the moment the last worker has closed.
 */
static void
stop(struct supervisor *s, int signo)
{
	size_t i;

	if (s->stopping)
		return;
	s->stopping = true;
	s->stop_deadline = monotonic_ns() +
	    (int64_t)s->options->timeout * NS_PER_SECOND + STOP_GRACE_NS;
	if (signo != 0)
		log_info("event=stop signal=SIG%s", sigabbrev_np(signo));
	for (i = 0; i < s->options->workers; i++)
		if (i == 0 || s->slots[i].listen_fd != s->slots[0].listen_fd)
			close(s->slots[i].listen_fd);
	for (i = 0; i < s->workers_size; i++)
		if (s->workers[i].pid != 0)
			worker_stop(&s->workers[i], SIGTERM);
	homes_probes_stop(&s->probes);
	userdb_reading_stop(&s->reading);
}

/*
 * Workers that outlive the stop's deadline are killed.  One that is
 * still there STOP_GRACE_NS after has a thread held in the kernel,
 * where no signal reaches it: a request that a file system was sent and
 * does not answer (FUSE's wait for an answer is not killable).  It ends
 * when the file system answers; the stop does not wait for it.
 */
static void
stop_overdue(struct supervisor *s)
{
	struct worker *w;
	size_t i;

	if (!s->stopping || monotonic_ns() < s->stop_deadline)
		return;
	for (i = 0; i < s->workers_size; i++) {
		w = &s->workers[i];
		if (w->pid == 0 || w->left)
			continue;
		if (!w->killed) {
			log_warnx("worker %d has not stopped after -t: killed",
			    (int)w->pid);
			kill(w->pid, SIGKILL);
			w->killed = true;
		} else {
			log_warnx("worker %d does not end: held in the kernel, "
			    "as by a file system that does not answer; not "
			    "waiting for it", (int)w->pid);
			w->left = true;
		}
	}
	s->stop_deadline = monotonic_ns() + STOP_GRACE_NS;
}

/* The worker processes there are, of every generation. */
static size_t
workers_running(const struct supervisor *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->workers_size; i++)
		n += s->workers[i].pid != 0;
	return n;
}

static void
daemon_status_get(const struct supervisor *s, struct daemon_status *d)
{
	d->engine = engine_name(s->options->engine);
	d->generation = s->generation;
	d->workers = workers_running(s);
	d->members = s->members;
	d->uptime = counters_uptime();
}

/*
 * The counts, summed now: in the status line (SIGUSR1) when status is
 * set, and in the -M file.
 */
static void
report(const struct supervisor *s, bool status)
{
	uint64_t sum[COUNTERS];
	struct daemon_status d;
	char line[2048];

	daemon_status_get(s, &d);
	counters_sum(sum, log_lost());
	if (status) {
		counters_status_format(line, sizeof(line), sum, &d);
		log_info("%s", line);
	}
	metrics_file_write(sum, &d);
}

static void
signals_read(struct supervisor *s)
{
	struct signalfd_siginfo si;

	while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap_workers(s);
		else if (si.ssi_signo == SIGHUP && !s->stopping)
			reload(s, &(struct reload_ask){ .why = RELOAD_SIGHUP,
			    .forced = true });
		else if (si.ssi_signo == SIGUSR1)
			report(s, true);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			stop(s, (int)si.ssi_signo);
	}
}

static void
restarts_due(struct supervisor *s)
{
	int64_t now = monotonic_ns();
	unsigned i;

	for (i = 0; i < s->options->workers && !s->stopping; i++)
		if (s->slots[i].restart_at != 0 && s->slots[i].restart_at <= now)
			worker_start(s, i);
}

static int64_t
earliest(int64_t a, int64_t b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

/* -M: the file, when it is due (every METRICS_PERIOD_NS). */
static void
metrics_due(const struct supervisor *s)
{
	int64_t due = metrics_file_due();

	if (due != 0 && due <= monotonic_ns())
		report(s, false);
}

/*
 * Milliseconds until the next restart, reading of the user database,
 * the -M file or the stop's deadline; -1: none.
 */
static int
poll_timeout(const struct supervisor *s)
{
	int64_t next = s->stopping ? s->stop_deadline : 0;
	unsigned i;

	if (!s->stopping)
		next = earliest(s->reread_at, s->periodic_at);
	next = earliest(next, metrics_file_due());
	for (i = 0; i < s->options->workers && !s->stopping; i++)
		next = earliest(next, s->slots[i].restart_at);
	if (!s->stopping) {
		next = earliest(next, homes_probes_next(&s->probes));
		next = earliest(next, s->reload_at);
		next = earliest(next, userdb_reading_due(&s->reading));
	}
	return poll_ms(next);
}

/*
 * What workers wrote on the ready pipe: that one serves, that it closed
 * its listener, that it lost log lines at its exit, that syslog's
 * socket refuses their lines (it is connected again).  A worker no longer
 * known (it died since) is passed over, but not the lines it lost,
 * which are noted with this process's own.
 */
static void
ready_read(struct supervisor *s)
{
	struct worker_news news;
	struct worker *w;

	while (read(s->ready[0], &news, sizeof(news)) == sizeof(news)) {
		w = worker_find(s, news.pid);
		if (news.event == WORKER_LOST) {
			log_lost_add((unsigned long)news.count);
		} else if (news.event == WORKER_LOG_GONE) {
			log_reconnect();
		} else if (w == NULL) {
			continue;
		} else if (news.event == WORKER_CLOSED) {
			w->listening = false;
			announce(s);
		} else if (w->state == WORKER_STARTING) {
			if (news.count != 0 &&
			    w->generation == s->generation)
				reload_due(s, RELOAD_HOME_MISSED, true);
			worker_ready(s, w);
		}
	}
}

/*
 * Waits for a signal, a worker that serves, what the group's reading
 * sends, the log writable when lines wait for it, or the next timer.
 */
static void
wait_events(struct supervisor *s)
{
	struct pollfd pfd[6] = {
		{ .fd = s->signal_fd, .events = POLLIN },
		{ .fd = s->ready[0], .events = POLLIN },
		{ .fd = userdb_watch_fd(s->userdb), .events = POLLIN },
		{ .fd = s->probes.pipe[0], .events = POLLIN },
		{ .fd = s->reading.fd, .events = POLLIN },
		{ .fd = log_fd(), .events = POLLOUT },
	};
	nfds_t n = log_flush() ? 5 : 6;

	if (poll(pfd, n, poll_timeout(s)) < 0 && errno != EINTR)
		fatal(EX_OSERR, "poll");
	if (pfd[2].revents != 0)
		userdb_read(s);
	if (pfd[4].revents != 0)
		reading_read(s);
	if (pfd[1].revents != 0)
		ready_read(s);
	if (pfd[3].revents != 0)
		probe_read(s);
	if (pfd[0].revents != 0)
		signals_read(s);
}

/* -M: the file written once at start (metrics.c). */
static void
metrics_start(const struct supervisor *s)
{
	uint64_t sum[COUNTERS];
	struct daemon_status d;

	counters_start();
	if (s->options->metrics == NULL)
		return;
	daemon_status_get(s, &d);
	counters_sum(sum, log_lost());
	metrics_file_start(s->options->metrics, sum, &d);
}

/* -M: the last counts, at the exit. */
static void
metrics_end(const struct supervisor *s)
{
	uint64_t sum[COUNTERS];
	struct daemon_status d;

	daemon_status_get(s, &d);
	counters_sum(sum, log_lost());
	metrics_file_end(sum, &d);
}

static void
supervisor_init(struct supervisor *s, const struct options *o,
    struct members *members, const int *fds)
{
	sigset_t set;
	unsigned i;

	s->options = o;
	s->status = EX_OK;
	s->reading.fd = -1;
	s->generation = 1;
	for (i = 0; i < o->workers; i++) {
		s->slots[i].listen_fd = fds[i];
		s->slots[i].deaths = BACKOFF(0, RESTART_DELAY_NS,
		    RESTART_DELAY_MAX_NS);
	}
	signals_block(&set, true);
	if ((s->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		fatal(EX_OSERR, "signalfd");
	if ((s->exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) < 0)
		fatal(EX_OSERR, "cannot open /proc/self/exe to start the "
		    "workers: mount /proc");
	if ((s->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		fatal(EX_OSERR, "/dev/null");
	if (pipe2(s->ready, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal(EX_OSERR, "pipe");
	if ((s->packed = table_pack(members, NULL, NULL, &s->packed_len)) ==
	    NULL ||
	    (s->setup_fd = setup_publish(o, s->packed, s->packed_len)) < 0)
		fatalx(EX_OSERR, "cannot hand the table to the workers");
	s->members = members->count;
	s->table = members_hold(members);
	s->reloads = BACKOFF(RELOAD_SPACING_NS, RELOAD_SPACING_NS,
	    RELOAD_SPACING_MAX_NS);
	s->hidden_reloads = BACKOFF(NS_PER_SECOND, NS_PER_SECOND,
	    RESTART_DELAY_MAX_NS);
	homes_probes_init(&s->probes, s->table);
	s->userdb = userdb_watch_open();
	if (o->reread > 0)
		s->periodic_at = monotonic_ns() +
		    (int64_t)o->reread * NS_PER_SECOND;
	metrics_start(s);
	log_start_over();	/* -l: what fails from now on is syslog's */
}

/*
 * Runs the daemon until SIGTERM or SIGINT and the last worker's exit;
 * returns the exit status.  fds are the listening sockets, one a worker.
 */
int
supervise(const struct options *o, struct members *members, const int *fds)
{
	struct supervisor s = { 0 };

	supervisor_init(&s, o, members, fds);
	members_release(members);
	generation_start(&s);
	while (!s.stopping || workers_alive(&s) > 0) {
		wait_events(&s);
		reading_stalled(&s);
		rereads_due(&s);
		restarts_due(&s);
		metrics_due(&s);
		homes_due(&s);
		stop_overdue(&s);
	}
	ready_read(&s);		/* the lines the last workers lost */
	metrics_end(&s);
	log_end(LOG_EXIT_GRACE_NS);
	close(s.setup_fd);
	free(s.packed);
	userdb_watch_close(s.userdb);
	close(s.signal_fd);
	close(s.ready[0]);
	close(s.ready[1]);
	homes_probes_close(&s.probes);
	userdb_reading_stop(&s.reading);
	members_release(s.table);
	close(s.exe_fd);
	close(s.null_fd);
	free(s.workers);
	return s.status;
}
