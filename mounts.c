/*
 * The mount table: which file system holds each home, read from
 * /proc/self/mountinfo's text without touching the homes' file systems
 * (an NFS server that hangs would hold the caller).  The supervisor's
 * survey (homes.c) asks it which homes inotify can watch (those on this
 * machine's file systems, through no symbolic link) and which homes share
 * a mount (for the turns, turns.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fingerd.h"

/* The file systems where inotify sees every change: this machine's. */
static bool
local_type(const char *type)
{
	static const char *const local[] = {
		"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "zfs",
		NULL
	};
	size_t i;

	for (i = 0; local[i] != NULL; i++)
		if (strcmp(type, local[i]) == 0)
			return true;
	return false;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void
unescape(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++)
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
			    (s[3] - '0'));
			s += 3;
		} else
			*out++ = *s;
	*out = '\0';
}

/*
 * The mount table, parsed once for all the homes of a group: each mount
 * point, sorted, and of the mounts at one point the newest (the one on
 * top, later in mountinfo) last.
 */
struct mount_point {
	const char	*point;		/* unescaped, in the table's text */
	size_t		 len;
	const char	*type;
	unsigned long	 id;
	size_t		 order;		/* the line's */
};

struct mount_table {
	char			*text;	/* a copy of mountinfo */
	struct mount_point	*v;
	size_t			 count;
};

static int
mount_point_compare(const void *a, const void *b)
{
	const struct mount_point *x = a, *y = b;
	int c = strcmp(x->point, y->point);

	if (c != 0)
		return c;
	return (x->order > y->order) - (x->order < y->order);
}

/* The table of mountinfo (the text of /proc/self/mountinfo), or NULL. */
struct mount_table *
mount_table_parse(const char *mountinfo)
{
	struct mount_table *t;
	struct mount_point *m;
	char *line, *next, *point, *dash, *type;
	size_t lines = 1, n;
	const char *p;

	if (mountinfo == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	for (p = mountinfo; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	if ((t->text = strdup(mountinfo)) == NULL ||
	    (t->v = calloc(lines, sizeof(*t->v))) == NULL) {
		mount_table_free(t);
		return NULL;
	}
	for (line = t->text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* id parent major:minor root point options... - type ... */
		point = line;
		for (n = 0; n < 4 && point != NULL; n++)
			if ((point = strchr(point, ' ')) != NULL)
				point++;
		if (point == NULL || (dash = strstr(point, " - ")) == NULL)
			continue;
		type = dash + 3;
		type[strcspn(type, " ")] = '\0';
		point[strcspn(point, " ")] = '\0';
		unescape(point);
		m = &t->v[t->count];
		if (sscanf(line, "%lu", &m->id) != 1 || *type == '\0' ||
		    *point != '/')
			continue;
		m->point = point;
		m->len = strlen(point);
		m->type = type;
		m->order = t->count++;
	}
	qsort(t->v, t->count, sizeof(*t->v), mount_point_compare);
	return t;
}

void
mount_table_free(struct mount_table *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t->text);
	free(t);
}

/* The mount on top at the point path[0..len), or NULL. */
static const struct mount_point *
mount_at(const struct mount_table *t, const char *path, size_t len)
{
	size_t low = 0, high = t->count, mid;
	const struct mount_point *m;
	int c;

	/* The first entry after every one at or before path[0..len). */
	while (low < high) {
		mid = low + (high - low) / 2;
		m = &t->v[mid];
		c = strncmp(path, m->point, len);
		if (c == 0 && m->len > len)
			c = -1;
		if (c >= 0)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == 0)
		return NULL;
	m = &t->v[low - 1];
	return m->len == len && strncmp(path, m->point, len) == 0 ? m : NULL;
}

/*
 * The type of the file system path is on, by the longest mount point
 * that holds it, into type, and that mount's ID into *id (unless NULL);
 * false when none does.  Reads no file system: a lookup for each of
 * path's directories, longest first.
 */
bool
mount_table_type(const struct mount_table *t, const char *path,
    char *type, size_t size, unsigned long *id)
{
	const struct mount_point *m;
	size_t len = strlen(path);

	if (t == NULL || path[0] != '/')
		return false;
	for (;;) {
		if ((m = mount_at(t, path, len == 0 ? 1 : len)) != NULL) {
			snprintf(type, size, "%s", m->type);
			if (id != NULL)
				*id = m->id;
			return true;
		}
		if (len == 0)
			return false;
		while (len > 0 && path[--len] != '/')
			continue;
	}
}

/* Appends the name of len bytes to the path of *len bytes in real. */
static bool
path_append(char *real, size_t size, size_t *len, const char *name,
    size_t name_len)
{
	if (*len + 1 + name_len >= size)
		return false;
	real[*len] = '/';
	memcpy(real + *len + 1, name, name_len);
	*len += 1 + name_len;
	real[*len] = '\0';
	return true;
}

/*
 * The link at real read in place of its name: rest becomes its target
 * followed by what came after the name (after).
 */
static bool
link_follow(const char *real, char *rest, size_t size, const char *after)
{
	char target[PATH_MAX], joined[PATH_MAX];
	ssize_t n;

	if ((n = readlink(real, target, sizeof(target) - 1)) <= 0)
		return false;
	target[n] = '\0';
	if ((size_t)snprintf(joined, sizeof(joined), "%s%s", target,
	    after) >= sizeof(joined) || strlen(joined) >= size)
		return false;
	memcpy(rest, joined, strlen(joined) + 1);
	return true;
}

/*
 * The path home leads to, into real, as realpath(3) finds it, but
 * looking only at the file systems of this machine: each component's
 * mount is known from t before it is looked at (lstat, readlink), and
 * the walk stops, false, where it would enter one that is not (an NFS
 * server that hangs would hold the caller), or at a component that is
 * not there.  *id is the mount of the last component reached.
 */
static bool
resolve_local(const struct mount_table *t, const char *home, char *real,
    size_t size, unsigned long *id)
{
	char rest[PATH_MAX], type[64], *name, *after;
	size_t len = 0, name_len;
	unsigned links = 0;
	struct stat st;

	if ((size_t)snprintf(rest, sizeof(rest), "%s", home) >= sizeof(rest))
		return false;
	real[0] = '\0';
	for (name = rest; *(name += strspn(name, "/")) != '\0'; name = after) {
		after = name + (name_len = strcspn(name, "/"));
		if (name_len == 1 && name[0] == '.')
			continue;
		if (name_len == 2 && name[0] == '.' && name[1] == '.') {
			while (len > 0 && real[--len] != '/')
				continue;
			real[len] = '\0';
			continue;
		}
		if (!path_append(real, size, &len, name, name_len) ||
		    !mount_table_type(t, real, type, sizeof(type), id) ||
		    !local_type(type) || lstat(real, &st) != 0)
			return false;
		if (!S_ISLNK(st.st_mode))
			continue;
		if (++links > 40 || !link_follow(real, rest, sizeof(rest),
		    after))
			return false;
		if (rest[0] == '/')
			len = 0;
		else
			while (len > 0 && real[--len] != '/')
				continue;
		real[len] = '\0';
		after = rest;
	}
	if (len == 0)
		snprintf(real, size, "/");
	return mount_table_type(t, real, type, sizeof(type), id);
}

/*
 * Whether inotify sees every change to the plan in home: a home on a file
 * system of this machine (the mount table t says which, without touching
 * the file system of the home), and a path with no symbolic link, which
 * could come to name another directory with no event.  And into *mount
 * (unless NULL) the ID of the mount the home is on, 0 when not known:
 * by its path, or, where that is on this machine and has a link, by the
 * path it leads to, as far as that stays on this machine (resolve_local:
 * a path on NFS is never looked at, even through a link, as a server that
 * hangs would hold the supervisor).  For the supervisor, when it reads
 * the group.
 */
bool
mount_table_watchable(const struct mount_table *t, const char *home,
    unsigned long *mount)
{
	char type[64], real[PATH_MAX];
	unsigned long id = 0, real_id;
	bool watchable = false;

	if (mount_table_type(t, home, type, sizeof(type), &id) &&
	    local_type(type)) {
		real_id = id;
		if (resolve_local(t, home, real, sizeof(real), &real_id))
			watchable = strcmp(real, home) == 0;
		id = real_id;
	}
	if (mount != NULL)
		*mount = id;
	return watchable;
}
