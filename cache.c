/*
 * Converted plans, kept so that many queries for one plan cost one read
 * and one conversion.  An entry is a whole reply (Login line, Plan line,
 * filtered plan; with /W the project and key lines before the plan),
 * keyed by the identity of every file it came from (device, inode, size,
 * mtime, ctime, as fstat gives them on each query; a file that was not
 * there is part of the key too) and by its Login line.  A plan that
 * changed, was replaced or became a link never matches: each query opens
 * the file again (O_NOFOLLOW) and looks the cache up with what fstat
 * says now.
 *
 * Bounded in bytes: what the table holds, what is being built and what
 * is still being sent after its eviction all count.  When there is no
 * room even after evicting the least recently used entries nobody is
 * sending, a plan is streamed as if there were no cache.  No I/O here.
 *
 * Bounded in age too: an entry is served for CACHE_TRUSTED_NS from the
 * time its files began to be read, then read again.  A write that
 * changes no timestamp (through a shared mapping, once its page is
 * dirty: only the first write fault after a writeback updates mtime) or a
 * file system that keeps none would otherwise be served stale for ever.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <stdlib.h>
#include <string.h>

#include "fingerd.h"

#define BUCKETS		256	/* a power of two */

struct cached_plan {
	struct cached_plan	*next;		/* in its bucket */
	struct cached_plan	*newer, *older;	/* in the LRU list */
	struct reply_key	 key;
	unsigned		 refs;		/* senders, + 1 in the table */
	bool			 in_table;
	size_t			 size;		/* what it counts for */
	int64_t			 read_at;	/* monotonic ns, reserved */
	size_t			 login_len;
	size_t			 len;
	uint8_t			 data[];
};

struct plan_cache {
	struct cached_plan	*buckets[BUCKETS];
	struct cached_plan	*newest, *oldest;
	size_t			 bytes, max_bytes;
};

struct plan_cache *
plan_cache_new(size_t max_bytes)
{
	struct plan_cache *cache = calloc(1, sizeof(*cache));

	if (cache != NULL)
		cache->max_bytes = max_bytes;
	return cache;
}

static size_t
bucket(const struct reply_key *r)
{
	const struct plan_key *k = &r->file[PART_PLAN];
	uint64_t h = ((uint64_t)k->ino * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)k->dev) + r->verbose;

	return (size_t)(h >> 32) & (BUCKETS - 1);
}

/* Whether two keys name the same file in the same state. */
bool
plan_key_equal(const struct plan_key *a, const struct plan_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	    a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec;
}

/* Whether two replies are made of the same files in the same states. */
bool
reply_key_equal(const struct reply_key *a, const struct reply_key *b)
{
	int p;

	if (a->present != b->present || a->verbose != b->verbose)
		return false;
	for (p = 0; p < PARTS; p++)
		if ((a->present & PART_BIT(p)) &&
		    !plan_key_equal(&a->file[p], &b->file[p]))
			return false;
	return true;
}

/* The key of a file as statx(2) gives it (STATX_BASIC_STATS). */
void
plan_key_from_statx(struct plan_key *key, const struct statx *stx)
{
	key->dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	key->ino = stx->stx_ino;
	key->size = stx->stx_size;
	key->mtime_sec = stx->stx_mtime.tv_sec;
	key->mtime_nsec = stx->stx_mtime.tv_nsec;
	key->ctime_sec = stx->stx_ctime.tv_sec;
	key->ctime_nsec = stx->stx_ctime.tv_nsec;
}

/*
 * Whether a reply made from the file of this key may be kept, now being
 * the time (CLOCK_REALTIME, seconds): a file changed less than a second
 * ago may change again within the same timestamp tick, unseen.
 */
bool
plan_key_settled(const struct plan_key *key, time_t now)
{
	return key->mtime_sec < now - 1 && key->ctime_sec < now - 1;
}

/* Whether every file of a reply is settled (plan_key_settled). */
bool
reply_key_settled(const struct reply_key *key, time_t now)
{
	int p;

	for (p = 0; p < PARTS; p++)
		if ((key->present & PART_BIT(p)) &&
		    !plan_key_settled(&key->file[p], now))
			return false;
	return true;
}

static void
lru_unlink(struct plan_cache *cache, struct cached_plan *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		cache->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		cache->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push(struct plan_cache *cache, struct cached_plan *e)
{
	e->older = cache->newest;
	e->newer = NULL;
	if (cache->newest != NULL)
		cache->newest->newer = e;
	cache->newest = e;
	if (cache->oldest == NULL)
		cache->oldest = e;
}

/* Takes e out of the table; it is freed once no one sends from it. */
static void
table_remove(struct plan_cache *cache, struct cached_plan *e)
{
	struct cached_plan **p = &cache->buckets[bucket(&e->key)];

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	lru_unlink(cache, e);
	e->in_table = false;
	plan_cache_release(cache, e);
}

/* Evicts unused entries, oldest first, until size more bytes fit. */
static bool
make_room(struct plan_cache *cache, size_t size)
{
	struct cached_plan *e = cache->oldest, *newer;

	for (; e != NULL && cache->bytes + size > cache->max_bytes; e = newer) {
		newer = e->newer;
		if (e->refs == 1)
			table_remove(cache, e);
	}
	return cache->bytes + size <= cache->max_bytes;
}

static struct cached_plan *
lookup(struct plan_cache *cache, const struct reply_key *key,
    const char *login_line, size_t login_len)
{
	struct cached_plan *e = cache->buckets[bucket(key)];

	for (; e != NULL; e = e->next)
		if (reply_key_equal(&e->key, key) && e->login_len == login_len &&
		    memcmp(e->data, login_line, login_len) == 0)
			break;
	return e;
}

/*
 * The reply for this login line and this file, held for the caller, or
 * NULL; now is the time (monotonic ns): an entry read CACHE_TRUSTED_NS
 * ago or more is dropped, so that its files are read again.  A hit
 * becomes the most recently used.
 */
struct cached_plan *
plan_cache_find(struct plan_cache *cache, const struct reply_key *key,
    const char *login_line, size_t login_len, int64_t now)
{
	struct cached_plan *e = lookup(cache, key, login_line, login_len);

	if (e == NULL)
		return NULL;
	if (now - e->read_at >= CACHE_TRUSTED_NS) {
		table_remove(cache, e);
		return NULL;
	}
	lru_unlink(cache, e);
	lru_push(cache, e);
	e->refs++;
	return e;
}

/*
 * An empty entry with room for capacity bytes of reply, held for the
 * caller, counted against the bound, its files about to be read now
 * (monotonic ns); NULL when it does not fit.
 */
struct cached_plan *
plan_cache_reserve(struct plan_cache *cache, const struct reply_key *key,
    size_t capacity, int64_t now)
{
	size_t size = sizeof(struct cached_plan) + capacity;
	struct cached_plan *e;

	if (capacity > cache->max_bytes / 8 || !make_room(cache, size))
		return NULL;
	if ((e = malloc(size)) == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->key = *key;
	e->refs = 1;
	e->size = size;
	e->read_at = now;
	cache->bytes += size;
	return e;
}

/*
 * Puts a reply the caller has written (len bytes, its Login line first)
 * into the table, replacing an entry of the same key and line.
 */
void
plan_cache_insert(struct plan_cache *cache, struct cached_plan *e,
    size_t login_len, size_t len)
{
	struct cached_plan *old;

	e->login_len = login_len;
	e->len = len;
	old = lookup(cache, &e->key, (const char *)e->data, login_len);
	if (old != NULL)
		table_remove(cache, old);
	e->next = cache->buckets[bucket(&e->key)];
	cache->buckets[bucket(&e->key)] = e;
	lru_push(cache, e);
	e->in_table = true;
	e->refs++;
}

uint8_t *
plan_cache_data(struct cached_plan *e)
{
	return e->data;
}

size_t
plan_cache_len(const struct cached_plan *e)
{
	return e->len;
}

void
plan_cache_release(struct plan_cache *cache, struct cached_plan *e)
{
	if (--e->refs > 0)
		return;
	cache->bytes -= e->size;
	free(e);
}

size_t
plan_cache_bytes(const struct plan_cache *cache)
{
	return cache->bytes;
}

void
plan_cache_free(struct plan_cache *cache)
{
	while (cache != NULL && cache->oldest != NULL)
		table_remove(cache, cache->oldest);
	free(cache);
}
