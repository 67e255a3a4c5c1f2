/*
 * Least privilege.  Started as root, fingerd binds, then becomes the -u
 * account: its uid and gid in every slot, no supplementary groups.  Started
 * as anyone, it keeps no capability in any set after binding, and sets
 * no_new_privs, so nothing it could execute regains one.  Started with
 * no capability, as systemd starts fingerd.service, it makes no
 * privileged call at all.  The ring is
 * created after this: its requests run with these credentials.
 */
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sysexits.h>
#include <unistd.h>

#include "fingerd.h"

/* Looks up the account to become, before anything is bound. */
void
privileges_plan(const char *user, struct privileges *p)
{
	struct passwd *pw;

	p->as_root = geteuid() == 0;
	if (!p->as_root)
		return;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		fatalx(EX_NOUSER, "-u %s: no such user: name an existing "
		    "unprivileged account", user);
	if (pw->pw_uid == 0)
		fatalx(EX_USAGE, "-u %s: that account is root: name an "
		    "unprivileged account", user);
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
}

static void
drop_bounding_set(void)
{
	cap_value_t cap;

	for (cap = 0; CAP_IS_SUPPORTED(cap); cap++)
		if (cap_drop_bound(cap) != 0 && errno != EINVAL)
			fatal(EX_OSERR, "cannot drop capability %d from the "
			    "bounding set", (int)cap);
}

/*
 * Whether any capability is held.  capget needs no privilege; capset is
 * among the calls a service manager may refuse (systemd's @privileged),
 * so it is made only when there is something to clear.  The ambient set
 * is part of the permitted and the inheritable sets: empty when they are.
 */
static int
holds_capabilities(void)
{
	cap_t now, none;
	int held;

	if ((now = cap_get_proc()) == NULL)
		fatal(EX_OSERR, "cannot read the capability sets");
	if ((none = cap_init()) == NULL)
		fatal(EX_OSERR, "cap_init");
	held = cap_compare(now, none) != 0;
	cap_free(none);
	cap_free(now);
	return held;
}

static void
clear_capabilities(void)
{
	cap_t none;

	if (!holds_capabilities())
		return;
	if ((none = cap_init()) == NULL)
		fatal(EX_OSERR, "cap_init");
	if (cap_set_proc(none) != 0)
		fatal(EX_OSERR, "cannot clear the capability sets");
	cap_free(none);
	if (cap_reset_ambient() != 0 && errno != EINVAL)
		fatal(EX_OSERR, "cannot clear the ambient capabilities");
}

static void
become(const struct privileges *p)
{
	if (setgroups(0, NULL) != 0)
		fatal(EX_OSERR, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) != 0)
		fatal(EX_OSERR, "setresgid %u", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) != 0)
		fatal(EX_OSERR, "setresuid %u", (unsigned)p->uid);
	if (setuid(0) == 0 || setgid(0) == 0)
		fatalx(EX_SOFTWARE, "the switch to uid %u can be undone: "
		    "refusing to run", (unsigned)p->uid);
}

void
privileges_drop(const struct privileges *p)
{
	if (p->as_root) {
		drop_bounding_set();
		become(p);
	}
	clear_capabilities();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fatal(EX_OSERR, "prctl(PR_SET_NO_NEW_PRIVS)");
}
