/*
 * loop.h: what the loop (worker.c) and the exchange (client.c) tag their
 * requests with.  The engines never look inside a tag (engine.h).
 */
#ifndef LOOP_H
#define LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/*
 * A tag: the operation, the client's slot and the client's serial (its
 * number among the clients that slot has had), so that a notice meant
 * for an earlier client of the slot is known for what it is.  The loop's
 * own requests use slot 0 and serial 0.
 */
enum op {
	OP_ACCEPT = 1,
	OP_ACCEPT_LAST,		/* at a stop: what waits, without waiting */
	OP_ACCEPT_PAUSE,	/* a timeout: accept again after an error */
	OP_LISTEN_POLL,		/* a connection waits, the slots are full */
	OP_EVICT_WAIT,		/* a timeout: the oldest silent may go */
	OP_ACCEPT_CHECK,	/* a timeout: the accept taken again */
	OP_STOP_TIMER,		/* the end of a stop's grace */
	OP_LOG_POLL,		/* the log can be written again */
	OP_SIGNAL,
	OP_CANCEL,
	OP_LOG,			/* a write of queued log lines */
	OP_LOG_TIMER,		/* a timeout: queued log lines are due */
	OP_WATCH,		/* a read of inotify events */
	OP_DEADLINE,		/* a client's deadline passed */
	OP_CLOSE,		/* a member's file closed */
	OP_RECV_QUERY,
	/* on a member's files, the parts of a reply (.plan, .project...) */
	OP_STAT_PART,
	OP_OPEN_PART,
	OP_STAT_OPENED,
	OP_READ_PART,
	OP_SEND,
	OP_DRAIN
};

#define TAG(op, index, serial)	((uint64_t)(serial) << 32 | \
				 (uint64_t)(index) << 8 | (op))
#define TAG_OP(t)		((enum op)((t) & 0xff))
#define TAG_INDEX(t)		((size_t)(((t) >> 8) & 0xffffff))
#define TAG_SERIAL(t)		((uint32_t)((t) >> 32))

/* How many completions one engine_wait() may return. */
#define COMPLETIONS(clients)	ENGINE_COMPLETIONS(clients)

#endif /* LOOP_H */
