/*
 * cache.c: a reply is found only for the same file identity and the same
 * Login line; the least recently used unused entries make room; entries
 * in use are never freed under their sender; the bound always holds.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string.h>

#include <criterion/criterion.h>

#include "fingerd.h"

#define LINE	"Login: alice\tName: Alice\r\n"
#define LINE_LEN	(sizeof(LINE) - 1)

static struct plan_key
key_of(uint64_t ino)
{
	struct plan_key k = {
		.dev = 8, .ino = ino, .size = 5, .mtime_sec = 1000,
		.mtime_nsec = 1, .ctime_sec = 1000, .ctime_nsec = 2,
	};

	return k;
}

/* The key of a plain query's reply: the plan alone. */
static struct reply_key
plain(const struct plan_key *k)
{
	struct reply_key r = { .present = PART_BIT(PART_PLAN) };

	r.file[PART_PLAN] = *k;
	return r;
}

static struct cached_plan *
add_reply(struct plan_cache *cache, const struct reply_key *r,
    const char *line, size_t len)
{
	struct cached_plan *e = plan_cache_reserve(cache, r, len, 0);

	cr_assert_not_null(e);
	memset(plan_cache_data(e), 'x', len);
	memcpy(plan_cache_data(e), line, strlen(line));
	plan_cache_insert(cache, e, strlen(line), len);
	plan_cache_release(cache, e);
	return e;
}

/* Builds and inserts a reply of len bytes; returns it, not held. */
static struct cached_plan *
add(struct plan_cache *cache, const struct plan_key *k, const char *line,
    size_t len)
{
	struct reply_key r = plain(k);

	return add_reply(cache, &r, line, len);
}

static bool
cached_reply(struct plan_cache *cache, const struct reply_key *r,
    const char *line)
{
	struct cached_plan *e = plan_cache_find(cache, r, line, strlen(line), 0);

	if (e != NULL)
		plan_cache_release(cache, e);
	return e != NULL;
}

static bool
cached(struct plan_cache *cache, const struct plan_key *k, const char *line)
{
	struct reply_key r = plain(k);

	return cached_reply(cache, &r, line);
}

/* The reply to LINE for k is cached: len bytes that begin with LINE. */
static void
expect_found(struct plan_cache *cache, const struct plan_key *k, size_t len)
{
	struct reply_key r = plain(k);
	struct cached_plan *e = plan_cache_find(cache, &r, LINE, LINE_LEN, 0);

	cr_assert_not_null(e);
	cr_assert_eq(plan_cache_len(e), len);
	cr_assert_eq(memcmp(plan_cache_data(e), LINE, LINE_LEN), 0);
	plan_cache_release(cache, e);
}

Test(cache, finds_the_same_file_and_line)
{
	struct plan_cache *cache = plan_cache_new(1 << 20);
	struct plan_key k = key_of(1);

	add(cache, &k, LINE, 100);
	expect_found(cache, &k, 100);
	plan_cache_free(cache);
}

Test(cache, misses_when_any_part_of_the_identity_differs)
{
	struct plan_cache *cache = plan_cache_new(1 << 20);
	struct plan_key k = key_of(1), other;

	add(cache, &k, LINE, 100);
	other = k, other.dev++;
	cr_assert(!cached(cache, &other, LINE));
	other = k, other.ino++;
	cr_assert(!cached(cache, &other, LINE));
	other = k, other.size++;
	cr_assert(!cached(cache, &other, LINE));
	other = k, other.mtime_sec++;
	cr_assert(!cached(cache, &other, LINE));
	other = k, other.mtime_nsec++;
	cr_assert(!cached(cache, &other, LINE));
	other = k, other.ctime_sec++;
	cr_assert(!cached(cache, &other, LINE));
	other = k, other.ctime_nsec++;
	cr_assert(!cached(cache, &other, LINE));
	cr_assert(!cached(cache, &k, "Login: alice\tName: Alice L.\r\n"));
	cr_assert(!cached(cache, &k, "Login: alic"));
	cr_assert(cached(cache, &k, LINE));
	plan_cache_free(cache);
}

/*
 * An entry may take an eighth of the cache at most: a cache of 8000
 * bytes holds seven entries of 900 bytes (and their headers, about 230
 * bytes each), not eight.
 */
#define ROOM		8000
#define ENTRY		900
#define FITTING		7

static void
fill(struct plan_cache *cache, uint64_t first)
{
	struct plan_key k;
	uint64_t i;

	for (i = first; i < first + FITTING; i++) {
		k = key_of(i);
		add(cache, &k, LINE, ENTRY);
	}
}

Test(cache, evicts_the_least_recently_used)
{
	struct plan_cache *cache = plan_cache_new(ROOM);
	struct plan_key k1 = key_of(1), k2 = key_of(2), k8 = key_of(8), k;
	uint64_t i;

	fill(cache, 1);
	for (i = 1; i <= FITTING; i++) {
		k = key_of(i);
		cr_assert(cached(cache, &k, LINE), "entry %d of %d missing",
		    (int)i, FITTING);
	}
	cr_assert(cached(cache, &k1, LINE));	/* k2 is now the oldest */
	add(cache, &k8, LINE, ENTRY);
	cr_assert(!cached(cache, &k2, LINE));
	for (i = 1; i <= FITTING + 1; i++) {
		k = key_of(i);
		cr_assert_eq(cached(cache, &k, LINE), i != 2, "entry %d", (int)i);
	}
	cr_assert_leq(plan_cache_bytes(cache), ROOM);
	plan_cache_free(cache);
}

Test(cache, never_evicts_an_entry_being_sent)
{
	struct plan_cache *cache = plan_cache_new(ROOM);
	struct plan_key k1 = key_of(1), k2 = key_of(2), k8 = key_of(8);
	struct reply_key r1 = plain(&k1);
	struct cached_plan *sending;

	fill(cache, 1);
	sending = plan_cache_find(cache, &r1, LINE, LINE_LEN, 0);
	cr_assert_not_null(sending);
	cached(cache, &k2, LINE);		/* k1 is the oldest, but in use */
	add(cache, &k8, LINE, ENTRY);
	cr_assert(cached(cache, &k1, LINE), "the entry being sent was evicted");
	cr_assert(cached(cache, &k2, LINE));
	cr_assert_leq(plan_cache_bytes(cache), ROOM);
	plan_cache_release(cache, sending);
	plan_cache_free(cache);
}

/* Replaced while sent: out of the table, but whole until released. */
Test(cache, a_replaced_entry_outlives_its_sender)
{
	struct plan_cache *cache = plan_cache_new(ROOM);
	struct plan_key k1 = key_of(1);
	struct reply_key r1 = plain(&k1);
	struct cached_plan *sending, *e;
	size_t before;

	add(cache, &k1, LINE, ENTRY);
	before = plan_cache_bytes(cache);
	sending = plan_cache_find(cache, &r1, LINE, LINE_LEN, 0);
	add(cache, &k1, LINE, ENTRY / 2);
	e = plan_cache_find(cache, &r1, LINE, LINE_LEN, 0);
	cr_assert_eq(plan_cache_len(e), ENTRY / 2, "the new entry is found");
	plan_cache_release(cache, e);
	cr_assert_eq(plan_cache_len(sending), ENTRY);
	cr_assert_eq(memcmp(plan_cache_data(sending), LINE, LINE_LEN), 0);
	cr_assert_gt(plan_cache_bytes(cache), before, "both still counted");
	plan_cache_release(cache, sending);
	cr_assert_lt(plan_cache_bytes(cache), before, "the old one freed");
	plan_cache_free(cache);
}

Test(cache, replaces_an_entry_of_the_same_key)
{
	struct plan_cache *cache = plan_cache_new(1 << 20);
	struct plan_key k = key_of(1);

	add(cache, &k, LINE, 100);
	add(cache, &k, LINE, 200);
	expect_found(cache, &k, 200);
	plan_cache_free(cache);
}

Test(cache, refuses_what_does_not_fit)
{
	struct plan_cache *cache = plan_cache_new(80000);
	struct plan_key k = key_of(1);
	struct reply_key r = plain(&k);

	/* An entry may take an eighth of the cache at most. */
	cr_assert_null(plan_cache_reserve(cache, &r, 10001, 0));
	cr_assert_eq(plan_cache_bytes(cache), 0);
	plan_cache_free(cache);
}

Test(cache, counts_every_byte_it_holds)
{
	struct plan_cache *cache = plan_cache_new(1 << 20);
	struct plan_key k1 = key_of(1), k2 = key_of(2);
	struct reply_key r2 = plain(&k2);
	struct cached_plan *building;
	size_t one;

	add(cache, &k1, LINE, 1000);
	one = plan_cache_bytes(cache);
	cr_assert_geq(one, 1000);
	building = plan_cache_reserve(cache, &r2, 1000, 0);
	cr_assert_eq(plan_cache_bytes(cache), 2 * one);
	plan_cache_release(cache, building);	/* abandoned: not inserted */
	cr_assert_eq(plan_cache_bytes(cache), one);
	plan_cache_free(cache);
}

Test(cache, a_key_is_settled_when_both_times_are_over_a_second_old)
{
	struct plan_key k = key_of(1);	/* mtime and ctime 1000 */

	cr_assert(plan_key_settled(&k, 1002));
	cr_assert_not(plan_key_settled(&k, 1001));
	cr_assert_not(plan_key_settled(&k, 1000));
	k.ctime_sec = 1001;
	cr_assert_not(plan_key_settled(&k, 1002));
	cr_assert(plan_key_settled(&k, 1003));
}

Test(cache, a_key_from_statx_names_device_inode_size_and_times)
{
	struct statx stx = {
		.stx_dev_major = 8, .stx_dev_minor = 3, .stx_ino = 42,
		.stx_size = 77, .stx_mtime = { 1000, 5 },
		.stx_ctime = { 1001, 6 },
	};
	struct plan_key k;

	plan_key_from_statx(&k, &stx);
	cr_assert_eq(k.dev, makedev(8, 3));
	cr_assert_eq(k.ino, 42);
	cr_assert_eq(k.size, 77);
	cr_assert(k.mtime_sec == 1000 && k.mtime_nsec == 5);
	cr_assert(k.ctime_sec == 1001 && k.ctime_nsec == 6);
}

/*
 * /W: the reply is made of up to three files; it is found only for the
 * same query form and the same state of every file, one that was not
 * there included.
 */
Test(cache, a_verbose_reply_keys_on_every_file)
{
	struct plan_cache *cache = plan_cache_new(1 << 20);
	struct plan_key k = key_of(1), project = key_of(2), key = key_of(3);
	struct reply_key w = plain(&k), other;

	w.verbose = true;
	w.present |= PART_BIT(PART_PROJECT);
	w.file[PART_PROJECT] = project;
	add_reply(cache, &w, LINE, 100);
	cr_assert(cached_reply(cache, &w, LINE));
	cr_assert(!cached(cache, &k, LINE), "a plain query got /W's reply");
	other = w, other.file[PART_PROJECT].mtime_nsec++;
	cr_assert(!cached_reply(cache, &other, LINE), "the project changed");
	other = w, other.present &= ~PART_BIT(PART_PROJECT);
	other.file[PART_PROJECT] = (struct plan_key){ 0 };
	cr_assert(!cached_reply(cache, &other, LINE), "the project is gone");
	other = w, other.present |= PART_BIT(PART_PGPKEY);
	other.file[PART_PGPKEY] = key;
	cr_assert(!cached_reply(cache, &other, LINE), "a key appeared");
	other = w, other.file[PART_PGPKEY] = key;	/* absent: not compared */
	cr_assert(cached_reply(cache, &other, LINE));
	plan_cache_free(cache);
}

Test(cache, a_reply_is_settled_when_every_file_is)
{
	struct plan_key k = key_of(1), project = key_of(2);
	struct reply_key w = plain(&k);

	w.present |= PART_BIT(PART_PROJECT);
	w.file[PART_PROJECT] = project;
	cr_assert(reply_key_settled(&w, 1002));
	w.file[PART_PROJECT].mtime_sec = 1001;
	cr_assert_not(reply_key_settled(&w, 1002));
	w.present &= ~PART_BIT(PART_PROJECT);	/* absent: not looked at */
	cr_assert(reply_key_settled(&w, 1002));
}

/*
 * An entry is served for CACHE_TRUSTED_NS from its reading, then dropped,
 * so that a change no timestamp shows (a write through a shared mapping)
 * is read again; what it held is given back.
 */
Test(cache, an_entry_is_read_again_once_trusted_long_enough)
{
	struct plan_cache *cache = plan_cache_new(1 << 20);
	struct plan_key k = key_of(1);
	struct reply_key r = plain(&k);
	struct cached_plan *e;
	int64_t read_at = 5 * NS_PER_SECOND;

	cr_assert_not_null(e = plan_cache_reserve(cache, &r, 100, read_at));
	memcpy(plan_cache_data(e), LINE, LINE_LEN);
	plan_cache_insert(cache, e, LINE_LEN, 100);
	plan_cache_release(cache, e);
	e = plan_cache_find(cache, &r, LINE, LINE_LEN,
	    read_at + CACHE_TRUSTED_NS - 1);
	cr_assert_not_null(e, "dropped before its time");
	plan_cache_release(cache, e);
	cr_assert_null(plan_cache_find(cache, &r, LINE, LINE_LEN,
	    read_at + CACHE_TRUSTED_NS), "served past its time");
	cr_assert_eq(plan_cache_bytes(cache), 0);
	cr_assert_null(plan_cache_find(cache, &r, LINE, LINE_LEN, read_at),
	    "still in the table");
	plan_cache_free(cache);
}
