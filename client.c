/*
 * One client: a state machine driven by completions.
 *
 *	RECV_QUERY -> (parse) -> STAT_PLAN -> OPEN_PLAN -> STAT_OPENED ->
 *	    READ_PLAN <-> SEND_PLAN -> SEND_LAST -> [DRAIN] -> DONE
 *
 * An error line, the member list, "No Plan." and a cached reply go
 * straight to SEND_LAST.  A plan watched and unchanged (watches.c) needs
 * no request before its cached reply; otherwise a statx of its path finds
 * it in the cache, or it is opened, its descriptor's statx checks it and
 * keys it, and it is read.  A plan the cache has room for is read whole
 * into a new entry (READ_PLAN alone), then sent; one it has no room for
 * is streamed, READ_PLAN and SEND_PLAN taking turns.  Every one of those
 * is a request to the engine, never a call on the loop: a file system
 * that hangs holds its requests, not the loop.
 *
 * Every request goes to the engine (engine.h) with a tag holding the slot
 * and the client's serial; one on the socket with the client's absolute
 * deadline, so that it completes by then at the latest.  `inflight`
 * counts the requests not yet completed, and a client leaves its slot
 * (its socket closed, its buffers reused) only in DONE with nothing in
 * flight: the kernel never writes into memory that has been given to
 * someone else, and the close sends a FIN at once because no request
 * holds the socket.
 *
 * A request on the plan cannot be cancelled once a file system holds it:
 * a timer at the deadline (OP_DEADLINE), set before the first, ends the
 * connection then (shut down, logged, its address uncounted), and the
 * slot is left when the file system gives the request back.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fingerd.h"

/* Bytes of a plan read at once. */
#define PLAN_CHUNK	16384

static const char plan_header[] = "Plan:\r\n";
static const char no_plan[] = "No Plan.\r\n";

/*
 * Buffers for a plan transfer, taken from a free list when a member's plan
 * is opened and given back when the client leaves its slot: at most one
 * per client, never freed before exit.  out holds the Login line, the Plan
 * line and a whole filtered chunk, so the filter never reallocates.
 */
struct plan_buffer {
	struct plan_buffer	*next;
	uint8_t			 in[PLAN_CHUNK];
	uint8_t			 out[sizeof("Login: \tName: \r\n") +
				    2 * FIELD_MAX + sizeof(plan_header) +
				    PLAN_FILTER_BOUND(PLAN_CHUNK) +
				    PLAN_FINISH_BOUND];
};

enum client_state {
	CLIENT_FREE,
	CLIENT_RECV_QUERY,
	CLIENT_STAT_PLAN,	/* statx of the path */
	CLIENT_OPEN_PLAN,
	CLIENT_STAT_OPENED,	/* statx of the descriptor */
	CLIENT_READ_PLAN,
	CLIENT_SEND_PLAN,	/* then read more of the plan */
	CLIENT_SEND_LAST,	/* then close */
	CLIENT_DRAIN,		/* replied; reading to EOF before the close */
	CLIENT_DONE
};

/*
 * A client slot.  It owns fd and plan_fd (closed in client_leave), holds
 * a reference on members and, while a plan is sent, a plan_buffer.
 */
struct client {
	struct client		*next_free;
	struct client		*silent_older;	/* in the evictable list */
	struct client		*silent_newer;
	bool			 silent;	/* in it */
	uint32_t		 serial;	/* in its tags */
	enum client_state	 state;
	unsigned		 inflight;	/* SQEs whose CQE is due */
	int			 fd;
	int			 plan_fd;	/* -1 when closed */
	bool			 linger;	/* input may be left unread */
	bool			 cut;		/* the plan was cut at -m */
	bool			 finished;	/* logged, address uncounted */
	bool			 timer;		/* an OP_DEADLINE timer set */
	enum fingerd_error	 end;		/* why it ended early */
	const char		*reply;		/* what was sent, for the log */
	deadline_t		 deadline;	/* CLOCK_MONOTONIC */
	struct timespec		 started;
	struct in6_addr		 address;
	struct members		*members;
	const struct member	*member;
	struct plan_buffer	*buffer;
	struct cached_plan	*entry;		/* sent from, or being built */
	size_t			 entry_len;	/* bytes built so far */
	bool			 keep;		/* build for the cache, not self */
	struct plan_filter	 filter;
	struct open_how		 how;
	struct statx		 stx;		/* the kernel writes it */
	uint64_t		 arm;		/* of the plan's watch */
	const uint8_t		*send_next;
	size_t			 send_left;
	uint64_t		 sent;
	uint64_t		 plan_offset;
	uint64_t		 plan_end;	/* its size at open, or -m */
	size_t			 query_len;
	size_t			 line_len;
	char			 query[QUERY_MAX];	/* last: not cleared */
};

/* client_start() clears every field but query, which must stay last. */
_Static_assert(offsetof(struct client, query) + QUERY_MAX ==
    sizeof(struct client), "query is not the last field of struct client");

static size_t
client_index(const struct context *ctx, const struct client *c)
{
	return (size_t)(c - ctx->clients);
}

bool
clients_init(struct context *ctx)
{
	unsigned i, n = ctx->options->clients;

	if ((ctx->clients = calloc(n, sizeof(*ctx->clients))) == NULL)
		return false;
	for (i = n; i-- > 0;) {
		ctx->clients[i].next_free = ctx->free_clients;
		ctx->free_clients = &ctx->clients[i];
	}
	return true;
}

void
clients_free(struct context *ctx)
{
	struct plan_buffer *b;

	while ((b = ctx->free_buffers) != NULL) {
		ctx->free_buffers = b->next;
		free(b);
	}
	free(ctx->clients);
	ctx->clients = NULL;
}

bool
client_slot_free(const struct context *ctx)
{
	return ctx->free_clients != NULL;
}

/*
 * The clients that have not completed their query line, oldest first:
 * when every slot is taken and a connection waits, the oldest is evicted
 * to make room.  A real client sends its query in its first packet and
 * leaves the list at once; one that holds a slot saying nothing is the
 * first to go.
 */
static void
silent_add(struct context *ctx, struct client *c)
{
	c->silent = true;
	c->silent_older = ctx->silent_newest;
	c->silent_newer = NULL;
	if (ctx->silent_newest != NULL)
		ctx->silent_newest->silent_newer = c;
	else
		ctx->silent_oldest = c;
	ctx->silent_newest = c;
}

static void
silent_remove(struct context *ctx, struct client *c)
{
	if (!c->silent)
		return;
	c->silent = false;
	if (c->silent_older != NULL)
		c->silent_older->silent_newer = c->silent_newer;
	else
		ctx->silent_oldest = c->silent_newer;
	if (c->silent_newer != NULL)
		c->silent_newer->silent_older = c->silent_older;
	else
		ctx->silent_newest = c->silent_older;
}

bool
client_evictable(const struct context *ctx)
{
	return ctx->silent_oldest != NULL;
}

/*
 * A request on a file cannot be interrupted, nor can a deadline linked
 * to it fire while a file system holds it (engine.h): before the first,
 * a timer at the client's deadline, which ends the connection on time.
 */
static void
client_timer(struct context *ctx, struct client *c)
{
	if (c->timer)
		return;
	c->timer = true;
	engine_timeout(ctx->engine, &c->deadline, TAG(OP_DEADLINE,
	    client_index(ctx, c), c->serial));
}

/* The tag of this client's request op; counts it in flight. */
static uint64_t
client_tag(struct context *ctx, struct client *c, enum op op)
{
	c->inflight++;
	return TAG(op, client_index(ctx, c), c->serial);
}

static void
client_recv(struct context *ctx, struct client *c, enum op op)
{
	/* What a client sends after its query is read here and dropped. */
	static char discard[4096];

	if (op == OP_DRAIN)
		engine_recv(ctx->engine, c->fd, discard, sizeof(discard),
		    &c->deadline, client_tag(ctx, c, op));
	else
		engine_recv(ctx->engine, c->fd, c->query + c->query_len,
		    sizeof(c->query) - c->query_len, &c->deadline,
		    client_tag(ctx, c, op));
}

static void
client_send(struct context *ctx, struct client *c)
{
	engine_send(ctx->engine, c->fd, c->send_next, c->send_left,
	    &c->deadline, client_tag(ctx, c, OP_SEND));
}

/* Sends len bytes at data, valid until the client leaves, then closes. */
static void
client_reply(struct context *ctx, struct client *c, const char *reply,
    const void *data, size_t len)
{
	c->reply = reply;
	c->send_next = data;
	c->send_left = len;
	c->state = CLIENT_SEND_LAST;
	client_send(ctx, c);
}

static void
client_error(struct context *ctx, struct client *c, enum fingerd_error e)
{
	const char *line = error_reply(e);

	client_reply(ctx, c, error_name(e), line, strlen(line));
}

/* Ends the exchange; the slot is left once nothing is in flight. */
static void
client_end(struct client *c, enum fingerd_error e)
{
	if (c->end == E_NONE)
		c->end = e;
	c->state = CLIENT_DONE;
}

/*
 * A plan's descriptor is closed by the engine: closing a file may wait
 * on its file system (a flush), and that is no wait for the loop.
 */
static void
close_plan(struct context *ctx, struct client *c)
{
	if (c->plan_fd >= 0)
		engine_close(ctx->engine, c->plan_fd, TAG(OP_CLOSE, 0, 0));
	c->plan_fd = -1;
}

/* Writes the Login line and line2 at out; returns their length. */
static size_t
out_start(const struct client *c, uint8_t *out, const char *line2,
    size_t len2)
{
	memcpy(out, c->member->login_line, c->member->login_line_len);
	memcpy(out + c->member->login_line_len, line2, len2);
	return c->member->login_line_len + len2;
}

static bool
buffer_take(struct context *ctx, struct client *c)
{
	struct plan_buffer *b = ctx->free_buffers;

	if (c->buffer != NULL)
		return true;
	if (b != NULL)
		ctx->free_buffers = b->next;
	else if ((b = malloc(sizeof(*b))) == NULL) {
		log_warnx("out of memory for a plan buffer");
		client_end(c, E_SERVER);
		return false;
	}
	c->buffer = b;
	return true;
}

static void
client_no_plan(struct context *ctx, struct client *c)
{
	size_t len;

	close_plan(ctx, c);
	if (!buffer_take(ctx, c))
		return;
	len = out_start(c, c->buffer->out, no_plan, sizeof(no_plan) - 1);
	client_reply(ctx, c, "no-plan", c->buffer->out, len);
}

/*
 * Reads the next chunk, up to the size the plan had when it was opened
 * (the reply is that snapshot) and at most -m bytes in all.
 */
static void
client_read_plan(struct context *ctx, struct client *c)
{
	uint64_t left = c->plan_end - c->plan_offset;
	size_t len = left < PLAN_CHUNK ? (size_t)left : PLAN_CHUNK;

	c->state = CLIENT_READ_PLAN;
	engine_read(ctx->engine, c->plan_fd, c->buffer->in, len,
	    c->plan_offset, NULL, client_tag(ctx, c, OP_READ_PLAN));
}

/* Sends the cached reply to this member for the plan of this key, if any. */
static bool
reply_cached(struct context *ctx, struct client *c, const struct plan_key *key)
{
	const struct member *m = c->member;

	c->entry = plan_cache_find(ctx->cache, key, m->login_line,
	    m->login_line_len);
	if (c->entry == NULL)
		return false;
	c->cut = key->size > ctx->options->plan_max;
	client_reply(ctx, c, "plan", plan_cache_data(c->entry),
	    plan_cache_len(c->entry));
	return true;
}

/*
 * Opens ~/.plan without following a symbolic link at it and without
 * blocking on a FIFO or a device; plan_opened() checks what it is.
 */
static void
client_open_plan(struct context *ctx, struct client *c)
{
	if (!buffer_take(ctx, c))
		return;
	c->how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC;
	c->how.resolve = RESOLVE_NO_MAGICLINKS;
	c->state = CLIENT_OPEN_PLAN;
	engine_openat(ctx->engine, c->member->plan, &c->how,
	    client_tag(ctx, c, OP_OPEN_PLAN));
}

/*
 * The short way to a cached reply.  A plan watched through inotify and
 * unchanged since (watches.c) needs no request at all; otherwise a statx
 * of its path, which opens nothing and follows no link, keys it, and the
 * watch armed just before it is confirmed with that key.  A cached reply
 * was made by opening this very file as this account, and a change to
 * its content, mode, owner or ACL changes its ctime, so a match needs no
 * open.  Anything else takes the long way, through openat2.  (Measured
 * when it was a plain call: statx 0.86x the server CPU per request of
 * opening, with a 1 KiB plan.  It syncs attributes as fstat would, so a
 * network file system, never watched, gives no stale answer.)
 */
static void
client_stat_plan(struct context *ctx, struct client *c)
{
	const struct member *m = c->member;
	int64_t now = monotonic_ns();
	struct plan_key key;

	if (watches_key(ctx->watches, m->plan, &key, now) &&
	    reply_cached(ctx, c, &key))
		return;
	if (m->watchable)
		c->arm = watches_arm(ctx->watches, m->home, m->plan, now);
	client_timer(ctx, c);
	c->state = CLIENT_STAT_PLAN;
	engine_statx(ctx->engine, AT_FDCWD, m->plan, &c->stx,
	    client_tag(ctx, c, OP_STAT_PLAN));
}

/* A request on the plan that failed: -ECANCELED is the deadline's. */
static bool
plan_request_failed(struct context *ctx, struct client *c, int res)
{
	if (res == -ECANCELED)
		client_end(c, E_TIMEOUT);
	else if (res < 0)
		client_no_plan(ctx, c);
	return res < 0;
}

/*
 * The plan's path, looked at: a missing plan, a link, a FIFO, a device or
 * a directory get "No Plan." now; a regular file keyed as it is now is
 * sent from the cache, or opened.
 */
static void
plan_statted(struct context *ctx, struct client *c, int res)
{
	const struct member *m = c->member;
	struct plan_key key;

	if (plan_request_failed(ctx, c, res))
		return;
	KERNEL_WROTE(&c->stx, sizeof(c->stx));
	if (!S_ISREG(c->stx.stx_mode)) {
		client_no_plan(ctx, c);
		return;
	}
	plan_key_from_statx(&key, &c->stx);
	watches_confirm(ctx->watches, m->plan, c->arm, &key, monotonic_ns());
	if (!reply_cached(ctx, c, &key))
		client_open_plan(ctx, c);
}

static void
client_answer(struct context *ctx, struct client *c)
{
	struct members *t = ctx->members;
	enum fingerd_error e;
	struct query q;

	c->members = members_hold(t);
	if ((e = query_parse(c->query, c->line_len, &q)) != E_NONE) {
		client_error(ctx, c, e);
	} else if (q.kind == QUERY_LIST) {
		if (ctx->options->refuse_list)
			client_error(ctx, c, E_LIST_DENIED);
		else
			client_reply(ctx, c, "list", t->list, t->list_len);
	} else if ((c->member = members_find(t, q.user, q.user_len)) == NULL) {
		client_error(ctx, c, E_NO_SUCH_USER);
	} else {
		client_stat_plan(ctx, c);
	}
}

static enum fingerd_error
request_failed(int res)
{
	return res == -ECANCELED ? E_TIMEOUT : E_CLIENT_GONE;
}

static void
query_received(struct context *ctx, struct client *c, int res)
{
	size_t end;

	if (res < 0) {
		client_end(c, request_failed(res));
		return;
	}
	if (res == 0 && c->query_len == 0) {
		client_end(c, E_NO_QUERY);
		return;
	}
	KERNEL_WROTE(c->query + c->query_len, (size_t)res);
	c->query_len += (size_t)res;
	if (query_line_end(c->query, c->query_len, &c->line_len)) {
		end = (size_t)((char *)memchr(c->query, '\n', c->query_len) -
		    c->query);
		c->linger = end + 1 < c->query_len;
		client_answer(ctx, c);
	} else if (res == 0) {
		c->line_len = c->query_len;	/* ended by EOF, no newline */
		client_answer(ctx, c);
	} else if (c->query_len == sizeof(c->query)) {
		c->linger = true;
		c->line_len = c->query_len;
		client_error(ctx, c, E_QUERY_TOO_LONG);
	} else {
		client_recv(ctx, c, OP_RECV_QUERY);
	}
}

/* The home comes from the user database: escaped, like all logged text. */
static void
plan_read_failed(const struct client *c, int error)
{
	char home[1024];

	log_escape(home, sizeof(home), c->member->home,
	    strlen(c->member->home));
	errno = error;
	log_warn("reading %s/.plan", home);
}

/*
 * Streaming: a chunk joins whatever out already holds (the Login and
 * Plan lines, before the first chunk) and is sent before the next read.
 */
static void
plan_streamed(struct context *ctx, struct client *c, size_t n, bool last)
{
	uint8_t *out = c->buffer->out + c->send_left;

	out += plan_filter_chunk(&c->filter, c->buffer->in, n, out);
	if (last) {
		out += plan_filter_finish(&c->filter, out);
		close_plan(ctx, c);
	}
	c->send_next = c->buffer->out;
	c->send_left = (size_t)(out - c->buffer->out);
	c->state = last ? CLIENT_SEND_LAST : CLIENT_SEND_PLAN;
	if (c->send_left > 0)
		client_send(ctx, c);
	else if (!last)
		client_read_plan(ctx, c);
	else
		client_end(c, E_NONE);
}

/* Converting: the whole plan goes into its entry, then is sent. */
static void
plan_converted(struct context *ctx, struct client *c, size_t n, bool last)
{
	uint8_t *data = plan_cache_data(c->entry);

	c->entry_len += plan_filter_chunk(&c->filter, c->buffer->in, n,
	    data + c->entry_len);
	if (!last) {
		client_read_plan(ctx, c);
		return;
	}
	c->entry_len += plan_filter_finish(&c->filter, data + c->entry_len);
	close_plan(ctx, c);
	if (c->keep)
		plan_cache_insert(ctx->cache, c->entry,
		    c->member->login_line_len, c->entry_len);
	client_reply(ctx, c, "plan", data, c->entry_len);
}

/* A chunk of the plan is in.  At the end of the file, or at -m, it ends. */
static void
plan_chunk_arrived(struct context *ctx, struct client *c, int res)
{
	bool last;

	if (res == -ECANCELED) {
		client_end(c, E_TIMEOUT);
		return;
	}
	if (res < 0) {
		plan_read_failed(c, -res);
		res = 0;
	}
	KERNEL_WROTE(c->buffer->in, (size_t)res);
	c->plan_offset += (uint64_t)res;
	last = res == 0 || c->plan_offset >= c->plan_end;
	if (c->entry != NULL)
		plan_converted(ctx, c, (size_t)res, last);
	else
		plan_streamed(ctx, c, (size_t)res, last);
}

/*
 * A cached reply for this very file is sent as it is.  Otherwise the
 * plan is converted into a new entry when the cache has room for it, or
 * streamed through the client's buffer when it has not.
 */
static void
plan_start(struct context *ctx, struct client *c, const struct plan_key *key)
{
	const struct member *m = c->member;
	size_t len;

	if (reply_cached(ctx, c, key)) {
		close_plan(ctx, c);
		return;
	}
	plan_filter_init(&c->filter, false);
	c->reply = "plan";
	len = m->login_line_len + sizeof(plan_header) - 1;
	c->entry = plan_cache_reserve(ctx->cache, key, len +
	    PLAN_FILTER_BOUND(c->plan_end) + PLAN_FINISH_BOUND);
	if (c->entry != NULL) {
		c->entry_len = out_start(c, plan_cache_data(c->entry),
		    plan_header, sizeof(plan_header) - 1);
		c->keep = plan_key_settled(key, time(NULL));
	} else {
		c->send_next = c->buffer->out;
		c->send_left = out_start(c, c->buffer->out, plan_header,
		    sizeof(plan_header) - 1);
	}
	if (c->plan_end > 0)
		client_read_plan(ctx, c);
	else
		plan_chunk_arrived(ctx, c, 0);
}

/* Opened: what the descriptor is, a statx tells. */
static void
plan_opened(struct context *ctx, struct client *c, int res)
{
	if (plan_request_failed(ctx, c, res))
		return;
	c->plan_fd = res;
	c->state = CLIENT_STAT_OPENED;
	engine_statx(ctx->engine, c->plan_fd, "", &c->stx,
	    client_tag(ctx, c, OP_STAT_OPENED));
}

/* A regular file is read up to its size now, at most -m. */
static void
plan_opened_statted(struct context *ctx, struct client *c, int res)
{
	struct plan_key key;

	if (plan_request_failed(ctx, c, res))
		return;
	KERNEL_WROTE(&c->stx, sizeof(c->stx));
	if (!S_ISREG(c->stx.stx_mode)) {
		client_no_plan(ctx, c);
		return;
	}
	plan_key_from_statx(&key, &c->stx);
	c->plan_end = key.size;
	if (c->plan_end > ctx->options->plan_max) {
		c->plan_end = ctx->options->plan_max;
		c->cut = true;
	}
	plan_start(ctx, c, &key);
}

/* Replied: wait for the client's EOF if it may have left input unread. */
static void
client_replied(struct context *ctx, struct client *c)
{
	if (!c->linger) {
		client_end(c, E_NONE);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = CLIENT_DRAIN;
	client_recv(ctx, c, OP_DRAIN);
}

static void
data_sent(struct context *ctx, struct client *c, int res)
{
	if (res < 0) {
		client_end(c, request_failed(res));
		return;
	}
	c->sent += (uint64_t)res;
	c->send_next += res;
	c->send_left -= (size_t)res;
	if (c->send_left > 0)
		client_send(ctx, c);
	else if (c->state == CLIENT_SEND_PLAN)
		client_read_plan(ctx, c);
	else
		client_replied(ctx, c);
}

static void
drained(struct context *ctx, struct client *c, int res)
{
	if (res > 0)
		client_recv(ctx, c, OP_DRAIN);
	else
		client_end(c, res == -ECANCELED ? E_TIMEOUT : E_NONE);
}

static void
client_log(const struct client *c)
{
	struct timespec now;
	struct exchange_record r = {
		.address = &c->address, .query = c->query,
		.query_len = c->line_len, .reply = c->reply, .cut = c->cut,
		.end = c->end, .sent = c->sent,
	};

	clock_gettime(CLOCK_MONOTONIC, &now);
	r.us = (uint64_t)((now.tv_sec - c->started.tv_sec) * 1000000 +
	    (now.tv_nsec - c->started.tv_nsec) / 1000);
	log_exchange(&r);
}

/* The connection's end: logged, its address no longer counted. */
static void
client_finish(struct context *ctx, struct client *c)
{
	if (c->finished)
		return;
	c->finished = true;
	client_log(c);
	address_counts_remove(ctx->addresses, &c->address);
}

static void
client_leave(struct context *ctx, struct client *c)
{
	silent_remove(ctx, c);
	ctx->evicting = false;		/* a slot is free: the listener goes on */
	ctx->fd_starved = false;	/* and descriptors */
	client_finish(ctx, c);
	if (c->timer)
		engine_cancel(ctx->engine, TAG(OP_DEADLINE,
		    client_index(ctx, c), c->serial));
	close_plan(ctx, c);
	close(c->fd);
	members_release(c->members);
	if (c->entry != NULL)
		plan_cache_release(ctx->cache, c->entry);
	if (c->buffer != NULL) {
		c->buffer->next = ctx->free_buffers;
		ctx->free_buffers = c->buffer;
	}
	c->state = CLIENT_FREE;
	c->next_free = ctx->free_clients;
	ctx->free_clients = c;
	ctx->active--;
}

/* A new connection; the loop has checked that a slot is free. */
void
client_start(struct context *ctx, int fd, const struct sockaddr_storage *ss)
{
	struct client *c = ctx->free_clients;
	struct client *next = c->next_free;

	memset(c, 0, offsetof(struct client, query));
	c->serial = ++ctx->serial;
	ctx->free_clients = next;
	ctx->active++;
	c->fd = fd;
	c->plan_fd = -1;
	c->state = CLIENT_RECV_QUERY;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	c->deadline.tv_sec = c->started.tv_sec + ctx->options->timeout;
	c->deadline.tv_nsec = c->started.tv_nsec;
	address_normalize(ss, &c->address);
	if (address_counts_add(ctx->addresses, &c->address) >
	    ctx->options->per_address) {
		client_error(ctx, c, E_TOO_MANY_FROM_ADDRESS);
		return;
	}
	silent_add(ctx, c);
	client_recv(ctx, c, OP_RECV_QUERY);
}

/*
 * Evicts the client that has waited longest without completing its query
 * line: its connection is shut down, which completes its receive, and its
 * slot is free once that comes back.  False when there is none.
 */
bool
client_evict_oldest(struct context *ctx)
{
	struct client *c = ctx->silent_oldest;

	if (c == NULL)
		return false;
	silent_remove(ctx, c);
	client_end(c, E_EVICTED);
	shutdown(c->fd, SHUT_RDWR);
	return true;
}

/* Whether the client waits on a request to a file system. */
static bool
on_file(const struct client *c)
{
	return c->state == CLIENT_STAT_PLAN || c->state == CLIENT_OPEN_PLAN ||
	    c->state == CLIENT_STAT_OPENED || c->state == CLIENT_READ_PLAN;
}

/*
 * The client's deadline passed.  A request on its socket completes
 * -ECANCELED, which ends the exchange; one that a file system holds may
 * not come back for long, so the connection ends now.
 */
static void
client_expired(struct context *ctx, struct client *c, uint32_t serial)
{
	if (serial != c->serial || !on_file(c))
		return;
	client_end(c, E_TIMEOUT);
	shutdown(c->fd, SHUT_RDWR);
	client_finish(ctx, c);
}

/* A completion for a client whose exchange is over: only kept tidy. */
static void
client_discard(struct client *c, enum op op, int res)
{
	if (op == OP_OPEN_PLAN && res >= 0)
		c->plan_fd = res;	/* closed as the slot is left */
}

void
client_complete(struct context *ctx, uint64_t tag, int res)
{
	struct client *c = &ctx->clients[TAG_INDEX(tag)];

	if (TAG_OP(tag) == OP_DEADLINE) {
		client_expired(ctx, c, TAG_SERIAL(tag));
		return;
	}
	c->inflight--;
	if (c->state == CLIENT_DONE)
		client_discard(c, TAG_OP(tag), res);
	else switch (TAG_OP(tag)) {
	case OP_RECV_QUERY:
		query_received(ctx, c, res);
		if (c->state != CLIENT_RECV_QUERY)
			silent_remove(ctx, c);
		break;
	case OP_STAT_PLAN:
		plan_statted(ctx, c, res);
		break;
	case OP_OPEN_PLAN:
		plan_opened(ctx, c, res);
		break;
	case OP_STAT_OPENED:
		plan_opened_statted(ctx, c, res);
		break;
	case OP_READ_PLAN:
		plan_chunk_arrived(ctx, c, res);
		break;
	case OP_SEND:
		data_sent(ctx, c, res);
		break;
	case OP_DRAIN:
		drained(ctx, c, res);
		break;
	default:
		break;
	}
	if (c->state == CLIENT_DONE && c->inflight == 0)
		client_leave(ctx, c);
}
