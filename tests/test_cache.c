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

/* Builds and inserts a reply of len bytes; returns it, not held. */
static struct cached_plan *
add(struct plan_cache *cache, const struct plan_key *k, const char *line,
    size_t len)
{
	struct cached_plan *e = plan_cache_reserve(cache, k, len);

	cr_assert_not_null(e);
	memset(plan_cache_data(e), 'x', len);
	memcpy(plan_cache_data(e), line, strlen(line));
	plan_cache_insert(cache, e, strlen(line), len);
	plan_cache_release(cache, e);
	return e;
}

static bool
cached(struct plan_cache *cache, const struct plan_key *k, const char *line)
{
	struct cached_plan *e = plan_cache_find(cache, k, line, strlen(line));

	if (e != NULL)
		plan_cache_release(cache, e);
	return e != NULL;
}

Test(cache, finds_the_same_file_and_line)
{
	struct plan_cache *cache = plan_cache_new(1 << 20);
	struct plan_key k = key_of(1);
	struct cached_plan *e;

	add(cache, &k, LINE, 100);
	e = plan_cache_find(cache, &k, LINE, LINE_LEN);
	cr_assert_not_null(e);
	cr_assert_eq(plan_cache_len(e), 100);
	cr_assert_eq(memcmp(plan_cache_data(e), LINE, LINE_LEN), 0);
	plan_cache_release(cache, e);
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
 * bytes holds seven entries of 1000 bytes (and their headers), not eight.
 */
#define ROOM		8000
#define ENTRY		1000
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
	struct cached_plan *sending;

	fill(cache, 1);
	sending = plan_cache_find(cache, &k1, LINE, LINE_LEN);
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
	struct cached_plan *sending, *e;
	size_t before;

	add(cache, &k1, LINE, ENTRY);
	before = plan_cache_bytes(cache);
	sending = plan_cache_find(cache, &k1, LINE, LINE_LEN);
	add(cache, &k1, LINE, ENTRY / 2);
	e = plan_cache_find(cache, &k1, LINE, LINE_LEN);
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
	struct cached_plan *e;

	add(cache, &k, LINE, 100);
	add(cache, &k, LINE, 200);
	e = plan_cache_find(cache, &k, LINE, LINE_LEN);
	cr_assert_not_null(e);
	cr_assert_eq(plan_cache_len(e), 200);
	plan_cache_release(cache, e);
	plan_cache_free(cache);
}

Test(cache, refuses_what_does_not_fit)
{
	struct plan_cache *cache = plan_cache_new(80000);
	struct plan_key k = key_of(1);

	/* An entry may take an eighth of the cache at most. */
	cr_assert_null(plan_cache_reserve(cache, &k, 10001));
	cr_assert_eq(plan_cache_bytes(cache), 0);
	plan_cache_free(cache);
}

Test(cache, counts_every_byte_it_holds)
{
	struct plan_cache *cache = plan_cache_new(1 << 20);
	struct plan_key k1 = key_of(1), k2 = key_of(2);
	struct cached_plan *building;
	size_t one;

	add(cache, &k1, LINE, 1000);
	one = plan_cache_bytes(cache);
	cr_assert_geq(one, 1000);
	building = plan_cache_reserve(cache, &k2, 1000);
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
