/*
 * A worker: one single-threaded event loop (on the engine the supervisor
 * chose, engine.h) that serves clients
 * until SIGTERM (from the supervisor, when the daemon stops, or as its
 * parent-death signal) or SIGUSR2 (when a new generation takes over),
 * and the last exchange.
 * The supervisor execs it (fingerd with FINGERD_WORKER set) with its
 * descriptors in place (WORKER_FD_*): a fresh image, with nothing of the
 * supervisor's memory, where the user database was read; the table it
 * serves comes in a sealed memfd.  It never reads the user database.
 * Before it takes a client it confines itself: Landlock to the members'
 * homes, seccomp to the system calls of its loop.  With -i, serve() runs
 * the same loop in the one process, on the connection on stdin.
 *
 * loop() submits, waits and hands each completion to its owner: the
 * listener, the signals, the watches and the log here, the clients in
 * client.c.
 */
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "engine.h"
#include "fingerd.h"
#include "loop.h"

/* The pauses between accepts after an error: from 1 ms, doubling to 1 s. */
#define ACCEPT_PAUSE_MIN_NS	1000000
#define ACCEPT_PAUSE_MAX_NS	NS_PER_SECOND
/* The accept's checks after the start (accept_check_arm): 1/4 s, doubling. */
#define ACCEPT_CHECK_FIRST_NS	(NS_PER_SECOND / 4)
#define ACCEPT_CHECK_LAST_NS	(8 * NS_PER_SECOND)
/*
 * A client's lines: its exchange's and a warning's (client.c warns once
 * an exchange), kept room for.  The worker's own few lines (a signal, a
 * failed accept, which a client's room is kept for) have room of their
 * own, which log_room() keeps too.
 */
#define LINES_A_CLIENT		2

/*
 * What the listener has in flight: nothing, an accept, the pause after
 * an error, or a poll that says a connection waits while every slot is
 * taken.  (At a stop, one cancelled may still be on its way back while
 * the last accept is in flight: its completion changes nothing then.)
 */
enum listener_state {
	LISTENER_IDLE,
	LISTENER_ACCEPTING,
	LISTENER_PAUSED,
	LISTENER_POLLING
};

/*
 * Room for a connection that waits while every slot is taken: none
 * wanted; a poll said one waits; a client was evicted, and the room is
 * made once a slot is free; a timer (OP_EVICT_WAIT) runs until the next
 * may be.
 */
enum room_state {
	ROOM_NONE,
	ROOM_WANTED,
	ROOM_MAKING,
	ROOM_LATER
};

/*
 * One worker's loop: the context it shares with client.c, and what the
 * loop alone knows.  What a request names (the accept's address, the
 * signal's and the watches' buffers) is here, for as long as the process
 * (serve()).
 */
struct worker {
	struct context		 ctx;
	struct completion	*completions;	/* one batch */
	unsigned		 completions_size;
	int			 listen_fd;	/* -1 when not listening */
	enum listener_state	 listener;
	enum room_state		 room;
	bool			 fd_starved;	/* EMFILE: until a client closes */
	int64_t			 accept_delay;	/* the last pause, ns */
	int64_t			 check_delay;	/* the last check's, ns */
	bool			 checking;	/* an OP_ACCEPT_CHECK in flight */
	int64_t			 accept_logged;	/* the last error's line */
	unsigned long		 accept_unlogged;
	bool			 logging;	/* a write of log lines in flight */
	bool			 log_waiting;	/* a poll for the log writable */
	bool			 log_timer;	/* an OP_LOG_TIMER in flight */
	bool			 draining;	/* SIGTERM: no new clients */
	bool			 past_grace;	/* and the grace is over */
	int			 status;	/* the worker's exit status */
	int			 supervisor_fd;	/* the ready pipe, or -1 */
	int			 signal_fd;
	struct signalfd_siginfo	 signal_info;
	struct sockaddr_storage	 accept_address;
	socklen_t		 accept_address_len;
	char			 watch_events[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
};

static void	drain(struct worker *);

static int
signals_open(void)
{
	sigset_t set;
	int fd;

	signals_block(&set, false);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		fatal(EX_OSERR, "signalfd");
	return fd;
}

/*
 * The listener.  An accept is in flight while a client slot is free and
 * the log has room for the lines of every client (so that no line is
 * ever dropped); after an error, a pause that doubles; when out of
 * descriptors, none until a client leaves.  When every slot is taken, a
 * poll on the listening socket says that a connection waits: then the
 * client that has waited longest without completing its query is
 * evicted to make room, one at a time (client_evict_oldest), or, when
 * it is new, once it has had its grace.
 */
static void
accept_arm(struct worker *w)
{
	w->accept_address_len = sizeof(w->accept_address);
	engine_accept(w->ctx.engine, w->listen_fd, &w->accept_address,
	    &w->accept_address_len, false, TAG(OP_ACCEPT, 0, 0));
	w->listener = LISTENER_ACCEPTING;
}

/*
 * The kernel wakes one waiting accept for a connection (the wait is
 * exclusive), the one that waited longest, and counts the wake-up given
 * whether or not that accept is ever taken.  The accept of a worker
 * killed waits on as long as its ring lives, which the kernel ends some
 * time after the process (200 ms seen under load): a connection that
 * comes meanwhile wakes it, not the accept of the worker that replaced
 * it, and waits in the backlog for the next connection (CI saw 10 s).
 * So in its first seconds (1/4 s after its start, then 1/2, 1, 2, 4
 * and 8 s after each) a worker takes its accept back and makes it
 * again, which takes what waits: a cancel and an accept a check.
 */
static void
accept_check_arm(struct worker *w)
{
	w->check_delay = w->check_delay == 0 ? ACCEPT_CHECK_FIRST_NS :
	    w->check_delay * 2;
	if (w->check_delay > ACCEPT_CHECK_LAST_NS)
		return;
	engine_timeout(w->ctx.engine, monotonic_ns() + w->check_delay,
	    TAG(OP_ACCEPT_CHECK, 0, 0));
	w->checking = true;
}

static void
accept_checked(struct worker *w)
{
	w->checking = false;
	if (w->draining)
		return;
	if (w->listener == LISTENER_ACCEPTING)
		engine_cancel(w->ctx.engine, TAG(OP_ACCEPT, 0, 0),
		    TAG(OP_CANCEL, 0, 0));
	accept_check_arm(w);
}

/*
 * Tells the supervisor of an event, in one write that never blocks (the
 * pipe is O_NONBLOCK, and the supervisor reads it at once); false when
 * it could not be told (with -i, there is none).
 */
static bool
supervisor_tell(const struct worker *w, enum worker_event event,
    uint64_t count)
{
	struct worker_news news = {
		.pid = getpid(), .event = event, .count = count,
	};

	return w->supervisor_fd >= 0 &&
	    write(w->supervisor_fd, &news, sizeof(news)) == sizeof(news);
}

/*
 * Closes the listener, and tells the supervisor, which announces a new
 * generation only once no older worker can take a connection.
 */
static void
listener_close(struct worker *w)
{
	if (w->listen_fd >= 0) {
		engine_forget(w->ctx.engine, w->listen_fd);
		close(w->listen_fd);
		if (w->supervisor_fd >= 0 &&
		    !supervisor_tell(w, WORKER_CLOSED, 0))
			log_warn("telling the supervisor");
	}
	w->listen_fd = -1;
}

/*
 * The rule every accept obeys: the log has room for the lines of every
 * client served, the one it would take too, so that no line is lost
 * while the log is slow or stalled: the worker stops accepting instead.
 */
static bool
log_room_for_another(const struct worker *w)
{
	return log_room(LINES_A_CLIENT * (w->ctx.active + 1));
}

/*
 * At a stop: what waits in the queue is taken, without waiting for more,
 * while a slot is free for it and the log has room for its lines; then
 * the listener closes, and what still waits is refused (at a reload,
 * left to the next generation, on the socket the supervisor keeps).  A
 * stop does not wait for the log's room, as it does not for a slot: it
 * stops accepting.
 */
static void
accept_last(struct worker *w)
{
	if (!client_slot_free(&w->ctx) || w->fd_starved ||
	    !log_room_for_another(w)) {
		listener_close(w);
		return;
	}
	w->accept_address_len = sizeof(w->accept_address);
	engine_accept(w->ctx.engine, w->listen_fd, &w->accept_address,
	    &w->accept_address_len, true, TAG(OP_ACCEPT_LAST, 0, 0));
	w->listener = LISTENER_ACCEPTING;
}

/*
 * A connection waits and every slot is taken: room is made, or, when the
 * oldest silent client is new, the listener is polled again once it may
 * be evicted.
 */
static void
room_make(struct worker *w)
{
	int64_t at;

	w->room = client_evict_oldest(&w->ctx, &at) ? ROOM_MAKING : ROOM_NONE;
	if (at != 0) {
		engine_timeout(w->ctx.engine, at,
		    TAG(OP_EVICT_WAIT, 0, 0));
		w->room = ROOM_LATER;
	}
}

/*
 * Called between batches.  Room is made for a waiting connection only
 * here, once the whole batch is handled: the poll that says it waits can
 * come before, in one batch, the query of the client it would evict
 * (io_uring posts a request that completed inline before one that went
 * through task work).  A slot free is the room made (a client left);
 * the eviction timer, if any, runs on.
 */
static void
listener_arm(struct worker *w)
{
	if (w->listen_fd < 0 || w->draining ||
	    w->listener != LISTENER_IDLE || !log_room_for_another(w))
		return;
	if (client_slot_free(&w->ctx)) {
		if (w->room != ROOM_LATER)
			w->room = ROOM_NONE;
		if (!w->fd_starved)
			accept_arm(w);
	} else if (w->room == ROOM_MAKING || w->room == ROOM_LATER) {
		return;
	} else if (w->room == ROOM_WANTED) {
		room_make(w);
		if (client_slot_free(&w->ctx) && !w->fd_starved)
			accept_arm(w);	/* one waiting for a turn left */
	} else if (client_evictable(&w->ctx)) {
		engine_poll(w->ctx.engine, w->listen_fd, POLLIN,
		    TAG(OP_LISTEN_POLL, 0, 0));
		w->listener = LISTENER_POLLING;
	}
}

/*
 * A client closed its socket, or left its slot (client.c): descriptors
 * may be had again.
 */
void
worker_descriptors_freed(struct context *ctx)
{
	struct worker *w = (struct worker *)((char *)ctx -
	    offsetof(struct worker, ctx));

	w->fd_starved = false;
}

static void
accept_pause_arm(struct worker *w)
{
	if (w->accept_delay < ACCEPT_PAUSE_MIN_NS)
		w->accept_delay = ACCEPT_PAUSE_MIN_NS;
	else if ((w->accept_delay *= 2) > ACCEPT_PAUSE_MAX_NS)
		w->accept_delay = ACCEPT_PAUSE_MAX_NS;
	engine_timeout(w->ctx.engine, monotonic_ns() + w->accept_delay,
	    TAG(OP_ACCEPT_PAUSE, 0, 0));
	w->listener = LISTENER_PAUSED;
}

/* An accept error, logged at most once a second with those passed over. */
static void
accept_error_log(struct worker *w, int error)
{
	int64_t now = monotonic_ns();

	if (now - w->accept_logged < NS_PER_SECOND && w->accept_logged) {
		w->accept_unlogged++;
		return;
	}
	errno = error;
	if (w->accept_unlogged > 0)
		log_warn("accept (and %lu errors since the last line)",
		    w->accept_unlogged);
	else
		log_warn("accept");
	w->accept_logged = now;
	w->accept_unlogged = 0;
}

/*
 * The listening socket no longer listens (shut down from outside, as
 * ss -K does): this worker stops as for SIGTERM, and exits with
 * EX_UNAVAILABLE; the supervisor, which holds the socket too, looks at
 * it and says what follows.
 */
static void
listener_gone(struct worker *w)
{
	w->status = EX_UNAVAILABLE;
	listener_close(w);
	drain(w);
}

static void
accept_failed(struct worker *w, int error)
{
	switch (error) {
	case EINVAL:
	case EBADF:
	case ENOTSOCK:
	case EOPNOTSUPP:
		listener_gone(w);
		return;
	case EMFILE:
	case ENFILE:
		accept_error_log(w, error);
		if (w->ctx.active > 0)
			w->fd_starved = true;	/* until a client closes */
		else
			accept_pause_arm(w);
		return;
	default:	/* that connection's, or memory: a pause, then again */
		accept_error_log(w, error);
		accept_pause_arm(w);
		return;
	}
}

static void
accepted(struct worker *w, enum op op, int res)
{
	w->listener = LISTENER_IDLE;
	if (res >= 0) {
		w->accept_delay = 0;
		client_start(&w->ctx, res, &w->accept_address);
	}
	if (w->draining) {	/* accepted before the stop: served */
		if (op == OP_ACCEPT || res >= 0)
			accept_last(w);
		else
			listener_close(w);
	} else if (res < 0 && res != -ECANCELED) {	/* not a check's */
		accept_failed(w, -res);
	}
}

/*
 * A connection waits and every slot is taken (listener_arm); or the
 * socket no longer listens (a hang-up: a listening TCP socket reports
 * none), which no one is evicted for.  A poll that failed is tried
 * again after a pause, as an accept that failed.  One cancelled by a
 * stop may come back after the last accept went: then only a hang-up
 * counts.
 */
static void
listener_polled(struct worker *w, int res)
{
	bool current = w->listener == LISTENER_POLLING;

	if (current)
		w->listener = LISTENER_IDLE;
	if (res > 0 && (res & (POLLHUP | POLLERR)))
		listener_gone(w);
	else if (!current)
		return;
	else if (res > 0)
		w->room = ROOM_WANTED;
	else if (res != -ECANCELED)
		accept_pause_arm(w);
}

static void
signal_arm(struct worker *w)
{
	engine_read(w->ctx.engine, w->signal_fd, &w->signal_info,
	    sizeof(w->signal_info), (uint64_t)-1, NULL, TAG(OP_SIGNAL, 0, 0));
}

/* Reads the next inotify events (watches.c) from the watches' descriptor. */
static void
watch_arm(struct worker *w)
{
	engine_read(w->ctx.engine, watches_fd(w->ctx.watches),
	    w->watch_events, sizeof(w->watch_events), (uint64_t)-1, NULL,
	    TAG(OP_WATCH, 0, 0));
}

static void
watch_read(struct worker *w, int res)
{
	if (res == -ECANCELED)
		return;
	if (res <= 0) {
		errno = res < 0 ? -res : EIO;
		log_warn("reading inotify events; plans are looked at on "
		    "every query from now on");
		watches_disable(w->ctx.watches);
		return;
	}
	/*
	 * Events queued since this read are read now, before the batch's
	 * other completions: a query among them may have come after them.
	 */
	do {
		watches_events(w->ctx.watches, w->watch_events, (size_t)res);
		res = (int)read(watches_fd(w->ctx.watches), w->watch_events,
		    sizeof(w->watch_events));
	} while (res > 0);
	watch_arm(w);
}

/*
 * The log lines queued, written with one request at a time when they are
 * due; until then a timeout, one at a time, wakes the loop when they will
 * be.  (A timeout on each wait instead cost 3.5% more CPU per request.)
 * A log that cannot take them now (a pipe made O_NONBLOCK by its owner)
 * is polled until it can.
 */
static void
log_arm(struct worker *w)
{
	const void *data;
	size_t len;
	int64_t due;

	if (w->logging || w->log_waiting || w->past_grace)
		return;
	/*
	 * One look at the clock: due later when it looked, due now when
	 * log_next() looks again would leave the lines with no timer.
	 */
	if ((due = log_due()) == 0 && log_next(&data, &len)) {
		engine_write(w->ctx.engine, STDERR_FILENO, data, len,
		    TAG(OP_LOG, 0, 0));
		w->logging = true;
	} else if (due > 0 && !w->log_timer) {
		engine_timeout(w->ctx.engine, monotonic_ns() + due,
		    TAG(OP_LOG_TIMER, 0, 0));
		w->log_timer = true;
	}
}

/*
 * A log that refuses a line as not connected is syslog's socket whose
 * reader is gone (a syslog daemon restarted): the supervisor, which may
 * connect (this process may not), is told, once a second at most, and
 * connects the socket, which is this worker's too, again.
 */
static void
log_written(struct worker *w, int res)
{
	static int64_t told;
	int64_t now;

	w->logging = false;
	if ((res == -ECONNREFUSED || res == -ENOTCONN) &&
	    (now = monotonic_ns()) - told >= NS_PER_SECOND &&
	    supervisor_tell(w, WORKER_LOG_GONE, 0))
		told = now;
	if (!log_wrote(res) && !w->past_grace) {
		engine_poll(w->ctx.engine, STDERR_FILENO, POLLOUT,
		    TAG(OP_LOG_POLL, 0, 0));
		w->log_waiting = true;
	}
}

/*
 * Stop accepting, finish the exchanges in flight, write the log, exit.
 * The queue is emptied of what waits, then the listener closed; a client
 * is bounded by its deadline (-t), the log by the grace after it.
 */
static void
drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	engine_timeout(w->ctx.engine, monotonic_ns() +
	    (int64_t)w->ctx.options->timeout * NS_PER_SECOND + LOG_GRACE_NS,
	    TAG(OP_STOP_TIMER, 0, 0));
	if (w->listener == LISTENER_POLLING)
		engine_cancel(w->ctx.engine, TAG(OP_LISTEN_POLL, 0, 0),
		    TAG(OP_CANCEL, 0, 0));
	if (w->listener == LISTENER_PAUSED)
		engine_cancel(w->ctx.engine, TAG(OP_ACCEPT_PAUSE, 0, 0),
		    TAG(OP_CANCEL, 0, 0));
	if (w->room == ROOM_LATER)
		engine_cancel(w->ctx.engine, TAG(OP_EVICT_WAIT, 0, 0),
		    TAG(OP_CANCEL, 0, 0));
	if (w->checking)
		engine_cancel(w->ctx.engine, TAG(OP_ACCEPT_CHECK, 0, 0),
		    TAG(OP_CANCEL, 0, 0));
	if (w->listener == LISTENER_ACCEPTING)
		engine_cancel(w->ctx.engine, TAG(OP_ACCEPT, 0, 0),
		    TAG(OP_CANCEL, 0, 0));
	else if (w->listen_fd >= 0)
		accept_last(w);
}

/* The grace is over: what the log has not taken is lost, and counted. */
static void
grace_over(struct worker *w)
{
	w->past_grace = true;
	if (w->logging)
		engine_cancel(w->ctx.engine, TAG(OP_LOG, 0, 0),
		    TAG(OP_CANCEL, 0, 0));
	if (w->log_waiting)
		engine_cancel(w->ctx.engine, TAG(OP_LOG_POLL, 0, 0),
		    TAG(OP_CANCEL, 0, 0));
}

static bool
drained(const struct worker *w)
{
	if (!w->draining || w->listen_fd >= 0 ||
	    w->listener == LISTENER_ACCEPTING)
		return false;
	if (w->past_grace)	/* the kernel must give the log's buffer back */
		return !w->logging && !w->log_waiting;
	return w->ctx.active == 0 && !w->logging && !w->log_waiting &&
	    log_due() < 0;
}

static void
signalled(struct worker *w, int res)
{
	if (res != (int)sizeof(w->signal_info)) {
		errno = res < 0 ? -res : EIO;
		fatal(EX_OSERR, "reading the signalfd");
	}
	/*
	 * SIGHUP is the supervisor's: blocked for the signalfd, it is
	 * queued here all the same when sent to every fingerd process.
	 */
	if (w->signal_info.ssi_signo == SIGHUP) {
		signal_arm(w);
		return;
	}
	/* SIGUSR2: a newer generation serves; the reload is logged there */
	if (!w->draining && w->signal_info.ssi_signo != SIGUSR2)
		log_info("event=stop signal=SIG%s in_flight=%u",
		    sigabbrev_np((int)w->signal_info.ssi_signo), w->ctx.active);
	drain(w);
	signal_arm(w);
}

static void
dispatch(struct worker *w, uint64_t tag, int res)
{
	switch (TAG_OP(tag)) {
	case OP_ACCEPT:
	case OP_ACCEPT_LAST:
		accepted(w, TAG_OP(tag), res);
		break;
	case OP_ACCEPT_PAUSE:
		if (w->listener == LISTENER_PAUSED)	/* not since a stop */
			w->listener = LISTENER_IDLE;
		break;
	case OP_LISTEN_POLL:
		listener_polled(w, res);
		break;
	case OP_EVICT_WAIT:
		w->room = ROOM_NONE;	/* ROOM_LATER till then */
		break;
	case OP_ACCEPT_CHECK:
		accept_checked(w);
		break;
	case OP_SIGNAL:
		signalled(w, res);
		break;
	case OP_WATCH:
		watch_read(w, res);
		break;
	case OP_LOG:
		log_written(w, res);
		break;
	case OP_LOG_POLL:
		w->log_waiting = false;
		break;
	case OP_LOG_TIMER:	/* the loop writes what is due */
		w->log_timer = false;
		break;
	case OP_STOP_TIMER:
		if (res == -ETIME)
			grace_over(w);
		break;
	case OP_CANCEL:
	case OP_CLOSE:
		break;
	default:
		client_complete(&w->ctx, tag, res);
		break;
	}
}

/*
 * Handles a batch of completions, inotify events before the rest: a
 * query completed in the same batch may have arrived after the plan
 * changed, and must not be answered from a watch those events drop
 * (watch_read() also reads the events queued since, which covers the
 * completions that come in while a batch is handled).  The engine posts
 * completions only while it waits (io_uring's DEFER_TASKRUN), so none
 * arrives in the middle of a batch.
 */
static void
reap(struct worker *w, size_t n)
{
	struct completion *batch = w->completions;
	size_t i;

	for (i = 0; i < n; i++)
		if (TAG_OP(batch[i].tag) == OP_WATCH)
			watch_read(w, batch[i].res);
	for (i = 0; i < n; i++)
		if (TAG_OP(batch[i].tag) != OP_WATCH)
			dispatch(w, batch[i].tag, batch[i].res);
}

static void
loop(struct worker *w)
{
	size_t n;

	while (!drained(w)) {
		listener_arm(w);
		log_arm(w);
		n = engine_wait(w->ctx.engine, w->completions,
		    w->completions_size);
		reap(w, n);
		counters_log_lost(log_lost());
	}
}

/* -i: the client is the connection on stdin. */
static void
inetd_peer(struct sockaddr_storage *peer)
{
	socklen_t len = sizeof(*peer);

	memset(peer, 0, sizeof(*peer));
	if (getpeername(STDIN_FILENO, (struct sockaddr *)peer, &len) != 0)
		fatal(EX_USAGE, "-i: standard input is not a connected socket");
}

/*
 * The lines this worker could not write are the supervisor's to note,
 * which may wait for the log longer than a worker should; with -i (or a
 * supervisor that cannot be told) this process notes them, waiting for
 * the log as the supervisor would.
 */
static void
log_lost_hand_over(const struct worker *w)
{
	unsigned long lost = log_lost_take();

	if (lost == 0 || supervisor_tell(w, WORKER_LOST, lost))
		return;
	log_lost_add(lost);
	log_lost_note(w->ctx.options->inetd ? LOG_EXIT_GRACE_NS : 0);
}

/*
 * The loop is over.  Exchanges still held by a file system that hangs
 * keep their memory, which the kernel may yet write: left to the exit.
 * Their line is queued with the rest, written or counted lost with them
 * (after the queue, a write would block on a stalled log, and a line it
 * lost would not be counted).
 */
static int
serve_end(struct worker *w)
{
	if (w->ctx.active > 0)
		log_warnx("%u exchange%s still held by a file system at exit",
		    w->ctx.active, plural(w->ctx.active));
	log_queue_stop(0);
	counters_log_lost(log_lost());
	log_lost_hand_over(w);
	if (w->ctx.active > 0)
		return w->status;
	engine_free(w->ctx.engine);
	clients_free(&w->ctx);
	free(w->completions);
	address_counts_free(w->ctx.addresses);
	plan_cache_free(w->ctx.cache);
	watches_free(w->ctx.watches);
	members_release(w->ctx.members);
	close(w->signal_fd);
	return w->status;
}

/*
 * One event loop: its ring, its clients, until SIGTERM or SIGINT and the
 * last exchange; with -i, the one on stdin.  It confines itself to the
 * members' homes and its own system calls first, then says it serves on
 * ready_fd (unless -1).  Takes members over.
 */
int
serve(const struct options *o, struct members *members, int listen_fd,
    int ready_fd)
{
	/* static: what a request names lives until the exit (serve_end) */
	static struct worker worker;
	struct worker *w = &worker;
	struct context *ctx = &w->ctx;
	struct sockaddr_storage peer;
	bool missed;

	ctx->options = o;
	ctx->members = members;
	w->listen_fd = listen_fd;
	w->supervisor_fd = -1;
	if (o->inetd)
		inetd_peer(&peer);
	/* Before any line (engine_open's): none is written past the queue. */
	if (!log_queue_start(LINES_A_CLIENT * (size_t)o->clients))
		fatalx(EX_OSERR, "out of memory for the log");
	w->signal_fd = signals_open();
	ctx->engine = engine_open(o->engine, o->clients);
	w->completions_size = COMPLETIONS(o->clients);
	w->completions = calloc(w->completions_size,
	    sizeof(*w->completions));
	if (w->completions == NULL || !clients_init(ctx) ||
	    (ctx->addresses = address_counts_new(o->clients)) == NULL ||
	    (ctx->cache = plan_cache_new(PLAN_CACHE_BYTES)) == NULL)
		fatalx(EX_OSERR, "out of memory for %u clients", o->clients);
	if (!o->inetd && (ctx->watches = watches_new()) == NULL)
		fatalx(EX_OSERR, "out of memory for the plan watches");
	if (ctx->watches != NULL && watches_fd(ctx->watches) < 0)
		log_warn("inotify_init1: plans are looked at on every query");
	client_send_buffer(o->inetd ? STDIN_FILENO : listen_fd);
	/* The children that open the homes, some held by one, reap nothing. */
	signal(SIGCHLD, SIG_IGN);
	missed = !landlock_restrict(members);
	/* -i read the group itself: its list without the hidden. */
	if (o->inetd && !members_render_list(members))
		fatalx(EX_OSERR, "out of memory for the member list");
	seccomp_restrict(o->engine);
	w->supervisor_fd = ready_fd;
	if (ready_fd >= 0 && !supervisor_tell(w, WORKER_SERVES, missed))
		fatal(EX_OSERR, "telling the supervisor");
	signal_arm(w);
	if (ctx->watches != NULL && watches_fd(ctx->watches) >= 0)
		watch_arm(w);
	if (!o->inetd)
		accept_check_arm(w);
	if (o->inetd) {
		client_start(ctx, STDIN_FILENO, &peer);
		drain(w);
	}
	loop(w);
	return serve_end(w);
}

/*
 * The options a worker needs, into the setup the supervisor publishes
 * (supervisor.c), and back in the worker: one pair, so that the two
 * stay in step.  Every byte of the setup is set, the padding and the
 * unused proxies too (valgrind: it is written whole to a memfd).
 */
/* The fields copied as they are, each way, named once. */
#define SETUP_FIELDS(COPY)						\
	COPY(timeout) COPY(clients) COPY(per_address) COPY(plan_max)	\
	COPY(refuse_list) COPY(workers) COPY(engine)
#define TO_SETUP(field)		setup->field = o->field;
#define FROM_SETUP(field)	o->field = setup->field;

void
worker_setup_from(struct worker_setup *setup, const struct options *o)
{
	unsigned i;

	memset(setup, 0, sizeof(*setup));
	memcpy(setup->magic, WORKER_SETUP_MAGIC, sizeof(setup->magic));
	setup->supervisor = getpid();
	SETUP_FIELDS(TO_SETUP)
	setup->proxies.count = o->proxies.count;
	for (i = 0; i < o->proxies.count; i++) {
		setup->proxies.v[i].address = o->proxies.v[i].address;
		setup->proxies.v[i].length = o->proxies.v[i].length;
	}
	snprintf(setup->group, sizeof(setup->group), "%s", o->group);
}

/* The options of a worker, from its setup (which must outlive them). */
void
worker_setup_to(struct options *o, const struct worker_setup *setup)
{
	memset(o, 0, sizeof(*o));
	o->group = setup->group;
	SETUP_FIELDS(FROM_SETUP)
	o->proxies = setup->proxies;
}

/*
 * The setup the supervisor wrote: the header and, after it, the table.
 * The memfd must be sealed against any change, so what this worker
 * serves is what the supervisor published, and stays so.
 */
static const struct worker_setup *
setup_map(struct members **members)
{
	const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE;
	const struct worker_setup *setup;
	struct stat st;
	void *block;

	if (fstat(WORKER_FD_SETUP, &st) != 0 ||
	    (fcntl(WORKER_FD_SETUP, F_GET_SEALS) & seals) != seals ||
	    (size_t)st.st_size < sizeof(*setup))
		fatalx(EX_SOFTWARE, "a worker is started by fingerd itself, "
		    "with its setup on descriptor %d", WORKER_FD_SETUP);
	block = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED,
	    WORKER_FD_SETUP, 0);
	if (block == MAP_FAILED)
		fatal(EX_OSERR, "mmap of the worker's setup");
	close(WORKER_FD_SETUP);
	setup = block;
	if (memcmp(setup->magic, WORKER_SETUP_MAGIC, sizeof(setup->magic)) != 0 ||
	    (*members = members_unpack(setup + 1,
	    (size_t)st.st_size - sizeof(*setup))) == NULL)
		fatalx(EX_SOFTWARE, "the worker's setup is damaged");
	return setup;
}

/*
 * The entry of an exec'd worker.  Its parent-death signal is SIGTERM: a
 * supervisor that dies leaves no worker accepting, each finishes its
 * exchanges and exits.  SIGHUP is the supervisor's: `pkill -HUP fingerd`
 * reaches the workers too, which ignore it.
 */
int
worker_main(void)
{
	const struct worker_setup *setup;
	struct members *members;
	struct options o = { 0 };
	static char name[32];

	unsetenv(WORKER_ENVIRONMENT);
	setup = setup_map(&members);
	counters_attach(WORKER_FD_COUNTERS);
	if (setup->workers > 1)
		snprintf(name, sizeof(name), "fingerd[%d]", (int)getpid());
	else
		snprintf(name, sizeof(name), "fingerd");
	log_init(name);
	prctl(PR_SET_NAME, "fingerd");
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		fatal(EX_OSERR, "prctl(PR_SET_PDEATHSIG)");
	if (getppid() != setup->supervisor)
		return EX_OK;		/* it died before we could tell */
	signal(SIGHUP, SIG_IGN);
	worker_setup_to(&o, setup);
	return serve(&o, members, WORKER_FD_LISTEN, WORKER_FD_READY);
}
