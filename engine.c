/*
 * Which engine serves: io_uring where the kernel and this process's
 * seccomp profile allow it, else epoll (-E auto); or the one -E names.
 * The supervisor chooses once, as the -u account, and every worker of
 * the daemon runs that one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "engine.h"
#include "epoll.h"
#include "fingerd.h"
#include "uring.h"

const char *
engine_name(enum engine_kind kind)
{
	switch (kind) {
	case ENGINE_URING:
		return "io_uring";
	case ENGINE_EPOLL:
		return "epoll";
	default:
		return "auto";
	}
}

/*
 * The engine to serve with, asked for by -E; the log's first lines say
 * which, and under auto why io_uring is not used.  -E io_uring where it
 * is refused ends the program, saying why.
 */
enum engine_kind
engine_choose(enum engine_kind asked, char *why, size_t size)
{
	int error;

	if (asked == ENGINE_EPOLL) {
		snprintf(why, size, "-E epoll");
		return ENGINE_EPOLL;
	}
	if (uring_usable(why, size, &error)) {
		snprintf(why, size, "-E %s", engine_name(asked));
		return ENGINE_URING;
	}
	if (asked == ENGINE_URING)
		fatalx(EX_UNAVAILABLE, "-E io_uring: io_uring is refused: %s; "
		    "serve with -E epoll or -E auto, or allow io_uring", why);
	return ENGINE_EPOLL;
}

struct engine *
engine_open(enum engine_kind kind, unsigned clients)
{
	return kind == ENGINE_EPOLL ? epoll_engine_open(clients) :
	    uring_engine_open(clients);
}

/*
 * The log's line on the engine that serves, and why, under -E auto.
 * With epoll, a line more where openat2 is refused: the workers open
 * plans with openat (epoll.c).  The ring's own openat2 passes no
 * seccomp filter.
 */
void
engine_log(enum engine_kind kind, const char *why)
{
	char text[256];
	int refused;

	log_escape(text, sizeof(text), why, strlen(why));
	if (kind == ENGINE_URING)
		log_info("event=engine engine=io_uring");
	else if (strcmp(why, "-E epoll") == 0)
		log_info("event=engine engine=epoll why=\"-E epoll\"");
	else
		log_info("event=engine engine=epoll why=\"io_uring is refused: "
		    "%s\"", text);
	if (kind == ENGINE_EPOLL && (refused = openat2_refusal()) != 0)
		log_info("openat2 refused (%s): using openat",
		    refused == EPERM ? "EPERM" : "ENOSYS");
}
