/*
 * Plan watches: which plans are known unchanged without looking (and the
 * .project and .pgpkey of /W: each file of a reply is watched as a plan
 * is).  A watch is two inotify watches, on a member's ~/.plan and on the
 * home directory,
 * and the key (device, inode, size, mtime, ctime) the plan had once both
 * were in place.  Until an event touches either, the path still names that
 * very file, unchanged, with the same mode on it and on the directory: a
 * query for it looks its cached reply up with that key and makes no
 * system call at all.  Every event on a watched plan, and every event on
 * the home directory about that name or about the directory itself, drops the
 * watch; the next query goes the long way (statx) and may watch again.
 *
 * A watch is made in two steps, so that no file system call runs on the
 * loop: watches_arm() puts the inotify watches in place, then the client
 * asks the engine for a statx of the plan, and watches_confirm() takes
 * its key, unless an event came in between (the arm's number is then
 * gone).  A confirmed key is trusted for a second at most, then a statx
 * confirms it again: a change that raises no inotify event (a write
 * through a shared mapping, a mode changed on a directory above the home,
 * a mount over it) is seen within that second.
 *
 * The loop reads the inotify descriptor through its engine, handles the
 * events of a batch of completions before the rest of it and reads what
 * queued meanwhile (worker.c, reap), so an event queued before a query
 * arrived is handled before that query is.  Only where inotify sees every
 * change, which the supervisor works out when it reads the group
 * (mount_table_watchable, mounts.c): homes on the file systems of this
 * machine (not NFS, CIFS or FUSE, where another machine or a process may
 * write unseen), whose path has no symbolic link.  inotify_add_watch on such a
 * home is the one path lookup the loop makes itself.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fingerd.h"

#define BUCKET_BITS	8
#define BUCKETS		(1 << BUCKET_BITS)
#define WATCHES_MAX	4096
#define RETRY_NS	(10LL * NS_PER_SECOND)	/* after a failed arm */
#define TRUSTED_NS	NS_PER_SECOND		/* a key, unconfirmed */

#define PLAN_EVENTS	(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | \
			 IN_DELETE_SELF | IN_DONT_FOLLOW)
#define HOME_EVENTS	(IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			 IN_MOVED_TO | IN_MOVE_SELF | IN_DELETE_SELF | \
			 IN_DONT_FOLLOW | IN_ONLYDIR)
/* Events on the home directory that concern the directory itself. */
#define HOME_SELF	(IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | \
			 IN_IGNORED | IN_UNMOUNT)

/*
 * A plan armed (its inotify watches in place, its number arm), watched
 * once a key is confirmed; or one that could not be armed (wd -1): not
 * tried again before retry, so such a plan costs its queries a lookup
 * here and their statx, no more.
 */
struct watch {
	struct watch	*next;		/* in its bucket */
	int		 wd_plan;
	int		 wd_home;
	uint64_t	 arm;		/* 0: not armed */
	bool		 watching;	/* key is the plan's, as it is now */
	int64_t		 confirmed;	/* monotonic ns, when watching */
	int64_t		 retry;		/* monotonic ns, when not armed */
	struct plan_key	 key;
	char		 path[];	/* the home, then "/.plan" (or another) */
};

struct plan_watches {
	int		 fd;		/* inotify; -1: none, statx always */
	size_t		 count;
	uint64_t	 arms;		/* the last arm's number */
	struct watch	*buckets[BUCKETS];
};

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

/* One step of FxHash (rustc's): a word or a byte into h. */
static uint64_t
fx_step(uint64_t h, uint64_t v)
{
	return ((h << 5 | h >> 59) ^ v) * 0x517cc1b727220a95ULL;
}

/*
 * Every query hashes its plan's path: eight bytes a step, not one (a
 * fifth of the instructions for a path of 40 bytes), and the top bits
 * of the product, which every bit of the path reaches.
 */
static size_t
bucket(const char *path, size_t len)
{
	uint64_t h = 0, word;
	size_t i;

	for (i = 0; i + sizeof(word) <= len; i += sizeof(word)) {
		memcpy(&word, path + i, sizeof(word));
		h = fx_step(h, word);
	}
	for (; i < len; i++)
		h = fx_step(h, (unsigned char)path[i]);
	return (size_t)(h >> (64 - BUCKET_BITS));
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

/* Removes the inotify watches of e, unless another watch shares one. */
static void
unwatch(struct plan_watches *w, struct watch *e, bool check_shared)
{
	if (e->wd_plan >= 0 && !(check_shared && wd_shared(w, e, e->wd_plan)))
		inotify_rm_watch(w->fd, e->wd_plan);
	if (e->wd_home >= 0 && !(check_shared && wd_shared(w, e, e->wd_home)))
		inotify_rm_watch(w->fd, e->wd_home);
	e->wd_plan = e->wd_home = -1;
	e->arm = 0;
	e->watching = false;
}

/* Forgets a watch; shared inotify watches unchecked when every one goes. */
static void
drop(struct plan_watches *w, struct watch *e, bool check_shared)
{
	struct watch **p = &w->buckets[bucket(e->path, strlen(e->path))];

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	w->count--;
	unwatch(w, e, check_shared);
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

/* Forgets every watch, as if every plan had changed. */
void
watches_drop_all(struct plan_watches *w)
{
	size_t i;

	for (i = 0; i < BUCKETS; i++)
		while (w->buckets[i] != NULL)
			drop(w, w->buckets[i], false);
}

/*
 * The key of the plan at path when it is watched, unchanged, and was
 * confirmed less than a second before now (monotonic ns).
 */
bool
watches_key(const struct plan_watches *w, const char *path,
    struct plan_key *key, int64_t now)
{
	const struct watch *e;

	if (w == NULL || w->fd < 0 || (e = find(w, path)) == NULL ||
	    !e->watching || now - e->confirmed >= TRUSTED_NS)
		return false;
	*key = e->key;
	return true;
}

/*
 * Room for one more: when full, a file that could not be watched (one
 * missing, as a /W member's .project often is) gives its place up.
 */
static bool
watch_room(struct plan_watches *w)
{
	struct watch *e;
	size_t i;

	if (w->count < WATCHES_MAX)
		return true;
	for (i = 0; i < BUCKETS; i++)
		for (e = w->buckets[i]; e != NULL; e = e->next)
			if (e->arm == 0 && !e->watching) {
				drop(w, e, true);
				return true;
			}
	return false;
}

static struct watch *
watch_new(struct plan_watches *w, const char *path)
{
	size_t len = strlen(path);
	struct watch *e;

	if (!watch_room(w) || (e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return NULL;
	memcpy(e->path, path, len + 1);
	e->wd_plan = e->wd_home = -1;
	e->next = w->buckets[bucket(path, len)];
	w->buckets[bucket(path, len)] = e;
	w->count++;
	return e;
}

/*
 * Puts the inotify watches of the plan at path, in the directory home,
 * in place (the member's home being watchable); returns the number of the
 * arm, for watches_confirm(), or 0 when it is not watched (no inotify,
 * the watch limit, a home the account cannot read: not tried again for
 * RETRY_NS).  A plan already armed keeps its number.
 */
uint64_t
watches_arm(struct plan_watches *w, const char *home, const char *path,
    int64_t now)
{
	struct watch *e;

	if (w == NULL || w->fd < 0)
		return 0;
	if ((e = find(w, path)) == NULL && (e = watch_new(w, path)) == NULL)
		return 0;
	if (e->arm != 0)
		return e->arm;
	if (now < e->retry)
		return 0;
	if ((e->wd_plan = inotify_add_watch(w->fd, path, PLAN_EVENTS)) < 0 ||
	    (e->wd_home = inotify_add_watch(w->fd, home, HOME_EVENTS)) < 0) {
		unwatch(w, e, true);
		e->retry = now + RETRY_NS;
		return 0;
	}
	return e->arm = ++w->arms;
}

/*
 * A statx begun after the arm numbered arm found the plan at path with
 * key: it is watched with that key from now, unless an event touched it
 * since (then it is no longer armed, or armed anew).
 */
void
watches_confirm(struct plan_watches *w, const char *path, uint64_t arm,
    const struct plan_key *key, int64_t now)
{
	struct watch *e;

	if (w == NULL || arm == 0 || (e = find(w, path)) == NULL ||
	    e->arm != arm)
		return;
	e->key = *key;
	e->watching = true;
	e->confirmed = now;
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
			    strcmp(name, strrchr(e->path, '/') + 1) != 0)))
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
