/*
 * The user database, followed: the supervisor watches the files it is
 * read from through inotify, so that gpasswd, chfn, usermod or an edit
 * by hand is served within a moment, with no signal.  Each file's
 * directory is watched, not the file: the tools of the shadow suite and
 * vipw write a new file and rename it over the old one, which a watch on
 * the old file's inode would miss.  inotify needs read access to the
 * directory only, which /etc and /var/lib/extrausers give everyone, so
 * the -u account can watch them.  Sources that are not files (LDAP,
 * SSSD) are read again every -R seconds (supervisor.c).
 *
 * The supervisor reads the database through a child of its own
 * (userdb_reading_*), which sends what it finds on a pipe as it comes:
 * an NSS source that does not answer (an LDAP server, SSSD, a hung NFS
 * /etc) holds that child, never the supervisor, which says so once the
 * child has sent nothing for USERDB_STALL_NS, and goes on waiting.  The
 * start and -i read it the same way, and wait (userdb_reading_wait):
 * the start says why it does not serve yet, -i gives up at -t.
 */
#include <sys/inotify.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fingerd.h"

/* The files, and, for the tests, those nss_wrapper reads instead. */
static const char *const userdb_files[] = {
	"/etc/group", "/etc/passwd",
	"/var/lib/extrausers/group", "/var/lib/extrausers/passwd",
};
static const char *const userdb_environment[] = {
	"NSS_WRAPPER_GROUP", "NSS_WRAPPER_PASSWD",
};

#define USERDB_PATHS \
	(sizeof(userdb_files) / sizeof(userdb_files[0]) + \
	 sizeof(userdb_environment) / sizeof(userdb_environment[0]))
#define USERDB_EVENTS	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
			 IN_CREATE | IN_DELETE | IN_ATTRIB | IN_ONLYDIR)

struct userdb_path {
	char	 dir[PATH_MAX];
	char	 name[NAME_MAX + 1];
	int	 wd;		/* -1: its directory could not be watched */
};

struct userdb_watch {
	int			 fd;
	size_t			 count;
	struct userdb_path	 paths[USERDB_PATHS];
};

static void
path_add(struct userdb_watch *w, const char *path)
{
	struct userdb_path *p = &w->paths[w->count];
	const char *slash;

	if (path == NULL || path[0] != '/' ||
	    (slash = strrchr(path, '/')) == NULL || slash[1] == '\0' ||
	    strlen(path) >= sizeof(p->dir))
		return;
	snprintf(p->dir, sizeof(p->dir), "%.*s",
	    slash == path ? 1 : (int)(slash - path), path);
	snprintf(p->name, sizeof(p->name), "%s", slash + 1);
	p->wd = inotify_add_watch(w->fd, p->dir, USERDB_EVENTS);
	w->count++;
}

/*
 * Watches the directories of the user database's files, as this process
 * may; NULL when inotify cannot be had (then only -R and SIGHUP read it
 * again).  A directory that is not there is not watched.
 */
struct userdb_watch *
userdb_watch_open(void)
{
	struct userdb_watch *w;
	size_t i;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_warn("inotify: the user database is read again only "
		    "every -R seconds and on SIGHUP");
		free(w);
		return NULL;
	}
	for (i = 0; i < sizeof(userdb_files) / sizeof(userdb_files[0]); i++)
		path_add(w, userdb_files[i]);
	for (i = 0; i < sizeof(userdb_environment) /
	    sizeof(userdb_environment[0]); i++)
		path_add(w, getenv(userdb_environment[i]));
	return w;
}

int
userdb_watch_fd(const struct userdb_watch *w)
{
	return w != NULL ? w->fd : -1;
}

/* Whether the event names one of the files (or lost some). */
static bool
event_matters(const struct userdb_watch *w, const struct inotify_event *e)
{
	size_t i;

	if (e->mask & IN_Q_OVERFLOW)
		return true;
	for (i = 0; i < w->count; i++)
		if (w->paths[i].wd == e->wd && e->len > 0 &&
		    strcmp(w->paths[i].name, e->name) == 0)
			return true;
	return false;
}

/* Reads the events waiting; whether any touched a file of the database. */
bool
userdb_watch_changed(struct userdb_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	bool changed = false;
	ssize_t n;
	char *p;

	if (w == NULL)
		return false;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			changed |= event_matters(w, e);
		}
	return changed;
}

void
userdb_watch_close(struct userdb_watch *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	free(w);
}

/* ---------------------------------------- the database, read by a child */

/*
 * The child: the members of group, sent on fd as they come (members.c).
 * It dies with the supervisor and closes the listening sockets (n of
 * them) and the log, with /dev/null as 0, 1 and 2: one held by a file
 * system (a hung NFS /etc) must not keep a port or the log open after a
 * stop, and what an NSS module says on stderr is not a log line.
 * Nothing else is closed: an NSS module keeps descriptors of its own
 * across calls (nss_files' open database while it enumerates,
 * nss_wrapper's files, SSSD's socket), and one closed under it would
 * let the next file opened take its number (those are never 0 to 2,
 * which fingerd fills before its first lookup: descriptors_open).
 */
static void __attribute__((noreturn))
reader(pid_t parent, int fd, const char *group, const int *sockets,
    size_t n)
{
	FILE *out;
	size_t i;

	child_tied(parent);
	for (i = 0; i < n; i++)
		close(sockets[i]);
	/* Nor the log: it would not end while the child is held. */
	if (log_fd() > 2)
		close(log_fd());
	log_start_over();	/* -l: the admin's stderr, neither */
	if ((out = fdopen(fd, "w")) == NULL)
		_exit(1);
	_exit(members_send(out, group) ? 0 : 1);
}

/*
 * A reading of group begun, by a child that closes the n listening
 * sockets; false (errno set) when no child could be.
 */
bool
userdb_reading_start(struct userdb_reading *r, const char *group,
    const int *sockets, size_t n)
{
	pid_t parent = getpid();
	int pipes[2];

	if (pipe2(pipes, O_CLOEXEC) != 0)
		return false;
	if ((r->pid = fork()) == 0) {
		close(pipes[0]);
		reader(parent, pipes[1], group, sockets, n);
	}
	close(pipes[1]);
	if (r->pid < 0 || fcntl(pipes[0], F_SETFL, O_NONBLOCK) != 0) {
		if (r->pid > 0)
			kill(r->pid, SIGKILL);
		r->pid = 0;
		close(pipes[0]);
		return false;
	}
	r->fd = pipes[0];
	r->len = 0;
	r->heard = monotonic_ns();
	r->said = false;
	return true;
}

/*
 * The reading over: its pipe closed, its child killed (it has ended, or
 * is of no more use); it is reaped with the supervisor's other children.
 */
static void
reading_end(struct userdb_reading *r)
{
	kill(r->pid, SIGKILL);
	close(r->fd);
	r->fd = -1;
	r->pid = 0;
	free(r->text);
	r->text = NULL;
	r->len = r->size = 0;
}

/*
 * What came on the pipe: 0 while more may come; 1 at its end, with the
 * table in *t, or NULL and why in *why (valid until the next reading).
 */
int
userdb_reading_read(struct userdb_reading *r, struct members **t,
    const char **why)
{
	size_t size;
	ssize_t n;
	char *bigger;

	for (;;) {
		if (r->len == r->size) {
			size = r->size ? 2 * r->size : 65536;
			if ((bigger = realloc(r->text, size)) == NULL) {
				*t = NULL;
				*why = "out of memory";
				reading_end(r);
				return 1;
			}
			r->text = bigger;
			r->size = size;
		}
		n = read(r->fd, r->text + r->len, r->size - r->len);
		if (n > 0) {
			r->len += (size_t)n;
			r->heard = monotonic_ns();
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			break;
		} else if (errno == EAGAIN) {
			return 0;
		}
	}
	if ((*t = members_received(r->text, r->len, why)) == NULL) {
		snprintf(r->why, sizeof(r->why), "%s", *why);
		*why = r->why;
	}
	reading_end(r);
	return 1;
}

/* When the reading in flight will have been silent USERDB_STALL_NS. */
int64_t
userdb_reading_due(const struct userdb_reading *r)
{
	return r->fd >= 0 && !r->said ? r->heard + USERDB_STALL_NS : 0;
}

/*
 * Whether the reading in flight has just been silent USERDB_STALL_NS
 * (once a reading): it goes on, and the supervisor with it.
 */
bool
userdb_reading_stalled(struct userdb_reading *r)
{
	if (r->fd < 0 || r->said ||
	    monotonic_ns() < r->heard + USERDB_STALL_NS)
		return false;
	r->said = true;
	return true;
}

/* At a stop: the reading's child killed. */
void
userdb_reading_stop(struct userdb_reading *r)
{
	if (r->fd >= 0)
		reading_end(r);
}

/*
 * The group read by a child and waited for, where nothing else waits
 * (the start's reading, -i's): the table, or NULL and why.  A reading
 * silent USERDB_STALL_NS is said once, when the caller says what waits
 * meanwhile (waiting), and waited for; one not ended by deadline
 * (monotonic ns; 0: none) is given up, why USERDB_UNANSWERED, as is one
 * while stop_fd (-1: none) is readable, why USERDB_STOPPED.  The child
 * is killed, and left to be reaped.
 */
struct members *
userdb_reading_wait(const char *group, const int *sockets, size_t n,
    int64_t deadline, int stop_fd, const char *waiting, const char **why)
{
	static struct userdb_reading r;
	struct pollfd p[2];
	struct members *t;
	int64_t due;

	r = (struct userdb_reading){ .fd = -1 };
	if (!userdb_reading_start(&r, group, sockets, n)) {
		snprintf(r.why, sizeof(r.why), "cannot start a process to "
		    "read it: %s", strerror(errno));
		*why = r.why;
		return NULL;
	}
	for (;;) {
		if ((due = userdb_reading_due(&r)) == 0 || waiting == NULL ||
		    (deadline != 0 && deadline < due))
			due = deadline;
		p[0] = (struct pollfd){ .fd = r.fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		(void)poll(p, 2, poll_ms(due));
		if (userdb_reading_read(&r, &t, why) == 1)
			return t;
		if (p[1].revents != 0 ||
		    (deadline != 0 && monotonic_ns() >= deadline)) {
			userdb_reading_stop(&r);
			*why = p[1].revents != 0 ? USERDB_STOPPED :
			    USERDB_UNANSWERED;
			return NULL;
		}
		if (waiting != NULL && userdb_reading_stalled(&r))
			log_warnx("group %s: the user database has not "
			    "answered in %d s; %s until it does", group,
			    (int)(USERDB_STALL_NS / NS_PER_SECOND), waiting);
	}
}
