/*
 * Turns: who may make the next request on a file system, and who is
 * evicted when every slot is taken.  Pure: no system call, no engine,
 * no client (client.c embeds a struct turn_entry in each); the time is
 * passed in, in nanoseconds of CLOCK_MONOTONIC.
 *
 * A request on a file cannot be cancelled once a file system holds it,
 * and a file system that hangs holds it until it answers.  So that one
 * holds few slots past their deadlines, the requests on one member's
 * files take turns (struct home_turns), and so do those on the homes of
 * one mount (struct mount_turns): a few at once, the rest waiting in
 * order, each at most until its deadline, or until a connection that
 * waits for a slot takes its (turns_evict).
 *
 * A request that a working file system holds comes back in microseconds
 * (a local disk) or milliseconds (NFS), and the queues drain as fast;
 * one that hangs holds its turn until the file system answers.
 */
#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "fingerd.h"

/*
 * The requests on one member's files in flight, and the entries waiting
 * for a turn, oldest first.
 */
struct home_turns {
	unsigned		 busy;
	int64_t			 turned;	/* a request came back, or went */
	struct turn_queue	 waiting;
	TAILQ_ENTRY(home_turns)	 ready_link;	/* in its mount's ready list */
	bool			 ready;
};

TAILQ_HEAD(home_list, home_turns);

/*
 * The same for the homes on one mount (member->mount, from the mount table
 * the supervisor read): the requests on its files in flight, and the
 * homes listed when they had an entry waiting and a turn free, in the
 * order they came (one whose entries left since is passed over).
 */
struct mount_turns {
	unsigned		 busy;
	int64_t			 turned;
	struct home_list	 ready;
};

/*
 * A home's turns: an eighth of -c, from 1 to 8; a mount's: a quarter
 * of -c, and one more than a home's, so that every home of a file system
 * that hangs (an NFS server for all) keeps three quarters of the slots
 * for everyone else, and one hung home does not stop its mount.  Each
 * request of an exchange (a statx, an open, each read) takes its turn:
 * a slow reader of a long plan holds none while its chunk is sent.
 */
#define HOME_TURNS_MAX	8

/* For clients slots and homes members (a mount is named by a member). */
bool
turns_init(struct turns *t, unsigned clients, unsigned homes)
{
	unsigned i, n = clients / 8;

	t->home_max = n < 1 ? 1 : n > HOME_TURNS_MAX ? HOME_TURNS_MAX : n;
	n = clients / 4;
	t->mount_max = n > t->home_max ? n : t->home_max + 1;
	TAILQ_INIT(&t->silent);
	TAILQ_INIT(&t->waiting);
	t->evicted_at = 0;
	/* (one home more: calloc may give NULL for none) */
	t->homes = calloc(homes + 1, sizeof(*t->homes));
	t->mounts = calloc(homes + 1, sizeof(*t->mounts));
	if (t->homes == NULL || t->mounts == NULL)
		return false;
	for (i = 0; i <= homes; i++) {
		TAILQ_INIT(&t->homes[i].waiting);
		TAILQ_INIT(&t->mounts[i].ready);
	}
	return true;
}

void
turns_free(struct turns *t)
{
	free(t->homes);
	free(t->mounts);
	t->homes = NULL;
	t->mounts = NULL;
}

/*
 * The entries that may be evicted, in two queues: those that have not
 * completed their query line (silent), and those waiting for a turn on
 * their home's files (waiting), which a home that hangs keeps waiting
 * until their deadlines (before a byte of their reply is sent: one is
 * never cut in the middle).  A real client sends its query in its first
 * packet and leaves the first queue at once, and a working file system
 * gives turns in microseconds or milliseconds; one that holds a slot
 * saying nothing is the first to go.  An entry is in one of them at
 * most.
 */
static void
evictable_add(struct turn_queue *q, struct turn_entry *e, int64_t now)
{
	e->queue = q;
	e->queued = now;
	TAILQ_INSERT_TAIL(q, e, evict);
}

/* No longer evictable. */
void
turns_unlist(struct turn_entry *e)
{
	if (e->queue == NULL)
		return;
	TAILQ_REMOVE(e->queue, e, evict);
	e->queue = NULL;
}

/* A new connection: silent until its query line is in. */
void
turns_silent(struct turns *t, struct turn_entry *e, int64_t now)
{
	evictable_add(&t->silent, e, now);
}

/* Its query line is in: silent no more. */
void
turns_spoken(struct turns *t, struct turn_entry *e)
{
	if (e->queue == &t->silent)
		turns_unlist(e);
}

bool
turns_evictable(const struct turns *t)
{
	return !TAILQ_EMPTY(&t->silent) || !TAILQ_EMPTY(&t->waiting);
}

/* e, waiting for a turn, waits no more. */
void
turns_forgo(struct turns *t, struct turn_entry *e)
{
	TAILQ_REMOVE(&t->homes[e->home].waiting, e, turn);
	e->waiting = false;
	turns_unlist(e);
}

/*
 * h, on mount f, has entries waiting and a turn of its own free: it is
 * listed there, once.
 */
static void
home_ready(const struct turns *t, struct mount_turns *f, struct home_turns *h)
{
	if (h->ready || TAILQ_EMPTY(&h->waiting) || h->busy >= t->home_max)
		return;
	h->ready = true;
	TAILQ_INSERT_TAIL(&f->ready, h, ready_link);
}

/*
 * e waits for a turn on its home's files (e->home, on mount e->mount):
 * after those waiting for its home, and those of the homes of its mount
 * listed before it, until its deadline.  Evictable while it waits only
 * if no byte of its reply was sent.  False, and e is not queued, when its
 * deadline has passed.  The turns go with turns_give().
 */
bool
turns_wait(struct turns *t, struct turn_entry *e, bool evictable,
    int64_t now)
{
	struct home_turns *h = &t->homes[e->home];

	if (now >= e->deadline)
		return false;
	TAILQ_INSERT_TAIL(&h->waiting, e, turn);
	e->waiting = true;
	turns_unlist(e);		/* past its query line: not silent */
	if (evictable)
		evictable_add(&t->waiting, e, now);
	home_ready(t, &t->mounts[e->mount], h);
	return true;
}

/*
 * The next turn free on a mount, to the oldest entry waiting of the next
 * home listed; NULL when there is none to give.  The entry waits no
 * more.  *late when its deadline has passed (its timer not yet handled):
 * it takes no turn, and its slot is left instead; otherwise its request
 * is to be made now, and turns_done() says when it is back.
 */
struct turn_entry *
turns_give(struct turns *t, unsigned mount, int64_t now, bool *late)
{
	struct mount_turns *f = &t->mounts[mount];
	struct home_turns *h;
	struct turn_entry *e;

	while (f->busy < t->mount_max && (h = TAILQ_FIRST(&f->ready)) != NULL) {
		TAILQ_REMOVE(&f->ready, h, ready_link);
		h->ready = false;
		if ((e = TAILQ_FIRST(&h->waiting)) == NULL ||
		    h->busy >= t->home_max)
			continue;	/* since listed, left or taken */
		turns_forgo(t, e);
		*late = now >= e->deadline;
		if (!*late) {
			if (h->busy++ == 0)	/* its clock starts */
				h->turned = now;
			if (f->busy++ == 0)
				f->turned = now;
		}
		home_ready(t, f, h);
		return e;
	}
	return NULL;
}

/*
 * e's request is back: its turns go to the next (turns_give() on
 * e->mount).
 */
void
turns_done(struct turns *t, const struct turn_entry *e, int64_t now)
{
	struct home_turns *h = &t->homes[e->home];
	struct mount_turns *f = &t->mounts[e->mount];

	h->busy--;
	f->busy--;
	h->turned = f->turned = now;
	home_ready(t, f, h);
}

/*
 * When e, waiting for a turn, may be evicted: once it has waited the
 * grace, and what holds it (its home's turns, else its mount's) has
 * given no request back for TURN_STUCK_NS: a file system that hangs,
 * not a working one that is slow or busy, whose queries wait their
 * turns as they would wait in the backlog.
 */
int64_t
turns_stuck_at(const struct turns *t, const struct turn_entry *e)
{
	const struct home_turns *h = &t->homes[e->home];
	int64_t waited = e->queued + EVICT_GRACE_NS;
	int64_t stuck = (h->busy >= t->home_max ? h->turned :
	    t->mounts[e->mount].turned) + TURN_STUCK_NS;

	return waited > stuck ? waited : stuck;
}

/*
 * Who makes room for a connection that waits: the oldest silent entry,
 * else the one waiting longest for a turn that a file system that hangs
 * holds.  It is unlisted (and waits for its turn no more).  NULL when
 * none may go yet: *evictable_at is when the next may, 0 when none is
 * waiting.
 *
 * While the worker is calm, a silent entry is not evicted before
 * EVICT_GRACE_NS in its slot: a connection is accepted on the
 * handshake's last packet and its query travels apart, so one just
 * accepted may be a real client whose query is on its way.  No grace
 * while silent ones were evicted within the last one (a flood): at most
 * -c connections a grace would get in, and a query would wait for the
 * whole queue ahead of it.  An entry waiting for a turn always has its
 * grace (turns_stuck_at).
 */
struct turn_entry *
turns_evict(struct turns *t, int64_t now, int64_t *evictable_at)
{
	struct turn_entry *e;
	int64_t at, soonest = 0;

	if ((e = TAILQ_FIRST(&t->silent)) != NULL) {
		at = now - t->evicted_at < EVICT_GRACE_NS ? now :
		    e->queued + EVICT_GRACE_NS;
		if (at <= now) {
			t->evicted_at = now;
			turns_unlist(e);
			*evictable_at = 0;
			return e;
		}
		soonest = at;
	}
	TAILQ_FOREACH(e, &t->waiting, evict) {
		if ((at = turns_stuck_at(t, e)) <= now) {
			turns_forgo(t, e);
			*evictable_at = 0;
			return e;
		}
		if (soonest == 0 || at < soonest)
			soonest = at;
	}
	*evictable_at = soonest;
	return NULL;
}
