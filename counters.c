/*
 * The counters of SIGUSR1's status line and of -M's metrics file: every
 * exchange by its reply and its end (the words of its log line), the
 * cache's hits and misses and the log lines lost, since start, summed
 * over every worker and generation.
 *
 * A worker counts into a page of its own, a memfd the supervisor
 * created for it (WORKER_FD_COUNTERS) and maps too: the worker is its
 * only writer, with relaxed atomic stores (a load and a store, no locked
 * instruction: no one else writes there), so that counting costs it no
 * lock, no call and no wait; the supervisor reads the page with relaxed
 * loads whenever it reports.  When a worker has exited, its page holds
 * its final counts: the supervisor adds them to its totals and unmaps
 * the page (counters_fold), so that no count of a dead worker or of an
 * old generation is lost, or counted twice.  The page is sealed against
 * shrinking, and the supervisor reads only numbers from it, never a
 * pointer or a length: a worker can make its counts wrong, nothing else.
 *
 * With -i, and in a worker whose page could not be made, the counts go
 * to memory of the process's own, which no one reads.
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "fingerd.h"

/* The page a worker counts into; the supervisor's totals are plain. */
struct counters {
	_Atomic uint64_t	 v[COUNTERS];
};

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
    "counters shared between processes must be lock-free");

/* The reply words other than an error's. */
static const char *const reply_words[] = {
	[REPLY_NONE] = "none", [REPLY_PLAN] = "plan",
	[REPLY_NO_PLAN] = "no-plan", [REPLY_LIST] = "list",
};

static struct counters local;		/* -i's, or a page's that failed */
static struct counters *mine = &local;

/* The supervisor's: the mapped pages of the workers alive. */
struct live_page {
	struct counters		*page;
	LIST_ENTRY(live_page)	 entry;
};

static LIST_HEAD(, live_page) live = LIST_HEAD_INITIALIZER(live);
static uint64_t totals[COUNTERS];	/* of the workers gone */
static int64_t started;			/* monotonic ns */
static size_t page_size;

/*
 * A reply's index in a counter: REPLY_* for the words of its own, the
 * error's value for an error line (the word is error_name()'s).
 */
static unsigned
reply_index(const char *reply)
{
	unsigned i;

	if (reply == NULL)
		return REPLY_NONE;
	for (i = REPLY_PLAN; i < REPLIES; i++)
		if (strcmp(reply, reply_words[i]) == 0)
			return i;
	for (i = E_NONE + 1; i < E_COUNT; i++)
		if (error_reply(i) != NULL && strcmp(reply, error_name(i)) == 0)
			return REPLY_ERROR(i);
	return REPLY_NONE;	/* not a word client.c gives */
}

/* The word of a reply index, or NULL where none is. */
const char *
counters_reply_word(unsigned reply)
{
	if (reply < REPLIES)
		return reply_words[reply];
	if (reply < REPLIES + E_COUNT && error_reply(reply - REPLIES) != NULL)
		return error_name(reply - REPLIES);
	return NULL;
}

/* Only this process writes it: a load and a store, no locked add. */
static void
bump(unsigned counter, uint64_t by)
{
	atomic_store_explicit(&mine->v[counter],
	    atomic_load_explicit(&mine->v[counter], memory_order_relaxed) + by,
	    memory_order_relaxed);
}

/* An exchange whose log line says this reply (NULL: none) and end. */
void
counters_exchange(const char *reply, enum fingerd_error end)
{
	bump(COUNTER_EXCHANGE(reply_index(reply), end), 1);
}

/* A member's reply made of files: sent from the cache, or read. */
void
counters_cache(bool hit)
{
	bump(hit ? COUNTER_CACHE_HITS : COUNTER_CACHE_MISSES, 1);
}

/* The lines this process's log lost since start (log_lost()). */
void
counters_log_lost(uint64_t lost)
{
	atomic_store_explicit(&mine->v[COUNTER_LOG_LOST], lost,
	    memory_order_relaxed);
}

/*
 * A worker: its page, when the supervisor gave it one of the right
 * size.  Mapped before the worker confines itself; the descriptor is
 * closed, so that nothing else can be mapped from it later.
 */
void
counters_attach(int fd)
{
	struct stat st;
	void *page;

	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(local) &&
	    (page = mmap(NULL, sizeof(local), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0)) != MAP_FAILED)
		mine = page;
	close(fd);
}

/* The supervisor: the clock of uptime starts. */
void
counters_start(void)
{
	long n = sysconf(_SC_PAGESIZE);

	started = monotonic_ns();
	page_size = n > 0 ? (size_t)n : 4096;
	if (page_size < sizeof(local))
		page_size = sizeof(local);
}

/*
 * A page for a worker about to start: the descriptor to give it (the
 * caller closes it once given), and the mapping in *page, for
 * counters_fold() once it has exited.  -1 on failure (logged): the
 * worker starts without one, and its counts are not seen.
 */
int
counters_page_new(struct counters **page)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct live_page *l;
	void *p = MAP_FAILED;
	int fd;

	*page = NULL;
	fd = memfd_create("fingerd-counters", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)page_size) != 0 ||
	    fcntl(fd, F_ADD_SEALS, seals) != 0 ||
	    (p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, 0)) ==
	    MAP_FAILED || (l = malloc(sizeof(*l))) == NULL) {
		log_warn("a worker's counters (memfd): its exchanges are not "
		    "counted");
		if (p != MAP_FAILED)
			munmap(p, page_size);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	l->page = *page = p;
	LIST_INSERT_HEAD(&live, l, entry);
	return fd;
}

/* A worker has exited: its final counts join the totals, once. */
void
counters_fold(struct counters *page)
{
	struct live_page *l;
	unsigned i;

	LIST_FOREACH(l, &live, entry)
		if (l->page == page)
			break;
	if (page == NULL || l == NULL)
		return;
	for (i = 0; i < COUNTERS; i++)
		totals[i] += atomic_load_explicit(&page->v[i],
		    memory_order_relaxed);
	LIST_REMOVE(l, entry);
	free(l);
	munmap(page, page_size);
}

/*
 * Every count since start: the totals of the workers gone, the counts
 * of those alive, and the supervisor's own lost lines.
 */
void
counters_sum(uint64_t *sum, uint64_t log_lost_here)
{
	const struct live_page *l;
	unsigned i;

	memcpy(sum, totals, sizeof(totals));
	LIST_FOREACH(l, &live, entry)
		for (i = 0; i < COUNTERS; i++)
			sum[i] += atomic_load_explicit(&l->page->v[i],
			    memory_order_relaxed);
	sum[COUNTER_LOG_LOST] += log_lost_here;
}

/* Seconds since counters_start(). */
int64_t
counters_uptime(void)
{
	return (monotonic_ns() - started) / NS_PER_SECOND;
}

/*
 * The status line (SIGUSR1): every count, then the daemon's state, as
 * key=value words; the exchanges by the words of their log lines.
 */
void
counters_status_format(char *buf, size_t size, const uint64_t *sum,
    const struct daemon_status *d)
{
	uint64_t by_reply[REPLY_KINDS] = { 0 }, by_end[E_COUNT] = { 0 };
	uint64_t all = 0;
	size_t n = 0;
	unsigned r, e;

	for (r = 0; r < REPLY_KINDS; r++)
		for (e = 0; e < E_COUNT; e++) {
			by_reply[r] += sum[COUNTER_EXCHANGE(r, e)];
			by_end[e] += sum[COUNTER_EXCHANGE(r, e)];
			all += sum[COUNTER_EXCHANGE(r, e)];
		}
	/* A line cut at size (it never is: it is some 900 bytes). */
#define PUT(...) n += (size_t)snprintf(buf + (n < size ? n : size), \
	    n < size ? size - n : 0, __VA_ARGS__)
	PUT("status exchanges=%" PRIu64, all);
	for (r = 0; r < REPLY_KINDS; r++)
		if (counters_reply_word(r) != NULL)
			PUT(" reply.%s=%" PRIu64, counters_reply_word(r),
			    by_reply[r]);
	for (e = 0; e < E_COUNT; e++)	/* an error line is a reply */
		if (error_reply(e) == NULL || by_end[e] != 0)
			PUT(" end.%s=%" PRIu64, error_name(e), by_end[e]);
	PUT(" evicted=%" PRIu64 " log.lost=%" PRIu64 " cache.hits=%" PRIu64
	    " cache.misses=%" PRIu64, by_end[E_EVICTED],
	    sum[COUNTER_LOG_LOST], sum[COUNTER_CACHE_HITS],
	    sum[COUNTER_CACHE_MISSES]);
	PUT(" engine=%s generation=%u workers=%zu members=%zu uptime=%" PRId64,
	    d->engine, d->generation, d->workers, d->members, d->uptime);
#undef PUT
}

static void
exchanges_sample(FILE *f, unsigned reply, enum fingerd_error end,
    uint64_t n)
{
	fprintf(f, "fingerd_exchanges_total{reply=\"%s\",end=\"%s\"} %" PRIu64
	    "\n", counters_reply_word(reply), error_name(end), n);
}

static void
metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * The metrics in Prometheus's text format (version 0.0.4), for
 * node_exporter's textfile collector.  An exchange's reply and end that
 * never met have no series.
 */
void
counters_metrics_format(FILE *f, const uint64_t *sum,
    const struct daemon_status *d)
{
	uint64_t evicted = 0;
	unsigned r, e;

	metric_head(f, "fingerd_exchanges_total", "counter", "Exchanges "
	    "since start (one log line each), by the reply and end their "
	    "log line names.");
	for (r = 0; r < REPLY_KINDS; r++)
		for (e = 0; e < E_COUNT; e++) {
			if (e == E_EVICTED)
				evicted += sum[COUNTER_EXCHANGE(r, e)];
			if (sum[COUNTER_EXCHANGE(r, e)] != 0 &&
			    counters_reply_word(r) != NULL)
				exchanges_sample(f, r, e,
				    sum[COUNTER_EXCHANGE(r, e)]);
		}
	metric_head(f, "fingerd_evicted_total", "counter", "Connections "
	    "closed to make room for another (end=evicted).");
	fprintf(f, "fingerd_evicted_total %" PRIu64 "\n", evicted);
	metric_head(f, "fingerd_log_lines_lost_total", "counter", "Log lines "
	    "that could not be written.");
	fprintf(f, "fingerd_log_lines_lost_total %" PRIu64 "\n",
	    sum[COUNTER_LOG_LOST]);
	metric_head(f, "fingerd_cache_hits_total", "counter", "Members' "
	    "replies sent from the cache of converted plans.");
	fprintf(f, "fingerd_cache_hits_total %" PRIu64 "\n",
	    sum[COUNTER_CACHE_HITS]);
	metric_head(f, "fingerd_cache_misses_total", "counter", "Members' "
	    "replies whose files were read.");
	fprintf(f, "fingerd_cache_misses_total %" PRIu64 "\n",
	    sum[COUNTER_CACHE_MISSES]);
	metric_head(f, "fingerd_engine_info", "gauge", "The engine that "
	    "serves.");
	fprintf(f, "fingerd_engine_info{engine=\"%s\"} 1\n", d->engine);
	metric_head(f, "fingerd_generation", "gauge", "Generations of "
	    "workers since start (SIGHUP, a change of the user database).");
	fprintf(f, "fingerd_generation %u\n", d->generation);
	metric_head(f, "fingerd_workers", "gauge", "Worker processes "
	    "running, of every generation.");
	fprintf(f, "fingerd_workers %zu\n", d->workers);
	metric_head(f, "fingerd_members", "gauge", "Members of the group "
	    "served.");
	fprintf(f, "fingerd_members %zu\n", d->members);
	metric_head(f, "fingerd_uptime_seconds", "gauge", "Seconds since "
	    "start.");
	fprintf(f, "fingerd_uptime_seconds %" PRId64 "\n", d->uptime);
}
