/*
 * slowstart: a library the tests preload into fingerd (the harness's
 * fixture.preload) that holds each worker at its very start, before
 * main, for SLOWSTART_MS milliseconds: the time from the supervisor's
 * exec to the worker's signalfd, which a loaded machine can stretch as
 * far, made long enough for a test to send a signal into it.  The
 * supervisor (no FINGERD_WORKER in its environment) is not held.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static void __attribute__((constructor))
slowstart(void)
{
	const char *ms = getenv("SLOWSTART_MS");
	struct timespec left;
	long n;

	if (getenv("FINGERD_WORKER") == NULL || ms == NULL ||
	    (n = strtol(ms, NULL, 10)) <= 0)
		return;
	left.tv_sec = n / 1000;
	left.tv_nsec = n % 1000 * 1000000L;
	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		continue;
}
