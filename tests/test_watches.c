/*
 * watches.c: a plan stays watched (its key known without a statx) until
 * something changes it, replaces it or its home, and not a moment longer;
 * it is never watched where a change could go unseen.
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

/* Watches alice's plan as the daemon does after a statx. */
static void
watch(void)
{
	struct plan_key key, known;

	cr_assert(plan_stat(AT_FDCWD, plan, &key));
	watches_add(w, home, plan, &key);
	cr_assert(watches_key(w, plan, &known), "not watched");
	cr_assert_eq(memcmp(&known, &key, sizeof(key)), 0);
}

static bool
watched(void)
{
	struct plan_key key;

	events();
	return watches_key(w, plan, &key);
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

Test(watches, dropped_when_moved_away)
{
	char away[PATH_MAX + 16];

	watch();
	snprintf(away, sizeof(away), "%s/plan.old", home);
	cr_assert_eq(rename(plan, away), 0);
	cr_assert_not(watched());
}

Test(watches, dropped_when_made_private)
{
	watch();
	cr_assert_eq(chmod(plan, 0600), 0);
	cr_assert_not(watched());
}

Test(watches, dropped_when_the_home_is_closed)
{
	watch();
	cr_assert_eq(chmod(home, 0700), 0);
	cr_assert_not(watched());
}

Test(watches, dropped_when_the_home_is_moved)
{
	char moved[PATH_MAX + 16];

	watch();
	snprintf(moved, sizeof(moved), "%s/alice.old", dir);
	cr_assert_eq(rename(home, moved), 0);
	cr_assert_not(watched());
}

/*
 * A change between the caller's statx and the watch is not missed, and
 * the next query may watch the plan as it is then.
 */
Test(watches, not_watched_when_changed_before)
{
	struct plan_key key;

	cr_assert(plan_stat(AT_FDCWD, plan, &key));
	write_plan(plan, "Changed in between.\n");
	watches_add(w, home, plan, &key);
	cr_assert_not(watched());
	watch();	/* the next query watches it: no wait to retry */
	cr_assert(watched());
}

/* Through a symbolic link the path could change with no event. */
Test(watches, not_watched_through_a_link)
{
	char link_home[PATH_MAX + 16], link_plan[PATH_MAX + 32];
	struct plan_key key;

	snprintf(link_home, sizeof(link_home), "%s/alias", dir);
	snprintf(link_plan, sizeof(link_plan), "%s/.plan", link_home);
	cr_assert_eq(symlink(home, link_home), 0);
	cr_assert(plan_stat(AT_FDCWD, link_plan, &key));
	watches_add(w, link_home, link_plan, &key);
	cr_assert_not(watches_key(w, link_plan, &key));
}

/* sysfs stands for a file system inotify does not see all changes on. */
Test(watches, not_watched_on_a_remote_like_file_system)
{
	struct plan_key key;

	cr_assert(plan_stat(AT_FDCWD, "/sys/kernel/profiling", &key));
	watches_add(w, "/sys/kernel", "/sys/kernel/profiling", &key);
	cr_assert_not(watches_key(w, "/sys/kernel/profiling", &key));
}

Test(watches, dropped_on_overflow_and_on_reload)
{
	struct inotify_event overflow = { .wd = -1, .mask = IN_Q_OVERFLOW };
	struct plan_key key;

	watch();
	watches_events(w, &overflow, sizeof(overflow));
	cr_assert_not(watches_key(w, plan, &key));
	watch();
	watches_drop_all(w);
	cr_assert_not(watches_key(w, plan, &key));
	watch();
	watches_disable(w);
	cr_assert_not(watches_key(w, plan, &key));
	cr_assert(plan_stat(AT_FDCWD, plan, &key));
	watches_add(w, home, plan, &key);
	cr_assert_not(watches_key(w, plan, &key), "watched once disabled");
}

Test(watches, not_a_regular_file)
{
	struct plan_key key;

	cr_assert_eq(unlink(plan), 0);
	cr_assert_not(plan_stat(AT_FDCWD, plan, &key));
	cr_assert_eq(mkfifo(plan, 0644), 0);
	cr_assert_not(plan_stat(AT_FDCWD, plan, &key));
}

/* A plan that could not be watched is not tried on every query. */
Test(watches, not_retried_at_once)
{
	char bob[PATH_MAX + 16], bob_plan[PATH_MAX + 32];
	struct plan_key key;

	snprintf(bob, sizeof(bob), "%s/bob", dir);
	snprintf(bob_plan, sizeof(bob_plan), "%s/.plan", bob);
	cr_assert_eq(symlink(home, bob), 0);
	cr_assert(plan_stat(AT_FDCWD, bob_plan, &key));
	watches_add(w, bob, bob_plan, &key);
	cr_assert_not(watches_key(w, bob_plan, &key));
	/* Now a plain directory: watchable, but not for ten seconds. */
	cr_assert_eq(unlink(bob), 0);
	cr_assert_eq(mkdir(bob, 0755), 0);
	write_plan(bob_plan, "Can we fix it?\n");
	cr_assert(plan_stat(AT_FDCWD, bob_plan, &key));
	watches_add(w, bob, bob_plan, &key);
	cr_assert_not(watches_key(w, bob_plan, &key), "tried again at once");
	watches_drop_all(w);	/* SIGHUP forgets the failure */
	watches_add(w, bob, bob_plan, &key);
	cr_assert(watches_key(w, bob_plan, &key));
}
