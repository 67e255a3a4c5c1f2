/*
 * watches.c: a plan stays watched (its key known without a statx) until
 * something changes it, replaces it or its home, and not a moment longer,
 * nor more than a second without a statx to confirm it; an event between
 * the arm and the statx's answer is not missed; only homes where inotify
 * sees every change are watchable, as the mount table says.
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

#include <criterion/criterion.h>

#include "fingerd.h"

static char dir[] = "/tmp/fingerd-watches.XXXXXX";
static char home[PATH_MAX - 16], plan[PATH_MAX];
static struct plan_watches *w;

static void
write_plan(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(home, sizeof(home), "%s/alice", dir);
	snprintf(plan, sizeof(plan), "%s/.plan", home);
	cr_assert_eq(mkdir(home, 0755), 0);
	write_plan(plan, "Down the rabbit hole.\n");
	w = watches_new();
	cr_assert_not_null(w);
	cr_assert_geq(watches_fd(w), 0, "no inotify: %s", strerror(errno));
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	watches_free(w);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(watches, .init = setup, .fini = teardown);

/* What the loop does: every event queued so far, handled. */
static void
events(void)
{
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(watches_fd(w), buf, sizeof(buf))) > 0)
		watches_events(w, buf, (size_t)n);
	cr_assert(n < 0 && errno == EAGAIN, "reading events: %s",
	    strerror(errno));
}

/* The plan's key as a statx gives it (the engine's, in the daemon). */
static void
stat_key(const char *path, struct plan_key *key)
{
	struct statx stx;

	cr_assert_eq(statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW,
	    STATX_BASIC_STATS, &stx), 0, "%s: %s", path, strerror(errno));
	plan_key_from_statx(key, &stx);
}

/* Watches alice's plan as a client does: arm, statx, confirm. */
static void
watch(void)
{
	struct plan_key key, known;
	uint64_t arm = watches_arm(w, home, plan, monotonic_ns());

	cr_assert_neq(arm, 0, "not armed");
	stat_key(plan, &key);
	watches_confirm(w, plan, arm, &key, monotonic_ns());
	cr_assert(watches_key(w, plan, &known, monotonic_ns()),
	    "not watched");
	cr_assert_eq(memcmp(&known, &key, sizeof(key)), 0);
}

static bool
watched(void)
{
	struct plan_key key;

	events();
	return watches_key(w, plan, &key, monotonic_ns());
}

Test(watches, kept_while_nothing_changes)
{
	char other[PATH_MAX + 16];

	watch();
	cr_assert(watched());
	/* Reading it, and other files in the home, change nothing. */
	cr_assert_eq(access(plan, R_OK), 0);
	snprintf(other, sizeof(other), "%s/.profile", home);
	write_plan(other, "PATH=/bin\n");
	cr_assert_eq(unlink(other), 0);
	cr_assert(watched());
}

/*
 * A key is trusted for a second, then a statx must confirm it again: a
 * write through a shared mapping raises no inotify event.
 */
Test(watches, trusted_for_a_second_at_most)
{
	struct plan_key key;
	int64_t now = monotonic_ns();
	uint64_t arm;

	watch();
	cr_assert(watches_key(w, plan, &key, now + NS_PER_SECOND / 2));
	cr_assert_not(watches_key(w, plan, &key, now + 2 * NS_PER_SECOND));
	arm = watches_arm(w, home, plan, now);	/* still armed: the same */
	watches_confirm(w, plan, arm, &key, now + 2 * NS_PER_SECOND);
	cr_assert(watches_key(w, plan, &key, now + 2 * NS_PER_SECOND));
}

Test(watches, dropped_when_written)
{
	int fd;

	watch();
	cr_assert((fd = open(plan, O_WRONLY)) >= 0);
	cr_assert_eq(pwrite(fd, "T", 1, 0), 1);
	close(fd);
	cr_assert_not(watched());
}

Test(watches, dropped_when_replaced)
{
	char tmp[PATH_MAX + 16];

	watch();
	snprintf(tmp, sizeof(tmp), "%s/.plan.new", home);
	write_plan(tmp, "Curiouser and curiouser!\n");
	cr_assert(watched(), "a new file alone changes nothing");
	cr_assert_eq(rename(tmp, plan), 0);
	cr_assert_not(watched());
}

Test(watches, dropped_when_removed_or_made_a_link)
{
	watch();
	cr_assert_eq(unlink(plan), 0);
	cr_assert_eq(symlink("/etc/shadow", plan), 0);
	cr_assert_not(watched());
}

/* Watched, then path renamed to name in the directory to: dropped. */
static void
dropped_when_renamed(const char *path, const char *to, const char *name)
{
	char moved[PATH_MAX + 16];

	watch();
	snprintf(moved, sizeof(moved), "%s/%s", to, name);
	cr_assert_eq(rename(path, moved), 0);
	cr_assert_not(watched());
}

/* Watched, then path made mode: dropped. */
static void
dropped_when_made(const char *path, mode_t mode)
{
	watch();
	cr_assert_eq(chmod(path, mode), 0);
	cr_assert_not(watched());
}

Test(watches, dropped_when_moved_away)
{
	dropped_when_renamed(plan, home, "plan.old");
}

Test(watches, dropped_when_made_private)
{
	dropped_when_made(plan, 0600);
}

Test(watches, dropped_when_the_home_is_closed)
{
	dropped_when_made(home, 0700);
}

Test(watches, dropped_when_the_home_is_moved)
{
	dropped_when_renamed(home, dir, "alice.old");
}

/*
 * A change between the arm and the statx's answer is not missed: the
 * answer confirms nothing, and the next query may watch it as it is.
 */
Test(watches, not_watched_when_changed_between_arm_and_statx)
{
	struct plan_key key;
	uint64_t arm = watches_arm(w, home, plan, monotonic_ns());

	cr_assert_neq(arm, 0);
	stat_key(plan, &key);
	write_plan(plan, "Changed in between.\n");
	events();		/* handled before the statx's completion */
	watches_confirm(w, plan, arm, &key, monotonic_ns());
	cr_assert_not(watched());
	watch();	/* the next query watches it: no wait to retry */
	cr_assert(watched());
}

Test(watches, dropped_on_overflow_and_when_disabled)
{
	struct inotify_event overflow = { .wd = -1, .mask = IN_Q_OVERFLOW };
	struct plan_key key;

	watch();
	watches_events(w, &overflow, sizeof(overflow));
	cr_assert_not(watches_key(w, plan, &key, monotonic_ns()));
	watch();
	watches_drop_all(w);
	cr_assert_not(watches_key(w, plan, &key, monotonic_ns()));
	watch();
	watches_disable(w);
	cr_assert_not(watches_key(w, plan, &key, monotonic_ns()));
	cr_assert_eq(watches_arm(w, home, plan, monotonic_ns()), 0,
	    "armed once disabled");
}

/* A plan that could not be armed is not tried on every query. */
Test(watches, not_retried_at_once)
{
	char bob[PATH_MAX + 16], bob_plan[PATH_MAX + 32];
	int64_t now = monotonic_ns();

	snprintf(bob, sizeof(bob), "%s/bob", dir);
	snprintf(bob_plan, sizeof(bob_plan), "%s/.plan", bob);
	/* No such home yet: the arm fails. */
	cr_assert_eq(watches_arm(w, bob, bob_plan, now), 0);
	cr_assert_eq(mkdir(bob, 0755), 0);
	write_plan(bob_plan, "Can we fix it?\n");
	cr_assert_eq(watches_arm(w, bob, bob_plan, now + NS_PER_SECOND), 0,
	    "tried again at once");
	cr_assert_neq(watches_arm(w, bob, bob_plan, now + 11 * NS_PER_SECOND),
	    0, "not tried again after ten seconds");
}

static const char mountinfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "23 22 0:21 / /proc rw - proc proc rw\n"
    "24 22 0:5 / /home rw - nfs4 server:/home rw\n"
    "25 24 0:30 / /home/local\\040disk rw - xfs /dev/sdb1 rw\n"
    "26 22 0:31 / /srv/fuse rw - fuse.slowfs slowfs rw\n"
    "27 22 0:32 / /tmp rw - tmpfs tmpfs rw\n";

/* The longest mount point that holds a path names its file system. */
Test(watches, the_mount_table_says_the_file_system)
{
	struct mount_table *t = mount_table_parse(mountinfo);
	char type[64];

	cr_assert_not_null(t);
	cr_assert(mount_table_type(t, "/home/alice", type, sizeof(type),
	    NULL));
	cr_assert_str_eq(type, "nfs4");
	cr_assert(mount_table_type(t, "/home/local disk/bob", type,
	    sizeof(type), NULL));
	cr_assert_str_eq(type, "xfs", "an escaped space in a mount point");
	cr_assert(mount_table_type(t, "/homer", type, sizeof(type), NULL));
	cr_assert_str_eq(type, "ext4", "/homer is not beneath /home");
	cr_assert(mount_table_type(t, "/home/local", type, sizeof(type),
	    NULL));
	cr_assert_str_eq(type, "nfs4", "/home/local is not /home/local disk");
	cr_assert(mount_table_type(t, "/srv/fuse/carol", type,
	    sizeof(type), NULL));
	cr_assert_str_eq(type, "fuse.slowfs");
	cr_assert(mount_table_type(t, "/srv/fuse/", type, sizeof(type),
	    NULL));
	cr_assert_str_eq(type, "fuse.slowfs", "a point with a slash after");
	cr_assert(mount_table_type(t, "/", type, sizeof(type), NULL));
	cr_assert_str_eq(type, "ext4");
	cr_assert_not(mount_table_type(t, "home/alice", type, sizeof(type),
	    NULL), "a relative path");
	cr_assert_not(mount_table_type(NULL, "/", type, sizeof(type),
	    NULL), "no table");
	mount_table_free(t);
}

/*
 * path is on mount id, of the file system type (NULL: not looked at).
 */
static void
expect_mount(const struct mount_table *t, const char *path,
    unsigned long want_id, const char *want_type)
{
	unsigned long id = 0;
	char type[64];

	cr_assert(mount_table_type(t, path, type, sizeof(type), &id),
	    "%s on no mount", path);
	cr_assert_eq(id, want_id, "%s on %lu, not %lu", path, id, want_id);
	if (want_type != NULL)
		cr_assert_str_eq(type, want_type, "%s", path);
}

/* And its mount's ID, the first field: what the homes on it share. */
Test(watches, the_mount_table_says_the_mount)
{
	struct mount_table *t = mount_table_parse(mountinfo);

	expect_mount(t, "/home/alice", 24, NULL);
	expect_mount(t, "/home/local disk/bob", 25, NULL);
	expect_mount(t, "/srv/fuse/carol/x", 26, NULL);
	mount_table_free(t);
}

/*
 * Mounts on one point: the later line is on top.  Lines that are not
 * mounts (no " - ", a point that is not a path) are passed over.
 */
Test(watches, the_mount_on_top_is_the_last)
{
	static const char table[] =
	    "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
	    "40 22 0:40 / /home rw - nfs4 old:/home rw\n"
	    "not a mount line\n"
	    "41 22 0:41 / nowhere rw - ext4 /dev/sdc rw\n"
	    "42 40 0:42 / /home rw - tmpfs tmpfs rw\n"
	    "43 22 0:43 / /home2 rw - xfs /dev/sdd rw";
	struct mount_table *t = mount_table_parse(table);

	expect_mount(t, "/home/alice", 42, "tmpfs");
	expect_mount(t, "/home2/bob", 43, NULL);	/* the last line, no LF */
	expect_mount(t, "/nowhere/x", 22, NULL);
	mount_table_free(t);
}

/*
 * An automounter's table: 2,000 homes each a mount, beside and beneath
 * one another, listed in no order.  Each home and each path in one is
 * on its own mount; a name that is a prefix of another's is not on it.
 */
Test(watches, a_table_of_two_thousand_mounts)
{
	enum { HOMES = 2000 };
	size_t size = HOMES * 96 + 128, len = 0, i, j;
	char *table = malloc(size), path[96];
	struct mount_table *t;

	cr_assert_not_null(table);
	len += (size_t)snprintf(table + len, size - len,
	    "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
	    "2 1 0:2 / /home rw - autofs auto.home rw\n");
	for (i = 0; i < HOMES; i++) {
		j = (i * 7919) % HOMES;		/* out of order */
		len += (size_t)snprintf(table + len, size - len,
		    "%zu 2 0:%zu / /home/u%zu rw - nfs4 s:/home/u%zu rw\n",
		    100 + j, 100 + j, j, j);
	}
	t = mount_table_parse(table);
	cr_assert_not_null(t);
	for (i = 0; i < HOMES; i++) {
		snprintf(path, sizeof(path), "/home/u%zu", i);
		expect_mount(t, path, 100 + i, NULL);
		snprintf(path, sizeof(path), "/home/u%zu/.plan", i);
		expect_mount(t, path, 100 + i, NULL);
	}
	/* On /home, not /home/u1999. */
	expect_mount(t, "/home/u19990", 2, "autofs");
	mount_table_free(t);
	free(table);
}

/*
 * Watchable: a home on a file system of this machine, whose path has no
 * symbolic link.  Not NFS, not FUSE, not a path through a link.
 */
Test(watches, which_homes_are_watchable)
{
	char link_home[PATH_MAX + 16], real[PATH_MAX], type[64];
	unsigned long mount = 0, proc = 0;

	struct mount_table *t = mount_table_parse(mountinfo), *here;

	cr_assert_not(mount_table_watchable(t, "/home/alice", NULL));
	cr_assert_not(mount_table_watchable(t, "/srv/fuse/carol", NULL));
	cr_assert_not(mount_table_watchable(NULL, "/tmp", NULL));
	mount_table_free(t);
	/* This machine's own table, and the fixture's real home. */
	cr_assert_not_null(realpath(home, real));
	snprintf(link_home, sizeof(link_home), "%s/alias", dir);
	cr_assert_eq(symlink(home, link_home), 0);
	if (strcmp(real, home) == 0) {
		FILE *f = fopen("/proc/self/mountinfo", "r");
		char table[65536];
		size_t n;

		cr_assert_not_null(f);
		n = fread(table, 1, sizeof(table) - 1, f);
		table[n] = '\0';
		fclose(f);
		cr_assert_not_null(here = mount_table_parse(table));
		cr_assert(mount_table_watchable(here, home, NULL),
		    "%s is not watchable", home);
		cr_assert_not(mount_table_watchable(here, link_home, NULL),
		    "a home through a symbolic link is watchable");
		cr_assert_not(mount_table_watchable(here, "/sys/kernel",
		    NULL), "sysfs is watchable");
		/* A link to /proc: the mount is the one it leads to. */
		snprintf(link_home, sizeof(link_home), "%s/proc", dir);
		cr_assert_eq(symlink("/proc", link_home), 0);
		cr_assert(mount_table_type(here, "/proc", type,
		    sizeof(type), &proc));
		cr_assert_not(mount_table_watchable(here, link_home,
		    &mount));
		cr_assert_eq(mount, proc, "a home through a link: mount %lu, "
		    "where it leads %lu", mount, proc);
		mount_table_free(here);
	}
}

/*
 * Files that cannot be watched (missing, as a /W member's .project often
 * is) fill no table: at the bound, one gives its place to a file that
 * can be.
 */
Test(watches, unwatchable_files_give_their_place_up)
{
	char path[PATH_MAX + 32];
	int64_t now = monotonic_ns();
	int i;

	for (i = 0; i < 5000; i++) {
		snprintf(path, sizeof(path), "%s/.missing-%d", home, i);
		cr_assert_eq(watches_arm(w, home, path, now), 0);
	}
	watch();
	cr_assert(watched());
}
