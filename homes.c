/*
 * What is known of each member's home when the group is read: the mount
 * it is on, whether inotify sees its changes, whether it answers, and
 * whether a .nofinger hides its member.  The supervisor learns it at
 * each reading of the group, fingerd -i at its start, alike
 * (homes_check, which also warns of a plan out of reach); a worker
 * opens the homes again as it confines itself (landlock.c), and takes
 * only whether they still answer from that.
 *
 * Nothing here waits for a file system that does not answer, as a hard
 * NFS mount or a FUSE daemon that hangs: the mount table says where a
 * home is without touching it, and a home is opened only by a
 * short-lived child (homes_open), whose answers are waited for
 * HOME_ANSWER_NS each.  A child held by a home is killed and another
 * goes on past it, and past every home on the same mount; the homes
 * that did not answer are served "No Plan." until one does, which a
 * probe (homes_probe) that the supervisor runs every few seconds learns
 * of, and a new generation then serves it.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "fingerd.h"

/* /proc/self/mountinfo, whole (malloc'd), or NULL. */
static char *
mountinfo_read(void)
{
	size_t len = 0, size = 65536;
	char *text = NULL, *bigger;
	ssize_t n = 1;
	int fd;

	if ((fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	while (n > 0 && (bigger = realloc(text, size)) != NULL) {
		text = bigger;
		while (len < size - 1 &&
		    (n = read(fd, text + len, size - 1 - len)) > 0)
			len += (size_t)n;
		size *= 2;
	}
	close(fd);
	if (text != NULL)
		text[len] = '\0';
	return text;
}

struct home_mount {
	unsigned long	 mount;
	size_t		 member;
};

static int
home_mount_compare(const void *a, const void *b)
{
	const struct home_mount *x = a, *y = b;

	if (x->mount != y->mount)
		return (x->mount > y->mount) - (x->mount < y->mount);
	return (x->member > y->member) - (x->member < y->member);
}

/*
 * The mount each member's home is on (mount, by member; 0 where not
 * known), as the first member whose home is on it (client.c: the
 * requests on the homes of one mount take turns).  Sorted, not compared
 * pairwise: a group may have tens of thousands of members.  Without the
 * memory for it, each home is on a mount of its own.
 */
static void
homes_group(struct members *members, const unsigned long *mount)
{
	struct home_mount *by = NULL;
	size_t i, n = 0, first = 0;

	for (i = 0; i < members->count; i++)
		members->v[i].mount = (unsigned)i;
	if (mount == NULL ||
	    (by = calloc(members->count + 1, sizeof(*by))) == NULL)
		return;
	for (i = 0; i < members->count; i++)
		if (mount[i] != 0)
			by[n++] = (struct home_mount){ mount[i], i };
	qsort(by, n, sizeof(*by), home_mount_compare);
	for (i = 0; i < n; i++) {
		if (by[i].mount != by[first].mount)
			first = i;
		members->v[by[i].member].mount = (unsigned)by[first].member;
	}
	free(by);
}

/*
 * A warning of a member's home, built in place in the bytes of one line
 * (the supervisor's stack holds this, not a buffer a part).  What the
 * user database says is escaped as the log escapes a query: an NSS
 * entry is not ours to trust, and a newline would forge a line.  A part
 * that does not fit is cut, and what follows fills the line: longer than
 * log_whole() allows, it names no command.
 */
struct warning {
	char	 text[PIPE_BUF];
	size_t	 len;
};

static void
warning_put(struct warning *w, const char *s)
{
	size_t n = strnlen(s, sizeof(w->text) - 1 - w->len);

	memcpy(w->text + w->len, s, n);
	w->len += n;
	w->text[w->len] = '\0';
}

/* A field from the user database (login, home, plan), len bytes of it. */
static void
warning_field(struct warning *w, const char *s, size_t len)
{
	w->len += log_escape(w->text + w->len, sizeof(w->text) - w->len, s,
	    len);
}

/* The warning's beginning: member alice: home "/home/alice" (what, path). */
static void
warning_begin(struct warning *w, const struct member *m, const char *what,
    const char *path)
{
	w->len = 0;
	warning_put(w, "member ");
	warning_field(w, m->login, strlen(m->login));
	warning_put(w, ": ");
	warning_put(w, what);
	warning_put(w, " \"");
	warning_field(w, path, strlen(path));
	warning_put(w, "\"");
}

/*
 * A home not served, for a reason of its own (HOME_REFUSED, HOME_ROOT,
 * HOME_HUNG, HOME_FAILED; the others say nothing here): the
 * supervisor's survey and a worker confining itself (landlock.c) say so
 * alike.
 */
void
home_unserved_warn(const struct member *m, enum home_reach reach)
{
	struct warning w;

	warning_begin(&w, m, "home", m->home);
	if (reach == HOME_REFUSED)
		log_warnx("%s is not served: a worker reads only beneath an "
		    "absolute home other than /", w.text);
	else if (reach == HOME_ROOT)
		log_warnx("%s is not served: it is the root directory",
		    w.text);
	else if (reach == HOME_HUNG)
		log_warnx("%s did not answer within %lld ms: served no plan "
		    "until it does", w.text,
		    (long long)(HOME_ANSWER_NS / 1000000));
	else if (reach == HOME_FAILED)
		log_warnx("%s was opened, but this process had no room for "
		    "its descriptor (RLIMIT_NOFILE): served no plan until one "
		    "has", w.text);
}

/*
 * Whether Landlock can allow each home alone (a member whose home is /,
 * or not an absolute path, is served no plan, and the log says so),
 * whether inotify sees every change there (watches.c), and the mount it
 * is on, worked out from the mount table, looking only at the file
 * systems of this machine (mount_table_watchable).
 */
static void
homes_mounts(struct members *members)
{
	char *mountinfo = mountinfo_read();
	struct mount_table *table = mount_table_parse(mountinfo);
	unsigned long *mount = calloc(members->count + 1, sizeof(*mount));
	struct member *m;
	size_t i;

	for (i = 0; i < members->count; i++) {
		m = &members->v[i];
		m->watchable = mount_table_watchable(table, m->home,
		    mount != NULL ? &mount[i] : NULL);
		m->reach = HOME_REACHED;
		if (landlock_home_servable(m->home))
			continue;
		m->reach = HOME_REFUSED;
		home_unserved_warn(m, HOME_REFUSED);
	}
	homes_group(members, mount);
	free(mount);
	mount_table_free(table);
	free(mountinfo);
}

/* The child's first word, before any home: it runs. */
#define HELLO			UINT32_MAX
/* How long it may take to say so, or to answer for a home at most. */
#define OPENER_START_NS		(5 * NS_PER_SECOND)
/* How often a child that has not answered is looked at. */
#define SAMPLE_NS		(NS_PER_SECOND / 40)

/* One answer of the child that opens the homes, with the fd if opened. */
struct home_answer {
	uint32_t	 member;
	uint32_t	 flags;		/* HOME_DIRECTORY, ... HOME_DENIED_AT */
	uint8_t		 reach;		/* enum home_reach */
};

static void
answer_send(int sock, const struct home_answer *a, int fd)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)a,
	    .iov_len = sizeof(*a) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	char byte;

	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	/*
	 * A descriptor in flight counts against the user's RLIMIT_NOFILE
	 * (ETOOMANYREFS), across every process of the account: one at a
	 * time, each acknowledged, and a wait while others are in flight.
	 */
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(*a))
		if (errno != ETOOMANYREFS && errno != EINTR)
			_exit(1);
		else
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	if (fd >= 0 && recv(sock, &byte, 1, 0) != 1)
		_exit(1);
}

/*
 * Where a home's path stops this account (its open failed with EACCES):
 * the length of the first of its directories that it cannot search, 0
 * if none (a security module's refusal, a file system's own), and in
 * *flags HOME_DENIED_LINK when that is a symbolic link (its target, or
 * a directory on the way there, is the one to open).
 */
static unsigned
denied_at(const char *home, unsigned *flags)
{
	char path[PATH_MAX];
	size_t i, len = strlen(home);
	struct stat st;

	if (len >= sizeof(path))
		return 0;
	memcpy(path, home, len + 1);
	for (i = 1; i <= len; i++) {
		if (home[i] != '/' && home[i] != '\0')
			continue;
		path[i] = '\0';
		if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0 &&
		    errno == EACCES) {
			if (fstatat(AT_FDCWD, path, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				*flags |= HOME_DENIED_LINK;
			return (unsigned)i;
		}
		path[i] = home[i];
	}
	return 0;
}

/*
 * Whether directory dir, in which a path's next component (its status
 * next) is looked up, lets root alone change what that name leads to:
 * owned by root (its owner could chmod it), and writable by no one else
 * (not group or other: a POSIX ACL that lets a user write shows in the
 * group bits, its mask), or sticky where next is root's (as /tmp: only
 * root renames or removes root's entries there, so that no other takes
 * their name).
 */
static bool
directory_firm(const struct stat *dir, const struct stat *next)
{
	if (dir->st_uid != 0)
		return false;
	return (dir->st_mode & (S_IWGRP | S_IWOTH)) == 0 ||
	    ((dir->st_mode & S_ISVTX) && next->st_uid == 0);
}

/*
 * Whether the first len bytes of home name a directory that only root
 * can make another between a warning and a root shell where its command
 * is pasted: no component up to and including it a symbolic link (chmod
 * follows one), each directory above it firm (directory_firm).  "." and
 * ".." are looked up like any name: beneath a directory a member owns,
 * they are not firm either.  Run by the child that opens the homes,
 * looking only where it opened already.
 */
static bool
path_firm(const char *home, size_t len)
{
	char path[PATH_MAX];
	struct stat dir, st;
	size_t i;

	if (len >= sizeof(path) || len == 0 || home[0] != '/' ||
	    fstatat(AT_FDCWD, "/", &dir, AT_SYMLINK_NOFOLLOW) != 0)
		return false;
	memcpy(path, home, len);
	path[len] = '\0';
	for (i = 1; i <= len; i++) {
		if ((i < len && home[i] != '/') || home[i - 1] == '/')
			continue;	/* within a name, or an empty one */
		path[i] = '\0';
		if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    S_ISLNK(st.st_mode) || !directory_firm(&dir, &st))
			return false;
		dir = st;
		path[i] = home[i];
	}
	return S_ISDIR(dir.st_mode);
}

/*
 * Whether mode lets this account read a file of uid and gid, as the
 * kernel picks the bits: the owner's, else the group's, else others'
 * (the -u account has no supplementary group).
 */
static bool
mode_lets_read(mode_t mode, uid_t uid, gid_t gid)
{
	if (uid == getuid())
		return mode & S_IRUSR;
	return gid == getgid() ? mode & S_IRGRP : mode & S_IROTH;
}

/*
 * The .plan of a home this account searches (fd, its status home), as
 * the survey sees it: what keeps a worker from reading it (a file this
 * account cannot read, a symbolic link, not a regular file; none is not
 * a fault).  Its status is the one the kernel holds (AT_STATX_DONT_SYNC:
 * no request to a file system mounted at .plan, which may hang), and
 * one on another file system than its home's (a mount point) is not
 * looked into: that is a worker's to do, within -t.  Its access is
 * asked of the file opened as a path, following no link, and only when
 * that is the file looked at (a link renamed into its place meanwhile
 * is not followed): nothing a member puts there makes the survey wait
 * where her home would not, and her mount's homes look hung.  Through
 * /proc/self/fd, which needs no faccessat2 (valgrind 3.19 has none).
 */
static unsigned
plan_look(int fd, const struct stat *home)
{
	const unsigned mask = STATX_TYPE | STATX_MODE | STATX_UID |
	    STATX_GID | STATX_INO;
	struct statx named, opened;
	unsigned flags = 0;
	char path[64];
	int plan;

	if (statx(fd, ".plan", AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT |
	    AT_STATX_DONT_SYNC, mask, &named) != 0)
		return 0;
	if (S_ISLNK(named.stx_mode))
		return HOME_PLAN_LINK;
	if (!S_ISREG(named.stx_mode))
		return HOME_PLAN_NOT_FILE;
	if (makedev(named.stx_dev_major, named.stx_dev_minor) != home->st_dev ||
	    (plan = openat(fd, ".plan", O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", plan);
	if (statx(plan, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO,
	    &opened) == 0 && opened.stx_ino == named.stx_ino &&
	    opened.stx_dev_major == named.stx_dev_major &&
	    opened.stx_dev_minor == named.stx_dev_minor &&
	    faccessat(AT_FDCWD, path, R_OK, 0) != 0 && errno == EACCES)
		flags = HOME_PLAN_DENIED | (mode_lets_read(named.stx_mode,
		    named.stx_uid, named.stx_gid) ? HOME_PLAN_OTHERS_MAY : 0);
	close(plan);
	return flags;
}

/*
 * What opening home says, and its fd (O_PATH) when it is served, with
 * its flags: a directory this account cannot search (Debian 12's
 * adduser makes homes 0700) serves no plan, nor does a home beneath one
 * (HOME_DENIED, the flags saying which); one that holds a .nofinger (of
 * any type; looked at as this account, as plans are) hides its member.
 * With plans, what keeps a plan there from a worker (plan_look).
 */
static enum home_reach
home_reach(const char *home, const struct stat *root, bool plans, int *fd,
    unsigned *flags)
{
	enum home_reach reach = HOME_MISSING;
	struct stat st;
	unsigned at;

	*fd = -1;
	*flags = 0;
	if (!landlock_home_servable(home))
		return HOME_REFUSED;
	if ((*fd = open(home, O_PATH | O_CLOEXEC)) < 0) {
		if (errno != EACCES)
			return HOME_MISSING;
		at = denied_at(home, flags);
		*flags |= HOME_DENIED_FLAGS(at);
		if (at != 0 && path_firm(home, at))
			*flags |= HOME_FIX_FIRM;
		return HOME_DENIED;
	}
	if (fstat(*fd, &st) == 0)
		reach = st.st_dev == root->st_dev && st.st_ino == root->st_ino ?
		    HOME_ROOT : HOME_REACHED;
	if (reach != HOME_REACHED) {
		close(*fd);
		*fd = -1;
	} else if (S_ISDIR(st.st_mode)) {
		*flags = HOME_DIRECTORY;
		if (faccessat(*fd, ".", X_OK, 0) == 0)
			*flags |= HOME_SEARCHABLE;
		else if (path_firm(home, strlen(home)))
			*flags |= HOME_FIX_FIRM;
		if (plans && (*flags & HOME_SEARCHABLE))
			*flags |= plan_look(*fd, &st);
		if (fstatat(*fd, ".nofinger", &st, AT_SYMLINK_NOFOLLOW) == 0)
			*flags |= HOME_HIDDEN;
	}
	return reach;
}

/*
 * In a child that a home may hold for long: no descriptor but fd, so
 * that it holds no listening socket or client connection open after
 * its parent is done with them.
 */
void
only_descriptor(int fd)
{
	if (fd > 0)
		syscall(SYS_close_range, 0U, (unsigned)fd - 1, 0U);
	syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0U);
}

/*
 * A short-lived child of the supervisor's that must not outlive it (one
 * held past a daemon's end would act for it after it): it dies with its
 * parent (parent, its pid before the fork), keeps the signals the
 * supervisor reads blocked (`pkill -USR1 fingerd` reaches it too), has
 * /dev/null as 0, 1 and 2 (what a library it calls writes to stderr, or
 * opens, goes nowhere it should not).
 */
void
child_tied(pid_t parent)
{
	int null, i;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent ||
	    (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		_exit(1);
	for (i = 0; i < 3; i++)
		if (dup2(null, i) != i)
			_exit(1);
	if (null > 2)
		close(null);
}

/* child_tied, and no descriptor but fd besides 0 to 2. */
void
child_alone(pid_t parent, int fd)
{
	child_tied(parent);
	if (fd > 3)
		syscall(SYS_close_range, 3U, (unsigned)fd - 1, 0U);
	syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0U);
}

/*
 * The child: opens each pending home in order and sends what it found,
 * the fd with it.  It may be held for ever by one; then it is killed.
 * Only calls that are safe after a fork of a threaded process.
 */
static void __attribute__((noreturn))
opener(int sock, const struct members *t, const bool *pending, bool plans)
{
	struct home_answer a;
	struct stat root;
	unsigned flags = 0;
	size_t i;
	int fd;

	only_descriptor(sock);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (stat("/", &root) != 0)
		_exit(1);
	a = (struct home_answer){ .member = HELLO };
	answer_send(sock, &a, -1);
	for (i = 0; i < t->count; i++) {
		if (!pending[i])
			continue;
		a = (struct home_answer){ .member = (uint32_t)i };
		a.reach = (uint8_t)home_reach(t->v[i].home, &root, plans,
		    &fd, &flags);
		a.flags = flags;
		answer_send(sock, &a, fd);
		if (fd >= 0)
			close(fd);
	}
	_exit(0);
}

/*
 * Whether process pid is running or waits for a CPU: then it is not held
 * by a file system, only slow on a loaded machine (/proc/pid/stat's
 * state, after the command's parenthesis).
 */
bool
process_runnable(pid_t pid)
{
	char path[64], text[512], *state;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n <= 0)
		return false;
	text[n] = '\0';
	return (state = strrchr(text, ')')) != NULL && state[1] == ' ' &&
	    state[2] == 'R';
}

/*
 * The next answer of child pid into *a, and its fd or -1: 1, or 0 at
 * the end (the child exited), -1 when none came while the child slept
 * (as in a file system's wait) for wait ns on end, or OPENER_START_NS
 * in all.  It is looked at every SAMPLE_NS: one that only waits for a
 * CPU on a loaded machine is not taken for hung.
 */
static int
answer_receive(int sock, pid_t pid, struct home_answer *a, int *fd,
    int64_t wait)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = a, .iov_len = sizeof(*a) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = control.buf, .msg_controllen = sizeof(control) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int64_t deadline = monotonic_ns() + wait, left,
	    last = monotonic_ns() + OPENER_START_NS;
	struct cmsghdr *cmsg;
	ssize_t n;
	int ready;

	*fd = -1;
	while ((left = deadline - monotonic_ns()) > 0) {
		if (left > SAMPLE_NS)
			left = SAMPLE_NS;
		if ((ready = poll(&pfd, 1, (int)(left / 1000000) + 1)) <= 0) {
			if (ready == 0 && process_runnable(pid) &&
			    monotonic_ns() < last)
				deadline = monotonic_ns() + wait;
			continue;
		}
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(*a))
			return 0;
		cmsg = CMSG_FIRSTHDR(&msg);
		if (cmsg != NULL && cmsg->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
		/*
		 * A home opened came with its fd, unless this process had no
		 * room for it (MSG_CTRUNC): fingerd's failure, not the home's.
		 */
		if (a->reach == HOME_REACHED && a->member != HELLO &&
		    send(sock, "", 1, MSG_NOSIGNAL) != 1)
			return 0;
		if (a->reach == HOME_REACHED && *fd < 0)
			a->reach = HOME_FAILED;
		return 1;
	}
	return -1;
}

static size_t
first_pending(const struct members *t, const bool *pending)
{
	size_t i;

	for (i = 0; i < t->count && !pending[i]; i++)
		continue;
	return i;
}

/*
 * The child held by member k's home: k and every pending home on the
 * same mount did not answer (a server that hangs holds them all).
 */
static void
hung(const struct members *t, bool *pending, size_t k, home_answer_fn *fn,
    void *arg)
{
	size_t i;

	for (i = k; i < t->count; i++)
		if (pending[i] && (i == k || t->v[i].mount == t->v[k].mount)) {
			pending[i] = false;
			fn(arg, i, HOME_HUNG, -1, 0);
		}
}

/*
 * One child's answers, until it is done or held; false when held.  The
 * time it takes to start (a fork, slow under valgrind) is not a home's.
 */
static bool
answers_read(int sock, pid_t pid, const struct members *t, bool *pending,
    home_answer_fn *fn, void *arg)
{
	struct home_answer a;
	int fd, got;

	if (answer_receive(sock, pid, &a, &fd, OPENER_START_NS) <= 0 ||
	    a.member != HELLO) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((got = answer_receive(sock, pid, &a, &fd, HOME_ANSWER_NS)) >
	    0) {
		if (a.member >= t->count || !pending[a.member]) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		pending[a.member] = false;
		fn(arg, a.member, (enum home_reach)a.reach, fd, a.flags);
	}
	return got == 0;
}

/*
 * Opens the home of each member whose pending[] is set, in children
 * (above), and tells fn of each: opened, with its fd, or not, and with
 * plans, what keeps its plan from a worker (the survey's).  Returns
 * once all have answered or were found hung; clears pending[].  A
 * child that is held is killed, not waited for: its parent reaps it
 * (the supervisor's SIGCHLD) or ignores SIGCHLD (a worker).
 */
void
homes_open(const struct members *t, bool *pending, bool plans,
    home_answer_fn *fn, void *arg)
{
	int sv[2];
	size_t k;
	pid_t pid;

	while ((k = first_pending(t, pending)) < t->count) {
		pid = -1;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    sv) == 0 && (pid = fork()) < 0) {
			close(sv[0]);
			close(sv[1]);
		}
		if (pid < 0) {
			log_warn("cannot open the members' homes");
			for (; k < t->count; k++)
				if (pending[k])
					hung(t, pending, k, fn, arg);
			break;
		}
		if (pid == 0) {
			close(sv[0]);
			opener(sv[1], t, pending, plans);
		}
		close(sv[1]);
		if (!answers_read(sv[0], pid, t, pending, fn, arg)) {
			kill(pid, SIGKILL);
			hung(t, pending, first_pending(t, pending), fn, arg);
		} else if (first_pending(t, pending) < t->count) {
			/* It ended early: nothing more to learn from it. */
			hung(t, pending, first_pending(t, pending), fn, arg);
		}
		close(sv[0]);
	}
}

/* The warning's beginning for a plan out of this account's reach. */
static void
warning_out_of_reach(struct warning *w, const struct member *m)
{
	warning_begin(w, m, "plan", m->plan);
	warning_put(w, " is out of reach of fingerd's account: ");
}

/*
 * The fix a warning ends with: "to serve it: chmod o+x dir" (len
 * bytes), the directory this account cannot search, named so that a
 * shell takes it as it is (pasted, it opens that directory and runs
 * nothing else), where the line holds it whole (cut, it would name
 * another).  why is NULL where dir may be named so; else it says why
 * not (a path not firm: a root shell's chmod would follow a symbolic
 * link a member put there), and the warning ends with what to do, in
 * words no shell runs (a parenthesis mid-line is a syntax error) and
 * without "to serve it: ", so that no text is taken for a command.  A
 * name with a byte the log escapes is not named either: its escape,
 * pasted, would name another.
 */
static void
warning_fix(struct warning *w, const char *dir, size_t len, const char *why)
{
	size_t before = w->len, n = 0;

	warning_put(w, "; to serve it: chmod o+x ");
	if (why == NULL && (n = log_shell_operand(w->text + w->len,
	    sizeof(w->text) - w->len, dir, len)) == 0)
		why = "its name has a byte the log escapes";
	if (n != 0 && log_whole(w->len + n)) {
		w->len += n;
		return;
	}
	w->len = before;
	w->text[w->len] = '\0';
	if (n != 0)
		warning_put(w, "; the command that serves it is too long for "
		    "a line of the log");
	else {
		warning_put(w, "; to serve it, make that directory searchable "
		    "by others (o+x; ");
		warning_put(w, why);
		warning_put(w, ")");
	}
}

/*
 * Why a warning names no directory in a command: its path is not firm
 * (path_firm), a symbolic link (root's too: the directories on its
 * target's path are not looked at) or a directory a member may change.
 */
#define NOT_FIRM	"its path has a symbolic link, or a directory not " \
			"root's alone"

/*
 * A home beneath a directory this account cannot search: the directory,
 * quoted as the plan is (a path's text is never taken for the command
 * after it), and the command that opens it; a symbolic link on the way,
 * where the directory to open is on its target's path; no directory's
 * mode, where no chmod would help.
 */
static void
denied_warn(const struct member *m, unsigned flags)
{
	size_t at = HOME_DENIED_AT(flags);
	struct warning w;

	warning_out_of_reach(&w, m);
	if (at == 0 || at > strlen(m->home)) {
		warning_put(&w, "its home cannot be opened, permission denied "
		    "by no directory's mode (a security module, or the file "
		    "system's own options)");
	} else if (flags & HOME_DENIED_LINK) {
		warning_put(&w, "the symbolic link \"");
		warning_field(&w, m->home, at);
		warning_put(&w, "\" leads through a directory it cannot "
		    "search");
		warning_fix(&w, NULL, 0, "it is on the path the link leads to");
	} else {
		warning_put(&w, "\"");
		warning_field(&w, m->home, at);
		warning_put(&w, "\" is not searchable");
		warning_fix(&w, m->home, at,
		    flags & HOME_FIX_FIRM ? NULL : NOT_FIRM);
	}
	log_warnx("%s", w.text);
}

/* A home this account cannot search, and the command that opens it. */
static void
closed_warn(const struct member *m, unsigned flags)
{
	struct warning w;

	warning_out_of_reach(&w, m);
	warning_put(&w, "its home is not searchable");
	warning_fix(&w, m->home, strlen(m->home),
	    flags & HOME_FIX_FIRM ? NULL : NOT_FIRM);
	log_warnx("%s", w.text);
}

/*
 * A plan no worker reads, in a home it searches: a symbolic link or not
 * a regular file, which it never reads; one it cannot read, and what
 * opens it, in words: its member's to do, not a command for root (a
 * root shell's chmod would follow a symbolic link she put in its place).
 */
static void
plan_warn(const struct member *m, unsigned flags)
{
	struct warning w;

	if (flags & HOME_PLAN_DENIED) {
		warning_out_of_reach(&w, m);
		if (flags & HOME_PLAN_OTHERS_MAY)
			log_warnx("%sit cannot read the file, though its mode "
			    "lets it (an ACL, a security module, or the file "
			    "system's own options deny it)", w.text);
		else
			log_warnx("%sit cannot read the file; to serve it, its "
			    "owner makes it readable by others (o+r)", w.text);
		return;
	}
	warning_begin(&w, m, "plan", m->plan);
	log_warnx("%s is not served: it is %s", w.text,
	    flags & HOME_PLAN_LINK ? "a symbolic link, which fingerd never "
	    "follows" : "not a regular file (a FIFO, a socket, a device or a "
	    "directory: fingerd reads none)");
}

/*
 * homes_check's answers: what each home is, the fd not kept.  A home
 * this account cannot search is logged with what opens it.
 */
static void
surveyed(void *arg, size_t i, enum home_reach reach, int fd, unsigned flags)
{
	struct members *t = arg;
	struct member *m = &t->v[i];

	if (fd >= 0)
		close(fd);
	m->reach = (uint8_t)reach;
	m->hidden = reach == HOME_REACHED && (flags & HOME_HIDDEN);
	if (reach == HOME_REACHED && (flags & HOME_DIRECTORY) &&
	    !(flags & HOME_SEARCHABLE))
		closed_warn(m, flags);
	else if (reach == HOME_REACHED && !m->hidden &&
	    (flags & (HOME_PLAN_DENIED | HOME_PLAN_LINK | HOME_PLAN_NOT_FILE)))
		plan_warn(m, flags);
	else if (reach == HOME_DENIED)
		denied_warn(m, flags);
	else
		home_unserved_warn(m, reach);
}

/* Whether m's home, the same in before, did not answer there. */
static bool
still_hung(const struct members *before, const struct member *m)
{
	const struct member *b;

	if (before == NULL ||
	    (b = members_find(before, m->login, strlen(m->login))) == NULL)
		return false;
	return b->reach == HOME_HUNG && strcmp(b->home, m->home) == 0;
}

/*
 * At each reading of the group, by the supervisor: the mounts, then
 * whether each home answers (a home the workers could not confine
 * themselves to is served "No Plan." without a look).  A home that was
 * hung in before is not tried again (each try leaves a child held by
 * it): the probes wait for it (homes_probe), and the reading after one
 * saw it answer passes no before.
 */
void
homes_check(struct members *members, const struct members *before)
{
	bool *pending = calloc(members->count + 1, sizeof(*pending));
	size_t i;

	homes_mounts(members);
	if (pending == NULL)
		return;
	for (i = 0; i < members->count; i++) {
		if (members->v[i].reach != HOME_REACHED)
			continue;
		if (still_hung(before, &members->v[i]))
			surveyed(members, i, HOME_HUNG, -1, 0);
		else
			pending[i] = true;
	}
	homes_open(members, pending, true, surveyed, members);
	free(pending);
}

/*
 * Whether a home missing, denied, not taken or hung may answer later
 * (homes_probe).
 */
static bool
unreached(const struct member *m)
{
	return m->reach == HOME_MISSING || m->reach == HOME_DENIED ||
	    m->reach == HOME_FAILED || m->reach == HOME_HUNG;
}

/* How many homes were missing, denied, not taken or hung. */
size_t
homes_unreached(const struct members *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->count; i++)
		n += unreached(&t->v[i]);
	return n;
}

/*
 * In a child of the supervisor: tries each home that was missing, then
 * each beneath a directory this account could not search, then each
 * opened but not taken, then (with hung) each that did not answer, and
 * writes to fd the index of the first that is there now, then exits.
 * A hung home holds it until it answers: then it says so, which is the
 * point.
 */
static void __attribute__((noreturn))
homes_probe(const struct members *t, int fd, bool with_hung)
{
	struct stat root;
	unsigned flags;
	uint32_t n;
	size_t i, pass;
	int home_fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (stat("/", &root) != 0)
		_exit(1);
	for (pass = HOME_MISSING; pass <= (with_hung ? HOME_HUNG :
	    HOME_FAILED); pass++)
		for (i = 0; i < t->count; i++) {
			if (t->v[i].reach != pass || home_reach(t->v[i].home,
			    &root, false, &home_fd, &flags) != HOME_REACHED)
				continue;
			n = (uint32_t)i;
			if (write(fd, &n, sizeof(n)) != sizeof(n))
				_exit(1);
			_exit(0);
		}
	_exit(0);
}

/*
 * In a child of the supervisor, every HIDDEN_INTERVAL_NS: whether the
 * .nofinger of each home that answered came or went since t was made;
 * writes to fd the first such member's index, or'd with
 * HOME_PROBE_HIDDEN, then exits.  Either the homes on this machine's
 * own file systems (those watches.c may watch), or (remote) the others
 * on one mount (member->mount): on NFS, CIFS or FUSE, which a server may
 * hold, or on a file system mounts.c does not know, or through a
 * symbolic link.  A home known hung is passed over; one that hangs since
 * holds the child.
 */
static void __attribute__((noreturn))
homes_hidden_probe(const struct members *t, int fd, bool remote,
    unsigned mount)
{
	char path[PATH_MAX];
	struct stat st;
	bool hidden;
	uint32_t n;
	size_t i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (i = 0; i < t->count; i++) {
		if (t->v[i].reach != HOME_REACHED ||
		    t->v[i].watchable == remote ||
		    (remote && t->v[i].mount != mount) ||
		    snprintf(path, sizeof(path), "%s/.nofinger", t->v[i].home) >=
		    (int)sizeof(path))
			continue;
		hidden = fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (hidden == t->v[i].hidden)
			continue;
		n = (uint32_t)i | HOME_PROBE_HIDDEN;
		if (write(fd, &n, sizeof(n)) != sizeof(n))
			_exit(1);
		_exit(0);
	}
	_exit(0);
}

/*
 * The supervisor's probes (homes_probes_*): homes missing, denied or
 * hung are tried again every PROBE_INTERVAL_NS (homes_probe), by at most
 * PROBES_MAX children at once, one of them waiting for hung homes.
 * Every HIDDEN_INTERVAL_NS two more look for a .nofinger that came or
 * went (homes_hidden_probe), one in the local homes, one in the remote
 * homes of each mount.  A local look that takes HIDDEN_STUCK_NS is held
 * by a home that hangs since the last reading: it is killed and the
 * group read again, which finds that home hung; the next local look
 * waits for that table, and one killed but still held at most.  A
 * remote look held by a home (a FUSE daemon or an NFS server that hangs,
 * where a kill takes effect only once it answers) is left to end when
 * the home answers, and the next on its mount waits for it (the homes
 * of other mounts are looked at still): the workers' turns deal with
 * such a home, and one child is all it holds, until a reading finds it
 * hung.  Each child holds no descriptor but the pipe: one held by a home
 * must not hold a listening socket open after a stop.
 */
#define PROBE_INTERVAL_NS	(2 * NS_PER_SECOND)
#define HIDDEN_INTERVAL_NS	NS_PER_SECOND
#define HIDDEN_STUCK_NS		(3 * NS_PER_SECOND)

/* The next probe, while the table has homes missing, denied or hung. */
static void
probe_schedule(struct home_probes *p, const struct members *table)
{
	p->probe_at = homes_unreached(table) ?
	    monotonic_ns() + PROBE_INTERVAL_NS : 0;
}

/* A new table, which knows the homes found hung in the last reading. */
void
homes_probes_table(struct home_probes *p, const struct members *table)
{
	p->tables++;
	probe_schedule(p, table);
}

void
homes_probes_init(struct home_probes *p, const struct members *table)
{
	memset(p, 0, sizeof(*p));
	if (pipe2(p->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal(EX_OSERR, "pipe");
	probe_schedule(p, table);
	p->hidden_at = monotonic_ns() + HIDDEN_INTERVAL_NS;
}

/* A child of the supervisor's, with no descriptor but the pipe. */
static pid_t
probe_fork(const struct home_probes *p)
{
	pid_t pid = fork();

	if (pid == 0)
		only_descriptor(p->pipe[1]);
	return pid;
}

/* One more probe, unless PROBES_MAX run; one at a time waits for hung homes. */
static void
probe_start(struct home_probes *p, const struct members *table)
{
	bool with_hung = p->hung == 0;
	size_t i;
	pid_t pid;

	for (i = 0; i < PROBES_MAX && p->probes[i] != 0; i++)
		continue;
	if (i == PROBES_MAX)
		return;
	if ((pid = probe_fork(p)) < 0) {
		log_warn("cannot try the homes missing, denied or hung again");
		return;
	}
	if (pid == 0)
		homes_probe(table, p->pipe[1], with_hung);
	p->probes[i] = pid;
	if (with_hung)
		p->hung = pid;
}

/* A look for .nofinger (homes_hidden_probe); its pid, or 0. */
static pid_t
hidden_start(const struct home_probes *p, const struct members *table,
    bool remote, unsigned mount)
{
	pid_t pid;

	if ((pid = probe_fork(p)) < 0)
		return 0;
	if (pid == 0)
		homes_hidden_probe(table, p->pipe[1], remote, mount);
	return pid;
}

/*
 * A look in the remote homes of each mount of table that has none in
 * flight (one started with an older table names its mount by that
 * table's index: it runs out, and a new one starts), while a slot is
 * free.
 */
static void
remote_looks_start(struct home_probes *p, const struct members *table)
{
	struct remote_look *r;
	unsigned mount;
	size_t i, k;

	for (i = 0; i < table->count; i++) {
		if (table->v[i].reach != HOME_REACHED || table->v[i].watchable)
			continue;
		mount = table->v[i].mount;
		for (k = 0; k < REMOTE_LOOKS_MAX; k++) {
			r = &p->remote[k];
			if (r->pid != 0 && r->table == p->tables &&
			    r->mount == mount)
				break;
		}
		if (k < REMOTE_LOOKS_MAX)
			continue;	/* in flight, or started now */
		for (k = 0; k < REMOTE_LOOKS_MAX && p->remote[k].pid != 0; k++)
			continue;
		if (k == REMOTE_LOOKS_MAX)
			return;
		p->remote[k] = (struct remote_look){
			.pid = hidden_start(p, table, true, mount),
			.mount = mount, .table = p->tables,
		};
	}
}

/*
 * The looks for .nofinger, when due.  Returns true when the local one
 * was stuck (killed): the group must be read again, which finds that
 * home hung and leaves it to the other probes.
 */
static bool
hidden_due(struct home_probes *p, const struct members *table, int64_t now)
{
	if (now < p->hidden_at)
		return false;
	p->hidden_at = now + HIDDEN_INTERVAL_NS;
	remote_looks_start(p, table);
	if (p->hidden != 0) {
		if (now - p->hidden_started < HIDDEN_STUCK_NS || p->held != 0)
			return false;
		kill(p->hidden, SIGKILL);
		p->held = p->hidden;
		p->held_table = p->tables;
		p->hidden = 0;
		return true;
	}
	if (p->held != 0 && p->held_table == p->tables)
		return false;
	p->hidden = hidden_start(p, table, false, 0);
	p->hidden_started = now;
	return false;
}

/*
 * The probes due at now, for the homes of table; true when the group
 * must be read again (a look for .nofinger was held).
 */
bool
homes_probes_due(struct home_probes *p, const struct members *table,
    int64_t now)
{
	if (p->probe_at != 0 && p->probe_at <= now) {
		probe_schedule(p, table);
		if (p->probe_at != 0)
			probe_start(p, table);
	}
	return hidden_due(p, table, now);
}

/* The next time a probe is due (monotonic ns). */
int64_t
homes_probes_next(const struct home_probes *p)
{
	return p->probe_at != 0 && p->probe_at < p->hidden_at ? p->probe_at :
	    p->hidden_at;
}

/*
 * What the probes wrote: *answered when a home missing, denied or hung
 * answers now, *hidden when a .nofinger came or went.
 */
void
homes_probes_read(struct home_probes *p, const struct members *table,
    bool *answered, bool *hidden)
{
	uint32_t member;

	*answered = *hidden = false;
	/* The probe that waited for a hung home ends as it says so. */
	while (read(p->pipe[0], &member, sizeof(member)) == sizeof(member)) {
		if (member & HOME_PROBE_HIDDEN) {
			*hidden = true;
			continue;
		}
		*answered = true;
		if (member < table->count &&
		    table->v[member].reach == HOME_HUNG)
			p->hung = 0;
	}
}

/* Whether pid was a probe (reaped with the workers). */
bool
homes_probes_gone(struct home_probes *p, pid_t pid)
{
	bool probe = false;
	size_t i;

	for (i = 0; i < PROBES_MAX; i++)
		if (p->probes[i] == pid) {
			p->probes[i] = 0;
			probe = true;
		}
	if (p->hung == pid)
		p->hung = 0;
	for (i = 0; i < REMOTE_LOOKS_MAX; i++)
		if (p->remote[i].pid == pid) {
			p->remote[i].pid = 0;
			probe = true;
		}
	if (p->hidden == pid || p->held == pid) {
		p->hidden = p->hidden == pid ? 0 : p->hidden;
		p->held = p->held == pid ? 0 : p->held;
		probe = true;
	}
	return probe;
}

/* At a stop: every probe killed. */
void
homes_probes_stop(struct home_probes *p)
{
	size_t i;

	for (i = 0; i < PROBES_MAX; i++)
		if (p->probes[i] != 0)
			kill(p->probes[i], SIGKILL);
	if (p->hidden != 0)
		kill(p->hidden, SIGKILL);
	if (p->held != 0)
		kill(p->held, SIGKILL);
	for (i = 0; i < REMOTE_LOOKS_MAX; i++)
		if (p->remote[i].pid != 0)
			kill(p->remote[i].pid, SIGKILL);
}

void
homes_probes_close(struct home_probes *p)
{
	close(p->pipe[0]);
	close(p->pipe[1]);
}
