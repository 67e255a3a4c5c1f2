/*
 * Plan watches: which plans are known unchanged without looking.  A watch
 * is two inotify watches, on a member's ~/.plan and on the home directory,
 * and the key (device, inode, size, mtime, ctime) the plan had once both
 * were in place.  Until an event touches either, the path still names that
 * very file, unchanged, with the same mode on it and on the directory: a
 * query for it looks its cached reply up with that key and makes no
 * system call at all.  Every event on a watched plan, and every event on
 * the home directory about .plan or about the directory itself, drops the
 * watch; the next query goes the long way (statx) and may watch again.
 *
 * The loop reads the inotify descriptor through its ring, handles the
 * events of a batch of completions before the rest of it and reads what
 * queued meanwhile (fingerd.c, reap), so an event queued before a query
 * arrived is handled before that query is.  Only where inotify sees every
 * change: on local file systems (not NFS, CIFS or FUSE, where another
 * machine may write), on homes whose path has no symbolic link and that
 * the account may read (a 0711 home is still served, with a statx each
 * time).  Not seen: a change of mode on a directory above the home, or a
 * mount over it; SIGHUP drops every watch.
 */
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fingerd.h"

#define BUCKETS		256	/* a power of two */
#define WATCHES_MAX	4096
#define RETRY_SECONDS	10	/* before trying a plan that failed again */

#define PLAN_EVENTS	(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | \
			 IN_DELETE_SELF | IN_DONT_FOLLOW)
#define HOME_EVENTS	(IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			 IN_MOVED_TO | IN_MOVE_SELF | IN_DELETE_SELF | \
			 IN_DONT_FOLLOW | IN_ONLYDIR)
/* Events on the home directory that concern the directory itself. */
#define HOME_SELF	(IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | \
			 IN_IGNORED | IN_UNMOUNT)

/*
 * A watched plan, or one that could not be watched (no inotify watches,
 * wd -1): then not tried again before retry, so such a plan costs its
 * queries a lookup here and their statx, no more.
 */
struct watch {
	struct watch	*next;		/* in its bucket */
	int		 wd_plan;
	int		 wd_home;
	bool		 watching;	/* key is the plan's, as it is now */
	int64_t		 retry;		/* monotonic seconds, when not */
	struct plan_key	 key;
	char		 path[];	/* the home, then "/.plan" */
};

struct plan_watches {
	int		 fd;		/* inotify; -1: none, statx always */
	size_t		 count;
	struct watch	*buckets[BUCKETS];
};

/* Where inotify sees every change: file systems of this machine only. */
static bool
local_file_system(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) != 0)
		return false;
	switch ((unsigned long)sfs.f_type) {
	case EXT4_SUPER_MAGIC:		/* also ext2 and ext3 */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
	case F2FS_SUPER_MAGIC:
	case 0x2fc12fc1:		/* ZFS */
		return true;
	default:
		return false;
	}
}

struct plan_watches *
watches_new(void)
{
	struct plan_watches *w = calloc(1, sizeof(*w));

	if (w != NULL)
		w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return w;
}

int
watches_fd(const struct plan_watches *w)
{
	return w->fd;
}

static size_t
bucket(const char *path, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)path[i]) * 0x100000001b3ULL;
	return (size_t)(h >> 32) & (BUCKETS - 1);
}

static struct watch *
find(const struct plan_watches *w, const char *path)
{
	struct watch *e = w->buckets[bucket(path, strlen(path))];

	while (e != NULL && strcmp(e->path, path) != 0)
		e = e->next;
	return e;
}

/* Whether another watch shares this inotify watch (a shared home). */
static bool
wd_shared(const struct plan_watches *w, const struct watch *self, int wd)
{
	const struct watch *e;
	size_t i;

	for (i = 0; i < BUCKETS; i++)
		for (e = w->buckets[i]; e != NULL; e = e->next)
			if (e != self && (e->wd_plan == wd || e->wd_home == wd))
				return true;
	return false;
}

/*
 * Forgets a watch and removes its inotify watches, unless another watch
 * shares one; shared unchecked, when every watch goes.
 */
static void
drop(struct plan_watches *w, struct watch *e, bool check_shared)
{
	struct watch **p = &w->buckets[bucket(e->path, strlen(e->path))];

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	w->count--;
	if (e->wd_plan >= 0 && !(check_shared && wd_shared(w, e, e->wd_plan)))
		inotify_rm_watch(w->fd, e->wd_plan);
	if (e->wd_home >= 0 && !(check_shared && wd_shared(w, e, e->wd_home)))
		inotify_rm_watch(w->fd, e->wd_home);
	free(e);
}

void
watches_free(struct plan_watches *w)
{
	if (w == NULL)
		return;
	watches_drop_all(w);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

/* Forgets every watch, as if every plan had changed (SIGHUP). */
void
watches_drop_all(struct plan_watches *w)
{
	size_t i;

	for (i = 0; i < BUCKETS; i++)
		while (w->buckets[i] != NULL)
			drop(w, w->buckets[i], false);
}

/* The key of the plan at path when it is watched and unchanged. */
bool
watches_key(const struct plan_watches *w, const char *path,
    struct plan_key *key)
{
	const struct watch *e;

	if (w == NULL || w->fd < 0 || (e = find(w, path)) == NULL ||
	    !e->watching)
		return false;
	*key = e->key;
	return true;
}

/*
 * The key of the plan at path (from the directory fd, or the file fd
 * itself when path is "") as it is now, without following a symbolic
 * link; false when it is not a regular file.
 */
bool
plan_stat(int fd, const char *path, struct plan_key *key)
{
	struct statx stx;
	int flags = AT_SYMLINK_NOFOLLOW | (path[0] == '\0' ? AT_EMPTY_PATH : 0);

	if (statx(fd, path, flags, STATX_BASIC_STATS, &stx) != 0 ||
	    !S_ISREG(stx.stx_mode))
		return false;
	plan_key_from_statx(key, &stx);
	return true;
}

/* Removes the inotify watches of a watch that failed to be set up. */
static void
unwatch(struct plan_watches *w, struct watch *e)
{
	if (e->wd_plan >= 0 && !wd_shared(w, e, e->wd_plan))
		inotify_rm_watch(w->fd, e->wd_plan);
	if (e->wd_home >= 0 && !wd_shared(w, e, e->wd_home))
		inotify_rm_watch(w->fd, e->wd_home);
	e->wd_plan = e->wd_home = -1;
}

/*
 * Watches the plan at path, in the directory home, which had key when it
 * was just looked at.  Both inotify watches go in first, then the plan is
 * looked at once more: a change before that is seen there, any after it
 * makes an event.  Where a watch would miss changes, or cannot be had
 * (a home the account cannot read, the watch limit), remembers not to
 * try again for RETRY_SECONDS.
 */
void
watches_add(struct plan_watches *w, const char *home, const char *path,
    const struct plan_key *key)
{
	char real[PATH_MAX];
	struct plan_key now;
	struct watch *e;
	size_t len = strlen(path);

	if (w == NULL || w->fd < 0)
		return;
	if ((e = find(w, path)) != NULL) {
		if (e->watching || monotonic_ns() / NS_PER_SECOND < e->retry)
			return;
	} else {
		if (w->count >= WATCHES_MAX ||
		    (e = malloc(sizeof(*e) + len + 1)) == NULL)
			return;
		memcpy(e->path, path, len + 1);
		e->wd_plan = e->wd_home = -1;
		e->next = w->buckets[bucket(path, len)];
		w->buckets[bucket(path, len)] = e;
		w->count++;
	}
	e->watching = false;
	e->retry = monotonic_ns() / NS_PER_SECOND + RETRY_SECONDS;
	if (!local_file_system(path) || realpath(home, real) == NULL ||
	    strcmp(real, home) != 0)
		return;
	if ((e->wd_plan = inotify_add_watch(w->fd, path, PLAN_EVENTS)) < 0 ||
	    (e->wd_home = inotify_add_watch(w->fd, home, HOME_EVENTS)) < 0) {
		unwatch(w, e);
		return;
	}
	if (!plan_stat(AT_FDCWD, path, &now) || !plan_key_equal(&now, key)) {
		unwatch(w, e);
		e->retry = 0;	/* it changed: the next query tries again */
		return;
	}
	e->key = *key;
	e->watching = true;
}

/* Drops the watches an event touches. */
static void
event(struct plan_watches *w, uint32_t mask, int wd, const char *name)
{
	struct watch *e, *next;
	size_t i;

	for (i = 0; i < BUCKETS; i++)
		for (e = w->buckets[i]; e != NULL; e = next) {
			next = e->next;
			if (!(mask & IN_Q_OVERFLOW) && wd != e->wd_plan &&
			    (wd != e->wd_home || (!(mask & HOME_SELF) &&
			    strcmp(name, ".plan") != 0)))
				continue;
			if (mask & IN_IGNORED) {	/* that one is gone */
				if (e->wd_plan == wd)
					e->wd_plan = -1;
				if (e->wd_home == wd)
					e->wd_home = -1;
			}
			drop(w, e, true);
		}
}

/* The len bytes of events read from the inotify descriptor. */
void
watches_events(struct plan_watches *w, const void *buf, size_t len)
{
	const char *p = buf, *end = p + len;
	struct inotify_event ev;
	char name[NAME_MAX + 1];

	while ((size_t)(end - p) >= sizeof(ev)) {
		memcpy(&ev, p, sizeof(ev));
		if (ev.len > (size_t)(end - p) - sizeof(ev))
			break;
		/* The name follows, NUL padded to ev.len bytes. */
		name[0] = '\0';
		if (ev.len > 0 && ev.len <= sizeof(name)) {
			memcpy(name, p + sizeof(ev), ev.len);
			name[ev.len - 1] = '\0';
		}
		event(w, ev.mask, ev.wd, name);
		p += sizeof(ev) + ev.len;
	}
}

/* Reading the events failed: no more watches, statx on every query. */
void
watches_disable(struct plan_watches *w)
{
	watches_drop_all(w);
	close(w->fd);
	w->fd = -1;
}
