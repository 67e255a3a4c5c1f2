/*
 * counters.c: a worker's counts are in the supervisor's sum while it
 * runs and, folded once it has exited, stay there, once; the status
 * line gives every reply and end word its count.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fingerd.h"

#define PLAN_OK		COUNTER_EXCHANGE(REPLY_PLAN, E_NONE)

/*
 * This process plays a worker: it counts into a page as a worker does,
 * and the sum is taken as the supervisor takes it.
 */
static struct counters *
worker_page(void)
{
	struct counters *page;
	int fd = counters_page_new(&page);

	cr_assert(fd >= 0);
	counters_attach(fd);
	return page;
}

Test(counts, a_worker_gone_is_counted_once)
{
	uint64_t sum[COUNTERS];
	struct counters *first, *second;

	counters_start();
	first = worker_page();
	counters_exchange("plan", E_NONE);
	counters_exchange("plan", E_NONE);
	counters_exchange("plan", E_NONE);
	counters_exchange("no-such-user", E_NONE);
	counters_exchange(NULL, E_TIMEOUT);
	counters_exchange(NULL, E_EVICTED);
	counters_cache(true);
	counters_cache(false);
	counters_log_lost(2);
	counters_sum(sum, 1);
	cr_assert_eq(sum[PLAN_OK], 3);
	cr_assert_eq(sum[COUNTER_EXCHANGE(REPLY_ERROR(E_NO_SUCH_USER),
	    E_NONE)], 1);
	cr_assert_eq(sum[COUNTER_EXCHANGE(REPLY_NONE, E_TIMEOUT)], 1);
	cr_assert_eq(sum[COUNTER_EXCHANGE(REPLY_NONE, E_EVICTED)], 1);
	cr_assert_eq(sum[COUNTER_CACHE_HITS], 1);
	cr_assert_eq(sum[COUNTER_CACHE_MISSES], 1);
	cr_assert_eq(sum[COUNTER_LOG_LOST], 3, "the supervisor's 1 too");

	counters_fold(first);			/* it exited */
	counters_fold(first);			/* reaped twice: no matter */
	counters_sum(sum, 0);
	cr_assert_eq(sum[PLAN_OK], 3);
	cr_assert_eq(sum[COUNTER_LOG_LOST], 2);

	second = worker_page();			/* its replacement */
	counters_exchange("plan", E_NONE);
	counters_sum(sum, 0);
	cr_assert_eq(sum[PLAN_OK], 4);
	counters_fold(second);
	counters_sum(sum, 0);
	cr_assert_eq(sum[PLAN_OK], 4);
	cr_assert_eq(sum[COUNTER_CACHE_HITS], 1);
}

Test(counts, status_line)
{
	static const char want[] = "status exchanges=14 reply.none=2 "
	    "reply.plan=9 reply.no-plan=0 reply.list=1 reply.too-long=0 "
	    "reply.invalid=0 reply.forwarding-denied=0 reply.list-denied=0 "
	    "reply.no-such-user=2 reply.too-many-from-address=0 end.ok=12 "
	    "end.timeout=1 end.client-gone=0 end.no-query=0 "
	    "end.server-error=0 end.evicted=1 end.bad-proxy=0 evicted=1 "
	    "log.lost=4 "
	    "cache.hits=8 cache.misses=1 engine=epoll generation=3 "
	    "workers=2 members=5 uptime=61";
	struct daemon_status d = {
		.engine = "epoll", .generation = 3, .workers = 2,
		.members = 5, .uptime = 61,
	};
	uint64_t sum[COUNTERS] = { 0 };
	char line[2048];

	sum[PLAN_OK] = 8;
	sum[COUNTER_EXCHANGE(REPLY_PLAN, E_CLIENT_GONE)] = 0;
	sum[COUNTER_EXCHANGE(REPLY_PLAN, E_TIMEOUT)] = 1;
	sum[COUNTER_EXCHANGE(REPLY_LIST, E_NONE)] = 1;
	sum[COUNTER_EXCHANGE(REPLY_ERROR(E_NO_SUCH_USER), E_NONE)] = 2;
	sum[COUNTER_EXCHANGE(REPLY_NONE, E_EVICTED)] = 1;
	sum[COUNTER_EXCHANGE(REPLY_NONE, E_NONE)] = 1;
	sum[COUNTER_CACHE_HITS] = 8;
	sum[COUNTER_CACHE_MISSES] = 1;
	sum[COUNTER_LOG_LOST] = 4;
	counters_status_format(line, sizeof(line), sum, &d);
	cr_assert_str_eq(line, want);
}
