/*
 * Landlock (Linux 5.13+): a worker (or fingerd -i) can read only what it
 * serves, beneath each member's home directory: never a directory above
 * one, which holds other people's files, and never /.  Nothing else, not
 * even the user database, which only the supervisor reads.  It can write,
 * create or execute nothing; where the kernel has Landlock ABI 4, it can
 * neither bind nor connect a TCP socket, and with ABI 6 it can signal no
 * process and reach no abstract socket outside itself.  A member added
 * later is read by the next generation of workers, confined anew.  On a
 * kernel without Landlock it says so once and goes on.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "fingerd.h"

/* Newer than Debian 12's headers. */
#define ACCESS_FS_TRUNCATE	(1ULL << 14)
#define ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#define ACCESS_NET_BIND_TCP	(1ULL << 0)
#define ACCESS_NET_CONNECT_TCP	(1ULL << 1)
#define SCOPE_ABSTRACT_UNIX	(1ULL << 0)
#define SCOPE_SIGNAL		(1ULL << 1)

#define ACCESS_FS_READ	(LANDLOCK_ACCESS_FS_READ_FILE | \
			 LANDLOCK_ACCESS_FS_READ_DIR)

/* struct landlock_ruleset_attr as of ABI 6; older kernels take a prefix. */
struct ruleset_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

static int
landlock_abi(void)
{
	return (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
}

static uint64_t
handled_fs(int abi)
{
	uint64_t fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		fs |= ACCESS_FS_IOCTL_DEV;
	return fs;
}

/* The rule for path refused: path escaped, as a home from NSS may be. */
static void __attribute__((noreturn))
rule_refused(const char *path)
{
	char escaped[PIPE_BUF];

	log_escape(escaped, sizeof(escaped), path, strlen(path));
	fatal(EX_OSERR, "landlock_add_rule %s", escaped);
}

/*
 * Allows reading beneath the file or directory open at fd (O_PATH,
 * closed here): a file takes only the rights that apply to files.
 */
static void
allow_fd(int ruleset, int fd, bool directory, const char *path)
{
	struct landlock_path_beneath_attr rule = { .parent_fd = fd };

	rule.allowed_access = directory ? ACCESS_FS_READ :
	    LANDLOCK_ACCESS_FS_READ_FILE;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
	    &rule, 0) != 0)
		rule_refused(path);
	close(fd);
}

#if defined(__SANITIZE_ADDRESS__)
/* Allows reading beneath path, of this machine; one missing is skipped. */
static void
allow_read(int ruleset, const char *path)
{
	struct stat st;
	int fd;

	if (path == NULL || path[0] != '/' ||
	    (fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return;
	allow_fd(ruleset, fd, fstat(fd, &st) == 0 && S_ISDIR(st.st_mode),
	    path);
}
#endif

/*
 * Whether a home may be allowed: an absolute path, not / as a string
 * (homes.c also refuses one that leads to /).  The supervisor warns of
 * the others when it reads the group.
 */
bool
landlock_home_servable(const char *home)
{
	return home[0] == '/' && home[strspn(home, "/")] != '\0';
}

struct allowing {
	int		 ruleset;
	struct members	*members;
	bool		 missed;	/* a home that should have answered */
};

/*
 * A home opened by homes_open()'s child, or not: the member is then
 * served no plan, without a look, and the log says so (a home that
 * stopped answering since the survey).  Its .nofinger is the survey's
 * to tell (homes_check, by the supervisor or fingerd -i): one look,
 * so that the list and the queries never disagree.
 */
static void
home_answered(void *arg, size_t i, enum home_reach reach, int fd,
    unsigned flags)
{
	struct allowing *a = arg;
	struct member *m = &a->members->v[i];

	if (fd >= 0 && reach == HOME_REACHED) {
		allow_fd(a->ruleset, fd, flags & HOME_DIRECTORY, m->home);
		return;
	}
	if (fd >= 0)
		close(fd);
	m->reach = (uint8_t)reach;
	a->missed = true;
	home_unserved_warn(m, reach);
}

/*
 * The homes the survey found reached (homes_check), each opened
 * off this thread of control with a bounded wait (homes.c): a file
 * system that hangs under one home must not keep a worker from serving
 * the others.
 */
static bool
allow_paths(int ruleset, struct members *members)
{
	struct allowing a = { .ruleset = ruleset, .members = members };
	bool *pending = calloc(members->count + 1, sizeof(*pending));
	size_t i;

	if (pending == NULL)
		fatalx(EX_OSERR, "out of memory for the homes");
	for (i = 0; i < members->count; i++)
		pending[i] = members->v[i].reach == HOME_REACHED;
	homes_open(members, pending, false, home_answered, &a);
	free(pending);
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer reads /proc/self/task and maps at exit. */
	allow_read(ruleset, "/proc");
#endif
	return !a.missed;
}

/*
 * Needs no_new_privs, which privileges_drop() has set.  A member whose
 * home it could not allow is marked so (member->reach): client.c serves
 * no plan there without a look.  Without Landlock nothing is confined,
 * and every home is looked at when asked for, but one never served (at
 * /, or not absolute: fingerd.8 says so whatever the kernel).  Returns
 * false when a home the supervisor found answering did not answer here.
 */
bool
landlock_restrict(struct members *members)
{
	struct ruleset_attr attr = { 0 };
	int abi, ruleset;
	bool complete;
	size_t i;

	if ((abi = landlock_abi()) < 1) {
		log_warnx("Landlock is not available (%s): the file system "
		    "is not restricted", strerror(errno));
		for (i = 0; i < members->count; i++)
			if (members->v[i].reach != HOME_ROOT &&
			    members->v[i].reach != HOME_REFUSED)
				members->v[i].reach = HOME_REACHED;
		return true;
	}
	attr.handled_access_fs = handled_fs(abi);
	if (abi >= 4)
		attr.handled_access_net = ACCESS_NET_BIND_TCP |
		    ACCESS_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    abi >= 6 ? sizeof(attr) : abi >= 4 ? 2 * sizeof(uint64_t) :
	    sizeof(uint64_t), 0);
	if (ruleset < 0)
		fatal(EX_OSERR, "landlock_create_ruleset");
	complete = allow_paths(ruleset, members);
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
		fatal(EX_OSERR, "landlock_restrict_self");
	close(ruleset);
	return complete;
}
