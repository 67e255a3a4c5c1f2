/*
 * turns.c with a fake clock in milliseconds, no file system: who gets a
 * turn per home and per mount, that a home that hangs keeps to its few
 * turns, the order of the queues, the silent's grace, when a holder
 * counts as stuck, and who is evicted first.  The FUSE tests
 * (test_hung_homes.c) are the end-to-end proof.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "fingerd.h"

/* The clock, from an hour after the boot, as a worker's would be. */
#define MS(n)		(3600 * NS_PER_SECOND + (int64_t)(n) * 1000000)
#define NEVER		MS(1000000)
#define ENTRIES		16

static struct turns t;
static struct turn_entry e[ENTRIES];

static void
start(unsigned clients)
{
	memset(e, 0, sizeof(e));
	cr_assert(turns_init(&t, clients, 4));
}

static void
finish(void)
{
	turns_free(&t);
}

/* Entry i, for home (a member's index) on mount, due at deadline. */
static struct turn_entry *
entry(unsigned i, unsigned home, unsigned mount, int64_t deadline)
{
	e[i].home = home;
	e[i].mount = mount;
	e[i].deadline = deadline;
	return &e[i];
}

/* Entry i waits for its turn, evictable, at now. */
static void
wait_at(unsigned i, unsigned home, unsigned mount, int64_t now)
{
	cr_assert(turns_wait(&t, entry(i, home, mount, NEVER), true, now));
}

/* The index of the next entry given a turn on mount, -1 for none. */
static int
give(unsigned mount, int64_t now)
{
	struct turn_entry *g;
	bool late = true;

	if ((g = turns_give(&t, mount, now, &late)) == NULL)
		return -1;
	cr_assert_not(late);
	cr_assert_not(g->waiting);
	return (int)(g - e);
}

/*
 * With -c 16 (a home 2 turns, a mount 4), n entries wait on home 0 of
 * mount 0, from 0 ms: the first two take its turns.
 */
static void
home_full(unsigned n)
{
	unsigned i;

	start(16);
	for (i = 0; i < n; i++)
		wait_at(i, 0, 0, MS(i));
	cr_assert_eq(give(0, MS(n)), 0);
	cr_assert_eq(give(0, MS(n)), 1);
	cr_assert_eq(give(0, MS(n)), -1, "a home holds 2 turns at most");
}

static int
evict(int64_t now, int64_t *at)
{
	struct turn_entry *g = turns_evict(&t, now, at);

	return g == NULL ? -1 : (int)(g - e);
}

Test(turns, a_home_has_an_eighth_a_mount_a_quarter_of_the_slots,
    .fini = finish)
{
	static const unsigned slots[] = { 1, 4, 8, 16, 32, 64, 100, 512 };
	static const unsigned home[] = { 1, 1, 1, 2, 4, 8, 8, 8 };
	static const unsigned mount[] = { 2, 2, 2, 4, 8, 16, 25, 128 };
	size_t i;

	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		start(slots[i]);
		cr_expect_eq(t.home_max, home[i], "-c %u: a home %u", slots[i],
		    t.home_max);
		cr_expect_eq(t.mount_max, mount[i], "-c %u: a mount %u",
		    slots[i], t.mount_max);
		finish();
	}
	start(1);
}

Test(turns, a_home_takes_its_turns_oldest_first_then_waits,
    .fini = finish)
{
	home_full(4);
	cr_assert(e[2].waiting);
	cr_assert(e[3].waiting);

	turns_done(&t, &e[1], MS(5));
	cr_assert_eq(give(0, MS(5)), 2, "the oldest waiting is next");
	cr_assert_eq(give(0, MS(5)), -1);
	turns_done(&t, &e[0], MS(6));
	cr_assert_eq(give(0, MS(6)), 3);
	cr_assert_eq(give(0, MS(6)), -1);
}

Test(turns, a_hung_home_keeps_to_its_few_turns, .fini = finish)
{
	unsigned i;

	home_full(6);	/* home 0 hangs: its two requests never come back */

	/* home 1 on the same mount is served, turn after turn */
	for (i = 0; i < 5; i++) {
		wait_at(8, 1, 0, MS(10 + i));
		cr_assert_eq(give(0, MS(10 + i)), 8, "round %u", i);
		turns_done(&t, &e[8], MS(10 + i));
		cr_assert_eq(give(0, MS(10 + i)), -1, "round %u", i);
	}
	/* and so is a home on another mount */
	wait_at(9, 2, 2, MS(20));
	cr_assert_eq(give(2, MS(20)), 9);
	for (i = 2; i < 6; i++)
		cr_assert(e[i].waiting, "entry %u", i);
}

Test(turns, the_homes_of_a_mount_take_turns_in_the_order_they_came,
    .fini = finish)
{
	start(16);		/* a home 2 turns, a mount 4 */
	wait_at(0, 0, 0, MS(0));	/* home 0: 0 1 2 */
	wait_at(1, 0, 0, MS(0));
	wait_at(2, 0, 0, MS(0));
	wait_at(3, 1, 0, MS(1));	/* home 1: 3 4 5 */
	wait_at(4, 1, 0, MS(1));
	wait_at(5, 1, 0, MS(1));
	cr_assert_eq(give(0, MS(2)), 0);
	cr_assert_eq(give(0, MS(2)), 3);
	cr_assert_eq(give(0, MS(2)), 1);
	cr_assert_eq(give(0, MS(2)), 4);
	cr_assert_eq(give(0, MS(2)), -1, "a mount holds 4 turns at most");

	/* a third home on it waits for the mount's turns too */
	wait_at(6, 3, 0, MS(3));
	cr_assert_eq(give(0, MS(3)), -1);
	turns_done(&t, &e[3], MS(4));
	/* listed before home 1 was again: home 3, then 1, then 0 */
	cr_assert_eq(give(0, MS(4)), 6);
	cr_assert_eq(give(0, MS(4)), -1);
	turns_done(&t, &e[6], MS(5));
	cr_assert_eq(give(0, MS(5)), 5);
	turns_done(&t, &e[0], MS(6));
	cr_assert_eq(give(0, MS(6)), 2);
	cr_assert_eq(give(0, MS(6)), -1);
}

Test(turns, one_past_its_deadline_is_given_no_turn, .fini = finish)
{
	struct turn_entry *g;
	bool late = false;

	start(8);		/* a home 1 turn, a mount 2 */
	cr_assert_not(turns_wait(&t, entry(0, 0, 0, MS(10)), true, MS(10)),
	    "due now: not queued");
	cr_assert_not(e[0].waiting);
	cr_assert_not(turns_evictable(&t));

	wait_at(1, 0, 0, MS(0));
	cr_assert_eq(give(0, MS(0)), 1);
	cr_assert(turns_wait(&t, entry(2, 0, 0, MS(50)), true, MS(1)));
	turns_done(&t, &e[1], MS(60));
	g = turns_give(&t, 0, MS(60), &late);
	cr_assert_eq(g, &e[2]);
	cr_assert(late, "its deadline passed while it waited");
	cr_assert_not(e[2].waiting);
	cr_assert_not(turns_evictable(&t), "it left the waiting queue");
	/* it took no turn: the next takes the home's one */
	wait_at(3, 0, 0, MS(61));
	cr_assert_eq(give(0, MS(61)), 3);
}

Test(turns, a_silent_connection_has_its_grace_unless_a_flood,
    .fini = finish)
{
	int64_t at = -1;

	start(8);
	turns_silent(&t, &e[0], MS(0));
	cr_assert(turns_evictable(&t));
	cr_assert_eq(evict(MS(10), &at), -1);
	cr_assert_eq(at, MS(20), "its grace is 20 ms");
	cr_assert_eq(evict(MS(20), &at), 0);
	cr_assert_eq(at, 0);
	cr_assert_null(e[0].queue);
	cr_assert_not(turns_evictable(&t));

	/* within 20 ms of an eviction: a flood, no grace */
	turns_silent(&t, &e[1], MS(30));
	cr_assert_eq(evict(MS(30), &at), 1);
	/* calm again: the grace again */
	turns_silent(&t, &e[2], MS(60));
	cr_assert_eq(evict(MS(60), &at), -1);
	cr_assert_eq(at, MS(80));

	/* one whose query line is in is no longer evictable */
	turns_spoken(&t, &e[2]);
	cr_assert_null(e[2].queue);
	cr_assert_not(turns_evictable(&t));
	cr_assert_eq(evict(MS(100), &at), -1);
	cr_assert_eq(at, 0, "none waiting");
}

Test(turns, a_holder_is_stuck_a_second_after_its_last_turn_back,
    .fini = finish)
{
	start(16);		/* a home 2 turns, a mount 4 */
	wait_at(0, 0, 0, MS(0));
	wait_at(1, 0, 0, MS(0));
	cr_assert_eq(give(0, MS(0)), 0);
	cr_assert_eq(give(0, MS(0)), 1);
	wait_at(2, 1, 0, MS(200));
	wait_at(3, 1, 0, MS(200));
	cr_assert_eq(give(0, MS(200)), 2);
	cr_assert_eq(give(0, MS(200)), 3);

	/* held by its home's turns: that home's clock */
	wait_at(4, 0, 0, MS(300));
	cr_assert_eq(turns_stuck_at(&t, &e[4]), MS(1000));
	wait_at(5, 1, 0, MS(300));
	cr_assert_eq(turns_stuck_at(&t, &e[5]), MS(1200));
	/* a home with turns free, held by the mount's: the mount's clock */
	wait_at(6, 2, 0, MS(300));
	cr_assert_eq(turns_stuck_at(&t, &e[6]), MS(1000));

	/*
	 * A request back restarts the clocks; its turn goes to the home
	 * listed first (2), and home 0, a turn free, waits on the mount's.
	 */
	turns_done(&t, &e[1], MS(900));
	cr_assert_eq(give(0, MS(900)), 6);
	cr_assert_eq(turns_stuck_at(&t, &e[4]), MS(1900));
	cr_assert_eq(turns_stuck_at(&t, &e[5]), MS(1200));

	/* a clock long stopped: the grace since it began to wait */
	wait_at(7, 3, 1, MS(5000));
	cr_assert_eq(turns_stuck_at(&t, &e[7]), MS(5020));
}

Test(turns, the_silent_go_first_then_the_longest_stuck, .fini = finish)
{
	int64_t at = -1;

	start(8);		/* a home 1 turn, a mount 2 */
	wait_at(0, 0, 0, MS(0));	/* home 0 hangs from 0 */
	cr_assert_eq(give(0, MS(0)), 0);
	wait_at(1, 1, 1, MS(0));	/* home 1 is slow: back at 900 */
	cr_assert_eq(give(1, MS(0)), 1);
	wait_at(2, 1, 1, MS(10));	/* waits on the slow home */
	wait_at(3, 0, 0, MS(20));	/* waits on the hung one */
	wait_at(4, 0, 0, MS(30));
	/* a reply begun is never evicted, however long it waits */
	cr_assert(turns_wait(&t, entry(5, 0, 0, NEVER), false, MS(40)));
	turns_done(&t, &e[1], MS(900));
	cr_assert_eq(give(1, MS(900)), 2);
	wait_at(6, 1, 1, MS(910));	/* now waits on the slow home */

	cr_assert_eq(evict(MS(999), &at), -1);
	cr_assert_eq(at, MS(1000), "home 0 is stuck at 1000 ms");

	turns_silent(&t, &e[7], MS(1000));
	turns_silent(&t, &e[8], MS(1010));
	cr_assert_eq(evict(MS(1020), &at), 7, "the silent first");
	cr_assert_eq(evict(MS(1025), &at), 8, "a flood: no grace");

	/* then those waiting, oldest first, only where stuck */
	cr_assert_eq(evict(MS(1025), &at), 3);
	cr_assert_not(e[3].waiting);
	cr_assert_null(e[3].queue);
	cr_assert_eq(evict(MS(1025), &at), 4);
	cr_assert_eq(evict(MS(1025), &at), -1);
	cr_assert_eq(at, MS(1900), "the slow home is stuck at 1900 ms");
	cr_assert(e[5].waiting, "a reply begun waits on");
	cr_assert_eq(evict(MS(1900), &at), 6);
	cr_assert_eq(evict(MS(100000), &at), -1);
	cr_assert_eq(at, 0);
	cr_assert_not(turns_evictable(&t));
	turns_forgo(&t, &e[5]);
	cr_assert_not(e[5].waiting);
}
