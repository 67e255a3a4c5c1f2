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
 */
#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
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
