/*
 * Unit tests of members.c.  members_build() is pure and gets its accounts
 * from the tests; members_send() reads tests/data/passwd and
 * tests/data/group through nss_wrapper, which the Makefile preloads, and
 * members_received() makes the table of what it sent:
 *
 *	finger (79): lists carol, alice, ghost (no account), erin;
 *	             bob and erin have it as primary group; dave is in neither
 *	staff (80):  lists dave; frank has it as primary group
 *	empty (81):  no member at all
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fingerd.h"

#define FINGER_GID	79

/* A group whose member list is empty. */
static char *const no_one[] = { NULL };

#define assert_str_bytes(got, got_len, lit) do {			\
	cr_assert_eq((got_len), sizeof(lit) - 1,			\
	    "length %zu, want %zu: \"%.*s\"", (size_t)(got_len),	\
	    sizeof(lit) - 1, (int)(got_len), (got));			\
	cr_assert_eq(memcmp((got), (lit), sizeof(lit) - 1), 0,	\
	    "got \"%.*s\"", (int)(got_len), (got));			\
} while (0)

/* The table's logins must be exactly want, in this order. */
static void
assert_logins(const struct members *t, const char *const *want, size_t n)
{
	size_t i;

	cr_assert_eq(t->count, n, "%zu members, want %zu", t->count, n);
	for (i = 0; i < n; i++)
		cr_assert_str_eq(t->v[i].login, want[i], "member %zu", i);
}

/*
 * alice and carol are listed, bob has the group as primary group, erin
 * both; dave is in neither and ghost, listed, has no account.  Given out
 * of order.
 */
static char *const finger_names[] = { "carol", "alice", "ghost", "erin",
	NULL };
static const struct account finger_accounts[] = {
	{ "dave", "Dave Nonmember,,,", "/home/dave", 100 },
	{ "erin", "Erin", "/home/erin", FINGER_GID },
	{ "carol", "Carol", "/home/carol", 100 },
	{ "bob", "Bob Builder", "/home/bob", FINGER_GID },
	{ "alice", "Alice Liddell,Room 1,555,", "/home/alice", 100 },
};
static const char *const finger_logins[] = { "alice", "bob", "carol",
	"erin" };

/* The table members_build() gives for the finger group: there is one. */
static struct members *
build(char *const *names, const struct account *accounts, size_t n)
{
	struct members *t = members_build(FINGER_GID, names, accounts, n);

	cr_assert_not_null(t);
	return t;
}

static struct members *
build_finger(void)
{
	return build(finger_names, finger_accounts, 5);
}

Test(members_build, list_and_primary_group_both_count)
{
	struct members *t = build_finger();

	assert_logins(t, finger_logins, 4);
	cr_assert_eq(t->refs, 1);
	members_release(t);
}

Test(members_build, fields_copied)
{
	struct members *t = build_finger();

	cr_assert_str_eq(t->v[0].home, "/home/alice");
	cr_assert_str_eq(t->v[1].home, "/home/bob");
	cr_assert_str_eq(t->v[2].home, "/home/carol");
	cr_assert_str_eq(t->v[3].home, "/home/erin");
	/* copies, not the caller's strings */
	cr_assert_neq(t->v[0].login, finger_accounts[4].login);
	cr_assert_neq(t->v[0].home, finger_accounts[4].home);
	members_release(t);
}

Test(members_build, login_line)
{
	struct members *t = build_finger();

	assert_str_bytes(t->v[0].login_line, t->v[0].login_line_len,
	    "Login: alice\tName: Alice Liddell\r\n");
	assert_str_bytes(t->v[1].login_line, t->v[1].login_line_len,
	    "Login: bob\tName: Bob Builder\r\n");
	members_release(t);
}

Test(members_build, list_is_a_table_in_order)
{
	struct members *t = build_finger();

	assert_str_bytes(t->list, t->list_len,
	    "Login     Name\r\n"
	    "alice     Alice Liddell\r\n"
	    "bob       Bob Builder\r\n"
	    "carol     Carol\r\n"
	    "erin      Erin\r\n");
	members_release(t);
}

/* As a reading sends it: listed and primary, so collected twice. */
Test(members_build, account_listed_and_primary_once)
{
	char *const names[] = { "erin", "alice", NULL };
	const struct account accounts[] = {
		{ "erin", "Erin", "/home/erin", FINGER_GID },
		{ "alice", "Alice", "/home/alice", 100 },
		{ "erin", "Erin", "/home/erin", FINGER_GID },
		{ "alice", "Alice", "/home/alice", 100 },
		{ "erin", "Erin", "/home/erin", FINGER_GID },
	};
	const char *const want[] = { "alice", "erin" };
	struct members *t = build(names, accounts, 5);

	assert_logins(t, want, 2);
	assert_str_bytes(t->list, t->list_len,
	    "Login     Name\r\n"
	    "alice     Alice\r\n"
	    "erin      Erin\r\n");
	members_release(t);
}

Test(members_build, listed_name_without_account_ignored)
{
	char *const names[] = { "ghost", "zed", NULL };
	const struct account accounts[] = {
		{ "zed", "Zed", "/home/zed", 100 },
	};
	const char *const want[] = { "zed" };
	struct members *t = build(names, accounts, 1);

	assert_logins(t, want, 1);
	cr_assert_null(members_find(t, "ghost", 5));
	members_release(t);
}

Test(members_build, empty_gecos)
{
	const struct account accounts[] = {
		{ "bob", "", "/home/bob", FINGER_GID },
		{ "carl", ",Room 2,,", "/home/carl", FINGER_GID },
	};
	struct members *t = build(no_one, accounts, 2);

	assert_str_bytes(t->v[0].login_line, t->v[0].login_line_len,
	    "Login: bob\tName: \r\n");
	assert_str_bytes(t->v[1].login_line, t->v[1].login_line_len,
	    "Login: carl\tName: \r\n");
	members_release(t);
}

/* chfn lets a user write the GECOS: nothing in it may reach a terminal. */
Test(members_build, gecos_filtered)
{
	const struct account accounts[] = {
		{ "mallory", "Mal\x1b[2J\rlo\nry\tX\x7f\xc2\x9b" "1;\xff" "Y",
		    "/home/mallory", FINGER_GID },
	};
	struct members *t = build(no_one, accounts, 1);

	assert_str_bytes(t->v[0].login_line, t->v[0].login_line_len,
	    "Login: mallory\tName: Mal[2JloryX1;Y\r\n");
	assert_str_bytes(t->list, t->list_len,
	    "Login     Name\r\n"
	    "mallory   Mal[2JloryX1;Y\r\n");
	members_release(t);
}

Test(members_build, gecos_utf8_kept)
{
	const struct account accounts[] = {
		{ "jose", "Jos\xc3\xa9 Mu\xc3\xb1oz \xf0\x9f\x98\x80,,",
		    "/home/jose", FINGER_GID },
	};
	struct members *t = build(no_one, accounts, 1);

	assert_str_bytes(t->v[0].login_line, t->v[0].login_line_len,
	    "Login: jose\tName: Jos\xc3\xa9 Mu\xc3\xb1oz \xf0\x9f\x98\x80\r\n");
	members_release(t);
}

/* A full name is cut at FIELD_MAX bytes. */
Test(members_build, long_gecos_cut)
{
	char gecos[FIELD_MAX + 100], want[FIELD_MAX + 64];
	struct account accounts[] = {
		{ "long", gecos, "/home/long", FINGER_GID },
	};
	struct members *t;
	int n;

	memset(gecos, 'x', sizeof(gecos) - 1);
	gecos[sizeof(gecos) - 1] = '\0';
	n = snprintf(want, sizeof(want), "Login: long\tName: %.*s\r\n",
	    FIELD_MAX, gecos);
	t = build(no_one, accounts, 1);
	cr_assert_eq(t->v[0].login_line_len, (size_t)n);
	cr_assert_eq(memcmp(t->v[0].login_line, want, (size_t)n), 0);
	members_release(t);
}

Test(members_build, empty_group)
{
	const struct account accounts[] = {
		{ "dave", "Dave", "/home/dave", 100 },
	};
	struct members *t = build(no_one, accounts, 1);

	cr_assert_eq(t->count, 0);
	assert_str_bytes(t->list, t->list_len, "Login     Name\r\n");
	cr_assert_null(members_find(t, "dave", 4));
	members_release(t);

	t = build(no_one, NULL, 0);
	cr_assert_eq(t->count, 0);
	assert_str_bytes(t->list, t->list_len, "Login     Name\r\n");
	members_release(t);
}

/* A NULL member list (a group entry without one) lists no one. */
Test(members_build, null_names)
{
	const struct account accounts[] = {
		{ "bob", "Bob", "/home/bob", FINGER_GID },
		{ "dave", "Dave", "/home/dave", 100 },
	};
	const char *const want[] = { "bob" };
	struct members *t = build(NULL, accounts, 2);

	assert_logins(t, want, 1);
	members_release(t);
}

/* Sorted by bytes, as strcmp orders them. */
Test(members_build, sorted_by_login)
{
	const struct account accounts[] = {
		{ "zoe", "", "/", FINGER_GID },
		{ "Zed", "", "/", FINGER_GID },
		{ "al", "", "/", FINGER_GID },
		{ "alice", "", "/", FINGER_GID },
		{ "a", "", "/", FINGER_GID },
		{ "b1", "", "/", FINGER_GID },
		{ "_svc", "", "/", FINGER_GID },
	};
	const char *const want[] = { "Zed", "_svc", "a", "al", "alice", "b1",
		"zoe" };
	struct members *t = build(no_one, accounts, 7);

	assert_logins(t, want, 7);
	members_release(t);
}

#define FIND(t, lit)	members_find((t), (lit), sizeof(lit) - 1)

Test(members_find, exact_match)
{
	struct members *t = build_finger();
	const struct member *m;

	m = FIND(t, "alice");
	cr_assert_not_null(m);
	cr_assert_eq(m, &t->v[0]);
	cr_assert_str_eq(m->login, "alice");
	cr_assert_eq(FIND(t, "bob"), &t->v[1]);
	cr_assert_eq(FIND(t, "carol"), &t->v[2]);
	cr_assert_eq(FIND(t, "erin"), &t->v[3]);
	members_release(t);
}

/* A name and its length: it may hold NUL bytes. */
struct name {
	const char	*bytes;
	size_t		 len;
};
#define NAME(lit)	{ (lit), sizeof(lit) - 1 }

/* The finger group has none of the n names. */
static void
assert_none_found(const struct name *names, size_t n)
{
	struct members *t = build_finger();
	size_t i;

	for (i = 0; i < n; i++)
		cr_assert_null(members_find(t, names[i].bytes, names[i].len),
		    "\"%.*s\" found", (int)names[i].len, names[i].bytes);
	members_release(t);
}

#define ASSERT_NONE_FOUND(names)					\
	assert_none_found((names), sizeof(names) / sizeof((names)[0]))

Test(members_find, not_members)
{
	static const struct name names[] = { NAME("dave"), NAME("ghost"),
		NAME("root"), NAME("Alice"), NAME(""), NAME("zzzz"), NAME("0") };

	ASSERT_NONE_FOUND(names);
}

Test(members_find, prefix_and_longer_not_found)
{
	static const struct name names[] = { NAME("ali"), NAME("a"),
		NAME("alicex"), NAME("alice "), NAME("bo"), NAME("bobby"),
		NAME("erin2") };

	ASSERT_NONE_FOUND(names);
}

/* The len bytes are the name: not a C string. */
Test(members_find, embedded_nul_not_found)
{
	static const struct name names[] = { NAME("alice\0"),
		NAME("alice\0x"), NAME("ali\0ce"), NAME("\0alice"),
		NAME("bob\0\0\0\0\0\0\0\0\0\0\0\0\0") };

	ASSERT_NONE_FOUND(names);
}

Test(members_find, name_not_terminated)
{
	struct members *t = build_finger();
	const char buf[] = "bobcat";

	cr_assert_eq(members_find(t, buf, 3), &t->v[1]);
	cr_assert_null(members_find(t, buf, 4));
	cr_assert_null(members_find(t, buf, 2));
	members_release(t);
}

/* Every one of many members is found; the names between them are not. */
Test(members_find, many_members)
{
	enum { N = 300 };
	static char logins[N][16];
	static struct account accounts[N];
	struct members *t;
	char probe[16];
	size_t i;

	for (i = 0; i < N; i++) {
		snprintf(logins[i], sizeof(logins[i]), "u%03zu", (i * 7) % N);
		accounts[i] = (struct account){ logins[i], "", "/", FINGER_GID };
	}
	t = build(no_one, accounts, N);
	cr_assert_eq(t->count, N);
	for (i = 0; i < N; i++) {
		snprintf(probe, sizeof(probe), "u%03zu", i);
		cr_assert_eq(members_find(t, probe, 4), &t->v[i], "%s", probe);
		snprintf(probe, sizeof(probe), "u%03zua", i);
		cr_assert_null(members_find(t, probe, 5), "%s", probe);
		cr_assert_null(members_find(t, probe, 3), "%.3s", probe);
	}
	members_release(t);
}

/* A client holds the table it started with across a reload. */
Test(members_refs, hold_and_release)
{
	struct members *t = build_finger();
	struct members *held = members_hold(t);

	cr_assert_eq(held, t);
	cr_assert_eq(t->refs, 2);
	members_release(t);
	cr_assert_eq(held->refs, 1);
	cr_assert_eq(FIND(held, "alice"), &held->v[0]);
	assert_str_bytes(held->v[0].login_line, held->v[0].login_line_len,
	    "Login: alice\tName: Alice Liddell\r\n");
	members_release(held);	/* freed: ASan tells of a leak or reuse */
}

Test(members_refs, many_holders)
{
	struct members *t = build_finger();
	unsigned i;

	for (i = 0; i < 100; i++)
		cr_assert_eq(members_hold(t), t);
	cr_assert_eq(t->refs, 101);
	for (i = 0; i < 100; i++)
		members_release(t);
	cr_assert_eq(t->refs, 1);
	cr_assert_str_eq(t->v[3].login, "erin");
	members_release(t);
	members_release(NULL);
}

/*
 * members_send() and members_received(): the reading in a child of the
 * daemon's (userdb.c), through a memory stream here.  What group's
 * reading sends, *len bytes.
 */
static char *
sent(const char *group, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	cr_assert_not_null(f);
	cr_assert(members_send(f, group));
	cr_assert_eq(fclose(f), 0);
	return text;
}

/* The table group's reading gives. */
static struct members *
load(const char *group)
{
	const char *why = NULL;
	struct members *t;
	size_t len;
	char *text = sent(group, &len);

	t = members_received(text, len, &why);
	free(text);
	cr_assert_not_null(t, "the reading of \"%s\": %s", group,
	    why ? why : "(no reason)");
	return t;
}

Test(members_read, finger_group)
{
	struct members *t = load("finger");

	assert_logins(t, finger_logins, 4);
	cr_assert_str_eq(t->v[0].home, "/home/alice");
	cr_assert_str_eq(t->v[1].home, "/home/bob");
	cr_assert_str_eq(t->v[0].plan, "/home/alice/.plan");
	cr_assert_str_eq(t->v[0].project, "/home/alice/.project");
	cr_assert_str_eq(t->v[0].pgpkey, "/home/alice/.pgpkey");
	assert_str_bytes(t->list, t->list_len,
	    "Login     Name\r\n"
	    "alice     Alice Liddell\r\n"
	    "bob       Bob Builder\r\n"
	    "carol     Carol\r\n"
	    "erin      Erin\r\n");
	cr_assert_null(FIND(t, "dave"));
	cr_assert_null(FIND(t, "ghost"));
	members_release(t);
}

Test(members_read, other_group)
{
	static const char *const want[] = { "dave", "frank" };
	struct members *t = load("staff");

	assert_logins(t, want, 2);
	assert_str_bytes(t->list, t->list_len,
	    "Login     Name\r\n"
	    "dave      Dave Nonmember\r\n"
	    "frank\r\n");
	members_release(t);
}

Test(members_read, primary_group_only)
{
	static const char *const want[] = { "alice", "carol", "dave" };
	struct members *t = load("users");

	assert_logins(t, want, 3);
	members_release(t);
}

Test(members_read, group_without_members)
{
	struct members *t = load("empty");

	cr_assert_eq(t->count, 0);
	assert_str_bytes(t->list, t->list_len, "Login     Name\r\n");
	members_release(t);
}

/* A reload gives a new table; the held one is unchanged. */
Test(members_read, reload)
{
	struct members *old = load("finger");
	struct members *held = members_hold(old);
	struct members *fresh = load("finger");

	cr_assert_neq(fresh, old);
	members_release(old);
	assert_logins(held, finger_logins, 4);
	assert_logins(fresh, finger_logins, 4);
	cr_assert_eq(held->list_len, fresh->list_len);
	cr_assert_eq(memcmp(held->list, fresh->list, held->list_len), 0);
	members_release(held);
	members_release(fresh);
}

#define BIG_ACCOUNTS	30000
#define BIG_LISTED	10000
#define BIG_PRIMARY	100
/* The bound of its reading, in seconds: AddressSanitizer slows it 3x. */
#if defined(__SANITIZE_ADDRESS__)
#define BIG_SECONDS	4.0
#else
#define BIG_SECONDS	1.5
#endif

/*
 * The big group's files: BIG_ACCOUNTS accounts, the last BIG_LISTED
 * listed (a search by name goes through the others first), the first
 * BIG_PRIMARY members by their primary group.
 */
static void
big_database(const char *passwd, const char *group)
{
	unsigned i;
	FILE *f;

	cr_assert_not_null(f = fopen(passwd, "w"));
	for (i = 0; i < BIG_ACCOUNTS; i++)
		fprintf(f, "u%05u:x:%u:%u:User %u:/home/u%05u:/bin/sh\n", i,
		    10000 + i, i < BIG_PRIMARY ? 90 : 100, i, i);
	cr_assert_eq(fclose(f), 0);
	cr_assert_not_null(f = fopen(group, "w"));
	fprintf(f, "users:x:100:\nbig:x:90:");
	for (i = BIG_ACCOUNTS - BIG_LISTED; i < BIG_ACCOUNTS; i++)
		fprintf(f, "%su%05u", i > BIG_ACCOUNTS - BIG_LISTED ? "," : "",
		    i);
	fprintf(f, ",nosuchaccount\n");
	cr_assert_eq(fclose(f), 0);
}

/* The process's CPU time: a loaded machine does not stretch it. */
static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A group of 10,000 listed members among 30,000 accounts, and 100 more
 * by primary group, through nss_wrapper (issue 20, also seen): read in
 * well under a second of CPU, with every member, once.  One getpwnam a
 * member, each reading the whole database, took ten seconds.
 */
Test(members_read, ten_thousand_members_in_well_under_a_second)
{
	char dir[] = "/tmp/fingerd-members-XXXXXX", passwd[64], group[64];
	struct members *t;
	double took;
	char login[16];
	size_t i;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	big_database(passwd, group);
	cr_assert_eq(setenv("NSS_WRAPPER_PASSWD", passwd, 1), 0);
	cr_assert_eq(setenv("NSS_WRAPPER_GROUP", group, 1), 0);
	/*
	 * nss_wrapper's own reading of the files, once, is not timed: it
	 * grows its cache line by line, which AddressSanitizer's realloc
	 * makes quadratic.
	 */
	cr_assert_not_null(getpwnam("u00000"));
	cr_assert_not_null(getgrnam("big"));
	took = cpu_seconds();
	t = load("big");
	took = cpu_seconds() - took;
	unlink(passwd);
	unlink(group);
	rmdir(dir);
	cr_assert_eq(t->count, BIG_LISTED + BIG_PRIMARY, "%zu members",
	    t->count);
	for (i = 0; i < t->count; i++) {
		snprintf(login, sizeof(login), "u%05zu", i < BIG_PRIMARY ? i :
		    BIG_ACCOUNTS - BIG_LISTED + (i - BIG_PRIMARY));
		cr_assert_str_eq(t->v[i].login, login);
	}
	cr_log_info("the group read in %.3f s of CPU", took);
	cr_assert_lt(took, BIG_SECONDS, "the group read in %.2f s", took);
	members_release(t);
}

/* The block a worker gets holds the same table, byte for byte. */
Test(members_pack, round_trip)
{
	struct members *t = load("finger"), *u;
	size_t len, i;
	void *block;

	for (i = 0; i < t->count; i++)
		t->v[i].mount = (unsigned)(i / 2);	/* two homes a mount */
	block = members_pack(t, &len);
	cr_assert_not_null(block);
	u = members_unpack(block, len);
	cr_assert_not_null(u);
	cr_assert_eq(u->count, t->count);
	for (i = 0; i < t->count; i++) {
		cr_assert_str_eq(u->v[i].login, t->v[i].login);
		cr_assert_str_eq(u->v[i].home, t->v[i].home);
		cr_assert_str_eq(u->v[i].plan, t->v[i].plan);
		cr_assert_str_eq(u->v[i].project, t->v[i].project);
		cr_assert_str_eq(u->v[i].pgpkey, t->v[i].pgpkey);
		cr_assert_eq(u->v[i].login_line_len, t->v[i].login_line_len);
		cr_assert_eq(memcmp(u->v[i].login_line, t->v[i].login_line,
		    t->v[i].login_line_len), 0);
		cr_assert_eq(u->v[i].mount, i / 2);
	}
	assert_str_bytes(u->list, u->list_len,
	    "Login     Name\r\n"
	    "alice     Alice Liddell\r\n"
	    "bob       Bob Builder\r\n"
	    "carol     Carol\r\n"
	    "erin      Erin\r\n");
	cr_assert_eq(FIND(u, "erin"), &u->v[3]);
	cr_assert_null(FIND(u, "dave"));
	members_release(u);
	members_release(t);
	free(block);
}

Test(members_pack, empty_table)
{
	struct members *t = members_build(FINGER_GID, no_one, NULL, 0), *u;
	size_t len;
	void *block = members_pack(t, &len);

	cr_assert_not_null(u = members_unpack(block, len));
	cr_assert_eq(u->count, 0);
	assert_str_bytes(u->list, u->list_len, "Login     Name\r\n");
	members_release(u);
	members_release(t);
	free(block);
}

/* A block cut short, with a wrong magic, or an offset outside: refused. */
Test(members_pack, damaged_blocks_refused)
{
	struct members *t = load("finger");
	size_t len, i;
	uint8_t *block = members_pack(t, &len), *copy = malloc(len);
	uint64_t offset;

	cr_assert_null(members_unpack(block, len - 1));
	cr_assert_null(members_unpack(block, 8));
	memcpy(copy, block, len);
	copy[0] ^= 1;
	cr_assert_null(members_unpack(copy, len), "magic");
	/* Each offset of the first record pointed past the end in turn. */
	for (i = 0; i < 4; i++) {
		memcpy(copy, block, len);
		offset = len;
		memcpy(copy + 40 + 8 * i, &offset, sizeof(offset));
		cr_assert_null(members_unpack(copy, len), "offset %zu", i);
	}
	/* The first record's mount (its fs) a member past the last. */
	memcpy(copy, block, len);
	offset = t->count;
	memcpy(copy + 40 + 8 * 8, &offset, sizeof(offset));
	cr_assert_null(members_unpack(copy, len), "a mount past the table");
	/* The last string without its NUL. */
	memcpy(copy, block, len);
	copy[len - 1] = 'x';
	cr_assert_null(members_unpack(copy, len), "unterminated list");
	members_release(t);
	free(block);
	free(copy);
}

/*
 * The list's columns: the logins padded to the longest, at least 8, plus
 * 2; a login of multi-byte characters counts its characters, and the
 * names, whatever they hold, start in one column.
 */
Test(members_build, list_columns_follow_the_longest_login)
{
	const struct account accounts[] = {
		{ "z", "Zed", "/home/z", FINGER_GID },
		{ "eightchr", "Eight", "/home/e", FINGER_GID },
		{ "a23456789012345678901234567890bc", "Thirty-two",
		    "/home/a", FINGER_GID },
		{ "j\xc3\xb6rg", "J\xc3\xb6rg M\xc3\xbcller \xe6\x97\xa5",
		    "/home/j", FINGER_GID },
	};
	struct members *t = build(no_one, accounts, 4);
	const char *pad = "                                  ";	/* 34 */

	cr_assert_eq(strlen(pad), 34);
	{
		char want[1024];

		snprintf(want, sizeof(want),
		    "Login%.*sName\r\n"
		    "a23456789012345678901234567890bc  Thirty-two\r\n"
		    "eightchr%.*sEight\r\n"
		    "j\xc3\xb6rg%.*sJ\xc3\xb6rg M\xc3\xbcller \xe6\x97\xa5\r\n"
		    "z%.*sZed\r\n",
		    29, pad, 26, pad, 30, pad, 33, pad);
		cr_assert_eq(t->list_len, strlen(want), "length %zu, want %zu",
		    t->list_len, strlen(want));
		cr_assert_eq(memcmp(t->list, want, t->list_len), 0,
		    "got \"%.*s\"", (int)t->list_len, t->list);
	}
	members_release(t);
}

Test(members_build, list_of_short_logins_is_ten_wide)
{
	const struct account accounts[] = {
		{ "ab", "Ab", "/home/ab", FINGER_GID },
		{ "cdefghij", "Eight", "/home/c", FINGER_GID },
	};
	struct members *t = build(no_one, accounts, 2);

	assert_str_bytes(t->list, t->list_len,
	    "Login     Name\r\n"
	    "ab        Ab\r\n"
	    "cdefghij  Eight\r\n");
	members_release(t);
}

Test(members_received, no_such_group_says_so)
{
	const char *why = NULL;
	size_t len;
	char *text = sent("no-such-group", &len);

	cr_assert_null(members_received(text, len, &why));
	cr_assert_str_eq(why, MEMBERS_NO_GROUP);
	free(text);
}

/* A reading cut anywhere before its end, or odd, builds no table. */
Test(members_received, cut_or_odd_is_refused)
{
	static const char progress[] = "p\0g79\0nalice\0p\0aalice\0Alice\0"
	    "/home/alice\0" "79\0z";
	static const char *const odd[] = {
		"z",			/* no gid */
		"gx\0z",		/* not a number */
		"g99999999999\0z",	/* past a gid */
		"g79\0aalice\0A\0/h\0z",	/* an account cut */
		"g79\0q\0z",		/* an unknown field */
	};
	static const size_t odd_len[] = { 2, 5, 15, 18, 7 };
	const char *why = NULL;
	struct members *t;
	size_t i, len;
	char *text = sent("finger", &len);

	for (i = 0; i + 1 < len; i++)
		cr_assert_null(members_received(text, i, &why),
		    "a table from %zu of %zu bytes", i, len);
	cr_assert_str_eq(why, "the process reading it ended before the end");
	free(text);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		cr_assert_null(members_received(odd[i], odd_len[i], &why),
		    "odd reading %zu", i);
	t = members_received(progress, sizeof(progress), &why);
	cr_assert_not_null(t, "%s", why);
	cr_assert_eq(t->count, 1);
	cr_assert_str_eq(t->v[0].login, "alice");
	members_release(t);
}
